"""The headline figures of the overview page, with their time series."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from accounts.models import Account
from agents.models import RoutingEvaluation
from analytics.models import ConversationFact, ReplyHour
from analytics.rollups import bins_merge, bins_percentile
from analytics.selectors.agents import CostPoint, cost_series
from analytics.selectors.common import ratio
from analytics.selectors.handoffs import HandoffPoint, handoff_series
from analytics.selectors.routing import first_routings
from analytics.windows import Window
from conversations.models import Conversation

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
    facts = ConversationFact.objects.filter(
        account=account, created_at__gte=window.start, created_at__lt=window.end
    )
    arms = dict(facts.values("arm").annotate(n=Count("pk")).values_list("arm", "n"))
    rate = facts.filter(arm=Conversation.Arm.MULTI_AGENT, routed=True).aggregate(
        total=Count("pk"), with_handoff=Count("pk", filter=Q(handoffs__gt=0))
    )
    firsts = first_routings(account=account, window=window)
    routed = sum(r.conversations for r in firsts)
    handed = sum(r.handed_off for r in firsts)
    latest = RoutingEvaluation.objects.filter(account=account).order_by("-created_at", "-id").first()
    latency: dict[int, int] = {}
    complete = failed = 0
    cost = 0.0
    for bins, done, failures, spent in ReplyHour.objects.filter(
        account=account, hour__gte=window.start, hour__lt=window.end
    ).values_list("latency_bins", "complete", "failed", "cost_usd"):
        bins_merge(latency, bins)
        complete, failed, cost = complete + done, failed + failures, cost + spent
    return Headlines(
        conversations=sum(arms.values()),
        legacy_conversations=arms.get(Conversation.Arm.LEGACY, 0),
        multi_agent_conversations=arms.get(Conversation.Arm.MULTI_AGENT, 0),
        handoff_rate=ratio(rate["with_handoff"], rate["total"]),
        routing_accuracy_live=ratio(routed - handed, routed),
        routing_accuracy_evaluated=latest.accuracy if latest else None,
        error_rate=ratio(failed, complete + failed),
        latency_p95_ms=bins_percentile(latency, 0.95),
        cost_usd=cost,
    )


def overview_figures(*, account: Account, window: Window) -> OverviewFigures:
    return OverviewFigures(
        headlines=headlines(account=account, window=window),
        handoff_series=handoff_series(account=account, window=window),
        cost_series=cost_series(account=account, window=window),
    )
