"""Child-level tracker (analysts only): one row per child of a cohort, with education,
placements, missing, risks, plan status and a RAG rating whose rules are stated on the page.
The authority's own child id is shown only here, from the encrypted id map
(framework/idmap.py). Nothing on this page is cached on disk, and each new choice of cohort is
written to the audit log (what was looked at and how many children, never who)."""

import streamlit as st

from app_pages.access import record, require
from app_pages.common import latest_period_label, settings, showing_demo, store_path
from app_pages.downloads import child_level_downloads
from framework import idmap, readable
from framework.engine import tracker as engine
from framework.engine.periods import Period
from framework.store import store

session = require("view_child_level", "The child-level tracker")
EVERYWHERE = "The whole authority"

st.title("Child-level tracker")
st.warning(
    "**Child-level data.** This page names children by the authority's own ids. It is for "
    "the staff working with them: do not share it, screen-share it or print it beyond them. "
    "Opening it and downloading from it are recorded in the audit log.",
    icon=":material/shield_person:",
)
latest = latest_period_label()
if latest is None:
    st.info("No returns are loaded yet: see *Data loaded*.")
    st.stop()

cohorts = engine.cohorts()
left, middle, right = st.columns(3)
cohort = left.selectbox(
    "Cohort", list(cohorts), index=list(cohorts).index("cp"), format_func=cohorts.get
)
years = [Period.parse(latest).end.year - back for back in range(5)]
period = middle.selectbox(
    "Year", [Period(year).label for year in years], help="Plans and risks as at its 31 March"
)
con = store.connect(store_path(), read_only=True)
try:
    places = [EVERYWHERE, *engine.localities(con)]
    locality = right.selectbox("Locality", places)
    frame = engine.tracker(
        con, cohort, period, locality=None if locality == EVERYWHERE else locality
    )
finally:
    con.close()

# Written once per choice, not on every rerun of the page (sorting, scrolling).
chosen = (cohort, period, locality)
if st.session_state.get("tracker_logged") != chosen:
    record(
        "child_level_view",
        page="tracker",
        cohort=cohort,
        period=period,
        locality=locality,
        children=len(frame),
    )
    st.session_state["tracker_logged"] = chosen

key = idmap.key_for_store(settings(), store_path())
why_not = idmap.availability(store_path(), key)
try:
    ids = None if why_not else idmap.lookup(frame["child_id"], store_path=store_path(), key=key)
except idmap.IdMapError as broken:
    ids, why_not = None, str(broken)
if why_not:
    st.caption(why_not)
elif showing_demo():
    st.caption("The demo's child ids are fictional.")

counts = engine.rag_counts(frame)
columns = st.columns(4)
columns[0].metric("Children", f"{len(frame):,}")
for column, colour in zip(columns[1:], engine.COLOURS, strict=True):
    column.metric(readable.RAG_WORDS[colour], f"{counts[colour]:,}")

shown_colours = st.pills(
    "Show",
    engine.COLOURS,
    default=list(engine.COLOURS),
    selection_mode="multi",
    format_func=readable.RAG_WORDS.get,
)
table = readable.tracker(frame[frame["rag"].isin(shown_colours or [])], ids)
st.dataframe(table, hide_index=True, width="stretch", height=520)
st.caption(
    f'As at 31 March of {period}; "last 12 months" ends then. A blank cell means the store '
    "holds no record, never zero or none. Red first, then amber, then green."
)

rules = readable.tracker_rules(engine.rules_table())
with st.expander("How the RAG rating is made", icon=":material/rule:"):
    st.markdown(
        "A child is **red** when any red rule holds, else **amber** when any amber rule "
        "holds, else **green**. Each row's *Reasons* lists the rules that hold. Green means no "
        "rule holds on the data the store has, not that all is well: a child with no school "
        "or placement records can be green."
    )
    st.dataframe(rules, hide_index=True, width="stretch")

child_level_downloads(
    table,
    name=f"tracker {cohorts[cohort]} {period}",
    about={"Cohort": cohorts[cohort], "Year": period, "Locality": locality},
    extra={"RAG rules": rules},
)
