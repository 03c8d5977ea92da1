"""The overview: the framework's mechanism at a glance, for a leaders' meeting.

Four boxes read left to right (seed 002, figure 3): conditions and culture → reaching families
→ valued and involved → child outcomes. Each box shows its headline indicators (listed in
``overview.toml``) with the latest value and interval, a trend of up to five periods for a
sparkline, and the change read against the indicator's polarity. Beside the boxes, a context
strip the framework does not score but every reading needs (seed 002, 4.5): demand, deprivation
and spend.

Every value comes from the one aggregator (``evaluate``), small numbers already hidden; the
demand counts too (``evaluate_measures``: protected with every place filter, period and half,
like every indicator), and their rates come from the engine's rate function
(``inequality.rate_per_10000``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from framework.engine import inequality
from framework.engine.aggregate import Query, evaluate_many, evaluate_measures
from framework.engine.catalogue import catalogue
from framework.engine.dimensions import GROUP_SQL
from framework.engine.measures import services as service_measures
from framework.engine.periods import Period
from framework.engine.run import register_measures
from framework.engine.units import Measure, MeasureContext, empty_units
from framework.engine.views import CHANGE, NUMBERS, direction

OVERVIEW_PATH = Path(__file__).with_name("overview.toml")
DEMAND_GROUPS = ("cin", "cp", "cla")  # the context strip's measures of demand
DEMAND_LABELS = {"cin": "Children in need", "cp": "On a CP plan", "cla": "Looked after"}
# A restriction on children (Query.where) that also applies to the child population, as the
# column of ref_areas that holds it.
POPULATION_COLUMN = {
    "lsoa": "area_code",
    "ward": "ward_name",
    "locality": "locality",
    "imd_decile": "imd_decile",
    "idaci_decile": "idaci_decile",
}


@dataclass(frozen=True)
class Box:
    domain: str
    title: str
    plain: str
    headlines: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    boxes: tuple[Box, ...]
    headlines: pd.DataFrame  # one row per headline indicator: numbers, change, direction
    trends: pd.DataFrame  # indicator_id, period, value, ci_low, ci_high, status (oldest first)
    context: pd.DataFrame  # measure, value, unit, detail: demand, deprivation, spend


@cache
def boxes(path: Path = OVERVIEW_PATH) -> tuple[Box, ...]:
    """The four boxes of the mechanism figure, checked against the catalogue."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))["box"]
    found = tuple(Box(b["domain"], b["title"], b["plain"], tuple(b["headlines"])) for b in raw)
    problems = [
        f"{box.domain}: {i} is not an indicator of domain {box.domain}"
        for box in found
        for i in box.headlines
        if i not in catalogue() or catalogue()[i].domain != box.domain
    ]
    if [b.domain for b in found] != ["A", "B", "C", "D"] or problems:
        raise ValueError(f"{path}: boxes must be A, B, C, D in order; " + "; ".join(problems))
    return found


def overview(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
    years: int = 5,
) -> Overview:
    register_measures()
    found = boxes()
    ids = tuple(i for box in found for i in box.headlines)
    periods = period.up_to(years)
    # One shared evaluation: the latest period with its change, then each period's values for
    # the sparklines (the last two reuse the units the change needed).
    queries = [Query(ids, period, group=group, where=where, threshold=threshold)]
    queries += [
        Query(ids, each, group=group, where=where, threshold=threshold, with_change=False)
        for each in periods
    ]
    results, *by_period = evaluate_many(con, queries)
    whole = results[(results["slice"] == "all") & results["category"].isna()]
    headlines = whole[["indicator_id", "statistic", *NUMBERS, *CHANGE, "status"]].copy()
    records = [catalogue()[i] for i in headlines["indicator_id"]]
    headlines["label"] = [r.label for r in records]
    headlines["domain"] = [r.domain for r in records]
    headlines["polarity"] = [r.polarity for r in records]
    headlines["direction"] = [
        direction(c, s, r.polarity)
        for c, s, r in zip(
            headlines["change"], headlines["change_significant"], records, strict=True
        )
    ]
    return Overview(
        boxes=found,
        headlines=headlines.reset_index(drop=True),
        trends=_trends(by_period),
        context=context(con, period, group=group, where=where, threshold=threshold),
    )


def _trends(by_period: list[pd.DataFrame]) -> pd.DataFrame:
    columns = ["indicator_id", "period", "value", "ci_low", "ci_high", "suppressed", "status"]
    frames = [r[(r["slice"] == "all") & r["category"].isna()][columns] for r in by_period]
    return pd.concat(frames, ignore_index=True)


# --- the context strip ---------------------------------------------------------------------------


def context(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> pd.DataFrame:
    """Demand (children in need, on a plan, looked after: counts and per 10,000 children),
    deprivation (children living in England's most deprived fifth of areas) and spend (the
    year's outturn and per child). Rows: measure, value, unit, detail. The group filter does
    not apply: context is about all the authority's children (or those of the area chosen)."""
    population = child_population(con, where)
    rows = [*_demand(con, period, where, population, threshold)]
    rows.append(_deprivation(con, where))
    rows.append(_spend(con, period, population, where))
    return pd.DataFrame(rows, columns=["measure", "value", "unit", "detail"])


def _population_filter(where) -> tuple[str, list]:
    clauses, values = [], []
    for dimension, value in where:
        column = POPULATION_COLUMN.get(dimension)
        if column is None:
            return "FALSE", []  # a population by sex or age is not held per area here
        clauses.append(f"CAST({column} AS VARCHAR) = ?")
        values.append(str(value))
    return (" AND ".join(clauses) or "TRUE"), values


def child_population(con, where) -> float | None:
    """Children aged 0-17 living in the authority's areas (``ref_areas``), or None."""
    condition, values = _population_filter(where)
    total = con.execute(
        f"SELECT sum(children_0_17) FROM ref_areas WHERE {condition}", values
    ).fetchone()[0]
    return float(total) if total else None


def _group_children(group: str):
    """A measure of the children in a group at any time in the period (its denominator)."""

    def units(ctx: MeasureContext) -> pd.DataFrame:
        query = GROUP_SQL[group]
        frame = ctx.sql(
            f"""SELECT child_id AS unit_id, child_id, TRUE AS in_denominator,
                       FALSE AS in_numerator
                FROM ({query}) WHERE child_id IS NOT NULL ORDER BY child_id""",
            **({"year": ctx.period.end_year} if "$year" in query else {}),
        )
        return frame if len(frame) else empty_units()

    return Measure(f"context.{group}", "proportion", units)


# Children in need are the neglect cohort's denominator (the same measure, so the same cells
# are hidden on the overview and the neglect page); the others count the group's children.
DEMAND_MEASURES = {
    "cin": service_measures.SERVICE_MEASURES["NS.neglect_group"],
    "cp": _group_children("cp"),
    "cla": _group_children("cla"),
}


def _demand(con, period, where, population, threshold) -> list[tuple]:
    """The demand counts, made and protected by the aggregator with every place filter,
    period and half (``aggregate.evaluate_measures``): a count hidden under one filter cannot
    be worked out from the counts shown under others."""
    measures = [DEMAND_MEASURES[g] for g in DEMAND_GROUPS]
    results = evaluate_measures(con, measures, [period], where=tuple(where), threshold=threshold)
    whole = results[period]
    whole = whole[whole["slice"] == "all"].set_index("indicator_id")
    rows = []
    for group in DEMAND_GROUPS:
        indicator = DEMAND_MEASURES[group].indicator_id
        count = whole["denominator"].get(indicator, pd.NA) if indicator in whole.index else 0
        if indicator in whole.index and whole.loc[indicator, "status"] != "ok":
            count = 0  # no child in the group here
        label = DEMAND_LABELS[group]
        if pd.isna(count):
            rows.append((label, np.nan, "children", "hidden: a count from 1 to the threshold"))
            continue
        detail = f"at any time in {period.label}; no child population loaded"
        if population:
            rate, low, high = (a[0] for a in inequality.rate_per_10000([count], [population]))
            detail = (
                f"{rate:,.0f} per 10,000 children aged 0-17 ({low:,.0f} to {high:,.0f}), at any "
                f"time in {period.label}"
            )
        rows.append((label, float(count), "children", detail))
    return rows


def _deprivation(con, where) -> tuple:
    condition, values = _population_filter(where)
    shares = con.execute(
        f"""SELECT sum(children_0_17) FILTER (WHERE imd_decile <= 2),
                   sum(children_0_17) FILTER (WHERE imd_decile IS NOT NULL)
            FROM ref_areas WHERE {condition}""",
        values,
    ).fetchone()
    label = "In England's poorest fifth"
    if not shares[1]:
        return (label, np.nan, "share", "no small areas with deprivation deciles loaded")
    detail = "children aged 0-17 living in IMD deciles 1 and 2 (England's most deprived fifth)"
    in_poorest = shares[0] or 0  # none of the areas chosen is in deciles 1-2: a share of 0
    return (label, in_poorest / shares[1], "share", detail)


def _spend(con, period, population, where) -> tuple:
    year = Period(period.end_year)  # spend is held per financial year, not per half
    label = f"Spend {year.label}"
    if where:
        return (label, np.nan, "pounds", "spend is not held by area")
    total = con.execute(
        "SELECT sum(spend_gbp) FROM finance WHERE year = ? AND basis = 'outturn'",
        [period.end_year],
    ).fetchone()[0]
    if total is None:
        return (label, np.nan, "pounds", "no outturn loaded for this year")
    per_child = (
        f"children's services outturn: £{total / population:,.0f} per child aged 0-17"
        if population
        else ""
    )
    return (label, float(total), "pounds", per_child or "no child population loaded")


__all__ = ["Box", "Overview", "boxes", "context", "overview"]
