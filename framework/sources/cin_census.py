"""Read the Children in Need census XML (2022-23 to 2026-27 shapes) into the canonical tables.

One streaming pass over the ``Child`` elements collects every block as plain Python rows (an
element loop, nothing pandas-shaped per child). The rows become one DataFrame per XML block at
the end and are checked column by column with ``TableCheck``, so a whole census is validated in
a few vectorised passes.

Every problem names the file, the line of the element at fault (or of its block when the
element is missing), the child and the field. An error sets aside the smallest record holding
the bad field and everything nested in it: a child with all its episodes, an episode
(CINdetails) with its assessments, plans, enquiries and pre-proceedings, an assessment with its
factors, a plan with its reviews, or a single code row. Warnings load the record (a repeated
disability code loads once).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from lxml import etree

from framework.codes import attribute, codes, describe
from framework.sources.common import (
    TableCheck,
    blank,
    end_year_from_name,
    end_year_of,
    sha256_of,
    year_end,
    year_label,
    year_start,
)
from framework.sources.problems import (
    WARNING,
    Problem,
    ReadResult,
    SourceFile,
    TableCount,
    UnreadableFile,
)
from framework.sources.safe_xml import iter_elements, require_root, sniff, text
from framework.store.schema import BOOL, DATE, INT, TABLES

SOURCE = "cin_census"
FILE_KIND = "cin_census_xml"
ISO = "%Y-%m-%d"
FIRST_SEX_YEAR = 2025  # <Sex> replaced <GenderCurrent> in 2024-25
FIRST_PRE_PROCEEDINGS_YEAR = 2027  # <PreProceedingsandFGDM> arrives in 2026-27
KNOWN_SHAPES = range(2023, 2028)  # end years whose layout this reader was written against
MAX_CHILD_ID_LENGTH = 20  # DfE rules 1570 and 1580
UPN_PATTERN = r"[A-Za-z]\d{12}|[A-Za-z]\d{11}[A-Za-z]"
OPEN = pd.Timestamp.max.normalize()  # the end of a record still open, when comparing spans

# Header element name -> (text or None, line; 0 when there is no header at all).
HeaderFields = dict[str, tuple[str | None, int]]

# The leaf fields of each XML block, in file order. "Child" gathers ChildIdentifiers and
# ChildCharacteristics, which describe one child each. Blocks are listed parents first.
BLOCK_FIELDS: dict[str, tuple[str, ...]] = {
    "Child": (
        "LAchildID",
        "UPN",
        "FormerUPN",
        "UPNunknown",
        "PersonBirthDate",
        "ExpectedPersonBirthDate",
        "Sex",
        "GenderCurrent",
        "PersonDeathDate",
        "Ethnicity",
    ),
    "Disability": ("Disability",),
    "CINdetails": (
        "CINreferralDate",
        "ReferralSource",
        "PrimaryNeedCode",
        "CINclosureDate",
        "ReasonForClosure",
        "DateOfInitialCPC",
        "ReferralNFA",
    ),
    "Assessments": (
        "AssessmentActualStartDate",
        "AssessmentInternalReviewDate",
        "AssessmentAuthorisationDate",
    ),
    "AssessmentFactors": ("AssessmentFactors",),
    "CINPlanDates": ("CINPlanStartDate", "CINPlanEndDate"),
    "Section47": ("S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC", "ICPCnotRequired"),
    "ChildProtectionPlans": (
        "CPPstartDate",
        "CPPendDate",
        "InitialCategoryOfAbuse",
        "LatestCategoryOfAbuse",
        "NumberOfPreviousCPP",
    ),
    "CPPreviewDate": ("CPPreviewDate",),
    "PreProceedingsandFGDM": (
        "PPStartDate",
        "LBPSentDate",
        "FGDMMeetingOffer",
        "FGDMMeetingFac",
        "InitialPPMeetingDate",
        "ReviewMeetingsCount",
        "StepDecisionDate",
        "PPOutcome",
        "CourtAppDate",
        "LetterInitCPDate",
    ),
}
PARENT_BLOCK = {
    "Disability": "Child",
    "CINdetails": "Child",
    "Assessments": "CINdetails",
    "AssessmentFactors": "Assessments",
    "CINPlanDates": "CINdetails",
    "Section47": "CINdetails",
    "ChildProtectionPlans": "CINdetails",
    "CPPreviewDate": "ChildProtectionPlans",
    "PreProceedingsandFGDM": "CINdetails",
}
TABLE_OF_BLOCK = {
    "Child": "children",
    "Disability": "child_disabilities",
    "CINdetails": "referrals",
    "Assessments": "assessments",
    "AssessmentFactors": "assessment_factors",
    "CINPlanDates": "cin_plans",
    "Section47": "s47_enquiries",
    "ChildProtectionPlans": "cp_plans",
    "CPPreviewDate": "cp_plan_reviews",
    "PreProceedingsandFGDM": "pre_proceedings",
}
# Codes are compared upper-cased, as the DfE tools do.
CODE_FIELDS = {
    "Sex",
    "GenderCurrent",
    "UPNunknown",
    "Ethnicity",
    "Disability",
    "ReferralSource",
    "PrimaryNeedCode",
    "ReasonForClosure",
    "AssessmentFactors",
    "InitialCategoryOfAbuse",
    "LatestCategoryOfAbuse",
    "PPOutcome",
}


def one_of(code_list: str, year: int | None = None) -> str:
    """Every valid code of a list, for 'expected' texts (the lists here are short)."""
    return describe(code_list, year, limit=100)


# --- Public API ---------------------------------------------------------------------------------


def looks_like_cin_census(path: Path) -> bool:
    """True for a ``Message`` whose header says CIN, or that holds ``Children/Child``.

    Reads only the first few elements. A file that cannot be read safely is not recognised
    (reading it would raise UnreadableFile with the reason).
    """
    return sniff(path, _sniff)


def _sniff(element: etree._Element) -> bool | None:
    """A verdict from one finished element and its ancestors, or None to look further."""
    ancestors = [a.tag for a in element.iterancestors()]  # parent first, root last
    if (ancestors[-1] if ancestors else element.tag) != "Message":
        return False
    if element.tag == "Collection" and ancestors[:2] == ["CollectionDetails", "Header"]:
        return (text(element) or "").upper() == "CIN"
    if ancestors[-3:] == ["Child", "Children", "Message"]:
        return True
    return None


def read_cin_census(path: Path, *, collection_year: int | None = None) -> ReadResult:
    """Read one CIN census XML file: canonical tables, every problem, counts and notes.

    Raises UnreadableFile (nothing loads) for an empty, hostile, malformed or foreign file, or
    when the collection year cannot be told.
    """
    path = Path(path)
    require_root(path, "Message", "a CiN census XML file")
    extractor = _Extractor(path)
    with _collector_paused():
        extractor.run()
    header = extractor.header()
    _require_census(path, header, extractor)
    decision = _decide_year(path, header, collection_year)
    context = _Context(path.name, decision.year)
    with _collector_paused():
        frames = _frames(extractor.rows)
    checked = _Validation(frames, context).run()
    problems = [
        *decision.problems,
        *_structure_problems(extractor, frames, context),
        *_shape_problems(frames, context),
        *checked.problems,
    ]
    problems.sort(key=_line_number)
    return ReadResult(
        source=SOURCE,
        collection_year=decision.year,
        files=[SourceFile(path, sha256_of(path), path.stat().st_size, FILE_KIND)],
        tables=checked.tables,
        problems=problems,
        counts=checked.counts,
        notes=decision.notes,
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while rows are collected.

    A census makes millions of long-lived row tuples, which the collector would rescan again and
    again as they are built (about a tenth of the reading time); none of them can form a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- Refusing files that are not a readable census ----------------------------------------------


def _require_census(path: Path, header: HeaderFields, extractor: _Extractor) -> None:
    collection = header["Collection"][0]
    if collection and collection.upper() != "CIN":
        raise UnreadableFile(
            path,
            f"the header says this is a {collection} return (Collection), not the CiN census",
        )
    if not extractor.rows["Child"]:
        raise UnreadableFile(
            path, "no <Child> records were found under <Message><Children>: nothing to load"
        )


# --- 1. Streaming extraction ---------------------------------------------------------------------


class _Extractor:
    """One pass over the file, keeping each block as a tuple:
    (parent row, line of the block, field values..., field lines...).

    A missing field is None with line 0. Text between elements (stray text) is never looked at.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, list[tuple]] = {block: [] for block in BLOCK_FIELDS}
        self.root: etree._Element | None = None
        # Structure warnings name the child by row: its LAchildID may come later in the file.
        self.unknown: dict[str, list] = {}  # name -> [first line, child row, first text, count]
        self.repeated: list[tuple[str, int, int, str | None]] = []  # tag, line, child row, text
        self._current: dict[str, int] = {"Child": -1}  # row of the block being read, per block
        self._index = {block: _positions(fields) for block, fields in BLOCK_FIELDS.items()}
        self._nested: dict[str, dict[str, Callable]] = {
            "ChildCharacteristics": {
                "Disabilities": partial(self._items, item="Disability", block="Disability")
            },
            "CINdetails": {
                name: partial(self._block, block=name)
                for name in (
                    "Assessments",
                    "CINPlanDates",
                    "Section47",
                    "ChildProtectionPlans",
                    "PreProceedingsandFGDM",
                )
            },
            "Assessments": {
                "FactorsIdentifiedAtAssessment": partial(
                    self._items, item="AssessmentFactors", block="AssessmentFactors"
                )
            },
            "ChildProtectionPlans": {
                "Reviews": partial(self._items, item="CPPreviewDate", block="CPPreviewDate")
            },
        }

    def run(self) -> None:
        for element in iter_elements(self.path, "Child"):
            if self.root is None:
                # The header precedes <Children>, so it is already parsed and kept in the tree.
                self.root = element.getroottree().getroot()
            parent = element.getparent()
            if parent is not None and parent.tag == "Children":
                self._child(element)
            else:
                self._unknown(element)

    def header(self) -> HeaderFields:
        """Collection, Year and ReferenceDate with their lines (0 when absent)."""
        if self.root is not None:
            return _header_fields(self.root.find("Header"))
        elements = iter_elements(self.path, "Header")  # no Child at all: a small file
        try:
            return _header_fields(next(elements, None))
        finally:
            elements.close()

    def _child(self, element: etree._Element) -> None:
        self._current["Child"] = len(self.rows["Child"])
        values = _empty(BLOCK_FIELDS["Child"])
        for part in element:
            tag = part.tag
            if tag == "ChildIdentifiers":
                self._scan(part, "Child", values)
            elif tag == "ChildCharacteristics":
                self._scan(part, "Child", values, self._nested["ChildCharacteristics"])
            elif tag == "CINdetails":
                self._block(part, "CINdetails")
            else:
                self._unknown(part)
        self.rows["Child"].append((-1, element.sourceline, *values))

    def _block(self, element: etree._Element, block: str) -> None:
        self._current[block] = len(self.rows[block])  # nested blocks point at this row
        values = _empty(BLOCK_FIELDS[block])
        self._scan(element, block, values, self._nested.get(block))
        parent = self._current[PARENT_BLOCK[block]]
        self.rows[block].append((parent, element.sourceline, *values))

    def _items(self, element: etree._Element, item: str, block: str) -> None:
        """A list of one repeated element (Disability, AssessmentFactors, CPPreviewDate)."""
        rows = self.rows[block]
        parent = self._current[PARENT_BLOCK[block]]
        for entry in element:
            if entry.tag == item:
                line = entry.sourceline
                rows.append((parent, line, entry.text, line))
            else:
                self._unknown(entry)

    def _scan(
        self,
        element: etree._Element,
        block: str,
        values: list,
        nested: dict[str, Callable] | None = None,
    ) -> None:
        # The hot loop: raw text is kept and stripped later, column by column.
        index = self._index[block]
        width = len(index)
        for entry in element:
            position = index.get(entry.tag)
            if position is None:
                if nested is not None and entry.tag in nested:
                    nested[entry.tag](entry)
                else:
                    self._unknown(entry)
            elif values[width + position]:
                child = self._current["Child"]
                self.repeated.append((entry.tag, entry.sourceline, child, text(entry)))
            else:
                values[position] = entry.text
                values[width + position] = entry.sourceline

    def _unknown(self, element: etree._Element) -> None:
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            return
        seen = self.unknown.get(tag)
        if seen is None:
            self.unknown[tag] = [element.sourceline, self._current["Child"], text(element), 1]
        else:
            seen[3] += 1


def _positions(fields: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(fields)}


def _empty(fields: tuple[str, ...]) -> list:
    return [None] * len(fields) + [0] * len(fields)


def _header_fields(header: etree._Element | None) -> HeaderFields:
    details = header.find("CollectionDetails") if header is not None else None
    fallback = header.sourceline if header is not None else 0
    out: HeaderFields = {}
    for name in ("Collection", "Year", "ReferenceDate"):
        found = details.find(name) if details is not None else None
        out[name] = (text(found), found.sourceline if found is not None else fallback)
    return out


def _frames(rows: dict[str, list[tuple]]) -> dict[str, pd.DataFrame]:
    """One DataFrame per block, linked to its child: columns parent, child, LAchildID, @line,
    the fields (as strings, codes upper-cased) and each field's line (<field>@line)."""
    frames = {block: _frame(block, block_rows) for block, block_rows in rows.items()}
    children = frames["Child"]
    children["child"] = np.arange(len(children))
    child_ids = children["LAchildID"].to_numpy(dtype=object)
    for block, parent in PARENT_BLOCK.items():  # parents come first
        frame = frames[block]
        frame["child"] = frames[parent]["child"].to_numpy()[frame["parent"].to_numpy()]
        frame["LAchildID"] = child_ids[frame["child"].to_numpy()]
    return frames


def _frame(block: str, rows: list[tuple]) -> pd.DataFrame:
    """Build column by column with explicit types (pandas' row-wise inference is slow)."""
    fields = BLOCK_FIELDS[block]
    width = len(fields)

    def column(position: int) -> list:
        return [row[position] for row in rows]

    data: dict[str, object] = {"parent": _integers(column(0)), "@line": _integers(column(1))}
    for position, name in enumerate(fields):
        values = _strings(column(2 + position))
        data[name] = values.str.upper() if name in CODE_FIELDS else values
        data[f"{name}@line"] = _integers(column(2 + width + position))
    return pd.DataFrame(data)


def _integers(values: list) -> np.ndarray:
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _strings(values: list) -> pd.Series:
    """Text as pandas strings, stripped; blank becomes missing."""
    arrow = pa.array(values, type=pa.large_string())
    stripped = pd.Series(pd.arrays.ArrowStringArray(arrow)).str.strip()
    return stripped.mask(stripped == "")


# --- 2. The collection year ---------------------------------------------------------------------


@dataclass
class _YearDecision:
    year: int
    problems: list[Problem]
    notes: list[str]


def _decide_year(path: Path, header: HeaderFields, argument: int | None) -> _YearDecision:
    """The header decides, unless a year was given when loading; then the file name."""
    problems: list[Problem] = []
    notes: list[str] = []
    from_header = _header_year(path.name, header, problems, notes)
    if argument is not None and from_header not in (None, argument):
        field = "ReferenceDate" if header["ReferenceDate"][0] else "Year"
        value, line = header[field]
        problems.append(
            _header_problem(
                path.name,
                line,
                field,
                value,
                f"the collection year given when loading ({year_label(argument)}); the header "
                f"says {year_label(from_header)}, and the year given was used",
            )
        )
        notes.append(
            f"Collection year {year_label(argument)} as given when loading, not "
            f"{year_label(from_header)} as the header says."
        )
    elif argument is not None and from_header is None:
        notes.append(f"Collection year {year_label(argument)} as given when loading.")
    year = argument or from_header or _year_from_name(path)
    if argument is None and from_header is None:
        notes.append(
            f"Collection year {year_label(year)} from the file name: the file has no header "
            "ReferenceDate or Year."
        )
    if year not in KNOWN_SHAPES:
        notes.append(
            f"This reader knows the 2022-23 to 2026-27 layouts; the {year_label(year)} return "
            "was read with the same rules."
        )
    return _YearDecision(year, problems, notes)


def _year_from_name(path: Path) -> int:
    year = end_year_from_name(path.name)
    if year is None:
        raise UnreadableFile(
            path,
            "the collection year cannot be told: the file has no header ReferenceDate or Year "
            "and no year in its name. Load it again giving the year (e.g. --year 2025 for "
            "2024-25).",
        )
    return year


def _header_year(
    file: str,
    header: HeaderFields,
    problems: list[Problem],
    notes: list[str],
) -> int | None:
    """The end year the header states. The ReferenceDate decides; Year is a cross-check."""
    year_text, year_line = header["Year"]
    reference_text, reference_line = header["ReferenceDate"]
    stated = int(year_text) if year_text and year_text.isdigit() and len(year_text) == 4 else None
    if year_text and stated is None:
        problems.append(_header_problem(file, year_line, "Year", year_text, "a year such as 2025"))
    reference = pd.to_datetime(reference_text, format=ISO, errors="coerce")
    if pd.isna(reference):
        if reference_text:
            problems.append(
                _header_problem(
                    file, reference_line, "ReferenceDate", reference_text, "a date as YYYY-MM-DD"
                )
            )
        if stated is not None:
            notes.append(
                f"Collection year {year_label(stated)} from the header's Year (it has no "
                "usable ReferenceDate)."
            )
        return stated
    year = end_year_of(reference)
    if (reference.month, reference.day) != (3, 31):
        problems.append(
            _header_problem(
                file,
                reference_line,
                "ReferenceDate",
                reference_text,
                f"31 March of the collection's end year ({year}-03-31 for the "
                f"{year_label(year)} return this date falls in, which was used)",
            )
        )
    if stated is not None and stated != year:
        problems.append(
            _header_problem(
                file,
                year_line,
                "Year",
                year_text,
                f"{year}, the end year of the ReferenceDate {reference_text} (DfE rule 100); "
                f"the ReferenceDate was used, so this is the {year_label(year)} return",
            )
        )
    disagreeing = f" (its Year says {year_text})." if stated not in (None, year) else "."
    notes.append(
        f"Collection year {year_label(year)} from the header's ReferenceDate "
        f"{reference_text}{disagreeing}"
    )
    return year


def _header_problem(file: str, line: int, field: str, value: str | None, expected: str):
    return Problem(
        file=file,
        location=f"line {line or 1}",
        field=field,
        value=value,
        expected=expected,
        severity=WARNING,
        table="Header",
        rule="header",
    )


# --- 3. Validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    file: str
    year: int

    @property
    def reference_date(self) -> pd.Timestamp:
        return year_end(self.year)

    @property
    def census_start(self) -> pd.Timestamp:
        return year_start(self.year)


class _Lines:
    """Row position -> "line N": the line of the field's own element, else of its block."""

    def __init__(self, own: np.ndarray, block: np.ndarray):
        self.own = own
        self.block = block

    def __getitem__(self, position: int) -> str:
        return f"line {self.own[position] or self.block[position]}"


class _BlockCheck(TableCheck):
    """A TableCheck over one XML block whose problems point at the element at fault."""

    def __init__(self, frame: pd.DataFrame, block: str, context: _Context):
        self.block_lines = frame["@line"].to_numpy()
        super().__init__(
            frame,
            file=context.file,
            table=block,
            child_column="LAchildID",
            locations=_Lines(self.block_lines, self.block_lines),  # type: ignore[arg-type]
        )
        self.context = context

    def flag(self, mask, field, expected: str | pd.Series, **options) -> None:
        """As TableCheck.flag; ``expected`` may also be a text per flagged row, indexed by row
        (checks across records name the other record, e.g. the episode this one overlaps)."""
        own = self.frame.get(f"{field}@line")
        lines = self.block_lines if own is None else own.to_numpy()
        self.locations = _Lines(lines, self.block_lines)  # type: ignore[assignment]
        if isinstance(expected, str):
            super().flag(mask, field, expected, **options)
            return
        first = len(self.problems)
        super().flag(mask, field, "", **options)
        flagged = mask.fillna(False).astype(bool)
        texts = expected.reindex(flagged[flagged].index)  # the order flag reports rows in
        self.problems[first:] = [
            _with_expected(problem, text)
            for problem, text in zip(self.problems[first:], texts, strict=True)
        ]

    def dates(
        self, columns: tuple[str, ...], *, required: tuple[str, ...] = (), future_ok=()
    ) -> dict[str, pd.Series]:
        """Parse ISO dates: valid, from 1980, and (unless future_ok) not after 31 March."""
        reference = self.context.reference_date
        words = f"a date on or before {reference:%Y-%m-%d}, the census reference date"
        for column in required:
            self.required(column, f"a {column} as YYYY-MM-DD (it is required)")
        return {
            column: self.date(
                column,
                ISO,
                latest=None if column in future_ok else reference,
                latest_words=words,
            )
            for column in columns
        }

    def whole_number(self, column: str, *, required: bool = False) -> pd.Series:
        """A count of 0 or more (NumberOfPreviousCPP is 0 for a first plan: a schema quirk)."""
        values = self.frame[column]
        missing = blank(values)
        expected = "a whole number, 0 or more"
        if required:
            self.flag(missing, column, expected, rule="required")
        bad = ~missing & ~values.str.fullmatch(r"\d+").fillna(False).astype(bool)
        self.flag(bad, column, expected, rule="code")
        return pd.to_numeric(values.where(~missing & ~bad), errors="coerce").astype("Int64")

    def same_date_twice(self, keys: list, field: str, expected: str) -> pd.Series:
        """Error on every later record whose keys repeat an earlier one's."""
        frame = pd.DataFrame({str(i): key for i, key in enumerate(keys)})
        mask = frame.notna().all(axis=1) & frame.duplicated(keep="first")
        self.flag(mask, field, expected, rule="duplicate")
        return mask


def _with_expected(problem: Problem, expected: str) -> Problem:
    # Built directly: dataclasses.replace is several times slower, felt on a census of errors.
    return Problem(
        file=problem.file,
        location=problem.location,
        field=problem.field,
        value=problem.value,
        expected=expected,
        severity=problem.severity,
        table=problem.table,
        child=problem.child,
        rule=problem.rule,
    )


def _along(values: pd.Series, rows: pd.Series) -> pd.Series:
    """A parent's column, repeated for each child row (rows are parent row numbers)."""
    return pd.Series(values.to_numpy()[rows.to_numpy()], index=rows.index)


def _furthest_earlier(
    group: pd.Series, start: pd.Series, end: pd.Series, include: pd.Series
) -> pd.DataFrame:
    """For each included record, the furthest end among the earlier included records of its
    group ("end", OPEN if one is still open) and the start of the record reaching it ("start").

    Looking at the furthest end, not just the previous record's, also catches a record that
    falls inside a long one two or more records back.
    """
    spans = pd.DataFrame({"group": group, "start": start, "end": end.fillna(OPEN)})[include]
    spans = spans.sort_values(["group", "start"], kind="stable")
    groups = spans["group"]
    furthest = spans["end"].groupby(groups).cummax()
    reaching = spans["start"].where(spans["end"] == furthest).groupby(groups).ffill()
    earlier = pd.DataFrame(
        {"start": reaching.groupby(groups).shift(), "end": furthest.groupby(groups).shift()}
    )
    return earlier.reindex(group.index)


def _iso(days: pd.Series) -> pd.Series:
    return days.dt.strftime(ISO).fillna("")


def _ending(end: pd.Series, still_open: str, ended: str) -> pd.Series:
    """How another record ends, for expected texts: ', which is still open' or ', which ...'."""
    return ", " + pd.Series(np.where(end == OPEN, still_open, ended + _iso(end)), index=end.index)


@dataclass
class _Checked:
    tables: dict[str, pd.DataFrame]
    counts: dict[str, TableCount]
    problems: list[Problem]


class _Validation:
    """Check every block, cascade set-asides to nested records, build the canonical tables."""

    def __init__(self, frames: dict[str, pd.DataFrame], context: _Context):
        self.frames = frames
        self.context = context
        self.checks: dict[str, _BlockCheck] = {}
        self.extra_aside: dict[str, pd.Series] = {}  # rows not loaded on a warning (repeats)
        self.columns: dict[str, dict[str, object]] = {}  # output columns per block

    def run(self) -> _Checked:
        for block in BLOCK_FIELDS:
            self.checks[block] = _BlockCheck(self.frames[block], block, self.context)
        # Episodes first: nested blocks compare their dates with the referral date.
        steps = {
            "CINdetails": self._episodes,
            "Child": self._children,
            "Disability": self._disabilities,
            "AssessmentFactors": self._factors,
            "Assessments": self._assessments,
            "CINPlanDates": self._plans,
            "Section47": self._enquiries,
            "ChildProtectionPlans": self._protection_plans,
            "CPPreviewDate": self._reviews,
            "PreProceedingsandFGDM": self._pre_proceedings,
        }
        for block, step in steps.items():
            self.columns.setdefault(block, {})
            if len(self.frames[block]):  # an absent block has nothing to check
                step()
        self._across_records()
        return self._result()

    # The child ---------------------------------------------------------------------------------

    def _children(self) -> None:
        check = self.checks["Child"]
        frame = check.frame
        check.required("LAchildID", "a LAchildID (every child needs one)")
        ids = frame["LAchildID"]
        odd = ~blank(ids) & (
            (ids.str.len() > MAX_CHILD_ID_LENGTH)
            | ~ids.str.fullmatch("[A-Za-z0-9]+").fillna(False).astype(bool)
        )
        check.flag(
            odd,
            "LAchildID",
            f"at most {MAX_CHILD_ID_LENGTH} letters and digits (DfE rules 1570 and 1580)",
            severity=WARNING,
            rule="format",
        )
        check.duplicates(
            ["LAchildID"],
            "a LAchildID used once in the file: it is repeated, and as we cannot tell which "
            "copy is right, every copy was set aside",
            keep=False,
        )
        sex = self._sex(check)
        dates = self._birth_and_death(check, sex)
        check.code("Ethnicity", codes("ethnicity"), one_of("ethnicity"), required=True)
        self.columns["Child"] = {
            "child_id": ids,
            "sex": sex,
            "date_of_birth": dates["PersonBirthDate"],
            "expected_date_of_birth": dates["ExpectedPersonBirthDate"],
            "date_of_death": dates["PersonDeathDate"],
            "ethnicity": frame["Ethnicity"],
            "upn": self._upn(check, "UPN"),
            "former_upn": self._upn(check, "FormerUPN"),
            "upn_unknown": self._upn_unknown(check),
        }

    @staticmethod
    def _sex(check: _BlockCheck) -> pd.Series:
        """M/F/U from <Sex>, or from <GenderCurrent> (1 M, 2 F, 0 and 9 U) in older files."""
        frame = check.frame
        sex, gender = frame["Sex"], frame["GenderCurrent"]
        has_sex, has_gender = ~blank(sex), ~blank(gender)
        check.flag(
            ~has_sex & ~has_gender,
            "Sex",
            f"Sex ({one_of('sex')}), or GenderCurrent ({one_of('gender_current')}) in returns "
            "up to 2023-24",
            rule="required",
        )
        check.flag(has_sex & ~sex.isin(codes("sex")), "Sex", one_of("sex"), rule="code")
        check.flag(
            has_gender & ~has_sex & ~gender.isin(codes("gender_current")),
            "GenderCurrent",
            one_of("gender_current"),
            rule="code",
        )
        check.flag(
            has_gender & has_sex,
            "GenderCurrent",
            "only one of Sex or GenderCurrent (Sex was used)",
            severity=WARNING,
            rule="shape",
        )
        translated = gender.map(attribute("gender_current", "sex"))
        return sex.where(has_sex, translated).where(lambda s: s.isin(codes("sex")))

    def _birth_and_death(self, check: _BlockCheck, sex: pd.Series) -> dict[str, pd.Series]:
        frame = check.frame
        dates = check.dates(
            ("PersonBirthDate", "ExpectedPersonBirthDate", "PersonDeathDate"),
            future_ok=("ExpectedPersonBirthDate",),
        )
        born, expected = ~blank(frame["PersonBirthDate"]), ~blank(frame["ExpectedPersonBirthDate"])
        check.flag(
            ~born & ~expected,
            "PersonBirthDate",
            "a PersonBirthDate, or an ExpectedPersonBirthDate for an unborn child",
            rule="required",
        )
        check.flag(
            born & expected,
            "ExpectedPersonBirthDate",
            "only one of PersonBirthDate or ExpectedPersonBirthDate (an expected date is for "
            "unborn children)",
            severity=WARNING,
        )
        check.order(
            dates["PersonBirthDate"],
            dates["PersonDeathDate"],
            "PersonDeathDate",
            "a PersonDeathDate on or after the PersonBirthDate",
        )
        check.flag(
            ~born & expected & ~blank(frame["Sex"]) & (sex != "U"),
            "Sex",
            "U for an unborn child (only an ExpectedPersonBirthDate is given; DfE rule 8750)",
            severity=WARNING,
        )
        return dates

    @staticmethod
    def _upn(check: _BlockCheck, column: str) -> pd.Series:
        values = check.frame[column]
        bad = ~blank(values) & ~values.str.fullmatch(UPN_PATTERN).fillna(False).astype(bool)
        check.flag(
            bad,
            column,
            "13 characters: a letter and 12 digits, or a letter, 11 digits and a letter (it "
            "was not loaded)",
            severity=WARNING,
            rule="format",
        )
        return values.mask(bad)

    @staticmethod
    def _upn_unknown(check: _BlockCheck) -> pd.Series:
        values = check.frame["UPNunknown"]
        valid = codes("upn_unknown")
        check.code(
            "UPNunknown", valid, f"{one_of('upn_unknown')} (it was not loaded)", severity=WARNING
        )
        return values.where(values.isin(valid))

    def _disabilities(self) -> None:
        check = self.checks["Disability"]
        frame = check.frame
        code = frame["Disability"]
        check.code("Disability", codes("disability"), one_of("disability"), required=True)
        repeated = ~blank(code) & frame.duplicated(["child", "Disability"])
        check.flag(
            repeated,
            "Disability",
            "each disability code once for a child (the repeat was not loaded)",
            severity=WARNING,
            rule="duplicate",
        )
        self.extra_aside["Disability"] = repeated
        with_others = frame.loc[code.ne("NONE").fillna(False).astype(bool), "child"]
        check.flag(
            code.eq("NONE").fillna(False).astype(bool) & frame["child"].isin(with_others),
            "Disability",
            "NONE on its own: this child also has other disability codes",
            severity=WARNING,
        )
        self.columns["Disability"] = {"child_id": frame["LAchildID"], "disability": code}

    # The episode (CINdetails) ------------------------------------------------------------------

    def _episodes(self) -> None:
        check = self.checks["CINdetails"]
        frame = check.frame
        dates = check.dates(
            ("CINreferralDate", "CINclosureDate", "DateOfInitialCPC"),
            required=("CINreferralDate",),
        )
        referral, closure = dates["CINreferralDate"], dates["CINclosureDate"]
        check.code(
            "ReferralSource", codes("referral_source"), one_of("referral_source"), required=True
        )
        nfa = check.boolean("ReferralNFA", required=True)
        self._primary_need(check, nfa)
        self._closure_reason(check)
        check.order(
            referral, closure, "CINclosureDate", "a CINclosureDate on or after the CINreferralDate"
        )
        start = self.context.census_start
        check.flag(
            closure < start,
            "CINclosureDate",
            f"a closure on or after {start:%Y-%m-%d}, when the {year_label(self.context.year)} "
            "census year began (the episode was loaded as a late correction)",
            severity=WARNING,
            rule="date",
        )
        check.same_date_twice(
            [frame["child"], referral],
            "CINreferralDate",
            "a CINreferralDate different from the child's other CINdetails (an earlier one "
            "has the same date)",
        )
        self.columns["CINdetails"] = {
            "child_id": frame["LAchildID"],
            "referral_date": referral,
            "referral_source": frame["ReferralSource"],
            "primary_need": frame["PrimaryNeedCode"],
            "closure_date": closure,
            "closure_reason": frame["ReasonForClosure"],
            "initial_cpc_date": dates["DateOfInitialCPC"],
            "referral_nfa": nfa,
        }

    @staticmethod
    def _primary_need(check: _BlockCheck, nfa: pd.Series) -> None:
        need = check.frame["PrimaryNeedCode"]
        missing = blank(need)
        check.flag(
            missing & ~nfa.fillna(False).astype(bool),
            "PrimaryNeedCode",
            f"{one_of('primary_need')} (required unless ReferralNFA is true)",
            rule="required",
        )
        check.flag(
            ~missing & ~need.isin(codes("primary_need")),
            "PrimaryNeedCode",
            one_of("primary_need"),
            rule="code",
        )

    @staticmethod
    def _closure_reason(check: _BlockCheck) -> None:
        frame = check.frame
        reason = frame["ReasonForClosure"]
        closed, has_reason = ~blank(frame["CINclosureDate"]), ~blank(reason)
        check.flag(
            closed & ~has_reason,
            "ReasonForClosure",
            f"{one_of('closure_reason')} because CINclosureDate is given",
            rule="required",
        )
        check.flag(
            has_reason & ~reason.isin(codes("closure_reason")),
            "ReasonForClosure",
            one_of("closure_reason"),
            rule="code",
        )
        check.flag(
            has_reason & ~closed,
            "ReasonForClosure",
            "no ReasonForClosure while there is no CINclosureDate (or a closure date with it)",
        )

    def _referral_of(self, block: str) -> pd.Series:
        """The referral date of each record's episode."""
        referral = self.columns["CINdetails"]["referral_date"]
        return _along(referral, self.frames[block]["parent"])  # type: ignore[arg-type]

    # Assessments and their factors -------------------------------------------------------------

    def _factors(self) -> None:
        check = self.checks["AssessmentFactors"]
        frame = check.frame
        factor = frame["AssessmentFactors"]
        year = self.context.year
        known, current = codes("assessment_factor"), codes("assessment_factor", year)
        check.code("AssessmentFactors", known, one_of("assessment_factor", year), required=True)
        last_years = attribute("assessment_factor", "valid_to")
        for code in sorted(known - current):
            check.flag(
                factor.eq(code).fillna(False).astype(bool),
                "AssessmentFactors",
                f"a factor code in use in {year_label(year)}: {code} was retired after "
                f"{year_label(int(last_years[code]))}",
                severity=WARNING,
                rule="code",
            )
        check.same_date_twice(
            [frame["parent"], factor],
            "AssessmentFactors",
            "each factor once per assessment (this one repeats an earlier one)",
        )
        distinct = frame.loc[~blank(factor)].drop_duplicates(["parent", "AssessmentFactors"])
        per_assessment = distinct.groupby("parent").size()
        check.flag(
            factor.eq("21").fillna(False).astype(bool) & (frame["parent"].map(per_assessment) > 1),
            "AssessmentFactors",
            "21 (no factors identified) on its own, not with other factors",
            severity=WARNING,
        )
        self.columns["AssessmentFactors"].update(child_id=frame["LAchildID"], factor=factor)

    def _assessments(self) -> None:
        check = self.checks["Assessments"]
        frame = check.frame
        start_name, end_name = "AssessmentActualStartDate", "AssessmentAuthorisationDate"
        dates = check.dates(
            (start_name, "AssessmentInternalReviewDate", end_name), required=(start_name,)
        )
        start, authorised = dates[start_name], dates[end_name]
        referral = self._referral_of("Assessments")
        check.order(referral, start, start_name, f"an {start_name} on or after the CINreferralDate")
        check.order(start, authorised, end_name, f"an {end_name} on or after the {start_name}")
        factors = np.bincount(
            self.frames["AssessmentFactors"]["parent"].to_numpy(), minlength=len(frame)
        )
        check.flag(
            pd.Series(factors > 0, index=frame.index) & blank(frame[end_name]),
            end_name,
            f"an {end_name}: factors are recorded, and factors belong to completed assessments",
            severity=WARNING,
            rule="required",
        )
        check.same_date_twice(
            [frame["parent"], start],
            start_name,
            f"an {start_name} different from the episode's other assessments",
        )
        self.columns["Assessments"] = {
            "child_id": frame["LAchildID"],
            "referral_date": referral,
            "start_date": start,
            "internal_review_date": dates["AssessmentInternalReviewDate"],
            "authorised_date": authorised,
        }
        factor_columns = self.columns["AssessmentFactors"]
        factor_rows = self.frames["AssessmentFactors"]["parent"]
        factor_columns["referral_date"] = _along(referral, factor_rows)
        factor_columns["assessment_start_date"] = _along(start, factor_rows)

    # Plans, enquiries and pre-proceedings ------------------------------------------------------

    def _plans(self) -> None:
        check = self.checks["CINPlanDates"]
        frame = check.frame
        dates = check.dates(("CINPlanStartDate", "CINPlanEndDate"), required=("CINPlanStartDate",))
        start, end = dates["CINPlanStartDate"], dates["CINPlanEndDate"]
        referral = self._referral_of("CINPlanDates")
        check.order(
            referral,
            start,
            "CINPlanStartDate",
            "a CINPlanStartDate on or after the CINreferralDate",
        )
        check.order(
            start, end, "CINPlanEndDate", "a CINPlanEndDate on or after the CINPlanStartDate"
        )
        check.same_date_twice(
            [frame["parent"], start],
            "CINPlanStartDate",
            "a CINPlanStartDate different from the episode's other CIN plans",
        )
        self.columns["CINPlanDates"] = {
            "child_id": frame["LAchildID"],
            "referral_date": referral,
            "start_date": start,
            "end_date": end,
        }

    def _enquiries(self) -> None:
        check = self.checks["Section47"]
        frame = check.frame
        dates = check.dates(
            ("S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC"),
            required=("S47ActualStartDate",),
            future_ok=("InitialCPCtarget",),  # a target may fall after 31 March
        )
        start, icpc = dates["S47ActualStartDate"], dates["DateOfInitialCPC"]
        referral = self._referral_of("Section47")
        check.order(
            referral,
            start,
            "S47ActualStartDate",
            "an S47ActualStartDate on or after the CINreferralDate",
        )
        check.order(
            start, icpc, "DateOfInitialCPC", "a DateOfInitialCPC on or after the S47ActualStartDate"
        )
        not_required = check.boolean("ICPCnotRequired", required=True)
        check.same_date_twice(
            [frame["parent"], start],
            "S47ActualStartDate",
            "an S47ActualStartDate different from the episode's other section 47 enquiries",
        )
        self.columns["Section47"] = {
            "child_id": frame["LAchildID"],
            "referral_date": referral,
            "start_date": start,
            "icpc_target_date": dates["InitialCPCtarget"],
            "icpc_date": icpc,
            "icpc_not_required": not_required,
        }

    def _protection_plans(self) -> None:
        check = self.checks["ChildProtectionPlans"]
        frame = check.frame
        dates = check.dates(("CPPstartDate", "CPPendDate"), required=("CPPstartDate",))
        start, end = dates["CPPstartDate"], dates["CPPendDate"]
        check.order(start, end, "CPPendDate", "a CPPendDate on or after the CPPstartDate")
        # A plan belongs to the episode it is recorded in, so it starts within it (DfE 8720).
        referral = self._referral_of("ChildProtectionPlans")
        closure = _along(self.columns["CINdetails"]["closure_date"], frame["parent"])
        check.order(
            referral,
            start,
            "CPPstartDate",
            "a CPPstartDate on or after its episode's CINreferralDate (a plan starts within "
            "the episode it is recorded in; DfE rule 8720)",
        )
        check.order(
            start,
            closure,
            "CPPstartDate",
            "a CPPstartDate on or before its episode's CINclosureDate (a plan starts within "
            "the episode it is recorded in; DfE rule 8720)",
        )
        for column in ("InitialCategoryOfAbuse", "LatestCategoryOfAbuse"):
            check.code(column, codes("abuse_category"), one_of("abuse_category"), required=True)
        previous = check.whole_number("NumberOfPreviousCPP", required=True)
        check.same_date_twice(
            [frame["child"], start],
            "CPPstartDate",
            "a CPPstartDate different from the child's other child protection plans",
        )
        self.columns["ChildProtectionPlans"] = {
            "child_id": frame["LAchildID"],
            "referral_date": referral,
            "start_date": start,
            "end_date": end,
            "initial_category": frame["InitialCategoryOfAbuse"],
            "latest_category": frame["LatestCategoryOfAbuse"],
            "previous_plans": previous,
        }

    def _reviews(self) -> None:
        check = self.checks["CPPreviewDate"]
        frame = check.frame
        review = check.dates(("CPPreviewDate",), required=("CPPreviewDate",))["CPPreviewDate"]
        plan_start = _along(self.columns["ChildProtectionPlans"]["start_date"], frame["parent"])
        check.order(
            plan_start,
            review,
            "CPPreviewDate",
            "a CPPreviewDate on or after the plan's CPPstartDate",
            severity=WARNING,
        )
        check.same_date_twice(
            [frame["parent"], review],
            "CPPreviewDate",
            "each review date once per plan (this one repeats an earlier one)",
        )
        self.columns["CPPreviewDate"] = {
            "child_id": frame["LAchildID"],
            "plan_start_date": plan_start,
            "review_date": review,
        }

    def _pre_proceedings(self) -> None:
        check = self.checks["PreProceedingsandFGDM"]
        frame = check.frame
        dates = check.dates(
            (
                "PPStartDate",
                "LBPSentDate",
                "InitialPPMeetingDate",
                "StepDecisionDate",
                "CourtAppDate",
                "LetterInitCPDate",
            ),
            required=("PPStartDate",),
        )
        check.same_date_twice(
            [frame["parent"], dates["PPStartDate"]],
            "PPStartDate",
            "a PPStartDate different from the episode's other pre-proceedings",
        )
        self.columns["PreProceedingsandFGDM"] = {
            "child_id": frame["LAchildID"],
            "referral_date": self._referral_of("PreProceedingsandFGDM"),
            "start_date": dates["PPStartDate"],
            "letter_before_proceedings_date": dates["LBPSentDate"],
            "fgdm_offered": check.boolean("FGDMMeetingOffer"),
            "fgdm_facilitated": check.boolean("FGDMMeetingFac"),
            "initial_meeting_date": dates["InitialPPMeetingDate"],
            "review_meetings": check.whole_number("ReviewMeetingsCount"),
            "step_decision_date": dates["StepDecisionDate"],
            "outcome": frame["PPOutcome"],  # the code list is not yet published
            "court_application_date": dates["CourtAppDate"],
            "letter_initiating_cp_date": dates["LetterInitCPDate"],
        }

    # Checks across the records of one child --------------------------------------------------
    # They run after every record's own checks and compare only the records still loading, so a
    # record already set aside is not reported again and what loads agrees with itself. Each
    # sorts the records once and looks back within the child or episode: no loop per child.

    def _across_records(self) -> None:
        if len(self.frames["CINdetails"]):
            self._episodes_across()
        if len(self.frames["ChildProtectionPlans"]):
            self._overlapping_protection_plans()
            if len(self.frames["CINPlanDates"]):
                self._cin_plans_during_protection()
        if len(self.frames["Section47"]):
            self._open_enquiries()
            self._conference_in_two_places()

    def _loading(self, block: str) -> pd.Series:
        return pd.Series(~self._aside(block), index=self.frames[block].index)

    def _episodes_across(self) -> None:
        """Only the latest episode may be open (8815); episodes may not overlap (8820).

        Both look at the same episodes, so an open episode followed by another is reported on
        both: the open one should have been closed, and the later one began while it was open.
        """
        check = self.checks["CINdetails"]
        columns = self.columns["CINdetails"]
        referral, closure = columns["referral_date"], columns["closure_date"]
        nfa = pd.Series(columns["referral_nfa"]).fillna(False).astype(bool)
        episodes = self._loading("CINdetails") & referral.notna()  # type: ignore[union-attr]
        child = check.frame["child"]
        # Without a closure date an episode is open, unless the referral led to no further
        # action: DfE counts those as over on the day they were made (rules 8815 and 8820).
        ends = closure.where(closure.notna() | ~nfa, referral)  # type: ignore[union-attr]
        # Such a referral coming later leaves the earlier episode the one open (8820 reports
        # the referral), so "latest" is among the other episodes.
        spanning = episodes & ~(nfa & closure.isna())  # type: ignore[union-attr]
        latest = referral.where(spanning).groupby(child).transform("max")  # type: ignore
        left_open = episodes & ends.isna() & (referral < latest)
        check.flag(
            left_open,
            "CINclosureDate",
            "a CINclosureDate: only a child's latest episode may be open, and this child has "
            "one referred later, on " + _iso(latest[left_open]) + " (DfE rule 8815)",
            rule="open",
        )
        earlier = _furthest_earlier(child, referral, ends, episodes)  # type: ignore[arg-type]
        overlapping = episodes & (referral < earlier["end"])
        other = earlier[overlapping]
        check.flag(
            overlapping,
            "CINreferralDate",
            "a CINreferralDate on or after the closure of the child's earlier episode referred "
            "on "
            + _iso(other["start"])
            + _ending(other["end"], "which is still open", "which closed on ")
            + " (CIN episodes must not overlap; DfE rule 8820)",
            rule="overlap",
        )

    def _overlapping_protection_plans(self) -> None:
        """A child is on one protection plan at a time, across its episodes (8935, 8940)."""
        check = self.checks["ChildProtectionPlans"]
        columns = self.columns["ChildProtectionPlans"]
        start, end = columns["start_date"], columns["end_date"]
        plans = self._loading("ChildProtectionPlans") & start.notna()  # type: ignore[union-attr]
        earlier = _furthest_earlier(check.frame["child"], start, end, plans)  # type: ignore
        overlapping = plans & (start < earlier["end"])
        other = earlier[overlapping]
        check.flag(
            overlapping,
            "CPPstartDate",
            "a CPPstartDate on or after the end of the child's earlier child protection plan "
            "started on "
            + _iso(other["start"])
            + _ending(other["end"], "which is still open", "which ended on ")
            + " (plans must not overlap; DfE rules 8935 and 8940)",
            rule="overlap",
        )

    def _cin_plans_during_protection(self) -> None:
        """A CIN plan gives way to a protection plan in the same episode (4001, 4003)."""
        check = self.checks["CINPlanDates"]
        cin = self._spans("CINPlanDates")
        protection = self._spans("ChildProtectionPlans")
        # Pairs within an episode only, which holds a few plans. One plan may end on the day
        # the other starts (the usual hand-over), so only a strict overlap counts.
        pairs = cin.reset_index().merge(protection, on="parent", suffixes=("", "_cp"))
        pairs = pairs[(pairs["start"] < pairs["end_cp"]) & (pairs["start_cp"] < pairs["end"])]
        # The first protection plan each CIN plan runs alongside, by CIN plan row.
        first = pairs.sort_values(["index", "start_cp"]).drop_duplicates("index")
        first = first.set_index("index")
        began_first = first[first["start"] < first["start_cp"]]  # should have ended
        began_during = first[first["start"] >= first["start_cp"]]  # should not have begun
        why = " (a CIN plan is not open while a child protection plan is; DfE rules 4001 and 4003)"
        check.flag(
            check.frame.index.to_series().isin(began_first.index),
            "CINPlanEndDate",
            "a CINPlanEndDate on or before "
            + _iso(began_first["start_cp"])
            + ", when a child protection plan started in this episode"
            + why,
            severity=WARNING,
            rule="overlap",
        )
        check.flag(
            check.frame.index.to_series().isin(began_during.index),
            "CINPlanStartDate",
            "a CINPlanStartDate outside this episode's child protection plan started on "
            + _iso(began_during["start_cp"])
            + _ending(began_during["end_cp"], "which is still open", "which ended on ")
            + why,
            severity=WARNING,
            rule="overlap",
        )

    def _spans(self, block: str) -> pd.DataFrame:
        """Loading plans with a start: episode row, start and end (an open plan never ends)."""
        columns = self.columns[block]
        spans = pd.DataFrame(
            {
                "parent": self.frames[block]["parent"],
                "start": columns["start_date"],
                "end": pd.Series(columns["end_date"]).fillna(OPEN),
            }
        )
        return spans[self._loading(block) & spans["start"].notna()]

    def _open_enquiries(self) -> None:
        """One section 47 enquiry open at a time in an episode (8839).

        Open: no conference date, and not marked as needing none. Every open one but the latest
        is reported, as the earlier ones are the likelier to have been left unfinished.
        """
        check = self.checks["Section47"]
        columns = self.columns["Section47"]
        start = columns["start_date"]
        not_required = pd.Series(columns["icpc_not_required"]).fillna(False).astype(bool)
        open_ = (
            self._loading("Section47")
            & start.notna()  # type: ignore[union-attr]
            & pd.Series(columns["icpc_date"]).isna()
            & ~not_required
        )
        latest = start.where(open_).groupby(check.frame["parent"]).transform("max")  # type: ignore
        also_open = open_ & (start < latest)
        check.flag(
            also_open,
            "DateOfInitialCPC",
            "a DateOfInitialCPC, or ICPCnotRequired true: only one section 47 enquiry of an "
            "episode may be open, and the one started on "
            + _iso(latest[also_open])
            + " is open too (DfE rule 8839)",
            severity=WARNING,
            rule="open",
        )

    def _conference_in_two_places(self) -> None:
        """An initial conference is recorded on the episode or on its enquiry, not both (2884)."""
        check = self.checks["CINdetails"]
        episodes = pd.DataFrame(
            {"parent": check.frame.index, "icpc": self.columns["CINdetails"]["initial_cpc_date"]}
        )[self._loading("CINdetails")]
        columns = self.columns["Section47"]
        enquiries = pd.DataFrame(
            {
                "parent": self.frames["Section47"]["parent"],
                "icpc": columns["icpc_date"],
                "start": columns["start_date"],
            }
        )[self._loading("Section47")]
        both = episodes.dropna().merge(enquiries.dropna(subset=["icpc"]), on=["parent", "icpc"])
        enquiry_start = both.drop_duplicates("parent").set_index("parent")["start"]
        check.flag(
            check.frame.index.to_series().isin(enquiry_start.index),
            "DateOfInitialCPC",
            "the initial conference recorded once: the same DateOfInitialCPC is on this "
            "episode's section 47 enquiry started on "
            + _iso(enquiry_start)
            + ", where it belongs (DfE rule 2884)",
            severity=WARNING,
            rule="duplicate",
        )

    # Set-asides and the canonical tables -------------------------------------------------------

    def _set_aside(self) -> dict[str, np.ndarray]:
        """Each block's own set-asides, plus every record nested in a set-aside record."""
        return {block: self._aside(block) for block in self.checks}

    def _aside(self, block: str) -> np.ndarray:
        """The records of one block set aside so far, by their own problems or a parent's."""
        own = self.checks[block].set_aside.to_numpy(dtype=bool)
        if block in self.extra_aside:
            own = own | self.extra_aside[block].to_numpy(dtype=bool)
        parent = PARENT_BLOCK.get(block)
        if parent is not None:
            own = own | self._aside(parent)[self.frames[block]["parent"].to_numpy()]
        return own

    def _result(self) -> _Checked:
        aside = self._set_aside()
        tables, counts, problems = {}, {}, []
        for block, check in self.checks.items():
            name = TABLE_OF_BLOCK[block]
            tables[name] = _canonical(name, self.columns[block], ~aside[block])
            counts[name] = TableCount(read=len(check.frame), set_aside=int(aside[block].sum()))
            problems.extend(check.problems)
        return _Checked(tables, counts, problems)


def _canonical(name: str, columns: dict[str, object], keep: np.ndarray) -> pd.DataFrame:
    """The loaded rows of one table, with exactly its reader columns and their dtypes."""
    table = TABLES[name]
    types = table.types()
    size = len(keep)
    data = {
        column: _typed(columns.get(column), types[column], size) for column in table.reader_columns
    }
    return pd.DataFrame(data).loc[keep].reset_index(drop=True)


def _typed(values, kind: str, size: int) -> pd.Series:
    if values is None:
        values = pd.Series([None] * size, dtype=object)
    series = pd.Series(values).reset_index(drop=True)
    if kind == DATE:  # parsed from YYYY-MM-DD, so already whole days
        return pd.to_datetime(series).astype("datetime64[ns]")
    if kind == BOOL:
        return series.astype("boolean")
    if kind == INT:
        return series.astype("Int64")
    return series.astype("string")


# --- 4. Problems about the file's structure and shape --------------------------------------------


def _structure_problems(
    extractor: _Extractor, frames: dict[str, pd.DataFrame], context: _Context
) -> list[Problem]:
    children = frames["Child"]
    ids = children["LAchildID"]

    def child_of(row: int) -> str | None:
        return _text_or_none(ids.iat[row]) if 0 <= row < len(ids) else None

    problems = []
    for name, (line, row, value, count) in extractor.unknown.items():
        times = "once" if count == 1 else f"{count} times"
        problems.append(
            _file_problem(
                context,
                line,
                name,
                f"an element of the CiN census (2022-23 to 2026-27) in its place; <{name}> is "
                f"not, and was ignored ({times} in this file)",
                value=value,
                child=child_of(row),
                rule="unknown",
            )
        )
    for tag, line, row, value in extractor.repeated:
        problems.append(
            _file_problem(
                context,
                line,
                tag,
                f"one {tag} in its block: the first was used and this one ignored",
                value=value,
                child=child_of(row),
                rule="duplicate",
            )
        )
    episodes = np.bincount(frames["CINdetails"]["child"].to_numpy(), minlength=len(children))
    for row in np.flatnonzero(episodes == 0):
        problems.append(
            _file_problem(
                context,
                int(children["@line"].iat[row]),
                "CINdetails",
                "at least one CINdetails (referral) for each child",
                child=child_of(int(row)),
                rule="required",
            )
        )
    return problems


def _shape_problems(frames: dict[str, pd.DataFrame], context: _Context) -> list[Problem]:
    """One warning per file, at the first occurrence, for elements of another year's layout."""
    label = year_label(context.year)
    if context.year >= FIRST_SEX_YEAR:
        field, expected = (
            "GenderCurrent",
            (
                f"<Sex> (M, F or U), which replaced <GenderCurrent> from 2024-25 (this is the "
                f"{label} return); GenderCurrent was translated to M, F or U"
            ),
        )
    else:
        field, expected = (
            "Sex",
            (
                f"<GenderCurrent>, as in returns up to 2023-24 (this is the {label} return); <Sex> "
                "was read as given"
            ),
        )
    problems = [_first_occurrence(frames["Child"], field, expected, context)]
    if context.year < FIRST_PRE_PROCEEDINGS_YEAR:
        problems.append(
            _first_occurrence(
                frames["PreProceedingsandFGDM"],
                "PPStartDate",
                f"no PreProceedingsandFGDM blocks before 2026-27 (this is the {label} return); "
                "they were read as given",
                context,
            )
        )
    return [problem for problem in problems if problem is not None]


def _first_occurrence(
    frame: pd.DataFrame, field: str, expected: str, context: _Context
) -> Problem | None:
    """A warning at the first row holding ``field`` (or the first row, for a block's fields)."""
    lines = frame[f"{field}@line"].where(frame[field].notna(), 0)
    present = np.flatnonzero(lines.to_numpy() > 0)
    if not len(present):
        return None
    first = present[np.argmin(lines.to_numpy()[present])]
    count = len(present)
    return _file_problem(
        context,
        int(lines.iat[first]),
        field,
        f"{expected} [{count} {'time' if count == 1 else 'times'} in this file]",
        value=_text_or_none(frame[field].iat[first]),
        child=_text_or_none(frame["LAchildID"].iat[first]),
        rule="shape",
    )


def _file_problem(
    context: _Context,
    line: int,
    field: str,
    expected: str,
    *,
    value: str | None = None,
    child: str | None = None,
    rule: str,
) -> Problem:
    return Problem(
        file=context.file,
        location=f"line {line}",
        field=field,
        value=value,
        expected=expected,
        severity=WARNING,
        child=child,
        rule=rule,
    )


def _text_or_none(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _line_number(problem: Problem) -> int:
    return int(problem.location.removeprefix("line "))


__all__ = ["looks_like_cin_census", "read_cin_census"]
