"""Demoton's child-level outcome data from local systems (the local-data templates).

The statutory returns say what happened to a child (plans, care, leaving care); these files
say how the child was doing: risk factors at each review, SDQ scores, mental health needs,
school attendance and results, planning meetings, permanence plans. Commissioned services,
case audits, complaints and finance are built in ``services.py``.

Everything a child shows comes from one latent *risk level* per child (``Profile.level``):
1.0 when help starts; falling over time for most children on a plan (the point of the
service), flat for some, rising for a few. Review risk factors, SDQ totals, mental health
needs, absence, suspensions and exam results are all drawn from that level, so the files
agree with each other the way a real authority's would: children whose risks fall in reviews
show better SDQ change, attendance is worse while risks are high.

Rates are judgements for a deprived English authority, anchored on published figures where
the comments say so. Each file draws from its own ``random.Random("demoton:<seed>:<stream>")``
so that the statutory returns (which use other streams) are untouched.
"""

from __future__ import annotations

import csv
import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Protocol

from framework.demo import services
from framework.demo.dates import Day, birthday, day, iso, to_date, year_end, year_start
from framework.demo.draws import Picker, chance, poisson
from framework.demo.model import CarePeriod, Child

if TYPE_CHECKING:
    from framework.demo.geography import Demoton

FAR = 10**7  # "still open": a day far in the future

COLUMNS = {
    "case_reviews": (
        "child_id",
        "review_date",
        "plan_type",
        "domestic_abuse",
        "parental_mental_health",
        "parental_substance_misuse",
        "sexual_exploitation",
        "criminal_exploitation",
        "trafficking",
        "missing",
        "self_harm",
        "substance_misuse",
        "youth_justice",
        "feels_safe",
    ),
    "sdq": (
        "child_id",
        "sdq_date",
        "informant",
        "total",
        "emotional",
        "conduct",
        "hyperactivity",
        "peer",
        "prosocial",
    ),
    "health_needs": ("child_id", "record_date", "mental_health_need", "support", "need_met"),
    "education_attendance": (
        "child_id",
        "upn",
        "academic_year",
        "term",
        "sessions_possible",
        "sessions_authorised",
        "sessions_unauthorised",
        "suspensions",
        "permanent_exclusion",
        "school_changes",
        "early_education",
    ),
    "education_results": (
        "child_id",
        "upn",
        "academic_year",
        "key_stage",
        "attainment",
        "progress",
        "met_expected",
    ),
    "planning_meetings": (
        "child_id",
        "meeting_date",
        "meeting_type",
        "child_participation",
        "parent_invited",
        "parent_attended",
    ),
    "permanence_plans": ("child_id", "looked_after_date", "plan_date", "plan_type"),
    **services.COLUMNS,
}


class WindowLike(Protocol):
    """The generator's ``Window`` (not imported: the generator imports this module)."""

    first_year: int
    last_year: int

    @property
    def start(self) -> Day: ...

    @property
    def end(self) -> Day: ...

    @property
    def years(self) -> range: ...


@dataclass(frozen=True, slots=True)
class Span:
    """The window with its days worked out once (the generator's are computed properties)."""

    first_year: int
    last_year: int
    start: Day
    end: Day

    @classmethod
    def of(cls, window: WindowLike) -> Span:
        return cls(window.first_year, window.last_year, window.start, window.end)

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)


# --- the latent risk level ------------------------------------------------------------------------

# How a child's risks move on a plan. Most fall (services help), some persist, a few rise.
# An assumption: the demo needs visible change in both directions for the "change" indicators.
TRENDS = Picker((("falls", 65.0), ("persists", 25.0), ("rises", 10.0)))
MERGE_GAP = 45  # days: a case reopened this soon continues the same spell of help


def curve(trend: str, years: float) -> float:
    """The risk level ``years`` after help started (1.0 at the start)."""
    if trend == "falls":
        return 0.2 + 0.8 * math.exp(-years / 0.6)
    if trend == "rises":
        return min(2.0, 1.0 + 0.8 * years)
    return 1.0


@dataclass(slots=True)
class Profile:
    """What the local files need about one child beyond the statutory record."""

    child: Child
    trend: str
    spells: list[tuple[Day, Day]]  # continuous help: open case, care, care leaver; merged
    states: list[tuple[Day, Day, str]]  # (start, end exclusive, plan type), by priority
    leaver_span: tuple[Day, Day] | None
    assessments: list[tuple[Day, frozenset[str]]]  # authorised date, factors (in date order)
    neglect: bool  # in the neglect cohort (spec section 9)
    real_upn: bool  # child.upn is written in a return in the window
    ability: float  # school attainment, national pupils ~ N(0, 1)
    absence: float  # the share of sessions this child would miss at risk level 1
    uniform: dict[str, float] = field(default_factory=dict)  # stable per-child draws
    _starts: list[Day] = field(default_factory=list)
    _born: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        self._starts = [start for start, _ in self.spells]
        born = to_date(self.child.dob)
        self._born = (born.year, born.month, born.day)

    @property
    def child_id(self) -> str:
        return self.child.child_id

    def level(self, when: Day) -> float:
        """The latent risk level on a day: the trend since the current spell began; after a
        spell closes, where it ended and a little lower (the case closed because things
        improved); before any help, 0.9 (risks were building up to the referral)."""
        i = bisect_right(self._starts, when) - 1
        if i < 0:
            return 0.9
        start, end = self.spells[i]
        years = (min(when, end) - start) / 365.25
        value = curve(self.trend, years)
        return value * 0.85 if when > end else value

    def plan_on(self, when: Day) -> str | None:
        """The child's plan on a day (None when no case is open)."""
        for start, end, kind in self.states:
            if start <= when < end:
                return kind
        return None

    def factors_on(self, when: Day) -> frozenset[str]:
        """Factors at the latest assessment authorised by ``when`` (else the first one)."""
        found = self.assessments[0][1] if self.assessments else frozenset()
        for authorised, factors in self.assessments:
            if authorised > when:
                break
            found = factors
        return found

    def school_age(self, academic: int) -> int:
        """Age on 31 August of the academic year starting in ``academic`` (the school year
        group rule: 5 is Year 1, 15 is Year 11)."""
        year, month, _ = self._born
        return academic - year - (month >= 9)

    def age(self, when: Day) -> int:
        """Whole years of age on a day (as ``dates.age_on``, one date conversion fewer)."""
        then = to_date(when)
        year, month, dom = self._born
        return then.year - year - ((then.month, then.day) < (month, dom))


def build_profiles(children: list[Child], window: WindowLike, seed: int) -> list[Profile]:
    rng = random.Random(f"demoton:{seed}:outcomes-latent")
    # (1 April, 31 March, latest birth date of a child 5 or over on 31 March) per year
    census_years = [(year_start(y), year_end(y), day(y - 5, 3, 31)) for y in window.years]
    profiles = []
    for child in sorted(children, key=lambda c: c.child_id):
        in_care = bool(child.care)
        # Ability: children in need attain well below their peers (KS2 ~100 vs 105 nationally,
        # Attainment 8 ~22 vs 46); looked-after children a little lower still.
        ability = rng.gauss(-0.85 if in_care else -0.6, 1.0)
        # Absence propensity: lognormal so that a third or more of children in need are
        # persistently absent (DfE: ~35% of CiN, ~15% of looked-after children).
        absence = 0.085 * math.exp(rng.gauss(0.0, 0.85))
        leaver = _leaver_span(child)
        profile = Profile(
            child=child,
            trend=TRENDS(rng),
            spells=_spells(child, leaver),
            states=_states(child, leaver),
            leaver_span=leaver,
            assessments=sorted(
                (a.authorised, frozenset(a.factors)) for r in child.referrals for a in r.assessments
            ),
            neglect=_in_neglect_cohort(child),
            real_upn=_upn_in_returns(child, census_years),
            ability=ability,
            absence=absence,
        )
        for name in ("mental_health", "early_education", "sdq_base"):
            profile.uniform[name] = rng.random()
        profiles.append(profile)
    return profiles


def _leaver_span(child: Child) -> tuple[Day, Day] | None:
    """Pathway planning from leaving care to 21 (care leavers with OC3 rows)."""
    if not child.leaver or not child.care:
        return None
    until = birthday(child.dob, 21)
    for status in child.leaver:
        if status.in_touch == "DIED":
            until = min(until, birthday(child.dob, status.age))
    return (child.care[-1].end, until)


def _spells(child: Child, span: tuple[Day, Day] | None) -> list[tuple[Day, Day]]:
    intervals = [
        (r.date, r.closure if r.closure is not None else FAR)
        for r in child.referrals
        if r.led_to_service
    ]
    intervals += [(p.start, p.end if p.end is not None else FAR) for p in child.care]
    if span:
        intervals.append(span)
    merged: list[list[Day]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + MERGE_GAP:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _states(child: Child, span: tuple[Day, Day] | None) -> list[tuple[Day, Day, str]]:
    """Plan intervals in priority order: looked after, CP plan, CiN plan, care leaver, open."""
    care = [(p.start, p.end or FAR, "cla") for p in child.care]
    cp, cin, open_cases = [], [], []
    for referral in child.referrals:
        cp += [(p.start, p.end or FAR, "cp") for p in referral.cp_plans]
        cin += [(p.start, p.end or FAR, "cin") for p in referral.cin_plans]
        if not referral.nfa:
            open_cases.append((referral.date, (referral.closure or FAR) + 1, "none"))
    leaver = [(span[0], span[1], "care_leaver")] if span else []
    return care + cp + cin + leaver + open_cases


def _in_neglect_cohort(child: Child) -> bool:
    """Spec section 9: primary need N1 with neglect as the CP category or factor 16A."""
    for referral in child.referrals:
        if referral.need != "N1":
            continue
        if any("NEG" in (p.initial_category, p.latest_category) for p in referral.cp_plans):
            return True
        if any("16A" in a.factors for a in referral.assessments):
            return True
    return False


def _upn_in_returns(child: Child, census_years: list[tuple[Day, Day, Day]]) -> bool:
    """Whether ``child.upn`` appears in a CiN census or SSDA903 header of the window: both
    write it (instead of UN1/UN2) for children not unaccompanied aged 5+ on 31 March."""
    if child.unaccompanied:
        return False
    for start, ref, born_by in census_years:
        if child.dob > born_by:  # under 5 on 31 March
            continue
        if any(
            r.date <= ref and (r.closure is None or r.closure >= start) for r in child.referrals
        ):
            return True
        if any(p.start <= ref and (p.end is None or p.end >= start) for p in child.care):
            return True
        if any(start <= birthday(child.dob, s.age) <= ref for s in child.leaver):
            return True
    return False


# --- the entry point ------------------------------------------------------------------------------


def write_child_outcome_files(
    out_dir: Path,
    children: list[Child],
    window: WindowLike,
    seed: int,
    demoton: Demoton,
    *,
    population: float | None = None,
    workforce=None,
) -> dict[str, int]:
    """Write the local child-outcome files under ``out_dir / "local"``; return rows per file.

    ``population`` is the authority's children aged 0-17 (the generator's ``population``),
    used to size the finance file; without it, it is estimated from the areas. ``workforce``
    (the generator's ``Workforce``) names the team holding each audited case; without it, the
    same kind of team is named from the child's locality.
    """
    folder = Path(out_dir) / "local"
    folder.mkdir(parents=True, exist_ok=True)
    window = Span.of(window)
    profiles = build_profiles(children, window, seed)
    reviews = case_reviews(profiles, window, seed)
    tables = {
        "case_reviews": [row for row, _ in reviews],
        "sdq": sdq_scores(profiles, window, seed, reviews),
        "health_needs": health_needs(profiles, window, seed, reviews),
        "education_attendance": education_attendance(profiles, window, seed),
        "education_results": education_results(profiles, window, seed),
        "planning_meetings": planning_meetings(profiles, window, seed, reviews),
        "permanence_plans": permanence_plans(profiles, window, seed),
    }
    if population is None:
        population = len(demoton.areas) * demoton.settings.children_per_area
    team_of = workforce.team_of if workforce is not None else None
    tables.update(services.build(profiles, window, seed, demoton, population, team_of))
    counts = {}
    for name, rows in tables.items():
        filename = f"{name}.csv"
        write_csv(folder / filename, COLUMNS[name], rows)
        counts[filename] = len(rows)
    return counts


def write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def in_window(when: Day, window: WindowLike) -> bool:
    return window.start <= when <= window.end


# --- case reviews ---------------------------------------------------------------------------------

# Each risk: the factor codes at assessment that make it likely, the chance at level 1.0 with
# and without them, and whether it is the child's own (mostly 11+) or the parents'. The
# chances with a factor are judgements (a factor found at assessment is usually still there at
# the first review); without one they are small background rates.
RISKS = (
    ("domestic_abuse", frozenset({"3A", "3B", "3C"}), 0.85, 0.07, False),
    ("parental_mental_health", frozenset({"4B", "4C"}), 0.85, 0.07, False),
    ("parental_substance_misuse", frozenset({"1B", "1C", "2B", "2C"}), 0.8, 0.06, False),
    ("sexual_exploitation", frozenset({"11A", "19B"}), 0.75, 0.02, True),
    ("criminal_exploitation", frozenset({"24A", "13A"}), 0.75, 0.03, True),
    ("trafficking", frozenset({"12A"}), 0.6, 0.004, True),
    ("missing", frozenset({"10A"}), 0.75, 0.05, True),
    ("self_harm", frozenset({"15A", "4A"}), 0.6, 0.04, True),
    ("substance_misuse", frozenset({"1A", "2A"}), 0.75, 0.05, True),
    ("youth_justice", frozenset({"14A", "13A", "24A"}), 0.4, 0.03, True),
)
STICKY = 0.4
PLAN_PRIORITY = {
    "cla": 0,
    "cp": 1,
    "cin": 2,
    "care_leaver": 3,
}  # chance a risk's draw carries over from the last review (risks persist)


@dataclass(slots=True)
class Review:
    """A review as the other files see it: when, which plan, how many risks were present."""

    profile: Profile
    when: Day
    plan: str
    risks: int


def review_dates(profile: Profile, rng: random.Random, until: Day) -> list[tuple[Day, str]]:
    """Every review of the child's plans, in date order (before the window too: the risk
    draws carry over from one review to the next)."""
    child = profile.child
    found: list[tuple[Day, str]] = []
    for referral in child.referrals:
        for plan in referral.cin_plans:
            end = min(plan.end or FAR, until)
            found += [(d, "cin") for d in _six_monthly(rng, plan.start, end)]
        for plan in referral.cp_plans:
            found += [(d, "cp") for d in plan.reviews]
    for period in child.care:
        found += [(d, "cla") for d, _ in period.reviews]
    if profile.leaver_span:
        start, end = profile.leaver_span
        found += [(d, "care_leaver") for d in _six_monthly(rng, start, min(end, until))]
    # One review a day: where two plans' reviews fall together, the more specialist one.
    found.sort(key=lambda review: (review[0], PLAN_PRIORITY[review[1]]))
    return [r for i, r in enumerate(found) if i == 0 or r[0] != found[i - 1][0]]


def _six_monthly(rng: random.Random, start: Day, end: Day) -> list[Day]:
    """Reviews about 3 months after a plan starts, then a little under 6 months apart."""
    dates = []
    draw = rng.random
    when = start + 76 + int(draw() * 25)
    while when < end:
        dates.append(when)
        when += 161 + int(draw() * 22)
    return dates


def _risk_chance(
    risk: tuple, factors: frozenset[str], age: int, plan: str, level: float, uasc: bool
) -> float:
    name, codes, with_factor, without, childs_own = risk
    base = with_factor if factors & codes else without
    if childs_own:
        base *= 0.0 if age < 8 else (0.25 if age < 11 else (1.0 if age < 14 else 1.3))
        if name == "trafficking" and uasc:
            base = max(base, 0.08)
    elif plan in ("cla", "care_leaver"):
        base *= 0.6  # away from home, parents' difficulties touch the child less
    return min(0.95, base * level**1.5)  # risks come and go faster than the level moves


def case_reviews(
    profiles: list[Profile], window: WindowLike, seed: int
) -> list[tuple[list[str], Review]]:
    rng = random.Random(f"demoton:{seed}:case-reviews")
    out: list[tuple[list[str], Review]] = []
    for profile in profiles:
        previous: dict[str, bool] = {}
        last_review = -FAR
        for when, plan in review_dates(profile, rng, window.end + 1):
            if when > window.end:
                break
            if when < window.start - 400:
                continue  # only the last review before the window matters (risks carry over)
            level = profile.level(when)
            answers, present = _review_answers(profile, rng, when, plan, level, previous)
            missing = _missing_between(profile.child, last_review, when) if plan == "cla" else None
            if missing is not None:
                answers[6] = yes_no(missing)
                present += missing
            last_review = when
            if when < window.start:
                continue
            row = [profile.child_id, iso(when), plan, *answers, _feels_safe(profile, rng, when)]
            out.append((row, Review(profile, when, plan, present)))
    return out


def _review_answers(
    profile: Profile,
    rng: random.Random,
    when: Day,
    plan: str,
    level: float,
    previous: dict[str, bool],
) -> tuple[list[str], int]:
    answers, present = [], 0
    age = profile.age(when)
    factors = profile.factors_on(when)
    uasc = profile.child.unaccompanied
    draw = rng.random
    for risk in RISKS:
        name, childs_own = risk[0], risk[4]
        if name in previous and draw() < STICKY:
            value = previous[name]  # still there (or still not) since the last review
        else:
            value = draw() < _risk_chance(risk, factors, age, plan, level, uasc)
        previous[name] = value
        if name == "missing" and plan == "cla":
            answers.append("")  # filled from the child's missing records
            continue
        if (childs_own and age < 8 and draw() < 0.5) or draw() < 0.02:
            answers.append("")  # not assessed
            continue
        answers.append("yes" if value else "no")
        present += value
    return answers, present


def _missing_between(child: Child, after: Day, until: Day) -> bool:
    """A looked-after child went missing (SSDA903 missing file) since the last review."""
    return any(
        m.kind == "M" and after < m.start <= until for period in child.care for m in period.missing
    )


def _feels_safe(profile: Profile, rng: random.Random, when: Day) -> str:
    """Children 8+ who gave a view (about half); less often safe while risks are high."""
    if profile.age(when) < 8 or not chance(rng, 0.55):
        return ""
    return yes_no(chance(rng, min(0.97, 1.05 - 0.3 * profile.level(when))))


# --- SDQ ------------------------------------------------------------------------------------------

SDQ_SPREAD = 6.0  # sd of children's own level (with the latent part, total sd ~7)
SDQ_SLOPE = 8.0  # points of total difficulties per unit of latent risk level
SDQ_PER_RISK = 1.5  # points per risk factor present at the latest review
SUBSCALE_WEIGHTS = (1.0, 0.9, 1.25, 0.85)  # emotional, conduct, hyperactivity, peer (typical)


def sdq_scores(
    profiles: list[Profile],
    window: WindowLike,
    seed: int,
    reviews: list[tuple[list[str], Review]],
) -> list[list[str]]:
    """SDQs completed in the weeks before a review, for it: looked-after children aged 4-16
    at every other review (about once a year, carer informant, as for OC2), and children on
    half of CiN/CP plans at each review.

    The total is the child's own level, moved by the latent risk level and by the risks the
    review found (a child's difficulties are worse while things around them are bad), so that
    SDQ change follows the change in risks the reviews record."""
    rng = random.Random(f"demoton:{seed}:sdq")
    by_child: dict[str, list[Review]] = {}
    for _, review in reviews:
        by_child.setdefault(review.profile.child_id, []).append(review)
    rows = []
    for profile in profiles:
        found = by_child.get(profile.child_id)
        if not found:
            continue
        # Looked-after children average ~14 (SSDA903 OC2 national mean); children in need a
        # little lower. Each child keeps their own level.
        own = (15.5 if profile.child.care else 14.0) + SDQ_SPREAD * _normal(
            profile.uniform["sdq_base"]
        )
        weights = [w * rng.uniform(0.6, 1.4) for w in SUBSCALE_WEIGHTS]
        informant = "carer"
        if not profile.child.care and chance(rng, 0.3):
            informant = "teacher" if chance(rng, 0.4) else "self"
        plans_with_sdq = chance(rng, 0.5)
        cla_count = 0
        seen: set[tuple[Day, str]] = set()
        for review in found:
            if review.plan == "cla":
                cla_count += 1
                if cla_count % 2:
                    continue  # every other review: the 2nd (~4 months), then yearly
                who = "carer"
            elif review.plan in ("cin", "cp") and plans_with_sdq:
                who = informant
            else:
                continue
            when = review.when - rng.randint(3, 20)
            age = profile.age(when)
            if not in_window(when, window) or not 4 <= age <= 16:
                continue
            if who == "self" and age < 11:
                who = "carer"
            if (when, who) in seen:
                continue
            seen.add((when, who))
            latent = SDQ_SLOPE * (profile.level(when) - 1.0)
            total = round(own + latent + SDQ_PER_RISK * review.risks + rng.gauss(0, 1.5))
            total = min(40, max(0, total))
            parts = _split_total(total, weights, rng)
            prosocial = min(10, max(0, round(rng.gauss(7.8 - 0.12 * (total - 14), 1.8))))
            rows.append([profile.child_id, iso(when), who, total, *parts, prosocial])
    return rows


def _normal(u: float) -> float:
    """A standard normal value from a uniform one (a stable per-child draw)."""
    return NormalDist().inv_cdf(min(0.999, max(0.001, u)))


def _split_total(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """Share a total over the four subscales (each 0-10) so they add up exactly."""
    scale = sum(weights)
    raw = [total * w / scale + rng.uniform(-0.8, 0.8) for w in weights]
    parts = [min(10, max(0, int(r))) for r in raw]
    order = sorted(range(4), key=lambda i: raw[i] - parts[i], reverse=True)
    while sum(parts) != total:
        step = 1 if sum(parts) < total else -1
        for i in order:
            if sum(parts) == total:
                break
            if 0 <= parts[i] + step <= 10:
                parts[i] += step
    return parts


# --- health needs ---------------------------------------------------------------------------------

SUPPORT = Picker(
    (("camhs", 35.0), ("equivalent", 25.0), ("waiting", 20.0), ("declined", 7.0), ("none", 13.0))
)
# Needs are met far more often with a service (CAMHS or an equivalent) than without.
NEED_MET = {"camhs": 0.78, "equivalent": 0.68, "waiting": 0.15, "declined": 0.12, "none": 0.08}
HEALTH_RECORD_SHARE = 0.35  # children on CiN/CP plans with health records shared at reviews


def health_needs(
    profiles: list[Profile],
    window: WindowLike,
    seed: int,
    reviews: list[tuple[list[str], Review]],
) -> list[list[str]]:
    """Looked-after children at each health assessment (initial within 28 days, then every
    year, every 6 months under 5); a third of children on CiN/CP plans at their reviews."""
    rng = random.Random(f"demoton:{seed}:health")
    review_days: dict[str, list[Day]] = {}
    for _, review in reviews:
        if review.plan in ("cin", "cp"):
            review_days.setdefault(review.profile.child_id, []).append(review.when)
    rows = []
    for profile in profiles:
        dates = [d for d in _health_assessments(profile, rng, window.end) if d >= window.start]
        if chance(rng, HEALTH_RECORD_SHARE):
            dates += review_days.get(profile.child_id, [])
        support = ""
        for when in sorted(set(dates)):
            need = profile.uniform["mental_health"] < _need_chance(profile, when)
            if not need:
                rows.append([profile.child_id, iso(when), "no", "", ""])
                support = ""
                continue
            support = _next_support(rng, support)
            met = chance(rng, NEED_MET[support])
            rows.append([profile.child_id, iso(when), "yes", support, yes_no(met)])
    return rows


def _health_assessments(profile: Profile, rng: random.Random, until: Day) -> list[Day]:
    dates = []
    for period in profile.child.care:
        when = period.start + rng.randint(10, 28)
        while when < min(period.end or FAR, until + 1):
            dates.append(when)
            when += (182 if profile.age(when) < 5 else 365) + rng.randint(-20, 20)
    return dates


def _need_chance(profile: Profile, when: Day) -> float:
    """~40% of looked-after children aged 5-17 have an identified need (an assumption in line
    with SDQ 'concern' rates of ~40%); fewer in younger or not looked-after children."""
    age = profile.age(when)
    looked_after = profile.plan_on(when) == "cla"
    if profile.factors_on(when) & {"4A", "15A"}:
        base = 0.8
    elif looked_after:
        base = 0.47 if age >= 5 else 0.1
    else:
        base = 0.24 if age >= 5 else 0.06
    return base * (0.55 + 0.45 * profile.level(when))


def _next_support(rng: random.Random, previous: str) -> str:
    """Support carries over between records; a wait usually ends in a service."""
    if previous == "waiting" and chance(rng, 0.6):
        return "camhs" if chance(rng, 0.6) else "equivalent"
    if previous and chance(rng, 0.7):
        return previous
    return SUPPORT(rng)


# --- education ------------------------------------------------------------------------------------

TERMS = (  # name, first day (months after 1 September), sessions possible (DfE ~280-290 / year)
    ("autumn", (0, 9, 1), (0, 12, 31), 140),
    ("spring", (1, 1, 1), (1, 3, 31), 120),
    ("summer", (1, 4, 1), (1, 7, 31), 130),
)


@dataclass(frozen=True, slots=True)
class Term:
    academic: int  # the calendar year the academic year starts in
    name: str
    start: Day
    end: Day
    sessions: int
    label: str  # the academic year as written, e.g. 2025/26


def terms_in_window(window: WindowLike, seed: int) -> list[Term]:
    """Terms whose middle falls in the window (the reader dates terms by their middle)."""
    rng = random.Random(f"demoton:{seed}:terms")
    terms = []
    for academic in range(window.first_year - 2, window.last_year + 1):
        for name, (y0, m0, d0), (y1, m1, d1), sessions in TERMS:
            start, end = day(academic + y0, m0, d0), day(academic + y1, m1, d1)
            middle = (start + end) // 2
            if in_window(middle, window):
                label = f"{academic}/{str(academic + 1)[-2:]}"
                sessions += rng.randint(-3, 3)
                terms.append(Term(academic, name, start, end, sessions, label))
    return terms


def education_spans(profile: Profile) -> list[tuple[Day, Day]]:
    """When the school record reaches the authority: from first help to two years after a
    case closes (the virtual school's and the CiN extension), not after moving away or dying."""
    child = profile.child
    closed_away = child.referrals and child.referrals[-1].closure_reason in ("RC5", "RC2")
    spans = []
    for start, end in profile.spells:
        tail = 0 if (closed_away and end == profile.spells[-1][1]) else 730
        spans.append((start, end + tail))
    if child.died is not None:
        spans = [(s, min(e, child.died)) for s, e in spans if s < child.died]
    return spans


def education_attendance(profiles: list[Profile], window: WindowLike, seed: int) -> list[list]:
    rng = random.Random(f"demoton:{seed}:attendance")
    terms = terms_in_window(window, seed)
    rows = []
    for profile in profiles:
        spans = education_spans(profile)
        if not spans:
            continue  # never in need (no further action, or assessed as not in need)
        give_upn = profile.real_upn and chance(rng, 0.7)
        moves = home_moves(profile.child)
        first, last = spans[0][0], spans[-1][1]
        for term in terms:
            if term.end < first or term.start > last:
                continue
            year_age = profile.school_age(term.academic)
            if not 1 <= year_age <= 15:
                continue
            if not any(s <= term.end and e >= term.start for s, e in spans):
                continue
            row = _term_row(profile, rng, term, year_age, moves)
            if row is None:
                continue
            upn = profile.child.upn if give_upn and year_age >= 5 else ""
            rows.append([profile.child_id, upn, term.label, term.name, *row])
    return rows


def _term_row(
    profile: Profile, rng: random.Random, term: Term, year_age: int, moves: list[Day]
) -> list | None:
    if 5 <= year_age <= 15:  # Year 1 to Year 11: compulsory school age
        return _school_term(profile, rng, term, year_age, moves)
    if year_age <= 3 and profile.age(term.start) >= 2:  # funded early education, 2-4
        # Take-up below England's (~75% of eligible 2-year-olds, ~94% of 3-4 year olds): an
        # assumption for families in contact with children's services.
        rate = 0.55 if year_age <= 2 else 0.8
        took_up = profile.uniform["early_education"] < rate
        return ["", "", "", "", "", "", yes_no(took_up)]
    return None


def _school_term(
    profile: Profile, rng: random.Random, term: Term, year_age: int, moves: list[Day]
) -> list:
    child = profile.child
    possible = term.sessions
    if child.unaccompanied and child.referrals and term.start < child.referrals[0].date:
        share = (term.end - child.referrals[0].date) / (term.end - term.start)
        possible = max(1, round(term.sessions * share))  # joined a school mid-term
    middle = (term.start + term.end) // 2
    level = profile.level(middle)
    looked_after = profile.plan_on(middle) == "cla"
    # Absence rises with the latent risk level: while risks are high, attendance suffers.
    rate = profile.absence * (0.35 + 0.75 * level) * (0.55 if looked_after else 1.0)
    rate = min(0.9, rate * math.exp(rng.gauss(0.0, 0.35)))
    missed = min(possible, round(possible * rate))
    unauthorised_share = min(0.9, (0.25 if looked_after else 0.35) + 0.15 * (level - 0.7))
    share = min(1.0, max(0.05, unauthorised_share + rng.gauss(0, 0.1)))
    unauthorised = round(missed * share)
    secondary = year_age >= 11
    return [
        possible,
        missed - unauthorised,
        unauthorised,
        _suspensions(rng, level, secondary, looked_after),
        yes_no(_permanent_exclusion(rng, level, secondary, looked_after)),
        _school_changes(rng, term, moves),
        "",
    ]


def _suspensions(rng: random.Random, level: float, secondary: bool, looked_after: bool) -> int:
    """England: ~2.5% of pupils suspended at least once a year, mostly in secondary; children
    in need several times that (DfE: CiN suspension rates ~4x all pupils)."""
    p = (0.09 if secondary else 0.018) * level * (0.8 if looked_after else 1.0)
    if not chance(rng, p):
        return 0
    return 1 + poisson(rng, 0.6)


def _permanent_exclusion(
    rng: random.Random, level: float, secondary: bool, looked_after: bool
) -> bool:
    """England ~0.1 per 100 pupils a year; children in need ~0.5; looked-after children rarely
    (virtual schools step in)."""
    p = (0.0035 if secondary else 0.0005) * level * (0.2 if looked_after else 1.0)
    return chance(rng, p)


def home_moves(child: Child) -> list[Day]:
    """Days the child moved home: house moves, starts of care and changes of carer (RNE S, P)."""
    moves = [since for since, _ in child.addresses[1:]]
    for period in child.care:
        moves += [e.start for e in period.episodes if e.rne in ("S", "P")]
    return sorted(moves)


def _school_changes(rng: random.Random, term: Term, moves: list[Day]) -> int:
    """Mid-year school moves: ~2% a term as background; likely after a move of home."""
    changes = 1 if rng.random() < 0.02 else 0
    if moves:
        count = bisect_right(moves, term.end) - bisect_right(moves, term.start - 1)
        changes += sum(rng.random() < 0.35 for _ in range(count))
    return changes


# KS2 in Year 6 (age 10 on 31 August), KS4 in Year 11 (age 15); results in the summer term.
def education_results(profiles: list[Profile], window: WindowLike, seed: int) -> list[list]:
    rng = random.Random(f"demoton:{seed}:results")
    terms = [t for t in terms_in_window(window, seed) if t.name == "summer"]
    rows = []
    for profile in profiles:
        spans = education_spans(profile)
        give_upn = profile.real_upn and chance(rng, 0.75)
        for term in terms:
            year_age = profile.school_age(term.academic)
            if year_age not in (10, 15):
                continue
            if not any(s <= term.end and e >= day(term.academic, 9, 1) for s, e in spans):
                continue
            if profile.child.died is not None and profile.child.died < term.end:
                continue
            level = profile.level(term.start)
            result = _ks2(profile, rng, level) if year_age == 10 else _ks4(profile, rng, level)
            if result is None:
                continue
            stage, attainment, progress, met = result
            upn = profile.child.upn if give_upn else ""
            rows.append([profile.child_id, upn, term.label, stage, attainment, progress, met])
    return rows


def _ks2(profile: Profile, rng: random.Random, level: float) -> tuple | None:
    """Average scaled score ~100 +/- 7 for children in need (England ~105); progress ~ -1;
    ~30% meet the expected standard in reading, writing and maths (England ~61%)."""
    if chance(rng, 0.06):
        return None  # not entered (working below the test standard)
    score = 104.0 + 6.5 * profile.ability - 2.0 * (level - 0.7) + rng.gauss(0, 2.0)
    score = min(120.0, max(80.0, score))
    progress = max(-10.0, min(10.0, -1.0 + 1.5 * (profile.ability + 0.6) + rng.gauss(0, 2.8)))
    met = score + rng.gauss(0, 3.0) >= 104.0
    return "ks2", f"{score:.1f}", f"{progress:.2f}", yes_no(met)


def _ks4(profile: Profile, rng: random.Random, level: float) -> tuple | None:
    """Attainment 8 ~20-25 for children in need and looked after (England ~46); Progress 8
    around -1.0 to -1.3; grade 4+ in English and maths ~25% (England ~65%)."""
    if chance(rng, 0.05):
        return None  # no entries recorded
    progress = -1.15 + 0.35 * (0.7 - level) + rng.gauss(0, 1.0)
    progress = max(-5.0, min(3.0, progress))
    expected = 44.0 + 12.0 * profile.ability  # what pupils with their KS2 results attain
    attainment = min(90.0, max(0.0, expected + 10.0 * progress + rng.gauss(0, 3.0)))
    met = attainment + rng.gauss(0, 6.0) >= 36.0
    return "ks4", f"{attainment:.1f}", f"{progress:.2f}", yes_no(met)


# --- planning meetings ----------------------------------------------------------------------------

# Parents attend most CP conferences (~80%) and fewer CiN reviews (~65%): assumptions.
PARENTS = {
    "cin_review": (0.95, 0.65),
    "initial_cp_conference": (0.98, 0.82),
    "cp_review_conference": (0.97, 0.8),
    "core_group": (0.97, 0.72),
    "pathway_review": (0.15, 0.5),
}


def planning_meetings(
    profiles: list[Profile],
    window: WindowLike,
    seed: int,
    reviews: list[tuple[list[str], Review]],
) -> list[list[str]]:
    rng = random.Random(f"demoton:{seed}:meetings")
    by_child: dict[str, list[tuple[Day, str]]] = {}
    for _, review in reviews:
        kind = {"cin": "cin_review", "care_leaver": "pathway_review"}.get(review.plan)
        if kind:
            by_child.setdefault(review.profile.child_id, []).append((review.when, kind))
    rows = []
    for profile in profiles:
        meetings = by_child.get(profile.child_id, []) + _cp_meetings(profile, rng)
        seen: set[tuple[Day, str]] = set()
        for when, kind in sorted(meetings):
            if not in_window(when, window) or (when, kind) in seen:
                continue
            seen.add((when, kind))
            invited_p, attend_p = PARENTS[kind]
            invited = chance(rng, invited_p)
            attended = invited and chance(rng, attend_p)
            participation = _participation(profile.age(when), kind, rng)
            rows.append(
                [
                    profile.child_id,
                    iso(when),
                    kind,
                    participation,
                    yes_no(invited),
                    yes_no(attended),
                ]
            )
    return rows


def _cp_meetings(profile: Profile, rng: random.Random) -> list[tuple[Day, str]]:
    """Initial conferences (with or without a plan), review conferences, and core groups
    within 10 working days of the plan and about monthly until it ends."""
    meetings: list[tuple[Day, str]] = []
    for referral in profile.child.referrals:
        for enquiry in referral.section47s:
            if enquiry.icpc is not None:
                meetings.append((enquiry.icpc, "initial_cp_conference"))
        if referral.transfer_icpc is not None:
            meetings.append((referral.transfer_icpc, "initial_cp_conference"))
        for plan in referral.cp_plans:
            meetings.append((plan.start, "initial_cp_conference"))
            conferences = set(plan.reviews)
            meetings += [(d, "cp_review_conference") for d in plan.reviews]
            when = plan.start + rng.randint(7, 14)
            while when < (plan.end or FAR):
                if when not in conferences:
                    meetings.append((_weekday(when), "core_group"))
                when += rng.randint(28, 42)
    return meetings


def _weekday(when: Day) -> Day:
    """Move a Saturday or Sunday meeting to the Monday (ordinal % 7: 6 Sat, 0 Sun)."""
    return when + {6: 2, 0: 1}.get(when % 7, 0)


def _participation(age: int, kind: str, rng: random.Random) -> str:
    """Not applicable under 4; older children attend more (assumptions, in line with the
    SSDA903 review codes: most teenagers take part, about half in person)."""
    if age < 4:
        return "not_applicable"
    attend = 0.15 if age < 8 else (0.35 if age < 13 else 0.55)
    if kind == "core_group":
        attend *= 0.5
    elif kind == "pathway_review":
        attend = 0.8
    roll = rng.random()
    if roll < attend:
        return "attended"
    if roll < attend + (1 - attend) * 0.6:
        return "views_conveyed"
    return "did_not_take_part"


# --- permanence plans -----------------------------------------------------------------------------

SGO = frozenset({"E43", "E44", "E45", "E46", "E47", "E48"})
HOME = frozenset({"E4A", "E4B", "E13"})
AT_18 = frozenset({"E5", "E6", "E7", "E17", "E13"})


def permanence_plans(profiles: list[Profile], window: WindowLike, seed: int) -> list[list[str]]:
    """A long-term plan at the second looked-after review (~4 months) for most, a later review
    for some, none for children who leave before then. The plan matches how the period ends
    (the simulation holds the true ending, even when it is after the window)."""
    rng = random.Random(f"demoton:{seed}:permanence")
    rows = []
    for profile in profiles:
        for period in profile.child.care:
            if period.end is not None and period.end < window.start - 366:
                continue
            for when, kind in _plans_for(profile, period, rng):
                if when <= window.end:
                    rows.append([profile.child_id, iso(period.start), iso(when), kind])
    return rows


def _plans_for(profile: Profile, period: CarePeriod, rng: random.Random) -> list[tuple[Day, str]]:
    reviews = [d for d, _ in period.reviews]
    if len(reviews) < 2 or chance(rng, 0.04):
        return []  # left before the second review (or, rarely, a plan never agreed)
    index = 1 if chance(rng, 0.75) else min(len(reviews) - 1, rng.randint(2, 4))
    when = reviews[index]
    kind = _plan_type(profile, period, when)
    plans = [(when, kind)]
    adoption = period.adoption
    if adoption is not None and adoption.ceased is not None:
        # The plan for adoption was agreed, then changed when the placement order ended.
        plans = [(min(when, adoption.decision), "adoption")]
        later = [d for d in reviews if d > adoption.ceased]
        if later:
            plans.append((later[0], "long_term_fostering"))
    return plans


def _plan_type(profile: Profile, period: CarePeriod, when: Day) -> str:
    rec = period.rec
    if rec in ("E11", "E12") or period.adoption is not None:
        return "adoption"
    if rec in SGO:
        return "special_guardianship"
    if rec == "E41":
        return "child_arrangements"
    leaves_at_18 = period.end is not None and period.end >= birthday(profile.child.dob, 18)
    if rec in HOME and not leaves_at_18:
        return "return_home"
    if leaves_at_18 or rec in AT_18:
        # staying until adulthood: the plan is for where the child lived when it was made
        place = next((e.place for e in reversed(period.episodes) if e.start <= when), "")
        if profile.age(when) >= 16 or place in ("H5", "K3", "P2"):
            return "independence"
        if place in ("K2", "K1"):
            return "residential"
        return "long_term_fostering"
    return "other"
