"""The multi-agent arm against the legacy arm, over the conversations each started in the window.

The hidden conversations of the shadow phase are left out of the arms: a user never sees them, so
they can get no feedback and no escalation, and they answer again a question the legacy arm served.
The shadow pairs are compared side by side instead (``analytics.selectors.shadow``).

Each figure comes with both arms' counts and a 95% interval for the difference (multi-agent minus
legacy). Per-conversation figures (length, errors, cost) are computed per conversation first and
then summed as moments in one pass, so the query reads each message once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from accounts.models import Account
from analytics.models import ConversationHour
from analytics.selectors.shadow import ShadowFigures, shadow_figures
from analytics.stats import Difference, Moments, mean_difference, proportion_difference
from analytics.windows import Window
from conversations.models import Conversation


@dataclass(frozen=True)
class ArmFigures:
    arm: str
    label: str
    conversations: int
    turns: Moments  # user messages per conversation
    with_error: int  # conversations with at least one failed reply
    cost: Moments  # cost per conversation (USD)
    latency: Moments  # reply latency (ms), over completed replies
    thumbs_up: int
    thumbs_down: int
    escalated: int

    @property
    def error_rate(self) -> float | None:
        return self.with_error / self.conversations if self.conversations else None

    @property
    def satisfaction(self) -> float | None:
        rated = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / rated if rated else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.conversations if self.conversations else None


@dataclass(frozen=True)
class Comparison:
    metric: str
    label: str
    unit: str  # "share", "ms", "usd", "turns"
    legacy: float | None
    multi_agent: float | None
    legacy_n: int
    multi_agent_n: int
    difference: Difference
    lower_is_better: bool


@dataclass(frozen=True)
class CohortFigures:
    legacy: ArmFigures
    multi_agent: ArmFigures
    comparisons: list[Comparison]
    shadow: ShadowFigures


def _arm(arm: str, row: tuple | None) -> ArmFigures:
    row = row or (arm, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    _, n, turns, turns_sq, with_error, cost, cost_sq, lat_n, lat_sum, lat_sq, up, down, escalated = (
        v or 0 for v in row
    )
    return ArmFigures(
        arm=arm,
        label=Conversation.Arm(arm).label,
        conversations=int(n),
        turns=Moments(int(n), float(turns), float(turns_sq)),
        with_error=int(with_error),
        cost=Moments(int(n), float(cost), float(cost_sq)),
        latency=Moments(int(lat_n), float(lat_sum), float(lat_sq)),
        thumbs_up=int(up),
        thumbs_down=int(down),
        escalated=int(escalated),
    )


def cohort_figures(*, account: Account, window: Window) -> CohortFigures:
    """Both arms over the conversations started in the window, from the hourly sums of their facts."""
    hours = ConversationHour.objects.filter(
        account=account, hour__gte=window.start, hour__lt=window.end, shadow=False
    )
    rows = {
        row[0]: row
        for row in hours.values("arm")
        .annotate(
            n=Sum("conversations"), t=Sum("turns"), t2=Sum("turns_squares"), e=Sum("with_error"),
            c=Sum("cost_usd"), c2=Sum("cost_squares"), ln=Sum("latency_count"), ls=Sum("latency_sum"),
            l2=Sum("latency_squares"), up=Sum("thumbs_up"), down=Sum("thumbs_down"), esc=Sum("escalated"),
        )
        .values_list("arm", "n", "t", "t2", "e", "c", "c2", "ln", "ls", "l2", "up", "down", "esc")
    }  # fmt: skip
    legacy = _arm(Conversation.Arm.LEGACY, rows.get(Conversation.Arm.LEGACY))
    multi = _arm(Conversation.Arm.MULTI_AGENT, rows.get(Conversation.Arm.MULTI_AGENT))
    comparisons = [
        Comparison(
            "error_rate", "Conversations with a failed reply", "share",
            legacy.error_rate, multi.error_rate, legacy.conversations, multi.conversations,
            proportion_difference(
                hits_a=multi.with_error, n_a=multi.conversations,
                hits_b=legacy.with_error, n_b=legacy.conversations,
            ),
            lower_is_better=True,
        ),
        Comparison(
            "turns", "Conversation length (user messages)", "turns",
            legacy.turns.mean, multi.turns.mean, legacy.conversations, multi.conversations,
            mean_difference(multi.turns, legacy.turns), lower_is_better=True,
        ),
        Comparison(
            "satisfaction", "Thumbs up among rated replies", "share",
            legacy.satisfaction, multi.satisfaction,
            legacy.thumbs_up + legacy.thumbs_down, multi.thumbs_up + multi.thumbs_down,
            proportion_difference(
                hits_a=multi.thumbs_up, n_a=multi.thumbs_up + multi.thumbs_down,
                hits_b=legacy.thumbs_up, n_b=legacy.thumbs_up + legacy.thumbs_down,
            ),
            lower_is_better=False,
        ),
        Comparison(
            "latency", "Reply latency (mean)", "ms",
            legacy.latency.mean, multi.latency.mean, legacy.latency.n, multi.latency.n,
            mean_difference(multi.latency, legacy.latency), lower_is_better=True,
        ),
        Comparison(
            "cost", "Cost per conversation", "usd",
            legacy.cost.mean, multi.cost.mean, legacy.conversations, multi.conversations,
            mean_difference(multi.cost, legacy.cost), lower_is_better=True,
        ),
        Comparison(
            "escalation_rate", "Conversations escalated", "share",
            legacy.escalation_rate, multi.escalation_rate, legacy.conversations, multi.conversations,
            proportion_difference(
                hits_a=multi.escalated, n_a=multi.conversations,
                hits_b=legacy.escalated, n_b=legacy.conversations,
            ),
            lower_is_better=True,
        ),
    ]  # fmt: skip
    return CohortFigures(
        legacy=legacy,
        multi_agent=multi,
        comparisons=comparisons,
        shadow=shadow_figures(account=account, window=window),
    )
