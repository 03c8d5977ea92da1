"""Trends: one indicator over years or half-years, with the authority's own events, and its
change said in words.

The improvement journey (seed 002, 4.5.7) is read against what the authority did: a
restructure, a new practice model, an inspection. Events come from ``config.toml`` and are
placed in the period that holds their date. Two changes are tested, each by the aggregator's
test for the statistic: the latest period against the one before, and against the first period
shown; each is called larger than chance only when p < 0.05.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from framework.engine.aggregate import Query, evaluate_many
from framework.engine.catalogue import Indicator, catalogue
from framework.engine.periods import Period
from framework.engine.run import register_measures
from framework.engine.views import direction
from framework.formatting import value_text

NUMBERS = ["numerator", "denominator", "value", "ci_low", "ci_high", "suppressed", "status"]


@dataclass(frozen=True)
class Change:
    since: str  # the period compared with
    previous_value: float | None
    value: float | None
    change: float | None
    p: float | None
    significant: bool | None
    direction: str | None  # better / worse / no clear change (against polarity)
    words: str


@dataclass(frozen=True)
class TrendView:
    record: Indicator
    trend: pd.DataFrame  # period, category, numbers (oldest first)
    events: pd.DataFrame  # period, date, label, kind: the events within the periods shown
    changes: tuple[Change, ...]  # from the period before; from the first period shown


def periods_back(period: Period, count: int) -> list[Period]:
    """``count`` periods ending with ``period``, oldest first (halves step by halves)."""
    return period.up_to(count)


def period_of(day: date, halves: bool) -> Period:
    """The financial year (or half) that holds a date: 1 April starts a year."""
    end_year = day.year + 1 if day.month >= 4 else day.year
    if not halves:
        return Period(end_year)
    return Period(end_year, 1 if 4 <= day.month <= 9 else 2)


def trend_view(
    con: duckdb.DuckDBPyConnection,
    indicator_id: str,
    period: Period,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
    count: int = 5,
    events: tuple[tuple[str, str, str], ...] = (),  # (ISO date, label, kind)
) -> TrendView:
    """``count`` periods up to ``period`` (years, or halves when ``period`` is a half)."""
    register_measures()
    record = catalogue()[indicator_id]
    periods = periods_back(period, count)
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
    baselines = [periods[-2], periods[0]] if len(periods) > 2 else periods[:1]
    if record.statistic == "fact":
        baselines = []
    queries += [
        Query((indicator_id,), period, group=group, where=where, threshold=threshold,
              compare_with=since)
        for since in baselines
    ]  # fmt: skip
    # One shared evaluation: the comparisons reuse the units the trend's periods needed.
    results = evaluate_many(con, queries)
    frames = [
        r[r["slice"] == "all"][["period", "category", *NUMBERS]] for r in results[: len(periods)]
    ]
    changes = tuple(
        _change(record, period, since, result)
        for since, result in zip(baselines, results[len(periods) :], strict=True)
    )
    return TrendView(
        record, pd.concat(frames, ignore_index=True), _events_in(events, periods), changes
    )


def _events_in(events, periods: list[Period]) -> pd.DataFrame:
    halves = periods[-1].is_half
    rows = []
    for day, label, kind in events:
        held = period_of(date.fromisoformat(day), halves)
        if held in periods:
            rows.append((held.label, day, label, kind))
    return pd.DataFrame(rows, columns=["period", "date", "label", "kind"])


def _change(record: Indicator, period, since, result: pd.DataFrame) -> Change:
    row = result[(result["slice"] == "all") & result["category"].isna()]
    if row.empty or row["status"].iloc[0] != "ok":
        return Change(since.label, None, None, None, None, None, None, "No data to compare.")
    row = row.iloc[0]

    def number(name):
        return None if pd.isna(row[name]) else float(row[name])

    significant = None if pd.isna(row["change_significant"]) else bool(row["change_significant"])
    reading = direction(row["change"], row["change_significant"], record.polarity)
    return Change(
        since=since.label,
        previous_value=number("previous_value"),
        value=number("value"),
        change=number("change"),
        p=number("change_p"),
        significant=significant,
        direction=reading,
        words=change_words(record, since.label, period.label, row, significant),
    )


def change_words(record: Indicator, since: str, period: str, row, significant) -> str:
    """E.g. "From 2024-25 to 2025-26 it rose from 40.3% to 44.0% (+3.7 points): larger than
    chance would give (p = 0.012)." Hidden values are never put into words."""
    if bool(row["suppressed"]) or pd.isna(row["previous_value"]) or pd.isna(row["value"]):
        return (
            f"From {since} to {period} the change cannot be stated: a value is hidden or missing."
        )
    before = value_text(row["previous_value"], record.statistic)
    now = value_text(row["value"], record.statistic)
    change = float(row["change"])
    moved = "rose" if change > 0 else "fell" if change < 0 else "stayed"
    size = value_text(change, record.statistic, sign=True)
    if record.statistic in ("proportion", "distribution"):
        size = size.replace("%", " points")
    text = f"From {since} to {period} it {moved}"
    text += f" from {before} to {now} ({size})" if change else f" at {now}"
    if significant is None:
        return text + "; no test of the change is possible for these numbers."
    p = float(row["change_p"])
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    if significant:
        return text + f": larger than chance would give ({p_text})."
    return text + f": within what chance alone could give ({p_text}), so not a clear change."


__all__ = ["Change", "TrendView", "change_words", "period_of", "periods_back", "trend_view"]
