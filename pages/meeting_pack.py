"""Meeting pack: the overview and the indicators a meeting discusses, as one file to take away.

The pack is one self-contained HTML file (framework/meeting_pack.py), print-ready on A4: a
browser's Print → Save as PDF makes the PDF. The indicators chosen stay in the link
(``?pack=B1.2,C1.1``), with the period and filters, so a pack can be shared and made again.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from framework.engine.catalogue import catalogue
from framework.engine.overview import boxes
from framework.engine.periods import Period
from framework.export import DisclosureError, file_stem
from framework.meeting_pack import PRINT_HELP, render_pack
from pages.common import (
    _store_key,
    filter_caption,
    indicator_detail,
    latest_period_label,
    overview,
    settings,
    showing_demo,
    sidebar_filters,
)
from pages.downloads import authority, provenance

CHOSEN = "pack_indicators"  # session state of the multiselect
REMEMBERED = "pack_remembered"  # the choice kept across pages (widget state is not)
DOWNLOAD_LABEL = "Download the meeting pack (HTML)"


@st.cache_data(ttl=600, max_entries=8, show_spinner="Making the pack…")
def _pack(
    store_key: tuple,
    period: str,
    group: str | None,
    where: tuple,
    indicator_ids: tuple[str, ...],
    name: str,
    demo: bool,
    filters_text: str,
    threshold: int,
) -> str:
    """The pack's HTML. The views come from the app's own cache (pages/common.py), so what a
    leader has already looked at is not worked out again."""
    view = overview(period, group, where)
    details = [indicator_detail(i, period, group, where) for i in indicator_ids]
    chosen = provenance()
    chosen = dataclasses.replace(chosen, period=period, filters=filters_text)
    return render_pack(
        view,
        details,
        period=Period.parse(period),
        threshold=threshold,
        authority=name,
        demo=demo,
        filters_text=filters_text,
        provenance=chosen,
    )


def _from_link(known) -> list[str]:
    asked = st.query_params.get("pack", "")
    return [i for i in dict.fromkeys(x.strip() for x in asked.split(",")) if i in known]


def _add_headlines() -> None:
    headlines = [i for box in boxes() for i in box.headlines]
    st.session_state[CHOSEN] = list(dict.fromkeys([*st.session_state.get(CHOSEN, []), *headlines]))


st.title("Meeting pack")
st.caption(
    "The overview and the indicators your meeting discusses, each on its own page with its "
    "chart, interval, trend, groups and caveats: one file to print or keep."
)
latest = latest_period_label()  # None: no store, or nothing dated in it
if latest is None:
    st.info("No returns or local data are loaded yet: there is nothing to put in a pack.")
    st.stop()
filters = sidebar_filters(latest)
known = catalogue()
if CHOSEN not in st.session_state:
    asked = _from_link(known) if "pack" in st.query_params else None
    st.session_state[CHOSEN] = asked if asked is not None else st.session_state.get(REMEMBERED, [])
chosen = st.multiselect(
    "Indicators to include",
    list(known.ids),
    key=CHOSEN,
    format_func=lambda i: f"{i} {known[i].label}",
    placeholder="None: the pack is the overview only",
    help="Each one gets a page of its own after the overview, in the order chosen.",
)
st.button(
    "Add the overview's headline indicators",
    on_click=_add_headlines,
    help="The 17 indicators shown on the overview; each gets a page (this takes a minute).",
)
st.session_state[REMEMBERED] = list(chosen)
if chosen:
    st.query_params["pack"] = ",".join(chosen)
else:
    st.query_params.pop("pack", None)

threshold = settings().disclosure_threshold
caption = filter_caption(filters)
try:
    pack = _pack(
        _store_key(),
        filters.period,
        filters.group,
        tuple(filters.where),
        tuple(chosen),
        authority(),
        showing_demo(),
        caption,
        threshold,
    )
except DisclosureError as refused:  # the engine hides small counts: this should never happen
    st.error(f"The pack was not made, to protect children: {refused}")
    st.stop()

name = file_stem("meeting pack", authority(), filters.period)
st.download_button(
    DOWNLOAD_LABEL,
    data=pack.encode("utf-8"),
    file_name=f"{name}.html",
    mime="text/html",
    type="primary",
    on_click="ignore",
    icon=":material/download:",
)
st.caption(
    f"{caption} · {len(chosen)} indicator page(s) · {len(pack.encode('utf-8')) / 1024:,.0f} KB. "
    f"{PRINT_HELP} The file needs no internet and no app: it opens in any browser."
)
with st.expander("Preview", expanded=True):
    st.iframe(pack, height=900)
