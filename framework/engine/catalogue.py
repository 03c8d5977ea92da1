"""The catalogue of indicators: what each number means, as data (``catalogue.toml``).

``load_catalogue()`` reads the TOML into frozen dataclasses and checks it, collecting every
problem before raising one ``CatalogueError`` that lists them all:

* ids are well formed (``A1.1``, or ``A8.1a`` for a part) and unique, and each one's domain is
  its id's letter;
* every field is present and non-empty (``related``, ``crosswalks`` and ``caveats`` may be empty
  lists, but must be there), and no unknown field is given (a typo would silently drop data);
* kind, availability, polarity and statistic come from their lists;
* sources are store tables (``framework.store.schema.TABLES``);
* related ids exist and are from other domains; relationship sets name existing ids;
* crosswalks name a framework of spec §10 (and for three of them, one of its items);
* caveats that say ``@name`` name a shared text of ``[caveats]`` (and are expanded to it);
* function is ``<module>.<id in lower case with . as _>`` in the module the domain's measures
  live in;
* every indicator of the spec (``SPEC_IDS``) is covered, by its own id or by suffixed parts,
  and no id is outside the spec.

Whether the measures exist is checked apart, by ``check_functions`` (the engine calls it at
start): the measure modules import this package's ``units`` and may be incomplete while the
catalogue still loads.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from framework.engine.units import STATISTICS

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")

DOMAINS = ("A", "B", "C", "D")
KINDS = ("organisation", "snapshot", "user_views", "longitudinal")  # spec §2
AVAILABILITY = ("national", "local", "new")  # spec §2
POLARITIES = ("higher_better", "lower_better", "none")  # spec §11

# The indicators of the spec's tables (spec §5-§8), as (outcome prefix, number of indicators).
# D8 does not exist and the source's second outcome 12 is D13 (spec §8).
_SPEC_OUTCOMES = {
    "A": (("A1", 3), ("A2", 3), ("A3", 3), ("A4", 4), ("A5", 4), ("A6", 6), ("A7", 4),
          ("A8", 6), ("A9", 3)),
    "B": (("B1", 3), ("B2", 2), ("B3", 3), ("B4", 2), ("B5", 5), ("B6", 1)),
    "C": (("C1", 3), ("C2", 2), ("C3", 2), ("C4", 2), ("C5", 3), ("C6", 3)),
    "D": (("D1", 9), ("D2", 3), ("D3", 2), ("D4", 6), ("D5", 9), ("D6", 1), ("D7", 1),
          ("D9", 3), ("D10", 1), ("D11", 4), ("D12", 4), ("D13", 4)),
}  # fmt: skip
SPEC_IDS: tuple[str, ...] = tuple(
    f"{outcome}.{n}"
    for domain in DOMAINS
    for outcome, count in _SPEC_OUTCOMES[domain]
    for n in range(1, count + 1)
)

# Where each domain's measures live (framework/engine/measures/<module>.py). Domain D is split:
# the indicators computed from the statutory returns alone are in domain_d_returns.
MODULES = {
    "A": ("domain_a",),
    "B": ("domain_b",),
    "C": ("domain_c",),
    "D": ("domain_d", "domain_d_returns"),
}
D_RETURNS_IDS = frozenset({"D1.1", "D1.2", "D3.1", "D3.2", "D5.4", "D5.5", "D13.3", "D13.4"})

# Crosswalks (spec §10): "<framework>: <item>". For the DfE national framework the item is one
# of its dashboard's metrics or outcomes/enablers (checked against the reference file in tests).
CROSSWALK_ITEMS: dict[str, tuple[str, ...] | None] = {
    "What Works Centre": (  # seed 001
        "proportionate",
        "respectful and humane",
        "rights-based",
        "objective child outcomes",
        "child-defined outcomes",
        "objective family outcomes",
        "family-defined outcomes",
        "cost-effective",
        "stable, motivated workforce",
        "skills",
    ),
    "Munro": (  # seed 000: the review's draft national indicators
        "caseloads",
        "children's perception of their safety",
        "workers' view of time with families",
        "interventions improved safety",
    ),
    "Practice overview (seed 003)": (
        "children at risk of harm",
        "children in care",
        "care leavers",
    ),
    "DfE national framework": None,  # any metric or outcome of its dashboard
}

_ID = re.compile(r"^([A-D])(\d+)\.(\d+)([a-z])?$")
_TEXT_FIELDS = (
    "id",
    "domain",
    "outcome",
    "label",
    "definition",
    "unit",
    "cohort",
    "kind",
    "availability",
    "polarity",
    "statistic",
    "function",
)
_LIST_FIELDS = ("sources", "related", "crosswalks", "caveats")
_NON_EMPTY_LISTS = ("sources",)
_FIELDS = (*_TEXT_FIELDS, *_LIST_FIELDS)


class CatalogueError(ValueError):
    """The catalogue file breaks its rules; ``problems`` lists every one found."""

    def __init__(self, problems: list[str], path: Path | str = "catalogue"):
        self.problems = list(problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


def base_id(indicator_id: str) -> str:
    """The spec's id of an indicator or of one of its parts: A8.1a -> A8.1."""
    match = _ID.match(indicator_id)
    if not match:
        return indicator_id
    return f"{match.group(1)}{match.group(2)}.{match.group(3)}"


def function_name(indicator_id: str) -> str:
    """The measure function's name: the id in lower case with "." as "_" (A8.1a -> a8_1a)."""
    return indicator_id.lower().replace(".", "_")


def id_sort_key(indicator_id: str) -> tuple:
    """Natural order of ids: A1.2 < A1.10 < A2.1, and A8.1 < A8.1a < A8.1b."""
    match = _ID.match(indicator_id)
    if not match:
        return (indicator_id,)
    letter, outcome, number, part = match.groups()
    return (letter, int(outcome), int(number), part or "")


@dataclass(frozen=True)
class Indicator:
    id: str
    domain: str
    outcome: str
    label: str
    definition: str
    unit: str
    cohort: str
    kind: str
    availability: str
    polarity: str
    statistic: str
    sources: tuple[str, ...]
    related: tuple[str, ...]
    crosswalks: tuple[str, ...]
    caveats: tuple[str, ...]  # shared texts ("@name") already expanded
    function: str  # "<module>.<function>"

    @property
    def spec_id(self) -> str:
        """The id in the spec's tables (A8.1 for A8.1a)."""
        return base_id(self.id)

    @property
    def module(self) -> str:
        return self.function.split(".", 1)[0]

    @property
    def function_name(self) -> str:
        return self.function.split(".", 1)[-1]

    @property
    def has_direction(self) -> bool:
        """Whether a rise or fall may be coloured good or bad (spec §11)."""
        return self.polarity != "none"


@dataclass(frozen=True)
class Domain:
    letter: str
    title: str
    question: str
    data: str = ""


@dataclass(frozen=True)
class Relationship:
    """A set of indicators to read together (seed 002, 4.5.1 and 4.5.2)."""

    name: str
    source: str
    ids: tuple[str, ...]
    reading: str


@dataclass(frozen=True)
class Catalogue:
    indicators: tuple[Indicator, ...]
    domains: Mapping[str, Domain]
    relationships: tuple[Relationship, ...] = ()
    by_id: Mapping[str, Indicator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({i.id: i for i in self.indicators}))

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, indicator_id: object) -> bool:
        return indicator_id in self.by_id

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.by_id[indicator_id]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    def in_domain(self, domain: str) -> tuple[Indicator, ...]:
        """The domain's indicators, in catalogue order."""
        return tuple(i for i in self.indicators if i.domain == domain)

    def parts_of(self, spec_id: str) -> tuple[Indicator, ...]:
        """The indicators that cover a spec id: itself and its suffixed parts (A8.1 -> a, b)."""
        return tuple(i for i in self.indicators if i.spec_id == spec_id)

    def relationships_of(self, indicator_id: str) -> tuple[Relationship, ...]:
        return tuple(r for r in self.relationships if indicator_id in r.ids)

    def related_to(
        self, indicator_id: str, *, other_domains_only: bool = False
    ) -> tuple[Indicator, ...]:
        """Indicators to read beside this one: its own ``related`` list, those that list it,
        and the other members of every relationship set it is in; in catalogue order."""
        own = self.by_id[indicator_id]
        linked = set(own.related)
        linked |= {i.id for i in self.indicators if indicator_id in i.related}
        for relationship in self.relationships_of(indicator_id):
            linked |= set(relationship.ids)
        linked.discard(indicator_id)
        out = [i for i in self.indicators if i.id in linked]
        if other_domains_only:
            out = [i for i in out if i.domain != own.domain]
        return tuple(out)


# --- loading and checking ----------------------------------------------------------------------


def _known_tables() -> set[str]:
    from framework.store.schema import TABLES

    return set(TABLES)


def _check_crosswalk(text: str) -> str | None:
    framework, sep, item = text.partition(": ")
    if not sep or not item.strip():
        return f"crosswalk {text!r} is not 'Framework: item'"
    if framework not in CROSSWALK_ITEMS:
        return f"crosswalk {text!r} names an unknown framework (one of {list(CROSSWALK_ITEMS)})"
    items = CROSSWALK_ITEMS[framework]
    if items is not None and item not in items:
        return f"crosswalk {text!r}: {framework} has no item {item!r} (one of {list(items)})"
    return None


def _indicator_problems(
    raw: dict, caveat_texts: Mapping[str, str], tables: set[str]
) -> tuple[list[str], Indicator | None]:
    """Problems of one [[indicator]] table, and the indicator when it can be built."""
    name = raw.get("id") if isinstance(raw.get("id"), str) and raw.get("id") else "?"
    problems: list[str] = []

    def problem(text: str) -> None:
        problems.append(f"{name}: {text}")

    for key in sorted(set(raw) - set(_FIELDS)):
        problem(f"unknown field {key!r}")
    for key in _TEXT_FIELDS:
        value = raw.get(key)
        if value is None:
            problem(f"missing field {key!r}")
        elif not isinstance(value, str) or not value.strip():
            problem(f"field {key!r} must be non-empty text")
    for key in _LIST_FIELDS:
        value = raw.get(key)
        if value is None:
            problem(f"missing field {key!r} (give [] when there is nothing)")
        elif not isinstance(value, list) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            problem(f"field {key!r} must be a list of non-empty texts")
        elif key in _NON_EMPTY_LISTS and not value:
            problem(f"field {key!r} must name at least one")
        elif len(set(value)) != len(value):
            problem(f"field {key!r} repeats an entry")
    if problems:
        return problems, None

    match = _ID.match(raw["id"])
    if not match:
        problem("id must look like A1.1, or A8.1a for a part")
    elif raw["domain"] != match.group(1):
        problem(f"domain {raw['domain']!r} is not its id's letter {match.group(1)!r}")
    if raw["domain"] not in DOMAINS:
        problem(f"domain {raw['domain']!r} is not one of {DOMAINS}")
    for key, allowed in (
        ("kind", KINDS),
        ("availability", AVAILABILITY),
        ("polarity", POLARITIES),
        ("statistic", STATISTICS),
    ):
        if raw[key] not in allowed:
            problem(f"{key} {raw[key]!r} is not one of {allowed}")
    for table in raw["sources"]:
        if table not in tables:
            problem(f"source {table!r} is not a store table")
    for text in raw["crosswalks"]:
        if (error := _check_crosswalk(text)) is not None:
            problem(error)

    caveats = []
    for text in raw["caveats"]:
        if text.startswith("@"):
            if text[1:] not in caveat_texts:
                problem(f"caveat {text!r} names no text of [caveats]")
                continue
            caveats.append(caveat_texts[text[1:]])
        else:
            caveats.append(text)

    module, dot, function = raw["function"].partition(".")
    expected = function_name(raw["id"])
    if not dot or not module or not function:
        problem(f"function {raw['function']!r} is not '<module>.<function>'")
    else:
        if function != expected:
            problem(f"function {raw['function']!r}: the function must be named {expected!r}")
        allowed_modules = MODULES.get(raw["domain"], ())
        if module not in allowed_modules:
            problem(f"function {raw['function']!r}: module must be one of {allowed_modules}")
        elif raw["domain"] == "D":
            wanted = "domain_d_returns" if base_id(raw["id"]) in D_RETURNS_IDS else "domain_d"
            if module != wanted:
                problem(f"function {raw['function']!r}: {raw['id']} belongs in {wanted}")
    if problems:
        return problems, None
    indicator = Indicator(
        **{key: raw[key].strip() for key in _TEXT_FIELDS},
        sources=tuple(raw["sources"]),
        related=tuple(raw["related"]),
        crosswalks=tuple(raw["crosswalks"]),
        caveats=tuple(caveats),
    )
    return problems, indicator


def parse_catalogue(
    data: Mapping,
    *,
    spec_ids: Iterable[str] = SPEC_IDS,
    tables: set[str] | None = None,
    path: Path | str = "catalogue",
) -> Catalogue:
    """Build and check a catalogue from parsed TOML (see the module docstring)."""
    tables = _known_tables() if tables is None else tables
    spec_ids = tuple(spec_ids)
    problems: list[str] = []

    domains: dict[str, Domain] = {}
    raw_domains = data.get("domains", {})
    for letter in DOMAINS:
        raw = raw_domains.get(letter)
        if not isinstance(raw, dict):
            problems.append(f"[domains.{letter}] is missing")
            continue
        missing = [k for k in ("title", "question") if not str(raw.get(k, "")).strip()]
        if missing:
            problems.append(f"[domains.{letter}] needs {', '.join(missing)}")
            continue
        domains[letter] = Domain(letter, raw["title"], raw["question"], raw.get("data", ""))
    for letter in sorted(set(raw_domains) - set(DOMAINS)):
        problems.append(f"[domains.{letter}] is not a domain (one of {DOMAINS})")

    caveat_texts = data.get("caveats", {})
    if not isinstance(caveat_texts, dict) or not all(
        isinstance(v, str) and v.strip() for v in caveat_texts.values()
    ):
        problems.append("[caveats] must map names to non-empty texts")
        caveat_texts = {}

    raw_indicators = data.get("indicator", [])
    if not raw_indicators:
        problems.append("no [[indicator]] tables")
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for raw in raw_indicators:
        found, indicator = _indicator_problems(raw, caveat_texts, tables)
        problems += found
        ident = raw.get("id")
        if isinstance(ident, str):
            if ident in seen:
                problems.append(f"{ident}: duplicate id")
            seen.add(ident)
        if indicator is not None and ident not in {i.id for i in indicators}:
            indicators.append(indicator)

    # Related ids: they exist, are not the indicator itself, and come from another domain.
    known = {i.id: i for i in indicators}
    for indicator in indicators:
        for other in indicator.related:
            if other == indicator.id:
                problems.append(f"{indicator.id}: related lists itself")
            elif other not in seen:
                problems.append(f"{indicator.id}: related id {other!r} is not in the catalogue")
            elif other in known and known[other].domain == indicator.domain:
                problems.append(
                    f"{indicator.id}: related id {other!r} is in the same domain "
                    "(related ids come from other domains; use a [[relationship]] set)"
                )

    relationships: list[Relationship] = []
    for n, raw in enumerate(data.get("relationship", []), start=1):
        label = raw.get("name") or f"relationship {n}"
        missing = [k for k in ("name", "source", "reading") if not str(raw.get(k, "")).strip()]
        if missing:
            problems.append(f"[[relationship]] {label}: missing {', '.join(missing)}")
        ids = raw.get("ids")
        if not isinstance(ids, list) or len(set(ids)) < 2:
            problems.append(f"[[relationship]] {label}: ids must list two or more indicators")
            continue
        unknown = [i for i in ids if i not in seen]
        if unknown:
            problems.append(f"[[relationship]] {label}: ids not in the catalogue: {unknown}")
        if not missing and not unknown:
            relationships.append(
                Relationship(raw["name"], raw["source"], tuple(ids), raw["reading"])
            )

    # Coverage: every spec id exactly or by its parts; no id outside the spec.
    covered = {base_id(i) for i in seen if _ID.match(i)}
    for spec_id in spec_ids:
        if spec_id not in covered:
            problems.append(f"{spec_id}: spec indicator not covered (by itself or by parts)")
    for ident in sorted(seen, key=id_sort_key):
        if _ID.match(ident) and base_id(ident) not in spec_ids:
            problems.append(f"{ident}: not an indicator of the spec (nor a part of one)")

    if problems:
        raise CatalogueError(problems, path)
    return Catalogue(tuple(indicators), MappingProxyType(domains), tuple(relationships))


def load_catalogue(
    path: Path | str = CATALOGUE_PATH,
    *,
    spec_ids: Iterable[str] = SPEC_IDS,
    tables: set[str] | None = None,
) -> Catalogue:
    """Read and check a catalogue file; raises CatalogueError listing every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError([f"not valid TOML: {error}"], path) from error
    return parse_catalogue(data, spec_ids=spec_ids, tables=tables, path=path)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The product's catalogue (catalogue.toml beside this module), loaded once."""
    return load_catalogue()


# --- the measures behind the catalogue -------------------------------------------------------


def check_functions(cat: Catalogue | None = None) -> list[str]:
    """Problems between the catalogue and the measures (empty when they agree).

    For every indicator: its module imports, its function exists there, and that function is
    registered in ``units.MEASURES`` under the indicator's id with the catalogue's statistic.
    And every registered measure has a catalogue entry. Nothing is raised, so the engine can
    report the problems (the measure modules are written separately from the catalogue).
    """
    from framework.engine.units import MEASURES

    cat = catalogue() if cat is None else cat
    problems: list[str] = []
    modules = {}
    for name in sorted({m for names in MODULES.values() for m in names}):
        try:
            modules[name] = importlib.import_module(f"framework.engine.measures.{name}")
        except Exception as error:  # any failure to import is a problem to report
            problems.append(f"module framework.engine.measures.{name} does not import: {error!r}")
    for indicator in cat:
        module = modules.get(indicator.module)
        if module is None:
            if indicator.module not in MODULES.get(indicator.domain, ()):
                problems.append(f"{indicator.id}: unknown module {indicator.module!r}")
            else:
                problems.append(f"{indicator.id}: module {indicator.module} is not available")
            continue
        function = getattr(module, indicator.function_name, None)
        if function is None:
            problems.append(f"{indicator.id}: no function {indicator.function}")
            continue
        registered = MEASURES.get(indicator.id)
        if registered is None:
            problems.append(f"{indicator.id}: {indicator.function} is not registered as a measure")
        elif registered.function is not function:
            problems.append(f"{indicator.id}: the registered measure is not {indicator.function}")
        elif registered.statistic != indicator.statistic:
            problems.append(
                f"{indicator.id}: the measure is a {registered.statistic}, "
                f"the catalogue says {indicator.statistic}"
            )
    for indicator_id in sorted(set(MEASURES) - set(cat.by_id), key=id_sort_key):
        problems.append(f"{indicator_id}: a registered measure with no catalogue entry")
    return problems


__all__ = [
    "AVAILABILITY",
    "CATALOGUE_PATH",
    "CROSSWALK_ITEMS",
    "DOMAINS",
    "D_RETURNS_IDS",
    "KINDS",
    "MODULES",
    "POLARITIES",
    "SPEC_IDS",
    "Catalogue",
    "CatalogueError",
    "Domain",
    "Indicator",
    "Relationship",
    "base_id",
    "catalogue",
    "check_functions",
    "function_name",
    "id_sort_key",
    "load_catalogue",
    "parse_catalogue",
]
