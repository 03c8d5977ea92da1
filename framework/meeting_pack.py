"""The meeting pack: the overview and chosen indicators as one print-ready HTML file.

A senior leader takes it away from a meeting, so it is one self-contained file: inline CSS
(A4 pages, a page per indicator), charts as inline SVG, no scripts, no fonts or images fetched
from anywhere. Printing it from a browser (Print → Save as PDF) gives a tagged, searchable PDF
with vector charts; there is no separate PDF renderer to keep in step with it.

Contents: a cover (authority, period, filters, date made, and DEMO prominently for the
fictional authority); the overview (the context strip and the four boxes, each headline with
its value, 95% interval, sparkline and change in words); each chosen indicator on its own page
(definition, numerator and denominator, value and interval, change, the trend as a chart and as
a table, by group, the indicators to read beside it, caveats, crosswalks); how to read it (the
statistical terms used, hidden cells); and where the numbers come from (provenance).

Every number comes from the engine (``overview``, ``indicator_detail``) with small numbers
already hidden; every table passes ``framework.export.check_disclosure`` before it is written,
and hidden cells are written ``c``. Accessibility: lang en-GB, headings in order, tables with
captions and ``<th scope>``, charts with text alternatives and their numbers in a table beside
them, text contrast at least 4.5:1 (colours from framework/charts.py).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Sequence
from datetime import datetime

import duckdb
import pandas as pd

from framework.charts import BETTER_TEXT, NEUTRAL_COLOUR, WORSE_TEXT, sparkline_svg, trend_chart
from framework.disclosure import SUPPRESSED
from framework.engine.catalogue import catalogue
from framework.engine.dimensions import GROUP_LABELS
from framework.engine.overview import Overview, overview
from framework.engine.periods import Period
from framework.engine.views import IndicatorDetail, direction, indicator_detail
from framework.export import (
    POLARITY_WORDS,
    Provenance,
    chart_svg,
    check_disclosure,
    marking,
    store_provenance,
)
from framework.formatting import SHARES, interval_text, money, percent, trend_words, value_text

NOTES = {
    "no data": "no data",
    "not by group": "not for a group of children",
    "not by area": "not for an area (anonymous, or not about one child)",
}
TEXT = "#1b1b1b"  # body text: 17:1 on white
MUTED = NEUTRAL_COLOUR  # #595959: 7:1 on white
DEMO_WORDS = "DEMO — fictional authority"
PRINT_HELP = (
    "To make a PDF, open this file in a web browser and choose Print, then Save as PDF "
    "(paper A4; tick Background graphics to keep the shading)."
)

CSS = f"""
@page {{ size: A4; margin: 14mm 14mm 16mm 14mm; }}
* {{ box-sizing: border-box; }}
html {{ color: {TEXT}; background: #ffffff; }}
body {{ font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  margin: 0 auto; max-width: 52rem; padding: 1.5rem; }}
h1 {{ font-size: 2rem; margin: 0 0 .5rem; }}
h2 {{ font-size: 1.45rem; margin: 1.2rem 0 .4rem; border-bottom: 2px solid {TEXT};
  padding-bottom: .15rem; }}
h3 {{ font-size: 1.1rem; margin: 1rem 0 .3rem; }}
h2, h3 {{ break-after: avoid; page-break-after: avoid; }}
p, li, dd {{ orphans: 3; widows: 3; }}
a {{ color: {BETTER_TEXT}; }}
.muted {{ color: {MUTED}; }}
.small {{ font-size: .9em; }}
.page {{ break-before: page; page-break-before: always; }}
.cover h1 {{ margin-top: 1.5rem; }}
.authority {{ font-size: 1.5rem; font-weight: 600; margin: 0; }}
.demo {{ border: 3px solid {WORSE_TEXT}; background: #fff4ce; color: {TEXT}; padding: .6rem .9rem;
  font-size: 1.15rem; font-weight: 700; margin: 0 0 1rem;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.demo span {{ display: block; font-size: .85rem; font-weight: 400; }}
dl.facts {{ display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }}
dl.facts dt {{ font-weight: 600; }}
dl.facts dd {{ margin: 0; }}
table {{ border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; font-size: .92em;
  break-inside: avoid; page-break-inside: avoid; }}
caption {{ text-align: left; font-weight: 600; padding: .2rem 0; }}
th, td {{ border-bottom: 1px solid #b1b4b6; padding: .25rem .4rem; text-align: left;
  vertical-align: top; }}
thead th {{ border-bottom: 2px solid {TEXT}; background: #eef2f5;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.headline {{ font-size: 1.6rem; font-weight: 700; }}
.better {{ color: {BETTER_TEXT}; font-weight: 700; }}
.worse {{ color: {WORSE_TEXT}; font-weight: 700; }}
.box {{ border: 1px solid #b1b4b6; padding: .2rem .8rem .1rem; margin: 0 0 .8rem;
  break-inside: avoid; page-break-inside: avoid; }}
.box h3 {{ margin-top: .5rem; }}
figure {{ margin: .4rem 0 .8rem; break-inside: avoid; page-break-inside: avoid; }}
figure svg {{ max-width: 100%; height: auto; }}
figcaption {{ color: {MUTED}; font-size: .9em; }}
.spark svg {{ vertical-align: middle; }}
ul.caveats li {{ margin-bottom: .3rem; }}
.screen-only {{ background: #eef2f5; padding: .5rem .8rem; }}
@media print {{
  body {{ max-width: none; padding: 0; font-size: 10pt; }}
  .screen-only {{ display: none; }}
  a {{ color: {TEXT}; text-decoration: none; }}
}}
"""


def meeting_pack_html(
    con: duckdb.DuckDBPyConnection,
    period: Period | str,
    *,
    group: str | None = None,
    where: tuple[tuple[str, str], ...] = (),
    threshold: int = 5,
    indicator_ids: Sequence[str] = (),
    authority: str,
    demo: bool = False,
    filters_text: str = "",
    store: str = "",
    provenance: Provenance | None = None,
) -> str:
    """The meeting pack as one HTML document (see the module docstring). ``indicator_ids``
    each get a page, in the order given; ``filters_text`` says the filters in words (the
    app's ``filter_caption``); ``store`` names the store file for the provenance, which is
    read from ``con`` unless ``provenance`` is given. Raises ``framework.export.
    DisclosureError`` rather than write a table with a count from 1 to ``threshold``."""
    period = Period.parse(period) if isinstance(period, str) else period
    known = catalogue()
    unknown = [i for i in indicator_ids if i not in known]
    if unknown:
        raise ValueError(f"unknown indicator(s): {', '.join(unknown)}")
    ids = list(dict.fromkeys(indicator_ids))
    options = {"group": group, "where": tuple(where), "threshold": threshold}
    view = overview(con, period, **options)
    details = [indicator_detail(con, i, period, **options) for i in ids]
    if provenance is None:
        provenance = store_provenance(
            con,
            authority=authority,
            threshold=threshold,
            period=period.label,
            filters=filters_text,
            demo=demo,
            store=store,
        )
    return render_pack(
        view,
        details,
        period=period,
        threshold=threshold,
        authority=authority,
        demo=demo,
        filters_text=filters_text,
        provenance=provenance,
    )


@dataclasses.dataclass(frozen=True)
class PackSection:
    """A page of the pack beyond the framework's indicators (benchmarking, funding, neglect
    services): a title, paragraphs of words, tables (caption, a frame already made readable:
    hidden cells the text ``c``), and an optional Altair chart with its words. Every table is
    checked for disclosure before it is written, like the indicator pages' tables; ``counts``
    names a table's count columns where their names do not say so."""

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[tuple[str, pd.DataFrame], ...] = ()
    chart: object | None = None
    chart_words: str = ""
    counts: tuple[str, ...] | None = None


def render_pack(
    view: Overview,
    details: Sequence[IndicatorDetail],
    *,
    period: Period,
    threshold: int,
    authority: str,
    demo: bool,
    filters_text: str,
    provenance: Provenance,
    extra: Sequence[PackSection] = (),
) -> str:
    """The pack from views already made (the page caches them); ``extra`` pages follow the
    indicators' pages."""
    made = provenance.made_at or datetime.now().strftime("%Y-%m-%d %H:%M")
    provenance = dataclasses.replace(provenance, made_at=made)
    title = f"Meeting pack: {authority}, {period.label}" + (" (DEMO)" if demo else "")
    statistics = set(view.headlines["statistic"].dropna()) | {d.record.statistic for d in details}
    sections = [
        _cover(authority, period, filters_text, made, demo, threshold, details),
        _overview(view, period, threshold, {d.record.id for d in details}),
        *(_indicator(d, period, threshold) for d in details),
        *(_section(x, threshold) for x in extra),
        _reading(statistics, threshold),
        _provenance(provenance),
    ]
    footer = (
        f"<footer><p class='muted small'>{_e(title)} · made {_e(made)} by Outcomes Explorer "
        f"{_e(provenance.version)} · counts from 1 to {threshold} are hidden ({SUPPRESSED}) · "
        f"{_e(marking(threshold))}</p></footer>"
    )
    page_marks = _page_marks(authority, period, demo)
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}{page_marks}</style>\n</head>\n<body>\n"
        + "\n".join(sections[:1])
        + "\n<main>\n"
        + "\n".join(sections[1:])
        + "\n</main>\n"
        + footer
        + "\n</body>\n</html>\n"
    )


# --- pieces ---------------------------------------------------------------------------------


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _anchor(indicator_id: str) -> str:
    return "indicator-" + indicator_id.replace(".", "-")


def _page_marks(authority: str, period: Period, demo: bool) -> str:
    """Running footers on printed pages (browsers that support page margin boxes)."""
    words = f"{authority} · {period.label}" + (" · DEMO: fictional authority" if demo else "")
    words = "".join(c for c in words if c not in '\\"<>{}')  # safe inside a CSS string
    return (
        '@page { @bottom-left { content: "' + words + '"; font-size: 8pt; color: #595959; }'
        ' @bottom-right { content: "Page " counter(page) " of " counter(pages);'
        " font-size: 8pt; color: #595959; } }"
    )


def _demo_banner() -> str:
    return (
        f'<p class="demo" role="note">{_e(DEMO_WORDS)}<span>These numbers are made up: '
        "Demoton is a fictional authority generated for the demo. Do not quote them.</span></p>"
    )


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Iterable[int] = (),
    raw: Iterable[int] = (),
) -> str:
    """A table with a caption, column headers and the first cell of each row as its header.
    Cells are escaped except the columns in ``raw`` (already HTML)."""
    numeric, raw = set(numeric), set(raw)

    def cls(position: int) -> str:
        return ' class="num"' if position in numeric else ""

    head = "".join(
        f'<th scope="col"{cls(i)}>{_e(h)}</th>' for i, h in enumerate(headers)
    )  # fmt: skip
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            content = cell if i in raw else _e(cell)
            tag = f'th scope="row"{cls(i)}' if i == 0 else f"td{cls(i)}"
            cells.append(f"<{tag}>{content}</{tag.split()[0]}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _count(value, hidden: bool) -> str:
    """A count as text: c when hidden, blank when there is none."""
    if value is None or pd.isna(value):
        return SUPPRESSED if hidden else ""
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"


def _value(row, statistic: str) -> str:
    hidden = bool(row.suppressed) if pd.notna(row.suppressed) else False
    status = getattr(row, "status", "ok")
    if isinstance(status, str) and status != "ok":
        return NOTES.get(status, status)
    if statistic == "fact" and not hidden and pd.notna(row.value):
        return "yes" if float(row.value) >= 0.5 else "no"
    return value_text(row.value, statistic, hidden=hidden) or "no data"


def _interval(row, statistic: str) -> str:
    hidden = bool(row.suppressed) if pd.notna(row.suppressed) else False
    if hidden:
        return SUPPRESSED
    return interval_text(row.ci_low, row.ci_high, statistic)


def _change_words(
    row, statistic: str, period: Period, direction: str | None, *, compact: bool = False
) -> str:
    """The change in words, as HTML: "down 0.6 percentage points from 7.0% in 2024-25: no
    clear change (within what chance could give)"; ``compact`` (the overview's tables): "down
    0.6 points from 7.0%" and the reading on a line of its own. Coloured only when better or
    worse."""
    if bool(row.suppressed):
        return _e(f"{SUPPRESSED} (hidden)")
    if pd.isna(row.change) or pd.isna(row.previous_value):
        return _e("no value before to compare with")
    before = period.previous().label
    previous = value_text(row.previous_value, statistic)
    if row.change == 0:
        moved = f"the same as in {before} ({previous})"
    else:
        way = "up" if row.change > 0 else "down"
        size = abs(float(row.change))
        points = "points" if compact else "percentage points"
        amount = f"{percent(size)[:-1]} {points}" if statistic in SHARES else f"{size:,.2f}"
        moved = f"{way} {amount} from {previous}" + ("" if compact else f" in {before}")
    significant = pd.notna(row.change_significant) and bool(row.change_significant)
    if direction in ("better", "worse"):
        arrow = "▲" if direction == "better" else "▼"
        reading = f'<span class="{direction}">{arrow} {direction}</span>'
        reading += "" if compact else " (larger than chance)"
    elif significant:
        reading = "larger than chance" + ("" if compact else " (this indicator has no direction)")
    else:
        reading = "no clear change" + ("" if compact else " (within what chance could give)")
    return f"{_e(moved)}<br>{reading}" if compact else f"{_e(moved)}: {reading}"


def _cover(authority, period, filters_text, made, demo, threshold, details) -> str:
    contents = [("overview", "Overview: the framework at a glance")]
    contents += [(_anchor(d.record.id), f"{d.record.id} {d.record.label}") for d in details]
    contents += [
        ("reading", "How to read this pack"),
        ("provenance", "Where the numbers come from"),
    ]
    items = "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for a, t in contents)
    facts = [
        ("Period", f"{period.label} ({_day(period.start)} to {_day(period.end)})"),
        ("Showing", filters_text.removeprefix(f"{period.label} · ") or "all children"),
        ("Made", made),
        ("Small numbers", f"counts from 1 to {threshold} are hidden and shown as {SUPPRESSED}"),
        ("Marking", marking(threshold)),
    ]
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    return (
        '<header class="cover">'
        + (_demo_banner() if demo else "")
        + f'<p class="authority">{_e(authority)}</p>'
        "<h1>Outcomes for children and families: meeting pack</h1>"
        f'<dl class="facts">{rows}</dl>'
        f'<p class="screen-only small" role="note">{_e(PRINT_HELP)}</p>'
        f'<nav aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>'
        "<p class='small muted'>The outcomes framework for children's social care (La Valle, "
        "Hart, Holmes and Pinto, 2019) reads left to right: the right conditions and culture "
        "let services reach children and families who need help and value and involve them, "
        "which together lead to better outcomes for children. No indicator should be read "
        "alone: each page lists the indicators to read beside it.</p>"
        "</header>"
    )


def _day(day) -> str:
    return f"{day.day} {day:%B %Y}"


def _overview(view: Overview, period: Period, threshold: int, chosen: set[str]) -> str:
    check_disclosure(view.headlines, threshold)
    before = period.previous().label
    parts = [
        '<section id="overview" class="page" aria-labelledby="overview-title">',
        f'<h2 id="overview-title">Overview, {_e(period.label)}</h2>',
        _context(view.context, period, threshold),
    ]
    for box in view.boxes:
        rows = []
        for row in view.headlines[view.headlines["domain"] == box.domain].itertuples():
            statistic = row.statistic
            trend = view.trends[view.trends["indicator_id"] == row.indicator_id]
            name = f"{row.indicator_id} {row.label}"
            if row.indicator_id in chosen:
                name = f'<a href="#{_anchor(row.indicator_id)}">{_e(name)}</a>'
            else:
                name = _e(name)
            if row.status != "ok":
                note = _e(NOTES.get(row.status, row.status))
                rows.append([name, note, "", "", ""])
                continue
            rows.append(
                [
                    name,
                    _e(_value(row, statistic)),
                    _e(_interval(row, statistic)),
                    _sparkline(trend, statistic),
                    _change_words(row, statistic, period, _text(row.direction), compact=True),
                ]
            )
        parts.append(
            f'<div class="box"><h3>{_e(box.domain)}. {_e(box.title)}</h3>'
            f'<p class="muted small">{_e(box.plain)}</p>'
            + _table(
                f"{box.domain}. {box.title}: headline indicators, {period.label}",
                ["Indicator", "Value", "95% interval", "Trend", f"Change from {before}"],
                rows,
                numeric=(1, 2),
                raw=(0, 1, 2, 3, 4),
            )
            + "</div>"
        )
    parts.append(
        f'<p class="small muted">Values with their 95% interval; {SUPPRESSED}: hidden because it '
        f"rests on a count from 1 to {threshold}. A change is called better or worse only when "
        "it is larger than chance (p &lt; 0.05) and the indicator has a direction. The trend "
        "shows up to five periods, oldest first.</p></section>"
    )
    return "\n".join(parts)


def _sparkline(trend: pd.DataFrame, statistic: str) -> str:
    shown = trend[trend["status"] == "ok"]
    values = [
        None if bool(h) else v
        for v, h in zip(shown["value"], shown["suppressed"].fillna(False), strict=True)
    ]
    words = trend_words(trend, statistic)
    svg = sparkline_svg(values)
    if not svg:
        return _e(words)
    return f'<span class="spark" role="img" aria-label="{_e(words)}">{svg}</span>'


def _context(context: pd.DataFrame, period: Period, threshold: int) -> str:
    counts = context[context["unit"] == "children"]
    check_disclosure(pd.DataFrame({"children": counts["value"].to_numpy()}), threshold)
    rows = []
    for row in context.itertuples():
        if row.unit == "pounds":
            value = money(row.value) or "no data"
        elif row.unit == "share":
            value = percent(row.value) or "no data"
        else:
            value = SUPPRESSED if pd.isna(row.value) else f"{row.value:,.0f}"
        rows.append([row.measure, value, row.detail])
    return "<h3>Context</h3>" + _table(
        "Context: demand, deprivation and spend (not scored by the framework, but needed to "
        "read it)",
        ["Measure", "Value", "Detail"],
        rows,
        numeric=(1,),
    )


def _indicator(detail: IndicatorDetail, period: Period, threshold: int) -> str:
    record = detail.record
    statistic = record.statistic
    for frame in (detail.whole, detail.trend, detail.by_group):
        check_disclosure(frame, threshold, statistic=statistic)
    check_disclosure(detail.related, threshold)
    domain = catalogue().domains[record.domain]
    anchor = _anchor(record.id)
    facts = [
        ("Domain", f"{record.domain}. {domain.title}"),
        ("Outcome", record.outcome),
        ("Counted out of", record.cohort),
        ("Unit", record.unit),
        ("Statistic", _statistic_words(statistic)),
        ("Direction", POLARITY_WORDS.get(record.polarity, record.polarity)),
        ("Data", f"{record.kind}, {record.availability}; from {', '.join(record.sources)}"),
    ]
    if record.crosswalks:
        facts.append(("Also measured as", "; ".join(record.crosswalks)))
    parts = [
        f'<section id="{anchor}" class="page" aria-labelledby="{anchor}-title">',
        f'<h2 id="{anchor}-title">{_e(record.id)} {_e(record.label)}</h2>',
        "<h3>What it measures</h3>",
        f"<p>{_e(record.definition)}</p>",
        '<dl class="facts">'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
        + "</dl>",
        f"<h3>In {_e(period.label)}</h3>",
        _now(detail, period),
        "<h3>Trend</h3>",
        _trend(detail, threshold),
        "<h3>By group</h3>",
        _by_group(detail),
        "<h3>Read it beside</h3>",
        _related(detail),
    ]
    if record.caveats:
        items = "".join(f"<li>{_e(c)}</li>" for c in record.caveats)
        parts.append(f'<h3>Caveats</h3><ul class="caveats">{items}</ul>')
    parts.append("</section>")
    return "\n".join(parts)


def _section(section: PackSection, threshold: int) -> str:
    """One extra page: its words, chart (inline SVG with its words as the text alternative)
    and tables (each checked for disclosure first)."""
    anchor = "section-" + "".join(c if c.isalnum() else "-" for c in section.title.lower())
    parts = [
        f'<section id="{anchor}" class="page" aria-labelledby="{anchor}-title">',
        f'<h2 id="{anchor}-title">{_e(section.title)}</h2>',
        *(f"<p>{_e(words)}</p>" for words in section.paragraphs),
    ]
    if section.chart is not None:
        chart = section.chart.properties(width=560, height=220)
        svg = chart_svg(chart, threshold)
        svg = svg[svg.find("<svg") :]
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(section.chart_words)}" ', 1)
        parts.append(f"<figure>{svg}<figcaption>{_e(section.chart_words)}</figcaption></figure>")
    counts = None if section.counts is None else list(section.counts)
    for caption, frame in section.tables:
        check_disclosure(frame, threshold, counts=counts)
        rows = [["" if pd.isna(v) else str(v) for v in row] for row in frame.itertuples(False)]
        parts.append(_table_numeric(caption, [str(c) for c in frame.columns], rows))
    parts.append("</section>")
    return "\n".join(parts)


def _statistic_words(statistic: str) -> str:
    return {
        "proportion": "a share (percentage) with its 95% Wilson interval",
        "distribution": "shares of categories, each with its 95% Wilson interval",
        "mean": "a mean with its 95% interval (mean ± t × sd ÷ √n)",
        "ratio": "events per unit of exposure, with Byar's 95% interval",
        "fact": "the organisation's yes or no",
    }.get(statistic, statistic)


def _now(detail: IndicatorDetail, period: Period) -> str:
    """The period's value: headline, interval, numerator and denominator, change."""
    statistic = detail.record.statistic
    whole = detail.whole
    if whole.empty or (whole["status"] != "ok").all():
        status = whole["status"].iloc[0] if not whole.empty else "no data"
        return f"<p>{_e(NOTES.get(status, status).capitalize())} for {_e(period.label)}.</p>"
    if statistic == "distribution":
        rows = []
        hidden_total = False
        for row in whole[whole["category"].notna()].itertuples():
            hidden = bool(row.suppressed)
            hidden_total |= hidden and pd.isna(row.denominator)
            rows.append(
                [row.category, _count(row.numerator, hidden), _value(row, statistic),
                 _interval(row, statistic)]
            )  # fmt: skip
        denominators = whole["denominator"].dropna()
        total = _count(denominators.iloc[0], False) if not denominators.empty else SUPPRESSED
        return f"<p>Out of {_e(total)} ({_e(detail.record.cohort)}).</p>" + _table(
            f"{detail.record.id} by category, {period.label}",
            ["Category", "Counted", "Share", "95% interval"],
            rows,
            numeric=(1, 2, 3),
        )
    row = next(whole.itertuples())
    hidden = bool(row.suppressed)
    value = _value(row, statistic)
    interval = _interval(row, statistic)
    lines = [
        f'<p><span class="headline">{_e(value)}</span>'
        + (f" <span>(95% interval {_e(interval)})</span>" if interval and not hidden else "")
        + "</p>"
    ]
    if statistic in ("proportion", "ratio"):
        counted = "Events" if statistic == "ratio" else "Counted (numerator)"
        out_of = "Exposure" if statistic == "ratio" else "Out of (denominator)"
        lines.append(
            '<dl class="facts">'
            f"<dt>{counted}</dt><dd>{_e(_count(row.numerator, hidden))}</dd>"
            f"<dt>{out_of}</dt><dd>{_e(_count(row.denominator, hidden))}</dd></dl>"
        )
    if hidden:
        lines.append(
            f"<p>{SUPPRESSED}: hidden because it rests on a small count, so neither the value "
            "nor its change is shown.</p>"
        )
    elif statistic != "fact":
        reading = direction(row.change, row.change_significant, detail.record.polarity)
        lines.append(f"<p>Change: {_change_words(row, statistic, period, reading)}</p>")
    return "".join(lines)


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _trend(detail: IndicatorDetail, threshold: int) -> str:
    statistic = detail.record.statistic
    trend = detail.trend
    if trend.empty:
        return "<p>No values in these periods.</p>"
    if statistic == "distribution":
        return _pivot(trend, "period", f"{detail.record.id}: shares by category and period")
    chart = None if statistic == "fact" else trend_chart(trend, statistic)  # a yes or no
    figure = ""
    if chart is not None:
        words = trend_words(trend, statistic)
        chart = chart.properties(width=560, height=180).configure_axisX(labelAngle=0)
        svg = chart_svg(chart, threshold)
        svg = svg[svg.find("<svg") :]
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(words)}" ', 1)
        figure = (
            f"<figure>{svg}<figcaption>The line is the value, the band its 95% interval; a "
            "period whose value is hidden or missing is left out. The numbers are in the table "
            "below.</figcaption></figure>"
        )
    rows = []
    for row in trend.itertuples():
        if row.status != "ok":
            rows.append([row.period, "", "", NOTES.get(row.status, row.status), ""])
            continue
        hidden = bool(row.suppressed)
        rows.append(
            [row.period, _count(row.numerator, hidden), _count(row.denominator, hidden),
             _value(row, statistic), _interval(row, statistic)]
        )  # fmt: skip
    headers = ["Period", *_count_headers(statistic), "Value", "95% interval"]
    return figure + _table_numeric(
        f"{detail.record.id} by period", *_without_counts(statistic, headers, rows)
    )


def _count_headers(statistic: str) -> list[str]:
    return ["Events", "Exposure"] if statistic == "ratio" else ["Counted", "Out of"]


def _without_counts(statistic: str, headers: list[str], rows: list[list[str]]):
    """(headers, rows) without the numerator and denominator (columns 1 and 2) where the
    statistic has none (means, facts); the columns after the first are numbers."""
    if statistic in ("mean", "fact"):
        headers = [headers[0], *headers[3:]]
        rows = [[r[0], *r[3:]] for r in rows]
    return headers, rows


def _table_numeric(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    return _table(caption, headers, rows, numeric=range(1, len(headers)))


def _pivot(frame: pd.DataFrame, across: str, caption: str, labels: dict | None = None) -> str:
    """A distribution as categories (rows) by ``across`` (columns: periods or groups): each
    share, and a first row with what the shares are out of."""
    rows = frame[(frame.get("status", "ok") == "ok") & frame["category"].notna()]
    if rows.empty:
        return "<p>No values to show.</p>"
    columns = list(dict.fromkeys(rows[across]))
    names = [labels.get(c, c) if labels else c for c in columns]
    totals = ["Out of (all categories)"]
    for column in columns:
        part = rows[rows[across] == column]
        known = part["denominator"].dropna()
        totals.append(_count(known.iloc[0], False) if not known.empty else SUPPRESSED)
    body = [totals]
    for category in dict.fromkeys(rows["category"]):
        line = [category]
        for column in columns:
            cell = rows[(rows[across] == column) & (rows["category"] == category)]
            line.append(_value(next(cell.itertuples()), "distribution") if len(cell) else "")
        body.append(line)
    return _table(caption, ["Category", *names], body, numeric=range(1, len(columns) + 1))


def _by_group(detail: IndicatorDetail) -> str:
    statistic = detail.record.statistic
    groups = detail.by_group
    if groups.empty:
        return "<p>Not by group: these units are not children's, or there is no data.</p>"
    caption = f"{detail.record.id} by group of children (a child can be in several groups)"
    if statistic == "distribution":
        return _pivot(groups, "group", caption, GROUP_LABELS)
    rows = []
    for row in groups.itertuples():
        hidden = bool(row.suppressed)
        rows.append(
            [GROUP_LABELS.get(row.group, row.group), _count(row.numerator, hidden),
             _count(row.denominator, hidden), _value(row, statistic), _interval(row, statistic)]
        )  # fmt: skip
    headers = ["Group", *_count_headers(statistic), "Value", "95% interval"]
    return _table_numeric(caption, *_without_counts(statistic, headers, rows))


def _related(detail: IndicatorDetail) -> str:
    related = detail.related
    if related.empty:
        return "<p>No related indicators are listed for this one.</p>"
    rows = []
    for row in related.itertuples():
        name = f"{row.indicator_id} {row.label}"
        if pd.isna(row.status):  # a distribution: shares by category, not one value
            rows.append([name, "shares by category (see its page)", ""])
            continue
        statistic = row.statistic
        rows.append([name, _value(row, statistic), _interval(row, statistic)])
    return _table(
        f"Indicators to read beside {detail.record.id} (no indicator is read alone)",
        ["Indicator", "Value", "95% interval"],
        rows,
        numeric=(1, 2),
    )


TERMS = {
    "95% interval": "The range the true value probably lies in, given how many were counted: "
    "if the same thing were measured many times, 95 in 100 such intervals would contain it. "
    "Wide intervals come from small numbers.",
    "Larger than chance": "A change whose p-value is below 0.05: a difference this large "
    "would rarely arise by chance alone if nothing had changed. Two-proportion z test for "
    "shares, Welch's test for means, a conditional test on event counts for ratios.",
    "Better, worse, no clear change": "A change is called better or worse only when it is "
    "larger than chance and the indicator has a direction (higher or lower is better). Many "
    "indicators have none: more referrals ending in no further action is neither good nor bad "
    "in itself.",
    "Numerator and denominator": "What is counted, and what it is counted out of. For a ratio, "
    "the events (e.g. leavers) and the exposure (e.g. full-time equivalent staff).",
    "Percentage points": "The difference between two percentages: from 40.0% to 43.7% is up "
    "3.7 percentage points.",
    "Percentages": "Rounded to one decimal place, halves up, as the DfE publishes: 53 of 80 is "
    "66.3%.",
    "Period": "2024-25 is 1 April 2024 to 31 March 2025 (as the statutory returns); 2024-25H1 is "
    "April to September, 2024-25H2 October to March.",
    "Group": "Children in need, on a child protection plan, looked after, care leavers, "
    "disabled, neglect, unaccompanied asylum-seeking: a child can be in several, so groups do "
    "not add up to the whole.",
    "Wilson interval": "The interval used for shares: it stays within 0% to 100% and behaves "
    "well for small numbers.",
    "Byar's interval": "The interval used for ratios of events to exposure (a Poisson count).",
    "Interval of a mean": "The mean ± t × standard deviation ÷ √(number of values).",
}
STATISTIC_TERMS = {
    "proportion": "Wilson interval",
    "distribution": "Wilson interval",
    "ratio": "Byar's interval",
    "mean": "Interval of a mean",
}


def _reading(statistics: set[str], threshold: int) -> str:
    wanted = {STATISTIC_TERMS[s] for s in statistics if s in STATISTIC_TERMS}
    terms = [(t, m) for t, m in TERMS.items() if t not in STATISTIC_TERMS.values() or t in wanted]
    items = "".join(f"<dt>{_e(t)}</dt><dd>{_e(m)}</dd>" for t, m in terms)
    return (
        '<section id="reading" class="page" aria-labelledby="reading-title">'
        '<h2 id="reading-title">How to read this pack</h2>'
        f'<h3>Terms</h3><dl class="facts">{items}</dl>'
        f"<h3>Hidden numbers ({SUPPRESSED})</h3>"
        f"<p>The numbers are about real children, so a count from 1 to {threshold} is never "
        f"shown, nor anything it could be worked out from. Such a cell reads {SUPPRESSED} "
        "(as in DfE statistics: confidential). Where one part of a total is hidden, another is "
        "hidden too, so that the first cannot be worked back by subtraction; a value hidden in "
        "the period before hides the change. A blank or \u201cno data\u201d means nothing was "
        "recorded: it is neither zero nor hidden.</p>"
        "<p>“Not for a group of children”: the units (e.g. staff survey answers, "
        "meetings) belong to no child, so they cannot be cut by group or area.</p>"
        "</section>"
    )


def _provenance(provenance: Provenance) -> str:
    return (
        '<section id="provenance" aria-labelledby="provenance-title">'
        '<h2 id="provenance-title">Where the numbers come from</h2>'
        + _table("Provenance of this pack", ["Item", "Value"], provenance.rows())
        + "<p class='small muted'>Every number is made by the Outcomes Explorer engine from the "
        "store named above, the same way as in the app; children are held only as pseudonyms.</p>"
        "</section>"
    )


__all__ = ["DEMO_WORDS", "PRINT_HELP", "meeting_pack_html", "render_pack"]
