"""The headline figures of the overview page, with their time series."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from accounts.models import Account
from agents.models import RoutingEvaluation
from analytics.db import Percentile
from analytics.selectors.agents import CostPoint, cost_series
from analytics.selectors.common import agent_replies_in, as_float, conversations_in, ratio
from analytics.selectors.handoffs import HandoffPoint, handoff_rate, handoff_series
from analytics.selectors.routing import first_routings
from analytics.windows import Window
from conversations.models import Conversation, Message

HANDOFF_RATE_GOAL = 0.20  # under
ROUTING_ACCURACY_GOAL = 0.90  # over


@dataclass(frozen=True)
class Headlines:
    conversations: int
    legacy_conversations: int
    multi_agent_conversations: int
    handoff_rate: float | None
    routing_accuracy_live: float | None
    routing_accuracy_evaluated: float | None
    error_rate: float | None
    latency_p95_ms: float | None
    cost_usd: float
    handoff_rate_goal: float = HANDOFF_RATE_GOAL
    routing_accuracy_goal: float = ROUTING_ACCURACY_GOAL


@dataclass(frozen=True)
class OverviewFigures:
    headlines: Headlines
    handoff_series: list[HandoffPoint]
    cost_series: list[CostPoint]


def headlines(*, account: Account, window: Window) -> Headlines:
    arms = dict(
        conversations_in(account=account, window=window)
        .values("arm")
        .annotate(n=Count("id"))
        .values_list("arm", "n")
    )
    total, with_handoff = handoff_rate(account=account, window=window)
    firsts = first_routings(account=account, window=window)
    routed = sum(r.conversations for r in firsts)
    handed = sum(r.handed_off for r in firsts)
    latest = RoutingEvaluation.objects.filter(account=account).order_by("-created_at", "-id").first()
    complete = Q(status=Message.Status.COMPLETE)
    replies = agent_replies_in(account=account, window=window).aggregate(
        complete=Count("id", filter=complete),
        failed=Count("id", filter=Q(status=Message.Status.FAILED)),
        p95=Percentile("latency_ms", 0.95, filter=complete),
        cost=Sum("cost_usd"),
    )
    return Headlines(
        conversations=sum(arms.values()),
        legacy_conversations=arms.get(Conversation.Arm.LEGACY, 0),
        multi_agent_conversations=arms.get(Conversation.Arm.MULTI_AGENT, 0),
        handoff_rate=ratio(with_handoff, total),
        routing_accuracy_live=ratio(routed - handed, routed),
        routing_accuracy_evaluated=latest.accuracy if latest else None,
        error_rate=ratio(replies["failed"], replies["complete"] + replies["failed"]),
        latency_p95_ms=replies["p95"],
        cost_usd=as_float(replies["cost"]),
    )


def overview_figures(*, account: Account, window: Window) -> OverviewFigures:
    return OverviewFigures(
        headlines=headlines(account=account, window=window),
        handoff_series=handoff_series(account=account, window=window),
        cost_series=cost_series(account=account, window=window),
    )
