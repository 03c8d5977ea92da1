"""What readers return: canonical tables plus every problem found, each one precise.

A problem always says *where* (file, row or line, child), *what* (field and value) and *what was
expected*, so the person who exported the return can find and fix it in their case-management
system. Errors set the record aside; warnings load it and flag it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ERROR = "error"  # the record is set aside
WARNING = "warning"  # the record loads; the problem is reported

# Fields whose values identify a child or a person: never persisted in the store's problem log
# and never written to logs. The person loading sees them in the load report so they can fix
# the record; the stored copy replaces them with "(withheld)".
IDENTIFYING_FIELDS = {
    "LAchildID",
    "CHILD",
    "CHILDID",
    "child_id",
    "UPN",
    "FormerUPN",
    "PersonBirthDate",
    "ExpectedPersonBirthDate",
    "PersonDeathDate",
    "DOB",
    "MC_DOB",
    "HOME_POST",
    "PL_POST",
    "postcode",
    "SW_ID",
    "SWENo",
}


@dataclass(frozen=True)
class Problem:
    file: str  # file name as the user gave it (no directories)
    location: str  # "row 12" (CSV data row, 1 = first row after the header) or "line 40"
    field: str | None  # the field as named in the file (e.g. "DECOM", "CINreferralDate")
    value: str | None  # the value found, as text ("" when blank)
    expected: str  # what was expected, in plain words
    severity: str = ERROR
    table: str | None = None  # the file's table or XML block, e.g. "episodes", "CINdetails"
    child: str | None = None  # the child id (CSWW: the worker's SWENo) as in the file (shown
    # to the loader only)
    rule: str = "invalid"  # short category: code, date, required, order, duplicate, orphan...
    subject: str = "child"  # whom ``child`` identifies: "child", or "worker" (CSWW, workforce)

    def message(self) -> str:
        where = f"{self.file}, {self.location}"
        if self.child:
            where += f", {self.subject} {self.child}"
        what = ""
        if self.field:
            shown = "(blank)" if self.value in (None, "") else repr(self.value)
            what = f" {self.field} = {shown}:"
        verb = "set aside" if self.severity == ERROR else "warning"
        return f"[{verb}] {where}:{what} expected {self.expected}"

    def redacted_value(self) -> str | None:
        if self.field in IDENTIFYING_FIELDS and self.value not in (None, ""):
            return "(withheld)"
        return self.value


@dataclass
class SourceFile:
    path: Path
    sha256: str
    size: int
    kind: str  # e.g. "cin_census_xml", "ssda903_csv:episodes", "ssda903_xml"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class TableCount:
    read: int = 0  # records found in the file(s)
    set_aside: int = 0  # records not loaded because of an error

    @property
    def valid(self) -> int:
        return self.read - self.set_aside


@dataclass
class ReadResult:
    """One return (or one local/reference file set) as read: ready for the loader."""

    source: str  # a key of framework.store.schema.SOURCES
    collection_year: int | None  # end year: 2025 means 2024-25; None for undated sources
    files: list[SourceFile]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # schema reader_columns
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, TableCount] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. how the collection year was decided
    fatal: str | None = None  # set when nothing at all could be read (e.g. hostile XML)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]


class UnreadableFile(Exception):
    """A file that cannot be read at all: names the file and says why, in plain words."""

    def __init__(self, file: str | Path, reason: str):
        self.file = Path(file).name
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")
