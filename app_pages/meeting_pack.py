"""Meeting pack: the overview and the indicators a meeting discusses, as one file to take away.

The pack is one self-contained HTML file (framework/meeting_pack.py), print-ready on A4: a
browser's Print → Save as PDF makes the PDF. The indicators chosen stay in the link
(``?pack=B1.2,C1.1``), with the period and filters, so a pack can be shared and made again.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages.access import require
from app_pages.common import (
    _store_key,
    engine,
    filter_caption,
    home_authority_code,
    indicator_detail,
    latest_period_label,
    overview,
    settings,
    showing_demo,
    sidebar_filters,
)
from app_pages.downloads import authority, provenance
from framework import pack_sections
from framework.engine.catalogue import catalogue
from framework.engine.overview import boxes
from framework.engine.periods import Period
from framework.export import DisclosureError, file_stem
from framework.meeting_pack import PRINT_HELP, render_pack

require()  # signed in, with a role that may see aggregate pages (checked on every run)

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
    extras: tuple[str, ...] = (),
) -> str:
    """The pack's HTML. The views come from the app's own cache (app_pages/common.py), so what a
    leader has already looked at is not worked out again."""
    view = overview(period, group, where)
    details = [indicator_detail(i, period, group, where) for i in indicator_ids]
    chosen = provenance()
    chosen = dataclasses.replace(chosen, period=period, filters=filters_text)
    sections = [_extra(extra, period, where, name, threshold) for extra in extras]
    return render_pack(
        view,
        details,
        period=Period.parse(period),
        threshold=threshold,
        authority=name,
        demo=demo,
        filters_text=filters_text,
        provenance=chosen,
        extra=[section for section in sections if section is not None],
    )


EXTRAS = {
    "benchmarking": "Benchmarking against England, region and neighbours",
    "funding": "Funding context",
    "neglect": "Neglect services",
}


def _extra(extra: str, period: str, where: tuple, name: str, threshold: int):
    """One of the commissioning and funding pages, as a page of the pack (None when its data
    is not loaded)."""
    if extra == "neglect":
        options = {"where": where, "threshold": threshold}
        cohort = engine("neglect.neglect_cohort", period, **options)
        outcomes = engine("neglect.service_outcomes", period, **options)
        return pack_sections.neglect_section(cohort, outcomes)
    code = home_authority_code()
    if extra == "benchmarking":
        if code is None:
            return None
        table = engine("benchmarking.overview_table", code, threshold=threshold)
        return None if table.empty else pack_sections.benchmarking_section(table, name)
    per_child = engine("funding.spend_per_child", threshold=threshold)
    against = engine("funding.spend_against_comparators", code) if code else per_child.iloc[0:0]
    position = engine("funding.national_position", code) if code else None
    return pack_sections.funding_section(per_child, against, position, name)


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

extras = st.pills(
    "Also include",
    list(EXTRAS),
    selection_mode="multi",
    format_func=EXTRAS.get,
    key="pack_extras",
    help="Pages for commissioners and corporate leaders, after the indicators' pages.",
)
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
        tuple(extras or ()),
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
other_pages = pack.count('<section id="section-')  # the extra pages actually made
st.caption(
    f"{caption} · {len(chosen)} indicator page(s), {other_pages} other page(s) · "
    f"{len(pack.encode('utf-8')) / 1024:,.0f} KB. "
    f"{PRINT_HELP} The file needs no internet and no app: it opens in any browser."
)
with st.expander("Preview", expanded=True):
    st.iframe(pack, height=900)
