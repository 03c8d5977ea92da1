"""Read the Children's Social Work Workforce (CSWW) XML return into the canonical tables.

The return is one ``Message`` with a ``Header``, one ``LALevelVacancies`` block (the authority's
vacancies and agency workers at 30 September) and a ``CSWWWorker`` per qualified children and
families social worker. Fields follow the 2022 schema (see docs/data/workforce.md).

One streaming pass keeps each worker as plain strings with the line of every element; the rows
are then checked column by column with ``TableCheck``. Every problem names the file, the line of
the element at fault (or of the worker when the element is missing), the worker (SWENo, shown
to the person loading only), the field, the value and what was expected. An error sets the
worker aside; a warning loads it. The worker's full date of birth is never kept: only its year.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from lxml import etree

from framework.codes import codes, describe
from framework.sources.common import TableCheck, blank, end_year_from_name, sha256_of
from framework.sources.problems import (
    ERROR,
    WARNING,
    Problem,
    ReadResult,
    SourceFile,
    TableCount,
    UnreadableFile,
)
from framework.sources.safe_xml import iter_elements, require_root, sniff, text
from framework.store.schema import TABLES

SOURCE = "csww"
FILE_KIND = "csww_xml"
ISO = "%Y-%m-%d"
SWENO_PATTERN = re.compile(r"[A-Za-z]{2}\d{10}")  # the 2022 schema's pattern
MAX_DAYS_LOST = 366
WORKER_BLOCK, VACANCY_BLOCK = "CSWWWorker", "LALevelVacancies"

WORKER_FIELDS = (
    "AgencyWorker",
    "SWENo",
    "FTE",
    "PersonBirthDate",
    "GenderCurrent",
    "Ethnicity",
    "QualInst",
    "QualLevel",
    "StepUpGrad",
    "FrontlineGrad",
    "OrgRole",
    "RoleStartDate",
    "StartOrigin",
    "RoleEndDate",
    "ReasonLeave",
    "LeaverDestination",
    "FTE30",
    "Cases30",
    "WorkingDaysLost",
    "ContractWeeks",
    "Absat30Sept",
    "ReasonAbsence",
    "CFKSSstatus",
)
REPEATABLE = {"QualInst", "QualLevel"}  # a worker may hold several qualifications
VACANCY_FIELDS = ("NumberOfVacancies", "NoAgencyFTE", "NoAgencyHeadcount")
CODED = {  # field -> code list (framework/codes)
    "GenderCurrent": "csww_gender",
    "Ethnicity": "ethnicity",
    "OrgRole": "org_role",
    "StartOrigin": "start_origin",
    "ReasonLeave": "reason_leave",
    "LeaverDestination": "leaver_destination",
    "ReasonAbsence": "reason_absence",
    "CFKSSstatus": "cfkss_status",
}


# --- Public API ---------------------------------------------------------------------------------


def looks_like_csww(path: Path) -> bool:
    """True for a ``Message`` whose header says CSWW, or that holds CSWWWorker/LALevelVacancies.

    Reads only the first few elements; a file that cannot be read safely is not recognised.
    """
    return sniff(path, _sniff)


def _sniff(element: etree._Element) -> bool | None:
    ancestors = [a.tag for a in element.iterancestors()]  # parent first, root last
    if (ancestors[-1] if ancestors else element.tag) != "Message":
        return False
    if element.tag == "Collection" and ancestors[:2] == ["CollectionDetails", "Header"]:
        return (text(element) or "").upper() == "CSWW"
    if element.tag in (WORKER_BLOCK, VACANCY_BLOCK) and ancestors == ["Message"]:
        return True
    return None


def read_csww(path: Path, *, collection_year: int | None = None) -> ReadResult:
    """Read one CSWW XML return: workers and vacancies, every problem, counts and notes.

    Raises UnreadableFile (nothing loads) for an empty, hostile, malformed or foreign file, or
    when the collection year cannot be told.
    """
    path = Path(path)
    require_root(path, "Message", "a CSWW return")
    extracted = _extract(path)
    _require_workforce(path, extracted)
    problems: list[Problem] = []
    notes: list[str] = []
    year = _decide_year(path, extracted.header, collection_year, problems, notes)
    workers, worker_problems, worker_count = _check_workers(path.name, extracted, year)
    vacancies, vacancy_problems, vacancy_count = _check_vacancies(path.name, extracted, year)
    problems += extracted.structure + worker_problems + vacancy_problems
    problems.sort(key=lambda p: int(p.location.split()[-1]))
    return ReadResult(
        source=SOURCE,
        collection_year=year,
        files=[SourceFile(path, sha256_of(path), path.stat().st_size, FILE_KIND)],
        tables={"workforce_workers": workers, "workforce_vacancies": vacancies},
        problems=problems,
        counts={"workforce_workers": worker_count, "workforce_vacancies": vacancy_count},
        notes=notes,
    )


# --- Refusing files that are not a readable CSWW return -----------------------------------------


def _require_workforce(path: Path, extracted: _Extracted) -> None:
    collection = extracted.header.get("Collection", (None, 0))[0]
    if collection and collection.upper() != "CSWW":
        raise UnreadableFile(
            path, f"the header says this is a {collection} return (Collection), not CSWW"
        )
    if not extracted.workers and not extracted.vacancies:
        raise UnreadableFile(
            path, "no <CSWWWorker> or <LALevelVacancies> was found under <Message>: nothing to load"
        )


# --- 1. Streaming extraction ---------------------------------------------------------------------


class _Extracted:
    def __init__(self) -> None:
        self.header: dict[str, tuple[str | None, int]] = {}
        self.header_line = 0
        # Per worker: (line, {field: (text, line)}, [(QualLevel text, line), ...])
        self.workers: list[tuple[int, dict[str, tuple[str | None, int]], list]] = []
        self.vacancies: list[tuple[int, dict[str, tuple[str | None, int]]]] = []
        self.structure: list[Problem] = []  # warnings about the file's shape


def _extract(path: Path) -> _Extracted:
    out = _Extracted()
    unknown: dict[str, list] = {}  # tag -> [first line, worker id, count]
    for element in iter_elements(path, ("Header", VACANCY_BLOCK, WORKER_BLOCK)):
        parent = element.getparent()
        if parent is None or parent.tag != "Message":
            continue  # a block nested somewhere else is not part of the return
        if element.tag == "Header":
            out.header_line = element.sourceline or 1
            for name in ("Collection", "Year", "ReferenceDate"):
                found = element.find(f"CollectionDetails/{name}")
                line = found.sourceline if found is not None else out.header_line
                out.header[name] = (text(found), line)
        elif element.tag == VACANCY_BLOCK:
            out.vacancies.append((element.sourceline, _fields(element, VACANCY_FIELDS, {})))
        else:
            levels = [(text(e), e.sourceline) for e in element.iter("QualLevel")]
            values = _fields(element, WORKER_FIELDS, unknown, out.structure, path.name)
            out.workers.append((element.sourceline, values, levels))
    for tag, (line, worker, count) in unknown.items():
        times = f" ({count} times)" if count > 1 else ""
        out.structure.append(
            Problem(
                file=path.name,
                location=f"line {line}",
                field=tag,
                value=None,
                expected=f"only the CSWW 2022 worker fields; this element was ignored{times}",
                severity=WARNING,
                table=WORKER_BLOCK,
                child=worker,
                subject="worker",
                rule="structure",
            )
        )
    return out


def _fields(element, names, unknown: dict, structure: list | None = None, file: str = "") -> dict:
    values: dict[str, tuple[str | None, int]] = {}
    worker = text(element.find("SWENo"))
    for entry in element:
        tag = entry.tag
        if not isinstance(tag, str):
            continue
        if tag not in names:
            if structure is not None:
                seen = unknown.setdefault(tag, [entry.sourceline, worker, 0])
                seen[2] += 1
            continue
        if tag in values:
            if tag not in REPEATABLE and structure is not None:
                structure.append(
                    Problem(
                        file=file,
                        location=f"line {entry.sourceline}",
                        field=tag,
                        value=text(entry),
                        expected=f"{tag} only once per worker; the first was used",
                        severity=WARNING,
                        table=WORKER_BLOCK,
                        child=worker,
                        subject="worker",
                        rule="structure",
                    )
                )
            continue
        values[tag] = (text(entry), entry.sourceline)
    return values


# --- 2. The collection year ---------------------------------------------------------------------


def _decide_year(
    path: Path,
    header: dict[str, tuple[str | None, int]],
    argument: int | None,
    problems: list[Problem],
    notes: list[str],
) -> int:
    """The header's Year decides; then the year given when loading; then the file name."""
    year_text, year_line = header.get("Year", (None, 0))
    reference_text, reference_line = header.get("ReferenceDate", (None, 0))
    stated = int(year_text) if year_text and re.fullmatch(r"\d{4}", year_text) else None
    if year_text and stated is None:
        problems.append(_header_problem(path.name, year_line, "Year", year_text, "a year"))
    if stated is not None:
        expected_reference = f"{stated}-09-30"
        if reference_text and reference_text != expected_reference:
            problems.append(
                _header_problem(
                    path.name,
                    reference_line,
                    "ReferenceDate",
                    reference_text,
                    f"{expected_reference}, 30 September of the header's Year {stated} "
                    "(the Year was used)",
                )
            )
        if argument is not None and argument != stated:
            problems.append(
                _header_problem(
                    path.name,
                    year_line,
                    "Year",
                    year_text,
                    f"the year given when loading ({argument}); the header's Year was used",
                )
            )
        notes.append(f"CSWW {stated} (reference date 30 September {stated}) from the header.")
        return stated
    if argument is not None:
        notes.append(f"CSWW {argument} (reference date 30 September) as given when loading.")
        return argument
    from_name = end_year_from_name(path.name)
    if from_name is None:
        raise UnreadableFile(
            path,
            "the collection year cannot be told: the header has no Year and the file name no "
            "year. Load it again giving the year (e.g. --year 2024 for the return at 30 "
            "September 2024).",
        )
    notes.append(
        f"CSWW {from_name} (reference date 30 September) from the file name: the header has "
        "no Year."
    )
    return from_name


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


# --- 3. Checking workers -------------------------------------------------------------------------


class _BlockCheck(TableCheck):
    """TableCheck whose problems point at the line of the field, else of the block."""

    def __init__(self, frame, lines: pd.DataFrame, block_lines: pd.Series, **options):
        super().__init__(frame, locations=block_lines.map(lambda n: f"line {n}"), **options)
        self._lines = lines
        self._block_lines = block_lines

    def flag(self, mask, field, expected, **options) -> None:
        if field in self._lines:
            lines = self._lines[field].where(self._lines[field] > 0, self._block_lines)
        else:
            lines = self._block_lines
        self.locations = lines.map(lambda n: f"line {n}")
        super().flag(mask, field, expected, **options)

    def number(
        self, column: str, *, high: float | None = None, whole: bool = False, decimals=None
    ) -> pd.Series:
        """A number >= 0 (and <= high); errors for anything else. Returns floats."""
        values = self.frame[column]
        missing = blank(values)
        numbers = pd.to_numeric(values.where(~missing), errors="coerce")
        if whole:
            expected = "a whole number, 0 or more"
        elif high is not None:
            expected = f"a number from 0 to {high:g}"
        else:
            expected = "a number, 0 or more"
        bad = ~missing & (numbers.isna() | (numbers < 0) | ((numbers % 1 != 0) if whole else False))
        if high is not None:
            bad |= numbers > high
        self.flag(bad, column, expected, rule="number")
        if decimals is not None:
            places = values.astype("string").str.strip().str.extract(r"\.(\d+)$")[0].str.len()
            self.flag(
                ~bad & (places > decimals).fillna(False),
                column,
                f"at most {decimals} decimal places (the value was loaded as given)",
                severity=WARNING,
                rule="number",
            )
        return numbers.where(~bad)

    def iso_date(self, column: str) -> pd.Series:
        values = self.frame[column]
        missing = blank(values)
        parsed = pd.to_datetime(values.where(~missing), format=ISO, errors="coerce")
        self.flag(~missing & parsed.isna(), column, "a real date as YYYY-MM-DD", rule="date")
        return parsed


def _check_workers(file: str, extracted: _Extracted, year: int):
    rows = extracted.workers
    index = pd.RangeIndex(len(rows))
    frame = pd.DataFrame(
        {
            f: pd.Series([r[1].get(f, (None, 0))[0] for r in rows], dtype="string")
            for f in WORKER_FIELDS
        },
        index=index,
    )
    lines = pd.DataFrame(
        {f: [r[1].get(f, (None, 0))[1] for r in rows] for f in WORKER_FIELDS}, index=index
    )
    block_lines = pd.Series([r[0] for r in rows], index=index, dtype="int64")
    check = _BlockCheck(
        frame,
        lines,
        block_lines,
        file=file,
        table=WORKER_BLOCK,
        child_column="SWENo",
        subject="worker",
    )
    reference = pd.Timestamp(year, 9, 30)
    after_reference = f"a date on or before the reference date {reference:%d/%m/%Y}"

    # The worker's identifier: required and unique; the 2022 pattern is only a warning.
    sweno = frame["SWENo"].str.strip()
    check.required("SWENo", "the worker's Social Work England number (SWENo)")
    check.flag(
        ~blank(sweno) & ~sweno.str.fullmatch(SWENO_PATTERN.pattern).fillna(False),
        "SWENo",
        "2 letters and 10 digits, as the 2022 schema sets out (the worker was loaded)",
        severity=WARNING,
        rule="pattern",
    )
    key = sweno.str.upper()
    check.flag(
        key.notna() & key.duplicated(keep=False),
        "SWENo",
        "each worker once (this SWENo appears more than once: every copy was set aside)",
        rule="duplicate",
    )

    agency = check.boolean("AgencyWorker", required=True)
    step_up = check.boolean("StepUpGrad")
    frontline = check.boolean("FrontlineGrad")
    absent = check.boolean("Absat30Sept")
    fte = check.number("FTE", high=1, decimals=6)
    fte30 = check.number("FTE30", high=1, decimals=6)
    cases = check.number("Cases30", whole=True)
    days_lost = check.number("WorkingDaysLost")
    check.flag(
        days_lost > MAX_DAYS_LOST,
        "WorkingDaysLost",
        f"at most {MAX_DAYS_LOST} days in a year",
        severity=WARNING,
        rule="number",
    )
    contract_weeks = check.number("ContractWeeks")

    codes_out = {}
    for column, code_list in CODED.items():
        values = frame[column].str.strip()
        if column in ("Ethnicity", "ReasonAbsence"):
            values = values.str.upper()
        check.frame[column] = values
        check.code(column, codes(code_list), describe(code_list, limit=30))
        codes_out[column] = values.mask(blank(values), pd.NA)
    qualification = _qualification(check, rows, file)

    birth = check.iso_date("PersonBirthDate")
    check.flag(
        birth > reference,
        "PersonBirthDate",
        f"a date of birth before the reference date {reference:%d/%m/%Y}",
        rule="date",
    )
    age = reference.year - birth.dt.year
    check.flag(
        (birth <= reference) & ((age < 18) | (age > 90)),
        "PersonBirthDate",
        "a worker aged 18 to 90 at the reference date",
        severity=WARNING,
        rule="date",
    )
    start = check.iso_date("RoleStartDate")
    end = check.iso_date("RoleEndDate")
    for column, parsed in (("RoleStartDate", start), ("RoleEndDate", end)):
        check.flag(parsed > reference, column, after_reference, severity=WARNING, rule="date")
    check.order(start, end, "RoleEndDate", "an end date (RoleEndDate) on or after RoleStartDate")
    no_end = blank(frame["RoleEndDate"])
    for column in ("ReasonLeave", "LeaverDestination"):
        check.flag(
            no_end & ~blank(frame[column]),
            column,
            f"{column} only for a leaver (there is no RoleEndDate)",
            severity=WARNING,
            rule="consistency",
        )
    check.flag(
        ~blank(frame["ReasonAbsence"]) & ~absent.fillna(False).astype(bool),
        "ReasonAbsence",
        "a reason for absence only when Absat30Sept is 1",
        severity=WARNING,
        rule="consistency",
    )

    valid = ~check.set_aside
    table = pd.DataFrame(
        {
            "worker_id": sweno,
            "year": pd.Series(year, index=index, dtype="Int64"),
            "agency_worker": agency,
            "fte": fte,
            "birth_year": birth.dt.year.astype("Int64"),
            "gender": codes_out["GenderCurrent"],
            "ethnicity": codes_out["Ethnicity"],
            "qualification_level": qualification,
            "step_up_graduate": step_up,
            "frontline_graduate": frontline,
            "org_role": codes_out["OrgRole"],
            "role_start_date": start,
            "start_origin": codes_out["StartOrigin"],
            "role_end_date": end,
            "reason_leave": codes_out["ReasonLeave"],
            "leaver_destination": codes_out["LeaverDestination"],
            "fte_30_september": fte30,
            "cases_30_september": cases.astype("Int64"),
            "working_days_lost": days_lost,
            "contract_weeks": contract_weeks,
            "absent_30_september": absent,
            "reason_absence": codes_out["ReasonAbsence"],
            "cfkss_status": codes_out["CFKSSstatus"],
        },
        index=index,
    )
    table = table[valid].reset_index(drop=True)[TABLES["workforce_workers"].reader_columns]
    return table, check.problems, TableCount(len(rows), int(check.set_aside.sum()))


def _qualification(check: _BlockCheck, rows: list, file: str) -> pd.Series:
    """The highest valid QualLevel of each worker; an invalid one sets the worker aside."""
    valid_levels = codes("qualification_level")
    expected = describe("qualification_level")
    best: list[str | None] = []
    for position, (_line, values, levels) in enumerate(rows):
        worker = (values.get("SWENo") or (None, 0))[0]
        good = []
        for value, line in levels:
            if value in valid_levels:
                good.append(value)
            elif value is not None:
                check.problems.append(
                    Problem(
                        file=file,
                        location=f"line {line}",
                        field="QualLevel",
                        value=value,
                        expected=expected,
                        table=WORKER_BLOCK,
                        child=worker,
                        subject="worker",
                        rule="code",
                    )
                )
                check.set_aside.iloc[position] = True
        best.append(max(good, key=int) if good else None)
    return pd.Series(best, index=check.frame.index, dtype="string")


# --- 4. Checking the vacancies block --------------------------------------------------------------


def _check_vacancies(file: str, extracted: _Extracted, year: int):
    columns = TABLES["workforce_vacancies"].reader_columns
    problems: list[Problem] = []
    blocks = extracted.vacancies
    if not blocks:
        problems.append(
            Problem(
                file=file,
                location=f"line {extracted.header_line or 1}",
                field=VACANCY_BLOCK,
                value=None,
                expected="one LALevelVacancies block (vacancies and agency workers); none "
                "was found, so no vacancy figures were loaded",
                severity=WARNING,
                table=VACANCY_BLOCK,
                rule="required",
            )
        )
        return pd.DataFrame(columns=columns), problems, TableCount(0, 0)
    for line, _values in blocks[1:]:
        problems.append(
            Problem(
                file=file,
                location=f"line {line}",
                field=VACANCY_BLOCK,
                value=None,
                expected="one LALevelVacancies block; this extra one was ignored",
                severity=WARNING,
                table=VACANCY_BLOCK,
                rule="duplicate",
            )
        )
    line, values = blocks[0]
    frame = pd.DataFrame(
        {f: pd.Series([values.get(f, (None, 0))[0]], dtype="string") for f in VACANCY_FIELDS}
    )
    lines = pd.DataFrame({f: [values.get(f, (None, 0))[1]] for f in VACANCY_FIELDS})
    check = _BlockCheck(
        frame,
        lines,
        pd.Series([line], dtype="int64"),
        file=file,
        table=VACANCY_BLOCK,
        child_column=None,
    )
    vacancies = check.number("NumberOfVacancies", decimals=2)
    agency_fte = check.number("NoAgencyFTE", decimals=2)
    headcount = check.number("NoAgencyHeadcount", whole=True)
    table = pd.DataFrame(
        {
            "year": pd.Series([year], dtype="Int64"),
            "vacancies_fte": vacancies,
            "agency_fte": agency_fte,
            "agency_headcount": headcount.astype("Int64"),
        }
    )[columns]
    table = table[~check.set_aside].reset_index(drop=True)
    problems += check.problems
    return table, problems, TableCount(1, int(check.set_aside.sum()))


__all__ = ["ERROR", "WARNING", "looks_like_csww", "read_csww"]
