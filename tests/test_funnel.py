"""Funnel plot limits (framework/engine/funnel.py): worked by hand, checked against brute-force
sums of the distributions, against the normal approximation for large n, and by properties.

Spiegelhalter (2005), appendix A.1.1: r_p is the smallest r with F(r) >= p;
alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)); the limit is (r_p - alpha) / n.
"""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.engine import funnel

# --- worked by hand ----------------------------------------------------------------------------
#
# Binomial(10, 0.5): P(X = k) = C(10, k) / 1024, so the counts of 1024ths are
#   k:      0   1   2    3    4    5    6    7    8    9   10
#   C:      1  10  45  120  210  252  210  120   45   10    1
#   F·1024: 1  11  56  176  386  638  848  968 1013 1023 1024
#
# 95% lower, p = 0.025 (25.6 / 1024): F(1) = 11 < 25.6 <= F(2) = 56, so r = 2;
#   alpha = (56 - 25.6) / 45 = 0.675556; limit = (2 - 0.675556) / 10 = 0.1324444.
# 95% upper, p = 0.975 (998.4 / 1024): F(7) = 968 < 998.4 <= F(8) = 1013, so r = 8;
#   alpha = (1013 - 998.4) / 45 = 0.324444; limit = (8 - 0.324444) / 10 = 0.7675556.
# 99.8% lower, p = 0.001 (1.024 / 1024): F(0) = 1 < 1.024 <= F(1) = 11, so r = 1;
#   alpha = (11 - 1.024) / 10 = 0.9976; limit = (1 - 0.9976) / 10 = 0.00024.
# 99.8% upper, p = 0.999 (1022.976 / 1024): F(8) = 1013 < 1022.976 <= F(9) = 1023, so r = 9;
#   alpha = (1023 - 1022.976) / 10 = 0.0024; limit = (9 - 0.0024) / 10 = 0.89976.
# (Interpolation puts both limits about half a count low, so around 0.5 they add up to
# 1 - 1/n = 0.9, not 1.)


def test_binomial_limits_worked_by_hand():
    assert funnel.proportion_limits(0.5, 10, 0.95) == pytest.approx((0.1324444, 0.7675556), 1e-6)
    assert funnel.proportion_limits(0.5, 10, 0.998) == pytest.approx((0.00024, 0.89976), 1e-6)
    both = funnel.limits("proportion", 0.5, 10)
    assert (both.low_998, both.low_95, both.high_95, both.high_998) == pytest.approx(
        (0.00024, 0.1324444, 0.7675556, 0.89976), 1e-6
    )


# Poisson(4): P(X = k) = e^-4 4^k / k!
#   k:  0        1        2        3        4        5        6        7        8
#   P:  .0183156 .0732626 .1465251 .1953668 .1953668 .1562935 .1041956 .0595404 .0297702
#   F:  .0183156 .0915782 .2381033 .4334701 .6288369 .7851304 .8893260 .9488664 .9786366
# 95% lower, p = 0.025: F(0) < p <= F(1), r = 1; alpha = (.0915782 - .025) / .0732626
#   = 0.908761; count 0.091239; as a ratio to the expected 4 (target 1): 0.0228098.
# 95% upper, p = 0.975: F(7) < p <= F(8), r = 8; alpha = (.9786366 - .975) / .0297702
#   = 0.122156; count 7.877844; ratio 1.969461.


def test_poisson_limits_worked_by_hand():
    assert funnel.rate_limits(1.0, 4.0, 0.95) == pytest.approx((0.0228098, 1.969461), 1e-5)
    # The same counts as a rate per child: target 0.02 over 200 children (mean 4).
    low, high = funnel.rate_limits(0.02, 200.0, 0.95)
    assert (low * 200, high * 200) == pytest.approx((0.091239, 7.877844), 1e-5)


# Mean: target 50, SD 10, n 25, so the standard error is 10 / 5 = 2.
#   95%:   50 ± 1.959964 × 2 = 46.080072 to 53.919928
#   99.8%: 50 ± 3.090232 × 2 = 43.819535 to 56.180465


def test_mean_limits_worked_by_hand():
    assert funnel.mean_limits(50, 10, 25, 0.95) == pytest.approx((46.080072, 53.919928), 1e-7)
    assert funnel.mean_limits(50, 10, 25, 0.998) == pytest.approx((43.819535, 56.180465), 1e-7)
    assert funnel.normal_quantile(0.975) == pytest.approx(1.959963984540054, abs=1e-10)


def test_positions_against_the_limits_worked_by_hand():
    # n = 10, target 0.5: limits 0.00024 | 0.1324 | 0.7676 | 0.89976 (above).
    assert funnel.classify("proportion", 0.5, 10, 0.5) == funnel.WITHIN
    assert funnel.classify("proportion", 0.8, 10, 0.5) == "above 95%"
    assert funnel.classify("proportion", 0.9, 10, 0.5) == "above 99.8%"
    assert funnel.classify("proportion", 0.1, 10, 0.5) == "below 95%"
    assert funnel.classify("proportion", 0.0, 10, 0.5) == "below 99.8%"
    assert funnel.classify("proportion", math.nan, 10, 0.5) is None
    assert funnel.classify("mean", 54, 25, 50, sd=10) == "above 95%"
    with pytest.raises(ValueError):
        funnel.limits("mean", 50, 25)  # a mean needs its SD
    with pytest.raises(ValueError):
        funnel.limits("median", 50, 25)


def test_curves_and_sizes_for_drawing():
    sizes = funnel.funnel_sizes(6, 200, points=20)
    assert sizes[0] == 6 and sizes[-1] == 200 and sizes == sorted(set(sizes))
    curves = funnel.funnel_curves("proportion", 0.3, sizes)
    assert list(curves.columns) == ["n", "low_95", "high_95", "low_998", "high_998"]
    assert len(curves) == len(sizes)
    assert funnel.funnel_sizes(5, 5) == [5]


def test_degenerate_inputs():
    assert all(math.isnan(x) for x in funnel.proportion_limits(0.5, 0))
    assert all(math.isnan(x) for x in funnel.proportion_limits(math.nan, 10))
    assert funnel.proportion_limits(0.0, 50) == (0.0, 0.0)
    assert funnel.proportion_limits(1.0, 50) == (1.0, 1.0)
    assert funnel.rate_limits(0.0, 50) == (0.0, 0.0)
    assert all(math.isnan(x) for x in funnel.rate_limits(0.1, 0))


def test_a_million_is_quick_and_matches_the_normal_approximation():
    started = time.perf_counter()
    low, high = funnel.proportion_limits(0.3, 1_000_000, 0.998)
    assert time.perf_counter() - started < 0.5
    half = 3.090232306167813 * math.sqrt(0.3 * 0.7 / 1_000_000)
    assert low == pytest.approx(0.3 - half, abs=3e-6)
    assert high == pytest.approx(0.3 + half, abs=3e-6)


# --- brute force: the distribution functions summed term by term ------------------------------


def _brute_binomial_limit(n: int, p0: float, probability: float) -> float:
    cdf, total = [], 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p0**k * (1 - p0) ** (n - k)
        cdf.append(total)
    r = next(k for k, f in enumerate(cdf) if f >= probability)
    below = cdf[r - 1] if r > 0 else 0.0
    alpha = (cdf[r] - probability) / (cdf[r] - below)
    return (r - alpha) / n


def _brute_poisson_count(mean: float, probability: float) -> float:
    cdf, total, k = [], 0.0, 0
    while True:
        total += math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))
        cdf.append(total)
        if total >= probability:
            below = cdf[k - 1] if k > 0 else 0.0
            return k - (cdf[k] - probability) / (cdf[k] - below)
        k += 1


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 80),
    p0=st.floats(0.01, 0.99),
    level=st.sampled_from(funnel.LEVELS),
)
def test_binomial_limits_match_brute_force(n, p0, level):
    low, high = funnel.proportion_limits(p0, n, level)
    lower, upper = (1 - level) / 2, (1 + level) / 2
    assert low == pytest.approx(_clipped(_brute_binomial_limit(n, p0, lower)), abs=1e-9)
    assert high == pytest.approx(_clipped(_brute_binomial_limit(n, p0, upper)), abs=1e-9)


def _clipped(limit: float) -> float:
    """Limits are kept within [0, 1] (interpolation can step just below 0 for tiny n·p0)."""
    return min(1.0, max(0.0, limit))


@settings(max_examples=100, deadline=None)
@given(mean=st.floats(0.05, 300), level=st.sampled_from(funnel.LEVELS))
def test_poisson_limits_match_brute_force(mean, level):
    low, high = funnel.rate_limits(1.0, mean, level)
    lower, upper = (1 - level) / 2, (1 + level) / 2
    assert low * mean == pytest.approx(max(0.0, _brute_poisson_count(mean, lower)), abs=1e-7)
    assert high * mean == pytest.approx(_brute_poisson_count(mean, upper), abs=1e-7)


# --- properties ---------------------------------------------------------------------------------

targets = st.floats(0.01, 0.99)
sizes = st.integers(1, 5000)


@settings(max_examples=200, deadline=None)
@given(p0=targets, n=sizes)
def test_limits_are_nested_and_within_0_and_1(p0, n):
    at = funnel.limits("proportion", p0, n)
    assert 0.0 <= at.low_998 <= at.low_95 <= at.high_95 <= at.high_998 <= 1.0
    assert at.low_95 <= p0 <= at.high_95 + 1 / n  # the target is inside (up to the half count)


@settings(max_examples=150, deadline=None)
@given(p0=targets, n=st.integers(1, 2000), more=st.integers(1, 3000))
def test_limits_narrow_as_n_grows(p0, n, more):
    """Counts are whole numbers, so from one n to the next a limit can move back by less than
    one count (1/n); over a fourfold n, once the normal shape holds, the funnel is narrower."""
    for level in funnel.LEVELS:
        small = funnel.proportion_limits(p0, n, level)
        large = funnel.proportion_limits(p0, n + more, level)
        assert large[1] <= small[1] + 1 / n + 1e-12
        assert large[0] >= small[0] - 1 / n - 1e-12
        if n * p0 * (1 - p0) >= 5:
            wide = funnel.proportion_limits(p0, 4 * n, level)
            assert wide[1] - wide[0] < small[1] - small[0]


@settings(max_examples=150, deadline=None)
@given(n=sizes)
def test_limits_are_nearly_symmetric_around_one_half(n):
    for level in funnel.LEVELS:
        low, high = funnel.proportion_limits(0.5, n, level)
        assert abs((0.5 - low) - (high - 0.5)) <= 1 / n + 1e-6


@settings(max_examples=40, deadline=None)
@given(p0=st.floats(0.05, 0.95), n=st.integers(10_000, 1_000_000))
def test_large_n_agrees_with_the_normal_approximation(p0, n):
    """Within three counts of p0 ± z·√(p0(1−p0)/n) (the exact limits sit about half a count
    low, and skewness moves them by z²(1−2p0)/6 counts at most)."""
    for level, z in ((0.95, 1.959963984540054), (0.998, 3.090232306167813)):
        low, high = funnel.proportion_limits(p0, n, level)
        half = z * math.sqrt(p0 * (1 - p0) / n)
        assert low == pytest.approx(p0 - half, abs=3 / n)
        assert high == pytest.approx(p0 + half, abs=3 / n)
