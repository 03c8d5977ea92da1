"""Published benchmarks for the demo: fictional authorities in the real EES tidy CSV layouts.

Writes, under ``out_dir / "benchmarks"``, files in exactly the layouts of DfE's Explore
Education Statistics underlying-data CSVs (``/work/shared/reference/csc_la_stats``: headers
and column order copied, no data) and of DfE's 2025 statistical-neighbour table, for:

* England (National), with fictional values close to England's published 2024-25 figures
  (``params.ENGLAND``), drifting a little from year to year;
* "Demoton Region" (Regional, code X15000001): the sum of its authorities;
* Demoton (LA 999), whose figures are COMPUTED from the simulated children, with the same
  definitions the statutory returns give (so the benchmark agrees with the demo's own data);
* eleven fictional neighbours (LA codes 988-998, unused by DfE; ONS-style codes X06000988...)
  whose rates are drawn around England's, higher where the authority is more deprived.

Measure names are the real ones (``referral_count``, ``rereferral_percent``, ``CPP_At31``,
``rate_per_10000``, ``care_leaver_percent``...), so anything that reads the real files reads
these. Like the real files, a few cells hold EES symbols: ``c`` (small counts suppressed in
the duration and care-leaver breakdowns), ``x`` (one authority's care-leaver return not
available one year), ``z`` (not applicable: a percentage of nothing; the retired
"In training or employment" row).

A spending file is written too, in exactly the layout of DfE's dashboard extract of children's
social care spend (``dfe_dashboard_csc_spending_ro3_2024_25.csv``: RSX/RO3 outturn, one row per
area, ``time_period`` like ``2024/25``, no ``time_identifier``, areas named in
``geo_breakdown``, ``old_la_code`` written ``999.0``), for every demo year where the real file
has one: Demoton's spend is the sum of its own ``local/finance.csv`` outturn (the same rows,
recomputed with ``services.finance``), the neighbours' is drawn around England's per child,
more where more deprived, and the region is their sum.
"""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from framework.demo import services
from framework.demo.dates import birthday, year_end, year_start
from framework.demo.geography import LA_NAME, LA_NUMBER
from framework.demo.model import Child

ENGLAND_CODE, ENGLAND_NAME = "E92000001", "England"
REGION_CODE, REGION_NAME, REGION_IND = "X15000001", "Demoton Region", "10"
TIME_IDENTIFIER = "Reporting year"

# (old_la_code, name, deprivation score: 0 is England's average, higher is more deprived,
# rurality score). Names are invented; codes 988-998 are not used by DfE (max 943 in 2025).
AUTHORITIES = (
    ("988", "Ashcombe Vale", -0.9, 1.2),
    ("989", "Brackenmoor", 0.9, 0.6),
    ("990", "Harrowdene", 0.3, -1.1),
    ("991", "Kestrel Bay", 1.2, 0.2),
    ("992", "Larkford", -0.4, 0.8),
    ("993", "Mossgate", 0.7, -0.6),
    ("994", "Oakhollow", -1.3, 0.4),
    ("995", "Ravensmere", 0.1, -0.2),
    ("996", "Sallowby", 1.5, -0.9),
    ("997", "Tarnbridge", -0.2, 1.5),
    ("998", "Wrenfield", 0.5, 1.0),
)
DEMOTON_PROFILE = (0.8, 0.0)  # more deprived than average (params.Geography.imd_decile_shares)
# One authority's care-leaver figures were not available in the first year ("x").
NOT_AVAILABLE = {("992", "care_leavers")}

AGE_BANDS = ("17 to 18 years", "19 to 21 years")
ACTIVITY_PARTS = ("other_ed", "he", "apprentice", "training", "neet_ill", "neet_other")
ACTIVITY_PARTS += ("neet_parent", "not_known")
ACCOMMODATION_PARTS = ("suitable", "unsuitable", "no_info")
DURATION_PARTS = ("0_3", "3_6", "6_12", "12_24", "24_plus")

# England 2024-25, rounded from the national rows of the reference files (the modelled
# authorities vary around these; Demoton's are computed).
ENGLAND_RATES = {
    "referral": 519.0,  # c1 referrals per 10,000 children 0-17
    "cin_at31": 330.0,  # children in need at 31 March per 10,000
    "cpp_start": 51.0,  # d3 CPP_start per 10,000
    "cpp_at31": 40.6,  # d5 CPP_At31 per 10,000
    "cla_at31": 67.0,  # cla rate_per_10000
    "cla_start": 26.0,
    "cla_cease": 28.0,
    "leavers_17_18": 12.1,  # care leavers with a 17th or 18th birthday in the year, per 10,000
    "leavers_19_21": 31.5,
}
ENGLAND_PERCENTS = {
    "rereferral": 22.6,
    "nfa": 6.5,
    "not_in_need": 30.8,
    "rereferral_child": 21.0,
    "cpp_subsequent": 24.5,
}
ENGLAND_RATIOS = {
    "referral_children": 0.88,  # children referred / referrals
    "anypoint": 1.88,  # CIN episodes at any point / at 31 March
    "started": 0.525,  # of episodes at any point
    "ended": 0.468,
    "children_per_episode": 0.93,
    "awaiting": 0.04,  # of episodes at 31 March
}
ENGLAND_SHARES = {
    "duration": (31.5, 25.5, 26.3, 14.4, 2.3),
    "accommodation_17_18": (91.0, 3.0, 6.0),
    "accommodation_19_21": (89.0, 5.0, 6.0),
    "activity_17_18": (48.0, 3.0, 2.0, 11.0, 3.5, 25.0, 2.0, 6.0),
    "activity_19_21": (21.0, 6.0, 2.0, 25.0, 9.0, 27.0, 4.0, 6.0),
}
ENGLAND_POPULATION_2025 = 12_180_000

EET_ACTIVITY = {"F1": "he", "P1": "he", "F2": "other_ed", "P2": "other_ed"}
EET_ACTIVITY |= {"F4": "apprentice", "P4": "apprentice", "F5": "training", "P5": "training"}
EET_ACTIVITY |= {"G4": "neet_ill", "G5": "neet_other", "G6": "neet_parent"}


@dataclass
class Area:
    level: str  # National, Regional, Local authority
    code: str
    name: str
    old_la_code: str = ""
    # Modelled authorities: persistent factors (measure -> multiplier); empty for Demoton.
    factors: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Demoton's counts, from the simulated children


def _share_split(total: int, shares, rng: random.Random, noise: float) -> list[int]:
    """``total`` split by ``shares`` (each jittered), largest remainder, summing exactly."""
    weights = [s * math.exp(rng.gauss(0.0, noise)) for s in shares]
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def demoton_counts(children: list[Child], end_year: int, population: int) -> Counter:
    """Demoton's published counts for one year, computed from the simulated histories."""
    counts: Counter = Counter(population=population)
    _referral_counts(children, end_year, counts)
    _cin_counts(children, end_year, counts)
    _cp_counts(children, end_year, counts)
    _care_counts(children, end_year, counts)
    _leaver_counts(children, end_year, counts)
    return counts


def _referral_counts(children: list[Child], end_year: int, counts: Counter) -> None:
    start, ref = year_start(end_year), year_end(end_year)
    for child in children:
        dates = sorted(r.date for r in child.referrals)
        referred = rereferred = False
        for referral in child.referrals:
            if not start <= referral.date <= ref:
                continue
            referred = True
            counts["referrals"] += 1
            counts["nfa"] += referral.nfa
            counts["not_in_need"] += referral.closure_reason == "RC8"
            again = any(referral.date - 365 <= d < referral.date for d in dates)
            counts["rereferrals"] += again
            rereferred |= again
        counts["referral_children"] += referred
        counts["rereferral_children"] += rereferred


def _cin_counts(children: list[Child], end_year: int, counts: Counter) -> None:
    """CIN episodes (referrals not NFA) as DfE's b1 counts them."""
    start, ref = year_start(end_year), year_end(end_year)
    totals = dict.fromkeys(("anypoint", "started", "ended", "at31", "awaiting"), 0)
    children_with = dict.fromkeys(("anypoint", "started", "ended"), 0)
    for child in children:
        anypoint = started = ended = 0
        for r in child.referrals:
            if r.nfa or r.date > ref or (r.closure is not None and r.closure < start):
                continue
            anypoint += 1
            started += r.date >= start
            if r.closure is not None and r.closure <= ref:
                ended += 1
            else:
                totals["at31"] += 1
                assessed = r.section47s or any(a.start <= ref for a in r.assessments)
                totals["awaiting"] += not assessed
        for key, n in (("anypoint", anypoint), ("started", started), ("ended", ended)):
            totals[key] += n
            children_with[key] += n > 0
    for key in ("anypoint", "started", "ended"):
        counts[f"{key}_episodes"] += totals[key]
        counts[f"{key}_children"] += children_with[key]
    counts["at31"] += totals["at31"]
    counts["awaiting"] += totals["awaiting"]


def _cp_counts(children: list[Child], end_year: int, counts: Counter) -> None:
    start, ref = year_start(end_year), year_end(end_year)
    bounds = (91, 182, 365, 730)  # 3 months, 6 months, 1 year, 2 years
    for child in children:
        for referral in child.referrals:
            for plan in referral.cp_plans:
                if start <= plan.start <= ref:
                    counts["cpp_start"] += 1
                    counts["cpp_subsequent"] += plan.previous_plans >= 1
                if plan.start <= ref and (plan.end is None or plan.end > ref):
                    counts["cpp_at31"] += 1
                    days = ref - plan.start
                    part = sum(days > b for b in bounds)
                    counts[f"dur_{DURATION_PARTS[part]}"] += 1


def _care_counts(children: list[Child], end_year: int, counts: Counter) -> None:
    """Children (not periods) looked after at 31 March, starting and ceasing in the year."""
    start, ref = year_start(end_year), year_end(end_year)
    at31 = started = ceased = 0
    for child in children:
        if not child.care:
            continue
        for period in child.care:
            begun, ended = period.start, period.end
            if begun <= ref and (ended is None or ended > ref):
                at31 += 1
                break
        started += any(start <= p.start <= ref for p in child.care)
        ceased += any(p.end is not None and start <= p.end <= ref for p in child.care)
    counts["cla_at31"] += at31
    counts["cla_start"] += started
    counts["cla_cease"] += ceased


def _leaver_counts(children: list[Child], end_year: int, counts: Counter) -> None:
    """OC3 answers for birthdays in the year; those who died or returned home are excluded
    (as in DfE's tables); not in touch counts as 'information not known'."""
    start, ref = year_start(end_year), year_end(end_year)
    for child in children:
        for status in child.leaver:
            if status.in_touch in ("DIED", "RHOM"):
                continue
            if not start <= birthday(child.dob, status.age) <= ref:
                continue
            band = "17_18" if status.age <= 18 else "19_21"
            counts[f"leavers_{band}"] += 1
            if status.in_touch in ("NO", "REFU"):
                counts[f"act_{band}_not_known"] += 1
                counts[f"acc_{band}_no_info"] += 1
                continue
            counts[f"act_{band}_{EET_ACTIVITY.get(status.activity, 'not_known')}"] += 1
            suitable = status.accommodation.endswith("1")
            counts[f"acc_{band}_{'suitable' if suitable else 'unsuitable'}"] += 1


# --------------------------------------------------------------------------------------------
# Modelled counts: England and the fictional authorities


def _england_year(end_year: int, seed: int) -> dict[str, float]:
    """England's multipliers for a year: a gentle drift plus a little noise (fictional)."""
    rng = random.Random(f"demoton:{seed}:benchmarks:england:{end_year}")
    drift = 1.0 + 0.012 * (end_year - 2025)  # demand rising slowly over the years
    return {key: drift * math.exp(rng.gauss(0.0, 0.02)) for key in ENGLAND_RATES}


def _authority_factors(rng: random.Random, deprivation: float) -> dict[str, float]:
    """Persistent multipliers for one authority: deprivation drives demand."""
    need = math.exp(0.22 * deprivation + rng.gauss(0.0, 0.08))

    def vary(power: float, sd: float) -> float:
        return need**power * math.exp(rng.gauss(0.0, sd))

    rereferral = math.exp(rng.gauss(0.0, 0.2))
    return {
        "referral": vary(1.0, 0.15),
        "cin_at31": vary(1.0, 0.12),
        "cpp_start": vary(1.1, 0.2),
        "cpp_at31": vary(1.1, 0.2),
        "cla_at31": vary(1.3, 0.15),
        "cla_start": vary(1.2, 0.2),
        "cla_cease": vary(1.2, 0.2),
        "leavers_17_18": vary(1.2, 0.2),
        "leavers_19_21": vary(1.2, 0.2),
        "rereferral": rereferral,
        "nfa": math.exp(rng.gauss(0.0, 0.7)),  # NFA varies most between authorities
        "not_in_need": math.exp(rng.gauss(0.0, 0.25)),
        "rereferral_child": rereferral * math.exp(rng.gauss(0.0, 0.04)),  # moves with it
        "cpp_subsequent": math.exp(rng.gauss(0.0, 0.18)),
        "population": math.exp(rng.gauss(math.log(60_000), 0.5)),
    }


def modelled_counts(
    area: Area, end_year: int, seed: int, population: int, england: dict[str, float]
) -> Counter:
    """Counts for England (empty factors) or a modelled authority, consistent with each other
    (parts never exceed wholes; breakdowns sum to their totals)."""
    rng = random.Random(f"demoton:{seed}:benchmarks:{area.code}:{end_year}")
    factors = area.factors
    year_sd = 0.05 if factors else 0.0

    def rate(key: str) -> float:
        wobble = math.exp(rng.gauss(0.0, year_sd))
        return ENGLAND_RATES[key] * england[key] * factors.get(key, 1.0) * wobble

    def count(key: str) -> int:
        return round(rate(key) * population / 10_000)

    def share(whole: int, key: str) -> int:
        pct = ENGLAND_PERCENTS[key] * factors.get(key, 1.0) * math.exp(rng.gauss(0, year_sd))
        return min(whole, round(whole * min(pct, 95.0) / 100))

    c: Counter = Counter(population=population)
    c["referrals"] = count("referral")
    c["rereferrals"] = share(c["referrals"], "rereferral")
    c["nfa"] = share(c["referrals"], "nfa")
    c["not_in_need"] = min(c["referrals"] - c["nfa"], share(c["referrals"], "not_in_need"))
    c["referral_children"] = round(c["referrals"] * ENGLAND_RATIOS["referral_children"])
    c["rereferral_children"] = share(c["referral_children"], "rereferral_child")
    c["at31"] = count("cin_at31")
    c["anypoint_episodes"] = round(c["at31"] * ENGLAND_RATIOS["anypoint"])
    for key in ("started", "ended"):
        c[f"{key}_episodes"] = round(c["anypoint_episodes"] * ENGLAND_RATIOS[key])
    for key in ("anypoint", "started", "ended"):
        c[f"{key}_children"] = round(c[f"{key}_episodes"] * ENGLAND_RATIOS["children_per_episode"])
    c["awaiting"] = round(c["at31"] * ENGLAND_RATIOS["awaiting"] * math.exp(rng.gauss(0, 0.3)))
    c["cpp_start"] = count("cpp_start")
    c["cpp_subsequent"] = share(c["cpp_start"], "cpp_subsequent")
    c["cpp_at31"] = count("cpp_at31")
    noise = 0.15 if factors else 0.0
    parts = _share_split(c["cpp_at31"], ENGLAND_SHARES["duration"], rng, noise)
    for name, n in zip(DURATION_PARTS, parts, strict=True):
        c[f"dur_{name}"] = n
    for key in ("cla_at31", "cla_start", "cla_cease"):
        c[key] = count(key)
    for band in ("17_18", "19_21"):
        total = c[f"leavers_{band}"] = count(f"leavers_{band}")
        split = _share_split(total, ENGLAND_SHARES[f"activity_{band}"], rng, noise)
        for name, n in zip(ACTIVITY_PARTS, split, strict=True):
            c[f"act_{band}_{name}"] = n
        split = _share_split(total, ENGLAND_SHARES[f"accommodation_{band}"], rng, noise)
        for name, n in zip(ACCOMMODATION_PARTS, split, strict=True):
            c[f"acc_{band}_{name}"] = n
    return c


# --------------------------------------------------------------------------------------------
# The areas and their counts


def _areas(seed: int) -> tuple[Area, Area, list[Area]]:
    rng = random.Random(f"demoton:{seed}:benchmarks:authorities")
    england = Area("National", ENGLAND_CODE, ENGLAND_NAME)
    region = Area("Regional", REGION_CODE, REGION_NAME)
    authorities = [Area("Local authority", f"X06000{LA_NUMBER}", LA_NAME, LA_NUMBER)]
    for code, name, deprivation, _ in AUTHORITIES:
        factors = _authority_factors(rng, deprivation)
        authorities.append(Area("Local authority", f"X06000{code}", name, code, factors))
    authorities.sort(key=lambda a: a.name)
    return england, region, authorities


def all_counts(
    children: list[Child], window, seed: int, population: int
) -> dict[tuple[str, int], Counter]:
    """(area code, end year) -> counts, for England, the region and every authority."""
    england, region, authorities = _areas(seed)
    out: dict[tuple[str, int], Counter] = {}
    for end_year in window.years:
        drift = _england_year(end_year, seed)
        england_population = round(ENGLAND_POPULATION_2025 * (1 + 0.004 * (end_year - 2025)))
        out[england.code, end_year] = modelled_counts(
            england, end_year, seed, england_population, drift
        )
        regional: Counter = Counter()
        for area in authorities:
            if area.factors:
                people = round(area.factors["population"] * (1 + 0.005 * (end_year - 2025)))
                counts = modelled_counts(area, end_year, seed, people, drift)
            else:
                counts = demoton_counts(children, end_year, population)
            out[area.code, end_year] = counts
            regional.update(counts)
        out[region.code, end_year] = regional
    return out


# --------------------------------------------------------------------------------------------
# Writing the EES files

GEOGRAPHY = (
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
)
LA_THEN_NAME = ("old_la_code", "new_la_code", "la_name")  # CIN files' order
NAME_THEN_CODE = ("old_la_code", "la_name", "new_la_code")  # CLA files' order


def _pct(part: int, whole: int, digits: int = 1) -> str:
    if whole == 0:
        return "z"
    value = round(100 * part / whole, digits)
    return f"{value:g}" if digits else str(int(value))


def _geography(area: Area, end_year: int, la_order: tuple[str, ...]) -> list[str]:
    regional = area.level != "National"
    cells = {
        "old_la_code": area.old_la_code,
        "new_la_code": area.code if area.level == "Local authority" else "",
        "la_name": area.name if area.level == "Local authority" else "",
    }
    return [
        str(end_year),
        TIME_IDENTIFIER,
        area.level,
        ENGLAND_CODE,
        ENGLAND_NAME,
        REGION_CODE if regional else "",
        REGION_NAME if regional else "",
    ] + [cells[c] for c in la_order]


def _suppress(cells: list[str], area: Area) -> list[str]:
    """DfE suppresses small counts (1 to 5) for authorities: the count and its percentage."""
    if area.level != "Local authority":
        return cells
    out = list(cells)
    for i in range(0, len(out) - 1, 2):
        if out[i].isdigit() and 1 <= int(out[i]) <= 5:
            out[i] = out[i + 1] = "c"
    return out


@dataclass
class Dataset:
    file: str
    la_order: tuple[str, ...]
    columns: tuple[str, ...]  # after the geography columns

    def header(self) -> list[str]:
        return [*GEOGRAPHY, *self.la_order, *self.columns]


C1 = Dataset(
    "c1_children_in_need_referrals_and_rereferrals_demoton.csv",
    LA_THEN_NAME,
    (
        "category",
        "referral_count",
        "rereferral_count",
        "rereferral_percent",
        "no_further_action_count",
        "no_further_action_percent",
        "not_in_need_count",
        "not_in_need_percent",
        "referral_child_count",
        "rereferral_child_count",
        "rereferral_child_percent",
    ),
)
B1 = Dataset(
    "b1_children_in_need_demoton.csv",
    LA_THEN_NAME,
    (
        "category",
        "Anypoint_episodes",
        "Anypoint_child",
        "Started_episodes",
        "Started_child",
        "Ended_episodes",
        "Ended_child",
        "At31_episodes",
        "awaiting_assessment",
    ),
)
D3 = Dataset(
    "d3_cpps_subsequent_plan_demoton.csv",
    LA_THEN_NAME,
    ("category", "CPP_start", "CPP_subsequent", "CPP_subsequent_percent"),
)
D5 = Dataset(
    "d5_cpps_at31march_by_duration_demoton.csv",
    LA_THEN_NAME,
    (
        "category",
        "CPP_At31",
        "3_months_or_less",
        "3_months_or_less_percent",
        "more_than_3_months_6_months",
        "more_than_3_months_6_months_percent",
        "more_than_6_months_less_than_1_year",
        "more_than_6_months_less_than_1_year_percent",
        "1_year_less_than_2_years",
        "1_year_less_than_2_years_percent",
        "2_years_or_more",
        "2_years_or_more_percent",
    ),
)
CLA = Dataset(
    "cla_number_and_rate_per_10k_children_demoton.csv",
    NAME_THEN_CODE,
    ("population_type", "population_estimate", "children_count", "rate_per_10000"),
)
LEAVER_COLUMNS = ("care_leaver_age", "breakdown", "care_leaver_count", "care_leaver_percent")
ACTIVITY = Dataset("la_care_leavers_activity_demoton.csv", NAME_THEN_CODE, LEAVER_COLUMNS)
ACCOMMODATION = Dataset(
    "la_care_leavers_accommodation_suitability_demoton.csv", NAME_THEN_CODE, LEAVER_COLUMNS
)
DATASETS = (B1, C1, D3, D5, CLA, ACTIVITY, ACCOMMODATION)


def _c1_rows(c: Counter, area: Area) -> list[list[str]]:
    refs, kids = c["referrals"], c["referral_children"]
    return [
        [
            "Referrals and Re-referrals",
            str(refs),
            str(c["rereferrals"]),
            _pct(c["rereferrals"], refs),
            str(c["nfa"]),
            _pct(c["nfa"], refs),
            str(c["not_in_need"]),
            _pct(c["not_in_need"], refs),
            str(kids),
            str(c["rereferral_children"]),
            _pct(c["rereferral_children"], kids),
        ]
    ]


def _b1_rows(c: Counter, area: Area) -> list[list[str]]:
    keys = ("anypoint_episodes", "anypoint_children", "started_episodes", "started_children")
    keys += ("ended_episodes", "ended_children", "at31", "awaiting")
    return [["Children in Need", *(str(c[k]) for k in keys)]]


def _d3_rows(c: Counter, area: Area) -> list[list[str]]:
    started, again = c["cpp_start"], c["cpp_subsequent"]
    category = "Child Protection Plans which are a second or subsequent plan"
    return [[category, str(started), str(again), _pct(again, started)]]


def _d5_rows(c: Counter, area: Area) -> list[list[str]]:
    total = c["cpp_at31"]
    cells = []
    for name in DURATION_PARTS:
        cells += [str(c[f"dur_{name}"]), _pct(c[f"dur_{name}"], total)]
    return [["Child Protection Plans by length of time", str(total), *_suppress(cells, area)]]


def _cla_rows(c: Counter, area: Area) -> list[list[str]]:
    population = c["population"]
    rows = []
    for label, key in (
        ("Children ceasing to be looked after each year", "cla_cease"),
        ("Children looked after on 31 March each year", "cla_at31"),
        ("Children starting to be looked after each year", "cla_start"),
    ):
        rate = round(10_000 * c[key] / population) if population else 0
        rows.append([label, str(population), str(c[key]), str(rate)])
    return rows


ACTIVITY_ROWS = (
    ("Education other than higher education", ("other_ed",)),
    ("Higher education i.e. studies beyond A level", ("he",)),
    ("In an apprenticeship", ("apprentice",)),
    ("In training or employment", None),  # retired when apprenticeships were split out: z
    ("In training or employment (excl. apprenticeship)", ("training",)),
    (
        "Not in education, training or employment, owing to illness or disability",
        ("neet_ill",),
    ),
    ("Not in education, training or employment, owing to other reasons", ("neet_other",)),
    (
        "Not in education, training or employment, owing to pregnancy or parenting",
        ("neet_parent",),
    ),
    ("Total", ACTIVITY_PARTS),
    ("Total in education, employment or training", ("other_ed", "he", "apprentice", "training")),
    ("Total information not known", ("not_known",)),
    ("Total not in education, employment or training", ("neet_ill", "neet_other", "neet_parent")),
)
ACCOMMODATION_ROWS = (
    ("Accommodation considered suitable", ("suitable",)),
    ("Accommodation considered unsuitable", ("unsuitable",)),
    ("No information", ("no_info",)),
    ("Suitability total", ACCOMMODATION_PARTS),
)


def _leaver_rows(c: Counter, area: Area, prefix: str, breakdowns) -> list[list[str]]:
    rows = []
    for age, band in zip(AGE_BANDS, ("17_18", "19_21"), strict=True):
        total = c[f"leavers_{band}"]
        for label, parts in breakdowns:
            if parts is None:
                cells = ["z", "z"]
            else:
                n = sum(c[f"{prefix}_{band}_{p}"] for p in parts)
                cells = _suppress([str(n), _pct(n, total, digits=0)], area)
            rows.append([age, label, *cells])
    return rows


def _activity_rows(c: Counter, area: Area) -> list[list[str]]:
    return _leaver_rows(c, area, "act", ACTIVITY_ROWS)


def _accommodation_rows(c: Counter, area: Area) -> list[list[str]]:
    return _leaver_rows(c, area, "acc", ACCOMMODATION_ROWS)


ROW_MAKERS = {
    B1.file: _b1_rows,
    C1.file: _c1_rows,
    D3.file: _d3_rows,
    D5.file: _d5_rows,
    CLA.file: _cla_rows,
    ACTIVITY.file: _activity_rows,
    ACCOMMODATION.file: _accommodation_rows,
}


def _not_available(area: Area, dataset: Dataset, end_year: int, first_year: int) -> bool:
    leavers = dataset in (ACTIVITY, ACCOMMODATION)
    return (
        leavers and end_year == first_year and (area.old_la_code, "care_leavers") in NOT_AVAILABLE
    )


def _dataset_rows(dataset: Dataset, counts, areas: list[Area], years: list[int]) -> list[list]:
    make = ROW_MAKERS[dataset.file]
    rows = []
    for end_year in sorted(years, reverse=True):  # latest year first, as EES files are
        for area in areas:
            geography = _geography(area, end_year, dataset.la_order)
            for cells in make(counts[area.code, end_year], area):
                if _not_available(area, dataset, end_year, min(years)):
                    cells = cells[:2] + ["x"] * (len(cells) - 2)
                rows.append(geography + cells)
    return rows


# --------------------------------------------------------------------------------------------
# Statistical neighbours (DfE 2025 model layout)

SN_HEADER = ["old_la_code", "la_name", "region_ind", "region_name"]
for _rank in range(1, 11):
    SN_HEADER += [f"SN_{_rank}", f"SN_{_rank}P"]
SN_FILE = "sn_model_2025_wide_demoton.csv"


def _closeness(distance: float) -> str:
    """DfE's labels (note "Close " with a trailing space, as published)."""
    for limit, label in ((0.35, "Extremely close"), (0.8, "Very close"), (1.3, "Close ")):
        if distance <= limit:
            return label
    return "Somewhat close" if distance <= 2.0 else "Not close"


def statistical_neighbours() -> list[list[str]]:
    """Each fictional authority's ten nearest others by deprivation and rurality."""
    profiles = {LA_NUMBER: (LA_NAME, *DEMOTON_PROFILE)}
    profiles |= {code: (name, d, r) for code, name, d, r in AUTHORITIES}
    rows = []
    for code, (name, d, r) in sorted(profiles.items()):
        others = sorted(
            (math.hypot(d - od, r - orr), other)
            for other, (_, od, orr) in profiles.items()
            if other != code
        )[:10]
        row = [code, name, REGION_IND, REGION_NAME]
        for distance, other in others:
            row += [other, _closeness(distance)]
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Spending: DfE's dashboard extract of RO3/RSX outturn (one row per area and year)

SPENDING_FILE = "dfe_dashboard_csc_spending_ro3_demoton.csv"
SPENDING_HEADER = [
    "time_period",
    "geographic_level",
    "geo_breakdown",
    "new_la_code",
    "old_la_code",
    "csc_expenditure_gbp_thousands",
    "total_service_expenditure_gbp_thousands",
    "csc_share_of_total_pct",
    "population_under18",
    "csc_spend_per_child_gbp",
    "cla_expenditure_gbp_thousands",
    "csc_excluding_cla_share_pct",
]
# England 2024-25 from the real extract's national row (rounded): spend other than on looked-
# after children per child aged 0-17, looked-after spend per child looked after on 31 March
# (8,917,040 thousand / 81,770), and children's social care as a share of all service spend.
ENGLAND_SPEND = {"non_cla_per_child": 654.0, "cla_per_child": 109_000.0, "csc_share_pct": 9.5}
DEPRIVATION = {code: d for code, _, d, _ in AUTHORITIES} | {LA_NUMBER: DEMOTON_PROFILE[0]}


@dataclass
class Spend:
    """One area's year, in pounds (the file writes thousands)."""

    csc: float
    cla: float
    total_service: float
    population: int

    def __add__(self, other: Spend) -> Spend:
        return Spend(
            self.csc + other.csc,
            self.cla + other.cla,
            self.total_service + other.total_service,
            self.population + other.population,
        )


@dataclass
class _Profile:  # what services.finance reads of a child profile
    child: Child


def _demoton_outturn(children: list[Child], window, seed: int, population: int) -> dict:
    """(end year) -> (all outturn, looked-after outturn) in pounds: the rows of Demoton's own
    local/finance.csv, recomputed by the same function with the same seed."""
    profiles = [_Profile(child) for child in children]
    out: dict[int, list[float]] = {}
    for label, category, basis, pounds in services.finance(profiles, window, seed, population):
        if basis != "outturn":
            continue
        totals = out.setdefault(int(label[:4]) + 1, [0.0, 0.0])
        totals[0] += pounds
        totals[1] += pounds if category == "looked_after" else 0
    return {year: tuple(pair) for year, pair in out.items()}


def _share(code: str, seed: int, end_year: int) -> float:
    """Children's social care as a % of all service spend: higher where more deprived."""
    rng = random.Random(f"demoton:{seed}:benchmarks:spending-share:{code}")
    level = math.exp(0.12 * DEPRIVATION.get(code, 0.0) + rng.gauss(0.0, 0.1))
    year = random.Random(f"demoton:{seed}:benchmarks:spending-share:{code}:{end_year}")
    return ENGLAND_SPEND["csc_share_pct"] * level * math.exp(year.gauss(0.0, 0.02))


def _modelled_spend(area: Area, end_year: int, seed: int, counts: Counter) -> Spend:
    """England (no noise) or a fictional authority: spend other than on care per child around
    England's, more where more deprived; care spend follows the children looked after."""
    prices = (1 + services.GROWTH) ** (end_year - 2025)
    persistent = random.Random(f"demoton:{seed}:benchmarks:spending:{area.code}")
    yearly = random.Random(f"demoton:{seed}:benchmarks:spending:{area.code}:{end_year}")
    noise = 1.0 if area.factors else 0.0
    deprivation = DEPRIVATION.get(area.old_la_code, 0.0)
    other = math.exp(0.15 * deprivation + noise * persistent.gauss(0.0, 0.1))
    unit = math.exp(noise * persistent.gauss(0.0, 0.12))
    other *= math.exp(noise * yearly.gauss(0.0, 0.03))
    unit *= math.exp(noise * yearly.gauss(0.0, 0.03))
    population = counts["population"]
    cla = counts["cla_at31"] * ENGLAND_SPEND["cla_per_child"] * unit * prices
    csc = cla + population * ENGLAND_SPEND["non_cla_per_child"] * other * prices
    share = ENGLAND_SPEND["csc_share_pct"]
    if area.factors:
        share = _share(area.old_la_code, seed, end_year)
    return Spend(csc, cla, csc * 100 / share, population)


def spending(children: list[Child], window, seed: int, population: int, counts) -> dict:
    """(area code, end year) -> Spend, for England, the region and every authority."""
    england, region, authorities = _areas(seed)
    outturn = _demoton_outturn(children, window, seed, population)
    out = {}
    for end_year in window.years:
        out[england.code, end_year] = _modelled_spend(
            england, end_year, seed, counts[england.code, end_year]
        )
        regional = Spend(0.0, 0.0, 0.0, 0)
        for area in authorities:
            if area.factors:
                spend = _modelled_spend(area, end_year, seed, counts[area.code, end_year])
            else:
                csc, cla = outturn.get(end_year, (0.0, 0.0))
                share = _share(area.old_la_code, seed, end_year)
                spend = Spend(csc, cla, csc * 100 / share, population)
            out[area.code, end_year] = spend
            regional = regional + spend
        out[region.code, end_year] = regional
    return out


def _spending_cells(spend: Spend) -> list[str]:
    """The measure cells as the real extract writes them (floats: 53309.0, 19.5, 2528.0)."""
    thousands = spend.csc / 1000
    per_child = round(spend.csc / spend.population) if spend.population else 0
    other_share = 100 * (spend.csc - spend.cla) / spend.csc if spend.csc else 0.0
    return [
        repr(round(thousands, 2)),
        repr(round(spend.total_service / 1000, 2)),
        repr(round(100 * spend.csc / spend.total_service, 1) if spend.total_service else 0.0),
        repr(float(spend.population)),
        repr(float(per_child)),
        repr(round(spend.cla / 1000, 2)),
        repr(round(other_share, 1)),
    ]


def spending_rows(spend: dict, seed: int, years: list[int]) -> list[list[str]]:
    """Authorities by ONS code, then England ("National"), then the region, latest year first."""
    england, region, authorities = _areas(seed)
    rows = []
    for end_year in sorted(years, reverse=True):
        period = f"{end_year - 1}/{str(end_year)[-2:]}"
        for area in sorted(authorities, key=lambda a: a.code):
            cells = _spending_cells(spend[area.code, end_year])
            rows.append([period, area.level, area.name, area.code, f"{area.old_la_code}.0", *cells])
        rows.append(
            [
                period,
                "National",
                "National",
                "",
                "",
                *_spending_cells(spend[england.code, end_year]),
            ]
        )
        rows.append(
            [
                period,
                "Regional",
                region.name,
                "",
                "",
                *_spending_cells(spend[region.code, end_year]),
            ]
        )
    return rows


# --------------------------------------------------------------------------------------------
# Entry point


def _write(path: Path, header: list[str], rows: list[list]) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    return len(rows)


def write_benchmark_files(
    out_dir: Path, children: list[Child], window, seed: int, population: int
) -> dict[str, int]:
    """Write the fictional published statistics under ``out_dir / "benchmarks"``; returns
    rows written per file."""
    folder = Path(out_dir) / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    counts = all_counts(children, window, seed, population)
    england, region, authorities = _areas(seed)
    areas = [england, region, *authorities]
    years = list(window.years)
    written = {}
    for dataset in DATASETS:
        rows = _dataset_rows(dataset, counts, areas, years)
        written[dataset.file] = _write(folder / dataset.file, dataset.header(), rows)
    written[SN_FILE] = _write(folder / SN_FILE, SN_HEADER, statistical_neighbours())
    spend = spending(children, window, seed, population, counts)
    written[SPENDING_FILE] = _write(
        folder / SPENDING_FILE, SPENDING_HEADER, spending_rows(spend, seed, years)
    )
    return written
