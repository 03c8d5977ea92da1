"""Hostile and broken input (issue 8, part 6): every file of ``tests/hostile/corpus`` and the huge
files made at test time go through the loader the command line uses (``load_files``, worded by
``cli.format_outcome``) and the app's upload (``load_uploaded``), each into a copy of a store
that already holds a small valid load.

For every file: no exception escapes; the outcome names the file and says what is wrong (row-
level problems by file, row or line, field, value and expectation); XML attacks are refused
without expanding entities or touching the network or the file system; a file refused as a whole
leaves the store exactly as it was (every table's rows, and the file's bytes); a partly bad file
loads its valid records and reports the rest; memory and time stay bounded. Formulas in text
fields load as text and are defused on export.

The corpus, what each file is and what it must do are in ``tests/hostile/make_corpus.py`` (and
``tests/hostile/README.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import resource
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from framework import cli, export
from framework.config import load_settings
from framework.load import LoadOutcome, load_files
from framework.privacy import Pseudonymiser
from framework.sources.problems import ERROR
from framework.upload import load_uploaded
from tests.hostile import make_corpus
from tests.hostile.make_corpus import (
    CORPUS,
    HUGE_CASES,
    MB,
    README,
    UPLOAD_TOO_LARGE,
    Case,
    baseline_files,
    cases,
    make_huge,
)

REPO = Path(__file__).resolve().parents[1]
KEY = "a test key that is long enough"  # the conftest pseudonymiser's key
PSEUDONYMISER = Pseudonymiser(KEY.encode())
CASES = cases()
WHOLLY_REFUSED = (
    "refused",
    "ignored",
    "no_records",
    "set_aside",
)  # the store must be unchanged after these

# Safety bounds, not speed goals (speed is benchmarked, never asserted): generous enough for a
# slow shared machine, tight enough to catch a runaway (the billion laughs expands to 3 GB; a
# file read whole into Python lists of strings takes tens of times its size).
MAX_SECONDS = 60
MAX_PEAK_GROWTH_MB = 500

PASSWD = Path("/etc/passwd")
PASSWD_LINES = (
    [line for line in PASSWD.read_text(errors="replace").splitlines() if len(line) > 8]
    if PASSWD.is_file()
    else []
)


# --- the store before and after ---------------------------------------------------------------


def store_rows(store_path: Path) -> dict[str, list[str]]:
    """Every table's rows as text, sorted: bookkeeping tables (loads, problems) too."""
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]
        rows: dict[str, list[str]] = {name: [] for name in names}
        union = " UNION ALL ".join(
            f"SELECT '{name}', CAST(t AS VARCHAR) FROM \"{name}\" t" for name in names
        )
        for name, row in con.execute(union).fetchall():
            rows[name].append(row)
    finally:
        con.close()
    return {name: sorted(found) for name, found in rows.items()}


def fingerprint(store_path: Path) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows (whatever their order)."""
    return fingerprint_of(store_rows(store_path))


def fingerprint_of(tables: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    return {
        name: (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        for name, rows in tables.items()
    }


def everything_in(tables: dict[str, list[str]]) -> str:
    """Every value in the store as one text, to search for what must never be there."""
    return "\n".join(row for rows in tables.values() for row in rows)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, dict]:
    """A store holding a small valid load of every kind of file, and its fingerprint."""
    folder = tmp_path_factory.mktemp("baseline")
    for relative, content in baseline_files().items():
        path = folder / "files" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    store_path = folder / "store.duckdb"
    outcome = load_files([folder / "files"], store_path=store_path, pseudonymiser=PSEUDONYMISER)
    assert outcome.status == "loaded", cli.format_outcome(outcome)
    assert not outcome.problems and not outcome.unreadable, cli.format_outcome(outcome)
    return store_path, fingerprint(store_path)


@pytest.fixture
def store_copy(baseline, tmp_path) -> Path:
    target = tmp_path / "store" / "store.duckdb"
    target.parent.mkdir()
    shutil.copy(baseline[0], target)
    return target


# --- no network, no file system ---------------------------------------------------------------


@pytest.fixture(scope="module")
def listener():
    """A TCP server on 127.0.0.1 that records every connection: the corpus's http://127.0.0.1:9/
    is pointed here in the copies loaded, so that a fetch by libxml2 itself (which bypasses
    Python's sockets) would be seen."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    connections: list[tuple] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, address = server.accept()
            except (TimeoutError, OSError):
                continue
            connections.append(address)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(timeout=2)
    server.close()


@pytest.fixture
def no_network(listener, monkeypatch):
    """Python-level connections fail and are recorded; the listener sees any other."""
    port, connections = listener
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] if len(args) > 1 else args)
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    seen = len(connections)
    yield port
    time.sleep(0.01)  # let the listener thread take a connection made at the very end
    assert attempts == [], f"the loader tried to connect: {attempts}"
    assert connections[seen:] == [], "the loader connected to the local listener"


def copy_case(case: Case, folder: Path, port: int) -> Path:
    """The case's file (or SSDA903 folder) copied into ``folder``; in text files the corpus's
    http://127.0.0.1:9/ now points at the listening port."""
    for relative, content in case.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".xml", ".csv"):
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                old, new = (f"127.0.0.1:{p}/".encode(encoding) for p in (9, port))
                content = content.replace(old, new)
        path.write_bytes(content)
    return folder / case.name


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for line in PASSWD_LINES:
            assert line not in text, "the content of /etc/passwd was read"


# --- memory and time ---------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@contextmanager
def bounded(request, what: str):
    """Time and peak memory (RSS, so libxml2's and pandas' own allocations count) of one load.

    On Linux the peak is reset first (/proc/self/clear_refs), so it is this load's own; where
    that cannot be done, only growth beyond the process's earlier peak (``ru_maxrss``) is seen.
    The figures are recorded (the test's ``user_properties``, e.g. in pytest --junitxml) and
    checked against the safety bounds only.
    """
    reset = False
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        pass
    start_rss = _status_kb("VmRSS") if reset else None
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    usage: dict[str, float] = {}
    yield usage
    usage["seconds"] = time.perf_counter() - started
    if reset and start_rss is not None:
        usage["peak_growth_mb"] = max(0, (_status_kb("VmHWM") or 0) - start_rss) / 1024
    else:
        usage["peak_growth_mb"] = (
            max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
        )
    request.node.user_properties += [
        (f"{what} seconds", round(usage["seconds"], 3)),
        (f"{what} peak memory growth MB", round(usage["peak_growth_mb"], 1)),
    ]
    assert usage["seconds"] < MAX_SECONDS, f"{what} took {usage['seconds']:.0f} s"
    assert usage["peak_growth_mb"] < MAX_PEAK_GROWTH_MB, (
        f"{what} grew memory by {usage['peak_growth_mb']:.0f} MB"
    )


# --- checking an outcome -------------------------------------------------------------------------


def names_of(case: Case) -> set[str]:
    return {Path(relative).name for relative in case.files}


def check_outcome(case: Case, outcome: LoadOutcome, text: str) -> None:
    """What the command line's loader must have done with ``case`` (``text``: its report)."""
    assert any(name in text for name in names_of(case)), "the outcome does not name the file"
    assert case.message in text, f"expected {case.message!r} in:\n{text}"
    errors = [p for p in outcome.problems if p.severity == ERROR]
    if case.expect == "refused":
        assert outcome.status == "nothing loaded", text
        assert outcome.exit_code == 1
        (unreadable,) = outcome.unreadable
        assert unreadable.file in names_of(case)
        assert case.message in unreadable.reason
        assert len(unreadable.reason) < 1000, "the reason is not a short clear message"
    elif case.expect == "ignored":
        assert outcome.status == "nothing loaded", text
        assert set(outcome.ignored) == names_of(case)
    elif case.expect == "no_records":
        assert outcome.status == "nothing loaded", text
        assert not outcome.unreadable and outcome.results
        assert all(c.read == 0 for r in outcome.results for c in r.counts.values())
    elif case.expect == "set_aside":
        assert outcome.status == "nothing loaded", text
        assert errors and not outcome.unreadable
        assert all(c.valid == 0 for r in outcome.results for c in r.counts.values())
    elif case.expect == "partial":
        assert outcome.status == "loaded", text
        assert outcome.exit_code == 0
        assert errors, "a partly bad file must report the records set aside"
    elif case.expect == "loaded":
        assert outcome.status == "loaded", text
        assert errors == [], text
    else:
        raise AssertionError(case.expect)
    if case.problem:
        file, location, field, value = case.problem
        found = [
            p
            for p in outcome.problems
            if (p.file, p.field, p.value or None) == (file, field, value)
            and p.location.startswith(location)
            and re.fullmatch(r"(row|line) \d+", p.location)
        ]
        assert found, f"no problem {case.problem} in:\n{text}"
        assert all(p.expected for p in found)
    for table, valid in case.valid.items():
        counts = [r.counts[table] for r in outcome.results if table in r.counts]
        assert counts and sum(c.valid for c in counts) == valid, (table, counts)


def stored_problems(store_path: Path, load_id: int) -> set[tuple]:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        return set(
            con.execute(
                "SELECT file_name, location, field FROM load_problems WHERE load_id = ?",
                [load_id],
            ).fetchall()
        )
    finally:
        con.close()


# --- the corpus through the command line's loader ---------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_file_through_the_loader(case, baseline, store_copy, tmp_path, no_network, request):
    source = copy_case(case, tmp_path / "in", no_network)
    store_bytes = file_digest(store_copy)
    with bounded(request, "load"):
        outcome = load_files([source], store_path=store_copy, pseudonymiser=PSEUDONYMISER)
    text = cli.format_outcome(outcome)
    check_outcome(case, outcome, text)
    tables = store_rows(store_copy)
    if case.expect in WHOLLY_REFUSED:
        assert fingerprint_of(tables) == baseline[1], "a refused file changed the store"
        assert file_digest(store_copy) == store_bytes, "a refused file changed the store file"
    else:
        assert outcome.load_id is not None
        assert fingerprint_of(tables) != baseline[1]
        if case.problem:  # stored in the problem log, located (identifying values withheld)
            file, location, field, _value = case.problem
            assert any(
                (f, fld) == (file, field) and loc.startswith(location)
                for f, loc, fld in stored_problems(store_copy, outcome.load_id)
            )
    assert_no_secrets(text, everything_in(tables))


# --- the corpus through the app's upload ------------------------------------------------------


@pytest.fixture
def settings(store_copy, tmp_path, monkeypatch):
    base = load_settings(REPO / "config.toml")
    monkeypatch.setenv(base.key_env, KEY)
    return dataclasses.replace(
        base,
        store_path=store_copy,
        demo_store=tmp_path / "demo.duckdb",
        key_file=tmp_path / "absent.key",
    )


def upload_text(outcome) -> str:
    files = outcome.files()
    problems = outcome.problems()
    return "\n".join(
        [
            outcome.message,
            *outcome.all_notes(),
            *(f"{r.file}: {r.outcome}" for r in files.itertuples()),
            *(
                f"{r.file} {r.where} {r.field} {r.value} {r.expected}"
                for r in problems.itertuples()
            ),
        ]
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_file_through_the_upload(case, baseline, settings, tmp_path, no_network, request):
    source = copy_case(case, tmp_path / "in", no_network)
    given = (
        [(p.name, p.read_bytes()) for p in sorted(source.iterdir())]
        if source.is_dir()
        else [(source.name, source.read_bytes())]
    )
    temp_root = tmp_path / "uploads"
    temp_root.mkdir()
    with bounded(request, "upload"):
        outcome = load_uploaded(given, settings=settings, temp_root=temp_root)
    text = upload_text(outcome)
    assert any(name in text for name in names_of(case)), text
    assert (case.upload_message or case.message) in text, text
    expected_status = "loaded" if case.expect in ("partial", "loaded") else "nothing loaded"
    assert outcome.status == expected_status, text
    tables = store_rows(settings.store_path)
    if case.expect in WHOLLY_REFUSED:
        assert fingerprint_of(tables) == baseline[1], "a refused upload changed the store"
    assert list(temp_root.iterdir()) == []  # the uploaded copies are gone
    assert_no_secrets(text, everything_in(tables))


# --- huge files, made here ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "what", "expect", "message"), HUGE_CASES, ids=[c[0] for c in HUGE_CASES]
)
def test_huge_file(
    name,
    what,
    expect,
    message,
    baseline,
    store_copy,
    settings,
    tmp_path,
    no_network,
    request,
):
    folder = tmp_path / "huge"
    folder.mkdir()
    path = make_huge(name, folder)
    files = sorted(path.iterdir()) if path.is_dir() else [path]  # an SSDA903 set is a folder
    names = {p.name for p in files}
    try:
        with bounded(request, "load"):
            outcome = load_files([path], store_path=store_copy, pseudonymiser=PSEUDONYMISER)
        text = cli.format_outcome(outcome)
        assert any(n in text for n in names) and message in text, text[-2000:]
        assert len(text) < 20_000, "the report repeats the file's content"
        if expect == "refused":
            assert outcome.status == "nothing loaded"
            (unreadable,) = outcome.unreadable
            assert unreadable.file in names and message in unreadable.reason
            assert fingerprint(store_copy) == baseline[1]
        else:
            assert outcome.status == "loaded" and not outcome.unreadable, text[-2000:]
        assert_no_secrets(text)
        # The app: over 200 MB is refused before anything is written; the rest as above.
        shutil.copy(baseline[0], store_copy)
        given = [(p.name, p.read_bytes()) for p in files]
        with bounded(request, "upload"):
            uploaded = load_uploaded(given, settings=settings, temp_root=tmp_path)
        del given
        words = upload_text(uploaded)
        if sum(p.stat().st_size for p in files) > 200 * MB:
            assert uploaded.status == "refused" and UPLOAD_TOO_LARGE in words, words
            assert fingerprint(store_copy) == baseline[1]
        else:
            assert message in words, words[-2000:]
    finally:
        for file in files:  # hundreds of MB: not left in pytest's temporary folders
            file.unlink(missing_ok=True)


# --- formula injection: loaded as text, defused on export ------------------------------------


def stored_services(case_name: str, store_path: Path, folder: Path) -> list[tuple[str, str]]:
    """Load one corpus file of commissioned services; (service, provider) as stored."""
    (case,) = [c for c in CASES if c.name == case_name]
    source = copy_case(case, folder, 9)
    outcome = load_files([source], store_path=store_path, pseudonymiser=PSEUDONYMISER)
    assert outcome.status == "loaded", cli.format_outcome(outcome)
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        return con.execute(
            "SELECT service, provider FROM commissioned_services ORDER BY start_date"
        ).fetchall()
    finally:
        con.close()


def test_formulas_load_as_text_and_are_defused_on_export(tmp_path):
    hyperlink = '=HYPERLINK("http://127.0.0.1:9/","click")'
    stored = stored_services("services_formula_injection.csv", tmp_path / "a.duckdb", tmp_path)
    # As written (a leading tab stripped, as any leading space): text, never evaluated.
    assert stored == [
        (hyperlink, "Riverside Family Trust"),
        ("Safe at Home", "+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "-2+3"),
        ("Evening Club", "=1+1"),
    ]
    # A workbook: formula text loads as text; a real formula cell gives its cached text.
    from_xlsx = stored_services("services_formula_injection.xlsx", tmp_path / "b.duckdb", tmp_path)
    assert from_xlsx == [("Family Steps", hyperlink), ("Safe at Home", "@SUM(1+1)")]

    frame = pd.DataFrame(stored, columns=["service", "provider"])
    written = export.table_csv(frame, threshold=5).decode("utf-8-sig")
    shown = pd.read_csv(io.StringIO(written), dtype=str, keep_default_na=False)
    assert shown.values.tolist() == [
        ["'" + hyperlink, "Riverside Family Trust"],
        ["Safe at Home", "'+cmd|' /C calc'!A0"],
        ["'@SUM(1+1)", "'-2+3"],
        ["Evening Club", "'=1+1"],
    ]
    # Excel: the same cells are text, never formulas.
    book = openpyxl.load_workbook(io.BytesIO(export.table_xlsx(frame, threshold=5)))
    cells = [c for row in book.worksheets[0].iter_rows(min_row=2) for c in row]
    assert all(c.data_type == "s" and not str(c.value).startswith("=") for c in cells)
    assert [c.value for c in cells][:2] == ["'" + hyperlink, "Riverside Family Trust"]


# --- the corpus itself -------------------------------------------------------------------------


def test_the_corpus_is_as_the_generator_makes_it(tmp_path):
    made = make_corpus.write_corpus(tmp_path / "corpus")
    committed = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path / "corpus") for p in made) == committed
    for path in made:
        relative = path.relative_to(tmp_path / "corpus")
        assert path.read_bytes() == (CORPUS / relative).read_bytes(), relative
    assert README.read_text() == make_corpus.readme()


def test_the_corpus_covers_every_category_in_small_files():
    assert len(CASES) >= 55
    assert len({c.name for c in CASES}) == len(CASES)
    categories = {c.category for c in CASES} | {make_corpus.HUGE}
    assert categories == {
        make_corpus.ENTITY,
        make_corpus.EXTERNAL,
        make_corpus.MALFORMED,
        make_corpus.ENCODING,
        make_corpus.COLUMNS,
        make_corpus.CODES,
        make_corpus.DATES,
        make_corpus.DUPLICATES,
        make_corpus.EMPTY,
        make_corpus.ZIP,
        make_corpus.FORMULA,
        make_corpus.HUGE,
    }
    sizes = [p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()]
    assert max(sizes) <= 50 * 1024 and sum(sizes) < 1024 * 1024
