"""Protected results worked out ahead of time, after a load, and kept on disk beside the store.

Why. Every place filter, place slicing, year and half of a linked set of indicators is
protected together (aggregate.py, "across views"), so the first view of a year and group costs
5–30 s of CPU: the whole joint result is made before any one filter can be read from it. In a
meeting, twenty people each asking for a view nobody has asked for yet would wait minutes. But
one joint result serves every page, filter, map and trend of its year and group, and a store
changes only when something is loaded. So after a load a separate, low-priority process works
out the joint results of every year the store covers, for all children and each group, and
saves each (year, group) as one *bundle*; the app reads a bundle instead of working it out.

A bundle holds only what pages are shown from: aggregate rows after disclosure control, with
how their units are kept apart. It is keyed on the store's identity (path, size, modification
time), the year, the group, the threshold and the engine's code version, so a bundle made from
another load, other settings or other code is never read.

``python -m framework precompute`` runs it in the foreground; the app and ``load`` start it in
the background (``start_in_background``), one process per store at a time (a lock file).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
import traceback
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from framework.engine.periods import Period

SUFFIX = ".protected"  # the folder beside the store: <store>.protected/
BUNDLES_KEPT = 240  # on disk: a store of 10 years × 9 groups, and a version before it
# Other results kept on disk (``kept_result``, about 5 KB each), counted apart from bundles.
# The neglect page's three results for the whole authority and each place, every year, are
# worked out ahead: 10 years × 45 places × 3 is 1,350. With 240, a load test found the
# latest year's pushed out by the earlier years' made after it.
RESULTS_KEPT = 4_000
RESULTS_IN_MEMORY = 256  # of them, per process
READ_AHEAD_ROWS = 2_000_000  # rows a process reads ahead from bundles (half of what it keeps)
LOCK_NAME = ".precompute.lock"
LOG_NAME = "precompute.log"
SWITCH = "OUTCOMES_WARM_UP"  # "0": never start the background process (tests, benchmarks)
PROJECT = Path(__file__).resolve().parents[2]

log = logging.getLogger(__name__)

# Files this process has written, by suffix (".bundle", ".result"): a run of ``precompute``
# compares its own count with what is kept (``_say_if_pushed_out``).
WRITTEN: Counter[str] = Counter()
_WRITTEN_LOCK = threading.Lock()


@functools.cache
def code_version() -> str:
    """A fingerprint of the engine's code and catalogue: a result made by other code is never
    read back."""
    digest = hashlib.sha256()
    framework = PROJECT / "framework"
    for path in sorted([*framework.rglob("*.py"), *framework.rglob("*.toml")]):
        digest.update(path.relative_to(framework).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --- bundles on disk --------------------------------------------------------------------------


def bundle_directory(store_path: Path | str) -> Path:
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + SUFFIX)


def bundle_path(identity: tuple, year: str, group: str | None, threshold: int) -> Path:
    """Where the bundle of this store version, year, group and threshold is kept."""
    key = repr((tuple(identity), year, group, threshold, code_version()))
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return bundle_directory(identity[0]) / f"{year}.{group or 'all'}.{digest}.bundle"


def write_bundle(path: Path, contents: dict) -> None:
    """Write atomically (a reader sees the whole bundle or none), readable only by this user,
    then keep only the newest ``BUNDLES_KEPT``."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = zlib.compress(pickle.dumps(contents, protocol=pickle.HIGHEST_PROTOCOL), 1)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(payload)
    partial.replace(path)
    with _WRITTEN_LOCK:
        WRITTEN[path.suffix] += 1
    # Bundles and other results are counted apart, so that a day of filtered views cannot
    # push out the bundles the whole app reads.
    limit = BUNDLES_KEPT if path.suffix == ".bundle" else RESULTS_KEPT
    kept = sorted(path.parent.glob(f"*{path.suffix}"), key=lambda p: p.stat().st_mtime)
    for old in kept[:-limit]:
        old.unlink(missing_ok=True)


def read_bundle(path: Path) -> dict | None:
    """The bundle's contents, or None when there is none (or it cannot be read: it is then
    worked out again, never trusted half-read)."""
    try:
        with path.open("rb") as handle:
            payload = handle.read()
        # Written by this app's own precompute, in a folder only its user can write.
        return pickle.loads(zlib.decompress(payload))
    except (OSError, zlib.error, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


# --- other results, kept once per store version ------------------------------------------------

_RESULTS: OrderedDict[tuple, object] = OrderedDict()
_RESULTS_LOCK = threading.Lock()
_READING_AHEAD = threading.Lock()


def result_path(identity: tuple, name: str, key: tuple) -> Path:
    """Where the result ``name`` for ``key`` of this store version is kept."""
    digest = hashlib.sha256(repr((tuple(identity), name, key, code_version())).encode())
    return bundle_directory(identity[0]) / f"{name}.{digest.hexdigest()[:24]}.result"


def kept_result(identity: tuple | None, name: str, key: tuple, make: Callable[[], object]):
    """``make()``, worked out once per store version: from this process's memory, else from
    its file beside the store (made by another process, or by the views worked out ahead),
    else made now and kept in both. Without an identity (a store that may change under its
    connection) it is made every time. The result is shared: callers must not change it.

    For protected results that are not joint ones (the neglect services' outcomes): each takes
    seconds, is the same for every person who asks, and changes only with a load."""
    if identity is None:
        return make()
    memo = (tuple(identity), name, key)
    with _RESULTS_LOCK:
        if memo in _RESULTS:
            _RESULTS.move_to_end(memo)
            return _RESULTS[memo]
    path = result_path(identity, name, key)
    contents = read_bundle(path)
    if contents is not None and contents.get("request") == memo:
        result = contents["result"]
    else:
        result = make()
        with contextlib.suppress(OSError):  # a folder it cannot write: kept in memory only
            write_bundle(path, {"request": memo, "result": result})
    with _RESULTS_LOCK:
        _RESULTS[memo] = result
        while len(_RESULTS) > RESULTS_IN_MEMORY:
            _RESULTS.popitem(last=False)
    return result


# --- read ahead into a process's memory ---------------------------------------------------------


def read_ahead(store_path: Path, threshold: int, rows: int = READ_AHEAD_ROWS) -> int:
    """Read the bundles already made for the store into this process's memory, the latest year
    first (all children, then each group), until about ``rows`` rows are kept; returns how
    many were read. An app process calls it in a thread when it starts: its first views then
    slice results already in memory instead of each reading and unpacking bundles while a
    meeting waits."""
    from framework.engine import aggregate
    from framework.engine.dimensions import GROUPS
    from framework.store import store

    with contextlib.closing(store.connect(store_path, read_only=True, wait=0)) as con:
        identity = aggregate.store_identity(con)
        years = store_years(con)
    if identity is None:
        return 0
    read = 0
    # One reader at a time: serve.py starts one as the server starts and the app another on
    # its first page; the second then finds every bundle read and reads nothing.
    with _READING_AHEAD:
        for year in years:
            for group in (None, *GROUPS):
                if read >= rows:
                    return read
                read += aggregate.keep_bundle(identity, year.label, group, threshold)
    return read


def start_reading_ahead(store_path: Path, threshold: int) -> threading.Thread | None:
    """``read_ahead`` in a thread of this process, unless switched off (``OUTCOMES_WARM_UP=0``:
    tests). A failure is logged without its message (which could quote a record) and leaves
    the views to read their bundles when asked."""
    if os.environ.get(SWITCH, "1") == "0" or not Path(store_path).exists():
        return None

    def run() -> None:
        started = time.perf_counter()
        try:
            rows = read_ahead(Path(store_path), threshold)
        except Exception:
            log.warning("reading views ahead failed:\n%s", _where_it_failed())
            return
        log.info("read %d rows of views ahead in %.1f s", rows, time.perf_counter() - started)

    thread = threading.Thread(target=run, name="read-views-ahead", daemon=True)
    thread.start()
    return thread


# --- working them out -------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    year: str
    group: str | None
    seconds: float  # 0 when the bundle was already there
    rows: int


TREND_REACH = 4  # a five-year trend of the earliest year reaches four years before it


def store_years(con: duckdb.DuckDBPyConnection) -> list[Period]:
    """The financial years any return or local file in the store covers, latest first, then
    the years before the earliest that its change and trend reach (empty, but still worked
    out by a view that asks)."""
    rows = con.execute(
        "SELECT DISTINCT collection_year FROM load_files WHERE collection_year > 0 "
        "ORDER BY collection_year DESC"
    ).fetchall()
    years = [Period(int(year)) for (year,) in rows]
    if years:
        years += [Period(years[-1].end_year - back) for back in range(1, TREND_REACH + 1)]
    return years


def precompute(
    store_path: Path,
    threshold: int,
    *,
    years: int | None = None,
    groups: tuple[str | None, ...] | None = None,
    report: Callable[[Made], None] = lambda made: None,
) -> list[Made]:
    """Make the bundle of every year the store covers (``store_years``; the latest ``years``
    when given), latest first, for all children and then each group (or ``groups``); bundles
    already made are kept."""
    from framework.engine import aggregate
    from framework.store import store

    with contextlib.closing(store.connect(store_path, read_only=True)) as con:
        identity = aggregate.store_identity(con)
        if identity is None:
            raise ValueError(f"{store_path} is not a store file that can be read")
        years_made = store_years(con)[:years]
    made = []
    written_before = WRITTEN.copy()
    try:
        for each in _make_every(store_path, identity, years_made, groups, threshold):
            made.append(each)
            report(each)
    finally:
        _say_if_pushed_out(WRITTEN - written_before)
    return made


def _make_every(store_path, identity, years_made, groups, threshold) -> Iterator[Made]:
    """Each year and group's bundle, made or found, in turn."""
    from framework.engine import aggregate
    from framework.engine.dimensions import GROUPS
    from framework.store import store

    for year in years_made:
        for group in (None, *GROUPS) if groups is None else groups:
            path = bundle_path(identity, year.label, group, threshold)
            if path.exists():
                yield Made(year.label, group, 0.0, 0)
                continue
            # The file is opened for each year and group, not for the whole run (a quarter of an
            # hour on the demo): a load can only write while no process reads it.
            with contextlib.closing(store.connect(store_path, read_only=True)) as con:
                if aggregate.store_identity(con) != identity:
                    log.info("the store changed while its views were worked out ahead: stopped")
                    return  # the load that changed it starts a new run
                made = _make(con, identity, path, year, group, threshold)
            yield made


def _say_if_pushed_out(written: Counter) -> list[str]:
    """Warn when one run wrote more files than are kept: its earliest (the latest year's, made
    first) were pushed out by its own later ones, and pages will work them out again. A load
    test found this once (420 neglect results against 240 kept); the bounds are sized for ten
    years of an authority with about a hundred localities and wards."""
    warnings = []
    for suffix, limit, name in ((".bundle", BUNDLES_KEPT, "BUNDLES_KEPT"),
                                (".result", RESULTS_KEPT, "RESULTS_KEPT")):  # fmt: skip
        if written[suffix] > limit:
            warnings.append(
                f"this run made {written[suffix]:,} {suffix[1:]} files but only {limit:,} are "
                f"kept ({name} in framework/engine/precompute.py): the earliest made were "
                "pushed out, and pages will work them out again"
            )
    for warning in warnings:
        log.warning(warning)
    return warnings


def _make(con, identity, path: Path, year: Period, group, threshold: int) -> Made:
    from framework.engine import aggregate

    started = time.perf_counter()
    aggregate.protect_every_indicator(con, year, group, threshold)
    for view in _page_views(con, year, group, threshold):
        try:
            view()
        except Exception:  # a view that cannot be made now is made when a page asks
            log.warning("a view could not be worked out ahead:\n%s", _where_it_failed())
    contents = aggregate.joint_bundle(identity, year, group, threshold)
    write_bundle(path, contents)
    rows = len(contents["rows"])
    return Made(year.label, group, time.perf_counter() - started, rows)


def _page_views(con, year: Period, group, threshold: int) -> list[Callable[[], object]]:
    """Views whose own measures (not catalogue indicators) are protected jointly too: the
    overview's demand counts, the journeys' flows and the neglect cohort; and the neglect
    services' outcomes, kept apart (``kept_result``)."""
    from framework.engine import journeys, neglect, overview

    views = [
        lambda: overview.overview(con, year, group=group, threshold=threshold, years=1),
        lambda: journeys.journeys(con, year, group=group, threshold=threshold),
    ]
    if group is None:
        views.append(lambda: neglect.neglect_cohort(con, year, threshold=threshold, years=1))
        views.append(lambda: neglect.work_out_ahead(con, year, threshold))
    return views


def _where_it_failed() -> str:
    """The traceback's frames without the error's message (which could quote a record)."""
    kind, _, trace = sys.exc_info()
    frames = "".join(traceback.format_tb(trace))
    return f"{frames}{kind.__name__ if kind else 'error'}"


# --- in the background ------------------------------------------------------------------------


@contextlib.contextmanager
def only_one(store_path: Path) -> Iterator[bool]:
    """True while this process alone works out the store's bundles (an advisory lock)."""
    directory = bundle_directory(store_path)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(directory / LOCK_NAME, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_in_background(store_path: Path, config: Path | None = None) -> subprocess.Popen | None:
    """Start ``python -m framework precompute --background`` for the store, detached, unless
    switched off (``OUTCOMES_WARM_UP=0``). It waits its turn behind another one for the same
    store and runs at low priority, so pages keep the processor first."""
    if os.environ.get(SWITCH, "1") == "0" or not Path(store_path).exists():
        return None
    command = [sys.executable, "-m", "framework"]
    if config is not None:
        command += ["--config", str(config)]
    command += ["precompute", "--store", str(store_path), "--background"]
    directory = bundle_directory(store_path)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(directory / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "ab") as log_file:
        return subprocess.Popen(
            command,
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # not stopped with the page run or terminal that started it
        )
