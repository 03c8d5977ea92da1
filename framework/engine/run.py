"""Running the engine: load every measure module, choose the period, write the results table.

This is what ``python -m framework report`` and the app call; neither computes anything itself.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import duckdb
import pandas as pd

from framework.engine import measures as measures_package
from framework.engine.aggregate import DIMENSIONS, Query, evaluate
from framework.engine.catalogue import catalogue, check_functions
from framework.engine.periods import Period
from framework.engine.units import MEASURES

FORMATS = ("csv", "table", "json")


class EngineError(RuntimeError):
    """The catalogue and the measures disagree: a programming error, refused at start."""


def register_measures() -> dict:
    """Import every measure module: each registers its measures as it is imported."""
    for module in pkgutil.iter_modules(measures_package.__path__):
        importlib.import_module(f"{measures_package.__name__}.{module.name}")
    return MEASURES


def load_measures() -> dict:
    """Register every measure, then check the catalogue against them: every indicator has its
    registered function with the same statistic, and every measure is catalogued. Raises
    EngineError listing every disagreement."""
    register_measures()
    problems = check_functions(catalogue())
    if problems:
        raise EngineError("the catalogue and the measures disagree:\n" + "\n".join(problems))
    return MEASURES


def indicator_order(indicator_id: str) -> tuple:
    """A1.2 before A1.10 before B1.1; suffixed parts (A8.1a) after their stem."""
    domain, _, rest = indicator_id.partition(".")
    number = "".join(ch for ch in rest if ch.isdigit())
    suffix = rest[len(number) :]
    return (domain[0], int(domain[1:] or 0), int(number or 0), suffix)


def latest_period(con: duckdb.DuckDBPyConnection) -> Period:
    """The latest financial year any return or local file in the store covers."""
    rows = con.execute(
        "SELECT MAX(collection_year) FROM load_files WHERE collection_year > 0"
    ).fetchall()
    year = rows[0][0] if rows and rows[0][0] else None
    if year is None:
        raise ValueError("the store holds no dated returns: load some, or give --period")
    return Period(int(year))


def parse_by(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {', '.join(DIMENSIONS)}")
    return names


def select_indicators(requested: str | None) -> tuple[str, ...]:
    load_measures()
    if not requested:
        return catalogue().ids
    wanted = [i.strip() for i in requested.split(",") if i.strip()]
    unknown = [i for i in wanted if i not in MEASURES]
    if unknown:
        raise ValueError(f"unknown indicator(s) {unknown}")
    return tuple(wanted)


def report(
    con: duckdb.DuckDBPyConnection,
    *,
    period: str | None = None,
    indicators: str | None = None,
    group: str | None = None,
    by: str | None = None,
    threshold: int = 5,
) -> pd.DataFrame:
    chosen = Period.parse(period) if period else latest_period(con)
    query = Query(
        indicator_ids=select_indicators(indicators),
        period=chosen,
        by=parse_by(by),
        group=group,
        threshold=threshold,
    )
    return evaluate(con, query)


def write(frame: pd.DataFrame, fmt: str, out: Path | None) -> str | None:
    """The table as CSV, a readable table or JSON records; to ``out`` or returned as text."""
    shown = frame.dropna(axis=1, how="all") if fmt == "table" else frame
    if fmt == "csv":
        text = shown.to_csv(index=False)
    elif fmt == "json":
        text = json.dumps(json.loads(shown.to_json(orient="records")), indent=1)
    else:
        text = shown.to_string(index=False, na_rep="")
    if out is None:
        return text
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return None


__all__ = [
    "FORMATS",
    "EngineError",
    "indicator_order",
    "latest_period",
    "load_measures",
    "report",
    "write",
]
