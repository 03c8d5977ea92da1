"""Accessibility checks that can be made without a person: text contrast of the colours the
app writes in (WCAG 2.2 AA: 4.5:1 for text), colour-blind-safe chart colours, and a text
alternative on every chart the pages draw."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from framework import charts

PAGES = Path(__file__).resolve().parents[1] / "app_pages"


def _luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB colour such as "#00588A"."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground: str, background: str = "#FFFFFF") -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_on_known_pairs():
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#FFFFFF") == pytest.approx(1.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest AA grey


@pytest.mark.parametrize("colour", [charts.BETTER_TEXT, charts.WORSE_TEXT, charts.NEUTRAL_COLOUR])
def test_text_colours_pass_wcag_aa_on_white(colour):
    assert contrast(colour) >= 4.5


def test_better_and_worse_are_not_red_against_green():
    # Blue and vermilion stay apart in the common colour blindnesses (Okabe and Ito).
    assert charts.BETTER_COLOUR in charts.OKABE_ITO and charts.WORSE_COLOUR in charts.OKABE_ITO
    for colour in (charts.BETTER_TEXT, charts.BETTER_COLOUR):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert b > r and b > g  # a blue, not a green


def _chart_calls():
    for path in sorted(PAGES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else None
            called = node.func.id if isinstance(node.func, ast.Name) else called
            # draw_chart (app_pages/charts.py) draws a chart made once per view.
            if called in ("altair_chart", "pydeck_chart", "vega_lite_chart", "draw_chart"):
                yield path.name, node


def test_every_chart_on_a_page_has_a_text_alternative():
    calls = list(_chart_calls())
    assert len(calls) >= 8  # the pages draw charts; this test must see them
    missing = [
        f"{name}:{node.lineno}"
        for name, node in calls
        if not any(keyword.arg == "alt" for keyword in node.keywords)
    ]
    assert not missing, f"charts without alt text: {missing}"
