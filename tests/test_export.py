"""Exports (framework/export.py): tables to CSV and Excel with hidden cells as c, charts to PNG
and SVG, and the last guard that refuses any count from 1 to the threshold."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import altair as alt
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import export
from framework.charts import trend_chart
from framework.engine.suppression import protect
from framework.export import (
    DisclosureError,
    Provenance,
    check_disclosure,
    count_columns,
    export_frame,
    table_csv,
    table_xlsx,
)

BOM = "\ufeff"


@pytest.fixture(autouse=True)
def no_git(monkeypatch):
    """The version written on exports, fixed (and no git command run by the tests)."""
    monkeypatch.setattr(export, "app_version", lambda: "9.9.9-test")


def by_group() -> pd.DataFrame:
    """B1.2 by group as the engine gives it: children in need 53 of 80; on a plan hidden
    (numerator and value missing, suppressed); looked after: no data (missing, not hidden)."""
    return pd.DataFrame(
        {
            "indicator_id": ["B1.2", "B1.2", "B1.2"],
            "group": ["cin", "cp", "cla"],
            "statistic": ["proportion"] * 3,
            "numerator": pd.array([53.0, None, None], dtype="Float64"),
            "denominator": pd.array([80.0, 12.0, None], dtype="Float64"),
            "value": pd.array([0.6625, None, None], dtype="Float64"),
            "ci_low": pd.array([0.55, None, None], dtype="Float64"),
            "ci_high": pd.array([0.76, None, None], dtype="Float64"),
            "change_significant": pd.array([False, None, None], dtype="boolean"),
            "suppressed": [False, True, False],
        }
    )


# --- worked examples ---------------------------------------------------------------------------


def test_csv_writes_hidden_cells_as_c_and_no_data_blank():
    text = table_csv(by_group(), 5).decode("utf-8")
    assert text == (
        BOM + "indicator_id,group,statistic,numerator,denominator,value,ci_low,ci_high,"
        "change_significant,suppressed\n"
        "B1.2,cin,proportion,53,80,0.6625,0.55,0.76,False,False\n"
        "B1.2,cp,proportion,c,12,c,c,c,c,True\n"
        "B1.2,cla,proportion,,,,,,,False\n"
    )


def test_a_readable_table_passes_through_with_its_c():
    readable = pd.DataFrame(
        {"id": ["B1.2", "B1.3"], "value": ["66.3%", "c"], "numerator": ["1,234", "c"]}
    )
    text = table_csv(readable, 5).decode("utf-8-sig")
    assert text == 'id,value,numerator\nB1.2,66.3%,"1,234"\nB1.3,c,c\n'


def test_excel_has_the_table_its_definitions_and_provenance():
    provenance = Provenance(
        authority="Demoton",
        threshold=5,
        period="2024-25",
        filters="2024-25 · children in need · ward: Ward One",
        demo=True,
        store="demo.duckdb",
        made_at="2025-06-01 10:00",
    )
    data = table_xlsx(by_group(), 5, name="B1.2 by group", provenance=provenance)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["B1.2 by group", "Definitions", "Provenance"]

    table = [[c.value for c in row] for row in book["B1.2 by group"].iter_rows()]
    assert table[0][:6] == [
        "indicator_id",
        "group",
        "statistic",
        "numerator",
        "denominator",
        "value",
    ]
    assert table[1][3:6] == [53, 80, 0.6625]
    assert table[2][3:6] == ["c", 12, "c"]  # hidden: c, as text
    assert table[3][3:6] == [None, None, None]  # no data: blank, never 0

    definitions = {row[0].value: row for row in book["Definitions"].iter_rows(min_row=2)}
    assert definitions["B1.2"][1].value == "Referrals ending in no further action"
    assert "no further action" in definitions["B1.2"][2].value
    assert "numerator" in definitions and "c" in definitions

    provenance_rows = {r[0].value: r[1].value for r in book["Provenance"].iter_rows(min_row=2)}
    assert provenance_rows["Period"] == "2024-25"
    assert provenance_rows["Filters"] == "2024-25 · children in need · ward: Ward One"
    assert "1 to 5" in provenance_rows["Disclosure threshold"]
    assert "DEMO" in provenance_rows["Authority"]
    assert provenance_rows["Made by"] == "Outcomes Explorer 9.9.9-test"


def test_definitions_follow_the_indicators_asked_for():
    data = table_xlsx(by_group(), 5, indicator_ids=["C1.1", "B1.2"])
    book = openpyxl.load_workbook(io.BytesIO(data))
    ids = [row[0].value for row in book["Definitions"].iter_rows(min_row=2)]
    assert ids[:2] == ["C1.1", "B1.2"]
    assert book.sheetnames[0] == "Table"


@pytest.mark.parametrize("count", [1, 3, 5])
def test_the_guard_refuses_a_small_count(count):
    frame = pd.DataFrame({"indicator_id": ["X"], "numerator": [count], "denominator": [40]})
    with pytest.raises(DisclosureError, match="numerator"):
        check_disclosure(frame, 5)
    with pytest.raises(DisclosureError):
        table_csv(frame, 5)
    with pytest.raises(DisclosureError):
        table_xlsx(frame, 5)


@pytest.mark.parametrize("count", [0, 6])
def test_the_guard_accepts_zero_and_counts_above_the_threshold(count):
    frame = pd.DataFrame({"indicator_id": ["X"], "numerator": [count], "denominator": [40]})
    check_disclosure(frame, 5)
    assert f"X,{count},40" in table_csv(frame, 5).decode("utf-8-sig")


def test_the_guard_reads_counts_written_as_text_and_other_count_columns():
    with pytest.raises(DisclosureError):
        check_disclosure(pd.DataFrame({"numerator": ["c", "3"]}), 5)
    with pytest.raises(DisclosureError, match="staff_count"):
        check_disclosure(pd.DataFrame({"staff_count": [12, 4]}), 5)
    with pytest.raises(DisclosureError, match="2024-25"):  # named by the caller
        check_disclosure(pd.DataFrame({"2024-25": [40, 2]}), 5, counts=["2024-25"])
    assert count_columns(pd.DataFrame(columns=["units", "respondents", "value", "label"])) == [
        "units",
        "respondents",
    ]


def test_the_guard_refuses_a_small_complement_and_a_hidden_row_that_shows_its_value():
    # 37 of 40: "all but 3" is as disclosive as 3.
    share = pd.DataFrame({"statistic": ["proportion"], "numerator": [37], "denominator": [40]})
    with pytest.raises(DisclosureError, match="differ"):
        check_disclosure(share, 5)
    leak = by_group()
    leak.loc[1, "value"] = 0.25
    with pytest.raises(DisclosureError, match="hidden row shows its value"):
        check_disclosure(leak, 5)


def test_exposure_and_facts_are_not_counts():
    # A ratio's denominator is exposure (4.5 FTE); a fact about the organisation names nobody.
    ratio = pd.DataFrame(
        {"statistic": ["ratio", "fact"], "numerator": [12.0, None], "denominator": [4.5, None],
         "units": [9, 1]}
    )  # fmt: skip
    check_disclosure(ratio, 5)
    with pytest.raises(DisclosureError):
        check_disclosure(ratio.drop(columns="statistic"), 5)  # unknown statistic: counted
    check_disclosure(
        ratio.drop(columns="statistic").iloc[[0]][["denominator"]], 5, statistic="ratio"
    )


def test_text_a_spreadsheet_would_run_is_written_as_text():
    frame = pd.DataFrame(
        {"team": ['=HYPERLINK("x")', "@SUM(A1)", "North"], "change": ["-0.6%", "+1", ""]}
    )
    out = export_frame(frame, 5)
    assert list(out["team"]) == ['\'=HYPERLINK("x")', "'@SUM(A1)", "North"]
    assert list(out["change"]) == ["-0.6%", "+1", ""]  # numbers as text stay as they are
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(frame, 5)))
    cell = book["Table"]["A2"]
    assert cell.data_type == "s" and cell.value.startswith("'=")


# --- charts ------------------------------------------------------------------------------------


def trend() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2022-23", "2023-24", "2024-25"],
            "category": [pd.NA] * 3,
            "value": [0.5, None, 0.6],
            "ci_low": [0.4, None, 0.5],
            "ci_high": [0.6, None, 0.7],
            "suppressed": [False, True, False],
            "status": ["ok"] * 3,
        }
    )


def test_charts_render_as_png_and_svg_without_a_browser():
    chart = trend_chart(trend(), "proportion")
    png = export.chart_png(chart, 5)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = export.chart_svg(chart, 5)
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_a_chart_drawn_from_a_small_count_is_refused():
    data = pd.DataFrame({"ward": ["North", "South"], "children": [40, 3]})
    chart = alt.Chart(data).mark_bar().encode(x="ward:N", y="children:Q")
    with pytest.raises(DisclosureError):
        export.chart_svg(chart, 5)


def test_the_version_falls_back_to_the_package_when_git_is_not_there(monkeypatch):
    monkeypatch.undo()  # the real function, with the command it runs replaced

    def absent(*args, **kwargs):
        raise OSError("no git")

    monkeypatch.setattr(export.subprocess, "run", absent)
    export.app_version.cache_clear()
    try:
        from framework import __version__

        assert export.app_version() == __version__
    finally:
        export.app_version.cache_clear()


# --- properties ----------------------------------------------------------------------------

SEXES = ("F", "M", "U")
CATEGORIES = ("1A", "2B", "3C")


@st.composite
def engine_results(draw) -> pd.DataFrame:
    """Results as the engine makes them before disclosure control: a proportion and a
    distribution, for the whole cohort and by sex (the slices add up to the whole)."""
    rows = []
    per_sex = {s: draw(st.integers(0, 30)) for s in SEXES}
    for sex, denominator in per_sex.items():
        rows.append(("P", "sex", sex, None, draw(st.integers(0, denominator)), denominator))
    total = sum(per_sex.values())
    rows.append(("P", "all", "", None, sum(r[4] for r in rows), total))
    for sex, denominator in per_sex.items():
        left = denominator
        for category in CATEGORIES[:-1]:
            count = draw(st.integers(0, left))
            rows.append(("D", "sex", sex, category, count, denominator))
            left -= count
        rows.append(("D", "sex", sex, CATEGORIES[-1], left, denominator))
    for category in CATEGORIES:
        count = sum(r[4] for r in rows if r[0] == "D" and r[3] == category)
        rows.append(("D", "all", "", category, count, total))
    frame = pd.DataFrame(
        rows, columns=["indicator_id", "slice", "key", "category", "numerator", "denominator"]
    )
    frame["statistic"] = np.where(frame["indicator_id"] == "P", "proportion", "distribution")
    frame["status"] = "ok"
    frame["units"] = frame["denominator"]
    frame["category"] = frame["category"].astype("string")
    numerator = frame["numerator"].to_numpy(dtype=float)
    denominator = frame["denominator"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["value"] = np.where(denominator > 0, numerator / denominator, np.nan)
    frame["ci_low"], frame["ci_high"] = frame["value"] * 0.9, frame["value"] * 1.1
    return frame


def small_cells(values: list[str], threshold: int) -> list[str]:
    out = []
    for value in values:
        if value in ("", "c"):
            continue
        number = float(value)
        if 0 < number <= threshold:
            out.append(value)
    return out


@settings(max_examples=60)
@given(results=engine_results(), threshold=st.sampled_from([3, 5, 10]))
def test_whatever_the_engine_shows_exports_with_no_small_count(results, threshold):
    shown = protect(results, threshold).drop(columns=["key"])
    counts = ["numerator", "denominator", "units"]
    written = table_csv(shown, threshold).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(written)))
    assert len(rows) == len(shown)
    for column in counts:
        assert small_cells([r[column] for r in rows], threshold) == []
    for row, hidden in zip(rows, shown["suppressed"], strict=True):
        assert (row["value"] == "c") == bool(hidden)  # hidden: c; shown values are numbers
        if row["numerator"] not in ("", "c") and row["denominator"] not in ("", "c"):
            gap = float(row["denominator"]) - float(row["numerator"])
            assert not 0 < gap <= threshold
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(shown, threshold)))
    sheet = book["Table"]
    header = [c.value for c in sheet[1]]
    for column in counts:
        position = header.index(column)
        cells = [row[position].value for row in sheet.iter_rows(min_row=2)]
        assert small_cells(["" if v is None else str(v) for v in cells], threshold) == []


@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=1, max_size=12),
    threshold=st.integers(1, 10),
)
def test_the_guard_refuses_exactly_the_small_counts(values, threshold):
    frame = pd.DataFrame({"units": pd.array(values, dtype="Int64")})
    small = any(v is not None and 0 < v <= threshold for v in values)
    if small:
        with pytest.raises(DisclosureError):
            table_csv(frame, threshold)
    else:
        written = table_csv(frame, threshold).decode("utf-8-sig")
        cells = [row[0] for row in csv.reader(io.StringIO(written))][1:]
        assert cells == ["" if v is None else str(v) for v in values]


# --- the buttons pages draw (app_pages/downloads.py) ------------------------------------------


def _downloads_page():
    import pandas as pd

    from app_pages.charts import made_chart
    from app_pages.common import Filters
    from app_pages.downloads import chart_downloads, table_downloads
    from framework.charts import trend_chart
    from tests.test_export import by_group, small_count_bars, trend

    filters = Filters("2024-25", None, ())
    table_downloads(by_group(), name="B1.2 by group", indicator_ids=["B1.2"], filters=filters)
    small = pd.DataFrame({"ward": ["North"], "children": [3]})
    table_downloads(small, name="Children by ward", filters=filters)
    chart = made_chart(trend_chart, trend(), "proportion")
    chart_downloads(chart, name="B1.2 trend", filters=filters)
    chart_downloads(made_chart(small_count_bars), name="Children by ward chart")
    chart_downloads(None, name="nothing")


def small_count_bars() -> alt.Chart:
    """A chart whose data holds a count of 3: never offered for download."""
    data = pd.DataFrame({"ward": ["North", "South"], "children": [40, 3]})
    return alt.Chart(data).mark_bar().encode(x="ward:N", y="children:Q")


def test_pages_get_csv_excel_png_and_svg_buttons_and_never_a_small_count(tmp_path, monkeypatch):
    import streamlit as streamlit
    from streamlit.testing.v1 import AppTest

    from tests.engine_store import save_store
    from tests.test_place import place_store

    repo = Path(__file__).resolve().parents[1]
    store_file = save_store(place_store(), tmp_path / "store.duckdb")
    config = tmp_path / "config.toml"
    text = (repo / "config.toml").read_text()
    config.write_text(text.replace('path = "data/outcomes.duckdb"', f'path = "{store_file}"'))
    monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
    monkeypatch.setenv("OUTCOMES_MODE", "local")
    monkeypatch.chdir(repo)
    streamlit.cache_data.clear()
    streamlit.cache_resource.clear()
    app = AppTest.from_function(_downloads_page, default_timeout=60).run()
    assert not app.exception
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["Download CSV", "Download Excel", "Download PNG", "Download SVG"]
    refused = [c.value for c in app.caption if c.value.startswith("Not offered")]
    assert len(refused) == 2  # the small table and the small chart
    assert all("children" in words and " 3" not in words for words in refused)  # why, not what
