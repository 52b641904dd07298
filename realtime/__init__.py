"""The realtime transport: channel group names and the publisher every app sends events with.

An app defines its typed events (a ``TypedDict`` whose ``type`` names the consumer's handler,
e.g. ``"chat.frame"`` -> ``chat_frame``) and its group names, and publishes through
``publish``. Consumers stay thin: they authorise the socket, join the group and forward what
arrives. Producers send data, never HTML.

``publish`` is one plain Redis PUBLISH in the calling thread, in the channel layer's own wire
format (``channels_redis.pubsub.RedisPubSubChannelLayer``). The layer's async ``group_send``
funnels every thread of a worker through one event loop and one lock per connection; measured
at 50 concurrent replies, waiting for that lock was most of the chunk-to-browser latency
(bench/stream_overhead.py).

A publish is best effort: what it announces is already committed to the database, and every socket
renders from the database when it (re)connects. So while Redis is down (restarting), a publish
logs and returns instead of failing the reply, run or phase that sent it.

This package sits below every app: it imports Django, Channels and redis-py, never an app.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from functools import cache

import redis
from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

# Channels accepts group names of ASCII letters, digits, hyphens, underscores and periods,
# shorter than 100 characters; a bad name fails here, where it is built, not at group_add.
_GROUP_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,99}$")


def group_name(*parts: str | int) -> str:
    """A channel group's name from its parts: ``group_name("runs", "run", 7)`` is ``runs.run.7``."""
    name = ".".join(str(part) for part in parts)
    if not _GROUP_NAME.match(name):
        raise ValueError(f"Not a valid channel group name: {name!r}")
    return name


def publish(group: str, event: Mapping[str, object]) -> None:
    """Send ``event`` (a dict with a ``type``) to every socket in ``group``, from synchronous code."""
    try:
        _redis().publish(_group_channel(group), get_channel_layer().serialize(event))
    except redis.RedisError as error:
        logger.warning(
            "event %s to %s not published (Redis unavailable): %s", event.get("type"), group, error
        )


def publish_many(groups: Iterable[str], event: Mapping[str, object]) -> None:
    """The same event to several groups (a run's page and its account's Runs page)."""
    payload = get_channel_layer().serialize(event)
    client = _redis()
    try:
        for group in groups:
            client.publish(_group_channel(group), payload)
    except redis.RedisError as error:
        logger.warning("event %s not published (Redis unavailable): %s", event.get("type"), error)


def _group_channel(group: str) -> str:
    # channels_redis.pubsub names a group's Redis channel "<prefix>__group__<group>";
    # tests/conversations/test_socket.py proves the consumer receives what this sends.
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}__group__{group}"


@cache
def _redis() -> redis.Redis:
    # redis-py pools connections per client and is safe to share between threads.
    # A forked Celery child re-creates its pool on first use (redis-py checks the pid).
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    return redis.Redis.from_url(
        host["address"],
        max_connections=host.get("max_connections"),
        socket_timeout=host.get("socket_timeout"),
        socket_connect_timeout=host.get("socket_connect_timeout"),
    )
