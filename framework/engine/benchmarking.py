"""Benchmarking: the authority beside England, its region and its statistical neighbours, on
the figures DfE publishes for every authority.

Everything here reads the store's published tables (``published_statistics``, loaded from the
Explore Education Statistics CSVs by ``framework.sources.published``), never the files, so the
same code serves the demo's fictional authorities and a store loaded from DfE's real files. A
published figure is found by the start of its dataset's name (the file name without its years:
``c1_children_in_need_referrals_and_rereferrals`` matches both ``…_2013_to_2025`` and the demo's
``…_demoton``), its measure (column) and its breakdown (the filter values, as the reader's
compact JSON) — never by the full file name.

* ``SHARED_MEASURES``: the registry of published figures the page compares (``SharedMeasure``):
  where each is, its unit, its polarity, the framework indicator it corresponds to, the published
  counts behind it (for funnel plots and trend tests) and how DfE's definition differs.
* ``series``: every published year for the authority, each neighbour, the neighbours' average,
  the region and England.
* ``position``: the authority within England's authorities in one year (quartiles; a quartile
  band only when the measure has a polarity; never a rank).
* ``worse_and_getting_worse``: compared with England (funnel limits) and the recent trend
  (chi-squared test for trend), in words.
* ``funnel``: every authority on a funnel plot around England's value.
* ``overview_table``: one row per shared measure, for the page's first table and the meeting
  pack.

Symbols stay symbols: a figure DfE did not publish (``c`` suppressed, ``x`` not available,
``z`` not applicable, ``u`` low reliability, ``low``) has no value and keeps its symbol in
``value_code``. ``k`` ("fewer than 0.5, rounded to 0") is the only symbol read as a number: 0,
with ``value_code`` still ``k`` so it is shown as published. These are DfE's own suppressed
aggregates for whole authorities, so no further disclosure control is applied here; the
authority's own framework values are not in this module. See docs/benchmarking.md.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from framework.disclosure import SUPPRESSED
from framework.engine import funnel as funnels
from framework.engine.comparators import (
    AUTHORITY,
    ENGLAND,
    LOCAL_AUTHORITY,
    NATIONAL,
    NEIGHBOUR,
    REGION,
    REGIONAL,
    comparators,
    la_number,
)
from framework.engine.england import C1, CSWW, MEASURES, STABILITY
from framework.sources.published import EES_SYMBOLS

# --- Units, polarity, roles -----------------------------------------------------------------------

PERCENT = "percent"
RATE = "rate per 10,000"
COUNT = "count"
PER_WORKER = "cases per social worker (FTE)"
UNITS = (PERCENT, RATE, COUNT, PER_WORKER)
SCALE = {PERCENT: 100.0, RATE: 10_000.0}  # value = scale × numerator ÷ denominator

HIGHER_BETTER, LOWER_BETTER, NO_POLARITY = "higher_better", "lower_better", "none"
NEIGHBOURS_AVERAGE = "neighbours_average"
ROLE_ORDER = {AUTHORITY: 0, NEIGHBOUR: 1, NEIGHBOURS_AVERAGE: 2, REGION: 3, ENGLAND: 4}

# Quartile bands, from the best to the worst in the direction of the measure's polarity.
BANDS = ("best quarter", "second best quarter", "second worst quarter", "worst quarter")
# The four combinations the page shows (compared with England, and the trend).
WORSE_AND_GETTING_WORSE = "worse and getting worse"
WORSE_BUT_IMPROVING = "worse but improving"
BETTER_AND_IMPROVING = "better and improving"
BETTER_BUT_GETTING_WORSE = "better but getting worse"
SIGNIFICANCE = 0.05  # the trend test's level (two-sided)
TREND_YEARS = 5  # the trend looks at up to this many of the latest published years…
MIN_TREND_YEARS = 3  # …and needs at least this many

# "k" is a figure: fewer than 0.5, rounded to 0 (the older "~" means the same).
ROUNDS_TO_ZERO = frozenset({"k", "~"})

SERIES_COLUMNS = [
    "role",
    "rank",
    "area_name",
    "old_la_code",
    "time_period",
    "year",
    "value",
    "value_code",
    "numerator",
    "denominator",
    "n_with_figure",
]
FIGURE_COLUMNS = [
    "geographic_level",
    "area_code",
    "old_la_code",
    "area_name",
    "time_period",
    "year",
    "value",
    "value_code",
    "numerator",
    "numerator_code",
    "denominator",
    "denominator_code",
]
OVERVIEW_COLUMNS = [
    "shared_id",
    "label",
    "unit",
    "indicator_id",
    "polarity",
    "year",
    "time_period",
    "value",
    "value_code",
    "shown",
    "england",
    "region",
    "neighbours_average",
    "neighbours_with_figure",
    "neighbours",
    "band",
    "flag",
    "flag_words",
    "caveat",
]


# --- The registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One published column: ``measure`` on the rows whose breakdown is exactly ``filters``
    (pairs of filter column and value; empty for a file without filters)."""

    measure: str
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def breakdown(self) -> str:
        """The breakdown as ``published_statistics`` stores it (compact JSON, sorted keys)."""
        return json.dumps(dict(self.filters), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class SharedMeasure:
    """One published figure compared across authorities.

    ``dataset`` is the start of the dataset's name; ``measure`` and ``filters`` pick the figure
    (a ``Part``). ``numerator`` and ``denominator`` are the published counts behind it, when DfE
    publishes them (the denominator is the sum of its parts, e.g. agency + employed FTE), in the
    same dataset, area and year. ``polarity`` is the corresponding framework indicator's (checked
    against the catalogue in the tests) or, with no indicator, stated here; "none" when a rise is
    neither simply good nor bad."""

    id: str
    label: str
    dataset: str
    measure: str
    filters: tuple[tuple[str, str], ...]
    unit: str
    polarity: str
    indicator: str | None
    numerator: Part | None = None
    denominator: tuple[Part, ...] = ()
    caveat: str = ""

    @property
    def part(self) -> Part:
        return Part(self.measure, self.filters)

    @property
    def breakdown(self) -> str:
        return self.part.breakdown

    @property
    def has_polarity(self) -> bool:
        return self.polarity in (HIGHER_BETTER, LOWER_BETTER)

    @property
    def funnel_kind(self) -> str | None:
        """ "proportion" (binomial limits) for a percentage, "rate" (Poisson) for a rate per
        10,000, with published counts; None otherwise (no funnel, no trend test)."""
        if self.numerator is None or not self.denominator:
            return None
        return {PERCENT: "proportion", RATE: "rate"}.get(self.unit)


def _prefix(file: str) -> str:
    """A DfE file name without ``.csv`` and its trailing years (``_2013_to_2025``)."""
    return re.sub(r"(_\d{4}_to_\d{4}|_\d{4}_\d{4})$", "", file.removesuffix(".csv"))


def _pairs(filters: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(filters.items()))


def _from_england(
    key: str,
    id: str,
    unit: str,
    polarity: str,
    numerator: str | None,
    denominator: tuple[Part, ...] | None = None,
    *,
    label: str | None = None,
    caveat: str | None = None,
) -> SharedMeasure:
    """A shared measure where ``framework.engine.england`` already says which DfE column serves
    which framework indicator (its file, filters, column, indicator and note)."""
    shared = MEASURES[key]
    published = shared.published
    filters = _pairs(published.filters)
    return SharedMeasure(
        id=id,
        label=label or published.label,
        dataset=_prefix(published.file),
        measure=published.column,
        filters=filters,
        unit=unit,
        polarity=polarity,
        indicator=shared.indicator,
        numerator=Part(numerator, filters) if numerator else None,
        denominator=denominator if denominator is not None else (),
        caveat=caveat if caveat is not None else shared.note,
    )


_REFERRALS = _pairs({"category": "Referrals and Re-referrals"})
_CP31 = _pairs({"category": "Child Protection Plans by length of time"})
_CIN = _pairs({"category": "Children in Need"})
_CLA = "cla_number_and_rate_per_10k_children"
_CLA_AT31 = _pairs({"population_type": "Children looked after on 31 March each year"})
_CLA_START = _pairs({"population_type": "Children starting to be looked after each year"})
_ON_31_MARCH = {"cla_group": "CLA on 31 March"}
_LONG_TERM = {
    "cla_group": "Children looked after continuously for at least 2.5 years on 31 March aged "
    "under 16 years"
}
_SCHOOL = {**_ON_31_MARCH, "move_measure": "Mid-year moves"}
_SW_COUNT = "la_cla_swcount"
_CSWW = _prefix(CSWW)
_CARE_LEAVER_NOTE = (
    "DfE counts the care leavers whose 17th to 21st birthday fell in the year, by age band; "
    "the framework's indicator takes ages 17 to 21 together and leaves out care leavers who "
    "died or returned home, as DfE does."
)
_NOT_PUBLISHED_RATE = (
    "A count, so it grows with the authority's size: compare it over time, not across "
    "authorities. DfE's rate per 10,000 children is not in a file the store reads."
)
_CSWW_TIME = (
    " The CSWW counts social workers on 30 September: DfE's 2025 is September 2025. FTE, not "
    "people: the funnel limits and trend test treat FTE as counts (an approximation)."
)


def _care_leavers(what: str, low: int, high: int) -> SharedMeasure:
    key = f"care_leavers_{what}_{low}_{high}"
    age = f"{low} to {high} years"
    total = "Total" if what == "eet" else "Suitability total"
    return _from_england(
        key,
        key,
        PERCENT,
        HIGHER_BETTER,
        "care_leaver_count",
        (Part("care_leaver_count", _pairs({"breakdown": total, "care_leaver_age": age})),),
        caveat=_CARE_LEAVER_NOTE,
    )


SHARED_MEASURES: tuple[SharedMeasure, ...] = (
    _from_england(
        "re_referrals",
        "re_referrals",
        PERCENT,
        LOWER_BETTER,
        "rereferral_count",
        (Part("referral_count", _REFERRALS),),
    ),
    _from_england(
        "nfa",
        "nfa",
        PERCENT,
        NO_POLARITY,
        "no_further_action_count",
        (Part("referral_count", _REFERRALS),),
    ),
    _from_england(
        "repeat_cp_plans",
        "repeat_cp_plans",
        PERCENT,
        LOWER_BETTER,
        "CPP_subsequent",
        (Part("CPP_start", _pairs(MEASURES["repeat_cp_plans"].published.filters)),),
    ),
    SharedMeasure(
        "referrals",
        "Referrals received in the year (count)",
        _prefix(C1),
        "referral_count",
        _REFERRALS,
        COUNT,
        NO_POLARITY,
        None,
        caveat=_NOT_PUBLISHED_RATE,
    ),
    SharedMeasure(
        "cin_at31",
        "Children in need on 31 March (count)",
        "b1_children_in_need",
        "At31_episodes",
        _CIN,
        COUNT,
        NO_POLARITY,
        None,
        caveat="Episodes of need open on 31 March, as DfE counts them. " + _NOT_PUBLISHED_RATE,
    ),
    SharedMeasure(
        "cin_rate",
        "Children in need on 31 March, per 10,000 children",
        "dfe_dashboard_cin_rates",
        "At31_episodes_rate",
        (),
        RATE,
        NO_POLARITY,
        None,
        caveat="DfE's own rate (its outcomes and enablers dashboard): episodes of need open on "
        "31 March per 10,000 children under 18, rounded to a whole number. A higher rate is "
        "neither good nor bad in itself.",
    ),
    SharedMeasure(
        "cp_plans_at31",
        "Children on a child protection plan on 31 March (count)",
        "d5_cpps_at31march_by_duration",
        "CPP_At31",
        _CP31,
        COUNT,
        NO_POLARITY,
        None,
        caveat="A rise in plans can be good or bad. " + _NOT_PUBLISHED_RATE,
    ),
    SharedMeasure(
        "cla_rate",
        "Children looked after on 31 March, per 10,000 children",
        _CLA,
        "rate_per_10000",
        _CLA_AT31,
        RATE,
        NO_POLARITY,
        None,
        numerator=Part("children_count", _CLA_AT31),
        denominator=(Part("population_estimate", _CLA_AT31),),
        caveat="DfE's rate per 10,000 children under 18 (ONS mid-year estimates), published "
        "rounded to a whole number. A higher rate is neither good nor bad in itself.",
    ),
    SharedMeasure(
        "cla_starts_rate",
        "Children starting to be looked after in the year, per 10,000 children",
        _CLA,
        "rate_per_10000",
        _CLA_START,
        RATE,
        NO_POLARITY,
        None,
        numerator=Part("children_count", _CLA_START),
        denominator=(Part("population_estimate", _CLA_START),),
        caveat="Children who started a period of care in the year (each child once), per "
        "10,000 children under 18. Neither good nor bad in itself.",
    ),
    _from_england(
        "placements_3plus",
        "placements_3plus",
        PERCENT,
        LOWER_BETTER,
        "children_count",
        (
            Part(
                "children_count",
                _pairs({**_ON_31_MARCH, "placement_stability": "Total children"}),
            ),
        ),
    ),
    SharedMeasure(
        "long_term_stability",
        "Children looked after 2.5 years or more (under 16) living with the same carer for 2 "
        "years (%)",
        _prefix(STABILITY),
        "children_percent",
        _pairs(
            {**_LONG_TERM, "placement_stability": "Living with the same carer for at least 2 years"}
        ),
        PERCENT,
        HIGHER_BETTER,
        None,
        numerator=Part(
            "children_count",
            _pairs(
                {
                    **_LONG_TERM,
                    "placement_stability": "Living with the same carer for at least 2 years",
                }
            ),
        ),
        denominator=(
            Part("children_count", _pairs({**_LONG_TERM, "placement_stability": "Total children"})),
        ),
        caveat="No framework indicator: context for D5.4. Polarity stated here (a longer stay "
        "with one carer is taken as better).",
    ),
    SharedMeasure(
        "school_moves_mid_year",
        "Children looked after on 31 March with a mid-year school move (%)",
        "la_cla_school_moves",
        "percentage",
        _pairs({**_SCHOOL, "school_stability": "With one or more mid-year moves during the year"}),
        PERCENT,
        LOWER_BETTER,
        "D12.1",
        numerator=Part(
            "number",
            _pairs(
                {**_SCHOOL, "school_stability": "With one or more mid-year moves during the year"}
            ),
        ),
        denominator=(Part("number", _pairs({**_SCHOOL, "school_stability": "Total children"})),),
        caveat="Differs: D12.1 is school-age children in the cohort with a change of school "
        "during a term in the last 6 months; DfE counts children looked after on 31 March "
        "with one or more mid-year school moves in the school year.",
    ),
    SharedMeasure(
        "social_worker_changes",
        "Children looked after on 31 March with 3 or more social workers in the year (%)",
        _SW_COUNT,
        "percentage",
        _pairs({**_ON_31_MARCH, "sw_stability": "3 or more social workers during the year"}),
        PERCENT,
        LOWER_BETTER,
        None,
        numerator=Part(
            "number",
            _pairs({**_ON_31_MARCH, "sw_stability": "3 or more social workers during the year"}),
        ),
        denominator=(Part("number", _pairs({**_ON_31_MARCH, "sw_stability": "Total children"})),),
        caveat="No framework indicator. Polarity stated here (fewer changes of social worker "
        "is taken as better). DfE published it for one year only; many authorities are 'x'.",
    ),
    *(
        _care_leavers(what, low, high)
        for what in ("eet", "suitable")
        for low, high in ((17, 18), (19, 21))
    ),
    _from_england(
        "sw_turnover",
        "sw_turnover",
        PERCENT,
        LOWER_BETTER,
        "leavers_fte",
        (Part("inpost_fte"),),
        caveat=MEASURES["sw_turnover"].note + _CSWW_TIME,
    ),
    _from_england(
        "sw_agency",
        "sw_agency",
        PERCENT,
        LOWER_BETTER,
        "agency_fte",
        (Part("agency_fte"), Part("inpost_fte")),
        caveat=MEASURES["sw_agency"].note + _CSWW_TIME,
    ),
    _from_england(
        "sw_vacancy",
        "sw_vacancy",
        PERCENT,
        LOWER_BETTER,
        "vacancy_fte",
        (Part("vacancy_fte"), Part("inpost_fte")),
        caveat=MEASURES["sw_vacancy"].note + _CSWW_TIME,
    ),
    SharedMeasure(
        "sw_caseload",
        "Average caseload of case-holding social workers (cases per FTE)",
        _CSWW,
        "caseload_fte",
        (),
        PER_WORKER,
        NO_POLARITY,
        "A8.5b",
        caveat="DfE: cases held on 30 September ÷ FTE of case-holding social workers; A8.5b "
        "counts children allocated on the last caseload snapshot per FTE of every allocated "
        "worker. Caseloads mean different work in different teams.",
    ),
)
BY_ID: dict[str, SharedMeasure] = {m.id: m for m in SHARED_MEASURES}


def shared_measure(shared_id: str) -> SharedMeasure:
    """The registry entry ``shared_id`` (KeyError naming the known ids when unknown)."""
    try:
        return BY_ID[shared_id]
    except KeyError:
        raise KeyError(f"unknown shared measure {shared_id!r}; known: {', '.join(BY_ID)}") from None


# --- Reading the store ----------------------------------------------------------------------------


def year_of(time_period: object) -> int | None:
    """The end year of an EES time_period: "2025" → 2025, "202425" → 2025 (None otherwise)."""
    text = str(time_period).strip() if time_period is not None else ""
    if text.endswith(".0"):
        text = text[:-2]
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    if re.fullmatch(r"\d{6}", text):
        return int(text[:4]) + 1
    return None


def symbol_meaning(code: object) -> str | None:
    """ "c: confidential (suppressed)" for an EES symbol as published; None for no symbol."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or code is pd.NA:
        return None
    key = str(code).strip().lower().removeprefix("[").removesuffix("]")
    return f"{code}: {EES_SYMBOLS.get(key, 'not published')}"


def _is_zero_symbol(codes: pd.Series) -> pd.Series:
    key = codes.astype("string").str.strip().str.lower().str.strip("[]")
    return key.isin(list(ROUNDS_TO_ZERO)).fillna(False).astype(bool)


def _part_rows(con: duckdb.DuckDBPyConnection, dataset: str, part: Part) -> pd.DataFrame:
    """One row per level, area and period for one published column: the value (0 for "k"),
    the symbol as published. A dataset loaded twice (or two files with the same start) gives
    the most recently loaded row."""
    frame = con.execute(
        """
        SELECT geographic_level, area_code, old_la_code, area_name, time_period,
               value, value_code
        FROM published_statistics
        WHERE starts_with(dataset, $dataset) AND measure = $measure AND breakdown = $breakdown
        QUALIFY row_number() OVER (
            PARTITION BY geographic_level, area_code, time_period
            ORDER BY load_id DESC, dataset DESC) = 1
        """,
        {"dataset": dataset, "measure": part.measure, "breakdown": part.breakdown},
    ).df()
    frame["value"] = frame["value"].astype(float)
    frame.loc[_is_zero_symbol(frame["value_code"]), "value"] = 0.0
    frame["value_code"] = frame["value_code"].astype(object).where(frame["value_code"].notna())
    return frame


_KEYS = ["geographic_level", "area_code", "time_period"]


def _none_for_missing(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Text columns as plain objects with None where missing (not NaN), so that a symbol
    column can be tested with ``if code:``."""
    for column in columns:
        frame[column] = pd.Series(
            [None if pd.isna(v) else v for v in frame[column]], index=frame.index, dtype=object
        )
    return frame


def figures(con: duckdb.DuckDBPyConnection, shared_id: str, threshold: int = 5) -> pd.DataFrame:
    """Every published row of one shared measure (all levels, areas and years), with its
    published counts: columns ``FIGURE_COLUMNS``. ``numerator``/``denominator`` are NaN when not
    published (their symbol in ``numerator_code``/``denominator_code``); a denominator of
    several parts is their sum, missing when any part is."""
    shared = shared_measure(shared_id)
    frame = _part_rows(con, shared.dataset, shared.part)
    frame["numerator"] = np.nan
    frame["numerator_code"] = None
    frame["denominator"] = np.nan
    frame["denominator_code"] = None
    if shared.numerator is not None and shared.denominator and not frame.empty:
        counts = _part_rows(con, shared.dataset, shared.numerator)[[*_KEYS, "value", "value_code"]]
        counts = counts.rename(columns={"value": "numerator", "value_code": "numerator_code"})
        total = None
        for part in shared.denominator:
            rows = _part_rows(con, shared.dataset, part)[[*_KEYS, "value", "value_code"]]
            rows = rows.rename(columns={"value": "d", "value_code": "d_code"})
            if total is None:
                total = rows.rename(columns={"d": "denominator", "d_code": "denominator_code"})
                continue
            total = total.merge(rows, on=_KEYS, how="outer")
            total["denominator"] = total["denominator"] + total["d"]  # NaN when either is
            total["denominator_code"] = total["denominator_code"].where(
                total["denominator_code"].notna(), total["d_code"]
            )
            total = total.drop(columns=["d", "d_code"])
        frame = frame.drop(columns=["numerator", "numerator_code", "denominator"])
        frame = frame.drop(columns=["denominator_code"])
        frame = frame.merge(counts, on=_KEYS, how="left").merge(total, on=_KEYS, how="left")
    frame["old_la_code"] = frame["old_la_code"].map(la_number)
    frame["year"] = frame["time_period"].map(year_of).astype("Int64")
    frame = frame.sort_values(["year", "geographic_level", "area_code"]).reset_index(drop=True)
    columns = ["old_la_code", "area_name", "value_code", "numerator_code", "denominator_code"]
    frame = _hide_small_counts(frame, shared.unit, threshold)
    return _none_for_missing(frame[FIGURE_COLUMNS].copy(), columns)


def _hide_small_counts(frame: pd.DataFrame, unit: str, threshold: int) -> pd.DataFrame:
    """The product's own disclosure rule on top of DfE's: a published count from 1 to the
    threshold (a numerator, its complement, a denominator, or a figure that is itself a
    count) is not shown, nor the figure built on it; it becomes ``c`` like DfE's own
    suppression. Small authorities (the Isles of Scilly, the City of London) are the usual
    case."""

    def small(values: pd.Series) -> pd.Series:
        return ((values > 0) & (values <= threshold)).fillna(False).astype(bool)

    numerator, denominator = frame["numerator"], frame["denominator"]
    hidden = small(numerator) | small(denominator) | small(denominator - numerator)
    if unit == "count":
        hidden |= small(frame["value"])
    if hidden.any():
        frame = frame.copy()
        frame.loc[hidden, ["value", "numerator", "denominator"]] = np.nan
        frame.loc[hidden, "value_code"] = SUPPRESSED
    return frame


def available(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The ids of the shared measures the store has at least one row of, in registry order."""
    found = []
    for shared in SHARED_MEASURES:
        row = con.execute(
            "SELECT 1 FROM published_statistics WHERE starts_with(dataset, $d) "
            "AND measure = $m AND breakdown = $b LIMIT 1",
            {"d": shared.dataset, "m": shared.measure, "b": shared.breakdown},
        ).fetchone()
        if row:
            found.append(shared.id)
    return found


def _latest_year(frame: pd.DataFrame, year: int | None) -> int | None:
    """The given year, or the latest year with any figure for a local authority."""
    if year is not None:
        return int(year)
    local = frame[(frame["geographic_level"] == LOCAL_AUTHORITY) & frame["value"].notna()]
    years = local["year"].dropna()
    return int(years.max()) if len(years) else None


# --- Series ---------------------------------------------------------------------------------------


def _comparator_figures(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The comparators × every year of ``frame``: authorities matched by DfE number, the region
    and England by level and area code. A comparator with no row in a year has no value and no
    symbol."""
    years = (
        frame.dropna(subset=["year"])
        .sort_values("time_period")
        .drop_duplicates("year", keep="last")[["year", "time_period"]]
    )
    grid = rows.reset_index(drop=True).assign(_order=lambda f: range(len(f)))
    grid = grid.drop(columns=["closeness"]).merge(years, how="cross")
    values = ["value", "value_code", "numerator", "denominator"]
    is_local = grid["role"].isin([AUTHORITY, NEIGHBOUR])
    local = frame[frame["geographic_level"] == LOCAL_AUTHORITY].sort_values("area_code")
    local = local.drop_duplicates(["old_la_code", "year"], keep="last")
    local = local[["old_la_code", "year", *values, "area_name"]]
    local = local.rename(columns={"area_name": "published_name"})
    areas = frame[frame["geographic_level"].isin([REGIONAL, NATIONAL])]
    areas = areas.drop_duplicates(["geographic_level", "area_code", "year"], keep="last")
    areas = areas[["geographic_level", "area_code", "year", *values]]
    parts = [
        grid[is_local].merge(local, on=["old_la_code", "year"], how="left"),
        grid[~is_local].merge(areas, on=["geographic_level", "area_code", "year"], how="left"),
    ]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if len(grid) else grid
    if out.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    if "published_name" in out:
        out["area_name"] = out["area_name"].where(out["area_name"].notna(), out["published_name"])
    out = out.sort_values(["_order", "year"], kind="stable")
    out["year"] = out["year"].astype(int)
    out["rank"] = out["rank"].astype(int)
    out["n_with_figure"] = np.nan
    for column in values:
        if column not in out:
            out[column] = np.nan
    return out[SERIES_COLUMNS].reset_index(drop=True)


def _with_average(frame: pd.DataFrame, n_neighbours: int) -> pd.DataFrame:
    """Add the neighbours' average (role ``neighbours_average``): each year, the mean of the
    neighbours that have a figure, named with how many of them had one."""
    neighbours = frame[frame["role"] == NEIGHBOUR]
    if n_neighbours == 0 or frame.empty:
        return frame
    rows = []
    for (year, time_period), group in neighbours.groupby(["year", "time_period"], sort=True):
        values = group["value"].dropna()
        rows.append(
            {
                "role": NEIGHBOURS_AVERAGE,
                "rank": 0,
                "area_name": f"Neighbours' average ({len(values)} of {n_neighbours} with a figure)",
                "old_la_code": None,
                "time_period": time_period,
                "year": int(year),
                "value": float(values.mean()) if len(values) else np.nan,
                "value_code": None,
                "numerator": np.nan,
                "denominator": np.nan,
                "n_with_figure": len(values),
            }
        )
    out = pd.concat([frame, pd.DataFrame(rows, columns=SERIES_COLUMNS)], ignore_index=True)
    order = out["role"].map(ROLE_ORDER)
    out = out.assign(_order=order).sort_values(["_order", "rank", "year"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def _series_from(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    out = _comparator_figures(frame, rows)
    out = _with_average(out, int((rows["role"] == NEIGHBOUR).sum()))
    return _none_for_missing(out, ["area_name", "old_la_code", "value_code"])


def series(
    con: duckdb.DuckDBPyConnection,
    shared_id: str,
    old_la_code: str,
    years=None,
    *,
    threshold: int = 5,
) -> pd.DataFrame:
    """Every published year of one shared measure for the authority, its neighbours (rank 1-10),
    the neighbours' average, its region and England, in that order: columns ``SERIES_COLUMNS``.

    ``value`` is the published figure (NaN for a symbol; 0 for "k"), ``value_code`` the symbol
    as published (None for a number, or when the area has no row that year). ``numerator`` and
    ``denominator`` are the published counts when the registry names them. The neighbours'
    average is the plain mean of the neighbours with a figure; ``n_with_figure`` says how many
    (and its ``area_name`` says so in words). ``years`` (an iterable of end years) keeps only
    those years."""
    frame = figures(con, shared_id, threshold)
    if years is not None:
        frame = frame[frame["year"].isin([int(y) for y in years])]
    return _series_from(frame, comparators(con, old_la_code))


# --- Position among England's authorities ---------------------------------------------------------


def quartile_band(value, q1: float, median: float, q3: float, polarity: str) -> str | None:
    """The authority's quarter of England's authorities, named in the direction of the measure's
    polarity ("best quarter" … "worst quarter"); None without polarity or value.

    Lower is better: best when value ≤ Q1, then ≤ median, then ≤ Q3, else worst. Higher is
    better: best when value ≥ Q3, then ≥ median, then ≥ Q1, else worst (a value on a quartile
    goes to the better side)."""
    if polarity not in (HIGHER_BETTER, LOWER_BETTER) or value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if polarity == LOWER_BETTER:
        index = 0 if value <= q1 else 1 if value <= median else 2 if value <= q3 else 3
    else:
        index = 0 if value >= q3 else 1 if value >= median else 2 if value >= q1 else 3
    return BANDS[index]


@dataclass(frozen=True)
class Position:
    """The authority among England's local authorities in one year. Quartiles are of the
    authorities with a figure (linear interpolation between authorities); ``band`` is only set
    when the measure has a polarity. There is deliberately no rank."""

    shared_id: str
    label: str
    unit: str
    polarity: str
    year: int | None
    time_period: str | None
    n_authorities: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    england: float
    england_code: str | None
    value: float
    value_code: str | None
    band: str | None


def _position_from(shared: SharedMeasure, frame: pd.DataFrame, code: str, year: int | None):
    year = _latest_year(frame, year)
    rows = frame[frame["year"] == year] if year is not None else frame.iloc[0:0]
    local = rows[rows["geographic_level"] == LOCAL_AUTHORITY]
    local = local.sort_values("area_code").drop_duplicates("old_la_code", keep="last")
    values = local["value"].dropna().to_numpy(dtype=float)
    nan = float("nan")
    q = np.quantile(values, [0, 0.25, 0.5, 0.75, 1]) if len(values) else [nan] * 5
    national = rows[rows["geographic_level"] == NATIONAL]
    own = local[local["old_la_code"] == la_number(code)]
    value = float(own["value"].iloc[0]) if len(own) else nan
    value_code = own["value_code"].iloc[0] if len(own) else None
    return Position(
        shared_id=shared.id,
        label=shared.label,
        unit=shared.unit,
        polarity=shared.polarity,
        year=year,
        time_period=str(rows["time_period"].iloc[0]) if len(rows) else None,
        n_authorities=len(values),
        minimum=float(q[0]),
        q1=float(q[1]),
        median=float(q[2]),
        q3=float(q[3]),
        maximum=float(q[4]),
        england=float(national["value"].iloc[0]) if len(national) else nan,
        england_code=national["value_code"].iloc[0] if len(national) else None,
        value=value,
        value_code=value_code,
        band=quartile_band(value, q[1], q[2], q[3], shared.polarity) if len(values) else None,
    )


def position(
    con: duckdb.DuckDBPyConnection,
    shared_id: str,
    old_la_code: str,
    year: int | None = None,
    *,
    threshold: int = 5,
) -> Position:
    """The authority's place among England's authorities for ``year`` (default: the latest year
    with a local-authority figure): how many authorities have a figure, min, Q1, median, Q3, max,
    England's value, the authority's value (or symbol) and its quartile band (only when the
    measure has a polarity). Never a rank: one indicator does not rank authorities."""
    shared = shared_measure(shared_id)
    return _position_from(shared, figures(con, shared_id, threshold), old_la_code, year)


# --- Compared with England, and the trend ---------------------------------------------------------


def trend_test(years, numerators, denominators) -> tuple[float, float]:
    """Chi-squared test for trend in proportions (Cochran-Armitage), years as scores.

    With r_i of n_i in year x_i, N = Σn_i, p = Σr_i / N and x̄ = Σn_i·x_i / N:
    T = Σ r_i·(x_i − x̄), Var(T) = p(1 − p)·Σ n_i·(x_i − x̄)², z = T / √Var(T) (χ² = z² on
    1 degree of freedom). Returns (z, two-sided p). z > 0: the proportion rises over the years.
    (z = 0, p = 1) when nothing varies."""
    x = np.asarray(years, dtype=float)
    r = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    total = n.sum()
    if total <= 0 or len(x) < 2:
        return 0.0, 1.0
    p = r.sum() / total
    centre = (n * x).sum() / total
    statistic = (r * (x - centre)).sum()
    variance = p * (1 - p) * (n * (x - centre) ** 2).sum()
    if variance <= 0:
        return 0.0, 1.0
    z = statistic / math.sqrt(variance)
    return float(z), math.erfc(abs(z) / math.sqrt(2))


@dataclass(frozen=True)
class Flag:
    """The authority compared with England in one year and its recent trend.

    ``comparison``: "better", "similar" or "worse" than England (outside or within the 95%
    funnel limits around England's value at the authority's denominator), None when it cannot be
    tested. ``trend``: "improving", "no significant change" or "getting worse" (chi-squared test
    for trend over ``first_year``-``last_year``, p < 0.05), None when it cannot be tested.
    ``label`` is one of the four combinations (``WORSE_AND_GETTING_WORSE`` …) or None;
    ``worse_and_getting_worse`` is the Fingertips-style flag; ``words`` explains it all."""

    shared_id: str
    year: int | None
    value: float
    england: float
    comparison: str | None
    funnel_position: str | None
    trend: str | None
    p_trend: float | None
    first_year: int | None
    last_year: int | None
    label: str | None
    worse_and_getting_worse: bool
    words: str


def _shown(value, unit: str, code=None) -> str:
    """A figure as text: the symbol when there is one (and no number), else the number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return str(code) if code else "–"
    if code and str(code).strip().lower() in ROUNDS_TO_ZERO:
        return str(code)
    if unit == PERCENT:
        return f"{round(float(value), 1):g}%"
    if unit in (RATE, PER_WORKER):
        return f"{round(float(value), 1):g}"
    return f"{float(value):,.0f}"


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def _proportion(row, scale: float) -> float:
    """numerator ÷ denominator when both are published, else the published value ÷ scale."""
    num, den = row.get("numerator", np.nan), row.get("denominator", np.nan)
    if pd.notna(num) and pd.notna(den) and den > 0:
        return float(num) / float(den)
    value = row.get("value", np.nan)
    return float(value) / scale if pd.notna(value) else float("nan")


def _england_target(rows: pd.DataFrame, scale: float) -> tuple[float, str]:
    """England's value as a proportion (or rate per child) and where it came from."""
    national = rows[rows["geographic_level"] == NATIONAL]
    if national.empty:
        return float("nan"), "no England figure"
    row = national.iloc[0].to_dict()
    if pd.notna(row["numerator"]) and pd.notna(row["denominator"]) and row["denominator"] > 0:
        return float(row["numerator"]) / float(row["denominator"]), "England's published counts"
    if pd.notna(row["value"]):
        return float(row["value"]) / scale, "England's published value"
    return float("nan"), "no England figure"


def _no_flag(shared: SharedMeasure, words: str) -> Flag:
    nan = float("nan")
    return Flag(shared.id, None, nan, nan, None, None, None, None, None, None, None, False, words)


def _flag_from(
    shared: SharedMeasure, frame: pd.DataFrame, code: str, year: int | None, trend_years: int
) -> Flag | None:
    if not shared.has_polarity:
        return None
    year = _latest_year(frame, year)
    if year is None:
        return _no_flag(shared, "No published figures for England's authorities in the store.")
    code = la_number(code)
    local = frame[(frame["geographic_level"] == LOCAL_AUTHORITY) & (frame["old_la_code"] == code)]
    local = local.sort_values("area_code").drop_duplicates("year", keep="last")
    rows = frame[frame["year"] == year]
    own = local[local["year"] == year]
    nan = float("nan")
    value = float(own["value"].iloc[0]) if len(own) else nan
    value_code = own["value_code"].iloc[0] if len(own) else None
    national = rows[rows["geographic_level"] == NATIONAL]
    england = float(national["value"].iloc[0]) if len(national) else nan
    kind = shared.funnel_kind
    scale = SCALE.get(shared.unit, 1.0)
    worse_side = "above" if shared.polarity == LOWER_BETTER else "below"

    # Compared with England: the funnel's 95% limits around England at the authority's size.
    comparison = place = None
    figures_text = (
        f"{_shown(value, shared.unit, value_code)} against {_shown(england, shared.unit)}"
    )
    if kind is None:
        compared = f"Cannot be compared with England ({figures_text}): no counts are published"
    elif own.empty or pd.isna(own["denominator"].iloc[0]) or pd.isna(value):
        missing = value_code or (own["denominator_code"].iloc[0] if len(own) else None)
        why = f"'{missing}'" if missing else "no figure"
        compared = f"Cannot be compared with England in {year} ({why})"
    else:
        target, _ = _england_target(rows, scale)
        row = own.iloc[0].to_dict()
        place = funnels.classify(kind, _proportion(row, scale), float(row["denominator"]), target)
        if place is None:
            compared = f"Cannot be compared with England ({figures_text})"
        elif place == funnels.WITHIN:
            comparison = "similar"
            compared = f"Similar to England ({figures_text}, within the 95% funnel limits)"
        else:
            comparison = "worse" if place.startswith(worse_side) else "better"
            compared = (
                f"{comparison.capitalize()} than England ({figures_text}, outside the 95% "
                "funnel limits)"
            )

    # The trend: the years ``year - trend_years + 1`` to ``year`` that have counts (at least
    # MIN_TREND_YEARS of them, ``year`` among them).
    trend = p_trend = first = last = None
    window = (local["year"] <= year) & (local["year"] > year - trend_years)
    counted = local[window & local["numerator"].notna() & local["denominator"].notna()]
    counted = counted[counted["denominator"] > 0].sort_values("year")
    if kind != "proportion":
        trended = "the trend cannot be tested (no counts are published)"
    elif counted.empty or int(counted["year"].iloc[-1]) != year:
        trended = f"the trend cannot be tested ({year} has no published counts)"
    elif len(counted) < MIN_TREND_YEARS:
        trended = (
            f"the trend cannot be tested (fewer than {MIN_TREND_YEARS} of the years "
            f"{year - trend_years + 1}-{year} have counts published)"
        )
    else:
        first, last = int(counted["year"].iloc[0]), int(counted["year"].iloc[-1])
        z, p_trend = trend_test(counted["year"], counted["numerator"], counted["denominator"])
        rising = z > 0
        if p_trend >= SIGNIFICANCE:
            trend = "no significant change"
        elif rising == (shared.polarity == LOWER_BETTER):
            trend = "getting worse"
        else:
            trend = "improving"
        gaps = sorted(set(range(first, last + 1)) - {int(y) for y in counted["year"]})
        span = f"{first}-{last}" + (f" ({', '.join(map(str, gaps))} not published)" if gaps else "")
        if trend == "no significant change":
            trended = f"no significant change over {span} ({_p_text(p_trend)})"
        else:
            direction = "rising" if rising else "falling"
            trended = f"{trend} over {span} ({direction}, {_p_text(p_trend)})"
    label = {
        ("worse", "getting worse"): WORSE_AND_GETTING_WORSE,
        ("worse", "improving"): WORSE_BUT_IMPROVING,
        ("better", "improving"): BETTER_AND_IMPROVING,
        ("better", "getting worse"): BETTER_BUT_GETTING_WORSE,
    }.get((comparison, trend))
    joiner = " and " if trend in ("getting worse", "improving") else "; "
    if trend in ("getting worse", "improving") and comparison in ("worse", "better"):
        same_way = (comparison == "worse") == (trend == "getting worse")
        joiner = " and " if same_way else " but "
    words = f"{compared}{joiner}{trended}."
    return Flag(
        shared_id=shared.id,
        year=year,
        value=value,
        england=england,
        comparison=comparison,
        funnel_position=place,
        trend=trend,
        p_trend=p_trend,
        first_year=first,
        last_year=last,
        label=label,
        worse_and_getting_worse=label == WORSE_AND_GETTING_WORSE,
        words=words,
    )


def worse_and_getting_worse(
    con: duckdb.DuckDBPyConnection,
    shared_id: str,
    old_la_code: str,
    year: int | None = None,
    *,
    trend_years: int = TREND_YEARS,
    threshold: int = 5,
) -> Flag | None:
    """The Fingertips-style flag for a measure with polarity (None when it has none).

    Compared with England in ``year`` (default: the latest): the authority's proportion (its
    published numerator ÷ denominator) against the exact binomial funnel limits (95%) around
    England's proportion (England's numerator ÷ denominator) at the authority's denominator;
    outside on the bad side is "worse". Trend: the chi-squared test for trend (``trend_test``)
    on the authority's published counts in the years ``year - trend_years + 1`` to ``year``
    (at least 3 of them with counts, ``year`` among them); significant at p < 0.05, its
    direction read through the polarity. ``Flag.words`` says it all in a sentence."""
    shared = shared_measure(shared_id)
    return _flag_from(shared, figures(con, shared_id, threshold), old_la_code, year, trend_years)


# --- Funnel plot ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """One year's funnel plot of England's authorities.

    ``points``: one row per authority with a figure and a denominator — old_la_code,
    area_name, value (as published), numerator, denominator, plotted (numerator ÷ denominator ×
    the unit's scale: what is placed), position (``funnel.POSITIONS``), role ("authority",
    "neighbour" or "other"). ``limits``: n, low_95, high_95, low_998, high_998 at sizes from the
    smallest to the largest denominator (in the unit: % or per 10,000). ``apart``: authorities
    that cannot be placed — old_la_code, area_name, part ("value", "numerator" or
    "denominator"), value_code, meaning (e.g. "c: confidential (suppressed)")."""

    shared_id: str
    year: int
    kind: str
    unit: str
    target: float
    target_from: str
    points: pd.DataFrame
    limits: pd.DataFrame
    apart: pd.DataFrame


POINT_COLUMNS = ["old_la_code", "area_name", "value", "numerator", "denominator", "plotted"]
POINT_COLUMNS += ["position", "role"]
APART_COLUMNS = ["old_la_code", "area_name", "part", "value_code", "meaning"]


def _funnel_from(
    shared: SharedMeasure, frame: pd.DataFrame, year: int | None, rows: pd.DataFrame
) -> Funnel | None:
    kind = shared.funnel_kind
    if kind is None:
        return None
    year = _latest_year(frame, year)
    scale = SCALE[shared.unit]
    this = frame[frame["year"] == year]
    target, target_from = _england_target(this, scale)
    local = this[this["geographic_level"] == LOCAL_AUTHORITY]
    local = local.sort_values("area_code").drop_duplicates("old_la_code", keep="last")
    roles = {}
    for item in rows.itertuples(index=False):
        if item.role in (AUTHORITY, NEIGHBOUR):
            roles[item.old_la_code] = item.role
    points, apart = [], []
    for row in local.to_dict("records"):
        placed = pd.notna(row["numerator"]) and pd.notna(row["denominator"])
        placed = placed and row["denominator"] > 0
        if not placed:
            for part in ("value", "numerator", "denominator"):
                code = row[f"{part}_code"]
                if code:
                    apart.append(
                        {
                            "old_la_code": row["old_la_code"],
                            "area_name": row["area_name"],
                            "part": part,
                            "value_code": code,
                            "meaning": symbol_meaning(code),
                        }
                    )
                    break
            else:
                apart.append(
                    {
                        "old_la_code": row["old_la_code"],
                        "area_name": row["area_name"],
                        "part": "denominator",
                        "value_code": None,
                        "meaning": "no figure published",
                    }
                )
            continue
        proportion = float(row["numerator"]) / float(row["denominator"])
        at = funnels.limits(kind, target, float(row["denominator"]))
        points.append(
            {
                "old_la_code": row["old_la_code"],
                "area_name": row["area_name"],
                "value": row["value"],
                "numerator": row["numerator"],
                "denominator": row["denominator"],
                "plotted": proportion * scale,
                "position": funnels.position(proportion, at),
                "role": roles.get(row["old_la_code"], "other"),
            }
        )
    points = _none_for_missing(pd.DataFrame(points, columns=POINT_COLUMNS), ["position"])
    if len(points) and not math.isnan(target):
        sizes = funnels.funnel_sizes(points["denominator"].min(), points["denominator"].max())
        curves = funnels.funnel_curves(kind, target, sizes)
        for column in ("low_95", "high_95", "low_998", "high_998"):
            curves[column] = curves[column] * scale
    else:
        curves = pd.DataFrame(columns=["n", "low_95", "high_95", "low_998", "high_998"])
    return Funnel(
        shared_id=shared.id,
        year=int(year) if year is not None else None,
        kind=kind,
        unit=shared.unit,
        target=target * scale,
        target_from=target_from,
        points=points,
        limits=curves,
        apart=_none_for_missing(pd.DataFrame(apart, columns=APART_COLUMNS), ["value_code"]),
    )


def funnel(
    con: duckdb.DuckDBPyConnection,
    shared_id: str,
    year: int | None,
    old_la_code: str,
    *,
    threshold: int = 5,
) -> Funnel | None:
    """Every authority of ``year`` (None: the latest) on a funnel plot: England's value as the
    target (from England's published counts), the 95% and 99.8% limits (``framework.engine.
    funnel``: exact binomial for a percentage, Poisson for a rate per 10,000) across the range
    of denominators, each authority's position, the chosen authority and its neighbours marked,
    and the authorities with a symbol listed apart. None for a measure without published counts
    (a count or an average)."""
    shared = shared_measure(shared_id)
    return _funnel_from(
        shared, figures(con, shared_id, threshold), year, comparators(con, old_la_code)
    )


# --- The overview table ---------------------------------------------------------------------------


def overview_table(
    con: duckdb.DuckDBPyConnection,
    old_la_code: str,
    year: int | None = None,
    *,
    threshold: int = 5,
) -> pd.DataFrame:
    """One row per shared measure the store holds (registry order): columns ``OVERVIEW_COLUMNS``.

    For the measure's latest year (or ``year``): the authority's value and symbol, ``shown``
    (its figure as text, or the symbol), England, the region, the neighbours' average (with how
    many of ``neighbours`` had a figure), the quartile band (only with polarity), the flag
    (``Flag.label``) and its words, and the framework indicator it corresponds to."""
    rows = comparators(con, old_la_code)
    code = la_number(old_la_code)
    out = []
    for shared in SHARED_MEASURES:
        frame = figures(con, shared.id, threshold)
        if frame.empty:
            continue
        chosen = _latest_year(frame, year)
        if chosen is None:
            continue
        table = _series_from(frame[frame["year"] == chosen], rows)
        by_role = {role: group for role, group in table.groupby("role")}

        def first(role, column="value", by_role=by_role):
            group = by_role.get(role)
            return group[column].iloc[0] if group is not None and len(group) else np.nan

        where = _position_from(shared, frame, code, chosen)
        flag = _flag_from(shared, frame, code, chosen, TREND_YEARS)
        value_code = first(AUTHORITY, "value_code")
        value_code = value_code if isinstance(value_code, str) else None
        time_period = table["time_period"].iloc[0] if len(table) else None
        n_with = first(NEIGHBOURS_AVERAGE, "n_with_figure")
        out.append(
            {
                "shared_id": shared.id,
                "label": shared.label,
                "unit": shared.unit,
                "indicator_id": shared.indicator,
                "polarity": shared.polarity,
                "year": chosen,
                "time_period": time_period,
                "value": first(AUTHORITY),
                "value_code": value_code,
                "shown": _shown(first(AUTHORITY), shared.unit, value_code),
                "england": first(ENGLAND),
                "region": first(REGION),
                "neighbours_average": first(NEIGHBOURS_AVERAGE),
                "neighbours_with_figure": None if pd.isna(n_with) else int(n_with),
                "neighbours": int((rows["role"] == NEIGHBOUR).sum()),
                "band": where.band,
                "flag": flag.label if flag else None,
                "flag_words": flag.words if flag else None,
                "caveat": shared.caveat,
            }
        )
    table = pd.DataFrame(out, columns=OVERVIEW_COLUMNS)
    return _none_for_missing(table, ["indicator_id", "value_code", "band", "flag", "flag_words"])


__all__ = [
    "BANDS",
    "BETTER_AND_IMPROVING",
    "BETTER_BUT_GETTING_WORSE",
    "BY_ID",
    "COUNT",
    "HIGHER_BETTER",
    "LOWER_BETTER",
    "NEIGHBOURS_AVERAGE",
    "NO_POLARITY",
    "OVERVIEW_COLUMNS",
    "PERCENT",
    "PER_WORKER",
    "RATE",
    "SERIES_COLUMNS",
    "SHARED_MEASURES",
    "WORSE_AND_GETTING_WORSE",
    "WORSE_BUT_IMPROVING",
    "Flag",
    "Funnel",
    "Part",
    "Position",
    "SharedMeasure",
    "available",
    "figures",
    "funnel",
    "overview_table",
    "position",
    "quartile_band",
    "series",
    "shared_measure",
    "symbol_meaning",
    "trend_test",
    "worse_and_getting_worse",
    "year_of",
]
