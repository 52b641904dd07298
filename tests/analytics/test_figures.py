"""Every figure on the hand-built dataset of conftest.py; the expected numbers are worked out by
hand from the rows listed there, not recomputed."""

from __future__ import annotations

import pytest
from pytest import approx

from analytics.selectors.agents import agent_figures
from analytics.selectors.cohorts import cohort_figures
from analytics.selectors.handoffs import conversation_trail, handoff_figures
from analytics.selectors.overview import headlines
from analytics.selectors.routing import routing_figures
from tests.analytics.conftest import WINDOW

pytestmark = pytest.mark.django_db


def near(value: float):
    """Latency percentiles come from log histograms with bins 5% wide (analytics.rollups), as the
    nearest-rank value: the smallest with at least that share of values at or below it."""
    return approx(value, rel=0.025)


def test_handoff_counts_rate_and_stops(dataset, noise):
    f = handoff_figures(account=dataset.account, window=WINDOW)
    # Multi-agent conversations C1, C2, C3, C7; C1 and C3 have a hand-off. C6 and C8 are outside.
    assert (f.conversations, f.with_handoff, f.rate) == (4, 2, 0.5)
    assert (f.handoffs, f.by_tool, f.by_router) == (2, 1, 1)
    assert (f.circular_stops, f.step_limit_stops) == (1, 1)


def test_handoff_paths_and_busiest_conversations(dataset):
    f = handoff_figures(account=dataset.account, window=WINDOW)
    assert sorted((p.source.slug, p.target.slug, p.count) for p in f.paths) == [
        ("alpha", "beta", 1),
        ("beta", "gamma", 1),
    ]
    assert [(c.title, c.handoffs) for c in f.busiest] == [("C1", 1), ("C3", 1)]


def test_handoff_series_by_day(dataset):
    f = handoff_figures(account=dataset.account, window=WINDOW)
    assert [(p.bucket, p.conversations, p.with_handoff, p.handoffs) for p in f.series] == [
        ("2026-06-08T00:00", 1, 0, 0),  # C7
        ("2026-06-12T00:00", 1, 1, 1),  # C3
        ("2026-06-13T00:00", 1, 0, 0),  # C2 (C4 is legacy)
        ("2026-06-14T00:00", 1, 1, 1),  # C1
    ]


def test_routing_accuracy_from_live_traffic_and_evaluations(dataset, noise):
    f = routing_figures(account=dataset.account, window=WINDOW)
    # alpha was first in C1 (handed off in its first turn) and C2; beta in C3 (its hand-off came
    # in the second turn); gamma in C7.
    per_agent = {r.agent.slug: (r.conversations, r.handed_off, r.accuracy) for r in f.per_agent}
    assert per_agent == {"alpha": (2, 1, 0.5), "beta": (1, 0, 1.0), "gamma": (1, 0, 1.0)}
    assert (f.live_conversations, f.live_handed_off, f.live_accuracy) == (4, 1, 0.75)
    assert [e.accuracy for e in f.evaluations] == [0.92]
    assert f.latest_evaluation.accuracy == 0.92


def test_agent_utilisation_latency_tokens_cost_errors_feedback(dataset, noise):
    f = agent_figures(account=dataset.account, window=WINDOW)
    rows = {r.key: r for r in f.per_agent}
    beta = rows["beta"]
    assert (beta.replies, beta.reply_share) == (3, approx(3 / 9))
    assert (beta.first_routings, beta.first_routing_share) == (1, 0.25)
    # Completed: 1000 and 3000 ms; first tokens 200 and 400 ms.
    assert (beta.latency_p50_ms, beta.latency_p95_ms, beta.first_token_p50_ms) == (
        near(1000),
        near(3000),
        near(200),
    )
    assert (beta.prompt_tokens, beta.completion_tokens, beta.cost_usd) == (400, 150, approx(0.031))
    assert (beta.failed, beta.error_rate, beta.thumbs_up, beta.thumbs_down) == (1, approx(1 / 3), 1, 0)
    assistant = rows["assistant"]
    assert (assistant.replies, assistant.first_routings, assistant.first_routing_share) == (3, 0, 0.0)
    assert (assistant.latency_p50_ms, assistant.latency_p95_ms) == (near(1500), near(2500))
    assert (assistant.cost_usd, assistant.thumbs_up, assistant.error_rate) == (
        approx(0.012),
        2,
        approx(1 / 3),
    )
    assert (rows["alpha"].replies, rows["alpha"].first_routings, rows["alpha"].thumbs_down) == (1, 2, 1)
    gamma = rows["gamma"]
    assert (gamma.replies, gamma.latency_p50_ms, gamma.latency_p95_ms) == (2, near(1000), near(4000))


def test_agent_totals_and_per_model(dataset):
    f = agent_figures(account=dataset.account, window=WINDOW)
    assert (f.replies, f.conversations, f.tokens) == (9, 6, 1550)
    assert f.cost_usd == approx(0.085)
    assert f.cost_per_conversation == approx(0.085 / 6)
    # 1000, 1000, 1500, 2000, 2500, 3000, 4000: the 4th and the 7th
    assert (f.latency_p50_ms, f.latency_p95_ms) == (near(2000), near(4000))
    assert f.error_rate == approx(2 / 9)
    assert (f.thumbs_up, f.thumbs_down) == (3, 1)
    models = {r.key: (r.replies, round(r.cost_usd, 6)) for r in f.per_model}
    assert models == {"m-big": (5, 0.063), "m-fast": (4, 0.022)}


def test_cost_series_by_day(dataset):
    f = agent_figures(account=dataset.account, window=WINDOW)
    assert [(p.bucket, p.replies, round(p.cost_usd, 6)) for p in f.series] == [
        ("2026-06-08T00:00", 1, 0.002),
        ("2026-06-11T00:00", 1, 0.007),
        ("2026-06-12T00:00", 2, 0.031),
        ("2026-06-13T00:00", 3, 0.015),
        ("2026-06-14T00:00", 2, 0.03),
    ]


def test_cohorts_compare_the_arms_with_intervals(dataset, noise):
    f = cohort_figures(account=dataset.account, window=WINDOW)
    assert (f.legacy.conversations, f.multi_agent.conversations) == (2, 4)
    c = {comparison.metric: comparison for comparison in f.comparisons}

    errors = c["error_rate"]  # C4 of 2 legacy, C3 of 4 multi-agent
    assert (errors.legacy, errors.multi_agent) == (0.5, 0.25)
    assert (errors.difference.estimate, errors.difference.low, errors.difference.high) == (
        approx(-0.25),
        approx(-1.0625581, rel=1e-6),
        approx(0.5625581, rel=1e-6),
    )
    assert not errors.difference.significant

    turns = c["turns"]  # 2 and 1 against 2, 1, 2, 1: the same mean; Welch df 1.71
    assert (turns.legacy, turns.multi_agent, turns.difference.estimate) == (1.5, 1.5, 0)
    assert turns.difference.high == approx(2.9262998, rel=1e-6)

    cost = c["cost"]
    assert (cost.legacy, cost.multi_agent) == (approx(0.006), approx(0.01825))
    assert (cost.difference.low, cost.difference.high) == (
        approx(-0.0106115, rel=1e-5),
        approx(0.0351115, rel=1e-5),
    )

    latency = c["latency"]  # completed replies: 1500, 2500 against 1000, 3000, 2000, 4000, 1000
    assert (latency.legacy, latency.multi_agent, latency.legacy_n, latency.multi_agent_n) == (
        2000,
        2200,
        2,
        5,
    )
    assert latency.difference.low == approx(-1975.5836, rel=1e-6)

    satisfaction = c["satisfaction"]  # 2 up of 2 against 1 up of 2
    assert (satisfaction.legacy, satisfaction.multi_agent) == (1.0, 0.5)
    assert satisfaction.difference.low == approx(-1.1929519, rel=1e-6)


def test_headlines(dataset, noise):
    h = headlines(account=dataset.account, window=WINDOW)
    assert (h.conversations, h.legacy_conversations, h.multi_agent_conversations) == (6, 2, 4)
    assert (h.handoff_rate, h.routing_accuracy_live, h.routing_accuracy_evaluated) == (0.5, 0.75, 0.92)
    assert h.error_rate == approx(2 / 9)
    assert h.latency_p95_ms == near(4000)
    assert h.cost_usd == approx(0.085)


def test_an_empty_window_has_no_rates_rather_than_zeros(account):
    f = handoff_figures(account=account, window=WINDOW)
    assert (f.conversations, f.rate, f.paths, f.series) == (0, None, [], [])
    assert cohort_figures(account=account, window=WINDOW).comparisons[0].difference.estimate is None


def test_conversation_trail_lists_its_handoffs_in_order(dataset):
    conversation, steps = conversation_trail(
        account=dataset.account, conversation_id=dataset.conversations["C3"].pk
    )
    assert conversation.title == "C3"
    assert [(s.source.slug, s.target.slug, s.via) for s in steps] == [("beta", "gamma", "router")]
