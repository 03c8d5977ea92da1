"""One domain of the framework: all its indicators, and any one of them in full.

Drawn for each domain by app_pages/domain_a.py … domain_d.py. The page asks the engine
(framework/engine/views.py) and draws: values, intervals, change and its reading against the
indicator's polarity all come from the one aggregator, with small numbers already hidden.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import (
    domain_table,
    filter_caption,
    indicator_detail,
    latest_period_label,
    shown,
    sidebar_filters,
)
from app_pages.downloads import chart_downloads, table_downloads
from framework.charts import trend_chart
from framework.disclosure import SUPPRESSED
from framework.engine.catalogue import catalogue
from framework.engine.dimensions import GROUP_LABELS
from framework.formatting import READING, percent, trend_words

COUNTS = ["numerator", "denominator", "value", "ci_low", "ci_high"]  # hidden ones shown as c


def show_domain(letter: str) -> None:
    require()  # signed in, with a role that may see aggregate pages (checked on every run)
    domain = catalogue().domains[letter]
    st.title(f"{letter}. {domain.title}")
    st.caption(domain.question)
    latest = latest_period_label()  # None: no store, or nothing dated in it
    if latest is None:
        st.info("No returns or local data are loaded yet: there is nothing to show.")
        st.stop()
    filters = sidebar_filters(latest)
    period, group, where = filters
    table = domain_table(letter, period, group, where)
    st.subheader(filter_caption(filters))
    st.dataframe(shown(_readable(table), ["value", "interval", "change"]), hide_index=True)
    table_downloads(
        table.drop(columns=["change_p"], errors="ignore"),
        name=f"domain {letter}",
        filters=filters,
    )
    st.caption(
        f"{SUPPRESSED}: hidden because it rests on a count from 1 to the threshold. "
        "A change is called better or worse only when it is larger than chance (p < 0.05) "
        "and the indicator has a direction; many have none."
    )
    ids = [i.id for i in catalogue().in_domain(letter)]
    asked = st.query_params.get("indicator")
    chosen = st.selectbox(
        "Look at one indicator",
        ids,
        index=ids.index(asked) if asked in ids else 0,
        format_func=lambda i: f"{i} {catalogue()[i].label}",
    )
    st.query_params["indicator"] = chosen
    _detail(chosen, filters)


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """The domain table in words and percentages (shares) or plain numbers (others)."""
    shares = table["statistic"].isin(["proportion", "distribution"])
    value = [
        percent(v) if share else (None if pd.isna(v) else f"{v:,.2f}")
        for v, share in zip(table["value"], shares, strict=True)
    ]
    interval = [
        None
        if pd.isna(lo)
        else (f"{percent(lo)} to {percent(hi)}" if share else f"{lo:,.2f} to {hi:,.2f}")
        for lo, hi, share in zip(table["ci_low"], table["ci_high"], shares, strict=True)
    ]
    change = [
        None if pd.isna(c) else (percent(c, sign=True) if share else f"{c:+,.2f}")
        for c, share in zip(table["change"], shares, strict=True)
    ]
    status = table["status"].where(table["status"] != "ok", "")
    out = pd.DataFrame(
        {
            "id": table["indicator_id"],
            "indicator": table["label"],
            "category": table["category"].fillna(""),
            "value": value,
            "interval": interval,
            "change": change,
            "reading": table["direction"].map(READING).fillna(""),
            "note": status,
            "data": table["kind"] + ", " + table["availability"],
        }
    )
    # "No data" is not hidden: leave those cells blank rather than drawing them as hidden.
    empty = table["status"] != "ok"
    for column in ("value", "interval", "change"):
        out.loc[empty, column] = ""
    return out


def _detail(indicator_id: str, filters) -> None:
    period, group, where = filters
    detail = indicator_detail(indicator_id, period, group, where)
    record = detail.record
    st.subheader(f"{record.id} {record.label}")
    st.write(record.definition)
    st.caption(
        f"Unit: {record.unit} · cohort: {record.cohort} · data: {record.kind}, "
        f"{record.availability} · direction: {record.polarity.replace('_', ' ')}"
    )
    st.dataframe(
        shown(_without_empty(detail.whole.drop(columns=["status"])), COUNTS), hide_index=True
    )
    _trend_chart(detail.trend, record.statistic, record.id, filters)
    left, right = st.columns(2)
    with left:
        st.markdown("**By group**")
        if detail.by_group.empty:
            st.caption("These units are not children's, so they have no group.")
        else:
            by_group = detail.by_group.assign(group=detail.by_group["group"].map(GROUP_LABELS))
            st.dataframe(shown(_without_empty(by_group), COUNTS), hide_index=True)
            table_downloads(
                by_group.assign(statistic=record.statistic),
                name=f"{record.id} by group",
                indicator_ids=[record.id],
                filters=filters,
            )
    with right:
        st.markdown("**By deprivation (IMD decile)**")
        view = detail.by_decile
        if view is None or view.table.empty:
            st.caption("Not by decile: the units do not live anywhere, or there is no data.")
        else:
            st.dataframe(shown(view.table.rename(columns={"area": "decile"})), hide_index=True)
            gradient = view.gradient
            if gradient.reason:
                st.caption(f"No gradient: {gradient.reason}.")
            else:
                st.caption(
                    f"Slope index of inequality {gradient.sii:+.1%} "
                    f"({gradient.sii_low:+.1%} to {gradient.sii_high:+.1%})."
                )
    st.markdown("**Read it beside** (no indicator is read alone)")
    if detail.related.empty:
        st.caption("No related indicators are listed for this one.")
    else:
        st.dataframe(shown(detail.related, ["value", "ci_low", "ci_high"]), hide_index=True)
    for caveat in record.caveats:
        st.caption(f"⚠ {caveat}")
    if record.crosswalks:
        st.caption("Also measured as: " + "; ".join(record.crosswalks))


def _without_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Without columns that say nothing here (e.g. no category for a single share)."""
    return frame.drop(columns=[c for c in ("category",) if c in frame and frame[c].isna().all()])


def _trend_chart(trend: pd.DataFrame, statistic: str, indicator_id: str, filters) -> None:
    """Values over the years with their 95% interval as a band; hidden years are gaps."""
    chart = made_chart(trend_chart, trend, statistic)
    if chart is None:
        st.caption("No trend to draw: nothing shown in these years.")
        return
    draw_chart(chart, alt=trend_words(trend, statistic))
    st.caption("The band is the 95% interval; a year whose value is hidden is left out.")
    chart_downloads(chart, name=f"{indicator_id} trend", filters=filters)
    table_downloads(
        trend.assign(statistic=statistic),
        name=f"{indicator_id} trend",
        indicator_ids=[indicator_id],
        filters=filters,
    )
