"""The overview: the framework's mechanism at a glance, with its context.

Four boxes, read left to right as the framework's figure does: the right conditions and
culture → reaching children and families → children and families valued and involved → child
outcomes. Each headline indicator shows its latest value and interval, a sparkline of up to five
periods, and whether it changed by more than chance; one click opens it in full on its domain's
page. Everything comes from the engine (framework/engine/overview.py).
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.common import (
    filter_caption,
    latest_period_label,
    overview,
    settings,
    sidebar_filters,
)
from app_pages.downloads import table_downloads
from framework.charts import BETTER_TEXT, WORSE_TEXT, sparkline_img
from framework.disclosure import SUPPRESSED
from framework.formatting import interval_text, money, percent, value_text

require()  # signed in, with a role that may see aggregate pages (checked on every run)

DOMAIN_PAGES = {letter: f"app_pages/domain_{letter.lower()}.py" for letter in "ABCD"}
NOTES = {
    "no data": "no data",
    "not by group": "not for a group of children",
    "not by area": "not for an area (anonymous or not about one child)",
}

st.title("Outcomes at a glance")
latest = latest_period_label()  # None: no store, or nothing dated in it
if latest is None:
    st.info("No returns or local data are loaded yet: there is nothing to show.")
    st.stop()
filters = sidebar_filters(latest)
view = overview(*filters)
st.caption(f"{settings().authority_name} · {filter_caption(filters)}")


def _context_strip(context: pd.DataFrame) -> None:
    """Demand, deprivation and spend: not scored by the framework, but needed to read it."""
    st.markdown("**Context**")
    columns = st.columns(len(context))
    for column, row in zip(columns, context.itertuples(), strict=True):
        if row.unit == "pounds":
            value = money(row.value)
        elif row.unit == "share":
            value = percent(row.value) or ""
        else:
            value = SUPPRESSED if pd.isna(row.value) else f"{row.value:,.0f}"
        column.metric(row.measure, value or "–", help=row.detail)
        column.caption(row.detail)


def _direction_html(direction: str | None, polarity: str) -> str:
    """The change in words, coloured only for an indicator with a polarity (spec §11)."""
    if direction in ("better", "worse") and polarity != "none":
        colour, arrow = (BETTER_TEXT, "▲") if direction == "better" else (WORSE_TEXT, "▼")
        return f'<strong style="color:{colour}">{arrow} {direction}</strong>'
    return html.escape(direction if isinstance(direction, str) else "no change to read")


def _headline(row, trend: pd.DataFrame) -> None:
    """One headline: its name (a link to it in full), value, interval, sparkline, change."""
    link_filters = {k: v for k, v in st.query_params.to_dict().items() if k != "indicator"}
    st.markdown(f"**{row.indicator_id}** {row.label}")
    st.page_link(
        DOMAIN_PAGES[row.domain],
        label=f"Open {row.indicator_id} in full",
        query_params={**link_filters, "indicator": row.indicator_id},
        icon=":material/open_in_new:",
    )
    if row.status != "ok":
        st.caption(NOTES.get(row.status, row.status))
        return
    hidden = bool(row.suppressed)
    value = value_text(row.value, row.statistic, hidden=hidden)
    interval = "" if hidden else interval_text(row.ci_low, row.ci_high, row.statistic)
    values = trend["value"].tolist()
    words = ", ".join(
        value_text(v, row.statistic, hidden=bool(s)) or "no data"
        for v, s in zip(trend["value"], trend["suppressed"].fillna(False), strict=True)
    )
    st.html(
        f'<div style="display:flex;gap:0.6em;align-items:center;flex-wrap:wrap">'
        f'<span style="font-size:1.4em;font-weight:600">{html.escape(value)}</span>'
        f'<span style="color:#595959">{html.escape(interval)}</span>'
        f'<span title="{html.escape(words)}">{sparkline_img(values, "Trend: " + words)}</span>'
        f"<span>{_direction_html(row.direction, row.polarity)}</span></div>"
    )


def _box(box, headlines: pd.DataFrame, trends: pd.DataFrame) -> None:
    with st.container(border=True):
        st.markdown(f"**{box.domain}. {box.title}**")
        st.caption(box.plain)
        for row in headlines[headlines["domain"] == box.domain].itertuples():
            _headline(row, trends[trends["indicator_id"] == row.indicator_id])


_context_strip(view.context)
st.markdown("**The framework** (read left to right: conditions come first, outcomes later)")
widths = [10, 1] * (len(view.boxes) - 1) + [10]
columns = st.columns(widths)
for position, box in enumerate(view.boxes):
    with columns[2 * position]:
        _box(box, view.headlines, view.trends)
    if position < len(view.boxes) - 1:
        columns[2 * position + 1].markdown(
            '<div aria-hidden="true" style="font-size:2em;text-align:center;margin-top:3em">'
            "→</div>",
            unsafe_allow_html=True,
        )
table_downloads(
    view.headlines.drop(columns=["change_p"], errors="ignore"),
    name="overview headlines",
    filters=filters,
)
st.caption(
    f"Values with their 95% interval; {SUPPRESSED}: hidden because it rests on a count from 1 "
    f"to {settings().disclosure_threshold}. A change is called better or worse only when it "
    "is larger than chance (p < 0.05) and the indicator has a direction. The sparkline shows "
    "up to five periods; hover over it for the values. No indicator should be read alone: "
    "open one to see the indicators to read beside it."
)
