"""What the app's framework pages show, as plain tables from the one aggregator.

* ``domain_table``: every indicator of a domain for a period (and group): the latest value with
  its interval, the change from the period before and whether it is larger than chance, read
  against the indicator's polarity ("better", "worse", or "no clear change").
* ``indicator_detail``: one indicator in full: its catalogue record, its numbers, its trend over
  the years, by group, by deprivation decile, and the indicators to read beside it.

Nothing here computes a rate or hides a count: ``evaluate`` does both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import pandas as pd

from framework.engine import place
from framework.engine.aggregate import Query, evaluate, evaluate_many
from framework.engine.catalogue import Indicator, catalogue
from framework.engine.periods import Period
from framework.engine.run import register_measures

NUMBERS = ["numerator", "denominator", "value", "ci_low", "ci_high", "suppressed"]
CHANGE = ["previous_value", "change", "change_significant"]
BETTER, WORSE, NO_CLEAR_CHANGE = "better", "worse", "no clear change"


def direction(change: float, significant, polarity: str) -> str | None:
    """How a change reads: better or worse when it is larger than chance and the indicator
    has a polarity; otherwise "no clear change" (or None when there is no change to read)."""
    if pd.isna(change) or pd.isna(significant):
        return None
    if not significant or polarity not in ("higher_better", "lower_better") or change == 0:
        return NO_CLEAR_CHANGE
    return BETTER if (change > 0) == (polarity == "higher_better") else WORSE


def domain_table(
    con: duckdb.DuckDBPyConnection,
    domain: str,
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
) -> pd.DataFrame:
    """One row per indicator of the domain (a distribution: one row per category)."""
    register_measures()
    indicators = catalogue().in_domain(domain)
    if not indicators:
        raise ValueError(f"unknown domain {domain!r}")
    ids = tuple(i.id for i in indicators)
    query = Query(ids, period, group=group, where=where, threshold=threshold)
    results = evaluate(con, query)
    whole = results[results["slice"] == "all"]
    columns = ["indicator_id", "category", "statistic", *NUMBERS, *CHANGE, "status"]
    table = whole[columns].merge(_records(indicators), on="indicator_id", how="left")
    table["direction"] = [
        direction(c, s, p)
        for c, s, p in zip(
            table["change"], table["change_significant"], table["polarity"], strict=True
        )
    ]
    return table.reset_index(drop=True)


def _records(indicators: tuple[Indicator, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator_id": [i.id for i in indicators],
            "label": [i.label for i in indicators],
            "outcome": [i.outcome for i in indicators],
            "polarity": [i.polarity for i in indicators],
            "kind": [i.kind for i in indicators],
            "availability": [i.availability for i in indicators],
        }
    )


@dataclass(frozen=True)
class IndicatorDetail:
    record: Indicator
    whole: pd.DataFrame  # the period's numbers (a row per category for a distribution)
    trend: pd.DataFrame  # period, numbers: the years up to this one, oldest first
    by_group: pd.DataFrame  # group, numbers (units in no group, or of no child: empty)
    by_decile: place.DeprivationView | None  # children's indicators with one share each
    related: pd.DataFrame  # indicators to read beside it: id, label, domain, value…


def indicator_detail(
    con: duckdb.DuckDBPyConnection,
    indicator_id: str,
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
    years: int = 5,
) -> IndicatorDetail:
    """``where`` restricts to children in an area or decile (then no decile breakdown)."""
    register_measures()
    record = catalogue()[indicator_id]
    query = Query(
        (indicator_id,), period, separately=("group",), group=group, where=where,
        threshold=threshold,
    )  # fmt: skip
    if group is None:  # each group's rows are read from its own jointly protected results
        results = by_groups = evaluate(con, query)
    else:
        # Within one group, its children by group are protected on their own, each time: the
        # rows by group show no change, so the previous year's are not worked out for them.
        results = evaluate(con, replace(query, separately=()))
        by_groups = evaluate(con, replace(query, with_change=False))
    whole = results[results["slice"] == "all"][["category", *NUMBERS, *CHANGE, "status"]]
    by_group = by_groups[(by_groups["slice"] == "group") & (by_groups["status"] == "ok")]
    by_decile = None
    if record.statistic == "proportion" and group is None and not where and _about_children(record):
        by_decile = place.deprivation_view(con, indicator_id, period, threshold=threshold)
    return IndicatorDetail(
        record=record,
        whole=whole.reset_index(drop=True),
        trend=_trend(con, indicator_id, period, group, where, threshold, years),
        by_group=by_group[["group", "category", *NUMBERS]].reset_index(drop=True),
        by_decile=by_decile,
        related=_related(con, record, period, group, where, threshold),
    )


def _about_children(record: Indicator) -> bool:
    """Units that live somewhere (a child, their referral, plan…), so decile slices exist."""
    return record.unit not in NOT_ABOUT_A_CHILD


# Units that belong to no one child's home: anonymous survey answers, and things counted as
# themselves (meetings, complaints, audits, workers).
NOT_ABOUT_A_CHILD = frozenset(
    {
        "staff respondent",
        "child respondent",
        "parent respondent",
        "meeting",
        "complaint",
        "audit",
        "worker",
    }
)


def _trend(con, indicator_id, period, group, where, threshold, years) -> pd.DataFrame:
    periods = period.up_to(years)
    queries = [
        Query(
            (indicator_id,),
            each,
            group=group,
            where=where,
            threshold=threshold,
            with_change=False,
        )
        for each in periods
    ]
    rows = [
        result[result["slice"] == "all"][["period", "category", *NUMBERS, "status"]]
        for result in evaluate_many(con, queries)
    ]
    return pd.concat(rows, ignore_index=True)


def _related(con, record: Indicator, period, group, where, threshold) -> pd.DataFrame:
    related = catalogue().related_to(record.id)
    if not related:
        return pd.DataFrame(columns=["indicator_id", "label", "domain", "value", "suppressed"])
    query = Query(
        tuple(i.id for i in related), period, group=group, where=where, threshold=threshold,
        with_change=False,
    )  # fmt: skip
    results = evaluate(con, query)
    whole = results[(results["slice"] == "all") & results["category"].isna()]
    values = whole.set_index("indicator_id")[
        ["statistic", "value", "ci_low", "ci_high", "suppressed", "status"]
    ]
    table = pd.DataFrame(
        {
            "indicator_id": [i.id for i in related],
            "label": [i.label for i in related],
            "domain": [i.domain for i in related],
        }
    )
    return table.join(values, on="indicator_id")


__all__ = [
    "BETTER",
    "NOT_ABOUT_A_CHILD",
    "NO_CLEAR_CHANGE",
    "WORSE",
    "IndicatorDetail",
    "direction",
    "domain_table",
    "indicator_detail",
]
