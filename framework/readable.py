"""The engine's tables for the commissioners' and leaders' pages, as people read them.

Pages, exports and the meeting pack show the same words: a share as a percentage, a change in
percentage points, a hidden value as ``c``, "no data" as words and never as 0. Nothing here
computes a statistic: values, intervals, readings and hiding all come from the engine.
"""

from __future__ import annotations

import math

import pandas as pd

from framework.disclosure import SUPPRESSED
from framework.formatting import percent

# How a neglect-services measure's values read, by its unit (framework/engine/neglect.py).
HIDDEN_STATUS = "too few to show"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def unit_value(value, unit: str) -> str:
    """One value: a share (0–1) and a percent (0–100) as percentages, a score to 2 decimals."""
    if _missing(value):
        return ""
    if unit == "share":
        return percent(value) or ""
    if unit == "percent":
        return f"{float(value):.1f}%"
    return f"{float(value):,.2f}"


def unit_change(value, unit: str) -> str:
    """A change: percentage points for shares and percents, else a signed number."""
    if _missing(value):
        return ""
    if unit == "share":
        return f"{float(value) * 100:+.1f} points"
    if unit == "percent":
        return f"{float(value):+.1f} points"
    return f"{float(value):+,.2f}"


def _interval(low, high, unit: str, change: bool = False) -> str:
    if _missing(low) or _missing(high):
        return ""
    words = unit_change if change else unit_value
    return f"{words(low, unit)} to {words(high, unit)}"


def _count(value) -> str:
    return "" if _missing(value) else f"{float(value):,.0f}"


def service_outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """The before-and-after table (``neglect.service_outcomes(...).table``) in words: one row
    per service, provider and measure; hidden cells ``c``; a row without data says why."""
    rows = []
    for row in table.itertuples(index=False):
        ok = row.status == "ok"
        hidden = bool(row.suppressed) or HIDDEN_STATUS in str(row.status)

        before = unit_value(row.before, row.unit)
        after = unit_value(row.after, row.unit)
        change = unit_change(row.change, row.unit)
        rows.append(
            {
                "Service": row.service,
                "Provider": row.provider,
                "Measure": row.measure,
                "Children": _count(row.n) or (SUPPRESSED if hidden else ""),
                "Before": before
                or (SUPPRESSED if hidden and row.family not in _AFTER_ONLY else ""),
                "After (or within 12 months)": after or (SUPPRESSED if hidden else ""),
                "Change": change
                or (SUPPRESSED if hidden and row.family not in _AFTER_ONLY else ""),
                "95% interval of the change": _interval(
                    row.change_low, row.change_high, row.unit, change=True
                ),
                "Reading": "" if hidden else (row.reading or ""),
                "Note": "" if ok else str(row.status),
            }
        )
    return pd.DataFrame(rows)


# Measures counted only after the service (12-month follow-up): no "before", no change.
_AFTER_ONLY = ("rereferral", "repeat_cp")


def cohort(frame: pd.DataFrame, first: str, title: str) -> pd.DataFrame:
    """The neglect cohort by period, locality or decile: counts, share of children in need with
    its interval, rate per 10,000 children; hidden rows ``c``."""
    rows = []
    for row in frame.to_dict("records"):
        hidden = bool(row.get("suppressed"))
        rows.append(
            {
                title: row[first],
                "Children in the neglect cohort": SUPPRESSED if hidden else _count(row["children"]),
                "Children in need": _count(row["children_in_need"])
                or (SUPPRESSED if hidden else ""),
                "Share of children in need": SUPPRESSED
                if hidden
                else unit_value(row["share"], "share"),
                "95% interval": "" if hidden else _interval(row["ci_low"], row["ci_high"], "share"),
                "Per 10,000 children": SUPPRESSED
                if hidden
                else ("" if _missing(row["per_10000"]) else f"{row['per_10000']:.0f}"),
            }
        )
    return pd.DataFrame(rows)
