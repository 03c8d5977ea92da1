"""The local-data templates, loaded from ``templates.toml`` and checked once at import.

This module only describes templates (no pandas, no store): the store schema registers one
table per template from it, the reader checks files against it, and the documentation and
blank files are generated from it. See the comments at the top of ``templates.toml`` for what
each field means.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFINITIONS = Path(__file__).with_name("templates.toml")

# Column type -> DuckDB type as stored. Ids are stored as their keyed-hash pseudonyms; years
# (financial and academic) as the end year, the convention the returns use (2026 = 2025-26).
STORED_TYPES = {
    "text": "VARCHAR",
    "child_id": "VARCHAR",
    "worker_id": "VARCHAR",
    "upn": "VARCHAR",
    "date": "DATE",
    "year": "INTEGER",
    "academic_year": "INTEGER",
    "integer": "INTEGER",
    "number": "DOUBLE",
    "yes_no": "BOOLEAN",
    "agree5": "INTEGER",
    "code": "VARCHAR",
    "codes": "VARCHAR",
}
ID_TYPES = {"child_id": "child", "worker_id": "worker", "upn": "upn"}  # type -> pseudonym kind
RULE_KINDS = {
    "order",
    "at_most",
    "sum",
    "sum_at_most",
    "one_of",
    "subset",
    "implies",
    "requires",
    "code_in",
    "only_when",
    "in_year_or_before",
    "in_year_or_after",
}
TYPE_WORDS = {
    "text": "text",
    "child_id": "child id",
    "worker_id": "worker id",
    "upn": "UPN",
    "date": "date (YYYY-MM-DD or DD/MM/YYYY)",
    "year": "financial year (2025-26)",
    "academic_year": "academic year (2025/26)",
    "integer": "whole number",
    "number": "number",
    "yes_no": "yes or no",
    "agree5": "agree scale 1-5",
    "code": "code",
    "codes": "codes separated by ;",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str
    required: bool = False
    indicators: tuple[str, ...] = ()
    codes: tuple[tuple[str, str], ...] = ()  # (value, label)
    minimum: float | None = None
    maximum: float | None = None
    derived: bool = False  # computed by the reader, not found in the file
    aliases: tuple[str, ...] = ()  # other names accepted in a file's header
    earliest: str = "1980-01-01"  # date columns: earlier dates are refused as implausible

    @property
    def stored_type(self) -> str:
        return STORED_TYPES[self.type]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.codes)


@dataclass(frozen=True)
class Rule:
    kind: str
    settings: dict
    severity: str = "error"
    expected: str | None = None

    def columns(self) -> list[str]:
        """Every column the rule names (to check the definition)."""
        names = []
        for key in ("column", "earlier", "later", "limit", "total", "of", "requires", "year"):
            if key in self.settings:
                names.append(self.settings[key])
        for key in ("parts", "columns", "needs"):
            names.extend(self.settings.get(key, ()))
        if "when_column" in self.settings:  # (code_in, only_when)
            names.append(self.settings["when_column"])
        return names


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    unit: str
    description: str
    dated_by: str
    replaces: str  # "periods" or "keys"
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    period: str | None = None
    hand_filled: bool = False

    @property
    def file_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.derived]

    def aliases(self) -> dict[str, str]:
        """Accepted alternative header names -> the column's name."""
        return {alias: c.name for c in self.file_columns for alias in c.aliases}

    @property
    def required(self) -> set[str]:
        return {c.name for c in self.file_columns if c.required}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def id_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type in ID_TYPES)

    @property
    def indicators(self) -> list[str]:
        found = {i for c in self.columns for i in c.indicators}
        return sorted(found, key=_indicator_order)


def number_text(value: float) -> str:
    """10000000000 -> '10,000,000,000'; 0.01 -> '0.01' (for messages and documentation)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _indicator_order(indicator: str) -> tuple:
    domain, _, rest = indicator.partition(".")
    return (domain[0], int(domain[1:]), int(rest) if rest.isdigit() else 0)


class TemplateDefinitionError(ValueError):
    """templates.toml is inconsistent: a programming error, caught by the tests and at start."""


def _codes(raw, shared: dict) -> tuple[tuple[str, str], ...]:
    if isinstance(raw, str):
        if not raw.startswith("@") or raw[1:] not in shared:
            raise TemplateDefinitionError(f"unknown shared code list {raw!r}")
        raw = shared[raw[1:]]
    return tuple((str(value), str(label)) for value, label in raw)


def _column(raw: dict, shared: dict, *, derived: bool = False) -> Column:
    kind = raw["type"]
    if kind not in STORED_TYPES:
        raise TemplateDefinitionError(f"column {raw['name']}: unknown type {kind!r}")
    codes = raw.get("codes")
    if kind == "agree5":
        codes = "@agree5"
    return Column(
        name=raw["name"],
        type=kind,
        meaning=" ".join(raw["meaning"].split()),
        required=bool(raw.get("required", False)),
        indicators=tuple(raw.get("indicators", ())),
        codes=_codes(codes, shared) if codes is not None else (),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        derived=derived,
        aliases=tuple(raw.get("aliases", ())),
        earliest=str(raw.get("earliest", "1980-01-01")),
    )


def _rule(raw: dict, shared: dict) -> Rule:
    settings = {k: v for k, v in raw.items() if k not in ("kind", "severity", "expected")}
    if "lists" in settings:
        settings["lists"] = {k: _codes(v, shared) for k, v in settings["lists"].items()}
    return Rule(
        kind=raw["kind"],
        settings=settings,
        severity=raw.get("severity", "error"),
        expected=raw.get("expected"),
    )


def _template(raw: dict, shared: dict) -> Template:
    columns = [_column(c, shared) for c in raw["column"]]
    columns += [_column(c, shared, derived=True) for c in raw.get("derived", ())]
    return Template(
        name=raw["name"],
        title=raw["title"],
        unit=raw["unit"],
        description=" ".join(raw["description"].split()),
        dated_by=raw["dated_by"],
        replaces=raw["replaces"],
        key=tuple(raw["key"]),
        columns=tuple(columns),
        rules=tuple(_rule(r, shared) for r in raw.get("rule", ())),
        period=raw.get("period"),
        hand_filled=bool(raw.get("hand_filled", False)),
    )


def check_template(template: Template) -> None:
    """Every name a template uses must exist; raise TemplateDefinitionError if not."""
    names = [c.name for c in template.columns]
    problems = []
    if len(set(names)) != len(names):
        problems.append("a column name is repeated")
    if template.replaces not in ("periods", "keys"):
        problems.append(f"replaces must be periods or keys, not {template.replaces!r}")
    used = [*template.key, template.dated_by, *([template.period] if template.period else [])]
    for rule in template.rules:
        if rule.kind not in RULE_KINDS:
            problems.append(f"unknown rule kind {rule.kind!r}")
        if rule.severity not in ("error", "warning"):
            problems.append(f"rule severity {rule.severity!r}")
        used += rule.columns()
    problems += [f"unknown column {name!r}" for name in used if name not in names]
    dated = template.column(template.dated_by) if template.dated_by in names else None
    if dated is not None and dated.type not in ("date", "year", "academic_year"):
        problems.append("dated_by must be a date, year or academic_year column")
    for column in template.columns:
        if column.type in ("code", "codes") and not column.codes:
            problems.append(f"{column.name}: a code column needs codes")
        if column.type in ("integer", "number") and None in (column.minimum, column.maximum):
            problems.append(f"{column.name}: a number column needs min and max")
        if not column.meaning:
            problems.append(f"{column.name}: no meaning")
        if column.type in ID_TYPES and column.name != column.type:
            # The loader pseudonymises by column name (child_id, worker_id, upn).
            problems.append(f"{column.name}: an id column must be named {column.type}")
    if problems:
        raise TemplateDefinitionError(f"template {template.name}: " + "; ".join(problems))


def load_templates(path: Path = DEFINITIONS) -> dict[str, Template]:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    shared = raw.get("codes", {})
    templates: dict[str, Template] = {}
    for block in raw["template"]:
        template = _template(block, shared)
        check_template(template)
        if template.name in templates:
            raise TemplateDefinitionError(f"template {template.name} is defined twice")
        templates[template.name] = template
    return templates


TEMPLATES: dict[str, Template] = load_templates()


__all__ = ["TEMPLATES", "Column", "Rule", "Template", "TemplateDefinitionError", "load_templates"]
