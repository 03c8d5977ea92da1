"""Recognise and read the official reference files an authority downloads.

A file is recognised by its columns (case, surrounding spaces, punctuation and a BOM ignored),
never by its name; a workbook by the first sheet with a header row laid out as one of these:

  postcodes     ONS postcode directories and best-fit lookups (NSPL, ONSPD, PCD_OA_LSOA…):
                pcds/pcd/pcd7/pcd8 with lsoa21cd/lsoa11cd (or lsoa21/lsoa11), doterm optional.
  deprivation   English Indices of Deprivation 2019 and 2025, Files 1, 2, 3 and 7 as published
                (and File 7 with short names: lsoa21_code, IMD_score…). Files 1 and 2 give IMD;
                Files 3 and 7 give IDACI too; files of one IoD year combine by LSOA on import.
  lsoa_changes  ONS LSOA (2011) to LSOA (2021) lookup with its change indicator.
  wards         ONS LSOA (2021) to ward to district lookup.
  population    LSOA child populations: ONS mid-year estimates (children_0_17, or age_0 …
                age_17) and IoD File 6 ("Dependent Children aged 0-15: mid 2015").
  boundaries    LSOA boundaries (see framework/reference/boundaries.py).

The year a file describes is read from its columns where they say it (IoD File 6's "mid 2015",
ward codes' "WD24"); an IoD file's year from its name ("IoD2025", "IMD2019") or else from the
vintage of its LSOA codes; a population file's year from its name ("mid2020").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from framework.geography import POSTCODE_PATTERN, normalise_postcodes
from framework.reference.boundaries import EXPECTS as BOUNDARIES_EXPECTS
from framework.reference.boundaries import is_geographic, read_boundaries
from framework.reference.common import (
    AGES_0_17,
    AREA_CODE,
    ENGLAND_LSOAS,
    LSOA_CODE,
    LSOA_WORDS,
    PATTERNS,
    NotReferenceFile,
    ReferenceCheck,
    ReferenceRead,
    find_columns,
    lsoa_column,
    source_file,
    year_in,
)
from framework.reference.files import (
    RowLabels,
    TableFile,
    candidate_tables,
    is_workbook,
    read_csv_columns,
    read_sheet_columns,
)
from framework.sources.common import blank, clean_text
from framework.sources.problems import WARNING, TableCount, UnreadableFile

TABULAR_SUFFIXES = {".csv", ".gz", ".xlsx", ".txt"}
MEASURES = ("imd_score", "imd_rank", "imd_decile", "idaci_score", "idaci_rank", "idaci_decile")
IOD_OF_LSOAS = {2011: 2019, 2021: 2025}  # the IoD published on each LSOA vintage
DISTRICT_WORDS = "a district code such as E09000001"
MOST_PEOPLE = 100_000  # in one LSOA (they hold about 1,500)


@dataclass(frozen=True)
class Layout:
    kind: str
    expects: str  # the columns in words, for a refusal
    fits: Callable[[dict[str, str]], bool]
    read: Callable[[TableFile, dict[str, str]], ReferenceRead]


# --- reading any layout ------------------------------------------------------------------------


def read_reference(path: Path) -> ReferenceRead:
    """Read one reference file. Raises UnreadableFile (NotReferenceFile when unrecognised)."""
    path = Path(path)
    _check_file(path)
    if is_geographic(path):
        return read_boundaries(path)
    layout, table, columns = recognise(path)
    return layout.read(table, columns)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlsm", ".ods"):
        raise UnreadableFile(path, "save the workbook as .xlsx (or CSV UTF-8) to import it")
    if suffix not in TABULAR_SUFFIXES and not is_geographic(path):
        raise NotReferenceFile(
            path,
            "not a file type the reference import reads (CSV, CSV.gz, XLSX, GeoJSON, "
            "GeoPackage, Shapefile, or a zip holding a shapefile)",
        )
    if path.stat().st_size == 0:
        raise UnreadableFile(path, "the file is empty")


def recognise(path: Path) -> tuple[Layout, TableFile, dict[str, str]]:
    """The layout of a CSV or workbook, where its table starts, and its columns."""
    tables = list(candidate_tables(path))
    for table in tables:
        columns = find_columns(table.header)
        for layout in LAYOUTS:
            if layout.fits(columns):
                return layout, table, columns
    raise NotReferenceFile(path, _unrecognised(path, tables))


def _unrecognised(path: Path, tables: list[TableFile]) -> str:
    header = [h for h in (tables[0].header if tables else ()) if h]
    shown = ", ".join(repr(h) for h in header[:10]) + (", …" if len(header) > 10 else "")
    found = (
        f"no sheet has a header row laid out as expected (first: {shown or 'nothing'})"
        if is_workbook(path)
        else f"columns found: {shown or 'none'}"
    )
    expected = "; ".join(EXPECTED_LAYOUTS)
    return f"not a reference layout this version reads: {found}. Expected one of: {expected}"


def _cells(table: TableFile, columns: list[str | None]) -> tuple[pd.DataFrame, list[str]]:
    wanted = list(dict.fromkeys(c for c in columns if c))
    if is_workbook(table.path):
        return read_sheet_columns(table, wanted), []
    return read_csv_columns(table, wanted)


def _check(table: TableFile, frame: pd.DataFrame, name: str) -> ReferenceCheck:
    return ReferenceCheck(
        frame,
        file=table.path.name,
        table=name,
        child_column=None,
        locations=RowLabels(table.sheet),
    )


def _optional_codes(check: ReferenceCheck, column: str | None, pattern: str, words: str):
    if column is None:
        return pd.Series(pd.NA, index=check.frame.index, dtype="string")
    return check.codes(column, pattern, words, required=False)


def _result(table: TableFile, kind: str, vintage: int | None, description: str, **parts):
    """The ReferenceRead of a checked file: only rows without errors go into its tables."""
    check: ReferenceCheck = parts["check"]
    valid = ~check.set_aside
    tables = {name: frame[valid].reset_index(drop=True) for name, frame in parts["tables"].items()}
    return ReferenceRead(
        file=source_file(table.path, kind),
        kind=kind,
        vintage=vintage,
        description=description,
        tables=tables,
        count=TableCount(len(check.frame), int(check.set_aside.sum())),
        problems=check.problems,
        notes=parts.get("notes", []),
    )


# --- deprivation --------------------------------------------------------------------------------


def _iod_year(path: Path, lsoa_vintage: int, notes: list[str]) -> int:
    named = re.search(r"(?:iod|imd)[\s_-]*(20\d\d)", path.name, flags=re.IGNORECASE)
    if named:
        year = int(named.group(1))
        if year in IOD_OF_LSOAS.values() and IOD_OF_LSOAS[lsoa_vintage] != year:
            notes.append(
                f"{path.name}: named IoD {year} but its LSOA codes are {lsoa_vintage}'s "
                f"(IoD {IOD_OF_LSOAS[lsoa_vintage]} uses them): imported as IoD {year}"
            )
        return year
    year = IOD_OF_LSOAS[lsoa_vintage]
    notes.append(
        f"{path.name}: IoD {year} assumed from its LSOA {lsoa_vintage} codes (the name does "
        "not say IoD2019 or IoD2025)"
    )
    return year


def _measure(check: ReferenceCheck, column: str | None, measure: str, lsoas: int) -> pd.Series:
    if column is None:
        return pd.Series(pd.NA, index=check.frame.index, dtype="Float64")
    if measure.endswith("_rank"):
        return check.whole(column, 1, lsoas, f"a rank from 1 to {lsoas:,} (1 = most deprived)")
    if measure.endswith("_decile"):
        return check.whole(column, 1, 10, "a decile from 1 to 10 (1 = most deprived)")
    if measure == "idaci_score":
        return check.number(column, 0, 1, "an IDACI score: a rate from 0 to 1")
    return check.number(column, 0, 100, "an IMD score from 0 to 100")


def _read_deprivation(table: TableFile, columns: dict[str, str]) -> ReferenceRead:
    lsoa, lsoa_vintage = lsoa_column(columns)
    notes: list[str] = []
    vintage = _iod_year(table.path, lsoa_vintage, notes)
    wanted = [lsoa, columns.get("lad_code"), columns.get("children_0_15")]
    frame, read_notes = _cells(table, wanted + [columns.get(m) for m in MEASURES])
    check = _check(table, frame, "ref_deprivation")
    codes = check.codes(lsoa, LSOA_CODE, LSOA_WORDS)
    out = pd.DataFrame(
        {"vintage": vintage, "lsoa_code": codes, "lsoa_vintage": lsoa_vintage},
        index=frame.index,
    )
    out["lad_code"] = _optional_codes(check, columns.get("lad_code"), AREA_CODE, DISTRICT_WORDS)
    for measure in MEASURES:
        out[measure] = _measure(check, columns.get(measure), measure, ENGLAND_LSOAS[lsoa_vintage])
    check.unique(codes.to_frame(), lsoa, "each LSOA only once in the file")
    tables = {"ref_deprivation": out}
    if "children_0_15" in columns:  # File 7 also holds the population denominators
        column = columns["children_0_15"]
        year = year_in(PATTERNS["children_0_15"], column)
        tables["ref_population"] = _population(check, codes, lsoa_vintage, year, "0-15", [column])
    found = ", ".join(m for m in MEASURES if m in columns)
    description = f"IoD {vintage} on LSOA {lsoa_vintage} ({found})"
    return _result(
        table,
        "deprivation",
        vintage,
        description,
        check=check,
        tables=tables,
        notes=read_notes + notes,
    )


# --- populations -------------------------------------------------------------------------------


def _children_columns(columns: dict[str, str]) -> tuple[str, list[str]] | None:
    """The age group a file gives and the column(s) whose sum is its population."""
    if "children_0_17" in columns:
        return "0-17", [columns["children_0_17"]]
    if all(age in columns for age in AGES_0_17):
        return "0-17", [columns[age] for age in AGES_0_17]
    if "children_0_15" in columns:
        return "0-15", [columns["children_0_15"]]
    return None


def _population_year(path: Path, columns: dict[str, str]) -> int:
    if "children_0_15" in columns and not _named_0_17(columns):
        return year_in(PATTERNS["children_0_15"], columns["children_0_15"])
    named = re.search(r"mid[\s_-]*(\d{4})", path.name, flags=re.IGNORECASE) or re.search(
        r"(?<!\d)((?:19|20)\d\d)(?!\d)", path.name
    )
    if named is None:
        raise UnreadableFile(
            path,
            "the file does not say which year its population estimates are for: put the "
            "year in the file's name, e.g. lsoa_population_mid2022.csv",
        )
    return int(named.group(1))


def _named_0_17(columns: dict[str, str]) -> bool:
    return "children_0_17" in columns or all(age in columns for age in AGES_0_17)


def _population(check, codes, lsoa_vintage: int, year: int, group: str, counted: list[str]):
    people = sum(
        (check.whole(c, 0, MOST_PEOPLE, "a number of people (0 or more)") for c in counted),
        start=pd.Series(0, index=check.frame.index, dtype="Int64"),
    )
    return pd.DataFrame(
        {
            "lsoa_code": codes,
            "lsoa_vintage": lsoa_vintage,
            "year": year,
            "age_group": group,
            "population": people,
        },
        index=check.frame.index,
    )


def _read_population(table: TableFile, columns: dict[str, str]) -> ReferenceRead:
    lsoa, lsoa_vintage = lsoa_column(columns)
    group, counted = _children_columns(columns)
    year = _population_year(table.path, columns)
    frame, notes = _cells(table, [lsoa, *counted])
    check = _check(table, frame, "ref_population")
    codes = check.codes(lsoa, LSOA_CODE, LSOA_WORDS)
    check.unique(codes.to_frame(), lsoa, "each LSOA only once in the file")
    rows = _population(check, codes, lsoa_vintage, year, group, counted)
    description = f"population aged {group}, mid-{year}, LSOA {lsoa_vintage}"
    return _result(
        table,
        "population",
        year,
        description,
        check=check,
        tables={"ref_population": rows},
        notes=notes,
    )


# --- lookups -----------------------------------------------------------------------------------


def _read_lsoa_changes(table: TableFile, columns: dict[str, str]) -> ReferenceRead:
    old, new, change = columns["lsoa11"], columns["lsoa21"], columns["change"]
    frame, notes = _cells(table, [old, new, change, columns.get("lad_code")])
    check = _check(table, frame, "ref_lsoa_changes")
    rows = pd.DataFrame(
        {
            "lsoa11_code": check.codes(old, LSOA_CODE, LSOA_WORDS),
            "lsoa21_code": check.codes(new, LSOA_CODE, LSOA_WORDS),
            "change": check.codes(
                change, r"[USMX]", "U (unchanged), S (split), M (merged) or X (redrawn)"
            ),
            "lad_code": _optional_codes(check, columns.get("lad_code"), AREA_CODE, DISTRICT_WORDS),
        },
        index=frame.index,
    )
    keys = rows[["lsoa11_code", "lsoa21_code"]]
    check.unique(keys, new, "each pair of 2011 and 2021 LSOAs only once")
    return _result(
        table,
        "lsoa_changes",
        2021,
        "LSOA 2011 to LSOA 2021 lookup",
        check=check,
        tables={"ref_lsoa_changes": rows},
        notes=notes,
    )


def _read_wards(table: TableFile, columns: dict[str, str]) -> ReferenceRead:
    lsoa, ward = columns["lsoa21"], columns["ward_code"]
    year = 2000 + year_in(PATTERNS["ward_code"], ward)
    names = [columns.get(c) for c in ("ward_name", "lad_code", "lad_name")]
    frame, notes = _cells(table, [lsoa, ward, *names])
    check = _check(table, frame, "ref_wards")
    rows = pd.DataFrame(
        {
            "lsoa21_code": check.codes(lsoa, LSOA_CODE, LSOA_WORDS),
            "ward_code": check.codes(ward, r"[EWX]05\d{6}", "a ward code such as E05009861"),
            "ward_name": check.names(columns.get("ward_name")),
            "lad_code": _optional_codes(check, columns.get("lad_code"), AREA_CODE, DISTRICT_WORDS),
            "lad_name": check.names(columns.get("lad_name")),
        },
        index=frame.index,
    )
    check.unique(rows[["lsoa21_code"]], lsoa, "each LSOA only once (one ward per LSOA)")
    return _result(
        table,
        "wards",
        year,
        f"LSOA 2021 to wards {year}",
        check=check,
        tables={"ref_wards": rows},
        notes=notes,
    )


# --- postcodes ---------------------------------------------------------------------------------


def _terminations(check: ReferenceCheck, column: str | None) -> pd.Series:
    """'202104' -> '2021-04'. A bad date is reported, and the postcode loads as live."""
    if column is None:
        return pd.Series(pd.NA, index=check.frame.index, dtype="string")
    text = check.frame[column].astype("string").str.strip()
    given = ~blank(text)
    well_formed = text.str.fullmatch(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])").fillna(False)
    words = "a termination date as yyyymm (e.g. 202104), or blank for a postcode in use"
    check.flag(given & ~well_formed, column, words, severity=WARNING, rule="date")
    return (text.str[:4] + "-" + text.str[4:6]).where(given & well_formed)


def _read_postcodes(table: TableFile, columns: dict[str, str]) -> ReferenceRead:
    lsoa, lsoa_vintage = lsoa_column(columns)
    column = columns["postcode"]
    frame, notes = _cells(table, [column, lsoa, columns.get("doterm")])
    check = _check(table, frame, "ref_postcode_areas")
    postcode = normalise_postcodes(frame[column])
    check.flag(postcode.isna(), column, "a postcode", rule="required")
    well_formed = postcode.str.fullmatch(POSTCODE_PATTERN).fillna(False)
    check.flag(postcode.notna() & ~well_formed, column, "a postcode such as SW1A 1AA")
    area = clean_text(frame[lsoa])
    # Directories list places with no LSOA (Channel Islands, Isle of Man: pseudo-codes such
    # as L99999999): they are not errors, but there is nothing to import for them.
    no_area = area.isna() | area.str.endswith("99999999").fillna(False)
    check.set_aside |= no_area
    shaped = area.str.fullmatch(r"[A-Z0-9]{6,10}").fillna(False)
    check.flag(~no_area & ~shaped, lsoa, LSOA_WORDS, rule="code")
    check.unique(postcode.to_frame(), column, "each postcode only once")
    ended = _terminations(check, columns.get("doterm"))
    if no_area.any():
        notes.append(
            f"{table.path.name}: {int(no_area.sum()):,} postcodes have no LSOA {lsoa_vintage} "
            "(outside England and Wales, or never assigned): not imported"
        )
    if lsoa_vintage == 2021 and "lsoa11" in columns:
        notes.append(f"{table.path.name}: LSOA 2021 codes used (the file also has 2011 codes)")
    areas = pd.DataFrame({"postcode": postcode, "area_code": area}, index=frame.index)
    terminated = pd.DataFrame({"postcode": postcode.where(ended.notna()), "terminated": ended})
    description = f"postcodes to LSOA {lsoa_vintage} areas"
    read = _result(
        table,
        "postcodes",
        lsoa_vintage,
        description,
        check=check,
        tables={"ref_postcode_areas": areas, "ref_postcode_terminated": terminated},
        notes=notes,
    )
    ended_only = read.tables["ref_postcode_terminated"].dropna(subset=["terminated"])
    read.tables["ref_postcode_terminated"] = ended_only.reset_index(drop=True)
    return read


# --- the layouts, in the order they are tried ---------------------------------------------------


def _has_lsoa(columns: dict[str, str]) -> bool:
    return lsoa_column(columns) is not None


LAYOUTS = (
    Layout(
        "postcodes",
        "postcode lookup (NSPL, ONSPD, PCD_OA_LSOA…): pcds, pcd, pcd7 or pcd8 with lsoa21cd, "
        "lsoa11cd, lsoa21 or lsoa11",
        lambda c: "postcode" in c and _has_lsoa(c),
        _read_postcodes,
    ),
    Layout(
        "deprivation",
        "IoD 2019/2025 Files 1, 2, 3 or 7: 'LSOA code (2011)' or 'LSOA code (2021)' (or "
        "lsoa21_code) with IMD or IDACI rank, decile or score columns",
        lambda c: _has_lsoa(c) and any(m in c for m in MEASURES),
        _read_deprivation,
    ),
    Layout(
        "lsoa_changes",
        "LSOA 2011 to 2021 lookup: LSOA11CD, LSOA21CD and CHGIND (or lsoa11_code, "
        "lsoa21_code and change_code)",
        lambda c: {"lsoa11", "lsoa21", "change"} <= c.keys(),
        _read_lsoa_changes,
    ),
    Layout(
        "wards",
        "LSOA 2021 to ward lookup: LSOA21CD and a ward code such as WD24CD (or lsoa21_code "
        "and ward24_code), with LAD24CD/LAD24NM optional",
        lambda c: {"lsoa21", "ward_code"} <= c.keys(),
        _read_wards,
    ),
    Layout(
        "population",
        "LSOA population: an LSOA code column with children_0_17, age_0 … age_17, or "
        "'Dependent Children aged 0-15: mid YYYY'",
        lambda c: _has_lsoa(c) and _children_columns(c) is not None,
        _read_population,
    ),
)
EXPECTED_LAYOUTS = [layout.expects for layout in LAYOUTS] + [BOUNDARIES_EXPECTS]
