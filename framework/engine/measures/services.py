"""Measures of commissioned neglect services: what changed for the children they served.

These are not indicators of the framework's catalogue, so they are *not* registered in
``units.MEASURES``: the engine checks at start that every registered measure is catalogued, and
would refuse to run (as ``journeys.py`` explains for its own flows). They are ``Measure``
objects kept in ``SERVICE_MEASURES`` and evaluated through the aggregator's own steps by
``framework/engine/neglect.py``. Each returns unit rows under the contract of ``units.py``; the
aggregator makes every number (shares, means, intervals) and hides small ones.

**The unit.** One child's episode of a commissioned *neglect* service (``commissioned_services``
with ``service_type = 'neglect'``): the child, the service and its start date. Every unit
carries its ``service`` and ``provider``, so the aggregator can give each provider's figures.
Outcome measures count the services that **ended in the period**.

**Practical measures** (clothed for school, breakfast before school, sleeps somewhere safe,
clean and comfortable), each recorded yes/no before the service and at its end. Only services
with *both* recorded count, so "before" and "after" describe the same children:

* ``NS.<m>_before`` / ``NS.<m>_after`` (proportions): the share with the need met before / after;
* ``NS.<m>_change`` (mean): each child's after − before, which is +1 (put right), 0 (no change)
  or −1 (slipped). Its mean is the change in the share, paired child by child; ×100 it is the
  change in percentage points, and its t interval is the interval of that change;
* ``NS.<m>_improved`` / ``NS.<m>_worse`` (proportions): the share put right (no before, yes at
  the end) / slipped (yes before, no at the end). They are counts the aggregator protects: the
  change's interval gives both back (its width gives the number who changed, its mean the
  difference), so ``neglect.py`` shows the interval only where both are shown.

**Neglect assessment tool score.** Scores of different tools are on different scales and are
never mixed: only the tool most rows of the whole store record is used (ties: the first name in
alphabetical order). Services with both scores under that tool count:

* ``NS.tool_before`` / ``NS.tool_after`` (means): the mean score before / after;
* ``NS.tool_improvement`` (mean): before − after when a lower score is better (as with the
  Graded Care Profile 2), after − before otherwise, so a positive number is always better;
* ``NS.tool_improved`` (proportion): the share whose score improved;
* ``NS.tool_other`` (proportion): of the services with both scores under *any* tool, those under
  another tool, left out (the page says how many).

**School attendance** (``education_attendance``): a term's attendance is
100 × (possible − authorised − unauthorised) / possible sessions. Terms are autumn (1 September
to 31 December), spring (1 January to 31 March) and summer (1 April to 31 July); the academic
year 2021/22 is held as 2022, its autumn term is in 2021. "Before" is the child's attendance in
the last term that ended on or before the day the service started; "after" in the first term
that started on or after the day it ended. Only children with both count:
``NS.attendance_before`` / ``_after`` (means, %), ``NS.attendance_change`` (mean of after −
before, percentage points) and ``NS.attendance_improved`` (proportion: attendance went up).

**Within 12 months after the service** (follow-up from the local authority's own returns):

* ``NS.rereferral_12m`` (proportion): a CiN referral dated after the day the service ended and
  no more than 365 days after it;
* ``NS.repeat_cp_12m`` (proportion): of children who had a CP plan starting on or before the day
  the service ended, those with a CP plan starting in the 365 days after it;
* only services whose 365 days after the end are all covered by the data count. The data's end
  is 31 March of the latest CiN census year in the store (the newest CiN census loaded, or the
  newest collection year on a referral row, whichever is later): referrals and CP plans come
  from that return. ``NS.awaiting_follow_up`` (proportion): of the services that ended in the
  period, those still inside their 12 months (too recent to judge).

**Counts.** ``NS.children_served`` (proportion): one unit per child, service and provider with
an episode open at any time in the period (its denominator is the number of children served);
numerator: an episode started in the period. ``NS.neglect_group`` (proportion): one unit per
child in need in the period (a CiN episode open at any time in it); numerator: the child is in
the neglect group of ``dimensions.py`` (its own SQL, imported, not restated).

**Providers opt in.** A provider that records no practical measures or tool scores has no units
for those measures (never zeros); the view says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from framework.engine.dimensions import GROUP_SQL
from framework.engine.units import Measure, MeasureContext, empty_units

NEGLECT = "neglect"  # the service_type code of neglect services
FOLLOW_UP_DAYS = 365  # "within 12 months" of the service ending
SLICES = ("service", "provider")
PRACTICAL = {  # family -> (column stem, label)
    "clothed": ("clothed", "Clothed for school"),
    "breakfast": ("breakfast", "Breakfast before school"),
    "sleep": ("sleep", "Sleeps somewhere safe, clean and comfortable"),
}
TERMS = ("autumn", "spring", "summer")  # autumn 1 Sep-31 Dec, spring 1 Jan-31 Mar, summer
# 1 Apr-31 Jul


@dataclass(frozen=True)
class ServiceMeasure:
    """What the page needs to say about a measure."""

    id: str
    family: str  # measures over the same units: clothed, tool, attendance, follow_up…
    role: str  # before, after, change, improved, outcome, count, other_tool, awaiting
    statistic: str
    label: str
    polarity: str  # higher_better, lower_better or none
    unit: str  # share, score, percent, points (percentage points), count
    definition: str


SERVICE_MEASURES: dict[str, Measure] = {}
MEASURE_INFO: dict[str, ServiceMeasure] = {}


def service_measure(info: ServiceMeasure, function: Callable[[MeasureContext], pd.DataFrame]):
    """Keep a measure here (not in ``units.MEASURES``: see the module docstring)."""
    if info.id in SERVICE_MEASURES:
        raise ValueError(f"{info.id} has two measures")
    SERVICE_MEASURES[info.id] = Measure(info.id, info.statistic, function)
    MEASURE_INFO[info.id] = info
    return function


# --- shared tables -------------------------------------------------------------------------------


def services_table(ctx: MeasureContext) -> str:
    """Every neglect service episode once, with its unit id (the template's key)."""
    return ctx.table(
        "neglect_services",
        f"""SELECT child_id || ' / ' || service || ' / ' || strftime(start_date, '%Y-%m-%d')
                     AS unit_id, *
            FROM commissioned_services
            WHERE service_type = '{NEGLECT}' AND child_id IS NOT NULL AND start_date IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY child_id, service, start_date
                                       ORDER BY collection_year DESC, load_id DESC) = 1""",
    )


def chosen_tool(con) -> str | None:
    """The assessment tool most neglect-service rows in the store give a score for (ties: the
    first in alphabetical order), or None when no row has a score."""
    row = con.execute(
        f"""SELECT trim(tool_name) AS tool FROM commissioned_services
            WHERE service_type = '{NEGLECT}' AND nullif(trim(tool_name), '') IS NOT NULL
              AND (tool_score_before IS NOT NULL OR tool_score_after IS NOT NULL)
            GROUP BY ALL ORDER BY count(*) DESC, tool LIMIT 1"""
    ).fetchone()
    return row[0] if row else None


def data_end(con) -> date | None:
    """31 March of the latest CiN census year in the store: the newest CiN census loaded, or
    the newest collection year on a referral row (stores built by hand have no load records)."""
    year = con.execute(
        """SELECT greatest(
               (SELECT max(collection_year) FROM load_files
                WHERE source = 'cin_census' AND collection_year > 0),
               (SELECT max(collection_year) FROM referrals WHERE collection_year > 0))"""
    ).fetchone()[0]
    return date(int(year), 3, 31) if year else None


def _units(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if len(frame) else empty_units(*SLICES)


def _ended(ctx: MeasureContext, select: str, where: str = "TRUE", **params) -> pd.DataFrame:
    """Rows ``select`` of the neglect services (alias s) that ended in the period."""
    table = services_table(ctx)
    return _units(
        ctx.sql(
            f"""SELECT s.unit_id, s.child_id, s.service, s.provider, TRUE AS in_denominator,
                       {select}
                FROM {table} s
                WHERE s.end_date BETWEEN $start AND $end AND ({where})
                ORDER BY s.unit_id""",
            **params,
        )
    )


# --- practical measures --------------------------------------------------------------------------


def _practical(stem: str, role: str) -> Callable[[MeasureContext], pd.DataFrame]:
    both = f"s.{stem}_before IS NOT NULL AND s.{stem}_after IS NOT NULL"
    select = {
        "before": f"s.{stem}_before AS in_numerator",
        "after": f"s.{stem}_after AS in_numerator",
        "change": f"CAST(s.{stem}_after AS INTEGER) - CAST(s.{stem}_before AS INTEGER) AS value",
        "improved": f"s.{stem}_after AND NOT s.{stem}_before AS in_numerator",
        "worse": f"s.{stem}_before AND NOT s.{stem}_after AS in_numerator",
    }[role]
    return lambda ctx: _ended(ctx, select, both)


for _family, (_stem, _label) in PRACTICAL.items():
    _lower = _label[0].lower() + _label[1:]
    for _role, _statistic, _unit, _polarity, _words in (
        ("before", "proportion", "share", "higher_better", f"Share {_lower} before the service"),
        (
            "after",
            "proportion",
            "share",
            "higher_better",
            f"Share {_lower} at the end of the service",
        ),
        (
            "change",
            "mean",
            "points",
            "higher_better",
            "Change (after − before), paired child by child",
        ),
        (
            "improved",
            "proportion",
            "share",
            "higher_better",
            "Share improved (not met before, met at the end)",
        ),
        (
            "worse",
            "proportion",
            "share",
            "lower_better",
            "Share got worse (met before, not met at the end)",
        ),
    ):
        service_measure(
            ServiceMeasure(
                id=f"NS.{_family}_{_role}",
                family=_family,
                role=_role,
                statistic=_statistic,
                label=_label,
                polarity=_polarity,
                unit=_unit,
                definition=(
                    f"{_words}: neglect services that ended in the period with the measure "
                    "recorded both before and at the end."
                ),
            ),
            _practical(_stem, _role),
        )


# --- the neglect assessment tool -----------------------------------------------------------------

_IMPROVEMENT = """CASE WHEN s.tool_lower_is_better THEN s.tool_score_before - s.tool_score_after
                      ELSE s.tool_score_after - s.tool_score_before END"""
_SCORED = """s.tool_score_before IS NOT NULL AND s.tool_score_after IS NOT NULL
             AND s.tool_lower_is_better IS NOT NULL AND nullif(trim(s.tool_name), '') IS NOT NULL"""


def _tool_name(ctx: MeasureContext) -> str | None:
    """The chosen tool, looked up once per period's measures."""
    found = ctx.cached("neglect_tool", lambda: pd.DataFrame({"tool": [chosen_tool(ctx.con)]}))
    return found["tool"].iloc[0]


def _tool(select: str) -> Callable[[MeasureContext], pd.DataFrame]:
    def units(ctx: MeasureContext) -> pd.DataFrame:
        tool = _tool_name(ctx)
        if tool is None:
            return empty_units(*SLICES)
        return _ended(ctx, select, f"{_SCORED} AND trim(s.tool_name) = $tool", tool=tool)

    return units


def _other_tool(ctx: MeasureContext) -> pd.DataFrame:
    tool = _tool_name(ctx)
    if tool is None:
        return empty_units(*SLICES)
    return _ended(ctx, "trim(s.tool_name) <> $tool AS in_numerator", _SCORED, tool=tool)


_TOOL_LABEL = "Neglect assessment tool score"
for _role, _statistic, _select, _unit, _polarity, _words in (
    ("before", "mean", "s.tool_score_before AS value", "score", "none", "Mean score before"),
    ("after", "mean", "s.tool_score_after AS value", "score", "none", "Mean score at the end"),
    (
        "improvement",
        "mean",
        f"{_IMPROVEMENT} AS value",
        "score",
        "higher_better",
        "Mean improvement in the score (before − after when a lower score is better, "
        "after − before otherwise)",
    ),
    (
        "improved",
        "proportion",
        f"{_IMPROVEMENT} > 0 AS in_numerator",
        "share",
        "higher_better",
        "Share whose score improved",
    ),
):
    service_measure(
        ServiceMeasure(
            id=f"NS.tool_{_role}",
            family="tool",
            role=_role,
            statistic=_statistic,
            label=_TOOL_LABEL,
            polarity=_polarity,  # before and after: the tool's own direction (see neglect.py)
            unit=_unit,
            definition=(
                f"{_words}: neglect services that ended in the period with both scores "
                "recorded under the one tool used most in the store."
            ),
        ),
        _tool(_select),
    )

service_measure(
    ServiceMeasure(
        id="NS.tool_other",
        family="tool",
        role="other_tool",
        statistic="proportion",
        label="Scores under another tool (left out)",
        polarity="none",
        unit="share",
        definition=(
            "Of neglect services that ended in the period with both scores recorded under any "
            "tool, those scored with a tool other than the one used most: left out, so that "
            "scales are never mixed."
        ),
    ),
    _other_tool,
)


# --- school attendance ---------------------------------------------------------------------------


def _last_term_ended_by(day: str) -> tuple[str, str]:
    """(academic year as held: its end year, term) of the last term that ended on or before
    ``day`` (terms end 31 December, 31 March and 31 July)."""
    y = f"year({day})"
    term = f"""CASE WHEN month({day}) = 12 AND day({day}) = 31 THEN 'autumn'
                    WHEN {day} >= make_date({y}, 7, 31) THEN 'summer'
                    WHEN {day} >= make_date({y}, 3, 31) THEN 'spring'
                    ELSE 'autumn' END"""  # before 31 March: last year's autumn
    year = f"CASE WHEN month({day}) = 12 AND day({day}) = 31 THEN {y} + 1 ELSE {y} END"
    return year, term


def _first_term_started_from(day: str) -> tuple[str, str]:
    """(academic end year, term) of the first term that started on or after ``day`` (terms
    start 1 January, 1 April and 1 September)."""
    y = f"year({day})"
    term = f"""CASE WHEN {day} <= make_date({y}, 1, 1) THEN 'spring'
                    WHEN {day} <= make_date({y}, 4, 1) THEN 'summer'
                    WHEN {day} <= make_date({y}, 9, 1) THEN 'autumn'
                    ELSE 'spring' END"""  # after 1 September: next year's spring
    year = f"CASE WHEN {day} <= make_date({y}, 4, 1) THEN {y} ELSE {y} + 1 END"
    return year, term


def attendance_table(ctx: MeasureContext) -> str:
    """Each child's attendance (%) per academic year and term with sessions possible (rows
    given by UPN only are matched to the child through ``children``)."""
    return ctx.table(
        "neglect_attendance",
        """SELECT coalesce(e.child_id, c.child_id) AS child_id, e.academic_year, e.term,
                  100.0 * (sum(e.sessions_possible) - sum(coalesce(e.sessions_authorised, 0))
                           - sum(coalesce(e.sessions_unauthorised, 0)))
                      / sum(e.sessions_possible) AS attendance
           FROM education_attendance e
           LEFT JOIN children c ON e.child_id IS NULL AND c.upn = e.upn
           WHERE e.sessions_possible > 0 AND coalesce(e.child_id, c.child_id) IS NOT NULL
           GROUP BY ALL""",
    )


def _attendance(select: str) -> Callable[[MeasureContext], pd.DataFrame]:
    def units(ctx: MeasureContext) -> pd.DataFrame:
        table, terms = services_table(ctx), attendance_table(ctx)
        before_year, before_term = _last_term_ended_by("s.start_date")
        after_year, after_term = _first_term_started_from("s.end_date")
        return _units(
            ctx.sql(
                f"""SELECT s.unit_id, s.child_id, s.service, s.provider,
                           TRUE AS in_denominator, {select}
                    FROM {table} s
                    JOIN {terms} b ON b.child_id = s.child_id
                         AND b.academic_year = {before_year} AND b.term = {before_term}
                    JOIN {terms} a ON a.child_id = s.child_id
                         AND a.academic_year = {after_year} AND a.term = {after_term}
                    WHERE s.end_date BETWEEN $start AND $end
                    ORDER BY s.unit_id"""
            )
        )

    return units


for _role, _statistic, _select, _unit, _words in (
    ("before", "mean", "b.attendance AS value", "percent", "Mean attendance before"),
    ("after", "mean", "a.attendance AS value", "percent", "Mean attendance after"),
    (
        "change",
        "mean",
        "a.attendance - b.attendance AS value",
        "points",
        "Mean change in attendance (after − before, percentage points)",
    ),
    (
        "improved",
        "proportion",
        "a.attendance > b.attendance AS in_numerator",
        "share",
        "Share whose attendance went up",
    ),
):
    service_measure(
        ServiceMeasure(
            id=f"NS.attendance_{_role}",
            family="attendance",
            role=_role,
            statistic=_statistic,
            label="School attendance",
            polarity="higher_better",
            unit=_unit,
            definition=(
                f"{_words}: neglect services that ended in the period, children with "
                "attendance recorded in the last term that ended on or before the start and in "
                "the first term that started on or after the end."
            ),
        ),
        _attendance(_select),
    )


# --- within 12 months after the service ----------------------------------------------------------


def _data_end(ctx: MeasureContext) -> date | None:
    found = ctx.cached("neglect_data_end", lambda: pd.DataFrame({"end": [data_end(ctx.con)]}))
    return found["end"].iloc[0]


def _followed_up(select: str, where: str = "TRUE") -> Callable[[MeasureContext], pd.DataFrame]:
    """Services that ended in the period with all 12 months after the end in the data."""

    def units(ctx: MeasureContext) -> pd.DataFrame:
        end = _data_end(ctx)
        if end is None:
            return empty_units(*SLICES)
        complete = f"s.end_date + {FOLLOW_UP_DAYS} <= $data_end"
        return _ended(ctx, select, f"{complete} AND ({where})", data_end=end)

    return units


def _after_end(table: str, day: str) -> str:
    return f"""EXISTS (SELECT 1 FROM {table} x WHERE x.child_id = s.child_id
                       AND x.{day} > s.end_date
                       AND x.{day} <= s.end_date + {FOLLOW_UP_DAYS})"""


_HAD_PLAN = """EXISTS (SELECT 1 FROM cp_plans p WHERE p.child_id = s.child_id
                       AND p.start_date <= s.end_date)"""

service_measure(
    ServiceMeasure(
        id="NS.rereferral_12m",
        family="rereferral",
        role="outcome",
        statistic="proportion",
        label="Re-referred within 12 months",
        polarity="lower_better",
        unit="share",
        definition=(
            "Neglect services that ended in the period, with a full 12 months of data since: "
            "the share of children with a new referral to children's social care in the 365 "
            "days after the service ended."
        ),
    ),
    _followed_up(f"{_after_end('referrals', 'referral_date')} AS in_numerator"),
)
service_measure(
    ServiceMeasure(
        id="NS.repeat_cp_12m",
        family="repeat_cp",
        role="outcome",
        statistic="proportion",
        label="New child protection plan within 12 months",
        polarity="lower_better",
        unit="share",
        definition=(
            "Neglect services that ended in the period, with a full 12 months of data since, "
            "for children who had a child protection plan starting on or before the day the "
            "service ended: the share with another plan starting in the 365 days after."
        ),
    ),
    _followed_up(f"{_after_end('cp_plans', 'start_date')} AS in_numerator", _HAD_PLAN),
)


def _awaiting(ctx: MeasureContext) -> pd.DataFrame:
    end = _data_end(ctx)
    if end is None:
        return _ended(ctx, "TRUE AS in_numerator")
    return _ended(ctx, f"s.end_date + {FOLLOW_UP_DAYS} > $data_end AS in_numerator", data_end=end)


service_measure(
    ServiceMeasure(
        id="NS.awaiting_follow_up",
        family="follow_up",
        role="awaiting",
        statistic="proportion",
        label="Ended too recently to judge",
        polarity="none",
        unit="share",
        definition=(
            "Of the neglect services that ended in the period, those whose 12 months after "
            "the end are not all in the data yet."
        ),
    ),
    _awaiting,
)


# --- counts --------------------------------------------------------------------------------------


def _served(ctx: MeasureContext) -> pd.DataFrame:
    table = services_table(ctx)
    return _units(
        ctx.sql(
            f"""SELECT child_id || ' / ' || service || ' / ' || provider AS unit_id, child_id,
                       service, provider, TRUE AS in_denominator,
                       bool_or(start_date >= $start) AS in_numerator
                FROM {table}
                WHERE start_date <= $end AND (end_date IS NULL OR end_date >= $start)
                GROUP BY child_id, service, provider
                ORDER BY unit_id"""
        )
    )


service_measure(
    ServiceMeasure(
        id="NS.children_served",
        family="served",
        role="count",
        statistic="proportion",
        label="Children served",
        polarity="none",
        unit="count",
        definition=(
            "Children receiving a neglect service at any time in the period (a child is "
            "counted once per service and provider); the share whose service started in it."
        ),
    ),
    _served,
)


def _neglect_group(ctx: MeasureContext) -> pd.DataFrame:
    return _units(
        ctx.sql(
            f"""SELECT child_id AS unit_id, child_id, TRUE AS in_denominator,
                       child_id IN ({GROUP_SQL[NEGLECT]}) AS in_numerator
                FROM ({GROUP_SQL["cin"]}) WHERE child_id IS NOT NULL
                ORDER BY child_id"""
        )
    )


service_measure(
    ServiceMeasure(
        id="NS.neglect_group",
        family="cohort",
        role="count",
        statistic="proportion",
        label="Children in the neglect group",
        polarity="none",
        unit="count",
        definition=(
            "Children in need in the period (a CiN episode open at any time in it); the "
            "numerator is those in the neglect group."
        ),
    ),
    _neglect_group,
)


def family_ids(family: str) -> dict[str, str]:
    """role -> measure id, for one family."""
    return {i.role: i.id for i in MEASURE_INFO.values() if i.family == family}


__all__ = [
    "FOLLOW_UP_DAYS",
    "MEASURE_INFO",
    "NEGLECT",
    "PRACTICAL",
    "SERVICE_MEASURES",
    "TERMS",
    "ServiceMeasure",
    "chosen_tool",
    "data_end",
    "family_ids",
    "service_measure",
    "services_table",
]
