"""Altair charts shared by the pages and the exports (no streamlit here).

Colours come from the Okabe-Ito palette, which stays distinct for the common kinds of colour
blindness; better and worse are blue and vermilion (never red against green), and a change is
coloured only when the indicator has a polarity (spec §11). Every chart is drawn from a table
the page also shows, so the numbers are there as text for anyone who cannot see the chart.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from framework.disclosure import SUPPRESSED
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


# --- funnel plots, before and after, comparisons (neglect services, benchmarking, funding) ----

ROLE_COLOURS = {  # the chosen authority stands out; neighbours in a second hue; others grey
    "authority": BETTER_COLOUR,
    "neighbour": OKABE_ITO[1],
    "other": "#9a9a9a",
}


def funnel_chart(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    target: float,
    *,
    size: str,
    value: str,
    label: str,
    size_title: str,
    value_title: str,
    value_format: str,
    role: str | None = None,
) -> alt.Chart | None:
    """A funnel plot: each point's ``value`` against its ``size`` (children, referrals…), the
    target as a line and the 95% (dashed) and 99.8% (dotted) control limits from ``curves``
    (columns n, low_95, high_95, low_998, high_998). ``role`` colours points by
    ``ROLE_COLOURS``; ``label`` names each point in its tooltip. None with no points."""
    rows = points[points[value].notna() & points[size].notna()]
    if rows.empty or curves.empty:
        return None
    rows = rows[[c for c in dict.fromkeys([label, size, value, role]) if c]]  # only what is drawn
    rows = rows.assign(**{value: rows[value].astype(float), size: rows[size].astype(float)})
    x = alt.X(f"{size}:Q", title=size_title, scale=alt.Scale(zero=False))
    y_axis = alt.Axis(format=value_format, title=value_title)
    colour = (
        alt.Color(
            f"{role}:N",
            scale=alt.Scale(domain=list(ROLE_COLOURS), range=list(ROLE_COLOURS.values())),
            legend=alt.Legend(title=None, orient="bottom"),
        )
        if role
        else alt.value(BETTER_COLOUR)
    )
    tooltip = [
        label,
        alt.Tooltip(f"{size}:Q", format=",.0f"),
        alt.Tooltip(f"{value}:Q", format=value_format),
    ]
    dots = alt.Chart(rows).mark_circle(size=70, opacity=0.85).encode(
        x=x, y=alt.Y(f"{value}:Q", axis=y_axis, scale=alt.Scale(zero=False)), color=colour,
        tooltip=tooltip,
    )  # fmt: skip
    limits = curves.melt("n", var_name="limit", value_name="bound").dropna()
    limits["level"] = limits["limit"].str.endswith("998").map({True: "99.8%", False: "95%"})
    lines = alt.Chart(limits).mark_line(color=NEUTRAL_COLOUR, strokeWidth=1).encode(
        x=alt.X("n:Q"), y=alt.Y("bound:Q"), detail="limit:N",
        strokeDash=alt.StrokeDash(
            "level:N", scale=alt.Scale(domain=["95%", "99.8%"], range=[[6, 3], [2, 2]]),
            legend=alt.Legend(title="Control limits", orient="bottom"),
        ),
    )  # fmt: skip
    centre = alt.Chart(pd.DataFrame({"target": [float(target)]})).mark_rule(
        color="black"
    ).encode(y="target:Q")  # fmt: skip
    return lines + centre + dots


def before_after_chart(rows: pd.DataFrame, *, category: str, value_format: str) -> alt.Chart | None:
    """Before and after as two points joined by a line for each ``category`` (a measure, a
    provider), each with its 95% interval; hidden values are left out. ``rows`` has columns
    ``category``, moment ("before"/"after"), value, ci_low, ci_high."""
    rows = rows[rows["value"].notna()]
    if rows.empty:
        return None
    rows = _numbers(rows)
    order = list(dict.fromkeys(rows[category]))
    y = alt.Y(f"{category}:N", sort=order, title=None)
    colour = alt.Color(
        "moment:N",
        scale=alt.Scale(domain=["before", "after"], range=[NEUTRAL_COLOUR, BETTER_COLOUR]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X("value:Q", axis=alt.Axis(format=value_format), title=None)
    join = alt.Chart(rows).mark_line(color="#bbbbbb").encode(y=y, x=x, detail=f"{category}:N")
    errors = alt.Chart(rows).mark_rule().encode(y=y, x="ci_low:Q", x2="ci_high:Q", color=colour)
    dots = alt.Chart(rows).mark_circle(size=90, opacity=1).encode(
        y=y, x=x, color=colour,
        tooltip=[category, "moment", alt.Tooltip("value:Q", format=value_format)],
    )  # fmt: skip
    return join + errors + dots


def comparison_lines(
    series: pd.DataFrame, *, value_format: str, value_title: str
) -> alt.Chart | None:
    """Values over the years for an authority and its comparators: one line per ``area``
    (columns year, value, area, role); the authority bold, England black and dashed, the region
    and the neighbours' average in their own colours. Symbols (no value) are gaps."""
    rows = series[series["value"].notna()]
    if rows.empty:
        return None
    # Only what is drawn: the series' other columns (counts, how many neighbours had a
    # figure) would travel with the chart into its downloads.
    rows = rows[["year", "value", "area", "role"]]
    rows = rows.assign(value=rows["value"].astype(float), year=rows["year"].astype(int))
    roles = ["authority", "neighbours_average", "region", "england"]
    colours = dict(zip(roles, [BETTER_COLOUR, OKABE_ITO[1], OKABE_ITO[2], "#000000"], strict=True))
    rows = rows[rows["role"].isin(roles)]
    named = rows.drop_duplicates("area").set_index("area")["role"]
    names = sorted(named.index, key=lambda area: roles.index(named[area]))
    return (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            x=alt.X("year:O", title=None),
            y=alt.Y("value:Q", axis=alt.Axis(format=value_format), title=value_title,
                    scale=alt.Scale(zero=False)),
            color=alt.Color(
                "area:N",
                scale=alt.Scale(domain=names, range=[colours[named[a]] for a in names]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            strokeDash=alt.StrokeDash(
                "role:N", scale=alt.Scale(domain=roles, range=[[1, 0], [4, 2], [2, 2], [6, 3]]),
                legend=None,
            ),
            tooltip=["area", "year", alt.Tooltip("value:Q", format=value_format)],
        )
    )  # fmt: skip


def authority_scatter(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    x_format: str,
    y_format: str,
) -> alt.Chart | None:
    """One point per authority (``area_name``, ``role``): ``x`` against ``y``, the chosen
    authority and its neighbours in their own colours and drawn on top. No trend line: a line
    through authorities invites reading spend as cause."""
    rows = frame[frame[x].notna() & frame[y].notna()][["area_name", "role", x, y]]
    if rows.empty:
        return None
    order = {"other": 0, "neighbour": 1, "authority": 2}
    rows = rows.assign(
        **{x: rows[x].astype(float), y: rows[y].astype(float)},
        layer=rows["role"].map(order).fillna(0),
    ).sort_values("layer")
    return (
        alt.Chart(rows)
        .mark_circle(opacity=0.85)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=x_format),
                    scale=alt.Scale(zero=False)),
            y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format),
                    scale=alt.Scale(zero=False)),
            color=alt.Color(
                "role:N",
                scale=alt.Scale(domain=list(ROLE_COLOURS), range=list(ROLE_COLOURS.values())),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            size=alt.Size("layer:Q", scale=alt.Scale(range=[40, 160]), legend=None),
            order="layer:Q",
            tooltip=["area_name", alt.Tooltip(f"{x}:Q", format=x_format),
                     alt.Tooltip(f"{y}:Q", format=y_format)],
        )
    )  # fmt: skip


# --- charts the pages drew inline before; here so that a page can name them (app_pages/charts.py
# builds each chart once per view from its builder's name and inputs) ---------------------------

BAR_COLOUR = OKABE_ITO[0]  # blue: one colour for every bar of a distribution
HIDDEN_OUTLINE = NEUTRAL_COLOUR  # the outline of a hidden heatmap cell: white, with the letter c


def decile_bars(table: pd.DataFrame, index: str) -> alt.LayerChart | None:
    """A share by deprivation decile (``area`` holds the decile) as bars with their 95%
    interval as whiskers. None with no rows."""
    if table.empty:
        return None
    rows = table.assign(decile=table["area"])
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("decile:O", sort=None, title=f"{index.upper()} decile (1 = most deprived)"),
            y=alt.Y("value:Q", title="share", axis=alt.Axis(format="%")),
            tooltip=["decile", "numerator", "denominator", alt.Tooltip("value:Q", format=".1%")],
        )
    )
    whiskers = alt.Chart(rows).mark_rule().encode(x="decile:O", y="ci_low:Q", y2="ci_high:Q")
    return bars + whiskers


def count_line(trend: pd.DataFrame, count: str, title: str) -> alt.Chart | None:
    """A count by period as a line with points (rows whose count is missing are left out).
    None with fewer than two periods to join."""
    rows = trend[trend[count].notna()]
    if len(rows) < 2:
        return None
    return (
        alt.Chart(rows.assign(**{count: rows[count].astype(float)}))
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=None),
            y=alt.Y(f"{count}:Q", title=title),
            tooltip=["period", alt.Tooltip(f"{count}:Q", format=",.0f")],
        )
    )


def spend_by_category(over_time: pd.DataFrame) -> alt.Chart | None:
    """Outturn by category and year as stacked bars in £ million (the total row left out)."""
    categories = over_time[over_time["category"] != "total"]
    if categories.empty:
        return None
    return (
        alt.Chart(categories.assign(spend=categories["spend_gbp"].astype(float) / 1e6))
        .mark_bar()
        .encode(
            x=alt.X("year:O", title=None),
            y=alt.Y("spend:Q", title="£ million (outturn)"),
            color=alt.Color(
                "label:N",
                scale=alt.Scale(range=OKABE_ITO[:5]),
                legend=alt.Legend(title=None, orient="bottom", columns=2),
            ),
            tooltip=["year", "label", alt.Tooltip("spend:Q", format=",.2f", title="£m")],
        )
    )


COMPARATOR_COLOURS = {
    **ROLE_COLOURS,
    "neighbour_average": OKABE_ITO[1],
    "region": OKABE_ITO[2],
    "england": "#000000",
}


def spend_per_child_bars(with_spend: pd.DataFrame, year: str) -> alt.Chart | None:
    """Spend per child of an authority and its comparators (in the frame's order), one bar
    each, coloured by role (``COMPARATOR_COLOURS``)."""
    if with_spend.empty:
        return None
    return (
        alt.Chart(with_spend.assign(spend=with_spend["spend_per_child_gbp"].astype(float)))
        .mark_bar()
        .encode(
            y=alt.Y("area_name:N", sort=list(with_spend["area_name"]), title=None),
            x=alt.X("spend:Q", title=f"spend per child aged 0–17, £ ({year})"),
            color=alt.Color(
                "role:N",
                scale=alt.Scale(
                    domain=list(COMPARATOR_COLOURS), range=list(COMPARATOR_COLOURS.values())
                ),
                legend=None,
            ),
            tooltip=["area_name", alt.Tooltip("spend:Q", format=",.0f", title="£ per child")],
        )
    )


def share_bars(frame: pd.DataFrame, title: str) -> alt.LayerChart | None:
    """Horizontal bars of the shares (``label``, ``value``) with their 95% intervals; a hidden
    share (``suppressed``) is drawn as the letter c and no bar. None with no rows."""
    if frame.empty:
        return None
    hidden_rows = frame["suppressed"].astype(bool)
    data = frame.assign(
        hidden=hidden_rows,
        mark=[SUPPRESSED if s else "" for s in hidden_rows],
        share=frame["value"].astype(float),
        low=frame["ci_low"].astype(float),
        high=frame["ci_high"].astype(float),
    )[["label", "hidden", "mark", "share", "low", "high"]]
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=320))
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar(color=BAR_COLOUR).encode(
        x=alt.X("share:Q", title=title, axis=alt.Axis(format="%")),
        tooltip=[
            alt.Tooltip("label:N", title="flow"),
            alt.Tooltip("share:Q", format=".1%"),
            alt.Tooltip("low:Q", format=".1%", title="95% from"),
            alt.Tooltip("high:Q", format=".1%", title="95% to"),
        ],
    )
    whiskers = base.mark_rule(color="black").encode(x="low:Q", x2="high:Q")
    hidden = (
        base.transform_filter(alt.datum.hidden)
        .mark_text(align="left", dx=3, fontWeight="bold")
        .encode(x=alt.datum(0), text="mark:N")
    )
    return (bars + whiskers + hidden).properties(height=alt.Step(30))


def flow_heatmap(
    levels: pd.DataFrame, *, starts: list[str], ends: list[str]
) -> alt.LayerChart | None:
    """Children by level at the start (rows, in the order ``starts``) and at the end (columns,
    ``ends``): shown cells coloured by count, hidden cells white with a dashed outline and
    the letter c. None with no rows."""
    if levels.empty:
        return None
    hidden_cells_mask = levels["suppressed"].astype(bool)
    cells = levels.assign(
        children=levels["numerator"].astype(float),
        text=[
            SUPPRESSED if s else f"{v:,.0f}"
            for s, v in zip(hidden_cells_mask, levels["numerator"], strict=True)
        ],
        hidden=hidden_cells_mask,
        share=levels["value"].astype(float),
    )[["start_label", "end_label", "movement", "children", "text", "hidden", "share"]]
    top_count = float(cells["children"].max()) if cells["children"].notna().any() else 0.0
    x = alt.X(
        "end_label:N",
        sort=ends,
        title="plan level at the end of the period",
        axis=alt.Axis(labelAngle=0, orient="top"),
    )
    y = alt.Y("start_label:N", sort=starts, title="at the start", axis=alt.Axis(labelLimit=200))
    base = alt.Chart(cells).encode(x=x, y=y)
    tooltip = [
        alt.Tooltip("start_label:N", title="from"),
        alt.Tooltip("end_label:N", title="to"),
        alt.Tooltip("movement:N"),
        alt.Tooltip("text:N", title="children"),
        alt.Tooltip("share:Q", format=".1%"),
    ]
    shown_cells = (
        base.transform_filter(~alt.datum.hidden)
        .mark_rect()
        .encode(
            color=alt.Color(
                "children:Q", scale=alt.Scale(scheme=SEQUENTIAL_SCHEME), title="children"
            ),
            tooltip=tooltip,
        )
    )
    hidden_cells = (
        base.transform_filter(alt.datum.hidden)
        .mark_rect(color="white", stroke=HIDDEN_OUTLINE, strokeDash=[4, 3])
        .encode(tooltip=tooltip)
    )
    # Dark cells (few children) get white figures, light ones (many) black.
    labels = base.mark_text(fontWeight="bold").encode(
        text="text:N",
        color=alt.condition(
            (alt.datum.children > top_count / 2) | alt.datum.hidden,
            alt.value("black"),
            alt.value("white"),
        ),
    )
    return (shown_cells + hidden_cells + labels).properties(height=alt.Step(48))
