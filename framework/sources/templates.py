"""Read local-data files (CSV or XLSX) laid out as the templates of ``templates.toml``.

One generic reader serves every template, following the returns' rules:
  * a file is recognised by its header: the template whose required columns are all present
    (names compared ignoring case, spaces and hyphens), the one matching most columns winning;
  * every cell is checked against its column's type, allowed values and range, and every
    cross-column rule of the template; each problem names the file, the row, the child (or
    worker), the field, the value and what was expected;
  * a row with an error is set aside, the rest load; warnings load and are reported;
  * ids are left as found: the loader pseudonymises them with the authority's key.

XLSX workbooks are read from the sheet named ``data`` (the blank templates' sheet), or the
first sheet. They are checked for zip bombs before openpyxl opens them, and openpyxl parses
their XML with defusedxml (entity expansion and external entities refused).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from framework.sources.common import (
    TableCheck,
    blank,
    checked_zip_entries,
    csv_first_row,
    sha256_of,
)
from framework.sources.problems import (
    ERROR,
    WARNING,
    ReadResult,
    SourceFile,
    TableCount,
    UnreadableFile,
)
from framework.sources.template_defs import TEMPLATES, Column, Rule, Template, number_text

DATA_SHEET = "data"
MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024  # bytes: far beyond any real extract
MAX_XLSX_RATIO = 200  # uncompressed / compressed: zip bombs go far higher
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
_SEPARATORS = re.compile(r"[\s\-]+")
_FINANCIAL_YEAR = re.compile(r"^(20\d\d)\s*[-/\u2013\u2014]\s*(\d\d|20\d\d)$")  # en dash too
_THOUSANDS = r"-?\d{1,3}(,\d{3})+(\.\d+)?"
_DATE_TIME = r"^(\S+)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"  # a date with a time of day
TERM_DATES = {"autumn": (0, 11, 1), "spring": (1, 2, 15), "summer": (1, 6, 1)}  # (+year, m, d)


def normalise_name(name: object) -> str:
    """Column names as compared: 'Response Date' and 'response-date' -> 'response_date'."""
    text = "" if name is None else str(name)
    return _SEPARATORS.sub("_", text.strip().lstrip("\ufeff").lower())


# --- recognising a file ------------------------------------------------------------------------


def read_header(path: Path) -> list[str]:
    """The normalised column names of a CSV's first line or an XLSX data sheet's first row."""
    if path.suffix.lower() == ".xlsx":
        rows = _xlsx_rows(path, limit=1)
        return [normalise_name(c) for c in (rows[0] if rows else [])]
    return [normalise_name(c) for c in csv_first_row(path)]


def identify_template(path: Path) -> str | None:
    """The template a file is laid out as, or None. Raises UnreadableFile for a bad XLSX."""
    return best_template(set(read_header(path)))


def _canonical(columns: set[str], template: Template) -> set[str]:
    aliases = template.aliases()
    return {aliases.get(c, c) for c in columns}


def best_template(columns: set[str]) -> str | None:
    candidates = [t for t in TEMPLATES.values() if t.required <= _canonical(columns, t)]
    if not candidates:
        return None
    overlap = {
        t.name: len(_canonical(columns, t) & {c.name for c in t.file_columns}) for t in candidates
    }
    return max(candidates, key=lambda t: (overlap[t.name], len(t.required))).name


def closest_template(columns: set[str]) -> str:
    """For an unrecognised file: the nearest template and what it lacks, in words."""
    if not columns:
        return "no columns found"

    def score(template: Template) -> int:
        return len(columns & {c.name for c in template.file_columns})

    nearest = max(TEMPLATES.values(), key=score)
    if score(nearest) == 0:
        return "no template column found"
    missing = sorted(nearest.required - columns)
    return f"{nearest.title} template, missing column(s) {', '.join(missing)}"


# --- reading cells -----------------------------------------------------------------------------


def _check_xlsx_container(path: Path) -> None:
    checked_zip_entries(
        path,
        name=".xlsx workbook",
        noun="workbook",
        max_bytes=MAX_XLSX_UNCOMPRESSED,
        max_ratio=MAX_XLSX_RATIO,
    )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path, limit: int | None = None) -> list[list[str]]:
    """Rows of the data sheet as text (Excel's own row numbers are kept by position)."""
    import openpyxl  # imported here: only XLSX files need it

    _check_xlsx_container(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for damaged or hostile files
        raise UnreadableFile(path, _workbook_problem("could not be opened", error)) from None
    try:
        named = [n for n in book.sheetnames if n.strip().lower() == DATA_SHEET]
        sheet = book[named[0]] if named else book.worksheets[0]
        rows = []
        # A read-only sheet is parsed as its rows are read: damaged or hostile XML surfaces here.
        try:
            for row in sheet.iter_rows(values_only=True):
                rows.append([_cell_text(v) for v in row])
                if limit is not None and len(rows) >= limit:
                    break
        except Exception as error:
            reason = _workbook_problem("data sheet could not be read", error)
            raise UnreadableFile(path, reason) from None
        return rows
    finally:
        book.close()


def _workbook_problem(what: str, error: Exception) -> str:
    """Why a workbook cannot be read, in words: entity or DTD refusals (defusedxml) said as such."""
    from defusedxml import DefusedXmlException

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            return (
                "the workbook's XML declares a document type or entities, which workbooks never "
                "need and which can be used to attack the reader, so it was refused. Save it "
                "again from Excel."
            )
        cause = cause.__cause__ or cause.__context__
    prefix = "the workbook's " if what.startswith("data sheet") else "the workbook "
    detail = str(error).strip()
    # A short one-line detail helps ("unclosed token: line 2, column 70398"); not one that
    # names a temporary folder or runs over several lines.
    plain = detail and len(detail) <= 200 and not any(c in detail for c in "\n/\\")
    return f"{prefix}{what} ({type(error).__name__}{': ' + detail if plain else ''})"


def _raw_table(path: Path) -> tuple[pd.DataFrame, int]:
    """The file's cells as strings under its own header, and the number of the first data row
    (CSV: 1 is the first row after the header; XLSX: Excel's own row numbers)."""
    if path.suffix.lower() == ".xlsx":
        rows = _xlsx_rows(path)
        if not rows:
            raise UnreadableFile(path, "the workbook's data sheet is empty")
        width = len(rows[0])
        body = [(r + [""] * width)[:width] for r in rows[1:]]
        header = [c or f"unnamed:_{i}" for i, c in enumerate(rows[0])]
        return pd.DataFrame(body, columns=header, dtype="string"), 2
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
            skip_blank_lines=False,  # keep row numbers right; empty rows are dropped below
            index_col=False,  # never take a column as the index: values would shift
        )
    except pd.errors.EmptyDataError:
        raise UnreadableFile(path, "the file is empty") from None
    except UnicodeDecodeError:
        raise UnreadableFile(path, "the file is not UTF-8 text; save it as CSV UTF-8") from None
    except pd.errors.ParserError as error:
        raise UnreadableFile(path, f"the CSV could not be parsed ({error})") from None
    return frame, 1


def _read_table(path: Path, template: Template) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The file as strings under the template's column names, each row's location in words,
    and notes about columns ignored. Empty rows (Excel leaves many) are skipped."""
    frame, first_row = _raw_table(path)
    frame.index = pd.RangeIndex(first_row, len(frame) + first_row)
    names = [normalise_name(c) for c in frame.columns]
    unnamed = [i for i, n in enumerate(names) if not n or n.startswith("unnamed:")]
    notes = []
    if any(not blank(frame.iloc[:, i].astype("string")).all() for i in unnamed):
        notes.append(f"{path.name}: data in column(s) without a name was ignored")
    kept = [i for i in range(len(names)) if i not in unnamed]
    aliases = template.aliases()
    frame = frame.iloc[:, kept]
    frame.columns = [aliases.get(names[i], names[i]) for i in kept]
    repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise UnreadableFile(
            path, f"two columns have the same name once spaces and case are ignored: {repeated}"
        )
    frame = frame.astype("string")
    if not frame.empty:
        empty_cells = pd.DataFrame({c: blank(frame[c]) for c in frame.columns})
        frame = frame[~empty_cells.all(axis=1)]
    return frame, pd.Series([f"row {i}" for i in frame.index], index=frame.index), notes


# --- checking columns --------------------------------------------------------------------------


class TemplateCheck(TableCheck):
    """TableCheck with the parsers the template column types need."""

    def parse(self, column: Column) -> pd.Series:
        parser = getattr(self, f"_parse_{column.type}", None)
        values = self.frame[column.name]
        if column.required:
            self.flag(blank(values), column.name, _expected(column), rule="required")
        if parser is None:  # text and ids: kept as found, trimmed
            return values.str.strip().mask(blank(values), pd.NA)
        return parser(column)

    def _parse_date(self, column: Column) -> pd.Series:
        values = self.frame[column.name].str.strip()
        # A completion time from a survey tool or an Excel date-time cell: keep the date.
        values = values.str.replace(_DATE_TIME, r"\1", regex=True)
        missing = blank(values)
        iso = pd.to_datetime(values.where(~missing), format="%Y-%m-%d", errors="coerce")
        british = pd.to_datetime(
            values.where(~missing & iso.isna()), format="%d/%m/%Y", errors="coerce"
        )
        parsed = iso.fillna(british)
        self.flag(~missing & parsed.isna(), column.name, _expected(column), rule="date")
        earliest = pd.Timestamp(column.earliest)
        implausible = (parsed < earliest) | (parsed > pd.Timestamp(date.today()))
        self.flag(
            implausible,
            column.name,
            f"a date from {earliest:%Y} and not in the future",
            rule="date",
        )
        return parsed.where(~implausible)

    def _parse_year(self, column: Column) -> pd.Series:
        return self._years(column, "a financial year such as 2025-26")

    def _parse_academic_year(self, column: Column) -> pd.Series:
        return self._years(column, "an academic year such as 2025/26")

    def _years(self, column: Column, words: str) -> pd.Series:
        """'2025-26', '2025/26' or '2025-2026' -> 2026 (the end year)."""
        values = self.frame[column.name].str.strip()
        missing = blank(values)
        parts = values.str.extract(_FINANCIAL_YEAR)
        start = pd.to_numeric(parts[0], errors="coerce")
        end = pd.to_numeric(parts[1], errors="coerce")
        end = end.where(end >= 100, end + (start // 100) * 100)
        good = start.notna() & (end == start + 1) & (end <= date.today().year + 1)
        self.flag(~missing & ~good, column.name, words, rule="code")
        return end.where(good).astype("Int64")

    def _numbers(self, column: Column) -> tuple[pd.Series, pd.Series]:
        """Numbers as written, allowing thousands separators ("1,200") but not decimal
        commas ("4,5" is refused rather than read as 45)."""
        values = self.frame[column.name].str.strip()
        missing = blank(values)
        grouped = values.str.fullmatch(_THOUSANDS).fillna(False).astype(bool)
        plain = values.where(~grouped, values.str.replace(",", "", regex=False))
        return pd.to_numeric(plain.where(~missing), errors="coerce"), missing

    def _parse_integer(self, column: Column) -> pd.Series:
        numbers, missing = self._numbers(column)
        low, high = column.minimum, column.maximum
        bad = ~missing & (numbers.isna() | (numbers % 1 != 0) | (numbers < low) | (numbers > high))
        expected = f"a whole number from {number_text(low)} to {number_text(high)}"
        self.flag(bad, column.name, expected, rule="code")
        return numbers.where(~bad).astype("Int64")

    def _parse_number(self, column: Column) -> pd.Series:
        numbers, missing = self._numbers(column)
        bad = ~missing & (numbers.isna() | (numbers < column.minimum) | (numbers > column.maximum))
        low, high = number_text(column.minimum), number_text(column.maximum)
        self.flag(bad, column.name, f"a number from {low} to {high}", rule="code")
        return numbers.where(~bad).astype("Float64")

    def _parse_yes_no(self, column: Column) -> pd.Series:
        values = self.frame[column.name].str.strip().str.lower()
        missing = blank(values)
        parsed = values.map(lambda v: True if v in YES else (False if v in NO else None))
        self.flag(~missing & parsed.isna(), column.name, _expected(column), rule="code")
        return parsed.astype("boolean")

    def _lookup(self, column: Column) -> dict[str, str]:
        """Accepted spellings (value or label, any case) -> the code value."""
        accepted = {}
        for value, label in column.codes:
            accepted[value.lower()] = value
            accepted[label.lower()] = value
        return accepted

    def _parse_code(self, column: Column) -> pd.Series:
        values = self.frame[column.name].str.strip()
        missing = blank(values)
        parsed = values.str.lower().map(self._lookup(column))
        self.flag(~missing & parsed.isna(), column.name, _expected(column), rule="code")
        return parsed.astype("string")

    def _parse_agree5(self, column: Column) -> pd.Series:
        return pd.to_numeric(self._parse_code(column), errors="coerce").astype("Int64")

    def _parse_codes(self, column: Column) -> pd.Series:
        accepted = self._lookup(column)

        def parse(cell: str) -> str | None:
            items = [i.strip().lower() for i in re.split(r"[;|]", cell) if i.strip()]
            found = [accepted.get(i) for i in items]
            if not items or None in found:
                return None
            return ";".join(sorted(set(found), key=column.values.index))

        values = self.frame[column.name]
        missing = blank(values)
        cells = values.fillna("").tolist()
        parsed = pd.Series([parse(c) for c in cells], index=values.index, dtype="object")
        parsed = parsed.where(~missing)
        self.flag(~missing & parsed.isna(), column.name, _expected(column), rule="code")
        return parsed.astype("string")


def _expected(column: Column) -> str:
    if column.type == "date":
        return "a date as YYYY-MM-DD (or DD/MM/YYYY)"
    if column.type == "yes_no":
        return "yes or no"
    if column.type == "agree5":
        return "1 to 5 (1 strongly disagree, 5 strongly agree), or blank if not answered"
    if column.type in ("code", "codes"):
        shown = ", ".join(column.values)
        several = " (one or more, separated by ;)" if column.type == "codes" else ""
        return f"one of {shown}{several}"
    return "a value (this field is required)"


# --- rules across columns ----------------------------------------------------------------------


def _apply_rule(check: TemplateCheck, rule: Rule, parsed: pd.DataFrame) -> None:
    s, severity = rule.settings, ERROR if rule.severity == "error" else WARNING

    def flag(mask: pd.Series, field: str, expected: str, kind: str = "order") -> None:
        check.flag(mask, field, rule.expected or expected, severity=severity, rule=kind)

    if rule.kind == "order":
        earlier, later = parsed[s["earlier"]], parsed[s["later"]]
        flag(
            earlier.notna() & later.notna() & (later < earlier),
            s["later"],
            f"{s['later']} on or after {s['earlier']}",
        )
    elif rule.kind == "at_most":
        value, limit = parsed[s["column"]], parsed[s["limit"]]
        flag(value.notna() & limit.notna() & (value > limit), s["column"], f"at most {s['limit']}")
    elif rule.kind == "sum_at_most":
        total = sum(parsed[p].fillna(0) for p in s["parts"])
        limit = parsed[s["limit"]]
        parts = " + ".join(s["parts"])
        flag(limit.notna() & (total > limit), s["parts"][-1], f"{parts} at most {s['limit']}")
    elif rule.kind == "sum":
        parts = parsed[s["parts"]]
        known = parts.notna().all(axis=1) & parsed[s["total"]].notna()
        wrong = known & (parts.sum(axis=1) != parsed[s["total"]])
        flag(wrong, s["total"], f"{s['total']} = {' + '.join(s['parts'])}", "sum")
    elif rule.kind == "one_of":
        absent = parsed[s["columns"]].isna().all(axis=1)
        flag(absent, s["columns"][0], " or ".join(s["columns"]), "required")
    elif rule.kind == "subset":
        _subset_rule(flag, parsed, s)
    elif rule.kind in ("implies", "requires"):
        _presence_rule(flag, rule, parsed)
    elif rule.kind == "code_in":
        _code_in_rule(flag, parsed, s)
    elif rule.kind == "only_when":
        _only_when_rule(flag, rule, parsed)
    elif rule.kind in ("in_year_or_before", "in_year_or_after"):
        _year_bound_rule(flag, rule, parsed)


def _subset_rule(flag, parsed: pd.DataFrame, s: dict) -> None:
    def outside(inner, outer) -> bool:
        if pd.isna(inner) or pd.isna(outer):
            return False
        return not set(inner.split(";")) <= set(outer.split(";"))

    pairs = zip(parsed[s["column"]], parsed[s["of"]], strict=True)
    mask = pd.Series([outside(a, b) for a, b in pairs], index=parsed.index)
    flag(mask, s["column"], f"codes also listed in {s['of']}", "code")


def _presence_rule(flag, rule: Rule, parsed: pd.DataFrame) -> None:
    s = rule.settings
    column = parsed[s["column"]]
    if rule.kind == "implies":  # a yes in column needs a yes in requires
        given = column.fillna(False).astype(bool)
        required = parsed[s["requires"]].fillna(False).astype(bool)  # blank is not a yes
        flag(given & ~required, s["column"], f"{s['requires']} = yes", "order")
        return
    absent = parsed[s["needs"]].isna().any(axis=1)
    flag(column.notna() & absent, s["column"], f"{', '.join(s['needs'])} given", "required")


def _code_in_rule(flag, parsed: pd.DataFrame, s: dict) -> None:
    """A column whose code list depends on another column (e.g. a survey segment is a staff
    level for staff, a child's group for children). Codes or labels in any case are accepted
    and replaced by the code, as in code columns."""
    column, selector = s["column"], parsed[s["when_column"]]
    lowered = parsed[column].astype("string").str.strip().str.lower()
    bad = pd.Series(False, index=parsed.index)
    for key, codes in s["lists"].items():
        accepted = {v.lower(): v for v, _ in codes} | {label.lower(): v for v, label in codes}
        chosen = (selector == key).fillna(False).astype(bool) & lowered.notna()
        found = lowered[chosen].map(accepted)
        parsed.loc[found.dropna().index, column] = found.dropna()
        bad |= chosen & lowered.map(accepted).isna()
    words = "; ".join(f"{k}: {', '.join(v for v, _ in c)}" for k, c in s["lists"].items())
    flag(bad, column, f"by {s['when_column']}, one of ({words})", "code")


def _only_when_rule(flag, rule: Rule, parsed: pd.DataFrame) -> None:
    """A column that applies only for some values of another (e.g. the support a child gets
    for a mental health need, only when a need was identified)."""
    s = rule.settings
    values = s.get("values", [True])
    when = parsed[s["when_column"]]
    # Unknown when blank or invalid: that mistake is reported on its own column already.
    applies = when.isna() | when.isin(values).fillna(False).astype(bool)
    shown = " or ".join("yes" if v is True else str(v) for v in values)
    flag(
        parsed[s["column"]].notna() & ~applies,
        s["column"],
        f"blank unless {s['when_column']} is {shown}",
        "order",
    )


def _year_bound_rule(flag, rule: Rule, parsed: pd.DataFrame) -> None:
    s = rule.settings
    when, year = pd.to_datetime(parsed[s["column"]]), parsed[s["year"]]
    known = when.notna() & year.notna()
    if rule.kind == "in_year_or_before":
        bound = pd.to_datetime(year.astype("Float64").map(_year_end_text, na_action="ignore"))
        flag(known & (when > bound), s["column"], f"{s['column']} by the end of {s['year']}")
    else:
        bound = pd.to_datetime(year.astype("Float64").map(_year_start_text, na_action="ignore"))
        flag(known & (when < bound), s["column"], f"{s['column']} within or after {s['year']}")


def _year_end_text(end_year: float) -> str:
    return f"{int(end_year)}-03-31"


def _year_start_text(end_year: float) -> str:
    return f"{int(end_year) - 1}-04-01"


# --- derived columns and the whole read --------------------------------------------------------


def _term_dates(parsed: pd.DataFrame) -> pd.Series:
    """The middle of each term: autumn 1 November, spring 15 February, summer 1 June."""
    term = parsed["term"].astype("object")
    offset = term.map({t: v[0] for t, v in TERM_DATES.items()})
    parts = pd.DataFrame(
        {
            "year": parsed["academic_year"].astype("Float64") - 1 + offset.astype("Float64"),
            "month": term.map({t: v[1] for t, v in TERM_DATES.items()}),
            "day": term.map({t: v[2] for t, v in TERM_DATES.items()}),
        },
        index=parsed.index,
    ).astype("float64")
    known = parts.notna().all(axis=1)
    dates = pd.Series(pd.NaT, index=parsed.index, dtype="datetime64[ns]")
    if known.any():
        dates[known] = pd.to_datetime(parts[known].astype("int64"))
    return dates


DERIVED = {"term_date": _term_dates}


def _child_column(template: Template) -> str | None:
    for name in ("child_id", "worker_id", "upn"):
        if name in template.id_columns:
            return name
    return None


def read_template(path: Path, name: str | None = None) -> ReadResult:
    """Read one CSV or XLSX file laid out as template ``name`` (recognised when None)."""
    path = Path(path)
    if name is None:
        header = set(read_header(path))
        name = best_template(header)
        if name is None:
            raise UnreadableFile(path, f"not a template layout ({closest_template(header)})")
    template = TEMPLATES[name]
    frame, locations, notes = _read_table(path, template)
    missing = sorted(template.required - set(frame.columns))
    if missing:
        raise UnreadableFile(path, f"the {template.title} template needs column(s) {missing}")
    for column in template.file_columns:
        if column.name not in frame.columns:
            frame[column.name] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame = frame.astype("string")
    check = TemplateCheck(
        frame,
        file=path.name,
        table=template.name,
        child_column=_child_column(template),
        locations=locations,
        subject="worker" if _child_column(template) == "worker_id" else "child",
    )
    parsed = pd.DataFrame({c.name: check.parse(c) for c in template.file_columns})
    for column in template.columns:
        if column.derived:
            parsed[column.name] = DERIVED[column.name](parsed)
    for rule in template.rules:
        _apply_rule(check, rule, parsed)
    _check_keys(check, template, parsed)
    valid = ~check.set_aside
    kind = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    ignored = sorted(set(frame.columns) - {c.name for c in template.columns})
    if ignored:
        notes.append(f"{path.name}: column(s) not in the template, ignored: {ignored}")
    return ReadResult(
        source=template.name,
        collection_year=None,  # each row is dated by its own column (see templates.toml)
        files=[SourceFile(path, sha256_of(path), path.stat().st_size, f"{template.name}_{kind}")],
        tables={template.name: parsed[valid].reset_index(drop=True)},
        problems=check.problems,
        counts={template.name: TableCount(len(frame), int(check.set_aside.sum()))},
        notes=notes,
    )


def _check_keys(check: TemplateCheck, template: Template, parsed: pd.DataFrame) -> None:
    """A row repeated word for word loads once (a warning); two different rows with one key
    are both set aside, as nobody can tell which is right."""
    known = ~check.set_aside
    whole = parsed.astype("string").fillna("\u2400")
    for column in template.id_columns:  # ids are matched ignoring case, as pseudonyms are
        whole[column] = whole[column].str.strip().str.upper()
    keys = whole[list(template.key)]
    repeated_row = known & whole[known].duplicated(keep="first").reindex(
        whole.index, fill_value=False
    )
    check.flag(
        repeated_row,
        template.key[-1],
        "each row once (this row repeats an earlier one exactly; it is loaded once)",
        severity=WARNING,
        rule="duplicate",
    )
    check.set_aside |= repeated_row  # not loaded twice; the first copy loads
    distinct = known & ~repeated_row
    clash = distinct & keys[distinct].duplicated(keep=False).reindex(keys.index, fill_value=False)
    check.flag(
        clash,
        template.key[-1],
        f"one row per {' and '.join(template.key)} (another row has the same, with "
        "different values)",
        rule="duplicate",
    )


__all__ = ["closest_template", "identify_template", "normalise_name", "read_template"]
