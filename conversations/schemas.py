from __future__ import annotations

import uuid
from typing import Literal

from ninja import Field, Schema


class ChatIn(Schema):
    message: str = Field(..., description="The user's message (at most CHAT_MESSAGE_MAX_CHARS).")
    conversation_id: int | None = Field(None, description="Continue this conversation; omit to start one.")
    account: str | None = Field(None, description="Account slug; defaults to your first account.")
    wait_seconds: float = Field(30, ge=0, le=120, description="How long to wait for the reply.")
    multitask_strategy: Literal["reject", "enqueue", "interrupt", "rollback"] | None = Field(
        None,
        description=(
            "Double texting, as in LangGraph: what to do when the conversation's previous reply is "
            "still running. reject: 409; enqueue: answered after it (status 'queued' until then); "
            "interrupt: that reply is stopped and kept (status 'interrupted'), this one answered with "
            "it in context; rollback: that reply and its question are discarded, this one answered. "
            "Omit for the account's setting."
        ),
    )


class HandoffOut(Schema):
    from_agent: str | None
    to_agent: str
    reason: str
    via: str


class PendingApprovalOut(Schema):
    id: uuid.UUID = Field(..., description="Decide it with POST /api/approvals/{id}.")
    tool: str
    arguments: dict
    agent: str | None


class ChatOut(Schema):
    conversation_id: int
    arm: str = Field(..., description="Which system serves the conversation: multi_agent or legacy.")
    message_id: int
    status: str = Field(
        ...,
        description=(
            "complete, failed, cancelled, interrupted, discarded, awaiting_approval, or still running "
            "(pending, streaming, queued)"
        ),
    )
    reply: str
    agent: str | None
    model: str
    error: str
    handoffs: list[HandoffOut]
    pending_approval: PendingApprovalOut | None


class ApprovalIn(Schema):
    decision: str = Field(..., pattern="^(approve|deny)$")
    allow_for_conversation: bool = False
    wait_seconds: float = Field(30, ge=0, le=120)
