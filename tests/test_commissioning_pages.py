"""AppTests for the commissioning and funding pages: Neglect services (app_pages/neglect.py),
Funding (app_pages/funding.py) and Benchmarking (app_pages/benchmarking.py).

The app is started from app.py (the ``app_on`` fixture of conftest.py) on stores made from the
engine tests' own tiny data (tests/test_benchmarking.py, tests/test_funding.py and
tests/test_neglect.py), and on DfE's real published files when ../shared is present. Every
expected figure is worked out by hand in the comments from the tiny data (or read from the raw
CSV with pandas for the real files), never copied from the page.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from framework.engine import benchmarking as bm
from framework.engine.funding import CAVEAT
from framework.load import load_files
from framework.privacy import Pseudonymiser
from tests.engine_store import add_rows, save_store, tiny_store
from tests.test_benchmarking import _write_tiny
from tests.test_funding import OWN, PUBLISHED_TINY, SPENDING_CSV
from tests.test_neglect import PRACTICAL, _cohort_store

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "csc_la_stats"
KEY = Pseudonymiser(b"a test key that is long enough")
FIRST_RUN = 180  # seconds: a first run works out every view of a store

NEGLECT, FUNDING, BENCHMARKING = (
    "app_pages/neglect.py",
    "app_pages/funding.py",
    "app_pages/benchmarking.py",
)
RE_REFERRALS = bm.shared_measure("re_referrals").label
NFA = bm.shared_measure("nfa").label
SERIES = "The figures, every year and area"


# --- helpers ---------------------------------------------------------------------------------


def _open(app_on, store_file: Path, page: str):
    app = app_on(store_file)
    app.switch_page(page).run(timeout=FIRST_RUN)
    assert not app.exception, [e.value for e in app.exception]
    return app


def _select(app, label: str):
    return next(box for box in app.selectbox if box.label == label)


def _table(app, column: str) -> pd.DataFrame:
    """The first table on the page with this column."""
    return next(t.value for t in app.dataframe if column in t.value.columns)


def _expander(app, label: str):
    return next(e for e in app.expander if e.label.startswith(label))


def _param(app, name: str) -> str:
    value = app.query_params[name]
    return value[0] if isinstance(value, list) else value


def _captions(app) -> str:
    return "\n".join(c.value for c in app.caption)


def _texts(app) -> str:
    """Every piece of text the page writes (markdown, info, warning, captions)."""
    parts = [*app.markdown, *app.info, *app.warning, *app.caption, *app.error]
    return "\n".join(str(p.value) for p in parts)


def _with_load(con, year: int = 2025):
    """A dated load, so that the store has a latest period (2024-25 for 2025)."""
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        f"VALUES (1, 'census.xml', {year}, 'loaded')"
    )
    return con


# --- stores, built once per module ------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory) -> Path:
    """tests/test_benchmarking.py's tiny EES files, loaded through the ordinary loader."""
    folder = tmp_path_factory.mktemp("bench_pages")
    _write_tiny(folder / "files")
    path = folder / "store.duckdb"
    outcome = load_files([folder / "files"], store_path=path, pseudonymiser=KEY)
    assert outcome.status == "loaded", outcome.message
    return path


@pytest.fixture(scope="module")
def funding_store(tmp_path_factory) -> Path:
    """tests/test_funding.py's own finance (OWN) and published figures (PUBLISHED_TINY)."""
    con = tiny_store(OWN)
    add_rows(con, PUBLISHED_TINY)
    return save_store(con, tmp_path_factory.mktemp("funding_pages") / "store.duckdb")


@pytest.fixture(scope="module")
def neglect_store(tmp_path_factory) -> Path:
    """tests/test_neglect.py's neglect group (_cohort_store) and Home Help services
    (PRACTICAL) in one store, with a dated load for 2024-25."""
    con = _with_load(tiny_store(_cohort_store() + PRACTICAL))
    return save_store(con, tmp_path_factory.mktemp("neglect_pages") / "store.duckdb")


@pytest.fixture(scope="module")
def cohort_only_store(tmp_path_factory) -> Path:
    """The neglect group alone: no commissioned services, no published statistics."""
    con = _with_load(tiny_store(_cohort_store()))
    return save_store(con, tmp_path_factory.mktemp("cohort_pages") / "store.duckdb")


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> Path:
    """DfE's real published files, loaded as `python -m framework load` does (load_files)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} (DfE's published statistics) is not available")
    path = tmp_path_factory.mktemp("real_pages") / "store.duckdb"
    outcome = load_files([REFERENCE], store_path=path, pseudonymiser=KEY)
    assert outcome.status == "loaded", outcome.message
    return path


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")


# --- Benchmarking --------------------------------------------------------------------------------
#
# The tiny files (tests/test_benchmarking.py): seven authorities 101-107 (Aland … Gland), the
# North East and England, 2022-2025. No authority is the configured one (999), so the list is
# alphabetical and Aland (101) comes first. Aland's neighbours: Bland (102), Cland (103), Dland
# (104); Cland's: Aland (101), Fland (106), Gland (107).
#
# Re-referrals, 2025 (lower is better):
#   Aland 260 of 1,000 = 26.0%; England 2,000 of 10,000 = 20.0%; North East 840 / 4,000 = 21.0%.
#   Neighbours: Bland c (suppressed by DfE: left out), Cland 15.0, Dland k (read as 0):
#   average (15.0 + 0.0) / 2 = 7.5%.
#   Authorities with a figure: 0 (Dland), 15, 20 (Fland), 22 (Gland), 26 → quartiles by linear
#   interpolation over 5 values: Q1 = 15, median 20, Q3 = 22. Aland's 26 > Q3: worst quarter;
#   Cland's 15 ≤ Q1: best quarter.
#   Cland's neighbours: Aland 26.0, Fland 20.0, Gland 22.0: (26 + 20 + 22) / 3 = 22.67 → 22.7%.
# No further action, 2025 (no polarity): Aland 50 of 1,000 = 5.0%, England 600/10,000 = 6.0%.
# Referrals (a count, no polarity): Aland 1,000.


def test_benchmarking_at_a_glance_on_the_tiny_store(app_on, bench_store):
    app = _open(app_on, bench_store, BENCHMARKING)
    assert app.title[0].value == "Benchmarking"
    assert _select(app, "Authority").value == "101"
    assert _param(app, "la") == "101"
    glance = _table(app, "This authority").set_index("Measure")
    row = glance.loc[RE_REFERRALS]
    assert row["Year"] == "2025"
    assert (row["This authority"], row["England"], row["Region"]) == ("26.0%", "20.0%", "21.0%")
    assert row["Neighbours' average"] == "7.5%"
    assert row["Quarter of authorities"] == "worst quarter"
    assert row["Framework indicator"] == "B2.1"
    # Polarity decides the quarter column: no band without it.
    nfa = glance.loc[NFA]
    assert (nfa["This authority"], nfa["England"]) == ("5.0%", "6.0%")
    assert nfa["Quarter of authorities"] == "— (no polarity)"
    referrals = glance.loc["Referrals received in the year (count)"]
    assert referrals["This authority"] == "1,000"
    assert referrals["Quarter of authorities"] == "— (no polarity)"
    for measure, band in glance["Quarter of authorities"].items():
        assert (band in bm.BANDS) or band == "— (no polarity)", measure
    # Where Aland stands, in words: 5 authorities with a figure, 0 / 20 / 26, England 20.
    assert (
        "In 2025, of 5 authorities with a figure: lowest 0.0%, median 20.0%, highest 26.0%; "
        "England 20.0%. This authority: 26.0%, in the **worst quarter**."
    ) in _texts(app)
    # Aland 26% is above England's 99.8% limit at 1,000 referrals (about 23.9%) and rose
    # 20 → 22 → 24 → 26 (trend p < 0.001): worse and getting worse, said as a warning.
    assert any(w.value.startswith("**Worse and getting worse:**") for w in app.warning)
    # The series table: Bland's suppressed 2025 figure is c, never 0.
    series = _expander(app, SERIES).dataframe[0].value
    bland = series[(series["Area"] == "Bland") & (series["Year"] == "2025")].iloc[0]
    assert bland["Figure"] == "c"
    # Dland's "k" (fewer than 0.5, read as 0) is shown as published.
    dland = series[(series["Area"] == "Dland") & (series["Year"] == "2025")].iloc[0]
    assert dland["Figure"] == "k"
    aland = series[(series["Area"] == "Aland") & (series["Year"] == "2025")].iloc[0]
    assert (aland["Figure"], aland["Counted"], aland["Out of"]) == ("26.0%", 260, 1000)
    # Not placed on the funnel: Bland (c) and Eland (x), with their symbols' meanings.
    apart = _expander(app, "Not placed").dataframe[0].value.set_index("area_name")
    assert apart.loc["Bland", "meaning"] == "c: confidential (suppressed)"
    assert apart.loc["Eland", "meaning"] == "x: not available"


def test_benchmarking_a_suppressed_figure_is_c_never_zero(app_on, bench_store):
    app = _open(app_on, bench_store, BENCHMARKING)
    _select(app, "Authority").set_value("102").run(timeout=FIRST_RUN)
    assert not app.exception
    # Bland 2025: re-referrals and NFA are "c" in DfE's file; its 500 referrals are published.
    glance = _table(app, "This authority").set_index("Measure")
    assert glance.loc[RE_REFERRALS, "This authority"] == "c"
    assert glance.loc[NFA, "This authority"] == "c"
    assert glance.loc["Referrals received in the year (count)", "This authority"] == "500"
    # England is still England's: 20.0%.
    assert glance.loc[RE_REFERRALS, "England"] == "20.0%"
    assert "0.0%" not in list(glance.loc[RE_REFERRALS]) + list(glance.loc[NFA])
    # No figure, no quarter. (Today the cell reads "— (no polarity)", which is wrong for a
    # measure with polarity: readable.benchmark_glance fills every missing band with it.)
    assert glance.loc[RE_REFERRALS, "Quarter of authorities"] not in bm.BANDS
    assert "This authority: c." in _texts(app)


def test_benchmarking_another_authority_changes_the_figures_and_the_link(app_on, bench_store):
    app = _open(app_on, bench_store, BENCHMARKING)
    before = _table(app, "This authority").set_index("Measure")
    assert before.loc[RE_REFERRALS, "This authority"] == "26.0%"
    _select(app, "Authority").set_value("103").run(timeout=FIRST_RUN)
    assert not app.exception
    assert _param(app, "la") == "103"
    after = _table(app, "This authority").set_index("Measure")
    row = after.loc[RE_REFERRALS]
    # Cland 2025: 150 of 1,000 = 15.0%, best quarter; neighbours' average 22.7% (see above).
    assert (row["This authority"], row["England"]) == ("15.0%", "20.0%")
    assert row["Neighbours' average"] == "22.7%"
    assert row["Quarter of authorities"] == "best quarter"
    # NFA: Cland 80 of 1,000 = 8.0%.
    assert after.loc[NFA, "This authority"] == "8.0%"
    series = _expander(app, SERIES).dataframe[0].value
    named = series[(series["Compared as"] == "neighbour") & (series["Year"] == "2025")]
    assert list(named["Area"]) == ["Aland", "Fland", "Gland"]
    assert list(named["Figure"]) == ["26.0%", "20.0%", "22.0%"]


def test_benchmarking_on_the_real_files_barnet(app_on, real_store):
    app = _open(app_on, real_store, BENCHMARKING)
    _select(app, "Authority").set_value("302").run(timeout=FIRST_RUN)
    assert not app.exception
    assert _param(app, "la") == "302"
    raw = _raw("c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv")
    raw = raw[(raw["category"] == "Referrals and Re-referrals") & (raw["time_period"] == "2025")]
    local = raw[raw["geographic_level"] == "Local authority"].set_index("old_la_code")
    barnet = raw[raw["new_la_code"] == "E09000003"].iloc[0]
    england = raw[raw["geographic_level"] == "National"].iloc[0]

    def as_shown(text: str) -> str:  # the raw figure as the page writes a percentage
        return f"{float(text):.1f}%"

    glance = _table(app, "This authority").set_index("Measure")
    row = glance.loc[RE_REFERRALS]
    assert row["Year"] == "2025"
    assert row["This authority"] == as_shown(barnet["rereferral_percent"])
    assert row["England"] == as_shown(england["rereferral_percent"])
    assert row["Quarter of authorities"] in bm.BANDS
    # Every measure without polarity has no quarter.
    for shared in bm.SHARED_MEASURES:
        if shared.polarity == bm.NO_POLARITY and shared.label in glance.index:
            assert glance.loc[shared.label, "Quarter of authorities"] == "— (no polarity)"
    # The series table lists Barnet's ten neighbours of DfE's 2025 model, in its order, each
    # with its raw 2025 re-referral figure.
    model = _raw("sn_model_2025_wide.csv").set_index("old_la_code")
    codes = [model.at["302", f"SN_{k}"].strip() for k in range(1, 11)]
    series = _expander(app, SERIES).dataframe[0].value
    named = series[(series["Compared as"] == "neighbour") & (series["Year"] == "2025")]
    assert len(named) == 10
    assert list(named["Area"]) == [local.at[c, "la_name"] for c in codes]
    assert list(named["Figure"]) == [as_shown(local.at[c, "rereferral_percent"]) for c in codes]
    mine = series[(series["Compared as"] == "authority") & (series["Year"] == "2025")].iloc[0]
    assert mine["Area"] == "Barnet"
    assert mine["Figure"] == as_shown(barnet["rereferral_percent"])
    assert (mine["Counted"], mine["Out of"]) == (
        float(barnet["rereferral_count"]),
        float(barnet["referral_count"]),
    )


def test_benchmarking_without_published_statistics_says_how_to_load_them(app_on, cohort_only_store):
    app = _open(app_on, cohort_only_store, BENCHMARKING)
    assert any(i.value.startswith("No published statistics are loaded") for i in app.info)
    assert not app.dataframe
    # The funding page on the same store: no finance, nothing to compare with, no failure.
    app.switch_page(FUNDING).run(timeout=FIRST_RUN)
    assert not app.exception
    assert any(i.value.startswith("No finance data is loaded") for i in app.info)
    assert any(i.value.startswith("No published statistics are loaded, so") for i in app.info)


# --- Funding -------------------------------------------------------------------------------------
#
# The authority's own spending (OWN, tests/test_funding.py), outturn by financial year:
#   2023-24: looked after 300,000 + safeguarding 100,000 = £400,000
#   2024-25: looked after 600,000 + safeguarding 400,000 = £1,000,000 (shown as £1.0m)
# Children aged 0-17 (ref_areas): 600 + 400 = 1,000 → per child £400 and £1,000.
# Children in need during the year (a referral, no closure): 2023-24 A-F = 6 → 400,000 / 6 =
#   £66,667; 2024-25 A-H = 8 → 1,000,000 / 8 = £125,000.
# Looked after on 31 March (an episode open on the day and after it):
#   2024: A, B, C (open), I, J, K (ended 30 June 2024) = 6 → 300,000 / 6 = £50,000;
#   2025: A, B, C = 3 (I-K left; D's episode ended on 31 March 2025 itself) — from 1 to 5:
#   hidden (c), and so is 600,000 / 3 (it would give the 3 back).
#
# Published (PUBLISHED_TINY): Alpha (801) has neighbours Beta (802, very close) and Gamma (803,
# close), region Northish; spending 2024/25.
#   Alpha: no per-child figure published: 1,200 thousand × 1,000 / 1,000 children = £1,200;
#          looked-after 600 thousand / 6 looked after on 31 March 2025 = £100,000; share 10.0%.
#   Beta: £1,500 as published; 900 thousand / 10 = £90,000; share 12.0%.
#   Gamma: DfE's -300 "not available": no figure (blank, never negative or £0).
#   Neighbours' average: Beta's alone (Gamma has none) = £1,500.
#   Northish £1,300; England £1,000 (and 50,000 thousand / 500 = £100,000).


def test_funding_per_child_with_a_hidden_count(app_on, funding_store):
    app = _open(app_on, funding_store, FUNDING)
    assert app.title[0].value == "Funding"
    assert any(i.value == CAVEAT for i in app.info)
    per_child = _table(app, "Per child aged 0–17").set_index("Year")
    early, late = per_child.loc["2023-24"], per_child.loc["2024-25"]
    assert (early["Spend"], early["Per child aged 0–17"]) == ("£400,000", "£400")
    assert early["Children aged 0–17"] == "1,000"
    assert early["Per child in need"] == "£66,667"
    assert early["Looked after on 31 March"] == "6"
    assert early["Looked-after spend per looked-after child"] == "£50,000"
    assert (late["Spend"], late["Per child aged 0–17"]) == ("£1.0m", "£1,000")
    assert late["Children in need (in the year)"] == "8"
    assert late["Per child in need"] == "£125,000"
    # 3 looked after on 31 March 2025: c, and the £200,000 per child built on it is not shown.
    assert late["Looked after on 31 March"] == "c"
    assert late["Looked-after spend per looked-after child"] == ""
    assert "£200,000" not in per_child.to_string()
    assert "looked-after children: hidden (1 to 5)" in _captions(app)
    # Spending by category: 2023-24 looked after 300,000 against a budget of 280,000.
    spending = _expander(app, "Spending by category").dataframe[0].value
    first = spending[(spending["Year"] == "2023-24")].iloc[0]
    assert (first["Outturn"], first["Budget"], first["Outturn minus budget"]) == (
        "£300,000",
        "£280,000",
        "£20,000",
    )


def test_funding_against_comparators_on_the_tiny_store(app_on, funding_store):
    app = _open(app_on, funding_store, FUNDING)
    assert _select(app, "Authority").value == "801"
    table = _table(app, "Compared as")
    assert list(table["Area"]) == [
        "Alpha",
        "Beta",
        "Gamma",
        "Statistical neighbours' average",
        "Northish",
        "England",
    ]
    assert list(table["Compared as"]) == [
        "chosen authority",
        "statistical neighbour",
        "statistical neighbour",
        "neighbours' average",
        "region",
        "England",
    ]
    assert list(table["Spend per child aged 0–17"]) == [
        "£1,200",
        "£1,500",
        "",
        "£1,500",
        "£1,300",
        "£1,000",
    ]
    by_area = table.set_index("Area")
    assert by_area.loc["Alpha", "Looked-after spend per looked-after child"] == "£100,000"
    assert by_area.loc["Beta", "Looked-after spend per looked-after child"] == "£90,000"
    assert by_area.loc["Gamma", "Looked-after spend per looked-after child"] == ""
    assert by_area.loc["Alpha", "Share of all council service spend"] == "10.0%"
    assert by_area.loc["Beta", "Closeness"] == "Very close"
    assert "mean of 1 of 2" in by_area.loc["Statistical neighbours' average", "Note"]


def test_funding_on_the_real_files_hartlepool(app_on, real_store):
    app = _open(app_on, real_store, FUNDING)
    # No finance template loaded: the page says so and goes on to the published figures.
    assert any(i.value.startswith("No finance data is loaded") for i in app.info)
    _select(app, "Authority").set_value("805").run(timeout=FIRST_RUN)
    assert not app.exception
    raw = _raw(SPENDING_CSV)
    raw = raw[raw["old_la_code"].str.removesuffix(".0") == "805"].iloc[0]
    assert float(raw["csc_spend_per_child_gbp"]) == 2528  # DfE's extract: £2,528
    table = _table(app, "Compared as")
    hartlepool = table.iloc[0]
    assert (hartlepool["Area"], hartlepool["Compared as"]) == ("Hartlepool", "chosen authority")
    assert hartlepool["Spend per child aged 0–17"] == "£2,528"
    assert hartlepool["Year"] == "2024/25"
    assert (table["Compared as"] == "statistical neighbour").sum() == 10
    assert list(table["Area"].iloc[-2:]) == ["North East", "England"]
    assert "**In England (2024/25):** £2,528 per child" in _texts(app)


# --- Neglect services ----------------------------------------------------------------------------
#
# The neglect group (tests/test_neglect.py, _cohort_store), 2024-25: children in need with
# primary need N1 and neglect recorded (factor 16A, or a plan of category NEG):
#   Uplands N0-N6 (7, of 13 in need), Midlands N7-N12 (6, of 12), Lowlands N13-N14 (2, of 9);
#   34 children in need in all, 7 + 6 + 2 = 15 in the group: 15 / 34 = 44.1%;
#   per 10,000 children aged 0-17: 15 / (1,000 + 1,500 + 2,000) × 10,000 = 33.3 → 33.
#   By locality: Uplands 7 / 13 = 53.8%, 7 / 1,000 × 10,000 = 70; Lowlands' 2 is hidden, and
#   Midlands' 6 with it (the localities add up to the whole): both c.
#   2023-24: N0-N6 and X0 (closed 2024-02-01), all in the group: 8.
#
# Home Help services that ended in 2024-25 (PRACTICAL), clothed for school before → after:
#   Alpha 14 children: 6 yes before (A0-A5), 8 after (A0-A4, A6-A8);
#   Beta 16: 7 before (B0-B6), 10 after (B0-B9);
#   Gamma 3: 1 before (G0), 3 after — from 1 to 5: hidden (c); Alpha, the next smallest, is
#   hidden with it (else Gamma = all − Alpha − Beta);
#   Delta 4: nothing recorded: has not opted in (listed as such, never as 0).
#   All: 33 children; before 6 + 7 + 1 = 14 → 14/33 = 42.4%; after 8 + 10 + 3 = 21 → 63.6%.
#   Paired changes (after − before, 1 = yes): +1 for A6-A8, B7-B9, G1-G2 (8), −1 for A5 (1),
#   0 for the other 24: mean 7/33 = 0.2121 → +21.2 points. Sum of squares 9: SD
#   √((9 − 33 × 0.2121²) / 32) = 0.4846; ± 1.96 × 0.4846 / √33 = ± 0.1653: 0.0468 to 0.3775,
#   "+4.7 points to +37.7 points", which leaves out 0: better.
#   Beta: 7/16 = 43.75% → 43.8% (half up), 10/16 = 62.5%; change 3/16 = +18.75 → +18.8
#   points; SD √((3 − 16 × 0.1875²) / 15) = 0.4031, ± t(15) 2.131 × 0.4031 / 4 = ± 0.2148:
#   −0.0273 to 0.4023, "-2.7 points to +40.2 points", takes in 0: no clear change.


def _outcomes(app) -> pd.DataFrame:
    return _table(app, "95% interval of the change")


def _clothed(table: pd.DataFrame) -> pd.Series:
    rows = table[table["Measure"].str.lower().str.contains("clothed")]
    assert len(rows) == 1, table
    return rows.iloc[0]


def test_neglect_page_cohort_and_before_after_by_hand(app_on, neglect_store):
    app = _open(app_on, neglect_store, NEGLECT)
    assert app.title[0].value == "Neglect services"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Children in the cohort, 2024-25"] == "15"
    assert metrics["Share of children in need"] == "44.1%"
    assert metrics["Per 10,000 children aged 0–17"] == "33"
    trend = _table(app, "Period").set_index("Period")
    assert trend.loc["2023-24", "Children in the neglect cohort"] == "8"
    assert trend.loc["2024-25", "Children in need"] == "34"
    places = _table(app, "Locality").set_index("Locality")
    assert places.loc["Uplands", "Children in the neglect cohort"] == "7"
    assert places.loc["Uplands", "Share of children in need"] == "53.8%"
    assert places.loc["Uplands", "Per 10,000 children"] == "70"
    for hidden in ("Lowlands", "Midlands"):
        assert places.loc[hidden, "Children in the neglect cohort"] == "c"
        assert places.loc[hidden, "Per 10,000 children"] == "c"
    # All services, all providers: the first choices.
    assert _select(app, "Service").value == "All services"
    assert _select(app, "Provider").value == "All providers"
    whole = _clothed(_outcomes(app))
    assert whole["Children"] == "33"
    assert (whole["Before"], whole["After (or within 12 months)"]) == ("42.4%", "63.6%")
    assert whole["Change"] == "+21.2 points"
    # 8 children improved and 1 got worse (+21.2 points of 33 = 7 more): the interval would
    # give away the 1 (from the mean, the interval and n), so it is hidden with the reading
    # and both counts; the change itself is after − before, both shown.
    assert whole["95% interval of the change"] == "" and whole["Reading"] == ""
    assert (whole["Children improved"], whole["Children got worse"]) == ("c", "c")
    # One provider: Beta.
    _select(app, "Provider").set_value("Beta").run(timeout=FIRST_RUN)
    assert not app.exception
    beta = _clothed(_outcomes(app))
    assert (beta["Provider"], beta["Children"]) == ("Beta", "16")
    assert (beta["Before"], beta["After (or within 12 months)"]) == ("43.8%", "62.5%")
    assert beta["Change"] == "+18.8 points"
    # 3 improved, 0 got worse: the 3 is from 1 to 5, so again no interval and no reading.
    assert beta["95% interval of the change"] == "" and beta["Reading"] == ""
    assert beta["Children improved"] == "c"


def test_neglect_page_hides_a_small_provider_and_lists_one_not_opted_in(app_on, neglect_store):
    app = _open(app_on, neglect_store, NEGLECT)
    # Delta recorded nothing: named as not opted in, never with zeros.
    assert "Delta (Home Help)" in _captions(app)
    assert "Providers opt in; a provider without data is shown as such" in _captions(app)
    served = _table(app, "children served").set_index(["service", "provider"])
    assert served.loc[("Home Help", "Beta"), "children served"] == "16"  # B0-B15
    assert served.loc[("Home Help", "Gamma"), "children served"] == "c"  # 3 children: hidden
    assert served.loc[("Home Help", "Delta"), "children served"] == "c"  # 4 children: hidden
    for provider, digits in (
        # Gamma: 3 children, 1/3 = 33.3% before, 3/3 = 100.0% after, +66.7 points.
        ("Gamma", ("3", "33.3%", "100.0%", "+66.7 points")),
        # Alpha (hidden with it): 14 children, 6/14 = 42.9%, 8/14 = 57.1%, +14.3 points.
        ("Alpha", ("14", "42.9%", "57.1%", "+14.3 points")),
    ):
        _select(app, "Provider").set_value(provider).run(timeout=FIRST_RUN)
        assert not app.exception
        table = _outcomes(app)
        row = _clothed(table)
        assert row["Provider"] == provider
        assert (row["Children"], row["Before"], row["After (or within 12 months)"]) == (
            "c",
            "c",
            "c",
        )
        assert row["Change"] == "c" and row["Reading"] == ""
        shown = set(table.drop(columns=["Note"]).to_numpy().ravel())
        assert not shown & set(digits), provider
    _select(app, "Provider").set_value("Delta").run(timeout=FIRST_RUN)
    assert not app.exception
    delta = _clothed(_outcomes(app))
    assert delta["Note"] == "no data returned (provider has not opted in)"
    assert (delta["Children"], delta["Before"], delta["After (or within 12 months)"]) == (
        "",
        "",
        "",
    )


def test_neglect_page_without_services_says_how_to_load_them(app_on, cohort_only_store):
    app = _open(app_on, cohort_only_store, NEGLECT)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Children in the cohort, 2024-25"] == "15"  # as above: the same group
    assert any(
        i.value.startswith("No commissioned neglect services are loaded")
        and "templates/commissioned_services.csv" in i.value
        for i in app.info
    )


# --- No store ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [NEGLECT, FUNDING, BENCHMARKING])
def test_each_page_without_a_store_warns_and_does_not_fail(app_on, tmp_path, page):
    app = _open(app_on, tmp_path / "no store here.duckdb", page)
    assert any(w.value.startswith("No store yet") for w in app.warning)
    assert not app.dataframe
