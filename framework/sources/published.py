"""Readers for published statistics: EES tidy CSVs and DfE statistical-neighbour tables.

* Explore Education Statistics (EES) "tidy" CSVs: time and geography columns (``time_period``,
  ``time_identifier``, ``geographic_level``, ``country_code`` … ``la_name``; some files lack
  some, or order them differently), then filter columns (text, e.g. ``category``) and indicator
  columns (numbers or EES symbols such as ``c`` for suppressed). Each file is melted to one row
  per area, period, breakdown (the filters, as JSON) and measure (the indicator's name): table
  ``published_statistics``. Symbols are kept as published in ``value_code``; ``value`` is then
  missing.
* DfE dashboard extracts (the files behind DfE's children's social care dashboards, e.g. spend
  per child from the RO3/RSX outturn, children in need per 10,000): the EES time and level
  columns without ``time_identifier``; the area may be named in ``geo_breakdown``, England and
  the regions may have no code, and ``old_la_code`` may be written ``805.0``. Read like EES
  files (``time_identifier`` left empty): see ``_dashboard_areas``.
* Statistical neighbours, two wide layouts: the 2025 model (``old_la_code, la_name, region_ind,
  region_name, SN_1, SN_1P, … SN_10, SN_10P``) and the April 2021 groupings (``LA num, LA Name,
  LA number, GOInd, GOReg, SN1, SNP, SN2, SNP, …``, the ``SNP`` header repeated). Each is read
  to one row per authority per rank 1–10: table ``statistical_neighbours``.

Files are recognised by their columns, never by their names. See docs/data/published.md.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from framework.sources.common import (
    TableCheck,
    blank,
    csv_first_row,
    end_year_from_name,
    sha256_of,
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
from framework.store.schema import TABLES

SOURCE = "published"
EES_TABLE = "published_statistics"
REGIONS_TABLE = "authority_regions"
SN_TABLE = "statistical_neighbours"

# Time and geography columns of the EES standard (never filters or indicators).
TIME_COLUMNS = ("time_period", "time_identifier")
GEOGRAPHY_COLUMNS = (
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
    "lad_code",
    "lad_name",
    "pcon_code",
    "pcon_name",
    "lsip_code",
    "lsip_name",
    "local_enterprise_partnership_code",
    "local_enterprise_partnership_name",
    "english_devolved_area_code",
    "english_devolved_area_name",
    "opportunity_area_code",
    "opportunity_area_name",
    "ward_code",
    "ward_name",
    "trust_id",
    "trust_name",
    "sponsor_id",
    "sponsor_name",
    "school_urn",
    "school_laestab",
    "school_name",
    "provider_ukprn",
    "provider_name",
    "institution_id",
    "institution_name",
    "planning_area_code",
    "planning_area_name",
    "mat_id",
    "mat_name",
)
# DfE dashboard extracts name every area (England "National", regions, authorities) here.
DASHBOARD_NAME = "geo_breakdown"
EES_STRUCTURE = frozenset((*TIME_COLUMNS, *GEOGRAPHY_COLUMNS, DASHBOARD_NAME))
EES_REQUIRED = frozenset({"time_period", "time_identifier", "geographic_level"})
DASHBOARD_REQUIRED = frozenset({"time_period", "geographic_level"})
# England and its regions by name (ONS codes), for dashboard rows that give only a name; a
# region not listed is keyed by its name. The demo's fictional region is listed with the code
# its EES files give it (framework/demo/benchmarks.py), so that it is one region, not two.
ENGLAND = ("E92000001", "England")
REGION_CODES = {
    "north east": "E12000001",
    "north west": "E12000002",
    "yorkshire and the humber": "E12000003",
    "east midlands": "E12000004",
    "west midlands": "E12000005",
    "east of england": "E12000006",
    "london": "E12000007",
    "south east": "E12000008",
    "south west": "E12000009",
    "inner london": "E13000001",
    "outer london": "E13000002",
    "demoton region": "X15000001",
}

# The code (and name) that identifies the area at each geographic level.
LEVEL_AREA = {
    "national": ("country_code", "country_name"),
    "regional": ("region_code", "region_name"),
    "local authority": ("new_la_code", "la_name"),
}
# Other levels: the most specific code present (first found in this order).
SPECIFIC_CODES = (
    ("school_urn", "school_name"),
    ("provider_ukprn", "provider_name"),
    ("institution_id", "institution_name"),
    ("ward_code", "ward_name"),
    ("pcon_code", "pcon_name"),
    ("lad_code", "lad_name"),
    ("planning_area_code", "planning_area_name"),
    ("opportunity_area_code", "opportunity_area_name"),
    ("trust_id", "trust_name"),
    ("mat_id", "mat_name"),
    ("sponsor_id", "sponsor_name"),
    ("lsip_code", "lsip_name"),
    ("local_enterprise_partnership_code", "local_enterprise_partnership_name"),
    ("english_devolved_area_code", "english_devolved_area_name"),
    ("new_la_code", "la_name"),
    ("region_code", "region_name"),
    ("country_code", "country_name"),
)

# EES symbols (and the GSS bracketed forms, e.g. "[c]"), matched without case.
EES_SYMBOLS = {
    "c": "confidential (suppressed)",
    "k": "fewer than 0.5, rounded to 0",
    "low": "rounds to 0 but is not 0",
    "u": "low reliability",
    "x": "not available",
    "z": "not applicable",
    ":": "not available",
    "~": "fewer than 0.5, rounded to 0",
}
SYMBOL_WORDS = "a number or an EES symbol (c, k, low, u, x, z)"
_NUMBER = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?%?"
)  # validated further: must contain a digit
# A column is an indicator when at least this share of its non-blank cells are numbers or
# symbols (and at least one is a number, or all are symbols); the rest are flagged cell by cell.
INDICATOR_SHARE = 0.9

SN_CODE = re.compile(r"\d{3}")
SN_RANKS = range(1, 11)


# --------------------------------------------------------------------------------------------
# Recognising files


def _read_header(path: Path) -> list[str]:
    """The first line of a CSV as written (BOM removed; names stripped, case kept)."""
    try:
        first = csv_first_row(path)
    except OSError:
        return []
    return [column.strip() for column in first]


def _sn_layout(header: list[str]) -> str | None:
    lower = [c.lower() for c in header]
    names = set(lower)
    if {"old_la_code", "la_name"} <= names and all(
        {f"sn_{k}", f"sn_{k}p"} <= names for k in SN_RANKS
    ):
        return "2025"
    if (
        {"la name", "snp"} <= names
        and names & {"la num", "la number"}
        and all(f"sn{k}" in names for k in SN_RANKS)
    ):
        return "2021"
    return None


def _ees_layout(header: list[str]) -> str | None:
    """'ees' (EES tidy), 'dashboard' (a DfE dashboard extract: no time_identifier, an area
    column) or None."""
    names = {c.lower() for c in header}
    if names >= EES_REQUIRED:
        return "ees"
    areas = names & (set(GEOGRAPHY_COLUMNS) | {DASHBOARD_NAME}) - {"geographic_level"}
    if names >= DASHBOARD_REQUIRED and areas:
        return "dashboard"
    return None


def identify_published_csv(path: str | Path) -> str | None:
    """'ees_tidy' (also DfE dashboard extracts, read the same way), 'statistical_neighbours'
    or None (not a layout this module reads)."""
    header = _read_header(Path(path))
    if _ees_layout(header):
        return "ees_tidy"
    if _sn_layout(header):
        return "statistical_neighbours"
    return None


def read_published(path: str | Path) -> ReadResult:
    """Read one published-statistics CSV (EES tidy or statistical neighbours)."""
    path = Path(path)
    kind = identify_published_csv(path)
    if kind == "ees_tidy":
        return _read_ees(path)
    if kind == "statistical_neighbours":
        return _read_sn(path)
    raise UnreadableFile(
        path,
        "this is not an Explore Education Statistics tidy CSV (time_period, time_identifier, "
        "geographic_level columns), a DfE dashboard extract (time_period, geographic_level and "
        "area columns) nor a statistical neighbours table",
    )


# --------------------------------------------------------------------------------------------
# Shared helpers


def _read_strings_plain(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            index_col=False,  # never take a column as the index: values would shift
        )
    except pd.errors.EmptyDataError:
        raise UnreadableFile(path, "the file is empty") from None
    except UnicodeDecodeError:
        raise UnreadableFile(path, "the file is not UTF-8 text; save it as CSV UTF-8") from None
    except pd.errors.ParserError as error:
        raise UnreadableFile(path, f"the CSV cannot be parsed ({error})") from None


def _locations(index: pd.Index) -> pd.Series:
    return pd.Series([f"row {i}" for i in index], index=index)


def _text(series: pd.Series) -> pd.Series:
    """Stripped text; blanks become missing."""
    out = series.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def _la_codes(frame: pd.DataFrame) -> pd.Series | object:
    """``old_la_code`` as three digits of text ("805.0" and "5" → "805", "005"); other
    values as written; NA when the file has no such column."""
    if "old_la_code" not in frame:
        return pd.NA
    codes = _text(frame["old_la_code"]).str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    digits = codes.str.fullmatch(r"\d{1,3}").fillna(False)
    return codes.where(~digits, codes.str.zfill(3))


def parse_cells(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Numbers, symbols and blanks of an indicator column (vectorised).

    Returns (number as float or NaN, symbol as published or NA, True where the cell is neither
    a number, nor a symbol, nor blank).
    """
    text = values.astype("string").str.strip().fillna("")
    empty = text == ""
    looks_number = text.str.fullmatch(_NUMBER.pattern).fillna(False) & text.str.contains(
        r"\d", regex=True
    ).fillna(False)
    cleaned = text.where(looks_number, "").str.replace(",", "", regex=False)
    cleaned = cleaned.str.removesuffix("%")
    numbers = pd.to_numeric(cleaned.mask(~looks_number, None), errors="coerce").astype(float)
    is_number = looks_number & numbers.notna()
    key = text.str.lower().str.removeprefix("[").str.removesuffix("]")
    is_symbol = ~is_number & ~empty & key.isin(list(EES_SYMBOLS))
    symbols = text.where(is_symbol, pd.NA)
    bad = ~empty & ~is_number & ~is_symbol
    return numbers.where(is_number), symbols, bad.astype(bool)


def _result(path: Path, kind: str) -> ReadResult:
    return ReadResult(
        source=SOURCE,
        collection_year=None,
        files=[SourceFile(path, sha256_of(path), path.stat().st_size, kind)],
    )


# --------------------------------------------------------------------------------------------
# EES tidy CSVs


def _columns_by_role(frame: pd.DataFrame) -> tuple[list[str], list[str], list[str], dict]:
    """(filters, indicators, ignored blank columns, parsed indicator cells) of an EES frame."""
    filters: list[str] = []
    indicators: list[str] = []
    ignored: list[str] = []
    parsed: dict[str, tuple[pd.Series, pd.Series, pd.Series]] = {}
    for column in frame.columns:
        if column.lower() in EES_STRUCTURE:
            continue
        numbers, symbols, bad = parse_cells(frame[column])
        filled = int((~blank(frame[column])).sum())
        if filled == 0:
            ignored.append(column)
            continue
        good = filled - int(bad.sum())
        has_number = bool(numbers.notna().any())
        all_symbols = bool(symbols.notna().sum() == filled)
        if all_symbols or (has_number and good >= INDICATOR_SHARE * filled):
            indicators.append(column)
            parsed[column] = (numbers, symbols, bad)
        else:
            filters.append(column)
    return filters, indicators, ignored, parsed


def _breakdowns(frame: pd.DataFrame, filters: list[str]) -> pd.Series:
    if not filters:
        return pd.Series("{}", index=frame.index, dtype=object)
    values = frame[filters].apply(lambda s: s.str.strip())
    combos = values.drop_duplicates()
    as_json = {
        tuple(row): json.dumps(
            dict(zip(filters, row, strict=True)), sort_keys=True, separators=(",", ":")
        )
        for row in combos.itertuples(index=False, name=None)
    }
    keys = pd.Series(list(values.itertuples(index=False, name=None)), index=frame.index)
    return keys.map(as_json)


def _areas(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(area code, area name, the column the code came from) for every row."""
    level = frame["geographic_level"].str.strip().str.lower()
    code = pd.Series(pd.NA, index=frame.index, dtype="string")
    name = pd.Series(pd.NA, index=frame.index, dtype="string")
    source = pd.Series(pd.NA, index=frame.index, dtype="string")
    known = level.isin(list(LEVEL_AREA))
    for lvl, (code_col, name_col) in LEVEL_AREA.items():
        rows = level == lvl
        source[rows] = code_col
        if code_col in frame:
            code[rows] = _text(frame[code_col])[rows]
        if name_col in frame:
            name[rows] = _text(frame[name_col])[rows]
    if DASHBOARD_NAME in frame:
        name = name.fillna(_text(frame[DASHBOARD_NAME]))
    _dashboard_areas(frame, level, code, name, source)
    other = ~known
    for code_col, name_col in SPECIFIC_CODES:
        if code_col not in frame:
            continue
        values = _text(frame[code_col])
        take = other & code.isna() & values.notna()
        code[take] = values[take]
        source[take] = code_col
        if name_col in frame:
            name[take] = _text(frame[name_col])[take]
    return code, name, source


def _dashboard_areas(
    frame: pd.DataFrame, level: pd.Series, code: pd.Series, name: pd.Series, source: pd.Series
) -> None:
    """Dashboard extracts without a country or region code column: a National row is
    England's (E92000001, named "England" as in EES files; the dashboards write "National"),
    a Regional row takes its region's ONS code by name, else its name as its code. A code
    column present but blank is still an error (the checks flag it)."""
    if "country_code" not in frame:
        rows = level == "national"
        code[rows], name[rows] = ENGLAND
    if "region_code" not in frame:
        rows = (level == "regional") & name.notna()
        named = name[rows].str.lower().map(REGION_CODES)
        code[rows] = named.fillna(name[rows])
        source[rows] = DASHBOARD_NAME


def _read_ees(path: Path) -> ReadResult:
    layout = _ees_layout(_read_header(path))
    result = _result(path, "dfe_dashboard_csv" if layout == "dashboard" else "ees_tidy_csv")
    raw = _read_strings_plain(path)
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    raw.columns = [c.strip() for c in raw.columns]
    # The structural columns are matched without case; keep indicator and filter names as written.
    raw = raw.rename(columns={c: c.lower() for c in raw.columns if c.lower() in EES_STRUCTURE})
    frame = raw
    check = TableCheck(
        frame,
        file=path.name,
        table=EES_TABLE,
        child_column=None,
        locations=_locations(frame.index),
    )
    check.required("time_period", "the time period (e.g. 2025 or 202425)")
    check.required(
        "geographic_level", "the geographic level (National, Regional, Local authority...)"
    )
    filters, indicators, ignored, parsed = _columns_by_role(frame)
    area_code, area_name, area_source = _areas(frame)
    level_given = ~blank(frame["geographic_level"])
    no_code = level_given & area_code.isna()
    for column in sorted(set(area_source[no_code].dropna())):
        rows = no_code & (area_source == column)
        level_words = frame["geographic_level"].str.strip()[rows].iloc[0]
        check.flag(
            rows,
            column,
            f"the area code ({column}) for a {level_words} row",
            rule="required",
        )
    check.flag(
        no_code & area_source.isna(),
        "geographic_level",
        "a geographic level with an area code in the file (e.g. new_la_code)",
        rule="required",
    )
    breakdown = _breakdowns(frame, filters)
    time_identifier = (
        _text(frame["time_identifier"])
        if "time_identifier" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    keys = pd.DataFrame(
        {
            "time_period": _text(frame["time_period"]),
            "time_identifier": time_identifier.fillna(""),
            "level": frame["geographic_level"].str.strip().str.lower(),
            "area": area_code,
            "breakdown": breakdown,
        }
    )
    candidates = keys[~check.set_aside]
    repeated = (
        candidates[["time_period", "level", "area"]].notna().all(axis=1)
        & candidates.duplicated(keep="first")
    ).reindex(keys.index, fill_value=False)
    for column in sorted(set(area_source[repeated].dropna())):
        check.flag(
            repeated & (area_source == column),
            column,
            "one row per time period, area and breakdown (an earlier row has the same "
            "time_period, geographic_level, area code and filter values)",
            rule="duplicate",
        )

    rows_kept = ~check.set_aside
    problems = list(check.problems)
    blocks = []
    read_cells = 0
    bad_cells = 0
    set_aside_cells = 0
    blank_cells = 0
    base = pd.DataFrame(
        {
            "dataset": path.stem,
            "time_period": keys["time_period"],
            "time_identifier": time_identifier,
            "geographic_level": _text(frame["geographic_level"]),
            "area_code": area_code,
            "old_la_code": _la_codes(frame),
            "area_name": area_name,
            "breakdown": breakdown,
        },
        index=frame.index,
    )
    locations = check.locations
    for column in indicators:
        numbers, symbols, bad = parsed[column]
        filled = ~blank(frame[column])
        read_cells += int(filled.sum())
        blank_cells += int((~filled).sum())
        set_aside_cells += int((filled & ~rows_kept).sum())
        flagged = bad & rows_kept
        bad_cells += int(flagged.sum())
        for index in flagged[flagged].index:
            problems.append(
                Problem(
                    file=path.name,
                    location=str(locations[index]),
                    field=column,
                    value=str(frame.at[index, column]),
                    expected=SYMBOL_WORDS,
                    severity=ERROR,
                    table=EES_TABLE,
                    rule="code",
                )
            )
        keep = filled & rows_kept & ~bad
        block = base[keep].copy()
        block["measure"] = column
        block["value"] = numbers[keep].to_numpy(dtype=float, na_value=np.nan)
        block["value_code"] = symbols[keep].astype(object).where(symbols[keep].notna(), None)
        blocks.append(block)
    columns = list(TABLES[EES_TABLE].column_names)
    table = (
        pd.concat(blocks, ignore_index=True)[columns]
        if blocks
        else pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    )
    for column in columns:
        if column != "value":
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    table["value"] = table["value"].astype(float)
    result.tables[EES_TABLE] = table
    result.tables[REGIONS_TABLE] = _authority_regions(frame[rows_kept], area_code[rows_kept])
    result.problems = problems
    result.counts[EES_TABLE] = TableCount(read_cells, set_aside_cells + bad_cells)
    result.notes.append(
        f"{path.name}: {len(frame)} rows; filters {filters or 'none'}; "
        f"{len(indicators)} measures: {', '.join(indicators)}"
    )
    if ignored:
        result.notes.append(f"{path.name}: empty columns ignored: {', '.join(ignored)}")
    if blank_cells:
        result.notes.append(f"{path.name}: {blank_cells} blank measure cells (nothing published)")
    if not indicators:
        result.notes.append(f"{path.name}: no indicator (number) columns found")
    return result


def _authority_regions(frame: pd.DataFrame, area_code: pd.Series) -> pd.DataFrame:
    """Each authority's region, from its newest row naming one (EES local authority rows
    carry ``region_code`` and ``region_name``; the measures' table keeps only the area)."""
    columns = list(TABLES[REGIONS_TABLE].column_names)
    level = frame["geographic_level"].str.strip().str.lower()
    if "region_code" not in frame or not (level == "local authority").any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    rows = pd.DataFrame(
        {
            "area_code": area_code,
            "old_la_code": _la_codes(frame),
            "area_name": _text(frame["la_name"]) if "la_name" in frame else pd.NA,
            "region_code": _text(frame["region_code"]),
            "region_name": _text(frame["region_name"]) if "region_name" in frame else pd.NA,
            "time_period": _text(frame["time_period"]),
        }
    )
    rows = rows[(level == "local authority") & rows["area_code"].notna()]
    rows = rows[rows["region_code"].notna()].sort_values("time_period", kind="stable")
    newest = rows.drop_duplicates("area_code", keep="last")[columns].reset_index(drop=True)
    return newest.astype(object).where(newest.notna(), None)


# --------------------------------------------------------------------------------------------
# Statistical neighbours


def _read_sn(path: Path) -> ReadResult:
    result = _result(path, "statistical_neighbours_csv")
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise UnreadableFile(path, "the file is not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as error:  # e.g. a field beyond the csv module's size limit
        raise UnreadableFile(path, f"the CSV cannot be parsed ({error})") from None
    header = [c.strip() for c in rows[0]]
    layout = _sn_layout(header)
    lower = [c.lower() for c in header]
    if layout == "2025":
        code_at, name_at = lower.index("old_la_code"), lower.index("la_name")
        pairs = [(lower.index(f"sn_{k}"), lower.index(f"sn_{k}p")) for k in SN_RANKS]
    else:
        code_at = lower.index("la num") if "la num" in lower else lower.index("la number")
        name_at = lower.index("la name")
        pairs = [(lower.index(f"sn{k}"), lower.index(f"sn{k}") + 1) for k in SN_RANKS]
    model = str(end_year_from_name(path.stem) or layout)

    width = len(header)
    body = [(r + [""] * width)[:width] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=range(width), dtype=object)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    everything = frame.apply(lambda s: s.str.strip())
    neighbour_cells = everything[[i for pair in pairs for i in pair]]
    heading = (everything[code_at] == "") & (neighbour_cells == "").all(axis=1)
    if heading.any():
        shown = [f"row {i}" for i in heading[heading].index]
        result.notes.append(
            f"{path.name}: {len(shown)} blank or heading rows skipped ({', '.join(shown)})"
        )
    frame = frame[~heading]
    named = frame.copy()
    # Repeated headers (SNP): give each cell its own name for the checks.
    named.columns = [
        f"{header[i]} (after {header[i - 1]})" if lower[i] == "snp" else header[i] or f"col{i}"
        for i in range(width)
    ]
    check = TableCheck(
        named,
        file=path.name,
        table=SN_TABLE,
        child_column=None,
        locations=_locations(named.index),
    )
    code_name = named.columns[code_at]
    codes = _text(named[code_name])
    check.required(code_name, "the authority's old LA code (3 digits)")
    check.flag(
        codes.notna() & ~codes.str.fullmatch(SN_CODE.pattern).fillna(False),
        code_name,
        "the authority's old LA code as 3 digits (e.g. 301)",
        severity=WARNING,
        rule="code",
    )
    check.flag(
        codes.notna() & codes.duplicated(keep="first"),
        code_name,
        "each authority once (an earlier row has the same LA code)",
        rule="duplicate",
    )
    blocks = []
    for rank, (code_i, close_i) in zip(SN_RANKS, pairs, strict=True):
        code_col, close_col = named.columns[code_i], named.columns[close_i]
        neighbour = _text(named[code_col])
        closeness = _text(named[close_col])
        check.flag(
            neighbour.isna() & closeness.notna(),
            code_col,
            f"the old LA code of neighbour {rank} (3 digits)",
            severity=WARNING,
            rule="required",
        )
        check.flag(
            neighbour.notna() & ~neighbour.str.fullmatch(SN_CODE.pattern).fillna(False),
            code_col,
            f"the old LA code of neighbour {rank} as 3 digits (e.g. 301)",
            severity=WARNING,
            rule="code",
        )
        block = pd.DataFrame(
            {
                "model": model,
                "old_la_code": codes,
                "la_name": _text(named[named.columns[name_at]]),
                "rank": rank,
                "neighbour_old_la_code": neighbour,
                "closeness": closeness,
            }
        )
        blocks.append(block[neighbour.notna() | closeness.notna()])
    kept = ~check.set_aside
    table = pd.concat([b[kept.reindex(b.index)] for b in blocks])
    table = table.rename_axis("row").reset_index().sort_values(["row", "rank"], kind="stable")
    table = table[list(TABLES[SN_TABLE].column_names)].reset_index(drop=True)
    for column in table.columns:
        if column != "rank":
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    table["rank"] = table["rank"].astype("Int64")
    result.tables[SN_TABLE] = table
    result.problems = check.problems
    result.counts[SN_TABLE] = TableCount(
        sum(len(b) for b in blocks), sum(len(b) for b in blocks) - len(table)
    )
    result.notes.append(
        f"{path.name}: statistical neighbours, model {model} ({layout} layout), "
        f"{int(kept.sum())} authorities"
    )
    return result


__all__ = [
    "EES_SYMBOLS",
    "identify_published_csv",
    "parse_cells",
    "read_published",
]
