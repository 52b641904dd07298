"""Agents and models: utilisation, latency, tokens, cost, errors and feedback; and the account's
cost and latency over time. The pages read the hourly aggregates; ``error_rate`` (for alerts,
over the last minutes) reads the raw replies."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from accounts.models import Account
from analytics.models import ConversationHour, ReplyHour
from analytics.rollups import bins_merge, bins_percentile
from analytics.selectors.common import (
    UNKNOWN_AGENT,
    AgentRef,
    agent_refs,
    agent_replies_in,
    bucket_key,
    ratio,
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


class _Totals:
    """Sums of ReplyHour rows, and their merged latency histograms."""

    def __init__(self) -> None:
        self.replies = self.complete = self.failed = self.prompt = self.completion = 0
        self.up = self.down = self.latency_count = 0
        self.cost = self.latency_sum = 0.0
        self.latency: dict[int, int] = {}
        self.first_token: dict[int, int] = {}

    def add(self, row: tuple) -> None:
        """``row`` is a ReplyHour as ``PASS_FIELDS``."""
        replies, complete, failed, prompt, completion, cost, lat_n, lat_sum, bins, ft_bins, up, down = row[3:]
        self.replies += replies
        self.complete += complete
        self.failed += failed
        self.prompt += prompt
        self.completion += completion
        self.cost += cost
        self.up += up
        self.down += down
        self.latency_count += lat_n
        self.latency_sum += lat_sum
        bins_merge(self.latency, bins)
        bins_merge(self.first_token, ft_bins)

    @property
    def error_rate(self) -> float | None:
        return ratio(self.failed, self.complete + self.failed)

    def row(self, key: str, label: str, total: int, firsts: tuple[int, int] | None) -> UsageRow:
        return UsageRow(
            key=key,
            label=label,
            replies=self.replies,
            reply_share=ratio(self.replies, total),
            first_routings=firsts[0] if firsts else None,
            first_routing_share=ratio(firsts[0], firsts[1]) if firsts else None,
            latency_p50_ms=bins_percentile(self.latency, 0.5),
            latency_p95_ms=bins_percentile(self.latency, 0.95),
            first_token_p50_ms=bins_percentile(self.first_token, 0.5),
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            cost_usd=self.cost,
            failed=self.failed,
            error_rate=self.error_rate,
            thumbs_up=self.up,
            thumbs_down=self.down,
        )


PASS_FIELDS = (
    "hour", "agent_id", "model", "replies", "complete", "failed", "prompt_tokens", "completion_tokens",
    "cost_usd", "latency_count", "latency_sum", "latency_bins", "first_token_bins", "thumbs_up",
    "thumbs_down",
)  # fmt: skip


@dataclass
class ReplySums:
    """The window's hourly reply rows summed in one pass: in total, per agent, per model and per
    time-series bucket."""

    total: _Totals
    per_agent: dict[int | None, _Totals]
    per_model: dict[str, _Totals]
    buckets: dict[str, _Totals]


def reply_sums(*, account: Account, window: Window) -> ReplySums:
    sums = ReplySums(_Totals(), defaultdict(_Totals), defaultdict(_Totals), defaultdict(_Totals))
    by_day = window.bucket == "day"
    rows = ReplyHour.objects.filter(account=account, hour__gte=window.start, hour__lt=window.end)
    for row in rows.values_list(*PASS_FIELDS):
        hour = row[0]
        sums.total.add(row)
        sums.per_agent[row[1]].add(row)
        sums.per_model[row[2]].add(row)
        sums.buckets[bucket_key(hour.replace(hour=0) if by_day else hour)].add(row)
    return sums


def agent_figures(*, account: Account, window: Window) -> AgentFigures:
    """The agents page, read from the hourly aggregates (analytics.rollups) in one pass."""
    agents = agent_refs(account=account)
    sums = reply_sums(account=account, window=window)
    totals = sums.total
    firsts = {r.agent.id: r.conversations for r in first_routings(account=account, window=window)}
    first_total = sum(firsts.values())
    conversations = ConversationHour.objects.filter(
        account=account, hour__gte=window.start, hour__lt=window.end
    ).aggregate(n=Sum("conversations"), cost=Sum("cost_usd"))
    agent_rows = []
    for agent_id, agent_sums in sums.per_agent.items():
        ref: AgentRef = agents.get(agent_id, UNKNOWN_AGENT)
        agent_rows.append(
            agent_sums.row(ref.slug, ref.name, totals.replies, (firsts.get(agent_id, 0), first_total))
        )
    model_rows = [
        model_sums.row(model or "(none)", model or "(none)", totals.replies, None)
        for model, model_sums in sums.per_model.items()
    ]
    return AgentFigures(
        replies=totals.replies,
        conversations=conversations["n"] or 0,
        cost_usd=totals.cost,
        cost_per_conversation=ratio(conversations["cost"], conversations["n"]),
        tokens=totals.prompt + totals.completion,
        latency_p50_ms=bins_percentile(totals.latency, 0.5),
        latency_p95_ms=bins_percentile(totals.latency, 0.95),
        first_token_p50_ms=bins_percentile(totals.first_token, 0.5),
        first_token_p95_ms=bins_percentile(totals.first_token, 0.95),
        error_rate=totals.error_rate,
        thumbs_up=totals.up,
        thumbs_down=totals.down,
        per_agent=sorted(agent_rows, key=lambda r: (-r.replies, r.label)),
        per_model=sorted(model_rows, key=lambda r: (-r.replies, r.label)),
        series=cost_series(sums),
    )


def cost_series(sums: ReplySums) -> list[CostPoint]:
    return [
        CostPoint(
            bucket=key,
            replies=bucket.replies,
            cost_usd=bucket.cost,
            tokens=bucket.prompt + bucket.completion,
            latency_avg_ms=ratio(bucket.latency_sum, bucket.latency_count),
            latency_p95_ms=bins_percentile(bucket.latency, 0.95),
            error_rate=bucket.error_rate,
        )
        for key, bucket in sorted(sums.buckets.items())
    ]


def error_rate(*, account: Account, window: Window) -> tuple[int, int]:
    """(finished agent replies in the window, failed ones)."""
    counts = agent_replies_in(account=account, window=window).aggregate(
        finished=Count("id", filter=Q(status__in=[COMPLETE, FAILED])),
        failed=Count("id", filter=Q(status=FAILED)),
    )
    return counts["finished"], counts["failed"]
