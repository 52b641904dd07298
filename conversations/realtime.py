"""Typed events sent to a conversation's channel group, and the publisher.

Producers (the worker, the cancel view) send data, never HTML: the consumer
renders each event for its own socket.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Literal, TypedDict

from channels.layers import get_channel_layer


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


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def frame_event(*, message_id: int, seq: int, start: int, text: str) -> FrameEvent:
    return {"type": "chat.frame", "message_id": message_id, "seq": seq, "start": start, "text": text}


def message_event(*, message_id: int) -> MessageEvent:
    return {"type": "chat.message", "message_id": message_id}


# One event loop per process, in a thread, keeps one Redis connection pool for all
# publishes; async_to_sync would open a new loop (and connection) per call.
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked child needs its own
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="channel-publisher", daemon=True).start()
            _loop_pid = os.getpid()
        return _loop


def publish(conversation_id: int, event: FrameEvent | MessageEvent) -> None:
    layer = get_channel_layer()
    future = asyncio.run_coroutine_threadsafe(
        layer.group_send(conversation_group(conversation_id), event), _publisher_loop()
    )
    future.result(timeout=10)
