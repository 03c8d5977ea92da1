"""Getting at the cells of a reference file: CSV, gzip'd CSV, XLSX workbooks and zip archives.

Everything is read as text, under the file's own header, so that readers can report a bad cell
exactly as published. Rows are numbered as a person finds them: in a CSV, row 1 is the first
row after the header; in a workbook, Excel's own row numbers, with the sheet's name.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from framework.sources.common import checked_zip_entries
from framework.sources.problems import UnreadableFile
from framework.sources.templates import _check_xlsx_container

HEADER_ROWS_SEARCHED = 10  # publishers put a title or notes above a workbook's header at most
MAX_ZIP_UNCOMPRESSED = 8 * 1024**3  # bytes: a full-resolution boundary shapefile is < 2 GB
MAX_ZIP_RATIO = 200  # uncompressed / compressed, as for workbooks: zip bombs go far higher


@dataclass(frozen=True)
class TableFile:
    """Where a table starts in a file: the sheet (workbooks only) and the header's row."""

    path: Path
    header: tuple[str, ...]  # the column names as published
    sheet: str | None = None
    header_row: int = 1


class RowLabels:
    """'row N' for any row index, without building millions of strings up front."""

    def __init__(self, sheet: str | None = None, unit: str = "row"):
        self.prefix = f"sheet {sheet!r}, {unit} " if sheet else f"{unit} "

    def __getitem__(self, index: int) -> str:
        return f"{self.prefix}{index}"


def is_workbook(path: Path) -> bool:
    return path.suffix.lower() == ".xlsx"


def candidate_tables(path: Path) -> Iterator[TableFile]:
    """Every place a table may start: a CSV's first line, or a workbook's first rows."""
    if is_workbook(path):
        yield from _workbook_headers(path)
    else:
        yield TableFile(path, tuple(_csv_header(path)))


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding=encoding, errors="replace", newline="")
    return path.open("r", encoding=encoding, errors="replace", newline="")


def _csv_header(path: Path) -> list[str]:
    try:
        with _open_text(path, "utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise UnreadableFile(path, f"the file could not be read ({error})") from None


def read_csv_columns(table: TableFile, columns: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The named columns of a CSV (or CSV.gz) as text, and notes on how it was read."""
    notes = []
    try:
        frame = _read_csv(table.path, columns, "utf-8-sig")
    except UnicodeDecodeError:
        # Official files are UTF-8, but a re-saved copy may be Windows-1252; codes are plain
        # ASCII either way, so only names could come out wrong.
        frame = _read_csv(table.path, columns, "cp1252")
        notes.append(f"{table.path.name}: not UTF-8 text, read as Windows-1252")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, notes


def _read_csv(path: Path, columns: list[str], encoding: str) -> pd.DataFrame:
    wanted = set(columns)
    try:
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
            usecols=lambda name: name in wanted,
        )
    except (pd.errors.ParserError, EOFError, gzip.BadGzipFile, OSError) as error:
        raise UnreadableFile(path, f"the CSV could not be parsed ({error})") from None


# --- workbooks ---------------------------------------------------------------------------------


def _open_workbook(path: Path):
    import openpyxl  # imported here: only workbooks need it

    _check_xlsx_container(path)  # zip bombs are refused before openpyxl unpacks anything
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for damaged or hostile files
        reason = f"the workbook could not be opened ({type(error).__name__})"
        raise UnreadableFile(path, reason) from None


def _workbook_headers(path: Path) -> Iterator[TableFile]:
    book = _open_workbook(path)
    try:
        tables = []
        for sheet in book.worksheets:
            rows = sheet.iter_rows(max_row=HEADER_ROWS_SEARCHED, values_only=True)
            for number, row in enumerate(rows, start=1):
                header = tuple(_cell_text(v) for v in row)
                if any(header):
                    tables.append(TableFile(path, header, sheet.title, number))
    finally:
        book.close()
    yield from tables


def read_sheet_columns(table: TableFile, columns: list[str]) -> pd.DataFrame:
    """The named columns of a workbook's sheet as text, indexed by Excel row number."""
    positions = [table.header.index(c) for c in columns]
    book = _open_workbook(table.path)
    try:
        sheet = book[table.sheet]
        rows = [
            [_cell_text(row[p]) if p < len(row) else "" for p in positions]
            for row in sheet.iter_rows(min_row=table.header_row + 1, values_only=True)
        ]
    finally:
        book.close()
    first = table.header_row + 1
    frame = pd.DataFrame(rows, columns=columns, dtype="string")
    frame.index = pd.RangeIndex(first, first + len(frame))
    # Excel keeps formatted but empty rows below a table: they are not data.
    return frame[(frame.fillna("").apply(lambda c: c.str.strip()) != "").any(axis=1)]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- zip archives (shapefiles) -----------------------------------------------------------------


def zip_members(path: Path, suffixes: set[str]) -> list[str]:
    """Names of the archive's files with one of these suffixes, after a zip-bomb check."""
    infos = checked_zip_entries(
        path,
        name="zip archive",
        noun="archive",
        max_bytes=MAX_ZIP_UNCOMPRESSED,
        max_ratio=MAX_ZIP_RATIO,
    )
    return [i.filename for i in infos if Path(i.filename).suffix.lower() in suffixes]
