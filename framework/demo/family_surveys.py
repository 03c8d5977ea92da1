"""Demoton's annual surveys of children and of parents and carers, and who was invited.

Each financial year of the window has one child survey and one parent and carer survey, sent in
early January to everyone eligible on that day (the snapshot) and answered up to the end of
February. Eligibility comes from the simulated histories:

* the child's group on the snapshot day, by the highest level of plan (as in the framework's
  escalation order): looked after -> ``cla``; on a child protection plan -> ``cp``; an open
  referral with a child in need plan or an assessment -> ``cin``; a relevant care leaver aged
  18 to 21 the authority is in touch with -> ``care_leaver``;
* the child survey goes to children aged 8 and over, the parent survey to the parent (or, for
  most looked-after children in foster or kinship care, the carer) of every child of any age
  in the ``cin``, ``cp`` and ``cla`` groups. The model has no households, so there is one
  invitation per child.

Responses are partial and biased the way such surveys are (looked-after children and carers
answer most, parents of children on CP plans and care leavers least, older teenagers less than
younger children), so weighting to ``survey_invitations`` has something to correct. Answers
depend on what happened to the child: more changes of social worker in the past year (from the
workforce model) mean lower ratings of the relationship with the worker; placement moves mean
feeling less settled; looked-after children feel a little safer where they live than children
on CP plans; parents of children on CP plans feel less involved. Surveys are anonymous: the
respondent id is the survey tool's running number, not the child id.

All rates below are assumptions, in the range reported by English authorities' own surveys and
by Coram/Bristol "Bright Spots" (response rates of 20-50% for looked-after children; most
children agree that they trust their social worker).
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from framework.demo.dates import Day, age_on, birthday, day, iso, year_label
from framework.demo.model import CarePeriod, Child, LeaverStatus

CHILD_COLUMNS = (
    "survey",
    "respondent_id",
    "response_date",
    "child_group",
    "age_band",
    "c1_2_trust",
    "c1_2_support",
    "c1_2_empowerment",
    "c1_3_open_honest",
    "c3_1_needs",
    "c3_1_support",
    "c5_1_other_services",
    "d1_9_safe_home",
    "d2_3_safe_community",
    "d4_5_settled_loved",
    "d4_6_understand_plans",
    "d5_6_permanence",
    "d5_8_contact_clear",
    "d5_8_wishes",
    "d12_3_school",
    "d12_4_activities",
    "d13_2_aspirations",
)
PARENT_COLUMNS = (
    "survey",
    "respondent_id",
    "response_date",
    "child_group",
    "age_band",
    "relationship",
    "c2_1_relationship",
    "c2_2_open_honest",
    "c4_1_needs",
    "c4_1_support",
    "c6_1_other_services",
    "d5_7_permanence",
    "d5_9_contact_clear",
    "d5_9_wishes",
    "d9_3_identity",
    "d9_3_hopes",
)
INVITATION_COLUMNS = ("survey", "year", "audience", "segment", "age_band", "team", "invited")

# Items about the relationship with the social worker: these fall with changes of worker.
CHILD_RELATIONSHIP_ITEMS = ("c1_2_trust", "c1_2_support", "c1_2_empowerment", "c1_3_open_honest")
PARENT_RELATIONSHIP_ITEMS = ("c2_1_relationship", "c2_2_open_honest")
# Items only looked-after children (or their carers and parents) are asked.
CHILD_CLA_ITEMS = ("d4_6_understand_plans", "d5_6_permanence", "d5_8_contact_clear", "d5_8_wishes")
PARENT_CLA_ITEMS = ("d5_7_permanence", "d5_9_contact_clear", "d5_9_wishes")

EDUCATION_ACTIVITIES = frozenset({"F1", "P1", "F2", "P2"})  # OC3 ACTIV: in education
FOSTER_PLACEMENT = "U"  # SSDA903 PLACE U1-U6: foster placements, including with family
NEW_PLACEMENT = frozenset({"P", "B", "U"})  # SSDA903 RNE: the child moved placement


class Workforce(Protocol):
    """What the surveys need from the workforce model (framework/demo/workforce.py)."""

    def worker_changes(self, child_id: str, start: Day, end: Day) -> int: ...

    def team_of(self, child_id: str, on: Day) -> str | None: ...

    def team_turnover(self, team: str) -> float: ...


@dataclass(frozen=True)
class SurveyParams:
    """Assumptions behind the surveys (no published source: see the module docstring)."""

    snapshot: tuple[int, int] = (1, 10)  # invitations sent on 10 January
    close: tuple[int, int] = (2, 28)  # survey closes on 28 February
    mean_days_to_answer: float = 11.0  # most answer soon after the invitation or a reminder
    youngest_child: int = 8
    # Response rates by group (children) ...
    child_response: dict[str, float] = field(
        default_factory=lambda: {"cla": 0.45, "cin": 0.25, "cp": 0.18, "care_leaver": 0.15}
    )
    # ... scaled by age band: older teenagers answer less.
    child_age_response: dict[str, float] = field(
        default_factory=lambda: {"5-9": 1.1, "10-15": 1.0, "16-17": 0.6, "18+": 1.0}
    )
    # Parents and carers: (group, relationship invited) -> response rate.
    parent_response: dict[tuple[str, str], float] = field(
        default_factory=lambda: {
            ("cin", "parent"): 0.22,
            ("cp", "parent"): 0.12,
            ("cla", "carer"): 0.35,
            ("cla", "parent"): 0.12,
        }
    )
    # Looked-after children in foster care: the carer is invited; otherwise a parent.
    other_family_share: float = 0.07  # parents' forms filled in by a grandparent, aunt...
    item_blank: float = 0.04  # any one item left blank
    young_item_blank: float = 0.08  # 8 and 9 year olds skip more
    # Answers: a latent score on the 1-5 scale, rounded. Person effect and item noise (sd).
    person_sd: float = 0.55
    item_sd: float = 0.65
    # Each change of social worker in the past 12 months (up to 3 counted) lowers the
    # relationship items by this much; a team's turnover above typical lowers them a little
    # more (agency cover, less time with the child).
    per_worker_change: float = 0.35
    counted_changes: int = 3
    typical_turnover: float = 0.16  # CSWW 2025: England social worker turnover ~16%
    per_turnover: float = 1.0  # points per unit of turnover above typical, capped below
    turnover_cap: float = 0.2
    per_placement_move: float = 0.3  # feeling settled, per placement move in the past year


SURVEY_PARAMS = SurveyParams()

# Mean answers (1-5) before adjustments. Most children and parents agree with most statements.
CHILD_MEANS = {
    "c1_2_trust": 4.2,
    "c1_2_support": 4.2,
    "c1_2_empowerment": 3.9,
    "c1_3_open_honest": 4.1,
    "c3_1_needs": 3.7,
    "c3_1_support": 3.6,
    "c5_1_other_services": 3.8,
    "d1_9_safe_home": 4.2,
    "d2_3_safe_community": 3.8,
    "d4_5_settled_loved": 4.1,
    "d4_6_understand_plans": 3.8,
    "d5_6_permanence": 3.6,
    "d5_8_contact_clear": 3.7,
    "d5_8_wishes": 3.5,
    "d12_3_school": 3.6,
    "d12_4_activities": 3.9,
    "d13_2_aspirations": 4.0,
}
PARENT_MEANS = {
    "c2_1_relationship": 3.8,
    "c2_2_open_honest": 3.8,
    "c4_1_needs": 3.6,
    "c4_1_support": 3.5,
    "c6_1_other_services": 3.6,
    "d5_7_permanence": 3.5,
    "d5_9_contact_clear": 3.5,
    "d5_9_wishes": 3.3,
    "d9_3_identity": 3.9,
    "d9_3_hopes": 3.8,
}


@dataclass
class Invitee:
    """A child (or the child's parent or carer) eligible on the snapshot day."""

    child: Child
    group: str
    age_band: str
    worker_changes: int
    turnover: float
    relationship: str = ""  # parent survey: who was invited
    placement_moves: int = 0
    in_education: bool = True


@dataclass
class Response:
    """One answered questionnaire; ``child_id`` and ``worker_changes`` are for tests only and
    never written (the survey is anonymous)."""

    child_id: str
    worker_changes: int
    date: Day
    group: str
    age_band: str
    answers: dict[str, int | None]
    relationship: str = ""


# --------------------------------------------------------------------------------------------
# Who is in which group on a day


def age_band(age: int) -> str:
    """The templates' age bands (templates.toml ``age_band``)."""
    if age < 1:
        return "under_1"
    if age <= 4:
        return "1-4"
    if age <= 9:
        return "5-9"
    if age <= 15:
        return "10-15"
    if age <= 17:
        return "16-17"
    return "18+"


def care_period_on(child: Child, when: Day) -> CarePeriod | None:
    for period in child.care:
        if period.start <= when and (period.end is None or period.end > when):
            return period
    return None


def leaver_status_on(child: Child, when: Day) -> LeaverStatus | None:
    """The latest OC3 answers recorded by ``when`` (a birthday at 17-21 on or before it)."""
    found = None
    for status in child.leaver:
        if birthday(child.dob, status.age) <= when:
            found = status
    return found


def group_on(child: Child, when: Day) -> str | None:
    """The child's group on a day, by the highest level of plan; None when not open."""
    if child.dob > when or (child.died is not None and child.died <= when):
        return None
    if care_period_on(child, when):
        return "cla"
    open_referrals = [
        r
        for r in child.referrals
        if not r.nfa and r.date <= when and (r.closure is None or r.closure > when)
    ]
    for referral in open_referrals:
        for plan in referral.cp_plans:
            if plan.start <= when and (plan.end is None or plan.end > when):
                return "cp"
    for referral in open_referrals:
        on_plan = any(
            p.start <= when and (p.end is None or p.end > when) for p in referral.cin_plans
        )
        if on_plan or any(a.start <= when for a in referral.assessments):
            return "cin"
    if child.leaver and 18 <= age_on(child.dob, when) <= 21:
        status = leaver_status_on(child, when)
        if status is not None and status.in_touch == "YES":
            return "care_leaver"
    return None


def placement_moves(child: Child, start: Day, end: Day) -> int:
    """Moves of placement (SSDA903 RNE P, B or U) in ``[start, end]``."""
    return sum(
        1
        for period in child.care
        for episode in period.episodes
        if episode.rne in NEW_PLACEMENT and start <= episode.start <= end
    )


# --------------------------------------------------------------------------------------------
# Answers


def _agree(rng: random.Random, mean: float, person: float, sd: float) -> int:
    return min(5, max(1, round(mean + person + rng.gauss(0.0, sd))))


def _relationship_shift(invitee: Invitee, p: SurveyParams) -> float:
    changes = min(invitee.worker_changes, p.counted_changes)
    extra = max(-p.turnover_cap, min(p.turnover_cap, invitee.turnover - p.typical_turnover))
    return -p.per_worker_change * changes - p.per_turnover * extra


def _child_shifts(invitee: Invitee, p: SurveyParams) -> dict[str, float]:
    shifts = dict.fromkeys(CHILD_MEANS, 0.0)
    for item in CHILD_RELATIONSHIP_ITEMS:
        shifts[item] += _relationship_shift(invitee, p)
    if invitee.age_band in ("16-17", "18+"):  # older teenagers are more critical
        for item in shifts:
            shifts[item] -= 0.15
    safety = {"cla": 0.15, "cp": -0.25, "cin": 0.0, "care_leaver": -0.1}[invitee.group]
    shifts["d1_9_safe_home"] += safety
    shifts["d4_5_settled_loved"] += safety - p.per_placement_move * invitee.placement_moves
    if invitee.group == "cp":  # less say in plans made under child protection
        shifts["c3_1_needs"] -= 0.2
        shifts["c3_1_support"] -= 0.2
    if invitee.group == "care_leaver" and not invitee.in_education:
        shifts["d13_2_aspirations"] -= 0.4
    return shifts


def child_answers(rng: random.Random, invitee: Invitee, p: SurveyParams) -> dict:
    person = rng.gauss(0.0, p.person_sd)
    shifts = _child_shifts(invitee, p)
    blank = p.young_item_blank if invitee.age_band == "5-9" else p.item_blank
    answers: dict[str, int | None] = {}
    for item, mean in CHILD_MEANS.items():
        value = _agree(rng, mean + shifts[item], person, p.item_sd)
        asked = invitee.group == "cla" or item not in CHILD_CLA_ITEMS
        if item == "d12_3_school" and not invitee.in_education:
            asked = False
        answers[item] = value if asked and rng.random() >= blank else None
    return answers


def _parent_shifts(invitee: Invitee, p: SurveyParams) -> dict[str, float]:
    shifts = dict.fromkeys(PARENT_MEANS, 0.0)
    for item in PARENT_RELATIONSHIP_ITEMS:
        shifts[item] += _relationship_shift(invitee, p)
    if invitee.group == "cp":  # parents under child protection: less trust, less involvement
        for item in PARENT_RELATIONSHIP_ITEMS:
            shifts[item] -= 0.25
        shifts["c4_1_needs"] -= 0.6
        shifts["c4_1_support"] -= 0.6
    if invitee.relationship == "carer":  # carers work alongside the social worker
        for item in shifts:
            shifts[item] += 0.2
    elif invitee.group == "cla":  # parents of children in care: contact is contested
        for item in PARENT_CLA_ITEMS:
            shifts[item] -= 0.4
    return shifts


def parent_answers(rng: random.Random, invitee: Invitee, p: SurveyParams) -> dict:
    person = rng.gauss(0.0, p.person_sd)
    shifts = _parent_shifts(invitee, p)
    answers: dict[str, int | None] = {}
    for item, mean in PARENT_MEANS.items():
        value = _agree(rng, mean + shifts[item], person, p.item_sd)
        asked = invitee.group == "cla" or item not in PARENT_CLA_ITEMS
        if item.startswith("d9_3") and invitee.age_band == "under_1":
            asked = False  # a baby's sense of identity: not asked
        answers[item] = value if asked and rng.random() >= p.item_blank else None
    return answers


# --------------------------------------------------------------------------------------------
# Eligibility and responses


def _snapshot(end_year: int, p: SurveyParams) -> tuple[Day, Day]:
    return day(end_year, *p.snapshot), day(end_year, *p.close)


def _workforce_facts(workforce: Workforce, child: Child, when: Day) -> tuple[int, float]:
    changes = workforce.worker_changes(child.child_id, when - 365, when)
    team = workforce.team_of(child.child_id, when)
    turnover = workforce.team_turnover(team) if team else SURVEY_PARAMS.typical_turnover
    return changes, turnover


def open_groups(children: list[Child], when: Day) -> list[tuple[Child, str]]:
    """(child, group) for every child open to services (or a care leaver) on a day."""
    out = []
    for child in children:
        group = group_on(child, when)
        if group is not None:
            out.append((child, group))
    return out


def child_invitees(
    groups: list[tuple[Child, str]],
    end_year: int,
    workforce: Workforce,
    p: SurveyParams = SURVEY_PARAMS,
) -> list[Invitee]:
    """Children aged 8+ open to services (or care leavers) on the year's snapshot day."""
    when, _ = _snapshot(end_year, p)
    out = []
    for child, group in groups:
        if age_on(child.dob, when) < p.youngest_child:
            continue
        changes, turnover = _workforce_facts(workforce, child, when)
        in_education = True
        if group == "care_leaver":
            status = leaver_status_on(child, when)
            in_education = status is not None and status.activity in EDUCATION_ACTIVITIES
        out.append(
            Invitee(
                child=child,
                group=group,
                age_band=age_band(age_on(child.dob, when)),
                worker_changes=changes,
                turnover=turnover,
                placement_moves=placement_moves(child, when - 365, when),
                in_education=in_education,
            )
        )
    return out


def parent_invitees(
    groups: list[tuple[Child, str]],
    end_year: int,
    workforce: Workforce,
    p: SurveyParams = SURVEY_PARAMS,
) -> list[Invitee]:
    """The parent or carer of every child (born) in need, on a CP plan or looked after."""
    when, _ = _snapshot(end_year, p)
    out = []
    for child, group in groups:
        if group not in ("cin", "cp", "cla"):
            continue
        relationship = "parent"
        if group == "cla":
            period = care_period_on(child, when)
            placement = next(e for e in reversed(period.episodes) if e.start <= when)
            if placement.place.startswith(FOSTER_PLACEMENT):
                relationship = "carer"
        changes, turnover = _workforce_facts(workforce, child, when)
        out.append(
            Invitee(
                child=child,
                group=group,
                age_band=age_band(age_on(child.dob, when)),
                worker_changes=changes,
                turnover=turnover,
                relationship=relationship,
            )
        )
    return out


def _answer_date(rng: random.Random, opened: Day, closed: Day, p: SurveyParams) -> Day:
    return min(closed, opened + int(rng.expovariate(1.0 / p.mean_days_to_answer)))


def child_responses(
    rng: random.Random, invitees: list[Invitee], end_year: int, p: SurveyParams = SURVEY_PARAMS
) -> list[Response]:
    opened, closed = _snapshot(end_year, p)
    out = []
    for invitee in invitees:
        rate = p.child_response[invitee.group] * p.child_age_response[invitee.age_band]
        if rng.random() >= rate:
            continue
        out.append(
            Response(
                child_id=invitee.child.child_id,
                worker_changes=invitee.worker_changes,
                date=_answer_date(rng, opened, closed, p),
                group=invitee.group,
                age_band=invitee.age_band,
                answers=child_answers(rng, invitee, p),
            )
        )
    return out


def parent_responses(
    rng: random.Random, invitees: list[Invitee], end_year: int, p: SurveyParams = SURVEY_PARAMS
) -> list[Response]:
    opened, closed = _snapshot(end_year, p)
    out = []
    for invitee in invitees:
        if rng.random() >= p.parent_response[(invitee.group, invitee.relationship)]:
            continue
        relationship = invitee.relationship
        if relationship == "parent" and rng.random() < p.other_family_share:
            relationship = "other_family"
        out.append(
            Response(
                child_id=invitee.child.child_id,
                worker_changes=invitee.worker_changes,
                date=_answer_date(rng, opened, closed, p),
                group=invitee.group,
                age_band=invitee.age_band,
                answers=parent_answers(rng, invitee, p),
                relationship=relationship,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Files


@dataclass
class YearSurveys:
    end_year: int
    child_invitees: list[Invitee]
    parent_invitees: list[Invitee]
    child_responses: list[Response]
    parent_responses: list[Response]


def simulate_surveys(
    children: list[Child], window, seed: int, workforce: Workforce
) -> list[YearSurveys]:
    """Every year's invitations and responses (deterministic for the arguments)."""
    ordered = sorted(children, key=lambda c: c.child_id)
    child_rng = random.Random(f"demoton:{seed}:child_survey")
    parent_rng = random.Random(f"demoton:{seed}:parent_survey")
    years = []
    for end_year in window.years:
        groups = open_groups(ordered, _snapshot(end_year, SURVEY_PARAMS)[0])
        kids = child_invitees(groups, end_year, workforce)
        parents = parent_invitees(groups, end_year, workforce)
        years.append(
            YearSurveys(
                end_year,
                kids,
                parents,
                child_responses(child_rng, kids, end_year),
                parent_responses(parent_rng, parents, end_year),
            )
        )
    return years


def child_survey_name(end_year: int) -> str:
    return f"Child survey {end_year}"


def parent_survey_name(end_year: int) -> str:
    return f"Parent and carer survey {end_year}"


def _numbered(responses: list[Response], prefix: str, rng: random.Random) -> list:
    """(respondent id, response) in the order the survey tool received them."""
    keyed = sorted((r.date, rng.random(), i) for i, r in enumerate(responses))
    return [(f"{prefix}{n:05d}", responses[i]) for n, (_, _, i) in enumerate(keyed, start=1)]


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def _child_rows(year: YearSurveys, rng: random.Random) -> list[list[str]]:
    name = child_survey_name(year.end_year)
    prefix = f"C{year.end_year % 100:02d}-"
    return [
        [name, rid, iso(r.date), r.group, r.age_band]
        + [_cell(r.answers[item]) for item in CHILD_COLUMNS[5:]]
        for rid, r in _numbered(year.child_responses, prefix, rng)
    ]


def _parent_rows(year: YearSurveys, rng: random.Random) -> list[list[str]]:
    name = parent_survey_name(year.end_year)
    prefix = f"P{year.end_year % 100:02d}-"
    return [
        [name, rid, iso(r.date), r.group, r.age_band, r.relationship]
        + [_cell(r.answers[item]) for item in PARENT_COLUMNS[6:]]
        for rid, r in _numbered(year.parent_responses, prefix, rng)
    ]


GROUP_ORDER = ("cin", "cp", "cla", "care_leaver", "other")
BAND_ORDER = ("under_1", "1-4", "5-9", "10-15", "16-17", "18+")


def _invitation_rows(year: YearSurveys) -> list[list[str]]:
    rows = []
    for audience, name, invitees in (
        ("child", child_survey_name(year.end_year), year.child_invitees),
        ("parent", parent_survey_name(year.end_year), year.parent_invitees),
    ):
        counts = Counter((i.group, i.age_band) for i in invitees)
        for group, band in sorted(
            counts, key=lambda k: (GROUP_ORDER.index(k[0]), BAND_ORDER.index(k[1]))
        ):
            rows.append(
                [name, year_label(year.end_year), audience, group, band, "", counts[group, band]]
            )
    return rows


def _write(path: Path, columns: tuple[str, ...], rows: list[list]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(columns)
        out.writerows(rows)
    return len(rows)


def write_family_survey_files(
    out_dir: Path, children: list[Child], window, seed: int, workforce: Workforce
) -> dict[str, int]:
    """Write local/child_survey.csv, local/parent_survey.csv and
    local/survey_invitations_families.csv; returns rows written per file."""
    folder = Path(out_dir) / "local"
    years = simulate_surveys(children, window, seed, workforce)
    order_rng = random.Random(f"demoton:{seed}:survey_ids")
    child_rows, parent_rows, invitation_rows = [], [], []
    for year in years:
        child_rows += _child_rows(year, order_rng)
        parent_rows += _parent_rows(year, order_rng)
        invitation_rows += _invitation_rows(year)
    return {
        "child_survey.csv": _write(folder / "child_survey.csv", CHILD_COLUMNS, child_rows),
        "parent_survey.csv": _write(folder / "parent_survey.csv", PARENT_COLUMNS, parent_rows),
        "survey_invitations_families.csv": _write(
            folder / "survey_invitations_families.csv", INVITATION_COLUMNS, invitation_rows
        ),
    }
