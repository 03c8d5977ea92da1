"""Groups side by side: any indicator for children in need, disabled children, children on a
plan, looked-after children, care leavers, the neglect cohort and unaccompanied children, each
with its gap to all children (framework/engine/groups.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import (
    filter_caption,
    groups_matrix,
    groups_view,
    indicator_choice,
    latest_period_label,
    shown,
    sidebar_filters,
)
from app_pages.downloads import chart_downloads, table_downloads
from framework.charts import bar_with_intervals
from framework.disclosure import SUPPRESSED
from framework.engine.catalogue import catalogue
from framework.engine.groups import ALL_CHILDREN
from framework.engine.overview import boxes
from framework.formatting import interval_text, value_text

require()  # signed in, with a role that may see aggregate pages (checked on every run)

st.title("Groups side by side")
st.caption(
    "Each group against all children. Groups overlap (a child on a plan is also a child in "
    "need), so a group is compared with all children, not with the other groups."
)
latest = latest_period_label()  # None: no store, or nothing dated in it
if latest is None:
    st.info("No returns or local data are loaded yet: there is nothing to show.")
    st.stop()
filters = sidebar_filters(latest)
if filters.group is not None:
    st.sidebar.caption("This page shows every group: the group filter is not applied here.")
st.subheader(filter_caption(filters._replace(group=None)))

chosen = indicator_choice(list(catalogue().ids))
view = groups_view(chosen, filters.period, filters.where)
statistic = view.record.statistic
st.markdown(f"**{view.record.id} {view.record.label}**: {view.record.definition}")


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    hidden = table["suppressed"].fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "group": table["group"],
            **({"category": table["category"]} if table["category"].notna().any() else {}),
            "value": [
                value_text(v, statistic, hidden=h)
                for v, h in zip(table["value"], hidden, strict=True)
            ],
            "95% interval": [
                SUPPRESSED if h else interval_text(lo, hi, statistic)
                for lo, hi, h in zip(table["ci_low"], table["ci_high"], hidden, strict=True)
            ],
            "gap to all children": [
                SUPPRESSED if h else value_text(g, statistic, sign=True)
                for g, h in zip(table["gap"], table["gap_hidden"], strict=True)
            ],
            "numerator": table["numerator"],
            "denominator": table["denominator"],
        }
    )


if view.reason:
    st.info(f"No groups to compare: {view.reason}.")
else:
    table = view.table
    if table["category"].notna().any():
        category = st.selectbox("Category", list(dict.fromkeys(table["category"].dropna())))
        table = table[table["category"] == category]
    readable = _readable(table)
    chart = made_chart(bar_with_intervals, table, "group", statistic, highlight=ALL_CHILDREN)
    if chart is not None:
        pairs = zip(readable["group"], readable["value"], strict=True)
        words = "; ".join(f"{g}: {v}" for g, v in pairs)
        draw_chart(chart, alt=f"{view.record.label} by group. {words}")
    st.dataframe(shown(readable, ["numerator", "denominator"]), hide_index=True)
    table_downloads(
        table.assign(statistic=statistic),
        name=f"{view.record.id} by group",
        indicator_ids=[view.record.id],
        filters=filters,
    )
    chart_downloads(chart, name=f"{view.record.id} by group", filters=filters)
    st.caption(
        f"Bars: values with their 95% interval; all children in grey. {SUPPRESSED}: hidden "
        "because it rests on a small count (a gap is hidden when either value is). "
        "A group missing from the chart has no value to draw."
    )

st.subheader("The overview's headline indicators, by group")
headline_ids = tuple(i for box in boxes() for i in box.headlines)
matrix = groups_matrix(headline_ids, filters.period, filters.where)
group_columns = [c for c in matrix.columns if c.endswith(" hidden")]
readable = pd.DataFrame({"id": matrix["indicator_id"], "indicator": matrix["label"]})
for hidden_column in group_columns:
    column = hidden_column.removesuffix(" hidden")
    readable[column] = [
        value_text(v, s, hidden=bool(h))
        for v, s, h in zip(matrix[column], matrix["statistic"], matrix[hidden_column], strict=True)
    ]
st.dataframe(readable, hide_index=True)
table_downloads(readable, name="headlines by group", indicator_ids=headline_ids, filters=filters)
st.caption(
    f"{SUPPRESSED}: hidden. Blank: no data for that group (or the indicator's units, such as "
    "staff or survey answers, are not children's)."
)
