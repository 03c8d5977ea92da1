"""What every reference reader shares: column names as compared, code checks, the read result.

Publishers rename columns between releases and re-publishers rename them again ("LSOA code
(2021)", "LSOA21CD", "lsoa21_code"), so columns are found by patterns over a canonical form of
their names: lower case, BOM and surrounding spaces gone, the IoD's "(where 1 is most
deprived…)" dropped, and every run of other characters turned into one underscore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from framework.sources.common import TableCheck, blank, clean_text, sha256_of
from framework.sources.problems import ERROR, Problem, SourceFile, TableCount, UnreadableFile

# X-prefixed codes are fictional (ONS issues none): the demo authority's areas use them.
LSOA_CODE = r"[EWX]01\d{6}"
LSOA_WORDS = "an LSOA code such as E01000001"
AREA_CODE = r"[EWSNX]\d{8}"  # any GSS code: districts, wards...
SHOWN_PER_KIND = 50  # problems listed per field and kind; the rest are counted
ENGLAND_LSOAS = {2011: 32_844, 2021: 33_755}  # the ranks of each IoD run from 1 to these


def _lsoa(year: str) -> str:
    return rf"lsoa_?{year}(?:_?(?:cd|code))?|lsoa_code_20{year}|lsoa_20{year}_code"


def _lsoa_name(year: str) -> str:
    return rf"lsoa_?{year}_?(?:nm|name)|lsoa_name_20{year}|lsoa_20{year}_name"


def _index(long_name: str, short: str, measure: str) -> str:
    return rf"(?:{long_name}_)?{short}_{measure}"


IMD = "index_of_multiple_deprivation"
IDACI = "income_deprivation_affecting_children_index"
PATTERNS = {
    "lsoa11": _lsoa("11"),
    "lsoa21": _lsoa("21"),
    "lsoa11_name": _lsoa_name("11"),
    "lsoa21_name": _lsoa_name("21"),
    "lad_code": r"local_authority_district_code_\d{4}|(?:lad|ltla)\d\d_?(?:cd|code)",
    "lad_name": r"local_authority_district_name_\d{4}|(?:lad|ltla)\d\d_?(?:nm|name)",
    "imd_score": _index(IMD, "imd", "score"),
    "imd_rank": _index(IMD, "imd", "rank"),
    "imd_decile": _index(IMD, "imd", "decile"),
    "idaci_score": _index(IDACI, "idaci", "score(?:_rate)?"),
    "idaci_rank": _index(IDACI, "idaci", "rank"),
    "idaci_decile": _index(IDACI, "idaci", "decile"),
    "children_0_15": r"dependent_children_aged_0_15_mid_(?P<year>\d{4})(?:_excluding_prisoners)?",
    "children_0_17": r"children_0_17|aged?_0_17",
    "change": r"chgind|change_code|change",
    "ward_code": r"(?:wd|ward)(?P<year>\d\d)_?(?:cd|code)",
    "ward_name": r"(?:wd|ward)\d\d_?(?:nm|name)",
    "doterm": r"doterm",
}
POSTCODE_COLUMNS = ("pcds", "pcd8", "pcd7", "pcd", "pcd2", "postcode")  # preferred first
AGES_0_17 = [f"age_{age}" for age in range(18)]


def canonical(name: object) -> str:
    """'\\ufeffIndex of Multiple Deprivation (IMD) Rank (where 1 is most deprived) ' ->
    'index_of_multiple_deprivation_imd_rank'."""
    text = str(name).replace("\ufeff", "").strip().lower()
    text = re.sub(r"\(where 1 is[^)]*\)", " ", text)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def find_columns(header: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Field -> the file's own column name, for every field the header holds (first wins)."""
    names: dict[str, str] = {}
    for raw in header:
        if str(raw).strip():
            names.setdefault(canonical(raw), raw)
    found = {}
    for field_name, pattern in PATTERNS.items():
        match = next((raw for name, raw in names.items() if re.fullmatch(pattern, name)), None)
        if match is not None:
            found[field_name] = match
    postcode = next((names[c] for c in POSTCODE_COLUMNS if c in names), None)
    if postcode is not None:
        found["postcode"] = postcode
    for age in AGES_0_17:
        if age in names:
            found[age] = names[age]
    return found


def lsoa_column(columns: dict[str, str]) -> tuple[str, int] | None:
    """The LSOA code column and its vintage (2011 or 2021); 2021 when a file has both."""
    for field_name, vintage in (("lsoa21", 2021), ("lsoa11", 2011)):
        if field_name in columns:
            return columns[field_name], vintage
    return None


def year_in(pattern: str, raw: str) -> int | None:
    match = re.fullmatch(pattern, canonical(raw))
    return int(match["year"]) if match and match["year"] else None


class NotReferenceFile(UnreadableFile):
    """A readable file laid out as no reference layout: names what was expected."""


@dataclass
class ReferenceRead:
    """One reference file as read: tables of stored columns, ready to import."""

    file: SourceFile
    kind: str  # deprivation, boundaries, lsoa_changes, wards, population, postcodes
    vintage: int | None  # IoD year, LSOA year, ward year or population year (see docs)
    description: str  # what the file holds, in words: "IoD 2019 on LSOA 2011"
    tables: dict[str, pd.DataFrame]
    count: TableCount  # records in the file and records set aside
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_imported(self) -> int:
        return self.count.valid


def source_file(path: Path, kind: str) -> SourceFile:
    return SourceFile(path, sha256_of(path), path.stat().st_size, kind)


def published_numbers(values: pd.Series) -> pd.Series:
    """Numbers as the publishers write them: '29,199', '29199.00', ' 8.742'; else missing."""
    text = values.astype("string").str.strip()
    grouped = text.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?").fillna(False)
    text = text.mask(grouped, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("Float64")


class ReferenceCheck(TableCheck):
    """TableCheck with the parsers reference files need, listing at most SHOWN_PER_KIND
    problems of each kind: a wrong column in a 2.7-million-row directory would list them all."""

    def flag(self, mask, field, expected, *, severity=ERROR, rule="invalid", values=None):
        mask = mask.fillna(False).astype(bool)
        more = int(mask.sum()) - SHOWN_PER_KIND
        if more <= 0:
            super().flag(mask, field, expected, severity=severity, rule=rule, values=values)
            return
        shown = mask & (mask.cumsum() <= SHOWN_PER_KIND)
        super().flag(shown, field, expected, severity=severity, rule=rule, values=values)
        if severity == ERROR:
            self.set_aside |= mask
        self.problems.append(
            Problem(
                file=self.file,
                location=f"{more:,} more rows",
                field=field,
                value=None,
                expected=f"{expected} (the same problem, not listed one by one)",
                severity=severity,
                table=self.table,
                rule=rule,
            )
        )

    def unique(self, keys: pd.DataFrame, field: str, expected: str) -> None:
        """Flag every row of a key found more than once: none of them can be trusted."""
        mask = keys.notna().all(axis=1) & keys.duplicated(keep=False)
        self.flag(mask, field, expected, rule="duplicate")

    def codes(self, column: str, pattern: str, words: str, *, required: bool = True):
        """Codes upper-cased and trimmed; blanks (when required) and other shapes flagged."""
        text = clean_text(self.frame[column])
        if required:
            self.flag(text.isna(), column, words, rule="required")
        bad = text.notna() & ~text.str.fullmatch(pattern).fillna(False)
        self.flag(bad, column, words, rule="code")
        return text.where(~bad)

    def names(self, column: str | None) -> pd.Series:
        if column is None:
            return pd.Series(pd.NA, index=self.frame.index, dtype="string")
        return clean_text(self.frame[column], upper=False)

    def whole(self, column: str, low: int, high: int, words: str = "") -> pd.Series:
        numbers = published_numbers(self.frame[column])
        words = words or f"a whole number from {low:,} to {high:,}"
        bad = numbers.isna() | (numbers % 1 != 0) | (numbers < low) | (numbers > high)
        self.flag(bad & blank(self.frame[column]), column, words, rule="required")
        self.flag(bad & ~blank(self.frame[column]), column, words, rule="code")
        return numbers.where(~bad).round().astype("Int64")

    def number(self, column: str, low: float, high: float, words: str) -> pd.Series:
        numbers = published_numbers(self.frame[column])
        bad = numbers.isna() | (numbers < low) | (numbers > high)
        self.flag(bad & blank(self.frame[column]), column, words, rule="required")
        self.flag(bad & ~blank(self.frame[column]), column, words, rule="code")
        return numbers.where(~bad)
