"""Outcomes by deprivation and by place: the gradient view and the map view.

Both are built on ``evaluate`` (so every number passes through the one aggregator and its
disclosure control) and add only what the views need around it:

* ``deprivation_view``: an indicator by national IMD or IDACI decile, with the rate per 10,000
  children living in each decile (where the child population by small area is loaded) and the
  slope and relative index of inequality (inequality.py). When small numbers hide some deciles,
  the gradient is made from the authority's local quintiles instead (bigger groups), and says
  so; if those hide numbers too, there is no gradient rather than one worked from hidden cells.
* ``area_view``: an indicator by small area, ward or locality, with each area's outline (from
  the boundaries loaded, dissolved to wards and localities) for a map. An area whose numbers
  are hidden is drawn as hidden: its value is never on the map, in a tooltip or an export.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from framework import geography
from framework.engine import inequality
from framework.engine.aggregate import Query, evaluate
from framework.engine.periods import Period
from framework.engine.run import register_measures
from framework.engine.summaries import UNKNOWN

INDICES = ("imd", "idaci")
LEVELS = {"lsoa": "area_code", "ward": "ward_name", "locality": "locality"}
VIEW_COLUMNS = ["numerator", "denominator", "value", "ci_low", "ci_high", "suppressed"]
IMD_DECILES = tuple(str(decile) for decile in range(1, 11))  # 1: England's most deprived tenth


def area_names(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The localities and wards of the authority's small areas, sorted: the pages' Area
    filter offers these, and the views worked out ahead cover each."""
    rows = con.execute("SELECT DISTINCT locality, ward_name FROM ref_areas").fetchall()
    return {
        "locality": sorted({locality for locality, _ in rows if locality}),
        "ward": sorted({ward for _, ward in rows if ward}),
    }


@dataclass(frozen=True)
class DeprivationView:
    table: pd.DataFrame  # one row per group: group, value…, population, rate and its interval
    gradient: inequality.Gradient
    dimension: str  # the slicing the gradient was made from, e.g. imd_decile
    note: str  # how to read it (e.g. why local quintiles were used)


@dataclass(frozen=True)
class AreaView:
    table: pd.DataFrame  # one row per area: area, value…, suppressed
    geojson: dict | None  # a FeatureCollection with the table's fields; None: no boundaries
    level: str
    centre: tuple[float, float] = (0.0, 0.0)  # longitude, latitude of the areas' middle


def deprivation_view(
    con: duckdb.DuckDBPyConnection,
    indicator_id: str,
    period: Period,
    *,
    index: str = "imd",
    group: str | None = None,
    threshold: int = 5,
) -> DeprivationView:
    """The indicator by national decile of ``index`` (imd or idaci), with its gradient."""
    register_measures()
    if index not in INDICES:
        raise ValueError(f"unknown index {index!r}; choose from {', '.join(INDICES)}")
    deciles, local = f"{index}_decile", f"{index}_local_quintile"
    query = Query(
        (indicator_id,),
        period,
        separately=(deciles, local),
        group=group,
        threshold=threshold,
        with_change=False,
    )
    results = _whole_rows(evaluate(con, query))
    table = _with_rates(con, _by(results, deciles), deciles)  # ref_areas names it the same
    gradient = inequality.gradient_from_results(results, deciles)
    dimension, note = deciles, ""
    if gradient.reason == inequality.HIDDEN_NUMBERS:
        fallback = inequality.gradient_from_results(results, local)
        if not fallback.reason:
            gradient, dimension = fallback, local
            note = (
                "Small numbers hide some deciles, so the gradient is measured across the "
                "authority's own areas in fifths (local quintiles) instead."
            )
    return DeprivationView(table, gradient, dimension, note)


def area_view(
    con: duckdb.DuckDBPyConnection,
    indicator_id: str,
    period: Period,
    *,
    level: str = "ward",
    group: str | None = None,
    threshold: int = 5,
) -> AreaView:
    """The indicator by small area (lsoa), ward or locality, with outlines for a map."""
    register_measures()
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; choose from {', '.join(LEVELS)}")
    query = Query(
        (indicator_id,), period, by=(level,), group=group, threshold=threshold, with_change=False
    )
    table = _by(_whole_rows(evaluate(con, query)), level)
    table = table[table["area"] != UNKNOWN].reset_index(drop=True)
    table = _with_rates(con, table, LEVELS[level])
    if level == "lsoa":  # each small area's national deciles, a layer to compare with
        deciles = con.execute(
            "SELECT area_code AS area, imd_decile, idaci_decile FROM ref_areas"
        ).df()
        table = table.merge(deciles, on="area", how="left")
    geojson, centre = _geojson(con, table, level)
    return AreaView(table, geojson, level, centre)


# --- tables --------------------------------------------------------------------------------------


def _whole_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Rows of computed slices (distributions are left out of these views: one value each)."""
    return results[results["category"].isna() & (results["status"] == "ok")]


def _by(results: pd.DataFrame, dimension: str) -> pd.DataFrame:
    rows = results[results["slice"] == dimension]
    table = rows[[dimension, *VIEW_COLUMNS]].rename(columns={dimension: "area"})
    order = pd.to_numeric(table["area"], errors="coerce")
    return table.assign(_order=order).sort_values(["_order", "area"]).drop(columns="_order")


def _with_rates(con: duckdb.DuckDBPyConnection, table: pd.DataFrame, column: str):
    """Children living in each group of the authority's areas (``column`` of ``ref_areas``:
    a decile, the area itself, its ward or locality) and the numerator per 10,000 of them;
    hidden where the numerator is hidden, missing where no population is loaded."""
    populations = con.execute(
        f"""SELECT CAST({column} AS VARCHAR) AS area, sum(children_0_17) AS population
            FROM ref_areas GROUP BY ALL"""
    ).df()
    table = table.merge(populations, on="area", how="left")
    population = table["population"].to_numpy(dtype=float, na_value=np.nan)
    numerator = table["numerator"].to_numpy(dtype=float, na_value=np.nan)
    known = (population > 0) & ~np.isnan(numerator)
    rate, low, high = (np.full(len(table), np.nan) for _ in range(3))
    if known.any():
        rate[known], low[known], high[known] = inequality.rate_per_10000(
            numerator[known], population[known]
        )
    return table.assign(rate_per_10000=rate, rate_low=low, rate_high=high)


# --- outlines ------------------------------------------------------------------------------------


def _geojson(con: duckdb.DuckDBPyConnection, table: pd.DataFrame, level: str):
    """(the areas' outlines (newest boundary vintage) dissolved to the level, as GeoJSON with
    the table's values as properties, and their centre); (None, (0, 0)) with no boundaries."""
    import geopandas as gpd  # slow to import; only maps need it

    if not geography.has_boundaries(con):
        return None, (0.0, 0.0)
    frame = con.execute(
        f"""SELECT a.{LEVELS[level]} AS area, b.geometry
            FROM ref_boundaries b JOIN ref_areas a ON a.area_code = b.lsoa_code
            WHERE b.lsoa_vintage = (SELECT max(lsoa_vintage) FROM ref_boundaries)"""
    ).df()
    if frame.empty:
        return None, (0.0, 0.0)
    shapes = gpd.GeoDataFrame(
        {"area": frame["area"].astype(str).to_numpy()},
        geometry=gpd.GeoSeries.from_wkb(frame["geometry"].map(bytes).to_numpy(dtype=object)),
        crs="EPSG:4326",
    ).dissolve(by="area", as_index=False)
    merged = shapes.merge(table, on="area", how="left")
    merged["suppressed"] = merged["suppressed"].astype("boolean").fillna(False).astype(bool)
    west, south, east, north = merged.total_bounds
    return json.loads(merged.to_json(na="null", drop_id=True)), (
        (west + east) / 2,
        (south + north) / 2,
    )


__all__ = ["AreaView", "DeprivationView", "area_view", "deprivation_view"]
