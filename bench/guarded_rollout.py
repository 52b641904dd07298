"""Guarded rollout: how fast a seeded regression is rolled back, and how often an A/A rollout is.

Simulates a flag in canary: conversations arrive as a Poisson stream (``--volume`` per hour), each
served by the multi-agent arm with the canary's probability (``--canary``) and by legacy otherwise.
Each conversation fails (a failed reply), is rated thumbs down, is escalated, and has a reply
latency, at the baseline rates; in the regression runs the multi-agent arm's error rate is
``--regression`` times the baseline from the first minute. Every simulated minute the guard looks
at both arms' counts so far with ``analytics.release.sequential.guard_step``, the same code beat runs in
production (``analytics.release.guardrails``), and the run ends at the first rollback.

Goal lines (issue 16): a 3x error-rate regression at 10% canary and 1,000 conversations per hour is
rolled back within 15 simulated minutes in >= 95% of 200 seeded runs; A/A false rollbacks <= 5%.
How soon a regression can be told from chance depends on how many errors there are to count, so the
bench sweeps the legacy (baseline) error rate (``--baseline-errors``, 2.1% the demo's, then 5%, 10%,
20%), prints one row of figures per rate, the goal lines per rate, and from which rate both hold.

Usage::

    .venv/bin/python bench/guarded_rollout.py [--volume 1000] [--canary 0.10] [--regression 3]
        [--baseline-errors 0.021,0.05,0.10,0.20] [--runs 200] [--deadline-minutes 15] [--horizon-minutes 120]
        [--aa-hours 24] [--seed 1]

Figures are printed and written to ``var/bench/guarded_rollout.json`` (the readiness report's
"benchmark figures recorded" check reads that folder). Exit code 0 whether or not a goal is met.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from analytics.release.sequential import ArmCounts, GuardConfig, GuardState, guard_step  # noqa: E402


@dataclass(frozen=True)
class Rates:
    error: float
    rated: float  # share of conversations whose reply gets a thumbs up or down
    thumbs_down: float  # share of ratings that are down
    escalation: float
    latency_median_ms: float
    latency_sigma: float  # of the log-normal latency


class Arm:
    """One arm's running counts; latencies kept sorted so the p95 and the slow count are cheap."""

    def __init__(self) -> None:
        self.conversations = self.with_error = self.rated = self.thumbs_down = self.escalated = 0
        self.latencies: list[float] = []

    def add(self, rates: Rates, rng: random.Random) -> None:
        self.conversations += 1
        self.with_error += rng.random() < rates.error
        if rng.random() < rates.rated:
            self.rated += 1
            self.thumbs_down += rng.random() < rates.thumbs_down
        self.escalated += rng.random() < rates.escalation
        latency = rates.latency_median_ms * math.exp(rates.latency_sigma * rng.gauss(0.0, 1.0))
        bisect.insort(self.latencies, latency)

    def p95(self) -> float | None:
        if not self.latencies:
            return None
        return self.latencies[int(0.95 * (len(self.latencies) - 1))]

    def counts(self, slow_above: float | None) -> ArmCounts:
        slow = (
            0 if slow_above is None else len(self.latencies) - bisect.bisect_right(self.latencies, slow_above)
        )
        return ArmCounts(
            conversations=self.conversations,
            with_error=self.with_error,
            rated=self.rated,
            thumbs_down=self.thumbs_down,
            escalated=self.escalated,
            timed_replies=len(self.latencies),
            slow_replies=slow,
            p95_ms=self.p95(),
        )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the per-minute means used here (tens at most).
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def simulate(
    *, seed: int, volume: float, canary: float, legacy_rates: Rates, multi_rates: Rates, minutes: int
) -> tuple[int | None, str]:
    """The minute of the first rollback (None if none within ``minutes``) and its reason."""
    rng = random.Random(seed)
    legacy, multi, state = Arm(), Arm(), GuardState()
    for minute in range(1, minutes + 1):
        for _ in range(_poisson(rng, volume / 60)):
            if rng.random() < canary:
                multi.add(multi_rates, rng)
            else:
                legacy.add(legacy_rates, rng)
        threshold = legacy.p95()
        state, decision = guard_step(
            state=state, legacy=legacy.counts(threshold), multi=multi.counts(threshold), config=GuardConfig()
        )
        if decision.rollback:
            return minute, decision.reason
    return None, ""


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.1f}%)"


@dataclass(frozen=True)
class Scenario:
    baseline_error: float
    in_time: int  # regression runs rolled back within the deadline
    caught: list[int]  # minute of rollback of each regression run rolled back within the horizon
    false_rollbacks: int  # A/A runs rolled back
    example: str
    aa_example: str


def scenario(args: argparse.Namespace, baseline_error: float) -> Scenario:
    """200 (``--runs``) seeded regression runs and as many A/A runs at one legacy error rate."""
    baseline = Rates(
        error=baseline_error, rated=0.3, thumbs_down=0.1, escalation=0.05,
        latency_median_ms=1500, latency_sigma=0.5,
    )  # fmt: skip
    regressed = Rates(**{**baseline.__dict__, "error": min(1.0, baseline_error * args.regression)})
    detections: list[int | None] = []
    example = ""
    for run in range(args.runs):
        minute, reason = simulate(
            seed=args.seed * 1_000_003 + run, volume=args.volume, canary=args.canary,
            legacy_rates=baseline, multi_rates=regressed, minutes=args.horizon_minutes,
        )  # fmt: skip
        detections.append(minute)
        example = example or reason
    false_rollbacks, aa_example = 0, ""
    for run in range(args.runs):
        minute, reason = simulate(
            seed=args.seed * 2_000_003 + run, volume=args.volume, canary=args.canary,
            legacy_rates=baseline, multi_rates=baseline, minutes=int(args.aa_hours * 60),
        )  # fmt: skip
        false_rollbacks += minute is not None
        aa_example = aa_example or reason
    caught = sorted(m for m in detections if m is not None)
    in_time = sum(1 for m in caught if m <= args.deadline_minutes)
    return Scenario(baseline_error, in_time, caught, false_rollbacks, example, aa_example)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volume", type=float, default=1000, help="conversations per hour, both arms")
    parser.add_argument("--canary", type=float, default=0.10, help="share served by the multi-agent arm")
    parser.add_argument("--regression", type=float, default=3.0, help="multi-agent error rate / baseline")
    parser.add_argument(
        "--baseline-errors", default="0.021,0.05,0.10,0.20",
        help="legacy error rates to sweep, comma-separated (the first is the demo's, 2.1%%)",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--deadline-minutes", type=int, default=15)
    parser.add_argument("--horizon-minutes", type=int, default=120, help="how long a regression run lasts")
    parser.add_argument("--aa-hours", type=float, default=24, help="how long an A/A run lasts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=str(BASE_DIR / "var" / "bench" / "guarded_rollout.json"))
    args = parser.parse_args()
    baselines = [float(b) for b in args.baseline_errors.split(",") if b.strip()]

    started = time.monotonic()
    scenarios = [scenario(args, b) for b in baselines]
    elapsed = time.monotonic() - started

    multi_per_deadline = args.volume * args.canary * args.deadline_minutes / 60
    print(f"guarded rollout: {args.runs} seeded runs per scenario and baseline, {elapsed:.1f} s")
    print(
        f"traffic: {args.volume:.0f} conversations/hour, canary {args.canary:.0%} "
        f"(~{multi_per_deadline:.0f} multi-agent conversations in {args.deadline_minutes} min), "
        f"regression x{args.regression:g} of the legacy error rate; A/A runs last {args.aa_hours:g} h"
    )
    # The guard tests a metric only once each arm has GuardConfig.min_trials conversations.
    min_trials = GuardConfig().min_trials
    earliest = math.ceil(60 * min_trials / (args.volume * args.canary))
    print(
        f"the guard tests a metric from {min_trials} conversations per arm: at this traffic the "
        f"canary arm reaches that after ~{earliest} min (expected), the earliest possible rollback"
    )
    within = f"rolled back <= {args.deadline_minutes} min"
    print(
        f"{'legacy error':>12}  {'canary error':>12}  {within:>22}  {f'<= {args.horizon_minutes} min':>16}"
        f"  {'min p50/p95':>11}  {'A/A false rollbacks':>19}"
    )
    for sc in scenarios:
        caught = sc.caught  # sorted; p95 by nearest rank
        minutes = (
            f"{statistics.median(caught):.0f}/{caught[math.ceil(0.95 * len(caught)) - 1]}" if caught else "-"
        )
        print(
            f"{sc.baseline_error:>12.1%}  {min(1.0, sc.baseline_error * args.regression):>12.1%}  "
            f"{_share(sc.in_time, args.runs):>22}  {_share(len(caught), args.runs):>16}  {minutes:>11}  "
            f"{_share(sc.false_rollbacks, args.runs):>19}"
        )
    for sc in scenarios:
        if sc.example or sc.aa_example:
            print(
                f"e.g. at {sc.baseline_error:.1%}: rollback '{sc.example or '-'}'; "
                f"A/A '{sc.aa_example or '-'}'"
            )

    goals: dict[str, bool] = {}
    for sc in scenarios:
        at = f"at legacy error rate {sc.baseline_error:.1%}"
        goals[f"{at}: regression rolled back within {args.deadline_minutes} min in >= 95% of runs"] = (
            sc.in_time >= 0.95 * args.runs
        )
        goals[f"{at}: A/A false rollbacks <= 5%"] = sc.false_rollbacks <= 0.05 * args.runs
    met_from = next(
        (
            sc.baseline_error
            for i, sc in enumerate(scenarios)
            if all(o.in_time >= 0.95 * args.runs and o.false_rollbacks <= 0.05 * args.runs
                   for o in scenarios[i:])
        ),
        None,
    )  # fmt: skip
    print(
        "both goals hold from legacy error rate "
        + (f"{met_from:.1%} up (of the rates swept)" if met_from is not None else "- (at none swept)")
    )

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "bench": "guarded_rollout",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "arguments": vars(args),
        "runs": args.runs,
        "sweep": [
            {
                "baseline_error": sc.baseline_error,
                "regression_rolled_back_in_time": sc.in_time,
                "regression_rolled_back_within_horizon": len(sc.caught),
                "minutes_to_rollback_p50": statistics.median(sc.caught) if sc.caught else None,
                "aa_false_rollbacks": sc.false_rollbacks,
            }
            for sc in scenarios
        ],
        "goals_met_from_baseline_error": met_from,
        "goals": [{"goal": goal, "met": met} for goal, met in goals.items()],
    }
    output.write_text(json.dumps(figures, indent=2, default=str))
    print(f"figures written to {output}")
    for goal, met in goals.items():
        print(f"goal: {goal}: {'MET' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
