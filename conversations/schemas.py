from __future__ import annotations

import uuid

from ninja import Field, Schema


class ChatIn(Schema):
    message: str = Field(..., description="The user's message (at most CHAT_MESSAGE_MAX_CHARS).")
    conversation_id: int | None = Field(None, description="Continue this conversation; omit to start one.")
    account: str | None = Field(None, description="Account slug; defaults to your first account.")
    wait_seconds: float = Field(30, ge=0, le=120, description="How long to wait for the reply.")


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
    status: str = Field(..., description="complete, failed, cancelled, awaiting_approval, or still running")
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
