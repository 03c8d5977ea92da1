"""The template definitions (templates.toml): consistency, names, recognition, coverage of the
spec's survey indicators, the committed docs and blank files, and property tests of the reader
on rows built from the definitions.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.sources import template_docs
from framework.sources.template_defs import (
    DEFINITIONS,
    TEMPLATES,
    Template,
    TemplateDefinitionError,
    load_templates,
)
from framework.sources.templates import identify_template, read_template

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO.parent / "shared" / "spec" / "outcomes-framework.md"
DOCS = REPO / "docs" / "data" / "templates"
BLANKS = REPO / "templates"
TODAY = date.today()


# --- the definitions load and are checked -------------------------------------------------------


def test_the_definitions_load_with_21_templates():
    templates = load_templates(DEFINITIONS)
    assert len(templates) == 21
    assert list(templates) == list(TEMPLATES)
    for template in templates.values():
        assert template.name == template.name.lower()
        assert template.dated_by in {c.name for c in template.columns}
        assert set(template.key) <= {c.name for c in template.columns}


MINIMAL = """
[codes]
kinds = [["a", "Kind A"], ["b", "Kind B"]]

[[template]]
name = "tiny"
title = "Tiny"
unit = "thing"
description = "A tiny template."
dated_by = "when"
replaces = "periods"
key = ["ref"]

[[template.column]]
name = "ref"
type = "text"
required = true
meaning = "Reference."

[[template.column]]
name = "when"
type = "date"
required = true
meaning = "Date."

[[template.column]]
name = "ended"
type = "date"
meaning = "End date."

[[template.column]]
name = "kind"
type = "code"
codes = "@kinds"
meaning = "Kind."

[[template.column]]
name = "score"
type = "integer"
min = 0
max = 10
meaning = "Score."

[[template.column]]
name = "child_id"
type = "child_id"
meaning = "Child."

[[template.rule]]
kind = "order"
earlier = "when"
later = "ended"
"""


def load_text(tmp_path: Path, text: str) -> dict[str, Template]:
    path = tmp_path / "templates.toml"
    path.write_text(text, encoding="utf-8")
    return load_templates(path)


def test_a_minimal_definition_loads(tmp_path):
    (tiny,) = load_text(tmp_path, MINIMAL).values()
    assert [c.name for c in tiny.columns] == ["ref", "when", "ended", "kind", "score", "child_id"]
    assert tiny.column("kind").codes == (("a", "Kind A"), ("b", "Kind B"))
    assert tiny.id_columns == ("child_id",)
    assert tiny.required == {"ref", "when"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('type = "date"\nrequired', 'type = "datetime"\nrequired', "unknown type 'datetime'"),
        ('later = "ended"', 'later = "finished"', "unknown column 'finished'"),
        ('name = "kind"', 'name = "ref"', "a column name is repeated"),
        ('name = "child_id"', 'name = "pupil_id"', "pupil_id: an id column must be named child_id"),
        ('codes = "@kinds"\n', "", "kind: a code column needs codes"),
        ('codes = "@kinds"', 'codes = "@sorts"', "unknown shared code list '@sorts'"),
        ("min = 0\n", "", "score: a number column needs min and max"),
        ('dated_by = "when"', 'dated_by = "kind"', "dated_by must be a date"),
        ('dated_by = "when"', 'dated_by = "then"', "unknown column 'then'"),
        ('key = ["ref"]', 'key = ["reference"]', "unknown column 'reference'"),
        ('replaces = "periods"', 'replaces = "rows"', "replaces must be periods or keys"),
        ('kind = "order"', 'kind = "before"', "unknown rule kind 'before'"),
        ('later = "ended"', 'later = "ended"\nseverity = "fatal"', "rule severity 'fatal'"),
        ('meaning = "Score."', 'meaning = "  "', "score: no meaning"),
    ],
)
def test_a_broken_definition_is_refused(tmp_path, old, new, message):
    assert MINIMAL.count(old) == 1
    with pytest.raises(TemplateDefinitionError, match=re.escape(message)):
        load_text(tmp_path, MINIMAL.replace(old, new))


def test_a_template_defined_twice_is_refused(tmp_path):
    twice = MINIMAL + MINIMAL[MINIMAL.index("[[template]]") :]
    with pytest.raises(TemplateDefinitionError, match="template tiny is defined twice"):
        load_text(tmp_path, twice)


def test_no_column_or_table_name_is_a_reserved_duckdb_keyword():
    con = duckdb.connect()
    try:
        reserved = {
            name
            for (name,) in con.execute(
                "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
            ).fetchall()
        }
    finally:
        con.close()
    assert {"select", "order", "group", "end"} <= reserved  # the query works
    names = {t.name for t in TEMPLATES.values()} | {
        c.name for t in TEMPLATES.values() for c in t.columns
    }
    assert sorted(names & reserved) == []


def test_codes_are_unambiguous_and_free_of_separators():
    """A code's value or label (any case) names one code; no code text holds ; | or #."""
    for template in TEMPLATES.values():
        for column in template.columns:
            if not column.codes:
                continue
            spellings: dict[str, str] = {}
            for value, label in column.codes:
                for text in (value.lower(), label.lower()):
                    assert spellings.setdefault(text, value) == value, (template.name, text)
                    assert not set(text) & set(";|#"), (template.name, column.name, text)


def test_column_names_are_already_normalised():
    """Header names are compared lower-cased with _ for spaces and hyphens: names must be so."""
    for template in TEMPLATES.values():
        for column in template.columns:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", column.name), column.name
            for alias in column.aliases:
                assert re.fullmatch(r"[a-z][a-z0-9_]*", alias), alias


# --- no two templates can be confused -----------------------------------------------------------


def header_file(folder: Path, columns: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "header.csv"
    path.write_text(",".join(columns) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_a_header_of_exactly_the_file_columns_is_that_template(tmp_path, name):
    columns = [c.name for c in TEMPLATES[name].file_columns]
    assert identify_template(header_file(tmp_path, columns)) == name


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_a_header_of_only_the_required_columns_is_that_template(tmp_path, name):
    columns = sorted(TEMPLATES[name].required)
    assert identify_template(header_file(tmp_path, columns)) == name


def test_the_blank_csv_of_every_template_is_recognised():
    for name in TEMPLATES:
        assert identify_template(BLANKS / f"{name}.csv") == name


# --- the spec's survey indicators are all served ------------------------------------------------


@pytest.fixture
def spec_rows() -> dict[str, str]:
    """The spec's indicator tables: id -> source column ('unit / source' or 'source')."""
    if not SPEC.is_file():
        pytest.skip("../shared/spec/outcomes-framework.md is not available")
    rows = {}
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| ([A-D]\d+\.\d+) \|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = match.group(2).split("|")[-1].strip()
    return rows


SURVEYS = {"staff survey": "staff_survey", "child survey": "child_survey"}
SURVEYS["parent survey"] = "parent_survey"


def test_the_spec_table_was_parsed(spec_rows):
    assert spec_rows["A1.1"] == "staff survey"
    assert spec_rows["A4.4"] == "staff survey, multi-choice"
    assert spec_rows["D9.3"] == "parent survey (two items)"
    assert len([i for i in spec_rows if i.startswith("A")]) == 36  # A1.1 to A9.3


@pytest.mark.parametrize("words", list(SURVEYS))
def test_every_survey_indicator_of_the_spec_has_a_survey_column(spec_rows, words):
    template = TEMPLATES[SURVEYS[words]]
    domains = ("A",) if words == "staff survey" else ("C", "D")
    wanted = {i for i, source in spec_rows.items() if words in source and i[0] in domains}
    served = {i for c in template.columns for i in c.indicators}
    assert wanted, words
    assert sorted(wanted - served) == []
    # and the survey's columns claim no indicator the spec gives to another source
    assert sorted(served - wanted) == []


def test_the_staff_survey_serves_the_expected_indicators(spec_rows):
    """Worked out by hand from the spec's domain A table."""
    expected = {
        "A1.1", "A1.2", "A1.3", "A2.3", "A3.1", "A3.2", "A3.3", "A4.3", "A4.4", "A5.1",
        "A5.2", "A5.3", "A5.4", "A6.1", "A6.2", "A6.3", "A6.4", "A6.5", "A6.6", "A8.1",
        "A8.2", "A8.3", "A8.4", "A8.5", "A9.1", "A9.2", "A9.3",
    }  # fmt: skip
    assert {i for i, s in spec_rows.items() if "staff survey" in s} == expected
    assert set(TEMPLATES["staff_survey"].indicators) == expected


# --- the committed docs and blank files are up to date ------------------------------------------


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("generated")
    docs, blanks = root / "docs", root / "templates"
    template_docs.write_all(docs, blanks)
    return docs, blanks


def test_the_dictionary_pages_are_up_to_date(regenerated):
    docs, _ = regenerated
    assert sorted(p.name for p in DOCS.iterdir()) == sorted(p.name for p in docs.iterdir())
    for page in docs.iterdir():
        assert (DOCS / page.name).read_bytes() == page.read_bytes(), page.name


def test_the_blank_csv_files_are_up_to_date(regenerated):
    _, blanks = regenerated
    assert sorted(p.name for p in BLANKS.iterdir()) == sorted(p.name for p in blanks.iterdir())
    for blank in blanks.glob("*.csv"):
        assert (BLANKS / blank.name).read_bytes() == blank.read_bytes(), blank.name


def workbook_content(path: Path) -> dict:
    book = openpyxl.load_workbook(path)
    content = {}
    for sheet in book.worksheets:
        checks = sorted(
            (v.type, v.formula1, str(v.sqref), v.allow_blank, v.error)
            for v in sheet.data_validations.dataValidation
        )
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        content[sheet.title] = {"rows": rows, "checks": checks, "freeze": sheet.freeze_panes}
    return content


def test_the_blank_workbooks_are_up_to_date(regenerated):
    _, blanks = regenerated
    workbooks = sorted(blanks.glob("*.xlsx"))
    assert len(workbooks) == 11
    for workbook in workbooks:
        assert workbook_content(BLANKS / workbook.name) == workbook_content(workbook), workbook
    complaints = workbook_content(BLANKS / "complaints.xlsx")
    assert list(complaints) == ["data", "dictionary"]
    assert complaints["data"]["rows"] == [
        ["complaint_id", "received_date", "complainant", "stage", "outcome", "repeat", "child_id"]
    ]
    assert ("list", '"child,parent_carer,other"', "C2:C2000", True) in [
        check[:4] for check in complaints["data"]["checks"]
    ]


# --- property tests: rows built from the definitions --------------------------------------------

YES_WORDS, NO_WORDS = ("yes", "y", "true", "1"), ("no", "n", "false", "0")  # as documented
TERM_MIDDLES = {"autumn": (-1, 11, 1), "spring": (0, 2, 15), "summer": (0, 6, 1)}
SPELLINGS = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=15
).filter(lambda s: s == s.strip() and s != "")


def typed(column) -> st.SearchStrategy:
    """A valid value of a column, as the Python value the reader should give back."""
    kind = column.type
    if kind == "text":
        return TEXT
    if kind in ("child_id", "worker_id", "upn"):
        return st.from_regex(r"[A-Z]{2,3}[0-9]{6,10}", fullmatch=True)
    if kind == "date":
        return st.dates(min_value=date(1980, 1, 1), max_value=TODAY)
    if kind in ("year", "academic_year"):
        return st.integers(min_value=2001, max_value=TODAY.year + 1)
    if kind == "integer":
        return st.integers(min_value=int(column.minimum), max_value=int(column.maximum))
    if kind == "number":
        low, high = round(column.minimum * 100), round(column.maximum * 100)
        return st.integers(min_value=low, max_value=high).map(lambda n: n / 100)
    if kind == "yes_no":
        return st.booleans()
    if kind == "agree5":
        return st.integers(min_value=1, max_value=5)
    if kind == "code":
        return st.sampled_from(column.values)
    if kind == "codes":
        return st.lists(st.sampled_from(column.values), min_size=1, max_size=4, unique=True)
    raise AssertionError(kind)


def render(data, column, value) -> str:
    """The value as a person might write it in a CSV cell."""
    if value is None:
        return data.draw(st.sampled_from(["", " "]))
    kind = column.type
    labels = dict(column.codes)
    if kind == "date":
        pattern = data.draw(st.sampled_from(["%Y-%m-%d", "%d/%m/%Y"]))
        return value.strftime(pattern)
    if kind in ("year", "academic_year"):
        form = data.draw(st.sampled_from(["{}-{:02d}", "{}/{:02d}", "{}-{}"]))
        return form.format(value - 1, value % 100 if "{:02d}" in form else value)
    if kind in ("integer",):
        return str(value)
    if kind == "number":
        return data.draw(st.sampled_from([f"{value:.2f}", repr(value)]))
    if kind == "yes_no":
        word = data.draw(st.sampled_from(YES_WORDS if value else NO_WORDS))
        return data.draw(SPELLINGS)(word)
    if kind in ("code", "agree5"):
        code = str(value)
        text = data.draw(st.sampled_from([code, labels[code]]))
        return data.draw(SPELLINGS)(text)
    if kind == "codes":
        items = [data.draw(SPELLINGS)(data.draw(st.sampled_from([v, labels[v]]))) for v in value]
        return data.draw(st.sampled_from([";", "; ", " ;", "|"])).join(items)
    return value


def expected_value(column, value):
    if value is None:
        return None
    if column.type == "codes":
        return ";".join(v for v in column.values if v in value)  # the list's own order
    return value


def satisfy_rules(data, template: Template, row: dict) -> None:
    """Adjust typed values so every cross-column rule holds (kinds in a safe order)."""
    order = [
        "order",
        "in_year_or_before",
        "in_year_or_after",
        "at_most",
        "sum_at_most",
        "sum",
        "one_of",
        "subset",
        "implies",
        "requires",
        "code_in",
        "only_when",
    ]
    for kind in order:
        for rule in (r for r in template.rules if r.kind == kind):
            s = rule.settings
            if kind == "order":
                a, b = row[s["earlier"]], row[s["later"]]
                if a is not None and b is not None and b < a:
                    row[s["earlier"]], row[s["later"]] = b, a
            elif kind == "in_year_or_before":
                when, year = row[s["column"]], row[s["year"]]
                if when is not None and when > date(year, 3, 31):
                    row[s["column"]] = date(year, 3, 31)
            elif kind == "in_year_or_after":
                when, year = row[s["column"]], row[s["year"]]
                if when is not None and when < date(year - 1, 4, 1):
                    start = date(year - 1, 4, 1)
                    row[s["column"]] = start if start <= TODAY else None
            elif kind == "at_most":
                value, limit = row[s["column"]], row[s["limit"]]
                if value is not None and limit is not None and value > limit:
                    row[s["column"]] = limit
            elif kind == "sum_at_most":
                left = row[s["limit"]]
                if left is not None:
                    for part in s["parts"]:
                        if row[part] is not None:
                            row[part] = min(row[part], left)
                            left -= row[part]
            elif kind == "sum":
                parts = [row[p] for p in s["parts"]]
                if row[s["total"]] is not None and None not in parts:
                    row[s["total"]] = sum(parts)
            elif kind == "one_of":
                if all(row[c] is None for c in s["columns"]):
                    row[s["columns"][0]] = "DMT0000001"
            elif kind == "subset":
                inner, outer = row[s["column"]], row[s["of"]]
                if inner is not None and outer is not None:
                    row[s["column"]] = [v for v in inner if v in outer] or None
            elif kind == "implies":
                if row[s["column"]] is True:
                    row[s["requires"]] = True
            elif kind == "requires":
                if row[s["column"]] is not None and any(row[n] is None for n in s["needs"]):
                    row[s["column"]] = None
            elif kind == "code_in":
                allowed = [v for v, _ in s["lists"][row[s["when_column"]]]]
                row[s["column"]] = data.draw(st.sampled_from(allowed))
            elif kind == "only_when":
                when = row[s["when_column"]]
                if when is not None and when not in s.get("values", [True]):
                    row[s["column"]] = None


def valid_rows(data, template: Template) -> list[dict]:
    """One or two valid rows with distinct keys, as typed values."""
    rows, keys = [], set()
    for _ in range(data.draw(st.integers(min_value=1, max_value=2))):
        row = {}
        for column in template.file_columns:
            value = typed(column)
            row[column.name] = data.draw(value if column.required else st.none() | value)
        satisfy_rules(data, template, row)
        key = tuple(repr(row[k]) for k in template.key)
        if key not in keys:
            keys.add(key)
            rows.append(row)
    return rows


def header_name(data, template: Template, name: str) -> str:
    aliases = [a for c in template.file_columns if c.name == name for a in c.aliases]
    choice = data.draw(st.sampled_from([name, *aliases]))
    style = data.draw(
        st.sampled_from([lambda s: s, str.upper, lambda s: s.replace("_", " ").title()])
    )
    return style(choice)


def write_csv(data, template: Template, cells: list[dict], folder: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [c.name for c in template.file_columns]
    writer.writerow([header_name(data, template, n) for n in names])
    for cell in cells:
        writer.writerow([cell[n] for n in names])
    path = Path(folder) / f"{template.name}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def as_plain(value):
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if hasattr(value, "item") else value


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(name=st.sampled_from(sorted(TEMPLATES)), data=st.data())
def test_valid_rows_read_without_problems_and_round_trip(name, data):
    template = TEMPLATES[name]
    rows = valid_rows(data, template)
    cells = [{c.name: render(data, c, row[c.name]) for c in template.file_columns} for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        result = read_template(write_csv(data, template, cells, folder), name)
    assert result.problems == []
    table = result.tables[name]
    assert len(table) == len(rows)
    for got, row in zip(table.astype(object).to_dict("records"), rows, strict=True):
        for column in template.file_columns:
            assert as_plain(got[column.name]) == expected_value(column, row[column.name]), (
                column.name
            )
        if "term_date" in got:  # derived: the middle of the term
            offset, month, day = TERM_MIDDLES[row["term"]]
            assert as_plain(got["term_date"]) == date(row["academic_year"] + offset, month, day)


CHECKED = {"date", "year", "academic_year", "integer", "number", "yes_no", "agree5", "code"}
CHECKED.add("codes")
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@PROPERTY
@given(name=st.sampled_from(sorted(TEMPLATES)), data=st.data())
def test_a_corrupted_cell_never_crashes_the_reader_and_is_named(name, data):
    template = TEMPLATES[name]
    rows = valid_rows(data, template)
    cells = [{c.name: render(data, c, row[c.name]) for c in template.file_columns} for row in rows]
    which = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = data.draw(st.sampled_from(template.file_columns))
    checked = column.type in CHECKED
    if checked and data.draw(st.booleans()):
        # '#' is in no valid value of a checked column: the cell is certainly wrong
        value = data.draw(st.tuples(ANY_TEXT, ANY_TEXT).map(lambda t: f"{t[0]}#{t[1]}"))
    else:
        value = data.draw(ANY_TEXT)
    cells[which][column.name] = value
    with tempfile.TemporaryDirectory() as folder:
        result = read_template(write_csv(data, template, cells, folder), name)  # never raises
    if checked and "#" in value:
        named = {(p.location, p.field) for p in result.problems if p.severity == "error"}
        assert (f"row {which + 1}", column.name) in named
        assert len(result.tables[name]) == len(rows) - 1
