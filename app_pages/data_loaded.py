"""What the store holds: sources, years, record counts and the history of loads; and loading new
files (upload) through the same readers as ``python -m framework load``."""

import os
from datetime import date

import streamlit as st

from app_pages.access import may, record, require
from app_pages.common import open_status, settings, showing_demo, shown
from app_pages.downloads import table_downloads
from framework.disclosure import SUPPRESSED
from framework.sources.common import year_label
from framework.upload import (
    ACCEPTED_TYPES,
    MAX_FILE_BYTES,
    MB,
    UploadOutcome,
    key_problem,
    load_uploaded,
)

require()  # signed in, with a role that may see aggregate pages (checked on every run)

UPLOAD_LABEL = "Files to load"
YEAR_LABEL = "Collection year"
LOAD_LABEL = "Load these files"
LAST_UPLOAD = "upload_outcome"  # session state: the last upload's outcome, shown after rerun


def upload_section() -> None:
    st.header("Load new files")
    if not may("upload"):
        st.caption("Loading files needs the analyst role: ask an analyst or an admin.")
        return
    chosen = settings()
    if showing_demo():
        then = (
            "but OUTCOMES_MODE=demo is set, so the app keeps showing the demo: start it with "
            "OUTCOMES_MODE=local to see your data."
            if os.environ.get("OUTCOMES_MODE") == "demo"
            else "and the app then shows your store instead of the demo."
        )
        st.info(
            "The app is showing the fictional demo authority. Files loaded here go into your "
            f"authority's own store, `{chosen.store_path}`, never into the demo, {then}",
            icon=":material/info:",
        )
    else:
        st.caption(f"Files load into this store: `{chosen.store_path}`.")
    st.caption(
        "CiN census and workforce (CSWW) XML, SSDA903 as CSV files or XML, the local-data "
        "templates (CSV or XLSX), the child address extract, area and postcode reference files "
        "and published statistics; files are recognised by their content, not their names. "
        "Upload one year's SSDA903 CSV files at a time. Valid records load and invalid ones are "
        "set aside with the reason; re-loading an identical file changes nothing. Files over "
        f"{MAX_FILE_BYTES / MB:,.0f} MB: use `python -m framework load PATH`."
    )
    outcome_area = st.container()  # the last upload's outcome, above the uploader
    blocked = key_problem(chosen)
    if blocked:
        st.warning(f"Files cannot be loaded yet. {blocked}", icon=":material/key:")
    round_ = st.session_state.get("upload_round", 0)  # a new uploader, empty, after each load
    uploaded = st.file_uploader(
        UPLOAD_LABEL,
        type=ACCEPTED_TYPES,
        accept_multiple_files=True,
        key=f"upload-{round_}",
        help="Select several files at once, or drop them here.",
    )
    this_year = date.today().year + 1
    year = st.selectbox(
        YEAR_LABEL,
        [None, *range(this_year, 2009, -1)],
        format_func=lambda y: "From the files" if y is None else year_label(y),
        help="Leave it to the files unless they carry no year: the CiN census and workforce "
        "returns state theirs; SSDA903 CSV files take it from their names, else from their "
        "latest dates (the command line's --year).",
    )
    if st.button(LOAD_LABEL, type="primary", disabled=bool(blocked) or not uploaded):
        bar = st.progress(0.0, text="Starting…")
        outcome = load_uploaded(
            [(f.name, f.getvalue()) for f in uploaded],
            settings=chosen,
            collection_year=year,
            progress=lambda share, words: bar.progress(share, text=words),
        )
        bar.empty()
        st.session_state[LAST_UPLOAD] = _kept(outcome)
        record(
            "upload",
            files=", ".join(f.name for f in uploaded),
            status=outcome.status,
            store=chosen.store_path.name,
        )
        if outcome.loaded:
            # The pages show the authority's store from now on (unless OUTCOMES_MODE=demo):
            # drop every cached figure and draw the page again on the new store.
            st.session_state["upload_round"] = round_ + 1
            st.cache_data.clear()
            st.rerun()
    with outcome_area:
        _show_last_outcome()


def _kept(outcome: UploadOutcome) -> dict:
    """What the page shows of an outcome, kept in the session to outlive the rerun. No child
    identifier is in it."""
    total = 0 if outcome.load is None else len(outcome.load.problems)
    return {
        "status": outcome.status,
        "message": outcome.message,
        "notes": outcome.all_notes(),
        "files": outcome.files(),
        "kinds": outcome.problem_kinds(),
        "problems": outcome.problems(),
        "total": total,
    }


def _show_last_outcome() -> None:
    last = st.session_state.get(LAST_UPLOAD)
    if last is None:
        return
    st.subheader("Last upload")
    show = {"loaded": st.success, "unchanged": st.info}.get(last["status"], st.error)
    show(last["message"])
    if last["notes"]:
        st.caption("\n".join(f"- {note}" for note in last["notes"]))
    if len(last["files"]):
        st.dataframe(last["files"], hide_index=True, width="stretch")
    if last["total"]:
        st.markdown("**Problems by file, field and expectation**")
        st.dataframe(last["kinds"], hide_index=True, width="stretch")
        shown_rows = len(last["problems"])
        st.markdown(
            f"**Problems** ({shown_rows:,} of {last['total']:,})"
            if shown_rows < last["total"]
            else f"**Problems** ({last['total']:,})"
        )
        st.caption(
            "Each problem names the file, the row (CSV) or line (XML), the field, the value "
            "found and what was expected. Children are not named here and identifying values "
            "(identifiers, dates of birth, postcodes) are withheld: the row or line finds the "
            "record. `python -m framework load FILES --report problems.csv` lists every "
            "problem with the child's identifier (keep that file safe)."
        )
        st.dataframe(last["problems"], hide_index=True, width="stretch")


status, store_path = open_status()
st.title("Data loaded")
st.caption(f"{settings().authority_name} · store: {store_path.name}")
if status is None:
    st.warning(
        "No store yet. Load returns below, or with `python -m framework load PATH…`, or run "
        "`make run` to start on the fictional demo authority."
    )
    upload_section()
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
year_columns = [c for c in status.by_year.columns if c not in ("source", "table")]
table_downloads(shown(status.by_year), name="records by source and year", counts=year_columns)
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
    table_downloads(shown(status.set_aside_by_file), name="problems found at load")

upload_section()
