"""The headline figures of the overview page, with their time series."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, Sum

from accounts.models import Account
from agents.models import RoutingEvaluation
from analytics.models import ConversationHour
from analytics.rollups import bins_percentile
from analytics.selectors.agents import CostPoint, ReplySums, cost_series, reply_sums
from analytics.selectors.common import ratio
from analytics.selectors.handoffs import HandoffPoint, handoff_series
from analytics.windows import Window
from conversations.models import Conversation

ROUTED = Q(arm=Conversation.Arm.MULTI_AGENT, routed=True)
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


def headlines(*, account: Account, window: Window, replies: ReplySums | None = None) -> Headlines:
    counts = ConversationHour.objects.filter(
        account=account, hour__gte=window.start, hour__lt=window.end
    ).aggregate(
        legacy=Sum("conversations", filter=Q(arm=Conversation.Arm.LEGACY)),
        multi=Sum("conversations", filter=Q(arm=Conversation.Arm.MULTI_AGENT)),
        routed_n=Sum("conversations", filter=ROUTED),
        with_handoff=Sum("with_handoff", filter=ROUTED),
        first=Sum("conversations", filter=ROUTED & Q(first_agent_id__isnull=False)),
        handed=Sum("first_turn_handoffs", filter=ROUTED & Q(first_agent_id__isnull=False)),
    )
    counts = {key: value or 0 for key, value in counts.items()}
    latest = RoutingEvaluation.objects.filter(account=account).order_by("-created_at", "-id").first()
    total = (replies or reply_sums(account=account, window=window)).total
    return Headlines(
        conversations=counts["legacy"] + counts["multi"],
        legacy_conversations=counts["legacy"],
        multi_agent_conversations=counts["multi"],
        handoff_rate=ratio(counts["with_handoff"], counts["routed_n"]),
        routing_accuracy_live=ratio(counts["first"] - counts["handed"], counts["first"]),
        routing_accuracy_evaluated=latest.accuracy if latest else None,
        error_rate=total.error_rate,
        latency_p95_ms=bins_percentile(total.latency, 0.95),
        cost_usd=total.cost,
    )


def overview_figures(*, account: Account, window: Window) -> OverviewFigures:
    replies = reply_sums(account=account, window=window)
    return OverviewFigures(
        headlines=headlines(account=account, window=window, replies=replies),
        handoff_series=handoff_series(account=account, window=window),
        cost_series=cost_series(replies),
    )
