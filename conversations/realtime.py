"""Typed events sent to a conversation's channel group, and its group name.

Producers (the worker, the cancel view) send data, never HTML, through the ``realtime``
transport: the consumer renders each event for its own socket.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import realtime


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
    return realtime.group_name("conversation", conversation_id)


def frame_event(*, message_id: int, seq: int, start: int, text: str) -> FrameEvent:
    return {"type": "chat.frame", "message_id": message_id, "seq": seq, "start": start, "text": text}


def message_event(*, message_id: int) -> MessageEvent:
    return {"type": "chat.message", "message_id": message_id}


def message_added_event(*, message_id: int) -> MessageAddedEvent:
    return {"type": "chat.message_added", "message_id": message_id}


def publish(conversation_id: int, event: FrameEvent | MessageEvent | MessageAddedEvent) -> None:
    """Send an event to everyone watching the conversation, from synchronous code (the worker
    streams every chunk this way: see ``realtime.publish`` for why it is one Redis PUBLISH)."""
    realtime.publish(conversation_group(conversation_id), event)
