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

Everything here works on whole columns at once: the results of a whole catalogue sliced every
way are tens of thousands of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WHOLE = "all"
COUNTED = ("proportion", "distribution")  # statistics whose numerator counts units
HIDDEN_ALWAYS = (
    "value",
    "ci_low",
    "ci_high",
    "mean_score",
    "previous_value",
    "change",
    "change_p",
    "response_rate",
    "numerator",
)
HIDDEN_WITH_COHORT = ("denominator", "units", "invited")
MAX_PASSES = 100  # each pass hides at least one more cell; a handful always suffice


def protect(frame: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The results with every disclosive cell hidden and ``suppressed`` set on its row."""
    frame = frame.reset_index(drop=True)
    if "category" not in frame:
        frame["category"] = pd.Series(pd.NA, index=frame.index, dtype="string")
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
    secondary = _Secondary(frame, ok & counted, numerator, denominator)
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

    @property
    def owner(self) -> np.ndarray:  # the sum each part belongs to
        return np.repeat(np.arange(len(self.column)), np.diff(self.start))


class _Secondary:
    def __init__(self, frame, counted_ok, numerator, denominator):
        self.original = np.vstack([numerator, denominator])
        self.current = self.original.copy()
        self.hidden_count = np.zeros(len(frame), dtype=bool)
        self.hidden_cohort = np.zeros(len(frame), dtype=bool)
        self.sums = _find_sums(frame, counted_ok)

    def hide(self, rows, *, with_cohort: bool) -> None:
        self.current[0, rows] = np.nan
        self.hidden_count[rows] = True
        if with_cohort:
            self.current[1, rows] = np.nan
            self.hidden_cohort[rows] = True

    def run(self) -> None:
        sums = self.sums
        if not len(sums.column):
            return
        owner = sums.owner
        part_column = sums.column[owner]
        for _ in range(MAX_PASSES):
            values = self.current[part_column, sums.rows]
            counts = self.original[part_column, sums.rows]
            hidden = np.isnan(values) & (counts > 0)
            in_sum = np.bincount(owner, weights=hidden, minlength=len(sums.column))
            # Only sums with exactly one hidden part need work; they are few, so each is
            # looked at again with the state as it now is (an earlier one may have changed it).
            if not any([self._protect_one(s) for s in np.flatnonzero(in_sum == 1)]):
                return

    def _protect_one(self, s: int) -> bool:
        sums = self.sums
        rows = sums.rows[sums.start[s] : sums.start[s + 1]]
        column = sums.column[s]
        values, counts = self.current[column, rows], self.original[column, rows]
        if (np.isnan(values) & (counts > 0)).sum() != 1:
            return False
        shown = ~np.isnan(values)
        candidates = shown & (counts > 0)
        if not candidates.any():
            candidates = shown
        with_cohort = column == 1
        if candidates.any():
            choice = np.flatnonzero(candidates)[np.argmin(counts[candidates])]
            self.hide([rows[choice]], with_cohort=with_cohort)
            return True
        total = sums.total[s]
        if total >= 0 and not np.isnan(self.current[column, total]):
            self.hide([total], with_cohort=with_cohort)
            return True
        return False


def _find_sums(frame: pd.DataFrame, counted_ok: np.ndarray) -> _Sums:
    rows = frame[counted_ok]
    dims = _dimension_columns(rows)
    keyed = rows[["indicator_id", "slice", *dims]].astype("string").fillna("")
    keyed["category"] = rows["category"].astype("string").fillna("-")
    pieces = []  # (row positions, sum ids within the piece, columns, totals)
    distribution = rows["category"].notna()
    if distribution.any():  # the categories of one row add up to its denominator
        part = keyed[distribution]
        ids = part.groupby(["indicator_id", "slice", *dims], sort=True).ngroup().to_numpy()
        pieces.append((part.index.to_numpy(), ids, 0, None))
    for label in sorted(rows["slice"].unique()):
        if label in (WHOLE, "group"):
            continue
        sliced = keyed[keyed["slice"] == label]
        parts_dims = label.split("×")
        for dim in parts_dims:
            rest = [d for d in parts_dims if d != dim]
            keys = ["indicator_id", *rest, "category"]
            ids = sliced.groupby(keys, sort=True).ngroup().to_numpy()
            totals = _total_rows(keyed, sliced, rest, keys, ids)
            for column in (0, 1):
                pieces.append((sliced.index.to_numpy(), ids, column, totals))
    return _flatten(pieces)


def _dimension_columns(frame: pd.DataFrame) -> list[str]:
    labels = frame["slice"].dropna().unique()
    return sorted({d for label in labels if label != WHOLE for d in label.split("×")})


def _total_rows(keyed, sliced, rest, keys, ids) -> np.ndarray:
    """For each sum (id) of ``sliced``, the row its parts add up to, or -1."""
    label = "×".join(rest) if rest else WHOLE
    candidates = keyed[keyed["slice"] == label][keys].reset_index(names="total")
    firsts = sliced[keys].assign(sum_id=ids).drop_duplicates("sum_id")
    matched = firsts.merge(candidates.drop_duplicates(keys), on=keys, how="left")
    totals = np.full(ids.max() + 1 if len(ids) else 0, -1, dtype=np.int64)
    found = matched["total"].notna()
    totals[matched.loc[found, "sum_id"].to_numpy()] = matched.loc[found, "total"].astype(int)
    return totals


def _flatten(pieces) -> _Sums:
    rows, lengths, columns, totals = [], [], [], []
    for positions, ids, column, piece_totals in pieces:
        order = np.argsort(ids, kind="stable")
        rows.append(positions[order])
        sizes = np.bincount(ids, minlength=ids.max() + 1 if len(ids) else 0)
        lengths.append(sizes)
        columns.append(np.full(len(sizes), column))
        totals.append(piece_totals if piece_totals is not None else np.full(len(sizes), -1))
    if not pieces:
        empty = np.zeros(0, dtype=np.int64)
        return _Sums(empty, np.zeros(1, dtype=np.int64), empty, empty)
    sizes = np.concatenate(lengths)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return _Sums(
        np.concatenate(rows).astype(np.int64),
        start,
        np.concatenate(columns).astype(np.int64),
        np.concatenate(totals).astype(np.int64),
    )


__all__ = ["COUNTED", "HIDDEN_ALWAYS", "protect"]
