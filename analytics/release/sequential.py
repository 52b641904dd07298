"""The guarded rollout's decision: is the multi-agent arm significantly worse than legacy?

Beat looks at the two arms every minute while a flag is in canary or partial, so a fixed-sample
test (a t-test or z-test at every look) would be wrong: with a look a minute, its false alarm rate
climbs towards 1. We use the mixture sequential probability ratio test (mSPRT) and its always-valid
p-values instead, which hold their level however often and whenever one looks:

  Johari, Koomen, Pekelis, Walsh, "Peeking at A/B Tests: Why it matters, and what to do about it",
  KDD 2017, section 4; and Johari, Pekelis, Walsh, "Always Valid Inference: Continuous Monitoring of
  A/B Tests", Operations Research 70(3), 2022.

For a difference of two means ``theta`` (multi-agent minus legacy) estimated as ``d`` with variance
``V``, and a normal mixture N(0, tau^2) over the alternative, the mixture likelihood ratio is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 * d^2 / (2 * V * (V + tau^2)))

and the always-valid p-value is the running minimum of 1 / Lambda (by Ville's inequality the
chance that it ever falls below alpha under no difference is at most alpha). ``V`` uses the pooled
rate under the null hypothesis (both arms alike), which keeps it stable when one arm has seen no
event yet. Each proportion metric is tested at alpha / (number of metrics) (Bonferroni), so the
chance of any false rollback over the whole rollout stays at most ``alpha``; only a regression
(the multi-agent arm worse) rolls back, which is one side of a two-sided test, so conservative.

This module is plain arithmetic on counts: production (``analytics.release.guardrails``) and the bench
(``bench/guarded_rollout.py``) call the same ``guard_step``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class ArmCounts:
    """One arm's counts since the phase began (each figure a share: hits out of trials)."""

    conversations: int = 0
    with_error: int = 0  # conversations with at least one failed reply
    rated: int = 0  # replies with a thumbs up or down
    thumbs_down: int = 0
    escalated: int = 0  # conversations handed to the escalation ladder
    timed_replies: int = 0  # completed replies with a latency
    slow_replies: int = 0  # of those, slower than the legacy arm's p95
    p95_ms: float | None = None


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    hits: str  # ArmCounts field counted
    trials: str  # ArmCounts field it is a share of
    tau: float  # the mixture's spread: the size of regression worth finding quickly


# The guardrail metrics; "slow replies" stands for p95 latency: the share of the multi-agent arm's
# replies slower than legacy's p95 is 5% when the two arms' latencies are alike.
METRICS: tuple[Metric, ...] = (
    Metric("error_rate", "error rate", "with_error", "conversations", tau=0.05),
    Metric("thumbs_down_rate", "thumbs-down rate", "thumbs_down", "rated", tau=0.1),
    Metric("escalation_rate", "escalation rate", "escalated", "conversations", tau=0.05),
    Metric("p95_latency", "p95 latency", "slow_replies", "timed_replies", tau=0.1),
)


@dataclass(frozen=True)
class GuardConfig:
    alpha: float = 0.05  # the chance of any false rollback, over every metric and every look
    # Per arm and metric before it is tested: below ~50 the normal approximation behind the plug-in
    # variance lets early flukes through (A/A runs of bench/guarded_rollout.py: 6.5% at 20, 4.5% at 50).
    min_trials: int = 50
    metrics: tuple[Metric, ...] = METRICS

    @property
    def alpha_per_metric(self) -> float:
        return self.alpha / len(self.metrics)


@dataclass(frozen=True)
class MetricLook:
    key: str
    label: str
    legacy_hits: int
    legacy_trials: int
    multi_hits: int
    multi_trials: int
    p_value: float  # always-valid: the running minimum over the looks of this phase
    regression: bool  # the multi-agent arm is worse and p_value < alpha per metric

    @property
    def legacy_rate(self) -> float | None:
        return self.legacy_hits / self.legacy_trials if self.legacy_trials else None

    @property
    def multi_rate(self) -> float | None:
        return self.multi_hits / self.multi_trials if self.multi_trials else None


@dataclass(frozen=True)
class GuardState:
    """What carries over between looks of one phase: each metric's always-valid p-value."""

    p_values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardDecision:
    looks: tuple[MetricLook, ...]
    rollback: bool
    reason: str  # "" unless rolling back


def mixture_likelihood_ratio(*, difference: float, variance: float, tau: float) -> float:
    """mSPRT's Lambda for an observed difference with the given variance (Johari et al. 2017, eq. 11)."""
    if variance <= 0:
        return 1.0
    tau2 = tau * tau
    exponent = tau2 * difference * difference / (2 * variance * (variance + tau2))
    # Past ~700 exp overflows; by then 1/Lambda is 0 for any purpose.
    return math.sqrt(variance / (variance + tau2)) * math.exp(min(exponent, 700.0))


def proportion_p_value(
    *, multi_hits: int, multi_trials: int, legacy_hits: int, legacy_trials: int, tau: float
) -> float:
    """This look's 1 / Lambda for the difference of two shares (at most 1)."""
    if not multi_trials or not legacy_trials:
        return 1.0
    pooled = (multi_hits + legacy_hits) / (multi_trials + legacy_trials)
    variance = pooled * (1 - pooled) * (1 / multi_trials + 1 / legacy_trials)
    difference = multi_hits / multi_trials - legacy_hits / legacy_trials
    return min(1.0, 1.0 / mixture_likelihood_ratio(difference=difference, variance=variance, tau=tau))


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def p_value_text(p_value: float) -> str:
    for bound in (0.001, 0.01, 0.05):
        if p_value < bound:
            return f"p < {bound:g}"
    return f"p = {p_value:.2f}"


def regression_text(look: MetricLook, *, legacy: ArmCounts, multi: ArmCounts) -> str:
    """'error rate 7.9% vs 2.1%, p < 0.01' (p95 latency in milliseconds)."""
    if look.key == "p95_latency" and multi.p95_ms is not None and legacy.p95_ms is not None:
        figures = f"{multi.p95_ms:.0f} ms vs {legacy.p95_ms:.0f} ms"
    else:
        figures = f"{_percent(look.multi_rate)} vs {_percent(look.legacy_rate)}"
    return f"{look.label} {figures}, {p_value_text(look.p_value)}"


def guard_step(
    *, state: GuardState, legacy: ArmCounts, multi: ArmCounts, config: GuardConfig | None = None
) -> tuple[GuardState, GuardDecision]:
    """One look at both arms' counts so far: each metric's always-valid p-value, and whether to
    roll back (any metric's regression is significant)."""
    config = config or GuardConfig()
    looks = []
    p_values = dict(state.p_values)
    for metric in config.metrics:
        legacy_hits, legacy_trials = getattr(legacy, metric.hits), getattr(legacy, metric.trials)
        multi_hits, multi_trials = getattr(multi, metric.hits), getattr(multi, metric.trials)
        previous = p_values.get(metric.key, 1.0)
        worse = bool(multi_trials and legacy_trials) and (
            multi_hits / multi_trials > legacy_hits / legacy_trials
        )
        # Only a look where the multi-agent arm is worse moves the p-value: the test is one-sided.
        if not worse or min(legacy_trials, multi_trials) < config.min_trials:
            p_value = previous
        else:
            this_look = proportion_p_value(
                multi_hits=multi_hits,
                multi_trials=multi_trials,
                legacy_hits=legacy_hits,
                legacy_trials=legacy_trials,
                tau=metric.tau,
            )
            p_value = min(previous, this_look)
        p_values[metric.key] = p_value
        looks.append(
            MetricLook(
                key=metric.key,
                label=metric.label,
                legacy_hits=legacy_hits,
                legacy_trials=legacy_trials,
                multi_hits=multi_hits,
                multi_trials=multi_trials,
                p_value=p_value,
                regression=worse and p_value < config.alpha_per_metric,
            )
        )
    regressions = [look for look in looks if look.regression]
    reason = "; ".join(regression_text(look, legacy=legacy, multi=multi) for look in regressions)
    decision = GuardDecision(looks=tuple(looks), rollback=bool(regressions), reason=reason)
    return replace(state, p_values=p_values), decision
