"""Timing the engine: the whole catalogue for one period, every single-dimension slice.

The floor is what DuckDB alone takes to scan and aggregate the same unit-level rows (already
computed, with their dimensions joined) into the same slices: the engine cannot be faster than
that, so the ratio says how much the measures, and the Python around them, cost.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from framework.engine.aggregate import DIMENSIONS, Query, _Cache, _slicings, evaluate, prepare
from framework.engine.run import latest_period, select_indicators
from framework.engine.summaries import floor_seconds
from framework.engine.units import MEASURES


def time_engine(store_path: Path) -> dict:
    """Seconds for the whole catalogue with every single-dimension slice, for the latest
    period alone and with the change from the period before, and the DuckDB floor."""
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        indicators = select_indicators(None)
        period = latest_period(con)
        alone = Query(indicators, period, separately=DIMENSIONS, with_change=False)
        started = time.perf_counter()
        results = evaluate(con, alone)
        catalogue_seconds = time.perf_counter() - started
        started = time.perf_counter()
        evaluate(con, Query(indicators, period, separately=DIMENSIONS))
        change_seconds = time.perf_counter() - started
        floor = _floor(con, alone)
    finally:
        con.close()
    return {
        "catalogue_seconds": catalogue_seconds,
        "change_seconds": change_seconds,
        "floor_seconds": floor,
        "indicators": len(indicators),
        "result_rows": len(results),
    }


def _floor(con: duckdb.DuckDBPyConnection, query: Query) -> float:
    """Seconds DuckDB takes to sum the catalogue's unit rows for every slicing."""
    cache = _Cache(con)
    measures = [MEASURES[indicator] for indicator in query.indicator_ids]
    batch, dims = prepare(cache, measures, query.period, query)
    return floor_seconds(batch, dims, _slicings(query))


__all__ = ["time_engine"]
