"""Disclosure control of results (spec §11): applied before any number leaves the engine.

Primary suppression: a count from 1 to the threshold is never shown, nor any value built on it.
For a proportion or a category share that means: when the numerator, the denominator, or the
complement (denominator − numerator) is from 1 to the threshold, the numerator, value and
interval are hidden (and the denominator and units too when the cohort itself is that small).
For a mean the units with a value, for a ratio the events, play the part of the count. Facts
about the organisation (e.g. a values statement) name nobody and are never hidden.

Secondary suppression. Counts that add up to another count form a "sum": the slices of one
dimension add up to the whole; the cells of a crossed slicing that share one dimension's value
add up to that value's row; the categories of a distribution add up to its denominator. In any
sum, one hidden part could be worked back from the total and the other parts. So, repeatedly
until nothing changes, wherever a sum has exactly one hidden part, one more part is hidden (the
smallest shown, a non-zero one if any), or the total when no other part can be. Totals are
treated as shown even when they are not in this result: another query may publish them. Groups
overlap (a child can be in several), so the slices of "group" alone are not parts of a sum.

Indicators built from the same units are sums of each other too: B1.1's numerator (referrals
that led to a service) is B1.3's child-in-need, CP-plan and looked-after categories, and B1.2's
numerator (no further action) is its "nfa" category. ``LINKED`` lists these identities; each
gives two sums without a total (the indicator's numerator with the categories it counts, and
with the others, whose total is the shared denominator), so a category hidden in B1.3 cannot be
worked back from B1.1 or B1.2 shown beside it. ``evaluate`` always protects linked indicators
together, even when only one of them is asked for, so the same cells are hidden on every page.

Everything here works on whole columns at once: the results of a whole catalogue sliced every
way are tens of thousands of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from framework.engine.summaries import KEY_SEPARATOR, WHOLE

COUNTED = ("proportion", "distribution")  # statistics whose numerator counts units
HIDDEN_ALWAYS = (
    "value",
    "ci_low",
    "ci_high",
    "mean_score",
    "median",
    "previous_value",
    "change",
    "change_p",
    "response_rate",
    "numerator",
)
HIDDEN_WITH_COHORT = ("denominator", "units", "invited")
MAX_PASSES = 100  # each pass hides at least one more cell; a handful always suffice
# (indicator, distribution, the distribution's categories the indicator's numerator counts):
# both are counted over the same units (the distribution's denominator is the indicator's).
LINKED = (
    ("B1.1", "B1.3", ("cin", "cp", "looked_after")),
    ("B1.2", "B1.3", ("nfa",)),
)


def linked_to(indicator_ids) -> tuple[str, ...]:
    """The indicators that must be protected together with these (not already among them)."""
    wanted = set(indicator_ids)
    found = []
    for first, second, _ in LINKED:
        for this, other in ((first, second), (second, first)):
            if this in wanted and other not in wanted and other not in found:
                found.append(other)
    return tuple(found)


def linked_component(indicator_ids) -> tuple[str, ...]:
    """These indicators and every indicator linked to them, directly or through others
    (``LINKED`` taken transitively), sorted: the set that is always protected together."""
    found = set(indicator_ids)
    while True:
        more = set(linked_to(found))
        if not more:
            return tuple(sorted(found))
        found |= more


@dataclass(frozen=True)
class Nesting:
    """A slicing whose slices each lie inside one slice of a coarser slicing (a small area in
    one ward, a ward in one locality): the fine slices inside each coarse one add up to it.
    ``parent`` maps a fine slice's key to its coarse slice's key. It applies to any slicing
    label that ends with ``fine``'s dimensions (e.g. ``half×lsoa`` → ``half×ward``)."""

    fine: tuple[str, ...]
    coarse: tuple[str, ...]
    parent: dict[str, str]


APART = ("group",)  # dimensions whose slices overlap, so are never parts of a sum


def protect(
    frame: pd.DataFrame,
    threshold: int,
    *,
    nested: tuple[Nesting, ...] = (),
    apart: tuple[str, ...] = APART,
    hide_counts: np.ndarray | None = None,
    hide_cohorts: np.ndarray | None = None,
) -> pd.DataFrame:
    """The results with every disclosive cell hidden and ``suppressed`` set on its row (see
    ``_protect``), in the frame's order.

    Which cells secondary suppression hides must not depend on the order of the rows: where
    parts tie for smallest, the first is hidden, and DuckDB returns groups in no fixed order.
    Two processes (or a view worked out now and a bundle worked out ahead) would otherwise
    hide different cells of the same numbers, and together show what each hid. So the rows
    are protected in one canonical order (``canonical_order``) and returned in theirs."""
    frame = frame.reset_index(drop=True)
    order = canonical_order(frame)

    def reordered(mask):
        return None if mask is None else np.asarray(mask, dtype=bool)[order]

    out = _protect(
        frame.take(order).reset_index(drop=True), threshold, nested=nested, apart=apart,
        hide_counts=reordered(hide_counts), hide_cohorts=reordered(hide_cohorts),
    )  # fmt: skip
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return out.take(back).reset_index(drop=True)


def canonical_order(frame: pd.DataFrame) -> np.ndarray:
    """Row positions sorted by every column that names what a row is (indicator, period,
    slice, key, category, dimension values: the text columns, by name), whatever order the
    rows came in."""
    names = sorted(
        c for c in frame.columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    )  # fmt: skip
    codes = [pd.factorize(frame[c].astype("string").fillna("\x00"), sort=True)[0] for c in names]
    return np.lexsort([np.arange(len(frame)), *reversed(codes)]) if codes else np.arange(len(frame))


def _protect(
    frame: pd.DataFrame,
    threshold: int,
    *,
    nested: tuple[Nesting, ...] = (),
    apart: tuple[str, ...] = APART,
    hide_counts: np.ndarray | None = None,
    hide_cohorts: np.ndarray | None = None,
) -> pd.DataFrame:
    """The results with every disclosive cell hidden and ``suppressed`` set on its row.

    ``nested``: slicings nested in coarser ones (see ``Nesting``), whose slices are parts of
    sums too. ``apart``: dimensions whose slices are not parts of a sum (groups, which overlap;
    periods that are not the sum of their halves). ``hide_counts`` / ``hide_cohorts``: rows
    (boolean, in the frame's order) whose count, or whose count and cohort, must be hidden
    whatever their size (e.g. published hidden elsewhere); secondary suppression then protects
    them like any other hidden cell."""
    frame = frame.reset_index(drop=True)
    for column in ("category", "key"):
        if column not in frame:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if frame.empty:
        return frame.assign(suppressed=pd.Series(dtype=bool))
    statistic = frame["statistic"].to_numpy(dtype=object)
    ok = (frame["status"] == "ok").to_numpy() & (statistic != "fact")
    counted = np.isin(statistic, COUNTED)

    numerator = _floats(frame, "numerator")
    denominator = _floats(frame, "denominator")

    def small(values: np.ndarray) -> np.ndarray:
        return (values > 0) & (values <= threshold)

    cohort = ok & (small(_floats(frame, "units")) | (counted & small(denominator)))
    revealing = (counted & (small(numerator) | small(denominator - numerator))) | (
        (statistic == "ratio") & small(numerator)
    )
    hide_count = ok & revealing
    if hide_cohorts is not None:
        cohort = cohort | (ok & np.asarray(hide_cohorts, dtype=bool))
    if hide_counts is not None:
        hide_count = hide_count | (ok & np.asarray(hide_counts, dtype=bool))
    secondary = _Secondary(frame, ok & counted, numerator, denominator, nested, apart, threshold)
    secondary.hide(np.flatnonzero(cohort), with_cohort=True)
    secondary.hide(np.flatnonzero(hide_count & ~cohort), with_cohort=False)
    secondary.run()
    out = _apply(frame, secondary.hidden_count, secondary.hidden_cohort)
    _hide_small_non_response(out, ok, threshold)
    return out


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return frame[column].to_numpy(dtype=float, na_value=np.nan)


def _apply(frame: pd.DataFrame, count: np.ndarray, cohort: np.ndarray) -> pd.DataFrame:
    out = frame.copy()
    hidden = count | cohort
    for columns, mask in ((HIDDEN_ALWAYS, hidden), (HIDDEN_WITH_COHORT, cohort)):
        for column in columns:
            if column in out and mask.any():
                out[column] = out[column].astype(float).where(~mask)
    if "change_significant" in out:
        out["change_significant"] = out["change_significant"].astype("boolean").where(~hidden)
    out["suppressed"] = hidden
    return out


def _hide_small_non_response(frame: pd.DataFrame, ok: np.ndarray, threshold: int) -> None:
    """A response rate would reveal a small number of people who did not answer."""
    if "invited" not in frame or "response_rate" not in frame:
        return
    gap = _floats(frame, "invited") - _floats(frame, "units")
    frame.loc[ok & (gap > 0) & (gap <= threshold), "response_rate"] = np.nan


# --- secondary suppression -------------------------------------------------------------------


@dataclass
class _Sums:
    """Every sum as flat arrays: sum s has parts rows[start[s]:start[s+1]], adds up in column
    column[s] (0 numerator, 1 denominator) to the row total[s] (-1: not in this result)."""

    rows: np.ndarray
    start: np.ndarray
    column: np.ndarray
    total: np.ndarray
    places: np.ndarray  # sums of slices (whose hidden parts together may be another slice)

    @property
    def owner(self) -> np.ndarray:  # the sum each part belongs to
        return np.repeat(np.arange(len(self.column)), np.diff(self.start))


class _Secondary:
    def __init__(
        self, frame, counted_ok, numerator, denominator, nested=(), apart=APART, threshold=None
    ):
        self.threshold = threshold  # None: only the rule of one hidden part
        self.original = np.vstack([numerator, denominator])
        self.current = self.original.copy()
        self.hidden_count = np.zeros(len(frame), dtype=bool)
        self.hidden_cohort = np.zeros(len(frame), dtype=bool)
        self.sums = _find_sums(frame, counted_ok, nested, apart)

    def hide(self, rows, *, with_cohort: bool) -> None:
        self.current[0, rows] = np.nan
        self.hidden_count[rows] = True
        if with_cohort:
            self.current[1, rows] = np.nan
            self.hidden_cohort[rows] = True

    def run(self) -> None:
        """Passes until no sum has exactly one hidden part that can still be protected.

        Every sum with one hidden part is treated at once in a pass (this runs on hundreds of
        thousands of cells). Where two such sums share cells, treating them together can hide
        a cell more than treating them one after the other would: never fewer."""
        sums = self.sums
        if not len(sums.column):
            return
        owner = sums.owner
        part_column = sums.column[owner]
        position = np.arange(len(owner))
        for _ in range(MAX_PASSES):
            values = self.current[part_column, sums.rows]
            counts = self.original[part_column, sums.rows]
            shown = ~np.isnan(values)
            hidden = ~shown & (counts > 0)
            active = np.bincount(owner, weights=hidden, minlength=len(sums.column)) == 1
            if self.threshold is not None:  # hidden parts that together are a small count
                active |= self._small_together(owner, hidden, counts, part_column)
            if not active.any():
                return
            # In each active sum: the smallest shown part, a non-zero one if there is one.
            non_zero = shown & (counts > 0)
            any_non_zero = np.bincount(owner, weights=non_zero, minlength=len(active)) > 0
            candidate = active[owner] & np.where(any_non_zero[owner], non_zero, shown)
            score = np.where(candidate, counts, np.inf)
            order = np.lexsort((position, score, owner))
            first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
            chosen = first[np.isfinite(score[first])]
            changed = self._hide_parts(sums.rows[chosen], part_column[chosen])
            # Active sums with no shown part: their total, when it is shown.
            has_candidate = np.zeros(len(active), dtype=bool)
            has_candidate[owner[chosen]] = True
            changed |= self._hide_totals(np.flatnonzero(active & ~has_candidate))
            if not changed:
                return

    def _small_together(self, owner, hidden, counts, part_column) -> np.ndarray:
        """Sums of slices whose hidden parts add up to a count from 1 to the threshold (the
        total less the parts shown gives it; those parts together are often another slice: the
        small areas of a decile), or, for numerators, leave a complement that small. Not the
        categories of a distribution: their sums are not shown anywhere."""
        size = len(self.sums.column)
        together = np.bincount(owner, weights=np.where(hidden, counts, 0), minlength=size)
        cohort = self.original[1, self.sums.rows]
        rest = np.where(hidden & (part_column == 0), np.nan_to_num(cohort) - counts, 0)
        complement = np.bincount(owner, weights=rest, minlength=size)
        small = (together > 0) & (together <= self.threshold)
        small |= (self.sums.column == 0) & (complement > 0) & (complement <= self.threshold)
        return small & self.sums.places

    def _hide_parts(self, rows: np.ndarray, columns: np.ndarray) -> bool:
        self.hide(rows[columns == 0], with_cohort=False)
        self.hide(rows[columns == 1], with_cohort=True)  # a denominator hides the cohort
        return len(rows) > 0

    def _hide_totals(self, active_sums: np.ndarray) -> bool:
        totals = self.sums.total[active_sums]
        columns = self.sums.column[active_sums]
        present = totals >= 0
        totals, columns = totals[present], columns[present]
        shown = ~np.isnan(self.current[columns, totals])
        return self._hide_parts(totals[shown], columns[shown])


def _find_sums(frame: pd.DataFrame, counted_ok: np.ndarray, nested=(), apart=APART) -> _Sums:
    rows = frame.loc[counted_ok, ["indicator_id", "slice", "key", "category"]]
    rows["category"] = rows["category"].astype("string").fillna("-")
    pieces = []  # (row positions, sum ids within the piece, column, totals)
    lookup = _row_lookup(rows)
    distribution = (rows["category"] != "-").to_numpy()
    if distribution.any():  # the categories of one row add up to its denominator
        part = rows[distribution]
        ids = part.groupby(["indicator_id", "slice", "key"], sort=True).ngroup().to_numpy()
        pieces.append((part.index.to_numpy(), ids, 0, None, False))
    labels = set(rows["slice"].unique())
    for label in sorted(labels):
        if label == WHOLE:
            continue
        sliced = rows[rows["slice"] == label]
        dims = label.split("×")
        values = sliced["key"].str.split(KEY_SEPARATOR, expand=True) if len(dims) > 1 else None
        for position, dim in enumerate(dims):
            if dim in apart:  # overlapping slices: not parts of a sum
                continue
            rest = [d for i, d in enumerate(dims) if i != position]
            keyed = sliced[["indicator_id", "category"]].assign(
                total_key=_rest_key(values, position, len(sliced)),
                total_slice="×".join(rest) if rest else WHOLE,
            )
            ids = keyed.groupby(["indicator_id", "total_key", "category"], sort=True).ngroup()
            ids = ids.to_numpy()
            totals = _total_rows(lookup, keyed, ids)
            for column in (0, 1):
                pieces.append((sliced.index.to_numpy(), ids, column, totals, True))
        for nesting in nested:
            pieces += _nested_sums(rows, lookup, sliced, dims, values, nesting, labels)
    pieces += _linked_sums(rows)
    return _flatten(pieces)


def _nested_sums(rows, lookup, sliced, dims, values, nesting: Nesting, labels) -> list:
    """The slices of ``label`` (dimensions ``dims``) that end with ``nesting.fine``, grouped by
    the coarse slice each lies in (with the same values of the dimensions before them): each
    group adds up to that coarse slice, in both columns."""
    width = len(nesting.fine)
    if len(dims) < width or tuple(dims[-width:]) != nesting.fine:
        return []
    prefix = dims[:-width]
    total_slice = "×".join([*prefix, *nesting.coarse])
    if total_slice not in labels:
        return []  # the coarse slicing is not in this result
    if values is None:
        fine_key = sliced["key"].astype("string")
    else:
        parts = [values[i] for i in values.columns]
        fine = parts[len(prefix) :]
        fine_key = fine[0].str.cat(fine[1:], sep=KEY_SEPARATOR) if len(fine) > 1 else fine[0]
    coarse_key = fine_key.map(nesting.parent)
    if prefix:
        before = [values[i] for i in values.columns][: len(prefix)]
        head = before[0].str.cat(before[1:], sep=KEY_SEPARATOR) if len(before) > 1 else before[0]
        coarse_key = head + KEY_SEPARATOR + coarse_key
    known = coarse_key.notna().to_numpy()
    if not known.any():
        return []
    part = sliced[known]
    keyed = part[["indicator_id", "category"]].assign(
        total_key=coarse_key[known].astype(str).to_numpy(),
        total_slice=total_slice,
    )
    ids = keyed.groupby(["indicator_id", "total_key", "category"], sort=True).ngroup().to_numpy()
    totals = _total_rows(lookup, keyed, ids)
    return [(part.index.to_numpy(), ids, column, totals, True) for column in (0, 1)]


def _linked_sums(rows: pd.DataFrame) -> list:
    """For each identity in LINKED and each slice holding both indicators: the indicator's
    numerator with the categories it counts, and with the other categories (see above)."""
    pieces = []
    slice_key = rows["slice"].astype("string") + "|" + rows["key"].astype("string").fillna("")
    for indicator, distribution, counted in LINKED:
        single = (rows["indicator_id"] == indicator).to_numpy()
        parts = (rows["indicator_id"] == distribution).to_numpy()
        if not single.any() or not parts.any():
            continue
        for inside in (True, False):
            chosen = parts & (rows["category"].isin(counted).to_numpy() == inside)
            common = set(slice_key[single]) & set(slice_key[chosen])
            members = (single | chosen) & slice_key.isin(common).to_numpy()
            if not members.any():
                continue
            ids = pd.factorize(slice_key[members], sort=True)[0]
            pieces.append((rows.index.to_numpy()[members], ids, 0, None, False))
    return pieces


def _rest_key(values: pd.DataFrame | None, position: int, length: int):
    """The key of the row the parts add up to: the slice key without one dimension's value."""
    if values is None:
        return np.full(length, "")
    kept = [values[i] for i in values.columns if i != position]
    return kept[0].str.cat(kept[1:], sep=KEY_SEPARATOR) if len(kept) > 1 else kept[0]


def _total_rows(lookup, keyed: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """For each sum (id), the row its parts add up to, or -1 when it is not in the result."""
    index, positions = lookup
    firsts = keyed.assign(sum_id=ids).drop_duplicates("sum_id")
    wanted = pd.MultiIndex.from_arrays(
        [firsts["indicator_id"], firsts["total_slice"], firsts["total_key"], firsts["category"]]
    )
    found = index.get_indexer(wanted)
    totals = np.full(ids.max() + 1 if len(ids) else 0, -1, dtype=np.int64)
    totals[firsts["sum_id"].to_numpy()] = np.where(found >= 0, positions[found], -1)
    return totals


def _row_lookup(rows: pd.DataFrame) -> tuple[pd.MultiIndex, np.ndarray]:
    """(the rows' (indicator, slice, key, category), their positions), for finding totals."""
    index = pd.MultiIndex.from_frame(rows[["indicator_id", "slice", "key", "category"]])
    first = ~index.duplicated()
    return index[first], rows.index.to_numpy()[first]


def _flatten(pieces) -> _Sums:
    rows, lengths, columns, totals, places = [], [], [], [], []
    for positions, ids, column, piece_totals, of_places in pieces:
        order = np.argsort(ids, kind="stable")
        rows.append(positions[order])
        sizes = np.bincount(ids, minlength=ids.max() + 1 if len(ids) else 0)
        lengths.append(sizes)
        columns.append(np.full(len(sizes), column))
        totals.append(piece_totals if piece_totals is not None else np.full(len(sizes), -1))
        places.append(np.full(len(sizes), of_places))
    if not pieces:
        empty = np.zeros(0, dtype=np.int64)
        return _Sums(empty, np.zeros(1, dtype=np.int64), empty, empty, np.zeros(0, dtype=bool))
    sizes = np.concatenate(lengths)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return _Sums(
        np.concatenate(rows).astype(np.int64),
        start,
        np.concatenate(columns).astype(np.int64),
        np.concatenate(totals).astype(np.int64),
        np.concatenate(places).astype(bool),
    )


__all__ = [
    "APART",
    "COUNTED",
    "HIDDEN_ALWAYS",
    "LINKED",
    "Nesting",
    "linked_component",
    "linked_to",
    "protect",
]
