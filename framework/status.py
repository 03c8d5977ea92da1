"""What the store holds: per source and year, and the history of loads."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from framework.disclosure import protect_counts
from framework.sources.common import year_label
from framework.store.schema import SOURCES, TABLES


@dataclass
class StoreStatus:
    """What the store holds, with every count from 1 to the threshold suppressed (NA)."""

    by_year: pd.DataFrame  # source, table, one column per collection year, total
    loads: pd.DataFrame  # load history, newest first
    files: pd.DataFrame  # files of every load
    children: int | None  # None when suppressed
    set_aside_by_file: pd.DataFrame  # problems per load and file, by severity
    empty_sources: list[str]  # sources with no rows in any of their tables
    postcode_links: pd.DataFrame = None  # per postcode column: records by match status, total


def _rows_by_year(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    parts = []
    for table in TABLES.values():
        counts = con.execute(
            f"SELECT collection_year, COUNT(*) AS n FROM {table.name} GROUP BY 1"
        ).df()
        counts["table"] = table.name
        counts["source"] = SOURCES.get(table.source, "All returns")
        parts.append(counts)
    long = pd.concat(parts, ignore_index=True)
    long = long[long["n"] > 0]
    if long.empty:
        return pd.DataFrame(columns=["source", "table", "total"])
    long["year"] = long["collection_year"].map(
        lambda y: year_label(y) if pd.notna(y) and y else "undated"
    )
    wide = long.pivot_table(
        index=["source", "table"], columns="year", values="n", aggfunc="sum", fill_value=0
    )
    wide["total"] = wide.sum(axis=1)
    return wide.reset_index()


def _postcode_links(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How the home postcodes of each table linked: records by match status (the reasons a
    postcode found no area: malformed, not in lookup, terminated, outside England…)."""
    parts = []
    for table in TABLES.values():
        for postcode in table.postcodes:
            counts = con.execute(
                f"SELECT {postcode.status_column} AS status, COUNT(*) AS n FROM {table.name} "
                f"WHERE {postcode.status_column} IS NOT NULL GROUP BY 1"
            ).df()
            counts["postcodes"] = f"{table.name}.{postcode.area_column}"
            parts.append(counts)
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if long.empty:
        return pd.DataFrame(columns=["postcodes", "total"])
    wide = long.pivot_table(index="postcodes", columns="status", values="n", fill_value=0)
    wide["total"] = wide.sum(axis=1)
    return wide.reset_index().rename_axis(columns=None)


def store_status(con: duckdb.DuckDBPyConnection, threshold: int) -> StoreStatus:
    loads = con.execute(
        "SELECT load_id, started_at, finished_at, strict, tool_version FROM loads "
        "ORDER BY load_id DESC"
    ).df()
    files = con.execute(
        "SELECT load_id, file_name, source, collection_year, records_read, records_loaded, "
        "records_set_aside, status, notes FROM load_files ORDER BY load_id DESC, file_name"
    ).df()
    files["collection_year"] = files["collection_year"].astype("Int64")  # blank: undated
    problems = con.execute(
        "SELECT load_id, file_name, severity, COUNT(*) AS problems FROM load_problems "
        "GROUP BY ALL ORDER BY load_id DESC, file_name, severity"
    ).df()
    children = int(con.execute("SELECT COUNT(*) FROM children").fetchall()[0][0])
    held = {
        table.source
        for table in TABLES.values()
        if con.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchall()
    }
    by_year = _rows_by_year(con)
    years = [c for c in by_year.columns if c not in ("source", "table", "total")]
    return StoreStatus(
        by_year=protect_counts(by_year, years, "total", threshold),
        loads=loads,
        files=protect_counts(
            files, ["records_loaded", "records_set_aside"], "records_read", threshold
        ),
        children=None if 0 < children <= threshold else children,
        set_aside_by_file=protect_counts(problems, ["problems"], None, threshold),
        empty_sources=[title for source, title in SOURCES.items() if source not in held],
        postcode_links=_protected_links(_postcode_links(con), threshold),
    )


def _protected_links(links: pd.DataFrame, threshold: int) -> pd.DataFrame:
    statuses = [c for c in links.columns if c not in ("postcodes", "total")]
    return protect_counts(links, statuses, "total", threshold) if statuses else links
