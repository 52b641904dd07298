"""Shadow-phase pairs: the same user message answered by the legacy agent (served) and by the
multi-agent system (in a hidden shadow conversation), side by side. Being paired, the two are
compared message by message: the interval is that of the mean paired difference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast

from accounts.models import Account
from analytics.selectors.common import as_float, in_window
from analytics.stats import Difference, Moments, mean_difference_paired
from analytics.windows import Window
from conversations.models import ShadowPair


@dataclass(frozen=True)
class ShadowPairRow:
    id: int
    created_at: datetime
    question: str
    legacy_status: str
    legacy_latency_ms: int | None
    legacy_cost_usd: float
    legacy_text: str
    shadow_status: str
    shadow_agent: str
    shadow_latency_ms: int | None
    shadow_cost_usd: float
    shadow_text: str


@dataclass(frozen=True)
class ShadowFigures:
    pairs: int
    legacy_failed: int
    shadow_failed: int
    failed_difference: Difference  # mean of (shadow failed - legacy failed): the difference of shares
    latency_pairs: int  # pairs where both replies completed with a latency
    latency_difference: Difference  # mean of (shadow - legacy) ms
    cost_difference: Difference  # mean of (shadow - legacy) USD
    legacy_cost_usd: float
    shadow_cost_usd: float
    latest: list[ShadowPairRow]


def shadow_figures(*, account: Account, window: Window, latest: int = 20) -> ShadowFigures:
    pairs = in_window(ShadowPair.objects.filter(shadow__served__account=account), window)
    both_complete = Q(legacy_reply__status="complete", shadow_reply__status="complete") & Q(
        legacy_reply__latency_ms__isnull=False, shadow_reply__latency_ms__isnull=False
    )
    latency = Cast(F("shadow_reply__latency_ms"), FloatField()) - Cast(
        F("legacy_reply__latency_ms"), FloatField()
    )
    cost = Cast(F("shadow_reply__cost_usd"), FloatField()) - Cast(F("legacy_reply__cost_usd"), FloatField())
    totals = pairs.aggregate(
        n=Count("id"),
        legacy_failed=Count("id", filter=Q(legacy_reply__status="failed")),
        shadow_failed=Count("id", filter=Q(shadow_reply__status="failed")),
        # Pairs where exactly one side failed: the squares of the paired differences.
        discordant=Count("id", filter=Q(shadow_reply__status="failed") ^ Q(legacy_reply__status="failed")),
        latency_n=Count("id", filter=both_complete),
        latency_sum=Sum(latency, filter=both_complete),
        latency_sq=Sum(latency * latency, filter=both_complete),
        cost_n=Count(
            "id", filter=Q(legacy_reply__cost_usd__isnull=False, shadow_reply__cost_usd__isnull=False)
        ),
        cost_sum=Sum(cost),
        cost_sq=Sum(cost * cost),
        legacy_cost=Sum("legacy_reply__cost_usd"),
        shadow_cost=Sum("shadow_reply__cost_usd"),
    )
    n = totals["n"]
    rows = pairs.select_related("question", "legacy_reply", "shadow_reply", "shadow_reply__agent").order_by(
        "-created_at", "-id"
    )[:latest]
    return ShadowFigures(
        pairs=n,
        legacy_failed=totals["legacy_failed"],
        shadow_failed=totals["shadow_failed"],
        failed_difference=mean_difference_paired(
            Moments(n, float(totals["shadow_failed"] - totals["legacy_failed"]), float(totals["discordant"]))
        ),
        latency_pairs=totals["latency_n"],
        latency_difference=mean_difference_paired(
            Moments(totals["latency_n"], as_float(totals["latency_sum"]), as_float(totals["latency_sq"]))
        ),
        cost_difference=mean_difference_paired(
            Moments(totals["cost_n"], as_float(totals["cost_sum"]), as_float(totals["cost_sq"]))
        ),
        legacy_cost_usd=as_float(totals["legacy_cost"]),
        shadow_cost_usd=as_float(totals["shadow_cost"]),
        latest=[
            ShadowPairRow(
                id=p.pk, created_at=p.created_at, question=p.question.content[:200],
                legacy_status=p.legacy_reply.status, legacy_latency_ms=p.legacy_reply.latency_ms,
                legacy_cost_usd=as_float(p.legacy_reply.cost_usd), legacy_text=p.legacy_reply.content[:300],
                shadow_status=p.shadow_reply.status,
                shadow_agent=p.shadow_reply.agent.name if p.shadow_reply.agent else "",
                shadow_latency_ms=p.shadow_reply.latency_ms,
                shadow_cost_usd=as_float(p.shadow_reply.cost_usd),
                shadow_text=p.shadow_reply.content[:300],
            )
            for p in rows
        ],
    )  # fmt: skip
