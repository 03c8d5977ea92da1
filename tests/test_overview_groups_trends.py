"""Worked examples for the overview, groups and trends views (framework/engine/overview.py,
groups.py, trends.py) on hand-made stores."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from framework.engine.groups import ALL_CHILDREN, groups_matrix, groups_view
from framework.engine.overview import boxes, context, overview
from framework.engine.periods import Period
from framework.engine.trends import period_of, periods_back, trend_view
from tests.engine_store import tiny_store
from tests.test_place import place_store

YEAR = Period.parse("2024-25")


def _row(frame: pd.DataFrame, indicator: str) -> pd.Series:
    return frame.set_index("indicator_id").loc[indicator]


def test_overview_headlines_are_the_engines_numbers():
    # place_store: 80 children referred in 2024-25; n % 3 != 0 ended in NFA: 53 of 80.
    view = overview(place_store(), YEAR)
    b12 = _row(view.headlines, "B1.2")
    assert (b12["numerator"], b12["denominator"]) == (53, 80)
    assert b12["domain"] == "B" and b12["polarity"] == "none"
    # No referrals the year before: no change to read, and no direction.
    assert pd.isna(b12["change"]) and b12["direction"] is None
    # Staff turnover has no data in this store: no data, never zero.
    a71 = _row(view.headlines, "A7.1")
    assert a71["status"] == "no data" and pd.isna(a71["value"])
    # Sparklines: five years, only 2024-25 with a value for B1.2.
    trend = view.trends[view.trends["indicator_id"] == "B1.2"]
    assert trend["period"].tolist() == ["2020-21", "2021-22", "2022-23", "2023-24", "2024-25"]
    assert trend["value"].notna().tolist() == [False, False, False, False, True]


def test_restricting_the_overview_to_a_locality_and_a_decile():
    # Uplands holds X1 and X2: children with n % 4 in (0, 1), 40 of them; 13 of those have
    # n divisible by 3 (n % 12 in (0, 9) below 72, and 72 itself), so 27 of 40 ended in NFA.
    uplands = overview(place_store(), YEAR, where=(("locality", "Uplands"),))
    assert tuple(_row(uplands.headlines, "B1.2")[["numerator", "denominator"]]) == (27, 40)
    # IMD decile 1 is X1 alone: n % 4 == 0, 20 children, 7 of them multiples of 12: 13 of 20.
    poorest = overview(place_store(), YEAR, where=(("imd_decile", "1"),))
    assert tuple(_row(poorest.headlines, "B1.2")[["numerator", "denominator"]]) == (13, 20)


def test_the_context_strip():
    rows = context(place_store(), YEAR).set_index("measure")
    # 80 children in need among 6,000 children aged 0-17: 133 per 10,000.
    cin = rows.loc["Children in need"]
    assert cin["value"] == 80 and cin["detail"].startswith("133 per 10,000")
    # Nobody on a plan: zero is shown (it reveals no one).
    assert rows.loc["On a CP plan", "value"] == 0
    # Deciles 1 and 2 hold 2,000 + 1,000 of the 6,000 children.
    share = rows.loc["In England's poorest fifth", "value"]
    assert share == 0.5
    spend = rows.loc["Spend 2024-25"]
    assert pd.isna(spend["value"]) and spend["detail"] == "no outturn loaded for this year"


def test_a_small_demand_count_is_hidden():
    # Three children referred: a count from 1 to the threshold.
    referrals = "\n".join(f"R{n} | 2024-06-01 | false" for n in range(3))
    children = "\n".join(f"R{n} | F | 2015-01-01 | WBRI" for n in range(3))
    con = tiny_store(
        f"children\nchild_id | sex | date_of_birth | ethnicity\n{children}\n\n"
        f"referrals\nchild_id | referral_date | referral_nfa\n{referrals}"
    )
    cin = context(con, YEAR).set_index("measure").loc["Children in need"]
    assert pd.isna(cin["value"]) and "hidden" in cin["detail"]


def test_the_boxes_follow_the_framework_and_are_checked(tmp_path):
    assert [b.domain for b in boxes()] == ["A", "B", "C", "D"]
    wrong = tmp_path / "overview.toml"
    wrong.write_text(
        "\n".join(
            f'[[box]]\ndomain = "{d}"\ntitle = "t"\nplain = "p"\nheadlines = ["B1.2"]'
            for d in "ABCD"
        )
    )
    with pytest.raises(ValueError, match=r"A: B1\.2 is not an indicator of domain A"):
        boxes(wrong)


def test_groups_side_by_side_with_the_gap():
    view = groups_view(place_store(), "B1.2", YEAR)
    table = view.table.set_index("group")
    assert table.index[0] == ALL_CHILDREN  # all children first
    assert (table.loc[ALL_CHILDREN, "numerator"], table.loc[ALL_CHILDREN, "denominator"]) == (
        53,
        80,
    )
    # Every referred child is a child in need: the same numbers, a gap of zero.
    assert table.loc["Children in need", "numerator"] == 53
    assert table.loc["Children in need", "gap"] == 0
    assert pd.isna(table.loc[ALL_CHILDREN, "gap"])
    assert view.reason is None


def test_a_gap_is_hidden_when_a_value_is():
    # Ten children referred, 3 with NFA: the whole cohort's value is hidden, so every gap is.
    referrals = "\n".join(f"R{n} | 2024-06-01 | {'true' if n < 3 else 'false'}" for n in range(10))
    children = "\n".join(f"R{n} | F | 2015-01-01 | WBRI" for n in range(10))
    con = tiny_store(
        f"children\nchild_id | sex | date_of_birth | ethnicity\n{children}\n\n"
        f"referrals\nchild_id | referral_date | referral_nfa\n{referrals}"
    )
    table = groups_view(con, "B1.2", YEAR).table.set_index("group")
    assert table.loc[ALL_CHILDREN, "suppressed"]
    assert table.loc["Children in need", "gap_hidden"]
    assert pd.isna(table.loc["Children in need", "gap"])


def test_staff_indicators_have_no_groups():
    view = groups_view(place_store(), "A7.1", YEAR)
    assert view.reason == "no data"


def test_the_groups_matrix():
    matrix = groups_matrix(place_store(), ("B1.2", "A7.1"), YEAR).set_index("indicator_id")
    assert math.isclose(matrix.loc["B1.2", ALL_CHILDREN], 53 / 80)
    assert math.isclose(matrix.loc["B1.2", "Children in need"], 53 / 80)
    assert pd.isna(matrix.loc["A7.1", ALL_CHILDREN])  # no data
    assert not matrix.loc["B1.2", "Children in need hidden"]


def test_events_fall_in_the_period_that_holds_their_date():
    assert period_of(date(2024, 11, 20), halves=False) == Period.parse("2024-25")
    assert period_of(date(2024, 11, 20), halves=True) == Period.parse("2024-25H2")
    assert period_of(date(2024, 4, 1), halves=True) == Period.parse("2024-25H1")
    assert period_of(date(2025, 3, 31), halves=False) == Period.parse("2024-25")
    halves = [p.label for p in periods_back(Period.parse("2024-25H1"), 3)]
    assert halves == ["2023-24H1", "2023-24H2", "2024-25H1"]


def _two_years():
    """2023-24: 20 of 40 referrals NFA; 2024-25: 53 of 80."""
    rows = [f"A{n} | 2023-06-01 | {'true' if n < 20 else 'false'}" for n in range(40)]
    rows += [f"B{n} | 2024-06-01 | {'true' if n % 3 else 'false'}" for n in range(80)]
    return tiny_store("referrals\nchild_id | referral_date | referral_nfa\n" + "\n".join(rows))


def test_the_change_in_words_with_its_test():
    events = (
        ("2023-09-01", "New practice model", "practice model"),
        ("2019-01-01", "Old", "other"),
    )
    view = trend_view(_two_years(), "B1.2", YEAR, count=2, events=events)
    assert view.trend["numerator"].tolist() == [20, 53]
    # Only the event inside the periods shown is kept, in the period holding its date.
    assert view.events[["period", "label"]].values.tolist() == [["2023-24", "New practice model"]]
    (latest,) = view.changes  # two periods: the one before is the first
    # 66.25% against 50%: pooled 73/120; z = 0.1625 / sqrt(0.6083 · 0.3917 · (1/80 + 1/40))
    # = 1.719, two-sided p = 0.086: not larger than chance.
    assert latest.since == "2023-24" and not latest.significant
    assert math.isclose(latest.p, 0.0856, abs_tol=0.0005)
    assert latest.words == (
        "From 2023-24 to 2024-25 it rose from 50.0% to 66.3% (+16.3 points): within what "
        "chance alone could give (p = 0.086), so not a clear change."
    )
    assert latest.direction == "no clear change"  # B1.2 has no polarity anyway


def test_a_hidden_value_is_never_put_into_words():
    rows = [f"A{n} | 2023-06-01 | {'true' if n < 20 else 'false'}" for n in range(40)]
    rows += [f"B{n} | 2024-06-01 | {'true' if n < 3 else 'false'}" for n in range(10)]
    con = tiny_store("referrals\nchild_id | referral_date | referral_nfa\n" + "\n".join(rows))
    (latest,) = trend_view(con, "B1.2", YEAR, count=2).changes
    assert "cannot be stated" in latest.words and "30" not in latest.words


def test_an_indicator_in_full_within_a_group_shows_its_children_by_group():
    """Within a group, its children by group are protected on their own and without the
    previous year: the same numbers as when protected with it, and the indicator's own row
    keeps its change."""
    from framework.engine.aggregate import Query, evaluate
    from framework.engine.views import NUMBERS, indicator_detail

    con, group = place_store(), "cin"  # every child referred is in need: 53 of 80 ended in NFA
    detail = indicator_detail(con, "B1.2", YEAR, group=group)
    assert detail.by_group[["group", "numerator", "denominator"]].values.tolist() == [
        ["cin", 53, 80]
    ]
    asked = evaluate(con, Query(("B1.2",), YEAR, separately=("group",), group=group))
    expected = asked[(asked["slice"] == "group") & (asked["status"] == "ok")]
    expected = expected[["group", "category", *NUMBERS]].reset_index(drop=True)
    pd.testing.assert_frame_equal(detail.by_group, expected)
    whole = asked[asked["slice"] == "all"].reset_index(drop=True)
    assert detail.whole["numerator"].tolist() == whole["numerator"].tolist()
    assert "previous_value" in detail.whole and "change" in detail.whole
