"""Typed events sent to a conversation's channel group, and the publisher.

Producers (the worker, the cancel view) send data, never HTML: the consumer
renders each event for its own socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Literal, TypedDict

import redis
from channels.layers import get_channel_layer
from django.conf import settings


class FrameEvent(TypedDict):
    """Text appended to a streaming reply. ``start`` is its offset in the reply,
    so a socket that already has the text (after a re-sync) can drop it."""

    type: Literal["chat.frame"]
    message_id: int
    seq: int
    start: int
    text: str


class MessageEvent(TypedDict):
    """A message changed beyond appending (created, restarted, finished): re-render it."""

    type: Literal["chat.message"]
    message_id: int


class MessageAddedEvent(TypedDict):
    """A message was added outside a turn (a person's reply, an escalation's answer): append it."""

    type: Literal["chat.message_added"]
    message_id: int


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def frame_event(*, message_id: int, seq: int, start: int, text: str) -> FrameEvent:
    return {"type": "chat.frame", "message_id": message_id, "seq": seq, "start": start, "text": text}


def message_event(*, message_id: int) -> MessageEvent:
    return {"type": "chat.message", "message_id": message_id}


def message_added_event(*, message_id: int) -> MessageAddedEvent:
    return {"type": "chat.message_added", "message_id": message_id}


def publish(conversation_id: int, event: FrameEvent | MessageEvent | MessageAddedEvent) -> None:
    """Send an event to everyone watching the conversation, from synchronous code.

    A plain Redis PUBLISH in the calling thread, in the channel layer's own wire format.
    The layer's async ``group_send`` funnels every thread of a worker through one event
    loop and one lock per connection; measured at 50 concurrent replies, waiting for that
    lock was most of the chunk-to-browser latency (bench/stream_overhead.py).
    """
    group_publish(conversation_group(conversation_id), event)


def group_publish(group: str, event: Mapping[str, object]) -> None:
    """``publish`` for any channel group (runs pages use it too): one PUBLISH, no event loop."""
    _redis().publish(_group_channel(group), get_channel_layer().serialize(event))


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
