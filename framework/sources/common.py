"""Helpers every reader shares: collection years, dates, hashing and table checks.

``TableCheck`` validates one table held as strings (as read from the file) column by column,
vectorised with pandas, collecting a Problem for every bad cell and marking the rows to set
aside. Readers describe *what* to check; this module does the bookkeeping.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from framework.sources.problems import ERROR, WARNING, Problem, UnreadableFile

EARLIEST_PLAUSIBLE = pd.Timestamp("1980-01-01")  # nobody in these returns was born before


def year_label(end_year: int) -> str:
    """2025 -> '2024-25' (English financial year, as DfE names returns)."""
    return f"{end_year - 1}-{str(end_year)[-2:]}"


def year_start(end_year: int) -> pd.Timestamp:
    return pd.Timestamp(end_year - 1, 4, 1)


def year_end(end_year: int) -> pd.Timestamp:
    return pd.Timestamp(end_year, 3, 31)


def end_year_of(day: date | pd.Timestamp) -> int:
    """The collection end year a date falls in (1 April to 31 March)."""
    return day.year + 1 if day.month >= 4 else day.year


_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d\d)(?:[-_ ]?(\d\d))?(?!\d)")


def end_year_from_name(text: str) -> int | None:
    """A collection end year written in a path: '2024-25' -> 2025; '..._2024.xml' -> 2024."""
    matches = _YEAR_IN_NAME.findall(text)
    if not matches:
        return None
    first, second = matches[-1]
    if second and int(second) == (int(first) + 1) % 100:
        return int(first) + 1
    return int(first)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


CSV_HEAD_BYTES = 64 * 1024  # enough for any header row; recognising never reads a whole file


def csv_first_row(path: Path) -> list[str]:
    """The first row of a CSV as written (BOM removed), read from the start of the file only.

    Recognising a file must not read all of it: a 250 MB file with no line break, or a first
    field beyond the csv module's limit, gives no row ([]) rather than a crash; undecodable
    bytes are replaced (the reader reports the encoding when it reads the file).
    """
    with Path(path).open("rb") as handle:
        head = handle.read(CSV_HEAD_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return []


def blank(series: pd.Series) -> pd.Series:
    """True where a cell is missing or only whitespace."""
    return series.isna() | (series.astype("string").str.strip() == "")


def clean_text(series: pd.Series, upper: bool = True) -> pd.Series:
    """Strip whitespace; blanks become missing; optionally upper-case (as DfE tools do)."""
    out = series.astype("string").str.strip()
    if upper:
        out = out.str.upper()
    return out.mask(out == "", pd.NA)


class TableCheck:
    """Validate one table of strings; collect problems; mark rows to set aside.

    ``locations`` gives, per row, the text used in messages (e.g. "row 12" or "line 340").
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        file: str,
        table: str,
        child_column: str | None,
        locations: pd.Series,
        subject: str = "child",
    ):
        self.frame = frame
        self.file = file
        self.table = table
        self.child_column = child_column
        self.subject = subject  # whom child_column identifies: "child" or "worker"
        self.locations = locations
        self.problems: list[Problem] = []
        self.set_aside = pd.Series(False, index=frame.index)

    def flag(
        self,
        mask: pd.Series,
        field: str | None,
        expected: str,
        *,
        severity: str = ERROR,
        rule: str = "invalid",
        values: pd.Series | None = None,
    ) -> None:
        """Record a problem for every row where ``mask`` is true."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        if values is None:
            values = (
                self.frame[field] if field in self.frame else pd.Series(pd.NA, index=mask.index)
            )
        children = (
            self.frame.loc[mask, self.child_column]
            if self.child_column
            else pd.Series(None, index=mask[mask].index)
        )
        for index, value, child in zip(mask[mask].index, values[mask], children, strict=True):
            self.problems.append(
                Problem(
                    file=self.file,
                    location=str(self.locations[index]),
                    field=field,
                    value=None if pd.isna(value) else str(value),
                    expected=expected,
                    severity=severity,
                    table=self.table,
                    child=None
                    if child is None or pd.isna(child) or not str(child).strip()
                    else str(child),
                    subject=self.subject,
                    rule=rule,
                )
            )
        if severity == ERROR:
            self.set_aside |= mask

    def required(self, column: str, expected: str | None = None) -> None:
        self.flag(
            blank(self.frame[column]),
            column,
            expected or "a value (this field is required)",
            rule="required",
        )

    def code(
        self,
        column: str,
        valid: frozenset[str] | set[str],
        expected: str,
        *,
        required: bool = False,
        severity: str = ERROR,
    ) -> None:
        values = self.frame[column]
        missing = blank(values)
        if required:
            self.flag(missing, column, expected, rule="required", severity=severity)
        bad = ~missing & ~values.isin(list(valid))
        self.flag(bad, column, expected, rule="code", severity=severity)

    def date(
        self,
        column: str,
        fmt: str,
        *,
        required: bool = False,
        latest: pd.Timestamp | None = None,
        latest_words: str = "",
    ) -> pd.Series:
        """Parse a date column; flag blanks (if required), unparseable and implausible dates."""
        values = self.frame[column]
        missing = blank(values)
        parsed = pd.to_datetime(values.where(~missing), format=fmt, errors="coerce")
        words = "a date as DD/MM/YYYY" if fmt == "%d/%m/%Y" else "a date as YYYY-MM-DD"
        if required:
            self.flag(missing, column, words, rule="required")
        self.flag(~missing & parsed.isna(), column, words, rule="date")
        self.flag(parsed < EARLIEST_PLAUSIBLE, column, "a date after 1980", rule="date")
        if latest is not None:
            self.flag(
                parsed > latest,
                column,
                latest_words or f"a date on or before {latest:%d/%m/%Y}",
                rule="date",
            )
        return parsed.where(
            ~(parsed < EARLIEST_PLAUSIBLE) & ~(parsed > (latest or pd.Timestamp.max))
        )

    def integer(self, column: str, low: int, high: int, *, required: bool = False) -> pd.Series:
        values = self.frame[column]
        missing = blank(values)
        numbers = pd.to_numeric(values.where(~missing), errors="coerce")
        expected = f"a whole number from {low} to {high}"
        if required:
            self.flag(missing, column, expected, rule="required")
        bad = ~missing & (numbers.isna() | (numbers % 1 != 0) | (numbers < low) | (numbers > high))
        self.flag(bad, column, expected, rule="code")
        return numbers.where(~bad).astype("Int64")

    def boolean(self, column: str, *, required: bool = False) -> pd.Series:
        """0/1 and true/false in any case, as the DfE validators accept."""
        values = self.frame[column].astype("string").str.strip().str.lower()
        missing = blank(values)
        mapping = {"1": True, "0": False, "true": True, "false": False}
        parsed = values.map(mapping, na_action="ignore")
        expected = "1 or 0 (true or false)"
        if required:
            self.flag(missing, column, expected, rule="required")
        bad = ~missing & parsed.isna()
        self.flag(bad, column, expected, rule="code")
        return parsed.astype("boolean")

    def duplicates(self, columns: list[str], expected: str, *, keep: str = "first") -> None:
        """Flag repeated keys: all but the first (keep='first') or all of them (keep=False)."""
        keys = self.frame[columns]
        mask = keys.notna().all(axis=1) & keys.duplicated(keep=keep)
        self.flag(mask, columns[-1], expected, rule="duplicate")

    def order(
        self,
        earlier: pd.Series,
        later: pd.Series,
        field: str,
        expected: str,
        *,
        severity: str = ERROR,
    ) -> None:
        """Flag rows where ``later`` is before ``earlier`` (both known)."""
        mask = earlier.notna() & later.notna() & (later < earlier)
        self.flag(mask, field, expected, severity=severity, rule="order")


def as_date_column(series: pd.Series) -> pd.Series:
    """Timestamps -> python dates suitable for DuckDB DATE (missing stays missing)."""
    return pd.to_datetime(series).dt.normalize()


def empty_mask(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(np.zeros(len(frame), dtype=bool), index=frame.index)


__all__ = [
    "ERROR",
    "WARNING",
    "TableCheck",
    "blank",
    "clean_text",
    "csv_first_row",
    "end_year_from_name",
    "end_year_of",
    "sha256_of",
    "year_end",
    "year_label",
    "year_start",
]


def checked_zip_entries(
    path: Path, *, name: str, noun: str, max_bytes: int, max_ratio: float
) -> list[zipfile.ZipInfo]:
    """The entries of a zip container (a workbook, an archive) after a zip-bomb check: refused
    when damaged, or when it would expand beyond ``max_bytes`` or ``max_ratio`` times its size.
    ``name`` and ``noun`` word the messages, e.g. ".xlsx workbook" and "workbook"."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFile(path, f"not a valid {name} (the file is damaged)") from None
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > max_bytes or unpacked / packed > max_ratio:
        raise UnreadableFile(
            path, f"the {noun} expands to an implausible size (refused as a possible zip bomb)"
        )
    return infos
