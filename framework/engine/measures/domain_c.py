"""Domain C: children and families valued and involved (spec §7; seed 002, table 4).

Sources: the child and parent surveys (agree-scale items, through ``survey_item_units``), the
worker allocations history (changes of social worker), the SSDA903 looked-after reviews and the
local planning meetings (taking part in planning), and the complaints log.
"""

from __future__ import annotations

import pandas as pd

from framework.engine.measures.common import survey_item_units
from framework.engine.units import MeasureContext, empty_units, measure


def _or_empty(frame: pd.DataFrame, *slices: str) -> pd.DataFrame:
    """No rows means no data for the period (never zero): the contract's empty frame."""
    return frame if len(frame) else empty_units(*slices)


# --- C1.1: changes of social worker -----------------------------------------------------------


@measure("C1.1", "proportion")
def c1_1(ctx: MeasureContext) -> pd.DataFrame:
    """Children with a worker allocated at any time in the last 6 months who changed social
    worker in those 6 months.

    A change is an allocation starting in the 6 months to a worker other than the one the
    child's previous allocation (by start date) was with, while the case continued: the
    previous allocation did not end with ``case_closed``. A first allocation, or one after the
    case closed, starts a new case and is not a change. The team slice is the team of the
    child's latest allocation in the 6 months (the team holding the case at the end).
    ``value`` is the number of different workers the child had in the 12 months to the
    period's end (the spec's companion figure): its mean and median come beside the share.
    """
    frame = ctx.sql(
        """WITH starts AS (  -- only children with an allocation starting can have changed
                SELECT DISTINCT child_id FROM worker_allocations
                WHERE start_date BETWEEN $h2_start AND $h2_end
            ), a AS (
                SELECT child_id, worker_id, start_date,
                       lag(worker_id) OVER w AS previous_worker,
                       lag(end_reason) OVER w AS previous_end_reason
                FROM worker_allocations SEMI JOIN starts USING (child_id)
                WHERE start_date <= $h2_end
                WINDOW w AS (PARTITION BY child_id ORDER BY start_date, end_date NULLS LAST,
                             worker_id)
            ), held AS (
                SELECT child_id,
                       arg_max(team, struct_pack(s := start_date,
                               e := coalesce(end_date, DATE '9999-12-31'), w := worker_id))
                           AS team
                FROM worker_allocations
                WHERE child_id IS NOT NULL AND start_date <= $h2_end
                  AND (end_date IS NULL OR end_date >= $h2_start)
                GROUP BY child_id
            ), changed AS (
                SELECT DISTINCT child_id FROM a
                WHERE start_date >= $h2_start
                  AND previous_worker IS NOT NULL AND previous_worker <> worker_id
                  AND coalesce(previous_end_reason, '') <> 'case_closed'
            ), workers AS (  -- different workers in the 12 months to the period's end
                SELECT child_id, count(DISTINCT worker_id) AS workers
                FROM worker_allocations
                WHERE child_id IS NOT NULL AND start_date <= $end
                  AND (end_date IS NULL OR end_date > $end - INTERVAL 12 MONTH)
                GROUP BY child_id
            )
            SELECT h.child_id AS unit_id, h.child_id, h.team, TRUE AS in_denominator,
                   c.child_id IS NOT NULL AS in_numerator, w.workers AS value
            FROM held h LEFT JOIN changed c USING (child_id)
            LEFT JOIN workers w USING (child_id)"""
    )
    return _or_empty(frame, "team")


# --- Survey items (spec §7: % agreeing among respondents who answered) -------------------------


@measure("C1.2", "proportion")
def c1_2(ctx: MeasureContext) -> pd.DataFrame:
    """The child's view of the relationship: trust, support and empowerment together (a child
    agrees when the mean of the three items is 4 or more; all three must be answered)."""
    return survey_item_units(
        ctx, "child_survey", ["c1_2_trust", "c1_2_support", "c1_2_empowerment"]
    )


@measure("C1.3", "proportion")
def c1_3(ctx: MeasureContext) -> pd.DataFrame:
    return survey_item_units(ctx, "child_survey", ["c1_3_open_honest"])


@measure("C2.1", "proportion")
def c2_1(ctx: MeasureContext) -> pd.DataFrame:
    return survey_item_units(ctx, "parent_survey", ["c2_1_relationship"])


@measure("C2.2", "proportion")
def c2_2(ctx: MeasureContext) -> pd.DataFrame:
    return survey_item_units(ctx, "parent_survey", ["c2_2_open_honest"])


@measure("C3.1a", "proportion")
def c3_1a(ctx: MeasureContext) -> pd.DataFrame:
    """The child was involved in identifying their needs."""
    return survey_item_units(ctx, "child_survey", ["c3_1_needs"])


@measure("C3.1b", "proportion")
def c3_1b(ctx: MeasureContext) -> pd.DataFrame:
    """The child was involved in deciding their support."""
    return survey_item_units(ctx, "child_survey", ["c3_1_support"])


@measure("C4.1a", "proportion")
def c4_1a(ctx: MeasureContext) -> pd.DataFrame:
    """The parent or carer was involved in identifying the family's needs."""
    return survey_item_units(ctx, "parent_survey", ["c4_1_needs"])


@measure("C4.1b", "proportion")
def c4_1b(ctx: MeasureContext) -> pd.DataFrame:
    """The parent or carer was involved in deciding the support."""
    return survey_item_units(ctx, "parent_survey", ["c4_1_support"])


@measure("C5.1", "proportion")
def c5_1(ctx: MeasureContext) -> pd.DataFrame:
    return survey_item_units(ctx, "child_survey", ["c5_1_other_services"])


@measure("C6.1", "proportion")
def c6_1(ctx: MeasureContext) -> pd.DataFrame:
    return survey_item_units(ctx, "parent_survey", ["c6_1_other_services"])


# --- C3.2: children aged 4+ taking part in meetings that plan their support ---------------------


def _participation(ctx: MeasureContext, reviews_counted: str, meetings_counted: str):
    """Looked-after reviews in the period (SSDA903; children under 4 are coded PN0 and left
    out, as are reviews with no code) and, for children in need, on protection plans and care
    leavers, the local planning meetings in the period (children under 4 or unable to take
    part are ``not_applicable`` and left out, and so are meetings before the child's fourth
    birthday when the date of birth is known, whatever their code). Local ``cla_review`` rows
    are left out: those reviews are in the SSDA903 already and would count twice. One unit per
    review or meeting.
    """
    frame = ctx.sql(
        f"""SELECT 'review / ' || child_id || ' / ' || CAST(review_date AS VARCHAR) AS unit_id,
                   child_id, TRUE AS in_denominator,
                   coalesce(participation_code IN {reviews_counted}, FALSE) AS in_numerator
            FROM looked_after_reviews
            WHERE review_date BETWEEN $start AND $end
              AND participation_code IS NOT NULL AND participation_code <> 'PN0'
            UNION ALL
            SELECT 'meeting / ' || child_id || ' / ' || CAST(meeting_date AS VARCHAR) || ' / '
                       || meeting_type,
                   child_id, TRUE,
                   coalesce(child_participation IN {meetings_counted}, FALSE)
            FROM planning_meetings m LEFT JOIN children c USING (child_id)
            WHERE meeting_date BETWEEN $start AND $end
              AND child_participation IS NOT NULL AND child_participation <> 'not_applicable'
              AND meeting_type <> 'cla_review'
              AND NOT coalesce(meeting_date < c.date_of_birth + INTERVAL 4 YEAR, FALSE)"""
    )
    return _or_empty(frame)


@measure("C3.2", "proportion")
def c3_2(ctx: MeasureContext) -> pd.DataFrame:
    """Reviews and planning meetings the child attended (§12: PN1-PN4; local: attended) ÷
    reviews and meetings of children aged 4 and over (§12: any code but PN0)."""
    return _participation(ctx, "('PN1', 'PN2', 'PN3', 'PN4')", "('attended',)")


@measure("C3.2b", "proportion")
def c3_2b(ctx: MeasureContext) -> pd.DataFrame:
    """Beside C3.2 (§12): the child took part, in person or by conveying their views
    (PN1-PN6; local: attended or views conveyed)."""
    return _participation(
        ctx, "('PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6')", "('attended', 'views_conveyed')"
    )


# --- C4.2: parents and carers at planning meetings -----------------------------------------------


def _parent_meetings(ctx: MeasureContext, invited_only: bool) -> pd.DataFrame:
    """Planning meetings in the period about a child (pathway plan reviews of care leavers,
    who are adults planning their own support, are left out) with the parents' attendance
    known: attended recorded, or not invited (so could not attend). A meeting whose
    attendance is blank after an invitation is left out of both, not counted as absence."""
    known = "(parent_attended IS NOT NULL OR parent_invited = FALSE)"
    cohort = f"(parent_invited AND {known})" if invited_only else known
    frame = ctx.sql(
        f"""SELECT 'meeting / ' || child_id || ' / ' || CAST(meeting_date AS VARCHAR) || ' / '
                       || meeting_type AS unit_id,
                   child_id, TRUE AS in_denominator,
                   coalesce(parent_attended, FALSE) AS in_numerator
            FROM planning_meetings
            WHERE meeting_date BETWEEN $start AND $end
              AND meeting_type <> 'pathway_review' AND coalesce({cohort}, FALSE)"""
    )
    return _or_empty(frame)


@measure("C4.2", "proportion")
def c4_2(ctx: MeasureContext) -> pd.DataFrame:
    """Planning meetings a parent or carer attended ÷ all planning meetings about a child in
    the period (invited or not: not being invited is part of what the indicator shows)."""
    return _parent_meetings(ctx, invited_only=False)


@measure("C4.2b", "proportion")
def c4_2b(ctx: MeasureContext) -> pd.DataFrame:
    """Beside C4.2: planning meetings a parent or carer attended ÷ those a parent was
    invited to."""
    return _parent_meetings(ctx, invited_only=True)


# --- C5.2, C5.3, C6.2, C6.3: complaints -------------------------------------------------------


def _complaints(ctx: MeasureContext, complainant: str, statistic: str) -> pd.DataFrame:
    """Complaints received in the period from ``complainant``.

    substantiated: upheld or partly upheld ÷ complaints decided (upheld, partly upheld, not
    upheld); open and withdrawn complaints have no finding and are left out.
    repeat: repeat complaints ÷ every complaint received (repeat is known on receipt, so open
    and withdrawn ones count).
    """
    if statistic == "substantiated":
        cohort = "outcome IN ('upheld', 'partly_upheld', 'not_upheld')"
        numerator = "outcome IN ('upheld', 'partly_upheld')"
    else:
        cohort = "TRUE"
        numerator = "coalesce(repeat, FALSE)"
    frame = ctx.sql(
        f"""SELECT 'complaint / ' || complaint_id AS unit_id, child_id,
                   TRUE AS in_denominator, {numerator} AS in_numerator
            FROM complaints
            WHERE received_date BETWEEN $start AND $end AND complainant = $complainant
              AND {cohort}""",
        complainant=complainant,
    )
    return _or_empty(frame)


@measure("C5.2", "proportion")
def c5_2(ctx: MeasureContext) -> pd.DataFrame:
    return _complaints(ctx, "child", "substantiated")


@measure("C5.3", "proportion")
def c5_3(ctx: MeasureContext) -> pd.DataFrame:
    return _complaints(ctx, "child", "repeat")


@measure("C6.2", "proportion")
def c6_2(ctx: MeasureContext) -> pd.DataFrame:
    return _complaints(ctx, "parent_carer", "substantiated")


@measure("C6.3", "proportion")
def c6_3(ctx: MeasureContext) -> pd.DataFrame:
    return _complaints(ctx, "parent_carer", "repeat")
