"""Results kept once per store version (framework/engine/precompute.py ``kept_result``), the
neglect services' outcomes worked out ahead with them, and bundles read ahead into an app
process's memory (``read_ahead``)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from framework.engine import aggregate, precompute
from framework.engine import neglect as view
from framework.engine.periods import Period
from framework.store import store
from tests.engine_store import save_store, tiny_store
from tests.test_neglect import PERIOD, PRACTICAL
from tests.test_place import place_store
from tests.test_precompute import YEAR, _forget_memory, _views, builds, forget  # noqa: F401


@pytest.fixture
def fresh_results(monkeypatch):
    """Each test starts with no kept result in memory."""
    monkeypatch.setattr(precompute, "_RESULTS", precompute.OrderedDict())


def _identity(tmp_path) -> tuple:
    return (str(tmp_path / "store.duckdb"), 1000, 1.5)


class Maker:
    """A result maker that counts its calls."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


# --- kept_result ---------------------------------------------------------------------------------


def test_a_result_is_made_once_then_read_from_memory_then_from_its_file(tmp_path, fresh_results):
    identity = _identity(tmp_path)
    make = Maker(pd.DataFrame({"n": [10, 20]}))
    first = precompute.kept_result(identity, "demo.view", ("2024-25", (), 5), make)
    again = precompute.kept_result(identity, "demo.view", ("2024-25", (), 5), make)
    assert make.calls == 1 and again is first

    path = precompute.result_path(identity, "demo.view", ("2024-25", (), 5))
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"

    precompute._RESULTS.clear()  # as another process would find it: on disk only
    from_file = precompute.kept_result(identity, "demo.view", ("2024-25", (), 5), make)
    assert make.calls == 1
    pd.testing.assert_frame_equal(from_file, first)

    # Another key, another name or another store version is made on its own.
    precompute.kept_result(identity, "demo.view", ("2024-25", (), 7), make)
    precompute.kept_result(identity, "demo.other", ("2024-25", (), 5), make)
    precompute.kept_result((identity[0], 1001, 1.5), "demo.view", ("2024-25", (), 5), make)
    assert make.calls == 4


def test_without_a_store_identity_a_result_is_made_every_time(fresh_results):
    make = Maker(1)
    precompute.kept_result(None, "demo.view", (), make)
    precompute.kept_result(None, "demo.view", (), make)
    assert make.calls == 2


def test_a_file_made_for_another_request_is_not_read(tmp_path, fresh_results):
    identity = _identity(tmp_path)
    path = precompute.result_path(identity, "demo.view", ("a",))
    precompute.write_bundle(path, {"request": (identity, "demo.view", ("b",)), "result": "b"})
    assert precompute.kept_result(identity, "demo.view", ("a",), Maker("a")) == "a"


def test_a_folder_that_cannot_be_written_keeps_the_result_in_memory(
    tmp_path, fresh_results, monkeypatch
):
    def refused(path, contents):
        raise PermissionError(path)

    monkeypatch.setattr(precompute, "write_bundle", refused)
    make = Maker("made")
    identity = _identity(tmp_path)
    assert precompute.kept_result(identity, "demo.view", (), make) == "made"
    assert precompute.kept_result(identity, "demo.view", (), make) == "made"
    assert make.calls == 1


def test_memory_and_disk_are_bounded_and_results_never_push_out_bundles(
    tmp_path, fresh_results, monkeypatch
):
    monkeypatch.setattr(precompute, "RESULTS_IN_MEMORY", 2)
    monkeypatch.setattr(precompute, "RESULTS_KEPT", 3)
    identity = _identity(tmp_path)
    folder = precompute.bundle_directory(identity[0])
    for year in ("2023-24", "2024-25"):
        precompute.write_bundle(precompute.bundle_path(identity, year, None, 5), {"rows": []})
    for n in range(5):
        precompute.kept_result(identity, "demo.view", (n,), Maker(n))
        os.utime(precompute.result_path(identity, "demo.view", (n,)), (n, n))
    assert len(precompute._RESULTS) == 2
    assert len(list(folder.glob("*.bundle"))) == 2
    left = sorted(folder.glob("*.result"))
    assert len(left) == 3


def test_a_run_says_when_it_wrote_more_files_than_are_kept(caplog):
    """One run of ``precompute`` that writes more results than ``RESULTS_KEPT`` pushes out its
    own earliest (the latest year's): it says so, naming the bound to raise."""
    written = precompute.Counter({".bundle": 3, ".result": precompute.RESULTS_KEPT + 1})
    with caplog.at_level("WARNING", logger=precompute.__name__):
        said = precompute._say_if_pushed_out(written)
    assert len(said) == 1 and "RESULTS_KEPT" in said[0]
    assert f"{precompute.RESULTS_KEPT + 1:,} result files" in caplog.text
    fits = precompute.Counter({".bundle": precompute.BUNDLES_KEPT, ".result": 5})
    assert precompute._say_if_pushed_out(fits) == []


# --- the neglect services' outcomes --------------------------------------------------------------


@pytest.fixture
def neglect_store(tmp_path, fresh_results):
    return save_store(tiny_store(PRACTICAL), tmp_path / "neglect.duckdb")


def _page(con, where=()):
    """What the neglect page asks for first, and a second measure of the funnel."""
    measures = list(view.funnel_measures())
    years = view.FUNNEL_YEARS_SHOWN_FIRST
    return (
        view.service_outcomes(con, PERIOD, where=where),
        view.provider_funnel(con, PERIOD, measures[0], years=years, where=where),
        view.provider_funnel(con, PERIOD, measures[1], years=years, where=where),
    )


A_DECILE = (("imd_decile", "3"),)  # a place the page's filters offer


def test_neglect_outcomes_worked_out_ahead_are_what_the_page_would_make(neglect_store, monkeypatch):
    con = store.connect(neglect_store, read_only=True)
    try:
        fresh = _page(con), _page(con, A_DECILE)
        precompute._RESULTS.clear()
        for made in precompute.bundle_directory(neglect_store).glob("*.result"):
            made.unlink()

        view.work_out_ahead(con, PERIOD, 5)
        # outcomes, served counts and pooled outcomes, for the whole authority and each place
        places = 1 + len(view.places_offered(con))
        made = list(precompute.bundle_directory(neglect_store).glob("*.result"))
        assert len(made) == 3 * places
        precompute._RESULTS.clear()  # another process: only the files

        def not_again(*args, **kwargs):
            raise AssertionError("worked out again instead of read")

        monkeypatch.setattr(view, "evaluate_measures", not_again)
        monkeypatch.setattr(view, "_pooled_outcomes", not_again)
        again = _page(con), _page(con, A_DECILE)
    finally:
        con.close()
    for page_fresh, page_again in zip(fresh, again, strict=True):
        pd.testing.assert_frame_equal(page_again[0].table, page_fresh[0].table)
        pd.testing.assert_frame_equal(page_again[0].served, page_fresh[0].served)
        for before, after in zip(page_fresh[1:], page_again[1:], strict=True):
            pd.testing.assert_frame_equal(after.points, before.points)
            assert after.note == before.note


def test_a_precompute_run_keeps_every_neglect_result_it_makes(neglect_store, monkeypatch, caplog):
    """The whole run, as after a load: every result it writes is still there at its end (the
    load test once found the latest year's pushed out by the earlier years' made after them),
    and a bound one short of what the run makes is said."""
    con = tiny_store(PRACTICAL)
    for period in view.services_available(con).periods:  # the years a load would record
        year = Period.parse(period).end_year
        con.execute(f"INSERT INTO load_files (load_id, collection_year) VALUES (1, {year})")
    neglect_store = save_store(con, neglect_store.with_name("loaded.duckdb"))
    with caplog.at_level("WARNING", logger=precompute.__name__):
        precompute.precompute(neglect_store, 5, groups=(None,))
    folder = precompute.bundle_directory(neglect_store)
    made = len(list(folder.glob("*.result")))
    con = store.connect(neglect_store, read_only=True)
    try:
        years_with_services = len(view.services_available(con).periods)
        places = 1 + len(view.places_offered(con))
    finally:
        con.close()
    assert made == 3 * places * years_with_services > 0
    assert "pushed out" not in caplog.text

    for kept in folder.iterdir():
        kept.unlink()
    precompute._RESULTS.clear()  # a new process: nothing made yet, in memory or on disk
    _forget_memory()
    monkeypatch.setattr(precompute, "RESULTS_KEPT", made - 1)
    with caplog.at_level("WARNING", logger=precompute.__name__):
        precompute.precompute(neglect_store, 5, groups=(None,))
    assert len(list(folder.glob("*.result"))) == made - 1
    assert f"this run made {made:,} result files" in caplog.text


def test_the_places_offered_are_each_locality_ward_and_decile(tmp_path):
    con = store.connect(save_store(place_store(), tmp_path / "places.duckdb"), read_only=True)
    try:
        offered = view.places_offered(con)
        areas = con.execute("SELECT DISTINCT locality, ward_name FROM ref_areas").fetchall()
    finally:
        con.close()
    localities = {(("locality", a),) for a, _ in areas if a}
    wards = {(("ward", w),) for _, w in areas if w}
    deciles = {(("imd_decile", str(d)),) for d in range(1, 11)}
    assert localities and wards
    assert set(offered) == localities | wards | deciles
    assert len(offered) == len(set(offered))  # each once


def test_a_store_opened_for_writing_never_keeps_neglect_outcomes(tmp_path, fresh_results):
    con = tiny_store(PRACTICAL)  # in memory, and writable: it may change under the view
    view.service_outcomes(con, PERIOD)
    assert not precompute._RESULTS


def test_the_views_ahead_include_the_neglect_page(neglect_store):
    con = store.connect(neglect_store, read_only=True)
    try:
        for view_ahead in precompute._page_views(con, PERIOD, None, 5):
            view_ahead()
    finally:
        con.close()
    names = {p.name.split(".")[1] for p in precompute.bundle_directory(neglect_store).iterdir()}
    assert {"outcomes", "served", "pooled"} <= names


# --- bundles read ahead --------------------------------------------------------------------------


def test_bundles_read_ahead_serve_the_first_views_without_a_file(
    tmp_path,
    forget,  # noqa: F811
    builds,  # noqa: F811
    monkeypatch,
):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    precompute.precompute(path, 5, years=2, groups=(None,))
    _forget_memory()
    builds.clear()

    rows = precompute.read_ahead(path, 5)
    assert rows == aggregate._shared_rows > 0
    assert len(aggregate._BUNDLED) == 2  # both years made (the store covers one: its trend too)

    def no_file(path):
        raise AssertionError(f"{path} read again")

    monkeypatch.setattr(precompute, "read_bundle", no_file)
    _views(path)
    assert builds == [], "every joint result was in memory"
    assert precompute.read_ahead(path, 5) == 0, "a bundle already in memory is not read again"


def test_reading_ahead_stops_at_its_row_budget(tmp_path, forget):  # noqa: F811
    path = save_store(place_store(), tmp_path / "store.duckdb")
    precompute.precompute(path, 5, years=2, groups=(None,))
    _forget_memory()
    precompute.read_ahead(path, 5, rows=1)
    assert [p.name.split(".")[0] for p in aggregate._BUNDLED] == [YEAR.label]  # the latest only


def test_reading_ahead_can_be_switched_off(tmp_path, monkeypatch):
    path = save_store(place_store(), tmp_path / "store.duckdb")
    monkeypatch.setenv(precompute.SWITCH, "0")
    assert precompute.start_reading_ahead(path, 5) is None
    monkeypatch.setenv(precompute.SWITCH, "1")
    thread = precompute.start_reading_ahead(path, 5)
    thread.join(timeout=120)
    assert not thread.is_alive()


def test_two_readers_at_once_read_each_bundle_once(tmp_path, forget, monkeypatch):  # noqa: F811
    """serve.py and the app's first page may both start reading ahead: one waits for the
    other, then finds every bundle in memory."""
    import threading

    path = save_store(place_store(), tmp_path / "store.duckdb")
    precompute.precompute(path, 5, years=2, groups=(None,))
    _forget_memory()
    reads = []
    real = precompute.read_bundle

    def counted(bundle):
        reads.append(bundle)
        return real(bundle)

    monkeypatch.setattr(precompute, "read_bundle", counted)
    readers = [threading.Thread(target=precompute.read_ahead, args=(path, 5)) for _ in range(2)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=120)
    assert len(reads) == len(set(reads)) == 2
