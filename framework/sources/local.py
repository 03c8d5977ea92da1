"""Readers for small local CSV files: the child address extract and area reference data.

* Child address extract (the CiN census carries no address, so authorities export one from
  their case-management system): ``child_id, postcode, from_date`` — one row per child per
  address, ``from_date`` as YYYY-MM-DD (DD/MM/YYYY also accepted). ``LAchildID`` or ``CHILD``
  are accepted as the name of the first column.
* Postcode lookup: ``postcode, area_code``.
* Areas: ``area_code, area_name, ward_code, ward_name, locality, imd_decile, idaci_decile,
  children_0_17``.

Files are recognised by their columns, like the returns. The geography work (postcode
directories, IoD files, boundaries) adds richer readers later; these are the minimal layouts
the demo authority and a first real load need.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from framework.geography import normalise_postcodes
from framework.sources.common import TableCheck, blank, clean_text, csv_first_row, sha256_of
from framework.sources.problems import (
    ERROR,
    ReadResult,
    SourceFile,
    TableCount,
    UnreadableFile,
)
from framework.store.schema import TABLES

ADDRESS_ID_ALIASES = ("child_id", "lachildid", "child")
LAYOUTS = {
    "child_addresses": {"postcode", "from_date"},
    "ref_postcode_areas": {"postcode", "area_code"},
    "ref_areas": set(TABLES["ref_areas"].column_names),
}


def read_header(path: Path) -> list[str]:
    """The first line of a CSV as lower-case column names (BOM and spaces removed)."""
    return [column.strip().lower() for column in csv_first_row(path)]


# Official reference layouts that the demo writes beside its own lookups (IoD2025 File 3,
# ONS's LSOA to ward lookup, ONS's small-area populations, an NSPL-like postcode lookup). This
# version does not load them yet, so a load lists them as ignored rather than unreadable (a
# strict load of the demo would otherwise be refused).
REFERENCE_LAYOUTS_NOT_LOADED = (
    {"lsoa code (2021)", "local authority district code (2024)"},
    {"lsoa21_code", "ward24_code", "ltla24_code"},
    {"lsoa11_code", "total_population", "children_0_17"},
    {"pcds", "lsoa21cd", "oseast1m", "osnrth1m"},
)


def is_reference_not_loaded(path: Path) -> bool:
    """A CSV in one of the official reference layouts this version does not load yet."""
    if path.suffix.lower() != ".csv":
        return False
    columns = set(read_header(path))
    return any(layout <= columns for layout in REFERENCE_LAYOUTS_NOT_LOADED)


def identify_local_csv(path: Path) -> str | None:
    columns = set(read_header(path))
    if LAYOUTS["ref_areas"] <= columns:
        return "ref_areas"
    if LAYOUTS["child_addresses"] <= columns and columns & set(ADDRESS_ID_ALIASES):
        return "child_addresses"
    if columns == LAYOUTS["ref_postcode_areas"]:
        return "ref_postcode_areas"
    return None


def _read_strings(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
            index_col=False,  # never take a column as the index: values would shift
        )
    except pd.errors.EmptyDataError:
        raise UnreadableFile(path, "the file is empty") from None
    except UnicodeDecodeError:
        raise UnreadableFile(path, "the file is not UTF-8 text; save it as CSV UTF-8") from None
    except pd.errors.ParserError as error:
        raise UnreadableFile(path, f"the CSV could not be parsed ({str(error).strip()})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # row 1 = first row after the header
    return frame


def _locations(frame: pd.DataFrame) -> pd.Series:
    return pd.Series([f"row {i}" for i in frame.index], index=frame.index)


def read_child_addresses(path: Path) -> ReadResult:
    frame = _read_strings(path)
    id_column = next(c for c in ADDRESS_ID_ALIASES if c in frame.columns)
    frame = frame.rename(columns={id_column: "child_id"})
    check = TableCheck(
        frame,
        file=path.name,
        table="child_addresses",
        child_column="child_id",
        locations=_locations(frame),
    )
    check.required("child_id", "the child's identifier")
    iso = pd.to_datetime(
        frame["from_date"].where(~blank(frame["from_date"])), format="%Y-%m-%d", errors="coerce"
    )
    british = pd.to_datetime(
        frame["from_date"].where(iso.isna() & ~blank(frame["from_date"])),
        format="%d/%m/%Y",
        errors="coerce",
    )
    from_date = iso.fillna(british)
    check.flag(blank(frame["from_date"]), "from_date", "a date as YYYY-MM-DD", rule="required")
    check.flag(
        ~blank(frame["from_date"]) & from_date.isna(),
        "from_date",
        "a date as YYYY-MM-DD",
        rule="date",
    )
    keys = pd.DataFrame({"child": frame["child_id"].str.strip().str.upper(), "date": from_date})
    check.flag(
        keys.notna().all(axis=1) & keys.duplicated(keep=False),
        "from_date",
        "one address per child per date (this child has two rows for this date)",
        rule="duplicate",
    )
    valid = ~check.set_aside
    table = pd.DataFrame(
        {
            "child_id": frame["child_id"].str.strip()[valid],
            "from_date": from_date[valid],
            "postcode": clean_text(frame["postcode"])[valid],
        }
    )
    return ReadResult(
        source="child_addresses",
        collection_year=None,
        files=[SourceFile(path, sha256_of(path), path.stat().st_size, "child_addresses_csv")],
        tables={"child_addresses": table.reset_index(drop=True)},
        problems=check.problems,
        counts={"child_addresses": TableCount(len(frame), int(check.set_aside.sum()))},
    )


def read_area_reference(path: Path, kind: str) -> ReadResult:
    """Postcode lookup or area list: reference data, checked for keys and decile ranges."""
    frame = _read_strings(path)
    table = TABLES[kind]
    check = TableCheck(
        frame, file=path.name, table=kind, child_column=None, locations=_locations(frame)
    )
    for column in table.key:
        check.required(column)
    out = pd.DataFrame(index=frame.index)
    for column, typ in table.columns:
        if typ == "INTEGER":
            high = 10 if column.endswith("_decile") else 10**7
            low = 1 if column.endswith("_decile") else 0
            out[column] = check.integer(column, low, high)
        elif column == "postcode":
            out[column] = normalise_postcodes(frame[column])
        else:
            out[column] = frame[column].str.strip().mask(blank(frame[column]), pd.NA)
    check.duplicates(list(table.key), "each code only once", keep=False)
    valid = ~check.set_aside
    return ReadResult(
        source="reference",
        collection_year=None,
        files=[SourceFile(path, sha256_of(path), path.stat().st_size, f"{kind}_csv")],
        tables={kind: out[valid].reset_index(drop=True)},
        problems=check.problems,
        counts={kind: TableCount(len(frame), int(check.set_aside.sum()))},
    )


__all__ = [
    "ERROR",
    "identify_local_csv",
    "is_reference_not_loaded",
    "read_area_reference",
    "read_child_addresses",
]
