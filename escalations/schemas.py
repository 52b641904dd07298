from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


class EscalationIn(Schema):
    conversation_id: int = Field(..., description="The account's conversation that needs a person.")
    reason: str = Field(..., description="Why it needs a person.")
    priority: int | None = Field(None, description="1 low, 2 normal, 3 high, 4 urgent.")


class AssignIn(Schema):
    assignee: str = Field(..., description="Username of one of the account's operators or admins.")


class ReplyIn(Schema):
    content: str = Field(..., description="The reply, shown in the user's conversation as from a person.")


class ResolveIn(Schema):
    note: str = Field(..., description="What was wrong and what fixed it.")


class PromoteIn(Schema):
    problem: str | None = Field(None, description="The request patterns match; default the escalation's.")
    fix: str | None = Field(None, description="What fixed it; default the resolution note.")


class SlaOut(Schema):
    label: str
    due_at: datetime | None
    met_at: datetime | None
    state: str = Field(..., description="none, running, met or breached")


class EscalationOut(Schema):
    id: int
    conversation_id: int
    message_id: int
    trigger: str
    reason: str
    question: str
    priority: int
    status: str = Field(..., description="ladder, open, claimed, waiting_on_user or resolved")
    phase: str
    resolved_by_phase: str
    assignee: str | None
    email_status: str
    sla: list[SlaOut]
    created_at: datetime
    queued_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str


class PhaseRunOut(Schema):
    phase: str
    outcome: str
    detail: str
    answer: str
    score: float | None
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None


class ConsultationOut(Schema):
    phase: str
    agent: str | None
    proposal: str
    confidence: float | None
    vote: str
    agreed: bool | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class EscalationDetailOut(EscalationOut):
    workflow_run_id: int | None
    phases: list[PhaseRunOut]
    consultations: list[ConsultationOut]


class MessageOut(Schema):
    message_id: int
    conversation_id: int


class PatternOut(Schema):
    id: int
    problem: str
    fix: str
    status: str
    source_escalation_id: int | None


class QueueHealthOut(Schema):
    open: int
    unclaimed: int
    on_ladder: int
    oldest_age_seconds: int
    sla_breaches: int
