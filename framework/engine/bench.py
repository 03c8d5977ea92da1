"""Timing the engine: the whole catalogue for one period, every single-dimension slice.

The floor is what DuckDB alone takes to scan and aggregate the same unit-level rows (already
computed, with their dimensions joined) into the same slices: the engine cannot be faster than
that, so the ratio says how much the measures and the Python around them cost.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pandas as pd

from framework.engine.aggregate import DIMENSIONS, Query, _Cache, _with_child_dimensions, evaluate
from framework.engine.run import latest_period, select_indicators
from framework.engine.units import MEASURES


def time_engine(store_path: Path) -> dict:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        indicators = select_indicators(None)
        period = latest_period(con)
        query = Query(indicators, period, separately=DIMENSIONS)
        started = time.perf_counter()
        results = evaluate(con, query)
        catalogue_seconds = time.perf_counter() - started
        floor_seconds = _floor(con, query)
    finally:
        con.close()
    return {
        "catalogue_seconds": catalogue_seconds,
        "floor_seconds": floor_seconds,
        "indicators": len(indicators),
        "result_rows": len(results),
    }


def _floor(con: duckdb.DuckDBPyConnection, query: Query) -> float:
    """Seconds DuckDB takes to group the catalogue's unit rows by every dimension."""
    cache = _Cache(con)
    frames = []
    for indicator in query.indicator_ids:
        units = cache.units(MEASURES[indicator], query.period, query.threshold)
        units = _with_child_dimensions(cache, units, query.period, query)
        keep = [c for c in ("in_numerator", "value", *DIMENSIONS) if c in units]
        frames.append(units[keep].assign(indicator_id=indicator))
    rows = pd.concat(frames, ignore_index=True)
    present = [d for d in DIMENSIONS if d in rows]
    for dimension in present:
        rows[dimension] = rows[dimension].astype("string")
    rows["in_numerator"] = rows.get("in_numerator", pd.Series(dtype="boolean")).fillna(False)
    scratch = duckdb.connect(":memory:")
    scratch.register("units", rows)
    scratch.execute("CREATE TABLE u AS SELECT * FROM units").fetchall()
    sets = ", ".join(f"(indicator_id, {d})" for d in present)
    started = time.perf_counter()
    scratch.execute(
        f"""SELECT indicator_id, {", ".join(present)}, COUNT(*),
                   SUM(CAST(in_numerator AS INTEGER)), AVG(value)
            FROM u GROUP BY GROUPING SETS ((indicator_id), {sets})"""
    ).fetchall()
    return time.perf_counter() - started


__all__ = ["time_engine"]
