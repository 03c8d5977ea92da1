"""Funnel plot control limits (Spiegelhalter 2005).

Reference: D. J. Spiegelhalter, "Funnel plots for comparing institutional performance",
Statistics in Medicine 24 (2005) 1185-1202.

A funnel plot puts each unit (here: a provider) at its size ``n`` (x) and its value (y), with a
target line (the average of all providers) and limits that narrow as ``n`` grows: where a
provider would fall by chance alone if its true value were the target. A point outside the 95%
limits happens by chance about 1 time in 20; outside the 99.8% limits about 1 time in 500.

Three kinds of value, each with its limits for a target ``t`` and a size ``n``:

* **proportion** (binomial): ``r_p`` is the ``p``-quantile of Binomial(n, t), the smallest
  ``r`` with F(r) >= p. Because counts are whole numbers, the limit is interpolated:

      alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)),   limit = (r_p - alpha) / n

  with p = 0.025 and 0.975 for the 95% limits, 0.001 and 0.999 for the 99.8% limits
  (Spiegelhalter 2005, appendix A.1.1). Limits are kept within [0, 1].
* **mean** (normal): target ± z·sd/√n, with z = 1.96 (95%) or 3.09 (99.8%), for a mean of
  ``n`` values whose standard deviation is ``sd``.
* **rate** (Poisson): a count of events over an exposure ``n`` (children, or an expected count
  for an indirectly standardised ratio, whose target is 1). ``r_p`` is the ``p``-quantile of
  Poisson(t·n), interpolated as above, and the limit is (r_p − alpha) / n.

Everything here is plain Python and numpy (no scipy): distribution functions are summed from
log probabilities in a window around the mean that holds all but a negligible sliver of the
probability, so a limit for n = 1,000,000 costs a few milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVELS = (0.95, 0.998)  # the two funnels: 2 and 3 standard errors, roughly
KINDS = ("proportion", "mean", "rate")
WITHIN = "within"
POSITIONS = (
    "below 99.8%",  # below the lower 99.8% limit
    "below 95%",  # below the lower 95% limit, not the 99.8% one
    WITHIN,
    "above 95%",
    "above 99.8%",
)
# The window summed around the mean, in standard deviations (plus a few counts for tiny
# means): the probability beyond 12 standard deviations is far below double precision.
_WINDOW_SD = 12.0
_WINDOW_EXTRA = 25


@dataclass(frozen=True)
class Limits:
    """The limits at one size: lower and upper at 95% and at 99.8%."""

    n: float
    low_95: float
    high_95: float
    low_998: float
    high_998: float


# --- the normal distribution ---------------------------------------------------------------------


def normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def normal_quantile(p: float) -> float:
    """The p-quantile of the standard normal, by bisection on ``normal_cdf`` (exact to about
    1e-12, which is plenty for drawing limits)."""
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if normal_cdf(middle) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-13:
            break
    return (low + high) / 2


def _tails(level: float) -> tuple[float, float]:
    if not 0 < level < 1:
        raise ValueError("a level is a probability such as 0.95 or 0.998")
    return (1 - level) / 2, (1 + level) / 2


# --- exact distributions, interpolated -----------------------------------------------------------


def _window(mean: float, sd: float, top: int | None) -> tuple[int, int]:
    reach = _WINDOW_SD * sd + _WINDOW_EXTRA
    low = max(0, math.floor(mean - reach))
    high = math.ceil(mean + reach)
    return low, (high if top is None else min(top, high))


def binomial_cdf(n: int, p: float, low: int = 0, high: int | None = None) -> np.ndarray:
    """F(r) for r = low..high of Binomial(n, p) (the mass below ``low`` left out: callers
    choose a window that holds all but a negligible part of it)."""
    high = n if high is None else high
    return np.cumsum(_binomial_pmf(n, p, low, high))


def _binomial_pmf(n: int, p: float, low: int, high: int) -> np.ndarray:
    """P(X = k) for k = low..high, from the log of the first term and the ratio of each term
    to the one before: (n − k)/(k + 1) · p/(1 − p)."""
    k = np.arange(low, high + 1, dtype=float)
    first = (
        math.lgamma(n + 1) - math.lgamma(low + 1) - math.lgamma(n - low + 1)
        + low * math.log(p) + (n - low) * math.log1p(-p)
    )  # fmt: skip
    steps = np.log(n - k[:-1]) - np.log(k[:-1] + 1) + math.log(p) - math.log1p(-p)
    return np.exp(first + np.concatenate([[0.0], np.cumsum(steps)]))


def poisson_cdf(mean: float, low: int = 0, high: int | None = None) -> np.ndarray:
    """F(r) for r = low..high of Poisson(mean) (the mass below ``low`` left out)."""
    if high is None:
        high = _window(mean, math.sqrt(mean), None)[1]
    k = np.arange(low, high + 1, dtype=float)
    first = low * math.log(mean) - mean - math.lgamma(low + 1)
    steps = math.log(mean) - np.log(k[:-1] + 1)
    return np.cumsum(np.exp(first + np.concatenate([[0.0], np.cumsum(steps)])))


def _interpolated(cdf: np.ndarray, low: int, probability: float) -> float:
    """r_p − alpha for a distribution function given from ``low`` (see the module docstring)."""
    index = int(np.searchsorted(cdf, probability, side="left"))
    index = min(index, len(cdf) - 1)  # rounding at the very top: the last count
    at = cdf[index]
    below = cdf[index - 1] if index > 0 else 0.0
    step = at - below
    alpha = 0.0 if step <= 0 else (at - probability) / step
    return float(low + index - alpha)


def binomial_quantile(n: int, p0: float, probability: float) -> float:
    """The interpolated ``probability``-quantile of Binomial(n, p0), as a count (r_p − alpha)."""
    low, high = _window(n * p0, math.sqrt(n * p0 * (1 - p0)), n)
    return _interpolated(binomial_cdf(n, p0, low, high), low, probability)


def poisson_quantile(mean: float, probability: float) -> float:
    """The interpolated ``probability``-quantile of Poisson(mean), as a count (r_p − alpha)."""
    low, high = _window(mean, math.sqrt(mean), None)
    return _interpolated(poisson_cdf(mean, low, high), low, probability)


# --- limits --------------------------------------------------------------------------------------


def proportion_limits(p0: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial limits (interpolated) for a proportion with target ``p0`` over ``n``
    units. NaN when n < 1 or the target is missing."""
    if not _usable(n) or p0 is None or math.isnan(p0) or not 0 <= p0 <= 1:
        return math.nan, math.nan
    n = round(float(n))
    if p0 in (0.0, 1.0):
        return p0, p0  # no variation at all
    lower, upper = _tails(level)
    low = binomial_quantile(n, p0, lower) / n
    high = binomial_quantile(n, p0, upper) / n
    return min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)


def mean_limits(target: float, sd: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Normal limits target ± z·sd/√n for a mean of ``n`` values."""
    if not _usable(n) or any(x is None or math.isnan(x) for x in (target, sd)):
        return math.nan, math.nan
    half = normal_quantile(_tails(level)[1]) * sd / math.sqrt(n)
    return target - half, target + half


def rate_limits(target: float, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """Exact Poisson limits (interpolated) for events per unit of ``exposure`` with the target
    rate ``target`` (for a standardised ratio: target 1, exposure the expected count)."""
    if exposure is None or math.isnan(exposure) or exposure <= 0:
        return math.nan, math.nan
    if target is None or math.isnan(target) or target < 0:
        return math.nan, math.nan
    if target == 0:
        return 0.0, 0.0
    mean = target * exposure
    lower, upper = _tails(level)
    low = poisson_quantile(mean, lower) / exposure
    return max(low, 0.0), poisson_quantile(mean, upper) / exposure


def _usable(n) -> bool:
    return n is not None and not math.isnan(n) and n >= 1


def limits(kind: str, target: float, n: float, *, sd: float | None = None) -> Limits:
    """Both funnels' limits at one size ``n`` (``sd`` for means)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind == "mean" and sd is None:
        raise ValueError("limits for a mean need the standard deviation of the values")
    found = []
    for level in LEVELS:
        if kind == "proportion":
            found += proportion_limits(target, n, level)
        elif kind == "mean":
            found += mean_limits(target, sd, n, level)
        else:
            found += rate_limits(target, n, level)
    return Limits(float(n), *found)


def funnel_sizes(smallest: float, largest: float, points: int = 60) -> list[int]:
    """Sizes to draw the funnel at: whole numbers from ``smallest`` to ``largest``, spread
    evenly on a log scale (the funnel changes fastest at small sizes)."""
    smallest, largest = max(1, int(smallest)), max(1, math.ceil(largest))
    if largest <= smallest:
        return [smallest]
    spread = np.geomspace(smallest, largest, num=max(2, points))
    return sorted({round(float(x)) for x in spread} | {smallest, largest})


def funnel_curves(kind: str, target: float, sizes, *, sd: float | None = None) -> pd.DataFrame:
    """The limits at each size, for drawing: columns n, low_95, high_95, low_998, high_998."""
    rows = [limits(kind, target, n, sd=sd) for n in sizes]
    columns = ["n", "low_95", "high_95", "low_998", "high_998"]
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in rows], columns=columns)


def position(value: float, at: Limits) -> str | None:
    """Where a value falls against the limits at its size (None when either is missing)."""
    if value is None or math.isnan(value) or math.isnan(at.low_95) or math.isnan(at.high_95):
        return None
    if value > at.high_998:
        return "above 99.8%"
    if value > at.high_95:
        return "above 95%"
    if value < at.low_998:
        return "below 99.8%"
    if value < at.low_95:
        return "below 95%"
    return WITHIN


def classify(
    kind: str, value: float, n: float, target: float, *, sd: float | None = None
) -> str | None:
    """Where a unit of size ``n`` with ``value`` falls on the funnel around ``target``."""
    return position(value, limits(kind, target, n, sd=sd))


__all__ = [
    "KINDS",
    "LEVELS",
    "POSITIONS",
    "WITHIN",
    "Limits",
    "binomial_cdf",
    "binomial_quantile",
    "classify",
    "funnel_curves",
    "funnel_sizes",
    "limits",
    "mean_limits",
    "normal_quantile",
    "poisson_cdf",
    "poisson_quantile",
    "position",
    "proportion_limits",
    "rate_limits",
]
