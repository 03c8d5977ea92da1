"""Domain D, child outcomes computed from the statutory returns (spec §8 and §12; seed 002,
table 5): going missing, care leavers' accommodation and activity, placement moves and moves
to permanence. The indicators from local data and surveys are in ``domain_d``.

Shared choices (also said in each measure):

* The reference period is the last 6 months (``$h2_start``-``$h2_end``); a "change" compares
  it with the 6 months before (``$h1_start``-``$h1_end``) for the same child.
* **Looked after** excludes short-break episodes (V3/V4), as in ``domain_b``.
* **Went missing** (D1.1, D1.2) counts SSDA903 periods of ``MISSING`` = M (whereabouts unknown)
  starting in the half; periods "away without authorisation" (A) are not counted, as the DfE
  reports them apart.
* **OC3** (D3.x, D13.x) is annual, recorded around the care leaver's birthday: a period uses
  the OC3 rows of its financial year (a half-year uses its year's rows), and a "transition"
  compares a care leaver's OC3 row of that year with their latest earlier OC3 row.
"""

from __future__ import annotations

import pandas as pd

from framework.engine.measures.domain_b import CARE_EPISODES, FAR, periods_of_care_sql
from framework.engine.units import MeasureContext, empty_units, measure

MISSING_TYPES = "('M')"  # SSDA903 MISSING codes counted as going missing (A = away, not counted)
NOT_LEAVER_DENOMINATOR = "('DIED', 'RHOM')"  # §12: OC3 rows left out of D3.1 and D13.3
EET_ACTIVITIES = "('F1', 'P1', 'F2', 'P2', 'F4', 'P4', 'F5', 'P5')"  # §12 D13.3
NEET_ACTIVITIES = "('G4', 'G5', 'G6')"  # known not to be in education, employment or training
COUNT_CHANGE = ("more", "fewer", "no_change")  # as domain_d: more / fewer events than before
SUITABILITY_CHANGE = (
    "unsuitable_to_suitable",
    "suitable_to_unsuitable",
    "stayed_suitable",
    "stayed_unsuitable",
)
EET_CHANGE = ("into_eet", "out_of_eet", "stayed_eet", "stayed_not_eet")
TEMPORARY_PLACEMENTS = "('T0', 'T1', 'T2', 'T3', 'T4')"  # §12: not placement changes
# D5.5: reasons an episode of care ceased that are moves to permanence: adoption (E11, E12),
# child arrangements order (E41), special guardianship (E45-E48) and a planned return home
# (E4A). E4B (returned home not as part of care planning) is not a move to permanence.
PERMANENCE_REASONS = "('E11', 'E12', 'E41', 'E45', 'E46', 'E47', 'E48', 'E4A')"
PERMANENCE = ("succeeded", "broke_down")


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The measure's rows, or the contract's empty frame: no units is "no data", never 0."""
    return frame if len(frame) else empty_units()


def _looked_after_in(first: str, last: str) -> str:
    """Children looked after at any time from ``first`` to ``last`` (SQL parameters)."""
    return f"""SELECT DISTINCT child_id FROM {CARE_EPISODES} e
               WHERE e.start_date <= {last} AND coalesce(e.end_date, {FAR}) >= {first}"""


# --- D1: missing --------------------------------------------------------------------------


@measure("D1.1", "proportion")
def d1_1(ctx: MeasureContext) -> pd.DataFrame:
    """Children who went missing in the last 6 months.

    Cohort: children with evidence about going missing in the last 6 months - looked after at
    any time in them (the SSDA903 missing file covers them), or with a review of a CiN or CP
    plan in them that answered the local ``missing`` factor (for children not looked after).
    Numerator: an SSDA903 missing period (M) starting in the last 6 months, or a yes at such a
    review. Children with neither source are not counted: nothing is known of them.
    """
    frame = ctx.sql(
        f"""
        WITH looked_after AS ({_looked_after_in("$h2_start", "$h2_end")}),
        reviews AS (
            SELECT child_id, bool_or(missing) AS yes FROM case_reviews
            WHERE plan_type IN ('cin', 'cp') AND missing IS NOT NULL
              AND review_date BETWEEN $h2_start AND $h2_end
            GROUP BY child_id),
        went_missing AS (
            SELECT DISTINCT child_id FROM missing_episodes
            WHERE missing_type IN {MISSING_TYPES}
              AND start_date BETWEEN $h2_start AND $h2_end),
        cohort AS (SELECT child_id FROM looked_after UNION SELECT child_id FROM reviews)
        SELECT c.child_id AS unit_id, c.child_id, true AS in_denominator,
               m.child_id IS NOT NULL OR coalesce(r.yes, false) AS in_numerator
        FROM cohort c LEFT JOIN went_missing m USING (child_id)
        LEFT JOIN reviews r USING (child_id)
        ORDER BY unit_id"""
    )
    return _rows(frame)


@measure("D1.2", "distribution", categories=COUNT_CHANGE)
def d1_2(ctx: MeasureContext) -> pd.DataFrame:
    """Children looked after at some time in both the last 6 months and the 6 months before:
    more / fewer / no change in the number of SSDA903 missing periods (M) starting in the
    last 6 months against the 6 months before (no change includes none in either)."""
    frame = ctx.sql(
        f"""
        WITH both_halves AS (
            {_looked_after_in("$h2_start", "$h2_end")}
            INTERSECT {_looked_after_in("$h1_start", "$h1_end")}),
        counts AS (
            SELECT child_id,
                   count(*) FILTER (WHERE start_date BETWEEN $h1_start AND $h1_end) AS before,
                   count(*) FILTER (WHERE start_date BETWEEN $h2_start AND $h2_end) AS now
            FROM missing_episodes WHERE missing_type IN {MISSING_TYPES}
            GROUP BY child_id)
        SELECT b.child_id AS unit_id, b.child_id, true AS in_denominator,
               CASE WHEN coalesce(now, 0) > coalesce(before, 0) THEN 'more'
                    WHEN coalesce(now, 0) < coalesce(before, 0) THEN 'fewer'
                    ELSE 'no_change' END AS category
        FROM both_halves b LEFT JOIN counts USING (child_id)
        ORDER BY unit_id"""
    )
    return _rows(frame)


# --- D3, D13: care leavers (OC3) -----------------------------------------------------------


def _oc3_share(ctx: MeasureContext, numerator: str) -> pd.DataFrame:
    """§12: OC3 rows of the period's year, leaving out care leavers who died or returned home
    (IN_TOUCH DIED, RHOM); ``numerator`` is an SQL condition on the row."""
    frame = ctx.sql(
        f"""
        SELECT child_id || ' / ' || year AS unit_id, child_id, true AS in_denominator,
               coalesce({numerator}, false) AS in_numerator
        FROM care_leavers
        WHERE year = $year AND coalesce(upper(in_touch), '') NOT IN {NOT_LEAVER_DENOMINATOR}
        ORDER BY unit_id""",
        year=ctx.period.end_year,
    )
    return _rows(frame)


@measure("D3.1", "proportion")
def d3_1(ctx: MeasureContext) -> pd.DataFrame:
    """§12: care leavers in the year's OC3 (not died or returned home) whose accommodation was
    suitable (ACCOM ends in 1)."""
    return _oc3_share(ctx, "right(accommodation, 1) = '1'")


@measure("D13.3", "proportion")
def d13_3(ctx: MeasureContext) -> pd.DataFrame:
    """§12: care leavers in the year's OC3 (not died or returned home) in education,
    employment or training (ACTIV F1, P1, F2, P2, F4, P4, F5, P5)."""
    return _oc3_share(ctx, f"upper(activity) IN {EET_ACTIVITIES}")


def _oc3_transitions(ctx: MeasureContext, status: str, labels: tuple[str, ...]) -> pd.DataFrame:
    """Care leavers whose OC3 row of the period's year and latest earlier OC3 row both have a
    known ``status`` (an SQL expression, true/false, NULL when unknown). ``labels``: false to
    true, true to false, stayed true, stayed false."""
    up, down, stayed, stayed_not = labels
    frame = ctx.sql(
        f"""
        WITH oc3 AS (
            SELECT child_id, year, {status} AS status FROM care_leavers
            WHERE {status} IS NOT NULL),
        now AS (SELECT * FROM oc3 WHERE year = $year),
        before AS (
            SELECT o.child_id, arg_max(o.status, o.year) AS status
            FROM oc3 o JOIN now n ON o.child_id = n.child_id AND o.year < n.year
            GROUP BY o.child_id)
        SELECT n.child_id || ' / ' || n.year AS unit_id, n.child_id, true AS in_denominator,
               CASE WHEN n.status AND NOT b.status THEN '{up}'
                    WHEN b.status AND NOT n.status THEN '{down}'
                    WHEN n.status THEN '{stayed}'
                    ELSE '{stayed_not}' END AS category
        FROM now n JOIN before b USING (child_id)
        ORDER BY unit_id""",
        year=ctx.period.end_year,
    )
    return _rows(frame)


@measure("D3.2", "distribution", categories=SUITABILITY_CHANGE)
def d3_2(ctx: MeasureContext) -> pd.DataFrame:
    """Change in care leavers' accommodation suitability: OC3 is annual, so a care leaver's
    OC3 row of the period's year is compared with their latest earlier OC3 row; both must
    say suitable (ACCOM ending 1) or unsuitable (ending 2)."""
    suitable = "CASE right(accommodation, 1) WHEN '1' THEN true WHEN '2' THEN false END"
    return _oc3_transitions(ctx, suitable, SUITABILITY_CHANGE)


@measure("D13.4", "distribution", categories=EET_CHANGE)
def d13_4(ctx: MeasureContext) -> pd.DataFrame:
    """Change in care leavers' EET status, as D3.2: the OC3 row of the period's year against
    the latest earlier one, both with a known activity (EET codes of §12, or NEET G4-G6)."""
    eet = (
        f"CASE WHEN upper(activity) IN {EET_ACTIVITIES} THEN true "
        f"WHEN upper(activity) IN {NEET_ACTIVITIES} THEN false END"
    )
    return _oc3_transitions(ctx, eet, EET_CHANGE)


# --- D5: placement moves and permanence --------------------------------------------------


@measure("D5.4", "proportion")
def d5_4(ctx: MeasureContext) -> pd.DataFrame:
    """§12: children looked after at any time in the last 6 months with an unplanned placement
    change in them: an episode starting in the last 6 months with RNE P or B (a change of
    carer), not a temporary placement (T0-T4), where the episode it replaces ended with a
    REASON_PLACE_CHANGE other than CARPL. Temporary placements are passed over: a move after
    one replaces the last episode before it (so carer ends CREQB -> T4 -> new carer is
    unplanned). A blank reason is not counted as unplanned."""
    frame = ctx.sql(
        f"""
        WITH ep AS (
            SELECT *, lag(reason_place_change) OVER (PARTITION BY child_id ORDER BY start_date)
                        AS replaced_reason
            FROM {CARE_EPISODES} e
            WHERE coalesce(e.placement_type, '') NOT IN {TEMPORARY_PLACEMENTS}),
        cohort AS ({_looked_after_in("$h2_start", "$h2_end")}),
        moved AS (
            SELECT DISTINCT child_id FROM ep
            WHERE start_date BETWEEN $h2_start AND $h2_end
              AND reason_new_episode IN ('P', 'B')
              AND upper(replaced_reason) <> 'CARPL')
        SELECT c.child_id AS unit_id, c.child_id, true AS in_denominator,
               m.child_id IS NOT NULL AS in_numerator
        FROM cohort c LEFT JOIN moved m USING (child_id)
        ORDER BY unit_id"""
    )
    return _rows(frame)


@measure("D5.5", "distribution", categories=PERMANENCE)
def d5_5(ctx: MeasureContext) -> pd.DataFrame:
    """Moves to permanence (a period of care ending in adoption, a CAO, an SGO or a planned
    return home) that succeeded or broke down (the child started to be looked after again
    within 12 months: day after the move to move + 12 months). "Broke down within 12 months"
    needs 12 months of follow-up, so the moves are those in the last 6 months moved back 12
    months (for 2024-25: October 2023 to March 2024). Adopted children who return to care
    often do so under a new identifier, so adoption breakdowns are undercounted."""
    frame = ctx.sql(
        f"""
        WITH {periods_of_care_sql()}
        SELECT p.child_id || ' / ' || strftime(p.period_end, '%Y-%m-%d') AS unit_id,
               p.child_id, true AS in_denominator,
               CASE WHEN EXISTS (
                   SELECT 1 FROM periods q
                   WHERE q.child_id = p.child_id AND q.period_start > p.period_end
                     AND q.period_start <= p.period_end + INTERVAL 12 MONTH)
                 THEN 'broke_down' ELSE 'succeeded' END AS category
        FROM periods p
        WHERE upper(p.reason_ceased) IN {PERMANENCE_REASONS}
          AND p.period_end BETWEEN $h2_start - INTERVAL 12 MONTH AND $h2_end - INTERVAL 12 MONTH
        ORDER BY unit_id"""
    )
    return _rows(frame)
