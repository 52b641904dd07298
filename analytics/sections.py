"""The analytics sections: for each, its figures, its charts, and the tables that its page shows
and that download as CSV. Views and the API look sections up here by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Account
from analytics import charts
from analytics.selectors.agents import UsageRow, agent_figures
from analytics.selectors.cohorts import cohort_figures
from analytics.selectors.escalations import escalation_figures
from analytics.selectors.handoffs import handoff_figures
from analytics.selectors.overview import overview_figures
from analytics.selectors.routing import routing_figures
from analytics.selectors.shadow import ShadowFigures
from analytics.windows import Window

Row = list[Any]


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: Callable[[Any], list[Row]]


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    figures: Callable[..., Any]
    charts: Callable[[Any], dict[str, dict]]
    tables: dict[str, Table] = field(default_factory=dict)

    def compute(self, *, account: Account, window: Window) -> Any:
        return self.figures(account=account, window=window)


def _usage_rows(rows: list[UsageRow], *, agents: bool) -> list[Row]:
    return [
        [r.key, r.label, r.replies, r.reply_share]
        + ([r.first_routings, r.first_routing_share] if agents else [])
        + [r.latency_p50_ms, r.latency_p95_ms, r.first_token_p50_ms, r.prompt_tokens, r.completion_tokens,
           r.cost_usd, r.failed, r.error_rate, r.thumbs_up, r.thumbs_down]
        for r in rows
    ]  # fmt: skip


USAGE_HEADERS = [
    "latency_p50_ms", "latency_p95_ms", "first_token_p50_ms", "prompt_tokens", "completion_tokens",
    "cost_usd", "failed", "error_rate", "thumbs_up", "thumbs_down",
]  # fmt: skip
HANDOFF_SERIES_HEADERS = ["bucket", "conversations", "with_handoff", "handoffs", "handoff_rate"]
COST_SERIES_HEADERS = [
    "bucket",
    "replies",
    "cost_usd",
    "tokens",
    "latency_avg_ms",
    "latency_p95_ms",
    "error_rate",
]


def _handoff_series(points) -> list[Row]:
    return [[p.bucket, p.conversations, p.with_handoff, p.handoffs, p.rate] for p in points]


def _cost_series(points) -> list[Row]:
    return [
        [p.bucket, p.replies, p.cost_usd, p.tokens, p.latency_avg_ms, p.latency_p95_ms, p.error_rate]
        for p in points
    ]


SHADOW_HEADERS = [
    "pair", "created_at", "question", "legacy_status", "legacy_latency_ms", "legacy_cost_usd",
    "shadow_status", "shadow_agent", "shadow_latency_ms", "shadow_cost_usd",
]  # fmt: skip


def _shadow_rows(shadow: ShadowFigures) -> list[Row]:
    return [
        [p.id, p.created_at.isoformat(), p.question, p.legacy_status, p.legacy_latency_ms, p.legacy_cost_usd,
         p.shadow_status, p.shadow_agent, p.shadow_latency_ms, p.shadow_cost_usd]
        for p in shadow.latest
    ]  # fmt: skip


SECTIONS: dict[str, Section] = {
    s.slug: s
    for s in [
        Section(
            "overview", "Overview", overview_figures, charts.overview_charts,
            {
                "handoff-series": Table(
                    "Conversations and hand-offs over time",
                    HANDOFF_SERIES_HEADERS,
                    lambda f: _handoff_series(f.handoff_series),
                ),
                "cost-series": Table(
                    "Replies, cost and latency over time",
                    COST_SERIES_HEADERS,
                    lambda f: _cost_series(f.cost_series),
                ),
            },
        ),
        Section(
            "handoffs", "Hand-offs", handoff_figures, charts.handoff_charts,
            {
                "paths": Table(
                    "Hand-off paths",
                    ["from_agent", "to_agent", "handoffs"],
                    lambda f: [[p.source.slug or p.source.name, p.target.slug or p.target.name, p.count]
                               for p in f.paths],
                ),
                "busiest": Table(
                    "Conversations with the most hand-offs",
                    ["conversation", "title", "arm", "handoffs", "started"],
                    lambda f: [[c.id, c.title, c.arm, c.handoffs, c.created_at.isoformat()]
                               for c in f.busiest],
                ),
                "series": Table(
                    "Hand-offs over time",
                    HANDOFF_SERIES_HEADERS,
                    lambda f: _handoff_series(f.series),
                ),
            },
        ),
        Section(
            "routing", "Routing", routing_figures, charts.routing_charts,
            {
                "live": Table(
                    "Live routing by first agent",
                    ["agent", "conversations", "handed_off_in_first_turn", "accuracy"],
                    lambda f: [[r.agent.slug, r.conversations, r.handed_off, r.accuracy]
                               for r in f.per_agent],
                ),
                "evaluations": Table(
                    "Labelled evaluations",
                    ["date", "dataset", "queries", "correct", "accuracy"],
                    lambda f: [[e.created_at.isoformat(), e.dataset, e.total, e.correct, e.accuracy]
                               for e in f.evaluations],
                ),
            },
        ),
        Section(
            "agents", "Agents and cost", agent_figures, charts.agent_charts,
            {
                "agents": Table(
                    "Per agent",
                    ["agent", "name", "replies", "reply_share", "first_routings", "first_routing_share",
                     *USAGE_HEADERS],
                    lambda f: _usage_rows(f.per_agent, agents=True),
                ),
                "models": Table(
                    "Per model",
                    ["model", "name", "replies", "reply_share", *USAGE_HEADERS],
                    lambda f: _usage_rows(f.per_model, agents=False),
                ),
                "series": Table(
                    "Cost and latency over time",
                    COST_SERIES_HEADERS,
                    lambda f: _cost_series(f.series),
                ),
            },
        ),
        Section(
            "cohorts", "Cohorts", cohort_figures, charts.cohort_charts,
            {
                "comparison": Table(
                    "Multi-agent against legacy",
                    ["metric", "legacy", "multi_agent", "legacy_n", "multi_agent_n", "difference",
                     "ci95_low", "ci95_high", "significant"],
                    lambda f: [[c.metric, c.legacy, c.multi_agent, c.legacy_n, c.multi_agent_n,
                                c.difference.estimate, c.difference.low, c.difference.high,
                                c.difference.significant] for c in f.comparisons],
                ),
                "shadow": Table(
                    "Shadow pairs",
                    SHADOW_HEADERS,
                    lambda f: _shadow_rows(f.shadow),
                ),
            },
        ),
        Section(
            "escalations", "Escalations", escalation_figures, charts.escalation_charts,
            {
                "phases": Table(
                    "Outcomes per ladder phase",
                    ["phase", "reached", "resolved", "auto_fix_rate"],
                    lambda f: [[p.phase, p.reached, p.resolved, p.auto_fix_rate] for p in f.phases],
                ),
                "series": Table(
                    "Escalations over time",
                    ["bucket", "opened", "resolved"],
                    lambda f: [[p.bucket, p.opened, p.resolved] for p in f.series],
                ),
            },
        ),
    ]
}  # fmt: skip


def section_get(slug: str) -> Section | None:
    return SECTIONS.get(slug)
