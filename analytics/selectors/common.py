"""Scoped building blocks shared by the analytics selectors: every queryset here is filtered to
one account and one window before anything else touches it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import QuerySet
from django.db.models.functions import TruncDay, TruncHour

from accounts.models import Account
from agents.models import AgentInstance
from analytics.windows import Window
from conversations.models import Conversation, GuardrailEvent, Handoff, Message

CIRCULAR_KINDS = (GuardrailEvent.Kind.PING_PONG, GuardrailEvent.Kind.REPEATED_EDGE)
FINISHED = (Message.Status.COMPLETE, Message.Status.FAILED)


@dataclass(frozen=True)
class AgentRef:
    id: int | None
    slug: str
    name: str


UNKNOWN_AGENT = AgentRef(None, "", "(none)")


def agent_refs(*, account: Account) -> dict[int, AgentRef]:
    return {
        pk: AgentRef(pk, slug, name)
        for pk, slug, name in AgentInstance.objects.filter(account=account).values_list("pk", "slug", "name")
    }


def ratio(part: float | int | None, whole: float | int | None) -> float | None:
    if not whole:
        return None
    return (part or 0) / whole


def in_window(queryset: QuerySet, window: Window, field: str = "created_at") -> QuerySet:
    return queryset.filter(**{f"{field}__gte": window.start, f"{field}__lt": window.end})


def conversations_in(*, account: Account, window: Window) -> QuerySet[Conversation]:
    return in_window(Conversation.objects.filter(account=account), window)


def handoffs_in(*, account: Account, window: Window) -> QuerySet[Handoff]:
    return in_window(Handoff.objects.filter(conversation__account=account), window)


def guardrail_events_in(*, account: Account, window: Window) -> QuerySet[GuardrailEvent]:
    return in_window(GuardrailEvent.objects.filter(conversation__account=account), window)


def agent_replies_in(*, account: Account, window: Window) -> QuerySet[Message]:
    """Replies written by agents (not by a person answering an escalation)."""
    return in_window(
        Message.objects.filter(
            conversation__account=account, role=Message.Role.ASSISTANT, sent_by__isnull=True
        ),
        window,
    )


def trunc(window: Window, field: str = "created_at"):
    # Buckets are UTC hours or days whatever TIME_ZONE is, as the hourly aggregates are.
    return TruncHour(field, tzinfo=UTC) if window.bucket == "hour" else TruncDay(field, tzinfo=UTC)


def as_float(value) -> float:
    return float(value) if value is not None else 0.0


def bucket_key(moment: datetime | str) -> str:
    """SQLite returns truncated dates as strings, PostgreSQL as datetimes: one key for both."""
    if isinstance(moment, str):
        return moment.replace(" ", "T")[:16]
    return moment.isoformat()[:16]
