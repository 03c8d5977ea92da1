"""Benchmarking against England, the region and the statistical neighbours
(framework/engine/benchmarking.py).

Three stores:

* a tiny one written here (EES-layout CSVs with seven fictional authorities, a region and England
  over 2022-2025, with c, k, x and z symbols, and a statistical-neighbour table in the 2025
  layout), loaded through the ordinary reader; every expected figure is worked out by hand in
  the comments;
* the demo's published benchmark files (a small demo generated here; datasets named ``…_demoton``);
* DfE's real files (``../shared/reference/csc_la_stats``; skipped when absent), compared with the
  raw CSVs read here with pandas.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.engine import benchmarking as bm
from framework.engine.catalogue import load_catalogue
from framework.engine.comparators import neighbours
from framework.load import load_files
from framework.privacy import Pseudonymiser
from framework.store import store

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "csc_la_stats"
KEY = Pseudonymiser(b"a test key that is long enough")

# --- The tiny store ------------------------------------------------------------------------------

EES_HEADER = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
    "category",
    "referral_count",
    "rereferral_count",
    "rereferral_percent",
    "no_further_action_count",
    "no_further_action_percent",
]
YEARS = (2022, 2023, 2024, 2025)
# (old code, name): referrals, re-referrals, re-referral %, NFA count, NFA % for each year.
# Aland (101) is the authority; its neighbours are Bland, Cland and Dland (ranks 1-3).
AUTHORITIES = {
    ("101", "Aland"): [
        ("1000", "200", "20.0", "50", "5.0"),
        ("1000", "220", "22.0", "50", "5.0"),
        ("1000", "240", "24.0", "50", "5.0"),
        ("1000", "260", "26.0", "50", "5.0"),
    ],
    ("102", "Bland"): [
        ("500", "100", "20.0", "30", "6.0"),
        ("500", "100", "20.0", "30", "6.0"),
        ("500", "100", "20.0", "30", "6.0"),
        ("500", "c", "c", "c", "c"),  # suppressed in 2025
    ],
    ("103", "Cland"): [
        ("1000", "250", "25.0", "80", "8.0"),
        ("1000", "220", "22.0", "80", "8.0"),
        ("1000", "190", "19.0", "80", "8.0"),
        ("1000", "150", "15.0", "80", "8.0"),
    ],
    ("104", "Dland"): [
        ("50", "8", "16.0", "3", "6.0"),
        ("50", "8", "16.0", "3", "6.0"),
        ("50", "8", "16.0", "3", "6.0"),
        ("50", "k", "k", "3", "6.0"),  # fewer than 0.5: read as 0, shown as "k"
    ],
    ("105", "Eland"): [
        ("800", "160", "20.0", "40", "5.0"),
        ("800", "160", "20.0", "40", "5.0"),
        ("z", "z", "z", "z", "z"),  # not applicable
        ("x", "x", "x", "x", "x"),  # not available
    ],
    ("106", "Fland"): [("1000", "200", "20.0", "60", "6.0")] * 4,
    ("107", "Gland"): [("1000", "220", "22.0", "70", "7.0")] * 4,
}
ENGLAND_ROW = ("10000", "2000", "20.0", "600", "6.0")
REGION_ROW = ("4000", "840", "21.0", "240", "6.0")
REFERRALS = "Referrals and Re-referrals"


def _write_tiny(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    england = ["E92000001", "England"]
    region = ["E12000001", "North East"]
    with (folder / "c1_children_in_need_referrals_and_rereferrals_tiny.csv").open(
        "w", newline=""
    ) as handle:
        out = csv.writer(handle)
        out.writerow(EES_HEADER)
        for i, year in enumerate(YEARS):
            time = [str(year), "Reporting year"]
            out.writerow([*time, "National", *england, "", "", "", "", "", REFERRALS, *ENGLAND_ROW])
            out.writerow([*time, "Regional", *england, *region, "", "", "", REFERRALS, *REGION_ROW])
            for (code, name), figures in AUTHORITIES.items():
                area = [code, f"E06000{code}", name]
                local = [*time, "Local authority", *england, *region, *area, REFERRALS]
                out.writerow([*local, *figures[i]])
    ranks = [f"SN_{k}{p}" for k in range(1, 11) for p in ("", "P")]
    blanks = [""] * 14  # neighbours 4 to 10: none in this tiny model
    with (folder / "sn_model_2025_wide_tiny.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["old_la_code", "la_name", "region_ind", "region_name", *ranks])
        first = ["102", "Close", "103", "Close", "104", "Somewhat close"]
        out.writerow(["101", "Aland", "1", "North East", *first, *blanks])
        third = ["101", "Close", "106", "Close", "107", "Close"]
        out.writerow(["103", "Cland", "1", "North East", *third, *blanks])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmarking_tiny")
    _write_tiny(folder / "files")
    path = folder / "tiny.duckdb"
    outcome = load_files([folder / "files"], store_path=path, pseudonymiser=KEY)
    assert outcome.status == "loaded", outcome.message
    con = store.connect(path, read_only=True)
    yield con
    con.close()


# --- The registry --------------------------------------------------------------------------------


def test_registry_polarity_matches_the_catalogue() -> None:
    catalogue = load_catalogue()
    for shared in bm.SHARED_MEASURES:
        assert shared.unit in bm.UNITS, shared.id
        assert shared.polarity in (bm.HIGHER_BETTER, bm.LOWER_BETTER, bm.NO_POLARITY)
        if shared.indicator is not None:
            indicator = catalogue.by_id[shared.indicator]
            assert shared.polarity == indicator.polarity, shared.id
    # Rates of children in need, on plans or in care have no polarity (spec §11).
    for shared_id in (
        "nfa",
        "cla_rate",
        "cla_starts_rate",
        "cin_at31",
        "cin_rate",
        "cp_plans_at31",
    ):
        assert bm.BY_ID[shared_id].polarity == bm.NO_POLARITY
    # Dataset names are matched by their start, never with the years of one file.
    assert all(not any(c.isdigit() for c in s.dataset[-4:]) for s in bm.SHARED_MEASURES)
    assert bm.BY_ID["re_referrals"].breakdown == '{"category":"Referrals and Re-referrals"}'
    assert bm.year_of("202425") == 2025 and bm.year_of("2025") == 2025
    assert bm.symbol_meaning("c") == "c: confidential (suppressed)"
    assert bm.symbol_meaning(None) is None


# --- Worked examples on the tiny store -----------------------------------------------------------


def test_series_keeps_values_and_symbols(tiny) -> None:
    frame = bm.series(tiny, "re_referrals", "101")
    assert list(frame.columns) == bm.SERIES_COLUMNS
    latest = frame[frame["year"] == 2025]
    assert list(latest["role"]) == [
        "authority",
        "neighbour",
        "neighbour",
        "neighbour",
        "neighbours_average",
        "region",
        "england",
    ]
    by_name = latest.set_index("area_name")
    assert by_name.at["Aland", "value"] == 26.0
    assert by_name.at["Aland", "numerator"] == 260 and by_name.at["Aland", "denominator"] == 1000
    # Bland is suppressed: no value, its symbol as published, never 0.
    assert math.isnan(by_name.at["Bland", "value"]) and by_name.at["Bland", "value_code"] == "c"
    # Dland's "k" (fewer than 0.5) is 0 and still shown as "k".
    assert by_name.at["Dland", "value"] == 0.0 and by_name.at["Dland", "value_code"] == "k"
    assert by_name.at["North East", "value"] == 21.0
    assert by_name.at["England", "value"] == 20.0
    assert by_name.at["England", "value_code"] is None
    # Neighbours' average: Bland (c) is left out; Cland 15.0 and Dland 0 (k):
    # (15.0 + 0.0) / 2 = 7.5, from 2 of the 3 neighbours.
    average = latest[latest["role"] == "neighbours_average"].iloc[0]
    assert average["value"] == 7.5 and average["n_with_figure"] == 2
    assert average["area_name"] == "Neighbours' average (2 of 3 with a figure)"
    # Every published year, and only the years asked for.
    assert sorted(frame["year"].unique()) == list(YEARS)
    assert sorted(bm.series(tiny, "re_referrals", "101", years=[2024])["year"].unique()) == [2024]
    # 2024: all three neighbours have a figure: (20.0 + 19.0 + 16.0) / 3 = 18.33.
    earlier = frame[(frame["year"] == 2024) & (frame["role"] == "neighbours_average")].iloc[0]
    assert earlier["value"] == pytest.approx(55 / 3) and earlier["n_with_figure"] == 3


def test_position_quartiles_and_band_only_with_polarity(tiny) -> None:
    # 2025, authorities with a figure: Aland 26, Cland 15, Dland 0 (k), Fland 20, Gland 22
    # (Bland c and Eland x have none): sorted 0, 15, 20, 22, 26 → n = 5, Q1 = 15 (the 2nd),
    # median 20, Q3 = 22 (the 4th). Re-referrals: lower is better, so Aland's 26 > Q3 is in
    # the worst quarter.
    where = bm.position(tiny, "re_referrals", "101")
    assert where.year == 2025 and where.n_authorities == 5
    assert (where.minimum, where.q1, where.median, where.q3, where.maximum) == (0, 15, 20, 22, 26)
    assert where.england == 20.0 and where.value == 26.0
    assert where.band == "worst quarter"
    assert not hasattr(where, "rank")
    assert bm.position(tiny, "re_referrals", "103").band == "best quarter"  # 15 ≤ Q1
    assert bm.position(tiny, "re_referrals", "106").band == "second best quarter"  # 20 ≤ median
    assert bm.position(tiny, "re_referrals", "107").band == "second worst quarter"  # 22 ≤ Q3
    suppressed = bm.position(tiny, "re_referrals", "102")
    assert suppressed.band is None and suppressed.value_code == "c"
    # No-further-action has no polarity: the quartiles, but no band. Dland's published NFA
    # count is 3 (1 to the threshold, 5): the product hides it and its 6.0% ("c"), so 4
    # authorities have a figure (Aland 5, Cland 8, Fland 6, Gland 7).
    nfa = bm.position(tiny, "nfa", "101")
    assert nfa.band is None and nfa.n_authorities == 4 and nfa.value == 5.0
    dland = bm.series(tiny, "nfa", "104")
    dland = dland[(dland["role"] == "authority") & (dland["year"] == 2025)].iloc[0]
    assert math.isnan(dland["value"]) and dland["value_code"] == "c"
    assert math.isnan(dland["numerator"])
    # An earlier year on request: 2024, Eland is "z".
    assert bm.position(tiny, "re_referrals", "101", year=2024).n_authorities == 6


def test_trend_test_by_hand() -> None:
    # Aland: 200, 220, 240, 260 re-referrals of 1,000 referrals in 2022-2025.
    # N = 4000, p = 920 / 4000 = 0.23, x̄ = 2023.5, x − x̄ = −1.5, −0.5, 0.5, 1.5.
    # T = 200(−1.5) + 220(−0.5) + 240(0.5) + 260(1.5) = −300 − 110 + 120 + 390 = 100.
    # Var = 0.23 × 0.77 × 1000 × (2.25 + 0.25 + 0.25 + 2.25) = 885.5; z = 100 / √885.5 = 3.3605.
    z, p = bm.trend_test(YEARS, [200, 220, 240, 260], [1000] * 4)
    assert z == pytest.approx(100 / math.sqrt(885.5))
    assert p == pytest.approx(math.erfc(3.3605 / math.sqrt(2)), rel=1e-3)  # about 0.00078
    assert bm.trend_test(YEARS, [200] * 4, [1000] * 4) == (0.0, 1.0)


def test_worse_and_getting_worse_by_hand(tiny) -> None:
    # Compared with England in 2025: England 2000/10000 = 0.2; at Aland's 1,000 referrals the
    # binomial sd is √(1000 × 0.2 × 0.8) = 12.6, so the upper 95% limit is about
    # 200 + 1.96 × 12.6 = 225 (22.5%) and the 99.8% one about 200 + 3.09 × 12.6 = 239 (23.9%):
    # Aland's 26.0% is above both: worse. The trend (test above) rises, p ≈ 0.0008: worse.
    flag = bm.worse_and_getting_worse(tiny, "re_referrals", "101")
    assert flag.comparison == "worse" and flag.funnel_position == "above 99.8%"
    assert flag.trend == "getting worse" and flag.p_trend < 0.001
    assert (flag.first_year, flag.last_year) == (2022, 2025)
    assert flag.worse_and_getting_worse and flag.label == bm.WORSE_AND_GETTING_WORSE
    assert flag.words == (
        "Worse than England (26% against 20%, outside the 95% funnel limits) and getting worse "
        "over 2022-2025 (rising, p < 0.001)."
    )
    # Cland: 250, 220, 190, 150 of 1,000. T = 250(−1.5) + 220(−0.5) + 190(0.5) + 150(1.5)
    # = −165; p = 810/4000 = 0.2025; Var = 0.2025 × 0.7975 × 5000 = 807.5; z = −5.81.
    # 15.0% is below the lower 99.8% limit (about 16.1%): better, and improving.
    cland = bm.worse_and_getting_worse(tiny, "re_referrals", "103")
    assert cland.label == bm.BETTER_AND_IMPROVING and not cland.worse_and_getting_worse
    assert cland.p_trend == pytest.approx(math.erfc(165 / math.sqrt(807.46875) / math.sqrt(2)))
    # Fland: 20% every year, England's own figure: similar, no change at all.
    fland = bm.worse_and_getting_worse(tiny, "re_referrals", "106")
    assert (fland.comparison, fland.trend, fland.label) == (
        "similar",
        "no significant change",
        None,
    )
    assert "within the 95% funnel limits" in fland.words
    # Bland is suppressed in 2025: neither can be tested, and the words say why.
    bland = bm.worse_and_getting_worse(tiny, "re_referrals", "102")
    assert bland.comparison is None and bland.trend is None and not bland.worse_and_getting_worse
    assert "('c')" in bland.words
    # In 2024 (3 years: 2022-2024) Aland is worse (24%) and still getting worse.
    assert bm.worse_and_getting_worse(tiny, "re_referrals", "101", 2024).last_year == 2024
    # No polarity, no flag.
    assert bm.worse_and_getting_worse(tiny, "nfa", "101") is None


def test_funnel_positions_and_symbols_apart(tiny) -> None:
    drawn = bm.funnel(tiny, "re_referrals", None, "101")
    assert drawn.year == 2025 and drawn.kind == "proportion"
    assert drawn.target == pytest.approx(20.0) and drawn.target_from == "England's published counts"
    points = drawn.points.set_index("area_name")
    assert points.at["Aland", "position"] == "above 99.8%"
    assert points.at["Aland", "role"] == "authority"
    assert points.at["Cland", "position"] == "below 99.8%"
    assert points.at["Cland", "role"] == "neighbour"
    # Dland: 0 (k) of 50. P(0 of 50 at 20%) = 0.8^50 = 0.000014, far below 0.001.
    assert points.at["Dland", "position"] == "below 99.8%"
    assert points.at["Fland", "position"] == "within" and points.at["Fland", "role"] == "other"
    assert points.at["Gland", "position"] == "within"  # 22.0% < about 22.5%
    apart = drawn.apart.set_index("area_name")
    assert apart.at["Bland", "meaning"] == "c: confidential (suppressed)"
    assert apart.at["Eland", "meaning"] == "x: not available"
    # The limits span the denominators (50 to 1,000) and narrow as they grow.
    limits = drawn.limits
    assert limits["n"].min() == 50 and limits["n"].max() == 1000
    assert (limits["high_95"].diff().dropna() <= 1e-9).all()
    assert (limits["low_998"] <= limits["low_95"]).all()
    # A count has no funnel.
    assert bm.funnel(tiny, "referrals", None, "101") is None


def test_overview_table(tiny) -> None:
    table = bm.overview_table(tiny, "101")
    assert list(table.columns) == bm.OVERVIEW_COLUMNS
    assert list(table["shared_id"]) == ["re_referrals", "nfa", "referrals"]  # what the store has
    row = table.set_index("shared_id").loc["re_referrals"]
    assert (row["value"], row["shown"], row["england"], row["region"]) == (26.0, "26%", 20.0, 21.0)
    assert row["neighbours_average"] == 7.5 and row["neighbours_with_figure"] == 2
    assert row["band"] == "worst quarter" and row["flag"] == bm.WORSE_AND_GETTING_WORSE
    assert row["indicator_id"] == "B2.1"
    nfa = table.set_index("shared_id").loc["nfa"]
    assert nfa["band"] is None and nfa["flag"] is None and nfa["indicator_id"] == "B1.2"
    # A suppressed figure stays a symbol in the table.
    bland = bm.overview_table(tiny, "102").set_index("shared_id").loc["re_referrals"]
    assert bland["shown"] == "c" and bland["value_code"] == "c" and math.isnan(bland["value"])


# --- Properties ----------------------------------------------------------------------------------

finite = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=40), finite, finite)
def test_quartile_bands_are_monotone_in_value(values, a, b) -> None:
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    low, high = sorted((a, b))
    for polarity, worse_when_higher in ((bm.LOWER_BETTER, True), (bm.HIGHER_BETTER, False)):
        first = bm.BANDS.index(bm.quartile_band(low, q1, median, q3, polarity))
        second = bm.BANDS.index(bm.quartile_band(high, q1, median, q3, polarity))
        assert (first <= second) if worse_when_higher else (first >= second)
    assert bm.quartile_band(a, q1, median, q3, bm.NO_POLARITY) is None


# --- The demo's published files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from framework.demo.generator import generate_demo
    from framework.privacy import DEMO_KEY

    folder = tmp_path_factory.mktemp("benchmarking_demo")
    generate_demo(folder / "demo", children=1000, years=3, seed=23, end_year=2025)
    path = folder / "demo.duckdb"
    files = folder / "demo" / "benchmarks"
    outcome = load_files([files], store_path=path, pseudonymiser=Pseudonymiser(DEMO_KEY))
    assert outcome.status == "loaded", outcome.message
    con = store.connect(path, read_only=True)
    yield con, files
    con.close()


def test_demo_store(demo) -> None:
    con, files = demo
    raw = pd.read_csv(next(files.glob("c1_*.csv")), dtype=str)
    own = raw[(raw["old_la_code"] == "999") & (raw["time_period"] == "2025")]
    frame = bm.series(con, "re_referrals", "999")
    mine = frame[(frame["role"] == "authority") & (frame["year"] == 2025)].iloc[0]
    assert mine["area_name"] == "Demoton"
    assert mine["value"] == float(own["rereferral_percent"].iloc[0])
    assert mine["denominator"] == float(own["referral_count"].iloc[0])
    assert {"re_referrals", "nfa", "repeat_cp_plans", "cla_rate"} <= set(bm.available(con))
    table = bm.overview_table(con, "999")
    assert table["england"].notna().all() and (table["neighbours"] > 0).all()
    where = bm.position(con, "re_referrals", "999")
    local = raw[(raw["geographic_level"] == "Local authority") & (raw["time_period"] == "2025")]
    assert (
        where.n_authorities == pd.to_numeric(local["rereferral_percent"], errors="coerce").count()
    )


# --- DfE's real files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} (DfE's published statistics) is not available")
    path = tmp_path_factory.mktemp("benchmarking_real") / "real.duckdb"
    outcome = load_files([REFERENCE], store_path=path, pseudonymiser=KEY)
    assert outcome.status == "loaded", outcome.message
    con = store.connect(path, read_only=True)
    yield con
    con.close()


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_real_files_barnet(real) -> None:
    # Every shared measure is found in the real files (names and breakdowns as DfE writes them).
    assert bm.available(real) == [s.id for s in bm.SHARED_MEASURES]
    raw = _raw("c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv")
    barnet = raw[
        (raw["geographic_level"] == "Local authority")
        & (raw["old_la_code"] == "302")
        & (raw["time_period"] == "2025")
    ]
    frame = bm.series(real, "re_referrals", "302")
    mine = frame[(frame["role"] == "authority") & (frame["year"] == 2025)].iloc[0]
    assert mine["area_name"] == "Barnet"
    assert mine["value"] == float(barnet["rereferral_percent"].iloc[0])
    assert mine["numerator"] == float(barnet["rereferral_count"].iloc[0])
    england = raw[(raw["geographic_level"] == "National") & (raw["time_period"] == "2025")]
    shown = frame[(frame["role"] == "england") & (frame["year"] == 2025)].iloc[0]
    assert shown["value"] == float(england["rereferral_percent"].iloc[0])
    # Its ten neighbours, in the order of DfE's 2025 model.
    model = _raw("sn_model_2025_wide.csv").set_index("old_la_code")
    expected = [model.at["302", f"SN_{k}"].strip() for k in range(1, 11)]
    assert list(neighbours(real, "302")["old_la_code"]) == expected
    named = frame[(frame["role"] == "neighbour") & (frame["year"] == 2025)]
    assert list(named["old_la_code"]) == expected
    # About 150 authorities in England's distribution; England as published.
    where = bm.position(real, "re_referrals", "302")
    assert 145 <= where.n_authorities <= 155 and where.year == 2025
    assert where.england == float(england["rereferral_percent"].iloc[0])
    assert where.band in bm.BANDS
    # The workforce file has no filters: turnover as published.
    csww = _raw("csww_indicators_2017_to_2025.csv")
    row = csww[
        (csww["geographic_level"] == "Local authority")
        & (csww["old_la_code"] == "302")
        & (csww["time_period"] == "2025")
    ]
    turnover = bm.series(real, "sw_turnover", "302", years=[2025])
    assert turnover.iloc[0]["value"] == float(row["turnover_rate_fte"].iloc[0])


def test_real_files_counts_agree_with_percentages(real) -> None:
    # The registry's numerator ÷ denominator is the published percentage (to its rounding).
    for shared_id, tolerance in (("re_referrals", 0.05), ("placements_3plus", 0.5)):
        frame = bm.figures(real, shared_id)
        both = frame.dropna(subset=["value", "numerator", "denominator"])
        both = both[both["denominator"] > 0]
        ratio = 100 * both["numerator"] / both["denominator"]
        assert len(both) > 100
        assert ((ratio - both["value"]).abs() <= tolerance + 1e-9).mean() > 0.99, shared_id
    drawn = bm.funnel(real, "care_leavers_eet_19_21", 2025, "302")
    assert drawn.points["role"].value_counts()["neighbour"] >= 8
    assert set(drawn.points["position"]) <= set(bm.funnels.POSITIONS)
    table = bm.overview_table(real, "302")
    assert len(table) == len(bm.SHARED_MEASURES)
    assert table.loc[table["polarity"] == bm.NO_POLARITY, "band"].isna().all()
