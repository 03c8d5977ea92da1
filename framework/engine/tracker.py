"""The child-level tracker (analysts only): one row per child of a cohort, with a RAG rating.

Boards that "discuss every child" (seed 003: a tracker that pulls in each child's education,
attendance and placement moves, and RAGs them) need one table: who the child is (pseudonym,
age, sex, locality), their plan, school, stability, going missing, the risks named at their
latest review or assessment, when they were last reviewed, and a colour with its reasons.

``tracker(con, "cla", Period.parse("2025-26"))`` gives that table for a group of
``dimensions.GROUPS`` (optionally one locality). Everything is read from the store as of the
period's last day; "the last 12 months" are the 12 months ending then. Missing data stays
missing: a child the SSDA903 does not cover has no placement or missing counts (not 0), a child
with no school term recorded has no attendance. The RAG rating comes from ``RULES``: data, not
code paths. Each rule has an id, a colour, a condition over the row, the reason shown for the
child and why the threshold was chosen; ``rules_table()`` states them for the page. A child is
red when a red rule fires, amber when only amber rules fire, green when none does; a child's
``reasons`` are the rules that fired, red first. Green means no rule fired *on the data held*,
not that all is well.

Child-level rows are not disclosure-controlled counts: this table is for the analysts and
managers who work with these children (the page is restricted by role). The authority's own
child id is not here: it comes from the encrypted id map (``framework/idmap.py``), added by
``framework.readable.tracker`` when the map is available.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from framework.codes import attribute, meanings
from framework.engine.dimensions import _CHILDREN, GROUP_LABELS, GROUP_SQL, GROUPS
from framework.engine.measures.domain_b import CARE_EPISODES, FAR
from framework.engine.measures.domain_d_returns import TEMPORARY_PLACEMENTS
from framework.engine.periods import Period

RED, AMBER, GREEN = "red", "amber", "green"
COLOURS = (RED, AMBER, GREEN)  # worst first

# Plan status on the period's last day, highest first.
PLAN_STATUSES = {
    "looked_after": "Looked after",
    "cp_plan": "Child protection plan",
    "cin_plan": "Child in need plan",
    "short_breaks": "Short breaks (looked after, V3/V4)",
    "child_in_need": "Open as a child in need, no plan",
    "care_leaver": "Care leaver",
    "no_plan_open": "No plan open at the period's end",
}

# Review timescales (as domain B's "confirmed at the first review"): CP plans - Working Together
# 2023: the first review conference within 3 months of the initial one, then at most every 6
# months; care - Care Planning Regulations 2010, reg. 33: the first review within 20 working
# days (taken as 28 days), the second within 3 months of it, then at most every 6 months.
FIRST_CARE_REVIEW_DAYS = 28
REVIEW_MEETINGS = {  # planning_meetings types that are reviews, and how they read
    "cin_review": "Child in need review",
    "cp_review_conference": "Child protection review conference",
    "cla_review": "Looked-after review",
    "pathway_review": "Pathway plan review",
}

# --- risks: one vocabulary across the sources ----------------------------------------------
# (name, case_reviews column or None, CiN assessment factor codes)
RISK_SOURCES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("sexual exploitation", "sexual_exploitation", ("11A",)),
    ("criminal exploitation or gangs", "criminal_exploitation", ("24A", "13A")),
    ("trafficking", "trafficking", ("12A",)),
    ("self-harm", "self_harm", ("15A",)),
    ("female genital mutilation", None, ("22A",)),
    ("domestic abuse", "domestic_abuse", ("3A", "3B", "3C")),
    ("parental mental health", "parental_mental_health", ("4B",)),
    ("parental substance misuse", "parental_substance_misuse", ("1B", "2B")),
    ("child's substance misuse", "substance_misuse", ("1A", "2A")),
    ("youth justice", "youth_justice", ()),
    ("went missing (review or assessment)", "missing", ("10A",)),
    ("neglect", None, ("16A",)),
)
RISKS = tuple(name for name, _, _ in RISK_SOURCES)
HARM_OUTSIDE_HOME = frozenset(
    {"sexual exploitation", "criminal exploitation or gangs", "trafficking"}
)
FAMILY_RISKS = frozenset({"domestic abuse", "parental mental health", "parental substance misuse"})
CHILD_RISKS = frozenset(
    {"child's substance misuse", "youth justice", "went missing (review or assessment)"}
)

# SDQ total at or above which a score is in the top ("abnormal") band of Goodman's original
# three bands, by informant; DfE reads a carer's 17+ as "a cause for concern".
SDQ_CONCERN = {"carer": 17, "teacher": 16, "self": 20}


# --- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One RAG rule: when ``condition(row)`` holds, the child is at least ``colour``."""

    id: str
    colour: str  # red or amber (green is "no rule fired")
    when: str  # the condition in words, for the rules table
    condition: Callable[[Mapping[str, object]], bool]
    reason: str  # what the child's row says; {column} is filled from the row
    why: str  # the justification of the threshold
    # Milder rules on the same thing: not given as reasons too when this one fires (a child
    # with 4 placements is not also "moved placement").
    outranks: tuple[str, ...] = ()


def _value(row: Mapping[str, object], name: str):
    """A cell, None when missing (None, NaN, NaT, pd.NA)."""
    value = row.get(name)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _at_least(name: str, limit: float) -> Callable[[Mapping[str, object]], bool]:
    def condition(row):
        value = _value(row, name)
        return value is not None and float(value) >= limit

    return condition


def _below(name: str, limit: float) -> Callable[[Mapping[str, object]], bool]:
    def condition(row):
        value = _value(row, name)
        return value is not None and float(value) < limit

    return condition


def _is(name: str, wanted: object) -> Callable[[Mapping[str, object]], bool]:
    def condition(row):
        value = _value(row, name)
        return value is not None and bool(value == wanted)

    return condition


def _named(risks: frozenset[str]) -> Callable[[Mapping[str, object]], bool]:
    def condition(row):
        named = _value(row, "risks")
        return bool(named) and any(risk in risks for risk in named)

    return condition


def _all(*conditions) -> Callable[[Mapping[str, object]], bool]:
    return lambda row: all(condition(row) for condition in conditions)


RULES: tuple[Rule, ...] = (
    # --- red -----------------------------------------------------------------------------------
    Rule(
        "placements_3",
        RED,
        "3 or more placements in the last 12 months",
        _at_least("placements_12m", 3),
        "{placements_12m} placements in the last 12 months",
        "DfE's short-term placement stability measure (SSDA903): looked-after children with 3 "
        "or more placements during the year. Each new carer breaks the child's relationships "
        "with carers, often school and friends.",
        outranks=("placement_move",),
    ),
    Rule(
        "missing_3",
        RED,
        "Missing (whereabouts unknown) 3 or more times in the last 12 months",
        _at_least("missing_12m", 3),
        "missing {missing_12m} times in the last 12 months",
        "Going missing repeatedly is a recognised sign of exploitation and harm (DfE statutory "
        "guidance on children who run away or go missing from home or care, 2014). The "
        "guidance sets no number: 3 is this tracker's reading of 'repeatedly'.",
        outranks=("missing_1",),
    ),
    Rule(
        "attendance_80",
        RED,
        "Attendance below 80% over the terms of the last 12 months",
        _below("attendance_pct", 80),
        "attendance {attendance_pct:.1f}%",
        "DfE calls a pupil persistently absent below 90% attendance and severely absent below "
        "50%. Below 80% the child misses a day a week or more (twice the persistent-absence "
        "line): a local choice of when absence alone needs the board.",
        outranks=("persistent_absence",),
    ),
    Rule(
        "permanent_exclusion",
        RED,
        "Permanently excluded from school in the last 12 months",
        _is("permanent_exclusion_12m", True),
        "permanently excluded in the last 12 months",
        "A permanent exclusion ends the child's school place; DfE's exclusion guidance asks the "
        "virtual school head to take part for looked-after children. Rare and always serious.",
    ),
    Rule(
        "cp_18_months",
        RED,
        "Child protection plan open for 18 months or more",
        _all(_is("plan", "cp_plan"), _at_least("cp_months", 18)),
        "child protection plan open {cp_months} months",
        "DfE publishes plans lasting 2 years or more as a sign that a plan is not bringing "
        "change; at 18 months there are still six months to act before that line.",
    ),
    Rule(
        "harm_outside_home",
        RED,
        "Sexual or criminal exploitation, gangs or trafficking named at the latest review or "
        "assessment in the last 12 months",
        _named(HARM_OUTSIDE_HOME),
        "exploitation or trafficking named",
        "Risks of significant harm outside the home (Working Together 2023, extra-familial "
        "harm), which a plan for the home alone does not address.",
    ),
    Rule(
        "self_harm",
        RED,
        "Self-harm or female genital mutilation named at the latest review or assessment in "
        "the last 12 months",
        _named(frozenset({"self-harm", "female genital mutilation"})),
        "self-harm or FGM named",
        "A risk to the child's life or body: a local choice to always bring it to the board.",
    ),
    Rule(
        "feels_unsafe",
        RED,
        "The child said they do not feel safe at their latest review in the last 12 months",
        _is("feels_safe", False),
        "said they do not feel safe",
        "The framework counts children's own sense of safety as an outcome (domain D); a child "
        "saying they do not feel safe is always discussed.",
    ),
    Rule(
        "care_leaver_unsuitable",
        RED,
        "Care leaver in accommodation recorded as unsuitable (SSDA903 OC3, this year)",
        _is("care_leaver_accommodation_suitable", False),
        "care leaver in unsuitable accommodation",
        "DfE publishes care leavers in suitable accommodation; the worker has recorded this "
        "young person's home as unsuitable (e.g. no fixed abode, bed and breakfast).",
    ),
    # --- amber -----------------------------------------------------------------------------------
    Rule(
        "placement_move",
        AMBER,
        "A placement move (new carer) in the last 12 months",
        _at_least("placement_moves_12m", 1),
        "{placement_moves_12m} placement move(s) in the last 12 months",
        "Every change of carer disrupts the child; one move a year is below DfE's 3-placement "
        "line but the board should know of it.",
    ),
    Rule(
        "missing_1",
        AMBER,
        "Missing (whereabouts unknown) at least once in the last 12 months",
        _at_least("missing_12m", 1),
        "missing {missing_12m} time(s) in the last 12 months",
        "Every missing episode calls for a return home interview (DfE statutory guidance, 2014).",
    ),
    Rule(
        "away_1",
        AMBER,
        "Away from placement without authorisation at least once in the last 12 months",
        _at_least("away_12m", 1),
        "away from placement {away_12m} time(s) in the last 12 months",
        "DfE reports 'away' (whereabouts known) apart from missing; unauthorised absences often "
        "come before going missing.",
    ),
    Rule(
        "persistent_absence",
        AMBER,
        "Attendance below 90% over the terms of the last 12 months (persistent absence)",
        _below("attendance_pct", 90),
        "attendance {attendance_pct:.1f}% (persistently absent)",
        "DfE's definition of persistent absence: missing 10% or more of possible sessions.",
    ),
    Rule(
        "suspended",
        AMBER,
        "Suspended from school at least once in the last 12 months",
        _at_least("suspensions_12m", 1),
        "{suspensions_12m} suspension(s) in the last 12 months",
        "A suspension (fixed-period exclusion) puts the school place at risk; DfE publishes "
        "suspensions of children in need and looked-after children as an outcome gap.",
    ),
    Rule(
        "cp_repeat",
        AMBER,
        "The open child protection plan is a second or later plan",
        _all(_is("plan", "cp_plan"), _at_least("cp_plan_number", 2)),
        "child protection plan number {cp_plan_number}",
        "DfE publishes the share of plans that are a second or subsequent plan: the help "
        "given before did not last.",
    ),
    Rule(
        "review_overdue",
        AMBER,
        "The child protection or looked-after review was due before the period's end and none "
        "is recorded since",
        _is("review_overdue", True),
        "review overdue (due {next_review_due:%d %b %Y})",
        "Working Together 2023: CP review conferences within 3 months of the first conference, "
        "then at most every 6 months. Care Planning Regulations 2010, reg. 33: looked-after "
        "reviews within 20 working days of coming into care, 3 months later, then every 6.",
    ),
    Rule(
        "family_risks",
        AMBER,
        "Domestic abuse, parental mental health or parental substance misuse named at the "
        "latest review or assessment in the last 12 months",
        _named(FAMILY_RISKS),
        "domestic abuse or parental mental health or substance misuse named",
        "The factors most often recorded at the end of CiN assessments (DfE's CiN statistics), "
        "and most harmful together; a local choice to make them amber.",
    ),
    Rule(
        "child_risks",
        AMBER,
        "The child's own substance misuse, youth justice or going missing named at the latest "
        "review or assessment in the last 12 months (or a conviction or substance misuse in "
        "the SSDA903 OC2 outcomes of the year)",
        _named(CHILD_RISKS),
        "substance misuse, youth justice or going missing named",
        "Risks to the child recorded by the child's own worker or in the OC2 outcomes, which "
        "DfE publishes for looked-after children.",
    ),
    Rule(
        "sdq_concern",
        AMBER,
        "Latest SDQ total in the top band: carer 17+, teacher 16+, young person 20+",
        _is("sdq_concern", True),
        "SDQ {sdq_total} ({sdq_informant})",
        "DfE reads a carer's SDQ total of 17 or more as 'a cause for concern' (Children looked "
        "after in England); 16 and 20 are the same band's cut-offs for teachers and young "
        "people (Goodman, 1997).",
    ),
    Rule(
        "mental_health_unmet",
        AMBER,
        "A mental health need recorded as not met at the latest health record in 12 months",
        _is("mental_health_need_unmet", True),
        "mental health need not met",
        "The framework's indicator D9.1 (unmet mental health need).",
    ),
    Rule(
        "care_leaver_not_in_touch",
        AMBER,
        "Care leaver the authority is not in touch with (SSDA903 OC3, this year)",
        _is("care_leaver_in_touch", "NO"),
        "care leaver not in touch",
        "DfE publishes care leavers the authority is in touch with; without contact it cannot "
        "know how the young person is.",
    ),
    Rule(
        "care_leaver_neet",
        AMBER,
        "Care leaver not in education, employment or training (SSDA903 OC3, this year)",
        _is("care_leaver_eet", False),
        "care leaver not in education, employment or training",
        "DfE publishes care leavers in education, employment or training (OC3).",
    ),
)


def _fires(rule: Rule, row: Mapping[str, object]) -> bool:
    return bool(rule.condition(row))


class _Cells(dict):
    """A row for ``str.format_map``: missing cells read as blank, whole floats as integers."""

    def __init__(self, row: Mapping[str, object]):
        super().__init__()
        self.row = row

    def __missing__(self, name: str):
        value = _value(self.row, name)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer() and "pct" not in name:
            return int(value)
        return value


def _reason(rule: Rule, row: Mapping[str, object]) -> str:
    try:
        return rule.reason.format_map(_Cells(row))
    except (KeyError, ValueError, TypeError, IndexError, AttributeError):
        return rule.when


def rate(row: Mapping[str, object], rules: tuple[Rule, ...] = RULES) -> tuple[str, list[str]]:
    """A row's colour and the reasons (the rules that fired, red first, in rule order)."""
    fired = [rule for rule in rules if _fires(rule, row)]
    outranked = {milder for rule in fired for milder in rule.outranks}
    fired = [rule for rule in fired if rule.id not in outranked]
    fired.sort(key=lambda rule: COLOURS.index(rule.colour))  # stable: rule order kept
    colour = fired[0].colour if fired else GREEN
    return colour, [_reason(rule, row) for rule in fired]


def rules_table(rules: tuple[Rule, ...] = RULES) -> pd.DataFrame:
    """The rules as the page states them: id, colour, condition and why."""
    return pd.DataFrame(
        [{"rule": r.id, "colour": r.colour, "when": r.when, "why": r.why} for r in rules]
        + [
            {
                "rule": "green",
                "colour": GREEN,
                "when": "No rule above fires on the data held",
                "why": "Green is not 'all is well': missing data fires no rule.",
            }
        ]
    )


# --- the table -----------------------------------------------------------------------------------

# The columns of ``tracker``, in order, and what each means (the page's column help).
COLUMNS: dict[str, str] = {
    "child_id": "The child's pseudonym in the store (a keyed hash of the authority's id)",
    "age": "Age in whole years on the period's last day",
    "sex": "Sex as recorded (M, F, U)",
    "locality": "Locality of the child's home on the period's last day",
    "team": "Team of the child's allocated worker on the period's last day",
    "plan": "Highest plan open on the period's last day (see PLAN_STATUSES)",
    "cin_plan_start": "Start of the open child in need plan",
    "cp_start": "Start of the latest child protection plan open in the last 12 months",
    "cp_end": "Its end (blank while open)",
    "cp_category": "Its latest category of abuse (NEG, PHY, EMO, SAB, MUL)",
    "cp_months": "Its length in whole months, to the period's end or to its end",
    "cp_plan_number": "1 for a first plan, 2 for a second... (previous plans recorded + 1)",
    "care_start": "Start of the current period of care",
    "placement_start": "Start of the current placement",
    "legal_status": "Legal status of the current episode of care (SSDA903 code)",
    "placement_type": "Placement type of the current episode (SSDA903 code)",
    "placements_12m": "Placements held in the last 12 months (temporary placements not counted); "
    "blank if not looked after in them",
    "placement_moves_12m": "Changes of carer in the last 12 months (new episodes with reason P "
    "or B; temporary placements not counted); blank if not looked after in them",
    "missing_12m": "SSDA903 missing episodes (whereabouts unknown) starting in the last 12 "
    "months; blank if not looked after in them and none recorded",
    "away_12m": "SSDA903 episodes away from placement without authorisation, likewise",
    "attendance_pct": "Attendance (% of possible sessions attended) over the school terms in "
    "the last 12 months; blank if no term with sessions is recorded",
    "attendance_terms": "How many terms the attendance covers",
    "latest_term": "The latest of those terms (academic year and term)",
    "suspensions_12m": "Suspensions in those terms",
    "permanent_exclusion_12m": "Permanently excluded in those terms",
    "school_moves_12m": "Mid-year school moves in those terms",
    "risks": "Risks named at the latest case review in the last 12 months, the latest CiN "
    "assessment started in them, or this year's SSDA903 OC2 outcomes",
    "review_risks_date": "Date of that case review",
    "assessment_date": "Start date of that assessment",
    "assessment_factors": "Its factors (CiN census codes)",
    "feels_safe": "Whether the child said they feel safe at that case review",
    "sdq_total": "Latest SDQ total difficulties score in the last 12 months (local SDQ, else "
    "this year's SSDA903 OC2)",
    "sdq_informant": "Who completed it: carer, teacher or self",
    "sdq_concern": "Whether it is in the top band (carer 17+, teacher 16+, self 20+)",
    "mental_health_need_unmet": "Latest health record in 12 months: a mental health need not met",
    "care_leaver_in_touch": "Care leavers: OC3 in touch code this year (YES, NO, DIED...)",
    "care_leaver_activity": "OC3 activity code this year",
    "care_leaver_eet": "Whether that activity is education, employment or training",
    "care_leaver_accommodation": "OC3 accommodation code this year",
    "care_leaver_accommodation_suitable": "Whether that accommodation is suitable",
    "last_review_date": "Date of the latest review of any kind up to the period's end",
    "last_review": "What that review was",
    "next_review_due": "When the next CP or looked-after review was due (statutory timescales)",
    "review_overdue": "Whether it was due before the period's end",
    "rag": "RAG rating: red, amber or green (the rules in rules_table())",
    "reasons": "The rules that fired for the child, red first",
}


def _year_before(day: date) -> date:
    """The first day of the 12 months ending ``day``."""
    try:
        back = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        back = day.replace(year=day.year - 1, day=28)
    return back + timedelta(days=1)


def _review_columns() -> str:
    return ", ".join(f"r.{column}" for _, column, _ in RISK_SOURCES if column)


def _query(group: str, locality: str | None) -> str:
    meetings = ", ".join(f"'{t}'" for t in REVIEW_MEETINGS)
    meeting_words = " ".join(f"WHEN '{t}' THEN '{w}'" for t, w in REVIEW_MEETINGS.items())
    where_locality = "WHERE k.locality = $locality" if locality is not None else ""
    return f"""
WITH cohort AS (
    SELECT DISTINCT child_id FROM ({GROUP_SQL[group]}) g WHERE child_id IS NOT NULL
), known AS ({_CHILDREN}
), people AS MATERIALIZED (
    SELECT c.child_id, CAST(k.age AS INTEGER) AS age, k.sex, k.locality, k.team
    FROM cohort c LEFT JOIN known k USING (child_id) {where_locality}
), ep AS (
    SELECT * FROM episodes
    WHERE start_date IS NOT NULL AND child_id IN (SELECT child_id FROM people)
), care_now AS (  -- the episode open on the period's last day
    SELECT child_id, legal_status, placement_type, start_date AS episode_start
    FROM ep WHERE start_date <= $end AND (end_date IS NULL OR end_date > $end)
    QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY start_date DESC) = 1
), care_dates AS (
    SELECT child_id,
           coalesce(max(start_date) FILTER (WHERE reason_new_episode = 'S'), min(start_date))
               AS care_start,
           max(start_date) FILTER (WHERE coalesce(reason_new_episode, 'S') <> 'L')
               AS placement_start
    FROM ep WHERE start_date <= $end GROUP BY child_id
), care AS (  -- care episodes (no short breaks) touching the last 12 months
    SELECT * FROM {CARE_EPISODES} e
    WHERE e.child_id IN (SELECT child_id FROM people)
      AND e.start_date <= $end AND coalesce(e.end_date, {FAR}) >= $since
), stability AS (
    SELECT child_id,
           count(*) FILTER (WHERE start_date >= $since AND reason_new_episode IN ('P', 'B')
                              AND NOT temporary) AS moves,
           count(*) FILTER (WHERE start_date >= $since
                              AND reason_new_episode IN ('S', 'P', 'B') AND NOT temporary)
               + CAST(bool_or(start_date < $since AND NOT temporary) AS INTEGER) AS placements
    FROM (SELECT *, coalesce(placement_type, '') IN {TEMPORARY_PLACEMENTS} AS temporary
          FROM care)
    GROUP BY child_id
), missing AS (
    SELECT child_id, count(*) FILTER (WHERE missing_type = 'M') AS missing,
           count(*) FILTER (WHERE missing_type = 'A') AS away
    FROM missing_episodes
    WHERE start_date BETWEEN $since AND $end AND child_id IN (SELECT child_id FROM people)
    GROUP BY child_id
), cp AS (  -- the latest CP plan open at some time in the period or the last 12 months
    SELECT p.child_id, p.start_date AS cp_start, p.end_date AS cp_end,
           coalesce(p.latest_category, p.initial_category) AS cp_category,
           greatest(coalesce(p.previous_plans, 0),
                    (SELECT count(*) FROM cp_plans q
                     WHERE q.child_id = p.child_id AND q.start_date < p.start_date)) + 1
               AS cp_plan_number
    FROM cp_plans p
    WHERE p.child_id IN (SELECT child_id FROM people) AND p.start_date <= $end
      AND coalesce(p.end_date, {FAR}) >= least($start, $since)
    QUALIFY row_number() OVER (PARTITION BY p.child_id ORDER BY p.start_date DESC) = 1
), cin_plan AS (
    SELECT child_id, max(start_date) AS cin_plan_start FROM cin_plans
    WHERE start_date <= $end AND (end_date IS NULL OR end_date > $end)
      AND child_id IN (SELECT child_id FROM people)
    GROUP BY child_id
), open_referral AS (
    SELECT DISTINCT child_id FROM referrals
    WHERE referral_date <= $end AND (closure_date IS NULL OR closure_date > $end)
), leaver AS (
    SELECT child_id, in_touch, activity, accommodation FROM care_leavers
    WHERE year = $year AND child_id IN (SELECT child_id FROM people)
    QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY collection_year DESC) = 1
), school AS (
    SELECT coalesce(e.child_id, c.child_id) AS child_id, e.academic_year, e.term,
           e.term_date, e.sessions_possible AS possible,
           coalesce(e.sessions_authorised, 0) + coalesce(e.sessions_unauthorised, 0) AS missed,
           coalesce(e.suspensions, 0) AS suspensions,
           coalesce(e.permanent_exclusion, false) AS permanent_exclusion,
           coalesce(e.school_changes, 0) AS school_changes
    FROM education_attendance e
    LEFT JOIN children c ON e.child_id IS NULL AND c.upn = e.upn
    WHERE e.term_date BETWEEN $since AND $end AND e.sessions_possible > 0
    QUALIFY row_number() OVER (
        PARTITION BY coalesce(e.child_id, c.child_id), e.academic_year, e.term
        ORDER BY e.child_id IS NULL) = 1
), education AS (
    SELECT child_id,
           round(100.0 * (sum(possible) - sum(missed)) / sum(possible), 1) AS attendance_pct,
           count(*) AS attendance_terms,
           arg_max(CAST(academic_year - 1 AS VARCHAR) || '/'
                   || right(CAST(academic_year AS VARCHAR), 2) || ' ' || term, term_date)
               AS latest_term,
           sum(suspensions) AS suspensions_12m,
           bool_or(permanent_exclusion) AS permanent_exclusion_12m,
           sum(school_changes) AS school_moves_12m
    FROM school WHERE child_id IN (SELECT child_id FROM people) GROUP BY child_id
), review AS (  -- the latest case review in the last 12 months
    SELECT r.child_id, r.review_date AS review_risks_date, r.feels_safe, {_review_columns()}
    FROM case_reviews r
    WHERE r.review_date BETWEEN $since AND $end AND r.child_id IN (SELECT child_id FROM people)
    QUALIFY row_number() OVER (PARTITION BY r.child_id ORDER BY r.review_date DESC) = 1
), assessment AS (  -- the latest CiN assessment started in the last 12 months, its factors
    SELECT child_id, assessment_start_date AS assessment_date,
           list_sort(list(DISTINCT factor)) AS assessment_factors
    FROM assessment_factors
    WHERE assessment_start_date BETWEEN $since AND $end
      AND child_id IN (SELECT child_id FROM people)
    GROUP BY child_id, assessment_start_date
    QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY assessment_start_date DESC) = 1
), oc2 AS (
    SELECT child_id, sdq_score, convicted, substance_misuse FROM health_outcomes
    WHERE year = $year AND child_id IN (SELECT child_id FROM people)
), sdq_local AS (
    SELECT child_id, total AS sdq_total, informant AS sdq_informant FROM sdq
    WHERE sdq_date BETWEEN $since AND $end AND total IS NOT NULL
      AND child_id IN (SELECT child_id FROM people)
    QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY sdq_date DESC, informant) = 1
), health AS (
    SELECT child_id, mental_health_need AND need_met = false AS mental_health_need_unmet
    FROM health_needs
    WHERE record_date BETWEEN $since AND $end AND child_id IN (SELECT child_id FROM people)
    QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY record_date DESC) = 1
), reviews AS (  -- every review of any kind up to the period's end
    SELECT child_id, review_date AS day, 'Child protection review' AS kind,
           plan_start_date AS plan_start
    FROM cp_plan_reviews WHERE review_date <= $end
    UNION ALL SELECT child_id, review_date, 'Looked-after review', NULL
    FROM looked_after_reviews WHERE review_date <= $end
    UNION ALL SELECT child_id, meeting_date, CASE meeting_type {meeting_words} END, NULL
    FROM planning_meetings WHERE meeting_type IN ({meetings}) AND meeting_date <= $end
    UNION ALL SELECT child_id, review_date, 'Case review', NULL
    FROM case_reviews WHERE review_date <= $end
), people_reviews AS MATERIALIZED (
    SELECT * FROM reviews WHERE child_id IN (SELECT child_id FROM people)
), last_review AS (
    SELECT child_id, day AS last_review_date, kind AS last_review FROM people_reviews
    QUALIFY row_number() OVER (
        PARTITION BY child_id ORDER BY day DESC, kind = 'Case review', kind) = 1
), base AS MATERIALIZED (
    SELECT p.*,
           CASE WHEN n.child_id IS NOT NULL AND coalesce(n.legal_status, '') NOT IN ('V3', 'V4')
                    THEN 'looked_after'
                WHEN cp.cp_start IS NOT NULL AND (cp.cp_end IS NULL OR cp.cp_end > $end)
                    THEN 'cp_plan'
                WHEN ci.child_id IS NOT NULL THEN 'cin_plan'
                WHEN n.child_id IS NOT NULL THEN 'short_breaks'
                WHEN o.child_id IS NOT NULL THEN 'child_in_need'
                WHEN l.child_id IS NOT NULL THEN 'care_leaver'
                ELSE 'no_plan_open' END AS plan,
           ci.cin_plan_start, cp.cp_start, cp.cp_end, cp.cp_category,
           CASE WHEN cp.cp_start IS NOT NULL THEN CAST(
               date_part('year', age(least(coalesce(cp.cp_end, $end), $end), cp.cp_start)) * 12
               + date_part('month', age(least(coalesce(cp.cp_end, $end), $end), cp.cp_start))
               AS INTEGER) END AS cp_months,
           cp.cp_plan_number,
           CASE WHEN n.child_id IS NOT NULL THEN d.care_start END AS care_start,
           CASE WHEN n.child_id IS NOT NULL THEN d.placement_start END AS placement_start,
           n.legal_status, n.placement_type,
           CASE WHEN s.child_id IS NOT NULL THEN s.placements END AS placements_12m,
           CASE WHEN s.child_id IS NOT NULL THEN s.moves END AS placement_moves_12m,
           CASE WHEN s.child_id IS NOT NULL OR m.child_id IS NOT NULL
                THEN coalesce(m.missing, 0) END AS missing_12m,
           CASE WHEN s.child_id IS NOT NULL OR m.child_id IS NOT NULL
                THEN coalesce(m.away, 0) END AS away_12m,
           e.attendance_pct, e.attendance_terms, e.latest_term, e.suspensions_12m,
           e.permanent_exclusion_12m, e.school_moves_12m,
           r.* EXCLUDE (child_id), a.assessment_date, a.assessment_factors,
           coalesce(sl.sdq_total, oc2.sdq_score) AS sdq_total,
           CASE WHEN sl.sdq_total IS NOT NULL THEN sl.sdq_informant
                WHEN oc2.sdq_score IS NOT NULL THEN 'carer' END AS sdq_informant,
           oc2.convicted AS oc2_convicted, oc2.substance_misuse AS oc2_substance_misuse,
           h.mental_health_need_unmet,
           l.in_touch AS care_leaver_in_touch, l.activity AS care_leaver_activity,
           l.accommodation AS care_leaver_accommodation,
           lr.last_review_date, lr.last_review
    FROM people p
    LEFT JOIN care_now n USING (child_id)
    LEFT JOIN care_dates d USING (child_id)
    LEFT JOIN stability s USING (child_id)
    LEFT JOIN missing m USING (child_id)
    LEFT JOIN cp USING (child_id)
    LEFT JOIN cin_plan ci USING (child_id)
    LEFT JOIN open_referral o USING (child_id)
    LEFT JOIN leaver l USING (child_id)
    LEFT JOIN education e USING (child_id)
    LEFT JOIN review r USING (child_id)
    LEFT JOIN assessment a USING (child_id)
    LEFT JOIN oc2 USING (child_id)
    LEFT JOIN sdq_local sl USING (child_id)
    LEFT JOIN health h USING (child_id)
    LEFT JOIN last_review lr USING (child_id)
), plan_reviews AS (  -- reviews of the open CP plan, or since coming into care
    SELECT b.child_id, count(DISTINCT v.day) AS held, max(v.day) AS latest
    FROM base b JOIN people_reviews v ON v.child_id = b.child_id
    WHERE (b.plan = 'cp_plan' AND v.day > b.cp_start
           AND (v.plan_start = b.cp_start OR v.kind = 'Child protection review conference'))
       OR (b.plan = 'looked_after' AND v.day >= b.care_start
           AND v.kind = 'Looked-after review')
    GROUP BY b.child_id
), due AS (  -- the next CP or looked-after review, by the statutory timescales
    SELECT b.child_id,
           CASE WHEN b.plan = 'cp_plan' THEN
                    CASE WHEN coalesce(v.held, 0) = 0 THEN b.cp_start + INTERVAL 3 MONTH
                         ELSE v.latest + INTERVAL 6 MONTH END
                WHEN b.plan = 'looked_after' THEN
                    CASE WHEN coalesce(v.held, 0) = 0
                             THEN b.care_start + INTERVAL {FIRST_CARE_REVIEW_DAYS} DAY
                         WHEN v.held = 1 THEN v.latest + INTERVAL 3 MONTH
                         ELSE v.latest + INTERVAL 6 MONTH END
           END AS next_review_due
    FROM base b LEFT JOIN plan_reviews v USING (child_id)
)
SELECT b.*, CAST(d.next_review_due AS DATE) AS next_review_due,
       CASE WHEN d.next_review_due IS NOT NULL THEN d.next_review_due < $end END
           AS review_overdue
FROM base b LEFT JOIN due d USING (child_id)
ORDER BY b.child_id
"""


def _params(query: str, period: Period, locality: str | None) -> dict:
    values = {
        "start": period.start,
        "end": period.end,
        "year": period.end_year,
        "since": _year_before(period.end),
        "locality": locality,
    }
    return {k: v for k, v in values.items() if f"${k}" in query}


def _risks(row: Mapping[str, object]) -> tuple[str, ...]:
    """The risks named for a child, in RISK_SOURCES order, from any source."""
    factors = set(_value(row, "assessment_factors") or ())
    named = []
    for name, column, codes in RISK_SOURCES:
        at_review = column is not None and _value(row, column) is True
        if at_review or factors.intersection(codes):
            named.append(name)
    if _value(row, "oc2_substance_misuse") is True and "child's substance misuse" not in named:
        named.append("child's substance misuse")
    if _value(row, "oc2_convicted") is True and "youth justice" not in named:
        named.append("youth justice")
    return tuple(sorted(named, key=RISKS.index))


def _records(frame: pd.DataFrame) -> list[dict]:
    """The rows as dicts (missing cells as pd.NA, NaN or NaT: ``_value`` reads them all as
    missing); much faster than ``DataFrame.to_dict``."""
    names = list(frame.columns)
    columns = [frame[name].tolist() for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _as_tuple(value) -> tuple:
    """A DuckDB list cell as a tuple (an empty one when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if hasattr(value, "tolist"):
        value = value.tolist()
    return tuple(value) if isinstance(value, list | tuple) else ()


def _sdq_concern(total, informant) -> bool | None:
    if total is None or pd.isna(total) or informant not in SDQ_CONCERN:
        return None
    return bool(total >= SDQ_CONCERN[informant])


def _code_flag(values: pd.Series, table: str, column: str) -> pd.Series:
    """A code's yes/no attribute (e.g. accommodation -> suitable), missing when unknown."""
    flags = {
        code: text.strip().lower() == "true" for code, text in attribute(table, column).items()
    }
    return values.map(lambda code: flags.get(str(code).upper()) if isinstance(code, str) else None)


def tracker(
    con: duckdb.DuckDBPyConnection,
    cohort: str,
    period: Period | str,
    *,
    locality: str | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> pd.DataFrame:
    """One row per child of ``cohort`` (a group of ``dimensions.GROUPS``; in ``locality`` when
    given) in ``period``: the columns of ``COLUMNS``, ``rag`` and ``reasons``. Sorted red
    first, then amber, then green, then by pseudonym."""
    if cohort not in GROUPS:
        raise ValueError(f"{cohort!r} is not a group: one of {', '.join(GROUPS)}")
    period = Period.parse(period) if isinstance(period, str) else period
    query = _query(cohort, locality)
    frame = con.execute(query, _params(query, period, locality)).df()
    frame["assessment_factors"] = [_as_tuple(value) for value in frame["assessment_factors"]]
    frame["risks"] = [_risks(row) for row in _records(frame)]
    frame["sdq_concern"] = pd.array(
        [
            _sdq_concern(total, informant)
            for total, informant in zip(frame["sdq_total"], frame["sdq_informant"], strict=True)
        ],
        dtype="boolean",
    )
    frame["care_leaver_eet"] = pd.array(
        _code_flag(frame["care_leaver_activity"], "activity", "eet"), dtype="boolean"
    )
    frame["care_leaver_accommodation_suitable"] = pd.array(
        _code_flag(frame["care_leaver_accommodation"], "accommodation", "suitable"),
        dtype="boolean",
    )
    for column in (
        "age",
        "cp_months",
        "cp_plan_number",
        "placements_12m",
        "placement_moves_12m",
        "missing_12m",
        "away_12m",
        "attendance_terms",
        "suspensions_12m",
        "school_moves_12m",
        "sdq_total",
    ):
        frame[column] = frame[column].astype("Int64")
    for column in (
        "permanent_exclusion_12m",
        "feels_safe",
        "mental_health_need_unmet",
        "review_overdue",
    ):
        frame[column] = frame[column].astype("boolean")
    frame["attendance_pct"] = frame["attendance_pct"].astype("Float64")
    ratings = [rate(row, rules) for row in _records(frame)]
    frame["rag"] = [colour for colour, _ in ratings]
    frame["reasons"] = [reasons for _, reasons in ratings]
    frame = frame[list(COLUMNS)]
    order = frame["rag"].map(COLOURS.index)
    frame = frame.assign(_order=order).sort_values(["_order", "child_id"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def rag_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Children by colour (all three colours, zero included) of a tracker table."""
    counts = frame["rag"].value_counts()
    return {colour: int(counts.get(colour, 0)) for colour in COLOURS}


def localities(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The authority's localities (for the page's choice), sorted."""
    rows = con.execute(
        "SELECT DISTINCT locality FROM ref_areas WHERE locality IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [locality for (locality,) in rows]


def cohorts() -> dict[str, str]:
    """The cohorts a tracker can be made for: group -> its label."""
    return {group: GROUP_LABELS[group] for group in GROUPS}


def code_words(column: str) -> dict[str, str]:
    """The meanings of the codes of a code column (legal status, placement type, CP category,
    OC3 codes, assessment factors), for the readable table."""
    lists = {
        "legal_status": "legal_status",
        "placement_type": "placement_type",
        "cp_category": "abuse_category",
        "care_leaver_in_touch": "in_touch",
        "care_leaver_activity": "activity",
        "care_leaver_accommodation": "accommodation",
        "assessment_factors": "assessment_factor",
    }
    return dict(meanings(lists[column])) if column in lists else {}


__all__ = [
    "AMBER",
    "COLUMNS",
    "GREEN",
    "PLAN_STATUSES",
    "RED",
    "RULES",
    "Rule",
    "code_words",
    "cohorts",
    "localities",
    "rag_counts",
    "rate",
    "rules_table",
    "tracker",
]
