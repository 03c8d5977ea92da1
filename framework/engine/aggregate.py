"""The one aggregator: every number of the product comes from here.

``evaluate(con, query)`` runs each indicator's measure for the period (and the period before,
for change), joins child-level units to the child dimensions, slices by the dimensions asked
for, and returns one long table (``RESULT_COLUMNS``) of numerators, denominators, values,
95% intervals and change — with disclosure control applied before anything is returned.

Disclosure control (spec §11): a count from 1 to the threshold is never shown, nor any value
built on it. For a proportion or a category share that means: when the numerator, the
denominator, or the complement (denominator − numerator) is from 1 to the threshold, the
numerator, value and interval are hidden (and the denominator too when it is the small one).
Secondary suppression then hides one more slice of the same dimension (the next smallest) when
exactly one slice was hidden while their total is shown, so a hidden count cannot be worked back
by subtracting the others from the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from framework.engine import statistics as stats
from framework.engine import surveys
from framework.engine.dimensions import CHILD_DIMENSIONS, GROUPS, child_dimensions
from framework.engine.periods import Period
from framework.engine.units import MEASURES, UNIT_SLICES, MeasureContext

SIGNIFICANCE = 0.05
UNKNOWN = "unknown"  # the slice of units whose dimension is not recorded
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
    "mean_score": "Float64",  # proportions of survey items: the mean score alongside
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
    threshold: int = 5
    with_change: bool = True
    weighted: bool = False  # surveys: weight respondents to the invited profile


@dataclass
class _Cache:
    """Child dimensions per period, built once per evaluation; measures run through it."""

    con: duckdb.DuckDBPyConnection
    frames: dict[Period, pd.DataFrame] = field(default_factory=dict)
    contexts: dict[Period, MeasureContext] = field(default_factory=dict)

    def dimensions(self, period: Period) -> pd.DataFrame:
        if period not in self.frames:
            self.frames[period] = child_dimensions(self.con, period)
        return self.frames[period]

    def context(self, period: Period, threshold: int) -> MeasureContext:
        """One context per period, so measures of a period can share work (see units.py)."""
        if period not in self.contexts:
            self.contexts[period] = MeasureContext(
                self.con, period, {"disclosure_threshold": threshold}
            )
        return self.contexts[period]

    def units(self, measure, period: Period, threshold: int) -> pd.DataFrame:
        """The measure's cohort units in the period."""
        units = measure.units(self.context(period, threshold))
        return units[units["in_denominator"]]


def evaluate(con: duckdb.DuckDBPyConnection, query: Query) -> pd.DataFrame:
    """The results table for every indicator asked for (see the module docstring)."""
    unknown = [d for d in (*query.by, *query.separately) if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {', '.join(DIMENSIONS)}")
    if query.group is not None and query.group not in GROUPS:
        raise ValueError(f"unknown group {query.group!r}; choose from {', '.join(GROUPS)}")
    cache = _Cache(con)
    parts = [_indicator(cache, indicator, query) for indicator in query.indicator_ids]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return conform_results(frame)


def conform_results(frame: pd.DataFrame) -> pd.DataFrame:
    """The results contract: exactly RESULT_COLUMNS, in order, with their types."""
    out = pd.DataFrame(index=frame.index)
    for name, dtype in RESULT_COLUMNS.items():
        column = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index)
        out[name] = column.astype(dtype)
    return out


# --- one indicator ---------------------------------------------------------------------------


def _indicator(cache: _Cache, indicator_id: str, query: Query) -> pd.DataFrame:
    measure = MEASURES[indicator_id]
    current = _sliced_summary(cache, measure, query.period, query)
    if query.with_change and not current.empty and measure.statistic != "fact":
        before = _sliced_summary(cache, measure, query.period.previous(), query)
        # The previous period's numbers are protected as if published on their own, so a
        # value hidden there cannot reappear here as the previous value or through the change.
        before = _protect(before, measure.statistic, query)
        current = _add_change(current, before, measure.statistic)
    current["indicator_id"] = indicator_id
    current["period"] = query.period.label
    current["statistic"] = measure.statistic
    return _protect(current, measure.statistic, query)


def _sliced_summary(cache: _Cache, measure, period: Period, query: Query) -> pd.DataFrame:
    units = cache.units(measure, period, query.threshold)
    if units.empty:
        return pd.DataFrame({"slice": ["all"], "status": ["no data"]})
    units = _with_child_dimensions(cache, units, period, query)
    if query.group:
        units = _in_group(units, query.group)
        if units is None:
            return pd.DataFrame({"slice": ["all"], "status": ["not by group"]})
        if units.empty:
            return pd.DataFrame({"slice": ["all"], "status": ["no data"]})
    survey = _survey_context(cache.con, units, query)
    if survey is not None and query.weighted:
        units = units.assign(weight=surveys.weights(units, survey[1]))
    rows = [_summarise(units, measure, [], "all", survey)]
    for slicing in _slicings(query):
        label = "×".join(slicing)
        sliced, missing = _slice_columns(units, slicing)
        if missing:
            rows.append(pd.DataFrame({"slice": [label], "status": [f"not by {missing}"]}))
        else:
            rows.append(_summarise(sliced, measure, list(slicing), label, survey))
    return pd.concat(rows, ignore_index=True)


def _slicings(query: Query) -> list[tuple[str, ...]]:
    """The crossed slicing asked for, then each dimension asked for separately."""
    found = [query.by] if query.by else []
    return found + [(d,) for d in query.separately if (d,) not in found]


def _survey_context(con, units: pd.DataFrame, query: Query):
    """(audience, invitations) for survey respondents; None for other units."""
    if "survey" not in units or units["survey"].isna().all():
        return None
    waves = sorted(units["survey"].dropna().unique().tolist())
    return surveys.audience_of(units), surveys.invitations(con, waves)


def _with_child_dimensions(cache: _Cache, units: pd.DataFrame, period: Period, query: Query):
    """Child-level units with the child's dimensions and group flags joined on."""
    if not units["child_id"].notna().any():
        return units
    wanted = {d for slicing in _slicings(query) for d in slicing}
    if not (wanted - set(units.columns)) and not query.group:
        return units
    dims = cache.dimensions(period)
    units = units.merge(dims, on="child_id", how="left", suffixes=("", "_child"))
    for group in GROUPS:
        units[group] = units[group].fillna(False).astype(bool)
    return units


def _in_group(units: pd.DataFrame, group: str) -> pd.DataFrame | None:
    if group in units:
        return units[units[group]]
    if "respondent_group" in units and units["respondent_group"].notna().any():
        return units[units["respondent_group"] == group]
    return None  # units that belong to no child and no respondent group (e.g. meetings)


def _slice_columns(units: pd.DataFrame, slicing: tuple[str, ...]):
    """Units with a text column per dimension of the slicing (unknown where not recorded),
    or the name of a dimension these units cannot be sliced by."""
    if "group" in slicing:
        if "cin" in units:
            units = _explode_groups(units)
        elif "respondent_group" in units and units["respondent_group"].notna().any():
            units = units.assign(group=units["respondent_group"])
        else:
            return units, "group"
    units = units.copy()
    for dimension in slicing:
        if dimension not in units.columns or units[dimension].isna().all():
            return units, dimension
        units[dimension] = units[dimension].astype("string").fillna(UNKNOWN)
    return units, None


def _explode_groups(units: pd.DataFrame) -> pd.DataFrame:
    """One row per unit and group it is in (a child may be in several groups)."""
    pieces = [units[units[g]].assign(group=g) for g in GROUPS if g in units and units[g].any()]
    if not pieces:
        return units.assign(group=pd.Series(dtype="string"))
    return pd.concat(pieces, ignore_index=True)


def _summarise(units: pd.DataFrame, measure, by: list[str], label: str, survey) -> pd.DataFrame:
    if survey is None and measure.statistic in ("proportion", "distribution"):
        return _summarise_counts(units, measure, by, label)
    keys = by or None
    grouped = units.groupby(by, dropna=False, observed=True) if keys else [((), units)]
    rows = []
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        where = dict(zip(by, key, strict=True))
        base = {"slice": label, "status": "ok", **where}
        if survey is not None:
            base |= _response(part, survey, where)
        rows.extend({**base, **row} for row in _statistic(part, measure))
    return pd.DataFrame(rows)


def _summarise_counts(units: pd.DataFrame, measure, by: list[str], label: str) -> pd.DataFrame:
    """Proportions and distributions for every slice at once (the common case, vectorised).
    Gives the same rows as the general path (_statistic per slice)."""
    if not by:
        return _whole_counts(units, measure, label)
    keys = by
    if measure.statistic == "proportion":
        table = units.groupby(keys, dropna=False, observed=True).agg(
            units=("unit_id", "size"),
            numerator=("in_numerator", "sum"),
            mean_score=("value", "mean"),
        )
    else:
        sizes = units.groupby(keys, dropna=False, observed=True).size().rename("units")
        counts = (
            units.groupby([*keys, "category"], dropna=False, observed=True)
            .size()
            .unstack("category")
            .reindex(columns=list(measure.categories), fill_value=0)
            .fillna(0)
        )
        table = counts.stack().rename("numerator").reset_index("category").join(sizes)
    table = table.reset_index()
    table["numerator"] = table["numerator"].astype(float)
    table["denominator"] = table["units"].astype(float)
    table["value"] = table["numerator"] / table["denominator"]
    table["ci_low"], table["ci_high"] = stats.wilson_arrays(
        table["numerator"].to_numpy(), table["denominator"].to_numpy()
    )
    table["slice"], table["status"] = label, "ok"
    return table


def _whole_counts(units: pd.DataFrame, measure, label: str) -> pd.DataFrame:
    """The whole cohort's row(s), without grouping (most results are of the whole)."""
    n_units = len(units)
    if measure.statistic == "proportion":
        numerators = np.array([float(units["in_numerator"].sum())])
        scores = units["value"].dropna()
        extra = {"mean_score": [scores.mean() if len(scores) else np.nan]}
        categories = None
    else:
        counts = units["category"].value_counts()
        numerators = np.array([float(counts.get(c, 0)) for c in measure.categories])
        categories = list(measure.categories)
        extra = {}
    denominators = np.full(len(numerators), float(n_units))
    low, high = stats.wilson_arrays(numerators, denominators)
    table = pd.DataFrame(
        {
            "numerator": numerators,
            "denominator": denominators,
            "units": n_units,
            "value": numerators / n_units,
            "ci_low": low,
            "ci_high": high,
            "slice": label,
            "status": "ok",
            **extra,
        }
    )
    if categories is not None:
        table["category"] = categories
    return table


def _response(part: pd.DataFrame, survey, where: dict) -> dict:
    audience, invited = survey
    people = surveys.invited_in_slice(invited, audience, where)
    people = np.nan if people is None else people
    rate = len(part) / people if people else np.nan
    return {"invited": people, "response_rate": rate, "weighted": "weight" in part}


def _proportion(part: pd.DataFrame, numerator: float, n_units: int) -> tuple[float, ...]:
    """The share and its Wilson interval; weighted (surveys) with Kish's effective size."""
    if "weight" not in part:
        return (numerator / n_units, *stats.wilson(numerator, n_units))
    weight = part["weight"].astype(float)
    share = float((weight * part["in_numerator"].fillna(False)).sum() / weight.sum())
    effective = float(weight.sum() ** 2 / (weight**2).sum())
    return (share, *stats.wilson(share * effective, effective))


def _statistic(part: pd.DataFrame, measure) -> list[dict]:
    n_units = len(part)
    if measure.statistic == "proportion":
        numerator = float(part["in_numerator"].fillna(False).sum())
        value, low, high = _proportion(part, numerator, n_units)
        scores = part["value"].dropna()
        return [
            {
                "numerator": numerator,
                "denominator": float(n_units),
                "units": n_units,
                "value": value,
                "ci_low": low,
                "ci_high": high,
                "mean_score": scores.mean() if len(scores) else np.nan,
            }
        ]
    if measure.statistic == "distribution":
        counts = part["category"].value_counts()
        rows = []
        for category in measure.categories:
            numerator = float(counts.get(category, 0))
            low, high = stats.wilson(numerator, n_units)
            rows.append(
                {
                    "category": category,
                    "numerator": numerator,
                    "denominator": float(n_units),
                    "units": n_units,
                    "value": numerator / n_units,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
        return rows
    values = part["value"].dropna().astype(float)
    if measure.statistic == "mean":
        mean, sd = values.mean(), values.std(ddof=1)
        low, high = stats.mean_interval(mean, sd, len(values))
        return [{"units": len(values), "value": mean, "ci_low": low, "ci_high": high, "sd": sd}]
    if measure.statistic == "ratio":
        events, exposure = values.sum(), part["amount"].astype(float).sum()
        low, high = stats.byar(events, exposure)
        value = events / exposure if exposure > 0 else math.nan
        return [
            {
                "numerator": events,
                "denominator": exposure,
                "units": n_units,
                "value": value,
                "ci_low": low,
                "ci_high": high,
            }
        ]
    return [{"units": n_units, "value": values.iloc[-1] if len(values) else np.nan}]  # fact


# --- change from the previous period -------------------------------------------------------------


def _add_change(current: pd.DataFrame, before: pd.DataFrame, statistic: str) -> pd.DataFrame:
    """The previous period's value beside each row, the change, and whether it is larger than
    chance (two-sided p < 0.05 by the test that suits the statistic)."""
    if before.empty or "value" not in before or "value" not in current:
        return current  # no data in one of the two periods: no change to state
    keys = [c for c in ("slice", *DIMENSIONS, "category") if c in current and c in before]
    carried = [c for c in ("value", "numerator", "denominator", "units", "sd") if c in before]
    previous = before[[*keys, *carried]].rename(columns={c: f"prev_{c}" for c in carried})
    merged = current.merge(previous, on=keys, how="left")
    merged["previous_value"] = merged["prev_value"]
    merged["change"] = merged["value"] - merged["prev_value"]
    merged["change_p"] = [_change_p(row, statistic) for row in merged.to_dict("records")]
    merged["change_significant"] = (merged["change_p"] < SIGNIFICANCE).where(
        merged["change_p"].notna()
    )
    return merged.drop(columns=[c for c in merged if c.startswith("prev_")])


def _present(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("value", "numerator", "denominator", "units") if c in frame]


def _change_p(row: dict, statistic: str) -> float:
    def known(*names) -> bool:
        return all(pd.notna(row.get(name)) for name in names)

    if statistic in ("proportion", "distribution"):
        if not known("numerator", "denominator", "prev_numerator", "prev_denominator"):
            return math.nan
        return stats.two_proportion_p(
            row["numerator"], row["denominator"], row["prev_numerator"], row["prev_denominator"]
        )
    if statistic == "mean":
        if not known("value", "sd", "units", "prev_value", "prev_sd", "prev_units"):
            return math.nan
        return stats.two_mean_p(
            row["value"], row["sd"], int(row["units"]),
            row["prev_value"], row["prev_sd"], int(row["prev_units"]),
        )  # fmt: skip
    if statistic == "ratio" and known("numerator", "denominator", "prev_numerator"):
        return stats.two_rate_p(
            row["numerator"], row["denominator"], row["prev_numerator"], row["prev_denominator"]
        )
    return math.nan


# --- disclosure control --------------------------------------------------------------------------


def _small(value, threshold: int) -> bool:
    return pd.notna(value) and 0 < value <= threshold


def _small_count(row, statistic: str, threshold: int) -> bool:
    """A count the value would reveal: the numerator, or (for shares) those not in it."""
    if statistic in ("proportion", "distribution"):
        rest = row["denominator"] - row["numerator"]
        return _small(row["numerator"], threshold) or _small(rest, threshold)
    return statistic == "ratio" and _small(row.get("numerator"), threshold)


def _protect(frame: pd.DataFrame, statistic: str, query: Query) -> pd.DataFrame:
    frame = frame.copy()
    frame["suppressed"] = False
    if "status" not in frame:
        frame["status"] = "ok"
    threshold = query.threshold
    if statistic == "fact":
        return frame  # a fact about the organisation (e.g. a values statement) names nobody
    if "units" not in frame:
        return frame  # only status rows (no data, not by a dimension): nothing to protect
    counted = statistic in ("proportion", "distribution")
    sliced = (frame["slice"] != "all").any() or statistic == "distribution"
    original = frame.copy() if counted and sliced else None  # for secondary suppression
    ok = (frame["status"] == "ok").to_numpy()

    def small(column: str) -> np.ndarray:
        if column not in frame:
            return np.zeros(len(frame), dtype=bool)
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        return (values > 0) & (values <= threshold)

    everything = ok & (small("units") | (small("denominator") if counted else False))
    if counted:
        rest = frame["denominator"].to_numpy(dtype=float, na_value=np.nan) - frame[
            "numerator"
        ].to_numpy(dtype=float, na_value=np.nan)
        revealing = small("numerator") | ((rest > 0) & (rest <= threshold))
    elif statistic == "ratio":
        revealing = small("numerator")
    else:
        revealing = np.zeros(len(frame), dtype=bool)
    _hide_rows(frame, everything, everything=True)
    _hide_rows(frame, ok & ~everything & revealing)
    if "invited" in frame:
        invited = frame["invited"].to_numpy(dtype=float, na_value=np.nan)
        gap = invited - frame["units"].to_numpy(dtype=float, na_value=np.nan)
        frame.loc[ok & (gap > 0) & (gap <= threshold), "response_rate"] = np.nan  # non-respondents
    if original is not None:
        _secondary(frame, original)
    return frame


def _hide_rows(frame: pd.DataFrame, mask: np.ndarray, *, everything: bool = False) -> None:
    if not mask.any():
        return
    columns = [*HIDDEN_ALWAYS, "numerator", "change_p"]
    if everything:
        columns += ["denominator", "units", "invited"]
    present = [c for c in columns if c in frame]
    frame[present] = frame[present].astype(float)
    frame.loc[mask, present] = np.nan
    if "change_significant" in frame:
        frame["change_significant"] = frame["change_significant"].astype("boolean")
        frame.loc[mask, "change_significant"] = pd.NA
    frame.loc[mask, "suppressed"] = True


HIDDEN_ALWAYS = (
    "value",
    "ci_low",
    "ci_high",
    "mean_score",
    "previous_value",
    "change",
    "response_rate",
)


def _hide(frame: pd.DataFrame, index, *, everything: bool = False) -> None:
    columns = [*HIDDEN_ALWAYS, "numerator", "change_p"]
    if everything:
        columns += ["denominator", "units", "invited"]
    for column in columns:
        if column in frame:
            frame.at[index, column] = np.nan
    if "change_significant" in frame:
        frame.at[index, "change_significant"] = pd.NA
    frame.at[index, "suppressed"] = True


# --- secondary suppression -------------------------------------------------------------------
#
# Counts that add up to another count form a "sum": the slices of one dimension add up to the
# whole; the cells of a crossed slicing that share one dimension's value add up to that value's
# row; the categories of a distribution add up to its denominator. In any sum, one hidden part
# could be worked back from the total and the other parts. So, repeatedly until nothing changes,
# wherever a sum has exactly one hidden part, one more part is hidden (the smallest shown, a
# non-zero one if any), or the total when no other part can be. Totals are treated as shown
# even when they are not in this result: another query may publish them.


def _secondary(frame: pd.DataFrame, original: pd.DataFrame) -> None:
    ok = frame["status"] == "ok"
    if not (ok & ~frame["slice"].isin(["all", "group"])).any() and "category" not in frame:
        return
    sums = _sums(frame[ok])
    for _ in range(20):  # each pass hides at least one more cell; a handful always suffice
        changed = False
        for parts, total, column in sums:
            changed |= _protect_sum(frame, original, parts, total, column)
        if not changed:
            return


def _key_columns(frame: pd.DataFrame, dims: list[str]) -> list[str]:
    return [*dims, "category"] if "category" in frame else dims


def _sums(rows: pd.DataFrame) -> list[tuple[list, object, str]]:
    """(part row indices, total row index or None, column) for every sum in the result."""
    found = []
    category = rows["category"].fillna("-") if "category" in rows else None
    for label, sliced in rows.groupby("slice"):
        dims = [] if label == "all" else label.split("×")
        if category is not None:  # the categories of one row add up to its denominator
            for _, parts in sliced.groupby([sliced[d] for d in dims] or [sliced["slice"]]):
                found.append((list(parts.index), None, "numerator"))
        if not dims or label == "group":
            continue  # (groups overlap: a child can be in several, so they are not parts)
        for dim in dims:
            rest = [d for d in dims if d != dim]
            keys = [
                *(sliced[d] for d in rest),
                *([category[sliced.index]] if category is not None else []),
            ]
            groups = sliced.groupby(keys) if keys else [((), sliced)]
            for key, parts in groups:
                total = _total_row(rows, rest, key, category)
                for column in ("numerator", "denominator"):
                    found.append((list(parts.index), total, column))
    return found


def _total_row(rows: pd.DataFrame, dims: list[str], key, category) -> object:
    """The row the parts add up to (the whole, or the row of the other dimensions' values)."""
    key = key if isinstance(key, tuple) else (key,)
    label = "×".join(dims) if dims else "all"
    match = rows["slice"] == label
    for dim, value in zip(dims, key, strict=False):
        match &= rows[dim] == value
    if category is not None:
        match &= category == key[-1]
    found = rows.index[match.fillna(False)]
    return found[0] if len(found) else None


def _protect_sum(frame, original, parts: list, total, column: str) -> bool:
    if column not in frame:
        return False
    counts = original.loc[parts, column]
    hidden = [i for i in parts if pd.isna(frame.at[i, column]) and counts[i] > 0]
    if len(hidden) != 1:
        return False
    shown = [i for i in parts if pd.notna(frame.at[i, column])]
    candidates = [i for i in shown if counts[i] > 0] or shown
    everything = column == "denominator"
    if candidates:
        _hide(frame, min(candidates, key=lambda i: counts[i]), everything=everything)
        return True
    if total is not None and pd.notna(frame.at[total, column]):
        _hide(frame, total, everything=everything)
        return True
    return False


__all__ = ["DIMENSIONS", "RESULT_COLUMNS", "Query", "conform_results", "evaluate"]
