"""Benchmarking: an authority against England, its region and its statistical neighbours, for
the published statistics the framework shares.

Figures come from the published statistics loaded into the store (framework/engine/
benchmarking.py reads them; DfE's symbols are kept as published). Any authority in them can be
chosen, so the page works for the authority's own figures and for its neighbours'.
"""

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import authority_choice, engine, settings, store_path
from app_pages.downloads import chart_downloads, table_downloads
from framework import readable
from framework.charts import comparison_lines, funnel_chart
from framework.engine.benchmarking import shared_measure
from framework.readable import published as figure

require()  # signed in, with a role that may see aggregate pages (checked on every run)

LOAD_HELP = (
    "No published statistics are loaded. Download the authority-level files from Explore "
    "Education Statistics (Children in need, Children looked after, the social work workforce) "
    "and DfE's statistical neighbour table, and load them on the *Data loaded* page or with "
    "`python -m framework load FOLDER` (see the README)."
)

st.title("Benchmarking")
st.caption(
    "Where an authority stands against England, its region and its ten statistical neighbours, "
    "from DfE's published statistics. Quarters are shown only where higher or lower is clearly "
    "better; authorities are never ranked on one indicator."
)
if not store_path().exists():
    st.warning("No store yet: load returns, or run `make run` for the demo authority.")
    st.stop()
code = authority_choice()
if code is None:
    st.info(LOAD_HELP)
    st.stop()
threshold = settings().disclosure_threshold
table = engine("benchmarking.overview_table", code, threshold=threshold)
if table.empty:
    st.info(LOAD_HELP)
    st.stop()


st.subheader("At a glance")
glance = readable.benchmark_glance(table)
st.dataframe(glance, hide_index=True)
worrying = table[table["flag"] == "worse and getting worse"]
for words in worrying["flag_words"]:
    st.warning(f"**Worse and getting worse:** {words}", icon=":material/trending_down:")
table_downloads(glance, name="benchmarking at a glance", counts=[])

st.subheader("One measure over time")
measures = dict(zip(table["shared_id"], table["label"], strict=True))
chosen = st.selectbox("Measure", list(measures), format_func=measures.get, key="bench_measure")
shared = shared_measure(chosen)
if shared.caveat:
    st.caption(shared.caveat)
series = engine("benchmarking.series", chosen, code, threshold=threshold)
series = series.assign(area=series["area_name"])
value_format = readable.PUBLISHED_FORMAT.get(shared.unit, ".1f")
chart = made_chart(comparison_lines, series, value_format=value_format, value_title=shared.unit)
if chart is not None:
    words = "; ".join(
        f"{r.area} {r.year}: {figure(r.value, r.value_code, shared.unit) or 'no figure'}"
        for r in series[series["role"].isin(["authority", "england"])].itertuples()
    )
    draw_chart(chart, alt=f"{measures[chosen]} over time. {words}")
    chart_downloads(chart, name=f"benchmark {chosen}")
long = pd.DataFrame(
    {
        "Area": series["area_name"],
        "Compared as": series["role"].str.replace("_", " "),
        "Year": series["time_period"],
        "Figure": [
            figure(v, c, shared.unit)
            for v, c in zip(series["value"], series["value_code"], strict=True)
        ],
        "Counted": series["numerator"],
        "Out of": series["denominator"],
    }
)
with st.expander("The figures, every year and area"):
    st.dataframe(long, hide_index=True)
    table_downloads(long, name=f"benchmark {chosen} by year", counts=["Counted", "Out of"])

where = engine("benchmarking.position", chosen, code, threshold=threshold)
if where.n_authorities:
    unit = where.unit
    line = (
        f"In {where.time_period}, of {where.n_authorities} authorities with a figure: lowest "
        f"{figure(where.minimum, None, unit)}, median {figure(where.median, None, unit)}, "
        f"highest {figure(where.maximum, None, unit)}; England {figure(where.england, None, unit)}"
        f". This authority: {figure(where.value, where.value_code, unit) or 'no figure'}"
    )
    line += f", in the **{where.band}**." if where.band else "."
    st.markdown(line)
flag = engine("benchmarking.worse_and_getting_worse", chosen, code, threshold=threshold)
if flag is not None and flag.words:
    (st.warning if flag.worse_and_getting_worse else st.info)(flag.words)

funnel = engine("benchmarking.funnel", chosen, None, code, threshold=threshold)
if funnel is not None:
    st.subheader(f"Against England: funnel plot, {funnel.year}")
    plot = made_chart(
        funnel_chart,
        funnel.points,
        funnel.limits,
        funnel.target,
        size="denominator",
        value="plotted",
        label="area_name",
        size_title="out of (the measure's denominator)",
        value_title=shared.unit,
        value_format=value_format,
        role="role",
    )
    if plot is not None:
        placed = funnel.points[funnel.points["role"] != "other"]
        words = "; ".join(
            f"{r.area_name}: {figure(r.plotted, None, shared.unit)}, {r.position}"
            for r in placed.itertuples()
        )
        draw_chart(
            plot,
            alt=f"Funnel plot of all authorities around England ({funnel.target:.1f}). {words}",
        )
        st.caption(
            f"The line is England ({figure(funnel.target, None, shared.unit)}, from "
            f"{funnel.target_from}); the dashed lines are the 95% limits and the dotted lines "
            "99.8%. With large numbers most authorities differ from England by more than chance "
            "alone: the limits say how sure a difference is, not whether it matters."
        )
        chart_downloads(plot, name=f"funnel {chosen} {funnel.year}")
    if not funnel.apart.empty:
        with st.expander(f"Not placed ({len(funnel.apart)} authorities: no published figure)"):
            st.dataframe(funnel.apart[["area_name", "value_code", "meaning"]], hide_index=True)
