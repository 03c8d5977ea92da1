"""The Neglect page's views (framework/engine/neglect.py) and their measures
(framework/engine/measures/services.py): worked examples by hand on tiny stores.

The period is 2024-25 (1 April 2024 to 31 March 2025) and the threshold 5: a count from 1 to 5
is hidden, and so is a share whose count or whose complement is from 1 to 5. Each store's
comment works out the expected numbers by hand.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from framework import readable
from framework.engine import funnel
from framework.engine import neglect as view
from framework.engine import statistics as stats
from framework.engine.measures import services as sm
from framework.engine.periods import Period
from framework.engine.run import register_measures
from framework.engine.summaries import WHOLE
from framework.engine.units import MEASURES
from framework.formatting import percent
from tests.engine_store import tiny_store

REPO = Path(__file__).resolve().parents[1]
PERIOD = Period.parse("2024-25")
SERVICE = "Home Help"


def _block(table: str, header: str, rows: list[str]) -> str:
    return "\n".join([table, header, *rows]) + "\n\n"


def _many(prefix: str, first: int, count: int, rest: str) -> list[str]:
    return [f"{prefix}{n} | {rest}" for n in range(first, first + count)]


def _row(outcomes, service: str, provider: str, family: str) -> dict:
    table = outcomes.table
    found = table[
        (table["service"] == service)
        & (table["provider"] == provider)
        & (table["family"] == family)
    ]
    assert len(found) == 1, (service, provider, family)
    return found.iloc[0].to_dict()


def _hidden(row: dict, *columns: str) -> bool:
    return all(pd.isna(row[c]) for c in columns)


# --- practical measures: before, after, the paired change; a hidden provider ------------------
#
# Home Help services that ended in 2024-25 (all ran 2024-01-15 to 2024-09-30), clothed for
# school before → after:
#   Alpha (14): A0-A4 yes→yes, A5 yes→no, A6-A8 no→yes, A9-A13 no→no
#               before 6 yes, after 8 yes; changes +1 ×3, −1 ×1, 0 ×10
#   Beta (16):  B0-B6 yes→yes, B7-B9 no→yes, B10-B15 no→no
#               before 7 yes, after 10 yes; changes +1 ×3, 0 ×13
#   Gamma (3):  G0 yes→yes, G1-G2 no→yes: before 1, after 3
#   Delta (4):  D0-D3 ended in the period, nothing recorded (has not opted in)
# Left out: X0 ended 2024-03-31 (the year before); X1 still open; X2 has no "after"; X3 is a
# domestic abuse service of Omega.
# All services (the one service): 33 children with both; before 14 yes (19 no), after 21 yes
# (12 no); changes +1 ×8, −1 ×1, 0 ×24: the mean change is 7/33 = 0.212121.
#
# Disclosure control (per share, and the same for "before" and "after"):
#   Gamma: 3 children, from 1 to 5: hidden (with its number of children).
#   The providers of Home Help add up to the service: Gamma alone hidden would be the service's
#   33 − 14 − 16, so the smallest other provider is hidden too: Alpha (14 children; its counts
#   6 before and 8 after are also the smaller of the other two), with its children.
#   Two counts are then hidden in each sum, so Beta stays: 7/16 = 0.4375 before, 10/16 = 0.625
#   after. The same in the "by provider" slicing (the providers add up to all services).
#   Alpha's paired change (14 children, a mean) would pass on its own, but with Alpha's shares
#   hidden it must be hidden too (neglect.carry_hiding).
# Beta's change: three 1s and thirteen 0s: mean 0.1875, SD √((3 − 16 × 0.1875²)/15) = 0.403113,
#   t(15) = 2.131: ± 2.131 × 0.403113 / 4 = ± 0.214758: −0.027258 to 0.402258 (the aggregator's
#   interval). But the interval's width gives the sum of squares, 3 = improved + worse, and the
#   mean × 16 = 3 = improved − worse: 3 improved, a count from 1 to 5. So the mean (0.1875 =
#   0.625 − 0.4375, shown anyway) is shown, its interval, reading and the improved / worse
#   numbers are not.
# All: mean 0.212121; sum of squares 9, SD √((9 − 33 × 0.212121²)/32) = 0.484612;
#   ± 1.959964 × 0.484612 / √33 = ± 0.165343: 0.046779 to 0.377464 (the aggregator's), which
#   gives back 8 improved and 1 got worse: hidden the same way (the mean 7/33 is shown).

_CLOTHED = [  # (children, provider, before, after)
    (range(0, 5), "Alpha", "yes", "yes"),
    (range(5, 6), "Alpha", "yes", "no"),
    (range(6, 9), "Alpha", "no", "yes"),
    (range(9, 14), "Alpha", "no", "no"),
    (range(0, 7), "Beta", "yes", "yes"),
    (range(7, 10), "Beta", "no", "yes"),
    (range(10, 16), "Beta", "no", "no"),
    (range(0, 1), "Gamma", "yes", "yes"),
    (range(1, 3), "Gamma", "no", "yes"),
    (range(0, 4), "Delta", "", ""),
]
PRACTICAL = _block(
    "commissioned_services",
    "child_id | service | provider | service_type | start_date | end_date | clothed_before "
    "| clothed_after",
    [
        *(
            f"{provider[0]}{n} | {SERVICE} | {provider} | neglect | 2024-01-15 | 2024-09-30 "
            f"| {before} | {after}"
            for children, provider, before, after in _CLOTHED
            for n in children
        ),
        f"X0 | {SERVICE} | Alpha | neglect | 2023-10-01 | 2024-03-31 | yes | yes",
        f"X1 | {SERVICE} | Alpha | neglect | 2024-06-01 |            | no  |",
        f"X2 | {SERVICE} | Alpha | neglect | 2024-01-15 | 2024-09-30 | yes |",
        "X3 | Safe Together | Omega | domestic_abuse | 2024-01-15 | 2024-09-30 | yes | yes",
    ],
)


@pytest.fixture(scope="module")
def practical():
    con = tiny_store(PRACTICAL)
    return con, view.service_outcomes(con, PERIOD)


PAIR_HIDDEN = ("change_low", "change_high", "reading", "improved", "improved_count", "worse")


def test_practical_measure_before_after_and_paired_change_worked_by_hand(practical):
    _, outcomes = practical
    whole = _row(outcomes, view.ALL_SERVICES, view.ALL_PROVIDERS, "clothed")
    assert whole["status"] == view.OK
    assert whole["n"] == 33
    assert (whole["before_count"], whole["after_count"]) == (14, 21)
    assert whole["before"] == pytest.approx(14 / 33)
    assert whole["after"] == pytest.approx(21 / 33)
    assert (whole["before_low"], whole["before_high"]) == pytest.approx(stats.wilson(14, 33))
    assert (whole["after_low"], whole["after_high"]) == pytest.approx(stats.wilson(21, 33))
    assert whole["change"] == pytest.approx(7 / 33)
    # 1 got worse: the interval, the reading and the pair are hidden (the row says so).
    assert whole["suppressed"] and _hidden(whole, *PAIR_HIDDEN, "worse_count")
    assert view.INTERVAL_HIDDEN in outcomes.notes
    # The service's row is the same children (one service in the store).
    service = _row(outcomes, SERVICE, view.ALL_PROVIDERS, "clothed")
    assert (service["n"], service["change"]) == (33, pytest.approx(7 / 33))
    assert _hidden(service, *PAIR_HIDDEN)

    beta = _row(outcomes, SERVICE, "Beta", "clothed")
    assert beta["status"] == view.OK and beta["suppressed"]
    assert (beta["n"], beta["before_count"], beta["after_count"]) == (16, 7, 10)
    assert (beta["before"], beta["after"]) == (0.4375, 0.625)
    assert beta["change"] == pytest.approx(0.1875)
    assert _hidden(beta, *PAIR_HIDDEN)  # 3 improved


def test_the_aggregators_interval_gives_back_who_improved_and_who_got_worse(practical):
    """What the rule is for: the mean's interval, n and the mean give both counts."""
    con, _ = practical
    ids = ("NS.clothed_change",)
    raw = view.evaluate_measures(con, ids, [PERIOD], by=view.CROSSED, separately=view.CROSSED)
    raw = raw[PERIOD]
    whole = raw[raw["slice"] == WHOLE].iloc[0]
    assert not whole["suppressed"]
    assert (whole["ci_low"], whole["ci_high"]) == pytest.approx((0.046779, 0.377464), abs=1e-5)
    assert _implied(whole["value"], whole["ci_low"], whole["ci_high"], whole["units"]) == (8, 1)
    beta = raw[(raw["slice"] == "service×provider") & (raw["provider"] == "Beta")].iloc[0]
    assert (beta["ci_low"], beta["ci_high"]) == pytest.approx((-0.027258, 0.402258), abs=1e-5)
    assert _implied(beta["value"], beta["ci_low"], beta["ci_high"], beta["units"]) == (3, 0)


def _implied(mean: float, low: float, high: float, n: float) -> tuple[int, int]:
    """(improved, worse) from a paired yes/no change's mean, t interval and n, as anyone could
    work them out: the engine's half-width is t(n − 1) × SD / √n; the sum of squares of the
    −1/0/+1 changes, improved + worse, is SD² (n − 1) + n × mean²; improved − worse = n × mean."""
    n = int(n)
    sd = (high - low) / 2 * math.sqrt(n) / stats.t_critical(n - 1)
    changed = sd * sd * (n - 1) + n * mean * mean
    return round((changed + n * mean) / 2), round((changed - n * mean) / 2)


def test_a_small_provider_is_hidden_and_so_is_the_next_smallest(practical):
    _, outcomes = practical
    numbers = ("n", "before", "before_count", "after", "after_count", "change", "change_low")
    for service in (SERVICE, view.ALL_SERVICES):
        for provider in ("Gamma", "Alpha"):  # Gamma: 3 children; Alpha: secondary
            row = _row(outcomes, service, provider, "clothed")
            assert row["suppressed"] and row["status"] == view.TOO_FEW
            assert _hidden(row, *numbers, "reading")
    shown = _row(outcomes, view.ALL_SERVICES, "Beta", "clothed")
    assert (shown["n"], shown["after_count"]) == (16, 10)


def test_the_paired_change_is_hidden_wherever_a_share_is(practical):
    """Before the cross-measure rule the aggregator shows Alpha's change (14 children)."""
    con, _ = practical
    ids = ("NS.clothed_before", "NS.clothed_after", "NS.clothed_change")
    raw = view.evaluate_measures(con, ids, [PERIOD], by=view.CROSSED, separately=view.CROSSED)[
        PERIOD
    ]
    alpha = (raw["slice"] == "service×provider") & (raw["provider"] == "Alpha")
    change = raw[alpha & (raw["indicator_id"] == "NS.clothed_change")].iloc[0]
    assert not change["suppressed"] and change["units"] == 14
    assert change["value"] == pytest.approx(2 / 14)
    carried = view.carry_hiding(raw)
    change = carried[alpha & (carried["indicator_id"] == "NS.clothed_change")].iloc[0]
    assert change["suppressed"] and pd.isna(change["value"]) and pd.isna(change["units"])


def test_a_provider_that_has_not_opted_in_shows_no_data_not_zeros(practical):
    _, outcomes = practical
    for service in (SERVICE, view.ALL_SERVICES):
        for family in ("clothed", "breakfast", "sleep", "tool"):
            row = _row(outcomes, service, "Delta", family)
            assert row["status"] == view.NOT_OPTED_IN
            assert _hidden(row, "n", "before", "after", "change") and not row["suppressed"]
    # Providers who record clothing but never breakfast have not opted in to breakfast.
    assert _row(outcomes, SERVICE, "Beta", "breakfast")["status"] == view.NOT_OPTED_IN
    # Only neglect services are listed: Omega (domestic abuse) is not.
    assert "Omega" not in set(outcomes.table["provider"])
    assert "Safe Together" not in set(outcomes.table["service"])


def test_warnings_in_words_never_give_a_hidden_number(practical):
    _, outcomes = practical
    sentences = view.warnings_for(outcomes.table)
    low, high = stats.wilson(10, 16)
    assert (
        "Beta (Home Help), clothed for school: only 16 children had both measures recorded, too "
        f"few to judge; the share at the end runs from {percent(low)} to {percent(high)}."
    ) in sentences
    # 33 children, but the share at the end could be 46.6% to 77.6%: over 30 points wide.
    low, high = stats.wilson(21, 33)
    assert high - low > 0.30
    assert (
        "All neglect services, clothed for school: the interval of the share at the end is "
        f"wide, from {percent(low)} to {percent(high)}, so read it with care."
    ) in sentences
    hidden = [s for s in sentences if s.startswith(("Alpha", "Gamma"))]
    assert hidden and all("too few children to show" in s for s in hidden)
    assert not any(re.search(r"\d", s) for s in hidden)


def test_provider_funnel_shows_the_providers_it_can(practical):
    con, _ = practical
    shown = view.provider_funnel(con, PERIOD, "NS.clothed_after")
    assert shown.average == pytest.approx(21 / 33) and shown.average_n == 33
    assert list(shown.points["provider"]) == ["Beta"]
    beta = shown.points.iloc[0]
    assert (beta["n"], beta["count"], beta["value"]) == (16, 10, 0.625)
    assert beta["position"] == funnel.classify("proportion", 0.625, 16, 21 / 33) == "within"
    assert beta["reading"] == "as expected"
    assert shown.too_few == ("Alpha", "Gamma") and shown.no_data == ("Delta",)
    assert shown.curves["n"].min() == 6  # nothing smaller than the threshold is ever shown
    assert (shown.curves["low_998"] <= shown.curves["low_95"]).all()
    with pytest.raises(ValueError):
        view.provider_funnel(con, PERIOD, "NS.clothed_change")  # a mean, not a share


def test_one_year_pooled_is_the_period_on_its_own(practical):
    """years=1 (the default) is exactly the funnel of one period: the same results, made the
    same way, and no sentence about pooling."""
    con, _ = practical
    alone = view._outcome_results(con, PERIOD, (), 5)
    pooled = view._pooled_outcome_results(con, [PERIOD], (), 5)
    _same_results(pooled, alone)
    one = view.provider_funnel(con, PERIOD, "NS.clothed_after", years=1)
    default = view.provider_funnel(con, PERIOD, "NS.clothed_after")
    assert _same_funnel(one, default)
    assert one.periods == ("2024-25",) and "pooled" not in one.note
    assert one.note.startswith("The line is the average of all providers (63.6%)")


def _same_results(first: pd.DataFrame, second: pd.DataFrame) -> None:
    columns = ["indicator_id", "slice", "service", "provider"]
    first = first.sort_values(columns, ignore_index=True)
    second = second.sort_values(columns, ignore_index=True)
    pd.testing.assert_frame_equal(first, second)


def _same_funnel(first, second) -> bool:
    for name in first.__dataclass_fields__:
        a, b = getattr(first, name), getattr(second, name)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        else:
            assert a == b, name
    return True


# --- pooling years on the funnel ----------------------------------------------------------------
#
# Home Help, clothed for school at the end, services that ended in 2023-24 (2023-05-01 to
# 2023-09-30) and in 2024-25 (2024-05-01 to 2024-09-30):
#   each year  Alpha: 4 children, no → yes (4 of 4 clothed at the end)
#              Beta:  12 children, 6 yes → yes and 6 no → no (6 of 12)
#              all:   16 children, 10 clothed (6 not): shown, 10/16 = 0.625
#   Each year on its own: Alpha's 4 children are from 1 to 5, so Alpha is hidden with its
#   number of children; the two providers add up to the whole, so Beta is hidden too. The
#   funnel of one year plots nobody.
# The two years pooled (summed, then protected once): Alpha 8 of 8 (the rest 0: no count from
#   1 to 5), Beta 12 of 24, all 20 of 32. Each pooled provider has two hidden years in it, so
#   neither year can be worked back from it: both are shown.
#   Alpha: 8/8 = 1. Wilson 95% interval for a share of 1: from n / (n + z²) =
#   8 / (8 + 1.959964²) = 8 / 11.841459 = 0.675592, to 1.
#   Beta: 12/24 = 0.5; Wilson: (0.5 + z²/48 ± z √(0.25/24 + z²/2304)) / (1 + z²/24) =
#   (0.5 ± 0.215453) / 1.160061: 0.314274 to 0.685726.
#   The line: 20/32 = 0.625 (32 children). Alpha's limits at n = 8 around 0.625: P(8 of 8) =
#   0.625⁸ = 0.023283, F(7) = 0.976717; the 99.8% upper limit is at r = 8 (F(7) < 0.999):
#   α = (1 − 0.999) / 0.023283 = 0.042950, limit (8 − 0.042950) / 8 = 0.994631. Alpha's 1 is
#   above it: "above 99.8%", better than expected. Beta, at n = 24, is within the 95% limits
#   (0.404 to 0.791).
# Asked for 3 years, the store has services that ended from 2023-24 only: 2 years pooled.

POOLED = _block(
    "commissioned_services",
    "child_id | service | provider | service_type | start_date | end_date | clothed_before "
    "| clothed_after",
    [
        f"{who}{year}{n} | {SERVICE} | {provider} | neglect | {year}-05-01 | {year}-09-30 "
        f"| {before} | {after}"
        for year in (2023, 2024)
        for who, provider, children, before, after in (
            ("A", "Alpha", range(4), "no", "yes"),
            ("B", "Beta", range(6), "yes", "yes"),
            ("B", "Beta", range(6, 12), "no", "no"),
        )
        for n in children
    ],
)


@pytest.fixture(scope="module")
def pooled():
    return tiny_store(POOLED)


def test_each_year_alone_plots_no_provider(pooled):
    for period in ("2023-24", "2024-25"):
        alone = view.provider_funnel(pooled, period, "NS.clothed_after")
        assert alone.points.empty and alone.too_few == ("Alpha", "Beta")
        assert alone.average == 0.625 and alone.average_n == 16


def test_two_years_pooled_worked_by_hand(pooled):
    shown = view.provider_funnel(pooled, PERIOD, "NS.clothed_after", years=2)
    assert shown.periods == ("2023-24", "2024-25") and shown.period == "2024-25"
    assert shown.note.startswith("Services that ended from 2023-24 to 2024-25 (2 years) pooled.")
    assert shown.average == 20 / 32 == 0.625 and shown.average_n == 32
    assert shown.too_few == () and shown.no_data == ()
    points = shown.points.set_index("provider")
    alpha, beta = points.loc["Alpha"], points.loc["Beta"]
    assert (alpha["n"], alpha["count"], alpha["value"]) == (8, 8, 1.0)
    assert (alpha["ci_low"], alpha["ci_high"]) == pytest.approx((0.675592, 1.0), abs=1e-6)
    assert (alpha["ci_low"], alpha["ci_high"]) == pytest.approx(stats.wilson(8, 8))
    assert alpha["position"] == "above 99.8%" and alpha["reading"] == "better than expected"
    assert funnel.limits("proportion", 0.625, 8).high_998 == pytest.approx(0.994631, abs=1e-6)
    assert (beta["n"], beta["count"], beta["value"]) == (24, 12, 0.5)
    assert (beta["ci_low"], beta["ci_high"]) == pytest.approx((0.314274, 0.685726), abs=1e-6)
    assert beta["position"] == "within" and beta["reading"] == "as expected"
    assert shown.curves["n"].min() == 6


def test_fewer_years_than_asked_are_pooled_and_the_note_says_so(pooled):
    three = view.provider_funnel(pooled, PERIOD, "NS.clothed_after", years=3)
    assert three.periods == ("2023-24", "2024-25")
    assert three.note.startswith(
        "Services that ended from 2023-24 to 2024-25 (2 years) pooled. No neglect service in "
        "the store ended before 2023-24, so 2 years of the 3 asked for."
    )
    _same_results_of(three, view.provider_funnel(pooled, PERIOD, "NS.clothed_after", years=2))
    first = view.provider_funnel(pooled, "2023-24", "NS.clothed_after", years=2)
    assert first.periods == ("2023-24",) and first.points.empty
    assert "Services that ended in 2023-24 only" in first.note
    with pytest.raises(ValueError):
        view.provider_funnel(pooled, PERIOD, "NS.clothed_after", years=0)
    with pytest.raises(ValueError):
        view.provider_funnel(pooled, "2024-25H2", "NS.clothed_after", years=2)


def _same_results_of(first, second) -> None:
    pd.testing.assert_frame_equal(first.points, second.points)
    assert (first.average, first.average_n, first.too_few) == (
        second.average,
        second.average_n,
        second.too_few,
    )


# A year's hidden count must not come back from the pooled one. The same store, but in 2024-25
# Alpha has 12 children (6 no → yes, 6 no → no) and Beta 12 (6 yes → yes, 6 no → no): each
# shown that year (6 of 12), all 12 of 24. 2023-24 is as above: Alpha (4) and Beta hidden.
# Pooled, Alpha would be 10 of 16 and Beta 12 of 24, with nothing from 1 to 5; but Alpha's 16 − 12
# shown for 2024-25 = 4 children in 2023-24, and its 10 − 6 = 4 clothed: the count hidden
# there. Each pooled provider has one hidden year in it, so it is hidden (the aggregator's rule
# for a sum with one hidden part); the all-provider line, 22 of 40 (each year shown), stays.

DIFFERENCING = _block(
    "commissioned_services",
    "child_id | service | provider | service_type | start_date | end_date | clothed_before "
    "| clothed_after",
    [
        f"{who}{year}{n} | {SERVICE} | {provider} | neglect | {year}-05-01 | {year}-09-30 "
        f"| {before} | {after}"
        for year, rows in (
            (
                2023,
                (
                    ("A", "Alpha", range(4), "no", "yes"),
                    ("B", "Beta", range(6), "yes", "yes"),
                    ("B", "Beta", range(6, 12), "no", "no"),
                ),
            ),
            (
                2024,
                (
                    ("A", "Alpha", range(6), "no", "yes"),
                    ("A", "Alpha", range(6, 12), "no", "no"),
                    ("B", "Beta", range(6), "yes", "yes"),
                    ("B", "Beta", range(6, 12), "no", "no"),
                ),
            ),
        )
        for who, provider, children, before, after in rows
        for n in children
    ],
)


def test_a_years_hidden_count_cannot_be_worked_back_from_the_pooled_one():
    con = tiny_store(DIFFERENCING)
    alone = view.provider_funnel(con, PERIOD, "NS.clothed_after").points.set_index("provider")
    assert (alone.loc["Alpha", "n"], alone.loc["Alpha", "count"]) == (12, 6)
    assert view.provider_funnel(con, "2023-24", "NS.clothed_after").too_few == ("Alpha", "Beta")
    pooled = view.provider_funnel(con, PERIOD, "NS.clothed_after", years=2)
    assert pooled.points.empty and pooled.too_few == ("Alpha", "Beta")
    assert (pooled.average, pooled.average_n) == (22 / 40, 40)
    # Neither the count nor the number of children: both would give the 4 back.
    results = view._pooled_outcome_results(con, PERIOD.up_to(2), (), 5)
    rows = results[(results["indicator_id"] == "NS.clothed_after") & results["provider"].notna()]
    assert rows["suppressed"].all() and rows[["numerator", "denominator"]].isna().all().all()


def test_children_served_counts_services_open_in_the_period(practical):
    """Open at any time in 2024-25: every A, B, G, D service (2024-01-15 to 2024-09-30), X1
    (from 2024-06-01) and X2; not X0 (ended 2024-03-31). Alpha: A0-A13, X1, X2 = 16 children,
    1 started in the year (X1); Beta 16, none started; Gamma 3 and Delta 4: hidden. All: 39.
    Started: 1 (hidden) in all and in Alpha; Beta's 0 is hidden too, or Alpha's 1 would be all
    − Beta − Gamma − Delta (Gamma's and Delta's are 0, which the engine knows is no secret)."""
    _, outcomes = practical
    served = outcomes.served.set_index(["service", "provider"])
    whole = served.loc[(view.ALL_SERVICES, view.ALL_PROVIDERS)]
    assert whole["children"] == 39 and pd.isna(whole["started"]) and whole["suppressed"]
    alpha, beta = served.loc[(SERVICE, "Alpha")], served.loc[(SERVICE, "Beta")]
    assert (alpha["children"], beta["children"]) == (16, 16)
    assert pd.isna(alpha["started"]) and pd.isna(beta["started"])
    for provider in ("Gamma", "Delta"):
        row = served.loc[(SERVICE, provider)]
        assert row["status"] == view.TOO_FEW and pd.isna(row["children"])


def test_an_area_with_no_services_shows_no_numbers(practical):
    con, _ = practical
    outcomes = view.service_outcomes(con, PERIOD, where=(("locality", "Nowhere"),))
    assert outcomes.table[["n", "before", "after", "change"]].isna().all().all()
    assert not (outcomes.table["status"] == view.OK).any()


def test_service_measures_are_not_catalogue_measures():
    """The engine refuses registered measures without a catalogue entry: these are kept
    apart (services.SERVICE_MEASURES) and run through the aggregator's steps."""
    register_measures()
    assert not [m for m in MEASURES if m.startswith("NS.")]
    assert set(sm.SERVICE_MEASURES) == set(sm.MEASURE_INFO)
    for info in sm.MEASURE_INFO.values():
        assert info.polarity in ("higher_better", "lower_better", "none") and info.definition


# --- who improved and who got worse: the change's interval and what it would give away ----------
#
# A paired yes/no change is −1, 0 or +1 per child. Its mean × n is improved − worse; its interval
# (mean ± t(n − 1) × SD / √n) gives the SD, so the sum of squares, improved + worse. So the
# interval is shown only where the numbers who improved and who got worse are (each a share of
# the n children, which the aggregator hides when the count or the rest is from 1 to 5).
#
# Alpha, 20 children with clothing recorded before and after: 6 yes→yes, 6 no→no, 6 no→yes
#   (improved), 2 yes→no (got worse). Before 6 + 2 = 8 yes (12 no), after 6 + 6 = 12 (8 no):
#   both shown. Change: (6 − 2)/20 = 0.2 (= 12/20 − 8/20, shown). 2 got worse, from 1 to 5:
#   the interval (0.2 ± 2.093 × 0.615587 / √20 = −0.088100 to 0.488100) is hidden, and the
#   reading; so is "6 improved" (improved = worse + after − before: it would give the 2 back).
# Beta, 30 children: 7 yes→yes, 7 no→no, 10 improved, 6 got worse. Before 7 + 6 = 13, after
#   7 + 10 = 17. Change 4/30 = 0.133333; sum of squares 16, SD √((16 − 30 × 0.133333²)/29) =
#   √(15.466667/29) = 0.730297; t(29) = 2.045: ± 2.045 × 0.730297 / √30 = ± 0.272667:
#   −0.139333 to 0.406000, "no clear change". 10 improved (10/30), 6 got worse (6/30): shown.
# Alpha and Beta as the two providers of Home Help: Alpha's 2 is hidden, so the aggregator
#   hides Beta's 6 too (else 2 = the service's 8 − 6). Both providers' pairs, intervals and
#   readings are hidden. The service (and all services): 50 children, before 21, after 29, 16
#   improved, 8 got worse; change 8/50 = 0.16, sum of squares 24, SD √((24 − 50 × 0.16²)/49) =
#   0.680936; ± 1.959964 × 0.680936 / √50 = ± 0.188742: −0.028742 to 0.348742, "no clear
#   change". From the total, a reader knows Alpha's improved is 16 − Beta's, and Alpha's own
#   numbers say it is between 12 − 8 = 4 and min(12, 20 − 8) = 12; Beta's between 4 and 17:
#   many answers, so the total stays.

_PAIR = (
    "child_id | service | provider | service_type | start_date | end_date | clothed_before "
    "| clothed_after"
)


def _pairs(provider: str, same_yes: int, same_no: int, improved: int, worse: int) -> list[str]:
    """One provider's Home Help services (2024-01-15 to 2024-09-30), clothing before → after."""
    answers = [("yes", "yes")] * same_yes + [("no", "no")] * same_no
    answers += [("no", "yes")] * improved + [("yes", "no")] * worse
    return [
        f"{provider[0]}{i} | {SERVICE} | {provider} | neglect | 2024-01-15 | 2024-09-30 | {b} | {a}"
        for i, (b, a) in enumerate(answers)
    ]


ALPHA_PAIRS = _pairs("Alpha", 6, 6, 6, 2)
BETA_PAIRS = _pairs("Beta", 7, 7, 10, 6)


def _pair_outcomes(*rows: list[str]):
    con = tiny_store(_block("commissioned_services", _PAIR, [r for group in rows for r in group]))
    return con, view.service_outcomes(con, PERIOD)


def test_two_who_got_worse_hide_the_interval_but_not_the_shares():
    _, outcomes = _pair_outcomes(ALPHA_PAIRS)
    for service, provider in (
        (view.ALL_SERVICES, view.ALL_PROVIDERS),
        (SERVICE, view.ALL_PROVIDERS),
        (SERVICE, "Alpha"),
    ):
        row = _row(outcomes, service, provider, "clothed")
        assert row["status"] == view.OK
        assert (row["n"], row["before_count"], row["after_count"]) == (20, 8, 12)
        assert (row["before"], row["after"]) == (0.4, 0.6)
        assert (row["after_low"], row["after_high"]) == pytest.approx(stats.wilson(12, 20))
        assert row["change"] == pytest.approx(0.2)
        assert row["suppressed"] and _hidden(row, *PAIR_HIDDEN, "worse_count")
    assert view.INTERVAL_HIDDEN in outcomes.notes
    # The readable table: the change is there, its interval and reading are not.
    words = readable.service_outcomes(outcomes.table)
    whole = words[
        (words["Service"] == view.ALL_SERVICES) & (words["Measure"] == "Clothed for school")
    ]
    assert whole.iloc[0]["Change"] == "+20.0 points"
    assert whole.iloc[0]["95% interval of the change"] == "" and whole.iloc[0]["Reading"] == ""


def test_ten_improved_and_six_got_worse_show_the_interval():
    _, outcomes = _pair_outcomes(BETA_PAIRS)
    row = _row(outcomes, SERVICE, "Beta", "clothed")
    assert row["status"] == view.OK and not row["suppressed"]
    assert (row["n"], row["before_count"], row["after_count"]) == (30, 13, 17)
    assert row["change"] == pytest.approx(4 / 30)
    assert (row["change_low"], row["change_high"]) == pytest.approx((-0.139333, 0.406), abs=1e-5)
    assert row["reading"] == "no clear change"
    assert (row["improved_count"], row["improved"]) == (10, pytest.approx(10 / 30))
    assert (row["worse_count"], row["worse"]) == (6, pytest.approx(6 / 30))
    assert view.INTERVAL_HIDDEN not in outcomes.notes


def test_a_hidden_provider_hides_another_and_the_total_stays():
    _, outcomes = _pair_outcomes(ALPHA_PAIRS, BETA_PAIRS)
    for service in (SERVICE, view.ALL_SERVICES):
        for provider in ("Alpha", "Beta"):
            row = _row(outcomes, service, provider, "clothed")
            assert row["status"] == view.OK
            assert row["change"] == pytest.approx({"Alpha": 0.2, "Beta": 4 / 30}[provider])
            assert row["suppressed"] and _hidden(row, *PAIR_HIDDEN, "worse_count")
        whole = _row(outcomes, service, view.ALL_PROVIDERS, "clothed")
        assert (whole["n"], whole["before_count"], whole["after_count"]) == (50, 21, 29)
        assert whole["change"] == pytest.approx(0.16)
        assert (whole["change_low"], whole["change_high"]) == pytest.approx(
            (-0.028742, 0.348742), abs=1e-5
        )
        assert whole["reading"] == "no clear change" and not whole["suppressed"]
        assert (whole["improved_count"], whole["worse_count"]) == (16, 8)
    beta = _row(outcomes, SERVICE, "Beta", "clothed")
    assert beta["change"] == pytest.approx(4 / 30)  # the mean stays: 17/30 − 13/30


# A total both of whose counts the aggregator shows, yet one hidden part follows from it:
#   A: 20 children, 9 yes→yes, 8 no→no, 3 got worse, none improved: before 12, after 9;
#   B: 20 children, 6 yes→yes, 8 no→no, 6 got worse, none improved: before 12, after 6;
#   C: 24 children, 7 yes→yes, 7 no→no, 10 improved, none got worse: before 7, after 17.
# Every before and after is shown. Got worse: A's 3 is hidden, and (secondary) B's 6; C's 0 and
# the total's 9 are shown, as are improved 0, 0, 10 and 10. From their own before and after, A
# got worse at least 12 − 9 = 3 times, B at least 6; the total's 9 − C's 0 = 9 leaves no room:
# A's 3 would follow. So the total's pair (and interval) is hidden; no shown provider can be
# hidden instead to leave room (C's 10 improved is all its before and after allow), and all
# services, the same children, goes with it. C's row stays: 10 improved, 0 got worse.
BOUNDS = [*_pairs("A", 9, 8, 0, 3), *_pairs("B", 6, 8, 0, 6), *_pairs("C", 7, 7, 10, 0)]


def test_a_count_that_would_follow_from_the_total_and_the_bounds_is_hidden():
    con, outcomes = _pair_outcomes(BOUNDS)
    ids = tuple(m for m in view.OUTCOME_IDS if m.startswith("NS.clothed"))
    raw = view.evaluate_measures(con, ids, [PERIOD], by=view.CROSSED, separately=view.CROSSED)
    raw = raw[PERIOD][raw[PERIOD]["slice"] == WHOLE].set_index("indicator_id")
    assert raw.loc["NS.clothed_worse", "numerator"] == 9  # the aggregator alone shows these
    assert raw.loc["NS.clothed_improved", "numerator"] == 10
    for service in (SERVICE, view.ALL_SERVICES):
        total = _row(outcomes, service, view.ALL_PROVIDERS, "clothed")
        assert (total["n"], total["before_count"], total["after_count"]) == (64, 31, 32)
        assert total["change"] == pytest.approx(1 / 64)
        assert _hidden(total, *PAIR_HIDDEN, "worse_count")
        for provider in ("A", "B"):
            assert _hidden(_row(outcomes, service, provider, "clothed"), *PAIR_HIDDEN)
        c = _row(outcomes, service, "C", "clothed")
        assert (c["improved_count"], c["worse_count"]) == (10, 0)
        assert _implied(c["change"], c["change_low"], c["change_high"], c["n"]) == (10, 0)
        assert c["reading"] == "better"


def _small_counts_shown(table: pd.DataFrame, threshold: int = 5) -> list[str]:
    """Rows whose interval of a practical change gives back a count from 1 to the threshold,
    or whose improved / got-worse counts (or the rest of their children) are that small, or
    whose interval and counts disagree."""
    found = []
    small = range(1, threshold + 1)
    for row in table.to_dict("records"):
        where = f"{row['service']} / {row['provider']} / {row['family']}"
        for column in ("improved_count", "worse_count"):
            count = row[column]
            if not pd.isna(count) and (count in small or row["n"] - count in small):
                found.append(f"{where}: {column} {count} of {row['n']}")
        if row["family"] not in sm.PRACTICAL or pd.isna(row["change_low"]):
            continue
        if pd.isna(row["n"]) or row["n"] < 2:
            found.append(f"{where}: an interval without its children")
            continue
        implied = _implied(row["change"], row["change_low"], row["change_high"], row["n"])
        if any(k in small for k in implied):
            found.append(f"{where}: the interval gives {implied}")
        if implied != (row["improved_count"], row["worse_count"]):
            found.append(f"{where}: the interval gives {implied}, the counts disagree")
    return found


@pytest.mark.parametrize(
    "rows",
    [[PRACTICAL], [ALPHA_PAIRS], [BETA_PAIRS], [ALPHA_PAIRS, BETA_PAIRS], [BOUNDS]],
    ids=["practical", "alpha", "beta", "alpha+beta", "bounds"],
)
def test_no_interval_gives_away_a_small_count_on_tiny_stores(rows):
    if rows == [PRACTICAL]:
        outcomes = view.service_outcomes(tiny_store(PRACTICAL), PERIOD)
    else:
        _, outcomes = _pair_outcomes(*rows)
    assert _small_counts_shown(outcomes.table) == []
    assert not set(view.funnel_measures()) & view.PAIRED_IDS  # counts for the table only


# --- the neglect assessment tool: one tool, lower is better, another tool left out --------------
#
# Services that ended in 2024-25:
#   Alpha: 7 scored with the Graded Care Profile 2 (lower is better):
#          before 4 4 3 3 5 4 3 (mean 26/7 = 3.714286), after 3 2 3 2 3 3 2 (18/7 = 2.571429),
#          improvement before − after: 1 2 0 1 2 1 1 (8/7 = 1.142857).
#          SD: squares of the deviations add up to 2.857143, /6 = 0.476190, SD 0.690066;
#          t(6) = 2.447: ± 2.447 × 0.690066 / √7 = ± 0.638226: 0.504631 to 1.781083, "better".
#   Beta:  6 scored with "Other Scale" (higher is better): left out.
#   Gamma: 1 Graded Care Profile 2 score before only (no after): not counted, but the store's
#          rows with a score are GCP2 8, Other Scale 6, so the GCP2 is the tool.
# Services scored with another tool: 6 of 13 (7 left), shown: "6 services … left out".
# The share that improved is 6 of 7 (1 did not: hidden), but its number of children (7) is
# shown, so the means are too.

_GCP2 = "Graded Care Profile 2"
_TOOL_BEFORE = (4, 4, 3, 3, 5, 4, 3)
_TOOL_AFTER = (3, 2, 3, 2, 3, 3, 2)
TOOL = _block(
    "commissioned_services",
    "child_id | service | provider | service_type | start_date | end_date | tool_name "
    "| tool_score_before | tool_score_after | tool_lower_is_better",
    [
        *(
            f"S{i} | {SERVICE} | Alpha | neglect | 2024-01-15 | 2024-09-30 | {_GCP2} "
            f"| {b} | {a} | yes"
            for i, (b, a) in enumerate(zip(_TOOL_BEFORE, _TOOL_AFTER, strict=True))
        ),
        *(
            f"O{i} | {SERVICE} | Beta | neglect | 2024-01-15 | 2024-09-30 | Other Scale "
            f"| 40 | {50 + i} | no"
            for i in range(6)
        ),
        f"P0 | {SERVICE} | Gamma | neglect | 2024-01-15 | 2024-09-30 | {_GCP2} | 4 |  | yes",
    ],
)


def test_tool_score_mean_improvement_with_one_tool_worked_by_hand():
    con = tiny_store(TOOL)
    outcomes = view.service_outcomes(con, PERIOD)
    assert outcomes.tool == _GCP2 and outcomes.tool_lower_is_better is True
    whole = _row(outcomes, view.ALL_SERVICES, view.ALL_PROVIDERS, "tool")
    assert whole["status"] == view.OK and whole["unit"] == "score"
    assert whole["n"] == 7
    assert whole["before"] == pytest.approx(26 / 7)
    assert whole["after"] == pytest.approx(18 / 7)
    assert whole["change"] == pytest.approx(8 / 7)
    assert (whole["change_low"], whole["change_high"]) == pytest.approx(
        (0.504631, 1.781083), abs=1e-5
    )
    assert whole["reading"] == "better"
    assert (whole["before_low"], whole["before_high"]) == pytest.approx(
        stats.mean_interval(26 / 7, _sd(_TOOL_BEFORE), 7)
    )
    # Left out, and said so.
    assert outcomes.tool_left_out == 6
    assert any("6 services scored with another tool were left out" in n for n in outcomes.notes)
    assert any(_GCP2 in n and "lower score is better" in n for n in outcomes.notes)
    assert _row(outcomes, SERVICE, "Beta", "tool")["status"] == view.OTHER_TOOL
    assert _row(outcomes, SERVICE, "Alpha", "tool")["change"] == pytest.approx(8 / 7)
    # Gamma recorded a score, but never both: no pair this period.
    assert _row(outcomes, SERVICE, "Gamma", "tool")["status"] == view.NO_PAIRS


def _sd(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def test_the_tool_is_the_one_most_rows_record_and_ties_go_alphabetically():
    rows = [
        f"{c}{i} | {SERVICE} | Alpha | neglect | 2024-01-15 | 2024-09-30 | {tool} | 3 | 2 | yes"
        for c, tool in (("K", "Kestrel Scale"), ("B", "Bunting Scale"))
        for i in range(2)
    ]
    header = (
        "child_id | service | provider | service_type | start_date | end_date | tool_name "
        "| tool_score_before | tool_score_after | tool_lower_is_better"
    )
    con = tiny_store(_block("commissioned_services", header, rows))
    assert sm.chosen_tool(con) == "Bunting Scale"
    assert sm.chosen_tool(tiny_store()) is None


# --- re-referral and a new CP plan within 12 months; services still in follow-up ------------------
#
# 14 Home Help services (Alpha) ended on 2024-06-30; 365 days later is 2025-06-30.
# The latest CiN census year is 2025-26 (a referral of 2026-01-10), so the data run to
# 31 March 2026: every service that ended in 2024-25 has had its 12 months.
# Referrals after the end:
#   R0-R5 on 2025-01-15: re-referred                                     6
#   R6 on 2025-06-30, day 365: re-referred (the last day counts)         1
#   R7 on 2025-07-01, day 366: not;  R8 on 2024-06-30, the end day itself: not
#   R9-R13: no referral
# Re-referred 7 of 14 (7 not): 0.5, shown.
# CP plans: R0-R11 had a plan from 2023-12-01 (before the end): 12 children. R0-R5 had another
# from 2025-02-01 (within the 12 months): 6 of 12, 0.5, shown. R12's only plan starts
# 2025-02-01 (no plan before the end): not counted. R13 none.
# 2025-26: F0-F5 ended 2025-09-30, 12 months later is 2026-09-30, after the data's end:
# 6 services ended too recently to judge (6 of 6, shown); no service can be followed up.

FOLLOW_UP = (
    _block(
        "commissioned_services",
        "child_id | service | provider | service_type | start_date | end_date",
        [
            *_many("R", 0, 14, f"{SERVICE} | Alpha | neglect | 2024-01-02 | 2024-06-30"),
            *_many("F", 0, 6, f"{SERVICE} | Alpha | neglect | 2025-04-02 | 2025-09-30"),
        ],
    )
    + _block(
        "referrals",
        "child_id | referral_date",
        [
            *_many("R", 0, 6, "2025-01-15"),
            "R6 | 2025-06-30",
            "R7 | 2025-07-01",
            "R8 | 2024-06-30",
            "Z0 | 2026-01-10",
        ],
    )
    + _block(
        "cp_plans",
        "child_id | start_date | end_date",
        [
            *_many("R", 0, 12, "2023-12-01 | 2024-03-01"),
            *_many("R", 0, 6, "2025-02-01 |"),
            "R12 | 2025-02-01 |",
        ],
    )
)


def test_re_referral_and_new_plan_within_12_months_worked_by_hand():
    con = tiny_store(FOLLOW_UP)
    assert str(sm.data_end(con)) == "2026-03-31"
    outcomes = view.service_outcomes(con, PERIOD)
    rereferral = _row(outcomes, view.ALL_SERVICES, view.ALL_PROVIDERS, "rereferral")
    assert rereferral["status"] == view.OK
    assert (rereferral["n"], rereferral["after_count"], rereferral["after"]) == (14, 7, 0.5)
    assert (rereferral["after_low"], rereferral["after_high"]) == pytest.approx(stats.wilson(7, 14))
    assert pd.isna(rereferral["before"]) and rereferral["reading"] is None
    repeat = _row(outcomes, view.ALL_SERVICES, view.ALL_PROVIDERS, "repeat_cp")
    assert (repeat["n"], repeat["after_count"], repeat["after"]) == (12, 6, 0.5)
    assert outcomes.awaiting_follow_up == 0
    assert any(
        "Every service that ended in this period has had its 12" in n for n in outcomes.notes
    )


def test_services_that_ended_too_recently_are_counted_not_judged():
    con = tiny_store(FOLLOW_UP)
    outcomes = view.service_outcomes(con, Period.parse("2025-26"))
    assert outcomes.awaiting_follow_up == 6
    assert any("6 services ended too recently to judge" in n for n in outcomes.notes)
    for family in ("rereferral", "repeat_cp"):
        row = _row(outcomes, view.ALL_SERVICES, view.ALL_PROVIDERS, family)
        assert row["status"] == view.NO_FOLLOW_UP and pd.isna(row["n"])


# --- school attendance: the term rule -----------------------------------------------------------
#
# Terms: autumn 1 Sep-31 Dec, spring 1 Jan-31 Mar, summer 1 Apr-31 Jul; the academic year
# 2023/24 is held as 2024 (its autumn term is in 2023). Attendance = 100 − missed sessions of
# 100. "Before": the last term that ended on or before the start; "after": the first term that
# started on or after the end. Decoys are terms a wrong rule would pick.
#   child  start       end         before term        after term         before after change
#   T0     2024-01-10  2024-05-20  autumn 2023/24  80  autumn 2024/25  90   (decoys: spring
#                                                                            2023/24 50, summer
#                                                                            2023/24 40)
#   T1     2024-03-31  2024-09-01  spring 2023/24  70  autumn 2024/25  85   +15 (ends/starts on
#                                                                            the day count)
#   T2     2024-07-31  2024-12-31  summer 2023/24  60  spring 2024/25  75   +15
#   T3     2024-04-01  2024-10-15  spring 2023/24  90  spring 2024/25  95   +5 (decoys: summer
#                                                                            2023/24, autumn
#                                                                            2024/25)
#   T4     2024-12-31  2025-01-01  autumn 2024/25  88  spring 2024/25  92   +4
#   T5     2024-05-01  2025-03-31  spring 2023/24  70  summer 2024/25  80   +10
#   T6     2024-05-01  2024-11-30  spring 2023/24  50  (spring 2024/25 missing): left out
#   T7     (given by UPN U7 only)  spring 2023/24  60  spring 2024/25  66   +6
# 7 children: before 518/7 = 74.0, after 583/7 = 83.285714, change 65/7 = 9.285714.
# Change SD: squares of the deviations add up to 123.428571, /6 = 20.571429, SD 4.535574;
# ± 2.447 × 4.535574 / √7 = ± 4.194858: 5.090857 to 13.480572, "better".

_TERMS = {  # child: [(academic end year, term, attendance)]
    "T0": [(2024, "autumn", 80), (2024, "spring", 50), (2024, "summer", 40), (2025, "autumn", 90)],
    "T1": [(2024, "spring", 70), (2024, "autumn", 30), (2024, "summer", 20), (2025, "autumn", 85)],
    "T2": [(2024, "summer", 60), (2025, "autumn", 10), (2025, "spring", 75)],
    "T3": [(2024, "spring", 90), (2024, "summer", 33), (2025, "autumn", 50), (2025, "spring", 95)],
    "T4": [(2025, "autumn", 88), (2025, "spring", 92)],
    "T5": [(2024, "spring", 70), (2025, "spring", 15), (2025, "summer", 80)],
    "T6": [(2024, "spring", 50), (2025, "autumn", 60)],
    "U7": [(2024, "spring", 60), (2025, "spring", 66)],
}
_DATES = {
    "T0": ("2024-01-10", "2024-05-20"),
    "T1": ("2024-03-31", "2024-09-01"),
    "T2": ("2024-07-31", "2024-12-31"),
    "T3": ("2024-04-01", "2024-10-15"),
    "T4": ("2024-12-31", "2025-01-01"),
    "T5": ("2024-05-01", "2025-03-31"),
    "T6": ("2024-05-01", "2024-11-30"),
    "T7": ("2024-05-01", "2024-11-30"),
}


def _attendance_rows() -> list[str]:
    rows = []
    for who, terms in _TERMS.items():
        child, upn = ("", who) if who.startswith("U") else (who, "")
        for year, term, attended in terms:
            missed = 100 - attended
            rows.append(
                f"{child} | {upn} | {year} | {term} | 100 | {missed // 2} | {missed - missed // 2}"
            )
    return rows


ATTENDANCE = (
    _block(
        "commissioned_services",
        "child_id | service | provider | service_type | start_date | end_date",
        [f"{c} | {SERVICE} | Alpha | neglect | {s} | {e}" for c, (s, e) in _DATES.items()],
    )
    + _block(
        "education_attendance",
        "child_id | upn | academic_year | term | sessions_possible | sessions_authorised "
        "| sessions_unauthorised",
        _attendance_rows(),
    )
    + _block("children", "child_id | upn | date_of_birth", ["T7 | U7 | 2014-05-01"])
)


def test_attendance_before_and_after_by_the_term_rule():
    con = tiny_store(ATTENDANCE)
    outcomes = view.service_outcomes(con, PERIOD)
    row = _row(outcomes, view.ALL_SERVICES, view.ALL_PROVIDERS, "attendance")
    assert row["status"] == view.OK and row["unit"] == "percent"
    assert row["n"] == 7
    assert row["before"] == pytest.approx(74.0)
    assert row["after"] == pytest.approx(583 / 7)
    assert row["change"] == pytest.approx(65 / 7)
    assert (row["change_low"], row["change_high"]) == pytest.approx((5.090857, 13.480572), abs=1e-5)
    assert row["reading"] == "better"


def test_each_childs_terms_by_the_rule():
    """The units themselves: each child's before and after (T6 has no after term)."""
    from framework.engine.units import MeasureContext

    con = tiny_store(ATTENDANCE)
    ctx = MeasureContext(con, PERIOD)
    before = sm.SERVICE_MEASURES["NS.attendance_before"].units(ctx)
    after = sm.SERVICE_MEASURES["NS.attendance_after"].units(ctx)
    found = {
        u.split(" / ")[0]: (b, a)
        for u, b, a in zip(before["unit_id"], before["value"], after["value"], strict=True)
    }
    assert found == {
        "T0": (80, 90),
        "T1": (70, 85),
        "T2": (60, 75),
        "T3": (90, 95),
        "T4": (88, 92),
        "T5": (70, 80),
        "T7": (60, 66),
    }


# --- the neglect group ---------------------------------------------------------------------------
#
# Areas: U1 Uplands (IMD decile 1, 1,000 children), M1 Midlands (decile 5, 1,500), L1 Lowlands
# (decile 10, 2,000). Children in need in 2024-25 (an episode open in the year):
#   Uplands:  N0-N6 primary need N1, factor 16A, referred 2023-05-01, still open   neglect 7
#             O0-O5 primary need N1, no neglect recorded                          not     6
#   Midlands: N7-N12 N1 with a CP plan of category NEG                            neglect 6
#             O6-O11 N1 with a CP plan of category PHY                            not     6
#   Lowlands: N13-N14 N1, factor 16A                                              neglect 2
#             O12-O17 primary need N2 with factor 16A (not N1)                    not     6
#             Y0 N1 with a plan of category MUL (multiple: not counted)           not     1
#   X0 (Uplands) N1 with 16A, referred 2023-05-01, closed 2024-02-01: 2023-24 only.
# 2024-25: 15 of 34 children in need; Uplands 7/13, Midlands 6/12, Lowlands 2/9.
#   Lowlands' 2 is hidden; the localities add up to the whole, so the smallest other count,
#   Midlands' 6, is hidden too (their children in need, 12 and 9, are shown).
#   Deciles: the same children (1 = Uplands, 5 = Midlands, 10 = Lowlands), the same cells.
#   Per 10,000 children: 15 / 4,500 = 33.3 in all; Uplands 7 / 1,000 = 70.0.
# 2023-24: N0-N6 and X0 were in need, all in the group: 8 of 8.
# The first CiN year in the store is 2023-24 (referrals of 2023-05-01), so the trend starts
# there (the years before would count only children whose episodes were still open).

_NEGLECT_CHILDREN = {
    "U1": [*(f"N{i}" for i in range(7)), *(f"O{i}" for i in range(6)), "X0"],
    "M1": [*(f"N{i}" for i in range(7, 13)), *(f"O{i}" for i in range(6, 12))],
    "L1": [*(f"N{i}" for i in range(13, 15)), *(f"O{i}" for i in range(12, 18)), "Y0"],
}


def _cohort_store() -> str:
    everyone = [c for children in _NEGLECT_CHILDREN.values() for c in children]
    referrals, factors, plans = [], [], []
    for child in everyone:
        number = int(child[1:])
        if child.startswith("N") and number < 7:
            referrals.append(f"{child} | 2023-05-01 | N1 |")
            factors.append(f"{child} | 2023-05-01 | 2023-05-10 | 16A")
        elif child == "X0":
            referrals.append("X0 | 2023-05-01 | N1 | 2024-02-01")
            factors.append("X0 | 2023-05-01 | 2023-05-10 | 16A")
        elif child.startswith("O") and number >= 12:
            referrals.append(f"{child} | 2024-05-01 | N2 |")
            factors.append(f"{child} | 2024-05-01 | 2024-05-10 | 16A")
        else:
            referrals.append(f"{child} | 2024-05-01 | N1 |")
            if child.startswith("N") and number < 13:
                plans.append(f"{child} | 2024-05-01 | 2024-06-01 | NEG | NEG")
            elif child.startswith("N"):
                factors.append(f"{child} | 2024-05-01 | 2024-05-10 | 16A")
            elif child.startswith("O") and number >= 6:
                plans.append(f"{child} | 2024-05-01 | 2024-06-01 | PHY | PHY")
            elif child == "Y0":
                plans.append("Y0 | 2024-05-01 | 2024-06-01 | MUL | MUL")
    addresses = [f"{c} | 2020-01-01 | {area}" for area, cs in _NEGLECT_CHILDREN.items() for c in cs]
    return (
        _block(
            "ref_areas",
            "area_code | locality | imd_decile | children_0_17",
            ["U1 | Uplands | 1 | 1000", "M1 | Midlands | 5 | 1500", "L1 | Lowlands | 10 | 2000"],
        )
        + _block("children", "child_id | date_of_birth", [f"{c} | 2015-01-01" for c in everyone])
        + _block("child_addresses", "child_id | from_date | area_code", addresses)
        + _block("referrals", "child_id | referral_date | primary_need | closure_date", referrals)
        + _block(
            "assessment_factors",
            "child_id | referral_date | assessment_start_date | factor",
            factors,
        )
        + _block(
            "cp_plans",
            "child_id | referral_date | start_date | initial_category | latest_category",
            plans,
        )
    )


def test_neglect_cohort_counts_worked_by_hand():
    cohort = view.neglect_cohort(tiny_store(_cohort_store()), PERIOD)
    assert cohort.label == "Neglect" and "N1" in cohort.definition and "16A" in cohort.definition
    assert "NEG" in cohort.definition and "MUL" in cohort.definition
    trend = cohort.trend.set_index("period")
    assert list(trend.index) == ["2023-24", "2024-25"]
    assert (trend.loc["2023-24", "children"], trend.loc["2023-24", "children_in_need"]) == (8, 8)
    now = trend.loc["2024-25"]
    assert (now["children"], now["children_in_need"]) == (15, 34)
    assert now["share"] == pytest.approx(15 / 34)
    assert (now["ci_low"], now["ci_high"]) == pytest.approx(stats.wilson(15, 34))
    assert now["per_10000"] == pytest.approx(15 / 4500 * 10_000)

    places = cohort.by_locality.set_index("locality")
    assert list(places.index) == ["Lowlands", "Midlands", "Uplands"]
    assert (places.loc["Uplands", "children"], places.loc["Uplands", "children_in_need"]) == (
        7,
        13,
    )
    assert places.loc["Uplands", "per_10000"] == pytest.approx(70.0)
    for hidden, in_need in (("Lowlands", 9), ("Midlands", 12)):
        row = places.loc[hidden]
        assert row["suppressed"] and row["children_in_need"] == in_need
        assert _hidden(row, "children", "share", "ci_low", "per_10000")
    deciles = cohort.by_imd_decile.set_index("imd_decile")
    assert list(deciles.index) == ["1", "5", "10"]
    assert deciles.loc["1", "children"] == 7
    assert deciles.loc["5", "suppressed"] and deciles.loc["10", "suppressed"]


# --- the demo authority ------------------------------------------------------------------------

DEMO = REPO / "data" / "demo.duckdb"


@pytest.mark.skipif(not DEMO.exists(), reason="no demo store (make demo)")
def test_demo_store_structure():
    con = duckdb.connect(str(DEMO), read_only=True)
    try:
        available = view.services_available(con)
        outcomes = view.service_outcomes(con, PERIOD)
        cohort = view.neglect_cohort(con, PERIOD)
        shares = view.provider_funnel(con, PERIOD, "NS.rereferral_12m")
    finally:
        con.close()
    table = outcomes.table
    assert set(available.providers) <= set(table["provider"])
    assert len(available.providers) >= 2 and available.tool is not None
    assert set(table["status"]) <= {
        view.OK, view.TOO_FEW, view.NOT_OPTED_IN, view.OTHER_TOOL, view.NO_PAIRS,
        view.NO_FOLLOW_UP,
    }  # fmt: skip
    # A provider that records nothing is shown as not opted in, never with zeros.
    silent = table[table["status"] == view.NOT_OPTED_IN]
    assert silent[["n", "before", "after", "change"]].isna().all().all()
    counts = [
        table["n"], table["before_count"], table["after_count"],
        outcomes.served["children"], outcomes.served["started"],
        cohort.trend["children"], cohort.trend["children_in_need"],
        cohort.by_locality["children"], cohort.by_locality["children_in_need"],
        cohort.by_imd_decile["children"], cohort.by_imd_decile["children_in_need"],
        shares.points["n"], shares.points["count"],
    ]  # fmt: skip
    for column in counts:
        values = pd.to_numeric(column, errors="coerce").dropna()
        assert not ((values >= 1) & (values <= 5)).any()


@pytest.mark.skipif(not DEMO.exists(), reason="no demo store (make demo)")
def test_pooling_three_years_on_the_demo_store():
    """Three years pooled (2022-23 to 2024-25) plot a provider for clothed for school at the
    end, with no count from 1 to 5; one year pooled is the period on its own."""
    con = duckdb.connect(str(DEMO), read_only=True)
    try:
        alone = view._outcome_results(con, PERIOD, (), 5)
        one_year = view._pooled_outcome_results(con, [PERIOD], (), 5)
        shown = {
            years: view.provider_funnel(con, PERIOD, "NS.clothed_after", years=years)
            for years in (1, 2, 3)
        }
    finally:
        con.close()
    _same_results(one_year, alone)
    three = shown[3]
    assert three.periods == ("2022-23", "2023-24", "2024-25")
    assert three.note.startswith("Services that ended from 2022-23 to 2024-25 (3 years) pooled.")
    assert len(three.points) >= 1
    for funnel_shown in shown.values():
        for column in ("n", "count"):
            values = funnel_shown.points[column]
            assert not ((values >= 1) & (values <= 5)).any()
        assert funnel_shown.points["n"].sum() <= funnel_shown.average_n


@pytest.mark.skipif(not DEMO.exists(), reason="no demo store (make demo)")
def test_no_year_can_be_worked_back_from_the_pooled_shares_on_the_demo_store():
    """For the pooled shares of three years on the demo store: no shown count has exactly one
    year's hidden in it, no sum of counts has exactly one hidden part, and no hidden count is
    the sum of shown ones (unless what would come back is 0: the aggregator does not hide a
    zero, which names nobody)."""
    periods = PERIOD.up_to(3)
    con = duckdb.connect(str(DEMO), read_only=True)
    try:
        pooled = view._pooled_outcome_results(con, periods, (), 5)
        years = [view._outcome_results(con, p, (), 5) for p in periods]
    finally:
        con.close()
    shares = set(view.funnel_measures())
    pooled = pooled[pooled["indicator_id"].isin(shares) & (pooled["status"] == view.OK)]
    years = [y[y["indicator_id"].isin(shares) & (y["status"] == view.OK)] for y in years]
    assert (~pooled["suppressed"].astype(bool)).any()
    for column in ("numerator", "denominator"):
        by_year = pd.concat([y.assign(key=_key(y)) for y in years])
        hidden_years = by_year[by_year[column].isna()]["key"].value_counts()
        shown_years = by_year.groupby("key")[column].sum()  # the years shown, added up
        shown = pooled[pooled[column].notna()].assign(key=lambda rows: _key(rows))
        one_hidden = shown[shown["key"].map(hidden_years).fillna(0) == 1]
        left = one_hidden[column].to_numpy(float) - one_hidden["key"].map(shown_years).to_numpy(
            float
        )
        assert (left == 0).all(), (column, list(one_hidden["key"]))
        for total, parts in _sums(pooled):
            hidden = [p for p in parts if pd.isna(p[column])]
            rest = sum(float(p[column]) for p in parts if pd.notna(p[column]))
            if pd.notna(total[column]) and len(hidden) == 1:
                assert float(total[column]) == rest, (column, total["key"])  # a 0 comes back
            if pd.isna(total[column]) and not hidden:
                assert rest == 0, (column, total["key"])


def _key(rows: pd.DataFrame) -> pd.Series:
    return rows["indicator_id"].astype(str) + "|" + view._cell_keys(rows)


def _sums(rows: pd.DataFrame):
    """(total, parts) of the slicings by service and by provider, per measure."""
    found = []
    keys = _key(rows)
    records = [dict(r, key=k) for r, k in zip(rows.to_dict("records"), keys, strict=True)]
    for measure in rows["indicator_id"].unique():
        mine = [r for r in records if r["indicator_id"] == measure]
        whole = [r for r in mine if r["slice"] == WHOLE]
        for slicing in ("service", "provider"):
            parts = [r for r in mine if r["slice"] == slicing]
            if whole and parts:
                found.append((whole[0], parts))
            for total in parts:
                crossed = [
                    r for r in mine
                    if r["slice"] == "service×provider" and r[slicing] == total[slicing]
                ]  # fmt: skip
                if crossed:
                    found.append((total, crossed))
    return found


@pytest.mark.skipif(not DEMO.exists(), reason="no demo store (make demo)")
def test_no_interval_gives_away_a_small_count_on_the_demo_store():
    """Every period of the demo store, and one locality (fewer children, so more to hide)."""
    con = duckdb.connect(str(DEMO), read_only=True)
    try:
        periods = view.services_available(con).periods
        tables = {p: view.service_outcomes(con, p).table for p in periods}
        locality = con.execute("SELECT min(locality) FROM ref_areas").fetchone()[0]
        narrow = view.service_outcomes(con, PERIOD, where=(("locality", locality),)).table
    finally:
        con.close()
    assert len(tables) >= 2
    for period, table in {**tables, f"{PERIOD.label} {locality}": narrow}.items():
        assert _small_counts_shown(table) == [], period
