"""Joint disclosure control: a place, its parts and their parts, a year and its halves, and
linked indicators protected together (suppression.Nesting, aggregate._joint).

Hand-worked tables first (which cells must be hidden can be said by hand), then the engine on
small stores, then a Hypothesis property of nested sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.engine import journeys, place
from framework.engine.aggregate import Query, evaluate, evaluate_many
from framework.engine.periods import Period
from framework.engine.run import register_measures
from framework.engine.summaries import KEY_SEPARATOR, WHOLE
from framework.engine.suppression import Nesting, linked_component, protect
from tests.test_disclosure_audit import many, referral_store

T = 5
PERIOD = Period.parse("2024-25")
register_measures()


def table(rows) -> pd.DataFrame:
    """(slice, key, numerator, denominator) rows of one proportion "X"."""
    return pd.DataFrame(
        [
            {
                "indicator_id": "X",
                "statistic": "proportion",
                "slice": s,
                "key": k,
                "numerator": float(n),
                "denominator": float(d),
                "units": d,
                "value": n / d if d else np.nan,
                "status": "ok",
            }
            for s, k, n, d in rows
        ]
    )


def hidden(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["suppressed"], "key"].replace("", WHOLE))


# Two wards of two small areas each: a (3 children, so hidden) and b in W1; c and d in W2.
WARDS = [
    (WHOLE, "", 20, 40),
    ("ward", "W1", 10, 20),
    ("ward", "W2", 10, 20),
    ("lsoa", "a", 1, 3),
    ("lsoa", "b", 9, 17),
    ("lsoa", "c", 4, 8),
    ("lsoa", "d", 6, 12),
]
IN_WARD = Nesting(("lsoa",), ("ward",), {"a": "W1", "b": "W1", "c": "W2", "d": "W2"})


def test_without_the_nesting_a_hidden_small_area_is_its_ward_less_the_other():
    # By the whole alone: a is hidden, c (the smallest other) with it, and d (a and c are
    # together 5, the whole less b and d); b is shown, so
    # a = W1 − b = 20 − 17 = 3. This is the leak the nesting closes.
    shown = protect(table(WARDS), T)
    assert hidden(shown) == {"a", "c", "d"}  # a and c together are 5: d too


def test_small_areas_add_up_to_their_ward():
    # W1 = a + b: a hidden, so b too; W2 = c + d: c hidden (by the whole's sum), so d too.
    shown = protect(table(WARDS), T, nested=(IN_WARD,))
    assert hidden(shown) == {"a", "b", "c", "d"}
    assert shown.loc[shown["key"] == "W1", "numerator"].item() == 10  # wards stay shown


def test_a_half_adds_up_to_its_year_unless_apart():
    rows = [
        (WHOLE, "", 15, 33),
        ("half", "1", 1, 3),
        ("half", "2", 14, 30),
    ]
    # The year is H1 + H2: H1 (3) hidden, so H2 too, or 33 − 30 gives it back.
    assert hidden(protect(table(rows), T)) == {"1", "2"}
    # Halves that do not add up (a unit in both) are apart: no sum, nothing more hidden.
    assert hidden(protect(table(rows), T, apart=("group", "half"))) == {"1"}


def test_a_half_and_a_place_inside_it():
    # half×ward cells add up to the year's ward (removing the half) and to the half's whole.
    rows = [
        (WHOLE, "", 20, 40),
        ("ward", "W1", 10, 20),
        ("ward", "W2", 10, 20),
        ("half", "1", 8, 18),
        ("half", "2", 12, 22),
        ("half×ward", f"1{KEY_SEPARATOR}W1", 1, 4),
        ("half×ward", f"1{KEY_SEPARATOR}W2", 7, 14),
        ("half×ward", f"2{KEY_SEPARATOR}W1", 9, 16),
        ("half×ward", f"2{KEY_SEPARATOR}W2", 3, 8),
    ]
    found = hidden(protect(table(rows), T))
    # (H1, W1) is small; its row (H1) and its column (W1) each need a second hidden cell,
    # and the cells chosen need theirs: all four cells, no margin.
    assert found == {f"1{KEY_SEPARATOR}W1", f"1{KEY_SEPARATOR}W2", f"2{KEY_SEPARATOR}W1",
                     f"2{KEY_SEPARATOR}W2"}  # fmt: skip


def test_extra_cells_to_hide_are_protected_like_any_other():
    rows = [(WHOLE, "", 20, 40), ("ward", "W1", 10, 20), ("ward", "W2", 10, 20)]
    frame = table(rows)
    shown = protect(frame, T, hide_counts=(frame["key"] == "W1").to_numpy())
    assert hidden(shown) == {"W1", "W2"}  # W2 = whole − W1 otherwise
    assert shown.loc[shown["key"] == "W1", "denominator"].item() == 20  # a count, not a cohort
    shown = protect(frame, T, hide_cohorts=(frame["key"] == "W1").to_numpy())
    assert np.isnan(shown.loc[shown["key"] == "W2", "denominator"].item())


def test_linked_indicators_are_closed_transitively():
    assert linked_component(["B1.1"]) == ("B1.1", "B1.2", "B1.3")
    assert linked_component(["B2.1"]) == ("B2.1",)


# --- the engine on small stores (tests/test_disclosure_audit.py's two localities) -------------


def b1_2(con, period=PERIOD, **options) -> pd.DataFrame:
    query = Query(("B1.2",), period, threshold=T, with_change=False, **options)
    found = evaluate(con, query)
    return found[found["slice"] == "all"].iloc[0]


def test_a_locality_of_3_in_a_whole_of_40_cannot_be_worked_out():
    con = referral_store(
        many("X1", "nfa", 1) + many("X2", "cin", 2) + many("X3", "nfa", 10) + many("X4", "cin", 27)
    )
    whole = b1_2(con)
    uplands = b1_2(con, where=(("locality", "Uplands"),))
    lowlands = b1_2(con, where=(("locality", "Lowlands"),))
    assert uplands["suppressed"]  # 3 referrals
    # Whole − Lowlands would give Uplands' 3: one of them is hidden.
    assert pd.isna(whole["denominator"]) or pd.isna(lowlands["denominator"])
    assert pd.isna(whole["numerator"]) or pd.isna(lowlands["numerator"])


def test_a_filter_reads_the_rows_the_map_shows():
    con = referral_store(many("X1", "nfa", 4) + many("X3", "nfa", 10) + many("X4", "cin", 27))
    by_locality = place.area_view(con, "B1.2", PERIOD, level="locality", threshold=T).table
    for name in ("Uplands", "Lowlands"):
        row = by_locality[by_locality["area"] == name].iloc[0]
        alone = b1_2(con, where=(("locality", name),))
        assert bool(row["suppressed"]) == bool(alone["suppressed"])
        for column in ("numerator", "denominator"):
            assert pd.isna(row[column]) == pd.isna(alone[column])


def test_a_small_half_cannot_be_worked_out_from_its_year():
    con = referral_store(
        many("X3", "cin", 3, "2024-06-01")
        + many("X3", "nfa", 10, "2024-11-01")
        + many("X3", "cin", 20, "2024-12-01")
    )
    year, first, second = (
        b1_2(con, Period.parse(p)) for p in ("2024-25", "2024-25H1", "2024-25H2")
    )
    assert first["suppressed"]  # 3 referrals
    assert pd.isna(year["denominator"]) or pd.isna(second["denominator"])


def test_the_trend_by_halves_hides_what_the_year_needs():
    con = referral_store(
        many("X3", "cin", 3, "2024-06-01")
        + many("X3", "nfa", 10, "2024-11-01")
        + many("X3", "cin", 20, "2024-12-01")
    )
    queries = [
        Query(("B1.2",), Period.parse(p), threshold=T, with_change=False)
        for p in ("2024-25", "2024-25H1", "2024-25H2")
    ]
    rows = [r[r["slice"] == "all"].iloc[0] for r in evaluate_many(con, queries)]
    shown = [not pd.isna(r["denominator"]) for r in rows]
    assert shown.count(True) <= 1  # never two of year, H1, H2 (they give the third)


def test_the_journeys_hide_the_b1_3_cells_the_domain_page_hides():
    con = referral_store(
        many("X3", "nfa", 10)
        + many("X3", "not_in_need", 10)
        + many("X4", "cin", 15)
        + many("X4", "cp", 2)
    )
    flows = journeys.journeys(con, PERIOD, threshold=T).referral_outcomes
    domain = evaluate(con, Query(("B1.3",), PERIOD, threshold=T, with_change=False))
    domain = domain[domain["slice"] == "all"].set_index("category")["suppressed"]
    for row in flows.to_dict("records"):
        assert bool(row["suppressed"]) == bool(domain[row["outcome"]]), row["outcome"]
    b1_1 = evaluate(con, Query(("B1.1",), PERIOD, threshold=T, with_change=False))
    shown_b1_1 = not b1_1[b1_1["slice"] == "all"]["suppressed"].iloc[0]
    cin = flows.set_index("outcome").loc["cin"]
    # B1.1 = child in need + CP plan + looked after: with CP (2) hidden, B1.1 and child in
    # need are never both shown.
    assert not (shown_b1_1 and not cin["suppressed"])


# --- a property of nested sums ---------------------------------------------------------------

COUNTS = st.one_of(st.integers(0, 6), st.integers(7, 40))


@st.composite
def hierarchies(draw):
    """A whole of 2-3 wards, each of 1-3 small areas, with a count per small area."""
    rows, parent = [], {}
    for w in range(draw(st.integers(2, 3))):
        for a in range(draw(st.integers(1, 3))):
            parent[f"w{w}a{a}"] = f"w{w}"
            rows.append((f"w{w}a{a}", draw(COUNTS)))
    return rows, parent


@settings(max_examples=60, deadline=None)
@given(hierarchies())
def test_no_sum_of_the_hierarchy_has_exactly_one_hidden_part(drawn):
    areas, parent = drawn
    wards: dict[str, int] = {}
    for area, count in areas:
        wards[parent[area]] = wards.get(parent[area], 0) + count
    total = sum(wards.values())
    rows = [(WHOLE, "", total, total)]
    rows += [("ward", w, n, n) for w, n in wards.items()]
    rows += [("lsoa", a, n, n) for a, n in areas]
    frame = table([r for r in rows if r[3] > 0])
    if frame.empty:
        return
    shown = protect(frame, T, nested=(Nesting(("lsoa",), ("ward",), parent),))
    value = dict(zip(shown["key"], shown["denominator"], strict=True))
    original = dict(zip(frame["key"], frame["denominator"], strict=True))
    for count in value.values():  # primary: nothing from 1 to the threshold is shown
        assert pd.isna(count) or not (0 < count <= T)
    sums = [("", list(wards))] + [(w, [a for a, _ in areas if parent[a] == w]) for w in wards]
    sums.append(("", [a for a, _ in areas]))
    for total_key, parts in sums:
        parts = [p for p in parts if p in value]
        if total_key not in value or pd.isna(value[total_key]):
            continue
        unknown = [p for p in parts if pd.isna(value[p]) and original[p] > 0]
        assert len(unknown) != 1, (total_key, parts, value)
