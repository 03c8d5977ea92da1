"""Demoton's workforce files: HR records, posts, caseloads, allocations, the staff survey,
organisation facts, multi-agency meetings (``local/``) and the CSWW XML return (year folders).

Everything comes from the ``Workforce`` built by ``workforce.build_workforce``; the survey,
the meetings and the few CSWW details the model does not hold are drawn from streams of their
own, so the same arguments always give byte-identical files. Columns follow
``framework/sources/templates.toml``; the CSWW layout is the one ``framework/sources/csww.py``
reads (2022 schema).
"""

from __future__ import annotations

import csv
import random
from bisect import bisect_left, bisect_right
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

from framework.demo.dates import Day, day, iso, to_date, year_end, year_label, year_start
from framework.demo.draws import chance
from framework.demo.geography import LA_NUMBER
from framework.demo.workforce import Staff, Workforce, month_ends

LEVELS = ("senior_leader", "middle_manager", "team_manager", "social_worker", "other")
STAFF_COLUMNS = [
    "worker_id",
    "year",
    "level",
    "team",
    "start_date",
    "leave_date",
    "fte",
    "agency",
    "qualified_social_worker",
    "sickness_days",
]
POSTS_COLUMNS = ["year", "level", "team", "established_fte"]
CASELOAD_COLUMNS = ["worker_id", "snapshot_date", "team", "children_allocated"]
ALLOCATION_COLUMNS = ["child_id", "worker_id", "team", "start_date", "end_date", "end_reason"]
INVITATION_COLUMNS = ["survey", "year", "audience", "segment", "age_band", "team", "invited"]
FACTS_COLUMNS = [
    "year",
    "values_statement",
    "values_describe_operation",
    "practice_framework",
    "practice_framework_name",
    "notes",
]
MEETING_COLUMNS = [
    "meeting_id",
    "meeting_date",
    "level",
    "meeting_type",
    "agencies_expected",
    "agencies_attended",
]
# Staff survey items and their mean answer (1-5) in a team with average conditions. The means
# are assumptions shaped on published local authority health-check surveys: staff rate their
# own skills and purpose highly, workload, case systems and time with families lowest.
SURVEY_ITEMS = {
    "a1_1_council_committed": 3.7,
    "a1_2_clear_priorities": 3.6,
    "a1_3_leaders_in_touch": 3.0,
    "a2_3_apply_values": 3.8,
    "a3_1_reflective_learning": 3.5,
    "a3_2_feedback_planning": 3.1,
    "a3_3_feedback_practice": 3.3,
    "a4_3_multi_agency_effective": 3.2,
    "a5_1_information": 3.5,
    "a5_2_case_system": 2.7,
    "a5_3_systems_training": 3.3,
    "a5_4_work_environment": 3.4,
    "a6_1_apply_framework": 3.3,
    "a6_2_evidence": 3.5,
    "a6_3_family_network": 3.5,
    "a6_4_meaningful_role": 3.4,
    "a6_5_trusting_relationships": 3.9,
    "a6_6_autonomy": 3.6,
    "a8_1a_time_with_children": 2.8,
    "a8_1b_improved_outcomes": 3.9,
    "a8_2_valued": 3.1,
    "a8_3_supervision": 3.5,
    "a8_4_development": 3.4,
    "a8_5_workload": 2.8,
    "a9_1_own_skills": 4.1,
    "a9_2a_colleagues_skills": 3.8,
    "a9_2b_managers_skills": 3.4,
    "a9_3a_team_skill_mix": 3.4,
    "a9_3b_department_skill_mix": 3.2,
}
# How strongly each item falls in a stretched team (high turnover, high caseloads).
STRAIN_ITEMS = {
    "a8_5_workload": 1.0,
    "a8_1a_time_with_children": 0.9,
    "a8_2_valued": 0.8,
    "a8_3_supervision": 0.7,
    "a9_3a_team_skill_mix": 0.5,
    "a8_4_development": 0.3,
    "a9_2a_colleagues_skills": 0.3,
    "a6_5_trusting_relationships": 0.3,
}
# Lifted once the practice framework is in place (the window's third year).
FRAMEWORK_ITEMS = {
    "a6_1_apply_framework": 0.6,
    "a3_1_reflective_learning": 0.3,
    "a8_3_supervision": 0.2,
    "a6_4_meaningful_role": 0.2,
}
RESPONSE_RATE = {  # assumption: ~60% overall, managers answer more, agency staff less
    "senior_leader": 0.9,
    "middle_manager": 0.8,
    "team_manager": 0.72,
    "social_worker": 0.6,
    "other": 0.52,
}
LEVEL_LIFT = {"senior_leader": 0.45, "middle_manager": 0.25, "team_manager": 0.1}
SUPPORTS = (
    ("information_sharing", 30),
    ("co_location", 20),
    ("clear_roles", 18),
    ("shared_priorities", 15),
    ("joint_training", 12),
    ("leadership", 8),
)
UNDERMINES = (
    ("partner_capacity", 30),
    ("it_systems", 22),
    ("partner_turnover", 18),
    ("information_sharing", 14),
    ("shared_priorities", 8),
    ("clear_roles", 5),
)
PRACTICE_FRAMEWORK = "Signs of Safety"
SURVEY_HEAD = ["survey", "respondent_id", "response_date", "level", "team"]


def write_workforce_files(out_dir: Path, workforce: Workforce, window, seed: int) -> dict[str, int]:
    """Write every workforce file under ``out_dir``; returns file name -> rows."""
    out_dir = Path(out_dir)
    local = out_dir / "local"
    local.mkdir(parents=True, exist_ok=True)
    counts = _Caseloads(workforce, window)
    survey_rows, invitation_rows = _staff_survey(workforce, window, seed, counts)
    tables = {
        "workforce_staff.csv": (STAFF_COLUMNS, _staff_rows(workforce, window)),
        "workforce_posts.csv": (POSTS_COLUMNS, _post_rows(workforce, window)),
        "caseloads.csv": (CASELOAD_COLUMNS, counts.rows()),
        "worker_allocations.csv": (ALLOCATION_COLUMNS, _allocation_rows(workforce, window)),
        "staff_survey.csv": (SURVEY_HEAD + _survey_columns(), survey_rows),
        "survey_invitations.csv": (INVITATION_COLUMNS, invitation_rows),
        "organisation_facts.csv": (FACTS_COLUMNS, _facts_rows(window)),
        "multi_agency_meetings.csv": (MEETING_COLUMNS, _meeting_rows(workforce, window, seed)),
    }
    written = {}
    for name, (columns, rows) in tables.items():
        _write_csv(local / name, columns, rows)
        written[f"local/{name}"] = len(rows)
    written |= _write_csww(out_dir, workforce, window, seed, counts)
    return written


def _survey_columns() -> list[str]:
    items = list(SURVEY_ITEMS)
    at = items.index("a4_3_multi_agency_effective") + 1
    return [*items[:at], "a4_4_supports", "a4_4_undermines", *items[at:]]


def _write_csv(path: Path, columns: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(columns)
        out.writerows(rows)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- HR records, posts, caseloads, allocations ---------------------------------------------------


def _staff_rows(workforce: Workforce, window) -> list[list[str]]:
    rows = []
    for year in window.years:
        start, end = year_start(year), year_end(year)
        for person in workforce.staff:
            if not person.in_post(start, end):
                continue
            left = person.left is not None and person.left <= end
            sickness = "" if person.agency else _number(person.sickness_days(start, end))
            rows.append(
                [
                    person.worker_id,
                    year_label(year),
                    person.level,
                    person.team_in(start, end),
                    iso(person.joined),
                    iso(person.left) if left else "",
                    _number(person.fte),
                    "yes" if person.agency else "no",
                    "yes" if person.qualified else "no",
                    sickness,
                ]
            )
    return sorted(rows, key=lambda r: (r[1], r[0]))


def _post_rows(workforce: Workforce, window) -> list[list[str]]:
    rows = []
    for year in window.years:
        established = Counter()
        for post in workforce.posts:
            if post.created <= year_end(year):
                established[(post.level, post.team)] += post.fte
        for (level, team), fte in sorted(
            established.items(), key=lambda kv: (LEVELS.index(kv[0][0]), kv[0][1])
        ):
            rows.append([year_label(year), level, team, _number(fte)])
    return rows


class _Caseloads:
    """Children allocated to each case holder on given days (month ends and 30 September)."""

    def __init__(self, workforce: Workforce, window):
        self.workforce = workforce
        self.days = sorted(set(month_ends(window.start, window.end)) | set(_references(window)))
        self.counts: Counter = Counter()
        for allocations in workforce.allocations.values():
            for a in allocations:
                first = bisect_left(self.days, a.start)
                last = len(self.days) if a.end is None else bisect_left(self.days, a.end)
                for i in range(first, last):
                    self.counts[(a.worker_id, self.days[i])] += 1
        self.holders = [p for p in workforce.staff if p.case_holder]
        self.month_ends = month_ends(window.start, window.end)

    def on(self, worker_id: str, when: Day) -> int:
        return self.counts.get((worker_id, when), 0)

    def rows(self) -> list[list[str]]:
        rows = []
        for when in self.month_ends:
            for person in self.holders:
                spell = person.spell_on(when)
                if spell is None or not self.workforce.team(spell.team).case_holding:
                    continue
                rows.append(
                    [person.worker_id, iso(when), spell.team, self.on(person.worker_id, when)]
                )
        return rows

    def per_fte(self, team: str, when: Day) -> float:
        """Children per case-holding FTE in a team on a day (0 for teams without cases)."""
        children = fte = 0.0
        for person in self.holders:
            spell = person.spell_on(when)
            if spell is not None and spell.team == team:
                children += self.on(person.worker_id, when)
                fte += person.fte
        return children / fte if fte else 0.0


def _allocation_rows(workforce: Workforce, window) -> list[list[str]]:
    rows = []
    for child_id, allocations in workforce.allocations.items():
        for a in allocations:
            if a.start > window.end or (a.end is not None and a.end < window.start):
                continue
            rows.append(
                [
                    child_id,
                    a.worker_id,
                    a.team,
                    iso(a.start),
                    iso(a.end) if a.end is not None else "",
                    a.end_reason,
                ]
            )
    return rows


# --- Staff survey ------------------------------------------------------------------------------


def _staff_survey(workforce: Workforce, window, seed: int, caseloads: _Caseloads):
    """An annual survey in October-November of each year of the window."""
    responses, invitations = [], []
    framework_from = year_start(window.first_year + 2)
    for year in window.years:
        opens = day(year - 1, 10, 1)
        name = f"Staff survey {year - 1}"
        rng = random.Random(f"demoton:{seed}:staff_survey:{year}")
        invited = [p for p in workforce.staff if p.spell_on(opens) is not None]
        segments = Counter((p.level, p.spell_on(opens).team) for p in invited)
        for (level, team), count in sorted(
            segments.items(), key=lambda kv: (LEVELS.index(kv[0][0]), kv[0][1])
        ):
            invitations.append([name, year_label(year), "staff", level, "", team, count])
        strain = {t.name: _strain(workforce, caseloads, t.name, opens) for t in workforce.teams}
        answered = []
        for person in invited:
            rate = RESPONSE_RATE[person.level] * (0.6 if person.agency else 1.0)
            if chance(rng, rate):
                answered.append(person)
        rng.shuffle(answered)
        for number, person in enumerate(answered, start=1):
            team = person.spell_on(opens).team
            when = opens + min(60, int(rng.expovariate(1 / 12)))
            answers = _answers(rng, person.level, strain[team], opens >= framework_from)
            responses.append(
                [
                    name,
                    f"R{year - 1}-{number:04d}",
                    iso(when),
                    person.level,
                    "" if chance(rng, 0.05) else team,
                    *answers,
                ]
            )
    return responses, invitations


def _strain(workforce: Workforce, caseloads: _Caseloads, team: str, when: Day) -> float:
    """How stretched a team is: its turnover against the national ~15%, and its caseload per
    FTE against ~16 (0 is average; a high-turnover team is about +1)."""
    turnover = (workforce.team_turnover(team) - 0.15) / 0.15
    caseload = caseloads.per_fte(team, caseloads.days[bisect_right(caseloads.days, when) - 1])
    over = max(-1.0, min(2.0, (caseload - 16.0) / 5.0)) if caseload else 0.0
    return 0.75 * turnover + 0.3 * over


def _answers(rng: random.Random, level: str, strain: float, framework: bool) -> list[str]:
    mood = rng.gauss(0.0, 0.55)  # some people answer everything higher than others
    lift = LEVEL_LIFT.get(level, 0.0)
    values = {}
    for item, mean in SURVEY_ITEMS.items():
        score = mean + lift + mood - STRAIN_ITEMS.get(item, 0.1) * strain * 1.1
        if framework:
            score += FRAMEWORK_ITEMS.get(item, 0.0)
        answer = min(5, max(1, round(score + rng.gauss(0.0, 0.75))))
        values[item] = "" if chance(rng, 0.03) else str(answer)
    supports, undermines = _factors(rng)
    out = []
    for column in _survey_columns():
        if column == "a4_4_supports":
            out.append(supports)
        elif column == "a4_4_undermines":
            out.append(undermines)
        else:
            out.append(values[column])
    return out


def _factors(rng: random.Random) -> tuple[str, str]:
    def pick(weights, count, exclude=()):
        pool = [(code, w) for code, w in weights if code not in exclude]
        chosen = []
        for _ in range(min(count, len(pool))):
            codes, ws = zip(*pool, strict=True)
            code = rng.choices(codes, ws)[0]
            chosen.append(code)
            pool = [(c, w) for c, w in pool if c != code]
        return chosen

    supports = pick(SUPPORTS, rng.choice((0, 1, 1, 2, 2, 2, 3)))
    undermines = pick(UNDERMINES, rng.choice((0, 1, 1, 2, 2, 3)), exclude=supports)
    order = [code for code, _ in SUPPORTS + UNDERMINES]
    return (
        ";".join(sorted(supports, key=order.index)),
        ";".join(sorted(undermines, key=order.index)),
    )


# --- Organisation facts and multi-agency meetings ----------------------------------------------


def _facts_rows(window) -> list[list[str]]:
    rows = []
    for index, year in enumerate(window.years):
        framework = index >= 2  # introduced with the improvement in the third year
        if index == 0:
            note = "Values statement agreed; it does not yet say how the values work in practice."
        elif index == 1:
            note = "Values statement revised to describe how the values operate in practice."
        elif index == 2:
            note = f"{PRACTICE_FRAMEWORK} introduced as the practice framework from April."
        else:
            note = ""
        rows.append(
            [
                year_label(year),
                "yes",
                "yes" if index >= 1 else "no",
                "yes" if framework else "no",
                PRACTICE_FRAMEWORK if framework else "",
                note,
            ]
        )
    return rows


STRATEGIC = (  # (type, id prefix, months held, {agency: chance of attending})
    (
        "Safeguarding partnership executive",
        "SP",
        (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12),
        {"police": 0.92, "health_commissioner": 0.9, "education": 0.75},
    ),
    (
        "Corporate parenting board",
        "CP",
        (1, 3, 5, 7, 9, 11),
        {"health_provider": 0.8, "education": 0.75, "housing": 0.6, "voluntary": 0.7},
    ),
    (
        "Youth justice management board",
        "YJ",
        (1, 4, 7, 10),
        {
            "police": 0.9,
            "probation": 0.8,
            "health_provider": 0.65,
            "education": 0.6,
            "youth_justice": 0.95,
        },
    ),
)
MARAC = {
    "police": 0.95,
    "health_provider": 0.78,
    "housing": 0.75,
    "probation": 0.8,
    "voluntary": 0.85,
    "adult_social_care": 0.6,
}


def _meeting_rows(workforce: Workforce, window, seed: int) -> list[list[str]]:
    """Partnership boards and MARAC on the second Wednesday of their months; a strategy
    discussion for every S47 enquiry, with police, health and the child's school or nursery
    expected (health and education attend less often than police; better from the third
    year, when partnership working improved with the practice framework)."""
    rng = random.Random(f"demoton:{seed}:meetings")
    better_from = year_start(window.first_year + 2)
    meetings = []
    for when in _second_wednesdays(window):
        month = to_date(when).month
        for kind, prefix, months, attend in STRATEGIC:
            if month in months:
                meetings.append((when, prefix, "strategic", kind, attend))
        meetings.append((when, "MA", "operational", "MARAC", MARAC))
    for when, age in workforce.strategy_discussions:
        better = 0.08 if when >= better_from else 0.0
        holiday = to_date(when).month == 8
        attend = {"police": 0.95, "health_provider": 0.68 + better}
        if age >= 5:
            attend["education"] = (0.3 if holiday else 0.6) + better
        elif age >= 2:
            attend["early_years"] = 0.5 + better
        meetings.append((when, "SD", "operational", "Strategy discussion", attend))
    rows = []
    numbers: Counter = Counter()
    for when, prefix, level, kind, attend in sorted(meetings, key=lambda m: (m[0], m[1])):
        year = to_date(when).year
        numbers[(prefix, year)] += 1
        expected = list(attend)
        attended = [agency for agency in expected if chance(rng, attend[agency])]
        rows.append(
            [
                f"{prefix}{year}-{numbers[(prefix, year)]:04d}",
                iso(when),
                level,
                kind,
                ";".join(expected),
                ";".join(attended),
            ]
        )
    return rows


def _second_wednesdays(window) -> list[Day]:
    out = []
    for month_end in month_ends(window.start, window.end):
        first = month_end - to_date(month_end).day + 1
        wednesday = first + (2 - to_date(first).weekday()) % 7
        out.append(wednesday + 7)
    return out


# --- CSWW XML ----------------------------------------------------------------------------------


def _references(window) -> list[Day]:
    """30 September of each collection whose reference date falls in the window."""
    return [
        day(y, 9, 30)
        for y in range(window.first_year - 1, window.last_year + 1)
        if window.start <= day(y, 9, 30) <= window.end
    ]


def _write_csww(out_dir: Path, workforce: Workforce, window, seed: int, caseloads) -> dict:
    written = {}
    for reference in _references(window):
        year = to_date(reference).year
        folder = out_dir / year_label(year + 1)
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(f"demoton:{seed}:csww:{year}")
        workers, vacancy = _csww_workers(workforce, reference, rng, caseloads)
        name = f"csww_{year}.xml"
        (folder / name).write_text(_csww_xml(year, reference, workers, vacancy), encoding="utf-8")
        written[f"{year_label(year + 1)}/{name}"] = len(workers)
    return written


def _csww_workers(workforce: Workforce, reference: Day, rng, caseloads):
    """Qualified social workers in post in the year to 30 September (employees, leavers
    included) and agency social workers in post on 30 September; and the vacancies."""
    start = day(to_date(reference).year - 1, 10, 1)
    workers = []
    for person in workforce.staff:
        if not person.qualified or not person.in_post(start, reference):
            continue
        here = person.spell_on(reference)
        if person.agency and here is None:
            continue
        workers.append(_csww_worker(person, start, reference, here, rng, caseloads))
    employed = sum(
        p.fte for p in workforce.staff if p.qualified and not p.agency and p.spell_on(reference)
    )
    established = sum(
        post.fte for post in workforce.posts if post.qualified and post.created <= reference
    )
    agency = [p for p in workforce.staff if p.qualified and p.agency and p.spell_on(reference)]
    vacancy = {
        "NumberOfVacancies": f"{max(0.0, established - employed):.2f}",
        "NoAgencyFTE": f"{sum(p.fte for p in agency):.2f}",
        "NoAgencyHeadcount": str(len(agency)),
    }
    return workers, vacancy


def _csww_worker(person: Staff, start: Day, reference: Day, here, rng, caseloads) -> list:
    left = person.left is not None and person.left <= reference and here is None
    fields: list[tuple[str, str]] = [
        ("AgencyWorker", "1" if person.agency else "0"),
        ("SWENo", person.worker_id),
        ("FTE", _number(person.fte)),
        ("PersonBirthDate", iso(person.born)),
        ("GenderCurrent", person.gender),
        ("Ethnicity", person.ethnicity),
        ("QualInst", person.qual_institution),
        ("QualLevel", person.qual_level),
        ("StepUpGrad", "1" if person.step_up else "0"),
        ("FrontlineGrad", "1" if person.frontline else "0"),
        ("OrgRole", person.org_role or "5"),
        ("RoleStartDate", iso(person.joined)),
        ("StartOrigin", person.start_origin),
    ]
    if left:
        fields += [
            ("RoleEndDate", iso(person.left)),
            ("ReasonLeave", person.reason_leave or "9"),
            ("LeaverDestination", person.destination or "9"),
        ]
    if here is not None:
        fields += [
            ("FTE30", _number(person.fte)),
            ("Cases30", str(caseloads.on(person.worker_id, reference))),
        ]
    if not person.agency:
        fields.append(("WorkingDaysLost", _number(person.sickness_days(start, reference))))
    else:
        weeks = (reference - max(person.joined, start)) / 7
        fields.append(("ContractWeeks", f"{weeks:.1f}"))
    if here is not None and not person.agency:
        absent = person.absent_on(reference)
        fields.append(("Absat30Sept", "1" if absent else "0"))
        if absent:
            fields.append(("ReasonAbsence", "SIC"))
    status = _cfkss(person, reference, rng)
    if status:
        fields.append(("CFKSSstatus", status))
    return fields


def _cfkss(person: Staff, reference: Day, rng) -> str:
    """Post-qualifying status, known for about half of workers (assumption)."""
    if not chance(rng, 0.5):
        return ""
    if person.start_origin == "1" and reference - person.joined < 365:
        return "1"
    return {"1": "4", "2": "4", "3": "3"}.get(person.org_role, "2")


def _csww_xml(year: int, reference: Day, workers: list, vacancy: dict[str, str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<Message>",
        "  <Header>",
        "    <CollectionDetails>",
        "      <Collection>CSWW</Collection>",
        f"      <Year>{year}</Year>",
        f"      <ReferenceDate>{iso(reference)}</ReferenceDate>",
        "    </CollectionDetails>",
        "    <Source>",
        "      <SourceLevel>L</SourceLevel>",
        f"      <LEA>{LA_NUMBER}</LEA>",
        "      <SoftwareCode>Demoton HR</SoftwareCode>",
        f"      <DateTime>{year}-11-15T09:00:00</DateTime>",
        "    </Source>",
        "  </Header>",
        "  <LALevelVacancies>",
        *(f"    <{k}>{v}</{k}>" for k, v in vacancy.items()),
        "  </LALevelVacancies>",
    ]
    for fields in sorted(workers, key=lambda f: f[1][1]):
        lines.append("  <CSWWWorker>")
        lines += [f"    <{k}>{escape(v)}</{k}>" for k, v in fields]
        lines.append("  </CSWWWorker>")
    lines.append("</Message>")
    return "\n".join(lines) + "\n"
