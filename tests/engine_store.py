"""Tiny stores for worked examples: tables written as readable text, as in a spec.

    store = tiny_store('''
        referrals
        child_id | referral_date | referral_nfa | closure_date | closure_reason
        A        | 2024-05-01    | false        |              |
        B        | 2024-06-01    | true         | 2024-06-01   | RC8
    ''')

Blocks are separated by blank lines; the first line names the table, the second its columns
(any subset of the table's columns; the rest are missing), then one row per line, cells
separated by ``|``. Blank cells are missing. Values are cast by DuckDB to the column's type.
``collection_year`` may be given as a column; otherwise it is the financial year of the first
date column found in the row, or 0. Ids are used as written (no pseudonymisation), so tests can
name children A, B, C.
"""

from __future__ import annotations

import textwrap

import duckdb
import pandas as pd

from framework.store import store
from framework.store.schema import TABLES


def _blocks(text: str) -> list[list[str]]:
    blocks, current = [], []
    for line in textwrap.dedent(text).splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _cells(line: str) -> list[str | None]:
    return [cell.strip() or None for cell in line.split("|")]


def _year_of(row: dict, types: dict[str, str]) -> int:
    for name, typ in types.items():
        if typ == "DATE" and row.get(name):
            day = pd.Timestamp(row[name])
            return day.year + 1 if day.month >= 4 else day.year
    return 0


def add_rows(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """Insert the tables written in ``text`` into an open store."""
    for block in _blocks(text):
        name, header, rows = block[0], _cells(block[1]), [_cells(r) for r in block[2:]]
        table = TABLES[name]
        types = table.types()
        unknown = set(header) - set(types) - {"collection_year"}
        if unknown:
            raise KeyError(f"{name}: no column(s) {sorted(unknown)}")
        for cells in rows:
            if len(cells) != len(header):
                raise ValueError(f"{name}: row {cells} has {len(cells)} cells, not {len(header)}")
            row = dict(zip(header, cells, strict=True))
            year = int(row.pop("collection_year") or 0) if "collection_year" in row else None
            year = _year_of(row, types) if year is None else year
            columns = [*row, "collection_year", "load_id", "row_hash"]
            values = [*row.values(), year, 1, "test"]
            casts = [f"CAST(? AS {types[c]})" for c in row] + ["?", "?", "?"]
            con.execute(
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(casts)})",
                values,
            )


def tiny_store(text: str = "") -> duckdb.DuckDBPyConnection:
    """An in-memory store with every table, holding the rows written in ``text``."""
    con = duckdb.connect(":memory:")
    store.ensure_schema(con)
    if text.strip():
        add_rows(con, text)
    return con


def save_store(con: duckdb.DuckDBPyConnection, path) -> object:
    """Write an in-memory tiny store to a file (for commands and the app), closing it."""
    con.execute(f"ATTACH '{path}' AS saved")
    con.execute("COPY FROM DATABASE memory TO saved")
    con.close()
    return path


# --- reading a measure's unit rows in worked examples ------------------------------------------


def numerator(frame: pd.DataFrame) -> set[str]:
    """Unit ids in the numerator (the contract keeps them inside the denominator)."""
    return set(frame.loc[frame["in_denominator"] & frame["in_numerator"].fillna(False), "unit_id"])


def denominator(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["in_denominator"], "unit_id"])


def categories(frame: pd.DataFrame) -> dict[str, str]:
    """Each cohort unit's category (distributions)."""
    cohort = frame[frame["in_denominator"]]
    return dict(zip(cohort["unit_id"], cohort["category"], strict=True))
