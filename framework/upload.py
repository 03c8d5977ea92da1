"""Loading files uploaded through the app: the same loader as the command line, made safe for
bytes that arrive from a browser.

``load_uploaded`` writes the uploaded files into a private temporary folder (names reduced to a
plain file name, hidden and unreadable kinds left out, oversize uploads refused), loads them with
``framework.load.load_files`` into the authority's own store (never the demo's: the authority's
data must not mix with the fictional demo) and removes the folder afterwards, whatever happens.

The pseudonymisation key is resolved as ``python -m framework load`` resolves it; like the
command line, the app never creates one (``python -m framework key new`` does, once, on the
server): a key made silently by a web page would not be backed up, and without it later loads
could never link to the children already stored.

The outcome is described for the screen by ``UploadOutcome.files``, ``.problems`` and
``.problem_kinds``; the command line words its report with the same functions (``year_words``,
``skipped_words``, ``problem_kinds``). The app never shows a child's identifier: problems are
located by file, row or line and field, and identifying values are withheld, as in the store's
problem log.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from framework.config import Settings
from framework.load import READABLE_SUFFIXES, LoadOutcome, _file_counts, load_files
from framework.privacy import MissingKeyError, Pseudonymiser, resolve_key
from framework.sources.common import year_label
from framework.sources.problems import ERROR, Problem, ReadResult
from framework.sources.template_defs import TEMPLATES
from framework.store import store
from framework.store.store import StoreError

MB = 1024**2
# One file: the same as Streamlit's server.maxUploadSize (.streamlit/config.toml), so the browser
# refuses a larger file before sending it; this check stands behind it. A 100,000-child
# authority's CiN census is about 45 MB a year. Larger files load with the command line.
MAX_FILE_BYTES = 200 * MB
MAX_TOTAL_BYTES = 1024 * MB  # one upload in all: five years of a very large authority's returns
ACCEPTED_TYPES = sorted(suffix.lstrip(".") for suffix in READABLE_SUFFIXES)
SHOWN_PROBLEMS = 5000  # rows of the problem table on the page; --report lists every one
READING_SHARE = 0.6  # of the progress bar: reading and checking; the rest is storing
MAX_NAME_LENGTH = 150
IGNORED_WORDS = (
    "not a file this version reads (CSV, XML or XLSX), or official reference data loaded with "
    "python -m framework reference import"
)

# One upload at a time in this process (the app's sessions share it): two loads into one store
# would conflict. A load from the command line, another process, is refused by the store's lock.
_ONE_AT_A_TIME = threading.Lock()

Progress = Callable[[float, str], None]  # (share of the work done, 0 to 1; what is happening)


@dataclass
class UploadOutcome:
    """What became of an upload: the loader's outcome, or why nothing was tried."""

    status: str  # loaded | unchanged | nothing loaded | refused (nothing was loaded)
    message: str
    store_path: Path
    load: LoadOutcome | None = None
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (file, why) not loaded
    notes: list[str] = field(default_factory=list)  # about the upload itself

    @property
    def loaded(self) -> bool:
        return self.status == "loaded"

    def all_notes(self) -> list[str]:
        """The upload's notes, then the load's, then each return's (prefixed by its files)."""
        if self.load is None:
            return list(self.notes)
        per_return = [
            f"{_return_words(result)}: {note}"
            for result in self.load.results
            for note in result.notes
        ]
        return [*self.notes, *self.load.notes, *per_return]

    def files(self) -> pd.DataFrame:
        """One row per uploaded file: what it was read as, its records and what became of it."""
        return file_table(self.load, self.ignored)

    def problems(self, limit: int = SHOWN_PROBLEMS) -> pd.DataFrame:
        """The first ``limit`` problems, located and explained, without identifying values."""
        return problem_table([] if self.load is None else self.load.problems[:limit])

    def problem_kinds(self) -> pd.DataFrame:
        """Problems counted by file, field, severity and expectation, most frequent first."""
        problems = [] if self.load is None else self.load.problems
        rows = [
            {
                "file": file,
                "field": field_name,
                "severity": _severity_words(severity),
                "expected": expected,
                "problems": n,
            }
            for (file, severity, field_name, expected), n in problem_kinds(problems)
        ]
        return pd.DataFrame(rows, columns=["file", "field", "severity", "expected", "problems"])


# --- the upload ---------------------------------------------------------------------------------


def load_uploaded(
    files: Iterable[tuple[str, bytes]],
    *,
    settings: Settings,
    collection_year: int | None = None,
    progress: Progress | None = None,
    temp_root: Path | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> UploadOutcome:
    """Load uploaded files (name as the browser gave it, content) into ``settings.store_path``.

    Nothing is loaded, and the store is as it was, when any file is too large, two different
    files share a name, the key is missing or differs from the store's, or the load fails.
    """
    store_path = Path(settings.store_path)
    files = list(files)
    refused = _refusal(settings, files, max_file_bytes, max_total_bytes)
    if refused:
        return UploadOutcome("refused", refused, store_path)
    try:
        pseudonymiser = authority_key(settings)
    except (MissingKeyError, StoreError) as problem:
        return UploadOutcome("refused", f"Nothing was loaded. {problem}", store_path)
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        _tell(progress, 0.0, "Waiting for another upload to finish…")
        _ONE_AT_A_TIME.acquire()
    try:
        return _load(files, store_path, pseudonymiser, collection_year, progress, temp_root)
    finally:
        _ONE_AT_A_TIME.release()


def _load(
    files: list[tuple[str, bytes]],
    store_path: Path,
    pseudonymiser: Pseudonymiser,
    collection_year: int | None,
    progress: Progress | None,
    temp_root: Path | None,
) -> UploadOutcome:
    existed = store_path.exists()
    folder = Path(tempfile.mkdtemp(prefix="outcomes-upload-", dir=temp_root))
    try:
        kept, ignored, notes = _write_files(files, folder)
        if not kept:
            return UploadOutcome(
                "nothing loaded",
                "Nothing was loaded: none of the files is one this version reads.",
                store_path,
                ignored=ignored,
                notes=notes,
            )
        _tell(progress, 0.0, f"Recognising {len(kept)} file(s)…")
        outcome = load_files(
            [kept[0].parent],
            store_path=store_path,
            pseudonymiser=pseudonymiser,
            collection_year=collection_year,
            progress=None if progress is None else _load_progress(progress),
        )
    except (StoreError, duckdb.Error, OSError) as error:
        if not existed:
            _remove_new_store(store_path)
        return UploadOutcome(
            "refused", f"The load failed and the store is unchanged: {error}", store_path
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ignored += [(name, IGNORED_WORDS) for name in outcome.ignored]
    return UploadOutcome(outcome.status, outcome.message, store_path, outcome, ignored, notes)


def authority_key(settings: Settings) -> Pseudonymiser:
    """The authority's key, as ``python -m framework load`` finds it; refused (StoreError) when
    the store exists and was built with another key, before anything is read."""
    pseudonymiser = resolve_key(env_name=settings.key_env, key_file=settings.key_file, demo=False)
    if Path(settings.store_path).exists():
        con = store.connect(settings.store_path, read_only=True)
        try:
            if store.meta(con, "key_fingerprint") is not None:  # else the load records it
                store.check_key(con, pseudonymiser.fingerprint)
        finally:
            con.close()
    return pseudonymiser


def key_problem(settings: Settings) -> str | None:
    """Why an upload could not be loaded now (no key, or another key than the store's)."""
    try:
        authority_key(settings)
    except (MissingKeyError, StoreError) as problem:
        return str(problem)
    return None


def safe_name(name: str) -> str:
    """The plain file name of an uploaded file: no folders (either slash), no control
    characters, at most MAX_NAME_LENGTH characters (the extension kept). May start with a dot
    (a hidden file, which is then left out) or be empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if base in (".", ".."):
        return ""
    if len(base) > MAX_NAME_LENGTH:
        stem, suffix = os.path.splitext(base)
        base = stem[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return base


def _refusal(
    settings: Settings, files: list[tuple[str, bytes]], max_file: int, max_total: int
) -> str | None:
    if _same_file(settings.store_path, settings.demo_store):
        return (
            "Nothing was loaded: the store in the settings is the demo authority's "
            f"({settings.demo_store}). Give the authority's own store another path in "
            f"{settings.source} ([store] path)."
        )
    if not files:
        return "Nothing was loaded: no files were given."
    too_large = [name for name, content in files if len(content) > max_file]
    if too_large:
        return (
            f"Nothing was loaded: {', '.join(safe_name(n) or n for n in too_large)} "
            f"{'is' if len(too_large) == 1 else 'are'} larger than {_size(max_file)}, the "
            "most one upload takes. Load large files with python -m framework load PATH."
        )
    total = sum(len(content) for _, content in files)
    if total > max_total:
        return (
            f"Nothing was loaded: the files come to {_size(total)}, more than the "
            f"{_size(max_total)} one upload takes. Upload them a year at a time, or load "
            "them with python -m framework load PATH."
        )
    contents: dict[str, set[bytes]] = {}
    for name, content in files:
        contents.setdefault(safe_name(name), set()).add(content)
    clashes = sorted(
        name
        for name, seen in contents.items()
        if name and not name.startswith(".") and len(seen) > 1
    )
    if clashes:
        return (
            f"Nothing was loaded: two different files are named {', '.join(clashes)}. Upload "
            "one year's SSDA903 files at a time (or put the year in their names)."
        )
    return None


def _write_files(
    files: list[tuple[str, bytes]], folder: Path
) -> tuple[list[Path], list[tuple[str, str]], list[str]]:
    """Write the files to read into ``folder``; return them, the ones left out and why, and
    notes. They go two levels down, in folders named without digits, so that the SSDA903
    reader (which looks for a year in the names of a file's two folders) finds none there."""
    target = folder / "upload" / "files"
    target.mkdir(parents=True, mode=0o700)
    kept: list[Path] = []
    ignored: list[tuple[str, str]] = []
    notes: list[str] = []
    for given, content in files:
        name = safe_name(given)
        if not name:
            ignored.append((given, "the file has no usable name"))
            continue
        if name.startswith("."):
            ignored.append((name, "a hidden file (its name starts with a dot)"))
            continue
        suffix = Path(name).suffix.lower()
        if suffix == ".zip":
            ignored.append((name, "a zip archive: unzip it and upload the files inside"))
            continue
        if suffix not in READABLE_SUFFIXES:
            ignored.append((name, IGNORED_WORDS))
            continue
        path = target / name
        if path.exists():  # the same file twice (different content was refused before)
            notes.append(f"{name} was uploaded twice; it was read once.")
            continue
        if path.resolve().parent != target.resolve():  # safe_name forbids it; never trust it
            ignored.append((given, "the file has no usable name"))
            continue
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        kept.append(path)
    return kept, ignored, notes


def _size(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size >= MB else f"{size:,} bytes"


def _same_file(one: Path, other: Path) -> bool:
    return Path(one).expanduser().resolve() == Path(other).expanduser().resolve()


def _remove_new_store(store_path: Path) -> None:
    """A store file the failed load created: gone, as it was before. Only while it holds no
    load or reference import (another process may have made it meanwhile) and nobody has it
    open."""
    if not store_path.exists():
        return
    try:
        con = store.connect(store_path, read_only=True)
        try:
            held = con.execute(
                "SELECT (SELECT COUNT(*) FROM loads) + (SELECT COUNT(*) FROM reference_imports)"
            ).fetchall()[0][0]
        finally:
            con.close()
    except (StoreError, duckdb.Error):
        return
    if held == 0:
        for path in (store_path, store_path.with_name(store_path.name + ".wal")):
            path.unlink(missing_ok=True)


# --- progress -----------------------------------------------------------------------------------


def _tell(progress: Progress | None, share: float, words: str) -> None:
    if progress is not None:
        progress(min(max(share, 0.0), 1.0), words)


def _load_progress(progress: Progress) -> Callable[[str, int, int], None]:
    """The loader's (what, done, total) as one bar: reading first, then storing."""

    def update(what: str, done: int, total: int) -> None:
        share, words = progress_words(what, done, total)
        progress(share, words)

    return update


def progress_words(what: str, done: int, total: int) -> tuple[float, str]:
    """Share of the bar and words for one step the loader reports."""
    part = done / total if total else 1.0
    if what.startswith("stored "):
        table = what.removeprefix("stored ")
        words = f"Storing: {table} ({done} of {total} tables)"
        return READING_SHARE + (1 - READING_SHARE) * part, words
    if what.startswith("read "):
        words = f"Read {what.removeprefix('read ')} ({done} of {total} files or SSDA903 sets)"
    else:  # several read at once, in worker processes
        words = f"Reading and checking the files: {done} of {total} done"
    return READING_SHARE * part, words


# --- describing an outcome (the command line words its report with these too) ------------------


def year_words(result: ReadResult) -> str:
    """The year a return was read for, in words."""
    if result.collection_year:
        return year_label(result.collection_year)
    if result.source in TEMPLATES:
        return f"(each row dated by {TEMPLATES[result.source].dated_by})"
    return "undated"


def skipped_words(earlier_load: int) -> str:
    return f"identical to a file of load {earlier_load}; not read again"


def problem_kinds(problems: list[Problem]) -> list[tuple[tuple[str, str, str, str], int]]:
    """((file, severity, field, expected), how many), most frequent first."""
    kinds = Counter((p.file, p.severity, p.field or "-", p.expected) for p in problems)
    return kinds.most_common()


def file_table(load: LoadOutcome | None, ignored: list[tuple[str, str]]) -> pd.DataFrame:
    rows = []
    if load is not None:
        stored = load.load_id is not None
        for result in load.results:
            read_as = f"{result.source} {year_words(result)}"
            for file in result.files:
                read, aside = _file_counts(result, file)
                rows.append(
                    _file_row(
                        file.name,
                        read_as,
                        read,
                        read - aside if stored else 0,
                        aside,
                        "loaded" if stored else f"not loaded: {load.status}",
                    )
                )
        for name, earlier in load.skipped:
            unchanged = f"unchanged: {skipped_words(earlier)}"
            rows.append(_file_row(name, "", None, None, None, unchanged))
        for problem in load.unreadable:
            rows.append(
                _file_row(problem.file, "", None, None, None, f"unreadable: {problem.reason}")
            )
    for name, why in ignored:
        rows.append(_file_row(name, "", None, None, None, f"left out: {why}"))
    frame = pd.DataFrame(rows, columns=FILE_COLUMNS)
    for column in ("records read", "loaded", "set aside"):
        frame[column] = frame[column].astype("Int64")
    return frame


FILE_COLUMNS = ["file", "read as", "records read", "loaded", "set aside", "outcome"]


def _file_row(name, read_as, read, loaded, aside, outcome) -> dict:
    return dict(zip(FILE_COLUMNS, (name, read_as, read, loaded, aside, outcome), strict=True))


PROBLEM_COLUMNS = ["severity", "file", "where", "table", "field", "value", "expected"]


def problem_table(problems: list[Problem]) -> pd.DataFrame:
    """Problems as rows, located by file, row or line and field. The child's identifier is left
    out and identifying values (ids, dates of birth, postcodes) are withheld: the row or line
    finds the record in the file."""
    rows = [
        {
            "severity": _severity_words(p.severity),
            "file": p.file,
            "where": p.location,
            "table": p.table,
            "field": p.field,
            "value": p.redacted_value(),
            "expected": p.expected,
        }
        for p in problems
    ]
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)


def _severity_words(severity: str) -> str:
    return "set aside" if severity == ERROR else "warning"


def _return_words(result: ReadResult) -> str:
    names = ", ".join(f.name for f in result.files)
    return f"{result.source} {year_words(result)} ({names})"
