"""Trends: an indicator over years or half-years with its 95% interval, the authority's own
events from config.toml drawn on the chart, and the change said in words with its test
(framework/engine/trends.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import (
    filter_caption,
    indicator_choice,
    latest_period_label,
    settings,
    shown,
    sidebar_filters,
    trend_view,
)
from app_pages.downloads import chart_downloads, table_downloads
from framework.charts import trend_chart
from framework.disclosure import SUPPRESSED
from framework.engine.catalogue import catalogue
from framework.engine.periods import Period
from framework.formatting import READING, interval_text, trend_words, value_text

require()  # signed in, with a role that may see aggregate pages (checked on every run)

st.title("Trends")
st.caption(
    "Where the authority is on its improvement journey: conditions and culture usually change "
    "first, child outcomes later; better assessment can raise the number of plans."
)
latest = latest_period_label()  # None: no store, or nothing dated in it
if latest is None:
    st.info("No returns or local data are loaded yet: there is nothing to show.")
    st.stop()
filters = sidebar_filters(latest)
st.subheader(filter_caption(filters))

ids = [i.id for i in catalogue().indicators if i.statistic != "fact"]
chosen = indicator_choice(ids)
steps = st.radio(
    "Over",
    ["years", "half-years"],
    horizontal=True,
    index=int(st.query_params.get("steps") == "half-years"),
)
st.query_params["steps"] = steps
period = Period.parse(filters.period)
if steps == "half-years":
    period = period if period.is_half else Period(period.end_year, 2)
    count = 10
else:
    period = Period(period.end_year)
    count = 5
view = trend_view(chosen, period.label, filters.group, filters.where, count)
record = view.record
st.markdown(f"**{record.id} {record.label}**: {record.definition}")

by = "category" if record.statistic == "distribution" else None
chart = made_chart(trend_chart, view.trend, record.statistic, events=view.events, by=by)
if chart is None:
    st.caption("No trend to draw: nothing shown in these periods.")
else:
    alt_text = f"{record.label}. " + (
        trend_words(view.trend, record.statistic) if by is None else "One line per category."
    )
    draw_chart(chart, alt=alt_text)
    st.caption(
        "The band is the 95% interval; a period whose value is hidden is left out. Dashed "
        "lines: the authority's own events (config.toml)."
    )
    chart_downloads(chart, name=f"{record.id} trend", filters=filters)

for change in view.changes:
    reading = READING.get(change.direction or "", "")
    st.markdown(f"- {change.words}" + (f" **{reading}**" if change.significant else ""))
if record.polarity == "none":
    st.caption("This indicator has no direction: a rise is neither good nor bad in itself.")

hidden = view.trend["suppressed"].fillna(False).astype(bool)
table = pd.DataFrame(
    {
        "period": view.trend["period"],
        **({"category": view.trend["category"]} if view.trend["category"].notna().any() else {}),
        "value": [
            value_text(v, record.statistic, hidden=h)
            for v, h in zip(view.trend["value"], hidden, strict=True)
        ],
        "95% interval": [
            SUPPRESSED if h else interval_text(lo, hi, record.statistic)
            for lo, hi, h in zip(view.trend["ci_low"], view.trend["ci_high"], hidden, strict=True)
        ],
        "numerator": view.trend["numerator"],
        "denominator": view.trend["denominator"],
        "note": view.trend["status"].where(view.trend["status"] != "ok", ""),
    }
)
st.dataframe(shown(table, ["numerator", "denominator"]), hide_index=True)
table_downloads(
    view.trend.assign(statistic=record.statistic),
    name=f"{record.id} trend",
    indicator_ids=[record.id],
    filters=filters,
)
if not view.events.empty:
    st.markdown("**Events**")
    st.dataframe(view.events, hide_index=True)
elif not settings().events:
    st.caption("No events are listed: add [[event]] entries to config.toml to draw them here.")
