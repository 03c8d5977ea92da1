"""Altair charts shared by the pages and the exports (no streamlit here).

Colours come from the Okabe-Ito palette, which stays distinct for the common kinds of colour
blindness; better and worse are blue and vermilion (never red against green), and a change is
coloured only when the indicator has a polarity (spec §11). Every chart is drawn from a table
the page also shows, so the numbers are there as text for anyone who cannot see the chart.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from framework.formatting import SHARES

# Okabe & Ito (2008), "Color universal design".
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermilion
    "#F0E442",  # yellow
    "#000000",
]
BETTER_COLOUR = "#0072B2"
WORSE_COLOUR = "#D55E00"
NEUTRAL_COLOUR = "#595959"  # grey with 7:1 contrast on white (WCAG AAA for text)
# Darker shades of the same two hues for words, so that text passes WCAG 2.2 AA (4.5:1 on
# white); tests/test_accessibility.py checks the ratios.
BETTER_TEXT = "#00588A"
WORSE_TEXT = "#A33C00"
SEQUENTIAL_SCHEME = "cividis"  # maps: readable in colour-blind vision and in greyscale


def _numbers(rows: pd.DataFrame) -> pd.DataFrame:
    """Value and interval as plain floats (the engine's nullable columns do not serialise)."""
    return rows.assign(**{c: rows[c].astype(float) for c in ("value", "ci_low", "ci_high")})


def _axis(statistic: str) -> alt.Axis:
    return alt.Axis(format="%") if statistic in SHARES else alt.Axis()


def trend_chart(
    trend: pd.DataFrame,
    statistic: str,
    *,
    events: pd.DataFrame | None = None,
    title: str | None = None,
    by: str | None = None,
) -> alt.Chart | None:
    """Values over the periods with their 95% interval as a band; hidden periods are left out.
    ``events`` (period, label) are drawn as labelled vertical rules; ``by`` names a column
    that splits the lines (e.g. group), coloured from the Okabe-Ito palette. None when there
    is nothing to draw."""
    rows = trend[(trend["status"] == "ok") & trend["value"].notna()]
    if "category" in rows and by != "category":
        rows = rows[rows["category"].isna()]
    if rows.empty:
        return None
    rows = _numbers(rows)
    periods = sorted(set(trend["period"]) | set([] if events is None else events["period"]))
    x = alt.X("period:O", title=None, sort=periods, scale=alt.Scale(domain=periods))
    base = alt.Chart(rows).encode(x=x)
    colour = {}
    if by is not None:
        colour = {"color": alt.Color(f"{by}:N", scale=alt.Scale(range=OKABE_ITO), title=None)}
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("ci_low:Q", axis=_axis(statistic), title=None), y2="ci_high:Q", **colour
    )
    tooltip = ["period", alt.Tooltip("value:Q", format=".3f"), "ci_low:Q", "ci_high:Q"]
    if by is not None:
        tooltip.insert(0, f"{by}:N")
    line = base.mark_line(point=True, color=BETTER_COLOUR if by is None else None).encode(
        y="value:Q", tooltip=tooltip, **colour
    )
    chart = band + line
    if events is not None and not events.empty:
        marks = alt.Chart(events).encode(x=x)
        chart = (
            chart
            + marks.mark_rule(color=NEUTRAL_COLOUR, strokeDash=[4, 3])
            + marks.mark_text(align="left", dx=3, dy=-6, color=NEUTRAL_COLOUR, angle=0).encode(
                text="label:N", y=alt.value(8)
            )
        )
    if title:
        chart = chart.properties(title=title)
    return chart


def sparkline(trend: pd.DataFrame, statistic: str) -> alt.Chart | None:
    """A small line of up to five periods, no axes: the shape of the trend at a glance."""
    rows = trend[(trend["status"] == "ok") & trend["value"].notna()]
    if len(rows) < 2:
        return None
    rows = rows.assign(value=rows["value"].astype(float))
    return (
        alt.Chart(rows)
        .mark_line(point=True, color=NEUTRAL_COLOUR)
        .encode(
            x=alt.X("period:O", axis=None),
            y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False)),
            tooltip=[
                "period",
                alt.Tooltip("value:Q", format=".1%" if statistic in SHARES else ".2f"),
            ],
        )
        .properties(height=40)
    )


def bar_with_intervals(
    table: pd.DataFrame, category: str, statistic: str, *, highlight: str | None = None
) -> alt.Chart | None:
    """Horizontal bars of ``value`` by ``category`` with the 95% interval as error bars; the row
    whose category is ``highlight`` (e.g. all children) drawn in the neutral colour."""
    rows = table[table["value"].notna()]
    if rows.empty:
        return None
    rows = _numbers(rows).assign(is_reference=rows[category] == highlight)
    order = list(rows[category])
    y = alt.Y(f"{category}:N", sort=order, title=None)
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("value:Q", axis=_axis(statistic), title=None),
            color=alt.condition(
                alt.datum.is_reference, alt.value(NEUTRAL_COLOUR), alt.value(BETTER_COLOUR)
            ),
            tooltip=[category, "value:Q", "ci_low:Q", "ci_high:Q"],
        )
    )
    errors = alt.Chart(rows).mark_rule(color="black").encode(y=y, x="ci_low:Q", x2="ci_high:Q")
    return bars + errors


def sparkline_img(values: list[float | None], label: str) -> str:
    """The sparkline as an <img> holding the SVG as a data URI, with ``label`` as its text
    alternative: pages sanitise inline SVG away, but keep images."""
    import base64
    import html

    svg = sparkline_svg(values)
    if not svg:
        return ""
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    data = base64.b64encode(svg.encode()).decode()
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(label)}">'


def sparkline_svg(values: list[float | None], *, width: int = 110, height: int = 28) -> str:
    """A sparkline as a small inline SVG (light enough for a page of them and for the meeting
    pack); missing or hidden values break the line. The caller gives it a text alternative."""
    known = [v for v in values if v is not None and not pd.isna(v)]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (width - 6) / max(len(values) - 1, 1)
    segments, current, dots = [], [], []
    for position, value in enumerate(values):
        if value is None or pd.isna(value):
            if current:
                segments.append(current)
            current = []
            continue
        x = 3 + position * step
        y = height - 3 - (float(value) - low) / span * (height - 6)
        current.append(f"{x:.1f},{y:.1f}")
        dots.append((x, y))
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="{NEUTRAL_COLOUR}" '
        'stroke-width="1.5"/>'
        for s in segments
    )
    last_x, last_y = dots[-1]
    end = f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{NEUTRAL_COLOUR}"/>'
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-hidden="true" focusable="false">{lines}{end}</svg>'
    )


__all__ = [
    "BETTER_COLOUR",
    "BETTER_TEXT",
    "NEUTRAL_COLOUR",
    "OKABE_ITO",
    "SEQUENTIAL_SCHEME",
    "WORSE_COLOUR",
    "WORSE_TEXT",
    "bar_with_intervals",
    "sparkline",
    "sparkline_img",
    "sparkline_svg",
    "trend_chart",
]
