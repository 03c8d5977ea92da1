"""The Journeys view: worked examples by hand, disclosure control, the group filter, the page.

The period is 2024-25 (1 April 2024 to 31 March 2025) and the threshold 5. Each store's comment
works out the expected counts by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from framework.engine import statistics as stats
from framework.engine.aggregate import Query, evaluate
from framework.engine.journeys import PLAN_CELLS, RE_REFERRALS, cell, journeys, movement
from framework.engine.periods import Period
from tests.engine_store import save_store, tiny_store

REPO = Path(__file__).resolve().parents[1]
PERIOD = Period.parse("2024-25")


def _block(table: str, header: str, rows: list[str]) -> str:
    return "\n".join([table, header, *rows]) + "\n\n"


def _many(prefix: str, count: int, rest: str) -> list[str]:
    return [f"{prefix}{n} | {rest}" for n in range(count)]


def _children(ids: list[str], born: dict[str, str] | None = None) -> str:
    born = born or {}
    rows = [f"{c} | {born.get(c, '2015-01-01')}" for c in ids]
    return _block("children", "child_id | date_of_birth", rows)


# --- referrals: where they led, and re-referrals ------------------------------------------------
#
# Referrals received in 2024-25, by the furthest outcome (B1.3):
#   N0-N9   no further action                                   10
#   S0-S4   closed after assessment RC8, S5-S7 RC9: not in need   8
#   C0-C10  open, no plan; V0 open, a short break (V3) only:     12 child in need
#   P0-P6   a CP plan from 2024-09-01 during the referral          7 CP plan
#   L0-L2   looked after from 2024-10-01 during the referral      3 looked after
#   X0 (31 March 2024) and X1 (1 April 2025) are outside the year.          total 40
# Looked after (3) is from 1 to 5: hidden. So that it cannot be worked back as 40 minus the
# others, the smallest other count (CP plan, 7) is hidden too: 40 - 30 = 10 = CP + looked after.
#
# Re-referrals: the child's most recent other referral in the 365 days before:
#   C0-C5  NFA on 2024-01-15                                  after NFA             6
#   P0-P6  closed RC8 on 2023-11-01 (referred 2023-10-01)     after not in need     7
#   L0-L1  referred 2024-02-01, closed RC7, no plan            after child in need   2
#   N0     NFA 2023-09-01, then 2024-01-01 with a CP plan      after CP plan         1
#          (the most recent one counts)
#   S0     referred 2023-05-01: 397 days before, not a re-referral
#   the other 24 referrals: no referral in the 12 months before                    24
# After child in need (2) and after CP plan (1) are hidden; two hidden parts of 40, so no
# more needs hiding: 40 - 24 - 6 - 7 - 0 = 3 tells only their sum.
_REFERRALS = [
    *_many("N", 10, "2024-05-01 | true  | 2024-05-01 |"),
    *_many("S", 5, "2024-06-01 | false | 2024-07-01 | RC8"),
    *[f"S{n} | 2024-06-01 | false | 2024-07-01 | RC9" for n in range(5, 8)],
    *_many("C", 11, "2024-07-01 | false |            |"),
    "V0 | 2024-09-01 | false |            |",
    *_many("P", 7, "2024-08-01 | false |            |"),
    *_many("L", 3, "2024-09-01 | false |            |"),
    "X0 | 2024-03-31 | false |            |",
    "X1 | 2025-04-01 | false |            |",
    # earlier referrals
    *_many("C", 6, "2024-01-15 | true  | 2024-01-15 |"),
    *_many("P", 7, "2023-10-01 | false | 2023-11-01 | RC8"),
    *_many("L", 2, "2024-02-01 | false | 2024-03-01 | RC7"),
    "N0 | 2023-09-01 | true  | 2023-09-01 |",
    "N0 | 2024-01-01 | false | 2024-02-01 | RC7",
    "S0 | 2023-05-01 | true  | 2023-05-01 |",
]
_REFERRAL_CHILDREN = sorted(
    {row.split("|")[0].strip() for row in _REFERRALS}, key=lambda c: (c[0], int(c[1:]))
)
REFERRALS = (
    _block(
        "referrals",
        "child_id | referral_date | referral_nfa | closure_date | closure_reason",
        _REFERRALS,
    )
    + _block(
        "cp_plans",
        "child_id | start_date | end_date",
        [*_many("P", 7, "2024-09-01 |"), "N0 | 2024-01-10 | 2024-01-31"],
    )
    + _block(
        "episodes",
        "child_id | start_date | reason_new_episode | legal_status",
        [*_many("L", 3, "2024-10-01 | S | C2"), "V0 | 2024-09-15 | S | V3"],
    )
    + _children(_REFERRAL_CHILDREN)
)


def _by(frame, key: str) -> dict:
    return {row[key]: row for _, row in frame.iterrows()}


def test_referral_outcomes_worked_by_hand_with_small_numbers_hidden():
    view = journeys(tiny_store(REFERRALS), PERIOD)
    outcomes = _by(view.referral_outcomes, "outcome")
    assert list(view.referral_outcomes["outcome"]) == [
        "nfa",
        "not_in_need",
        "cin",
        "cp",
        "looked_after",
    ]
    assert set(view.referral_outcomes["denominator"]) == {40}
    for outcome, count in {"nfa": 10, "not_in_need": 8, "cin": 12}.items():
        row = outcomes[outcome]
        assert row["numerator"] == count and row["value"] == count / 40
        assert not row["suppressed"]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(stats.wilson(count, 40))
    # 3 looked after: hidden; CP plan (7), the smallest other, hidden with it.
    for outcome in ("looked_after", "cp"):
        row = outcomes[outcome]
        assert row["suppressed"]
        assert all(pd.isna(row[c]) for c in ("numerator", "value", "ci_low", "ci_high"))
    shown = view.referral_outcomes.loc[~view.referral_outcomes["suppressed"], "numerator"]
    assert 40 - shown.sum() == 10  # only the sum of the two hidden counts is known
    # The same numbers as the catalogue's B1.3 on the domain B page.
    b1_3 = evaluate(tiny_store(REFERRALS), Query(("B1.3",), PERIOD, with_change=False))
    assert list(b1_3["numerator"].astype(float).fillna(-1)) == list(
        view.referral_outcomes["numerator"].astype(float).fillna(-1)
    )


def test_re_referrals_worked_by_hand():
    view = journeys(tiny_store(REFERRALS), PERIOD)
    frame = view.re_referrals
    assert tuple(frame["category"]) == RE_REFERRALS
    rows = _by(frame, "category")
    expected = {"not_re_referred": 24, "after_nfa": 6, "after_not_in_need": 7}
    for category, count in expected.items():
        assert rows[category]["numerator"] == count
        assert rows[category]["value"] == count / 40
        assert not rows[category]["suppressed"]
    assert rows["after_looked_after"]["numerator"] == 0  # zero is safe to show
    for category in ("after_cin", "after_cp"):  # 2 and 1
        assert rows[category]["suppressed"] and pd.isna(rows[category]["numerator"])
    assert set(frame["denominator"]) == {40}


# --- plan levels: first day → last day of the period --------------------------------------------
#
#   A0-A5  CiN plan 2024-01-01 to 2024-06-30, none after          CiN plan → no plan     6
#   B0-B6  CiN plan to 2024-08-31, CP plan from 2024-09-10         CiN plan → CP plan     7
#          (a 9-day gap is a hand-over, not a step down)
#   C0-C7  CiN plan from 2024-10-01                                no plan → CiN plan     8
#   D0-D5  CP plan from 2023-06-01, open                           CP plan → CP plan      6
#   E0-E2  looked after 2020 to 2024-12-01, 18 on 2024-12-01        looked after → left    3
#   F0-F8  CP plan 2024-01-01 to 2024-11-30, care from 2024-11-30   CP plan → looked after 9
#   G0-G5  CiN plan to 2024-03-20 and again from 2024-04-10:        CiN plan → CiN plan    6
#          on 1 April the child is in a 20-day gap, which is bridged
#   H (plan ended 2023), I (a short break only), J (plan from 2025-04-15): no plan in the year.
# 45 children had a plan in the year (B5.1's cohort). Looked after → left (3) is hidden, and
# with it one of the three cells of 6 (the smallest shown), so neither can be worked back.
PLANS = (
    _block(
        "cin_plans",
        "child_id | start_date | end_date",
        [
            *_many("A", 6, "2024-01-01 | 2024-06-30"),
            *_many("B", 7, "2024-01-01 | 2024-08-31"),
            *_many("C", 8, "2024-10-01 |"),
            *_many("G", 6, "2024-01-01 | 2024-03-20"),
            *_many("G", 6, "2024-04-10 |"),
            "H | 2023-01-01 | 2023-06-01",
            "J | 2025-04-15 |",
        ],
    )
    + _block(
        "cp_plans",
        "child_id | start_date | end_date",
        [
            *_many("B", 7, "2024-09-10 |"),
            *_many("D", 6, "2023-06-01 |"),
            *_many("F", 9, "2024-01-01 | 2024-11-30"),
        ],
    )
    + _block(
        "episodes",
        "child_id | start_date | reason_new_episode | legal_status | end_date",
        [
            *_many("E", 3, "2020-01-01 | S | C2 | 2024-12-01"),
            *_many("F", 9, "2024-11-30 | S | C2 |"),
            "I | 2024-06-01 | S | V3 | 2024-06-03",
        ],
    )
    + _children(
        [f"{p}{n}" for p, k in zip("ABCDEFG", (6, 7, 8, 6, 3, 9, 6), strict=True) for n in range(k)]
        + ["H", "I", "J"],
        born={f"E{n}": "2006-12-01" for n in range(3)},
    )
)
EXPECTED_CELLS = {
    cell("none", "cin_plan"): 8,
    cell("cin_plan", "none"): 6,
    cell("cin_plan", "cin_plan"): 6,
    cell("cin_plan", "cp_plan"): 7,
    cell("cp_plan", "cp_plan"): 6,
    cell("cp_plan", "looked_after"): 9,
    cell("looked_after", "left"): 3,
}


def _cells(frame) -> dict:
    return {cell(a, b): row for (a, b), row in frame.set_index(["start", "end"]).iterrows()}


def test_plan_levels_worked_by_hand_with_secondary_suppression():
    con = tiny_store(PLANS)
    view = journeys(con, PERIOD)
    cells = _cells(view.plan_levels)
    assert tuple(cells) == PLAN_CELLS  # every cell, zeros too, in the levels' order
    assert set(view.plan_levels["denominator"]) == {45}
    hidden = {c for c, row in cells.items() if row["suppressed"]}
    # The small cell is hidden, and exactly one more: one of the cells of 6, the smallest shown.
    assert cell("looked_after", "left") in hidden and len(hidden) == 2
    (second,) = hidden - {cell("looked_after", "left")}
    assert EXPECTED_CELLS[second] == 6
    for name, row in cells.items():
        if name in hidden:
            assert pd.isna(row["numerator"]) and pd.isna(row["value"])
            continue
        count = EXPECTED_CELLS.get(name, 0)
        assert row["numerator"] == count and row["value"] == count / 45
        assert not 1 <= count <= 5  # nothing small is shown
    shown = view.plan_levels.loc[~view.plan_levels["suppressed"], "numerator"].sum()
    assert 45 - shown == 3 + 6  # the total less what is shown: the sum of two hidden cells
    # The cohort is B5.1's: children with a plan at any time in the year.
    b5_1 = evaluate(con, Query(("B5.1",), PERIOD, with_change=False))
    assert b5_1["denominator"].iloc[0] == 45


def test_plan_level_movements_read_in_words():
    rows = _cells(journeys(tiny_store(PLANS), PERIOD).plan_levels)
    assert rows[cell("cin_plan", "cp_plan")]["movement"] == "stepped up"
    assert rows[cell("cp_plan", "looked_after")]["movement"] == "stepped up"
    assert rows[cell("looked_after", "cin_plan")]["movement"] == "stepped down"
    assert rows[cell("cin_plan", "none")]["movement"] == "ended"
    assert rows[cell("looked_after", "left")]["movement"] == "left at 18 or died"
    assert rows[cell("none", "cin_plan")]["movement"] == "new plan"
    assert rows[cell("none", "none")]["movement"] == "started and ended"
    assert rows[cell("cp_plan", "cp_plan")]["movement"] == "same level"
    assert movement("none", "left") == "left at 18 or died"


def test_the_cp_group_follows_only_children_on_a_cp_plan():
    # Children with a CP plan open in the year: B (7), D (6), F (9) = 22.
    view = journeys(tiny_store(PLANS), PERIOD, group="cp")
    cells = _cells(view.plan_levels)
    assert set(view.plan_levels["denominator"]) == {22}
    expected = {
        cell("cin_plan", "cp_plan"): 7,
        cell("cp_plan", "cp_plan"): 6,
        cell("cp_plan", "looked_after"): 9,
    }
    assert {c: row["numerator"] for c, row in cells.items()} == {
        c: expected.get(c, 0) for c in PLAN_CELLS
    }
    assert not view.plan_levels["suppressed"].any()
    # Referrals: only P0-P6 are on a CP plan, all 7 led to it, all after "not in need".
    view = journeys(tiny_store(REFERRALS), PERIOD, group="cp")
    outcomes = _by(view.referral_outcomes, "outcome")
    assert outcomes["cp"]["numerator"] == 7 and outcomes["cp"]["value"] == 1.0
    assert all(outcomes[o]["numerator"] == 0 for o in ("nfa", "not_in_need", "cin"))
    rows = _by(view.re_referrals, "category")
    assert rows["after_not_in_need"]["numerator"] == 7
    assert rows["not_re_referred"]["numerator"] == 0
    assert view.group == "cp" and view.period == "2024-25"


def test_no_data_gives_empty_flows_and_bad_filters_are_refused():
    view = journeys(tiny_store(), PERIOD)
    assert view.referral_outcomes.empty and view.plan_levels.empty and view.re_referrals.empty
    with pytest.raises(ValueError, match="unknown group"):
        journeys(tiny_store(), PERIOD, group="everyone")
    with pytest.raises(ValueError, match="cannot restrict"):
        journeys(tiny_store(), PERIOD, where=(("provider", "X"),))


# --- the page -----------------------------------------------------------------------------------


def _dated(con):
    """A store the app sees as holding 2024-25 (its latest period comes from load_files)."""
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        "VALUES (1, 'census.xml', 2025, 'loaded')"
    )
    return con


@pytest.fixture
def page_on(tmp_path, monkeypatch):
    """Point the app at a store of our own (through a config file and OUTCOMES_MODE), as in
    tests/test_app.py; returns the Journeys page (or app.py), not yet run."""

    def start(store_file: Path, script: str = "app_pages/journeys.py") -> AppTest:
        config = tmp_path / "config.toml"
        text = (REPO / "config.toml").read_text()
        config.write_text(text.replace('path = "data/outcomes.duckdb"', f'path = "{store_file}"'))
        monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
        monkeypatch.setenv("OUTCOMES_MODE", "local")
        monkeypatch.chdir(REPO)
        st.cache_data.clear()
        st.cache_resource.clear()
        return AppTest.from_file(str(REPO / script), default_timeout=60)

    return start


# With the referrals, six children whose CiN plan ended (Q0-Q5), so that the plan levels of
# the page's store are: no plan → CP plan 7 (P), no plan → looked after 3 (L, hidden), CiN
# plan → no plan 6 (hidden with it, the smallest other), of 16.
PAGE_STORE = (
    REFERRALS
    + _block(
        "cin_plans", "child_id | start_date | end_date", _many("Q", 6, "2024-01-01 | 2024-06-30")
    )
    + _children([f"Q{n}" for n in range(6)])
)


def _all_charts(node) -> list[str]:
    found = []
    for child in getattr(node, "children", {}).values():
        if type(child).__name__ == "UnknownElement":
            found.append(child.type)
        found += _all_charts(child)
    return found


def test_the_page_draws_three_charts_with_tables_and_hides_small_numbers(page_on, tmp_path):
    app = page_on(save_store(_dated(tiny_store(PAGE_STORE)), tmp_path / "s.duckdb"))
    app.run()
    assert not app.exception
    assert app.title[0].value == "Journeys"
    assert app.subheader[0].value == "2024-25 · all children"
    assert _all_charts(app.main).count("vega_lite_chart") == 3
    outcomes = app.dataframe[0].value.set_index("outcome")
    assert outcomes.loc["No further action", "share"] == "25.0%"
    assert outcomes.loc["No further action", "referrals"] == "10"
    for hidden in ("Looked after", "Child protection plan"):
        assert outcomes.loc[hidden, "referrals"] == "c" and outcomes.loc[hidden, "share"] == "c"
        assert outcomes.loc[hidden, "95% interval"] == "c"
    levels = app.dataframe[1].value
    assert len(levels) == len(PLAN_CELLS)
    re_referrals = app.dataframe[2].value.set_index("referral")
    assert re_referrals.loc["No referral in the 12 months before", "referrals"] == "24"
    assert re_referrals.loc["Re-referred after: child in need", "share"] == "c"
    captions = " ".join(c.value for c in app.caption)
    assert 'shows as "c"' in captions  # the page says how hidden numbers look
    # One sentence per chart saying its main reading.
    assert "the most common outcome was child in need (30.0%" in captions
    assert "40.0% followed another referral of the same child" in captions
    assert (
        "Of 16 children with a plan in 2024-25, the largest movement was from no plan to CP "
        "plan (7 children, 43.8%: new plan)" in captions
    )


def test_the_page_follows_the_group_in_the_link(page_on, tmp_path):
    app = page_on(save_store(_dated(tiny_store(REFERRALS)), tmp_path / "s.duckdb"))
    app.query_params["group"] = "cp"
    app.run()
    assert not app.exception
    assert "Child protection plan" in app.subheader[0].value
    outcomes = app.dataframe[0].value.set_index("outcome")
    assert outcomes.loc["Child protection plan", "share"] == "100.0%"
    assert outcomes.loc["No further action", "referrals"] == "0"


def test_the_page_without_returns_says_so(page_on, tmp_path):
    app = page_on(save_store(tiny_store(), tmp_path / "s.duckdb"))
    app.run()
    assert not app.exception
    assert app.title[0].value == "Journeys"
    assert "No returns" in app.info[0].value


@pytest.mark.skipif(
    "app_pages/journeys.py" not in (REPO / "app.py").read_text(),
    reason="the Journeys page is not in app.py's navigation yet",
)
def test_the_app_opens_the_journeys_page(page_on, tmp_path):
    app = page_on(save_store(_dated(tiny_store(REFERRALS)), tmp_path / "s.duckdb"), "app.py")
    app.run()
    app.switch_page("app_pages/journeys.py").run()
    assert not app.exception
    assert app.title[0].value == "Journeys"
    assert app.dataframe[0].value.set_index("outcome").loc["Looked after", "share"] == "c"
