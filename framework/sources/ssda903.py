"""Read an SSDA903 (children looked after) return: a set of CSV files or one XML file.

Both layouts are first turned into the same *string tables* (one per DfE table, columns named as
in the CSV files, a "row N" or "line N" location per record). One validation then runs over
them, so a CSV set and its XML twin give the same rows and the same problems.

Validation reports every problem at once. Errors set the record aside; warnings load it. Checks
are vectorised with pandas through ``TableCheck``; Python loops only build the Problems of
flagged rows and walk the XML.

The collection year (end year) decides which codes are valid (SEX 1/2 until 2023-24, M/F/U
from 2024-25; K3, P2, H5, Z1, Z11-Z14 by year) and which dates are too late. The dates in a
return do not say which year it is, so the caller's year wins, then a year in the file or folder
names, and only then one inferred from the episode dates (with a note saying so).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from framework.codes import attribute, code_table, codes, describe
from framework.sources.common import (
    EARLIEST_PLAUSIBLE,
    TableCheck,
    blank,
    clean_text,
    end_year_from_name,
    sha256_of,
    year_end,
    year_label,
    year_start,
)
from framework.sources.problems import (
    ERROR,
    WARNING,
    Problem,
    ReadResult,
    SourceFile,
    TableCount,
    UnreadableFile,
)
from framework.sources.safe_xml import iter_elements, root_tag, text
from framework.store.schema import TABLES, TEXT

SOURCE = "ssda903"
DATE_FORMAT = "%d/%m/%Y"
DATE_WORDS = "a date as DD/MM/YYYY"
EMPTY = "the file is empty (expected an SSDA903 CSV with a header row)"

# The columns of each table as DfE (and the D2I validator) name them, in file order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "header": ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
    "episodes": (
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ),
    "reviews": ("CHILD", "DOB", "REVIEW", "REVIEW_CODE"),
    "uasc": ("CHILD", "SEX", "DOB", "DUC"),
    "oc2": (
        "CHILD",
        "DOB",
        "SDQ_SCORE",
        "SDQ_REASON",
        "CONVICTED",
        "HEALTH_CHECK",
        "IMMUNISATIONS",
        "TEETH_CHECK",
        "HEALTH_ASSESSMENT",
        "SUBSTANCE_MISUSE",
        "INTERVENTION_RECEIVED",
        "INTERVENTION_OFFERED",
    ),
    "oc3": ("CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"),
    "ad1": (
        "CHILD",
        "DOB",
        "DATE_INT",
        "DATE_MATCH",
        "FOSTER_CARE",
        "NB_ADOPTR",
        "SEX_ADOPTR",
        "LS_ADOPTR",
    ),
    "placed_for_adoption": (
        "CHILD",
        "DOB",
        "DATE_PLACED",
        "DATE_PLACED_CEASED",
        "REASON_PLACED_CEASED",
    ),
    "previous_permanence": ("CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"),
    "missing": ("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"),
    "sw_episodes": ("CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"),
    "dolo": ("CHILD", "DOB", "DOLO_START", "DOLO_END"),
}

# How DfE names each table (for messages people will recognise).
LABELS = {
    "header": "Header",
    "episodes": "Episodes",
    "reviews": "Reviews",
    "uasc": "UASC",
    "oc2": "OC2",
    "oc3": "OC3",
    "ad1": "AD1",
    "placed_for_adoption": "PlacedAdoption",
    "previous_permanence": "PrevPerm",
    "missing": "Missing",
    "sw_episodes": "SWEpisodes",
    "dolo": "DoLo",
}

# The store table each 903 table feeds (see framework.store.schema).
STORE_TABLE = {
    "header": "children",
    "episodes": "episodes",
    "reviews": "looked_after_reviews",
    "uasc": "uasc",
    "oc2": "health_outcomes",
    "oc3": "care_leavers",
    "ad1": "adoptions",
    "placed_for_adoption": "placed_for_adoption",
    "previous_permanence": "previous_permanence",
    "missing": "missing_episodes",
    "sw_episodes": "social_worker_episodes",
    "dolo": "deprivation_of_liberty",
}

# P2 (independent living) stopped being a lawful placement when supported accommodation
# regulation began; episodes starting from this day cannot use it (DfE rule 217t).
P2_LAST_START = pd.Timestamp("2023-10-27")

_POSTCODE = r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"
_UPN = r"[A-HJ-NP-RT-Z][0-9]{11}[0-9A-Z]"
_URN = r"SC[0-9]{6}|[0-9]{7}|XXXXXXX"
_LA_PERM = r"[0-9]{3}|WAL|SCO|NIR|NUK"
_SW_ID = r"(SW|XX)[A-Z0-9]+"


# --- String tables ---------------------------------------------------------------------------


@dataclass
class RawTable:
    """One 903 table as found in a file: all strings, columns named as in the CSV layout."""

    table: str  # key of COLUMNS
    file: str  # file name for messages
    frame: pd.DataFrame
    locations: pd.Series  # "row N" or "line N" per record
    # Field names the file itself uses, where they differ from the CSV names (XML: PL, CHILDID).
    file_fields: dict[str, str] = field(default_factory=dict)
    long_rows: list[int] = field(default_factory=list)  # CSV rows with more values than columns


def _normalise_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().upper()


def _strip_all(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda column: column.astype("string").str.strip().fillna(""))


def _isin(series: pd.Series, values) -> pd.Series:
    """Membership test; via object dtype, which hashes (Arrow strings compare one by one)."""
    return series.astype(object).isin(list(values))


# --- Recognising CSV files -------------------------------------------------------------------


def _best_table(columns: list[str]) -> tuple[str | None, list[str]]:
    """The table whose columns are all present (the largest such set), and any ties."""
    present = set(columns)
    full = [t for t, wanted in COLUMNS.items() if set(wanted) <= present]
    if not full:
        return None, []
    size = max(len(COLUMNS[t]) for t in full)
    best = [t for t in full if len(COLUMNS[t]) == size]
    return (best[0] if len(best) == 1 else None), best


HEAD_BYTES = 64 * 1024  # enough for any header row; recognising never reads a whole file


def _head_columns(path: Path) -> list[str]:
    """The header row's names, normalised, from the start of the file only."""
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except FileNotFoundError:
        raise UnreadableFile(path, "the file does not exist") from None
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    # The cut may split a character; names are ASCII, so replacing it is harmless here.
    content = head.decode("utf-16" if utf16 else "utf-8-sig", errors="replace")
    if not content.replace("\ufeff", "").strip():
        raise UnreadableFile(path, EMPTY)
    first = next(csv.reader(io.StringIO(content.lstrip("\ufeff"))), [])
    return [_normalise_column(name) for name in first]


def identify_ssda903_csv(path: Path) -> str | None:
    """The 903 table a CSV file holds, judged by its header row (not its name), or None."""
    try:
        return _best_table(_head_columns(Path(path)))[0]
    except UnreadableFile:
        return None


def describe_unrecognised_csv(path: Path) -> str:
    """Why a CSV is not a 903 table: which table it most resembles and what it lacks.

    The reason only, without the file name: ``UnreadableFile(path, reason)`` adds that.
    """
    try:
        return _unrecognised_reason(_head_columns(Path(path)))
    except UnreadableFile as error:
        return error.reason


SHOWN_COLUMNS = 20  # an unrecognised file's columns listed in its message, at most
SHOWN_NAME = 40  # characters of each


def _shown_columns(columns: list[str]) -> str:
    """The columns found, as a message shows them: the first SHOWN_COLUMNS, each cut to
    SHOWN_NAME characters, unprintable characters as "?" (a binary file's "header" is one
    64 KB name of NUL bytes, which no message should repeat)."""
    names = [c for c in columns if c]
    shown = []
    for name in names[:SHOWN_COLUMNS]:
        printable = "".join(ch if ch.isprintable() else "?" for ch in name[: SHOWN_NAME + 1])
        shown.append(printable if len(printable) <= SHOWN_NAME else printable[:SHOWN_NAME] + "…")
    more = f" and {len(names) - SHOWN_COLUMNS} more" if len(names) > SHOWN_COLUMNS else ""
    return ", ".join(shown) + more or "none"


def _unrecognised_reason(columns: list[str]) -> str:
    table, ties = _best_table(columns)
    if table:
        return f"this is the SSDA903 {LABELS[table]} file"
    if len(ties) > 1:
        names = " and ".join(LABELS[t] for t in ties)
        return (
            f"the file has the columns of more than one SSDA903 table ({names}), so it is not "
            "clear which it is. Remove the columns that do not belong and load it again."
        )
    present = set(columns)
    found = _shown_columns(columns)
    scores = {t: len(set(wanted) & present) / len(wanted) for t, wanted in COLUMNS.items()}
    closest = max(scores, key=lambda t: (scores[t], len(COLUMNS[t])))
    if not set(COLUMNS[closest]) & present - {"CHILD", "DOB"}:
        return f"the file does not look like an SSDA903 table; its columns are: {found}."
    missing = ", ".join(c for c in COLUMNS[closest] if c not in present)
    return (
        f"the file looks most like the SSDA903 {LABELS[closest]} table but lacks the "
        f"column(s) {missing}. Columns found: {found}."
    )


# --- Reading CSV text ------------------------------------------------------------------------


def _decode(path: Path) -> tuple[str, str | None]:
    """The file's text and, when it was not UTF-8, a warning saying how it was read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile(path, "the file does not exist") from None
    warning = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            content = data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile(path, "the file starts as UTF-16 but cannot be decoded") from None
        warning = "a UTF-8 file; this one is UTF-16. It was read, but please export as UTF-8"
    else:
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                content = data.decode("cp1252")
            except UnicodeDecodeError:
                raise UnreadableFile(
                    path, "the file is neither UTF-8 nor Windows-1252 text; export it as UTF-8"
                ) from None
            warning = (
                "a UTF-8 file; this one is not, so it was read as Windows-1252. Check any "
                "accented characters, and export as UTF-8"
            )
    if not content.replace("\ufeff", "").strip():
        raise UnreadableFile(path, EMPTY)
    return content, warning


def _parse_csv(content: str) -> tuple[list[str], list[list[str]]]:
    """Header (names normalised for matching) and data rows, all as text."""
    rows = list(csv.reader(io.StringIO(content)))
    return [_normalise_column(name) for name in rows[0]], rows[1:]


def _csv_table(path: Path, table: str, header: list[str], rows: list[list[str]]) -> RawTable:
    """One recognised CSV as a string table. Row N is the N-th record after the header."""
    width = len(header)
    # Short rows are padded (some tools drop trailing blanks); long ones are set aside later,
    # since their values may have shifted column.
    long_rows = [n for n, row in enumerate(rows, 1) if len(row) > width and any(row[width:])]
    rows = [row if len(row) == width else (row + [""] * width)[:width] for row in rows]
    # Take the table's columns by position (the first, if a name repeats), stripped.
    positions = [header.index(column) for column in COLUMNS[table]]
    frame = pd.DataFrame(rows, columns=range(width), dtype=object)[positions]
    frame.columns = list(COLUMNS[table])
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame = frame.apply(lambda column: column.str.strip())
    # Blank lines (or lines of commas) are not records, but still count in the numbering so
    # that "row N" matches what a spreadsheet shows.
    frame = frame[(frame != "").any(axis=1)]
    locations = pd.Series([f"row {n}" for n in frame.index], index=frame.index, dtype=object)
    long_rows = [n for n in long_rows if n in frame.index]
    return RawTable(table, path.name, frame, locations, long_rows=long_rows)


def _file_problems(path: Path, table: str, header: list[str], encoding: str | None):
    """Warnings about the file as a whole: its encoding and columns that were ignored."""
    problems = []
    if encoding:
        problems.append(_file_problem(path, table, "whole file", None, encoding, "encoding"))
    for extra in [c for c in dict.fromkeys(header) if c not in COLUMNS[table]]:
        expected = f"only the columns of the {LABELS[table]} table; this column was ignored"
        problems.append(
            _file_problem(path, table, "header row", extra or "(unnamed)", expected, "columns")
        )
    return problems


def _file_problem(path: Path, table: str, where: str, column, expected: str, rule: str):
    return Problem(
        file=path.name,
        location=where,
        field=column,
        value=None,
        expected=expected,
        severity=WARNING,
        table=table,
        rule=rule,
    )


def _source_file(path: Path, kind: str) -> SourceFile:
    if not path.is_file():
        raise UnreadableFile(path, "the file does not exist")
    return SourceFile(path=path, sha256=sha256_of(path), size=path.stat().st_size, kind=kind)


def _read_csv_set(paths: list[Path], result: ReadResult) -> dict[str, RawTable]:
    tables: dict[str, RawTable] = {}
    for path in paths:
        source = _source_file(path, "ssda903_csv:unrecognised")
        result.files.append(source)
        content, encoding = _decode(path)
        try:
            header, rows = _parse_csv(content)
        except csv.Error as error:  # e.g. a field beyond the csv module's size limit
            raise UnreadableFile(path, f"the CSV could not be parsed ({error})") from None
        table = _best_table(header)[0]
        if table is None:
            raise UnreadableFile(path, _unrecognised_reason(header))
        source.kind = f"ssda903_csv:{table}"
        if table in tables:
            raise UnreadableFile(
                path,
                f"{tables[table].file} and {path.name} both hold the SSDA903 {LABELS[table]} "
                "table. A return has one file per table: remove one and load again.",
            )
        tables[table] = _csv_table(path, table, header, rows)
        result.problems.extend(_file_problems(path, table, header, encoding))
    return tables


def read_ssda903(paths: list[Path], *, collection_year: int | None = None) -> ReadResult:
    """Read one return's CSV set (any subset of the 903 tables, any file names).

    Never raises for bad content: a file that cannot be read at all (empty, undecodable, not
    a 903 table, or a second file for the same table) sets ``ReadResult.fatal`` and nothing
    of the set is loaded, since half a return could pass for a whole one.
    """
    paths = [Path(p) for p in paths]
    result = ReadResult(source=SOURCE, collection_year=None, files=[])
    if not paths:
        result.fatal = "no SSDA903 files were given"
        return result
    try:
        raw = _read_csv_set(paths, result)
    except UnreadableFile as error:
        result.fatal = str(error)
        return result
    return _finish(result, raw, paths, collection_year)


# --- Reading XML ------------------------------------------------------------------------------

# Flat items of <HEADER>, and the table each belongs to.
_XML_HEADER_ITEMS = {
    "CHILDID": "header",
    "UPN": "header",
    "SEX": "header",
    "DOB": "header",
    "ETHNIC": "header",
    "UASC": "header",
    "DUC": "uasc",
    "MOTHER": "header",
    "MC_DOB": "header",
    "IN_TOUCH": "oc3",
    "ACTIV": "oc3",
    "ACCOM": "oc3",
    "DATE_INT": "ad1",
    "DATE_MATCH": "ad1",
    "FOSTER_CARE": "ad1",
    "NB_ADOPTR": "ad1",
    "SEX_ADOPTR": "ad1",
    "LS_ADOPTR": "ad1",
}
# Repeating or nested blocks inside <HEADER>.
_XML_BLOCKS = {
    "AREVIEW": "reviews",
    "AMISSING": "missing",
    "OC2": "oc2",
    "PERMANENCE": "previous_permanence",
    "AD_PLACED": "placed_for_adoption",
}
_XML_EPISODE_ITEMS = (set(COLUMNS["episodes"]) - {"CHILD", "PLACE"}) | {"PL"}
_XML_RENAME = {"CHILDID": "CHILD", "PL": "PLACE"}
XML_TABLES = ("header", "episodes", "reviews", "uasc", "oc2", "oc3", "ad1")
XML_TABLES += ("placed_for_adoption", "previous_permanence", "missing")


def looks_like_ssda903_xml(path: Path) -> bool:
    """True for an SSDA903 XML return (root <EXPSSDA903>, or <CHILD> records with <CHILDID>).

    Raises UnreadableFile for an empty, hostile (DOCTYPE) or malformed file, so the caller can
    show why rather than call it unrecognised.
    """
    path = Path(path)
    if root_tag(path) == "EXPSSDA903":
        return True
    return next(iter_elements(path, "CHILDID"), None) is not None


class _XmlRows:
    """Rows collected while walking the XML, per table, plus unknown elements seen."""

    def __init__(self):
        self.rows: dict[str, list[dict[str, str]]] = {t: [] for t in XML_TABLES}
        self.lines: dict[str, list[int]] = {t: [] for t in XML_TABLES}
        self.unknown: Counter[str] = Counter()
        self.unknown_line: dict[str, int] = {}

    def add(self, table: str, line: int | None, values: dict[str, str]) -> None:
        self.rows[table].append(values)
        self.lines[table].append(line or 0)

    def note_unknown(self, element) -> None:
        tag = element.tag if isinstance(element.tag, str) else "(comment)"
        self.unknown[tag] += 1
        self.unknown_line.setdefault(tag, element.sourceline or 0)


def _leaves(element, rows: _XmlRows, known: set[str]) -> dict[str, str]:
    """The items of a block, by CSV name. (This loop is the hot spot of reading XML.)"""
    values = {}
    for item in element:
        tag = item.tag
        if tag in known:
            values[_XML_RENAME.get(tag, tag)] = text(item) or ""
        else:
            rows.note_unknown(item)
    return values


def _header_items(header, rows: _XmlRows) -> dict[str, str]:
    """The flat items of <HEADER> (nested blocks are read separately)."""
    items: dict[str, str] = {}
    for item in header if header is not None else ():
        if item.tag in _XML_BLOCKS:
            continue
        if item.tag in _XML_HEADER_ITEMS:
            items[_XML_RENAME.get(item.tag, item.tag)] = text(item) or ""
        else:
            rows.note_unknown(item)
    return items


def _walk_child(child, rows: _XmlRows) -> None:
    """Turn one <CHILD> into rows of the same string tables a CSV set gives."""
    header = child.find("HEADER")
    line = (header if header is not None else child).sourceline
    items = _header_items(header, rows)
    rows.add("header", line, items)
    # OC3 and AD1 items sit flat in the header: a child has such a row when any is given.
    given = {_XML_HEADER_ITEMS[tag] for tag, value in items.items() if value and tag != "CHILD"}
    if items.get("UASC") == "1" or "uasc" in given:
        rows.add("uasc", line, items)
    for table in ("oc3", "ad1"):
        if table in given:
            rows.add(table, line, items)
    who = {"CHILD": items.get("CHILD", ""), "DOB": items.get("DOB", "")}
    for block in header if header is not None else ():
        if block.tag in _XML_BLOCKS:
            table = _XML_BLOCKS[block.tag]
            values = _leaves(block, rows, set(COLUMNS[table]) - {"CHILD", "DOB"})
            rows.add(table, block.sourceline, {**who, **values})
    for element in child:
        if element.tag == "EPISODE":
            values = _leaves(element, rows, _XML_EPISODE_ITEMS)
            rows.add("episodes", element.sourceline, {**who, **values})
        elif element.tag != "HEADER":
            rows.note_unknown(element)


def _xml_raw_tables(path: Path, rows: _XmlRows) -> dict[str, RawTable]:
    tables = {}
    for table in XML_TABLES:
        columns = list(COLUMNS[table]) + (["UASC", "DUC"] if table == "header" else [])
        frame = pd.DataFrame(rows.rows[table], columns=columns, dtype=object)
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        frame = _strip_all(frame)
        locations = pd.Series([f"line {n}" for n in rows.lines[table]], index=frame.index)
        names = {"CHILD": "CHILDID", "PLACE": "PL"} if table == "episodes" else {"CHILD": "CHILDID"}
        tables[table] = RawTable(table, path.name, frame, locations, names)
    return tables


def _unknown_element_problems(path: Path, rows: _XmlRows) -> list[Problem]:
    return [
        Problem(
            file=path.name,
            location=f"line {rows.unknown_line[tag]}",
            field=None,
            value=None,
            expected=(
                f"only elements of the SSDA903 XML layout; <{tag}> is not one and was "
                f"ignored ({count} time{'s' if count > 1 else ''})"
            ),
            severity=WARNING,
            rule="layout",
        )
        for tag, count in rows.unknown.items()
    ]


def read_ssda903_xml(path: Path, *, collection_year: int | None = None) -> ReadResult:
    """Read a whole return in the 903 XML layout (data-formats 2.3).

    Every table the layout carries is returned, even when empty, because the file is the whole
    return. Social-worker episodes and DoLo have no known XML tags and are not read.
    """
    path = Path(path)
    result = ReadResult(source=SOURCE, collection_year=None, files=[])
    try:
        result.files.append(_source_file(path, "ssda903_xml"))
        rows = _XmlRows()
        for child in iter_elements(path, "CHILD"):
            _walk_child(child, rows)
    except UnreadableFile as error:
        result.fatal = str(error)
        return result
    if not rows.rows["header"]:
        result.fatal = (
            f"{path.name}: no <CHILD> records were found, so this is not an SSDA903 XML return"
        )
        return result
    result.problems.extend(_unknown_element_problems(path, rows))
    return _finish(result, _xml_raw_tables(path, rows), [path], collection_year)


# --- Collection year -------------------------------------------------------------------------

# Dates that fall inside the collection year, most telling first. Episodes define a return;
# other dates only decide when there are no episodes (fake returns carry random review dates).
_YEAR_EVIDENCE = (
    {"episodes": ("DECOM", "DEC")},
    {"reviews": ("REVIEW",), "missing": ("MIS_START",)},
    {
        "missing": ("MIS_END",),
        "sw_episodes": ("SW_DECOM", "SW_DEC"),
        "ad1": ("DATE_INT", "DATE_MATCH"),
        "placed_for_adoption": ("DATE_PLACED", "DATE_PLACED_CEASED"),
        "dolo": ("DOLO_START", "DOLO_END"),
    },
)
# Share of the evidence allowed to lie after the inferred year: a few typed-in future dates
# must not move the whole return to a later year (they are reported as too late instead).
_STRAY_SHARE = 0.01


def _year_from_names(paths: list[Path]) -> int | None:
    """A year written in the file names, else in their folder or the folder above it.

    Returns are often kept as ``2024-25/ssda903/*.csv``, hence the second folder level.
    """
    latest_possible = pd.Timestamp.today().year + 1
    levels = ([p.name for p in paths], [p.parent.name for p in paths])
    levels += ([p.parent.parent.name for p in paths],)
    for names in levels:
        found = [end_year_from_name(n) for n in names]
        found = [y for y in found if y is not None and 2000 <= y <= latest_possible]
        if found:
            ranked = Counter(found).most_common()
            top = ranked[0][1]
            return max(y for y, n in ranked if n == top)
    return None


def _evidence_dates(raw: dict[str, RawTable], group: dict[str, tuple[str, ...]]) -> pd.Series:
    """Plausible dates of the group's columns, indexed by the column each came from."""
    parts = []
    for table, columns in group.items():
        for column in columns if table in raw else ():
            values = raw[table].frame[column]
            dates = pd.to_datetime(values, format=DATE_FORMAT, errors="coerce").dropna()
            parts.append(pd.Series(dates.to_numpy(), index=[column] * len(dates)))
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    dates = pd.concat(parts)
    # Dates after today cannot have been recorded yet: they are typing mistakes.
    return dates[(dates >= EARLIEST_PLAUSIBLE) & (dates <= pd.Timestamp.today())]


def _infer_year(raw: dict[str, RawTable]) -> tuple[int, str] | None:
    """The end year of the latest dates, allowing a small share of stray later ones."""
    for group in _YEAR_EVIDENCE:
        dates = _evidence_dates(raw, group)
        if dates.empty:
            continue
        end_years = dates.dt.year + (dates.dt.month >= 4).astype(int)
        allowed = int(len(end_years) * _STRAY_SHARE)
        later = 0
        for end, count in end_years.value_counts().sort_index(ascending=False).items():
            if later + count > allowed:
                in_year = dates[end_years == end]
                column = in_year.idxmax()
                evidence = f"the latest {column} date ({in_year.max():%d/%m/%Y})"
                if later:
                    evidence += f"; {later} later date(s) look mistyped and are reported"
                return int(end), evidence
            later += count
    return None


def _decide_year(
    given: int | None, paths: list[Path], raw: dict[str, RawTable]
) -> tuple[int | None, list[str]]:
    named = _year_from_names(paths)
    if given is not None:
        if named is not None and named != given:
            return given, [
                f"The file or folder names suggest {year_label(named)}, but the collection "
                f"year {year_label(given)} was given and is used."
            ]
        return given, []
    if named is not None:
        return named, [f"Collection year {year_label(named)} taken from the file or folder name."]
    inferred = _infer_year(raw)
    if inferred is None:
        return None, []
    year, evidence = inferred
    return year, [
        f"No collection year was given and none is in the file or folder names, so "
        f"{year_label(year)} "
        f"was inferred from {evidence}. If that is wrong, load the return again giving the "
        f"year with --year (the end year, e.g. --year {year} for {year_label(year)})."
    ]


# --- Shared validation -----------------------------------------------------------------------


@dataclass
class _Context:
    """What every table's checks need: the year and what the header says about each child."""

    year: int
    header_file: str | None = None
    header_children: set[str] | None = None  # every CHILD in the header, duplicates included
    header_dob: pd.Series | None = None  # child -> DOB, for children listed once
    header_sex: pd.Series | None = None  # child -> M/F/U, for children listed once
    episode_children: set[str] | None = None
    care_leavers: set[str] = field(default_factory=set)  # OC3 children need no episode

    @property
    def end(self) -> pd.Timestamp:
        return year_end(self.year)

    @property
    def start(self) -> pd.Timestamp:
        return year_start(self.year)

    def by_year_end(self, what: str = "a date") -> str:
        return f"{what} on or before {self.end:%d/%m/%Y} (the end of {year_label(self.year)})"


def _children(frame: pd.DataFrame) -> pd.Series:
    return clean_text(frame["CHILD"], upper=False)


def _context(raw: dict[str, RawTable], year: int) -> _Context:
    ctx = _Context(year=year)
    if "header" in raw:
        frame = raw["header"].frame
        child = _children(frame)
        once = child.notna() & ~child.duplicated(keep=False)
        dob = pd.to_datetime(frame["DOB"], format=DATE_FORMAT, errors="coerce")
        # A date of birth the header check rejects is no yardstick for the other tables.
        dob = dob.where((dob >= EARLIEST_PLAUSIBLE) & (dob <= year_end(year)))
        sex = clean_text(frame["SEX"])
        sex = sex.where(_isin(sex, codes("ssda903_sex", year))).map(_sex_map())
        ctx.header_file = raw["header"].file
        ctx.header_children = set(child.dropna())
        ctx.header_dob = pd.Series(dob[once].to_numpy(), index=child[once].to_numpy())
        ctx.header_sex = pd.Series(sex[once].to_numpy(), index=child[once].to_numpy())
    if "episodes" in raw:
        ctx.episode_children = set(_children(raw["episodes"].frame).dropna())
    if "oc3" in raw:
        ctx.care_leavers = set(_children(raw["oc3"].frame).dropna())
    return ctx


def _sex_map() -> dict[str, str]:
    return attribute("ssda903_sex", "sex")


def _finish(
    result: ReadResult, raw: dict[str, RawTable], paths: list[Path], given: int | None
) -> ReadResult:
    year, notes = _decide_year(given, paths, raw)
    result.notes.extend(notes)
    if year is None:
        result.fatal = (
            "the collection year could not be told: no year was given, none is in the file or "
            "folder names, and the files hold no episode, review or missing dates. Load again with "
            "--year (the end year, e.g. 2025 for 2024-25)."
        )
        return result
    result.collection_year = year
    ctx = _context(raw, year)
    for name in [t for t in COLUMNS if t in raw]:
        table = raw[name]
        frame, problems, count = _validate_table(table, ctx)
        store = STORE_TABLE[name]
        result.tables[store] = frame
        result.counts[store] = count
        result.problems.extend(problems)
    result.problems.sort(key=_problem_order)
    return result


def _problem_order(problem: Problem) -> tuple[str, int]:
    number = re.search(r"\d+", problem.location)
    return problem.file, int(number.group()) if number else 0


def _validate_table(raw: RawTable, ctx: _Context) -> tuple[pd.DataFrame, list[Problem], TableCount]:
    frame = raw.frame.copy()
    frame["CHILD"] = _children(frame)
    check = TableCheck(
        frame, file=raw.file, table=raw.table, child_column="CHILD", locations=raw.locations
    )
    too_long = pd.Series(frame.index.isin(raw.long_rows), index=frame.index)
    expected = f"{len(COLUMNS[raw.table])} values, one per column (this row has more)"
    check.flag(too_long, None, expected, rule="columns")
    columns = CHECKS[raw.table](check, ctx)
    if raw.table != "header":
        _cross_file_checks(check, ctx)
    out = _typed(columns, STORE_TABLE[raw.table], frame.index, ctx.year)
    kept = out[~check.set_aside].reset_index(drop=True)
    problems = [_in_file_terms(p, raw.file_fields) for p in check.problems]
    count = TableCount(read=len(frame), set_aside=int(check.set_aside.sum()))
    return kept, problems, count


def _in_file_terms(problem: Problem, names: dict[str, str]) -> Problem:
    if problem.field in names:
        return replace(problem, field=names[problem.field])
    return problem


def _typed(columns: dict[str, pd.Series], store: str, index: pd.Index, year: int) -> pd.DataFrame:
    """The reader columns of a store table, with the dtypes the loader expects."""
    table = TABLES[store]
    types = table.types()
    out = {}
    for name in table.reader_columns:
        series = columns.get(name)
        if name == "year":
            series = pd.Series(year, index=index)
        if series is None:
            series = pd.Series(pd.NA, index=index, dtype=object)
        out[name] = _as_type(series, types.get(name, TEXT))
    return pd.DataFrame(out, index=index)


def _as_type(series: pd.Series, kind: str) -> pd.Series:
    if kind == "DATE":
        dates = pd.to_datetime(series, errors="coerce")
        return dates.dt.normalize().astype("datetime64[ns]")
    if kind == "INTEGER":
        return series.astype("Int64")
    if kind == "BOOLEAN":
        return series.astype("boolean")
    return series.astype("string")


# --- Check helpers ---------------------------------------------------------------------------


def _flag_rows(
    check: TableCheck,
    mask: pd.Series,
    column: str | None,
    expected: pd.Series,
    *,
    severity: str = ERROR,
    rule: str = "invalid",
) -> None:
    """Like TableCheck.flag, with an ``expected`` text per row (e.g. naming the other row)."""
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return
    values = check.frame[column] if column in check.frame else pd.Series(pd.NA, index=mask.index)
    flagged = mask[mask].index
    for index in flagged:
        value, child = values[index], check.frame.at[index, "CHILD"]
        check.problems.append(
            Problem(
                file=check.file,
                location=str(check.locations[index]),
                field=column,
                value=None if pd.isna(value) else str(value),
                expected=str(expected[index]),
                severity=severity,
                table=check.table,
                child=None if pd.isna(child) else str(child),
                rule=rule,
            )
        )
    if severity == ERROR:
        check.set_aside |= mask


def _validity_window(name: str, code: str) -> str | None:
    for row in code_table(name):
        if row["code"] == code:
            start, end = row.get("valid_from") or "", row.get("valid_to") or ""
            if start and end:
                return f"{code} is valid from {year_label(int(start))} to {year_label(int(end))}"
            if start:
                return f"{code} is valid from the {year_label(int(start))} return on"
            if end:
                return f"{code} was valid until the {year_label(int(end))} return"
    return None


def _code(
    check: TableCheck,
    column: str,
    name: str,
    year: int,
    *,
    required: bool = False,
    severity: str = ERROR,
    notes: dict[str, str] | None = None,
) -> pd.Series:
    """Check a coded column against a code list for the year; return clean codes (bad -> NA).

    Messages explain codes that belong to another year (e.g. SEX 1 in 2024-25) and any
    ``notes`` given for known mistakes (e.g. ACCOM S1).
    """
    value = clean_text(check.frame[column])
    valid = codes(name, year)
    expected = describe(name, year)
    if required:
        check.flag(value.isna(), column, expected, rule="required", severity=severity)
    bad = value.notna() & ~_isin(value, valid)
    if bad.any():
        why = {}
        for code in value[bad].unique():
            extra = (notes or {}).get(code) or _validity_window(name, code)
            why[code] = f"{expected}; {extra}" if extra else expected
        _flag_rows(check, bad, column, value.map(why), severity=severity, rule="code")
    return value.where(~bad)


def _within_year(check: TableCheck, column: str, ctx: _Context, *, required: bool = False):
    return check.date(
        column, DATE_FORMAT, required=required, latest=ctx.end, latest_words=ctx.by_year_end()
    )


def _require_child(check: TableCheck) -> pd.Series:
    check.required("CHILD", "the child's identifier")
    return check.frame["CHILD"]


def _pattern(
    check: TableCheck, column: str, pattern: str, expected: str, *, severity: str = WARNING
) -> pd.Series:
    value = clean_text(check.frame[column])
    bad = value.notna() & ~value.str.fullmatch(pattern).fillna(False).astype(bool)
    check.flag(bad, column, expected, severity=severity, rule="format")
    return value


def _both_or_neither(check: TableCheck, first: str, second: str, what: dict[str, str]) -> None:
    """Two fields that must be given together (e.g. DEC and REC): flag the blank one."""
    one, two = ~blank(check.frame[first]), ~blank(check.frame[second])
    check.flag(one & ~two, second, what[second], rule="required")
    check.flag(two & ~one, first, what[first], rule="required")


def _flag_duplicates(
    check: TableCheck, keys: list[pd.Series], column: str, what: str, *, keep="first"
) -> pd.Series:
    """Set aside repeated keys: later copies (keep='first') or every copy (keep=False)."""
    frame = pd.concat(keys, axis=1, ignore_index=True)
    repeated = frame.notna().all(axis=1) & frame.duplicated(keep=keep)
    if not repeated.any():
        return repeated
    groups = [frame.loc[repeated, k] for k in frame.columns]
    places = check.locations[repeated]
    if keep is False:
        rows = places.groupby(groups).transform(lambda s: ", ".join(s))
        expected = _per_row(repeated, what + ": this child is in {rows}", rows=rows)
    else:
        every = frame.notna().all(axis=1) & frame.duplicated(keep=False)
        all_groups = [frame.loc[every, k] for k in frame.columns]
        first = check.locations[every].groupby(all_groups).transform("first")
        expected = _per_row(repeated, what + ": {first} has the same", first=first)
    _flag_rows(check, repeated, column, expected, rule="duplicate")
    return repeated


def _per_row(mask: pd.Series, template: str, **columns: pd.Series) -> pd.Series:
    """The expected text of each flagged row, filling ``template`` from that row's values.

    Only flagged rows are formatted, so the cost follows the problems, not the file size.
    """
    rows = mask[mask.fillna(False).astype(bool)].index
    picked = {name: column.reindex(rows).tolist() for name, column in columns.items()}
    texts = [
        template.format(**{name: _shown(values[n]) for name, values in picked.items()})
        for n in range(len(rows))
    ]
    return pd.Series(texts, index=rows, dtype=object)


def _shown(value) -> str:
    if isinstance(value, pd.Timestamp):
        return f"{value:%d/%m/%Y}"
    return "" if value is None or value is pd.NA or value != value else str(value)


def _cross_file_checks(check: TableCheck, ctx: _Context) -> None:
    """Orphans (child not in the header) and dates of birth that disagree with the header."""
    child = check.frame["CHILD"]
    if ctx.header_children is not None:
        orphan = child.notna() & ~_isin(child, ctx.header_children)
        expected = f"a child who is in the header file ({ctx.header_file})"
        check.flag(orphan, "CHILD", expected, rule="orphan")
    if "DOB" not in check.frame:
        return
    dob = pd.to_datetime(check.frame["DOB"], format=DATE_FORMAT, errors="coerce")
    given = ~blank(check.frame["DOB"])
    check.flag(given & dob.isna(), "DOB", DATE_WORDS, severity=WARNING, rule="date")
    if ctx.header_dob is not None:
        header_dob = child.map(ctx.header_dob)
        differs = dob.notna() & header_dob.notna() & (dob != header_dob)
        template = "the same date of birth as the header ({dob})"
        expected = _per_row(differs, template, dob=header_dob)
        _flag_rows(check, differs, "DOB", expected, severity=WARNING, rule="cross-file")


# --- Table checks ----------------------------------------------------------------------------
# Each returns the store columns (named as in framework.store.schema) for every row; the
# caller drops the rows set aside and fixes the dtypes.


def _check_header(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    sex = _code(check, "SEX", "ssda903_sex", ctx.year, required=True)
    dob = _within_year(check, "DOB", ctx, required=True)
    ethnicity = _code(check, "ETHNIC", "ethnicity", ctx.year, required=True)
    upn, upn_unknown = _upn(check)
    mother = check.boolean("MOTHER")
    mother_child_dob = _within_year(check, "MC_DOB", ctx)
    not_mother = ~mother.fillna(False).astype(bool)
    expected = "blank unless MOTHER is 1 (the child is a mother)"
    mask = mother_child_dob.notna() & not_mother
    check.flag(mask, "MC_DOB", expected, severity=WARNING, rule="combination")
    if "UASC" in check.frame:
        _check_uasc_flag(check)
    _flag_duplicates(check, [child], "CHILD", "one header row per child", keep=False)
    if ctx.episode_children is not None:
        with_reason = ctx.episode_children | ctx.care_leavers
        no_episode = child.notna() & ~_isin(child, with_reason)
        expected = "at least one episode in the episodes file (or an OC3 row, for a care leaver)"
        check.flag(no_episode, "CHILD", expected, severity=WARNING, rule="cross-file")
    return {
        "child_id": child,
        "sex": sex.map(_sex_map()),
        "date_of_birth": dob,
        "ethnicity": ethnicity,
        "upn": upn,
        "upn_unknown": upn_unknown,
        "mother": mother,
        "mother_child_dob": mother_child_dob,
    }


def _upn(check: TableCheck) -> tuple[pd.Series, pd.Series]:
    """UPN, or its unknown-reason code (UN1-UN5) when no UPN is known."""
    # The list is shared with the CiN census, whose extra codes are marked "(CiN only)".
    unknown_codes = {c for c, m in attribute("upn_unknown", "meaning").items() if "CiN" not in m}
    words = "a UPN (a letter other than I, O or S, then 11 digits and a digit or letter)"
    words += ", or " + ", ".join(sorted(unknown_codes)) + " when it is not known"
    value = clean_text(check.frame["UPN"])
    unknown = _isin(value, unknown_codes)
    check.flag(value.isna(), "UPN", words, severity=WARNING, rule="required")
    malformed = value.notna() & ~unknown & ~value.str.fullmatch(_UPN).fillna(False).astype(bool)
    check.flag(malformed, "UPN", words, severity=WARNING, rule="format")
    return value.where(~unknown), value.where(unknown)


def _check_uasc_flag(check: TableCheck) -> None:
    """XML only: the UASC flag says whether the child was ever unaccompanied (0/1)."""
    flag = check.frame["UASC"]
    not_flag = ~blank(flag) & ~_isin(flag, {"0", "1"})
    check.flag(not_flag, "UASC", "1 or 0", severity=WARNING, rule="code")
    contradicts = (flag == "0") & ~blank(check.frame["DUC"])
    expected = "1 when the date UASC status ceased (DUC) is given"
    check.flag(contradicts, "UASC", expected, severity=WARNING, rule="combination")


def _check_episodes(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    year = ctx.year
    child = _require_child(check)
    start = _within_year(check, "DECOM", ctx, required=True)
    columns = {
        "reason_new_episode": _code(check, "RNE", "reason_new_episode", year, required=True),
        "legal_status": _code(check, "LS", "legal_status", year, required=True),
        "category_of_need": _code(check, "CIN", "category_of_need", year, required=True),
    }
    place = _code(check, "PLACE", "placement_type", year, required=True)
    _check_place_dates(check, place, start)
    provider = _code(check, "PLACE_PROVIDER", "placement_provider", year)
    parents_only = (provider == "PR0") & place.notna() & (place != "P1")
    expected = "PR0 (parents) only with placement type P1 (placed with parents)"
    check.flag(parents_only, "PLACE_PROVIDER", expected, rule="combination")
    end = _within_year(check, "DEC", ctx)
    reason_ceased = _code(check, "REC", "reason_ceased", year)
    has_end, has_reason = ~blank(check.frame["DEC"]), ~blank(check.frame["REC"])
    check.flag(
        has_end & ~has_reason,
        "REC",
        "the reason the episode ceased (REC), because DEC is given",
        rule="required",
    )
    # Some systems fill REC on open episodes (often X1). The episode itself is sound, so it
    # loads as open and the stray reason is dropped, with a warning.
    stray_reason = has_reason & ~has_end
    check.flag(
        stray_reason,
        "REC",
        "no reason while the episode is open (DEC is blank): the reason was ignored",
        severity=WARNING,
        rule="combination",
    )
    reason_ceased = reason_ceased.mask(stray_reason)
    expected = "an end date (DEC) on or after the start date (DECOM)"
    check.order(start, end, "DEC", expected)
    change = _check_place_change(check, place, year)
    _check_episode_timeline(check, ctx, child, start, end)
    return {
        "child_id": child,
        "start_date": start,
        **columns,
        "placement_type": place,
        "placement_provider": provider,
        "end_date": end,
        "reason_ceased": reason_ceased,
        "reason_place_change": change,
        "home_postcode": _postcode(check, "HOME_POST"),
        "placement_postcode": _postcode(check, "PL_POST"),
        "urn": _pattern(check, "URN", _URN, "an Ofsted URN: SC and 6 digits, 7 digits or XXXXXXX"),
    }


def _check_place_dates(check: TableCheck, place: pd.Series, start: pd.Series) -> None:
    late_p2 = (place == "P2") & (start > P2_LAST_START)
    expected = (
        "a placement type other than P2: independent living cannot be recorded for "
        f"episodes starting after {P2_LAST_START:%d/%m/%Y}"
    )
    check.flag(late_p2, "PLACE", expected, rule="code")


def _check_place_change(check: TableCheck, place: pd.Series, year: int) -> pd.Series:
    change = _code(check, "REASON_PLACE_CHANGE", "reason_place_change", year)
    groups = attribute("placement_type", "group")
    temporary = place.map(groups) == "Temporary"
    expected = "blank for temporary placements (T0-T4): they are not placement moves"
    mask = temporary & change.notna()
    check.flag(mask, "REASON_PLACE_CHANGE", expected, severity=WARNING, rule="combination")
    return change


def _check_episode_timeline(
    check: TableCheck, ctx: _Context, child: pd.Series, start: pd.Series, end: pd.Series
) -> None:
    """Duplicates, overlaps, episodes before birth and late corrections."""
    duplicate = _flag_duplicates(
        check, [child, start], "DECOM", "one episode per child and start date (DECOM)"
    )
    _flag_overlaps(check, child, start, end, child.notna() & start.notna() & ~duplicate)
    if ctx.header_dob is not None:
        dob = child.map(ctx.header_dob)
        before_birth = start.notna() & (start < dob)
        template = "a start on or after the child's date of birth ({dob})"
        expected = _per_row(before_birth, template, dob=dob)
        _flag_rows(check, before_birth, "DECOM", expected, rule="order")
    before_year = end < ctx.start
    expected = (
        f"an end date in {year_label(ctx.year)} or later: this episode ended before "
        f"{ctx.start:%d/%m/%Y}, so it is loaded as a late correction to an earlier year"
    )
    check.flag(before_year, "DEC", expected, severity=WARNING, rule="year")


_OPEN = np.iinfo("int64").max  # the "end" of an episode still open
_UNKNOWN = np.iinfo("int64").min  # an end date that could not be read (set aside anyway)


def _flag_overlaps(
    check: TableCheck, child: pd.Series, start: pd.Series, end: pd.Series, eligible: pd.Series
) -> None:
    """Set aside an episode that starts before an earlier episode of the child has ended.

    "Earlier" means any of them, not just the one before: the furthest end reached so far is
    the yardstick, so no two loaded episodes can overlap even when one between them was set
    aside.
    """
    # How far each episode reaches, as exact integers (nanoseconds), so open ones can be "max".
    missing = np.where(blank(check.frame["DEC"]), _OPEN, _UNKNOWN)
    ends = end.to_numpy("datetime64[ns]").view("int64")
    reach = pd.Series(np.where(end.notna(), ends, missing), index=end.index, dtype="Int64")
    timeline = pd.DataFrame(
        {"child": child, "start": start, "reach": reach, "where": check.locations}
    )[eligible].sort_values(["child", "start"], kind="stable")
    by_child = timeline.groupby("child", sort=False)
    timeline["furthest"] = by_child["reach"].cummax()
    # Which episode holds the furthest end so far: named in the message.
    holds = timeline["reach"] == timeline["furthest"]
    timeline["holder"] = timeline["where"].where(holds)
    timeline["holder_start"] = timeline["start"].where(holds)
    timeline[["holder", "holder_start"]] = by_child[["holder", "holder_start"]].ffill()
    before = by_child[["furthest", "holder", "holder_start"]].shift()
    starts = timeline["start"].to_numpy("datetime64[ns]").view("int64")
    overlaps = (starts < before["furthest"]).fillna(False).astype(bool)
    still_open = overlaps & (before["furthest"] == _OPEN).fillna(False).astype(bool)
    ended = pd.to_datetime(before["furthest"].where(overlaps & ~still_open), unit="ns")
    open_text = _per_row(
        still_open,
        "a start after the child's earlier episodes ended, but the episode starting "
        "{start} ({where}) has no end date (DEC)",
        start=before["holder_start"],
        where=before["holder"],
    )
    overlap_text = _per_row(
        overlaps & ~still_open,
        "a start on or after the end of the child's earlier episode ({where}, which ended {end})",
        where=before["holder"],
        end=ended,
    )
    mask = overlaps.reindex(check.frame.index, fill_value=False)
    expected = pd.concat([open_text, overlap_text])
    _flag_rows(check, mask, "DECOM", expected, rule="overlap")


def _postcode(check: TableCheck, column: str) -> pd.Series:
    """Upper case with one space before the inward code (AB1 2CD); blank -> missing."""
    squeezed = clean_text(check.frame[column]).str.replace(r"\s+", "", regex=True)
    full = squeezed.str.fullmatch(_POSTCODE).fillna(False).astype(bool)
    expected = "a full postcode such as AB1 2CD"
    check.flag(squeezed.notna() & ~full, column, expected, severity=WARNING, rule="format")
    spaced = squeezed.str[:-3] + " " + squeezed.str[-3:]
    as_given = clean_text(check.frame[column]).str.replace(r"\s+", " ", regex=True)
    return spaced.where(full, as_given)


def _check_reviews(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    review = _within_year(check, "REVIEW", ctx, required=True)
    code = _code(check, "REVIEW_CODE", "review_code", ctx.year, required=True)
    _flag_duplicates(check, [child, review], "REVIEW", "one review per child and date")
    return {"child_id": child, "review_date": review, "participation_code": code}


def _check_uasc(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    # SEX is not stored from this table: a bad or differing value is worth a warning only.
    sex = _code(check, "SEX", "ssda903_sex", ctx.year, severity=WARNING).map(_sex_map())
    if ctx.header_sex is not None:
        header_sex = child.map(ctx.header_sex)
        differs = sex.notna() & header_sex.notna() & (sex != header_sex)
        expected = _per_row(differs, "the same sex as the header ({sex})", sex=header_sex)
        _flag_rows(check, differs, "SEX", expected, severity=WARNING, rule="cross-file")
    # DUC is usually the 18th birthday, so it may lie beyond the collection year.
    ceased = check.date("DUC", DATE_FORMAT)
    _flag_duplicates(check, [child], "CHILD", "one UASC row per child")
    return {"child_id": child, "uasc_ceased_date": ceased}


_OC2_ITEMS = {
    "CONVICTED": "convicted",
    "HEALTH_CHECK": "health_check",
    "IMMUNISATIONS": "immunisations",
    "TEETH_CHECK": "teeth_check",
    "HEALTH_ASSESSMENT": "health_assessment",
    "SUBSTANCE_MISUSE": "substance_misuse",
    "INTERVENTION_RECEIVED": "intervention_received",
    "INTERVENTION_OFFERED": "intervention_offered",
}


def _check_oc2(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    score = check.integer("SDQ_SCORE", 0, 40)
    reason = _code(check, "SDQ_REASON", "sdq_reason", ctx.year)
    no_score, no_reason = blank(check.frame["SDQ_SCORE"]), blank(check.frame["SDQ_REASON"])
    expected = "an SDQ score from 0 to 40, or the reason there is none in SDQ_REASON"
    check.flag(no_score & no_reason, "SDQ_SCORE", expected, rule="required")
    expected = "blank when an SDQ score is given"
    both = ~no_score & ~no_reason
    check.flag(both, "SDQ_REASON", expected, severity=WARNING, rule="combination")
    items = {store: check.boolean(column) for column, store in _OC2_ITEMS.items()}
    _flag_duplicates(check, [child], "CHILD", "one OC2 row per child")
    return {"child_id": child, "sdq_score": score, "sdq_reason": reason, **items}


_NOT_APPLICABLE_FOR = ("DIED", "RHOM")  # care leavers for whom activity/accommodation is "0"


def _check_oc3(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    in_touch = _code(check, "IN_TOUCH", "in_touch", ctx.year, required=True)
    superseded = "F3 and P3 are superseded codes that are no longer valid"
    activity = _code(
        check, "ACTIV", "activity", ctx.year, notes={"F3": superseded, "P3": superseded}
    )
    always_unsuitable = "homelessness (S) and custody (X) are always unsuitable: use S2 or X2"
    accommodation = _code(
        check,
        "ACCOM",
        "accommodation",
        ctx.year,
        notes={"S1": always_unsuitable, "X1": always_unsuitable},
    )
    gone = _isin(in_touch, _NOT_APPLICABLE_FOR)
    for column, value, what in (
        ("ACTIV", activity, "an activity"),
        ("ACCOM", accommodation, "an accommodation code"),
    ):
        expected = f"{what}: 0 (not applicable) is only for IN_TOUCH DIED or RHOM"
        check.flag((value == "0") & ~gone, column, expected, rule="combination")
        expected = "0 (not applicable) when IN_TOUCH is DIED or RHOM"
        real = value.notna() & (value != "0")
        check.flag(real & gone, column, expected, severity=WARNING, rule="combination")
    _flag_duplicates(check, [child], "CHILD", "one OC3 row per child")
    return {
        "child_id": child,
        "in_touch": in_touch,
        "activity": activity,
        "accommodation": accommodation,
    }


def _check_ad1(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    decision = _within_year(check, "DATE_INT", ctx, required=True)
    match = _within_year(check, "DATE_MATCH", ctx)
    expected = "a match date (DATE_MATCH) on or after the decision date (DATE_INT)"
    check.order(decision, match, "DATE_MATCH", expected)
    columns = {
        "foster_carer": check.boolean("FOSTER_CARE"),
        "number_of_adopters": check.integer("NB_ADOPTR", 1, 2),
        "adopter_sex": _code(check, "SEX_ADOPTR", "adopter_sex", ctx.year),
        "adopter_legal_status": _code(check, "LS_ADOPTR", "adopter_legal_status", ctx.year),
    }
    _flag_duplicates(check, [child, decision], "DATE_INT", "one adoption per child and DATE_INT")
    return {"child_id": child, "decision_date": decision, "match_date": match, **columns}


def _check_placed_for_adoption(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    decision = _within_year(check, "DATE_PLACED", ctx, required=True)
    ceased = _within_year(check, "DATE_PLACED_CEASED", ctx)
    reason = _code(check, "REASON_PLACED_CEASED", "reason_placed_ceased", ctx.year)
    _both_or_neither(
        check,
        "DATE_PLACED_CEASED",
        "REASON_PLACED_CEASED",
        {
            "DATE_PLACED_CEASED": "the date of the decision to stop (DATE_PLACED_CEASED), "
            "because a reason is given",
            "REASON_PLACED_CEASED": "the reason (REASON_PLACED_CEASED), because "
            "DATE_PLACED_CEASED is given",
        },
    )
    expected = "a date on or after the decision date (DATE_PLACED)"
    check.order(decision, ceased, "DATE_PLACED_CEASED", expected)
    what = "one decision per child and DATE_PLACED"
    _flag_duplicates(check, [child, decision], "DATE_PLACED", what)
    return {
        "child_id": child,
        "decision_date": decision,
        "ceased_date": ceased,
        "ceased_reason": reason,
    }


def _check_previous_permanence(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    option = _code(check, "PREV_PERM", "previous_permanence", ctx.year, required=True)
    expected = "a 3-digit LA number, or WAL, SCO, NIR or NUK"
    arranging_la = _pattern(check, "LA_PERM", _LA_PERM, expected)
    _flag_duplicates(check, [child], "CHILD", "one previous permanence row per child")
    return {
        "child_id": child,
        "previous_permanence": option,
        "arranging_la": arranging_la,
        "permanence_date": _permanence_date(check, ctx),
    }


_PERM_DATE = r"(?P<d>[0-9]{1,2}|zz)/(?P<m>[0-9]{1,2}|zz)/(?P<y>[0-9]{4}|zzzz)"


def _permanence_date(check: TableCheck, ctx: _Context) -> pd.Series:
    """DATE_PERM as text dd/mm/yyyy, where zz/zzzz stand for the parts not known."""
    value = clean_text(check.frame["DATE_PERM"], upper=False).str.lower()
    parts = value.str.extract(f"^{_PERM_DATE}$")
    day, month, year = parts["d"], parts["m"], parts["y"]
    # Unknown parts run from the left: a known day needs a known month, and so on.
    shape = (month != "zz") | (day == "zz")
    shape &= (year != "zzzz") | (month == "zz")
    shape &= parts.notna().all(axis=1)
    padded = day.str.zfill(2) + "/" + month.str.zfill(2) + "/" + year
    full = pd.to_datetime(padded.where(day != "zz"), format=DATE_FORMAT, errors="coerce")
    month_ok = (month == "zz") | pd.to_numeric(month, errors="coerce").between(1, 12)
    year_number = pd.to_numeric(year, errors="coerce")
    year_ok = (year == "zzzz") | year_number.between(1980, ctx.end.year)
    real = shape & month_ok & year_ok & ((day == "zz") | full.notna())
    expected = (
        "a date as DD/MM/YYYY, with zz for unknown parts (zz/MM/YYYY, zz/zz/YYYY or zz/zz/zzzz)"
    )
    check.flag(value.notna() & ~real, "DATE_PERM", expected, rule="date")
    check.flag(full > ctx.end, "DATE_PERM", ctx.by_year_end(), rule="date")
    return padded.where(real & ~(full > ctx.end))


def _check_missing(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    kind = _code(check, "MISSING", "missing_type", ctx.year, required=True)
    start = _within_year(check, "MIS_START", ctx, required=True)
    end = _within_year(check, "MIS_END", ctx)
    check.order(start, end, "MIS_END", "an end date (MIS_END) on or after MIS_START")
    what = "one missing period per child and start date (MIS_START)"
    _flag_duplicates(check, [child, start], "MIS_START", what)
    return {"child_id": child, "missing_type": kind, "start_date": start, "end_date": end}


def _check_sw_episodes(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    worker = clean_text(check.frame["SW_ID"])
    check.required("SW_ID", "the social worker's identifier (SW_ID)")
    expected = "a Social Work England number (SW...) or a placeholder starting XX"
    _pattern(check, "SW_ID", _SW_ID, expected)
    start = _within_year(check, "SW_DECOM", ctx, required=True)
    end = _within_year(check, "SW_DEC", ctx)
    check.order(start, end, "SW_DEC", "an end date (SW_DEC) on or after SW_DECOM")
    reason = _code(check, "SW_REASON", "social_worker_change_reason", ctx.year)
    what = "one row per child, social worker and start date (SW_DECOM)"
    _flag_duplicates(check, [child, start, worker], "SW_DECOM", what)
    return {
        "child_id": child,
        "worker_id": worker,
        "start_date": start,
        "end_date": end,
        "change_reason": reason,
    }


def _check_dolo(check: TableCheck, ctx: _Context) -> dict[str, pd.Series]:
    child = _require_child(check)
    start = _within_year(check, "DOLO_START", ctx, required=True)
    end = _within_year(check, "DOLO_END", ctx)
    check.order(start, end, "DOLO_END", "an end date (DOLO_END) on or after DOLO_START")
    what = "one order per child and start date (DOLO_START)"
    _flag_duplicates(check, [child, start], "DOLO_START", what)
    return {"child_id": child, "start_date": start, "end_date": end}


CHECKS = {
    "header": _check_header,
    "episodes": _check_episodes,
    "reviews": _check_reviews,
    "uasc": _check_uasc,
    "oc2": _check_oc2,
    "oc3": _check_oc3,
    "ad1": _check_ad1,
    "placed_for_adoption": _check_placed_for_adoption,
    "previous_permanence": _check_previous_permanence,
    "missing": _check_missing,
    "sw_episodes": _check_sw_episodes,
    "dolo": _check_dolo,
}

__all__ = [
    "COLUMNS",
    "LABELS",
    "STORE_TABLE",
    "describe_unrecognised_csv",
    "identify_ssda903_csv",
    "looks_like_ssda903_xml",
    "read_ssda903",
    "read_ssda903_xml",
]
