"""Agents and models: utilisation, latency, tokens, cost, errors and feedback; and the account's
cost and latency over time. The pages read the hourly aggregates; ``error_rate`` (for alerts,
over the last minutes) reads the raw replies."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, Q, Sum

from accounts.models import Account
from analytics.models import ConversationHour, ReplyDay, ReplyHour
from analytics.rollups import bins_percentile
from analytics.selectors.common import (
    UNKNOWN_AGENT,
    AgentRef,
    agent_refs,
    agent_replies_in,
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


class _Totals:
    """Sums of ReplyHour rows, and their merged latency histograms."""

    def __init__(self) -> None:
        self.replies = self.complete = self.failed = self.prompt = self.completion = 0
        self.up = self.down = self.latency_count = 0
        self.cost = self.latency_sum = 0.0
        self.latency: dict[int, int] = {}
        self.first_token: dict[int, int] = {}

    def add(self, values: tuple) -> None:
        replies, complete, failed, prompt, completion, cost, lat_n, lat_sum, up, down = (
            v or 0 for v in values
        )
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


_BINS_SQL = """
SELECT r.agent_id, r.model, {bucket}, {key}, SUM({value})
FROM {table} r, {each}
WHERE r.account_id = %s AND r.hour >= %s AND r.hour < %s
GROUP BY 1, 2, 3, 4
"""


def _bins_sql(table: str, column: str, bucket: str) -> str:
    """Histograms summed by the database (the JSON objects unnested), per agent, model and bucket:
    a few thousand rows back instead of one JSON object per hour to merge in Python."""
    if connection.vendor == "postgresql":
        each = f"jsonb_each_text(r.{column}) AS b"
        key, value = "b.key::int", "b.value::int"
        buckets = {"hour": "r.hour", "day": "date_trunc('day', r.hour AT TIME ZONE 'UTC')", "none": "NULL"}
    else:
        each = f"json_each(r.{column}) AS b"
        key, value = "CAST(b.key AS INTEGER)", "b.value"
        buckets = {"hour": "r.hour", "day": "substr(r.hour, 1, 10) || ' 00:00:00'", "none": "NULL"}
    return _BINS_SQL.format(table=table, bucket=buckets[bucket], key=key, value=value, each=each)


@dataclass
class ReplySums:
    """The window's hourly reply rows summed: in total, per agent, per model and per time bucket."""

    total: _Totals
    per_agent: dict[int | None, _Totals]
    per_model: dict[str, _Totals]
    buckets: dict[str, _Totals]


def _sources(window: Window) -> list[tuple[type, datetime, datetime]]:
    """Whole UTC days of a long window from the daily rows, the hours at its edges from the hourly."""
    if window.bucket == "hour":
        return [(ReplyHour, window.start, window.end)]
    first = window.start.astimezone(UTC).replace(hour=0)
    if first < window.start:
        first += timedelta(days=1)
    last = window.end.astimezone(UTC).replace(hour=0)
    if first >= last:
        return [(ReplyHour, window.start, window.end)]
    ranges = [(ReplyHour, window.start, first), (ReplyDay, first, last), (ReplyHour, last, window.end)]
    return [(model, start, end) for model, start, end in ranges if start < end]


def reply_sums(*, account: Account, window: Window) -> ReplySums:
    sums = ReplySums(_Totals(), defaultdict(_Totals), defaultdict(_Totals), defaultdict(_Totals))
    adapt = connection.ops.adapt_datetimefield_value
    for model, start, end in _sources(window):
        rows = (
            model.objects.filter(account=account, hour__gte=start, hour__lt=end)
            .annotate(bucket=trunc(window, "hour"))
            .values("agent_id", "model", "bucket")
            .annotate(
                n=Sum("replies"), complete_n=Sum("complete"), failed_n=Sum("failed"),
                prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), cost=Sum("cost_usd"),
                lat_n=Sum("latency_count"), lat_sum=Sum("latency_sum"), up=Sum("thumbs_up"),
                down=Sum("thumbs_down"),
            )
        )  # fmt: skip
        for row in rows:
            values = (row["n"], row["complete_n"], row["failed_n"], row["prompt"], row["completion"],
                      row["cost"], row["lat_n"], row["lat_sum"], row["up"], row["down"])  # fmt: skip
            for target in (sums.total, sums.per_agent[row["agent_id"]], sums.per_model[row["model"]],
                           sums.buckets[bucket_key(row["bucket"])]):  # fmt: skip
                target.add(values)
        table = model._meta.db_table
        params = [account.pk, adapt(start), adapt(end)]
        with connection.cursor() as cursor:
            cursor.execute(_bins_sql(table, "latency_bins", window.bucket), params)
            for agent_id, model_name, bucket, index, count in cursor.fetchall():
                for target in (sums.total, sums.per_agent[agent_id], sums.per_model[model_name],
                               sums.buckets[bucket_key(bucket)]):  # fmt: skip
                    target.latency[index] = target.latency.get(index, 0) + int(count)
            cursor.execute(_bins_sql(table, "first_token_bins", "none"), params)
            for agent_id, model_name, _, index, count in cursor.fetchall():
                for target in (sums.total, sums.per_agent[agent_id], sums.per_model[model_name]):
                    target.first_token[index] = target.first_token.get(index, 0) + int(count)
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
