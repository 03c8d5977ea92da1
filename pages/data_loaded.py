"""What the store holds: sources, years, record counts and the history of loads."""

import streamlit as st

from framework.disclosure import SUPPRESSED
from pages.common import open_status, settings, shown

status, store_path = open_status()
st.title("Data loaded")
st.caption(f"{settings().authority_name} · store: {store_path.name}")
if status is None:
    st.warning(
        "No store yet. Load returns with `python -m framework load PATH…`, or run `make run` "
        "to start on the fictional demo authority."
    )
    st.stop()

left, middle, right = st.columns(3)
left.metric("Children", SUPPRESSED if status.children is None else f"{status.children:,}")
middle.metric("Loads", f"{len(status.loads):,}")
right.metric("Files loaded", f"{(status.files['status'] == 'loaded').sum():,}")

st.subheader("Records by source and year")
st.caption(
    "Each record is counted under the latest return that supplied it (a referral open across "
    "a year end is counted once); local data under the year of its own date. "
    f"{SUPPRESSED}: a count from 1 to "
    f"{settings().disclosure_threshold}, or one that would reveal such a count, is hidden."
)
st.dataframe(shown(status.by_year), hide_index=True, width="stretch")
if status.empty_sources:
    st.info("Nothing loaded yet for: " + "; ".join(status.empty_sources))

if status.postcode_links is not None and len(status.postcode_links):
    st.subheader("Home postcodes linked to small areas")
    st.caption(
        "Records by how their postcode linked: matched by the lookup, matched by location "
        "(grid reference inside a boundary), or why not. Postcodes themselves are never stored."
    )
    st.dataframe(shown(status.postcode_links), hide_index=True, width="stretch")

st.subheader("Load history")
st.dataframe(status.loads, hide_index=True, width="stretch")
st.subheader("Files")
counted = ["records_read", "records_loaded", "records_set_aside"]
st.dataframe(shown(status.files, counted), hide_index=True, width="stretch")
if not status.set_aside_by_file.empty:
    st.subheader("Problems found at load")
    st.dataframe(shown(status.set_aside_by_file), hide_index=True, width="stretch")
