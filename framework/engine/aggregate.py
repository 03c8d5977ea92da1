"""The one aggregator: every number of the product comes from here.

``evaluate(con, query)`` runs each indicator's measure for the period (and the period before,
for change), sums the unit rows of every indicator for the whole cohort and every slicing asked
for in one DuckDB pass (summaries.py), and returns one long table (``RESULT_COLUMNS``) of
numerators, denominators, values, 95% intervals and change, with disclosure control
(suppression.py) applied before anything is returned.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd

from framework.engine import precompute, surveys
from framework.engine import statistics as stats
from framework.engine.differencing import close_differencing_gaps
from framework.engine.dimensions import CHILD_DIMENSIONS, GROUPS, child_dimensions
from framework.engine.periods import Period
from framework.engine.summaries import (
    KEY_SEPARATOR,
    UNKNOWN,
    WHOLE,
    Batch,
    Prepared,
    in_group,
    summarise,
    unit_kind,
)
from framework.engine.suppression import APART, Nesting, linked_component, linked_to, protect
from framework.engine.units import MEASURES, UNIT_SLICES, Measure, MeasureContext

SIGNIFICANCE = 0.05
DIMENSIONS = ("group", *CHILD_DIMENSIONS, *(s for s in UNIT_SLICES if s not in CHILD_DIMENSIONS))
RESULT_COLUMNS = {
    "indicator_id": "string",
    "period": "string",
    "statistic": "string",
    "category": "string",  # distributions: one row per category; otherwise missing
    "slice": "string",  # "all", or the dimension(s) sliced by, e.g. "sex" or "sex×age_band"
    **{dimension: "string" for dimension in DIMENSIONS},
    "numerator": "Float64",
    "denominator": "Float64",
    "units": "Int64",  # units in the denominator (respondents, workers, children…)
    "value": "Float64",
    "ci_low": "Float64",
    "ci_high": "Float64",
    "mean_score": "Float64",  # proportions whose units carry a number (survey score, workers…)
    "median": "Float64",  # … and its median (e.g. years of service, A7.3)
    "invited": "Float64",  # surveys: people invited in the slice (when the invitations say)
    "response_rate": "Float64",  # surveys: respondents (units) ÷ invited
    "weighted": "boolean",  # surveys: value and interval weighted to the people invited
    "previous_value": "Float64",
    "change": "Float64",
    "change_p": "Float64",
    "change_significant": "boolean",
    "suppressed": "boolean",
    "status": "string",  # ok, no data, not by <dimension>
}


@dataclass(frozen=True)
class Query:
    indicator_ids: tuple[str, ...]
    period: Period
    by: tuple[str, ...] = ()  # dimensions, crossed
    separately: tuple[str, ...] = ()  # dimensions, each on its own (one slicing per dimension)
    group: str | None = None  # restrict to one group of spec §4
    # restrict children's units to children with these dimension values, e.g.
    # (("locality", "Northmere"), ("imd_decile", "1")); other units cannot be placed
    where: tuple[tuple[str, str], ...] = ()
    threshold: int = 5
    with_change: bool = True
    weighted: bool = False  # surveys: weight respondents to the invited profile
    compare_with: Period | None = None  # the change is from this period (default: the one before)


@dataclass
class _Cache:
    """Child dimensions, invitations and measure contexts per period, built once per
    evaluation; measures run through it."""

    con: duckdb.DuckDBPyConnection
    frames: dict[Period, pd.DataFrame] = field(default_factory=dict)
    contexts: dict[Period, MeasureContext] = field(default_factory=dict)
    invitations: dict[tuple, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # shared by every period's measures
    cohorts: dict[tuple, pd.DataFrame] = field(default_factory=dict)  # (indicator, period)
    joint: dict[tuple, _Joint] = field(default_factory=dict)  # see ``_joints``
    identity: object = False  # the store's identity, once asked (``_store_identity``)

    def close(self) -> None:
        """Drop the temporary tables the measures made."""
        for table in self.tables.values():
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.tables.clear()

    def dimensions(self, period: Period) -> pd.DataFrame:
        if period not in self.frames:
            self.frames[period] = _kept_dimensions(self, period)
        return self.frames[period]

    def context(self, period: Period, threshold: int) -> MeasureContext:
        """One context per period, so measures of a period can share work (see units.py)."""
        if period not in self.contexts:
            self.contexts[period] = MeasureContext(
                self.con, period, {"disclosure_threshold": threshold}, tables=self.tables
            )
        return self.contexts[period]

    def units(self, measure: Measure, period: Period, threshold: int) -> pd.DataFrame:
        """The measure's cohort units in the period (made once per evaluation: a trend and a
        change both need last year's)."""
        key = (measure.indicator_id, period, threshold)
        if key not in self.cohorts:
            units = measure.units(self.context(period, threshold))
            self.cohorts[key] = units[units["in_denominator"]]
        return self.cohorts[key]

    def invited(self, waves: tuple[str, ...]) -> pd.DataFrame:
        if waves not in self.invitations:
            self.invitations[waves] = surveys.invitations(self.con, list(waves))
        return self.invitations[waves]


def evaluate(con: duckdb.DuckDBPyConnection, query: Query) -> pd.DataFrame:
    """The results table for every indicator asked for (see the module docstring)."""
    return evaluate_many(con, [query])[0]


def evaluate_many(con: duckdb.DuckDBPyConnection, queries) -> list[pd.DataFrame]:
    """The results of several queries, sharing the work between them (each measure's units
    and the child dimensions are made once per period): a trend's periods, a view's related
    indicators. Each query's results are protected on their own, as ``evaluate`` does."""
    queries = list(queries)
    for query in queries:
        _check(query)
    cache = _Cache(con)
    try:
        return [_evaluate(cache, query) for query in queries]
    finally:
        cache.close()


def _check(query: Query) -> None:
    unknown = [d for d in (*query.by, *query.separately) if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {', '.join(DIMENSIONS)}")
    if query.group is not None and query.group not in GROUPS:
        raise ValueError(f"unknown group {query.group!r}; choose from {', '.join(GROUPS)}")
    unplaceable = [d for d, _ in query.where if d not in CHILD_DIMENSIONS]
    if unplaceable:
        raise ValueError(
            f"cannot restrict to {unplaceable}; choose from {', '.join(CHILD_DIMENSIONS)}"
        )


def _evaluate(cache: _Cache, query: Query) -> pd.DataFrame:
    measures = [MEASURES[i] for i in linked_component(query.indicator_ids) if i in MEASURES]
    served = _served(cache, measures, query)
    if served is not None:
        return served
    return _evaluate_alone(cache, query)


def _evaluate_alone(cache: _Cache, query: Query) -> pd.DataFrame:
    """A query protected on its own (slicings the pages never combine with the place
    filters: e.g. the report's ``--by sex``)."""
    results = _protected_alone(cache, query).assign(period=query.period.label)
    return conform_results(_in_order(results, query))


def _protected_alone(cache: _Cache, query: Query) -> pd.DataFrame:
    """The query's rows, protected with its linked indicators but no other query."""
    asked = query
    partners = tuple(i for i in linked_to(query.indicator_ids) if i in MEASURES)
    if partners:  # protected together, so the same cells are hidden whichever is asked for
        query = replace(query, indicator_ids=(*query.indicator_ids, *partners))
    current = _with_change(cache, query)
    results = protect(current, query.threshold)
    return results[results["indicator_id"].isin(asked.indicator_ids)]


def _with_change(cache: _Cache, query: Query) -> pd.DataFrame:
    """The period's rows with, when asked for, the previous period's beside them."""
    measures = [MEASURES[indicator] for indicator in query.indicator_ids]
    current = _period_results(cache, measures, query.period, query)
    if not query.with_change or current.empty:
        return current
    with_data = set(current.loc[current["status"] == "ok", "indicator_id"])
    changing = [m for m in measures if m.statistic != "fact" and m.indicator_id in with_data]
    baseline = query.compare_with or query.period.previous()
    before = _period_results(cache, changing, baseline, query)
    # The previous period's numbers are protected as if published on their own, so a value
    # hidden there cannot reappear here as the previous value or through the change.
    return _add_change(current, protect(before, query.threshold))


def conform_results(frame: pd.DataFrame) -> pd.DataFrame:
    """The results contract: exactly RESULT_COLUMNS, in order, with their types (a slice's
    key spread over one column per dimension)."""
    frame = frame.reset_index(drop=True)
    dimensions = _key_columns(frame)
    columns = {}
    for name, dtype in RESULT_COLUMNS.items():
        if name in dimensions:
            column = pd.Series(dimensions[name], index=frame.index)
        elif name in frame:
            column = frame[name]
        else:
            columns[name] = _missing(dtype, len(frame))
            continue
        columns[name] = column.astype(dtype)
    # Made at once: adding forty columns one by one was a third of a first view's time.
    return pd.DataFrame(columns, index=frame.index)


def _missing(dtype: str, length: int):
    """A column of ``dtype`` with nothing in it (made directly: most of a result's forty
    columns are missing, and converting a column of NA to each type took a tenth of a view's
    time)."""
    if dtype == "string":
        return pd.array(np.full(length, None, dtype=object), dtype="string")
    nothing = np.ones(length, dtype=bool)
    if dtype == "Float64":
        return pd.arrays.FloatingArray(np.zeros(length), nothing)
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.zeros(length, dtype=np.int64), nothing)
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(length, dtype=bool), nothing)
    return pd.Series(pd.NA, index=range(length), dtype=object).astype(dtype).array


def _key_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The value of each dimension on each row, from its slicing's label and key."""
    if "key" not in frame or frame.empty:
        return {}
    columns: dict[str, np.ndarray] = {}
    labels = frame["slice"].to_numpy(dtype=object)
    keys = frame["key"].to_numpy(dtype=object)
    for label in pd.unique(labels):
        if not isinstance(label, str) or label == WHOLE:
            continue
        rows = np.flatnonzero((labels == label) & pd.notna(keys) & (keys != ""))
        dims = label.split("×")
        split = [str(k).split(KEY_SEPARATOR) for k in keys[rows]] if len(dims) > 1 else None
        for position, dim in enumerate(dims):
            column = columns.setdefault(dim, np.full(len(frame), None, dtype=object))
            column[rows] = keys[rows] if split is None else [v[position] for v in split]
    return columns


def _slicings(query: Query) -> list[tuple[str, ...]]:
    """The crossed slicing asked for, then each dimension asked for separately."""
    found = [query.by] if query.by else []
    return found + [(d,) for d in query.separately if (d,) not in found]


# --- one period ----------------------------------------------------------------------------------


# Child dimensions of a store version's periods, kept across evaluations in this process: a
# view read from the joint results needs none, but a query protected alone (a group's children
# by group, an indicator in full) built them each time, a quarter of its time.
DIMENSIONS_KEPT = 12  # periods (a frame has a row per child known that year)
_DIMENSIONS: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_DIMENSIONS_LOCK = threading.Lock()


def _kept_dimensions(cache: _Cache, period: Period) -> pd.DataFrame:
    """``child_dimensions`` of the period, made once per store version (``_store_identity``)
    and process; made every time for a store that may change under its connection. Shared:
    callers only read it. Kept in memory only, never beside the store: it is child-level."""
    store = _store_identity(cache)
    if store is None:
        return child_dimensions(cache.con, period)
    key = (store, period)
    with _DIMENSIONS_LOCK:
        if key in _DIMENSIONS:
            _DIMENSIONS.move_to_end(key)
            return _DIMENSIONS[key]
    frame = child_dimensions(cache.con, period)
    with _DIMENSIONS_LOCK:
        _DIMENSIONS[key] = frame
        while len(_DIMENSIONS) > DIMENSIONS_KEPT:
            _DIMENSIONS.popitem(last=False)
    return frame


def _period_results(cache: _Cache, measures: list[Measure], period: Period, query: Query):
    """Every indicator's rows for one period, before disclosure control."""
    return summarise(*prepare(cache, measures, period, query), _slicings(query))


def prepare(cache: _Cache, measures: list[Measure], period: Period, query: Query):
    """(the batch of every indicator's units, the child dimensions they need or None)."""
    slicings = _slicings(query)
    need_children = bool(slicings) or query.group is not None or bool(query.where)
    members = _members(cache.dimensions(period), query) if need_children else None
    batch = Batch()
    for code, measure in enumerate(measures):
        _prepare(batch, cache, code, measure, period, query, members)
    children = any(item.kind == "child" for item in batch.prepared) and need_children
    return batch, cache.dimensions(period) if children else None


def _members(dims: pd.DataFrame, query: Query) -> pd.Index | None:
    """The children the query is restricted to (by group and ``where``), or None for all."""
    if query.group is None and not query.where:
        return None
    chosen = np.ones(len(dims), dtype=bool)
    if query.group is not None:
        chosen &= dims[query.group].to_numpy(dtype=bool)
    for dimension, value in query.where:
        chosen &= (dims[dimension].astype("string") == str(value)).fillna(False).to_numpy(bool)
    return pd.Index(dims.loc[chosen, "child_id"])


def _prepare(batch: Batch, cache: _Cache, code: int, measure: Measure, period, query, members):
    def status(text: str) -> None:
        batch.status_rows.append(
            {
                "indicator_id": measure.indicator_id,
                "statistic": measure.statistic,
                "slice": WHOLE,
                "status": text,
            }
        )

    units = cache.units(measure, period, query.threshold)
    if units.empty:
        return status("no data")
    kind = unit_kind(units)
    if query.group is not None:
        units = in_group(units, kind, query.group, members)
        if units is None:
            return status("not by group")
        if units.empty:
            return status("no data")
    if query.where:
        if kind != "child":
            return status("not by area")  # anonymous answers and things of no one child
        if query.group is None:
            units = units[units["child_id"].isin(members)]
        if units.empty:
            return status("no data")
    survey = None
    if "survey" in units and units["survey"].notna().any():
        waves = tuple(sorted(units["survey"].dropna().unique().tolist()))
        survey = (surveys.audience_of(units), cache.invited(waves))
        if query.weighted:
            units = units.assign(weight=surveys.weights(units, survey[1]))
    batch.prepared.append(Prepared(code, measure, units, kind, survey))
    return None


def _in_order(results: pd.DataFrame, query: Query, measures: dict | None = None) -> pd.DataFrame:
    """Indicators in the order asked; the whole cohort, then each slicing in the order asked;
    slices by their text; a distribution's categories in the measure's order."""
    if results.empty:
        return results
    position = {indicator: i for i, indicator in enumerate(query.indicator_ids)}
    labels = [WHOLE, *("×".join(s) for s in _slicings(query))]
    slice_position = {label: i for i, label in enumerate(labels)}
    category_position = {
        (m.indicator_id, c): i
        for m in ((measures or MEASURES)[x] for x in query.indicator_ids)
        for i, c in enumerate(m.categories)
    }
    categories = results["category"] if "category" in results else [None] * len(results)
    keys = pd.DataFrame(
        {
            "indicator": results["indicator_id"].map(position).to_numpy(),
            "slice": results["slice"].map(slice_position).to_numpy(),
            "key": results["key"].astype("string").to_numpy() if "key" in results else "",
            "category": [
                category_position.get((i, c), -1)
                for i, c in zip(results["indicator_id"], categories, strict=True)
            ],
        }
    )
    order = keys.sort_values(
        ["indicator", "slice", "key", "category"], na_position="first", kind="stable"
    ).index
    return results.iloc[order]


# --- change from the previous period -------------------------------------------------------------


def _add_change(current: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """The previous period's value beside each row, the change, and whether it is larger than
    chance (two-sided p < 0.05 by the test that suits the statistic)."""
    if before.empty or "value" not in before or "value" not in current:
        return current  # no data in the previous period: no change to state
    keys = ["indicator_id", "slice", "key", "category"]
    carried = [c for c in ("value", "numerator", "denominator", "units", "sd") if c in before]
    current, before = _keyed(current, keys), _keyed(before, keys)
    before = before[before["status"] == "ok"]
    previous = before[[*keys, *carried]].rename(columns={c: f"prev_{c}" for c in carried})
    merged = current.merge(previous, on=keys, how="left")
    merged["previous_value"] = merged["prev_value"]
    merged["change"] = merged["value"] - merged["prev_value"]
    merged["change_p"] = _change_p(merged)
    merged["change_significant"] = pd.array(merged["change_p"] < SIGNIFICANCE, dtype="boolean")
    merged.loc[merged["change_p"].isna(), "change_significant"] = pd.NA
    merged["category"] = merged["category"].replace("", pd.NA)  # only distributions have one
    return merged.drop(columns=[c for c in merged if c.startswith("prev_")])


def _keyed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The frame with every key column present, as text, "" where missing (so that the rows
    of the two periods match on them)."""
    frame = frame.copy()
    for key in keys:
        column = frame[key] if key in frame else pd.Series(pd.NA, index=frame.index)
        frame[key] = column.astype("string").fillna("")
    return frame


def _change_p(rows: pd.DataFrame) -> np.ndarray:
    def column(name: str) -> np.ndarray:
        if name not in rows:
            return np.full(len(rows), np.nan)
        return rows[name].to_numpy(dtype=float, na_value=np.nan)

    def known(*names) -> np.ndarray:
        return np.logical_and.reduce([~np.isnan(column(name)) for name in names])

    statistic = rows["statistic"].to_numpy(dtype=object)
    p = np.full(len(rows), np.nan)
    counted = np.isin(statistic, ("proportion", "distribution")) & known(
        "numerator", "denominator", "prev_numerator", "prev_denominator"
    )
    p[counted] = stats.two_proportion_p_arrays(
        column("numerator"), column("denominator"),
        column("prev_numerator"), column("prev_denominator"),
    )[counted]  # fmt: skip
    means = (statistic == "mean") & known(
        "value", "sd", "units", "prev_value", "prev_sd", "prev_units"
    )
    p[means] = stats.two_mean_p_arrays(
        column("value"), column("sd"), column("units"),
        column("prev_value"), column("prev_sd"), column("prev_units"),
    )[means]  # fmt: skip
    ratios = (statistic == "ratio") & known("numerator", "denominator", "prev_numerator")
    p[ratios] = stats.two_rate_p_arrays(
        column("numerator"), column("denominator"),
        column("prev_numerator"), column("prev_denominator"),
    )[ratios]  # fmt: skip
    return p


__all__ = [
    "DIMENSIONS",
    "PLACE_SLICINGS",
    "RESULT_COLUMNS",
    "UNKNOWN",
    "Query",
    "conform_results",
    "evaluate",
    "evaluate_many",
    "evaluate_measures",
]


# --- protected together: every place filter, and a year with its halves --------------------------
#
# The pages show an indicator for the whole authority and for each place filter (a locality, a
# ward, a decile, a locality or ward within a decile), on maps (small areas, wards, localities)
# and gradients (deciles, local quintiles), for a year and for its halves. Protected one query
# at a time, a count hidden under one filter would be the difference of counts shown under
# others (the disclosure audit's leaks L1 and L3). So for each linked set of indicators
# (``suppression.linked_component``), year and group, every place slicing of the year and of
# each half is made and protected in one ``protect`` call (``_joints``): the slices of each place
# slicing add up to the whole, a crossing's cells to its margins, the slices of a finer slicing
# inside each slice of a coarser one to it (``Nesting``: a small area in its ward, a ward in its
# locality…), and, where the year's units are exactly its halves' units, each half and its
# year's same slice to the year's (the dimension ``half``). A query asking for one filter, one
# period or one place slicing reads its rows from that protected result (``_served``), so every
# view hides the same cells. The result is kept per evaluation and, for a read-only store file,
# across evaluations (``_SHARED``, keyed on the file's path, size and modification time).

PLACE_SLICINGS = (
    ("lsoa",),
    ("ward",),
    ("locality",),
    ("imd_decile",),
    ("idaci_decile",),
    ("imd_local_quintile",),
    ("idaci_local_quintile",),
    ("locality", "imd_decile"),
    ("ward", "imd_decile"),
)
PLACE_DIMENSIONS = tuple(dict.fromkeys(d for s in PLACE_SLICINGS for d in s))
HALF = "half"  # a half of the year whose counts add up, with the other half's, to the year's
PART = "period"  # a half whose counts do not (a unit counted in both halves): not a sum
SHARED_ROWS_KEPT = 4_000_000  # rows of protected results kept across evaluations (~800 MB)
_SHARED: OrderedDict[tuple, _Joint] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_shared_rows = 0  # rows in _SHARED
_BUNDLED: dict = {}  # bundle path -> the linked sets it holds (read once per process)


@dataclass
class _Joint:
    """Protected rows of some indicators for a year and its halves, every place slicing
    (column ``period``: the period's label), with how their units are kept apart.

    A linked set read from a bundle keeps only where its rows are in the bundle's frame
    (``_span``) until a view asks for them: a bundle holds some 130 sets, a view needs a few,
    and slicing them all was 40% of a first view's time."""

    _rows: pd.DataFrame | None
    kinds: dict[tuple[str, str], str]  # (indicator, period label) -> unit kind
    parents: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, str]]
    _index: dict | None = field(default=None, repr=False, compare=False)
    _span: tuple[pd.DataFrame, int, int] | None = field(default=None, repr=False, compare=False)
    _columns: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows(self) -> pd.DataFrame:
        if self._rows is None:
            # Two threads may both slice; they make equal frames and either is kept.
            whole, start, stop = self._span
            self._rows = whole.iloc[start:stop].reset_index(drop=True)
        return self._rows

    def row_count(self) -> int:
        """How many rows, without slicing them out of a bundle."""
        if self._rows is None:
            _, start, stop = self._span
            return stop - start
        return len(self._rows)

    def positions(self, period: str, indicator: str, slice_label: str) -> np.ndarray:
        """Where one indicator's rows of one slicing in one period are in ``rows``. Views ask
        for many such parts, so the positions are indexed once (filtering the whole frame for
        each part was most of a view's time), and the rows are taken only when the view has
        gathered all it needs (``_assembled``)."""
        if self._index is None:
            self._index = _positions_by_part(self.rows)
        return self._index.get((period, indicator, slice_label), _NONE)

    def at(self, period: str, indicator: str, place: tuple[str, ...], key: str) -> np.ndarray:
        """Where one indicator's row(s) for one place are (a slice of the place slicing
        ``place``)."""
        found = self.positions(period, indicator, "×".join(place))
        return found[self.column("key")[found] == key]

    def source(self) -> tuple[pd.DataFrame, int]:
        """The frame the rows are in (a bundle's whole frame, when read from one), and where
        they start in it: views take the rows of many linked sets of a bundle at once."""
        if self._span is not None:
            whole, start, _ = self._span
            return whole, start
        return self.rows, 0

    def column(self, name: str) -> np.ndarray:
        """A column as plain objects (missing: None), to test rows without making frames."""
        if name not in self._columns:
            self._columns[name] = self.rows[name].to_numpy(dtype=object, na_value=None)
        return self._columns[name]


_NONE = np.zeros(0, dtype=np.intp)


def _positions_by_part(rows: pd.DataFrame) -> dict[tuple, np.ndarray]:
    """(period, indicator, slice) -> the positions of its rows, in order. A plain loop: a
    linked set holds some hundreds of rows, and pandas' groupby took 15 times as long."""
    found: dict[tuple, list[int]] = {}
    columns = (rows[name].to_numpy(dtype=object) for name in ("period", "indicator_id", "slice"))
    for position, key in enumerate(zip(*columns, strict=True)):
        found.setdefault(key, []).append(position)
    return {key: np.array(where, dtype=np.intp) for key, where in found.items()}


@dataclass(frozen=True)
class _Plan:
    place: tuple[str, ...] | None  # the place slicing of ``where`` (None: the whole authority)
    key: str  # its slice's key
    values: dict[str, str]  # where's values by dimension
    slicings: tuple[tuple[str, ...], ...]
    groups_alone: bool  # slices by group within one group: protected with the query alone


def _plan(query: Query) -> _Plan | None:
    """How a query is read from the jointly protected results, or None when it cannot be
    (another restriction or slicing than the places and groups the pages use)."""
    if query.weighted:
        return None
    dims = tuple(d for d, _ in query.where)
    values = {d: str(v) for d, v in query.where}
    place = None
    if dims:
        found = [s for s in PLACE_SLICINGS if set(s) == set(dims) and len(s) == len(dims)]
        if not found:
            return None
        place = found[0]
    slicings = tuple(_slicings(query))
    for slicing in slicings:
        if slicing != ("group",) and not set(slicing) <= set(PLACE_DIMENSIONS):
            return None
    key = KEY_SEPARATOR.join(values[d] for d in place) if place else ""
    groups_alone = ("group",) in slicings and query.group is not None
    return _Plan(place, key, values, slicings, groups_alone)


def _served(cache: _Cache, measures: list[Measure], query: Query) -> pd.DataFrame | None:
    """The query's results read from the jointly protected results (see above), or None."""
    plan = _plan(query)
    if plan is None:
        return None
    by_id = {m.indicator_id: m for m in measures}
    current = _select(cache, measures, query, query.period, plan)
    if current is None:
        return None
    if query.with_change and not current.empty:
        ok = current[current["status"] == "ok"]
        changing = tuple(
            i for i in query.indicator_ids
            if by_id[i].statistic != "fact" and i in set(ok["indicator_id"])
        )  # fmt: skip
        if changing:
            baseline = query.compare_with or query.period.previous()
            before = _select(
                cache, measures, replace(query, indicator_ids=changing), baseline, plan
            )
            if before is not None:
                current = _hide_change(_add_change(current, before))
    if plan.groups_alone:
        alone = _protected_alone(cache, query)
        current = pd.concat([current, alone[alone["slice"] == "group"]], ignore_index=True)
    results = current.assign(period=query.period.label)
    return conform_results(_in_order(results, query, by_id))


def _hide_change(frame: pd.DataFrame) -> pd.DataFrame:
    """No previous value or change on a hidden row (as ``protect`` hides them)."""
    hidden = frame["suppressed"].fillna(False).to_numpy(dtype=bool)
    for column in ("previous_value", "change", "change_p"):
        if column in frame:
            frame[column] = frame[column].astype(float).where(~hidden)
    if "change_significant" in frame:
        frame["change_significant"] = frame["change_significant"].astype("boolean").where(~hidden)
    return frame


def _status_row(indicator: str, statistic: str, label: str, status: str) -> dict:
    return {
        "indicator_id": indicator, "statistic": statistic, "slice": label, "key": "",
        "status": status, "suppressed": False,
    }  # fmt: skip


@dataclass(frozen=True)
class _Piece:
    """Some rows of a protected result, as a view shows them: where they are in the result
    and, when they stand for another slice (a place's row as the whole, a crossing's cells as
    one slicing), that slice's label and key(s). A view gathers its pieces and takes the rows
    of each result at once: taking rows piece by piece was most of a first view's time."""

    joint: _Joint
    positions: np.ndarray
    slice_label: str | None = None
    keys: object = None  # a key for every row, or one for all of them


def _select(cache, measures, query: Query, period: Period, plan: _Plan) -> pd.DataFrame | None:
    """The rows of ``query``'s indicators for ``period`` at its place, and its slicings."""
    joints = _joints(cache, measures, Period(period.end_year), query.group, query.threshold)
    by_id = {m.indicator_id: m for m in measures}
    label = period.label
    pieces: list[_Piece | pd.DataFrame] = []
    for indicator in query.indicator_ids:
        joint = joints[indicator]
        whole = joint.positions(label, indicator, WHOLE)
        statistic = by_id[indicator].statistic
        if not len(whole):
            pieces.append(pd.DataFrame([_status_row(indicator, statistic, WHOLE, "no data")]))
            continue
        if (joint.column("status")[whole] != "ok").all():
            pieces.append(_Piece(joint, whole))
            continue
        if plan.place is None:
            pieces.append(_Piece(joint, whole))
        elif joint.kinds.get((indicator, label)) != "child":
            pieces.append(pd.DataFrame([_status_row(indicator, statistic, WHOLE, "not by area")]))
            continue
        else:
            here = joint.at(label, indicator, plan.place, plan.key)
            if not len(here):
                pieces.append(pd.DataFrame([_status_row(indicator, statistic, WHOLE, "no data")]))
                continue
            pieces.append(_Piece(joint, here, WHOLE, ""))
        for slicing in plan.slicings:
            if slicing == ("group",):
                if not plan.groups_alone:
                    pieces += _by_group(cache, measures, query, period, plan, indicator)
                continue
            within = _within(joint, label, indicator, plan, slicing)
            if within is None:
                return None
            pieces += within
    return _assembled(pieces)


def _assembled(pieces: list[_Piece | pd.DataFrame]) -> pd.DataFrame:
    """The pieces' rows in one frame: each protected result's rows taken at once (rows come
    out grouped by result; ``_in_order`` puts them in the view's order)."""
    frames = [piece for piece in pieces if isinstance(piece, pd.DataFrame)]
    by_source: dict[int, list[_Piece]] = {}
    for piece in pieces:
        if isinstance(piece, _Piece) and len(piece.positions):
            by_source.setdefault(id(piece.joint.source()[0]), []).append(piece)
    for taken in by_source.values():
        source = taken[0].joint.source()[0]
        positions = np.concatenate([p.positions + p.joint.source()[1] for p in taken])
        rows = source.take(positions).reset_index(drop=True)
        if any(piece.slice_label is not None for piece in taken):
            slices = np.concatenate([p.joint.column("slice")[p.positions] for p in taken])
            keys = np.concatenate([p.joint.column("key")[p.positions] for p in taken])
            start = 0
            for piece in taken:
                stop = start + len(piece.positions)
                if piece.slice_label is not None:
                    slices[start:stop], keys[start:stop] = piece.slice_label, piece.keys
                start = stop
            rows["slice"], rows["key"] = slices, keys
        frames.append(rows)
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _within(joint: _Joint, period_label: str, indicator: str, plan: _Plan, slicing):
    """One indicator's rows of a place slicing inside the query's place (as pieces): the
    cells of the place slicing crossing both, or the place itself when it lies inside one
    slice; None when neither."""
    label = "×".join(slicing)
    target = set(slicing) | set(plan.place or ())
    crossing = [s for s in PLACE_SLICINGS if set(s) == target and len(s) == len(target)]
    if crossing:
        cells = joint.positions(period_label, indicator, "×".join(crossing[0]))
        not_ok = cells[joint.column("status")[cells] != "ok"]
        if len(not_ok):
            return [_Piece(joint, not_ok, label, "")]
        position = {d: i for i, d in enumerate(crossing[0])}
        split = [str(key).split(KEY_SEPARATOR) for key in joint.column("key")[cells]]
        chosen = np.array(
            [
                len(parts) == len(position)
                and all(parts[position[d]] == plan.values[d] for d in plan.place or ())
                for parts in split
            ],
            dtype=bool,
        )
        keys = [
            KEY_SEPARATOR.join(parts[position[d]] for d in slicing)
            for parts, kept in zip(split, chosen, strict=True)
            if kept
        ]
        return [_Piece(joint, cells[chosen], label, np.array(keys, dtype=object))]
    parent = joint.parents.get((plan.place, tuple(slicing))) if plan.place else None
    if parent is None or plan.key not in parent:
        return None
    here = joint.at(period_label, indicator, plan.place, plan.key)
    return [_Piece(joint, here, label, parent[plan.key])]


def _by_group(cache, measures, query: Query, period: Period, plan: _Plan, indicator: str):
    """One indicator's rows by group at the query's place (as pieces): each group's own
    protected rows."""
    pieces, not_by_group = [], False
    for group in GROUPS:
        joint = _joints(cache, measures, Period(period.end_year), group, query.threshold)[indicator]
        whole = joint.positions(period.label, indicator, WHOLE)
        status = joint.column("status")[whole]
        if (status == "not by group").any():
            not_by_group = True
            continue
        if not len(whole) or (status != "ok").all():
            continue
        if plan.place is not None:
            whole = joint.at(period.label, indicator, plan.place, plan.key)
        pieces.append(_Piece(joint, whole, "group", group))
    if not pieces and not_by_group:
        statistic = {m.indicator_id: m for m in measures}[indicator].statistic
        return [pd.DataFrame([_status_row(indicator, statistic, "group", "not by group")])]
    return pieces


def _joints(cache: _Cache, measures: list[Measure], year: Period, group, threshold):
    """The jointly protected results of these measures (closed under ``LINKED``) for a year
    and its halves, by indicator id (an indicator's linked set's result): each linked set is
    made once per evaluation and kept across them, in memory and, when worked out ahead
    after a load (precompute.py), on disk."""
    ids = {m.indicator_id for m in measures}
    components: dict[tuple[str, ...], list[Measure]] = {}
    for measure in measures:
        component = tuple(i for i in linked_component([measure.indicator_id]) if i in ids)
        components.setdefault(component, []).append(measure)
    store = _store_identity(cache)
    found, missing = {}, []
    for component, members in components.items():
        key = (component, year.label, group, threshold)
        shared = cache.joint.get(key)
        if shared is None and store is not None:
            shared = _shared_or_bundled(store, key)
        if shared is not None:
            found[component] = cache.joint[key] = shared
            continue
        missing.append((component, members))
    if missing:
        made = _build_joint(cache, [m for _, ms in missing for m in ms], year, group, threshold)
        for component, _ in missing:
            part = _Joint(
                made.rows[made.rows["indicator_id"].isin(component)],
                {k: v for k, v in made.kinds.items() if k[0] in component},
                made.parents,
            )
            key = (component, year.label, group, threshold)
            found[component] = cache.joint[key] = part
            if store is not None:
                _share((store, *key), part)
    return {indicator: found[component] for component in found for indicator in component}


def _share(key: tuple, part: _Joint) -> None:
    """Keep a protected result for other evaluations, the least recently used going first
    once ``SHARED_ROWS_KEPT`` rows are kept (a year's bundle for all children is ~125,000)."""
    global _shared_rows
    with _SHARED_LOCK:
        if key in _SHARED:
            _shared_rows -= _SHARED.pop(key).row_count()
        _SHARED[key] = part
        _shared_rows += part.row_count()
        while _shared_rows > SHARED_ROWS_KEPT and len(_SHARED) > 1:
            _shared_rows -= _SHARED.popitem(last=False)[1].row_count()


def _shared_or_bundled(store: tuple, key: tuple) -> _Joint | None:
    """A linked set's protected result kept in memory, else read from its year and group's
    bundle (all of the bundle's sets are then kept: the next views of that year need them)."""
    with _SHARED_LOCK:
        shared = _SHARED.get((store, *key))
        if shared is not None:
            _SHARED.move_to_end((store, *key))
            return shared
    component, year, group, threshold = key
    path = precompute.bundle_path(store, year, group, threshold)
    known = _BUNDLED.get(path)
    if known is not None and component not in known:
        return None  # the bundle has no such set (a view's own measure): work it out
    joints = _read_bundle(store, path, year, group, threshold)
    return None if joints is None else joints.get(component)


def keep_bundle(store: tuple, year: str, group: str | None, threshold: int) -> int:
    """Read a year and group's bundle into memory unless it is there already (precompute's
    ``read_ahead``); returns how many rows it added (0 when there is no such bundle)."""
    path = precompute.bundle_path(store, year, group, threshold)
    if path in _BUNDLED or not path.exists():
        return 0
    joints = _read_bundle(store, path, year, group, threshold)
    return 0 if joints is None else sum(joint.row_count() for joint in joints.values())


def _read_bundle(store: tuple, path, year: str, group, threshold: int) -> dict | None:
    """The linked sets of a bundle, each then kept in memory, or None when the bundle is not
    there or was made from another store version."""
    contents = precompute.read_bundle(path)
    if contents is None or contents.get("identity") != store:
        return None
    joints = _split_bundle(contents)
    _BUNDLED[path] = frozenset(joints)
    for other, joint in joints.items():
        _share((store, other, year, group, threshold), joint)
    return joints


def _split_bundle(contents: dict) -> dict[tuple[str, ...], _Joint]:
    """A bundle's rows (one frame, each linked set's rows together) back into one protected
    result per linked set, each sliced out only when a view asks for its rows."""
    rows, kinds, parents = contents["rows"], contents["kinds"], contents["parents"]
    kinds_of: dict[str, dict] = {}
    for key, kind in kinds.items():
        kinds_of.setdefault(key[0], {})[key] = kind
    joints = {}
    for component, (start, stop) in contents["spans"].items():
        own = {k: v for indicator in component for k, v in kinds_of.get(indicator, {}).items()}
        joints[component] = _Joint(None, own, parents, _span=(rows, start, stop))
    return joints


def protect_every_indicator(con: duckdb.DuckDBPyConnection, year: Period, group, threshold):
    """Work out (and keep in memory) the jointly protected results of every catalogue
    indicator for a year and a group (precompute.py)."""
    from framework.engine.run import load_measures  # the catalogue's measures, registered

    measures = load_measures()
    cache = _Cache(con)
    try:
        _joints(cache, [measures[i] for i in sorted(measures)], year, group, threshold)
    finally:
        cache.close()


def joint_bundle(store: tuple, year: Period, group, threshold: int) -> dict:
    """Every protected result kept in memory for this store, year, group and threshold, as
    one bundle to save (precompute.py): the rows in one frame, and which linked sets they
    form."""
    with _SHARED_LOCK:
        joints = {
            key[1]: joint
            for key, joint in _SHARED.items()
            if key[0] == store and key[2:] == (year.label, group, threshold)
        }
    frames = [joint.rows for joint in joints.values()]
    ends = np.cumsum([len(frame) for frame in frames], dtype=int)
    starts = ends - [len(frame) for frame in frames]
    return {
        "identity": store,
        "rows": pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
        "spans": {c: (int(a), int(b)) for c, a, b in zip(joints, starts, ends, strict=True)},
        "kinds": {k: v for joint in joints.values() for k, v in joint.kinds.items()},
        "parents": next((joint.parents for joint in joints.values()), {}),
    }


def store_identity(con: duckdb.DuckDBPyConnection):
    """(path, size, modification time) of a store opened read-only from a file, else None."""
    return _store_identity(_Cache(con))


def _store_identity(cache: _Cache):
    """(path, size, modification time) of a store opened read-only from a file, else None (a
    store that may change under this connection is never shared across evaluations)."""
    if cache.identity is False:
        try:
            row = cache.con.execute(
                "SELECT path, readonly FROM duckdb_databases() "
                "WHERE database_name = current_database()"
            ).fetchone()
        except duckdb.Error:
            row = None
        identity = None
        if row and row[0] and row[1] and os.path.exists(row[0]):
            stat = os.stat(row[0])
            identity = (row[0], stat.st_size, stat.st_mtime_ns)
        cache.identity = identity
    return cache.identity


def _build_joint(cache: _Cache, measures: list[Measure], year: Period, group, threshold):
    periods = [year, Period(year.end_year, 1), Period(year.end_year, 2)]
    ids = tuple(m.indicator_id for m in measures)
    adds_up = {m.indicator_id: _adds_up(cache, m, periods, threshold) for m in measures}
    frames, kinds = [], {}
    for number, period in enumerate(periods):
        query = Query(
            ids, period, separately=("lsoa",), group=group, threshold=threshold,
            with_change=False,
        )  # fmt: skip
        batch, dims = prepare(cache, measures, period, query)
        for item in batch.prepared:
            kinds[(item.measure.indicator_id, period.label)] = item.kind
        frame = summarise(batch, dims, list(PLACE_SLICINGS))
        if frame.empty:
            continue
        frame = frame.assign(period=period.label)
        if "key" not in frame:
            frame["key"] = ""
        frame["key"] = frame["key"].astype("string").fillna("")
        frames.append(_as_half(frame, str(number), adds_up) if number else frame)
    parents, direct = _parents(cache, periods)
    if not frames:
        return _Joint(
            pd.DataFrame(columns=["indicator_id", "period", "slice", "key"]), kinds, parents
        )
    nested = tuple(Nesting(fine, coarse, parent) for (fine, coarse), parent in direct.items())
    joint = pd.concat(frames, ignore_index=True)
    rows = protect(joint, threshold, nested=nested, apart=(*APART, PART))
    # Sums one at a time are not enough: hide more until nothing small is recoverable from
    # all the rows together (differencing.py).
    places = pd.concat([cache.dimensions(p)[list(PLACE_DIMENSIONS)] for p in periods])
    rows = close_differencing_gaps(
        joint, rows, threshold, places=places, nested=nested, apart=(*APART, PART),
        half=HALF, part=PART,
    )  # fmt: skip
    return _Joint(_from_half(rows), kinds, parents)


def _adds_up(cache: _Cache, measure: Measure, periods: list[Period], threshold: int) -> bool:
    """Whether the year's units are exactly its two halves' units, each counted alike (a
    referral received in the year is received in one half)."""
    if measure.statistic not in ("proportion", "distribution"):
        return False
    year, first, second = (cache.units(measure, p, threshold) for p in periods)
    halves = pd.concat([first, second], ignore_index=True)
    if len(year) != len(halves) or not year["unit_id"].is_unique:
        return False
    if not halves["unit_id"].is_unique:
        return False
    column = "category" if measure.statistic == "distribution" else "in_numerator"
    if column not in year or column not in halves:
        return False
    mine = pd.Series(year[column].astype("string").fillna("").to_numpy(), index=year["unit_id"])
    theirs = pd.Series(
        halves[column].astype("string").fillna("").to_numpy(), index=halves["unit_id"]
    )
    theirs = theirs.reindex(mine.index)
    return bool(theirs.notna().all() and (theirs == mine).all())


def _as_half(frame: pd.DataFrame, half: str, adds_up: dict[str, bool]) -> pd.DataFrame:
    """A half's rows as slices of the pseudo-dimension ``half`` (``period`` where the
    indicator's halves do not add up to its year), so their sums are found like any other."""
    dim = np.where(frame["indicator_id"].map(adds_up).fillna(False).to_numpy(bool), HALF, PART)
    label = frame["slice"].astype(str).to_numpy(dtype=object)
    key = frame["key"].astype(str).to_numpy(dtype=object)
    whole = label == WHOLE
    return frame.assign(
        slice=np.where(whole, dim, dim + "×" + label.astype(str)),
        key=np.where(whole, half, half + KEY_SEPARATOR + key.astype(str)),
    )


def _from_half(rows: pd.DataFrame) -> pd.DataFrame:
    """The halves' rows back under their own slicing labels and keys."""
    labels = rows["slice"].astype(str).to_numpy(dtype=object)
    keys = rows["key"].astype("string").fillna("").to_numpy(dtype=object)
    slices, found = labels.copy(), keys.copy()
    for position in np.flatnonzero(pd.Series(labels).str.match(f"({HALF}|{PART})($|×)").to_numpy()):
        label, key = labels[position].split("×", 1), keys[position].split(KEY_SEPARATOR, 1)
        slices[position] = label[1] if len(label) > 1 else WHOLE
        found[position] = key[1] if len(key) > 1 else ""
    return rows.assign(slice=slices, key=pd.array(found, dtype="string"))


def _parents(cache: _Cache, periods: list[Period]) -> tuple[dict, dict]:
    """For each place slicing lying inside another (not one of its own margins): each slice's
    key -> the key of the slice it lies in (from the places of every child); all of them (to
    read a place inside another), and only the direct ones (the sums to protect)."""
    dims = pd.concat(
        [cache.dimensions(p)[list(PLACE_DIMENSIONS)] for p in periods], ignore_index=True
    )
    text = dims.astype("string").fillna(UNKNOWN).drop_duplicates()
    keys = {}
    for slicing in PLACE_SLICINGS:
        key = text[slicing[0]]
        for dimension in slicing[1:]:
            key = key.str.cat(text[dimension], sep=KEY_SEPARATOR)
        keys[slicing] = key.to_numpy(dtype=object)
    found = {}
    for fine in PLACE_SLICINGS:
        for coarse in PLACE_SLICINGS:
            if fine == coarse or set(coarse) <= set(fine):
                continue
            pairs = pd.DataFrame({"f": keys[fine], "c": keys[coarse]}).drop_duplicates()
            if len(pairs) and pairs["f"].is_unique:
                found[(fine, coarse)] = dict(zip(pairs["f"], pairs["c"], strict=True))

    def inside(fine, coarse) -> bool:  # a slice of fine lies in one of coarse (or its margin)
        return (fine, coarse) in found or (set(coarse) < set(fine))

    # Slicings that are the same partition (e.g. a ward that is a whole locality) are one
    # class: each member is tied to the class's first both ways. Between classes, only the
    # direct nestings: a small area's sum to its locality follows from its ward's.
    first = {}
    for slicing in PLACE_SLICINGS:
        same = [s for s in first.values() if inside(slicing, s) and inside(s, slicing)]
        first[slicing] = same[0] if same else slicing
    kept = {}
    for (fine, coarse), parent in found.items():
        if first[fine] == first[coarse]:
            if first[fine] in (fine, coarse):
                kept[(fine, coarse)] = parent
            continue
        if fine != first[fine] or coarse != first[coarse]:
            continue
        between = any(
            inside(fine, middle) and inside(middle, coarse)
            for middle in set(first.values())
            if middle not in (fine, coarse)
        )
        if not between:
            kept[(fine, coarse)] = parent
    return found, kept


def evaluate_measures(
    con: duckdb.DuckDBPyConnection,
    measures,
    periods,
    *,
    separately: tuple[str, ...] = (),
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> dict[Period, pd.DataFrame]:
    """The results (``RESULT_COLUMNS``, no change) of measures that are not registered
    indicators (the journeys' flows, the neglect cohort, the overview's demand) for each
    period, protected as ``evaluate`` protects indicators: together with their linked
    indicators and with every place filter, period and half (see above), so they hide the
    same cells as every other view. ``separately``: place dimensions, each on its own."""
    measures = list(measures)
    ids = tuple(m.indicator_id for m in measures)
    partners = [MEASURES[i] for i in linked_component(ids) if i in MEASURES and i not in ids]
    cache = _Cache(con)
    found = {}
    try:
        for period in periods:
            query = Query(
                ids, period, separately=tuple(separately), group=group, where=tuple(where),
                threshold=threshold, with_change=False,
            )  # fmt: skip
            _check(query)
            served = _served(cache, [*measures, *partners], query)
            if served is None:
                raise ValueError(f"cannot protect {ids} by {separately} within {where}")
            found[period] = served
    finally:
        cache.close()
    return found
