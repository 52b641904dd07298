"""Typed events about runs, sent to channel groups, and the publisher.

Producers (workers, the cancel view) send the id of the run that changed, never HTML:
each socket's consumer re-renders what its page shows.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, TypedDict

import redis
from channels.layers import get_channel_layer
from django.conf import settings


class RunEvent(TypedDict):
    """A run or one of its tasks changed: re-render it."""

    type: Literal["run.changed"]
    run_id: int


def account_runs_group(account_id: int) -> str:
    return f"runs.account.{account_id}"


def run_group(run_id: int) -> str:
    return f"runs.run.{run_id}"


def run_event(*, run_id: int) -> RunEvent:
    return {"type": "run.changed", "run_id": run_id}


def publish_run_changed(*, account_id: int, run_id: int) -> None:
    """Tell the account's Runs page and the run's page, from synchronous code.

    A plain Redis PUBLISH in the layer's wire format, as conversations.realtime does and
    for the same reason: the layer's async group_send funnels every worker thread
    through one event loop and lock.
    """
    layer = get_channel_layer()
    payload = layer.serialize(run_event(run_id=run_id))
    client = _redis()
    for group in (account_runs_group(account_id), run_group(run_id)):
        client.publish(_group_channel(group), payload)


def _group_channel(group: str) -> str:
    # channels_redis.pubsub names a group's Redis channel "<prefix>__group__<group>".
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}__group__{group}"


@cache
def _redis() -> redis.Redis:
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    return redis.Redis.from_url(
        host["address"],
        max_connections=host.get("max_connections"),
        socket_timeout=host.get("socket_timeout"),
        socket_connect_timeout=host.get("socket_connect_timeout"),
    )
