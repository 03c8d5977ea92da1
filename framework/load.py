"""Loading files into the store: recognise, read, pseudonymise, link areas, merge — atomically.

``load_files`` is the one entry point used by the command line, the app's upload page and the
tests. It
  1. finds the files (folders are searched), recognises each by its content, not its name;
  2. reads every return with its reader, which validates it and sets aside invalid records;
  3. refuses everything in ``strict`` mode if any record would be set aside or any file is
     unreadable; otherwise loads what is valid;
  4. in ONE transaction: links postcodes to areas (then drops them), pseudonymises
     identifiers, merges each table with history, and records the load, its files and its
     problems (identifying values withheld). Any failure rolls everything back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from framework import __version__, geography, idmap
from framework.privacy import Pseudonymiser
from framework.sources import cin_census, csww, local, published, ssda903, templates
from framework.sources.common import sha256_of, year_label
from framework.sources.problems import (
    ERROR,
    Problem,
    ReadResult,
    SourceFile,
    UnreadableFile,
)
from framework.sources.safe_xml import root_tag
from framework.sources.template_defs import TEMPLATES
from framework.store import store
from framework.store.schema import TABLES, Table

Progress = Callable[[str, int, int], None]  # (what is happening, step done, steps in all)
READABLE_SUFFIXES = {".xml", ".csv", ".xlsx", ".xls", ".xlsm"}
PARALLEL_MIN_READS = 4  # below this, starting worker processes costs more than it saves
MAX_READ_WORKERS = 2  # the product's reference machine has two cores
KNOWN_CSV_LAYOUTS = (
    "SSDA903 tables, the local-data templates, child address extract, postcode lookup, area "
    "list, Explore Education Statistics tidy CSV, statistical neighbours; see "
    "docs/data/loading.md"
)
SOURCE_ORDER = {
    "reference": 0,
    "published": 0,
    "child_addresses": 1,
    "cin_census": 2,
    "ssda903": 2,
    "csww": 2,
}


@dataclass
class PlannedRead:
    """One read to do: a reader and the file(s) it takes."""

    kind: str  # cin_census, ssda903_csv, ssda903_xml, csww, child_addresses, ref_...
    paths: list[Path]


@dataclass
class LoadOutcome:
    status: str  # loaded | unchanged | refused | nothing loaded
    message: str
    load_id: int | None = None
    results: list[ReadResult] = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)  # (file, earlier load id)
    ignored: list[str] = field(default_factory=list)  # files that are not CSV or XML
    notes: list[str] = field(default_factory=list)  # things the person loading should know
    changes: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.results for p in r.problems]

    @property
    def exit_code(self) -> int:
        return 0 if self.status in ("loaded", "unchanged") else 1


class NothingToLoad(Exception):
    pass


# --- 1. finding and recognising files ---------------------------------------------------------


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Files under the given paths (folders searched), and the names of ignored ones."""
    found, ignored = [], []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name.startswith("."):
                continue
            if _to_read(candidate):
                found.append(candidate)
            else:
                ignored.append(candidate.name)
    return found, ignored


def _to_read(path: Path) -> bool:
    """A file type we read, and not official reference data this version leaves to others
    (``local.REFERENCE_LAYOUTS_NOT_LOADED``: the demo's IoD, ward, population and NSPL files)."""
    return path.suffix.lower() in READABLE_SUFFIXES and not local.is_reference_not_loaded(path)


def recognise(path: Path) -> str:
    """What a file is, from its content. Raises UnreadableFile when it is none we read."""
    if path.stat().st_size == 0:
        raise UnreadableFile(path, "the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return _recognise_xml(path)
    if suffix in (".xls", ".xlsm"):
        raise UnreadableFile(path, "save the workbook as .xlsx (or CSV UTF-8) to load it")
    if suffix == ".xlsx":
        return _recognise_xlsx(path)
    if ssda903.identify_ssda903_csv(path):
        return "ssda903_csv"
    kind = (
        local.identify_local_csv(path)
        or published.identify_published_csv(path)
        or templates.identify_template(path)
    )
    if kind:
        return kind
    header = set(templates.read_header(path))
    raise UnreadableFile(
        path,
        f"not a CSV layout this version reads ({KNOWN_CSV_LAYOUTS}). Closest: "
        f"{ssda903.describe_unrecognised_csv(path)}; {templates.closest_template(header)}",
    )


def _recognise_xlsx(path: Path) -> str:
    kind = templates.identify_template(path)
    if kind is None:
        header = set(templates.read_header(path))
        raise UnreadableFile(
            path,
            "not laid out as a local-data template (workbooks are read for the templates "
            f"only). Closest: {templates.closest_template(header)}",
        )
    return kind


def _recognise_xml(path: Path) -> str:
    root = root_tag(path)  # refuses hostile XML before anything else
    if cin_census.looks_like_cin_census(path):
        return "cin_census"
    if ssda903.looks_like_ssda903_xml(path):
        return "ssda903_xml"
    if csww.looks_like_csww(path):
        return "csww"
    if root == "Message":
        raise UnreadableFile(
            path,
            "this looks like a DfE COLLECT XML message but not a CiN census or a workforce "
            "(CSWW) return: this version reads the CiN census, CSWW and SSDA903 only",
        )
    raise UnreadableFile(
        path, f"the root element <{root}> is not a CiN census (<Message>) or SSDA903 return"
    )


def plan_reads(files: list[Path]) -> tuple[list[PlannedRead], list[UnreadableFile]]:
    """Group files into reads: the SSDA903 CSVs of one folder form one return."""
    plans: list[PlannedRead] = []
    unreadable: list[UnreadableFile] = []
    csv_sets: dict[Path, list[Path]] = {}
    for path in files:
        try:
            kind = recognise(path)
        except UnreadableFile as problem:
            unreadable.append(problem)
            continue
        if kind == "ssda903_csv":
            csv_sets.setdefault(path.parent, []).append(path)
        else:
            plans.append(PlannedRead(kind, [path]))
    plans.extend(PlannedRead("ssda903_csv", paths) for paths in csv_sets.values())
    return plans, unreadable


# --- 2. reading ---------------------------------------------------------------------------------


def read_planned(plan: PlannedRead, collection_year: int | None) -> ReadResult:
    """Run the right reader; an unreadable file becomes a ReadResult with ``fatal`` set."""
    try:
        if plan.kind == "cin_census":
            return cin_census.read_cin_census(plan.paths[0], collection_year=collection_year)
        if plan.kind == "ssda903_csv":
            return ssda903.read_ssda903(plan.paths, collection_year=collection_year)
        if plan.kind == "ssda903_xml":
            return ssda903.read_ssda903_xml(plan.paths[0], collection_year=collection_year)
        if plan.kind == "csww":
            return csww.read_csww(plan.paths[0], collection_year=collection_year)
        if plan.kind == "child_addresses":
            return local.read_child_addresses(plan.paths[0])
        if plan.kind in ("ees_tidy", "statistical_neighbours"):
            return published.read_published(plan.paths[0])
        if plan.kind in TEMPLATES:
            return templates.read_template(plan.paths[0], plan.kind)
        return local.read_area_reference(plan.paths[0], plan.kind)
    except UnreadableFile as problem:
        return _fatal_result(plan, problem)


def _unreadable(result: ReadResult) -> UnreadableFile:
    """The file a fatal read is about. The SSDA903 readers begin the reason with the name of
    the file at fault (in a set, not always the first), which is then not repeated."""
    for file in result.files:
        prefix = f"{file.name}: "
        if result.fatal.startswith(prefix):
            return UnreadableFile(file.path, result.fatal.removeprefix(prefix))
    return UnreadableFile(result.files[0].path, result.fatal)


def _fatal_result(plan: PlannedRead, problem: UnreadableFile) -> ReadResult:
    files = [SourceFile(p, sha256_of(p), p.stat().st_size, plan.kind) for p in plan.paths]
    return ReadResult(source=plan.kind, collection_year=None, files=files, fatal=problem.reason)


def read_all(
    plans: list[PlannedRead], collection_year: int | None, progress: Progress | None
) -> list[ReadResult]:
    """Read every planned return, in parallel processes when there are several.

    Reading is CPU-bound Python and pandas work, so processes (not threads) use both cores.
    The largest files start first so that the two workers finish at about the same time.
    """
    workers = min(os.cpu_count() or 1, MAX_READ_WORKERS)
    if len(plans) < PARALLEL_MIN_READS or workers < 2:
        results = []
        for done, plan in enumerate(plans, start=1):
            results.append(read_planned(plan, collection_year))
            _tell(progress, f"read {plan.paths[0].name}", done, len(plans))
        return results
    largest_first = sorted(plans, key=_size, reverse=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {id(p): pool.submit(read_planned, p, collection_year) for p in largest_first}
        for done, future in enumerate(as_completed(futures.values()), start=1):
            future.result()
            _tell(progress, "reading files", done, len(plans))
        return [futures[id(p)].result() for p in plans]


def _size(plan: PlannedRead) -> int:
    return sum(path.stat().st_size for path in plan.paths)


def _tell(progress: Progress | None, what: str, done: int, total: int) -> None:
    if progress is not None:
        progress(what, done, total)


# --- 3. preparing tables for the store ------------------------------------------------------


def prepare(
    con, table: Table, frame: pd.DataFrame, pseudonymiser: Pseudonymiser
) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """Pseudonymise identifiers and replace postcodes by areas; return stored columns."""
    frame = frame.copy()
    kinds = {"child_id": "child", "upn": "upn", "former_upn": "upn", "worker_id": "worker"}
    for column in table.pseudonymise:
        frame[column] = pseudonymiser.column(frame[column], kind=kinds[column])
    rates: dict[str, float | None] = {}
    for postcode in table.postcodes:
        linked = geography.link_postcodes(con, frame[postcode.reader_column])
        frame[postcode.area_column] = linked["area_code"]
        frame[postcode.status_column] = linked["status"]
        frame = frame.drop(columns=[postcode.reader_column])  # the postcode goes no further
        rates[postcode.area_column] = geography.match_rate(linked["status"])
    return frame[table.column_names], rates


def _problem_rows(
    load_id: int, problems: list[Problem], pseudonymiser: Pseudonymiser
) -> pd.DataFrame:
    rows = [
        {
            "load_id": load_id,
            "file_name": p.file,
            "location": p.location,
            "table_name": p.table,
            "child_id": None
            if p.child is None
            else pseudonymiser.pseudonym(p.child, kind=_kind_of(p)),
            "field": p.field,
            "value": p.redacted_value(),
            "expected": p.expected,
            "severity": p.severity,
            "rule": p.rule,
        }
        for p in problems
    ]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


def _kind_of(problem: Problem) -> str:
    """The pseudonym kind of the identifier a problem names: a worker's or a child's."""
    return "worker" if problem.subject == "worker" else "child"


def _file_counts(result: ReadResult, file: SourceFile) -> tuple[int, int]:
    """Records read and set aside from one file (a CSV of a 903 set feeds one table)."""
    if file.kind.startswith("ssda903_csv:"):
        table = ssda903.STORE_TABLE.get(file.kind.split(":", 1)[1])
        count = result.counts.get(table)
        return (count.read, count.set_aside) if count else (0, 0)
    counts = result.counts.values()
    return sum(c.read for c in counts), sum(c.set_aside for c in counts)


def _file_rows(load_id: int, result: ReadResult, status: str) -> pd.DataFrame:
    notes = "; ".join([*(result.notes or []), *([result.fatal] if result.fatal else [])])
    rows = []
    for file in result.files:
        read, aside = _file_counts(result, file)
        rows.append(
            {
                "load_id": load_id,
                "file_name": file.name,
                "sha256": file.sha256,
                "bytes": file.size,
                "source": result.source,
                "kind": file.kind,
                "collection_year": result.collection_year,
                "records_read": read,
                "records_loaded": read - aside,
                "records_set_aside": aside,
                "status": status,
                "notes": notes,
            }
        )
    return pd.DataFrame(rows)


# --- 4. the load itself -----------------------------------------------------------------------


def _already_loaded(store_path: Path, files: list[Path]) -> dict[Path, int]:
    """Files whose exact bytes an earlier load already took: {path: load id}."""
    if not Path(store_path).exists() or not files:
        return {}
    by_digest: dict[str, list[Path]] = {}
    for path in files:
        by_digest.setdefault(sha256_of(path), []).append(path)
    con = store.connect(store_path, read_only=True)
    try:
        known = con.execute(
            "SELECT sha256, MIN(load_id) FROM load_files WHERE status = 'loaded' GROUP BY sha256"
        ).fetchall()
    finally:
        con.close()
    return {path: load for digest, load in known for path in by_digest.get(digest, [])}


def _drop_unchanged(
    plans: list[PlannedRead], seen: dict[Path, int]
) -> tuple[list[PlannedRead], list[tuple[str, int]]]:
    kept, skipped = [], []
    for plan in plans:
        if all(p in seen for p in plan.paths):
            skipped.extend((p.name, seen[p]) for p in plan.paths)
        else:
            kept.append(plan)
    return kept, skipped


def load_files(
    paths: Iterable[Path],
    *,
    store_path: Path,
    pseudonymiser: Pseudonymiser,
    strict: bool = False,
    collection_year: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
    idmap_key: bytes | idmap._Auto | None = idmap.AUTO,
) -> LoadOutcome:
    """``idmap_key``: the key of the id map kept beside the store (``framework/idmap.py``); by
    default the demo's for the demo pseudonymiser, else the authority's (config.toml); None
    loads without keeping the authority's child ids."""
    if idmap_key is idmap.AUTO:
        idmap_key = idmap.key_for_pseudonymiser(pseudonymiser)
    if idmap_key is not None:  # a wrong key is refused before anything is read or stored
        idmap.read_map(idmap.map_path(store_path), idmap_key)
    files, ignored = discover(paths)
    plans, unreadable = plan_reads(files)
    skipped: list[tuple[str, int]] = []
    if not force:
        plans, skipped = _drop_unchanged(plans, _already_loaded(store_path, files))
    results = read_all(plans, collection_year, progress)
    unreadable += [_unreadable(r) for r in results if r.fatal]
    results = [r for r in results if not r.fatal]
    outcome = LoadOutcome(
        "loaded",
        "",
        results=results,
        unreadable=unreadable,
        skipped=skipped,
        ignored=ignored,
        notes=_same_year_notes(results),
    )
    errors = [p for r in results for p in r.problems if p.severity == ERROR]
    if strict and (errors or unreadable):
        outcome.status = "refused"
        outcome.message = (
            f"Strict mode: nothing was loaded because {len(errors)} record problem(s) and "
            f"{len(unreadable)} unreadable file(s) were found. The store is unchanged."
        )
        return outcome
    loadable = [r for r in results if any(len(t) for t in r.tables.values())]
    if not loadable:
        nothing_new = not results and not unreadable and skipped
        outcome.status = "unchanged" if nothing_new else "nothing loaded"
        outcome.message = (
            "Every file was already loaded; the store is unchanged."
            if nothing_new
            else "Nothing could be loaded: no valid records were found. The store is unchanged."
        )
        return outcome
    store_results(outcome, loadable, store_path, pseudonymiser, strict=strict, progress=progress)
    _keep_ids(outcome, store_path, pseudonymiser, idmap_key)
    return outcome


def _keep_ids(
    outcome: LoadOutcome, store_path: Path, pseudonymiser: Pseudonymiser, key: bytes | None
) -> None:
    """After the store's load has committed: merge the children's ids into the id map, or say
    once that they were not kept (no key). Never names a child."""
    if key is None:
        outcome.notes.append(idmap.no_key_note())
        return
    try:
        idmap.merge(idmap.map_path(store_path), key, idmap.captured(pseudonymiser))
    except OSError as error:
        outcome.notes.append(
            f"The store was loaded, but the id map could not be written ({error.strerror}): "
            "load the returns again with --force to write it."
        )


def _same_year_notes(results: list[ReadResult]) -> list[str]:
    """Two returns of one source and year in one load: the later replaces the earlier."""
    seen: dict[tuple[str, int | None], list[str]] = {}
    for result in results:
        key = (result.source, result.collection_year)
        seen.setdefault(key, []).append(", ".join(f.name for f in result.files))
    return [
        f"{len(names)} {source} returns for {_year_of(year)} in one load ({'; '.join(names)}): "
        "each replaces the one before, so only the last stays. Load one return per year."
        for (source, year), names in seen.items()
        if len(names) > 1 and year is not None
    ]


def _year_of(year: int | None) -> str:
    return year_label(year) if year else "undated"


def store_results(
    outcome: LoadOutcome,
    loadable: list[ReadResult],
    store_path: Path,
    pseudonymiser: Pseudonymiser,
    *,
    strict: bool = False,
    progress: Progress | None = None,
) -> None:
    """Write read returns into the store in one transaction (all or nothing)."""
    started = datetime.now(UTC)
    ordered = sorted(
        loadable, key=lambda r: (SOURCE_ORDER.get(r.source, 3), r.collection_year or 0, r.source)
    )
    steps = sum(len(r.tables) for r in ordered)
    con = store.connect(store_path)
    try:
        with store.transaction(con):
            store.check_key(con, pseudonymiser.fingerprint)
            load_id = store.next_load_id(con)
            done = 0
            for result in ordered:
                for name, frame in result.tables.items():
                    table = TABLES[name]
                    stored, rates = prepare(con, table, frame, pseudonymiser)
                    change = store.write_table(
                        con,
                        table,
                        stored,
                        collection_year=result.collection_year,
                        load_id=load_id,
                    )
                    label = f"{result.source} {_year(result)} {name}"
                    outcome.changes[label] = {**change, **_rates(rates)}
                    done += 1
                    _tell(progress, f"stored {name}", done, steps)
            _record(con, load_id, outcome, started, strict, pseudonymiser)
    finally:
        con.close()
    outcome.load_id = load_id
    aside = sum(c.set_aside for r in outcome.results for c in r.counts.values())
    outcome.message = (
        f"Load {load_id} finished: {sum(_valid(r) for r in loadable):,} records loaded, "
        f"{aside:,} set aside, {len(outcome.unreadable)} file(s) unreadable."
    )


def _record(con, load_id, outcome: LoadOutcome, started, strict, pseudonymiser) -> None:
    for result in outcome.results:
        store.insert_frame(con, "load_files", _file_rows(load_id, result, "loaded"))
        store.insert_frame(
            con, "load_problems", _problem_rows(load_id, result.problems, pseudonymiser)
        )
    for problem in outcome.unreadable:
        path = Path(problem.file)
        store.insert_frame(
            con,
            "load_files",
            pd.DataFrame(
                [
                    {
                        "load_id": load_id,
                        "file_name": problem.file,
                        "status": "unreadable",
                        "notes": problem.reason,
                        "source": None,
                        "records_read": 0,
                        "records_loaded": 0,
                        "records_set_aside": 0,
                        "bytes": path.stat().st_size if path.exists() else None,
                    }
                ]
            ),
        )
    summary = {
        "returns": [
            {"source": r.source, "year": r.collection_year, "files": [f.name for f in r.files]}
            for r in outcome.results
        ],
        "changes": outcome.changes,
    }
    store.record_load(
        con, load_id, started_at=started, strict=strict, tool_version=__version__, summary=summary
    )


def _valid(result: ReadResult) -> int:
    return sum(c.valid for c in result.counts.values())


def _year(result: ReadResult) -> str:
    return _year_of(result.collection_year)


def _rates(rates: dict[str, float | None]) -> dict[str, float]:
    return {f"{k} match rate": round(v, 4) for k, v in rates.items() if v is not None}


def keep_ids_from_files(
    paths: Iterable[Path],
    *,
    store_path: Path,
    pseudonymiser: Pseudonymiser,
    idmap_key: bytes,
) -> int:
    """Write (or complete) the id map of a store from files already loaded into it, without
    touching the store: read them, hash their child ids, merge. Returns the children mapped.
    (For a store built before the id map existed; ``load --force`` does the same and records a
    load.)"""
    files, _ignored = discover(paths)
    plans, _unreadable = plan_reads(files)
    for result in read_all(plans, None, None):
        for name, frame in result.tables.items():
            if "child_id" in TABLES[name].pseudonymise and "child_id" in frame:
                pseudonymiser.column(frame["child_id"], kind="child")
    return idmap.merge(idmap.map_path(store_path), idmap_key, idmap.captured(pseudonymiser))
