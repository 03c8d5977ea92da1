"""The exact differencing check (framework/engine/differencing.py): after ``protect``, no hidden
count from 1 to the threshold may be worked out by combining everything shown.

Hand-worked tables first (small areas cut three ways, a year and its halves), then a
Hypothesis property over random small tables checked by an independent rank test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.engine.differencing import close_differencing_gaps
from framework.engine.summaries import KEY_SEPARATOR, WHOLE
from framework.engine.suppression import Nesting, protect

T = 5
CUTS = ("ward", "imd_decile", "idaci_decile")  # three ways of cutting the small areas
APART = ("group", "period")


def places_of(areas: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """One row per small area: its ward, IMD decile and IDACI decile."""
    return pd.DataFrame(
        [{"lsoa": a, **dict(zip(CUTS, cut, strict=True))} for a, cut in areas.items()]
    )


def nestings(places: pd.DataFrame) -> tuple[Nesting, ...]:
    """A small area lies in one slice of each cut (what aggregate._parents finds)."""
    return tuple(
        Nesting(("lsoa",), (cut,), dict(zip(places["lsoa"], places[cut], strict=True)))
        for cut in CUTS
    )


def frame_of(areas: dict[str, tuple[str, ...]], counts: dict, halves: bool = False):
    """The rows aggregate._build_joint would make for one proportion "X": the whole, each
    cut and each small area, for the year (and, with ``halves``, each half as slices of
    ``half`` that add up to the year). ``counts``: area -> (numerator, denominator) per
    period (one pair, or a pair for each half). A slice with no units has no row."""
    rows = []

    def add(label: str, key: str, members: list[str], period: int) -> None:
        pairs = [counts[a] if halves else (counts[a],) for a in members]
        chosen = [p for pair in pairs for p in ((pair[period - 1],) if period else pair)]
        n, d = (sum(c[i] for c in chosen) for i in (0, 1))
        if d == 0:
            return
        if period:
            label = "half" if label == WHOLE else f"half×{label}"
            key = str(period) if not key else f"{period}{KEY_SEPARATOR}{key}"
        rows.append(
            {
                "indicator_id": "X", "statistic": "proportion", "slice": label, "key": key,
                "numerator": float(n), "denominator": float(d), "units": d, "value": n / d,
                "status": "ok", "period": ("2024-25", "2024-25H1", "2024-25H2")[period],
            }
        )  # fmt: skip

    for period in (0, 1, 2) if halves else (0,):
        add(WHOLE, "", list(areas), period)
        for position, cut in enumerate(CUTS):
            for value in sorted({c[position] for c in areas.values()}):
                add(cut, value, [a for a, c in areas.items() if c[position] == value], period)
        for area in areas:
            add("lsoa", area, [area], period)
    return pd.DataFrame(rows)


def checked(frame: pd.DataFrame, places: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(protect's result, then the differencing check's)."""
    nested = nestings(places)
    first = protect(frame, T, nested=nested, apart=APART)
    return first, close_differencing_gaps(
        frame, first, T, places=places, nested=nested, apart=APART
    )


def hidden(result: pd.DataFrame, column: str = "numerator") -> set[tuple[str, str]]:
    return set(zip(*(result.loc[result[column].isna(), c] for c in ("slice", "key")), strict=True))


# --- hand-worked ------------------------------------------------------------------------------

# Four small areas, each in one ward, one IMD decile and one IDACI decile: every pair of
# areas shares exactly one of the three.
#               ward  IMD  IDACI
FOUR = {"a": ("W1", "1", "7"), "b": ("W1", "2", "8"), "c": ("W2", "1", "8"), "d": ("W2", "2", "7")}


def test_three_cuts_of_four_small_areas_give_back_a_hidden_one():
    # a has 2 children (of 20) in the numerator: hidden. Protect hides b with it (ward W1),
    # c (IMD decile 1), then d (IMD decile 2 would have one hidden part): every sum now has
    # two hidden small areas. But the sums together pin a down:
    #   W1 + IMD 1 - IDACI 8 = (a + b) + (a + c) - (b + c) = 2a = 8 + 9 - 13 = 4.
    counts = {"a": (2, 20), "b": (6, 20), "c": (7, 21), "d": (9, 22)}
    places = places_of(FOUR)
    first, after = checked(frame_of(FOUR, counts), places)
    small_areas = {("lsoa", a) for a in FOUR}
    assert hidden(first) == small_areas  # protect's rules: nothing more to hide
    # After the check: one cut of the three has both its numerators hidden. Each pair of
    # margins adds up to the whole (24), so any one will do and they cost the same (a move
    # a + 1, b - 1, c - 1, d + 1 changes only the IDACI deciles; a - b - d + c… likewise).
    extra = hidden(after) - small_areas
    assert extra in [{(cut, c[i]) for c in FOUR.values()} for i, cut in enumerate(CUTS)]
    assert (WHOLE, "") not in hidden(after)  # the whole authority stays shown
    assert hidden(after, "denominator") == set()  # 20 to 83 children: no cohort is small
    assert not _recoverable(frame_of(FOUR, counts), after, places)


def test_nothing_more_is_hidden_when_nothing_can_be_worked_out():
    # Two cuts only (ward and IMD decile; IDACI decile is the whole): a, b, c, d hidden, and
    # a + 1, b - 1, c - 1, d + 1 changes no margin, so a cannot be worked out.
    two = {a: (w, i, "7") for a, (w, i, _) in FOUR.items()}
    counts = {"a": (2, 20), "b": (6, 20), "c": (7, 21), "d": (9, 22)}
    first, after = checked(frame_of(two, counts), places_of(two))
    pd.testing.assert_frame_equal(first, after)


def test_a_half_year_cohort_worked_out_and_protected_through_both_halves():
    # The same four areas by half-year (the year is the sum of its halves), counting
    # cohorts (no numerator). In the first half a has 3 children: hidden. Protect hides b, c
    # and d in the first half (their ward and IMD decile sums), then every area's second half
    # (each year's area = its two halves, one hidden). The first half's cuts still give a
    # back: W1 + IMD 1 - IDACI 8 = 2a = 13 + 14 - 21 = 6.
    counts = {
        "a": ((0, 3), (0, 9)), "b": ((0, 10), (0, 10)),
        "c": ((0, 11), (0, 12)), "d": ((0, 12), (0, 14)),
    }  # fmt: skip
    places = places_of(FOUR)
    frame = frame_of(FOUR, counts, halves=True)
    first, after = checked(frame, places)
    halves = {("half×lsoa", f"{h}{KEY_SEPARATOR}{a}") for h in (1, 2) for a in FOUR}
    assert hidden(first, "denominator") == halves
    assert _recoverable(frame, first, places) == [
        ("half×lsoa", f"1{KEY_SEPARATOR}a", "rest", 3.0),
        ("half×lsoa", f"1{KEY_SEPARATOR}a", "d", 3.0),
    ]
    # Hiding one cut in the first half alone would not do: the year's less the second half's
    # gives it back. The move a + 1, b - 1, c - 1, d + 1 in the first half and the opposite in
    # the second changes only that cut in each half (the year stays as it is), so the cut's
    # four half-year cells are hidden, and nothing else: every one of the year's rows stays
    # shown. (Each pair of margins adds up to a half's whole, so the three cuts cost the same.)
    extra = hidden(after, "denominator") - halves
    assert extra in [
        {(f"half×{cut}", f"{h}{KEY_SEPARATOR}{c[i]}") for h in (1, 2) for c in FOUR.values()}
        for i, cut in enumerate(CUTS)
    ]
    assert not after.loc[~after["slice"].str.startswith("half"), "denominator"].isna().any()
    assert not _recoverable(frame, after, places)


def test_the_cells_hidden_do_not_depend_on_the_order_of_the_rows():
    # The three cuts tie (see above): whichever is hidden, it must be the same one however
    # the rows and the children's places come (DuckDB returns groups in no fixed order).
    counts = {"a": (2, 20), "b": (6, 20), "c": (7, 21), "d": (9, 22)}
    frame, places = frame_of(FOUR, counts), places_of(FOUR)
    _, expected = checked(frame, places)
    for seed in range(3):
        shuffled = frame.sample(frac=1, random_state=seed)
        _, after = checked(shuffled, places.sample(frac=1, random_state=seed))
        assert hidden(after) == hidden(expected)
        assert after.index.equals(pd.RangeIndex(len(after)))  # in the order given
        assert (after["key"].to_numpy() == shuffled["key"].to_numpy()).all()


# --- a property over random small tables --------------------------------------------------------

COUNTS = st.one_of(st.integers(0, 6), st.integers(7, 30))


@st.composite
def tables(draw):
    """3-7 small areas, each in one of 2-3 wards, IMD deciles and IDACI deciles, with a
    numerator and a denominator (per half when the table has halves)."""
    size = draw(st.integers(3, 7))
    cuts = [draw(st.integers(2, 3)) for _ in CUTS]
    areas = {
        f"x{i}": tuple(
            f"{cut[0]}{draw(st.integers(1, k))}" for cut, k in zip(CUTS, cuts, strict=True)
        )
        for i in range(size)
    }
    halves = draw(st.booleans())

    def pair():
        d = draw(COUNTS)
        return (draw(st.integers(0, d)), d)

    counts = {a: (pair(), pair()) if halves else pair() for a in areas}
    return areas, counts, halves


@settings(max_examples=60, deadline=None)
@given(tables())
def test_nothing_small_is_shown_or_can_be_worked_out(table):
    areas, counts, halves = table
    frame = frame_of(areas, counts, halves)
    if frame.empty:
        return
    places = places_of(areas)
    _, after = checked(frame, places)
    for column in ("numerator", "denominator"):
        assert not after[column].between(1, T).any(), column
    assert not (after["denominator"] - after["numerator"]).between(1, T).any()
    assert not _recoverable(frame, after, places)


def _recoverable(frame: pd.DataFrame, result: pd.DataFrame, places: pd.DataFrame) -> list:
    """The hidden small counts (numerators, complements, cohorts) that what ``result`` shows
    determines: an independent rank test. Unknowns: the numerator and denominator of each
    small area in each period (a half-year table: each half; the year is their sum). Each
    number shown is an equation over them; an area with no row in a period has none there
    (a known zero). A count is recoverable when adding it to the equations leaves the rank
    as it is."""
    halves = frame["slice"].str.startswith("half").any()
    areas = list(places["lsoa"])
    attributes = {row["lsoa"]: {k: str(v) for k, v in row.items()} for _, row in places.iterrows()}
    periods = (1, 2) if halves else (0,)
    column = {(p, a, c): i for i, (p, a, c) in enumerate(
        (p, a, c) for p in periods for a in areas for c in ("n", "d")
    )}  # fmt: skip

    def vector(row, what: str) -> np.ndarray:
        label, key = row["slice"], row["key"]
        period = 0
        if label.startswith("half"):
            head, _, key = key.partition(KEY_SEPARATOR)
            period, label = int(head), label.partition("×")[2] or WHOLE
        inside = [a for a in areas if label == WHOLE or attributes[a][label] == key]
        out = np.zeros(len(column))
        for p in (1, 2) if halves and period == 0 else (period,):
            for a in inside:
                out[column[(p, a, "d")]] += what in ("d", "rest")
                out[column[(p, a, "n")]] += {"n": 1, "d": 0, "rest": -1}[what]
        return out

    equations = []
    for _, row in result.iterrows():
        if not pd.isna(row["numerator"]):
            equations.append(vector(row, "n"))
        if not pd.isna(row["denominator"]):
            equations.append(vector(row, "d"))
    present = {(p, a) for p in periods for a in areas}
    for _, row in frame[frame["slice"] == ("half×lsoa" if halves else "lsoa")].iterrows():
        head, _, area = row["key"].rpartition(KEY_SEPARATOR)
        present.discard((int(head) if halves else 0, area))
    for p, a in present:  # no row: no units there
        for c in ("n", "d"):
            zero = np.zeros(len(column))
            zero[column[(p, a, c)]] = 1
            equations.append(zero)
    matrix = np.array(equations).reshape(-1, len(column))
    rank = np.linalg.matrix_rank(matrix) if len(matrix) else 0
    found = []
    for (_, row), (_, before) in zip(result.iterrows(), frame.iterrows(), strict=True):
        n, d = before["numerator"], before["denominator"]
        for what, value, shown in (
            ("n", n, not pd.isna(row["numerator"])),
            ("rest", d - n, not pd.isna(row["numerator"])),
            ("d", d, not pd.isna(row["denominator"])),
        ):
            if shown or not 0 < value <= T:
                continue
            stacked = np.vstack([matrix, vector(before, what)])
            if np.linalg.matrix_rank(stacked) == rank:
                found.append((row["slice"], row["key"], what, value))
    return found
