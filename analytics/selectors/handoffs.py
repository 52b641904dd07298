"""Hand-offs: how many, how often a conversation is handed off, along which paths, and where the
guard rails stopped a loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, Sum

from accounts.models import Account
from analytics.models import ConversationFact, ConversationHour, GuardrailHour, HandoffHour
from analytics.selectors.common import (
    CIRCULAR_KINDS,
    UNKNOWN_AGENT,
    AgentRef,
    agent_refs,
    bucket_key,
    conversations_in,
    ratio,
    trunc,
)
from analytics.windows import Window
from conversations.models import Conversation, GuardrailEvent, Handoff

START = AgentRef(None, "", "(conversation start)")


@dataclass(frozen=True)
class HandoffPath:
    source: AgentRef
    target: AgentRef
    count: int


@dataclass(frozen=True)
class BusyConversation:
    id: int
    title: str
    arm: str
    handoffs: int
    created_at: datetime


@dataclass(frozen=True)
class HandoffPoint:
    bucket: str
    conversations: int
    with_handoff: int
    handoffs: int
    rate: float | None


@dataclass(frozen=True)
class HandoffFigures:
    conversations: int  # multi-agent conversations started in the window
    with_handoff: int
    rate: float | None  # share of those with at least one hand-off
    handoffs: int  # hand-offs made in the window
    by_tool: int
    by_router: int
    circular_stops: int
    step_limit_stops: int
    paths: list[HandoffPath]
    busiest: list[BusyConversation]
    series: list[HandoffPoint]


def _multi_agent(account: Account, window: Window):
    # Conversations with one chosen agent (not routed) cannot hand off: they are outside the rate.
    return conversations_in(account=account, window=window).filter(
        arm=Conversation.Arm.MULTI_AGENT, routed=True
    )


def handoff_rate(*, account: Account, window: Window) -> tuple[int, int]:
    """(routed multi-agent conversations started in the window, those of them with a hand-off), from
    the raw rows: for alerts, which look at the last minutes."""
    has_handoff = Exists(Handoff.objects.filter(conversation=OuterRef("pk")))
    counts = _multi_agent(account, window).aggregate(
        total=Count("id"), with_handoff=Count("id", filter=Q(has_handoff))
    )
    return counts["total"], counts["with_handoff"]


def _facts(account: Account, window: Window):
    """Routed multi-agent conversations started in the window, from their aggregated facts."""
    return ConversationFact.objects.filter(
        account=account, created_at__gte=window.start, created_at__lt=window.end,
        arm=Conversation.Arm.MULTI_AGENT, routed=True,
    )  # fmt: skip


def _routed_hours(account: Account, window: Window):
    return _hours(ConversationHour, account, window).filter(arm=Conversation.Arm.MULTI_AGENT, routed=True)


def _hours(model, account: Account, window: Window):
    return model.objects.filter(account=account, hour__gte=window.start, hour__lt=window.end)


def handoff_figures(*, account: Account, window: Window, busiest: int = 10) -> HandoffFigures:
    """The hand-offs page, read from the aggregates (analytics.rollups)."""
    agents = agent_refs(account=account)
    counts = _routed_hours(account, window).aggregate(
        total=Sum("conversations"), with_handoff=Sum("with_handoff")
    )
    total, with_handoff = counts["total"] or 0, counts["with_handoff"] or 0
    hours = _hours(HandoffHour, account, window)
    by_via = dict(hours.values("via").annotate(n=Sum("count")).values_list("via", "n"))
    stops = dict(
        _hours(GuardrailHour, account, window)
        .filter(kind__in=[*CIRCULAR_KINDS, GuardrailEvent.Kind.STEP_LIMIT])
        .values("kind")
        .annotate(n=Sum("count"))
        .values_list("kind", "n")
    )
    paths = [
        HandoffPath(
            source=agents.get(row["from_agent_id"], START) if row["from_agent_id"] else START,
            target=agents.get(row["to_agent_id"], UNKNOWN_AGENT),
            count=row["n"],
        )
        for row in hours.values("from_agent_id", "to_agent_id").annotate(n=Sum("count"))
    ]
    busiest_rows = (
        _facts(account, window)
        .filter(handoffs__gt=0)
        .order_by("-handoffs", "conversation_id")
        .values_list("conversation_id", "conversation__title", "arm", "handoffs", "created_at")[:busiest]
    )
    return HandoffFigures(
        conversations=total,
        with_handoff=with_handoff,
        rate=ratio(with_handoff, total),
        handoffs=sum(by_via.values()),
        by_tool=by_via.get("tool", 0),
        by_router=by_via.get("router", 0),
        circular_stops=sum(stops.get(kind, 0) for kind in CIRCULAR_KINDS),
        step_limit_stops=stops.get(GuardrailEvent.Kind.STEP_LIMIT, 0),
        paths=sorted(paths, key=lambda p: (-p.count, p.source.name, p.target.name)),
        busiest=[
            BusyConversation(
                id=pk, title=title or f"Conversation {pk}", arm=arm, handoffs=n, created_at=created
            )
            for pk, title, arm, n, created in busiest_rows
        ],
        series=handoff_series(account=account, window=window),
    )


def handoff_series(*, account: Account, window: Window) -> list[HandoffPoint]:
    conversations = {
        bucket_key(row["bucket"]): row
        for row in _routed_hours(account, window)
        .annotate(bucket=trunc(window, "hour"))
        .values("bucket")
        .annotate(total=Sum("conversations"), with_handoff=Sum("with_handoff"))
    }
    handoffs = {
        bucket_key(row["bucket"]): row["n"]
        for row in _hours(HandoffHour, account, window)
        .annotate(bucket=trunc(window, "hour"))
        .values("bucket")
        .annotate(n=Sum("count"))
    }
    points = []
    for key in sorted(set(conversations) | set(handoffs)):
        row = conversations.get(key, {"total": 0, "with_handoff": 0})
        points.append(
            HandoffPoint(
                bucket=key,
                conversations=row["total"],
                with_handoff=row["with_handoff"],
                handoffs=handoffs.get(key, 0),
                rate=ratio(row["with_handoff"], row["total"]),
            )
        )
    return points


@dataclass(frozen=True)
class TrailStep:
    created_at: datetime
    source: AgentRef
    target: AgentRef
    via: str
    reason: str


def conversation_trail(*, account: Account, conversation_id: int) -> tuple[Conversation, list[TrailStep]]:
    """One conversation's hand-offs in order; Http404 when it is not the account's."""
    from django.shortcuts import get_object_or_404

    conversation = get_object_or_404(Conversation.objects.filter(account=account), pk=conversation_id)
    agents = agent_refs(account=account)
    steps = [
        TrailStep(
            created_at=h.created_at,
            source=agents.get(h.from_agent_id, START) if h.from_agent_id else START,
            target=agents.get(h.to_agent_id, UNKNOWN_AGENT),
            via=h.via,
            reason=h.reason,
        )
        for h in Handoff.objects.filter(conversation=conversation).order_by("created_at", "id")
    ]
    return conversation, steps
