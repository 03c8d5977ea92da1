"""Demoton's service-level local records: commissioned services, case audits, complaints and
finance.

Built from the same child profiles as ``child_outcomes.py`` (the latent risk trend in
particular), so that a service's results reflect the children it served. Everything here is
fictional, providers included.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from framework.demo.dates import Day, end_year_of, iso, year_end, year_label, year_start
from framework.demo.draws import Picker, chance
from framework.demo.params import DEFAULT_PARAMS

if TYPE_CHECKING:
    from framework.demo.child_outcomes import Profile, WindowLike
    from framework.demo.geography import Demoton

TeamOf = Callable[[str, Day], "str | None"]  # child id, day -> the team holding the case

COLUMNS = {
    "commissioned_services": (
        "child_id",
        "service",
        "provider",
        "service_type",
        "start_date",
        "end_date",
        "clothed_before",
        "clothed_after",
        "breakfast_before",
        "breakfast_after",
        "sleep_before",
        "sleep_after",
        "tool_name",
        "tool_score_before",
        "tool_score_after",
        "tool_lower_is_better",
    ),
    "case_audits": (
        "audit_id",
        "child_id",
        "audit_date",
        "plan_type",
        "team",
        "plan_updated_6m",
        "drift",
        "needs_met_at_home",
        "grade",
    ),
    "complaints": (
        "complaint_id",
        "received_date",
        "complainant",
        "stage",
        "outcome",
        "repeat",
        "child_id",
    ),
    "finance": ("year", "category", "basis", "spend_gbp"),
}


def build(
    profiles: list[Profile],
    window: WindowLike,
    seed: int,
    demoton: Demoton,
    population: float,
    team_of: TeamOf | None = None,
) -> dict[str, list[list]]:
    return {
        "commissioned_services": commissioned_services(profiles, window, seed),
        "case_audits": case_audits(profiles, window, seed, demoton, team_of),
        "complaints": complaints(profiles, window, seed),
        "finance": finance(profiles, window, seed, population),
    }


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


# --- commissioned services ------------------------------------------------------------------------


class Provider:
    """A fictional provider: how often a practical measure that was a problem gets better and
    one that was fine stays fine, whether it records the practical measures at all (providers
    opt in), and whether it uses the Graded Care Profile 2 (and how far scores fall)."""

    def __init__(
        self, name: str, improves: float, keeps: float, records: bool, gcp2_gain: float | None
    ):
        self.name = name
        self.improves = improves
        self.keeps = keeps
        self.records = records
        self.gcp2_gain = gcp2_gain


# Assumptions chosen so the providers differ visibly: Brightwater clearly best, Northgate
# clearly worst, Dunnock records no measures.
BRIGHTWATER = Provider("Brightwater Family Trust", 0.85, 0.97, True, 1.3)
HEARTHSIDE = Provider("Hearthside Support CIC", 0.55, 0.93, True, None)
NORTHGATE = Provider("Northgate Care Services", 0.22, 0.85, True, 0.35)
DUNNOCK = Provider("Dunnock Community Partnership", 0.55, 0.93, False, None)
SAFER_HOMES = Provider("Safer Homes Demoton", 0.0, 0.0, False, None)
FENNIMOOR = Provider("Fennimoor Parenting Project", 0.0, 0.0, False, None)

# service -> (service type, providers with their share of referrals, share of referrals)
NEGLECT_SERVICES = {
    "Family Home Support": ("neglect", ((BRIGHTWATER, 0.5), (HEARTHSIDE, 0.5)), 0.4),
    "Breakfast and Bedtime": ("neglect", ((HEARTHSIDE, 0.55), (DUNNOCK, 0.45)), 0.3),
    "Neglect Intensive Support": ("neglect", ((BRIGHTWATER, 0.4), (NORTHGATE, 0.6)), 0.3),
}
OTHER_SERVICES = {
    "Safe Together": ("domestic_abuse", ((SAFER_HOMES, 1.0),)),
    "Parenting Matters": ("parenting", ((FENNIMOOR, 0.7), (HEARTHSIDE, 0.3))),
}
NEGLECT_PICK = Picker(tuple((name, spec[2]) for name, spec in NEGLECT_SERVICES.items()))
# Children whose trend falls respond better; those whose risks rise mostly do not.
TREND_RESPONSE = {"falls": 1.15, "persists": 0.7, "rises": 0.35}
NEGLECT_SERVICE_SHARE = 0.6  # neglect-cohort episodes referred to a commissioned service
DOMESTIC_ABUSE_SHARE = 0.1  # episodes with domestic abuse at assessment
PARENTING_SHARE = 0.06  # other episodes with a plan
OTHERS_TO_NEGLECT_SHARE = 0.03  # children outside the cohort sent to a neglect service
DOMESTIC_ABUSE = frozenset({"3A", "3B", "3C"})


def commissioned_services(profiles: list[Profile], window: WindowLike, seed: int) -> list[list]:
    rng = random.Random(f"demoton:{seed}:services")
    rows = []
    for profile in profiles:
        child = profile.child
        adult = child.dob + round(18 * 365.25)
        used: set[tuple[str, Day]] = set()
        for referral in child.referrals:
            if not referral.led_to_service or not referral.assessments:
                continue
            assessed = referral.assessments[0].authorised
            factors = set().union(*(a.factors for a in referral.assessments))
            neglect = (
                profile.neglect
                and referral.need == "N1"
                and (
                    "16A" in factors or any(p.initial_category == "NEG" for p in referral.cp_plans)
                )
            )
            wanted = []
            share = NEGLECT_SERVICE_SHARE if neglect else OTHERS_TO_NEGLECT_SHARE
            if chance(rng, share):
                wanted.append(NEGLECT_PICK(rng))
            if factors & DOMESTIC_ABUSE and chance(rng, DOMESTIC_ABUSE_SHARE):
                wanted.append("Safe Together")
            if (referral.cin_plans or referral.cp_plans) and chance(rng, PARENTING_SHARE):
                wanted.append("Parenting Matters")
            for name in wanted:
                start = assessed + rng.randint(10, 75)
                if not window.start <= start <= window.end or start >= adult - 90:
                    continue
                if (name, start) in used:
                    continue
                used.add((name, start))
                rows.append(_service_row(profile, rng, name, start, window.end))
    return rows


def _service_row(profile: Profile, rng: random.Random, name: str, start: Day, now: Day) -> list:
    if name in NEGLECT_SERVICES:
        kind, providers, _ = NEGLECT_SERVICES[name]
    else:
        kind, providers = OTHER_SERVICES[name]
    provider = Picker(tuple((p, w) for p, w in providers))(rng)
    end = start + rng.randint(90, 270)  # 3 to 9 months
    finished = end <= now
    measures = ["", "", "", "", "", ""]
    tool = ["", "", "", ""]
    if kind == "neglect" and provider.records:
        measures = _practical_measures(profile, rng, provider, finished)
    if kind == "neglect" and provider.gcp2_gain is not None:
        tool = _gcp2(profile, rng, provider, finished)
    return [
        profile.child_id,
        name,
        provider.name,
        kind,
        iso(start),
        iso(end) if finished else "",
        *measures,
        *tool,
    ]


def _practical_measures(
    profile: Profile, rng: random.Random, provider: Provider, finished: bool
) -> list[str]:
    """Clothed, breakfast, sleep: before (most are problems: the family was referred for
    neglect) and after (a problem put right with the provider's rate, adjusted by how the
    child's risks are moving; a few things that were fine slip)."""
    before = [not chance(rng, 0.65) for _ in range(3)]
    if all(before):
        before[rng.randrange(3)] = False  # referred for neglect: at least one is a problem
    response = TREND_RESPONSE[profile.trend]
    cells = []
    for ok in before:
        if ok:
            after = chance(rng, provider.keeps)
        else:
            after = chance(rng, min(0.97, provider.improves * response))
        cells += [_yes_no(ok), _yes_no(after) if finished else ""]
    return cells


def _gcp2(profile: Profile, rng: random.Random, provider: Provider, finished: bool) -> list[str]:
    """Graded Care Profile 2 overall grade, 1 (best) to 5, averaged over its areas."""
    before = min(5.0, max(1.5, rng.gauss(3.6, 0.5)))
    gain = provider.gcp2_gain * TREND_RESPONSE[profile.trend]
    after = min(5.0, max(1.0, before - gain + rng.gauss(0, 0.4)))
    return ["Graded Care Profile 2", f"{before:.1f}", f"{after:.1f}" if finished else "", "yes"]


# --- case audits ----------------------------------------------------------------------------------

# Grades when the plan is not drifting, before and after the improvement (the third written
# year, as in journey.py's fewer quick re-referrals); drifting cases grade worse. Overall
# about 5% outstanding, 45% good, 40% requires improvement, 10% inadequate (assumption).
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GRADE_BEFORE = Picker(tuple(zip(GRADES, (4.0, 36.0, 45.0, 15.0), strict=True)))
GRADE_AFTER = Picker(tuple(zip(GRADES, (9.0, 60.0, 27.0, 4.0), strict=True)))
GRADE_DRIFTING = Picker(tuple(zip(GRADES, (0.0, 15.0, 55.0, 30.0), strict=True)))
DRIFT = (0.26, 0.13)  # before, after the improvement
PLAN_UPDATED = (0.82, 0.93)
AUDITS_PER_MONTH_AT_6000 = 10.0  # ~5-10 a month for a 6,000-child demo


def case_audits(
    profiles: list[Profile],
    window: WindowLike,
    seed: int,
    demoton: Demoton,
    team_of: TeamOf | None = None,
) -> list[list]:
    rng = random.Random(f"demoton:{seed}:audits")
    # The audit programme grows with the authority, less than in proportion.
    per_month = max(3, round(AUDITS_PER_MONTH_AT_6000 * math.sqrt(len(profiles) / 6000)))
    improvement = window.first_year + DEFAULT_PARAMS.referrals.improvement_year_index
    rows = []
    for first, last in _months(window):
        improved = end_year_of(first) >= improvement
        for number in range(1, per_month + 1):
            when = _working_day(rng, first, last)
            found = _open_case(profiles, rng, when)
            if found is None:
                continue
            profile, plan = found
            audit_id = f"AUD-{iso(first)[:7]}-{number:02d}"
            team = (team_of and team_of(profile.child_id, when)) or team_for(profile, plan, demoton)
            rows.append(_audit_row(profile, rng, audit_id, when, plan, improved, team))
    return rows


def _months(window: WindowLike) -> list[tuple[Day, Day]]:
    months = []
    when = window.start
    while when <= window.end:
        d = date.fromordinal(when)
        nxt = d.replace(year=d.year + (d.month == 12), month=d.month % 12 + 1, day=1).toordinal()
        months.append((when, min(nxt - 1, window.end)))
        when = nxt
    return months


def _working_day(rng: random.Random, first: Day, last: Day) -> Day:
    when = rng.randint(first, last)
    while when % 7 in (0, 6):  # weekend (ordinal % 7: 0 Sunday, 6 Saturday)
        when = when + 1 if when < last else when - 2
    return when


def _open_case(profiles: list[Profile], rng: random.Random, when: Day):
    """A child whose case is open on the day (rejection sampling: a fifth or so are)."""
    for _ in range(400):
        profile = rng.choice(profiles)
        plan = profile.plan_on(when)
        if plan is not None:
            return profile, plan
    return None


def _audit_row(
    profile: Profile,
    rng: random.Random,
    audit_id: str,
    when: Day,
    plan: str,
    improved: bool,
    team: str,
) -> list:
    era = 1 if improved else 0
    drift = chance(rng, DRIFT[era])
    grade = GRADE_DRIFTING(rng) if drift else (GRADE_AFTER if improved else GRADE_BEFORE)(rng)
    updated = chance(rng, PLAN_UPDATED[era] * (0.8 if drift else 1.0))
    needs_met = ""
    if plan in ("cin", "cp"):
        p = (0.98 - 0.25 * profile.level(when)) * (0.7 if drift else 1.0)
        needs_met = _yes_no(chance(rng, p))
    return [
        audit_id,
        profile.child_id,
        iso(when),
        plan,
        team,
        _yes_no(updated),
        _yes_no(drift),
        needs_met,
        grade,
    ]


def team_for(profile: Profile, plan: str, demoton: Demoton) -> str:
    """The workforce model's team names (workforce.py): locality safeguarding teams hold
    children in need and CP cases, authority-wide teams children in care and care leavers, the
    front door cases still being assessed. Used when no workforce model is passed."""
    if plan == "cla":
        return "Children in Care"
    if plan == "care_leaver":
        return "Care Leavers"
    if plan == "none":
        return "Front Door"
    area = profile.child.area
    locality = demoton.areas[area].locality if area >= 0 else demoton.areas[0].locality
    return f"{locality} Safeguarding"


# --- complaints -----------------------------------------------------------------------------------

COMPLAINTS_PER_YEAR_AT_6000 = 90.0  # ~60-120 a year (assumption; annual reports of similar LAs)
COMPLAINANT = Picker((("parent_carer", 68.0), ("child", 20.0), ("other", 12.0)))
STAGE = Picker((("1", 85.0), ("2", 12.0), ("3", 3.0)))
# ~30% substantiated (upheld or partly), as children's complaints reports commonly show.
OUTCOME = Picker(
    (("upheld", 12.0), ("partly_upheld", 18.0), ("not_upheld", 55.0), ("withdrawn", 15.0))
)


def complaints(profiles: list[Profile], window: WindowLike, seed: int) -> list[list]:
    rng = random.Random(f"demoton:{seed}:complaints")
    rows = []
    earlier: list[tuple[str, str]] = []  # (complainant, child_id) of earlier complaints
    for year in window.years:
        start, end = year_start(year), min(year_end(year), window.end)
        count = round(COMPLAINTS_PER_YEAR_AT_6000 * len(profiles) / 6000 * rng.uniform(0.8, 1.2))
        dates = sorted(_working_day(rng, start, end) for _ in range(count))
        for number, when in enumerate(dates, start=1):
            complainant, child_id, repeat = _complainant(profiles, rng, when, earlier)
            earlier.append((complainant, child_id))
            outcome = OUTCOME(rng)
            if window.end - when < 40 and chance(rng, 0.7):
                outcome = "open"  # not decided yet at the end of the data
            stage = STAGE(rng) if outcome not in ("withdrawn", "open") else "1"
            rows.append(
                [
                    f"CMP-{year_label(year)}-{number:03d}",
                    iso(when),
                    complainant,
                    stage,
                    outcome,
                    _yes_no(repeat),
                    child_id,
                ]
            )
    return rows


def _complainant(
    profiles: list[Profile], rng: random.Random, when: Day, earlier: list[tuple[str, str]]
) -> tuple[str, str, bool]:
    """About 10% repeat an earlier complaint by the same person (about the same child); most
    name the child (blank for ~12%)."""
    named = [e for e in earlier if e[1]]
    if named and chance(rng, 0.1):
        complainant, child_id = rng.choice(named[-60:])
        return complainant, child_id, True
    complainant = COMPLAINANT(rng)
    if not chance(rng, 0.88):
        return complainant, "", False
    for _ in range(400):
        profile = rng.choice(profiles)
        plan = profile.plan_on(when)
        if plan is None:
            continue
        if complainant == "child" and profile.age(when) < 11:
            continue  # children who complain themselves are mostly teenagers and care leavers
        return complainant, profile.child_id, False
    return complainant, "", False


# --- finance --------------------------------------------------------------------------------------

# England spends roughly £1,150 per child aged 0-17 on children's social care (2024-25,
# section 251 outturn; an approximation), growing ~7% a year; Demoton is more deprived than
# average, so its non-care spend per child is set ~10% higher. Looked-after spend follows its
# own children in care: England's ~half of spend over ~67 per 10,000 children in care is about
# £86,000 per child-year (2024-25).
SPEND_PER_CHILD_2025 = 1150.0 * 1.1
CARE_COST_PER_YEAR_2025 = 86_000.0
GROWTH = 0.07
SHARES = (  # of the non-care spend per child, by section 251 heading (approximate)
    ("safeguarding", 0.48),
    ("family_support", 0.26),
    ("youth_justice", 0.05),
    ("other", 0.21),
)
NON_CARE_SHARE = 0.5  # half of spend is not on looked-after children


def finance(profiles: list[Profile], window: WindowLike, seed: int, population: float):
    rng = random.Random(f"demoton:{seed}:finance")
    rows = []
    for year in window.years:
        prices = (1 + GROWTH) ** (year - 2025)
        spend = {
            "looked_after": _care_years(profiles, year) * CARE_COST_PER_YEAR_2025 * prices,
        }
        other = population * SPEND_PER_CHILD_2025 * NON_CARE_SHARE * prices
        for category, share in SHARES:
            spend[category] = other * share
        for category, amount in spend.items():
            outturn = amount * rng.uniform(0.97, 1.03)
            rows.append([year_label(year), category, "outturn", _pounds(outturn)])
            if year == window.last_year:
                # Budgets for care are set below what is spent (most authorities overspend on
                # placements); the rest roughly on budget.
                low, high = (0.88, 0.96) if category == "looked_after" else (0.97, 1.03)
                budget = amount * rng.uniform(low, high)
                rows.append([year_label(year), category, "budget", _pounds(budget)])
    return rows


def _care_years(profiles: list[Profile], year: int) -> float:
    """Child-years looked after in the financial year."""
    start, end = year_start(year), year_end(year) + 1
    days = 0
    for profile in profiles:
        for period in profile.child.care:
            last = period.end if period.end is not None else end
            days += max(0, min(last, end) - max(period.start, start))
    return days / 365.25


def _pounds(amount: float) -> int:
    return round(amount / 1000) * 1000
