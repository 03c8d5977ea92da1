"""The catalogue as data: the loader's checks on small broken files, and the real catalogue."""

from __future__ import annotations

import ast
import csv
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from framework.engine.catalogue import (
    CATALOGUE_PATH,
    POLARITIES,
    SPEC_IDS,
    Catalogue,
    CatalogueError,
    base_id,
    catalogue,
    check_functions,
    function_name,
    id_sort_key,
    load_catalogue,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEC = SHARED / "spec" / "outcomes-framework.md"
DFE_METRICS = SHARED / "reference" / "csc_la_stats" / "dfe_national_framework_dashboard_metrics.csv"
SEED_002 = (
    next(iter(sorted((SHARED / "seeds").glob("002_*.txt"))), None) if SHARED.is_dir() else None
)
TEMPLATES = Path(__file__).resolve().parents[1] / "framework" / "sources" / "templates.toml"

# --- a small valid catalogue, and broken versions of it ------------------------------------------

HEAD = """
[domains.A]
title = "Right conditions"
question = "Do leaders create the conditions?"
[domains.B]
title = "Reaching children"
question = "Do services reach the right children?"
[domains.C]
title = "Valued and involved"
question = "Do children trust staff?"
[domains.D]
title = "Child outcomes"
question = "Are children safe?"

[caveats]
survey = "Read with the response rate."
"""


def indicator(ident: str, **fields) -> str:
    """One [[indicator]] table; ``fields`` override or (with None) remove the defaults."""
    letter = ident[0]
    values = {
        "id": ident,
        "domain": letter,
        "outcome": "Some outcome",
        "label": "A label",
        "definition": "Referrals in the year that did X, out of all referrals in the year.",
        "unit": "referral",
        "cohort": "referrals in the year",
        "kind": "snapshot",
        "availability": "national",
        "polarity": "none",
        "statistic": "proportion",
        "sources": ["referrals"],
        "related": [],
        "crosswalks": [],
        "caveats": [],
        "function": f"domain_{letter.lower()}.{function_name(ident)}",
    }
    values.update(fields)
    lines = ["[[indicator]]"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr_toml(v) for v in value)}]")
        else:
            lines.append(f"{key} = {repr_toml(value)}")
    return "\n".join(lines) + "\n"


def repr_toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(tmp_path: Path, *tables: str, head: str = HEAD) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(head + "\n" + "\n".join(tables), encoding="utf-8")
    return path


def valid_pair() -> list[str]:
    return [
        indicator("A1.1", related=["B1.1"], caveats=["@survey", "Own words."]),
        indicator("B1.1", related=["A1.1"]),
    ]


SMALL_SPEC = ("A1.1", "B1.1")


def problems_of(path: Path, spec_ids=SMALL_SPEC) -> list[str]:
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path, spec_ids=spec_ids)
    return raised.value.problems


def test_a_small_valid_catalogue_loads(tmp_path):
    cat = load_catalogue(write(tmp_path, *valid_pair()), spec_ids=SMALL_SPEC)
    assert cat.ids == ("A1.1", "B1.1")
    assert cat.by_id["A1.1"].label == "A label"
    assert [i.id for i in cat.in_domain("B")] == ["B1.1"]
    assert [i.id for i in cat.related_to("B1.1")] == ["A1.1"]
    # shared caveat texts are expanded; own texts kept
    assert cat["A1.1"].caveats == ("Read with the response rate.", "Own words.")
    assert cat["A1.1"].module == "domain_a" and cat["A1.1"].function_name == "a1_1"
    assert cat.domains["A"].title == "Right conditions"


def test_duplicate_id(tmp_path):
    path = write(tmp_path, *valid_pair(), indicator("B1.1", related=["A1.1"]))
    assert "B1.1: duplicate id" in problems_of(path)


def test_missing_text_field(tmp_path):
    path = write(tmp_path, indicator("A1.1", cohort=None, related=["B1.1"]), valid_pair()[1])
    assert any("A1.1: missing field 'cohort'" in p for p in problems_of(path))


def test_empty_text_field(tmp_path):
    path = write(tmp_path, indicator("A1.1", label="  ", related=["B1.1"]), valid_pair()[1])
    assert any("A1.1: field 'label' must be non-empty" in p for p in problems_of(path))


def test_list_fields_may_be_empty_but_must_be_present(tmp_path):
    path = write(tmp_path, indicator("A1.1", caveats=None), indicator("B1.1"))
    problems = problems_of(path)
    assert any("A1.1: missing field 'caveats'" in p for p in problems)
    assert not any(p.startswith("B1.1") for p in problems)  # empty lists are fine


def test_sources_must_name_a_store_table(tmp_path):
    path = write(tmp_path, indicator("A1.1", sources=["no_such_table"]), indicator("B1.1"))
    assert "A1.1: source 'no_such_table' is not a store table" in problems_of(path)
    path = write(tmp_path, indicator("A1.1", sources=[]), indicator("B1.1"))
    assert any("A1.1: field 'sources' must name at least one" in p for p in problems_of(path))


def test_unknown_field_is_a_typo(tmp_path):
    path = write(tmp_path, indicator("A1.1", polarty="none"), indicator("B1.1"))
    assert "A1.1: unknown field 'polarty'" in problems_of(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("polarity", "up_is_good"),
        ("kind", "survey"),
        ("availability", "soon"),
        ("statistic", "median"),
        ("domain", "E"),
    ],
)
def test_enumerations(tmp_path, field, value):
    path = write(tmp_path, indicator("A1.1", **{field: value}), indicator("B1.1"))
    assert any(p.startswith(f"A1.1: {field} {value!r}") for p in problems_of(path))


def test_domain_must_be_the_ids_letter(tmp_path):
    path = write(tmp_path, indicator("A1.1", domain="B"), indicator("B1.1"))
    assert "A1.1: domain 'B' is not its id's letter 'A'" in problems_of(path)


def test_malformed_id(tmp_path):
    path = write(tmp_path, indicator("A1.1"), indicator("B1.1"), indicator("B1-2", domain="B"))
    assert any(p.startswith("B1-2: id must look like") for p in problems_of(path))


def test_unknown_related_id(tmp_path):
    path = write(tmp_path, indicator("A1.1", related=["B9.9"]), indicator("B1.1"))
    assert "A1.1: related id 'B9.9' is not in the catalogue" in problems_of(path)


def test_related_must_be_from_another_domain(tmp_path):
    path = write(
        tmp_path,
        indicator("A1.1", related=["A1.2"]),
        indicator("A1.2"),
        indicator("B1.1", related=["B1.1"]),
    )
    problems = problems_of(path, spec_ids=("A1.1", "A1.2", "B1.1"))
    assert any(p.startswith("A1.1: related id 'A1.2' is in the same domain") for p in problems)
    assert "B1.1: related lists itself" in problems


def test_spec_id_not_covered(tmp_path):
    path = write(tmp_path, *valid_pair())
    problems = problems_of(path, spec_ids=("A1.1", "A1.2", "B1.1"))
    assert "A1.2: spec indicator not covered (by itself or by parts)" in problems


def test_suffixed_parts_cover_a_spec_id(tmp_path):
    path = write(
        tmp_path,
        indicator("A1.1a", related=["B1.1"]),
        indicator("A1.1b"),
        indicator("B1.1"),
    )
    cat = load_catalogue(path, spec_ids=SMALL_SPEC)
    assert [i.id for i in cat.parts_of("A1.1")] == ["A1.1a", "A1.1b"]
    assert cat["A1.1b"].function == "domain_a.a1_1b"


def test_id_outside_the_spec(tmp_path):
    path = write(tmp_path, *valid_pair(), indicator("B7.1"))
    assert "B7.1: not an indicator of the spec (nor a part of one)" in problems_of(path)


def test_function_name_and_module(tmp_path):
    path = write(
        tmp_path,
        indicator("A1.1", function="domain_a.a1_one"),
        indicator("B1.1", function="domain_a.b1_1"),
    )
    problems = problems_of(path)
    assert any(
        p.startswith("A1.1: function 'domain_a.a1_one': the function must be") for p in problems
    )
    assert any(p.startswith("B1.1: function 'domain_a.b1_1': module must be") for p in problems)


def test_domain_d_returns_module(tmp_path):
    path = write(
        tmp_path,
        indicator("D1.1", function="domain_d.d1_1"),  # belongs in domain_d_returns
        indicator("D1.3", function="domain_d_returns.d1_3"),  # belongs in domain_d
    )
    problems = problems_of(path, spec_ids=("D1.1", "D1.3"))
    assert "D1.1: function 'domain_d.d1_1': D1.1 belongs in domain_d_returns" in problems
    assert "D1.3: function 'domain_d_returns.d1_3': D1.3 belongs in domain_d" in problems


def test_crosswalks_name_a_known_framework_and_item(tmp_path):
    path = write(
        tmp_path,
        indicator("A1.1", crosswalks=["Ofsted: leadership"]),
        indicator("B1.1", crosswalks=["Munro: caseload", "What Works Centre: skills"]),
    )
    problems = problems_of(path)
    assert any("'Ofsted: leadership' names an unknown framework" in p for p in problems)
    assert any("B1.1: crosswalk 'Munro: caseload': Munro has no item" in p for p in problems)
    assert not any("crosswalk 'What Works Centre" in p for p in problems)


def test_caveat_reference_must_exist(tmp_path):
    path = write(tmp_path, indicator("A1.1", caveats=["@nothing"]), indicator("B1.1"))
    assert "A1.1: caveat '@nothing' names no text of [caveats]" in problems_of(path)


def test_relationship_ids_must_exist(tmp_path):
    relationship = """
[[relationship]]
name = "Pair"
source = "seed 002, 4.5.1"
ids = ["A1.1", "C9.9"]
reading = "Read together."
"""
    path = write(tmp_path, *valid_pair(), relationship)
    assert any("ids not in the catalogue: ['C9.9']" in p for p in problems_of(path))


def test_missing_domain_table(tmp_path):
    head = HEAD.replace(
        '[domains.D]\ntitle = "Child outcomes"\nquestion = "Are children safe?"\n', ""
    )
    path = write(tmp_path, *valid_pair(), head=head)
    assert "[domains.D] is missing" in problems_of(path)


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        indicator("A1.1", polarity="good", related=["B9.9"]),
        indicator("B1.1", kind="survey"),
    )
    problems = problems_of(path, spec_ids=("A1.1", "B1.1", "C1.1"))
    assert len(problems) >= 3
    assert any(p.startswith("A1.1: polarity") for p in problems)
    assert any(p.startswith("B1.1: kind") for p in problems)
    assert any(p.startswith("C1.1: spec indicator not covered") for p in problems)


def test_invalid_toml(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text("[[indicator]\nid = ", encoding="utf-8")
    assert problems_of(path)[0].startswith("not valid TOML")


def test_id_helpers():
    assert base_id("A8.1a") == "A8.1" and base_id("D13.4") == "D13.4"
    assert function_name("A8.1a") == "a8_1a" and function_name("D13.4") == "d13_4"
    assert sorted(["A1.10", "A8.1b", "A1.2", "A8.1", "A8.1a"], key=id_sort_key) == [
        "A1.2",
        "A1.10",
        "A8.1",
        "A8.1a",
        "A8.1b",
    ]


# --- the real catalogue ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    return load_catalogue()


def test_the_real_catalogue_loads(real):
    assert len(SPEC_IDS) == 114
    assert len(real) >= 114
    assert catalogue() is catalogue()  # loaded once
    assert {i.domain for i in real} == {"A", "B", "C", "D"}


def _spec_tables() -> list[tuple[str, str]]:
    """(id, outcome) of every row of the spec's indicator tables; a blank outcome cell carries
    the one above it."""
    rows, outcome = [], ""
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[A-D]\d+\.\d+", cells[0]):
            outcome = cells[1] or outcome
            rows.append((cells[0], outcome))
    return rows


@pytest.mark.skipif(not SPEC.is_file(), reason="../shared/spec is not available")
def test_every_spec_id_is_covered(real):
    spec = _spec_tables()
    spec_ids = [ident for ident, _ in spec]
    assert len(spec_ids) == 114 and len(set(spec_ids)) == 114
    assert tuple(spec_ids) == SPEC_IDS
    for ident in spec_ids:
        assert real.parts_of(ident), f"{ident} is not in the catalogue"


@pytest.mark.skipif(not SPEC.is_file(), reason="../shared/spec is not available")
def test_outcomes_are_named_as_in_the_spec(real):
    outcomes = dict(_spec_tables())
    for indicator in real:
        assert indicator.outcome == outcomes[indicator.spec_id], indicator.id


def test_every_definition_is_a_sentence_that_names_its_denominator(real):
    # How each statistic names what it is out of (the denominator, in plain words).
    denominators = {
        "proportion": ("out of",),
        "distribution": ("out of",),
        "ratio": ("divided by",),
        "mean": ("averaged over",),
        "fact": ("one answer per authority",),
    }
    for indicator in real:
        text = indicator.definition
        assert text[0].isupper() and text.rstrip().endswith("."), indicator.id
        assert len(text.split()) >= 12, f"{indicator.id}: too short to be precise"
        assert any(w in text for w in denominators[indicator.statistic]), (
            f"{indicator.id}: the definition does not say what it is out of"
        )
        # the period is named
        assert re.search(r"year|6 months|period|half-year", text), indicator.id


def test_polarity_is_set_for_every_indicator(real):
    for indicator in real:
        assert indicator.polarity in POLARITIES, indicator.id
    # Distributions have categories, not a direction (spec §11: never colour without one).
    for indicator in real:
        if indicator.statistic in ("distribution",):
            assert indicator.polarity == "none", indicator.id
    # Conservative by design: plenty are "none" (spec §11: a rise can be good or bad).
    assert sum(i.polarity == "none" for i in real) >= 20


def test_no_indicator_is_read_alone(real):
    """Seed 002, 4.5.1: every indicator page shows related indicators from other domains."""
    for indicator in real:
        assert real.related_to(indicator.id, other_domains_only=True), indicator.id


def test_related_to_is_symmetric_and_leaves_out_itself(real):
    for indicator in real:
        related = {i.id for i in real.related_to(indicator.id)}
        assert indicator.id not in related
        for other in indicator.related:
            assert indicator.id in {i.id for i in real.related_to(other)}


def test_triangulation_sets_of_seed_002(real):
    sets = [r for r in real.relationships if "4.5.1" in r.source]
    assert len(sets) >= 3
    members = {ident for r in sets for ident in r.ids}
    # corporate support with infrastructure; conditions with users' views; good practice with
    # users' views and child outcomes
    assert {"A1.1", "A5.1", "C1.2", "C2.1", "A6.2", "C5.1", "C6.1", "D1.4"} <= members
    # the workforce chain: turnover -> changes of worker -> the child's relationship
    chain = real.related_to("A7.1")
    assert {"C1.1", "C1.2"} <= {i.id for i in chain}


def test_survey_and_fact_indicators_are_tagged_new(real):
    surveys = {"staff_survey", "child_survey", "parent_survey", "organisation_facts"}
    for indicator in real:
        if surveys & set(indicator.sources):
            assert indicator.availability == "new", indicator.id
        if {"child_survey", "parent_survey"} & set(indicator.sources):
            assert indicator.kind == "user_views", indicator.id


def test_caveats_the_spec_requires(real):
    text = {i.id: " ".join(i.caveats).lower() for i in real}
    assert "proxy" in text["B4.1"]  # spec §6: say so wherever B4.1 is shown
    for ident in ("B1.1", "B1.2", "B1.3", "B2.1", "B2.2"):
        assert "referral" in text[ident] and "differ" in text[ident], ident  # spec §6


@pytest.mark.skipif(not DFE_METRICS.is_file(), reason="../shared/reference is not available")
def test_dfe_crosswalks_name_real_metrics_or_outcomes(real):
    with DFE_METRICS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {r["metric_display_text"] for r in rows} | {r["accordion_text"] for r in rows}
    for indicator in real:
        for crosswalk in indicator.crosswalks:
            if crosswalk.startswith("DfE national framework: "):
                item = crosswalk.removeprefix("DfE national framework: ")
                assert item in names, f"{indicator.id}: {item!r}"


def test_template_columns_point_at_indicators_that_read_them(real):
    """templates.toml names, per column, the indicators it serves: the catalogue lists that
    table among those indicators' sources (for the spec id itself or one of its parts)."""
    templates = tomllib.loads(TEMPLATES.read_text(encoding="utf-8"))["template"]
    # D1.9's measure reads the child survey only; case reviews' "feels safe" is kept for the
    # child-level tracker, not this indicator.
    # D1.2's measure compares SSDA903 missing periods only (looked-after children), so case
    # reviews' "missing" serves D1.1 but not yet D1.2.
    known_gaps = {("case_reviews", "D1.9"), ("case_reviews", "D1.2")}
    missing = []
    for template in templates:
        for column in template.get("column", []):
            for ident in column.get("indicators", []):
                parts = real.parts_of(ident)
                assert parts, f"{template['name']}.{column['name']}: {ident} not in the catalogue"
                if (template["name"], ident) in known_gaps:
                    continue
                if not any(template["name"] in p.sources for p in parts):
                    missing.append(f"{ident} <- {template['name']}.{column['name']}")
    assert not missing, missing


@pytest.mark.skipif(SEED_002 is None, reason="../shared/seeds is not available")
def test_definitions_are_in_our_own_words(real):
    """No run of 10 words of a definition or label appears in seed 002."""

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9%']+", text.lower())

    seed = words(SEED_002.read_text(encoding="utf-8", errors="replace"))
    grams = {tuple(seed[i : i + 10]) for i in range(len(seed) - 9)}
    for indicator in real:
        mine = words(indicator.definition)
        copied = [g for g in (tuple(mine[i : i + 10]) for i in range(len(mine) - 9)) if g in grams]
        assert not copied, f"{indicator.id}: {' '.join(copied[0])}"


def test_catalogue_file_is_the_one_loaded():
    assert CATALOGUE_PATH.name == "catalogue.toml" and CATALOGUE_PATH.is_file()


def test_check_functions_reports_each_kind_of_problem(real):
    """The checker itself (not the measures): a missing function, a statistic that differs,
    and registered measures with no catalogue entry are all reported, never raised."""
    broken = Catalogue(
        (
            replace(real["A1.1"], function="domain_a.no_such_function"),
            replace(real["A1.2"], statistic="mean"),
        ),
        real.domains,
    )
    problems = check_functions(broken)
    assert "A1.1: no function domain_a.no_such_function" in problems
    assert "A1.2: the measure is a proportion, the catalogue says mean" in problems
    assert "A1.3: a registered measure with no catalogue entry" in problems


def test_completeness_every_indicator_has_its_registered_measure(real):
    """COMPLETENESS: each indicator's function exists, is registered in units.MEASURES under
    its id with the catalogue's statistic, and every registered measure is catalogued."""
    assert check_functions(real) == []


def test_completeness_every_indicator_has_a_worked_example():
    """COMPLETENESS: every catalogue indicator's measure is called by name in a hand-worked
    example: a ``units(…, "B1.2", …)`` call inside a test of tests/test_measures_*.py, with the
    id written in the call, in a loop over literal ids, or in the test's parametrize list."""
    exercised: set[str] = set()
    for path in Path(__file__).parent.glob("test_measures_*.py"):
        exercised |= _ids_worked_in(path)
    missing = [i for i in load_catalogue().ids if i not in exercised]
    assert missing == [], f"indicators without a worked example: {missing}"


def _strings(node) -> set[str]:
    return {
        a.value for a in ast.walk(node) if isinstance(a, ast.Constant) and isinstance(a.value, str)
    }


def _ids_worked_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lists = {  # module-level names -> the strings they hold (parametrize lists)
        target.id: _strings(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: set[str] = set()
    for function in ast.walk(tree):
        if not (isinstance(function, ast.FunctionDef) and function.name.startswith("test")):
            continue
        calls = [
            n
            for n in ast.walk(function)
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "units"
        ]
        if not calls:
            continue
        for call in calls:
            found |= _strings(call)
        for node in ast.walk(function):
            if isinstance(node, ast.For):
                found |= _strings(node.iter)
        for decorator in function.decorator_list:
            found |= _strings(decorator)
            for name in ast.walk(decorator):
                if isinstance(name, ast.Name) and name.id in lists:
                    found |= lists[name.id]
    return found
