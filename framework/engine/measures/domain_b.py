"""Domain B, reaching children and families who need help (spec §6 and §12; seed 002, table 3).

Every measure here reads the statutory returns only (CiN census and SSDA903 tables of the
store), across years where a definition looks back or forward. Shared choices, said once here
and again where they matter:

* **A referral** is one CiN episode (``referrals`` row), dated by its referral date (§12). It
  **led to a service** when it was not NFA and was not closed with RC8/RC9 (closed after
  assessment); open episodes count as led to a service (§12).
* **Looked after** means an SSDA903 episode that is not a short-break episode (legal status V3
  or V4): children on an agreed series of short breaks are not counted as entering care or as a
  rise in plan level, as in the DfE's own counts of children looked after.
* **Period of care** (§12): episodes joined where one ends and the next starts the same day; a
  new period starts with RNE = S (or after a gap).
* **Plan history** (§6; B5.x): each child's plan level on every day, from CiN plan dates, CP plan
  dates and episodes of care in every year of the store: 0 none < 1 CiN plan < 2 CP plan
  < 3 looked after; the level of a day is the highest plan open that day (start and end dates
  inclusive). Consecutive days at one level form a *spell*. For transitions, a spell of no
  plan lasting 30 days or less between two plans is ignored (the hand-over from a CiN plan
  ended at the strategy discussion to the CP plan started at the conference, or a short gap
  before care), and the spells either side of it join when at one level; the first day of
  each of the resulting runs is a *transition*.

  - An **escalation** is a transition to a higher level from a plan (CiN → CP, CiN → looked
    after, CP → looked after). A plan starting after more than 30 days with none (or a first
    plan) is a new plan, not an escalation: the seed's indicator is about a child "whose
    plan was escalated".
  - A **de-escalation** is a transition to a lower level, including a plan ending (to none,
    for more than 30 days or still): the seed counts "de-escalation when they are no longer
    in need". Plans ending because the
    child turned 18 or died are not de-escalations.
  - An escalation is **confirmed at the first review** when the child is still at (or above)
    the new level on the date of the first review of the new plan: for a CP plan the first
    CPPreviewDate after the escalation (``cp_plan_reviews``); for care the first looked-after
    review after it (``looked_after_reviews``). If no review is recorded the date it was due is
    used instead (CP: 3 months after the plan started; care: 20 working days, taken as 28
    days; a CiN plan, reviewed every 6 months, would be 6 months, but no escalation ends at a
    CiN plan). An escalation whose first review is not yet in the store (later than the last
    31 March the returns cover) while the child is still at the level is left out of the
    denominator: its outcome is not yet known.
"""

from __future__ import annotations

import functools

import pandas as pd

from framework.engine.units import MeasureContext, empty_units, measure

FAR = "DATE '9999-12-31'"  # the end of an open (undated) record

# §12: a referral led to a service unless NFA or closed after assessment (RC8, RC9).
LED_TO_SERVICE = (
    "(NOT coalesce(r.referral_nfa, false) AND coalesce(r.closure_reason, '') NOT IN ('RC8', 'RC9'))"
)
# Episodes of care, leaving out short breaks (V3/V4): see the module docstring.
CARE_EPISODES = """(SELECT * FROM episodes
    WHERE start_date IS NOT NULL AND coalesce(legal_status, '') NOT IN ('V3', 'V4'))"""

EMERGENCY_LEGAL_STATUS = ("L1", "L2")  # police protection; emergency protection order (§6)
UNPLANNED_REFERRAL_DAYS = 7  # §6: entered care within 7 days of a referral
REFERRAL_OUTCOMES = ("nfa", "not_in_need", "cin", "cp", "looked_after")  # B1.3, furthest first
IN_TOUCH = {  # B6.1: OC3 IN_TOUCH codes, in the spec's order
    "YES": "in_touch",
    "NO": "not_in_touch",
    "REFU": "refused",
    "NREQ": "not_required",
    "RHOM": "returned_home",
    "DIED": "died",
}
# B5.x: days at no plan between two plans that still join them. In CiN returns a CiN plan
# often ends at the strategy discussion and the CP plan starts at the conference 15 working
# days later; a gap of up to 30 days is that hand-over, not a step down and a new plan.
PLAN_GAP_DAYS = 30
REVIEW_DUE = {2: "INTERVAL 3 MONTH", 3: "INTERVAL 28 DAY", 1: "INTERVAL 6 MONTH"}


def _rows(frame: pd.DataFrame, *slices: str) -> pd.DataFrame:
    """The measure's rows, or the contract's empty frame: no units is "no data", never 0."""
    return frame if len(frame) else empty_units(*slices)


def _per_context(helper):
    """Run a helper shared by several measures once per context (one period's run of the
    catalogue), handing each measure its own copy. The result is kept on the context itself,
    so it never outlives it (a new load gets a new context)."""

    @functools.wraps(helper)
    def run(ctx: MeasureContext) -> pd.DataFrame:
        key = f"domain_b.{helper.__name__}"
        return ctx.cached(key, lambda: helper(ctx)).copy()

    return run


def _referral_id(alias: str = "r") -> str:
    return f"{alias}.child_id || ' / ' || strftime({alias}.referral_date, '%Y-%m-%d')"


# --- B1, B2: referrals --------------------------------------------------------------------


@_per_context
def _referral_outcomes(ctx: MeasureContext) -> pd.DataFrame:
    """Referrals in the year with their outcome: the furthest the referral went (B1.3).

    NFA at referral, then closed after assessment (RC8/RC9, "assessed not in need"); otherwise
    the highest of: looked after at any time during the episode (referral date to closure, or
    still open), a CP plan overlapping the episode, else a child in need. Outcomes use every
    year in the store, so a referral's outcome is as the latest return records it.
    """
    return ctx.sql(
        f"""
        WITH r AS (SELECT * FROM referrals WHERE referral_date BETWEEN $start AND $end)
        SELECT {_referral_id()} AS unit_id, r.child_id, r.referral_source,
               coalesce(r.referral_nfa, false) AS nfa,
               {LED_TO_SERVICE} AS led_to_service,
               CASE
                 WHEN coalesce(r.referral_nfa, false) THEN 'nfa'
                 WHEN NOT {LED_TO_SERVICE} THEN 'not_in_need'
                 WHEN EXISTS (SELECT 1 FROM {CARE_EPISODES} e
                              WHERE e.child_id = r.child_id
                                AND e.start_date <= coalesce(r.closure_date, {FAR})
                                AND coalesce(e.end_date, {FAR}) >= r.referral_date)
                   THEN 'looked_after'
                 WHEN EXISTS (SELECT 1 FROM cp_plans p
                              WHERE p.child_id = r.child_id
                                AND p.start_date <= coalesce(r.closure_date, {FAR})
                                AND coalesce(p.end_date, {FAR}) >= r.referral_date)
                   THEN 'cp'
                 ELSE 'cin'
               END AS category
        FROM r ORDER BY unit_id"""
    )


@measure("B1.1", "proportion")
def b1_1(ctx: MeasureContext) -> pd.DataFrame:
    """§12: referrals in the year that led to a service (not NFA, not closed RC8/RC9)."""
    frame = _referral_outcomes(ctx)
    frame["in_denominator"] = True
    frame["in_numerator"] = frame["led_to_service"]
    return _rows(
        frame[["unit_id", "child_id", "in_denominator", "in_numerator", "referral_source"]],
        "referral_source",
    )


@measure("B1.2", "proportion")
def b1_2(ctx: MeasureContext) -> pd.DataFrame:
    """§12: referrals in the year with ReferralNFA true."""
    frame = _referral_outcomes(ctx)
    frame["in_denominator"] = True
    frame["in_numerator"] = frame["nfa"]
    return _rows(
        frame[["unit_id", "child_id", "in_denominator", "in_numerator", "referral_source"]],
        "referral_source",
    )


@measure("B1.3", "distribution", categories=REFERRAL_OUTCOMES)
def b1_3(ctx: MeasureContext) -> pd.DataFrame:
    """Outcome of each referral in the year (the furthest it went), sliced by referral source."""
    frame = _referral_outcomes(ctx)
    frame["in_denominator"] = True
    return _rows(
        frame[["unit_id", "child_id", "in_denominator", "category", "referral_source"]],
        "referral_source",
    )


@measure("B2.1", "proportion")
def b2_1(ctx: MeasureContext) -> pd.DataFrame:
    """§12: referrals in the year whose child had another referral starting in the 365 days
    before this one's date (date - 365 to date - 1) that did not lead to a service."""
    frame = ctx.sql(
        f"""
        SELECT {_referral_id("n")} AS unit_id, n.child_id, n.referral_source,
               true AS in_denominator,
               EXISTS (SELECT 1 FROM referrals r
                       WHERE r.child_id = n.child_id
                         AND r.referral_date >= n.referral_date - INTERVAL 365 DAY
                         AND r.referral_date < n.referral_date
                         AND NOT {LED_TO_SERVICE}) AS in_numerator
        FROM referrals n WHERE n.referral_date BETWEEN $start AND $end
        ORDER BY unit_id"""
    )
    return _rows(frame, "referral_source")


@measure("B2.2", "proportion")
def b2_2(ctx: MeasureContext) -> pd.DataFrame:
    """§12: referrals in the year whose child's CiN plan ended in the 365 days before the
    referral's date (date - 365 to date - 1)."""
    frame = ctx.sql(
        f"""
        SELECT {_referral_id("n")} AS unit_id, n.child_id, n.referral_source,
               true AS in_denominator,
               EXISTS (SELECT 1 FROM cin_plans p
                       WHERE p.child_id = n.child_id
                         AND p.end_date >= n.referral_date - INTERVAL 365 DAY
                         AND p.end_date < n.referral_date) AS in_numerator
        FROM referrals n WHERE n.referral_date BETWEEN $start AND $end
        ORDER BY unit_id"""
    )
    return _rows(frame, "referral_source")


# --- B3: S47 enquiries and CP plans -------------------------------------------------------

CP_PLAN_DAYS = 60  # B3.1: a CP plan starting within 60 days of the enquiry's start (§12)


@measure("B3.1", "proportion")
def b3_1(ctx: MeasureContext) -> pd.DataFrame:
    """§12: S47 enquiries started in the year for which no CP plan for the child starts in the
    60 days from the enquiry's start (start day to start + 60 days, inclusive)."""
    frame = ctx.sql(
        f"""
        SELECT s.child_id || ' / ' || strftime(s.start_date, '%Y-%m-%d') AS unit_id,
               s.child_id, true AS in_denominator,
               NOT EXISTS (SELECT 1 FROM cp_plans p
                           WHERE p.child_id = s.child_id
                             AND p.start_date >= s.start_date
                             AND p.start_date <= s.start_date + INTERVAL {CP_PLAN_DAYS} DAY)
                 AS in_numerator
        FROM s47_enquiries s WHERE s.start_date BETWEEN $start AND $end
        ORDER BY unit_id"""
    )
    return _rows(frame)


@measure("B3.2", "proportion")
def b3_2(ctx: MeasureContext) -> pd.DataFrame:
    """§12: S47 enquiries started in the year about a child with a CP plan that started before
    the enquiry. Evidence: a plan in the store starting before the enquiry, or - for plans
    older than the store's history - NumberOfPreviousCPP >= 1 on the child's first plan
    starting on or after the enquiry's start (every plan before that one started before the
    enquiry)."""
    frame = ctx.sql(
        """
        WITH s AS (SELECT * FROM s47_enquiries WHERE start_date BETWEEN $start AND $end),
        next_plan AS (
            SELECT s.child_id, s.start_date,
                   arg_min(p.previous_plans, p.start_date) AS previous_plans
            FROM s JOIN cp_plans p ON p.child_id = s.child_id AND p.start_date >= s.start_date
            GROUP BY s.child_id, s.start_date)
        SELECT s.child_id || ' / ' || strftime(s.start_date, '%Y-%m-%d') AS unit_id,
               s.child_id, true AS in_denominator,
               EXISTS (SELECT 1 FROM cp_plans p
                       WHERE p.child_id = s.child_id AND p.start_date < s.start_date)
               OR coalesce(n.previous_plans, 0) >= 1 AS in_numerator
        FROM s LEFT JOIN next_plan n USING (child_id, start_date)
        ORDER BY unit_id"""
    )
    return _rows(frame)


def _cp_plans_started(ctx: MeasureContext) -> pd.DataFrame:
    """CP plans started in the period, with NumberOfPreviousCPP and the end of the child's
    previous plan in the store (if any)."""
    return ctx.sql(
        """
        WITH p AS (
            SELECT child_id, start_date, previous_plans,
                   lag(end_date) OVER (PARTITION BY child_id ORDER BY start_date) AS last_end
            FROM cp_plans)
        SELECT child_id || ' / ' || strftime(start_date, '%Y-%m-%d') AS unit_id, child_id,
               true AS in_denominator, coalesce(previous_plans, 0) >= 1 AS subsequent,
               last_end IS NOT NULL AND last_end >= start_date - INTERVAL 2 YEAR
                 AS previous_within_two_years
        FROM p WHERE start_date BETWEEN $start AND $end
        ORDER BY unit_id"""
    )


@measure("B3.3", "proportion")
def b3_3(ctx: MeasureContext) -> pd.DataFrame:
    """§12 (the DfE definition): CP plans started in the year with NumberOfPreviousCPP >= 1."""
    frame = _cp_plans_started(ctx)
    frame["in_numerator"] = frame["subsequent"]
    return _rows(frame[["unit_id", "child_id", "in_denominator", "in_numerator"]])


@measure("B3.3b", "proportion")
def b3_3b(ctx: MeasureContext) -> pd.DataFrame:
    """Reported beside B3.3 (§12): CP plans started in the year whose child's previous plan in
    the store ended within 2 years before this plan's start."""
    frame = _cp_plans_started(ctx)
    frame["in_numerator"] = frame["previous_within_two_years"]
    return _rows(frame[["unit_id", "child_id", "in_denominator", "in_numerator"]])


# --- B4: admissions into care (periods of care) -------------------------------------------


def periods_of_care_sql() -> str:
    """A CTE ``periods`` of periods of care (§12): child_id, period_start, period_end (NULL
    while open), entry_legal_status, reason_ceased (of the last episode), period_number (1 for
    the child's first period in the store).

    Episodes are joined where one ends and the next starts the same day; a new period starts
    with RNE = S, after a gap, or at the child's first episode. Short breaks are left out.
    """
    return f"""
    ep AS (
        SELECT child_id, start_date, end_date, reason_new_episode, legal_status, reason_ceased,
               lag(end_date) OVER (PARTITION BY child_id ORDER BY start_date) AS previous_end,
               row_number() OVER (PARTITION BY child_id ORDER BY start_date) AS n
        FROM {CARE_EPISODES}),
    marked AS (
        SELECT *, sum(CASE WHEN n = 1 OR reason_new_episode = 'S'
                                OR (previous_end IS NOT NULL AND previous_end <> start_date)
                           THEN 1 ELSE 0 END)
                  OVER (PARTITION BY child_id ORDER BY start_date) AS period_number
        FROM ep),
    periods AS (
        SELECT child_id, period_number, min(start_date) AS period_start,
               CASE WHEN count(end_date) < count(*) THEN NULL ELSE max(end_date) END
                 AS period_end,
               arg_min(legal_status, start_date) AS entry_legal_status,
               arg_max(reason_ceased, start_date) AS reason_ceased
        FROM marked GROUP BY child_id, period_number)"""


@measure("B4.1", "proportion")
def b4_1(ctx: MeasureContext) -> pd.DataFrame:
    """§6 proxy: periods of care started in the year that were unplanned - the legal status at
    entry was police protection (L1) or an emergency protection order (L2), or the child was
    referred in the 7 days up to entry (referral date from entry - 7 days to the entry day)."""
    emergency = ", ".join(f"'{code}'" for code in EMERGENCY_LEGAL_STATUS)
    frame = ctx.sql(
        f"""
        WITH {periods_of_care_sql()}
        SELECT child_id || ' / ' || strftime(period_start, '%Y-%m-%d') AS unit_id, child_id,
               true AS in_denominator,
               coalesce(entry_legal_status, '') IN ({emergency})
               OR EXISTS (SELECT 1 FROM referrals r
                          WHERE r.child_id = periods.child_id
                            AND r.referral_date <= periods.period_start
                            AND r.referral_date >= periods.period_start
                                                   - INTERVAL {UNPLANNED_REFERRAL_DAYS} DAY)
                 AS in_numerator
        FROM periods WHERE period_start BETWEEN $start AND $end
        ORDER BY unit_id"""
    )
    return _rows(frame)


@measure("B4.2", "proportion")
def b4_2(ctx: MeasureContext) -> pd.DataFrame:
    """Periods of care started in the year that are re-admissions: the child had an earlier
    period of care in the store that had ended (only as far back as the store's history)."""
    frame = ctx.sql(
        f"""
        WITH {periods_of_care_sql()}
        SELECT p.child_id || ' / ' || strftime(p.period_start, '%Y-%m-%d') AS unit_id,
               p.child_id, true AS in_denominator,
               EXISTS (SELECT 1 FROM periods q
                       WHERE q.child_id = p.child_id AND q.period_end < p.period_start)
                 AS in_numerator
        FROM periods p WHERE p.period_start BETWEEN $start AND $end
        ORDER BY unit_id"""
    )
    return _rows(frame)


# --- B5: plan history ---------------------------------------------------------------------


def _segments_sql() -> str:
    """CTEs up to ``segments`` of every child's plan history (module docstring);
    ``_transitions_sql`` goes on from there to ``runs`` and ``transitions``.

    segments: child_id, day, next_day, level (0-3): the child's level from ``day`` to the day
    before ``next_day`` (NULL: still open), at daily resolution without expanding days.
    Every plan's first day and the day after its last are the boundaries; a segment's level
    is the highest level with a plan open on its first day (running counts of open plans per
    level). A segment at level 0 always lies between two plans or after the last one.
    runs: child_id, run (its order), level, run_start: segments with gaps of up to
    PLAN_GAP_DAYS at no plan left out and neighbours at one level joined.
    transitions: child_id, day (the new run's first day), from_level (0 before the first
    plan), to_level, aged_out (the child was 18 or over, or had died, on that day), drop_day
    (the first later day the child's level was below to_level; NULL if never, in the store),
    drop_aged_out (aged_out on drop_day), next_rise (the next day the level rose).
    """
    return f"""
    intervals AS (
        SELECT child_id, start_date, end_date, 1 AS level FROM cin_plans
        UNION ALL SELECT child_id, start_date, end_date, 2 FROM cp_plans
        UNION ALL SELECT child_id, start_date, end_date, 3 FROM {CARE_EPISODES}),
    valid AS (
        SELECT * FROM intervals
        WHERE start_date IS NOT NULL AND (end_date IS NULL OR end_date >= start_date)),
    deltas AS (  -- +1 on a plan's first day, -1 on the day after its last, per level
        SELECT child_id, start_date AS day, level, 1 AS delta FROM valid
        UNION ALL
        SELECT child_id, CAST(end_date + INTERVAL 1 DAY AS DATE), level, -1 FROM valid
        WHERE end_date IS NOT NULL),
    days AS (
        SELECT child_id, day, sum(delta) FILTER (WHERE level = 1) AS d1,
               sum(delta) FILTER (WHERE level = 2) AS d2,
               sum(delta) FILTER (WHERE level = 3) AS d3
        FROM deltas GROUP BY child_id, day),
    segments AS (
        SELECT child_id, day, lead(day) OVER w AS next_day,
               CASE WHEN sum(coalesce(d3, 0)) OVER w > 0 THEN 3
                    WHEN sum(coalesce(d2, 0)) OVER w > 0 THEN 2
                    WHEN sum(coalesce(d1, 0)) OVER w > 0 THEN 1 ELSE 0 END AS level
        FROM days WINDOW w AS (PARTITION BY child_id ORDER BY day))"""


def _transitions_sql() -> str:
    """CTEs from ``segments`` (a table or CTE of that name) to ``transitions``."""
    return f"""
    kept AS (  -- a short gap between two plans is not a step down (see PLAN_GAP_DAYS)
        SELECT child_id, day, level,
               level IS DISTINCT FROM lag(level) OVER (PARTITION BY child_id ORDER BY day)
                 AS changed
        FROM segments
        WHERE NOT (level = 0 AND next_day IS NOT NULL
                   AND datediff('day', day, next_day) <= {PLAN_GAP_DAYS})),
    runs AS (
        SELECT child_id, run, any_value(level) AS level, min(day) AS run_start
        FROM (SELECT *, sum(CASE WHEN changed THEN 1 ELSE 0 END)
                          OVER (PARTITION BY child_id ORDER BY day) AS run
              FROM kept)
        GROUP BY child_id, run),
    changes AS (
        SELECT child_id, run, run_start AS day, level AS to_level,
               coalesce(lag(level) OVER w, 0) AS from_level,
               -- the first later day below each level (for drop_day)
               min(CASE WHEN level < 1 THEN run_start END) OVER later AS below_1,
               min(CASE WHEN level < 2 THEN run_start END) OVER later AS below_2,
               min(CASE WHEN level < 3 THEN run_start END) OVER later AS below_3
        FROM runs
        WINDOW w AS (PARTITION BY child_id ORDER BY run),
               later AS (PARTITION BY child_id ORDER BY run
                         ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)),
    dropped AS (
        SELECT *, CASE to_level WHEN 1 THEN below_1 WHEN 2 THEN below_2 WHEN 3 THEN below_3
                  END AS drop_day,
               min(CASE WHEN to_level > from_level THEN day END) OVER (
                   PARTITION BY child_id ORDER BY run
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_rise
        FROM changes),
    transitions AS (
        SELECT c.child_id, c.day, c.from_level, c.to_level, c.drop_day, c.next_rise,
               coalesce(c.day >= k.date_of_birth + INTERVAL 18 YEAR, false)
               OR coalesce(c.day >= k.date_of_death, false) AS aged_out,
               coalesce(c.drop_day >= k.date_of_birth + INTERVAL 18 YEAR, false)
               OR coalesce(c.drop_day >= k.date_of_death, false) AS drop_aged_out
        FROM dropped c LEFT JOIN children k ON k.child_id = c.child_id
        WHERE c.from_level <> c.to_level)"""


def _plan_history(ctx: MeasureContext) -> str:
    """CTEs ``segments`` and ``transitions`` (see ``_segments_sql``) for a measure's query,
    read from temporary tables made once per evaluation: the history does not depend on the
    period, and three measures of each period use it."""
    segments = ctx.table("plan_segments", f"WITH {_segments_sql()} SELECT * FROM segments")
    transitions = ctx.table(
        "plan_transitions",
        f"WITH segments AS (SELECT * FROM {segments}), {_transitions_sql()} "
        "SELECT * FROM transitions",
    )
    return f"segments AS (SELECT * FROM {segments}), transitions AS (SELECT * FROM {transitions})"


def _transition_id(alias: str = "t") -> str:
    return f"{alias}.child_id || ' / ' || strftime({alias}.day, '%Y-%m-%d')"


@measure("B5.1", "proportion")
def b5_1(ctx: MeasureContext) -> pd.DataFrame:
    """Children with a plan (CiN, CP or looked after) at any time in the year who stayed on
    one type of plan: all their days on a plan in the year were at a single level (a plan
    starting or ending, with none before or after, is not a change of type)."""
    frame = ctx.sql(
        f"""
        WITH {_plan_history(ctx)}
        SELECT child_id AS unit_id, child_id, true AS in_denominator,
               count(DISTINCT level) = 1 AS in_numerator
        FROM segments
        WHERE level > 0 AND day <= $end AND (next_day IS NULL OR next_day > $start)
        GROUP BY child_id ORDER BY child_id"""
    )
    return _rows(frame)


@_per_context
def _de_escalations(ctx: MeasureContext) -> pd.DataFrame:
    """De-escalations 12 months before the period (the period moved back 12 months, so every
    one has 12 months of follow-up by the period end, §6 "≥12 months before the period end"),
    with what followed in the next 12 months (day + 1 to day + 12 months): another
    escalation or new plan (``new_plan``: any rise in level), and a referral that led to a
    service (``new_referral``)."""
    return ctx.sql(
        f"""
        WITH {_plan_history(ctx)}
        SELECT {_transition_id()} AS unit_id, t.child_id, true AS in_denominator,
               coalesce(t.next_rise <= t.day + INTERVAL 12 MONTH, false) AS new_plan,
               EXISTS (SELECT 1 FROM referrals r
                       WHERE r.child_id = t.child_id AND {LED_TO_SERVICE}
                         AND r.referral_date > t.day
                         AND r.referral_date <= t.day + INTERVAL 12 MONTH) AS new_referral
        FROM transitions t
        WHERE t.to_level < t.from_level AND NOT t.aged_out
          AND t.day BETWEEN $start - INTERVAL 12 MONTH AND $end - INTERVAL 12 MONTH
        ORDER BY unit_id"""
    )


@measure("B5.2", "proportion")
def b5_2(ctx: MeasureContext) -> pd.DataFrame:
    """De-escalations in the 12 months (6 for a half) ending 12 months before the period end
    after which the child did not present again with unmet needs within 12 months: no new
    plan or escalation and no referral that led to a service."""
    frame = _de_escalations(ctx)
    frame["in_numerator"] = ~(frame["new_plan"] | frame["new_referral"])
    return _rows(frame[["unit_id", "child_id", "in_denominator", "in_numerator"]])


@measure("B5.3", "proportion")
def b5_3(ctx: MeasureContext) -> pd.DataFrame:
    """The same de-escalations as B5.2 after which the child needed a new plan within 12
    months: any rise in plan level (a new plan, or back up to a higher one)."""
    frame = _de_escalations(ctx)
    frame["in_numerator"] = frame["new_plan"]
    return _rows(frame[["unit_id", "child_id", "in_denominator", "in_numerator"]])


@_per_context
def _escalations(ctx: MeasureContext) -> pd.DataFrame:
    """Escalations in the period with the first review of the new plan (or the day it was
    due), the first day the child's level fell below the new one, the store's horizon (the
    last 31 March its returns cover) and whether the fall was a de-escalation within 6
    months (B5.5)."""
    due = " ".join(
        f"WHEN {level} THEN t.day + {interval}" for level, interval in REVIEW_DUE.items()
    )
    return ctx.sql(
        f"""
        WITH {_plan_history(ctx)},
        horizon AS (
            SELECT make_date(max(y), 3, 31) AS last_day FROM (
                SELECT max(collection_year) AS y FROM referrals
                UNION ALL SELECT max(collection_year) FROM episodes
                UNION ALL SELECT max(collection_year) FROM cin_plans
                UNION ALL SELECT max(collection_year) FROM cp_plans)),
        reviewed AS (
            SELECT t.*,
                   CASE t.to_level
                     WHEN 2 THEN (SELECT min(v.review_date) FROM cp_plan_reviews v
                                  WHERE v.child_id = t.child_id AND v.review_date > t.day)
                     WHEN 3 THEN (SELECT min(v.review_date) FROM looked_after_reviews v
                                  WHERE v.child_id = t.child_id AND v.review_date > t.day)
                   END AS recorded_review,
                   CAST(CASE t.to_level {due} END AS DATE) AS due_review
            FROM transitions t
            WHERE t.to_level > t.from_level AND t.from_level > 0
              AND t.day BETWEEN $start AND $end)
        SELECT {_transition_id("r")} AS unit_id, r.child_id, r.day, r.drop_day,
               coalesce(r.recorded_review, r.due_review) AS first_review, h.last_day,
               coalesce(r.drop_day <= r.day + INTERVAL 6 MONTH AND NOT r.drop_aged_out, false)
                 AS de_escalated_in_6_months
        FROM reviewed r CROSS JOIN horizon h
        ORDER BY unit_id"""
    )


@measure("B5.4", "proportion")
def b5_4(ctx: MeasureContext) -> pd.DataFrame:
    """Escalations in the year confirmed at the first review: the child was still at (or
    above) the new level on the first review's date (module docstring). Escalations whose
    first review is after the store's last 31 March, with the child still at the level, are
    not in the denominator (not yet known)."""
    frame = _escalations(ctx)
    dropped_before = frame["drop_day"].notna() & (frame["drop_day"] <= frame["first_review"])
    unknown = ~dropped_before & (frame["first_review"] > frame["last_day"])
    frame["in_denominator"] = ~unknown
    frame["in_numerator"] = ~dropped_before & ~unknown
    return _rows(frame[["unit_id", "child_id", "in_denominator", "in_numerator"]])


@measure("B5.5", "proportion")
def b5_5(ctx: MeasureContext) -> pd.DataFrame:
    """Escalations in the year followed by a de-escalation (the level falling below the new
    one, other than at 18 or death) within 6 months: drop day after the escalation and on or
    before escalation + 6 months. Follow-up uses later returns where the store has them."""
    frame = _escalations(ctx)
    frame["in_denominator"] = True
    frame["in_numerator"] = frame["de_escalated_in_6_months"]
    return _rows(frame[["unit_id", "child_id", "in_denominator", "in_numerator"]])


# --- B6: care leavers ---------------------------------------------------------------------


@measure("B6.1", "distribution", categories=tuple(IN_TOUCH.values()))
def b6_1(ctx: MeasureContext) -> pd.DataFrame:
    """§12: the pattern of contact (OC3 IN_TOUCH) over every OC3 row of the period's year
    (care leavers aged 17-21 around their birthday; a half-year uses its year's OC3)."""
    frame = ctx.sql(
        "SELECT child_id || ' / ' || year AS unit_id, child_id, upper(in_touch) AS code "
        "FROM care_leavers WHERE year = $year ORDER BY unit_id",
        year=ctx.period.end_year,
    )
    frame["category"] = frame["code"].map(IN_TOUCH)
    frame["in_denominator"] = frame["category"].notna()  # an unknown code is not counted
    return _rows(frame[["unit_id", "child_id", "in_denominator", "category"]])
