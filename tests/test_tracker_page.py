"""The child-level tracker page (issue 8, part 3) on the demo authority: what an analyst sees,
what is written to the audit log, how its files are marked, and that nothing child-level is
kept on disk beside the store."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from framework.audit import AuditLog
from framework.export import CHILD_LEVEL, child_level_csv, child_level_xlsx

REPO = Path(__file__).resolve().parents[1]
DEMO_STORE = REPO / "data" / "demo.duckdb"


@pytest.fixture
def tracker_page(tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    if not DEMO_STORE.exists():
        pytest.skip("the demo store is not built (python -m framework demo-store)")
    config = tmp_path / "config.toml"
    text = (REPO / "config.toml").read_text()
    text = text.replace('audit_log = ""', f'audit_log = "{tmp_path / "audit.jsonl"}"')
    text = text.replace('store = "data/demo.duckdb"', f'store = "{DEMO_STORE}"')
    config.write_text(
        text.replace('directory = "data/demo"', f'directory = "{REPO / "data/demo"}"')
    )
    monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
    monkeypatch.setenv("OUTCOMES_MODE", "demo")
    monkeypatch.setenv("OUTCOMES_WARM_UP", "0")
    monkeypatch.chdir(REPO)
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    return app.switch_page("app_pages/tracker.py").run(), AuditLog(tmp_path / "audit.jsonl")


def test_an_analyst_sees_one_row_per_child_with_the_authoritys_id(tracker_page):
    app, _ = tracker_page
    assert not app.exception
    table = app.dataframe[0].value
    assert table["Child (pseudonym)"].is_unique
    # Every demo child is in the id map: the authority's own ids are shown here only.
    assert table["Authority's child id"].str.match(r"^DMT\d{7}$").all()
    children, red, amber, green = (int(m.value.replace(",", "")) for m in app.metric)
    assert children == len(table) == red + amber + green
    assert list(table["RAG"]) == sorted(
        table["RAG"], key=["Red", "Amber", "Green"].index
    )  # red first
    assert (table.loc[table["RAG"] == "Green", "Reasons"] == "").all()
    assert (table.loc[table["RAG"] != "Green", "Reasons"] != "").all()


def test_the_rules_are_stated(tracker_page):
    app, _ = tracker_page
    rules = app.dataframe[1].value
    assert {"Red", "Amber"} <= set(rules["Colour"])
    assert rules["Why this threshold"].str.len().min() > 10


def test_choosing_a_cohort_is_audited_once_per_choice(tracker_page):
    app, log = tracker_page
    app = app.run()  # a rerun of the same choice is not a new view
    [cohort] = [s for s in app.selectbox if s.label == "Cohort"]
    app = cohort.set_value("cla").run()
    views = [e["details"] for e in log.entries() if e["event"] == "child_level_view"]
    assert [v["cohort"] for v in views] == ["cp", "cla"]
    assert views[1]["children"] == len(app.dataframe[0].value)
    # who and what, never which children
    assert "DMT" not in log.path.read_text()


def test_only_colours_chosen_are_listed(tracker_page):
    app, _ = tracker_page
    app = app.get("button_group")[0].set_value(["red"]).run()
    assert set(app.dataframe[0].value["RAG"]) == {"Red"}


def test_nothing_child_level_is_saved_beside_the_store(tracker_page):
    app, _ = tracker_page
    ids = set(app.dataframe[0].value["Child (pseudonym)"])
    saved = DEMO_STORE.with_suffix(".duckdb.views")
    folder = saved if saved.exists() else DEMO_STORE.parent / (DEMO_STORE.name + ".views")
    for path in folder.glob("*") if folder.exists() else []:
        content = path.read_bytes()
        assert not any(child.encode() in content for child in list(ids)[:50]), path


def test_child_level_files_are_marked_and_defused():
    table = pd.DataFrame({"Child": ["A1", '=HYPERLINK("http://x")'], "Attendance": [0.9, None]})
    text = child_level_csv(table).decode("utf-8-sig")
    assert text.splitlines()[0] == f'"{CHILD_LEVEL}"'
    assert "'=HYPERLINK" in text
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(child_level_xlsx({"Tracker": table}, {"Cohort": "CP"})))
    assert book.sheetnames == ["Tracker", "About"]
    for sheet in book.worksheets:
        assert sheet["A1"].value == CHILD_LEVEL
    assert book["Tracker"]["A4"].value == '\'=HYPERLINK("http://x")'
    assert book["Tracker"]["A4"].data_type == "s"
