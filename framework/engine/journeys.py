"""Journeys: where referrals led, how children moved between plan levels, and re-referrals.

Three flows for a period (and, like every view, optionally one group of children), each a
*distribution* of units whose shares, 95% intervals and disclosure control come from the one
aggregator (``prepare`` → ``summarise`` → ``protect``). Nothing here computes a rate or hides a
count.

* **Referral outcomes**: the catalogue's B1.3 itself (its measure, not a copy): each referral
  received in the period placed in the furthest outcome it reached - no further action
  (``ReferralNFA``), assessed and not in need (closed with RC8 "closed after assessment, no
  further action" or RC9 "closed after assessment, referred to early help"), child in need,
  child protection plan, looked after. So the numbers are the domain B page's numbers.
* **Plan levels**: one unit per child with a plan on any day of the period (the cohort of B5.1),
  in the cell (level on the period's first day → level on its last day). Levels are domain B's
  plan history (``domain_b._plan_history``): none < CiN plan < CP plan < looked after (SSDA903
  episodes other than short breaks, V3/V4), the highest plan open that day, with a gap of 30
  days or less between two plans bridged (a hand-over, not a step down). A child with no plan
  at the end whose last plan ended when they were 18 or over, or had died, is in the column
  "left: 18 or died" rather than "no plan": that is not a step down. Cells above the diagonal
  are escalations, below it de-escalations; the row "no plan" is children whose plan started
  in the period.
* **Re-referrals**: one unit per referral received in the period, by the child's most recent
  other referral starting in the 365 days before it (its date − 365 to its date − 1, as B2.1):
  none (not a re-referral), or re-referred after a referral whose furthest outcome (as B1.3)
  was no further action, not in need, child in need, CP plan or looked after.

The plan-level and re-referral flows are not indicators of the framework, so their measures
are not registered in ``units.MEASURES`` (the engine checks that every registered measure is
catalogued); they are ``Measure`` objects evaluated through the aggregator
(``aggregate.evaluate_measures``), protected together with their linked indicators (B1.3 with
B1.1 and B1.2) and every place filter, period and half. Each flow is one distribution, so its
cells add up to its total and secondary suppression keeps a hidden cell from being worked back
from the total and the cells shown.
No flow publishes a sum of another's cells (e.g. the row totals of the plan levels).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from framework.engine import aggregate
from framework.engine.dimensions import CHILD_DIMENSIONS, GROUPS
from framework.engine.measures import domain_b
from framework.engine.periods import Period
from framework.engine.run import register_measures
from framework.engine.summaries import WHOLE
from framework.engine.units import Measure, MeasureContext, empty_units

REFERRAL_INDICATOR = "B1.3"
OUTCOME_LABELS = {  # domain_b.REFERRAL_OUTCOMES, in their order (furthest last)
    "nfa": "No further action",
    "not_in_need": "Assessed, not in need",
    "cin": "Child in need",
    "cp": "Child protection plan",
    "looked_after": "Looked after",
}

LEVELS = ("none", "cin_plan", "cp_plan", "looked_after")  # plan levels 0-3 of domain B
LEFT = "left"  # no plan at the end: the last one ended at 18 or over, or at death
END_LEVELS = (*LEVELS, LEFT)
LEVEL_LABELS = {
    "none": "No plan",
    "cin_plan": "CiN plan",
    "cp_plan": "CP plan",
    "looked_after": "Looked after",
    LEFT: "Left: 18 or died",
}
CELL_SEPARATOR = " to "


def cell(start: str, end: str) -> str:
    """The category of a plan-level cell: 'cp_plan to looked_after'."""
    return f"{start}{CELL_SEPARATOR}{end}"


PLAN_CELLS = tuple(cell(a, b) for a in LEVELS for b in END_LEVELS)


def movement(start: str, end: str) -> str:
    """How a plan-level cell reads: a new plan, the same level, stepped up (an escalation),
    stepped down or ended (a de-escalation), or left at 18 or death."""
    if end == LEFT:
        return "left at 18 or died"
    rise = LEVELS.index(end) - LEVELS.index(start)
    if start == "none":
        return "started and ended" if end == "none" else "new plan"
    if rise == 0:
        return "same level"
    if rise > 0:
        return "stepped up"
    return "ended" if end == "none" else "stepped down"


NOT_RE_REFERRED = "not_re_referred"
RE_REFERRALS = (NOT_RE_REFERRED, *(f"after_{o}" for o in domain_b.REFERRAL_OUTCOMES))
RE_REFERRAL_LABELS = {
    NOT_RE_REFERRED: "No referral in the 12 months before",
    **{f"after_{o}": f"Re-referred after: {label.lower()}" for o, label in OUTCOME_LABELS.items()},
}
RE_REFERRAL_DAYS = 365  # as B2.1 and the DfE's repeat referrals: within 12 months

DEFINITIONS = {  # in words, for the page (the module docstring says why)
    "referral_outcomes": (
        "Each referral received in the period in the furthest outcome it reached (indicator "
        "B1.3): no further action at referral; assessed and not in need (closed after "
        "assessment, RC8, or referred to early help, RC9); child in need; a child protection "
        "plan overlapping the referral; looked after during it (not short breaks). Shares are "
        "of all referrals received in the period; outcomes are as the latest return records "
        "them, so late referrals may not have reached theirs yet."
    ),
    "plan_levels": (
        "Each child with a plan on any day of the period, by their plan level on its first "
        "and its last day: no plan, child in need plan, child protection plan, looked after "
        "(the highest plan open that day; short breaks are not care; a gap of 30 days or less "
        "between two plans is not a change). Above the diagonal a child stepped up, below it "
        'stepped down or their plans ended; "left: 18 or died" is a last plan that ended at '
        '18 or over, or at death, which is not a step down. The row "no plan" is children '
        "whose plan started in the period."
    ),
    "re_referrals": (
        "Each referral received in the period by the child's most recent other referral "
        "starting in the 365 days before it, and where that one led (its furthest outcome, as "
        "above). Referrals with none are not re-referrals. The DfE's repeat referral rate is "
        "the share of re-referrals of every kind; indicator B2.1 counts those after a referral "
        "that led to no service. In the first year loaded, earlier referrals are missing and "
        "re-referrals are understated."
    ),
}


# --- the units of the two flows that are not catalogue indicators ------------------------------


def plan_level_units(ctx: MeasureContext) -> pd.DataFrame:
    """One row per child with a plan on any day of the period: category 'start to end'."""
    frame = ctx.sql(
        f"""
        WITH {domain_b._plan_history(ctx)},
        at_start AS (SELECT child_id, arg_max(to_level, day) AS level
                     FROM transitions WHERE day <= $start GROUP BY child_id),
        at_end AS (SELECT child_id, arg_max(to_level, day) AS level,
                          arg_max(aged_out, day) AS aged_out
                   FROM transitions WHERE day <= $end GROUP BY child_id),
        cohort AS (SELECT child_id FROM at_start WHERE level > 0
                   UNION
                   SELECT child_id FROM transitions
                   WHERE day > $start AND day <= $end AND to_level > 0)
        SELECT c.child_id, coalesce(s.level, 0) AS start_level,
               coalesce(e.level, 0) AS end_level, coalesce(e.aged_out, false) AS aged_out
        FROM cohort c LEFT JOIN at_start s USING (child_id) LEFT JOIN at_end e USING (child_id)
        ORDER BY c.child_id"""
    )
    if frame.empty:
        return empty_units()
    start = frame["start_level"].map(dict(enumerate(LEVELS)))
    end = frame["end_level"].map(dict(enumerate(LEVELS)))
    end = end.where(~((frame["end_level"] == 0) & frame["aged_out"].astype(bool)), LEFT)
    return pd.DataFrame(
        {
            "unit_id": frame["child_id"],
            "child_id": frame["child_id"],
            "in_denominator": True,
            "category": start + CELL_SEPARATOR + end,
        }
    )


def _outcome_sql() -> str:
    """The furthest outcome of referral ``r`` by B1.3's rule (domain_b._referral_outcomes),
    for referrals of any date."""
    far, care = domain_b.FAR, domain_b.CARE_EPISODES
    return f"""CASE
        WHEN coalesce(r.referral_nfa, false) THEN 'nfa'
        WHEN NOT {domain_b.LED_TO_SERVICE} THEN 'not_in_need'
        WHEN EXISTS (SELECT 1 FROM {care} e
                     WHERE e.child_id = r.child_id
                       AND e.start_date <= coalesce(r.closure_date, {far})
                       AND coalesce(e.end_date, {far}) >= r.referral_date) THEN 'looked_after'
        WHEN EXISTS (SELECT 1 FROM cp_plans p
                     WHERE p.child_id = r.child_id
                       AND p.start_date <= coalesce(r.closure_date, {far})
                       AND coalesce(p.end_date, {far}) >= r.referral_date) THEN 'cp'
        ELSE 'cin' END"""


def re_referral_units(ctx: MeasureContext) -> pd.DataFrame:
    """One row per referral received in the period: category not_re_referred, or after_<the
    furthest outcome of the child's most recent referral in the 365 days before>."""
    frame = ctx.sql(
        f"""
        WITH earlier AS (
            SELECT r.child_id, r.referral_date, {_outcome_sql()} AS outcome
            FROM referrals r
            WHERE r.referral_date >= CAST($start AS DATE) - INTERVAL {RE_REFERRAL_DAYS} DAY
              AND r.referral_date < $end),
        n AS (SELECT child_id, referral_date FROM referrals
              WHERE referral_date BETWEEN $start AND $end)
        SELECT n.child_id || ' / ' || strftime(n.referral_date, '%Y-%m-%d') AS unit_id,
               n.child_id, true AS in_denominator,
               coalesce('after_' || arg_max(o.outcome, o.referral_date), '{NOT_RE_REFERRED}')
                 AS category
        FROM n LEFT JOIN earlier o
          ON o.child_id = n.child_id
         AND o.referral_date >= n.referral_date - INTERVAL {RE_REFERRAL_DAYS} DAY
         AND o.referral_date < n.referral_date
        GROUP BY n.child_id, n.referral_date
        ORDER BY unit_id"""
    )
    return frame if len(frame) else empty_units()


PLAN_LEVELS = Measure("journeys.plan_levels", "distribution", plan_level_units, PLAN_CELLS)
RE_REFERRED = Measure("journeys.re_referrals", "distribution", re_referral_units, RE_REFERRALS)


# --- the view ---------------------------------------------------------------------------------

NUMBERS = ["numerator", "denominator", "value", "ci_low", "ci_high", "suppressed"]


@dataclass(frozen=True)
class Journeys:
    """The three flows, one row per category (empty when there is no data). Hidden counts and
    the values built on them are missing, with ``suppressed`` true."""

    period: str
    group: str | None
    referral_outcomes: pd.DataFrame  # outcome, label, numbers (of referrals in the period)
    plan_levels: pd.DataFrame  # start, end, their labels, movement, numbers (of children)
    re_referrals: pd.DataFrame  # category, label, numbers (of referrals in the period)


def journeys(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> Journeys:
    """The journeys of the period's referrals and children (see the module docstring), for
    one group of children and the children living in one area or decile (``where``, as
    ``Query.where``) when asked."""
    measures = (register_measures()[REFERRAL_INDICATOR], PLAN_LEVELS, RE_REFERRED)
    results = evaluate_measures(
        con, measures, period, group=group, where=where, threshold=threshold
    )

    def flow(measure: Measure, key: str) -> pd.DataFrame:
        rows = results[
            (results["indicator_id"] == measure.indicator_id)
            & (results["slice"] == WHOLE)
            & (results["status"] == "ok")
            & results["category"].notna()
        ]
        order = {c: i for i, c in enumerate(measure.categories)}
        rows = rows.sort_values("category", key=lambda c: c.map(order), kind="stable")
        return rows.rename(columns={"category": key})[[key, *NUMBERS]].reset_index(drop=True)

    outcomes = flow(measures[0], "outcome")
    outcomes.insert(1, "label", outcomes["outcome"].map(OUTCOME_LABELS))
    levels = flow(PLAN_LEVELS, "cell")
    parts = levels.pop("cell").str.split(CELL_SEPARATOR, expand=True, regex=False)
    start = parts[0] if len(levels) else pd.Series(dtype=object)
    end = parts[1] if len(levels) else pd.Series(dtype=object)
    levels.insert(0, "start", start)
    levels.insert(1, "end", end)
    levels.insert(2, "start_label", levels["start"].map(LEVEL_LABELS))
    levels.insert(3, "end_label", levels["end"].map(LEVEL_LABELS))
    levels.insert(4, "movement", [movement(a, b) for a, b in zip(start, end, strict=True)])
    re_referrals = flow(RE_REFERRED, "category")
    re_referrals.insert(1, "label", re_referrals["category"].map(RE_REFERRAL_LABELS))
    return Journeys(period.label, group, outcomes, levels, re_referrals)


def evaluate_measures(
    con: duckdb.DuckDBPyConnection,
    measures: tuple[Measure, ...],
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> pd.DataFrame:
    """The results table (``aggregate.RESULT_COLUMNS``) of these measures for the whole cohort
    of the period (no slicing, no change), made and protected by the aggregator
    (``aggregate.evaluate_measures``), as ``evaluate`` makes them for catalogue indicators."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; choose from {', '.join(GROUPS)}")
    unplaceable = [d for d, _ in where if d not in CHILD_DIMENSIONS]
    if unplaceable:
        raise ValueError(f"cannot restrict to {unplaceable}; choose from {CHILD_DIMENSIONS}")
    # Through the aggregator's joint protection: B1.3 with its linked indicators (B1.1, B1.2)
    # and with every place filter, period and half, so the journeys page hides the cells the
    # domain B page hides (suppression.LINKED; docs/engine.md).
    return aggregate.evaluate_measures(
        con, measures, [period], group=group, where=tuple(where), threshold=threshold
    )[period]


__all__ = [
    "DEFINITIONS",
    "END_LEVELS",
    "LEVELS",
    "LEVEL_LABELS",
    "OUTCOME_LABELS",
    "PLAN_CELLS",
    "PLAN_LEVELS",
    "RE_REFERRALS",
    "RE_REFERRAL_LABELS",
    "RE_REFERRED",
    "Journeys",
    "cell",
    "evaluate_measures",
    "journeys",
    "movement",
]
