"""The meeting pack's benchmarking, funding and neglect pages (framework/pack_sections.py):
they say what the app's pages say, keep DfE's symbols, and never write a small count."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest

from framework import export, pack_sections
from framework.disclosure import SUPPRESSED
from framework.engine.periods import Period
from framework.meeting_pack import PackSection, meeting_pack_html
from tests.test_place import place_store

PERIOD = Period.parse("2024-25")


@pytest.fixture(scope="module", autouse=True)
def fixed_version():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "app_version", lambda: "9.9.9-test")
        yield


@pytest.fixture(scope="module")
def store():
    con = place_store()
    con.execute("INSERT INTO loads (load_id, started_at, tool_version) VALUES (1, now(), 't')")
    return con


def _pack(con, extra) -> str:
    from framework.engine.overview import overview
    from framework.export import store_provenance
    from framework.meeting_pack import render_pack

    return render_pack(
        overview(con, PERIOD),
        [],
        period=PERIOD,
        threshold=5,
        authority="Testshire",
        demo=False,
        filters_text="",
        provenance=store_provenance(con, authority="Testshire", threshold=5, store="s"),
        extra=extra,
    )


def _glance() -> pd.DataFrame:
    """Two shared measures as ``benchmarking.overview_table`` gives them: re-referrals (lower is
    better: a quarter band and a flag) and the CLA rate (no polarity), whose figure DfE
    suppressed ("c")."""
    return pd.DataFrame(
        {
            "shared_id": ["re_referrals", "cla_rate"],
            "label": ["Re-referrals (%)", "Looked after per 10,000"],
            "unit": ["percent", "rate per 10,000"],
            "indicator_id": ["B2.1", None],
            "polarity": ["lower_better", "none"],
            "time_period": ["2025", "2025"],
            "value": [26.0, float("nan")],
            "value_code": [None, "c"],
            "england": [22.6, 70.0],
            "region": [21.3, 76.0],
            "neighbours_average": [20.97, 81.9],
            "band": ["worst quarter", None],
            "flag": ["worse and getting worse", None],
            "flag_words": ["Worse than England (26.0% against 22.6%) and getting worse.", ""],
        }
    )


def test_benchmarking_page_keeps_symbols_bands_and_flags(store):
    section = pack_sections.benchmarking_section(_glance(), "Testshire")
    html = _pack(store, [section])
    assert '<h2 id="section-benchmarking-title">Benchmarking</h2>' in html
    page = html[html.index("section-benchmarking") :]
    assert '<td class="num">26.0%</td>' in page and '<td class="num">22.6%</td>' in page
    # DfE's "c" is written as published, never 0; no band without polarity.
    assert '<td class="num">c</td>' in page
    assert "— (no polarity)" in page and "worst quarter" in page
    assert "Worse and getting worse: Worse than England (26.0% against 22.6%)" in page


def test_no_flag_is_said_in_words(store):
    calm = _glance().assign(flag=[None, None])
    section = pack_sections.benchmarking_section(calm, "Testshire")
    assert any("No shared measure is both worse" in p for p in section.paragraphs)


def test_funding_page_hides_a_small_count_and_the_figure_on_it(store):
    # 2024-25: £900,000 spent; 3 looked after on 31 March (1 to 5: hidden, and so is £ per
    # looked-after child); 40 children in need: £900,000 / 40 = £22,500 each.
    per_child = pd.DataFrame(
        {
            "year": ["2024-25"],
            "spend_gbp": [900_000.0],
            "children_0_17": [1_200.0],
            "per_child_gbp": [750.0],
            "children_in_need": [40.0],
            "per_child_in_need_gbp": [22_500.0],
            "looked_after_31_march": [float("nan")],
            "per_looked_after_child_gbp": [float("nan")],
        }
    )
    empty = pd.DataFrame(columns=["area_name"])
    position = SimpleNamespace(value=float("nan"))
    section = pack_sections.funding_section(per_child, empty, position, "Testshire")
    html = _pack(store, [section])
    page = html[html.index("section-funding-context") :]
    assert "£22,500" in page and "£750" in page
    row = re.search(r"<tr><th scope=\"row\">2024-25</th>(.*?)</tr>", page).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[5] == SUPPRESSED and cells[6] == ""  # the count c, the figure on it not shown
    assert "no link between what authorities spend" in page


def test_a_section_table_with_a_small_count_is_refused(store):
    leaky = PackSection(
        "Leaky", tables=(("Children", pd.DataFrame({"area": ["X"], "children": [3]})),)
    )
    with pytest.raises(export.DisclosureError):
        _pack(store, [leaky])


def test_meeting_pack_html_still_works_without_extras(store):
    html = meeting_pack_html(store, PERIOD, threshold=5, authority="Testshire", store="s")
    assert "section-" not in html
