"""Charts on the pages, each built once per view and drawn from its kept Vega-Lite spec.

Building an Altair chart (every channel is checked against Vega-Lite's schema as it is made),
converting it for the browser (checked again) and reading its data for the disclosure check cost
about 0.2 s of a domain page's 0.3 s run on the demo, every run, for the same chart. With twenty
people using the app at once that was most of the page time (docs/benchmarks.md, "Many people at
once"). So a page names a chart's builder and its inputs (``made_chart(trend_chart, trend,
"proportion")``); the chart is built, converted, and checked once per builder and inputs, kept
by Streamlit's data cache, and each later run draws the kept spec.

The builder must be a function at a module's top level (framework/charts.py), so that the cache
can name it; its inputs must be what ``st.cache_data`` can hash (frames, text, numbers, lists).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import streamlit as st

from app_pages.common import settings
from framework.export import DisclosureError, check_chart

# Altair's default theme gives every chart a 300-pixel continuous width and height. Streamlit
# switches that theme off when it draws an Altair chart (it sizes the chart to its column), so a
# spec drawn here leaves them out too; files made for download keep them, as Altair's own
# chart.save does.
_DEFAULT_THEME_VIEW = {"continuousWidth": 300, "continuousHeight": 300}


@dataclass(frozen=True)
class MadeChart:
    """A chart as its Vega-Lite spec (data inline), with what the disclosure check said."""

    spec: dict
    refused: str | None  # why its data may not be downloaded; None when it may


def _builder_name(build) -> str:
    name = f"{build.__module__}:{build.__qualname__}"
    if "<" in build.__qualname__ or build.__module__ in (None, "__main__"):
        raise TypeError(f"{name}: a chart builder must be a module's top-level function")
    return name


@st.cache_data(max_entries=2048, show_spinner=False)
def _made(builder: str, args: tuple, options: tuple, threshold: int) -> MadeChart | None:
    module, name = builder.split(":")
    chart = getattr(importlib.import_module(module), name)(*args, **dict(options))
    if chart is None:
        return None
    spec = chart.to_dict()  # checked against Vega-Lite's schema, once per chart
    try:
        check_chart(spec, threshold)
    except DisclosureError as refused:
        return MadeChart(spec, str(refused))
    return MadeChart(spec, None)


def made_chart(build, *args, **options) -> MadeChart | None:
    """``build(*args, **options)`` (an Altair chart, or None when there is nothing to draw),
    made once for these inputs and kept."""
    threshold = settings().disclosure_threshold
    return _made(_builder_name(build), args, tuple(sorted(options.items())), threshold)


def for_screen(spec: dict) -> dict:
    """The spec as Streamlit draws an Altair chart: without the default theme's fixed size."""
    config = dict(spec.get("config", {}))
    view = {
        k: v
        for k, v in config.get("view", {}).items()
        if k not in _DEFAULT_THEME_VIEW or _DEFAULT_THEME_VIEW[k] != v
    }
    if view:
        config["view"] = view
    else:
        config.pop("view", None)
    screen = {k: v for k, v in spec.items() if k != "config"}
    return {**screen, "config": config} if config else screen


def draw_chart(chart: MadeChart, *, alt: str) -> None:
    """Draw a made chart across its column, with ``alt`` as its words for screen readers."""
    st.vega_lite_chart(spec=for_screen(chart.spec), width="stretch", alt=alt)
