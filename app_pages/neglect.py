"""Neglect services, for commissioners: the neglect cohort, and whether children's lives changed
after the services the authority buys, by service and provider.

The page asks framework/engine/neglect.py and draws what it returns: counts, shares, intervals,
changes and their readings come from the aggregator's steps with small numbers already hidden.
"""

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import (
    engine,
    latest_period_label,
    period_of,
    settings,
    sidebar_filters,
    store_path,
)
from app_pages.downloads import chart_downloads, table_downloads
from framework import readable
from framework.charts import before_after_chart, count_line, funnel_chart
from framework.engine.neglect import FUNNEL_YEARS, FUNNEL_YEARS_SHOWN_FIRST, warnings_for

require()  # signed in, with a role that may see aggregate pages (checked on every run)

ALL_SERVICES, ALL_PROVIDERS = "All services", "All providers"
SHARE_FAMILIES = ("clothed", "breakfast", "sleep")

st.title("Neglect services")
st.caption(
    "For commissioners: how many children are in the neglect cohort, and what changed for the "
    "children who received each service you commission, before and after, by provider."
)
if not store_path().exists():
    st.warning("No store yet: load returns, or run `make run` for the demo authority.")
    st.stop()
latest = latest_period_label()
if latest is None:
    st.info("No returns or local data are loaded yet, so there is nothing to show.")
    st.stop()
filters = sidebar_filters(latest)
st.sidebar.caption("This page is about the neglect cohort: the Group filter does not apply.")
threshold = settings().disclosure_threshold
options = {"where": tuple(filters.where), "threshold": threshold}

# --- the cohort ---------------------------------------------------------------------------------
cohort = engine("neglect.neglect_cohort", filters.period, **options)
st.header("The neglect cohort")
with st.expander("Who is in it", expanded=False):
    st.markdown(cohort.definition)
now = cohort.trend[cohort.trend["period"] == filters.period]
if not now.empty:
    row = now.iloc[0]
    hidden = bool(row["suppressed"])
    with st.container(horizontal=True):
        st.metric(
            f"Children in the cohort, {filters.period}",
            "c" if hidden else f"{row['children']:,.0f}",
        )
        st.metric(
            "Share of children in need",
            "c" if hidden else readable.unit_value(row["share"], "share"),
        )
        if pd.notna(row["per_10000"]) and not hidden:
            st.metric("Per 10,000 children aged 0–17", f"{row['per_10000']:.0f}")
line = made_chart(count_line, cohort.trend, "children", "children in the cohort")
if line is not None:
    trend = cohort.trend[cohort.trend["children"].notna()]
    words = ", ".join(
        f"{p}: {c:,.0f}" for p, c in zip(trend["period"], trend["children"], strict=True)
    )
    draw_chart(line, alt=f"Children in the neglect cohort by year. {words}")
    chart_downloads(line, name="neglect cohort trend", filters=filters)
trend_table = readable.cohort(cohort.trend, "period", "Period")
st.dataframe(trend_table, hide_index=True)
table_downloads(trend_table, name="neglect cohort by year", filters=filters)

left, right = st.columns(2)
for column, frame, first, title in (
    (left, cohort.by_locality, "locality", "Locality"),
    (right, cohort.by_imd_decile, "imd_decile", "IMD decile (1 = most deprived)"),
):
    with column:
        st.subheader(f"By {'locality' if first == 'locality' else 'IMD decile'}")
        shown_table = readable.cohort(frame, first, title)
        st.dataframe(shown_table, hide_index=True)
        table_downloads(shown_table, name=f"neglect cohort by {first}", filters=filters)

# --- services and providers ---------------------------------------------------------------------
st.header("Services and providers: before and after")
available = engine("neglect.services_available")
if not available.services:
    st.info(
        "No commissioned neglect services are loaded. Fill the *commissioned services* template "
        "(templates/commissioned_services.csv) with the children each service worked with and "
        "the measures recorded before and after, and load it on the *Data loaded* page."
    )
    st.stop()
outcomes = engine("neglect.service_outcomes", filters.period, **options)
for note in outcomes.notes:
    st.caption(note)
st.subheader("Children served")
served_counts = ["children served", "children starting"]
served = outcomes.served.drop(columns=["suppressed", "status"]).rename(
    columns={"children": "children served", "started": "children starting"}
)
served = readable.with_hidden(served, served_counts)  # hidden counts are c, here and in files
st.dataframe(served, hide_index=True)
table_downloads(
    served,
    name="children served by service and provider",
    filters=filters,
    counts=served_counts,
)

service = st.selectbox("Service", [ALL_SERVICES, *available.services])
table = outcomes.table[outcomes.table["service"] == service]
providers = [ALL_PROVIDERS, *sorted(set(table["provider"]) - {ALL_PROVIDERS})]
provider = st.selectbox("Provider", providers)
chosen = table[table["provider"] == provider]
shares = chosen[chosen["family"].isin(SHARE_FAMILIES)]
points = pd.concat(
    [
        shares.assign(moment="before", value=shares["before"], ci_low=shares["before_low"],
                      ci_high=shares["before_high"]),
        shares.assign(moment="after", value=shares["after"], ci_low=shares["after_low"],
                      ci_high=shares["after_high"]),
    ]
)[["measure", "moment", "value", "ci_low", "ci_high"]]  # fmt: skip
chart = made_chart(before_after_chart, points, category="measure", value_format="%")
if chart is None:
    st.info(
        f"{provider}, {service}: no practical measures to show for {filters.period} (none "
        "recorded, or too few children to show)."
    )
else:
    words = "; ".join(
        f"{r.measure} {r.moment} {readable.unit_value(r.value, 'share') or 'c'}"
        for r in points.itertuples()
    )
    draw_chart(chart, alt=f"Practical measures before and after. {words}")
    chart_downloads(chart, name=f"before and after {service} {provider}", filters=filters)
outcome_table = readable.service_outcomes(chosen)
st.dataframe(outcome_table, hide_index=True)
table_downloads(
    outcome_table,
    name=f"outcomes {service} {provider}",
    filters=filters,
    counts=["Children"],
)
warnings = warnings_for(outcomes.table)
if warnings:
    with st.expander(f"Too few to judge ({len(warnings)})", expanded=False):
        for sentence in warnings:
            st.markdown(f"- {sentence}")
not_opted = outcomes.table[
    outcomes.table["status"].str.contains("opted in")
    & (outcomes.table["service"] != ALL_SERVICES)
    & (outcomes.table["provider"] != ALL_PROVIDERS)
]
pairs = sorted(set(zip(not_opted["provider"], not_opted["service"], strict=True)))
if pairs:
    st.caption(
        "No before-and-after data returned by: "
        + "; ".join(f"{provider} ({service})" for provider, service in pairs)
        + ". Providers opt in; a provider without data is shown as such, never as zero."
    )

# --- providers on a funnel plot ------------------------------------------------------------------
st.header("Providers compared: funnel plot")
measures = available.funnel_measures
# Where children ended up is what a commissioner compares first: "after" and follow-up first.
order = sorted(
    measures, key=lambda m: ("after" not in m and "12m" not in m, list(measures).index(m))
)
measure = st.selectbox("Measure", order, format_func=measures.get)
# Three years by default: one year's services leave most providers with too few children to
# show, and commissioners compare providers over contracts that usually run for several years.
half_year = period_of(filters.period).is_half
years = st.radio(
    "Years pooled",
    FUNNEL_YEARS,
    index=FUNNEL_YEARS.index(FUNNEL_YEARS_SHOWN_FIRST),
    horizontal=True,
    key="neglect_funnel_years",
    disabled=half_year,
    help="Services that ended in the period chosen and the years before it, counted together.",
)
if half_year:  # services are pooled by whole years: a half-year is compared on its own
    years = 1
    st.caption("Years are pooled for whole years only: choose a year (e.g. 2024-25) to pool.")
funnel = engine(
    "neglect.provider_funnel",
    filters.period,
    measure,
    service=None if service == ALL_SERVICES else service,
    years=years,
    **options,
)
plot = made_chart(
    funnel_chart,
    funnel.points,
    funnel.curves,
    funnel.average if funnel.average is not None else float("nan"),
    size="n",
    value="value",
    label="provider",
    size_title="children",
    value_title=funnel.label,
    value_format="%",
)
if plot is None:
    st.info(
        "No provider can be placed on the funnel for this measure and period: "
        + (funnel.note or "too few children.")
    )
else:
    words = "; ".join(
        f"{r.provider}: {readable.unit_value(r.value, 'share')} of {r.n:,.0f}, {r.reading}"
        for r in funnel.points.itertuples()
    )
    draw_chart(plot, alt=f"Funnel plot of providers. {words}")
    st.caption(funnel.note)
    chart_downloads(plot, name=f"funnel {measure}", filters=filters)
