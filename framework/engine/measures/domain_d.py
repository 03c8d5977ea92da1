"""Domain D, child outcomes from local data and surveys (spec §8; seed 002, table 5).

Unless an indicator says otherwise (spec §8), the cohort is children in need of help or
protection or looked after in the past year, the reference period is the last 6 months
(``$h2_start``-``$h2_end``) and a "change" compares the same child's last 6 months with the 6
months before (``$h1_start``-``$h1_end``). The indicators computed from the statutory returns
alone (missing, care leavers, placement moves, permanence breakdowns) are in ``domain_d_returns``.

Shared choices, said once here and in each measure's comment:

* **The social care cohort** (``_COHORT``): children with a CiN episode that was open at any
  time in the 12 months to the period's end and did not end in no further action at referral
  (``referral_nfa``), or with an SSDA903 episode of care open at any time in those 12 months.
  Local tables (SDQ, health, education) are limited to it, so children the authority's
  extract happens to hold for other reasons are not counted. Case reviews and assessments are
  themselves records of social care involvement, so they define their own cohort.
* **Risk factors** (D1.3-D4.4): evidence about a child in a half-year is a review of a CiN, CP
  or looked-after plan that answered the factor (yes or no; blank is "not assessed" and is no
  evidence) or an assessment authorised in that half with its factors recorded (a listed
  factor is a yes, an assessment whose factors do not include it a no). A child is affected
  in a half when any evidence of that half says yes. Pathway-plan reviews of care leavers are
  left out: care leavers are not in the domain's cohort.
* **Change** distributions over children with evidence in both halves: ``more_likely``
  (not affected before, affected now), ``less_likely`` (affected before, not now),
  ``no_change``. Education counts use ``more``/``fewer``/``no_change`` (spec §8, seed 002).
* **SDQ change** (D4.1, D6.1, D7.1): the child's latest SDQ in the period against the most
  recent earlier one 5 to 18 months before it, from the same informant; a change of 3 points
  or more is a real improvement or worsening (smaller changes are within measurement noise).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from framework.engine.measures.common import survey_item_units
from framework.engine.measures.domain_b import CARE_EPISODES, periods_of_care_sql
from framework.engine.units import MeasureContext, empty_units, measure

CHANGE = ("more_likely", "less_likely", "no_change")  # affected now vs the 6 months before
COUNT_CHANGE = ("more", "fewer", "no_change")  # more / fewer events than the 6 months before
SDQ_CHANGE = ("improved", "worsened", "no_change")
SDQ_CHANGE_POINTS = 3  # a change of 3+ points counts as improved or worsened
PERSISTENT_ABSENCE = 0.10  # DfE: 10% or more of possible sessions missed
PERMANENCE_WINDOW_YEARS = 2  # D5.3: a long-term plan within 2 years of becoming looked after
PLANS_IN_COHORT = "('cin', 'cp', 'cla')"  # reviews of these plans; not pathway plans


def _shared(ctx: MeasureContext, key: tuple, compute):
    """``compute()`` once per context: several indicators read the same per-child halves (the
    nine education indicators, a factor's % and its change). Kept on the context, which lives
    for one period's run (``MeasureContext.cached``)."""
    return ctx.cached(f"domain_d.{key!r}", compute).copy()


def _past_year_start(ctx: MeasureContext) -> date:
    """The first day of the 12 months ending on the period's last day (§3 'the past year')."""
    end = ctx.period.end
    return date(end.year - 1, end.month, end.day) + timedelta(days=1)


# Children in need of help or protection or looked after in the past year (spec §8). NFA
# referrals are not children in need (as in the DfE's counts).
_COHORT = f"""
    cohort AS (
        SELECT DISTINCT child_id FROM referrals
        WHERE referral_date <= $end AND (closure_date IS NULL OR closure_date >= $year_start)
          AND NOT coalesce(referral_nfa, false)
        UNION
        SELECT DISTINCT child_id FROM {CARE_EPISODES}
        WHERE start_date <= $end AND (end_date IS NULL OR end_date >= $year_start)
    )"""


def _child_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Unit rows for child units: unit_id is the child."""
    frame = frame.copy()
    frame["unit_id"] = frame["child_id"]
    frame["in_denominator"] = True
    return frame


def _category(before: pd.Series, now: pd.Series, labels: tuple[str, str, str]) -> pd.Series:
    """'more' when now > before, 'fewer' when now < before (booleans compare as 0/1)."""
    before, now = before.astype(float), now.astype(float)
    out = pd.Series(labels[2], index=now.index, dtype="string")
    out[now > before] = labels[0]
    out[now < before] = labels[1]
    return out


# --- risk factors at reviews and assessments (D1.3-D4.4) -----------------------------------


def _factor_halves(
    ctx: MeasureContext,
    review_columns: tuple[str, ...],
    factor_codes: tuple[str, ...] = (),
    oc2_column: str | None = None,
) -> pd.DataFrame:
    """Per child with evidence in either half: h1_seen, h1_yes, h2_seen, h2_yes.

    ``oc2_column`` adds the SSDA903 OC2 flag, which describes the year to 31 March: it is
    dated 31 March, so it can fall only in a second half. It is for the % indicators only: in
    a change it would add evidence to one half and never the other."""
    seen = " OR ".join(f"{c} IS NOT NULL" for c in review_columns)
    yes = " OR ".join(f"coalesce({c}, false)" for c in review_columns)
    parts = [
        f"""SELECT child_id, review_date AS day, ({yes}) AS yes
            FROM case_reviews
            WHERE plan_type IN {PLANS_IN_COHORT} AND ({seen})
              AND review_date BETWEEN $h1_start AND $h2_end"""
    ]
    if factor_codes:
        codes = ", ".join(f"'{code}'" for code in factor_codes)
        # Factors are recorded on completed (authorised) assessments; an assessment with no
        # factor rows at all is not evidence (21 "no factors" is a row).
        parts.append(
            f"""SELECT a.child_id, a.authorised_date AS day, bool_or(f.factor IN ({codes})) AS yes
                FROM assessments a
                JOIN assessment_factors f
                  ON f.child_id = a.child_id AND f.referral_date = a.referral_date
                 AND f.assessment_start_date = a.start_date
                WHERE a.authorised_date BETWEEN $h1_start AND $h2_end
                GROUP BY a.child_id, a.referral_date, a.start_date, a.authorised_date"""
        )
    if oc2_column:
        parts.append(
            f"""SELECT child_id, make_date(year, 3, 31) AS day, {oc2_column} AS yes
                FROM health_outcomes
                WHERE {oc2_column} IS NOT NULL
                  AND make_date(year, 3, 31) BETWEEN $h2_start AND $h2_end"""
        )
    evidence = "\nUNION ALL\n".join(parts)
    query = f"""WITH evidence AS ({evidence})
            SELECT child_id,
                   count(*) FILTER (WHERE day <= $h1_end) > 0 AS h1_seen,
                   coalesce(bool_or(yes) FILTER (WHERE day <= $h1_end), false) AS h1_yes,
                   count(*) FILTER (WHERE day >= $h2_start) > 0 AS h2_seen,
                   coalesce(bool_or(yes) FILTER (WHERE day >= $h2_start), false) AS h2_yes
            FROM evidence GROUP BY child_id"""
    key = ("factors", review_columns, factor_codes, oc2_column)
    return _shared(ctx, key, lambda: ctx.sql(query))


def _factor_share(ctx: MeasureContext, *args, **kwargs) -> pd.DataFrame:
    """Children with evidence in the last 6 months; numerator: affected in them."""
    halves = _factor_halves(ctx, *args, **kwargs)
    rows = _child_rows(halves[halves["h2_seen"]][["child_id"]])
    rows["in_numerator"] = halves.loc[halves["h2_seen"], "h2_yes"].to_numpy()
    return rows if len(rows) else empty_units()


def _factor_change(ctx: MeasureContext, *args) -> pd.DataFrame:
    """Children with evidence in both halves: more likely / less likely / no change."""
    halves = _factor_halves(ctx, *args)
    both = halves[halves["h1_seen"] & halves["h2_seen"]]
    if both.empty:
        return empty_units()
    rows = _child_rows(both[["child_id"]])
    rows["category"] = _category(both["h1_yes"], both["h2_yes"], CHANGE).to_numpy()
    return rows


DOMESTIC_ABUSE = (("domestic_abuse",), ("3A", "3B", "3C"))  # CiN 3A/B/C: child, parent, other
PARENT_MENTAL_HEALTH = (("parental_mental_health",), ("4B",))  # 4B: the parent's or carer's
PARENT_SUBSTANCE = (("parental_substance_misuse",), ("1B", "2B"))  # parent's alcohol, drugs
# CSE 11A, trafficking 12A, CCE 24A; gangs (13A) is not exploitation in itself, so not counted.
EXPLOITATION = (
    ("sexual_exploitation", "criminal_exploitation", "trafficking"),
    ("11A", "12A", "24A"),
)
YOUTH_JUSTICE = (("youth_justice",), ())  # no assessment factor; OC2 CONVICTED in the %
CHILD_SUBSTANCE = (("substance_misuse",), ("1A", "2A"))  # the child's own alcohol or drugs
SELF_HARM = (("self_harm",), ("15A",))


@measure("D1.3", "proportion")
def d1_3(ctx: MeasureContext) -> pd.DataFrame:
    """% of children with evidence in the last 6 months affected by domestic abuse."""
    return _factor_share(ctx, *DOMESTIC_ABUSE)


@measure("D1.4", "distribution", categories=CHANGE)
def d1_4(ctx: MeasureContext) -> pd.DataFrame:
    """Change in D1.3 for the same child: last 6 months against the 6 months before."""
    return _factor_change(ctx, *DOMESTIC_ABUSE)


@measure("D1.5", "proportion")
def d1_5(ctx: MeasureContext) -> pd.DataFrame:
    """% affected by parental mental ill-health (4B: the parent's or carer's, not the child's)."""
    return _factor_share(ctx, *PARENT_MENTAL_HEALTH)


@measure("D1.6", "distribution", categories=CHANGE)
def d1_6(ctx: MeasureContext) -> pd.DataFrame:
    return _factor_change(ctx, *PARENT_MENTAL_HEALTH)


@measure("D1.7", "proportion")
def d1_7(ctx: MeasureContext) -> pd.DataFrame:
    """% affected by parental misuse of alcohol (1B) or drugs (2B)."""
    return _factor_share(ctx, *PARENT_SUBSTANCE)


@measure("D1.8", "distribution", categories=CHANGE)
def d1_8(ctx: MeasureContext) -> pd.DataFrame:
    return _factor_change(ctx, *PARENT_SUBSTANCE)


@measure("D2.1", "proportion")
def d2_1(ctx: MeasureContext) -> pd.DataFrame:
    """% affected by sexual or criminal exploitation or trafficking (any of the three)."""
    return _factor_share(ctx, *EXPLOITATION)


@measure("D2.2", "distribution", categories=CHANGE)
def d2_2(ctx: MeasureContext) -> pd.DataFrame:
    return _factor_change(ctx, *EXPLOITATION)


@measure("D4.2", "proportion")
def d4_2(ctx: MeasureContext) -> pd.DataFrame:
    """% involved with the youth justice system: reviews, and OC2 CONVICTED (convicted or
    cautioned in the year to 31 March) for looked-after children when that 31 March is in
    the last 6 months."""
    return _factor_share(ctx, *YOUTH_JUSTICE, oc2_column="convicted")


@measure("D4.2b", "distribution", categories=CHANGE)
def d4_2b(ctx: MeasureContext) -> pd.DataFrame:
    """The "and change" of D4.2 (seed 002: compared with the previous 6 months): reviews only,
    since OC2 has no first-half value to compare."""
    return _factor_change(ctx, *YOUTH_JUSTICE)


@measure("D4.3", "proportion")
def d4_3(ctx: MeasureContext) -> pd.DataFrame:
    """% involved in substance misuse: reviews, assessment factors 1A/2A, and OC2
    SUBSTANCE_MISUSE as in D4.2."""
    return _factor_share(ctx, *CHILD_SUBSTANCE, oc2_column="substance_misuse")


@measure("D4.3b", "distribution", categories=CHANGE)
def d4_3b(ctx: MeasureContext) -> pd.DataFrame:
    return _factor_change(ctx, *CHILD_SUBSTANCE)


@measure("D4.4", "proportion")
def d4_4(ctx: MeasureContext) -> pd.DataFrame:
    """% who self-harmed: reviews and assessment factor 15A."""
    return _factor_share(ctx, *SELF_HARM)


@measure("D4.4b", "distribution", categories=CHANGE)
def d4_4b(ctx: MeasureContext) -> pd.DataFrame:
    return _factor_change(ctx, *SELF_HARM)


# --- SDQ change (D4.1, D6.1, D7.1) -----------------------------------------------------------


def _sdq_changes(ctx: MeasureContext, score: str, with_oc2: bool) -> pd.DataFrame:
    """Per child in the cohort: change = latest score in the period − the previous one.

    Local SDQs: per informant, the latest in the period against the most recent one 5 to 18
    months before it (scores from different informants are not compared); a child with pairs
    from several informants counts once, preferring the carer's (the SSDA903 informant), then
    the young person's, then the teacher's. ``with_oc2``: looked-after children without a local
    pair use OC2 SDQ_SCORE (the carer's, dated 31 March) against the year before."""
    oc2 = """
        UNION ALL
        SELECT now.child_id, 9 AS rank, now.sdq_score - before.sdq_score AS change
        FROM health_outcomes now
        JOIN health_outcomes before ON before.child_id = now.child_id AND before.year = now.year - 1
        WHERE make_date(now.year, 3, 31) BETWEEN $start AND $end
          AND now.sdq_score IS NOT NULL AND before.sdq_score IS NOT NULL"""
    query = f"""WITH {_COHORT},
            scored AS (
                SELECT child_id, informant, sdq_date AS day, {score} AS score
                FROM sdq WHERE {score} IS NOT NULL AND child_id IN (SELECT child_id FROM cohort)
            ),
            latest AS (
                SELECT * FROM scored WHERE day BETWEEN $start AND $end
                QUALIFY row_number() OVER (PARTITION BY child_id, informant ORDER BY day DESC) = 1
            ),
            pairs AS (
                SELECT l.child_id,
                       CASE l.informant WHEN 'carer' THEN 1 WHEN 'self' THEN 2 ELSE 3 END AS rank,
                       l.score - p.score AS change
                FROM latest l JOIN scored p
                  ON p.child_id = l.child_id AND p.informant = l.informant
                 AND p.day BETWEEN l.day - INTERVAL 18 MONTH AND l.day - INTERVAL 5 MONTH
                QUALIFY row_number() OVER (PARTITION BY l.child_id, l.informant
                                           ORDER BY p.day DESC) = 1
                {oc2 if with_oc2 else ""}
            )
            SELECT child_id, change FROM pairs
            WHERE child_id IN (SELECT child_id FROM cohort)
            QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY rank) = 1"""
    compute = lambda: ctx.sql(query, year_start=_past_year_start(ctx))  # noqa: E731
    return _shared(ctx, ("sdq", score, with_oc2), compute)


def _sdq_distribution(changes: pd.DataFrame) -> pd.DataFrame:
    """Scores where higher means more difficulties: a fall of 3+ points is an improvement."""
    if changes.empty:
        return empty_units()
    rows = _child_rows(changes[["child_id"]])
    change = changes["change"].astype(float)
    category = pd.Series("no_change", index=changes.index, dtype="string")
    category[change <= -SDQ_CHANGE_POINTS] = "improved"
    category[change >= SDQ_CHANGE_POINTS] = "worsened"
    rows["category"] = category.to_numpy()
    return rows


@measure("D4.1", "distribution", categories=SDQ_CHANGE)
def d4_1(ctx: MeasureContext) -> pd.DataFrame:
    """Change in the SDQ total difficulties score (0-40): improved (fell by 3+), worsened
    (rose by 3+), no change; local SDQs for any child, OC2 for looked-after children."""
    return _sdq_distribution(_sdq_changes(ctx, "total", with_oc2=True))


@measure("D4.1b", "mean")
def d4_1b(ctx: MeasureContext) -> pd.DataFrame:
    """Mean change in the SDQ total difficulties score (negative is an improvement), over the
    children of D4.1."""
    changes = _sdq_changes(ctx, "total", with_oc2=True)
    if changes.empty:
        return empty_units()
    rows = _child_rows(changes[["child_id"]])
    rows["value"] = changes["change"].astype(float).to_numpy()
    return rows


@measure("D6.1", "distribution", categories=SDQ_CHANGE)
def d6_1(ctx: MeasureContext) -> pd.DataFrame:
    """Change in emotional + conduct + hyperactivity (0-30), local SDQs with all three."""
    return _sdq_distribution(
        _sdq_changes(ctx, "(emotional + conduct + hyperactivity)", with_oc2=False)
    )


@measure("D7.1", "distribution", categories=SDQ_CHANGE)
def d7_1(ctx: MeasureContext) -> pd.DataFrame:
    """Change in peer problems + (10 − prosocial) (0-20): prosocial behaviour is reversed so
    that, like the difficulty scores, higher is worse and a fall of 3+ is an improvement."""
    return _sdq_distribution(_sdq_changes(ctx, "(peer + (10 - prosocial))", with_oc2=False))


# --- surveys (child survey, parent survey) -------------------------------------------------


def _child_survey(ctx: MeasureContext, *items: str) -> pd.DataFrame:
    return survey_item_units(ctx, "child_survey", list(items))


def _parent_survey(ctx: MeasureContext, *items: str) -> pd.DataFrame:
    return survey_item_units(ctx, "parent_survey", list(items))


@measure("D1.9", "proportion")
def d1_9(ctx: MeasureContext) -> pd.DataFrame:
    """Children who agree they feel safe and supported at home or in placement."""
    return _child_survey(ctx, "d1_9_safe_home")


@measure("D2.3", "proportion")
def d2_3(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d2_3_safe_community")


@measure("D4.5", "proportion")
def d4_5(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d4_5_settled_loved")


@measure("D4.6", "proportion")
def d4_6(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d4_6_understand_plans")


@measure("D5.6", "proportion")
def d5_6(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d5_6_permanence")


@measure("D5.7", "proportion")
def d5_7(ctx: MeasureContext) -> pd.DataFrame:
    return _parent_survey(ctx, "d5_7_permanence")


@measure("D5.8a", "proportion")
def d5_8a(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d5_8_contact_clear")


@measure("D5.8b", "proportion")
def d5_8b(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d5_8_wishes")


@measure("D5.9a", "proportion")
def d5_9a(ctx: MeasureContext) -> pd.DataFrame:
    return _parent_survey(ctx, "d5_9_contact_clear")


@measure("D5.9b", "proportion")
def d5_9b(ctx: MeasureContext) -> pd.DataFrame:
    return _parent_survey(ctx, "d5_9_wishes")


@measure("D9.3a", "proportion")
def d9_3a(ctx: MeasureContext) -> pd.DataFrame:
    return _parent_survey(ctx, "d9_3_identity")


@measure("D9.3b", "proportion")
def d9_3b(ctx: MeasureContext) -> pd.DataFrame:
    return _parent_survey(ctx, "d9_3_hopes")


@measure("D12.3", "proportion")
def d12_3(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d12_3_school")


@measure("D12.4", "proportion")
def d12_4(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d12_4_activities")


@measure("D13.2", "proportion")
def d13_2(ctx: MeasureContext) -> pd.DataFrame:
    return _child_survey(ctx, "d13_2_aspirations")


# --- case audits and permanence plans (D5.1-D5.3) ---------------------------------------------


def _audits(ctx: MeasureContext, answered: str, confirms: str) -> pd.DataFrame:
    """Audits in the period of CiN and CP plans (seed 002: children in need of help or
    protection) that answered the question(s); unit = audit."""
    frame = ctx.sql(
        f"""SELECT audit_id AS unit_id, child_id, team, ({confirms}) AS in_numerator
            FROM case_audits
            WHERE audit_date BETWEEN $start AND $end AND plan_type IN ('cin', 'cp')
              AND {answered}"""
    )
    frame["in_denominator"] = True
    return frame


@measure("D5.1", "proportion")
def d5_1(ctx: MeasureContext) -> pd.DataFrame:
    """Audits confirming the plan was updated in the last 6 months and is not drifting, of
    audits that answered both questions."""
    return _audits(
        ctx,
        "plan_updated_6m IS NOT NULL AND drift IS NOT NULL",
        "plan_updated_6m AND NOT drift",
    )


@measure("D5.2", "proportion")
def d5_2(ctx: MeasureContext) -> pd.DataFrame:
    """Audits with evidence of the child's needs being met at home, of audits that answered."""
    return _audits(ctx, "needs_met_at_home IS NOT NULL", "needs_met_at_home")


@measure("D5.3", "proportion")
def d5_3(ctx: MeasureContext) -> pd.DataFrame:
    """% of periods of care with a long-term (permanence) plan within 2 years of starting.

    Cohort: periods of care (§12, built as in domain_b: short breaks left out) that started
    in the same period two years earlier, so the 2-year window has closed by the period's end,
    and were open at some time in the past year (seed 002: children looked after in the past
    year; all had been looked after for a year or more). A period whose first stored episode
    is not an RNE S began before the store's history and is left out. Numerator: a plan agreed
    from the start to the second anniversary (inclusive), before the period ended.
    Unit = period of care."""
    years = PERMANENCE_WINDOW_YEARS
    start, end = ctx.period.start, ctx.period.end
    frame = ctx.sql(
        f"""WITH {periods_of_care_sql()}
            SELECT p.child_id || ' / ' || strftime(p.period_start, '%Y-%m-%d') AS unit_id,
                   p.child_id,
                   count(pp.plan_date) > 0 AS in_numerator
            FROM periods p
            LEFT JOIN permanence_plans pp
              ON pp.child_id = p.child_id AND pp.plan_date >= p.period_start
             AND pp.plan_date <= p.period_start + INTERVAL {years} YEAR
             AND (p.period_end IS NULL OR pp.plan_date <= p.period_end)
            WHERE p.period_start BETWEEN $entry_start AND $entry_end
              AND EXISTS (SELECT 1 FROM episodes e WHERE e.child_id = p.child_id
                            AND e.start_date = p.period_start AND e.reason_new_episode = 'S')
              AND (p.period_end IS NULL OR p.period_end >= $year_start)
            GROUP BY p.child_id, p.period_start""",
        entry_start=date(start.year - years, start.month, start.day),
        entry_end=date(end.year - years, end.month, end.day),
        year_start=_past_year_start(ctx),
    )
    if frame.empty:
        return empty_units()
    frame["in_denominator"] = True
    return frame


# --- mental health (D9.1, D9.2) ----------------------------------------------------------------


def _latest_health(ctx: MeasureContext) -> pd.DataFrame:
    """Children in the cohort with a health record in the last 6 months: their latest one."""
    return _shared(ctx, ("health",), lambda: _query_latest_health(ctx))


def _query_latest_health(ctx: MeasureContext) -> pd.DataFrame:
    return ctx.sql(
        f"""WITH {_COHORT}
            SELECT child_id, mental_health_need, support, need_met
            FROM health_needs
            WHERE record_date BETWEEN $h2_start AND $h2_end
              AND child_id IN (SELECT child_id FROM cohort)
            QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY record_date DESC) = 1""",
        year_start=_past_year_start(ctx),
    )


@measure("D9.1", "proportion")
def d9_1(ctx: MeasureContext) -> pd.DataFrame:
    """% of children (with a health record in the last 6 months) whose latest record shows an
    identified mental health need that is not being met (seed 002: "% of children with
    identified unmet mental health needs")."""
    health = _latest_health(ctx)
    if health.empty:
        return empty_units()
    rows = _child_rows(health[["child_id"]])
    unmet = health["mental_health_need"].fillna(False) & health["need_met"].eq(False)
    rows["in_numerator"] = unmet.to_numpy()
    return rows


@measure("D9.2", "proportion")
def d9_2(ctx: MeasureContext) -> pd.DataFrame:
    """% of children (same cohort as D9.1) with an identified need supported by CAMHS or an
    equivalent service ('waiting', 'declined' and 'none' are not support)."""
    health = _latest_health(ctx)
    if health.empty:
        return empty_units()
    rows = _child_rows(health[["child_id"]])
    supported = health["mental_health_need"].fillna(False) & health["support"].isin(
        ["camhs", "equivalent"]
    )
    rows["in_numerator"] = supported.to_numpy()
    return rows


# --- education (D10.1-D13.1) -------------------------------------------------------------------


def _education_halves(ctx: MeasureContext) -> pd.DataFrame:
    """Per child in the cohort and half (1 = the 6 months before, 2 = the last 6 months) of the
    terms whose term_date falls in it (autumn 1 Nov and spring 15 Feb are in a year's second
    half, summer 1 June in its first): school-age terms (sessions possible > 0) and their
    totals, exclusions, school moves, and early education (2-4 year olds).

    Rows link to the child by child_id, or by UPN through children.upn. Blank counts on a
    school-age term are read as none."""
    query = f"""WITH {_COHORT},
            rows AS (
                SELECT coalesce(e.child_id, c.child_id) AS child_id, e.*
                       EXCLUDE (child_id, upn, collection_year, load_id, row_hash)
                FROM education_attendance e
                LEFT JOIN children c ON e.child_id IS NULL AND c.upn = e.upn
                WHERE e.term_date BETWEEN $h1_start AND $h2_end
            )
            SELECT child_id,
                   CASE WHEN term_date >= $h2_start THEN 2 ELSE 1 END AS half,
                   count(*) FILTER (WHERE sessions_possible > 0) > 0 AS school_age,
                   sum(sessions_possible) FILTER (WHERE sessions_possible > 0) AS possible,
                   sum(coalesce(sessions_authorised, 0) + coalesce(sessions_unauthorised, 0))
                       FILTER (WHERE sessions_possible > 0) AS missed,
                   sum(coalesce(sessions_unauthorised, 0))
                       FILTER (WHERE sessions_possible > 0) AS unauthorised,
                   coalesce(bool_or(coalesce(suspensions, 0) > 0
                                    OR coalesce(permanent_exclusion, false))
                       FILTER (WHERE sessions_possible > 0), false) AS excluded,
                   coalesce(sum(coalesce(school_changes, 0))
                       FILTER (WHERE sessions_possible > 0), 0) AS moves,
                   count(early_education) > 0 AS early_age,
                   coalesce(bool_or(early_education), false) AS early
            FROM rows
            WHERE child_id IN (SELECT child_id FROM cohort)
            GROUP BY ALL"""
    compute = lambda: ctx.sql(query, year_start=_past_year_start(ctx))  # noqa: E731
    return _shared(ctx, ("education",), compute)


def _school_share(ctx: MeasureContext, flag) -> pd.DataFrame:
    """Children with a school-age term in the last 6 months; numerator: ``flag(rows)``."""
    halves = _education_halves(ctx)
    now = halves[(halves["half"] == 2) & halves["school_age"]]
    if now.empty:
        return empty_units()
    rows = _child_rows(now[["child_id"]])
    rows["in_numerator"] = flag(now).astype(bool).to_numpy()
    return rows


def _school_change(ctx: MeasureContext, value, labels: tuple[str, str, str]) -> pd.DataFrame:
    """Children with a school-age term in both halves: ``value`` now against before."""
    halves = _education_halves(ctx)
    school = halves[halves["school_age"]]
    before = school[school["half"] == 1].set_index("child_id")
    now = school[school["half"] == 2].set_index("child_id")
    both = now.index.intersection(before.index)
    if both.empty:
        return empty_units()
    rows = _child_rows(pd.DataFrame({"child_id": both}))
    category = _category(value(before.loc[both]), value(now.loc[both]), labels)
    rows["category"] = category.to_numpy()
    return rows


def _excluded(rows: pd.DataFrame) -> pd.Series:
    return rows["excluded"]


def _unauthorised(rows: pd.DataFrame) -> pd.Series:
    return rows["unauthorised"] > 0


def _moved(rows: pd.DataFrame) -> pd.Series:
    return rows["moves"] > 0


@measure("D10.1", "proportion")
def d10_1(ctx: MeasureContext) -> pd.DataFrame:
    """% of children aged 2-4 (a term in the last 6 months with early education answered: the
    template leaves it blank for other ages) who took up early education in any such term."""
    halves = _education_halves(ctx)
    now = halves[(halves["half"] == 2) & halves["early_age"]]
    if now.empty:
        return empty_units()
    rows = _child_rows(now[["child_id"]])
    rows["in_numerator"] = now["early"].astype(bool).to_numpy()
    return rows


@measure("D11.1", "proportion")
def d11_1(ctx: MeasureContext) -> pd.DataFrame:
    """% of school-age children with a suspension or permanent exclusion in the last 6 months."""
    return _school_share(ctx, _excluded)


@measure("D11.2", "proportion")
def d11_2(ctx: MeasureContext) -> pd.DataFrame:
    """% of school-age children with any unauthorised absence in the last 6 months."""
    return _school_share(ctx, _unauthorised)


@measure("D11.2b", "proportion")
def d11_2b(ctx: MeasureContext) -> pd.DataFrame:
    """% persistently absent: 10%+ of possible sessions missed (authorised or not, the DfE
    measure) over the school-age terms of the last 6 months."""
    return _school_share(ctx, lambda rows: rows["missed"] >= PERSISTENT_ABSENCE * rows["possible"])


@measure("D11.3", "distribution", categories=CHANGE)
def d11_3(ctx: MeasureContext) -> pd.DataFrame:
    """Change in D11.1: more / less likely to be suspended or excluded than the 6 months
    before."""
    return _school_change(ctx, _excluded, CHANGE)


@measure("D11.4", "distribution", categories=CHANGE)
def d11_4(ctx: MeasureContext) -> pd.DataFrame:
    """Change in D11.2: more / less likely to have unauthorised absence."""
    return _school_change(ctx, _unauthorised, CHANGE)


@measure("D12.1", "proportion")
def d12_1(ctx: MeasureContext) -> pd.DataFrame:
    """% of school-age children with a mid-year school move in the last 6 months."""
    return _school_share(ctx, _moved)


@measure("D12.2", "distribution", categories=COUNT_CHANGE)
def d12_2(ctx: MeasureContext) -> pd.DataFrame:
    """More / fewer mid-year school moves than in the 6 months before (seed 002 counts them)."""
    return _school_change(ctx, lambda rows: rows["moves"], COUNT_CHANGE)


def _progress(ctx: MeasureContext, key_stage: str) -> pd.DataFrame:
    """Mean progress score of one key stage's results in the period's academic year (the one
    ending in the period's end year, as the store dates these rows), children in the cohort;
    a child with two rows for the same result (by child id and by UPN) counts once."""
    frame = ctx.sql(
        f"""WITH {_COHORT}
            SELECT child_id, avg(progress) AS value FROM (
                SELECT coalesce(r.child_id, c.child_id) AS child_id, r.progress
                FROM education_results r
                LEFT JOIN children c ON r.child_id IS NULL AND c.upn = r.upn
                WHERE r.academic_year = $academic_year AND r.key_stage = $key_stage
                  AND r.progress IS NOT NULL
            )
            WHERE child_id IN (SELECT child_id FROM cohort)
            GROUP BY child_id""",
        academic_year=ctx.period.end_year,
        key_stage=key_stage,
        year_start=_past_year_start(ctx),
    )
    if frame.empty:
        return empty_units()
    return _child_rows(frame)


@measure("D13.1", "mean")
def d13_1(ctx: MeasureContext) -> pd.DataFrame:
    """Mean KS4 Progress 8 score (KS2 to KS4; 0 is the national average)."""
    return _progress(ctx, "ks4")


@measure("D13.1b", "mean")
def d13_1b(ctx: MeasureContext) -> pd.DataFrame:
    """Mean KS2 progress score (KS1 to KS2): a different scale from Progress 8, so apart."""
    return _progress(ctx, "ks2")


__all__: list[str] = []
