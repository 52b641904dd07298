"""A run's figures from its results, and two runs compared case by case."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from analytics.evaluation.models import EvaluationResult, EvaluationRun

OUT_OF_SCOPE = "(out of scope)"
NO_AGENT = "(any agent)"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _passed(checks: list[dict], name: str) -> list[bool]:
    return [c["passed"] for c in checks if c["check"] == name]


def run_figures(results: list[EvaluationResult]) -> dict:
    """Pass rate overall and per expected agent, routing accuracy, out-of-scope recall and false
    out-of-scope rate, source accuracy, tool-call correctness, latency p50/p95, tokens and cost."""
    finished = [r for r in results if r.status != EvaluationResult.Status.PENDING]
    passed = sum(r.status == EvaluationResult.Status.PASSED for r in finished)
    per_agent: dict[str, list[bool]] = defaultdict(list)
    routing, oos_hits, false_oos, sources, tools = [], [], [], [], []
    for result in finished:
        expected = result.expectations
        agent = expected.get("expected_agent") or (OUT_OF_SCOPE if expected.get("out_of_scope") else NO_AGENT)
        per_agent[agent].append(result.status == EvaluationResult.Status.PASSED)
        if expected.get("expected_agent"):
            routing.extend(_passed(result.checks, "agent"))
        if expected.get("out_of_scope"):
            oos_hits.append(result.out_of_scope)
        else:
            false_oos.append(result.out_of_scope)
        sources.extend(_passed(result.checks, "source"))
        tool_checks = [
            c["passed"] for c in result.checks if c["check"] in {"tool", "approval", "must_not_act"}
        ]
        if tool_checks:
            tools.append(all(tool_checks))
    latencies = [r.latency_ms for r in finished if r.latency_ms is not None]
    return {
        "total": len(finished),
        "passed": passed,
        "pass_rate": _share(passed, len(finished)) or 0.0,
        "routing_accuracy": _share(sum(routing), len(routing)),
        "routing_total": len(routing),
        "out_of_scope_total": len(oos_hits),
        "out_of_scope_recall": _share(sum(oos_hits), len(oos_hits)),
        "false_out_of_scope_rate": _share(sum(false_oos), len(false_oos)),
        "source_accuracy": _share(sum(sources), len(sources)),
        "source_total": len(sources),
        "tool_correctness": _share(sum(tools), len(tools)),
        "tool_total": len(tools),
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
        "tokens": sum(r.prompt_tokens + r.completion_tokens for r in finished),
        "cost_usd": round(float(sum(r.cost_usd for r in finished)), 6),
        "per_agent": [
            {
                "agent": agent,
                "total": len(outcomes),
                "passed": sum(outcomes),
                "pass_rate": _share(sum(outcomes), len(outcomes)),
            }
            for agent, outcomes in sorted(per_agent.items())
        ],
    }


@dataclass(frozen=True)
class CaseChange:
    case_key: str
    before: str  # passed / failed / absent
    after: str
    before_id: int | None
    after_id: int | None


@dataclass(frozen=True)
class RunComparison:
    base: EvaluationRun
    other: EvaluationRun
    regressed: list[CaseChange]  # passed in base, failed in other
    fixed: list[CaseChange]  # failed in base, passed in other
    still_failing: list[CaseChange]
    unmatched: list[CaseChange]  # in one run only
    unchanged_passing: int


def runs_compare(*, base: EvaluationRun, other: EvaluationRun) -> RunComparison:
    """Which cases regressed from ``base`` to ``other`` (matched by case key), which were fixed."""
    before = {r.case_key: r for r in base.results.all()}
    after = {r.case_key: r for r in other.results.all()}
    regressed, fixed, failing, unmatched = [], [], [], []
    unchanged = 0
    for key in [*before, *(k for k in after if k not in before)]:
        b, a = before.get(key), after.get(key)
        change = CaseChange(
            key,
            b.status if b else "absent",
            a.status if a else "absent",
            b.pk if b else None,
            a.pk if a else None,
        )
        if b is None or a is None:
            unmatched.append(change)
        elif b.status == "passed" and a.status == "failed":
            regressed.append(change)
        elif b.status == "failed" and a.status == "passed":
            fixed.append(change)
        elif b.status == "failed" and a.status == "failed":
            failing.append(change)
        elif b.status == a.status == "passed":
            unchanged += 1
    return RunComparison(base, other, regressed, fixed, failing, unmatched, unchanged)
