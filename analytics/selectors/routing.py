"""Routing accuracy, measured two ways: from labelled evaluations (``eval_routing`` runs, kept as
``RoutingEvaluation``) and from live traffic, where a first agent that hands the conversation off
within its first turn counts as a misroute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum

from accounts.models import Account
from agents.models import RoutingEvaluation
from analytics.models import ConversationHour
from analytics.selectors.common import UNKNOWN_AGENT, AgentRef, agent_refs, in_window, ratio
from analytics.windows import Window
from conversations.models import Conversation


@dataclass(frozen=True)
class EvaluationPoint:
    created_at: datetime
    dataset: str
    total: int
    correct: int
    accuracy: float


@dataclass(frozen=True)
class FirstRouting:
    agent: AgentRef
    conversations: int  # conversations this agent was routed first
    handed_off: int  # of those, handed off within the first turn
    accuracy: float | None


@dataclass(frozen=True)
class RoutingFigures:
    latest_evaluation: EvaluationPoint | None  # the newest run, even if older than the window
    evaluations: list[EvaluationPoint]  # runs in the window, oldest first
    live_conversations: int
    live_handed_off: int
    live_accuracy: float | None
    per_agent: list[FirstRouting]


def _point(evaluation: RoutingEvaluation) -> EvaluationPoint:
    return EvaluationPoint(
        created_at=evaluation.created_at,
        dataset=evaluation.dataset,
        total=evaluation.total,
        correct=evaluation.correct,
        accuracy=evaluation.accuracy,
    )


def first_routings(*, account: Account, window: Window) -> list[FirstRouting]:
    """Per agent, the routed multi-agent conversations started in the window that it answered first
    (from the hourly sums of the conversations' facts)."""
    rows = (
        ConversationHour.objects.filter(
            account=account, hour__gte=window.start, hour__lt=window.end,
            arm=Conversation.Arm.MULTI_AGENT, routed=True, first_agent_id__isnull=False,
        )
        .values("first_agent_id")
        .annotate(n=Sum("conversations"), handed=Sum("first_turn_handoffs"))
    )  # fmt: skip
    agents = agent_refs(account=account)
    result = [
        FirstRouting(
            agent=agents.get(row["first_agent_id"], UNKNOWN_AGENT),
            conversations=row["n"],
            handed_off=row["handed"],
            accuracy=ratio(row["n"] - row["handed"], row["n"]),
        )
        for row in rows
    ]
    return sorted(result, key=lambda r: (-r.conversations, r.agent.name))


def routing_figures(*, account: Account, window: Window) -> RoutingFigures:
    evaluations = RoutingEvaluation.objects.filter(account=account)
    latest = evaluations.order_by("-created_at", "-id").first()
    per_agent = first_routings(account=account, window=window)
    total = sum(r.conversations for r in per_agent)
    handed = sum(r.handed_off for r in per_agent)
    return RoutingFigures(
        latest_evaluation=_point(latest) if latest else None,
        evaluations=[_point(e) for e in in_window(evaluations, window).order_by("created_at", "id")],
        live_conversations=total,
        live_handed_off=handed,
        live_accuracy=ratio(total - handed, total),
        per_agent=per_agent,
    )
