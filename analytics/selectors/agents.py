"""Agents and models: utilisation, latency, tokens, cost, errors and feedback; and the account's
cost and latency over time."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, F, Q, Sum

from accounts.models import Account
from analytics.db import Percentile
from analytics.selectors.common import (
    UNKNOWN_AGENT,
    AgentRef,
    agent_refs,
    agent_replies_in,
    as_float,
    bucket_key,
    ratio,
    trunc,
)
from analytics.selectors.routing import first_routings
from analytics.windows import Window
from conversations.models import Message

COMPLETE = Message.Status.COMPLETE
FAILED = Message.Status.FAILED


@dataclass(frozen=True)
class UsageRow:
    """One agent's or one model's replies in the window."""

    key: str  # agent slug or model name
    label: str
    replies: int
    reply_share: float | None
    first_routings: int | None  # agents only
    first_routing_share: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    first_token_p50_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    failed: int
    error_rate: float | None  # failed / (complete + failed)
    thumbs_up: int
    thumbs_down: int


@dataclass(frozen=True)
class CostPoint:
    bucket: str
    replies: int
    cost_usd: float
    tokens: int
    latency_avg_ms: float | None
    latency_p95_ms: float | None
    error_rate: float | None


@dataclass(frozen=True)
class AgentFigures:
    replies: int
    conversations: int  # conversations with a reply in the window
    cost_usd: float
    cost_per_conversation: float | None
    tokens: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    first_token_p50_ms: float | None
    first_token_p95_ms: float | None
    error_rate: float | None
    thumbs_up: int
    thumbs_down: int
    per_agent: list[UsageRow]
    per_model: list[UsageRow]
    series: list[CostPoint]


def _aggregates() -> dict:
    complete = Q(status=COMPLETE)
    return {
        "replies": Count("id"),
        "p50": Percentile("latency_ms", 0.5, filter=complete),
        "p95": Percentile("latency_ms", 0.95, filter=complete),
        "ft50": Percentile("first_token_ms", 0.5, filter=complete),
        "prompt": Sum("prompt_tokens"),
        "completion": Sum("completion_tokens"),
        "cost": Sum("cost_usd"),
        "complete": Count("id", filter=complete),
        "failed": Count("id", filter=Q(status=FAILED)),
        "up": Count("id", filter=Q(feedback=Message.Feedback.UP)),
        "down": Count("id", filter=Q(feedback=Message.Feedback.DOWN)),
    }


def _row(key: str, label: str, row: dict, total: int, firsts: tuple[int, int] | None) -> UsageRow:
    return UsageRow(
        key=key,
        label=label,
        replies=row["replies"],
        reply_share=ratio(row["replies"], total),
        first_routings=firsts[0] if firsts else None,
        first_routing_share=ratio(firsts[0], firsts[1]) if firsts else None,
        latency_p50_ms=row["p50"],
        latency_p95_ms=row["p95"],
        first_token_p50_ms=row["ft50"],
        prompt_tokens=row["prompt"] or 0,
        completion_tokens=row["completion"] or 0,
        cost_usd=as_float(row["cost"]),
        failed=row["failed"],
        error_rate=ratio(row["failed"], row["complete"] + row["failed"]),
        thumbs_up=row["up"],
        thumbs_down=row["down"],
    )


def agent_figures(*, account: Account, window: Window) -> AgentFigures:
    replies = agent_replies_in(account=account, window=window)
    agents = agent_refs(account=account)
    totals = replies.aggregate(
        **_aggregates(),
        ft95=Percentile("first_token_ms", 0.95, filter=Q(status=COMPLETE)),
        conversations=Count("conversation", distinct=True),
    )
    firsts = {r.agent.id: r.conversations for r in first_routings(account=account, window=window)}
    first_total = sum(firsts.values())
    per_agent = []
    for row in replies.values("agent").annotate(**_aggregates()):
        ref: AgentRef = agents.get(row["agent"], UNKNOWN_AGENT)
        per_agent.append(
            _row(ref.slug, ref.name, row, totals["replies"], (firsts.get(row["agent"], 0), first_total))
        )
    per_model = [
        _row(row["model"] or "(none)", row["model"] or "(none)", row, totals["replies"], None)
        for row in replies.values("model").annotate(**_aggregates())
    ]
    cost = as_float(totals["cost"])
    return AgentFigures(
        replies=totals["replies"],
        conversations=totals["conversations"],
        cost_usd=cost,
        cost_per_conversation=ratio(cost, totals["conversations"]),
        tokens=(totals["prompt"] or 0) + (totals["completion"] or 0),
        latency_p50_ms=totals["p50"],
        latency_p95_ms=totals["p95"],
        first_token_p50_ms=totals["ft50"],
        first_token_p95_ms=totals["ft95"],
        error_rate=ratio(totals["failed"], totals["complete"] + totals["failed"]),
        thumbs_up=totals["up"],
        thumbs_down=totals["down"],
        per_agent=sorted(per_agent, key=lambda r: (-r.replies, r.label)),
        per_model=sorted(per_model, key=lambda r: (-r.replies, r.label)),
        series=cost_series(account=account, window=window),
    )


def cost_series(*, account: Account, window: Window) -> list[CostPoint]:
    complete = Q(status=COMPLETE)
    rows = (
        agent_replies_in(account=account, window=window)
        .annotate(bucket=trunc(window))
        .values("bucket")
        .annotate(
            replies=Count("id"),
            cost=Sum("cost_usd"),
            tokens=Sum(F("prompt_tokens") + F("completion_tokens")),
            avg=Avg("latency_ms", filter=complete),
            p95=Percentile("latency_ms", 0.95, filter=complete),
            complete=Count("id", filter=complete),
            failed=Count("id", filter=Q(status=FAILED)),
        )
        .order_by("bucket")
    )
    return [
        CostPoint(
            bucket=bucket_key(row["bucket"]),
            replies=row["replies"],
            cost_usd=as_float(row["cost"]),
            tokens=row["tokens"] or 0,
            latency_avg_ms=row["avg"],
            latency_p95_ms=row["p95"],
            error_rate=ratio(row["failed"], row["complete"] + row["failed"]),
        )
        for row in rows
    ]


def error_rate(*, account: Account, window: Window) -> tuple[int, int]:
    """(finished agent replies in the window, failed ones)."""
    counts = agent_replies_in(account=account, window=window).aggregate(
        finished=Count("id", filter=Q(status__in=[COMPLETE, FAILED])),
        failed=Count("id", filter=Q(status=FAILED)),
    )
    return counts["finished"], counts["failed"]
