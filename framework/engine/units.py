"""The contract between measures and the aggregator: unit-level rows.

A measure is a small function ``measure(ctx: MeasureContext) -> pd.DataFrame``. It returns one
row per unit (child, referral, S47 enquiry, plan, respondent, complaint, meeting, audit, worker…)
in the period asked for, with the columns below. The aggregator joins child-level rows to the
child dimensions (group, age band, sex, ethnicity, disability, area, deprivation, team) and makes
every number; a measure never computes a rate.

Columns (``UNIT_COLUMNS``):
  unit_id         text, unique in the frame: what one row counts (e.g. child pseudonym, or
                  child + referral date)
  child_id        pseudonymised child id, or missing for units that are not children's
                  (respondents, meetings, workers, complaints without a child)
  in_denominator  boolean: the unit is in the indicator's cohort
  in_numerator    boolean (proportions): the unit meets the indicator; missing otherwise
  value           number (means: a score or a change; ratios: the numerator amount)
  amount          number (ratios: the denominator amount, e.g. FTE); missing otherwise
  category        text (distributions: the one category of this unit); missing otherwise

Optional slice columns a measure may add when its unit carries them itself (``UNIT_SLICES``):
team, provider, service, staff_level, respondent_group, age_band. For child-level units the
aggregator takes group, age band, area and team from the child dimensions instead.

Every statistic (``STATISTICS``) reads different columns:
  proportion    in_numerator / in_denominator            (Wilson interval)
  mean          mean of value over the denominator      (normal interval from the SD)
  ratio         sum(value) / sum(amount)                (e.g. sickness days per FTE)
  distribution  share of each category of the denominator (Wilson interval per category)
  fact          value of the one unit (organisation facts: 1 yes, 0 no)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from framework.engine.periods import Period

UNIT_COLUMNS = {
    "unit_id": "string",
    "child_id": "string",
    "in_denominator": "boolean",
    "in_numerator": "boolean",
    "value": "Float64",
    "amount": "Float64",
    "category": "string",
}
UNIT_SLICES = (
    "team",
    "provider",
    "service",
    "staff_level",
    "respondent_group",
    "age_band",
    "referral_source",
    "survey",  # the survey wave a respondent answered (response rates and weighting)
)
STATISTICS = ("proportion", "mean", "ratio", "distribution", "fact")
NEEDS = {  # the columns each statistic reads, beyond unit_id and in_denominator
    "proportion": ("in_numerator",),
    "mean": ("value",),
    "ratio": ("value", "amount"),
    "distribution": ("category",),
    "fact": ("value",),
}


class UnitContractError(ValueError):
    """A measure returned rows that break the contract: a programming error."""


@dataclass
class MeasureContext:
    """What a measure may use: the store (read only) and the period asked for."""

    con: duckdb.DuckDBPyConnection
    period: Period
    settings: dict = field(default_factory=dict)  # e.g. {"disclosure_threshold": 5}

    shared: dict = field(default_factory=dict)  # work measures of one period share
    # Tables every period's measures share (e.g. every child's plan history), made once per
    # evaluation as temporary tables: name -> table. The aggregator drops them at the end.
    tables: dict = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A frame several measures of this period need (e.g. plan spells), computed once."""
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    def table(self, name: str, select: str) -> str:
        """The name of a temporary table holding ``select`` (a query that does not depend on
        the period), made the first time a measure asks for it in this evaluation."""
        if name not in self.tables:
            table = f"engine_{name}_{uuid.uuid4().hex[:12]}"
            self.con.execute(f"CREATE TEMP TABLE {table} AS {select}")
            self.tables[name] = table
        return self.tables[name]

    def sql(self, query: str, **params) -> pd.DataFrame:
        """Run a query with named parameters ($name); the period's dates are always available
        as $start and $end, and the last 6 months as $h2_start/$h2_end, the 6 months before
        as $h1_start/$h1_end."""
        last = self.period.last_six_months()
        before = last.previous()
        values = {
            "start": self.period.start,
            "end": self.period.end,
            "h2_start": last.start,
            "h2_end": last.end,
            "h1_start": before.start,
            "h1_end": before.end,
            **params,
        }
        used = {k: v for k, v in values.items() if f"${k}" in query}
        return self.con.execute(query, used).df()


@dataclass(frozen=True)
class Measure:
    """A registered measure: the indicator it computes, its statistic and its function."""

    indicator_id: str
    statistic: str
    function: Callable[[MeasureContext], pd.DataFrame]
    categories: tuple[str, ...] = ()  # distributions: every category, in display order

    def units(self, ctx: MeasureContext) -> pd.DataFrame:
        return conform(self.function(ctx), self.statistic, measure=self.indicator_id)


MEASURES: dict[str, Measure] = {}


def measure(indicator_id: str, statistic: str, categories: tuple[str, ...] = ()):
    """Register a function as the measure of an indicator::

    @measure("B1.2", "proportion")
    def b1_2(ctx: MeasureContext) -> pd.DataFrame: ...
    """
    if statistic not in STATISTICS:
        raise UnitContractError(f"{indicator_id}: unknown statistic {statistic!r}")
    if statistic == "distribution" and not categories:
        raise UnitContractError(f"{indicator_id}: a distribution lists its categories")

    def register(function):
        if indicator_id in MEASURES:
            raise UnitContractError(f"{indicator_id} has two measures")
        MEASURES[indicator_id] = Measure(indicator_id, statistic, function, tuple(categories))
        return function

    return register


def empty_units(*extra: str) -> pd.DataFrame:
    """A frame with the contract's columns (and ``extra`` slice columns) and no rows."""
    columns = {name: pd.Series(dtype=dtype) for name, dtype in UNIT_COLUMNS.items()}
    columns |= {name: pd.Series(dtype="string") for name in extra}
    return pd.DataFrame(columns)


def conform(frame: pd.DataFrame, statistic: str, *, measure: str = "measure") -> pd.DataFrame:
    """Check a measure's rows against the contract and return them ready for the aggregator
    (missing optional columns added; booleans and numbers typed). Raises UnitContractError
    naming the problem."""
    if statistic not in STATISTICS:
        raise UnitContractError(f"{measure}: unknown statistic {statistic!r}")
    unknown = set(frame.columns) - set(UNIT_COLUMNS) - set(UNIT_SLICES)
    if unknown:
        raise UnitContractError(f"{measure}: columns not in the unit contract: {sorted(unknown)}")
    for required in ("unit_id", "in_denominator", *NEEDS[statistic]):
        if required not in frame.columns:
            raise UnitContractError(f"{measure}: a {statistic} needs the column {required}")
    # Checked with numpy and built in one go: this runs for every indicator and period, and
    # each pandas column assignment costs more than the check itself.
    columns = {name: frame[name] for name in frame.columns}
    unit_id = frame["unit_id"]
    if unit_id.isna().any() or not unit_id.is_unique:
        raise UnitContractError(f"{measure}: unit_id must be present and unique")
    cohort = frame["in_denominator"]
    if cohort.isna().any():
        raise UnitContractError(f"{measure}: in_denominator must be true or false on every row")
    columns["in_denominator"] = cohort.to_numpy(dtype=bool)
    if statistic == "proportion":
        numerator = frame["in_numerator"].to_numpy(dtype=bool, na_value=False)
        if (numerator & ~columns["in_denominator"]).any():
            raise UnitContractError(f"{measure}: a unit in the numerator is not in the cohort")
        columns["in_numerator"] = numerator
    for name in ("value", "amount"):
        columns[name] = _numbers(frame[name]) if name in frame else np.full(len(frame), np.nan)
    for name in ("child_id", "in_numerator", "category"):
        columns.setdefault(name, np.full(len(frame), None, dtype=object))
    return pd.DataFrame(columns, index=frame.index)


def _numbers(column: pd.Series) -> np.ndarray:
    if column.dtype == float:
        return column.to_numpy()
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


__all__ = [
    "MEASURES",
    "NEEDS",
    "STATISTICS",
    "UNIT_COLUMNS",
    "UNIT_SLICES",
    "Measure",
    "MeasureContext",
    "UnitContractError",
    "conform",
    "empty_units",
    "measure",
]
