"""The meeting pack (framework/meeting_pack.py, app_pages/meeting_pack.py): one self-contained,
print-ready, accessible HTML file with the engine's numbers and nothing small."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from framework import export
from framework.charts import BETTER_TEXT, NEUTRAL_COLOUR, WORSE_TEXT
from framework.engine.periods import Period
from framework.engine.views import indicator_detail
from framework.formatting import interval_text
from framework.meeting_pack import DEMO_WORDS, TEXT, meeting_pack_html
from tests.engine_store import save_store, tiny_store
from tests.test_place import place_store

REPO = Path(__file__).resolve().parents[1]
PERIOD = Period.parse("2024-25")
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}


@pytest.fixture(scope="module", autouse=True)
def fixed_version():
    """The version written in the pack, fixed (and no git command run by the tests)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "app_version", lambda: "9.9.9-test")
        yield


def pack(con, ids=("B1.2",), **options) -> str:
    options = {"authority": "Testshire", "filters_text": "2024-25 · all children", **options}
    return meeting_pack_html(con, PERIOD, threshold=5, indicator_ids=ids, **options)


@pytest.fixture(scope="module")
def nfa_pack() -> tuple[str, object]:
    """80 referrals, 53 of them no further action (B1.2 = 66.3%), with the demo notice."""
    con = place_store()
    con.execute("INSERT INTO loads (load_id, started_at, tool_version) VALUES (1, now(), 't')")
    detail = indicator_detail(con, "B1.2", PERIOD)
    return pack(con, demo=True, store="store.duckdb"), detail


def hidden_store():
    """Ten referrals, three with no further action: B1.2 rests on a count of 3."""
    referrals = "\n".join(f"R{n} | 2024-06-01 | {'true' if n < 3 else 'false'}" for n in range(10))
    con = tiny_store(f"referrals\nchild_id | referral_date | referral_nfa\n{referrals}")
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        "VALUES (1, 'census.xml', 2025, 'loaded')"
    )
    return con


@pytest.fixture(scope="module")
def hidden_pack() -> str:
    return pack(hidden_store())


# --- the numbers -----------------------------------------------------------------------------


def test_the_pack_shows_the_engines_numbers(nfa_pack):
    text, detail = nfa_pack
    whole = detail.whole.iloc[0]
    assert (whole["numerator"], whole["denominator"]) == (53, 80)
    assert '<span class="headline">66.3%</span>' in text
    interval = interval_text(whole["ci_low"], whole["ci_high"], "proportion")
    assert f"(95% interval {interval})" in text
    assert "<dt>Counted (numerator)</dt><dd>53</dd>" in text
    assert "<dt>Out of (denominator)</dt><dd>80</dd>" in text
    # The overview's B1.2 row shows the same value and interval.
    overview = text[text.index('id="overview"') : text.index('id="indicator-B1-2"')]
    assert "66.3%" in overview and interval in overview
    # The chart is inline SVG with its text alternative; the trend is also a table.
    section = text[text.index('id="indicator-B1-2"') :]
    assert re.search(r'<svg role="img" aria-label="From 2020-21 to 2024-25: [^"]*66\.3%"', section)
    assert "B1.2 by period</caption>" in section


def test_a_hidden_value_is_c_and_its_numbers_appear_nowhere(hidden_pack):
    text = hidden_pack
    section = text[text.index('id="indicator-B1-2"') :]
    assert '<span class="headline">c</span>' in section
    assert "<dt>Counted (numerator)</dt><dd>c</dd>" in section
    # 3 of 10 (30.0%), or 7 of 10 not NFA (70.0%): neither the share nor its complement.
    for leak in ("30.0%", "70.0%", "<dd>3</dd>", "<dd>7</dd>", ">3</td>", ">7</td>"):
        assert leak not in text
    overview = text[text.index('id="overview"') : text.index('id="indicator-B1-2"')]
    assert re.search(
        r"B1\.2 Referrals ending in no further action</a></th><td class=\"num\">c<", overview
    )


def test_the_demo_is_said_on_the_cover_and_only_for_the_demo(nfa_pack, hidden_pack):
    text, _ = nfa_pack
    cover = text[: text.index("<main>")]
    assert DEMO_WORDS in cover and 'class="demo"' in cover
    plain = hidden_pack
    assert DEMO_WORDS not in plain and "Testshire" in plain


def test_the_pack_says_where_its_numbers_come_from(nfa_pack):
    text, _ = nfa_pack
    provenance = text[text.index('id="provenance"') :]
    for words in ("Testshire (DEMO", "2024-25 · all children", "counts from 1 to 5 are hidden",
                  "store.duckdb", "Outcomes Explorer 9.9.9-test", "4 small areas",
                  "1; the last on"):  # fmt: skip
        assert words in provenance
    reading = text[text.index('id="reading"') : text.index('id="provenance"')]
    assert "Wilson interval" in reading and "Hidden numbers (c)" in reading


# --- the file ----------------------------------------------------------------------------------


class Structure(HTMLParser):
    """Checks tags nest and close, and collects headings, table headers and links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.headings = [], [], []
        self.th_without_scope, self.links, self.sources, self.html_lang = 0, [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "th" and attrs.get("scope") not in ("col", "row"):
            self.th_without_scope += 1
        for name in ("href", "xlink:href"):
            if name in attrs:
                self.links.append(attrs[name])
        if "src" in attrs:
            self.sources.append(attrs["src"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def test_the_pack_is_well_formed_accessible_and_self_contained(nfa_pack):
    text, _ = nfa_pack
    assert text.startswith("<!DOCTYPE html>")
    parsed = Structure()
    parsed.feed(text)
    parsed.close()
    assert parsed.problems == [] and parsed.stack == []
    assert parsed.html_lang == "en-GB"
    assert parsed.headings.count(1) == 1 and parsed.headings[0] == 1
    jumps = [b for a, b in zip(parsed.headings, parsed.headings[1:], strict=False) if b > a + 1]
    assert jumps == []  # headings never skip a level
    assert parsed.th_without_scope == 0
    # Nothing fetched from anywhere: links only within the file, no sources, no scripts.
    assert parsed.sources == []
    assert all(link.startswith("#") for link in parsed.links)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text)
    assert "<script" not in text and "@import" not in text and "url(" not in text
    assert "@page" in text and "break-before: page" in text  # print-ready on A4


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, two: str) -> float:
    high, low = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("background", ["#ffffff", "#fff4ce", "#eef2f5"])
@pytest.mark.parametrize("colour", [TEXT, NEUTRAL_COLOUR, BETTER_TEXT, WORSE_TEXT])
def test_text_colours_contrast_at_least_4_5_to_1(colour, background):
    # The pack's text colours on its backgrounds (page, demo notice, table headers).
    assert _contrast(colour, background) >= 4.5


def test_an_unknown_indicator_is_refused():
    with pytest.raises(ValueError, match=r"Z9\.9"):
        pack(hidden_store(), ids=("Z9.9",))


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture
def page_on(tmp_path, monkeypatch):
    def start(store_file: Path, **params) -> AppTest:
        config = tmp_path / "config.toml"
        text = (REPO / "config.toml").read_text()
        config.write_text(text.replace('path = "data/outcomes.duckdb"', f'path = "{store_file}"'))
        monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
        monkeypatch.setenv("OUTCOMES_MODE", "local")
        monkeypatch.chdir(REPO)
        st.cache_data.clear()
        st.cache_resource.clear()
        app = AppTest.from_file(str(REPO / "app_pages" / "meeting_pack.py"), default_timeout=120)
        for name, value in params.items():
            app.query_params[name] = value
        return app.run()

    return start


def test_the_page_makes_the_pack_from_the_link(page_on, tmp_path):
    app = page_on(save_store(place_store(), tmp_path / "store.duckdb"), pack="B1.2,nonsense")
    assert not app.exception
    assert app.title[0].value == "Meeting pack"
    choice = app.multiselect[0]
    assert choice.label == "Indicators to include" and choice.value == ["B1.2"]
    buttons = app.get("download_button")
    assert [b.label for b in buttons] == ["Download the meeting pack (HTML)"]
    assert app.query_params["pack"] == "B1.2"  # the choice stays in the link
    assert "Save as PDF" in app.main.caption[-1].value


def test_the_page_without_returns_says_so(page_on, tmp_path):
    from tests.test_place import AREAS

    app = page_on(save_store(tiny_store(AREAS), tmp_path / "store.duckdb"))
    assert not app.exception
    assert "nothing to put in a pack" in app.info[0].value


def test_the_page_adds_the_commissioning_and_funding_pages(page_on, tmp_path):
    app = page_on(save_store(place_store(), tmp_path / "store.duckdb"))
    assert not app.exception
    app.session_state["pack_extras"] = ["funding", "neglect", "benchmarking"]
    app.run()
    assert not app.exception
    # Funding and neglect services are always there (their pages say what is missing); this
    # store holds no published statistics, so there is no benchmarking page to add.
    assert "2 other page(s)" in app.main.caption[-1].value
    html = app.expander[0].children[0].proto.srcdoc  # the preview (an iframe of the pack)
    assert "Funding context" in html and "Neglect services" in html
    assert "section-benchmarking" not in html
