"""The gradient of an outcome across deprivation: slope and relative index of inequality.

Groups are ordered from the most deprived (decile 1) to the least deprived (decile 10). Each
group sits at its *relative rank*: the midpoint of its slice of the cumulative population, so
rank 0 is the most deprived end of the population and rank 1 the least deprived end.

* SII (slope index of inequality): the slope of a population-weighted least-squares line of the
  groups' values on their relative ranks. It reads as "value at rank 1 − value at rank 0", i.e.
  **least deprived minus most deprived**: a positive SII means the outcome is higher in less
  deprived areas; a negative SII means it is higher in more deprived areas.
* RII (relative index of inequality): SII ÷ the population-weighted mean value (PHE's
  definition), so it says how big the gap is relative to the average level.

Intervals are 95% and analytic (no simulation): each group's value is a proportion with binomial
sampling variance p(1−p)/n, and both SII and the mean are weighted sums of the group values, so
their variances follow exactly (Low & Low 2004, and PHE's "Technical Guide" describe this as the
alternative to Monte-Carlo simulation). The interval reflects sampling error in the groups only,
not how far the groups stray from a straight line.

Also here: rates per 10,000 with Byar's interval (``statistics.byar``), e.g. children on a plan
per 10,000 children living in each decile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from framework.engine import statistics as stats
from framework.engine.statistics import Z

MIN_GROUPS = 3  # a line through two points has no check on it: no gradient below three groups
PER = 10_000  # rates are per 10,000 children
TOO_FEW_GROUPS = f"fewer than {MIN_GROUPS} groups with data"
HIDDEN_NUMBERS = "small numbers in some deciles"
# The slice label of units whose decile is not recorded (``summaries.UNKNOWN``; not imported,
# so that this module stays free of DuckDB).
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Gradient:
    """SII and RII with their 95% intervals; NaN everywhere, with a reason, when not computed."""

    sii: float
    sii_low: float
    sii_high: float
    rii: float
    rii_low: float
    rii_high: float
    groups_used: int
    reason: str = ""  # "" when computed; otherwise why there is no gradient


def no_gradient(reason: str, groups_used: int = 0) -> Gradient:
    """A gradient that could not be computed: every number NaN, and the reason why."""
    nan = math.nan
    return Gradient(nan, nan, nan, nan, nan, nan, groups_used, reason)


def relative_ranks(populations) -> np.ndarray:
    """Each group's relative rank (ridit): the midpoint of its cumulative population share.

    For groups in order (most deprived first) with populations N₁…N_k and total N,
    rank_i = (N₁ + … + N_{i−1} + N_i / 2) / N, which lies in [0, 1].
    Ten equal deciles sit at 0.05, 0.15, …, 0.95.
    """
    population = np.asarray(populations, dtype=float)
    if population.ndim != 1 or np.any(~np.isfinite(population)) or np.any(population < 0):
        raise ValueError("populations must be a list of non-negative numbers")
    total = population.sum()
    if total <= 0:
        raise ValueError("populations add up to nothing: no ranks")
    above = np.cumsum(population) - population  # population of the groups before this one
    return (above + population / 2) / total


def slope_index(numerators, denominators, populations=None) -> Gradient:
    """Slope (SII) and relative (RII) index of inequality of the proportions num_i / den_i.

    Groups are in order, most deprived first. ``populations`` (default: the denominators) set
    both where each group sits (``relative_ranks``) and how much it weighs in the line.
    Groups with no denominator (or no population) have no value and are dropped from the
    line; they keep their place in the ranking when ``populations`` is given, since where a
    decile sits in the population does not depend on whether anything was counted there.

    With weights w_i = N_i / Σ N (over the groups used), ranks x_i and values y_i = num_i/den_i:

        x̄ = Σ w_i x_i,   ȳ = Σ w_i y_i                       (ȳ: the population-weighted mean)
        SII = Σ w_i (x_i − x̄)(y_i − ȳ) / Σ w_i (x_i − x̄)²     (the weighted least-squares slope)

    SII is "value at rank 1 − value at rank 0" = least deprived minus most deprived end.
    RII = SII / ȳ (PHE's relative index: the slope relative to the mean level); NaN when ȳ = 0.

    Intervals. SII = Σ c_i y_i with c_i = w_i (x_i − x̄) / Σ w_j (x_j − x̄)², and each
    y_i has binomial variance v_i = y_i (1 − y_i) / den_i, so
        Var(SII) = Σ c_i² v_i,   SII ± Z·√Var(SII).
    RII uses the delta method rather than dividing the SII bounds by ȳ: ȳ is estimated from
    the same groups (it is uncertain, and correlated with the slope), and dividing would treat
    it as known. Linearising RII = SII / ȳ around the estimate gives
        Var(RII) ≈ Var(SII − RII·ȳ) / ȳ² = Σ (c_i − RII·w_i)² v_i / ȳ²,   RII ± Z·√Var(RII).

    Fewer than 3 groups with data: no gradient (NaN, with a reason).
    """
    numerator = _floats(numerators, "numerators")
    denominator = _floats(denominators, "denominators")
    population = denominator if populations is None else _floats(populations, "populations")
    if not len(numerator) == len(denominator) == len(population):
        raise ValueError("numerators, denominators and populations differ in length")

    with np.errstate(invalid="ignore"):  # NaN compares False: a missing count is no data
        used = np.isfinite(numerator) & (denominator > 0) & (population > 0)
    if used.sum() < MIN_GROUPS:
        return no_gradient(TOO_FEW_GROUPS, int(used.sum()))
    if np.any((numerator[used] < 0) | (numerator[used] > denominator[used])):
        raise ValueError("a numerator is negative or larger than its denominator")

    # Ranks over every group with a population (see the docstring), then keep those with data.
    ranks = relative_ranks(np.where(population > 0, population, 0.0))[used]
    weights = population[used] / population[used].sum()
    values = numerator[used] / denominator[used]
    variances = values * (1 - values) / denominator[used]  # binomial: p(1−p)/n

    coefficients = _slope_coefficients(ranks, weights)
    # All values equal: the slope is exactly 0 (the sum below would leave rounding dust).
    sii = 0.0 if np.ptp(values) == 0 else float(coefficients @ values)
    sii_half = Z * math.sqrt(float(coefficients**2 @ variances))

    mean = float(weights @ values)
    if mean == 0:  # every value 0: no level to compare the slope with
        rii = rii_half = math.nan
    else:
        rii = sii / mean
        rii_half = Z * math.sqrt(float((coefficients - rii * weights) ** 2 @ variances)) / abs(mean)

    return Gradient(
        sii=sii,
        sii_low=sii - sii_half,
        sii_high=sii + sii_half,
        rii=rii,
        rii_low=rii - rii_half,
        rii_high=rii + rii_half,
        groups_used=int(used.sum()),
    )


def _slope_coefficients(ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """c_i such that the weighted least-squares slope is Σ c_i y_i:
    c_i = w_i (x_i − x̄) / Σ w_j (x_j − x̄)², with x̄ = Σ w_i x_i (weights add up to 1)."""
    centred = ranks - weights @ ranks
    return weights * centred / (weights @ centred**2)


def _floats(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a list of numbers")
    return array


def rate_per_10000(numerators, populations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events per 10,000 people, with Byar's 95% interval (``statistics.byar``):

        rate = 10,000 · O / N,
        low  = 10,000 · O (1 − 1/9O − Z/3√O)³ / N              (0 when O = 0)
        high = 10,000 · (O+1) (1 − 1/9(O+1) + Z/3√(O+1))³ / N

    for O events among N people. Returns (rate, low, high) as arrays of the inputs' shape;
    NaN where the population is not positive. E.g. 25 children on a plan among 50,000
    children living in a decile: 5.0 per 10,000 (3.2 to 7.4).
    """
    events = np.asarray(numerators, dtype=float)
    people = np.asarray(populations, dtype=float)
    low, high = stats.byar_arrays(events, people)  # the array form of ``statistics.byar``
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(people > 0, events / people, np.nan)
    return rate * PER, low * PER, high * PER


def gradient_from_results(results: pd.DataFrame, dimension: str = "imd_decile") -> Gradient:
    """SII and RII from the engine's results rows for one indicator sliced by ``dimension``.

    ``results`` has the columns of ``aggregate.RESULT_COLUMNS`` that matter here: ``slice``,
    the dimension column (deciles "1".."10" as text, or "unknown"), ``numerator``,
    ``denominator`` and ``suppressed``. Rows of other slices are ignored, and so is the
    "unknown" slice (those children have no place on the deprivation scale). Deciles are put in
    order, 1 (most deprived) first, and weighed by their denominators (see ``slope_index``).

    Disclosure: if any decile's numerator is hidden (suppressed), the gradient cannot be worked
    out honestly from the published cells, so none is given (reason "small numbers in some
    deciles") rather than a guess. The function is pure; the engine may later call it on
    unsuppressed sums internally.
    """
    rows = _decile_rows(results, dimension)
    if rows.empty:
        return no_gradient(TOO_FEW_GROUPS)
    suppressed = rows["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    hidden = suppressed | rows["numerator"].isna().to_numpy()
    if hidden.any():
        return no_gradient(HIDDEN_NUMBERS)
    return slope_index(
        rows["numerator"].to_numpy(dtype=float), rows["denominator"].to_numpy(dtype=float)
    )


def _decile_rows(results: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The rows of the known deciles, most deprived first (one row per decile)."""
    rows = results
    if "slice" in rows:  # only the slicing by this dimension alone ("all", crossings… are not)
        rows = rows[rows["slice"] == dimension]
    if "status" in rows:  # "no data" rows carry no counts
        rows = rows[rows["status"].fillna("ok") == "ok"]
    if "statistic" in rows and not rows["statistic"].isin(["proportion"]).all():
        raise ValueError("the gradient is for proportions (binomial variances) only")
    label = rows[dimension].astype("string")
    rows = rows[label.notna() & (label != UNKNOWN)]
    decile = pd.to_numeric(rows[dimension].astype("string"), errors="raise")
    if decile.duplicated().any():
        raise ValueError(f"more than one row per {dimension}: pass one indicator and period")
    return rows.assign(_decile=decile.to_numpy()).sort_values("_decile")


__all__ = [
    "HIDDEN_NUMBERS",
    "TOO_FEW_GROUPS",
    "Gradient",
    "gradient_from_results",
    "no_gradient",
    "rate_per_10000",
    "relative_ranks",
    "slope_index",
]
