"""Domain A: right conditions and culture (spec §5; seed 002, table 2).

Three sources:
* the staff survey (one row per respondent): every agree-scale item is a proportion of
  respondents agreeing, through ``survey_item_units``; two-part items are two indicators
  (A8.1a/b, A9.2a/b, A9.3a/b), and A6.1 is split into the organisation fact (A6.1a) and the
  staff item (A6.1b);
* organisation facts (one row per financial year): facts, 1 yes / 0 no;
* the workforce: the local per-worker HR records (``workforce_staff``, every level) when the
  authority has loaded them for the year, otherwise the CSWW return (qualified social workers
  only, the level read from ``org_role``). Workforce indicators are annual ("in the past year"):
  a half-year period is measured over the financial year it belongs to.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from framework.engine.measures.common import survey_item_units
from framework.engine.units import MeasureContext, empty_units, measure

# --- Staff survey items (spec §5: % agreeing among respondents who answered) -------------------


def _staff_item(ctx: MeasureContext, *items: str) -> pd.DataFrame:
    return survey_item_units(ctx, "staff_survey", list(items))


@measure("A1.1", "proportion")
def a1_1(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a1_1_council_committed")


@measure("A1.2", "proportion")
def a1_2(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a1_2_clear_priorities")


@measure("A1.3", "proportion")
def a1_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a1_3_leaders_in_touch")


@measure("A2.3", "proportion")
def a2_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a2_3_apply_values")


@measure("A3.1", "proportion")
def a3_1(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a3_1_reflective_learning")


@measure("A3.2", "proportion")
def a3_2(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a3_2_feedback_planning")


@measure("A3.3", "proportion")
def a3_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a3_3_feedback_practice")


@measure("A4.3", "proportion")
def a4_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a4_3_multi_agency_effective")


@measure("A5.1", "proportion")
def a5_1(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a5_1_information")


@measure("A5.2", "proportion")
def a5_2(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a5_2_case_system")


@measure("A5.3", "proportion")
def a5_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a5_3_systems_training")


@measure("A5.4", "proportion")
def a5_4(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a5_4_work_environment")


@measure("A6.1b", "proportion")
def a6_1b(ctx: MeasureContext) -> pd.DataFrame:
    """Staff are able to apply the practice framework (the staff half of A6.1)."""
    return _staff_item(ctx, "a6_1_apply_framework")


@measure("A6.2", "proportion")
def a6_2(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a6_2_evidence")


@measure("A6.3", "proportion")
def a6_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a6_3_family_network")


@measure("A6.4", "proportion")
def a6_4(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a6_4_meaningful_role")


@measure("A6.5", "proportion")
def a6_5(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a6_5_trusting_relationships")


@measure("A6.6", "proportion")
def a6_6(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a6_6_autonomy")


@measure("A8.1a", "proportion")
def a8_1a(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a8_1a_time_with_children")


@measure("A8.1b", "proportion")
def a8_1b(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a8_1b_improved_outcomes")


@measure("A8.2", "proportion")
def a8_2(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a8_2_valued")


@measure("A8.3", "proportion")
def a8_3(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a8_3_supervision")


@measure("A8.4", "proportion")
def a8_4(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a8_4_development")


@measure("A8.5", "proportion")
def a8_5(ctx: MeasureContext) -> pd.DataFrame:
    """My workload is manageable (caseload per FTE beside it: A8.5b)."""
    return _staff_item(ctx, "a8_5_workload")


@measure("A9.1", "proportion")
def a9_1(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a9_1_own_skills")


@measure("A9.2a", "proportion")
def a9_2a(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a9_2a_colleagues_skills")


@measure("A9.2b", "proportion")
def a9_2b(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a9_2b_managers_skills")


@measure("A9.3a", "proportion")
def a9_3a(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a9_3a_team_skill_mix")


@measure("A9.3b", "proportion")
def a9_3b(ctx: MeasureContext) -> pd.DataFrame:
    return _staff_item(ctx, "a9_3b_department_skill_mix")


# --- A4.4: factors that support or undermine multi-agency working (ranked counts) --------------

FACTORS = (
    "information_sharing",
    "shared_priorities",
    "co_location",
    "joint_training",
    "clear_roles",
    "leadership",
    "partner_capacity",
    "partner_turnover",
    "it_systems",
)
FACTOR_CATEGORIES = tuple(f"{side}:{f}" for side in ("supports", "undermines") for f in FACTORS)


@measure("A4.4", "distribution", categories=FACTOR_CATEGORIES)
def a4_4(ctx: MeasureContext) -> pd.DataFrame:
    """One unit per mention: a respondent naming a factor as supporting or undermining.

    The contract gives each unit one category, and a respondent may name several factors, so
    the unit is the mention (respondent × side × factor), not the respondent: counts and their
    rank are exact, and a category's share is its share of all mentions. The share of
    respondents naming a factor (mentions ÷ respondents who answered either question) needs the
    respondent count, which the unit id carries (survey / respondent / side / factor).
    Codes outside the factor list and repeats of a code by one respondent are not counted.
    """
    factors = "[" + ", ".join(f"'{f}'" for f in FACTORS) + "]"
    frame = ctx.sql(
        f"""WITH answered AS (
                SELECT survey, respondent_id, level, team, 'supports' AS side,
                       a4_4_supports AS codes
                FROM staff_survey WHERE response_date BETWEEN $start AND $end
                UNION ALL
                SELECT survey, respondent_id, level, team, 'undermines', a4_4_undermines
                FROM staff_survey WHERE response_date BETWEEN $start AND $end
            ), mentions AS (
                SELECT DISTINCT survey, respondent_id, level, team, side,
                       lower(trim(unnest(string_split(codes, ';')))) AS factor
                FROM answered WHERE codes IS NOT NULL
            )
            SELECT survey || ' / ' || respondent_id || ' / ' || side || ' / ' || factor
                       AS unit_id,
                   side || ':' || factor AS category,
                   level AS staff_level, team, TRUE AS in_denominator
            FROM mentions
            WHERE list_contains({factors}, factor)"""
    )
    return frame if len(frame) else empty_units("staff_level", "team")


# --- Organisation facts (A2.1, A2.2, A6.1a) ---------------------------------------------------


def _fact(ctx: MeasureContext, column: str) -> pd.DataFrame:
    """The fact for the period's financial year: 1 yes, 0 no; no row for the year: no data."""
    frame = ctx.sql(
        f"""SELECT 'organisation / ' || CAST(year AS VARCHAR) AS unit_id,
                   CAST({column} AS DOUBLE) AS value, TRUE AS in_denominator
            FROM organisation_facts WHERE year = $fin_year AND {column} IS NOT NULL
            LIMIT 1""",
        fin_year=ctx.period.end_year,
    )
    return frame if len(frame) else empty_units()


@measure("A2.1", "fact")
def a2_1(ctx: MeasureContext) -> pd.DataFrame:
    return _fact(ctx, "values_statement")


@measure("A2.2", "fact")
def a2_2(ctx: MeasureContext) -> pd.DataFrame:
    return _fact(ctx, "values_describe_operation")


@measure("A6.1a", "fact")
def a6_1a(ctx: MeasureContext) -> pd.DataFrame:
    """A practice framework exists (the organisation half of A6.1; the staff half is A6.1b)."""
    return _fact(ctx, "practice_framework")


# --- A4.1, A4.2: multi-agency meetings attended by every agency expected -----------------------


def _meetings_fully_attended(ctx: MeasureContext, level: str) -> pd.DataFrame:
    """Meetings of the level held in the period that expected at least one agency; in the
    numerator when every expected agency attended (attended ⊇ expected; an agency that came
    unexpected does not make up for one that did not)."""
    frame = ctx.sql(
        """WITH m AS (
                SELECT meeting_id,
                       list_filter(list_transform(string_split(coalesce(agencies_expected, ''),
                           ';'), lambda x: lower(trim(x))), lambda x: x <> '') AS expected,
                       list_filter(list_transform(string_split(coalesce(agencies_attended, ''),
                           ';'), lambda x: lower(trim(x))), lambda x: x <> '') AS attended
                FROM multi_agency_meetings
                WHERE meeting_date BETWEEN $start AND $end AND level = $level
            )
            SELECT 'meeting / ' || meeting_id AS unit_id, TRUE AS in_denominator,
                   list_has_all(attended, expected) AS in_numerator
            FROM m WHERE len(expected) > 0""",
        level=level,
    )
    return frame if len(frame) else empty_units()


@measure("A4.1", "proportion")
def a4_1(ctx: MeasureContext) -> pd.DataFrame:
    return _meetings_fully_attended(ctx, "strategic")


@measure("A4.2", "proportion")
def a4_2(ctx: MeasureContext) -> pd.DataFrame:
    return _meetings_fully_attended(ctx, "operational")


# --- Workforce (A7.1-A7.4, A8.5b, A8.6) -------------------------------------------------------

# CSWW OrgRole -> staff level (4 senior practitioner, 5 case holder, 6 qualified without cases
# are all frontline social workers).
_CSWW_LEVEL = """CASE org_role WHEN '1' THEN 'senior_leader' WHEN '2' THEN 'middle_manager'
                 WHEN '3' THEN 'team_manager' ELSE 'social_worker' END"""


def _workforce(ctx: MeasureContext) -> tuple[str, dict] | None:
    """The workers of the period's financial year as one relation, and its parameters.

    Columns: worker_id, level, team, fte, agency, service_start, leaver (left in the year),
    at_start / at_end (in post on the year's first / last day), year_share (share of the year
    in post), sickness_days.

    Local HR records (``workforce_staff``) for the year win: they cover every level. Otherwise
    the CSWW return whose reference date (30 September) falls in the financial year: its own
    year runs from 1 October to 30 September, so for CSWW the "year" below is that one.
    """
    year = ctx.period.end_year
    local = ctx.sql(
        "SELECT count(*) AS n FROM workforce_staff WHERE year = $fin_year", fin_year=year
    )
    if local["n"].iloc[0]:
        first, last = date(year - 1, 4, 1), date(year, 3, 31)
        relation = """
            SELECT worker_id, level, team, fte, coalesce(agency, FALSE) AS agency,
                   start_date AS service_start, sickness_days,
                   leave_date BETWEEN $year_first AND $year_last AS leaver,
                   start_date <= $year_first AS at_start,
                   (leave_date IS NULL OR leave_date > $year_last) AS at_end,
                   greatest(0, date_diff('day', greatest(start_date, $year_first),
                            least(coalesce(leave_date, $year_last), $year_last)) + 1)
                       / (date_diff('day', $year_first, $year_last) + 1) AS year_share
            FROM workforce_staff WHERE year = $fin_year"""
        return relation, {"fin_year": year, "year_first": first, "year_last": last}
    csww = year - 1  # reference date 30 September csww, inside the financial year
    has_csww = ctx.sql(
        "SELECT count(*) AS n FROM workforce_workers WHERE year = $csww_year", csww_year=csww
    )
    if not has_csww["n"].iloc[0]:
        return None
    first, last = date(csww - 1, 10, 1), date(csww, 9, 30)
    relation = f"""
        SELECT worker_id, {_CSWW_LEVEL} AS level, CAST(NULL AS VARCHAR) AS team,
               coalesce(fte_30_september, fte) AS fte, coalesce(agency_worker, FALSE) AS agency,
               role_start_date AS service_start, working_days_lost AS sickness_days,
               role_end_date BETWEEN $year_first AND $year_last AS leaver,
               role_start_date <= $year_first AS at_start,
               (role_end_date IS NULL OR role_end_date > $year_last) AS at_end,
               greatest(0, date_diff('day', greatest(role_start_date, $year_first),
                        least(coalesce(role_end_date, $year_last), $year_last)) + 1)
                   / (date_diff('day', $year_first, $year_last) + 1) AS year_share
        FROM workforce_workers WHERE year = $csww_year"""
    return relation, {"csww_year": csww, "year_first": first, "year_last": last}


def _workforce_units(ctx: MeasureContext, select: str) -> pd.DataFrame:
    """Run ``select`` (reading the relation ``workers``) over the period's workforce."""
    found = _workforce(ctx)
    if found is None:
        return empty_units("staff_level", "team")
    relation, params = found
    frame = ctx.sql(f"WITH workers AS ({relation}) {select}", **params)
    return frame if len(frame) else empty_units("staff_level", "team")


_WORKER_COLUMNS = "'worker / ' || worker_id AS unit_id, level AS staff_level, team"


@measure("A7.1", "ratio")
def a7_1(ctx: MeasureContext) -> pd.DataFrame:
    """Turnover: FTE of employees who left in the year ÷ mean FTE in post on the year's first
    and last days. Each employee in post at any time in the year is a unit: value = their FTE
    if they left in the year (else 0), amount = their share of the mean FTE (FTE × (in post at
    start + in post at end) / 2). Leavers are counted in FTE, as the CSWW turnover rate is.
    Agency workers are not employees: they are not in turnover (their use is A7.4)."""
    return _workforce_units(
        ctx,
        f"""SELECT {_WORKER_COLUMNS}, TRUE AS in_denominator,
                   CASE WHEN leaver THEN fte ELSE 0 END AS value,
                   fte * (CAST(at_start AS INT) + CAST(at_end AS INT)) / 2.0 AS amount
            FROM workers WHERE NOT agency""",
    )


@measure("A7.2", "ratio")
def a7_2(ctx: MeasureContext) -> pd.DataFrame:
    """Vacancy rate: vacant FTE ÷ (filled + vacant FTE) at the end of the year.

    Local data: one unit per level and team of the establishment (``workforce_posts``), filled
    FTE being the employees in post on 31 March; vacant = established − filled (never below 0;
    posts covered by agency workers are vacant, as in the CSWW). CSWW: one unit, the return's
    vacancies at 30 September against its employed social workers' FTE.
    """
    year = ctx.period.end_year
    posts = ctx.sql(
        "SELECT count(*) AS n FROM workforce_posts WHERE year = $fin_year", fin_year=year
    )
    found = _workforce(ctx)
    if found is not None and posts["n"].iloc[0] and "fin_year" in found[1]:
        relation, params = found
        frame = ctx.sql(
            f"""WITH workers AS ({relation}),
                filled AS (
                    SELECT level, team, sum(fte) AS fte FROM workers
                    WHERE at_end AND NOT agency GROUP BY level, team
                ), posts AS (
                    SELECT level, team, sum(established_fte) AS fte FROM workforce_posts
                    WHERE year = $fin_year GROUP BY level, team
                )
                SELECT 'posts / ' || coalesce(p.level, f.level) || ' / '
                           || coalesce(p.team, f.team, '') AS unit_id,
                       coalesce(p.level, f.level) AS staff_level,
                       coalesce(p.team, f.team) AS team, TRUE AS in_denominator,
                       greatest(coalesce(p.fte, 0) - coalesce(f.fte, 0), 0) AS value,
                       coalesce(f.fte, 0)
                           + greatest(coalesce(p.fte, 0) - coalesce(f.fte, 0), 0) AS amount
                FROM posts p FULL JOIN filled f ON p.level = f.level AND p.team = f.team""",
            **params,
        )
        return frame if len(frame) else empty_units("staff_level", "team")
    frame = ctx.sql(
        """WITH filled AS (
                SELECT sum(coalesce(fte_30_september, fte)) AS fte FROM workforce_workers
                WHERE year = $csww_year AND NOT coalesce(agency_worker, FALSE)
                  AND fte_30_september IS NOT NULL
            )
            SELECT 'csww vacancies / ' || CAST(v.year AS VARCHAR) AS unit_id,
                   'social_worker' AS staff_level, TRUE AS in_denominator,
                   v.vacancies_fte AS value, v.vacancies_fte + coalesce(f.fte, 0) AS amount
            FROM workforce_vacancies v, filled f
            WHERE v.year = $csww_year AND v.vacancies_fte IS NOT NULL""",
        csww_year=year - 1,
    )
    return frame if len(frame) else empty_units("staff_level", "team")


@measure("A7.3", "proportion")
def a7_3(ctx: MeasureContext) -> pd.DataFrame:
    """Length of service: employees in post at the end of the year with under 2 years'
    service (started after the date 2 years before the year's last day). ``value`` carries
    each worker's years of service, for the median the spec puts beside it."""
    return _workforce_units(
        ctx,
        f"""SELECT {_WORKER_COLUMNS}, TRUE AS in_denominator,
                   service_start > CAST($year_last - INTERVAL 2 YEAR AS DATE) AS in_numerator,
                   date_diff('day', service_start, $year_last) / 365.25 AS value
            FROM workers WHERE at_end AND NOT agency AND service_start IS NOT NULL""",
    )


@measure("A7.4", "ratio")
def a7_4(ctx: MeasureContext) -> pd.DataFrame:
    """Agency rate: agency FTE ÷ all FTE (agency and employed) in post at the end of the year
    (31 March; CSWW: 30 September). value = the worker's FTE if agency, amount = their FTE."""
    return _workforce_units(
        ctx,
        f"""SELECT {_WORKER_COLUMNS}, TRUE AS in_denominator,
                   CASE WHEN agency THEN fte ELSE 0 END AS value, fte AS amount
            FROM workers WHERE at_end""",
    )


@measure("A8.6", "ratio")
def a8_6(ctx: MeasureContext) -> pd.DataFrame:
    """Sickness absence: working days lost ÷ FTE-years worked, over employees with sickness
    recorded. amount = FTE × the share of the year the worker was in post, so that a worker
    who joined in January does not count as a full year. Agency staff are not recorded."""
    return _workforce_units(
        ctx,
        f"""SELECT {_WORKER_COLUMNS}, TRUE AS in_denominator,
                   sickness_days AS value, fte * year_share AS amount
            FROM workers WHERE NOT agency AND sickness_days IS NOT NULL AND year_share > 0""",
    )


_NO_WORKERS = """SELECT CAST(NULL AS VARCHAR) AS worker_id, CAST(NULL AS VARCHAR) AS level,
                         CAST(NULL AS DOUBLE) AS fte WHERE FALSE"""


@measure("A8.5b", "ratio")
def a8_5b(ctx: MeasureContext) -> pd.DataFrame:
    """Caseload per FTE beside A8.5: children allocated ÷ FTE of the workers counted on the
    last caseload snapshot in the period. FTE comes from the year's workforce records (local,
    else CSWW); a worker with no FTE there is returned outside the denominator."""
    relation, params = _workforce(ctx) or (_NO_WORKERS, {})
    frame = ctx.sql(
        f"""WITH workers AS ({relation}),
            last_day AS (
                SELECT max(snapshot_date) AS day FROM caseloads
                WHERE snapshot_date BETWEEN $start AND $end
            ), fte AS (
                SELECT worker_id, any_value(level) AS level, max(fte) AS fte
                FROM workers GROUP BY worker_id
            )
            SELECT 'worker / ' || c.worker_id || ' / ' || CAST(c.snapshot_date AS VARCHAR)
                       AS unit_id,
                   w.level AS staff_level, c.team,
                   w.fte IS NOT NULL AS in_denominator,
                   CAST(c.children_allocated AS DOUBLE) AS value, w.fte AS amount
            FROM caseloads c JOIN last_day d ON c.snapshot_date = d.day
            LEFT JOIN fte w ON w.worker_id = c.worker_id""",
        **params,
    )
    return frame if len(frame) else empty_units("staff_level", "team")
