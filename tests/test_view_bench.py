"""The first-view benchmark (tests/view_bench.py) runs the pages' engine calls and reports them."""

from __future__ import annotations

from tests.engine_store import save_store
from tests.test_place import place_store
from tests.view_bench import KINDS, markdown, run, views_to_ask


def test_views_are_drawn_as_people_draw_them(tmp_path):
    from framework.store import store

    path = save_store(place_store(), tmp_path / "store.duckdb")
    con = store.connect(path, read_only=True)
    try:
        first, again = views_to_ask(con, 60, seed=3), views_to_ask(con, 60, seed=3)
    finally:
        con.close()
    assert first == again  # seeded: the same views every run
    assert {view.kind for view in first} == set(KINDS)
    assert any(view.where for view in first) and any(not view.where for view in first)
    assert all(view.group is None for view in first if view.kind == "groups")
    assert all(not view.where for view in first if view.kind == "deciles")


def test_each_view_is_made_once_and_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_WARM_UP", "0")
    path = save_store(place_store(), tmp_path / "store.duckdb")
    reading, rows, timed = run(path, 5, count=12, seed=1)
    assert len(timed) == 12 and all(t.seconds > 0 for t in timed)
    report = markdown(reading, rows, timed, seed=1)
    assert "| **all** | 12 |" in report
    for kind in {t.view.kind for t in timed}:
        assert f"| {kind} |" in report
