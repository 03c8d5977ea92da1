"""The Neglect page's views: the neglect group, and what commissioned neglect services achieved.

Every number comes from the one aggregator's own steps (``prepare`` → ``summarise`` →
``protect``, as ``journeys.py`` uses them) over the measures of
``framework/engine/measures/services.py`` (which defines each measure in words): counts,
shares, means, 95% intervals and disclosure control. Nothing here works out a rate or an
interval; the funnel limits come from ``funnel.py`` (Spiegelhalter 2005).

* ``neglect_cohort``: the neglect group of ``dimensions.py`` in words, how many children were in
  it this period and up to four before (only years the CiN census in the store covers), and by
  locality and national IMD decile: a share of the children in need, and per 10,000 children
  aged 0-17 living there (the engine's rate function, on the count shown).
* ``service_outcomes``: one tidy table, a row per service × provider × measure (with "All
  providers" and "All services" rows): before, after and the paired change with intervals, the
  reading of the change ("better", "worse", "no clear change": better or worse only when the
  change's interval leaves out 0), for practical measures how many children improved and how
  many got worse, and what is hidden or missing, in words; beside it, the children each
  service and provider served in the period.
* ``provider_funnel``: one share across providers, with the funnel's 95% and 99.8% limits
  around the all-provider average and each provider's position; the services of up to
  ``years`` periods can be pooled (summed, then protected once: ``_pooled_outcome_results``).
* ``small_number_warnings``: sentences where numbers are too small to judge.
* ``services_available``: the services, providers, periods and measures to choose from.

**Disclosure control across measures.** The aggregator protects each measure on its own, and
protects a mean only by its number of units. Measures here share units, so three rules carry its
hiding across them (they only ever hide more):

* a practical measure's paired change is hidden wherever its "before" or "after" share is
  hidden: otherwise the change and the share shown would give back the hidden count;
* a practical change is the mean of −1, 0 and +1, so its interval gives back how many children
  improved (k+) and how many got worse (k-): its width gives the standard deviation, so
  k+ + k-, and n × the mean is k+ − k-. The change's interval and reading, and the two counts
  (shares ``NS.<m>_improved`` and ``NS.<m>_worse``, protected by the aggregator), are shown
  only where before, after, improved and worse are all shown, and no hidden cell's pair can be
  worked out from a total (``_paired_hidden``). The mean itself stays: it is after − before;
* the means of the tool score and of attendance are hidden wherever the share that improved,
  over the same children, has its number of children hidden (primary or secondary suppression),
  so that a hidden provider's number of children cannot be worked back from the service's
  total and the other providers'.

Pooled years (the funnel) are protected on their pooled counts, and a pooled count is hidden
too where exactly one year's count in it is hidden (each year is shown on its own); then the
aggregator's secondary suppression runs again, with its converse for totals hidden here: a
hidden total whose parts are all shown has its smallest part hidden (``_hide_more``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from framework.engine import aggregate, funnel, inequality, precompute
from framework.engine.aggregate import Query, _Cache, conform_results, prepare
from framework.engine.dimensions import CHILD_DIMENSIONS, GROUP_LABELS
from framework.engine.measures import services as sm
from framework.engine.periods import Period
from framework.engine.place import IMD_DECILES, area_names
from framework.engine.summaries import UNKNOWN, WHOLE, Batch, Prepared, summarise
from framework.engine.suppression import (
    COUNTED,
    HIDDEN_ALWAYS,
    HIDDEN_WITH_COHORT,
    _apply,
    _hide_small_non_response,
    _Secondary,
    protect,
)
from framework.engine.views import direction
from framework.formatting import percent

# The neglect group of dimensions.GROUP_SQL["neglect"] (the measure NS.neglect_group runs that
# SQL itself), in words for the page.
NEGLECT_DEFINITION = (
    "Children with a child in need episode open at any time in the period whose primary need "
    "was abuse or neglect (code N1), where neglect was recorded for that episode: either as the "
    "category of a child protection plan (initial or latest category NEG), or as a factor "
    "identified at assessment (factor 16A, neglect). Children whose plan category is "
    "'multiple' (MUL) are not counted, because the return does not say which categories."
)
ALL_SERVICES = "All services"
ALL_PROVIDERS = "All providers"
OK = "ok"
TOO_FEW = "too few to show (hidden to protect children's privacy)"
NOT_OPTED_IN = "no data returned (provider has not opted in)"
OTHER_TOOL = "no data returned for this tool (its scores use another tool, left out)"
NO_PAIRS = "none in this period with both measures recorded"
NO_FOLLOW_UP = "none in this period with 12 months of follow-up"
NONE_SERVED = "no child served in this period"
INTERVAL_HIDDEN = (
    "Where few children improved or few got worse, a change is shown without its interval "
    "or a reading, and without those numbers: the interval would give them away."
)
SERVED_COLUMNS = ["service", "provider", "children", "started", "suppressed", "status"]
MIN_CHILDREN = 20  # fewer children than this: too few to judge
MAX_WIDTH = 0.30  # an interval of a share wider than 30 percentage points: read with care

# The measure families shown in the outcomes table, in order, and their measures by column.
OUTCOME_FAMILIES = ("clothed", "breakfast", "sleep", "tool", "attendance")
FOLLOW_UP_FAMILIES = ("rereferral", "repeat_cp")
OPT_IN_FAMILIES = ("clothed", "breakfast", "sleep", "tool")  # recorded by the provider
COLUMNS = {  # family -> (before, after, change, children counted by)
    **{f: (f"NS.{f}_before", f"NS.{f}_after", f"NS.{f}_change", "before") for f in sm.PRACTICAL},
    "tool": ("NS.tool_before", "NS.tool_after", "NS.tool_improvement", "change"),
    "attendance": (
        "NS.attendance_before",
        "NS.attendance_after",
        "NS.attendance_change",
        "change",
    ),
    "rereferral": (None, "NS.rereferral_12m", None, "after"),
    "repeat_cp": (None, "NS.repeat_cp_12m", None, "after"),
}
GUARDS = {"tool": "NS.tool_improved", "attendance": "NS.attendance_improved"}
# Practical family -> (children put right, children who slipped): shares over the children of
# the paired change, so the aggregator protects the two counts its interval would give back.
PAIRED = {f: (f"NS.{f}_improved", f"NS.{f}_worse") for f in sm.PRACTICAL}
NOTE_MEASURES = ("NS.tool_other", "NS.awaiting_follow_up")
OUTCOME_IDS = tuple(
    dict.fromkeys(
        [
            *(m for f in (*OUTCOME_FAMILIES, *FOLLOW_UP_FAMILIES) for m in COLUMNS[f][:3] if m),
            *(m for pair in PAIRED.values() for m in pair),
            *GUARDS.values(),
            *NOTE_MEASURES,
        ]
    )
)
PAIRED_IDS = frozenset(m for pair in PAIRED.values() for m in pair)  # table columns, no funnel
CROSSED = ("service", "provider")  # every outcome is evaluated by these, crossed and alone
FUNNEL_YEARS = (1, 2, 3)  # years of services the funnel can pool
FUNNEL_YEARS_SHOWN_FIRST = 3  # one year leaves most providers with too few children to show


# --- evaluation through the aggregator's steps ---------------------------------------------------


def evaluate_measures(
    con: duckdb.DuckDBPyConnection,
    ids: tuple[str, ...],
    periods: list[Period],
    *,
    by: tuple[str, ...] = (),
    separately: tuple[str, ...] = (),
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> dict[Period, pd.DataFrame]:
    """The results table (``aggregate.RESULT_COLUMNS``) of these service measures for each
    period: the whole cohort and each slicing (``by`` crossed, then each of ``separately``),
    made and protected by the aggregator's own steps, as ``evaluate`` makes them for catalogue
    indicators (no change from the period before: the change here is before → after)."""
    _check_where(where)
    measures = [sm.SERVICE_MEASURES[i] for i in ids]
    slicings = _slicings(by, separately)
    cache = _Cache(con)
    found = {}
    try:
        for period in periods:
            query = _query(ids, period, by, separately, where, threshold)
            current = summarise(*prepare(cache, measures, period, query), slicings)
            found[period] = _protected(current, period, threshold)
    finally:
        cache.close()
    return found


def _check_where(where) -> None:
    unplaceable = [d for d, _ in where if d not in CHILD_DIMENSIONS]
    if unplaceable:
        raise ValueError(f"cannot restrict to {unplaceable}; choose from {CHILD_DIMENSIONS}")


def _slicings(by: tuple[str, ...], separately: tuple[str, ...]) -> list[tuple[str, ...]]:
    return ([tuple(by)] if by else []) + [(d,) for d in separately if (d,) != tuple(by)]


def _query(ids, period: Period, by, separately, where, threshold: int) -> Query:
    return Query(
        tuple(ids), period, by=tuple(by), separately=tuple(separately), where=tuple(where),
        threshold=threshold, with_change=False,
    )  # fmt: skip


def _protected(current: pd.DataFrame, period: Period, threshold: int) -> pd.DataFrame:
    """The aggregator's disclosure control and results contract on one summary."""
    results = protect(current, threshold)
    results["period"] = period.label
    return conform_results(results)


def _period(period: Period | str) -> Period:
    return period if isinstance(period, Period) else Period.parse(period)


def _kept(con, name: str, key: tuple, make):
    """``make()`` once per store version (``precompute.kept_result``): the outcomes, served
    counts and pooled outcomes are the same for every measure, service and person asking, and
    take seconds each, so a page's next measure or service is read, not worked out again."""
    return precompute.kept_result(aggregate.store_identity(con), f"neglect.{name}", key, make)


def _outcome_results(con, period: Period, where, threshold: int) -> pd.DataFrame:
    """Every outcome measure by service, by provider, and by both, with hiding carried
    across measures that share units (see the module docstring)."""

    def make() -> pd.DataFrame:
        results = evaluate_measures(
            con, OUTCOME_IDS, [period], by=CROSSED, separately=CROSSED, where=where,
            threshold=threshold,
        )[period]  # fmt: skip
        return carry_hiding(results)

    return _kept(con, "outcomes", (period.label, tuple(where), threshold), make)


def _pooled_outcome_results(con, periods: list[Period], where, threshold: int) -> pd.DataFrame:
    """``_pooled_outcomes`` worked out once per store version (``_kept``)."""
    key = (tuple(p.label for p in periods), tuple(where), threshold)
    return _kept(con, "pooled", key, lambda: _pooled_outcomes(con, periods, where, threshold))


def _pooled_outcomes(con, periods: list[Period], where, threshold: int) -> pd.DataFrame:
    """Every outcome measure, as ``_outcome_results``, over the services that ended in any of
    ``periods`` (oldest first; the last is the period asked for), summed and protected once.

    Each period's units are the measures' own for that period (``prepare``, with its own
    restriction to ``where``). They go into one batch, measure by measure, and are summed
    (``summarise``) and protected (``protect``) once, as one period's units would be: a share
    is hidden by its pooled count, never by a year's. A unit is a child's service episode,
    which has one end date, so no unit ends in two periods; its id and its child's id are
    still prefixed by the period, so that no two can ever merge and each unit is joined to its
    child's dimensions in its own period. With one period this is ``_outcome_results``.

    Each year is also shown on its own (the outcomes table, a funnel of one year), so a pooled
    count is a sum of published parts: where exactly one year's count in it is hidden, the
    pooled count less the years shown would give it back. There the pooled count is hidden
    too, and the aggregator's secondary suppression runs again over the pooled results
    (``_years_hidden``, ``_hide_more``): the aggregator's rule for a sum with one hidden part,
    which only ever hides more."""
    _check_where(where)
    measures = [sm.SERVICE_MEASURES[i] for i in OUTCOME_IDS]
    slicings = _slicings(CROSSED, CROSSED)
    cache = _Cache(con)
    batches, years = [], []
    try:
        for each in periods:
            query = _query(OUTCOME_IDS, each, CROSSED, CROSSED, where, threshold)
            batch, dims = prepare(cache, measures, each, query)
            batches.append((each, batch, dims))
            if len(periods) > 1:  # the year as it is shown on its own: raw, and protected
                current = summarise(batch, dims, slicings)
                shown = carry_hiding(_protected(current, each, threshold))
                years.append((conform_results(current), shown))
        pooled = summarise(*_pooled_batch(batches), slicings)
    finally:
        cache.close()
    results = protect(pooled, threshold)
    if years:
        count, cohort = _years_hidden(conform_results(pooled), years)
        results = _hide_more(pooled, results, count, cohort, threshold)
    results["period"] = periods[-1].label
    return carry_hiding(conform_results(results))


def _pooled_batch(batches) -> tuple[Batch, pd.DataFrame | None]:
    """One batch of every period's units (see ``_pooled_outcome_results``) and the child
    dimensions of every period, their child ids prefixed alike."""
    parts: dict[int, list[Prepared]] = {}
    status: dict[str, dict] = {}
    children = []
    for period, batch, dims in batches:
        prefix = f"{period.label}|"
        for item in batch.prepared:
            units = item.units.assign(
                unit_id=prefix + item.units["unit_id"].astype("string"),
                child_id=prefix + item.units["child_id"].astype("string"),
            )
            parts.setdefault(item.code, []).append(replace(item, units=units))
        for row in batch.status_rows:  # "no data": the latest period's word
            status[row["indicator_id"]] = row
        if dims is not None:
            children.append(dims.assign(child_id=prefix + dims["child_id"].astype("string")))
    pooled = Batch()
    for code in sorted(parts):
        units = pd.concat([item.units for item in parts[code]], ignore_index=True)
        pooled.prepared.append(replace(parts[code][0], units=units))
    counted = {item.measure.indicator_id for item in pooled.prepared}
    pooled.status_rows = [row for i, row in status.items() if i not in counted]
    return pooled, pd.concat(children, ignore_index=True) if children else None


def _years_hidden(pooled: pd.DataFrame, years: list[tuple[pd.DataFrame, pd.DataFrame]]):
    """(count, cohort): the pooled shares whose count (numerator), or whose number of
    children (denominator), has exactly one year's hidden in it, so must be hidden too.
    ``years``: each year's (raw, shown) results; a hidden count of 0 gives nothing away, as
    in the aggregator."""
    hidden: dict[str, Counter] = {"numerator": Counter(), "denominator": Counter()}
    for raw, shown in years:
        keys = shown["indicator_id"].astype("string") + "|" + _cell_keys(shown)
        ok = (shown["status"] == OK) & shown["statistic"].isin(COUNTED)
        for column, found in hidden.items():
            concealed = ok & shown[column].isna() & (raw[column].astype("Float64") > 0)
            found.update(keys[concealed.fillna(False).to_numpy(bool)])
    keys = pooled["indicator_id"].astype("string") + "|" + _cell_keys(pooled)
    ok = ((pooled["status"] == OK) & pooled["statistic"].isin(COUNTED)).to_numpy(bool)
    return tuple(
        ok & (keys.map(hidden[column]).fillna(0).to_numpy(float) == 1)
        for column in ("numerator", "denominator")
    )


def _hide_more(current: pd.DataFrame, results: pd.DataFrame, count, cohort, threshold: int):
    """``protect``'s results with these rows' counts (``count``) and cohorts (``cohort``)
    hidden as well, and the aggregator's secondary suppression run again from there
    (``_suppress_both_ways``)."""
    if not (count | cohort).any():
        return results
    hidden = results["suppressed"].to_numpy(dtype=bool)
    units = results["units"].to_numpy(dtype=float, na_value=np.nan)
    hidden_cohort = hidden & np.isnan(units) & current["units"].notna().to_numpy()
    if not ((count & ~hidden) | (cohort & ~hidden_cohort)).any():
        return results
    frame = current.reset_index(drop=True)
    for column in ("category", "key"):
        if column not in frame:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    statistic = frame["statistic"].to_numpy(dtype=object)
    ok = (frame["status"] == OK).to_numpy() & (statistic != "fact")
    numbers = [
        frame[c].to_numpy(dtype=float, na_value=np.nan) for c in ("numerator", "denominator")
    ]
    secondary = _Secondary(frame, ok & np.isin(statistic, COUNTED), *numbers)
    with_cohort = ok & (hidden_cohort | cohort)
    secondary.hide(np.flatnonzero(with_cohort), with_cohort=True)
    secondary.hide(np.flatnonzero(ok & (hidden | count) & ~with_cohort), with_cohort=False)
    _suppress_both_ways(secondary)
    out = _apply(frame, secondary.hidden_count, secondary.hidden_cohort)
    _hide_small_non_response(out, ok, threshold)
    return out


def _suppress_both_ways(secondary: _Secondary) -> None:
    """The aggregator's secondary suppression (a sum with one hidden part: one more part is
    hidden), and its converse for a total hidden here though its parts are all shown (the
    aggregator hides a total only when its parts are): the total would be the parts' sum, so
    the smallest of them is hidden too (a non-zero one). Repeated until neither hides more."""
    sums = secondary.sums
    owner = sums.owner
    column = sums.column[owner]
    position = np.arange(len(owner))
    present = sums.total >= 0
    totals = np.where(present, sums.total, 0)
    while True:
        secondary.run()
        if not len(owner):
            return
        values = secondary.current[column, sums.rows]
        counts = secondary.original[column, sums.rows]
        shown = ~np.isnan(values) & (counts > 0)
        hidden_parts = np.bincount(owner, weights=~shown & (counts > 0), minlength=len(present))
        total_hidden = (
            present
            & np.isnan(secondary.current[sums.column, totals])
            & (secondary.original[sums.column, totals] > 0)
        )
        bare = total_hidden & (hidden_parts == 0)
        score = np.where(bare[owner] & shown, counts, np.inf)
        order = np.lexsort((position, score, owner))
        first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
        chosen = first[np.isfinite(score[first])]
        if not len(chosen):
            return
        secondary.hide(sums.rows[chosen][column[chosen] == 0], with_cohort=False)
        secondary.hide(sums.rows[chosen][column[chosen] == 1], with_cohort=True)


def _cell_keys(rows: pd.DataFrame) -> pd.Series:
    parts = [rows[c].astype("string").fillna("") for c in ("slice", "service", "provider")]
    return parts[0] + "|" + parts[1] + "|" + parts[2]


def carry_hiding(results: pd.DataFrame) -> pd.DataFrame:
    """Hide, in each cell, what would give back a number the aggregator hid in another
    measure over the same units (only ever hides more; see the module docstring)."""
    out = results.copy()
    keys = _cell_keys(out)
    suppressed = out["suppressed"].fillna(False).astype(bool)

    def cells_of(measure_id: str, mask: pd.Series) -> set[str]:
        return set(keys[(out["indicator_id"] == measure_id) & mask])

    hide = pd.Series(False, index=out.index)
    interval = pd.Series(False, index=out.index)  # a change's interval only
    for family in sm.PRACTICAL:
        before, after, change, _ = COLUMNS[family]
        hidden = cells_of(before, suppressed) | cells_of(after, suppressed)
        hide |= (out["indicator_id"] == change) & keys.isin(hidden)
        paired = _paired_hidden(out, keys, suppressed, family)
        hide |= out["indicator_id"].isin(PAIRED[family]) & keys.isin(paired)
        interval |= (out["indicator_id"] == change) & keys.isin(paired)
    for family, guard in GUARDS.items():
        cohort_hidden = suppressed & out["denominator"].isna()
        hidden = cells_of(guard, cohort_hidden)
        members = [m for m in COLUMNS[family][:3] if m]
        hide |= out["indicator_id"].isin(members) & keys.isin(hidden)
    ok = out["status"] == OK
    hide &= ok
    interval &= ok & ~hide
    for column in (*HIDDEN_ALWAYS, *HIDDEN_WITH_COHORT):
        if column in out:
            out[column] = out[column].astype("Float64").mask(hide.to_numpy())
    for column in ("ci_low", "ci_high"):
        out[column] = out[column].astype("Float64").mask(interval.to_numpy())
    out["suppressed"] = (suppressed | hide | interval).astype("boolean")
    return out


# The counts of one practical family in one cell: before and after (children with the need
# met), improved and worse (put right, slipped), n (children with both recorded).
_ROLES = ("before", "after", "improved", "worse")


def _paired_hidden(out: pd.DataFrame, keys: pd.Series, suppressed, family: str) -> set[str]:
    """The cells whose numbers who improved and who got worse must not be shown (nor the
    change's interval, which gives both back: its width the number who changed, its mean the
    difference).

    A cell's pair is shown only where its before, after, improved and worse counts all are: a
    hidden one comes back from the other three (improved − worse = after − before). Then, like
    the aggregator's secondary suppression but over the pair: in each sum (the providers of a
    service, the services of a provider, the services or the providers of the whole) whose
    total's pair is shown, no hidden cell's pair may be worked out from the total, the shown
    cells and what each hidden cell's own numbers bound it by (improved lies between
    max(0, after − before) and min(after, n − before); worse = improved − (after − before)).
    Where one could be, one more cell is hidden (the smallest whose counts are strictly inside
    those bounds, which always leaves two answers or more), or else the total."""
    ok = out["status"] == OK
    ids = dict(zip(_ROLES, (*COLUMNS[family][:2], *PAIRED[family]), strict=True))
    cells: dict[tuple, dict[str, float]] = {}
    names: dict[tuple, str] = {}
    for role, measure_id in ids.items():
        rows = out[ok & (out["indicator_id"] == measure_id)]
        found = zip(keys[rows.index], suppressed[rows.index], rows.to_dict("records"), strict=True)
        for key, hid, row in found:
            place = (row["slice"], _text(row["service"]), _text(row["provider"]))
            names[place] = key
            cell = cells.setdefault(place, {})
            cell[role] = np.nan if hid else _float(row["numerator"])
            if not math.isnan(_float(row["denominator"])):
                cell["n"] = _float(row["denominator"])
    hidden = {p for p, c in cells.items() if any(math.isnan(c.get(r, np.nan)) for r in _ROLES)}
    sums = _pair_sums(cells)
    changed = True
    while changed:
        changed = False
        for total, parts in sums:
            if total in hidden or not any(p in hidden for p in parts):
                continue
            if not _pair_pinned(cells, total, parts, hidden):
                continue
            inside = [p for p in parts if p not in hidden and _inside(cells[p])]
            hidden.add(min(inside, key=lambda p: (cells[p]["n"], p)) if inside else total)
            changed = True
    return {names[p] for p in hidden}


def _text(value) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _pair_sums(cells: dict) -> list[tuple[tuple, list[tuple]]]:
    """(total, parts) for every sum of the cells (the slicings of ``CROSSED``)."""
    sums: dict[tuple, list[tuple]] = {}
    for place in cells:
        slicing, service, provider = place
        if slicing in ("service", "provider"):
            sums.setdefault(((WHOLE, "", ""), slicing), []).append(place)
        elif slicing == "service×provider":
            sums.setdefault((("service", service, ""), "by provider"), []).append(place)
            sums.setdefault((("provider", "", provider), "by service"), []).append(place)
    return [(total, parts) for (total, _), parts in sums.items() if total in cells]


def _pair_bounds(cell: dict) -> tuple[float, float, float, float, float | None]:
    """What a cell's own shown numbers say of its improved (k+) and worse (k-) counts:
    (lowest k+, highest k+, lowest k-, highest k-, k+ − k- when after and before are shown)."""
    n, before, after = (cell.get(r, np.nan) for r in ("n", "before", "after"))
    n = math.inf if math.isnan(n) else n
    plus_high = min([n, *(v for v in (after, n - before) if not math.isnan(v))])
    minus_high = min([n, *(v for v in (before, n - after) if not math.isnan(v))])
    if math.isnan(before) or math.isnan(after):
        return 0.0, plus_high, 0.0, minus_high, None
    difference = after - before
    return max(0.0, difference), plus_high, max(0.0, -difference), minus_high, difference


def _inside(cell: dict) -> bool:
    """A shown cell whose improved count lies strictly inside its own bounds."""
    low, high, *_ = _pair_bounds(cell)
    return low < cell["improved"] < high


def _pair_pinned(cells: dict, total: tuple, parts: list[tuple], hidden: set) -> bool:
    """Whether a hidden part's improved or worse count follows from the total's, the shown
    parts' and every hidden part's own bounds (one sum at a time, as the aggregator does)."""
    shown = [p for p in parts if p not in hidden]
    rest = {
        role: cells[total][role] - sum(cells[p][role] for p in shown)
        for role in ("improved", "worse")
    }
    bounds = {p: _pair_bounds(cells[p]) for p in parts if p in hidden}
    ranges = {}
    for role, (low_at, high_at) in (("improved", (0, 1)), ("worse", (2, 3))):
        for p, own in bounds.items():
            others = [b for q, b in bounds.items() if q != p]
            ranges[p, role] = (
                max(own[low_at], rest[role] - sum(b[high_at] for b in others)),
                min(own[high_at], rest[role] - sum(b[low_at] for b in others)),
            )
    for p, (plus_low, plus_high, minus_low, minus_high, difference) in bounds.items():
        (a, b), (c, d) = ranges[p, "improved"], ranges[p, "worse"]
        if difference is not None:
            if plus_high > plus_low and min(b, d + difference) - max(a, c + difference) < 0.5:
                return True
            continue
        if (plus_high > plus_low and b - a < 0.5) or (minus_high > minus_low and d - c < 0.5):
            return True
    return False


# --- the neglect group ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NeglectCohort:
    """The neglect group: counts are children; ``share`` is of the children in need; hidden
    counts (and everything built on them) are missing with ``suppressed`` true."""

    label: str  # "Neglect"
    definition: str  # the group in words
    period: str
    trend: pd.DataFrame  # period + COHORT_COLUMNS, oldest first
    by_locality: pd.DataFrame  # locality + COHORT_COLUMNS
    by_imd_decile: pd.DataFrame  # imd_decile ("1" most deprived … "10", "unknown")


COHORT_COLUMNS = [
    "children",  # in the neglect group
    "children_in_need",  # the share's denominator
    "share",
    "ci_low",
    "ci_high",
    "per_10000",  # children in the group per 10,000 aged 0-17 living there
    "per_10000_low",
    "per_10000_high",
    "suppressed",
    "status",
]
PLACE_COLUMNS = {"locality": "locality", "imd_decile": "imd_decile"}  # in ref_areas


def neglect_cohort(
    con: duckdb.DuckDBPyConnection,
    period: Period | str,
    *,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
    years: int = 5,
) -> NeglectCohort:
    """The neglect group this period and up to ``years`` − 1 before (from the first CiN
    census year in the store), and this period by locality and by national IMD decile."""
    period = _period(period)
    periods = _covered(con, period.up_to(years))
    # Protected by the aggregator with every place filter, period and half (the overview's
    # children in need are this denominator), so a count hidden in one view is hidden in all.
    results = aggregate.evaluate_measures(
        con, [sm.SERVICE_MEASURES["NS.neglect_group"]], periods,
        separately=tuple(PLACE_COLUMNS), where=tuple(where), threshold=threshold,
    )  # fmt: skip
    trend = []
    for each in periods:
        whole = results[each][results[each]["slice"] == WHOLE]
        trend.append(_cohort_rows(con, whole, None, where).assign(period=each.label))
    current = results[period]
    return NeglectCohort(
        label=GROUP_LABELS["neglect"],
        definition=NEGLECT_DEFINITION,
        period=period.label,
        trend=pd.concat(trend, ignore_index=True)[["period", *COHORT_COLUMNS]],
        by_locality=_by_place(con, current, "locality", where),
        by_imd_decile=_by_place(con, current, "imd_decile", where),
    )


def _covered(con, periods: list[Period]) -> list[Period]:
    """The periods from the first CiN census year in the store (earlier years would count
    only the children whose episodes were still open when the returns began); the period
    asked for is always kept."""
    first = con.execute(
        """SELECT least(
               (SELECT min(collection_year) FROM load_files
                WHERE source = 'cin_census' AND collection_year > 0),
               (SELECT min(collection_year) FROM referrals WHERE collection_year > 0))"""
    ).fetchone()[0]
    if first is None:
        return periods[-1:]
    return [p for p in periods[:-1] if p.end_year >= first] + periods[-1:]


def _by_place(con, results: pd.DataFrame, dimension: str, where) -> pd.DataFrame:
    rows = results[(results["slice"] == dimension) & (results["status"] == OK)]
    table = _cohort_rows(con, rows, dimension, where)
    table.insert(0, dimension, rows[dimension].to_numpy())
    order = pd.to_numeric(table[dimension], errors="coerce")
    table = table.assign(_order=order).sort_values(["_order", dimension], na_position="last")
    return table.drop(columns="_order").reset_index(drop=True)[[dimension, *COHORT_COLUMNS]]


def _cohort_rows(con, rows: pd.DataFrame, dimension: str | None, where) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "children": rows["numerator"].to_numpy(dtype=float, na_value=np.nan),
            "children_in_need": rows["denominator"].to_numpy(dtype=float, na_value=np.nan),
            "share": rows["value"].to_numpy(dtype=float, na_value=np.nan),
            "ci_low": rows["ci_low"].to_numpy(dtype=float, na_value=np.nan),
            "ci_high": rows["ci_high"].to_numpy(dtype=float, na_value=np.nan),
            "suppressed": rows["suppressed"].fillna(False).astype(bool).to_numpy(),
            "status": rows["status"].astype(str).to_numpy(),
        }
    )
    places = rows[dimension].astype("string") if dimension else pd.Series([None] * len(rows))
    population = np.array([_population(con, where, dimension, p) for p in places], dtype=float)
    rate, low, high = (np.full(len(table), np.nan) for _ in range(3))
    known = (population > 0) & ~np.isnan(table["children"].to_numpy())
    if known.any():
        rate[known], low[known], high[known] = inequality.rate_per_10000(
            table["children"].to_numpy()[known], population[known]
        )
    return table.assign(per_10000=rate, per_10000_low=low, per_10000_high=high)


def _population(con, where, dimension: str | None, value) -> float:
    """Children aged 0-17 living in the authority's areas (``ref_areas``) in the place chosen
    (``where``) and, when sliced, in the slice; NaN when not known (an unknown place, or a
    restriction the population is not held by, such as sex)."""
    chosen = list(where) + ([(dimension, value)] if dimension else [])
    clauses, values = [], []
    for name, wanted in chosen:
        if name not in PLACE_COLUMNS or wanted is None or pd.isna(wanted) or wanted == UNKNOWN:
            return math.nan
        clauses.append(f"CAST({PLACE_COLUMNS[name]} AS VARCHAR) = ?")
        values.append(str(wanted))
    condition = " AND ".join(clauses) or "TRUE"
    total = con.execute(
        f"SELECT sum(children_0_17) FROM ref_areas WHERE {condition}", values
    ).fetchone()[0]
    return float(total) if total else math.nan


# --- what the services achieved ------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceOutcomes:
    """The outcomes table and the notes a reader needs beside it.

    ``table`` has one row per service × provider × measure family, with these columns:
    service, provider (``ALL_SERVICES`` / ``ALL_PROVIDERS`` on total rows), family, measure
    (label), unit ("share": shares 0-1 and their difference; "score": the tool's points;
    "percent": attendance % and its change in percentage points), polarity (of the change, or
    of the share for follow-up measures), n (children counted: both measures recorded, or
    followed up), before, before_low, before_high, before_count, after, after_low, after_high,
    after_count (shares: children with the need met / re-referred), change, change_low,
    change_high, improved, improved_count, worse, worse_count (practical measures only: the
    share and number of children whose need was put right / slipped; missing elsewhere),
    reading ("better", "worse", "no clear change"; None without a change, or when the
    change's interval is hidden), suppressed (some number in the row is hidden), status
    (``OK``, ``TOO_FEW``, ``NOT_OPTED_IN``, ``OTHER_TOOL``, ``NO_PAIRS``, ``NO_FOLLOW_UP``).

    A practical row can show its change but not the change's interval, nor a reading, nor who
    improved and who got worse: the interval would give back those two numbers, which are
    hidden when either is from 1 to the threshold (see ``carry_hiding``).
    """

    period: str
    table: pd.DataFrame
    tool: str | None  # the one assessment tool whose scores are used
    tool_lower_is_better: bool | None
    tool_left_out: float | None  # services scored with another tool (missing when hidden)
    awaiting_follow_up: float | None  # ended too recently to judge (missing when hidden)
    data_end: date | None  # follow-up is complete up to this day
    notes: tuple[str, ...]  # the above in sentences
    # Children served (services open at any time in the period, not only those that ended):
    # service, provider, children (a child once per service and provider), started (their
    # service started in the period), suppressed, status (OK, TOO_FEW or NONE_SERVED).
    served: pd.DataFrame


TABLE_COLUMNS = [
    "service", "provider", "family", "measure", "unit", "polarity", "n",
    "before", "before_low", "before_high", "before_count",
    "after", "after_low", "after_high", "after_count",
    "change", "change_low", "change_high",
    "improved", "improved_count", "worse", "worse_count",
    "reading", "suppressed", "status",
]  # fmt: skip


def service_outcomes(
    con: duckdb.DuckDBPyConnection,
    period: Period | str,
    *,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> ServiceOutcomes:
    """The outcomes of neglect services that ended in the period (see ``ServiceOutcomes``)."""
    period = _period(period)
    results = _outcome_results(con, period, where, threshold)
    cells = _cells(results)
    recorded = _recorded(con)
    rows = [
        _table_row(cells, recorded, service, provider, family)
        for service, provider in _row_order(recorded)
        for family in (*OUTCOME_FAMILIES, *FOLLOW_UP_FAMILIES)
    ]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    tool = sm.chosen_tool(con)
    left_out = _note_count(cells, "NS.tool_other")
    awaiting = _note_count(cells, "NS.awaiting_follow_up")
    end = sm.data_end(con)
    lower = _tool_lower_is_better(con, tool)
    return ServiceOutcomes(
        period=period.label,
        table=table,
        tool=tool,
        tool_lower_is_better=lower,
        tool_left_out=left_out,
        awaiting_follow_up=awaiting,
        data_end=end,
        notes=_notes(tool, lower, left_out, awaiting, end, table),
        served=_served(con, period, where, threshold, recorded),
    )


def _served(con, period: Period, where, threshold: int, recorded) -> pd.DataFrame:
    """Children served per service and provider (``NS.children_served``)."""
    measure = "NS.children_served"
    results = _kept(
        con, "served", (period.label, tuple(where), threshold),
        lambda: evaluate_measures(
            con, (measure,), [period], by=CROSSED, separately=CROSSED, where=where,
            threshold=threshold,
        )[period],
    )  # fmt: skip
    cells = _cells(results)
    rows = []
    for service, provider in _row_order(recorded):
        cell = cells.get((measure, *_slice_of(service, provider)))
        children = np.nan if cell is None else _float(cell["denominator"])
        status = NONE_SERVED if cell is None else (TOO_FEW if math.isnan(children) else OK)
        rows.append(
            {
                "service": service,
                "provider": provider,
                "children": children,
                "started": np.nan if cell is None else _float(cell["numerator"]),
                "suppressed": False if cell is None else bool(cell["suppressed"]),
                "status": status,
            }
        )
    return pd.DataFrame(rows, columns=SERVED_COLUMNS)


def _cells(results: pd.DataFrame) -> dict[tuple, dict]:
    """(measure, slice, service, provider) -> the row, for the rows the aggregator made."""
    ok = results[results["status"] == OK]
    found = {}
    for row in ok.to_dict("records"):
        service = None if pd.isna(row["service"]) else row["service"]
        provider = None if pd.isna(row["provider"]) else row["provider"]
        found[(row["indicator_id"], row["slice"], service, provider)] = row
    return found


def _recorded(con) -> pd.DataFrame:
    """Every service × provider of neglect services in the store, and whether it ever
    recorded each practical measure and a score under the chosen tool (providers opt in)."""
    practical = ", ".join(
        f"count({stem}_before) + count({stem}_after) > 0 AS {family}"
        for family, (stem, _) in sm.PRACTICAL.items()
    )
    scored = "(tool_score_before IS NOT NULL OR tool_score_after IS NOT NULL)"
    return con.execute(
        f"""SELECT service, provider, {practical},
                   count(*) FILTER (WHERE {scored} AND trim(tool_name) = $tool) > 0 AS tool,
                   count(*) FILTER (WHERE {scored}) > 0 AS any_tool
            FROM commissioned_services
            WHERE service_type = '{sm.NEGLECT}' AND service IS NOT NULL
              AND provider IS NOT NULL
            GROUP BY ALL ORDER BY service, provider""",
        {"tool": sm.chosen_tool(con) or ""},
    ).df()


def _row_order(recorded: pd.DataFrame) -> list[tuple[str, str]]:
    """All services first; then each service (all its providers, then each); then each
    provider across every service."""
    order = [(ALL_SERVICES, ALL_PROVIDERS)]
    for service in sorted(recorded["service"].unique()):
        order.append((service, ALL_PROVIDERS))
        providers = recorded.loc[recorded["service"] == service, "provider"]
        order += [(service, p) for p in sorted(providers)]
    order += [(ALL_SERVICES, p) for p in sorted(recorded["provider"].unique())]
    return order


def _slice_of(service: str, provider: str) -> tuple[str, str | None, str | None]:
    if service == ALL_SERVICES and provider == ALL_PROVIDERS:
        return WHOLE, None, None
    if service == ALL_SERVICES:
        return "provider", None, provider
    if provider == ALL_PROVIDERS:
        return "service", service, None
    return "service×provider", service, provider


def _opt_in_status(recorded: pd.DataFrame, service: str, provider: str, family: str):
    """NOT_OPTED_IN or OTHER_TOOL when the provider never recorded this family, else None."""
    if provider == ALL_PROVIDERS or family not in OPT_IN_FAMILIES:
        return None
    rows = recorded[recorded["provider"] == provider]
    if service != ALL_SERVICES:
        rows = rows[rows["service"] == service]
    if rows[family].any():
        return None
    return OTHER_TOOL if family == "tool" and rows["any_tool"].any() else NOT_OPTED_IN


def _numbers(cell: dict | None, name: str) -> dict:
    if cell is None:
        return {name: np.nan, f"{name}_low": np.nan, f"{name}_high": np.nan}
    return {
        name: _float(cell["value"]),
        f"{name}_low": _float(cell["ci_low"]),
        f"{name}_high": _float(cell["ci_high"]),
    }


def _float(value) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)


def _table_row(cells, recorded, service: str, provider: str, family: str) -> dict:
    before_id, after_id, change_id, counted_by = COLUMNS[family]
    key = _slice_of(service, provider)
    before = cells.get((before_id, *key)) if before_id else None
    after = cells.get((after_id, *key))
    change = cells.get((change_id, *key)) if change_id else None
    improved_id, worse_id = PAIRED.get(family, (None, None))
    improved = cells.get((improved_id, *key)) if improved_id else None
    worse = cells.get((worse_id, *key)) if worse_id else None
    info = sm.MEASURE_INFO[change_id or after_id]
    counted = {"before": before, "after": after, "change": change}[counted_by]
    row = {
        "service": service,
        "provider": provider,
        "family": family,
        "measure": info.label,
        "unit": {"tool": "score", "attendance": "percent"}.get(family, "share"),
        "polarity": info.polarity,
        "n": np.nan if counted is None else _float(_count_of(counted)),
        **_numbers(before, "before"),
        "before_count": _float(before["numerator"]) if before else np.nan,
        **_numbers(after, "after"),
        "after_count": _float(after["numerator"]) if after else np.nan,
        **_numbers(change, "change"),
        "improved": _float(improved["value"]) if improved else np.nan,
        "improved_count": _float(improved["numerator"]) if improved else np.nan,
        "worse": _float(worse["value"]) if worse else np.nan,
        "worse_count": _float(worse["numerator"]) if worse else np.nan,
    }
    row["reading"] = _reading(row["change"], row["change_low"], row["change_high"])
    parts = [c for c in (before, after, change, improved, worse) if c is not None]
    row["suppressed"] = any(bool(c["suppressed"]) for c in parts)
    row["status"] = _status(recorded, service, provider, family, counted, row)
    return row


def _count_of(cell: dict):
    """The children a cell counts: a share's denominator, a mean's units with a value."""
    return cell["denominator"] if cell["statistic"] == "proportion" else cell["units"]


def _reading(change: float, low: float, high: float) -> str | None:
    """Better or worse only when the change's interval leaves out 0 (every change here is
    measured so that up is better); no reading when the change or its interval is hidden
    (a reading would tell what the hidden interval says)."""
    if math.isnan(change) or math.isnan(low) or math.isnan(high):
        return None
    return direction(change, low > 0 or high < 0, "higher_better")


def _status(recorded, service, provider, family, counted, row) -> str:
    opted_out = _opt_in_status(recorded, service, provider, family)
    if opted_out:
        return opted_out
    if counted is None:
        return NO_FOLLOW_UP if family in FOLLOW_UP_FAMILIES else NO_PAIRS
    if math.isnan(row["n"]):
        return TOO_FEW
    return OK


def _note_count(cells: dict, measure_id: str) -> float | None:
    """The whole cohort's numerator of a note measure: 0 when there are no units at all."""
    cell = cells.get((measure_id, WHOLE, None, None))
    return 0.0 if cell is None else _float(cell["numerator"])


def _tool_lower_is_better(con, tool: str | None) -> bool | None:
    if tool is None:
        return None
    found = con.execute(
        f"""SELECT mode(tool_lower_is_better) FROM commissioned_services
            WHERE service_type = '{sm.NEGLECT}' AND trim(tool_name) = ?
              AND tool_lower_is_better IS NOT NULL""",
        [tool],
    ).fetchone()[0]
    return None if found is None else bool(found)


def _notes(tool, lower, left_out, awaiting, end, table: pd.DataFrame) -> tuple[str, ...]:
    notes = []
    if tool is None:
        notes.append("No neglect assessment tool scores are recorded.")
    else:
        direction_words = "a lower score is better" if lower else "a higher score is better"
        notes.append(
            f"Tool scores are those of the {tool}, the tool most records use ({direction_words}"
            "); improvement is counted so that a positive number is always better."
        )
        notes.append(_left_out_sentence(left_out))
    if end is None:
        notes.append("No CiN census is loaded, so re-referrals cannot be followed up.")
    else:
        notes.append(
            f"Re-referrals and new plans are followed up for 12 months after a service ends; "
            f"the data run to {end:%-d %B %Y}. {_awaiting_sentence(awaiting)}"
        )
    practical = table[table["family"].isin(sm.PRACTICAL) & (table["status"] == OK)]
    if (practical["change"].notna() & practical["change_low"].isna()).any():
        notes.append(INTERVAL_HIDDEN)
    return tuple(notes)


def _left_out_sentence(count: float) -> str:
    if math.isnan(count):
        return (
            "Some services scored with other tools were left out (the number is hidden to "
            "protect children's privacy)."
        )
    if count == 0:
        return "No services that ended in this period were scored with another tool."
    return f"{count:,.0f} services scored with another tool were left out, so scales never mix."


def _awaiting_sentence(count: float) -> str:
    if math.isnan(count):
        return (
            "Some services ended too recently to judge (the number is hidden to protect "
            "children's privacy)."
        )
    if count == 0:
        return "Every service that ended in this period has had its 12 months."
    return f"{count:,.0f} services ended too recently to judge."


# --- providers on a funnel plot ------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderFunnel:
    """One share across providers, for a funnel plot, over the services that ended in
    ``periods`` (``period`` and the years before it that were pooled).

    ``points``: provider, n (children), count, value, ci_low, ci_high, position (funnel.POSITIONS)
    and reading ("better than expected", "worse than expected", "as expected"; "higher/lower
    than expected" for measures without a direction). ``curves``: n, low_95, high_95, low_998,
    high_998 (the limits around ``average`` at each n, for drawing)."""

    period: str
    periods: tuple[str, ...]  # the periods whose services are pooled, oldest first
    measure_id: str
    label: str
    polarity: str
    service: str | None  # providers of this service only; None: across every service
    average: float | None  # the all-provider value, from the aggregator (missing when hidden)
    average_n: float | None
    points: pd.DataFrame
    curves: pd.DataFrame
    too_few: tuple[str, ...]  # providers whose numbers are hidden
    no_data: tuple[str, ...]  # providers with no children counted (not opted in, none ended)
    note: str


def provider_funnel(
    con: duckdb.DuckDBPyConnection,
    period: Period | str,
    measure_id: str,
    *,
    service: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
    years: int = 1,
) -> ProviderFunnel:
    """Each provider's share against the all-provider average, with funnel limits, over the
    services that ended in the period and the ``years`` − 1 periods before it, pooled
    (``_pooled_outcome_results``: summed and protected once). Years before the first in which
    a neglect service in the store ended are left out, and the note says so."""
    period = _period(period)
    info = sm.MEASURE_INFO.get(measure_id)
    if info is None or info.statistic != "proportion" or measure_id not in OUTCOME_IDS:
        choices = ", ".join(funnel_measures())
        raise ValueError(f"{measure_id!r} is not a share of the outcomes; choose from {choices}")
    periods = _pooled_periods(con, period, years)
    cells = _cells(_pooled_outcome_results(con, periods, where, threshold))
    recorded = _recorded(con)
    if service is not None:
        recorded = recorded[recorded["service"] == service]
    providers = sorted(recorded["provider"].unique())
    whole = (WHOLE, None, None) if service is None else ("service", service, None)
    average_cell = cells.get((measure_id, *whole))
    average = None if average_cell is None else _float(average_cell["value"])
    average_n = None if average_cell is None else _float(average_cell["denominator"])
    points, too_few, no_data = [], [], []
    for provider in providers:
        key = ("provider", None, provider) if service is None else (
            "service×provider", service, provider,
        )  # fmt: skip
        cell = cells.get((measure_id, *key))
        if cell is None:
            no_data.append(provider)
        elif bool(cell["suppressed"]) or pd.isna(cell["value"]):
            too_few.append(provider)
        else:
            points.append(_point(provider, cell, average, info.polarity))
    columns = ["provider", "n", "count", "value", "ci_low", "ci_high", "position", "reading"]
    points = pd.DataFrame(points, columns=columns)
    curves = _curves(average, points["n"], threshold)
    return ProviderFunnel(
        period=period.label,
        periods=tuple(p.label for p in periods),
        measure_id=measure_id,
        label=_funnel_label(info),
        polarity=info.polarity,
        service=service,
        average=average,
        average_n=average_n,
        points=points,
        curves=curves,
        too_few=tuple(too_few),
        no_data=tuple(no_data),
        note=_funnel_note(average, too_few, no_data, _pooled_words(periods, years)),
    )


def work_out_ahead(con: duckdb.DuckDBPyConnection, year: Period, threshold: int) -> None:
    """Work out what the neglect page shows first for a year with services in it (the
    outcomes table and the funnel's default pooling), for the whole authority and for each
    place the page's filters offer alone (each locality, ward and IMD decile), so that
    ``_kept`` holds it before anyone asks (precompute.py, after a load). Other measures and
    services of the funnel read the same pooled results. A place filter's first view was the
    slowest page of the load test's first round (3-4 s)."""
    if year.is_half or year.label not in services_available(con).periods:
        return
    first_measure = next(iter(funnel_measures()), None)
    for where in ((), *places_offered(con)):
        service_outcomes(con, year, where=where, threshold=threshold)
        if first_measure is not None:
            provider_funnel(
                con, year, first_measure, where=where, years=FUNNEL_YEARS_SHOWN_FIRST,
                threshold=threshold,
            )  # fmt: skip


def places_offered(con: duckdb.DuckDBPyConnection) -> list[tuple[tuple[str, str], ...]]:
    """Each place the pages' filters offer on its own, as a restriction (``where``): every
    locality and ward of the authority's small areas, and every IMD decile."""
    areas = area_names(con)
    return [
        *((("locality", name),) for name in areas["locality"]),
        *((("ward", name),) for name in areas["ward"]),
        *((("imd_decile", decile),) for decile in IMD_DECILES),
    ]


def _pooled_periods(con, period: Period, years: int) -> list[Period]:
    """``period`` and the ``years`` − 1 before it, oldest first, from the first financial
    year in which a neglect service in the store ended (the period asked for is kept)."""
    if isinstance(years, bool) or int(years) != years or years < 1:
        raise ValueError(f"years must be a whole number from 1, not {years!r}")
    if years > 1 and period.is_half:
        raise ValueError("services are pooled by whole years: choose a year such as 2024-25")
    periods = period.up_to(int(years))
    first = con.execute(
        f"""SELECT min(end_date) FROM commissioned_services
            WHERE service_type = '{sm.NEGLECT}' AND child_id IS NOT NULL
              AND start_date IS NOT NULL"""
    ).fetchone()[0]
    if first is None:
        return periods[-1:]
    first_year = first.year + 1 if first.month >= 4 else first.year
    return [p for p in periods[:-1] if p.end_year >= first_year] + periods[-1:]


def _pooled_words(periods: list[Period], years: int) -> str | None:
    """The sentence saying which years are pooled (none for one year, as asked)."""
    if years == 1:
        return None
    first, last = periods[0].label, periods[-1].label
    if len(periods) == 1:
        return (
            f"Services that ended in {last} only: no neglect service in the store ended "
            f"before it, so 1 year of the {years} asked for."
        )
    sentence = f"Services that ended from {first} to {last} ({len(periods)} years) pooled."
    if len(periods) < years:
        sentence += (
            f" No neglect service in the store ended before {first}, so {len(periods)} years "
            f"of the {years} asked for."
        )
    return sentence


def funnel_measures() -> dict[str, str]:
    """The shares a funnel can show: measure id -> label."""
    return {
        i: _funnel_label(sm.MEASURE_INFO[i])
        for i in OUTCOME_IDS
        if sm.MEASURE_INFO[i].statistic == "proportion"
        and sm.MEASURE_INFO[i].role not in ("other_tool", "awaiting")
        and i not in PAIRED_IDS
    }


def _funnel_label(info: sm.ServiceMeasure) -> str:
    suffix = {
        "before": " (before)",
        "after": " (at the end)",
        "improved": ": share improved",
    }.get(info.role, "")
    return info.label + suffix


def _point(provider: str, cell: dict, average: float | None, polarity: str) -> dict:
    value, n = _float(cell["value"]), _float(cell["denominator"])
    position = None
    if average is not None and not math.isnan(average):
        position = funnel.classify("proportion", value, n, average)
    return {
        "provider": provider,
        "n": n,
        "count": _float(cell["numerator"]),
        "value": value,
        "ci_low": _float(cell["ci_low"]),
        "ci_high": _float(cell["ci_high"]),
        "position": position,
        "reading": _funnel_reading(position, polarity),
    }


def _funnel_reading(position: str | None, polarity: str) -> str | None:
    if position is None:
        return None
    if position == funnel.WITHIN:
        return "as expected"
    above = position.startswith("above")
    if polarity not in ("higher_better", "lower_better"):
        return "higher than expected" if above else "lower than expected"
    good = above == (polarity == "higher_better")
    return "better than expected" if good else "worse than expected"


def _curves(average: float | None, sizes: pd.Series, threshold: int) -> pd.DataFrame:
    """The limits from the smallest number a provider could be shown with to a little past
    the largest provider."""
    if average is None or math.isnan(average) or sizes.empty:
        return funnel.funnel_curves("proportion", math.nan, [])
    smallest = threshold + 1
    largest = max(float(sizes.max()) * 1.2, smallest + 10.0)
    return funnel.funnel_curves("proportion", average, funnel.funnel_sizes(smallest, largest))


def _funnel_note(average, too_few, no_data, pooled: str | None = None) -> str:
    parts = [pooled] if pooled else []
    if average is None or math.isnan(average):
        parts.append("The all-provider average is hidden or missing, so there is no funnel.")
    else:
        parts.append(
            f"The line is the average of all providers ({percent(average)}); a provider "
            "outside the inner limits (95%) would be there by chance about 1 time in 20, "
            "outside the outer limits (99.8%) about 1 time in 500."
        )
    if too_few:
        parts.append(f"Too few to show: {', '.join(too_few)}.")
    if no_data:
        parts.append(f"No data returned: {', '.join(no_data)}.")
    return " ".join(parts)


# --- warnings in words ---------------------------------------------------------------------------


def small_number_warnings(
    con: duckdb.DuckDBPyConnection,
    period: Period | str,
    *,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> list[str]:
    """Sentences for the rows of ``service_outcomes`` that are too small to judge or have a
    wide interval, and for rows hidden to protect privacy. No hidden number is ever put into
    words."""
    table = service_outcomes(con, period, where=where, threshold=threshold).table
    return warnings_for(table)


def warnings_for(table: pd.DataFrame) -> list[str]:
    """The sentences of ``small_number_warnings`` for an outcomes table."""
    sentences = []
    for row in table.to_dict("records"):
        who = _who(row["service"], row["provider"])
        measure = row["measure"][0].lower() + row["measure"][1:]
        if row["status"] == TOO_FEW:
            sentences.append(
                f"{who}, {measure}: too few children to show; the figures are hidden to "
                "protect their privacy."
            )
            continue
        if row["status"] != OK:
            continue
        sentence = _small_or_wide(row)
        if sentence:
            sentences.append(f"{who}, {measure}: {sentence}")
    return sentences


def _who(service: str, provider: str) -> str:
    if service == ALL_SERVICES:
        return "All neglect services" if provider == ALL_PROVIDERS else provider
    return service if provider == ALL_PROVIDERS else f"{provider} ({service})"


def _small_or_wide(row: dict) -> str | None:
    n = row["n"]
    what, span = _interval_words(row)
    if n < MIN_CHILDREN:
        counted = (
            "could be followed up for 12 months"
            if row["family"] in FOLLOW_UP_FAMILIES
            else "had both measures recorded"
        )
        tail = f"; {what} runs from {span}" if span else ""
        return f"only {n:,.0f} children {counted}, too few to judge{tail}."
    if span and _width(row) > MAX_WIDTH:
        return f"the interval of {what} is wide, from {span}, so read it with care."
    return None


def _shown_interval(row: dict) -> tuple[str, float, float]:
    """(what, low, high): the interval a reader looks at for this row."""
    if row["family"] in sm.PRACTICAL or row["family"] in FOLLOW_UP_FAMILIES:
        what = "the share at the end" if row["family"] in sm.PRACTICAL else "the share"
        return what, row["after_low"], row["after_high"]
    what = "the mean improvement" if row["family"] == "tool" else "the change in attendance"
    return what, row["change_low"], row["change_high"]


def _interval_words(row: dict) -> tuple[str, str | None]:
    """(what the interval is of, "40.0% to 85.0%"), or no range when it is hidden."""
    what, low, high = _shown_interval(row)
    if math.isnan(low) or math.isnan(high):
        return what, None
    if row["unit"] == "share":
        return what, f"{percent(low)} to {percent(high)}"
    if row["unit"] == "percent":
        return what, f"{_signed(low, 1)} to {_signed(high, 1)} percentage points"
    return what, f"{_signed(low, 2)} to {_signed(high, 2)} points"


def _signed(value: float, places: int) -> str:
    """+1.5, −0.3; never "-0.0" (a value that rounds to nothing has no sign)."""
    rounded = round(value, places) + 0.0
    return f"{rounded:+.{places}f}" if rounded else f"{0:.{places}f}"


def _width(row: dict) -> float:
    """The width of a share's interval (other units are not compared with 30 points)."""
    if row["unit"] != "share":
        return math.nan
    _, low, high = _shown_interval(row)
    return high - low


# --- choices for the page ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServicesAvailable:
    services: tuple[str, ...]
    providers: tuple[str, ...]
    pairs: pd.DataFrame  # service, provider, and whether it ever recorded each opt-in family
    periods: tuple[str, ...]  # financial years with a neglect service open, oldest first
    tool: str | None
    funnel_measures: dict[str, str]  # measure id -> label


def services_available(con: duckdb.DuckDBPyConnection) -> ServicesAvailable:
    """Which neglect services, providers and periods the store holds."""
    recorded = _recorded(con)
    span = con.execute(
        f"""SELECT min(start_date), max(coalesce(end_date, start_date))
            FROM commissioned_services WHERE service_type = '{sm.NEGLECT}'"""
    ).fetchone()
    periods: tuple[str, ...] = ()
    if span[0] is not None:
        first, last = (Period(d.year + 1 if d.month >= 4 else d.year) for d in span)
        periods = tuple(p.label for p in last.up_to(last.end_year - first.end_year + 1))
    return ServicesAvailable(
        services=tuple(sorted(recorded["service"].unique())),
        providers=tuple(sorted(recorded["provider"].unique())),
        pairs=recorded.drop(columns="any_tool").reset_index(drop=True),
        periods=periods,
        tool=sm.chosen_tool(con),
        funnel_measures=funnel_measures(),
    )


__all__ = [
    "ALL_PROVIDERS",
    "ALL_SERVICES",
    "COHORT_COLUMNS",
    "INTERVAL_HIDDEN",
    "NEGLECT_DEFINITION",
    "NONE_SERVED",
    "NOT_OPTED_IN",
    "NO_FOLLOW_UP",
    "NO_PAIRS",
    "OK",
    "OTHER_TOOL",
    "PAIRED",
    "SERVED_COLUMNS",
    "TABLE_COLUMNS",
    "TOO_FEW",
    "NeglectCohort",
    "ProviderFunnel",
    "ServiceOutcomes",
    "ServicesAvailable",
    "carry_hiding",
    "evaluate_measures",
    "funnel_measures",
    "neglect_cohort",
    "provider_funnel",
    "service_outcomes",
    "services_available",
    "small_number_warnings",
    "warnings_for",
]
