"""Journeys: where referrals led, how children moved between plan levels, and re-referrals.

The page asks the engine (framework/engine/journeys.py) and draws: every count, share and
interval comes from the one aggregator with small numbers already hidden. Each chart has its
table beside it and a sentence saying what it shows.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import (
    _options,
    _store_key,
    _view,
    filter_caption,
    latest_period_label,
    settings,
    shown,
    sidebar_filters,
    store_path,
)
from app_pages.downloads import table_downloads
from framework.charts import flow_heatmap, share_bars
from framework.disclosure import SUPPRESSED
from framework.engine.journeys import DEFINITIONS, END_LEVELS, LEVEL_LABELS, LEVELS
from framework.formatting import interval_text, percent, shares_in_words

require()  # signed in, with a role that may see aggregate pages (checked on every run)


def journeys(period: str, group: str | None, where: tuple = ()):
    """The engine's journeys (framework.engine.journeys), cached per store version."""
    return _view(_store_key(), "journeys.journeys", None, period, _options(group, where))


def _number(value) -> str | None:
    return None if pd.isna(value) else f"{value:,.0f}"


def _interval(low, high) -> str | None:
    return interval_text(low, high, "distribution") or None


def _table(frame: pd.DataFrame, labels: dict[str, str], count: str) -> pd.DataFrame:
    """The flow in words: its label columns, the count, the total, the share and interval."""
    out = pd.DataFrame({name: frame[column] for column, name in labels.items()})
    out[count] = [_number(v) for v in frame["numerator"]]
    out["of"] = [_number(v) for v in frame["denominator"]]
    out["share"] = [percent(v) for v in frame["value"]]
    out["95% interval"] = [
        _interval(lo, hi) for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
    ]
    return shown(out, [count, "of", "share", "95% interval"])


def _words(label: str) -> str:
    """A label inside a sentence: "No plan" -> "no plan", but "CiN plan" stays."""
    first = label.split()[0]
    return label[0].lower() + label[1:] if first[1:].islower() else label


def _largest(frame: pd.DataFrame) -> pd.Series | None:
    """The shown row with the largest count (None when every count is hidden or zero)."""
    rows = frame[~frame["suppressed"].astype(bool) & (frame["numerator"].fillna(0) > 0)]
    return None if rows.empty else rows.loc[rows["numerator"].astype(float).idxmax()]


def _total(frame: pd.DataFrame) -> str | None:
    totals = frame["denominator"].dropna()
    return None if totals.empty else f"{totals.iloc[0]:,.0f}"


# --- the page ---------------------------------------------------------------------------------

st.title("Journeys")
st.caption(
    "Where referrals led, how children moved between plan levels, and who was referred again."
)
if not store_path().exists():
    st.warning("No store yet: load returns, or run `make run` for the demo authority.")
    st.stop()
latest = latest_period_label()
if latest is None:
    st.info("No returns are loaded yet, so there are no journeys to show.")
    st.stop()
filters = sidebar_filters(latest)
period = filters.period
threshold = settings().disclosure_threshold
view = journeys(*filters)
st.subheader(filter_caption(filters))
st.caption(
    f"Small numbers are hidden: a count from 1 to {threshold}, and any count that would let one "
    f'be worked out from a total, shows as "{SUPPRESSED}" in the tables and in the charts, '
    "with no bar or colour. Intervals are 95%."
)

# 1. Referral outcomes
st.markdown("### Where referrals led")
outcomes = view.referral_outcomes
if outcomes.empty:
    st.info("No referrals were received in this period for these children.")
else:
    draw_chart(
        made_chart(share_bars, outcomes, "share of referrals received"),
        alt="Where referrals led. "
        + shares_in_words(outcomes["label"], outcomes["value"], outcomes["suppressed"]),
    )
    st.dataframe(_table(outcomes, {"label": "outcome"}, "referrals"), hide_index=True)
    table_downloads(
        outcomes.assign(statistic="distribution"), name="referral outcomes", filters=filters
    )
    top, total = _largest(outcomes), _total(outcomes)
    if top is None or total is None:
        st.caption("Too few referrals to say where most of them led.")
    else:
        st.caption(
            f"Of {total} referrals received in {period}, the most common outcome was "
            f"{_words(top['label'])} ({percent(top['value'])}, "
            f"95% interval {_interval(top['ci_low'], top['ci_high'])})."
        )
with st.expander("How referral outcomes are counted"):
    st.write(DEFINITIONS["referral_outcomes"])

# 2. Plan levels
st.markdown("### Between plan levels")
levels = view.plan_levels
if levels.empty:
    st.info("No child had a plan in this period among these children.")
else:
    heatmap = made_chart(
        flow_heatmap,
        levels,
        starts=[LEVEL_LABELS[v] for v in LEVELS],
        ends=[LEVEL_LABELS[v] for v in END_LEVELS],
    )
    draw_chart(
        heatmap,
        alt="Children by plan level at the start and end of the period. "
        + shares_in_words(
            levels["start_label"] + " to " + levels["end_label"],
            levels["value"],
            levels["suppressed"],
        ),
    )
    st.dataframe(
        _table(
            levels,
            {"start_label": "at the start", "end_label": "at the end", "movement": "movement"},
            "children",
        ),
        hide_index=True,
    )
    table_downloads(levels.assign(statistic="distribution"), name="plan levels", filters=filters)
    moved = levels[levels["start"] != levels["end"]]
    top, total = _largest(moved), _total(levels)
    if top is None or total is None:
        st.caption("Too few children with a plan to say how most of them moved.")
    else:
        st.caption(
            f"Of {total} children with a plan in {period}, the largest movement was from "
            f"{_words(top['start_label'])} to {_words(top['end_label'])} "
            f"({top['numerator']:,.0f} children, {percent(top['value'])}: {top['movement']}). "
            "Above the diagonal children stepped up; below it they stepped down or left."
        )
with st.expander("How plan levels are counted"):
    st.write(DEFINITIONS["plan_levels"])

# 3. Re-referrals
st.markdown("### Re-referrals")
re_referrals = view.re_referrals
if re_referrals.empty:
    st.info("No referrals were received in this period for these children.")
else:
    again = re_referrals[re_referrals["category"] != "not_re_referred"]
    draw_chart(
        made_chart(share_bars, again, "share of all referrals received"),
        alt="Re-referrals. " + shares_in_words(again["label"], again["value"], again["suppressed"]),
    )
    st.dataframe(_table(re_referrals, {"label": "referral"}, "referrals"), hide_index=True)
    table_downloads(
        re_referrals.assign(statistic="distribution"), name="re-referrals", filters=filters
    )
    first = re_referrals[re_referrals["category"] == "not_re_referred"].iloc[0]
    if first["suppressed"] or _total(re_referrals) is None:
        st.caption("Too few referrals to say how many were re-referrals.")
    else:
        rest = 1 - float(first["numerator"]) / float(first["denominator"])
        st.caption(
            f"Of {_total(re_referrals)} referrals received in {period}, "
            f"{percent(rest)} followed another referral of the same child in the 12 months "
            f"before; {percent(first['value'])} did not."
        )
with st.expander("How re-referrals are counted"):
    st.write(DEFINITIONS["re_referrals"])
