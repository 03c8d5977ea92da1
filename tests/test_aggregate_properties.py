"""Properties of the aggregator over small random stores (framework/engine/aggregate.py).

Two toy measures are registered for the module (and removed after it):

* ``PROPTEST.NFA`` (proportion): referrals made in the period; numerator: no further action;
* ``PROPTEST.SOURCE`` (distribution): the same referrals by their source (three categories).

Stores are random: children with random sex, ethnicity (valid, unknown and missing codes) and
date of birth (often a day either side of an age-band birthday), some referred children with no
row in ``children`` at all (every dimension unknown), some disabled children (so groups overlap),
and referrals with random NFA flags and dates, often on a day either side of a period boundary.

An evaluation with every slicing takes a few tenths of a second, so one connection is reused
(emptied and refilled for each example) and each property runs a modest number of examples.

Six disclosure bugs found while writing these tests (all fixed) are pinned by tests on small
hand-made stores (the section "bugs found and fixed" at the end); the properties they broke
keep those stores as explicit examples.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from framework.engine.aggregate import RESULT_COLUMNS, Query, evaluate
from framework.engine.periods import Period
from framework.engine.units import MEASURES, measure
from tests.engine_store import add_rows, tiny_store

PROPORTION = "PROPTEST.NFA"
DISTRIBUTION = "PROPTEST.SOURCE"
SOURCES = ("1A", "2B", "3C")
INDICATORS = (PROPORTION, DISTRIBUTION)
PERIODS = ("2024-25", "2024-25H1", "2024-25H2")

# Every slicing in one query: crossed sex × age band, then each dimension on its own.
CROSSED = ("sex", "age_band")
SEPARATELY = ("sex", "age_band", "ethnicity", "group")
PARTITIONS = ("sex×age_band", "sex", "age_band", "ethnicity")  # slicings whose slices add up
KEYS = ("slice", "category", "group", "age_band", "sex", "ethnicity")
COUNTS = ("numerator", "denominator", "units")


# --- toy measures ------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def toy_measures() -> Iterator[tuple[str, str]]:
    """Referrals made in the period: NFA (a proportion) and source (a distribution)."""

    @measure(PROPORTION, "proportion")
    def nfa(ctx):
        return ctx.sql(
            """SELECT child_id || '/' || referral_date AS unit_id, child_id,
                      TRUE AS in_denominator, referral_nfa AS in_numerator
               FROM referrals WHERE referral_date BETWEEN $start AND $end"""
        )

    @measure(DISTRIBUTION, "distribution", categories=SOURCES)
    def source(ctx):
        return ctx.sql(
            """SELECT child_id || '/' || referral_date AS unit_id, child_id,
                      TRUE AS in_denominator, referral_source AS category
               FROM referrals WHERE referral_date BETWEEN $start AND $end"""
        )

    yield INDICATORS
    del MEASURES[PROPORTION]
    del MEASURES[DISTRIBUTION]


# --- random stores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    children: tuple[tuple, ...]  # (child_id, sex, date_of_birth, ethnicity)
    referrals: tuple[tuple, ...]  # (child_id, referral_date, referral_nfa, referral_source)
    disabled: tuple[str, ...] = ()  # child ids with a disability recorded


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _table(name: str, header: str, rows) -> str:
    return "\n".join([name, header, *(" | ".join(map(_cell, row)) for row in rows)])


def load(con: duckdb.DuckDBPyConnection, store: Store, shuffle: int | None = None) -> None:
    """Empty the tables the toy measures read and write ``store`` into them (rows in a shuffled
    order when ``shuffle`` is a seed)."""
    children, referrals, disabled = list(store.children), list(store.referrals), store.disabled
    disabled = [(child, "HAND") for child in disabled]
    if shuffle is not None:
        shuffler = random.Random(shuffle)
        for rows in (children, referrals, disabled):
            shuffler.shuffle(rows)
    for table in ("children", "referrals", "child_disabilities"):
        con.execute(f"DELETE FROM {table}")
    blocks = [
        _table("children", "child_id | sex | date_of_birth | ethnicity", children),
        _table(
            "referrals",
            "child_id | referral_date | referral_nfa | referral_source",
            referrals,
        ),
        _table("child_disabilities", "child_id | disability", disabled),
    ]
    add_rows(con, "\n\n".join(b for b in blocks if b.count("\n") >= 2))


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    """One store for the module, emptied and refilled by ``load`` for each example."""
    return tiny_store()


def _edges(ends: list[date], offsets: tuple[int, ...]) -> list[date]:
    return sorted({end + timedelta(days=d) for end in ends for d in offsets})


# A day either side of the 1st, 5th, 10th, 16th and 18th birthday at each period's end.
_BIRTHDAY_EDGES = _edges(
    [
        date(end.year - age, end.month, end.day)
        for end in (date(2025, 3, 31), date(2024, 9, 30), date(2024, 3, 31))
        for age in (1, 5, 10, 16, 18)
    ],
    (0, 1),
)
# The first and last day of every half year from 2023-24 to 2025-26.
_PERIOD_EDGES = _edges(
    [date(2023, 4, 1), date(2023, 10, 1), date(2024, 4, 1), date(2024, 10, 1), date(2025, 4, 1)],
    (-1, 0),
)
SEXES = st.sampled_from(["M", "F", "U", None])
ETHNICITIES = st.sampled_from(
    ["WBRI", "WIRI", "MWBC", "AIND", "BAFR", "CHNE", "OOTH", "REFU", "NOBT", "XXXX", None]
)
BIRTHS = st.one_of(
    st.sampled_from(_BIRTHDAY_EDGES), st.dates(date(2004, 1, 1), date(2025, 3, 31)), st.none()
)
REFERRAL_DATES = st.one_of(
    st.sampled_from(_PERIOD_EDGES),
    st.dates(date(2024, 4, 1), date(2025, 3, 31)),  # most referrals in the year asked for
    st.dates(date(2023, 3, 1), date(2025, 4, 30)),
)


@st.composite
def stores(draw, max_children: int = 30, max_referrals: int = 50) -> Store:
    # Each store uses a few values of each dimension, so that slices are sometimes large and
    # sometimes a handful: both sides of the threshold.
    sexes = st.sampled_from(draw(st.lists(SEXES, min_size=1, max_size=3)))
    births = st.sampled_from(draw(st.lists(BIRTHS, min_size=1, max_size=4)))
    ethnicities = st.sampled_from(draw(st.lists(ETHNICITIES, min_size=1, max_size=4)))
    people = draw(
        st.lists(
            st.tuples(sexes, births, ethnicities, st.integers(0, 9)),
            min_size=1,
            max_size=max_children,
        )
    )
    ids = [f"C{n:02d}" for n in range(len(people))]
    # About one referred child in ten has no row in children: all their dimensions unknown.
    children = tuple(
        (child, sex, born, ethnicity)
        for child, (sex, born, ethnicity, known) in zip(ids, people, strict=True)
        if known
    )
    nfa_share = draw(st.sampled_from([0, 1, 5, 9, 10]))  # tenths: none, few, half, most, all
    sources = draw(st.sampled_from([SOURCES, SOURCES[:1] * 8 + SOURCES[1:], SOURCES[1:]]))
    referrals = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ids),
                REFERRAL_DATES,
                st.one_of(st.integers(0, 9).map(lambda k: k < nfa_share), st.none()),
                st.sampled_from(sources),
            ),
            max_size=max_referrals,
            unique_by=lambda row: (row[0], row[1]),
        )
    )
    disabled = tuple(draw(st.lists(st.sampled_from(ids), unique=True, max_size=6)))
    return Store(children, tuple(referrals), disabled)


def cohort(boys: int, boys_nfa: int, girls: int = 0, girls_nfa: int = 0) -> Store:
    """Boys and girls of one age and ethnicity, each referred once in June 2024 (source 1A)."""
    children, referrals = [], []
    for sex, total, nfa in (("M", boys, boys_nfa), ("F", girls, girls_nfa)):
        for n in range(total):
            children.append((f"{sex}{n:02d}", sex, "2015-01-01", "WBRI"))
            referrals.append((f"{sex}{n:02d}", "2024-06-01", n < nfa, "1A"))
    return Store(tuple(children), tuple(referrals))


THRESHOLDS = st.one_of(st.just(5), st.integers(1, 10))


def query(threshold: int, period: str = "2024-25", **changes) -> Query:
    fields = {"by": CROSSED, "separately": SEPARATELY, "threshold": threshold} | changes
    return Query(INDICATORS, Period.parse(period), **fields)


# --- reading results ---------------------------------------------------------------------------


def _shown(value) -> bool:
    return pd.notna(value)


def _small(value, threshold: int) -> bool:
    return _shown(value) and 0 < value <= threshold


def _ok(result: pd.DataFrame, indicator: str) -> pd.DataFrame:
    return result[(result["indicator_id"] == indicator) & (result["status"] == "ok")]


def _categories(rows: pd.DataFrame):
    """(category, its rows) — one pass with category missing for proportions."""
    if rows.empty:
        return
    if rows["category"].isna().all():
        yield None, rows
        return
    for category in rows["category"].dropna().unique():
        yield category, rows[rows["category"] == category]


def partitions(result: pd.DataFrame, indicator: str):
    """(label, category, the whole's row, the slices' rows) for each slicing whose slices are
    parts of the whole (every one asked for except group), per category."""
    ok = _ok(result, indicator)
    for category, rows in _categories(ok):
        whole = rows[rows["slice"] == "all"]
        if whole.empty:
            continue
        for label in PARTITIONS:
            parts = rows[rows["slice"] == label]
            if not parts.empty:
                yield label, category, whole.iloc[0], parts


def _key(row) -> tuple:
    return tuple("" if pd.isna(row[k]) else str(row[k]) for k in KEYS)


def by_key(result: pd.DataFrame, indicator: str) -> dict[tuple, pd.Series]:
    rows = _ok(result, indicator)
    found = {_key(row): row for _, row in rows.iterrows()}
    assert len(found) == len(rows), "two result rows for one slice and category"
    return found


def canonical(result: pd.DataFrame) -> pd.DataFrame:
    order = ["indicator_id", *KEYS]
    return result.sort_values(order, na_position="first", kind="stable").reset_index(drop=True)


# --- 1. shown shares are shares ----------------------------------------------------------------


@settings(max_examples=12)
@given(store=stores(), threshold=st.integers(0, 10), period=st.sampled_from(PERIODS))
def test_shown_shares_lie_in_their_interval(con, store, threshold, period):
    load(con, store)
    result = evaluate(con, query(threshold, period))
    assert list(result.columns) == list(RESULT_COLUMNS)
    for indicator in INDICATORS:
        for _, row in _ok(result, indicator).iterrows():
            if _shown(row["numerator"]) and _shown(row["denominator"]):
                assert 0 <= row["numerator"] <= row["denominator"]
            if _shown(row["denominator"]):
                assert row["denominator"] == row["units"] > 0
            if _shown(row["value"]):
                assert _shown(row["numerator"]) and _shown(row["denominator"])
                assert math.isclose(row["value"], row["numerator"] / row["denominator"])
                assert 0 <= row["ci_low"] <= row["value"] <= row["ci_high"] <= 1
            else:
                assert pd.isna(row["ci_low"]) and pd.isna(row["ci_high"])
                assert pd.isna(row["change"])
            if _shown(row["value"]) and _shown(row["previous_value"]):
                assert math.isclose(row["change"], row["value"] - row["previous_value"])
            else:
                assert pd.isna(row["change"])


# --- 2 and 7. before suppression, slices add up to the whole and categories to the denominator ---


@settings(max_examples=20)
@given(store=stores(), period=st.sampled_from(PERIODS))
def test_before_suppression_slices_and_categories_add_up(con, store, period):
    load(con, store)
    result = evaluate(con, query(0, period, with_change=False))
    assert not result["suppressed"].any()
    for indicator in INDICATORS:
        seen = set()
        for label, category, whole, parts in partitions(result, indicator):
            seen.add(label)
            for column in COUNTS:
                assert parts[column].sum() == whole[column], (indicator, label, category, column)
        # Every slicing of a cohort is there, "unknown" being a slice — except that a slicing
        # by a dimension no unit has recorded is reported as "not by <dimension>".
        if not _ok(result, indicator).empty:
            for label in set(PARTITIONS) - seen:
                statuses = result.loc[
                    (result["indicator_id"] == indicator) & (result["slice"] == label), "status"
                ]
                assert set(statuses) <= {f"not by {d}" for d in label.split("×")}, label
        # Groups overlap (a referred child may also be disabled): each group is part of the
        # whole, but together they may come to more than it.
        for _, rows in _categories(_ok(result, indicator)):
            whole = rows[rows["slice"] == "all"].iloc[0]
            groups = rows[rows["slice"] == "group"]
            for column in COUNTS:
                assert (groups[column] <= whole[column]).all()
    # Distributions: every category of every slice, zeros included, adding up to its
    # denominator.
    for cells in _slices_of(_ok(result, DISTRIBUTION)):
        assert sorted(cells["category"]) == sorted(SOURCES)
        assert cells["denominator"].nunique() == 1
        assert cells["numerator"].sum() == cells["denominator"].iloc[0]
        assert math.isclose(cells["value"].sum(), 1.0)


def _slices_of(rows: pd.DataFrame):
    """The rows (one per category) of each slice of a distribution."""
    keys = [k for k in KEYS if k != "category"]
    for _, cells in rows.groupby([rows[k].fillna("") for k in keys], sort=False):
        yield cells


def test_groups_overlap_so_they_may_add_up_to_more_than_the_whole(con):
    load(
        con,
        Store(
            children=(("A", "M", "2015-01-01", "WBRI"), ("B", "F", "2015-01-01", "WBRI")),
            referrals=(("A", "2024-06-01", True, "1A"), ("B", "2024-06-01", False, "1A")),
            disabled=("A",),
        ),
    )
    result = evaluate(con, query(0, with_change=False, by=(), separately=("group",)))
    rows = _ok(result, PROPORTION)
    groups = rows[rows["slice"] == "group"].set_index("group")
    whole = rows[rows["slice"] == "all"].iloc[0]
    assert groups.loc["cin", "denominator"] == whole["denominator"] == 2
    assert groups.loc["disabled", "denominator"] == 1
    assert groups["denominator"].sum() > whole["denominator"]  # allowed: groups overlap


# --- 3. after suppression, no small count is shown -----------------------------------------------


def assert_no_small_count(result: pd.DataFrame, threshold: int) -> None:
    for indicator in INDICATORS:
        for _, row in _ok(result, indicator).iterrows():
            where = (indicator, _key(row))
            for column in COUNTS:
                assert not _small(row[column], threshold), (*where, column, row[column])
            complement = row["denominator"] - row["numerator"]
            assert not _small(complement, threshold), (*where, "complement", complement)
            if row["suppressed"]:
                assert pd.isna(row["numerator"]) and pd.isna(row["value"])
                assert pd.isna(row["ci_low"]) and pd.isna(row["ci_high"])


@settings(max_examples=24)
@given(store=stores(), threshold=THRESHOLDS, period=st.sampled_from(PERIODS))
def test_no_count_from_one_to_the_threshold_is_shown(con, store, threshold, period):
    load(con, store)
    assert_no_small_count(evaluate(con, query(threshold, period, with_change=False)), threshold)


# --- 4. a hidden count cannot be worked back from the others and the whole -----------------------


def _single_hidden(parts: pd.DataFrame, total: pd.Series, column: str) -> bool:
    """One hidden part of a shown total is the total minus the others. Recovering a zero
    discloses nobody (a cell can be hidden for its small denominator while its numerator is 0,
    and a shown whole of 0 then says so), so only a non-zero recovered count is a leak."""
    if not _shown(total[column]) or parts[column].isna().sum() != 1:
        return False
    return total[column] - parts[column].sum() != 0


def assert_not_differenced(result: pd.DataFrame) -> None:
    for indicator in INDICATORS:
        for label, category, whole, parts in partitions(result, indicator):
            for column in COUNTS:
                hidden = [_key(r) for _, r in parts[parts[column].isna()].iterrows()]
                assert not _single_hidden(parts, whole, column), (
                    f"{indicator} {category}: of the slices by {label}, only {hidden} has its "
                    f"{column} hidden, and the whole's ({whole[column]}) is shown"
                )


# Boys: 3 of 20 NFA (hidden); girls: 12 of 30 (shown); the whole: 15 of 50 (shown): 15 − 12 = 3.
BOYS_AND_GIRLS = cohort(boys=20, boys_nfa=3, girls=30, girls_nfa=12)


@settings(max_examples=18)
@given(store=stores(), threshold=THRESHOLDS)
@example(store=BOYS_AND_GIRLS, threshold=5)
def test_a_hidden_count_cannot_be_worked_back_by_subtraction(con, store, threshold):
    load(con, store)
    assert_not_differenced(evaluate(con, query(threshold, with_change=False)))


def assert_not_differenced_from_margins(result: pd.DataFrame) -> None:
    """The cells of sex × age band with one sex (or one age band) add up to that sex's row of
    the slicing by sex alone (or that age band's row)."""
    for indicator in INDICATORS:
        for category, rows in _categories(_ok(result, indicator)):
            cells = rows[rows["slice"] == "×".join(CROSSED)]
            for dimension in CROSSED:
                for _, margin in rows[rows["slice"] == dimension].iterrows():
                    parts = cells[cells[dimension] == margin[dimension]]
                    for column in COUNTS:
                        assert not _single_hidden(parts, margin, column), (
                            f"{indicator} {category}: of the cells with {dimension} = "
                            f"{margin[dimension]}, one has its {column} hidden, and their "
                            f"total ({margin[column]}) is shown"
                        )


def _store_of(*groups: tuple[str, str, str, int, int]) -> Store:
    """(prefix, sex, date of birth, children, how many referred from 2B, the rest from 1A)."""
    children, referrals = [], []
    for prefix, sex, born, total, from_2b in groups:
        for n in range(total):
            children.append((f"{prefix}{n:02d}", sex, born, "WBRI"))
            referrals.append(
                (f"{prefix}{n:02d}", "2024-06-01", False, "2B" if n < from_2b else "1A")
            )
    return Store(tuple(children), tuple(referrals))


# Referrals from 2B: boys aged 13, 3 of 20 (hidden); boys aged 8, 10 of 20 (hidden with them);
# girls aged 13, 12 of 30. The 10-15 row (15) minus the girls' 12 gives the boys' 3.
CROSSED_CELLS = _store_of(
    ("MA", "M", "2012-01-01", 20, 3), ("MB", "M", "2017-01-01", 20, 10),
    ("FA", "F", "2012-01-01", 30, 12),
)  # fmt: skip


@settings(max_examples=10)
@given(store=stores(), threshold=THRESHOLDS)
@example(store=CROSSED_CELLS, threshold=5)
def test_a_hidden_cell_cannot_be_worked_back_from_the_single_slicings(con, store, threshold):
    load(con, store)
    assert_not_differenced_from_margins(evaluate(con, query(threshold, with_change=False)))


# --- 5. the order rows were inserted in does not matter -------------------------------------------


@settings(max_examples=8)
@given(store=stores(), seed=st.integers(0, 2**32 - 1), threshold=THRESHOLDS)
def test_results_do_not_depend_on_the_order_of_rows(con, store, seed, threshold):
    load(con, store)
    first = canonical(evaluate(con, query(threshold)))
    load(con, store, shuffle=seed)
    second = canonical(evaluate(con, query(threshold)))
    pd.testing.assert_frame_equal(first, second)


# --- 6. change ---------------------------------------------------------------------------------


@st.composite
def stores_with_gaps(draw) -> tuple[Store, str]:
    """A store and a period, sometimes with no referrals in that period or the one before."""
    store = draw(stores())
    period = Period.parse(draw(st.sampled_from(PERIODS)))
    emptied = draw(st.sampled_from([None, None, period, period.previous()]))
    if emptied is not None:
        kept = tuple(r for r in store.referrals if not emptied.contains(r[1]))
        store = Store(store.children, kept, store.disabled)
    return store, period.label


@settings(max_examples=12)
@given(case=stores_with_gaps())
def test_change_is_the_difference_and_needs_both_periods(con, case):
    store, label = case
    load(con, store)
    result = evaluate(con, query(0, label))
    before = evaluate(con, query(0, Period.parse(label).previous().label, with_change=False))
    for indicator in INDICATORS:
        earlier = by_key(before, indicator)
        rows = _ok(result, indicator)
        for _, row in rows.iterrows():
            if _key(row) in earlier:
                assert math.isclose(row["previous_value"], earlier[_key(row)]["value"])
                assert math.isclose(row["change"], row["value"] - row["previous_value"])
                assert _shown(row["change_significant"])
            else:  # no data for this slice in the period before: no change to state
                assert pd.isna(row["previous_value"]) and pd.isna(row["change"])
                assert pd.isna(row["change_significant"]) and pd.isna(row["change_p"])
        if rows.empty:  # no data now
            mine = result[result["indicator_id"] == indicator]
            assert set(mine["status"]) == {"no data"}
            assert mine["change_significant"].isna().all() and mine["value"].isna().all()


# Boys: 3 of 20 NFA in 2023-24 (its own result hides the 3 and shows the 20), 10 of 20 in
# 2024-25: the 2024-25 row shows 2023-24's value 0.15, and 0.15 × 20 = 3.
SMALL_LAST_YEAR = Store(
    children=tuple((f"B{n:02d}", "M", "2015-01-01", "WBRI") for n in range(40)),
    referrals=tuple(
        (f"B{n:02d}", "2023-06-01" if n < 20 else "2024-06-01", n < 3 or 20 <= n < 30, "1A")
        for n in range(40)
    ),
)


@settings(max_examples=10)
@given(store=stores(), threshold=THRESHOLDS)
@example(store=SMALL_LAST_YEAR, threshold=5)
def test_the_previous_value_is_shown_only_where_that_period_shows_it(con, store, threshold):
    load(con, store)
    result = evaluate(con, query(threshold, by=("sex",), separately=()))
    before = evaluate(con, query(threshold, "2023-24", by=("sex",), separately=()))
    for indicator in INDICATORS:
        earlier = by_key(before, indicator)
        for _, row in _ok(result, indicator).iterrows():
            if _shown(row["previous_value"]):
                shown_then = earlier[_key(row)]["value"]
                assert _shown(shown_then), f"{indicator} {_key(row)}: hidden in 2023-24"
                assert math.isclose(row["previous_value"], shown_then)
            if pd.isna(row["previous_value"]):
                assert pd.isna(row["change"]) and pd.isna(row["change_p"])
                assert pd.isna(row["change_significant"])


# --- 7. distributions: a hidden category ----------------------------------------------------------

# 20 referrals: 3 from 2B (hidden), 9 from 1A and 8 from 3C (shown), denominator 20 (shown):
# the 2B count is 20 − 9 − 8 = 3.
ONE_HIDDEN_CATEGORY = Store(
    children=tuple((f"C{n:02d}", "M", "2015-01-01", "WBRI") for n in range(20)),
    referrals=tuple(
        (f"C{n:02d}", "2024-06-01", False, "2B" if n < 3 else "1A" if n < 12 else "3C")
        for n in range(20)
    ),
)


@settings(max_examples=18)
@given(store=stores(), threshold=THRESHOLDS)
@example(store=ONE_HIDDEN_CATEGORY, threshold=5)
def test_a_hidden_category_cannot_be_worked_back_from_the_others(con, store, threshold):
    load(con, store)
    result = evaluate(con, query(threshold, with_change=False))
    for cells in _slices_of(_ok(result, DISTRIBUTION)):
        denominator = cells["denominator"].iloc[0]
        hidden = cells[cells["numerator"].isna()]
        assert not (_shown(denominator) and len(hidden) == 1), (
            f"{_key(hidden.iloc[0])}: only {hidden['category'].tolist()} is hidden and the "
            f"denominator ({denominator}) is shown"
        )


# --- edge cases by hand --------------------------------------------------------------------------


def test_a_slice_with_no_units_is_absent_not_zero(con):
    load(con, cohort(boys=12, boys_nfa=6))
    result = evaluate(con, query(5))
    for indicator in INDICATORS:
        rows = _ok(result, indicator)
        assert set(rows.loc[rows["slice"] == "sex", "sex"]) == {"M"}  # no girls: no girls' row
        assert set(rows.loc[rows["slice"] == "age_band", "age_band"]) == {"10-15"}
        assert set(rows.loc[rows["slice"] == "ethnicity", "ethnicity"]) == {"White"}
        assert set(rows.loc[rows["slice"] == "group", "group"]) == {"cin"}
        assert len(rows[rows["slice"] == "sex×age_band"]) == len(rows[rows["slice"] == "all"])
        assert (rows["denominator"] > 0).all()


@pytest.mark.parametrize("threshold", [1, 5, 10])
def test_a_whole_cohort_of_exactly_the_threshold_is_hidden_entirely(con, threshold):
    load(con, cohort(boys=threshold, boys_nfa=threshold // 2))
    result = evaluate(con, query(threshold))
    assert (result["status"] == "ok").all() and result["suppressed"].all()
    for column in (*COUNTS, "value", "ci_low", "ci_high", "previous_value", "change", "change_p"):
        assert result[column].isna().all(), column


@pytest.mark.parametrize("nfa", [0, 6])
def test_a_cohort_of_threshold_plus_one_is_shown(con, nfa):
    load(con, cohort(boys=6, boys_nfa=nfa))
    row = _ok(evaluate(con, query(5, by=(), separately=())), PROPORTION).iloc[0]
    assert not row["suppressed"]
    assert (row["numerator"], row["denominator"], row["units"]) == (nfa, 6, 6)
    assert row["value"] == nfa / 6


@pytest.mark.parametrize("nfa", [1, 3, 5])
def test_threshold_plus_one_shows_the_denominator_but_not_a_small_numerator(con, nfa):
    load(con, cohort(boys=6, boys_nfa=nfa))
    row = _ok(evaluate(con, query(5, by=(), separately=())), PROPORTION).iloc[0]
    assert row["suppressed"] and (row["denominator"], row["units"]) == (6, 6)
    assert pd.isna(row["numerator"]) and pd.isna(row["value"])


def test_zero_is_shown_and_is_not_a_small_count(con):
    load(con, cohort(boys=8, boys_nfa=0, girls=8, girls_nfa=8))
    rows = _ok(evaluate(con, query(5, by=(), separately=("sex",))), PROPORTION)
    assert not rows["suppressed"].any()
    numerators = dict(zip(rows["sex"].fillna("all"), rows["numerator"], strict=True))
    assert numerators == {"all": 8, "M": 0, "F": 8}


# --- bugs found and fixed, each with the smallest example ----------------------------------------


def test_bug_secondary_suppression_of_a_proportion(con):
    load(con, BOYS_AND_GIRLS)
    rows = _ok(evaluate(con, query(5, by=(), separately=("sex",))), PROPORTION)
    whole = rows[rows["slice"] == "all"].iloc[0]
    boys = rows[rows["sex"] == "M"].iloc[0]
    girls = rows[rows["sex"] == "F"].iloc[0]
    assert pd.isna(boys["numerator"])
    # Shown as 15 and 12: the boys' 3 is 15 − 12. One of the two must go (the girls', by the
    # module docstring).
    assert pd.isna(girls["numerator"]) or pd.isna(whole["numerator"])


def test_bug_a_single_hidden_slice_beside_zeros_hides_the_whole(con):
    # Referrals from 1A: 8 of the 10 boys (complement 2: hidden) and none of the 10 girls
    # (0, shown). The whole's 8 of 20 is shown, so the boys' count is 8 − 0.
    load(con, _store_of(("M", "M", "2015-01-01", 10, 2), ("F", "F", "2015-01-01", 10, 10)))
    rows = _ok(evaluate(con, query(5, by=(), separately=("sex",))), DISTRIBUTION)
    rows = rows[rows["category"] == "1A"]
    boys = rows[rows["sex"] == "M"].iloc[0]
    girls = rows[rows["sex"] == "F"].iloc[0]
    whole = rows[rows["slice"] == "all"].iloc[0]
    assert pd.isna(boys["numerator"])
    assert pd.isna(whole["numerator"]) or pd.isna(girls["numerator"])  # shown as 8 and 0


def test_bug_a_single_hidden_category_is_hidden_with_another(con):
    load(con, ONE_HIDDEN_CATEGORY)
    rows = _ok(evaluate(con, query(5, by=(), separately=())), DISTRIBUTION)
    assert rows["denominator"].tolist() == [20, 20, 20]
    assert rows["numerator"].isna().sum() >= 2  # only 2B (3) is hidden: 20 − 9 − 8


def test_bug_last_years_hidden_value_is_not_shown_as_the_previous_value(con):
    load(con, SMALL_LAST_YEAR)
    last_year = _ok(evaluate(con, query(5, "2023-24", by=(), separately=())), PROPORTION)
    assert pd.isna(last_year.iloc[0]["numerator"]) and last_year.iloc[0]["denominator"] == 20
    row = _ok(evaluate(con, query(5, by=(), separately=())), PROPORTION).iloc[0]
    assert row["value"] == 0.5
    assert pd.isna(row["previous_value"])  # shown as 0.15: 0.15 × 20 = 3


def test_bug_a_suppressed_row_does_not_say_whether_it_changed(con):
    # 15 of 20 NFA in 2023-24, 3 of 20 in 2024-25 (hidden): a significant fall.
    load(
        con,
        Store(
            children=tuple((f"B{n:02d}", "M", "2015-01-01", "WBRI") for n in range(40)),
            referrals=tuple(
                (
                    f"B{n:02d}",
                    "2023-06-01" if n < 20 else "2024-06-01",
                    n < 15 or 20 <= n < 23,
                    "1A",
                )
                for n in range(40)
            ),
        ),
    )
    row = _ok(evaluate(con, query(5, by=(), separately=())), PROPORTION).iloc[0]
    assert row["suppressed"] and pd.isna(row["value"]) and pd.isna(row["change_p"])
    assert pd.isna(row["change_significant"])  # shown as True


def test_bug_a_crossed_cell_is_not_recovered_from_an_age_band_row(con):
    load(con, CROSSED_CELLS)
    result = evaluate(con, query(5, by=CROSSED, separately=CROSSED, with_change=False))
    rows = _ok(result, DISTRIBUTION)
    rows = rows[rows["category"] == "2B"].set_index(["slice", "sex", "age_band"], drop=False)
    assert pd.isna(rows.loc[("sex×age_band", "M", "10-15"), "numerator"])  # 3
    girls = rows.loc[("sex×age_band", "F", "10-15"), "numerator"]
    band = rows.loc[("age_band", pd.NA, "10-15"), "numerator"]
    assert pd.isna(girls) or pd.isna(band)  # shown as 12 and 15: the boys' 3 is 15 − 12
