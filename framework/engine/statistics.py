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


def mean_interval_arrays(means, sds, counts) -> tuple:
    """``mean_interval`` for arrays: no interval (the mean itself) where n < 2 or no SD."""
    mean = np.asarray(means, dtype=float)
    sd = np.asarray(sds, dtype=float)
    n = np.asarray(counts, dtype=float)
    table = np.array([Z, *_T975])  # index = degrees of freedom (0 unused)
    degrees = np.clip(np.nan_to_num(n - 1, nan=0.0), 0, None).astype(int)
    critical = np.where(degrees <= len(_T975), table[np.minimum(degrees, len(_T975))], Z)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = critical * sd / np.sqrt(n)
    none = (n < 2) | np.isnan(sd)
    return np.where(none, mean, mean - half), np.where(none, mean, mean + half)


def byar(events: float, exposure: float) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval for events / exposure."""
    if exposure <= 0:
        return math.nan, math.nan
    o = events
    lower = 0.0 if o == 0 else o * (1 - 1 / (9 * o) - Z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z / (3 * math.sqrt(o + 1))) ** 3
    return lower / exposure, upper / exposure


def byar_arrays(events, exposures) -> tuple:
    """``byar`` for arrays (missing where the exposure is not positive)."""
    o = np.asarray(events, dtype=float)
    x = np.asarray(exposures, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower = np.where(o == 0, 0.0, o * (1 - 1 / (9 * o) - Z / (3 * np.sqrt(o))) ** 3)
        upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z / (3 * np.sqrt(o + 1))) ** 3
        positive = x > 0
        return np.where(positive, lower / x, np.nan), np.where(positive, upper / x, np.nan)


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


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _normal_p_arrays(z: np.ndarray) -> np.ndarray:
    """``_normal_p`` for arrays (NaN stays NaN)."""
    z = np.asarray(z, dtype=float)
    return _erfc(np.abs(z) / math.sqrt(2)).astype(float)


def two_proportion_p_arrays(n1, d1, n2, d2) -> np.ndarray:
    """``two_proportion_p`` for arrays (NaN where a denominator is not positive)."""
    n1, d1, n2, d2 = (np.asarray(a, dtype=float) for a in (n1, d1, n2, d2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (n1 + n2) / (d1 + d2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / d1 + 1 / d2))
        p = np.where(se == 0, 1.0, _normal_p_arrays((n1 / d1 - n2 / d2) / se))
    return np.where(np.minimum(d1, d2) > 0, p, np.nan)


def two_mean_p_arrays(m1, s1, k1, m2, s2, k2) -> np.ndarray:
    """``two_mean_p`` for arrays (NaN where either side has fewer than two values)."""
    m1, s1, k1, m2, s2, k2 = (np.asarray(a, dtype=float) for a in (m1, s1, k1, m2, s2, k2))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(s1 * s1 / k1 + s2 * s2 / k2)
        p = np.where(se == 0, np.where(m1 == m2, 1.0, 0.0), _normal_p_arrays((m1 - m2) / se))
    return np.where(np.minimum(k1, k2) >= 2, p, np.nan)


def two_rate_p_arrays(e1, x1, e2, x2) -> np.ndarray:
    """``two_rate_p`` for arrays (NaN where there are no events or an exposure is not positive)."""
    e1, x1, e2, x2 = (np.asarray(a, dtype=float) for a in (e1, x1, e2, x2))
    total = e1 + e2
    with np.errstate(divide="ignore", invalid="ignore"):
        share = x1 / (x1 + x2)
        se = np.sqrt(total * share * (1 - share))
        p = np.where(se > 0, _normal_p_arrays((e1 - total * share) / se), 1.0)
    return np.where((total != 0) & (x1 > 0) & (x2 > 0), p, np.nan)


__all__ = [
    "Z",
    "byar",
    "byar_arrays",
    "mean_interval",
    "mean_interval_arrays",
    "t_critical",
    "two_mean_p",
    "two_mean_p_arrays",
    "two_proportion_p",
    "two_proportion_p_arrays",
    "two_rate_p",
    "two_rate_p_arrays",
    "wilson",
    "wilson_arrays",
]
