"""The array forms of the statistics (used for whole results tables) agree with the formulas for
one value (framework/engine/statistics.py), which the worked examples in test_aggregate.py pin
to hand-computed figures."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from framework.engine import statistics as stats

counts = st.integers(min_value=0, max_value=5000)
positive = st.integers(min_value=1, max_value=5000)
scores = st.floats(min_value=-100, max_value=100, allow_nan=False)
spreads = st.floats(min_value=0, max_value=50, allow_nan=False)
exposures = st.floats(min_value=0.01, max_value=1e5, allow_nan=False)


def _same(array_value, single_value) -> bool:
    if math.isnan(single_value):
        return bool(np.isnan(array_value))
    return math.isclose(float(array_value), single_value, rel_tol=1e-9, abs_tol=1e-12)


@given(st.data())
def test_wilson_arrays_agree(data):
    denominator = data.draw(positive)
    numerator = data.draw(st.integers(min_value=0, max_value=denominator))
    low, high = stats.wilson_arrays([numerator], [denominator])
    expected = stats.wilson(numerator, denominator)
    assert _same(low[0], expected[0]) and _same(high[0], expected[1])


@given(scores, spreads, st.integers(min_value=0, max_value=60))
def test_mean_interval_arrays_agree(mean, sd, n):
    low, high = stats.mean_interval_arrays([mean], [sd], [n])
    expected = stats.mean_interval(mean, sd, n)
    assert _same(low[0], expected[0]) and _same(high[0], expected[1])


def test_a_mean_without_a_spread_has_no_interval():
    low, high = stats.mean_interval_arrays([3.0, 3.0], [np.nan, 1.0], [10, 1])
    assert list(low) == [3.0, 3.0] and list(high) == [3.0, 3.0]


@given(counts, st.floats(min_value=-1, max_value=1e5, allow_nan=False))
def test_byar_arrays_agree(events, exposure):
    low, high = stats.byar_arrays([events], [exposure])
    expected = stats.byar(events, exposure)
    assert _same(low[0], expected[0]) and _same(high[0], expected[1])


@given(st.data())
def test_two_proportion_p_arrays_agree(data):
    d1, d2 = data.draw(counts), data.draw(counts)
    n1 = data.draw(st.integers(min_value=0, max_value=d1))
    n2 = data.draw(st.integers(min_value=0, max_value=d2))
    array = stats.two_proportion_p_arrays([n1], [d1], [n2], [d2])
    assert _same(array[0], stats.two_proportion_p(n1, d1, n2, d2))


@given(scores, spreads, st.integers(0, 50), scores, spreads, st.integers(0, 50))
def test_two_mean_p_arrays_agree(m1, s1, k1, m2, s2, k2):
    array = stats.two_mean_p_arrays([m1], [s1], [k1], [m2], [s2], [k2])
    assert _same(array[0], stats.two_mean_p(m1, s1, k1, m2, s2, k2))


@given(counts, exposures, counts, exposures)
def test_two_rate_p_arrays_agree(e1, x1, e2, x2):
    array = stats.two_rate_p_arrays([e1], [x1], [e2], [x2])
    assert _same(array[0], stats.two_rate_p(e1, x1, e2, x2))
