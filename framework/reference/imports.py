"""Importing reference files into the store: all of them, or (on any failure) none.

1. Every file is read and checked first. If any file named cannot be read, or is laid out as
   no reference layout, nothing is imported: half a set of reference data (File 1 without File
   3) is worse than the set the store already has. A file found by searching a folder that is
   no reference layout is skipped instead (nobody named it).
2. Then, in ONE transaction, each file's tables are written, key by key: a row replaces the
   stored row with its key and identical rows are left alone, so importing a file twice
   changes nothing. Deprivation rows are combined field by field instead, so that File 1 (IMD)
   and File 3 (IDACI) of one IoD year fill one row per LSOA, imported together or not.
3. Each file is recorded in ``reference_imports``, its problems in ``load_problems``, and the
   import as a whole in ``loads`` (so ``python -m framework status`` lists it). Any failure
   rolls all of it back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from framework import __version__
from framework.reference.boundaries import is_geographic
from framework.reference.common import NotReferenceFile, ReferenceRead
from framework.reference.readers import TABULAR_SUFFIXES, read_reference
from framework.sources.problems import ERROR, Problem, UnreadableFile
from framework.store import store
from framework.store.schema import TABLES

SHOWN_PROBLEMS = 40
COMBINED_BY_FIELD = {"ref_deprivation"}  # tables whose files each bring some of a row's fields


@dataclass
class ImportOutcome:
    status: str  # imported | refused | nothing imported
    message: str = ""
    reads: list[ReferenceRead] = field(default_factory=list)
    refused: list[UnreadableFile] = field(default_factory=list)
    skipped: list[UnreadableFile] = field(default_factory=list)  # in folders, not reference
    load_id: int | None = None
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def problems(self) -> list[Problem]:
        return [p for read in self.reads for p in read.problems]

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "imported" else 1


def discover(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """The files to import, each with whether it was named (True) or found in a folder."""
    found: dict[Path, tuple[Path, bool]] = {}
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        if path.is_file():
            found.setdefault(path.resolve(), (path, True))
            continue
        for candidate in sorted(path.rglob("*")):
            if candidate.is_file() and _importable_name(candidate):
                found.setdefault(candidate.resolve(), (candidate, False))
    return list(found.values())


def _importable_name(path: Path) -> bool:
    """Files worth trying in a folder (a shapefile's .dbf, .prj… go with its .shp)."""
    suffix = path.suffix.lower()
    return not path.name.startswith(".") and (suffix in TABULAR_SUFFIXES or is_geographic(path))


def import_reference(paths: Iterable[Path], *, store_path: Path) -> ImportOutcome:
    """Read every file, then import them all in one transaction (see the module docstring)."""
    started = time.perf_counter()
    outcome = ImportOutcome("imported")
    for path, named in discover(paths):
        try:
            outcome.reads.append(read_reference(path))
        except NotReferenceFile as problem:
            (outcome.refused if named else outcome.skipped).append(problem)
        except UnreadableFile as problem:
            outcome.refused.append(problem)
    if outcome.refused:
        outcome.status = "refused"
        outcome.message = (
            f"Nothing was imported: {len(outcome.refused)} file(s) could not be imported "
            "(see above). The store is unchanged."
        )
    elif not any(read.rows_imported for read in outcome.reads):
        outcome.status = "nothing imported"
        outcome.message = "Nothing was imported: no valid rows were found. The store is unchanged."
    else:
        _store(outcome, Path(store_path))
    outcome.seconds = time.perf_counter() - started
    return outcome


# --- writing -------------------------------------------------------------------------------------


def _store(outcome: ImportOutcome, store_path: Path) -> None:
    started = datetime.now(UTC)
    con = store.connect(store_path)
    try:
        with store.transaction(con):
            load_id = store.next_load_id(con)
            for read in outcome.reads:
                for name, frame in read.tables.items():
                    change = write_reference_table(con, name, frame, load_id)
                    outcome.changes[f"{read.file.name} {name}"] = change
            _record(con, outcome, load_id, started)
    finally:
        con.close()
    outcome.load_id = load_id
    rows = sum(read.rows_imported for read in outcome.reads)
    aside = sum(read.count.set_aside for read in outcome.reads)
    outcome.message = (
        f"Reference import {load_id} finished: {rows:,} rows imported from "
        f"{len(outcome.reads)} file(s), {aside:,} set aside."
    )


def write_reference_table(
    con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, load_id: int
) -> dict[str, int]:
    """Write one table's rows, replacing stored rows key by key (see the module docstring)."""
    table = TABLES[name]
    if name in COMBINED_BY_FIELD:
        frame = _combined_with_stored(con, name, frame)
    if name == "ref_postcode_areas":
        # A postcode the directory lists as live again must not stay marked terminated.
        _forget(con, "ref_postcode_terminated", frame[["postcode"]])
    stored = frame[table.column_names]
    return store.write_table(con, table, stored, collection_year=None, load_id=load_id)


def _combined_with_stored(con, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The file's rows, with the fields it lacks taken from the stored rows of the same key."""
    table = TABLES[name]
    key = list(table.key)
    con.register("incoming_keys", frame[key])
    stored = con.execute(
        f"SELECT t.{', t.'.join(table.column_names)} FROM {name} t "
        f"JOIN incoming_keys k USING ({', '.join(key)})"
    ).df()
    con.unregister("incoming_keys")
    if stored.empty:
        return frame
    keyed = frame.set_index(key)
    combined = keyed.combine_first(stored.set_index(key)).loc[keyed.index]
    return combined.reset_index()[table.column_names]


def _forget(con, name: str, keys: pd.DataFrame) -> None:
    con.register("forgotten_keys", keys)
    match = " AND ".join(f"t.{c} = k.{c}" for c in keys.columns)
    store.run(
        con, f"DELETE FROM {name} t WHERE EXISTS (SELECT 1 FROM forgotten_keys k WHERE {match})"
    )
    con.unregister("forgotten_keys")


def _record(con, outcome: ImportOutcome, load_id: int, started: datetime) -> None:
    imported_at = started.isoformat(timespec="seconds")
    files = pd.DataFrame(
        [
            {
                "file_name": read.file.name,
                "kind": read.kind,
                "vintage": read.vintage,
                "sha256": read.file.sha256,
                "rows": read.rows_imported,
                "imported_at": imported_at,
                "tool_version": __version__,
            }
            for read in outcome.reads
        ]
    )
    # A log: every import appends its rows, even of a file imported before in the same second.
    log = TABLES["reference_imports"]
    staged = store.stage(con, log, files, collection_year=None, load_id=load_id)
    store.run(con, f"INSERT INTO {log.name} SELECT * FROM {staged}")
    store.run(con, f"DROP TABLE {staged}")
    store.insert_frame(con, "load_problems", _problem_rows(load_id, outcome.problems))
    summary = {
        "reference_import": [
            {
                "file": read.file.name,
                "kind": read.kind,
                "vintage": read.vintage,
                "rows": read.rows_imported,
                "set_aside": read.count.set_aside,
            }
            for read in outcome.reads
        ],
        "changes": outcome.changes,
    }
    store.record_load(
        con, load_id, started_at=started, strict=False, tool_version=__version__, summary=summary
    )


def _problem_rows(load_id: int, problems: list[Problem]) -> pd.DataFrame:
    """load_problems rows: reference files name no child, so child_id stays blank."""
    rows = [
        {
            "load_id": load_id,
            "file_name": p.file,
            "location": p.location,
            "table_name": p.table,
            "field": p.field,
            "value": p.redacted_value(),
            "expected": p.expected,
            "severity": p.severity,
            "rule": p.rule,
        }
        for p in problems
    ]
    return pd.DataFrame(rows)


# --- describing an import ----------------------------------------------------------------------


def describe(outcome: ImportOutcome, shown: int = SHOWN_PROBLEMS) -> str:
    """What the command line prints: per file, what it is, rows imported and set aside."""
    lines = []
    for read in outcome.reads:
        lines.append(read.file.name)
        lines.append(f"    {read.kind}: {read.description}")
        lines.append(
            f"    {read.rows_imported:,} rows imported, {read.count.set_aside:,} set aside"
        )
        lines.extend(f"    note: {note}" for note in read.notes)
    for problem in outcome.refused:
        lines.append(f"NOT IMPORTED {problem.file}: {problem.reason}")
    if outcome.skipped:
        names = ", ".join(p.file for p in outcome.skipped)
        lines.append(f"Skipped (found in a folder, not a reference layout): {names}")
    problems = outcome.problems
    if problems:
        errors = sum(p.severity == ERROR for p in problems)
        lines.append("")
        lines.append(
            f"First {min(shown, len(problems))} of {len(problems):,} problems "
            f"({errors:,} errors, whose rows were set aside; {len(problems) - errors:,} warnings):"
        )
        lines.extend("  " + p.message() for p in problems[:shown])
    lines.append("")
    lines.append(f"{outcome.message} ({outcome.seconds:.1f} s)")
    return "\n".join(lines)
