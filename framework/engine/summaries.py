"""Every indicator's unit rows, summed per slice in one DuckDB pass per period.

The measures give unit rows (units.py). This module puts the rows of every indicator asked for
into one table, joins the child dimensions on, and lets DuckDB sum them for the whole cohort and
for every slicing at once (``GROUPING SETS``). From the sums it makes each statistic's value and
95% interval with array arithmetic. Nothing here hides anything: disclosure control
(suppression.py) runs on what this returns.

A unit takes a dimension from its own row when its measure gives that column (e.g. a worker's
team, a respondent's age band), and otherwise from its child's dimensions. Units whose dimension
is not recorded form the slice "unknown"; an indicator none of whose units has the dimension is
reported as "not by <dimension>" instead of one big "unknown" slice. Groups overlap (a child can
be in several), so slicing by group counts a child once in each group it is in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from framework.engine import statistics as stats
from framework.engine import surveys
from framework.engine.dimensions import CHILD_DIMENSIONS, GROUPS
from framework.engine.units import UNIT_SLICES, Measure

UNKNOWN = "unknown"  # the slice of units whose dimension is not recorded
WHOLE = "all"  # the slice label of the whole cohort
# Inside the engine a row's slice is identified by its slicing's label and one text key: the
# values of the slicing's dimensions joined by this separator (a character no value contains).
# The results contract spreads the key over one column per dimension (``key_columns``).
KEY_SEPARATOR = "\x1f"
SUMS = (
    "n_rows",
    "n_true",
    "n_values",
    "value_mean",
    "value_median",
    "value_sd",
    "value_sum",
    "amount_sum",
    "weight_sum",
    "weight_true",
    "weight_squares",
    "last_value",
)
_OWN_OR_CHILD = tuple(d for d in UNIT_SLICES if d in CHILD_DIMENSIONS)  # team, age band


@dataclass
class Prepared:
    """One indicator's units for the period, ready to be summed."""

    code: int  # position in the batch (the indicator's key inside the SQL)
    measure: Measure
    units: pd.DataFrame
    kind: str  # "child" (slices by the child's groups), "respondent", or "other"
    survey: tuple | None = None  # (audience, invitations) for survey respondents


@dataclass
class Batch:
    """The indicators of one evaluation, for one period."""

    prepared: list[Prepared] = field(default_factory=list)
    status_rows: list[dict] = field(default_factory=list)  # "no data", "not by group"


def unit_kind(units: pd.DataFrame) -> str:
    if units["child_id"].notna().any():
        return "child"
    if "respondent_group" in units and units["respondent_group"].notna().any():
        return "respondent"
    return "other"


def in_group(units: pd.DataFrame, kind: str, group: str, members: pd.Index):
    """The units in one group, or None when these units cannot be put in groups."""
    if kind == "child":
        return units[units["child_id"].isin(members)]
    if kind == "respondent":
        return units[units["respondent_group"] == group]
    return None  # units that belong to no child and no respondent group (e.g. meetings)


# --- the sums ---------------------------------------------------------------------------------


def summarise(batch: Batch, dims: pd.DataFrame | None, slicings: list[tuple[str, ...]]):
    """One row per indicator and slice (and category, for distributions) with every statistic
    before disclosure control, plus a status row where an indicator cannot be sliced."""
    if not batch.prepared:
        return pd.DataFrame(batch.status_rows)
    scratch = _scratch(batch, dims, slicings)
    try:
        sums, known = _sums(scratch, batch, slicings)
    finally:
        scratch.close()
    table = _with_response_rates(batch, _statistics(batch, sums))
    table = table.drop(columns=[c for c in (*SUMS, "n_category") if c in table])
    table, missing = _not_sliceable(batch, slicings, known, table)
    return pd.concat([pd.DataFrame(batch.status_rows), table, missing], ignore_index=True)


def _scratch(batch: Batch, dims, slicings) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding every unit with its dimensions (table ``rows``) and, when
    a slicing needs groups, one row per unit and group (table ``exploded``)."""
    scratch = duckdb.connect(":memory:")
    scratch.register("units", _unit_table(batch))
    scratch.register("dims", _dimension_table(dims))
    wanted = sorted({d for slicing in slicings for d in slicing if d != "group"})
    scratch.execute(f"CREATE TABLE rows AS {_rows_sql(wanted)}")
    if any("group" in slicing for slicing in slicings):
        scratch.execute(f"CREATE VIEW exploded AS {_exploded_sql()}")
    return scratch


def floor_seconds(batch: Batch, dims, slicings) -> float:
    """Seconds DuckDB alone takes to scan the unit rows (already computed, with their
    dimensions joined) and sum them for every slicing: the least the engine could take."""
    scratch = _scratch(batch, dims, slicings)
    try:
        started = time.perf_counter()
        _sums(scratch, batch, slicings)
        return time.perf_counter() - started
    finally:
        scratch.close()


def _unit_table(batch: Batch) -> pa.Table:
    """Every indicator's units in one Arrow table, built column by column from each
    indicator's arrays (this runs on millions of rows: Arrow hands text to DuckDB without
    converting it string by string, and no pandas frame is joined)."""
    columns: dict[str, list[pa.Array]] = {}
    present = [d for d in UNIT_SLICES if any(d in item.units for item in batch.prepared)]

    def add(name: str, values) -> None:
        columns.setdefault(name, []).append(values)

    for item in batch.prepared:
        units, n = item.units, len(item.units)
        add("ind", pa.array(np.full(n, item.code, dtype=np.int32)))
        add("row", pa.array(np.arange(n, dtype=np.int64)))
        add("child_id", _text(units["child_id"]))
        add("in_numerator", pa.array(units["in_numerator"].to_numpy(dtype=bool, na_value=False)))
        add("value", _numbers(units["value"]))
        add("amount", _numbers(units["amount"]))
        # Only a distribution's units have a category (the sums are made per category).
        distribution = item.measure.statistic == "distribution"
        add("category", _text(units["category"]) if distribution else pa.nulls(n, pa.string()))
        weight = units["weight"].to_numpy(dtype=float) if "weight" in units else np.ones(n)
        add("weight", pa.array(weight))
        add("kind", pa.array(np.full(n, item.kind, dtype=object), type=pa.string()))
        for dimension in UNIT_SLICES:
            own = dimension in units
            if dimension in present:
                add(dimension, _text(units[dimension]) if own else pa.nulls(n, pa.string()))
            if dimension in _OWN_OR_CHILD:
                add(f"own_{dimension}", pa.array(np.full(n, own, dtype=bool)))
    table = pa.table({name: pa.chunked_array(parts) for name, parts in columns.items()})
    for dimension in UNIT_SLICES:  # columns no indicator has: all missing
        if dimension not in present:
            table = table.append_column(dimension, pa.nulls(len(table), pa.string()))
    return table


def _text(column: pd.Series) -> pa.Array:
    """A text column as an Arrow string array (null where missing)."""
    if isinstance(column.dtype, pd.StringDtype):
        return pa.array(column).cast(pa.string())
    return pa.array(column.astype("string")).cast(pa.string())


def _numbers(column: pd.Series) -> pa.Array:
    return pa.array(column.to_numpy(dtype=float, na_value=np.nan), from_pandas=True)


def _dimension_table(dims: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["child_id", *CHILD_DIMENSIONS, *GROUPS]
    if dims is None:  # no unit is a child's, or no slicing needs the children's dimensions
        text = {c: pd.Series(dtype="string") for c in ["child_id", *CHILD_DIMENSIONS]}
        return pd.DataFrame(text | {g: pd.Series(dtype=bool) for g in GROUPS})
    return dims[columns]


def _quoted(name: str) -> str:
    return f'"{name}"'


def _rows_sql(wanted: list[str]) -> str:
    """Each unit with its groups and the text of each dimension wanted (NULL: not recorded)."""
    columns = []
    for dimension in wanted:
        name = _quoted(dimension)
        own, child = f"CAST(u.{name} AS VARCHAR)", f"CAST(d.{name} AS VARCHAR)"
        if dimension in _OWN_OR_CHILD:
            source = f"CASE WHEN u.own_{dimension} THEN {own} ELSE {child} END"
        else:
            source = child if dimension in CHILD_DIMENSIONS else own
        columns.append(f"{source} AS {name}")
    flags = ", ".join(f"d.{g} AS in_{g}" for g in GROUPS)
    return f"""
        SELECT u.ind, u.row, u.in_numerator, u.value, u.amount, u.category, u.weight, u.kind,
               u.respondent_group AS respondent_group_of_unit, {flags}
               {"".join(", " + c for c in columns)}
        FROM units u LEFT JOIN dims d ON d.child_id = u.child_id"""


def _exploded_sql() -> str:
    """One row per unit and group it is in: a child's groups, or a respondent's group."""
    internal = ", ".join(["respondent_group_of_unit", *(f"in_{g}" for g in GROUPS)])
    children = [
        f"""SELECT * EXCLUDE ({internal}), '{g}' AS "group" FROM rows
            WHERE kind = 'child' AND in_{g}"""
        for g in GROUPS
    ]
    respondents = f"""
        SELECT * EXCLUDE ({internal}),
               COALESCE(respondent_group_of_unit, '{UNKNOWN}') AS "group"
        FROM rows WHERE kind = 'respondent'"""
    return " UNION ALL ".join([*children, respondents])


_AGGREGATES = """
    COUNT(*) AS n_rows,
    SUM(CAST(in_numerator AS INTEGER)) AS n_true,
    COUNT(value) AS n_values,
    AVG(value) AS value_mean,
    MEDIAN(value) AS value_median,
    STDDEV_SAMP(value) AS value_sd,
    SUM(value) AS value_sum,
    SUM(amount) AS amount_sum,
    SUM(weight) AS weight_sum,
    SUM(weight * CAST(in_numerator AS INTEGER)) AS weight_true,
    SUM(weight * weight) AS weight_squares,
    ARG_MAX(value, row) FILTER (WHERE value IS NOT NULL) AS last_value"""


def _sums(scratch, batch: Batch, slicings: list[tuple[str, ...]]):
    """(sums per indicator, slice and category; per source table, units with each dimension
    recorded per indicator)."""
    parts = []
    for slicing in [(), *slicings]:
        source = "exploded" if "group" in slicing else "rows"
        parts.append(_grouping_query(scratch, source, slicing))
    plain = {d for s in slicings if "group" not in s for d in s}
    known = {"rows": _known(scratch, "rows", plain)}
    grouped = {d for s in slicings if "group" in s for d in s}
    if grouped:
        known["exploded"] = _known(scratch, "exploded", grouped)
    sums = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    return sums, known


def slice_key(values: list[str]) -> str:
    """The SQL of a slice's key: its dimensions' values joined (see ``KEY_SEPARATOR``)."""
    coded = [f"COALESCE({_quoted(d)}, '{UNKNOWN}')" for d in values]
    if not coded:
        return "''"  # the whole cohort
    return coded[0] if len(coded) == 1 else f"concat_ws('{KEY_SEPARATOR}', {', '.join(coded)})"


def _grouping_query(scratch, source: str, slicing):
    """Sums for one slicing of ``source``, per category (only distributions have one)."""
    frame = scratch.execute(
        f"""SELECT ind, category, {slice_key(list(slicing))} AS key, {_AGGREGATES}
            FROM {source} GROUP BY ALL"""
    ).df()
    frame["slice"] = "×".join(slicing) if slicing else WHOLE
    return frame


def _known(scratch, source: str, dims: set[str]) -> dict:
    """Per indicator in ``source``: how many units have each dimension recorded."""
    if not dims:
        return {}
    names = sorted(dims)
    counts = ", ".join(f"COUNT({_quoted(d)}) AS {_quoted(d)}" for d in names)
    frame = scratch.execute(f"SELECT ind, {counts} FROM {source} GROUP BY ind").df()
    return frame.set_index("ind").to_dict("index")


# --- statistics from the sums -------------------------------------------------------------------


def _statistics(batch: Batch, sums: pd.DataFrame) -> pd.DataFrame:
    """Numerator, denominator, units, value and interval for every row, by statistic."""
    sums = _with_every_category(batch, sums).reset_index(drop=True)
    codes = sums["ind"].to_numpy()

    def per_indicator(attribute) -> np.ndarray:
        values = np.empty(max(i.code for i in batch.prepared) + 1, dtype=object)
        for item in batch.prepared:
            values[item.code] = attribute(item)
        return values[codes]

    statistic = per_indicator(lambda item: item.measure.statistic)
    out = sums.copy()
    statistics = ("numerator", "denominator", "value", "ci_low", "ci_high", "mean_score", "median")
    for column in (*statistics, "sd"):
        out[column] = np.nan
    out["units"] = out["n_rows"].to_numpy(dtype=float)
    for name, fill in _FILLERS.items():
        mask = statistic == name
        if mask.any():
            fill(out, mask)
    out["indicator_id"] = per_indicator(lambda item: item.measure.indicator_id)
    out["statistic"] = statistic
    out["status"] = "ok"
    # Surveys say whether their figures are weighted; other indicators leave it missing.
    weighted = per_indicator(lambda item: None if item.survey is None else "weight" in item.units)
    out["weighted"] = pd.array(weighted, dtype="boolean")
    return out


def _with_every_category(batch: Batch, sums: pd.DataFrame) -> pd.DataFrame:
    """Distributions: one row per category of each slice, zero where no unit has it; the
    denominator is the slice's units (those with no category too). Other indicators' rows
    have no category and pass through."""
    categories = {
        item.code: list(item.measure.categories)
        for item in batch.prepared
        if item.measure.statistic == "distribution"
    }
    if not categories:
        return sums
    of_distribution = sums["ind"].isin(list(categories)).to_numpy()
    parts = sums[of_distribution]
    keys = ["ind", "slice", "key"]
    slices = parts.groupby(keys, sort=False, as_index=False)["n_rows"].sum()
    grid = slices.assign(category=slices["ind"].map(categories)).explode("category")
    counts = parts.loc[parts["category"].notna(), [*keys, "category", "n_rows"]]
    grid = grid.merge(
        counts.rename(columns={"n_rows": "n_category"}), on=[*keys, "category"], how="left"
    )
    grid["n_category"] = grid["n_category"].fillna(0)
    return pd.concat([sums[~of_distribution], grid], ignore_index=True)


def _fill_proportion(out: pd.DataFrame, mask: np.ndarray) -> None:
    numerator = out.loc[mask, "n_true"].to_numpy(dtype=float, na_value=0.0)
    denominator = out.loc[mask, "n_rows"].to_numpy(dtype=float)
    low, high = stats.wilson_arrays(numerator, denominator)
    share = numerator / denominator
    # Survey respondents weighted to the people invited: the weighted share, with an interval
    # from Kish's effective sample size (weights all 1 give back the unweighted figures).
    total = out.loc[mask, "weight_sum"].to_numpy(dtype=float)
    squares = out.loc[mask, "weight_squares"].to_numpy(dtype=float)
    weighted_share = out.loc[mask, "weight_true"].to_numpy(dtype=float, na_value=0.0) / total
    effective = total * total / squares
    reweighted = ~np.isclose(total, denominator) | ~np.isclose(squares, denominator)
    if reweighted.any():
        w_low, w_high = stats.wilson_arrays(weighted_share * effective, effective)
        share = np.where(reweighted, weighted_share, share)
        low, high = np.where(reweighted, w_low, low), np.where(reweighted, w_high, high)
    out.loc[mask, "numerator"] = numerator
    out.loc[mask, "denominator"] = denominator
    out.loc[mask, "value"] = share
    out.loc[mask, "ci_low"], out.loc[mask, "ci_high"] = low, high
    out.loc[mask, "mean_score"] = out.loc[mask, "value_mean"]
    out.loc[mask, "median"] = out.loc[mask, "value_median"]


def _fill_distribution(out: pd.DataFrame, mask: np.ndarray) -> None:
    numerator = out.loc[mask, "n_category"].to_numpy(dtype=float)
    denominator = out.loc[mask, "n_rows"].to_numpy(dtype=float)
    out.loc[mask, "numerator"] = numerator
    out.loc[mask, "denominator"] = denominator
    out.loc[mask, "value"] = numerator / denominator
    out.loc[mask, "ci_low"], out.loc[mask, "ci_high"] = stats.wilson_arrays(numerator, denominator)


def _fill_mean(out: pd.DataFrame, mask: np.ndarray) -> None:
    mean = out.loc[mask, "value_mean"].to_numpy(dtype=float, na_value=np.nan)
    sd = out.loc[mask, "value_sd"].to_numpy(dtype=float, na_value=np.nan)
    count = out.loc[mask, "n_values"].to_numpy(dtype=float)
    out.loc[mask, "units"] = count  # a mean counts the units with a value
    out.loc[mask, "value"], out.loc[mask, "sd"] = mean, sd
    out.loc[mask, "ci_low"], out.loc[mask, "ci_high"] = stats.mean_interval_arrays(mean, sd, count)


def _fill_ratio(out: pd.DataFrame, mask: np.ndarray) -> None:
    events = out.loc[mask, "value_sum"].to_numpy(dtype=float, na_value=0.0)
    exposure = out.loc[mask, "amount_sum"].to_numpy(dtype=float, na_value=0.0)
    out.loc[mask, "numerator"], out.loc[mask, "denominator"] = events, exposure
    with np.errstate(divide="ignore", invalid="ignore"):
        out.loc[mask, "value"] = np.where(exposure > 0, events / exposure, np.nan)
    out.loc[mask, "ci_low"], out.loc[mask, "ci_high"] = stats.byar_arrays(events, exposure)


def _fill_fact(out: pd.DataFrame, mask: np.ndarray) -> None:
    out.loc[mask, "value"] = out.loc[mask, "last_value"].to_numpy(dtype=float, na_value=np.nan)


_FILLERS = {
    "proportion": _fill_proportion,
    "distribution": _fill_distribution,
    "mean": _fill_mean,
    "ratio": _fill_ratio,
    "fact": _fill_fact,
}


# --- surveys: people invited and response rates -------------------------------------------------


def _with_response_rates(batch: Batch, table: pd.DataFrame) -> pd.DataFrame:
    """Survey rows: people invited in the slice (when the invitations record the slice's
    dimensions) and the response rate, respondents ÷ invited."""
    lookups, cached = [], {}
    slicings = table.loc[table["slice"].notna(), ["ind", "slice"]].drop_duplicates()
    for item in batch.prepared:
        if item.survey is None or item.survey[1].empty:
            continue
        audience, invitations = item.survey
        for label in slicings.loc[slicings["ind"] == item.code, "slice"]:
            key = (id(invitations), audience, label)  # indicators of one survey share these
            if key not in cached:
                cached[key] = _invited(invitations, audience, label)
            if cached[key] is not None:
                lookups.append(cached[key].assign(ind=item.code))
    if not lookups:
        return table.assign(invited=np.nan, response_rate=np.nan)
    invited = pd.concat(lookups, ignore_index=True)
    table = table.merge(invited, on=["ind", "slice", "key"], how="left")
    # A slice the invitations record but with nobody invited in it: 0 invited, no rate.
    looked_up = pd.MultiIndex.from_frame(invited[["ind", "slice"]].drop_duplicates())
    recorded = pd.MultiIndex.from_frame(table[["ind", "slice"]]).isin(looked_up)
    table.loc[recorded & table["invited"].isna().to_numpy(), "invited"] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = table["n_rows"] / table["invited"]  # respondents ÷ invited
    table["response_rate"] = rate.where(table["invited"] > 0)
    return table


def _invited(invitations: pd.DataFrame, audience: str, label: str) -> pd.DataFrame | None:
    """People invited per slice of the slicing ``label``, or None when the invitations do not
    record one of its dimensions."""
    cells = {**surveys.CELLS[audience], "survey": "survey"}
    dims = [] if label == WHOLE else label.split("×")
    if any(d not in cells for d in dims):
        return None
    if not dims:
        total = float(invitations["invited"].sum())
        return pd.DataFrame({"slice": [WHOLE], "key": [""], "invited": [total]})
    values = [invitations[cells[d]].astype("string").fillna(UNKNOWN) for d in dims]
    key = values[0].str.cat(values[1:], sep=KEY_SEPARATOR) if len(values) > 1 else values[0]
    invited = invitations["invited"].astype(float).groupby(key.to_numpy()).sum()
    return pd.DataFrame({"slice": label, "key": invited.index, "invited": invited.to_numpy()})


# --- dimensions an indicator's units do not have ------------------------------------------------


def _not_sliceable(batch: Batch, slicings, known: dict, table: pd.DataFrame):
    """(``table`` without the rows of slicings an indicator's units cannot be cut by, a status
    row for each of those)."""
    rows, drop = [], []
    for slicing in slicings:
        counts = known.get("exploded" if "group" in slicing else "rows")
        label = "×".join(slicing)
        for item in batch.prepared:
            missing = _missing_dimension(item.code, slicing, counts)
            if missing is None:
                continue
            rows.append(
                {
                    "ind": item.code,
                    "indicator_id": item.measure.indicator_id,
                    "statistic": item.measure.statistic,
                    "slice": label,
                    "status": f"not by {missing}",
                }
            )
            drop.append((item.code, label))
    if drop:
        keyed = pd.MultiIndex.from_frame(table[["ind", "slice"]])
        table = table[~keyed.isin(drop)]
    return table, pd.DataFrame(rows)


def _missing_dimension(code: int, slicing, counts: dict | None) -> str | None:
    """The first dimension of the slicing none of the indicator's units has (groups first:
    units in no group, or not children's or respondents', cannot be cut by group)."""
    if counts is None or code not in counts:
        return "group" if "group" in slicing else slicing[0]
    recorded = counts[code]
    for dimension in sorted(slicing, key=lambda d: d != "group"):
        if recorded[dimension] == 0:
            return dimension
    return None


__all__ = [
    "KEY_SEPARATOR",
    "UNKNOWN",
    "WHOLE",
    "Batch",
    "Prepared",
    "in_group",
    "slice_key",
    "summarise",
    "unit_kind",
]
