"""The store: a DuckDB file holding every loaded return, with history across years.

How history works. Each table has a natural key (e.g. a referral is a child and a referral date)
and a *group*: the unit a newer return replaces as a whole. For a referral's assessments the
group is the referral, so the 2024-25 census's picture of an episode replaces the 2023-24
picture of the same episode. SSDA903 rows are their own group, because a later 903 return
omits episodes that ended in earlier years: they must stay.

Merging a return of year Y into a table:
  1. for each group the return supplies, if no newer year already supplied it, rows that differ
     are replaced and identical rows are left alone (so a re-load changes nothing);
  2. rows a *corrected* return of the same year Y no longer contains are removed;
  3. older returns never overwrite newer ones (loading 2023-24 after 2024-25 only fills gaps).
Children are merged field by field: a newer blank never erases an older value.

Local data (the templates) has no collection year: each row is dated by its own column
(``Table.dated_by``), and a "periods" template's file replaces the periods it holds
(``Table.period_column``: the year, or the term for education) instead of one return year.

Every load runs in one transaction: on any failure the store is exactly as it was.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from framework.store.schema import PROVENANCE, TABLES, Table, ddl

SCHEMA_VERSION = "1"
UNDATED = 0  # collection_year for sources without one (addresses, reference data)

# Per table: the columns that identify a group replaced as a whole by a newer return.
GROUPS: dict[str, tuple[str, ...]] = {
    "child_disabilities": ("child_id",),
    "assessments": ("child_id", "referral_date"),
    "assessment_factors": ("child_id", "referral_date", "assessment_start_date"),
    "cin_plans": ("child_id", "referral_date"),
    "s47_enquiries": ("child_id", "referral_date"),
    "cp_plans": ("child_id", "referral_date"),
    "cp_plan_reviews": ("child_id", "plan_start_date"),
    "pre_proceedings": ("child_id", "referral_date"),
}

META_DDL = [
    "CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS loads (
        load_id INTEGER, started_at TIMESTAMP, finished_at TIMESTAMP, strict BOOLEAN,
        tool_version VARCHAR, summary VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS load_files (
        load_id INTEGER, file_name VARCHAR, sha256 VARCHAR, bytes BIGINT, source VARCHAR,
        kind VARCHAR, collection_year INTEGER, records_read INTEGER, records_loaded INTEGER,
        records_set_aside INTEGER, status VARCHAR, notes VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS load_problems (
        load_id INTEGER, file_name VARCHAR, location VARCHAR, table_name VARCHAR,
        child_id VARCHAR, field VARCHAR, value VARCHAR, expected VARCHAR, severity VARCHAR,
        rule VARCHAR)""",
]


class StoreError(RuntimeError):
    """The store cannot be used as asked (locked, wrong key, newer schema...)."""


def group_of(table: Table) -> tuple[str, ...]:
    return GROUPS.get(table.name, table.key)


# DuckDB lets one process write a file or several read it, never both, and it refuses at once
# rather than waiting. Readers here are short (a page's view) or release the file between steps
# (views worked out ahead), so a load waits for them this long before giving up, and a reader
# waits as long for a load to finish.
LOCK_WAIT_SECONDS = 120.0
LOCK_POLL_SECONDS = 0.25


def connect(
    path: Path, *, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open the store, creating it (and its tables) when writing to a new file. While another
    process holds the file in the other mode, try again for up to ``wait`` seconds."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"No store at {path}: load some returns first (python -m framework load).")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open_when_free(path, read_only, wait)
    if not read_only:
        ensure_schema(con)
    else:
        _stand_in_for_new_tables(con)
    return con


def _open_when_free(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            held = "lock" in str(error).lower()
            if not held or time.monotonic() >= deadline:
                raise StoreError(_not_opened(path, read_only, error, held, wait)) from None
        time.sleep(LOCK_POLL_SECONDS)


def _not_opened(path: Path, read_only: bool, error, held: bool, wait: float) -> str:
    if not held:
        return f"The store {path} could not be opened ({error})."
    if read_only:
        return (
            f"The store {path} is being written by a load, still after {wait:.0f} s; try again "
            "when it has finished."
        )
    return (
        f"The store {path} is open in another process (another load, the app, or its views "
        f"being worked out ahead), still after {wait:.0f} s; try again shortly."
    )


def _stand_in_for_new_tables(con: duckdb.DuckDBPyConnection) -> None:
    """A store made before a table was added to the schema lacks it until its next load
    (which adds it). Read-only, the table is stood in for by an empty temporary one (kept in
    memory, never written), so readers find it and see "nothing loaded" rather than fail."""
    present = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    for table in TABLES.values():
        if table.name not in present:
            con.execute(ddl(table).replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE", 1))


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in META_DDL:
        run(con, statement)
    for table in TABLES.values():
        run(con, ddl(table))
    version = meta(con, "schema_version")
    if version is None:
        set_meta(con, "schema_version", SCHEMA_VERSION)
        set_meta(con, "created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    elif version != SCHEMA_VERSION:
        raise StoreError(
            f"This store was made with schema version {version}; this program uses "
            f"{SCHEMA_VERSION}. Build a new store by loading the returns again."
        )


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    """Execute and fetch everything: DuckDB will not start other work on an unread result."""
    return con.execute(sql, params or []).fetchall()


def meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("SELECT value FROM store_meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    run(con, "DELETE FROM store_meta WHERE key = ?", [key])
    run(con, "INSERT INTO store_meta VALUES (?, ?)", [key, value])


def check_key(con: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    """Refuse a load made with a different pseudonymisation key than the store's."""
    known = meta(con, "key_fingerprint")
    if known is None:
        set_meta(con, "key_fingerprint", fingerprint)
    elif known != fingerprint:
        raise StoreError(
            "The pseudonymisation key differs from the one this store was built with, so "
            "children would not link to their earlier records. Use the original key (see "
            "README, 'Pseudonymisation key'), or start a new store."
        )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """All or nothing: commit if the block finishes, roll back on any exception."""
    run(con, "BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        run(con, "ROLLBACK")
        raise
    else:
        run(con, "COMMIT")


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT COALESCE(MAX(load_id), 0) + 1 FROM loads").fetchall()[0][0])


def _hash_expression(columns: list[str]) -> str:
    # md5 of the values, so identical content gives an identical hash in every DuckDB version.
    parts = ", ".join(f"COALESCE(CAST({c} AS VARCHAR), '\u2400')" for c in columns)
    return f"md5(concat_ws('\u241f', {parts}))"


def stage(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pd.DataFrame,
    *,
    collection_year: int | None,
    load_id: int,
) -> str:
    """Copy a DataFrame of stored columns into a typed temporary table with provenance."""
    name = f"stage_{table.name}"
    con.register("incoming", frame)
    casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in table.columns)
    year = (
        _row_year(table)
        if table.dated_by
        else (UNDATED if collection_year is None else int(collection_year))
    )
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {name} AS "
        f"SELECT *, {year} AS collection_year, {load_id} AS load_id, "
        f"{_hash_expression(table.column_names)} AS row_hash "
        f"FROM (SELECT DISTINCT {casts} FROM incoming)",
    )
    con.unregister("incoming")
    return name


def _row_year(table: Table) -> str:
    """SQL for a local row's collection year: the financial year its dating column falls in."""
    column = table.dated_by
    if table.types()[column] == "DATE":
        return f"CASE WHEN month({column}) >= 4 THEN year({column}) + 1 ELSE year({column}) END"
    return column  # already an end year (financial or academic)


def _match(columns: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in columns)


def merge_rows(con: duckdb.DuckDBPyConnection, table: Table, staged: str) -> dict:
    """Merge a staged return into a table, group by group (see the module docstring)."""
    group = group_of(table)
    target = table.name
    group_cols = ", ".join(group)
    # Groups this return may replace: those no newer return has supplied. Local data has no
    # return year (its rows are dated by their own column): the latest file loaded wins, so a
    # correction may move a row into an earlier year.
    newer_exists = (
        "FALSE"
        if table.dated_by
        else f"""EXISTS (SELECT 1 FROM {target} t WHERE {_match(group, "t", "s")}
                     AND t.collection_year > s.collection_year)"""
    )
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE replace_groups AS
        SELECT DISTINCT {group_cols} FROM {staged} s WHERE NOT {newer_exists}""",
    )
    same_row = f"{_match(table.key, 't', 's')} AND t.row_hash = s.row_hash"
    same_row += " AND t.collection_year = s.collection_year"
    removed = con.execute(
        f"""DELETE FROM {target} t
        WHERE EXISTS (SELECT 1 FROM replace_groups g WHERE {_match(group, "t", "g")})
          AND NOT EXISTS (SELECT 1 FROM {staged} s WHERE {same_row})"""
    ).fetchall()[0][0]
    if table.per_year:
        # A corrected return of the same year replaces the earlier one: drop vanished groups.
        # (A local file replaces every period it holds: years, or terms for education.)
        period = table.period_column
        removed += con.execute(
            f"""DELETE FROM {target} t
            WHERE t.{period} IN (SELECT DISTINCT {period} FROM {staged})
            AND NOT EXISTS (SELECT 1 FROM {staged} s WHERE {_match(group, "t", "s")})"""
        ).fetchall()[0][0]
    added = con.execute(
        f"""INSERT INTO {target}
        SELECT s.* FROM {staged} s
        WHERE EXISTS (SELECT 1 FROM replace_groups g WHERE {_match(group, "s", "g")})
          AND NOT EXISTS (SELECT 1 FROM {target} t WHERE {_match(table.key, "t", "s")})"""
    ).fetchall()[0][0]
    return {"added": int(added), "removed": int(removed)}


def merge_children(con: duckdb.DuckDBPyConnection, table: Table, staged: str, year: int) -> dict:
    """Merge child characteristics field by field: the newer return wins, blanks never erase."""
    data = [c for c in table.column_names if c != "child_id"]
    newer = "s.collection_year >= t.collection_year"
    fields = ", ".join(
        f"CASE WHEN {newer} THEN COALESCE(s.{c}, t.{c}) ELSE COALESCE(t.{c}, s.{c}) END AS {c}"
        for c in data
    )
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE merged_children AS
        SELECT *, {_hash_expression(table.column_names)} AS row_hash FROM (
            SELECT s.child_id, {fields},
                   GREATEST(s.collection_year, t.collection_year) AS collection_year,
                   s.load_id AS load_id, t.row_hash AS old_hash,
                   t.collection_year AS old_year
            FROM {staged} s JOIN {table.name} t USING (child_id))""",
    )
    # A child changes only if a field or the latest year supplying them changed.
    changed = "(row_hash <> old_hash OR collection_year <> old_year)"
    updated = run(
        con,
        f"DELETE FROM {table.name} WHERE child_id IN "
        f"(SELECT child_id FROM merged_children WHERE {changed})",
    )[0][0]
    columns = ", ".join([*table.column_names, "collection_year", "load_id", "row_hash"])
    run(con, f"INSERT INTO {table.name} SELECT {columns} FROM merged_children WHERE {changed}")
    added = run(
        con,
        f"""INSERT INTO {table.name} SELECT s.* FROM {staged} s
        WHERE s.child_id NOT IN (SELECT child_id FROM {table.name})""",
    )[0][0]
    return {"added": int(added), "updated": int(updated)}


def write_table(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pd.DataFrame,
    *,
    collection_year: int | None,
    load_id: int,
) -> dict:
    year = UNDATED if collection_year is None else int(collection_year)
    if frame.empty:
        # An empty table in a return (e.g. no adoptions this year) still corrects an earlier
        # load of the same year; there is nothing to add.
        removed = 0
        # (An empty local file names no period, so it replaces nothing.)
        if table.per_year and not table.merge_fields and not table.dated_by:
            removed = run(con, f"DELETE FROM {table.name} WHERE collection_year = {year}")[0][0]
        return {"added": 0, "removed": int(removed)}
    staged = stage(con, table, frame, collection_year=collection_year, load_id=load_id)
    # Duplicate keys inside one return would make the merge ambiguous: readers set them
    # aside, so finding one here is a programming error, not a data problem.
    key = ", ".join(table.key)
    duplicate = con.execute(
        f"SELECT {key} FROM {staged} GROUP BY {key} HAVING COUNT(*) > 1 LIMIT 1"
    ).fetchall()
    if duplicate:
        raise StoreError(f"{table.name}: the return has two different rows for one key.")
    if table.merge_fields:
        result = merge_children(con, table, staged, year)
    else:
        result = merge_rows(con, table, staged)
    run(con, f"DROP TABLE {staged}")
    return result


def record_load(
    con: duckdb.DuckDBPyConnection,
    load_id: int,
    *,
    started_at: datetime,
    strict: bool,
    tool_version: str,
    summary: dict,
) -> None:
    run(
        con,
        "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?)",
        [
            load_id,
            started_at.replace(tzinfo=None),
            datetime.now(UTC).replace(tzinfo=None),
            strict,
            tool_version,
            json.dumps(summary, sort_keys=True),
        ],
    )


def insert_frame(con: duckdb.DuckDBPyConnection, target: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    con.register("rows_to_insert", frame)
    columns = ", ".join(frame.columns)
    run(con, f"INSERT INTO {target} ({columns}) SELECT {columns} FROM rows_to_insert")
    con.unregister("rows_to_insert")


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        name: int(con.execute(f"SELECT COUNT(*) FROM {name}").fetchall()[0][0]) for name in TABLES
    }


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: for tests that prove a failed load changed nothing."""
    names = [*TABLES, "store_meta", "loads", "load_files", "load_problems"]
    out = {}
    for name in names:
        rows = con.execute(f"SELECT * FROM {name}").fetchall()
        out[name] = sorted(rows, key=repr)
    return out


PROVENANCE_COLUMNS = [name for name, _ in PROVENANCE]
