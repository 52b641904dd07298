"""Differences between the two arms with 95% confidence intervals, so that nobody reads noise
as a result: Wald intervals for a difference of proportions, Welch intervals for a difference
of means. An interval that includes zero means the data cannot tell the arms apart."""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Difference:
    """``treatment - control`` with its interval; None when either side has too little data."""

    estimate: float | None
    low: float | None
    high: float | None

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


NO_DIFFERENCE = Difference(None, None, None)


def _z() -> float:
    from scipy.stats import norm  # scipy is slow to import; only pages that compare arms need it

    return float(norm.ppf(0.5 + CONFIDENCE / 2))


def proportion_difference(*, hits_a: int, n_a: int, hits_b: int, n_b: int) -> Difference:
    """Difference of proportions a - b (Wald interval)."""
    if n_a == 0 or n_b == 0:
        return NO_DIFFERENCE
    p_a, p_b = hits_a / n_a, hits_b / n_b
    estimate = p_a - p_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    margin = _z() * se
    return Difference(estimate, estimate - margin, estimate + margin)


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of a quantity: all a mean and its variance need,
    and additive, so the database can compute them in one pass."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n - 1)."""
        if self.n < 2:
            return None
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def mean_difference(a: Moments, b: Moments) -> Difference:
    """Difference of means a - b (Welch interval, Welch-Satterthwaite degrees of freedom)."""
    var_a, var_b = a.variance, b.variance
    if var_a is None or var_b is None:
        return NO_DIFFERENCE
    estimate = a.mean - b.mean
    se_a, se_b = var_a / a.n, var_b / b.n
    se = math.sqrt(se_a + se_b)
    if se == 0:
        return Difference(estimate, estimate, estimate)
    df = (se_a + se_b) ** 2 / (se_a**2 / (a.n - 1) + se_b**2 / (b.n - 1))
    from scipy.stats import t

    margin = float(t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    return Difference(estimate, estimate - margin, estimate + margin)


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's ``percentile_cont``."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def mean_difference_paired(differences: Moments) -> Difference:
    """Mean of paired differences with its t interval (each pair is one message answered twice)."""
    variance = differences.variance
    if variance is None:
        return NO_DIFFERENCE
    estimate = differences.mean
    se = math.sqrt(variance / differences.n)
    from scipy.stats import t

    margin = float(t.ppf(0.5 + CONFIDENCE / 2, differences.n - 1)) * se
    return Difference(estimate, estimate - margin, estimate + margin)
