"""Slope and relative index of inequality, and rates per 10,000: worked examples by hand,
edge cases, the disclosure rule, and properties (framework/engine/inequality.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.engine import statistics as stats
from framework.engine.inequality import (
    HIDDEN_NUMBERS,
    TOO_FEW_GROUPS,
    Gradient,
    gradient_from_results,
    rate_per_10000,
    relative_ranks,
    slope_index,
)


def _half_width(gradient: Gradient) -> float:
    return (gradient.sii_high - gradient.sii_low) / 2


# --- relative ranks ---------------------------------------------------------------------------


def test_equal_groups_sit_at_the_middle_of_their_share():
    # Ten equal deciles: each holds 0.1 of the population, so its midpoint is 0.05, 0.15, …
    assert relative_ranks([7] * 10) == pytest.approx([0.05 + 0.1 * i for i in range(10)])


def test_unequal_groups_sit_at_the_middle_of_their_share():
    # Populations 200, 100, 100 of 400: shares 0.5, 0.25, 0.25, cumulative 0.5, 0.75, 1.
    # Midpoints: 0.5/2 = 0.25; 0.5 + 0.25/2 = 0.625; 0.75 + 0.25/2 = 0.875.
    assert relative_ranks([200, 100, 100]) == pytest.approx([0.25, 0.625, 0.875])


def test_ranks_need_a_population():
    with pytest.raises(ValueError, match="nothing"):
        relative_ranks([0, 0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        relative_ranks([5, -1, 5])


# --- slope index: worked examples -------------------------------------------------------------


def test_five_equal_quintiles_worked_by_hand():
    # Values 0.50, 0.40, 0.30, 0.20, 0.10 (most → least deprived), 1,000 in each quintile.
    # Ranks 0.1, 0.3, 0.5, 0.7, 0.9 (weights 0.2 each), mean rank 0.5, mean value 0.3.
    # Σ w (x − x̄)² = 0.2 × (0.16 + 0.04 + 0 + 0.04 + 0.16) = 0.08
    # Σ w (x − x̄)(y − ȳ) = 0.2 × (−0.4×0.2 − 0.2×0.1 + 0 − 0.2×0.1 − 0.4×0.2) = −0.04
    # SII = −0.04 / 0.08 = −0.5 (least deprived end minus most deprived end)
    # RII = −0.5 / 0.3 = −5/3
    # Standard error: c_i = w (x − x̄) / 0.08 = −1, −0.5, 0, 0.5, 1;
    # Var = Σ c² p(1−p)/n = (1×0.25 + 0.25×0.24 + 0 + 0.25×0.16 + 1×0.09) / 1000 = 0.00044
    # SII ± 1.96 × √0.00044 = −0.5 ± 0.041113
    gradient = slope_index([500, 400, 300, 200, 100], [1000] * 5)
    assert gradient.sii == pytest.approx(-0.5)
    assert gradient.rii == pytest.approx(-0.5 / 0.3)
    assert _half_width(gradient) == pytest.approx(stats.Z * math.sqrt(0.00044))
    assert round(gradient.sii_low, 4) == -0.5411 and round(gradient.sii_high, 4) == -0.4589
    assert (gradient.groups_used, gradient.reason) == (5, "")


def test_three_groups_standard_errors_worked_by_hand():
    # Values 0.5, 0.3, 0.1 with n = 100 each. Ranks 1/6, 1/2, 5/6; weights 1/3; x̄ = 1/2.
    # Σ w (x − x̄)² = (1/3)(1/9 + 0 + 1/9) = 2/27, so c_i = (1/3)(∓1/3) / (2/27) = −1.5, 0, 1.5.
    # SII = −1.5×0.5 + 1.5×0.1 = −0.6 (= the straight line from (1/6, 0.5) to (5/6, 0.1)).
    # Var(SII) = 2.25 × (0.25 + 0.09) / 100 = 0.00765; SE = 0.087464; half-width 0.171427.
    # RII = −0.6 / 0.3 = −2. Delta method: c_i − RII·w_i = −5/6, 2/3, 13/6;
    # v_i = 0.0025, 0.0021, 0.0009; Σ (c − RII w)² v = 0.0068944; √ / 0.3 = 0.276774;
    # half-width 1.96 × 0.276774 = 0.542471.
    gradient = slope_index([50, 30, 10], [100, 100, 100])
    assert gradient.sii == pytest.approx(-0.6)
    assert (round(gradient.sii_low, 4), round(gradient.sii_high, 4)) == (-0.7714, -0.4286)
    assert gradient.rii == pytest.approx(-2.0)
    assert (round(gradient.rii_low, 4), round(gradient.rii_high, 4)) == (-2.5425, -1.4575)


def test_unequal_populations_worked_by_hand():
    # Populations 200, 100, 100 with values 0.4, 0.2, 0.1 (numerators 80, 20, 10).
    # Weights 0.5, 0.25, 0.25; ranks 0.25, 0.625, 0.875; x̄ = 0.125 + 0.15625 + 0.21875 = 0.5;
    # ȳ = 0.2 + 0.05 + 0.025 = 0.275.
    # x − x̄ = −0.25, 0.125, 0.375;  y − ȳ = 0.125, −0.075, −0.175.
    # Σ w (x − x̄)(y − ȳ) = −0.015625 − 0.00234375 − 0.01640625 = −0.034375
    # Σ w (x − x̄)² = 0.03125 + 0.00390625 + 0.03515625 = 0.0703125
    # SII = −0.034375 / 0.0703125 = −22/45;  RII = (−22/45) / (11/40) = −16/9.
    gradient = slope_index([80, 20, 10], [200, 100, 100])
    assert gradient.sii == pytest.approx(-22 / 45)
    assert gradient.rii == pytest.approx(-16 / 9)


def test_populations_set_ranks_and_weights_apart_from_the_denominators():
    # The same values and populations as above, measured on samples of 50: the point estimates
    # are the same; the intervals are wider (smaller n in each group's binomial variance).
    sampled = slope_index([20, 10, 5], [50, 50, 50], populations=[200, 100, 100])
    counted = slope_index([80, 20, 10], [200, 100, 100])
    assert sampled.sii == pytest.approx(-22 / 45)
    assert sampled.rii == pytest.approx(-16 / 9)
    assert _half_width(sampled) > _half_width(counted)


def test_four_times_the_children_halves_the_interval():
    # Var(SII) = Σ c² p(1−p)/n: every n × 4 divides it by 4, and the standard error by 2.
    small = slope_index([50, 30, 10], [100, 100, 100])
    large = slope_index([200, 120, 40], [400, 400, 400])
    assert large.sii == pytest.approx(small.sii)
    assert _half_width(large) == pytest.approx(_half_width(small) / 2)
    assert (large.rii_high - large.rii_low) == pytest.approx((small.rii_high - small.rii_low) / 2)


def test_higher_in_less_deprived_areas_is_positive():
    gradient = slope_index([10, 30, 50], [100, 100, 100])
    assert gradient.sii == pytest.approx(0.6) and gradient.rii == pytest.approx(2.0)


# --- slope index: edge cases ------------------------------------------------------------------


def test_fewer_than_three_groups_give_no_gradient():
    gradient = slope_index([50, 10], [100, 100])
    assert gradient.reason == TOO_FEW_GROUPS and gradient.groups_used == 2
    assert all(math.isnan(x) for x in (gradient.sii, gradient.sii_low, gradient.rii_high))


def test_groups_without_a_denominator_are_dropped():
    with_empty = slope_index([500, 0, 400, 300, 200, 100], [1000, 0, 1000, 1000, 1000, 1000])
    assert with_empty.sii == pytest.approx(-0.5) and with_empty.groups_used == 5
    too_few = slope_index([5, 0, 0, 4], [10, 0, 0, 10])
    assert too_few.reason == TOO_FEW_GROUPS and too_few.groups_used == 2


def test_a_group_with_population_but_no_denominator_keeps_its_place():
    # Four equal populations: ranks 0.125, 0.375, 0.625, 0.875. The third has no denominator,
    # so the line runs through the other three at their own ranks (not re-ranked as thirds).
    gradient = slope_index([40, 30, 0, 10], [100, 100, 0, 100], populations=[1, 1, 1, 1])
    expected = np.polyfit([0.125, 0.375, 0.875], [0.4, 0.3, 0.1], 1)[0]  # equal weights
    assert gradient.sii == pytest.approx(expected) and gradient.groups_used == 3


def test_equal_values_give_no_slope():
    gradient = slope_index([30, 60, 15, 3], [100, 200, 50, 10])
    assert gradient.sii == 0.0 and gradient.rii == 0.0
    assert gradient.sii_low < 0 < gradient.sii_high  # still uncertain: the values are samples
    assert gradient.sii_low == pytest.approx(-gradient.sii_high)


def test_all_zero_values_have_no_relative_index():
    gradient = slope_index([0, 0, 0], [100, 100, 100])
    assert gradient.sii == 0.0 and (gradient.sii_low, gradient.sii_high) == (0.0, 0.0)
    assert math.isnan(gradient.rii) and gradient.reason == ""


def test_inconsistent_counts_are_refused():
    with pytest.raises(ValueError, match="larger"):
        slope_index([5, 20, 5], [10, 10, 10])
    with pytest.raises(ValueError, match="length"):
        slope_index([5, 5, 5], [10, 10])


# --- properties -------------------------------------------------------------------------------


@st.composite
def groups(draw, min_size=3, max_size=10):
    """Counts for 3–10 groups: denominators ≥ 1, numerators between 0 and the denominator."""
    denominators = draw(
        st.lists(st.integers(min_value=1, max_value=5000), min_size=min_size, max_size=max_size)
    )
    numerators = [draw(st.integers(min_value=0, max_value=d)) for d in denominators]
    return numerators, denominators


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@given(groups(), st.integers(min_value=2, max_value=50))
def test_scaling_every_count_keeps_the_slope(counts, k):
    numerators, denominators = counts
    base = slope_index(numerators, denominators)
    scaled = slope_index([k * n for n in numerators], [k * d for d in denominators])
    assert _close(scaled.sii, base.sii)
    assert (math.isnan(base.rii) and math.isnan(scaled.rii)) or _close(scaled.rii, base.rii)


@given(groups())
def test_reversing_the_order_flips_the_sign(counts):
    numerators, denominators = counts
    forward = slope_index(numerators, denominators)
    backward = slope_index(numerators[::-1], denominators[::-1])
    assert _close(backward.sii, -forward.sii)
    assert _close(backward.sii_low, -forward.sii_high)
    assert _close(backward.sii_high, -forward.sii_low)


@given(groups())
def test_the_interval_contains_the_estimate(counts):
    gradient = slope_index(*counts)
    assert gradient.sii_low <= gradient.sii <= gradient.sii_high
    if not math.isnan(gradient.rii):
        assert gradient.rii_low <= gradient.rii <= gradient.rii_high


@given(groups(), st.data())
def test_the_slope_is_a_weighted_least_squares_fit(counts, data):
    # Cross-check with numpy's polyfit: it minimises Σ (w_i r_i)², so it takes √(population).
    numerators, denominators = counts
    populations = data.draw(
        st.lists(
            st.integers(min_value=1, max_value=10_000),
            min_size=len(denominators),
            max_size=len(denominators),
        )
    )
    values = np.array(numerators) / np.array(denominators)
    ranks = relative_ranks(populations)
    expected = np.polyfit(ranks, values, 1, w=np.sqrt(populations))[0]
    gradient = slope_index(numerators, denominators, populations)
    assert math.isclose(gradient.sii, expected, rel_tol=1e-6, abs_tol=1e-9)


# --- rates per 10,000 -------------------------------------------------------------------------


def test_rate_per_10000_with_byars_interval():
    # 25 children among 50,000: 25 / 50,000 × 10,000 = 5.0.
    # Byar: low = 25 (1 − 1/225 − 1.96/15)³ = 16.17 → 3.23 per 10,000;
    #       high = 26 (1 − 1/234 + 1.96/(3√26))³ = 36.91 → 7.38 per 10,000.
    rate, low, high = rate_per_10000(25, 50_000)
    assert float(rate) == pytest.approx(5.0)
    expected_low, expected_high = stats.byar(25, 50_000)
    assert float(low) == pytest.approx(expected_low * 10_000)
    assert float(high) == pytest.approx(expected_high * 10_000)
    assert (round(float(low), 2), round(float(high), 2)) == (3.23, 7.38)


def test_rates_per_10000_for_deciles():
    rate, low, high = rate_per_10000([25, 0, 4], [50_000, 20_000, 0])
    assert rate[:2] == pytest.approx([5.0, 0.0]) and low[1] == 0.0 and high[1] > 0
    assert np.isnan([rate[2], low[2], high[2]]).all()  # no children living there: no rate


# --- from the engine's results ----------------------------------------------------------------


def _results(numerators, denominators, *, suppressed=None, extra=()) -> pd.DataFrame:
    """Results rows sliced by IMD decile ("1".."k"), in scrambled order, plus extra rows."""
    k = len(numerators)
    rows = [
        {
            "slice": "imd_decile",
            "imd_decile": str(i + 1),
            "numerator": numerators[i],
            "denominator": denominators[i],
            "suppressed": bool(suppressed and suppressed[i]),
        }
        for i in range(k)
    ]
    rows = rows[::2] + rows[1::2] + list(extra)  # the order of rows must not matter
    types = {
        "slice": "string",
        "imd_decile": "string",
        "numerator": "Float64",
        "denominator": "Float64",
        "suppressed": "boolean",
    }
    return pd.DataFrame(rows, columns=list(types)).astype(types)


TEN_DECILES = ([550 - 50 * i for i in range(10)], [1000] * 10)  # 0.55, 0.50 … 0.10


def test_gradient_from_ten_deciles_in_order():
    # Equal deciles at ranks 0.05 … 0.95, values falling 0.05 per decile (0.1 of rank): −0.5.
    # Sorting "1".."10" as text would put "10" second and change the answer.
    gradient = gradient_from_results(_results(*TEN_DECILES))
    assert gradient.sii == pytest.approx(-0.5) and gradient.groups_used == 10
    assert gradient == slope_index(*TEN_DECILES)


def test_unknown_and_other_slices_are_ignored():
    extra = (
        {"slice": "imd_decile", "imd_decile": "unknown", "numerator": 999.0,
         "denominator": 1000.0, "suppressed": False},
        {"slice": "all", "imd_decile": None, "numerator": 3250.0,
         "denominator": 10000.0, "suppressed": False},
    )  # fmt: skip
    gradient = gradient_from_results(_results(*TEN_DECILES, extra=extra))
    assert gradient == slope_index(*TEN_DECILES)


def test_a_suppressed_unknown_slice_does_not_block_the_gradient():
    extra = (
        {"slice": "imd_decile", "imd_decile": "unknown", "numerator": None,
         "denominator": 3.0, "suppressed": True},
    )  # fmt: skip
    assert gradient_from_results(_results(*TEN_DECILES, extra=extra)).reason == ""


def test_suppressed_deciles_give_no_gradient():
    numerators, denominators = TEN_DECILES
    numerators = [*numerators[:9], None]  # decile 10's numerator is hidden
    hidden = [False] * 9 + [True]
    gradient = gradient_from_results(_results(numerators, denominators, suppressed=hidden))
    assert gradient.reason == HIDDEN_NUMBERS and math.isnan(gradient.sii)


def test_too_few_deciles_from_results():
    gradient = gradient_from_results(_results([5, 3], [10, 10]))
    assert gradient.reason == TOO_FEW_GROUPS
    assert gradient_from_results(_results([], [])).reason == TOO_FEW_GROUPS


def test_other_dimensions_and_statistics():
    frame = _results(*TEN_DECILES).rename(columns={"imd_decile": "idaci_decile"})
    frame["slice"] = "idaci_decile"
    assert gradient_from_results(frame, "idaci_decile") == slope_index(*TEN_DECILES)
    with pytest.raises(ValueError, match="proportions"):
        gradient_from_results(frame.assign(statistic="mean"), "idaci_decile")
    with pytest.raises(ValueError, match="one row per"):
        gradient_from_results(pd.concat([frame, frame]), "idaci_decile")
