"""Intervals and tests of change: small, pure functions with their formulas in the docstrings.

Every interval is 95%. Formulas are the standard ones public health analysts use (PHE's
"Technical Guide: Confidence Intervals"): Wilson score for proportions, the normal (t for small
samples) interval for means, and Byar's method for rates of events over an exposure.
"""

from __future__ import annotations

import math

import numpy as np

Z = 1.959963984540054  # the 97.5th centile of the standard normal distribution
# t distribution, 97.5th centile, by degrees of freedom 1..29 (beyond, the normal is used)
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045,
)  # fmt: skip


def wilson(numerator: float, denominator: float) -> tuple[float, float]:
    """Wilson score interval for numerator / denominator (both counts, denominator > 0):
    centre (p + z²/2n) / (1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)."""
    n, p = denominator, numerator / denominator
    scale = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / scale
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / scale
    # At 0 or n the bound is exactly 0 or 1; rounding must not put it on the wrong side.
    low = 0.0 if numerator == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if numerator == denominator else min(1.0, max(p, centre + half))
    return low, high


def wilson_arrays(numerators, denominators) -> tuple:
    """Wilson intervals for arrays of counts (the same formula as ``wilson``)."""
    n = np.asarray(denominators, dtype=float)
    k = np.asarray(numerators, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        scale = 1 + Z * Z / n
        centre = (p + Z * Z / (2 * n)) / scale
        half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / scale
        low = np.where(k == 0, 0.0, np.maximum(0.0, np.minimum(p, centre - half)))
        high = np.where(k == n, 1.0, np.minimum(1.0, np.maximum(p, centre + half)))
    return low, high


def t_critical(degrees: int) -> float:
    return _T975[degrees - 1] if 1 <= degrees <= len(_T975) else Z


def mean_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    """mean ± t(n−1)·sd/√n; a single value has no interval (returned as the mean itself)."""
    if n < 2 or math.isnan(sd):
        return mean, mean
    half = t_critical(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def byar(events: float, exposure: float) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval for events / exposure."""
    if exposure <= 0:
        return math.nan, math.nan
    o = events
    lower = 0.0 if o == 0 else o * (1 - 1 / (9 * o) - Z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z / (3 * math.sqrt(o + 1))) ** 3
    return lower / exposure, upper / exposure


def _normal_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_p(n1: float, d1: float, n2: float, d2: float) -> float:
    """Two-sided p-value that two proportions differ (pooled z test)."""
    if min(d1, d2) <= 0:
        return math.nan
    pooled = (n1 + n2) / (d1 + d2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / d1 + 1 / d2))
    if se == 0:
        return 1.0
    return _normal_p((n1 / d1 - n2 / d2) / se)


def two_mean_p(m1: float, s1: float, k1: int, m2: float, s2: float, k2: int) -> float:
    """Two-sided p-value that two means differ (Welch's statistic, normal approximation)."""
    if min(k1, k2) < 2:
        return math.nan
    se = math.sqrt(s1 * s1 / k1 + s2 * s2 / k2)
    if se == 0:
        return 1.0 if m1 == m2 else 0.0
    return _normal_p((m1 - m2) / se)


def two_rate_p(e1: float, x1: float, e2: float, x2: float) -> float:
    """Two-sided p-value that two event rates differ (conditional binomial test on the events,
    normal approximation: under no change, e1 of e1+e2 events fall in period 1 with probability
    x1/(x1+x2))."""
    total = e1 + e2
    if total == 0 or x1 <= 0 or x2 <= 0:
        return math.nan
    share = x1 / (x1 + x2)
    se = math.sqrt(total * share * (1 - share))
    return _normal_p((e1 - total * share) / se) if se else 1.0


__all__ = [
    "Z",
    "byar",
    "mean_interval",
    "t_critical",
    "two_mean_p",
    "two_proportion_p",
    "two_rate_p",
    "wilson",
    "wilson_arrays",
]
