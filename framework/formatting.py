"""Numbers as people read them: shares as percentages rounded half up (as DfE publishes),
other statistics to two decimals, hidden values as ``c``. Used by pages and exports alike, so
a number reads the same on screen, in a spreadsheet and in the meeting pack."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from framework.disclosure import SUPPRESSED

SHARES = ("proportion", "distribution")  # statistics whose value is a share of 1
READING = {"better": "▲ better", "worse": "▼ worse", "no clear change": "no clear change"}


def percent(value, sign: bool = False) -> str | None:
    """A share as a percentage to one decimal, rounded half up as DfE publishes (53 of 80 is
    66.3%, where Python's own formatting of the float 0.6625 gives 66.2%). None when missing."""
    if value is None or pd.isna(value):
        return None
    # round(…, 9) first drops binary noise: 0.6625 − 0.5 is 0.16249999999999998 as a float,
    # and its change must read +16.3 like the two values it is the difference of.
    hundredths = round(float(value) * 100, 9)
    rounded = Decimal(repr(hundredths)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{rounded:+}%" if sign else f"{rounded}%"


def value_text(value, statistic: str, *, sign: bool = False, hidden: bool = False) -> str:
    """One value in words: a percentage for a share, else two decimals; ``c`` when hidden;
    empty when there is no value (no data is not hidden, and never zero)."""
    if hidden:
        return SUPPRESSED
    if value is None or pd.isna(value):
        return ""
    if statistic in SHARES:
        return percent(value, sign=sign) or ""
    return f"{float(value):+,.2f}" if sign else f"{float(value):,.2f}"


def interval_text(low, high, statistic: str) -> str:
    """A 95% interval, "41.7% to 46.3%"; empty when there is none."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f"{value_text(low, statistic)} to {value_text(high, statistic)}"


def money(value) -> str:
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    sign = "−" if value < 0 else ""  # a minus sign before the pound sign: −£20,000
    value = abs(value)
    if value >= 1_000_000:
        return f"{sign}£{value / 1_000_000:,.1f}m"
    return f"{sign}£{value:,.0f}"


def trend_words(trend: pd.DataFrame, statistic: str) -> str:
    """A trend in one sentence, the text alternative of its chart: "From 2021-22 to 2025-26:
    44.7%, 45.1%, c, 40.3%, 44.0%" (c: hidden)."""
    rows = trend
    if "category" in rows:
        rows = rows[rows["category"].isna()]
    if rows.empty:
        return "No values in these periods."
    hidden = rows["suppressed"].fillna(False).astype(bool) if "suppressed" in rows else None
    values = [
        value_text(v, statistic, hidden=bool(h)) or "no data"
        for v, h in zip(
            rows["value"], hidden if hidden is not None else [False] * len(rows), strict=True
        )
    ]
    return f"From {rows['period'].iloc[0]} to {rows['period'].iloc[-1]}: " + ", ".join(values)


def shares_in_words(labels, values, hidden, statistic: str = "proportion") -> str:
    """Labelled values in one line, the text alternative of a bar chart or heatmap:
    "No further action: 6.4%; Child in need: 44.5%; Looked after: c"."""
    return "; ".join(
        f"{label}: {value_text(value, statistic, hidden=bool(h)) or 'no data'}"
        for label, value, h in zip(labels, values, hidden, strict=True)
    )


__all__ = [
    "READING",
    "SHARES",
    "interval_text",
    "money",
    "percent",
    "shares_in_words",
    "trend_words",
    "value_text",
]
