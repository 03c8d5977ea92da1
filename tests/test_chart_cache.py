"""Charts made once per view (app_pages/charts.py): built once for the same inputs, built
again for new ones, checked for disclosure when made, and drawn as Streamlit draws Altair."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from app_pages import charts
from framework.charts import trend_chart

BUILT: list[tuple] = []


def counted_bars(data: pd.DataFrame, title: str) -> alt.Chart | None:
    """A bar chart that records each time it is built."""
    BUILT.append((len(data), title))
    if data.empty:
        return None
    return alt.Chart(data).mark_bar().encode(x="ward:N", y=alt.Y("children:Q", title=title))


@pytest.fixture(autouse=True)
def fresh_cache():
    charts._made.clear()
    BUILT.clear()
    yield
    charts._made.clear()


def wards(*children: int) -> pd.DataFrame:
    return pd.DataFrame({"ward": [f"W{i}" for i in range(len(children))], "children": children})


def test_the_same_inputs_build_the_chart_once():
    first = charts.made_chart(counted_bars, wards(40, 50), "children")
    again = charts.made_chart(counted_bars, wards(40, 50), "children")  # equal, not the same
    assert BUILT == [(2, "children")]
    assert first == again
    assert first.spec["encoding"]["y"]["title"] == "children"


def test_new_data_or_options_build_it_again():
    charts.made_chart(counted_bars, wards(40, 50), "children")
    changed = charts.made_chart(counted_bars, wards(40, 51), "children")
    charts.made_chart(counted_bars, wards(40, 50), "pupils")
    assert len(BUILT) == 3
    values = next(iter(changed.spec["datasets"].values()))
    assert [row["children"] for row in values] == [40, 51]


def test_nothing_to_draw_is_none():
    assert charts.made_chart(counted_bars, wards(), "children") is None


def test_a_chart_holding_a_small_count_is_refused_for_download_when_made():
    made = charts.made_chart(counted_bars, wards(40, 3), "children")
    assert made.refused is not None and "children" in made.refused
    assert charts.made_chart(counted_bars, wards(40, 6), "children").refused is None


def test_a_builder_the_cache_cannot_name_is_refused():
    with pytest.raises(TypeError, match="top-level"):
        charts.made_chart(lambda: None)


def test_drawn_as_streamlit_draws_an_altair_chart():
    trend = pd.DataFrame(
        {
            "period": ["2023-24", "2024-25"],
            "value": [0.5, 0.6],
            "ci_low": [0.4, 0.5],
            "ci_high": [0.6, 0.7],
            "suppressed": [False, False],
            "status": ["ok", "ok"],
        }
    )
    made = charts.made_chart(trend_chart, trend, "proportion")
    assert made.spec["config"]["view"] == {"continuousWidth": 300, "continuousHeight": 300}
    screen = charts.for_screen(made.spec)
    assert "config" not in screen  # Streamlit switches Altair's default theme off
    assert screen["layer"] == made.spec["layer"] and screen["datasets"] == made.spec["datasets"]


def test_only_the_default_theme_size_is_left_out():
    spec = {"mark": "bar", "config": {"view": {"continuousWidth": 300, "stroke": None}}}
    assert charts.for_screen(spec) == {"mark": "bar", "config": {"view": {"stroke": None}}}
    spec = {"mark": "bar", "config": {"view": {"continuousHeight": 200}, "axis": {"grid": False}}}
    assert charts.for_screen(spec) == spec
