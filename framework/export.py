"""Exports: tables to CSV and Excel, charts to PNG and SVG, behind one last disclosure check.

Every export goes through ``export_frame``, which

1. refuses (``DisclosureError``) a table in which a count column holds a value from 1 to the
   threshold, or a numerator and denominator whose difference is one (``check_disclosure``):
   defence in depth, since the engine has already hidden every such count;
2. writes hidden cells as ``c`` (``framework.disclosure.SUPPRESSED``): in a row the engine
   marked ``suppressed``, a missing cell of a column the engine hides (numerator, value,
   interval, change…) is ``c``; any other missing cell ("no data") stays blank, never 0;
3. checks the table again as it will be written.

Tables come in two shapes, both accepted: the engine's frames (numbers, missing where hidden,
and a ``suppressed`` flag per row) and tables already made readable for a page (hidden cells
already the text ``c``, numbers possibly as text such as "1,234").

Excel workbooks have three sheets: the table, "Definitions" (each indicator's definition, and
what the columns mean) and "Provenance" (authority, period, filters, store, loads, reference
data, threshold, version). Text that a spreadsheet would read as a formula is written as text.
Charts are rendered without a browser by vl-convert (through Altair's ``save``); the data
inside a chart passes the same check first.

No streamlit here: app_pages/downloads.py draws the buttons, framework/meeting_pack.py builds the
meeting pack with the same check.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import numpy as np
import pandas as pd

from framework import __version__
from framework.config import PROJECT_ROOT
from framework.disclosure import SUPPRESSED
from framework.engine.suppression import HIDDEN_ALWAYS, HIDDEN_WITH_COHORT

# Columns whose numbers count people or things (so a value from 1 to the threshold would
# disclose): by exact name, or by a word of the name ("staff_count", "children in care").
COUNT_NAMES = frozenset(
    {
        "numerator",
        "denominator",
        "units",
        "invited",
        "n",
        "total",
        "records",
        "records_read",
        "records_loaded",
        "records_set_aside",
        "problems",
    }
)
COUNT_WORDS = frozenset(
    {"count", "counts", "respondents", "children", "units", "people", "numerator", "denominator"}
)
COUNTED = ("proportion", "distribution")  # statistics whose numerator and denominator count
# Cells the engine hides in a suppressed row: written as c when missing there.
HIDDEN_COLUMNS = (*HIDDEN_ALWAYS, *HIDDEN_WITH_COHORT, "change_significant")
# In a suppressed row these are always hidden: a number there means something went wrong.
ALWAYS_HIDDEN = ("numerator", "value", "ci_low", "ci_high", "previous_value", "change")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_TEXT = re.compile(r"[+-]?[\d.,]+%?")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


class DisclosureError(ValueError):
    """A table that would disclose a small count: nothing is exported."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "refused to export: " + "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        )


# --- the guard -----------------------------------------------------------------------------


def count_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that hold counts, by their names."""
    found = []
    for column in frame.columns:
        name = str(column).strip().lower()
        words = set(re.split(r"[\s_\-()]+", name))
        if name in COUNT_NAMES or words & COUNT_WORDS or name.startswith("n_"):
            found.append(column)
    return found


def _numbers(column: pd.Series) -> np.ndarray:
    """A column as floats: text such as "1,234" read as a number; c, blanks, percentages and
    other text as missing (they are not counts)."""
    if pd.api.types.is_bool_dtype(column):
        return np.full(len(column), np.nan)
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float, na_value=np.nan)

    def read(value) -> float:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return np.nan
        if isinstance(value, bool):
            return np.nan
        if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
        text = str(value).strip().replace(",", "")
        try:
            return float(text)
        except ValueError:
            return np.nan

    return np.array([read(v) for v in column], dtype=float)


def disclosure_problems(
    frame: pd.DataFrame,
    threshold: int,
    *,
    counts: Iterable[str] | None = None,
    statistic: str | None = None,
) -> list[str]:
    """What in ``frame`` would disclose a count from 1 to ``threshold`` (empty when nothing):

    * a count column (``counts``, else ``count_columns(frame)``) holding such a value, except
      where the row's statistic (its ``statistic`` column, else ``statistic``) says the column
      is not a count: a ratio's denominator is exposure (e.g. FTE), and a fact names nobody;
    * a shown numerator and denominator of a proportion or share whose difference is such a
      value (the complement: "all but 3"); when the statistic is not known, wherever both are
      whole numbers;
    * a row marked ``suppressed`` that still shows its numerator, value, interval or change.

    Secondary suppression (a hidden cell worked back from a total and the other cells) is the
    engine's: this guard checks each row on its own.
    """
    columns = [c for c in (count_columns(frame) if counts is None else counts) if c in frame]
    kinds = _statistics(frame, statistic)
    problems = []

    def small(values: np.ndarray) -> np.ndarray:
        return (values > 0) & (values <= threshold)

    numbers = {}
    for column in columns:
        values = _numbers(frame[column])
        numbers[column] = values
        exempt = kinds == "fact"
        if column == "denominator":
            exempt = exempt | (kinds == "ratio")
        rows = np.flatnonzero(small(values) & ~exempt)
        if len(rows):
            problems.append(
                f"column {column!r} holds a count from 1 to {threshold} (rows {_rows(rows)})"
            )
    if "numerator" in numbers and "denominator" in numbers:
        numerator, denominator = numbers["numerator"], numbers["denominator"]
        whole = (numerator == np.round(numerator)) & (denominator == np.round(denominator))
        counted = np.isin(kinds, COUNTED) | ((kinds == "") & whole)
        rows = np.flatnonzero(counted & small(denominator - numerator))
        if len(rows):
            problems.append(
                f"numerator and denominator differ by 1 to {threshold} (rows {_rows(rows)})"
            )
    if "suppressed" in frame:
        hidden = frame["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        for column in ALWAYS_HIDDEN:
            if column in frame:
                rows = np.flatnonzero(hidden & _shown(frame[column]))
                if len(rows):
                    problems.append(f"a hidden row shows its {column} (rows {_rows(rows)})")
    return problems


def _statistics(frame: pd.DataFrame, statistic: str | None) -> np.ndarray:
    """Each row's statistic: its ``statistic`` column, else the one given, else ""."""
    if "statistic" in frame:
        return frame["statistic"].astype("string").fillna(statistic or "").to_numpy(dtype=object)
    return np.full(len(frame), statistic or "", dtype=object)


def _shown(column: pd.Series) -> np.ndarray:
    """Cells holding something: not missing, not blank, not c."""
    if pd.api.types.is_numeric_dtype(column):
        return column.notna().to_numpy(dtype=bool)
    return np.array(
        [
            not (v is None or (not isinstance(v, str) and pd.isna(v)))
            and str(v).strip() not in ("", SUPPRESSED)
            for v in column
        ],
        dtype=bool,
    )


def _rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:5])
    return shown + (" …" if len(rows) > 5 else "")


def check_disclosure(
    frame: pd.DataFrame,
    threshold: int,
    *,
    counts: Iterable[str] | None = None,
    statistic: str | None = None,
) -> None:
    """Raise ``DisclosureError`` when ``disclosure_problems`` finds anything."""
    problems = disclosure_problems(frame, threshold, counts=counts, statistic=statistic)
    if problems:
        raise DisclosureError(problems)


# --- tables as written ---------------------------------------------------------------------


def export_frame(
    frame: pd.DataFrame,
    threshold: int,
    *,
    counts: Iterable[str] | None = None,
    statistic: str | None = None,
) -> pd.DataFrame:
    """The table as it is written: checked, hidden cells ``c``, "no data" blank, whole counts
    as whole numbers. Raises ``DisclosureError`` rather than write a small count."""
    counts = list(count_columns(frame) if counts is None else counts)
    check_disclosure(frame, threshold, counts=counts, statistic=statistic)
    out = frame.reset_index(drop=True).copy()
    for column in counts:
        if column in out and pd.api.types.is_float_dtype(out[column]):
            values = out[column].to_numpy(dtype=float, na_value=np.nan)
            known = values[~np.isnan(values)]
            if np.all(known == np.round(known)):
                out[column] = pd.array(
                    [pd.NA if np.isnan(v) else int(v) for v in values], dtype="Int64"
                )
    if "suppressed" in out:
        hidden = out["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        for column in HIDDEN_COLUMNS:
            if column in out and hidden.any():
                cells = out[column].astype(object)
                missing = cells.isna().to_numpy()
                out[column] = cells.where(~(hidden & missing), SUPPRESSED)
    out = defused(out)
    check_disclosure(out, threshold, counts=counts, statistic=statistic)
    return out


def defused(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells a spreadsheet would run as a formula are written as text."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_defuse, na_action="ignore")
    return out


def text_csv(frame: pd.DataFrame) -> bytes:
    """A table that holds no figures about children (e.g. the audit log) as CSV, formulas
    defused."""
    return defused(frame).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def _defuse(value):
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with an
    apostrophe; numbers written as text ("-0.6%") are left alone."""
    text = isinstance(value, str) and value.startswith(FORMULA_START)
    return "'" + value if text and not _NUMBER_TEXT.fullmatch(value) else value


def table_csv(
    frame: pd.DataFrame,
    threshold: int,
    *,
    counts: Iterable[str] | None = None,
    statistic: str | None = None,
) -> bytes:
    """The table as CSV: UTF-8 with a byte-order mark (so Excel reads £ and – right), one
    header row, hidden cells ``c``, no data blank."""
    out = export_frame(frame, threshold, counts=counts, statistic=statistic)
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


# --- definitions and provenance --------------------------------------------------------------

STATISTIC_WORDS = {
    "proportion": "a share: the numerator out of the denominator; 95% Wilson score interval",
    "distribution": "each category's share of the denominator; 95% Wilson score interval",
    "mean": "a mean of the units' values; 95% interval mean ± t·sd/√n",
    "ratio": "events per unit of exposure (e.g. leavers per FTE); 95% Byar interval",
    "fact": "the organisation's yes (1) or no (0); no interval",
}
POLARITY_WORDS = {
    "higher_better": "higher is better",
    "lower_better": "lower is better",
    "none": "no direction: neither higher nor lower is better in itself",
}
COLUMN_WORDS = {
    "indicator_id": "The indicator's id in the outcomes framework (see the rows above).",
    "period": "2024-25 is 1 April 2024 to 31 March 2025; H1 April to September, H2 October "
    "to March.",
    "statistic": "proportion, distribution, mean, ratio or fact (see the rows above).",
    "category": "A distribution's category; blank for a single value.",
    "numerator": "What is counted (for a ratio: the events).",
    "denominator": "What it is counted out of (for a ratio: the exposure, e.g. FTE).",
    "units": "Units in the denominator: children, referrals, respondents, workers…",
    "value": "The value: a share of 1 for proportions and distributions (0.663 is 66.3%).",
    "ci_low": "Lower end of the 95% interval.",
    "ci_high": "Upper end of the 95% interval.",
    "suppressed": "True when the row's numbers are hidden to protect children (c).",
    "previous_value": "The value in the period before.",
    "change": "This period's value minus the period before's.",
    "change_p": "Two-sided p-value of the change.",
    "change_significant": "Whether the change is larger than chance (p < 0.05).",
    "direction": "The change read against the indicator's direction: better, worse, or no "
    "clear change.",
    "status": "ok; no data; or not by <dimension> (the units cannot be cut that way).",
    "mean_score": "Mean score of the respondents (1 to 5).",
    "median": "Median of the units' values.",
    "invited": "People invited to the survey in the slice.",
    "response_rate": "Respondents ÷ invited.",
}
HIDDEN_WORDS = (
    f"{SUPPRESSED}: hidden to protect children. A count from 1 to the threshold is never shown, "
    "nor any number it could be worked back from (its share, interval, change, or another cell "
    "of a total it is part of). A blank cell means no data, not zero and not hidden."
)


def definitions(indicator_ids: Iterable[str], columns: Iterable[str] = ()) -> pd.DataFrame:
    """One row per indicator (its catalogue record in words), then the columns' meanings and
    how to read c: the rows of an export's "Definitions" sheet."""
    from framework.engine.catalogue import catalogue

    known = catalogue()
    rows = []
    for indicator_id in dict.fromkeys(indicator_ids):
        if indicator_id not in known:
            continue
        record = known[indicator_id]
        rows.append(
            {
                "term": record.id,
                "name": record.label,
                "meaning": record.definition,
                "domain": f"{record.domain}. {known.domains[record.domain].title}",
                "outcome": record.outcome,
                "unit": record.unit,
                "cohort": record.cohort,
                "statistic": f"{record.statistic}: {STATISTIC_WORDS.get(record.statistic, '')}",
                "direction": POLARITY_WORDS.get(record.polarity, record.polarity),
                "data": f"{record.kind}, {record.availability}",
                "sources": ", ".join(record.sources),
                "read beside": ", ".join(i.id for i in known.related_to(record.id)),
                "caveats": " ".join(record.caveats),
                "also measured as": "; ".join(record.crosswalks),
            }
        )
    for column in columns:
        if str(column) in COLUMN_WORDS:
            rows.append({"term": str(column), "name": "column", "meaning": COLUMN_WORDS[column]})
    rows.append({"term": SUPPRESSED, "name": "hidden cell", "meaning": HIDDEN_WORDS})
    return pd.DataFrame(rows).fillna("")


# How every export is marked (the "Marking" row of the Provenance sheet, the pack's cover and
# footer): aggregate files are safe to share because they passed the check above; child-level
# files (the tracker, analysts only) say plainly that they are not.
SAFE_TO_SHARE = (
    "Aggregate figures, disclosure-controlled: no count from 1 to {threshold}, nor anything that "
    "reveals one, is in this file. Safe to share."
)
CHILD_LEVEL = (
    "CHILD-LEVEL DATA, OFFICIAL-SENSITIVE: about named children. Not for sharing beyond the "
    "people authorised to see it; keep it on the council's systems and delete it when done."
)
SAFE_SUFFIX = "safe-to-share"
CHILD_LEVEL_SUFFIX = "CHILD-LEVEL-not-for-sharing"


def marking(threshold: int) -> str:
    return SAFE_TO_SHARE.format(threshold=threshold)


@dataclass(frozen=True)
class Provenance:
    """Where an export's numbers come from: the "Provenance" sheet and the pack's last page."""

    authority: str
    threshold: int
    period: str = ""
    filters: str = ""
    demo: bool = False
    store: str = ""  # the store file's name (never its full path)
    loads: str = ""
    files: str = ""
    reference: str = ""
    version: str = field(default_factory=lambda: app_version())
    made_at: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%d %H:%M"))
    made_by: str = ""  # who exported it (the signed-in user), for accountability

    def rows(self) -> list[tuple[str, str]]:
        authority = self.authority + (" (DEMO: a fictional authority)" if self.demo else "")
        rows = [
            ("Marking", marking(self.threshold)),
            ("Authority", authority),
            ("Period", self.period),
            ("Filters", self.filters),
            (
                "Disclosure threshold",
                f"counts from 1 to {self.threshold} are hidden ({SUPPRESSED})",
            ),
            ("Store", self.store),
            ("Loads", self.loads),
            ("Files loaded", self.files),
            ("Reference data", self.reference),
            ("Made by", f"Outcomes Explorer {self.version}"),
            ("Made at", self.made_at),
            ("Exported by", self.made_by),
        ]
        return [(k, v) for k, v in rows if v]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows(), columns=["item", "value"])


@cache
def app_version() -> str:
    """``git describe`` of the working copy when it is one, else the package version."""
    try:
        described = subprocess.run(
            ["git", "describe", "--tags", "--always"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__
    text = described.stdout.strip()
    return f"{__version__} ({text})" if described.returncode == 0 and text else __version__


def store_provenance(
    con,
    *,
    authority: str,
    threshold: int,
    period: str = "",
    filters: str = "",
    demo: bool = False,
    store: str = "",
) -> Provenance:
    """The provenance of what ``con`` holds: loads, files by source and year, reference data
    imported (from ``framework.status.store_status``, counts already protected)."""
    from framework.status import store_status

    status = store_status(con, threshold)
    loads = status.loads
    load_text = "none"
    if not loads.empty:
        last = loads.iloc[0]
        finished = last["finished_at"] if pd.notna(last["finished_at"]) else last["started_at"]
        load_text = (
            f"{len(loads)}; the last on {str(finished)[:16]} (version {last['tool_version']})"
        )
    files = status.files
    file_text = "none"
    if not files.empty:
        years = sorted({int(y) for y in files["collection_year"].dropna() if int(y) > 0})
        span = f", collection years {years[0]} to {years[-1]}" if years else ""
        sources = ", ".join(sorted({str(s) for s in files["source"].dropna()}))
        file_text = f"{len(files)} files ({sources}){span}"
    return Provenance(
        authority=authority,
        threshold=threshold,
        period=period,
        filters=filters,
        demo=demo,
        store=store,
        loads=load_text,
        files=file_text,
        reference=_reference_text(con),
    )


def _reference_text(con) -> str:
    imports = con.execute(
        "SELECT kind, string_agg(DISTINCT CAST(vintage AS VARCHAR), ', ' ORDER BY "
        "CAST(vintage AS VARCHAR)) FROM reference_imports GROUP BY kind ORDER BY kind"
    ).fetchall()
    parts = [f"{kind} {vintages}" if vintages else kind for kind, vintages in imports]
    areas = con.execute(
        "SELECT count(*), count(imd_decile), sum(children_0_17) FROM ref_areas"
    ).fetchone()
    if areas[0]:
        parts.append(
            f"{areas[0]:,} small areas of the authority ({areas[1]:,} with deprivation deciles)"
        )
    return "; ".join(parts) or "none loaded"


# --- Excel -----------------------------------------------------------------------------------


def sheet_title(name: str) -> str:
    """A valid worksheet name (31 characters, none of []:*?/\\), not a reserved one."""
    title = SHEET_NAME_BAD.sub(" ", name).strip().strip("'")[:31] or "Table"
    return "Table" if title.lower() in ("definitions", "provenance", "history") else title


def table_xlsx(
    frame: pd.DataFrame,
    threshold: int,
    *,
    name: str = "Table",
    indicator_ids: Iterable[str] = (),
    provenance: Provenance | Mapping[str, str] | None = None,
    counts: Iterable[str] | None = None,
    statistic: str | None = None,
) -> bytes:
    """An Excel workbook: the table (hidden cells ``c``), "Definitions" and "Provenance"."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    table = export_frame(frame, threshold, counts=counts, statistic=statistic)
    if indicator_ids == ():  # those of the table's id column
        column = next((c for c in ("indicator_id", "id") if c in table), None)
        found = table[column].dropna().unique() if column else []
        indicator_ids = [str(i) for i in found]
    meanings = definitions(indicator_ids, table.columns)
    if provenance is None:
        rows = [("Disclosure threshold", f"counts from 1 to {threshold} are hidden")]
    elif isinstance(provenance, Provenance):
        rows = provenance.rows()
    else:
        rows = list(provenance.items())
    book = Workbook()
    sheets = [
        (book.active, sheet_title(name), table),
        (book.create_sheet(), "Definitions", meanings),
        (book.create_sheet(), "Provenance", pd.DataFrame(rows, columns=["item", "value"])),
    ]
    bold = Font(bold=True)
    for sheet, title, content in sheets:
        sheet.title = title
        sheet.append([str(c) for c in content.columns])
        for cell in sheet[1]:
            cell.font = bold
        for values in content.itertuples(index=False):
            sheet.append([_cell(v) for v in values])
        for cell in (c for row in sheet.iter_rows(min_row=2) for c in row):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
        sheet.freeze_panes = "A2"
        for position, column in enumerate(content.columns, start=1):
            width = max([len(str(column)), *(len(str(v)) for v in content.iloc[:, position - 1])])
            letter = sheet.cell(row=1, column=position).column_letter
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
    for sheet in (book["Definitions"], book["Provenance"]):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- child-level files (the tracker; analysts only) --------------------------------------------


def child_level_csv(frame: pd.DataFrame) -> bytes:
    """A child-level table as CSV. Its first line is the marking, so that nobody opens the file
    without reading it; formula-like text is defused. No disclosure check: the file is about
    children one by one, and only people allowed to see them may make it."""
    body = defused(frame).to_csv(index=False, lineterminator="\n")
    return (f'"{CHILD_LEVEL}"\n' + body).encode("utf-8-sig")


def child_level_xlsx(sheets: Mapping[str, pd.DataFrame], about: Mapping[str, str]) -> bytes:
    """A child-level workbook: each sheet starts with the marking in bold red, then the
    table; a last sheet "About" holds ``about`` (what, when, by whom). Text is never a
    formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    about_frame = pd.DataFrame(
        [("Marking", CHILD_LEVEL), *about.items()], columns=["item", "value"]
    )
    for name, content in [*sheets.items(), ("About", about_frame)]:
        sheet = book.create_sheet(sheet_title(name) if name != "About" else "About")
        sheet.append([CHILD_LEVEL])
        sheet["A1"].font = Font(bold=True, color="C00000")
        sheet.append([str(c) for c in content.columns])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for values in content.itertuples(index=False):
            sheet.append([_cell(_defuse(v)) for v in values])
        for cell in (c for row in sheet.iter_rows(min_row=3) for c in row):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
        sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, int | float | str | datetime):
        return value
    return str(value)


# --- charts ----------------------------------------------------------------------------------


def chart_spec(chart) -> dict:
    """The chart's Vega-Lite spec with its data inline: ``chart`` is an Altair chart or already
    a spec (a dict, as app_pages/charts.py keeps one per view)."""
    if isinstance(chart, dict):
        return chart
    # Not validated against Vega-Lite's schema here (half a page run's time): only the data
    # are read, and drawing the chart validates it.
    return chart.to_dict(validate=False)


def _chart_data(chart) -> list[pd.DataFrame]:
    spec = chart_spec(chart)
    frames = [pd.DataFrame(rows) for rows in spec.get("datasets", {}).values()]

    def inline(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                frames.append(pd.DataFrame(data["values"]))
            for value in node.values():
                inline(value)
        elif isinstance(node, list):
            for value in node:
                inline(value)

    inline({k: v for k, v in spec.items() if k != "datasets"})
    return frames


def check_chart(chart, threshold: int) -> None:
    """The data inside a chart (an Altair chart or its spec) passes the same check as a
    table."""
    for frame in _chart_data(chart):
        check_disclosure(frame, threshold)


def _checked_spec(chart, threshold: int) -> dict:
    """The chart's spec, once its data has passed the disclosure check."""
    spec = chart_spec(chart)
    check_chart(spec, threshold)
    return spec


def _vl_version() -> str:
    # vl-convert names Vega-Lite versions "v6_4" where Altair's schema is "v6.4.1"; this is how
    # Altair's own chart.save asks for the version it was written against.
    import altair as alt

    return "_".join(alt.SCHEMA_VERSION.split(".")[:2])


def chart_svg(chart, threshold: int) -> str:
    """The chart (an Altair chart or its spec) as SVG text (vector: sharp in print and in
    slides)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(_checked_spec(chart, threshold), vl_version=_vl_version())


def chart_png(chart, threshold: int, *, scale: float = 2.0) -> bytes:
    """The chart (an Altair chart or its spec) as PNG bytes, at ``scale`` times its size (2:
    sharp on slides)."""
    import vl_convert

    spec = _checked_spec(chart, threshold)
    return vl_convert.vegalite_to_png(spec, vl_version=_vl_version(), scale=scale)


def file_stem(*parts: str | None) -> str:
    """A safe file name from words: "Demoton B1.2 2024-25" -> "demoton-b1.2-2024-25"."""
    text = "-".join(p for p in parts if p)
    stem = re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-.").lower()
    return stem or "export"


__all__ = [
    "CHILD_LEVEL",
    "COUNT_NAMES",
    "SAFE_TO_SHARE",
    "DisclosureError",
    "Provenance",
    "app_version",
    "chart_png",
    "chart_spec",
    "chart_svg",
    "check_chart",
    "check_disclosure",
    "child_level_csv",
    "child_level_xlsx",
    "count_columns",
    "definitions",
    "defused",
    "disclosure_problems",
    "export_frame",
    "file_stem",
    "marking",
    "sheet_title",
    "store_provenance",
    "table_csv",
    "table_xlsx",
    "text_csv",
]
