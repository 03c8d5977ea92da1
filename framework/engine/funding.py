"""Funding: what the authority spends on children's social care, per child, and against others.

Two sources, never mixed in one figure:

* the authority's own spend, from the ``finance`` table (the local finance template: outturn and
  budget by category and financial year), divided by its own counts of children: the child
  population aged 0-17 of its small areas (``ref_areas``) and the children of its returns (the
  engine's group membership, ``dimensions.group_members``), counts shown only after disclosure
  control;
* published spend, from DfE's dashboard extract of MHCLG's revenue outturn (RO3, summarised in
  RSX; table ``published_statistics``, measures ``csc_expenditure_gbp_thousands``,
  ``csc_spend_per_child_gbp``...), set beside DfE's published counts of children (Explore
  Education Statistics: referrals, children in need, child protection plans, children looked
  after), for the authority, its statistical neighbours, its region and England.

Years. Spend is per financial year; the published counts are per reporting year, named by the
year in which it ends (31 March). ``year_keys`` holds the one alignment every function uses:
financial year ``2024-25`` = published spending ``2024/25`` = EES reporting year ``2025``
(referrals made in 2024-25; children in need, on a plan or looked after on 31 March 2025).

Spend has no polarity: more is neither better nor worse, so nothing here is coloured or banded
good or bad (see ``CAVEAT``). See docs/funding.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from framework.disclosure import protect_counts
from framework.engine import comparators as comp
from framework.engine.dimensions import group_members
from framework.engine.overview import child_population
from framework.engine.periods import Period
from framework.sources.template_defs import TEMPLATES

CAVEAT = (
    "Spending more is not the same as doing better. The framework's authors note that the "
    "National Audit Office found no link between what authorities spend on children's social "
    "care and how Ofsted judges their services, so read spend beside demand and outcomes, "
    "never as a score. The published figures are MHCLG's revenue outturn (RO3/RSX) as DfE "
    "summarises it; the authority's own figures follow the local finance template's "
    "categories (section 251 headings), which group spending differently, so the two totals "
    "need not agree."
)

CATEGORIES = dict(
    next(c for c in TEMPLATES["finance"].columns if c.name == "category").codes
)  # code -> label, in the template's order
TOTAL = "total"
BASES = ("outturn", "budget")

# Published measures (the dashboard spending extract and the EES files), found by measure name
# (the demo's files have other names than the real ones).
SPEND_TOTAL = "csc_expenditure_gbp_thousands"
SPEND_ALL_SERVICES = "total_service_expenditure_gbp_thousands"
SPEND_SHARE = "csc_share_of_total_pct"
SPEND_POPULATION = "population_under18"
SPEND_PER_CHILD = "csc_spend_per_child_gbp"
SPEND_CLA = "cla_expenditure_gbp_thousands"
SPENDING_MEASURES = (
    SPEND_TOTAL,
    SPEND_ALL_SERVICES,
    SPEND_SHARE,
    SPEND_POPULATION,
    SPEND_PER_CHILD,
    SPEND_CLA,
)
CLA_AT_31 = "Children looked after on 31 March each year"  # cla file, population_type
# Demand: column -> (published measure, population_type filter or None), counts per reporting
# year; the CLA file's row also carries the child population (population_estimate).
DEMAND = {
    "referrals": ("referral_count", None),
    "cin_at31": ("At31_episodes", None),
    "cp_at31": ("CPP_At31", None),
    "cla_at31": ("children_count", CLA_AT_31),
}
DEMAND_LABELS = {
    "referrals": "Referrals in the year",
    "cin_at31": "Children in need on 31 March",
    "cp_at31": "On a child protection plan on 31 March",
    "cla_at31": "Looked after on 31 March",
}
OUTCOMES = {  # column -> (published measure, label)
    "rereferral_pct": ("rereferral_percent", "Re-referrals within 12 months (%)"),
    "repeat_cp_pct": ("CPP_subsequent_percent", "Second or subsequent CP plans (%)"),
}
NEIGHBOUR_AVERAGE = "neighbour_average"


# --- years ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearKeys:
    """One financial year under the names each source gives it."""

    end_year: int  # 2025
    financial: str  # "2024-25": the finance template, the engine's periods
    spending: str  # "2024/25": the published spending extract
    reporting: str  # "2025": EES reporting year, counts on 31 March 2025 or during 2024-25


def year_keys(year: int | str | Period) -> YearKeys:
    """The financial year ``year`` (2025, "2024-25", "2024/25", "202425" or a Period) under
    every source's name for it."""
    end = year.end_year if isinstance(year, Period) else end_year_of(year)
    if end is None:
        raise ValueError(f"{year!r} is not a financial or reporting year")
    return YearKeys(end, f"{end - 1}-{str(end)[-2:]}", f"{end - 1}/{str(end)[-2:]}", str(end))


_SPAN = re.compile(r"^(\d{4})\s*[-/]?\s*(\d{2}|\d{4})$")


def end_year_of(time_period: object) -> int | None:
    """The year a period ends in: "2024/25", "2024-25", "202425" → 2025; "2025" or 2025 → 2025."""
    if time_period is None or (isinstance(time_period, float) and np.isnan(time_period)):
        return None
    text = str(time_period).strip()
    if text.isdigit() and len(text) == 4:
        return int(text)
    match = _SPAN.match(text)
    if not match:
        return None
    first, second = int(match.group(1)), match.group(2)
    end = first + 1
    return end if str(end).endswith(second) else None


# --- the authority's own spend ------------------------------------------------------------------


def spend_over_time(con: duckdb.DuckDBPyConnection, basis: str = "outturn") -> pd.DataFrame:
    """The authority's spend by category and year, with a ``total`` row per year.

    Columns: year ("2024-25"), end_year, category (template code or "total"), label,
    spend_gbp (the chosen ``basis``), outturn_gbp, budget_gbp (missing where none was loaded),
    outturn_minus_budget_gbp (where both exist). Oldest year first, categories in the
    template's order. A year's total budget is shown only when every category with an
    outturn has a budget too."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, not {basis!r}")
    columns = ["year", "end_year", "category", "label", "spend_gbp", "outturn_gbp", "budget_gbp"]
    columns += ["outturn_minus_budget_gbp"]
    raw = con.execute(
        "SELECT year AS end_year, category, basis, sum(spend_gbp) AS gbp FROM finance GROUP BY ALL"
    ).df()
    if raw.empty:
        return pd.DataFrame(columns=columns)
    wide = raw.pivot_table(
        index=["end_year", "category"], columns="basis", values="gbp", aggfunc="sum"
    )
    wide = wide.reindex(columns=list(BASES)).reset_index()
    wide.columns.name = None
    wide = wide.rename(columns={"outturn": "outturn_gbp", "budget": "budget_gbp"})
    totals = []
    for end_year, rows in wide.groupby("end_year"):
        with_outturn = rows["outturn_gbp"].notna()
        budget_complete = rows.loc[with_outturn, "budget_gbp"].notna().all()
        totals.append(
            {
                "end_year": end_year,
                "category": TOTAL,
                "outturn_gbp": rows["outturn_gbp"].sum(min_count=1),
                "budget_gbp": rows["budget_gbp"].sum(min_count=1)
                if budget_complete or not with_outturn.any()
                else np.nan,
            }
        )
    frame = pd.concat([wide, pd.DataFrame(totals)], ignore_index=True)
    order = {code: i for i, code in enumerate([*CATEGORIES, TOTAL])}
    frame["order"] = frame["category"].map(order).fillna(len(order))
    frame = frame.sort_values(["end_year", "order", "category"]).reset_index(drop=True)
    frame["end_year"] = frame["end_year"].astype(int)
    frame["year"] = frame["end_year"].map(lambda y: year_keys(y).financial)
    frame["label"] = frame["category"].map(CATEGORIES | {TOTAL: "All children's services"})
    frame["label"] = frame["label"].fillna(frame["category"])
    frame["spend_gbp"] = frame[f"{basis}_gbp"]
    frame["outturn_minus_budget_gbp"] = frame["outturn_gbp"] - frame["budget_gbp"]
    return frame[columns]


@dataclass(frozen=True)
class _Snapshot:
    """31 March as a "period" for ``group_members``: open on the day and still open the next
    (start after end), so an episode that ended on 31 March is not counted, as in DfE's
    figures for children "on 31 March"."""

    end_year: int

    @property
    def start(self) -> date:
        return date(self.end_year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.end_year, 3, 31)


def _years(con: duckdb.DuckDBPyConnection, period: Period | str | int | None) -> list[int]:
    if period is not None:
        return [year_keys(period).end_year]
    rows = con.execute(
        "SELECT DISTINCT year FROM finance WHERE basis = 'outturn' ORDER BY year"
    ).fetchall()
    return [int(y) for (y,) in rows]


def spend_per_child(
    con: duckdb.DuckDBPyConnection,
    period: Period | str | int | None = None,
    *,
    threshold: int = 5,
) -> pd.DataFrame:
    """The authority's outturn per child, for ``period``'s financial year (every year with an
    outturn when None), one row per year, oldest first.

    Columns: year, end_year, spend_gbp (all categories' outturn), looked_after_gbp,
    children_0_17 (the population of ``ref_areas``: one figure for every year),
    per_child_gbp; children_in_need (children with a CiN episode open at any time in the
    year), per_child_in_need_gbp; looked_after_31_march (children looked after on 31 March),
    per_looked_after_child_gbp (looked-after outturn ÷ that count); note.

    Children in need are counted over the whole year, not on 31 March: the year's spend paid
    for every child helped in it, and about half of them are no longer open on 31 March.
    Looked-after children are counted on 31 March, as DfE publishes them, so the figure pairs
    with the published ones (``spend_against_comparators``). Counts from 1 to ``threshold``
    are hidden, and so is any figure divided by one (a small divisor would reveal it)."""
    columns = ["year", "end_year", "spend_gbp", "looked_after_gbp", "children_0_17"]
    columns += ["per_child_gbp", "children_in_need", "per_child_in_need_gbp"]
    columns += ["looked_after_31_march", "per_looked_after_child_gbp", "note"]
    years = _years(con, period)
    if not years:
        return pd.DataFrame(columns=columns)
    population = child_population(con, ())
    spend = con.execute(
        """SELECT year, sum(spend_gbp) AS spend_gbp,
                  sum(spend_gbp) FILTER (WHERE category = 'looked_after') AS looked_after_gbp
           FROM finance WHERE basis = 'outturn' GROUP BY year""",
    ).df()
    spend = spend.set_index("year")
    rows = []
    for end_year in years:
        rows.append(
            {
                "year": year_keys(end_year).financial,
                "end_year": end_year,
                "spend_gbp": spend["spend_gbp"].get(end_year, np.nan),
                "looked_after_gbp": spend["looked_after_gbp"].get(end_year, np.nan),
                "children_0_17": population if population else np.nan,
                "children_in_need": len(group_members(con, "cin", Period(end_year))),
                "looked_after_31_march": len(group_members(con, "cla", _Snapshot(end_year))),
            }
        )
    frame = pd.DataFrame(rows)
    counts = ["children_in_need", "looked_after_31_march"]
    frame = protect_counts(frame, counts, None, threshold)
    frame["per_child_gbp"] = _divide(frame["spend_gbp"], frame["children_0_17"])
    frame["per_child_in_need_gbp"] = _divide(frame["spend_gbp"], frame["children_in_need"])
    frame["per_looked_after_child_gbp"] = _divide(
        frame["looked_after_gbp"], frame["looked_after_31_march"]
    )
    frame["note"] = [_note(row, threshold) for row in frame.itertuples()]
    return frame[columns]


def _divide(money: pd.Series, count: pd.Series) -> pd.Series:
    """Money ÷ a count; missing when either is missing or the count is 0."""
    money = pd.to_numeric(money, errors="coerce").astype(float)
    count = pd.to_numeric(count, errors="coerce").astype(float)
    return (money / count.where(count > 0)).astype(float)


def _note(row, threshold: int) -> str:
    notes = []
    if pd.isna(row.spend_gbp):
        notes.append("no outturn loaded for this year")
    if pd.isna(row.children_0_17):
        notes.append("no child population loaded (reference areas)")
    for name, words in (
        ("children_in_need", "children in need"),
        ("looked_after_31_march", "looked-after children"),
    ):
        if pd.isna(getattr(row, name)):
            notes.append(f"{words}: hidden (1 to {threshold}), and the spend per child with it")
    return "; ".join(notes)


# --- published figures --------------------------------------------------------------------


def _published(
    con: duckdb.DuckDBPyConnection, measures: list[str], population_type: str | None = None
) -> pd.DataFrame:
    """Published rows of ``measures`` with an ``end_year`` column. When two files publish a
    measure for the same area and year (b1 and DfE's children-in-need rates both have
    ``At31_episodes``), rows come newest load first, then by dataset name: callers take the
    first."""
    query = """
        SELECT geographic_level, area_code, old_la_code, area_name, time_period, measure, value,
               value_code, breakdown
        FROM published_statistics
        WHERE measure IN (SELECT unnest($measures))"""
    params: dict = {"measures": measures}
    if population_type is not None:
        query += " AND json_extract_string(breakdown, '$.population_type') = $population_type"
        params["population_type"] = population_type
    query += " ORDER BY load_id DESC, dataset"
    frame = con.execute(query, params).df()
    frame["old_la_code"] = frame["old_la_code"].map(comp.la_number)
    frame["end_year"] = frame["time_period"].map(end_year_of)
    return frame


def _spending(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The published spending extract, one row per area and year: the measures as columns,
    plus spend_per_child_gbp (published, else expenditure ÷ children under 18).

    Negative figures are read as not published: spend, population and shares cannot be
    negative, and DfE's extract writes -300 in every column (and 0 for looked-after spend) for
    authorities whose outturn it does not have (Birmingham, Cumberland and Slough in 2024/25),
    so a row with any negative figure has no spend figures at all."""
    long = _published(con, list(SPENDING_MEASURES))
    keys = ["geographic_level", "area_code", "old_la_code", "area_name", "time_period"]
    columns = ["end_year", *keys, *SPENDING_MEASURES, "spend_per_child_gbp"]
    long = long[long["end_year"].notna()]
    if long.empty:
        return pd.DataFrame(columns=columns)
    long[keys] = long[keys].astype(object).where(long[keys].notna(), "")
    wide = long.pivot_table(
        index=["end_year", *keys], columns="measure", values="value", aggfunc="first"
    ).reset_index()
    wide.columns.name = None
    wide[keys] = wide[keys].replace("", None)
    for measure in SPENDING_MEASURES:
        if measure not in wide:
            wide[measure] = np.nan
        wide[measure] = wide[measure].astype(float)
    money = [m for m in SPENDING_MEASURES if m != SPEND_POPULATION]
    unavailable = (wide[list(SPENDING_MEASURES)] < 0).any(axis=1)
    wide.loc[unavailable, money] = np.nan
    computed = _divide(wide[SPEND_TOTAL] * 1000, wide[SPEND_POPULATION])
    wide["spend_per_child_gbp"] = wide[SPEND_PER_CHILD].fillna(computed)
    wide["end_year"] = wide["end_year"].astype(int)
    return wide[columns].reset_index(drop=True)


def spending_years(con: duckdb.DuckDBPyConnection) -> list[YearKeys]:
    """The financial years the published spending covers, oldest first."""
    years = _published(con, [SPEND_TOTAL, SPEND_PER_CHILD])["end_year"].dropna()
    return [year_keys(int(y)) for y in sorted(set(years))]


def _chosen_year(con: duckdb.DuckDBPyConnection, year) -> YearKeys | None:
    if year is not None:
        return year_keys(year)
    years = spending_years(con)
    return years[-1] if years else None


def _counts(con: duckdb.DuckDBPyConnection, end_year: int) -> pd.DataFrame:
    """Published demand counts, outcomes and the child population for one reporting year: one
    row per area (an authority by its number, other areas by their code), columns
    geographic_level, area_code, old_la_code, area_name, then ``DEMAND``, population and
    ``OUTCOMES``. Suppressed counts are missing."""
    frames = []
    wanted = dict(DEMAND)
    wanted["population"] = ("population_estimate", CLA_AT_31)
    wanted |= {column: (measure, None) for column, (measure, _) in OUTCOMES.items()}
    for column, (measure, population_type) in wanted.items():
        rows = _published(con, [measure], population_type)
        frames.append(rows[rows["end_year"] == end_year].assign(column=column))
    long = pd.concat(frames, ignore_index=True)
    names = ["geographic_level", "area_code", "old_la_code", "area_name"]
    if long.empty:
        return pd.DataFrame(columns=[*names, *wanted])
    local = long["geographic_level"] == comp.LOCAL_AUTHORITY
    long["key"] = long["old_la_code"].where(local, long["area_code"])
    long = long[long["key"].notna()]
    wide = long.pivot_table(
        index=["geographic_level", "key"], columns="column", values="value", aggfunc="first"
    )
    first = long.drop_duplicates(["geographic_level", "key"]).set_index(["geographic_level", "key"])
    wide = first[names[1:]].join(wide).reset_index().drop(columns="key")
    for column in wanted:
        if column not in wide:
            wide[column] = np.nan
    return wide[[*names, *wanted]]


def _find(frame: pd.DataFrame, row: dict | pd.Series) -> pd.Series | None:
    """The published row for one comparator: an authority by its number, a region by its code
    or (the dashboard extracts give regions no code) its name, England by level."""
    level = row["geographic_level"]
    here = frame[frame["geographic_level"] == level]
    if level == comp.LOCAL_AUTHORITY:
        here = here[here["old_la_code"] == comp.la_number(row["old_la_code"])]
    elif level == comp.REGIONAL:
        by_code = here[here["area_code"] == row["area_code"]]
        names = here["area_name"].fillna("").str.lower()
        here = by_code if len(by_code) else here[names == str(row["area_name"] or "").lower()]
    return here.iloc[0] if len(here) else None


def spend_against_comparators(
    con: duckdb.DuckDBPyConnection, old_la_code: str, year=None
) -> pd.DataFrame:
    """Published spend for the authority, each statistical neighbour, the neighbours' average,
    the region and England, for one financial year (the newest published when None).

    Columns: the comparator columns (role, rank, geographic_level, area_code, old_la_code,
    area_name, closeness), then spending_year ("2024/25"), spend_per_child_gbp (per child
    aged 0-17: published, else expenditure ÷ children under 18), csc_expenditure_gbp,
    cla_expenditure_gbp, looked_after_31_march (EES reporting year, e.g. "2025": children
    looked after on 31 March at the end of the financial year), cla_year,
    spend_per_looked_after_child_gbp (looked-after spend ÷ that count), csc_share_of_total_pct
    (children's social care as a % of all the council's service spend), note.

    The neighbours' average (role ``neighbour_average``, after the neighbours) is the plain mean
    of the neighbours that have a figure, each authority counting once; its note says how
    many."""
    keys = year_keys(year) if year is not None else _chosen_year(con, None)
    rows = comp.comparators(con, old_la_code)
    figures = [
        "spend_per_child_gbp",
        "csc_expenditure_gbp",
        "cla_expenditure_gbp",
        "looked_after_31_march",
        "spend_per_looked_after_child_gbp",
        "csc_share_of_total_pct",
    ]
    columns = [*comp.COMPARATOR_COLUMNS, "spending_year", *figures[:4], "cla_year"]
    columns += [*figures[4:], "note"]
    if keys is None:
        out = rows.assign(**dict.fromkeys([*figures, "spending_year", "cla_year"], np.nan))
        out["note"] = "no published spending loaded"
        return out[columns]
    spending = _spending(con)
    spending = spending[spending["end_year"] == keys.end_year]
    cla = _counts(con, keys.end_year)
    out = []
    for row in rows.to_dict("records"):
        spent = _find(spending, row)
        counted = _find(cla, row)
        record = dict(row, spending_year=keys.spending, cla_year=keys.reporting)
        notes = []
        if spent is None:
            record |= dict.fromkeys(figures, np.nan)
            notes.append(f"no published spending for {keys.spending}")
        else:
            record["spend_per_child_gbp"] = spent["spend_per_child_gbp"]
            record["csc_expenditure_gbp"] = spent[SPEND_TOTAL] * 1000
            record["cla_expenditure_gbp"] = spent[SPEND_CLA] * 1000
            record["csc_share_of_total_pct"] = spent[SPEND_SHARE]
            if pd.isna(record["csc_share_of_total_pct"]):
                record["csc_share_of_total_pct"] = (
                    100 * spent[SPEND_TOTAL] / spent[SPEND_ALL_SERVICES]
                    if spent[SPEND_ALL_SERVICES]
                    else np.nan
                )
        looked_after = counted["cla_at31"] if counted is not None else np.nan
        record["looked_after_31_march"] = looked_after
        if pd.isna(looked_after):
            notes.append(
                f"no published count of children looked after on 31 March {keys.reporting}"
            )
        record["spend_per_looked_after_child_gbp"] = (
            record["cla_expenditure_gbp"] / looked_after
            if pd.notna(looked_after) and looked_after > 0
            else np.nan
        )
        record["note"] = "; ".join(notes)
        out.append(record)
    frame = pd.DataFrame(out)
    frame = _with_neighbour_average(frame, figures, keys)
    return frame[columns].reset_index(drop=True)


def _with_neighbour_average(frame: pd.DataFrame, figures: list[str], keys) -> pd.DataFrame:
    neighbours = frame[frame["role"] == comp.NEIGHBOUR]
    if neighbours.empty:
        return frame
    average = {c: np.nan for c in frame.columns}
    average |= {
        "role": NEIGHBOUR_AVERAGE,
        "rank": 0,
        "area_name": "Statistical neighbours' average",
        "spending_year": keys.spending,
        "cla_year": keys.reporting,
        "closeness": None,
    }
    for figure in figures:
        average[figure] = neighbours[figure].mean()  # skips missing figures
    have = int(neighbours["spend_per_child_gbp"].notna().sum())
    average["note"] = f"mean of {have} of {len(neighbours)} neighbours with a published figure"
    at = int(neighbours.index.max()) + 1
    return pd.concat([frame.iloc[:at], pd.DataFrame([average]), frame.iloc[at:]], ignore_index=True)


def spend_and_demand(
    con: duckdb.DuckDBPyConnection, year=None, *, old_la_code: str | None = None
) -> pd.DataFrame:
    """Every authority's published spend per child beside its demand and two outcomes, for a
    scatter of authorities (one financial year: the newest published when None).

    Columns: old_la_code, area_code, area_name, role ("authority" for ``old_la_code``,
    "neighbour" for its statistical neighbours, else "other"), spending_year, counts_year,
    spend_per_child_gbp, children_0_17 (DfE's population estimate published with the
    looked-after figures), referrals_per_10k, cin_at31_per_10k, cp_at31_per_10k,
    cla_at31_per_10k, rereferral_pct, repeat_cp_pct.

    Rates are computed here: the published count (referrals in the year; children in need, on
    a plan, looked after on 31 March) ÷ that population × 10,000, the same denominator for all
    four (DfE rounds its published rates to whole numbers). A suppressed count gives no rate.
    Outcomes are as published. Only authorities with a published spend are listed."""
    columns = ["old_la_code", "area_code", "area_name", "role", "spending_year", "counts_year"]
    columns += ["spend_per_child_gbp", "children_0_17", *[f"{c}_per_10k" for c in DEMAND]]
    columns += list(OUTCOMES)
    keys = _chosen_year(con, year)
    if keys is None:
        return pd.DataFrame(columns=columns)
    spending = _spending(con)
    spending = spending[
        (spending["end_year"] == keys.end_year)
        & (spending["geographic_level"] == comp.LOCAL_AUTHORITY)
        & spending["spend_per_child_gbp"].notna()
    ]
    counts = _counts(con, keys.end_year)
    counts = counts[counts["geographic_level"] == comp.LOCAL_AUTHORITY]
    counts = counts.drop(columns=["geographic_level", "area_code", "area_name"])
    counts = counts.dropna(subset=["old_la_code"]).drop_duplicates("old_la_code")
    frame = spending.merge(counts, on="old_la_code", how="left")
    frame["children_0_17"] = frame["population"]
    for column in DEMAND:
        frame[f"{column}_per_10k"] = _divide(frame[column] * 10_000, frame["population"])
    frame["spending_year"] = keys.spending
    frame["counts_year"] = keys.reporting
    home = comp.la_number(old_la_code) if old_la_code else None
    near = set(comp.neighbours(con, home)["old_la_code"]) if home else set()
    frame["role"] = [
        comp.AUTHORITY if code == home else comp.NEIGHBOUR if code in near else "other"
        for code in frame["old_la_code"]
    ]
    return frame[columns].sort_values("area_name").reset_index(drop=True)


# --- national position ------------------------------------------------------------------------


@dataclass(frozen=True)
class NationalPosition:
    """Where an authority's published spend per child sits among all authorities. Spend has
    no polarity: these are positions, not judgements."""

    spending_year: str  # "2024/25"
    n: int  # authorities with a figure (the authority included)
    minimum: float
    lower_quartile: float
    median: float
    upper_quartile: float
    maximum: float
    england: float  # England's own figure (all spend ÷ all children), not the median
    value: float  # the authority's (missing when it has none)
    higher_than: int  # other authorities with a lower figure
    lower_than: int  # other authorities with a higher figure
    words: str  # "higher than 72 of 150 other authorities"


def national_position(
    con: duckdb.DuckDBPyConnection, old_la_code: str, year=None
) -> NationalPosition | None:
    """The spread of spend per child aged 0-17 over every authority with a published figure
    (quartiles by linear interpolation, numpy's default) and the authority's place in it.
    None when no spending is published for the year."""
    keys = _chosen_year(con, year)
    if keys is None:
        return None
    spending = _spending(con)
    spending = spending[spending["end_year"] == keys.end_year]
    local = spending[
        (spending["geographic_level"] == comp.LOCAL_AUTHORITY)
        & spending["spend_per_child_gbp"].notna()
    ].drop_duplicates("old_la_code")
    if local.empty:
        return None
    values = local["spend_per_child_gbp"].to_numpy(dtype=float)
    code = comp.la_number(old_la_code)
    mine = local.loc[local["old_la_code"] == code, "spend_per_child_gbp"]
    value = float(mine.iloc[0]) if len(mine) else np.nan
    others = local.loc[local["old_la_code"] != code, "spend_per_child_gbp"].to_numpy(dtype=float)
    national = spending.loc[
        spending["geographic_level"] == comp.NATIONAL, "spend_per_child_gbp"
    ].dropna()
    if np.isnan(value):
        higher = lower = 0
        words = f"no published spend per child for {keys.spending}"
    else:
        higher, lower = int((others < value).sum()), int((others > value).sum())
        same = len(others) - higher - lower
        words = f"higher than {higher} of {len(others)} other authorities"
        if same:
            words += f" (the same as {same})"
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return NationalPosition(
        spending_year=keys.spending,
        n=len(values),
        minimum=float(values.min()),
        lower_quartile=float(q1),
        median=float(median),
        upper_quartile=float(q3),
        maximum=float(values.max()),
        england=float(national.iloc[0]) if len(national) else np.nan,
        value=value,
        higher_than=higher,
        lower_than=lower,
        words=words,
    )


__all__ = [
    "CATEGORIES",
    "CAVEAT",
    "NationalPosition",
    "YearKeys",
    "end_year_of",
    "national_position",
    "spend_against_comparators",
    "spend_and_demand",
    "spend_over_time",
    "spend_per_child",
    "spending_years",
    "year_keys",
]
