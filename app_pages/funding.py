"""Funding context, for corporate leaders: what is spent, per child, against demand, outcomes
and comparable authorities.

The authority's own spending comes from its finance template (framework/engine/funding.py);
other authorities' from the published spending extract DfE derives from MHCLG's revenue
outturn. Spend has no polarity: nothing here is coloured good or bad.
"""

import pandas as pd
import streamlit as st

from app_pages.access import require
from app_pages.charts import draw_chart, made_chart
from app_pages.common import authority_choice, engine, settings, store_path
from app_pages.downloads import chart_downloads, table_downloads
from framework import readable
from framework.charts import authority_scatter, spend_by_category, spend_per_child_bars
from framework.engine.funding import CAVEAT, DEMAND_LABELS, OUTCOMES
from framework.formatting import money

require()  # signed in, with a role that may see aggregate pages (checked on every run)

st.title("Funding")
st.caption(
    "Children's services spending over time and per child, beside demand, outcomes and "
    "comparable authorities. Spending is context, not a score."
)
st.info(CAVEAT, icon=":material/info:")
if not store_path().exists():
    st.warning("No store yet: load returns, or run `make run` for the demo authority.")
    st.stop()
threshold = settings().disclosure_threshold

# --- the authority's own spending ---------------------------------------------------------------
st.header("Your spending")
over_time = engine("funding.spend_over_time")
if over_time.empty:
    st.info(
        "No finance data is loaded. Fill the *finance* template (templates/finance.csv: year, "
        "category, outturn or budget, spend in pounds) and load it on the *Data loaded* page."
    )
else:
    bars = made_chart(spend_by_category, over_time)
    totals = over_time[over_time["category"] == "total"]
    words = ", ".join(
        f"{y}: {money(v)}" for y, v in zip(totals["year"], totals["spend_gbp"], strict=True)
    )
    if bars is not None:
        draw_chart(bars, alt=f"Spending by category each year. Totals {words}.")
    chart_downloads(bars, name="spending by category")
    by_category = pd.DataFrame(
        {
            "Year": over_time["year"],
            "Category": over_time["label"],
            "Outturn": over_time["outturn_gbp"].map(money),
            "Budget": over_time["budget_gbp"].map(money),
            "Outturn minus budget": over_time["outturn_minus_budget_gbp"].map(money),
        }
    )
    with st.expander("Spending by category, every year"):
        st.dataframe(by_category, hide_index=True)
    table_downloads(by_category, name="spending by category", counts=[])

    st.subheader("Per child")
    per_child = engine("funding.spend_per_child", threshold=threshold)
    table = readable.spend_per_child(per_child)
    counts = readable.PER_CHILD_COUNTS
    st.dataframe(readable.with_hidden(table, counts), hide_index=True)
    notes = [n for n in per_child["note"].dropna().unique() if n]
    for note in notes:
        st.caption(note)
    table_downloads(table, name="spend per child", counts=counts)

# --- against comparable authorities -------------------------------------------------------------
st.header("Against comparable authorities")
code = authority_choice()
if code is None:
    st.info(
        "No published statistics are loaded, so there is nothing to compare with. Load DfE's "
        "spending extract and the children in need and looked-after files (see the README)."
    )
    st.stop()
against = engine("funding.spend_against_comparators", code)
with_spend = against[against["spend_per_child_gbp"].notna()]
if with_spend.empty:
    st.info("No published spending for this authority and its comparators.")
else:
    year = with_spend["spending_year"].dropna().iloc[0]
    comparison = made_chart(spend_per_child_bars, with_spend, str(year))
    words = "; ".join(
        f"{r.area_name} {money(r.spend_per_child_gbp)}" for r in with_spend.itertuples()
    )
    draw_chart(comparison, alt=f"Spend per child, {year}. {words}")
    chart_downloads(comparison, name=f"spend per child {code} {year}")
table = readable.spend_against(against)
st.dataframe(table, hide_index=True)
table_downloads(table, name=f"spend against comparators {code}", counts=[])

position = engine("funding.national_position", code)
if position is not None and pd.notna(position.value):
    st.markdown(
        f"**In England ({position.spending_year}):** {money(position.value)} per child, "
        f"{position.words}. Lowest {money(position.minimum)}, median {money(position.median)}, "
        f"highest {money(position.maximum)}; England as a whole {money(position.england)}."
    )

# --- spend beside demand and outcomes ------------------------------------------------------------
st.header("Spend beside demand and outcomes")
scatter = engine("funding.spend_and_demand", old_la_code=code)
choices = {f"{k}_per_10k": f"{v} (per 10,000 children)" for k, v in DEMAND_LABELS.items()}
choices |= {column: label for column, (_, label) in OUTCOMES.items()}
choices = {k: v for k, v in choices.items() if k in scatter}
against_what = st.selectbox("Beside", list(choices), format_func=choices.get)
plot = made_chart(
    authority_scatter,
    scatter,
    x="spend_per_child_gbp",
    y=against_what,
    x_title="spend per child aged 0–17, £",
    y_title=choices[against_what],
    x_format=",.0f",
    y_format=".0f" if against_what.endswith("10k") else ".1f",
)
if plot is None:
    st.info("No authority has both figures.")
else:
    chosen = scatter[scatter["role"] != "other"]
    words = "; ".join(
        f"{r.area_name}: {money(r.spend_per_child_gbp)}, {getattr(r, against_what):.1f}"
        for r in chosen.itertuples()
        if pd.notna(getattr(r, against_what)) and pd.notna(r.spend_per_child_gbp)
    )
    draw_chart(
        plot,
        alt=f"Each authority's spend per child and {choices[against_what]}. {words}",
    )
    st.caption(
        f"{len(scatter)} authorities; the chosen one and its neighbours are coloured. No line is "
        "drawn through the points: spending more does not, by itself, cause either."
    )
    chart_downloads(plot, name=f"spend and {against_what}")
columns = ["area_name", "role", "spending_year", "spend_per_child_gbp", *choices]
table_downloads(scatter[columns], name="spend and demand, all authorities", counts=[])
