"""Views worked out ahead after a load (framework/engine/precompute.py): a view read from a
bundle is the view worked out fresh; a bundle of another store version, threshold or code is
never read; only one process works on a store; bundles hold aggregate rows only."""

from __future__ import annotations

import os
import pickle
import signal
import time
import zlib

import pandas as pd
import pytest

from framework.cli import main
from framework.engine import aggregate, precompute, views
from framework.engine.dimensions import GROUPS
from framework.engine.overview import overview
from framework.engine.periods import Period
from framework.engine.place import area_view, deprivation_view
from framework.store import store
from tests.engine_store import save_store
from tests.test_place import place_store

YEAR = Period.parse("2024-25")


@pytest.fixture
def forget(monkeypatch):
    """Each test starts with nothing kept in memory across evaluations."""
    monkeypatch.setattr(aggregate, "_SHARED", aggregate.OrderedDict())
    monkeypatch.setattr(aggregate, "_BUNDLED", {})
    monkeypatch.setattr(aggregate, "_shared_rows", 0)


@pytest.fixture
def builds(monkeypatch):
    """How many times a joint result is worked out (rather than read)."""
    calls = []
    real = aggregate._build_joint

    def counted(cache, measures, year, group, threshold):
        calls.append((tuple(m.indicator_id for m in measures), year.label, group))
        return real(cache, measures, year, group, threshold)

    monkeypatch.setattr(aggregate, "_build_joint", counted)
    return calls


def _views(path) -> dict[str, pd.DataFrame]:
    """What pages show for 2024-25 (with change since 2023-24), for all children: domain B
    for the whole authority and in one small area, the map by small area, the gradient by
    IMD decile and the overview's headlines."""
    con = store.connect(path, read_only=True)
    try:
        return {
            "domain": views.domain_table(con, "B", YEAR, threshold=5),
            "domain in X1": views.domain_table(con, "B", YEAR, where=(("lsoa", "X1"),)),
            "map": area_view(con, "B1.2", YEAR, level="lsoa").table,
            "gradient": deprivation_view(con, "B1.2", YEAR, index="imd").table,
            "overview": overview(con, YEAR, threshold=5, years=2).headlines,
        }
    finally:
        con.close()


def _forget_memory() -> None:
    aggregate._SHARED.clear()
    aggregate._BUNDLED.clear()
    aggregate._shared_rows = 0


def test_a_view_read_from_a_bundle_is_the_view_worked_out_fresh(tmp_path, forget, builds):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    fresh = _views(path)
    assert builds, "the views were worked out"
    _forget_memory()

    made = precompute.precompute(path, 5, years=2, groups=(None,))
    assert [(m.year, m.group) for m in made] == [("2024-25", None), ("2023-24", None)]
    assert all(m.seconds > 0 for m in made)
    assert made[0].rows > 0

    _forget_memory()
    builds.clear()
    again = _views(path)
    assert builds == [], "every joint result was read from the year's bundle"
    for name, frame in fresh.items():
        pd.testing.assert_frame_equal(again[name], frame, obj=name)


def test_bundles_already_made_are_kept_and_another_version_is_not_read(tmp_path, forget, builds):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    precompute.precompute(path, 5, years=2, groups=(None,))
    assert all(m.seconds == 0 for m in precompute.precompute(path, 5, years=2, groups=(None,)))

    # Another threshold: its own bundles, the first ones not read.
    _forget_memory()
    builds.clear()
    con = store.connect(path, read_only=True)
    try:
        views.domain_table(con, "B", YEAR, threshold=7)
    finally:
        con.close()
    assert builds, "a bundle made with threshold 5 is not read for threshold 7"

    # Another store version (a load changes the file): the old bundles are not read.
    _forget_memory()
    builds.clear()
    later = time.time() + 5
    os.utime(path, (later, later))
    _views(path)
    assert builds, "a bundle of the store before the load is not read"


def test_a_bundle_holds_aggregate_rows_only(tmp_path, forget):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    precompute.precompute(path, 5, years=1, groups=(None,))
    bundles = sorted(precompute.bundle_directory(path).glob("*.bundle"))
    assert len(bundles) == 1
    assert all(oct(b.stat().st_mode & 0o777) == "0o600" for b in bundles)
    contents = pickle.loads(zlib.decompress(bundles[0].read_bytes()))
    rows = contents["rows"]
    assert not {"child_id", "unit_id", "postcode"} & set(rows.columns)
    assert set(rows.columns) <= set(aggregate.RESULT_COLUMNS) | {"ind", "key", "sd"}
    # Small areas appear by their codes, and no shown count is from 1 to 5.
    shown = rows[~rows["suppressed"].astype(bool) & (rows["status"] == "ok")]
    counts = pd.concat([shown["numerator"], shown["denominator"]]).dropna()
    assert not ((counts > 0) & (counts <= 5)).any()


def test_the_memory_kept_across_evaluations_is_bounded_by_rows(tmp_path, forget, monkeypatch):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    monkeypatch.setattr(aggregate, "SHARED_ROWS_KEPT", 50)
    _views(path)
    kept = sum(len(joint.rows) for joint in aggregate._SHARED.values())
    assert kept == aggregate._shared_rows
    assert kept <= 50 or len(aggregate._SHARED) == 1


def test_only_one_process_works_on_a_store(tmp_path, capsys):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    with precompute.only_one(path) as alone:
        assert alone
        with precompute.only_one(path) as second:
            assert not second
        assert main(["precompute", "--store", str(path)]) == 0
        assert "Another process" in capsys.readouterr().out
    assert not list(precompute.bundle_directory(path).glob("*.bundle"))


def test_the_command_line_works_out_every_year_and_says_so(tmp_path, capsys, forget):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    assert main(["precompute", "--store", str(path), "--years", "1"]) == 0
    out = capsys.readouterr().out
    assert "2024-25 all children:" in out
    assert f"{1 + len(GROUPS)} year-and-group results made" in out
    assert main(["precompute", "--store", str(tmp_path / "none.duckdb")]) == 1


def test_the_background_process_starts_detached_and_can_be_switched_off(tmp_path, monkeypatch):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    monkeypatch.setenv("OUTCOMES_WARM_UP", "0")
    assert precompute.start_in_background(path) is None
    monkeypatch.setenv("OUTCOMES_WARM_UP", "1")
    process = precompute.start_in_background(path)
    try:
        directory = precompute.bundle_directory(path)
        log_file = directory / precompute.LOG_NAME

        def said_so() -> bool:  # the bundle is written first, then the line about it
            return log_file.exists() and "2024-25 all children:" in log_file.read_text()

        deadline = time.monotonic() + 120
        while not said_so() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert list(directory.glob("2024-25.all.*.bundle"))
        assert os.getpgid(process.pid) != os.getpgid(0)  # its own session: outlives the page
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    log = (directory / precompute.LOG_NAME).read_text()
    assert "2024-25 all children:" in log and "C1" not in log
