"""The demo (or any) authority beside England's authorities, for the measures both share.

DfE publishes, per local authority, a handful of measures the framework also computes: re-
referrals, referrals with no further action, repeat child protection plans, care leavers'
activity and accommodation, placement stability and the social work workforce (turnover,
agency, vacancies). The published files are the Explore Education Statistics (EES) CSVs in
``../shared/reference/csc_la_stats`` (see ``../shared/reference/PROVENANCE.md``); they are read
where they are and never copied into the project.

* ``PUBLISHED`` says, for each shared measure, where its figure is: the file, the filter on its
  breakdown columns and the measure column (or a ratio of summed counts when DfE publishes no
  percentage for the grouping the engine uses).
* ``england_range`` gives, over the Local authority rows of the file's latest year, the number
  of authorities with a figure, min, 10th percentile, median, 90th percentile, max, and the
  England (National) value.
* ``comparison`` puts the store's figures beside them: the engine's indicator (from ``report``)
  and, where the engine's definition is not DfE's, the DfE definition computed directly from
  the store by the small SQL functions below (labelled "DfE definition, from the demo store").

``python -m framework.engine.england`` prints the comparison for the default demo store as a
Markdown table (docs/demo-against-england.md).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from framework.disclosure import is_small
from framework.engine.measures.domain_b import CARE_EPISODES, FAR
from framework.engine.measures.domain_d_returns import (
    EET_ACTIVITIES,
    NOT_LEAVER_DENOMINATOR,
    TEMPORARY_PLACEMENTS,
)
from framework.engine.periods import Period

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "csc_la_stats"
LOCAL_AUTHORITY = "Local authority"
NATIONAL = "National"
# EES symbols: "k" is a figure that rounds to 0 (kept as 0); "c" suppressed, "x" not available,
# "z" not applicable, "u" low reliability, "low" are not figures (left out).
ROUNDS_TO_ZERO = "k"
DFE_FROM_STORE = "DfE definition, from the demo store"

# --- What DfE publishes ------------------------------------------------------------------------

C1 = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
D3 = "d3_cpps_subsequent_plan_2013_to_2025.csv"
ACTIVITY = "la_care_leavers_activity.csv"
ACCOMMODATION = "la_care_leavers_accommodation_suitability.csv"
STABILITY = "la_cla_placement_stability.csv"
CSWW = "csww_indicators_2017_to_2025.csv"

EET = "Total in education, employment or training"
SUITABLE = "Accommodation considered suitable"


@dataclass(frozen=True)
class Published:
    """Where one DfE figure is: ``file``, rows where each ``filters`` column equals its value,
    and the percentage in ``column``. With ``denominator`` the figure is instead 100 × the sum
    of ``column`` (a count) over the ``filters`` rows ÷ its sum over the ``denominator`` rows
    (the same authority and year); an authority with any count suppressed has no figure."""

    label: str
    file: str
    filters: dict[str, str]
    column: str
    denominator: dict[str, str] | None = None


@dataclass(frozen=True)
class Shared:
    """One shared measure: the DfE figure and the framework indicator that serves it."""

    measure: str
    published: Published
    indicator: str
    note: str  # how the engine's definition relates to DfE's ("": no engine row, by age only)
    same_definition: bool = False
    dfe_from_store: str | None = None  # key for ``dfe_from_store``: DfE's definition, from SQL
    dfe_note: str = ""


_OC3_SAME = (
    "Same definition as DfE (OC3 rows of the year, leaving out care leavers who died or "
    "returned home; not known counts as not)"
)


def _care_leavers(what: str, file: str, breakdown: str, total: str, indicator: str) -> tuple:
    """A care-leaver measure three ways: DfE's two age groups (against the DfE definition by
    age from the store) and ages 17 to 21 together, as the engine's indicator counts them
    (against DfE's counts summed over both age groups)."""
    words = {"eet": "in education, employment or training", "suitable": "in suitable accommodation"}
    by_age = tuple(
        Shared(
            f"care_leavers_{what}_{low}_{high}",
            Published(
                f"Care leavers aged {low}-{high} {words[what]} (%)",
                file,
                {"care_leaver_age": f"{low} to {high} years", "breakdown": breakdown},
                "care_leaver_percent",
            ),
            indicator,
            "",
            dfe_from_store=f"{what} {low} {high}",
            dfe_note=f"{_OC3_SAME}; care leavers aged {low} to {high} on 31 March.",
        )
        for low, high in ((17, 18), (19, 21))
    )
    together = Shared(
        f"care_leavers_{what}_17_21",
        Published(
            f"Care leavers aged 17-21 {words[what]} (% from DfE's counts)",
            file,
            {"breakdown": breakdown},
            "care_leaver_count",
            denominator={"breakdown": total},
        ),
        indicator,
        f"{_OC3_SAME}; ages 17 to 21 together, against DfE's counts of both age groups "
        "summed (an authority with a suppressed count is left out).",
        same_definition=True,
    )
    return (*by_age, together)


_CSWW_NOTE = (
    "DfE's time_period 2025 is the CSWW at 30 September 2025; the demo's 2024-25 figure is "
    "its CSWW at 30 September 2024 (the return inside the financial year)."
)
_ENGINE_WORKFORCE = (
    "The engine prefers the authority's own HR records (every staff level, financial year); "
    "the demo has them, so this is not the CSWW's social workers. "
)

SHARED: tuple[Shared, ...] = (
    Shared(
        "re_referrals",
        Published(
            "Referrals within 12 months of a previous referral (%)",
            C1,
            {"category": "Referrals and Re-referrals"},
            "rereferral_percent",
        ),
        "B2.1",
        "Differs: B2.1 counts a re-referral only when the earlier referral (in the 365 days "
        "before) led to no service; DfE counts any previous referral in the 12 months before.",
        dfe_from_store="re_referrals",
        dfe_note="Referrals received in the year for a child with another referral in the "
        "12 months before, out of all referrals received in the year.",
    ),
    Shared(
        "nfa",
        Published(
            "Referrals with no further action (%)",
            C1,
            {"category": "Referrals and Re-referrals"},
            "no_further_action_percent",
        ),
        "B1.2",
        "Same definition as DfE (ReferralNFA true, out of referrals received in the year).",
        same_definition=True,
    ),
    Shared(
        "repeat_cp_plans",
        Published(
            "CP plans started that were a second or subsequent plan (%)",
            D3,
            {"category": "Child Protection Plans which are a second or subsequent plan"},
            "CPP_subsequent_percent",
        ),
        "B3.3",
        "Same definition as DfE (number of previous plans 1 or more, out of plans started "
        "in the year).",
        same_definition=True,
    ),
    *_care_leavers("eet", ACTIVITY, EET, "Total", "D13.3"),
    *_care_leavers("suitable", ACCOMMODATION, SUITABLE, "Suitability total", "D3.1"),
    Shared(
        "placements_3plus",
        Published(
            "Children looked after on 31 March with 3 or more placements in the year (%)",
            STABILITY,
            {
                "cla_group": "CLA on 31 March",
                "placement_stability": "With 3 or more placements during the year",
            },
            "children_percent",
        ),
        "D5.4",
        "Differs: D5.4 is children looked after in the last 6 months with an unplanned "
        "change of carer in them; DfE counts all placements (planned or not) in the whole "
        "year, for children looked after on 31 March.",
        dfe_from_store="placements_3plus",
        dfe_note="Children looked after on 31 March (short breaks V3/V4 left out) with 3 or "
        "more placements in the year: the placement held on 1 April and each episode starting "
        "in the year with a new carer (RNE S, P or B); temporary placements (T0-T4) are not "
        "counted.",
    ),
    Shared(
        "sw_turnover",
        Published(
            "Social worker turnover rate (FTE, %)",
            CSWW,
            {},
            "turnover_rate_fte",
        ),
        "A7.1",
        _ENGINE_WORKFORCE + "A7.1: employee leavers' FTE ÷ mean FTE in post on 1 April and 31 "
        "March. " + _CSWW_NOTE,
        dfe_from_store="turnover",
        dfe_note="CSWW: FTE of employed social workers who left in the year to 30 September ÷ "
        "FTE of employed social workers in post on 30 September. " + _CSWW_NOTE,
    ),
    Shared(
        "sw_agency",
        Published(
            "Agency social worker rate (FTE, %)",
            CSWW,
            {},
            "agency_rate_fte",
        ),
        "A7.4",
        _ENGINE_WORKFORCE + "A7.4: agency FTE ÷ all FTE in post on 31 March. " + _CSWW_NOTE,
        dfe_from_store="agency",
        dfe_note="CSWW: agency social workers' FTE on 30 September ÷ (agency FTE + employed "
        "social workers' FTE in post on 30 September). " + _CSWW_NOTE,
    ),
    Shared(
        "sw_vacancy",
        Published(
            "Social worker vacancy rate (FTE, %)",
            CSWW,
            {},
            "vacancy_rate_fte",
        ),
        "A7.2",
        _ENGINE_WORKFORCE + "A7.2: vacant FTE ÷ funded establishment FTE on 31 March, every "
        "level. " + _CSWW_NOTE,
        dfe_from_store="vacancy",
        dfe_note="CSWW: vacancies FTE on 30 September ÷ (vacancies FTE + employed social "
        "workers' FTE in post on 30 September). " + _CSWW_NOTE,
    ),
)
MEASURES: dict[str, Shared] = {shared.measure: shared for shared in SHARED}
PUBLISHED: dict[str, Published] = {shared.measure: shared.published for shared in SHARED}

# --- England's authorities ---------------------------------------------------------------------


@cache
def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def _number(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(text.mask(text == ROUNDS_TO_ZERO, "0"), errors="coerce")


def _select(frame: pd.DataFrame, filters: dict[str, str]) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    for column, value in filters.items():
        keep &= frame[column].str.strip() == value
    return frame[keep]


def published_figures(reference_dir: Path, measure: str, year: int | None = None) -> pd.DataFrame:
    """One row per area of ``year`` (default: the file's latest): geographic_level, area code
    (new_la_code, or the country code), la_name and ``value`` (a percentage, NaN when DfE
    gives no figure)."""
    published = MEASURES[measure].published
    frame = _read(Path(reference_dir) / published.file)
    periods = pd.to_numeric(frame["time_period"], errors="coerce")
    year = int(periods.max()) if year is None else year
    frame = frame[periods == year]
    keys = ["geographic_level", "country_code", "region_code", "new_la_code", "la_name"]
    if published.denominator is None:
        rows = _select(frame, published.filters)
        out = rows[keys].copy()
        out["value"] = _number(rows[published.column])
        out["decimals"] = rows[published.column].str.contains(".", regex=False).astype(int)
    else:
        sums = {}
        for name, filters in (("num", published.filters), ("den", published.denominator)):
            rows = _select(frame, filters)
            counts = rows[keys].assign(n=_number(rows[published.column]))
            grouped = counts.groupby(keys, dropna=False)["n"]
            # an authority with any count suppressed has no figure
            sums[name] = grouped.sum().where(grouped.count() == grouped.size())
        out = pd.DataFrame(sums).reset_index()
        out["value"] = 100 * out["num"] / out["den"].where(out["den"] > 0)
        out["decimals"] = 1  # computed here: compared to 1 decimal place
        out = out.drop(columns=["num", "den"])
    out.insert(0, "year", year)
    return out.reset_index(drop=True)


def england_range(reference_dir: Path, measure: str, year: int | None = None) -> dict:
    """England's local authorities on one shared measure, for the file's latest year (or
    ``year``): n authorities with a figure, min, 10th percentile, median, 90th percentile, max
    (linear interpolation between authorities), and the England (National) value, all in %;
    and ``decimals``, the places DfE rounds the authorities' figures to (0 or 1), so that a
    figure is compared as DfE would publish it."""
    figures = published_figures(reference_dir, measure, year)
    authorities = figures.loc[figures["geographic_level"] == LOCAL_AUTHORITY, "value"].dropna()
    national = figures.loc[figures["geographic_level"] == NATIONAL, "value"].dropna()
    published = MEASURES[measure].published
    return {
        "measure": measure,
        "published": published.label,
        "file": published.file,
        "year": int(figures["year"].iloc[0]) if len(figures) else year,
        "n_authorities": int(authorities.size),
        "la_min": float(authorities.min()),
        "la_p10": float(authorities.quantile(0.10)),
        "la_median": float(authorities.median()),
        "la_p90": float(authorities.quantile(0.90)),
        "la_max": float(authorities.max()),
        "england": float(national.iloc[0]) if len(national) else float("nan"),
        "decimals": int(figures["decimals"].max()) if len(figures) else 1,
    }


def as_published(value: float, decimals: int) -> float:
    """``value`` rounded half up to ``decimals`` places, as DfE rounds its percentages."""
    factor = 10**decimals
    return math.floor(value * factor + 0.5) / factor


# --- DfE definitions computed directly from a store ----------------------------------------------


def _fraction(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> tuple[float, float]:
    numerator, denominator = con.execute(query, params).fetchone()
    return float(numerator or 0), float(denominator or 0)


def dfe_re_referrals(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[float, float]:
    """DfE's re-referral rate: referrals received in the period for a child who had another
    referral in the 12 months before this one's date (date - 12 months to date - 1 day), out
    of all referrals received in the period. Returns (numerator, denominator)."""
    return _fraction(
        con,
        """SELECT count(*) FILTER (WHERE EXISTS (
                      SELECT 1 FROM referrals p
                      WHERE p.child_id = n.child_id
                        AND p.referral_date >= n.referral_date - INTERVAL 12 MONTH
                        AND p.referral_date < n.referral_date)),
                  count(*)
           FROM referrals n WHERE n.referral_date BETWEEN $start AND $end""",
        {"start": period.start, "end": period.end},
    )


def dfe_placements_3plus(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[float, float]:
    """DfE's short-term placement stability: children looked after on the period's last day
    (short breaks V3/V4 left out, as everywhere in the engine) with 3 or more placements in
    the period. Placements: the one held on the first day, and each episode starting in the
    period with a new carer (RNE S started to be looked after, P change of carer, B change of
    legal status and carer); temporary placements (T0-T4) are not counted, and a change of
    legal status or address with the same carer (RNE L, T, U) is not a new placement."""
    return _fraction(
        con,
        f"""WITH at_end AS (
                SELECT DISTINCT child_id FROM {CARE_EPISODES} e
                WHERE start_date <= $end AND coalesce(end_date, {FAR}) > $end),
            placements AS (
                SELECT child_id,
                       count(*) FILTER (
                           WHERE (start_date < $start AND coalesce(end_date, {FAR}) >= $start)
                              OR (start_date BETWEEN $start AND $end
                                  AND reason_new_episode IN ('S', 'P', 'B'))) AS n
                FROM {CARE_EPISODES} e
                WHERE coalesce(placement_type, '') NOT IN {TEMPORARY_PLACEMENTS}
                GROUP BY child_id)
            SELECT count(*) FILTER (WHERE coalesce(p.n, 0) >= 3), count(*)
            FROM at_end a LEFT JOIN placements p USING (child_id)""",
        {"start": period.start, "end": period.end},
    )


def dfe_care_leavers(
    con: duckdb.DuckDBPyConnection, period: Period, what: str, ages: tuple[int, int]
) -> tuple[float, float]:
    """DfE's care leaver figures by age: OC3 rows of the period's year for care leavers aged
    ``ages`` (inclusive) on the period's last day (the age on their birthday in the year),
    leaving out those who died or returned home (DIED, RHOM); numerator EET (``what`` "eet")
    or accommodation suitable (``what`` "suitable", ACCOM ending in 1)."""
    condition = {
        "eet": f"upper(o.activity) IN {EET_ACTIVITIES}",
        "suitable": "right(o.accommodation, 1) = '1'",
    }[what]
    return _fraction(
        con,
        f"""SELECT count(*) FILTER (WHERE coalesce({condition}, false)), count(*)
            FROM care_leavers o JOIN children c USING (child_id)
            WHERE o.year = $year
              AND coalesce(upper(o.in_touch), '') NOT IN {NOT_LEAVER_DENOMINATOR}
              AND date_sub('year', c.date_of_birth, $end) BETWEEN $low AND $high""",
        {"year": period.end_year, "end": period.end, "low": ages[0], "high": ages[1]},
    )


def csww_figures(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, float]:
    """The CSWW return inside the period's financial year (reference date 30 September of its
    first calendar year), as DfE computes its headline measures from it: qualified children and
    families social workers of every role (the CSWW holds no one else).

    * in post: employed (non-agency) workers' FTE on 30 September (FTE30);
    * leavers: employed workers whose role ended in the year to 30 September, at their FTE;
    * agency: agency workers' FTE on 30 September (worker rows; the return's authority-level
      agency FTE when it has no agency worker rows);
    * vacancies: the return's vacancies FTE.

    Turnover = leavers ÷ in post; agency rate = agency ÷ (agency + in post); vacancy rate =
    vacancies ÷ (vacancies + in post)."""
    csww_year = period.end_year - 1
    first, last = date(csww_year - 1, 10, 1), date(csww_year, 9, 30)
    row = con.execute(
        """SELECT
               sum(fte_30_september) FILTER (WHERE NOT coalesce(agency_worker, FALSE)),
               sum(fte) FILTER (WHERE NOT coalesce(agency_worker, FALSE)
                                  AND role_end_date BETWEEN $first AND $last),
               sum(fte_30_september) FILTER (WHERE coalesce(agency_worker, FALSE))
           FROM workforce_workers WHERE year = $year""",
        {"year": csww_year, "first": first, "last": last},
    ).fetchone()
    in_post, leavers, agency = (float(v) if v is not None else None for v in row)
    returned = con.execute(
        "SELECT vacancies_fte, agency_fte FROM workforce_vacancies WHERE year = $year",
        {"year": csww_year},
    ).fetchone()
    vacancies = returned[0] if returned else None
    if agency is None and returned:
        agency = returned[1]
    return {
        "csww_year": csww_year,
        "in_post": in_post,
        "leavers": (leavers or 0.0) if in_post else None,
        "agency": (agency or 0.0) if in_post else None,
        "vacancies": vacancies,
    }


def dfe_from_store(con: duckdb.DuckDBPyConnection, key: str, period: Period) -> tuple:
    """(numerator, denominator) of a DfE-definition figure computed from the store."""
    if key == "re_referrals":
        return dfe_re_referrals(con, period)
    if key == "placements_3plus":
        return dfe_placements_3plus(con, period)
    if key.startswith(("eet ", "suitable ")):
        what, low, high = key.split()
        return dfe_care_leavers(con, period, what, (int(low), int(high)))
    csww = csww_figures(con, period)
    if csww["in_post"] is None:
        return (float("nan"), float("nan"))
    if key == "turnover":
        return csww["leavers"], csww["in_post"]
    if key == "agency":
        return csww["agency"], csww["agency"] + csww["in_post"]
    if key == "vacancy":
        if csww["vacancies"] is None:
            return (float("nan"), float("nan"))
        return csww["vacancies"], csww["vacancies"] + csww["in_post"]
    raise KeyError(key)


# --- The comparison ------------------------------------------------------------------------------

COMPARISON_COLUMNS = [
    "measure",
    "published",
    "year",
    "demo_figure",
    "indicator_id",
    "demo_numerator",
    "demo_denominator",
    "demo_value",
    "demo_as_published",
    "england",
    "n_authorities",
    "la_min",
    "la_p10",
    "la_median",
    "la_p90",
    "la_max",
    "in_range",
    "in_p10_p90",
    "note",
]


def comparison(
    con: duckdb.DuckDBPyConnection,
    reference_dir: Path = REFERENCE_DIR,
    period: str = "2024-25",
    *,
    year: int | None = None,
    threshold: int = 5,
) -> pd.DataFrame:
    """Each shared measure: England's range (``england_range``) beside the store's figure for
    ``period``, from the engine's indicator and, where DfE defines it differently or by age,
    DfE's definition computed from the store. Values are percentages. ``in_range`` and
    ``in_p10_p90`` compare the store's figure rounded as DfE rounds the authorities' figures
    (``demo_as_published``). The engine's figures go through its disclosure control
    (``threshold``): one it hides has no value here (``demo_figure`` says so)."""
    from framework.engine.run import report

    chosen = Period.parse(period)
    indicators = sorted({s.indicator for s in SHARED})
    results = report(con, period=period, indicators=",".join(indicators), threshold=threshold)
    whole = results[(results["slice"] == "all") & results["category"].isna()]
    engine = whole.set_index("indicator_id")
    rows = []
    for shared in SHARED:
        england = england_range(reference_dir, shared.measure, year)
        figures = []
        if shared.note:
            found = engine.loc[shared.indicator] if shared.indicator in engine.index else None
            hidden = found is not None and bool(found["suppressed"])
            figures.append(
                (
                    f"{shared.indicator} (engine)" + (", hidden: small numbers" if hidden else ""),
                    None if found is None else found["numerator"],
                    None if found is None else found["denominator"],
                    None if found is None or pd.isna(found["value"]) else 100 * found["value"],
                    shared.note,
                )
            )
        if shared.dfe_from_store:
            numerator, denominator = dfe_from_store(con, shared.dfe_from_store, chosen)
            value = 100 * numerator / denominator if denominator else None
            label = DFE_FROM_STORE
            # These counts come straight from the store, not through the aggregator: the same
            # primary suppression applies before they are shown (the workforce figures are FTE
            # sums, not counts of people, and the aggregator's ratio rule hides them alike).
            if any(
                is_small(count, threshold)
                for count in (numerator, denominator, (denominator or 0) - (numerator or 0))
            ):
                numerator = denominator = value = None
                label += ", hidden: small numbers"
            figures.append((label, numerator, denominator, value, shared.dfe_note))
        for label, numerator, denominator, value, note in figures:
            value = None if value is None or pd.isna(value) else float(value)
            shown = None if value is None else as_published(value, england["decimals"])
            rows.append(
                {
                    **{k: england[k] for k in ("measure", "published", "year", "england")},
                    "demo_figure": label,
                    "indicator_id": shared.indicator,
                    "demo_numerator": numerator,
                    "demo_denominator": denominator,
                    "demo_value": value,
                    "demo_as_published": shown,
                    **{
                        k: england[k]
                        for k in ("n_authorities", "la_min", "la_p10", "la_median", "la_p90")
                    },
                    "la_max": england["la_max"],
                    "in_range": None
                    if shown is None
                    else england["la_min"] <= shown <= england["la_max"],
                    "in_p10_p90": None
                    if shown is None
                    else england["la_p10"] <= shown <= england["la_p90"],
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _cell(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, period: str = "2024-25") -> str:
    """The comparison as a Markdown table (percentages to 1 decimal place; the store's numerator
    and denominator beside its figure)."""
    header = (
        f"| DfE measure (DfE year) | Demo figure | Demo {period} | England | LA min | LA p10 | "
        "LA median | LA p90 | LA max | n LAs | Where | Note on definitions |"
    )
    lines = [header, "|" + "---|" * 12]
    for row in frame.itertuples(index=False):
        if row.in_range is None:
            where = "no figure"
        elif row.in_p10_p90:
            where = "p10-p90"
        elif row.in_range:
            where = "in range, outside p10-p90"
        else:
            where = "**outside the range**"
        counts = ""
        if row.demo_denominator is not None and not pd.isna(row.demo_denominator):
            counts = f" ({_count(row.demo_numerator)}/{_count(row.demo_denominator)})"
        cells = [
            f"{row.published} ({row.year})",
            row.demo_figure,
            _cell(row.demo_value) + counts,
            *(_cell(v) for v in (row.england, row.la_min, row.la_p10, row.la_median)),
            *(_cell(v) for v in (row.la_p90, row.la_max)),
            str(row.n_authorities),
            where,
            row.note.replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _count(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):g}"


def main(argv: list[str] | None = None) -> int:
    """Print the comparison for the default demo store (built first when missing)."""
    from framework.config import load_settings
    from framework.store import store

    settings = load_settings()
    if not settings.demo_store.exists():
        from framework.cli import main as cli

        code = cli(["demo-store"])
        if code:
            return code
    period = (argv or sys.argv[1:] or ["2024-25"])[0]
    con = store.connect(settings.demo_store, read_only=True)
    try:
        print(markdown_table(comparison(con, REFERENCE_DIR, period), period))
    finally:
        con.close()
    return 0


__all__ = [
    "DFE_FROM_STORE",
    "MEASURES",
    "PUBLISHED",
    "REFERENCE_DIR",
    "SHARED",
    "as_published",
    "comparison",
    "csww_figures",
    "dfe_care_leavers",
    "dfe_placements_3plus",
    "dfe_re_referrals",
    "england_range",
    "markdown_table",
    "published_figures",
]

if __name__ == "__main__":
    raise SystemExit(main())
