"""Download buttons other pages draw under their tables and charts (not a page of its own).

    from app_pages.downloads import chart_downloads, table_downloads

    table_downloads(table, name="B. Reaching families", indicator_ids=ids, filters=filters)
    chart_downloads(chart, name=f"{indicator_id} trend", filters=filters)

Every file passes framework/export.py's check first: a table or chart holding a count from 1
to the disclosure threshold is not offered (the page says why) rather than written. Files are
made only when a button is clicked (``st.download_button`` with a callable), and clicking does
not rerun the page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

import pandas as pd
import streamlit as st

from app_pages.access import current, may, record
from app_pages.charts import MadeChart
from app_pages.common import (
    Filters,
    _connect,
    _read_saved_view,
    _save_view,
    _saved_view_path,
    _store_key,
    filter_caption,
    settings,
    showing_demo,
    store_path,
)
from framework.export import (
    CHILD_LEVEL_SUFFIX,
    SAFE_SUFFIX,
    DisclosureError,
    Provenance,
    chart_png,
    chart_svg,
    child_level_csv,
    child_level_xlsx,
    disclosure_problems,
    file_stem,
    store_provenance,
    table_csv,
    table_xlsx,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEMO_AUTHORITY = "Demoton"


def authority() -> str:
    """The authority the numbers are about: Demoton while the demo is shown."""
    return DEMO_AUTHORITY if showing_demo() else settings().authority_name


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def _store_provenance(store_key: tuple, threshold: int, demo: bool, name: str) -> Provenance:
    # Saved beside the store like the views: it reads the whole store's status (about a
    # second on the demo), and every page with a table asks for it.
    saved = _saved_view_path(store_key, ("provenance", threshold, demo, name))
    found = _read_saved_view(saved)
    if found is not None:
        return found
    con = _connect()
    try:
        made = store_provenance(
            con, authority=name, threshold=threshold, demo=demo, store=store_path().name
        )
    finally:
        con.close()
    _save_view(saved, made)
    return made


def provenance(filters: Filters | None = None) -> Provenance:
    """Where the numbers come from (store, loads, reference data, threshold, version), for the
    period and filters shown, made now."""
    found = _store_provenance(
        _store_key(), settings().disclosure_threshold, showing_demo(), authority()
    )
    session = current()
    return dataclasses.replace(
        found,
        made_by=session.user if session else "",
        period=filters.period if filters else "",
        filters=filter_caption(filters) if filters else "",
        made_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def audited(file_name: str, what: str, *, permission: str = "export_aggregate"):
    """Wrap a file maker so that, when the button is clicked, the role is checked again and
    the export is written to the audit log. The session is captured now: the maker runs
    outside the page's script, when the browser asks for the file."""
    session = current()

    def wrap(make):
        def made():
            if session is None or not session.allows(permission):
                record("access_refused", session, export=file_name, needs=permission)
                raise PermissionError(f"{file_name}: exporting needs the {permission} right")
            record("export", session, file=file_name, table=what)
            return make()

        return made

    return wrap


def table_downloads(
    frame: pd.DataFrame,
    *,
    name: str,
    indicator_ids: Iterable[str] = (),
    filters: Filters | None = None,
    counts: Iterable[str] | None = None,
    statistic: str | None = None,
    key: str | None = None,
) -> None:
    """ "Download CSV" and "Download Excel" buttons for a table the page shows.

    ``frame``: either an engine frame (numbers, missing where hidden, with a ``suppressed``
    column per row: hidden cells are written ``c``, other missing cells blank), or a table
    already made readable (hidden cells already the text ``c``; numbers may be text such as
    "1,234"). Count columns are found by name (numerator, denominator, units, invited,
    total, respondents, …count…, children…); name others in ``counts`` (e.g. the year columns of a
    table of records per year). ``statistic`` says what the rows are when the frame has no
    ``statistic`` column (a ratio's denominator is exposure, not a count).
    ``name``: the table's name, used for the file name and the Excel sheet.
    ``indicator_ids``: the indicators whose definitions go on the "Definitions" sheet (by
    default those of an ``indicator_id`` column). ``filters``: the page's filters, written on
    the "Provenance" sheet. ``key``: needed only when two tables on a page share a name.

    A table that would disclose a count from 1 to the threshold is not offered: a caption
    says why (nothing is written)."""
    if not may("export_aggregate"):
        return
    threshold = settings().disclosure_threshold
    counts = None if counts is None else list(counts)
    problems = disclosure_problems(frame, threshold, counts=counts, statistic=statistic)
    if problems:
        st.caption(f"Not offered for download: {DisclosureError(problems)}.")
        return
    ids = list(indicator_ids)
    made = provenance(filters)  # here, not in the click's thread (it reads the app's caches)
    stem = file_stem(authority(), name, filters.period if filters else None, SAFE_SUFFIX)
    key = key or file_stem(name)

    @audited(f"{stem}.csv", name)
    def csv() -> bytes:
        return table_csv(frame, threshold, counts=counts, statistic=statistic)

    @audited(f"{stem}.xlsx", name)
    def xlsx() -> bytes:
        return table_xlsx(
            frame,
            threshold,
            name=name,
            indicator_ids=ids,
            provenance=made,
            counts=counts,
            statistic=statistic,
        )

    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            data=csv,
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"csv-{key}",
            on_click="ignore",
            icon=":material/download:",
            help=f"Hidden cells are c; counts from 1 to {threshold} are never written.",
        )
        st.download_button(
            "Download Excel",
            data=xlsx,
            file_name=f"{stem}.xlsx",
            mime=XLSX,
            key=f"xlsx-{key}",
            on_click="ignore",
            icon=":material/download:",
            help="Three sheets: the table, the definitions, and where the numbers come from.",
        )


def chart_downloads(
    chart: MadeChart | None, *, name: str, filters: Filters | None = None, key: str | None = None
) -> None:
    """ "Download PNG" and "Download SVG" buttons for a chart made by ``made_chart`` (drawn
    without a browser by vl-convert when asked for). Nothing is drawn when ``chart`` is None. A
    chart whose data holds a count from 1 to the threshold is not offered (the check was made
    with the chart, and is made again when the file is)."""
    if chart is None or not may("export_aggregate"):
        return
    if chart.refused:
        st.caption(f"Not offered for download: {chart.refused}.")
        return
    threshold = settings().disclosure_threshold
    stem = file_stem(authority(), name, filters.period if filters else None, SAFE_SUFFIX)
    key = key or file_stem(name)
    spec = chart.spec
    with st.container(horizontal=True):
        st.download_button(
            "Download PNG",
            data=audited(f"{stem}.png", name)(lambda: chart_png(spec, threshold)),
            file_name=f"{stem}.png",
            mime="image/png",
            key=f"png-{key}",
            on_click="ignore",
            icon=":material/image:",
            help="A picture at twice screen size, for slides.",
        )
        st.download_button(
            "Download SVG",
            data=audited(f"{stem}.svg", name)(lambda: chart_svg(spec, threshold).encode("utf-8")),
            file_name=f"{stem}.svg",
            mime="image/svg+xml",
            key=f"svg-{key}",
            on_click="ignore",
            icon=":material/image:",
            help="A vector drawing: sharp at any size, in print and in documents.",
        )


__all__ = [
    "audited",
    "authority",
    "chart_downloads",
    "child_level_downloads",
    "provenance",
    "table_downloads",
]


def child_level_downloads(
    table: pd.DataFrame, *, name: str, about: dict[str, str], extra: dict | None = None
) -> None:
    """ "Download CSV" and "Download Excel" for a child-level table (the tracker): only for
    roles that may export child-level data, marked CHILD-LEVEL on the first line of every
    sheet and in the file's name, and audited. ``extra``: more sheets for the workbook."""
    if not may("export_child_level"):
        return
    session = current()
    about = {**about, "Exported by": session.user if session else "", **_when()}
    stem = file_stem(authority(), name, CHILD_LEVEL_SUFFIX)
    sheets = {name: table, **(extra or {})}
    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            data=audited(f"{stem}.csv", name, permission="export_child_level")(
                lambda: child_level_csv(table)
            ),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"csv-{file_stem(name)}",
            on_click="ignore",
            icon=":material/download:",
            help="Child-level: keep it on the council's systems; the export is logged.",
        )
        st.download_button(
            "Download Excel",
            data=audited(f"{stem}.xlsx", name, permission="export_child_level")(
                lambda: child_level_xlsx(sheets, about)
            ),
            file_name=f"{stem}.xlsx",
            mime=XLSX,
            key=f"xlsx-{file_stem(name)}",
            on_click="ignore",
            icon=":material/download:",
            help="Child-level: keep it on the council's systems; the export is logged.",
        )


def _when() -> dict[str, str]:
    return {"Made at": datetime.now().strftime("%Y-%m-%d %H:%M")}
