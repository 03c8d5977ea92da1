"""The one aggregator: every number of the product comes from here.

``evaluate(con, query)`` runs each indicator's measure for the period (and the period before,
for change), sums the unit rows of every indicator for the whole cohort and every slicing asked
for in one DuckDB pass (summaries.py), and returns one long table (``RESULT_COLUMNS``) of
numerators, denominators, values, 95% intervals and change, with disclosure control
(suppression.py) applied before anything is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd

from framework.engine import statistics as stats
from framework.engine import surveys
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
from framework.engine.suppression import linked_to, protect
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

    def close(self) -> None:
        """Drop the temporary tables the measures made."""
        for table in self.tables.values():
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.tables.clear()

    def dimensions(self, period: Period) -> pd.DataFrame:
        if period not in self.frames:
            self.frames[period] = child_dimensions(self.con, period)
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
    asked = query
    partners = tuple(i for i in linked_to(query.indicator_ids) if i in MEASURES)
    if partners:  # protected together, so the same cells are hidden whichever is asked for
        query = replace(query, indicator_ids=(*query.indicator_ids, *partners))
    current = _with_change(cache, query)
    results = protect(current, query.threshold)
    results = results[results["indicator_id"].isin(asked.indicator_ids)]
    results = results.assign(period=query.period.label)
    return conform_results(_in_order(results, asked))


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
    out = pd.DataFrame(index=frame.index)
    for name, dtype in RESULT_COLUMNS.items():
        if name in dimensions:
            column = pd.Series(dimensions[name], index=frame.index)
        else:
            column = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index)
        out[name] = column.astype(dtype)
    return out


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


def _in_order(results: pd.DataFrame, query: Query) -> pd.DataFrame:
    """Indicators in the order asked; the whole cohort, then each slicing in the order asked;
    slices by their text; a distribution's categories in the measure's order."""
    if results.empty:
        return results
    position = {indicator: i for i, indicator in enumerate(query.indicator_ids)}
    labels = [WHOLE, *("×".join(s) for s in _slicings(query))]
    slice_position = {label: i for i, label in enumerate(labels)}
    category_position = {
        (m.indicator_id, c): i
        for m in (MEASURES[x] for x in query.indicator_ids)
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
    "RESULT_COLUMNS",
    "UNKNOWN",
    "Query",
    "conform_results",
    "evaluate",
    "evaluate_many",
]
