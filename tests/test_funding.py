"""Funding: the authority's own spend per child, and published spend against comparators.

Worked examples on tiny stores (the arithmetic is in the comments), the real published files
(skipped when ../shared is not beside the repository), and a small demo through the real
generator, loader and engine.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from framework.demo import benchmarks
from framework.demo.generator import generate_demo
from framework.engine import funding
from framework.engine.periods import Period
from framework.load import load_files
from framework.sources.published import read_published
from framework.store import store
from tests.engine_store import tiny_store

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO.parent / "shared" / "reference" / "csc_la_stats"
needs_shared = pytest.mark.skipif(not PUBLISHED.is_dir(), reason="shared/ reference not present")
SPENDING_CSV = "dfe_dashboard_csc_spending_ro3_2024_25.csv"
CLA_31 = '{"population_type":"Children looked after on 31 March each year"}'
SPEND = "csc_spend_per_child_gbp"


def same(a: float, b: float) -> bool:
    return (pd.isna(a) and pd.isna(b)) or math.isclose(a, b, rel_tol=1e-9)


# --- years ------------------------------------------------------------------------------------


def test_one_alignment_of_financial_spending_and_reporting_years() -> None:
    expected = funding.YearKeys(2025, "2024-25", "2024/25", "2025")
    for given in (2025, "2025", "2024-25", "2024/25", "202425", Period(2025), Period(2025, 2)):
        assert funding.year_keys(given) == expected
    assert funding.end_year_of("2013") == 2013
    assert funding.end_year_of("2024/26") is None
    assert funding.end_year_of(None) is None
    with pytest.raises(ValueError):
        funding.year_keys("last year")


# --- the authority's own spend ---------------------------------------------------------------

OWN = """
    finance
    year | category      | basis   | spend_gbp
    2024 | looked_after  | outturn | 300000
    2024 | looked_after  | budget  | 280000
    2024 | safeguarding  | outturn | 100000
    2024 | safeguarding  | budget  | 120000
    2025 | looked_after  | outturn | 600000
    2025 | looked_after  | budget  | 500000
    2025 | safeguarding  | outturn | 400000

    ref_areas
    area_code | children_0_17
    X01       | 600
    X02       | 400

    referrals
    child_id | referral_date | closure_date
    A        | 2023-06-01    |
    B        | 2023-06-01    |
    C        | 2023-06-01    |
    D        | 2023-06-01    |
    E        | 2023-06-01    |
    F        | 2023-06-01    |
    G        | 2024-05-01    |
    H        | 2024-05-01    |

    episodes
    child_id | start_date | end_date
    A        | 2023-05-01 |
    B        | 2023-05-01 |
    C        | 2023-05-01 |
    I        | 2023-05-01 | 2024-06-30
    J        | 2023-05-01 | 2024-06-30
    K        | 2023-05-01 | 2024-06-30
    D        | 2024-04-10 | 2025-03-31
"""


def test_spend_over_time_puts_budget_beside_outturn() -> None:
    frame = funding.spend_over_time(tiny_store(OWN))
    got = {
        (r.year, r.category): (r.spend_gbp, r.budget_gbp, r.outturn_minus_budget_gbp)
        for r in frame.itertuples()
    }
    assert list(frame["category"]) == ["looked_after", "safeguarding", "total"] * 2
    assert got[("2023-24", "looked_after")] == (300000, 280000, 20000)  # 300,000 - 280,000
    assert got[("2023-24", "safeguarding")] == (100000, 120000, -20000)
    assert got[("2023-24", "total")] == (400000, 400000, 0)
    assert got[("2024-25", "looked_after")] == (600000, 500000, 100000)
    # safeguarding has no 2024-25 budget, so neither has the total (it would be misleading)
    _, budget, difference = got[("2024-25", "total")]
    assert np.isnan(budget) and np.isnan(difference)
    assert got[("2024-25", "total")][0] == 1_000_000
    budgets = funding.spend_over_time(tiny_store(OWN), basis="budget")
    assert budgets.loc[budgets["category"] == "total", "spend_gbp"].iloc[0] == 400000
    with pytest.raises(ValueError):
        funding.spend_over_time(tiny_store(OWN), basis="forecast")


def test_spend_per_child_worked_example_and_a_hidden_count() -> None:
    frame = funding.spend_per_child(tiny_store(OWN)).set_index("year")
    # children aged 0-17: 600 + 400 = 1,000 (the same population every year)
    # 2023-24: outturn 300,000 + 100,000 = 400,000
    #   per child 400,000 / 1,000 = 400
    #   children in need during the year: A-F (G and H referred after it) = 6
    #     → 400,000 / 6 = 66,666.67
    #   looked after on 31 March 2024: A, B, C, I, J, K = 6 → 300,000 / 6 = 50,000
    early = frame.loc["2023-24"]
    assert early["spend_gbp"] == 400_000 and early["children_0_17"] == 1_000
    assert early["per_child_gbp"] == 400
    assert early["children_in_need"] == 6
    assert same(early["per_child_in_need_gbp"], 400_000 / 6)
    assert early["looked_after_31_march"] == 6
    assert early["per_looked_after_child_gbp"] == 50_000
    assert early["note"] == ""
    # 2024-25: outturn 600,000 + 400,000 = 1,000,000 → 1,000 per child; in need A-H = 8
    #   → 125,000; looked after on 31 March 2025: A, B, C = 3 (I-K left in June; D's
    #   episode ended on 31 March itself, so D is not counted, as in DfE's figures)
    #   3 is from 1 to 5: the count is hidden, and so is 600,000 / 3 (it would reveal it)
    late = frame.loc["2024-25"]
    assert late["per_child_gbp"] == 1_000
    assert late["children_in_need"] == 8 and late["per_child_in_need_gbp"] == 125_000
    assert pd.isna(late["looked_after_31_march"])
    assert np.isnan(late["per_looked_after_child_gbp"])
    assert "looked-after children: hidden (1 to 5)" in late["note"]
    # one year asked for; a lower threshold shows the 3
    one = funding.spend_per_child(tiny_store(OWN), Period(2025), threshold=2)
    assert len(one) == 1 and one["per_looked_after_child_gbp"].iloc[0] == 200_000


def test_spend_per_child_without_finance_or_population() -> None:
    assert funding.spend_per_child(tiny_store()).empty
    frame = funding.spend_per_child(tiny_store(OWN.split("ref_areas")[0]))
    assert frame["per_child_gbp"].isna().all()
    assert frame["note"].str.contains("no child population").all()


# --- published spend against comparators -----------------------------------------------------

LA, NATIONAL, REGIONAL = "Local authority", "National", "Regional"


def _published_rows(rows: list[tuple]) -> str:
    """published_statistics rows (dataset, period, level, area code, old code, name, breakdown,
    measure, value, value_code) as a tiny-store block."""
    header = "dataset | time_period | geographic_level | area_code | old_la_code | area_name | "
    header += "breakdown | measure | value | value_code"
    lines = [" | ".join("" if v is None else str(v) for v in row) for row in rows]
    return "published_statistics\n" + header + "\n" + "\n".join(lines)


ALPHA = ("E801", "801", "Alpha")
BETA = ("E802", "802", "Beta")
GAMMA = ("E803", "803", "Gamma")
ENGLAND = ("E92000001", None, "England")
NORTHISH = ("Northish", None, "Northish")  # the extract names regions only
SPENDING = [
    (LA, ALPHA, "csc_expenditure_gbp_thousands", 1200, None),
    (LA, ALPHA, "population_under18", 1000, None),
    (LA, ALPHA, "cla_expenditure_gbp_thousands", 600, None),
    (LA, ALPHA, "csc_share_of_total_pct", 10, None),
    (LA, BETA, "csc_expenditure_gbp_thousands", 3000, None),
    (LA, BETA, "population_under18", 2000, None),
    (LA, BETA, SPEND, 1500, None),
    (LA, BETA, "cla_expenditure_gbp_thousands", 900, None),
    (LA, BETA, "csc_share_of_total_pct", 12, None),
    (LA, GAMMA, "csc_expenditure_gbp_thousands", -300, None),  # DfE's "not available"
    (LA, GAMMA, SPEND, -300, None),
    (LA, GAMMA, "cla_expenditure_gbp_thousands", 0, None),
    (NATIONAL, ENGLAND, "csc_expenditure_gbp_thousands", 100000, None),
    (NATIONAL, ENGLAND, SPEND, 1000, None),
    (NATIONAL, ENGLAND, "cla_expenditure_gbp_thousands", 50000, None),
    (NATIONAL, ENGLAND, "csc_share_of_total_pct", 9.5, None),
    (REGIONAL, NORTHISH, "csc_expenditure_gbp_thousands", 5000, None),
    (REGIONAL, NORTHISH, SPEND, 1300, None),
]
COUNTS = [  # (dataset, reporting year, level, area, breakdown, measure, value, symbol)
    ("cla", 2025, LA, ALPHA, CLA_31, "children_count", 6, None),
    ("cla", 2025, LA, ALPHA, CLA_31, "population_estimate", 1000, None),
    ("cla", 2025, LA, BETA, CLA_31, "children_count", 10, None),
    ("cla", 2025, LA, BETA, CLA_31, "population_estimate", 2000, None),
    ("cla", 2025, LA, GAMMA, CLA_31, "children_count", 4, None),
    ("cla", 2025, NATIONAL, ENGLAND, CLA_31, "children_count", 500, None),
    ("cla", 2024, LA, ALPHA, CLA_31, "children_count", 99, None),  # the year before: unused
    ("c1", 2025, LA, ALPHA, "{}", "referral_count", 50, None),
    ("c1", 2025, LA, ALPHA, "{}", "rereferral_percent", 20.5, None),
    ("b1", 2025, LA, ALPHA, "{}", "At31_episodes", 30, None),
    ("d5", 2025, LA, ALPHA, "{}", "CPP_At31", None, "c"),
]
PUBLISHED_TINY = """
    statistical_neighbours
    model | old_la_code | la_name | rank | neighbour_old_la_code | closeness
    2025  | 801         | Alpha   | 1    | 802                   | Very close
    2025  | 801         | Alpha   | 2    | 803                   | Close

    authority_regions
    area_code | old_la_code | area_name | region_code | region_name
    E801      | 801         | Alpha     | X1          | Northish

""" + _published_rows(
    [("spend", "2024/25", level, *area, "{}", m, v, c) for level, area, m, v, c in SPENDING]
    + [(d, str(y), level, *area, b, m, v, c) for d, y, level, area, b, m, v, c in COUNTS]
)


def test_comparators_worked_example_with_a_neighbour_missing_a_figure() -> None:
    con = tiny_store(PUBLISHED_TINY)
    frame = funding.spend_against_comparators(con, "801").set_index("role", drop=False)
    assert list(frame["role"]) == [
        "authority",
        "neighbour",
        "neighbour",
        "neighbour_average",
        "region",
        "england",
    ]
    assert set(frame["spending_year"]) == {"2024/25"} and set(frame["cla_year"]) == {"2025"}
    alpha = frame.iloc[0]
    # no per-child figure published: 1,200 thousand × 1,000 / 1,000 children = £1,200
    assert alpha["spend_per_child_gbp"] == 1200
    # looked-after spend 600 thousand ÷ 6 looked after on 31 March 2025 (not 2024's 99)
    assert alpha["spend_per_looked_after_child_gbp"] == 100_000
    assert alpha["csc_share_of_total_pct"] == 10
    beta, gamma = frame.iloc[1], frame.iloc[2]
    assert beta["spend_per_child_gbp"] == 1500  # as published (3,000,000 / 2,000 is 1,500 too)
    assert beta["spend_per_looked_after_child_gbp"] == 90_000  # 900,000 / 10
    # Gamma's extract row is DfE's -300 "not available": no figures, not negative spend,
    # and its looked-after spend of 0 does not make £0 per looked-after child
    assert gamma["spend_per_child_gbp"] != gamma["spend_per_child_gbp"]  # NaN
    assert np.isnan(gamma["spend_per_looked_after_child_gbp"])
    assert gamma["looked_after_31_march"] == 4
    average = frame.loc["neighbour_average"]
    assert average["spend_per_child_gbp"] == 1500  # Beta's alone: Gamma has none
    assert average["note"] == "mean of 1 of 2 neighbours with a published figure"
    region = frame.loc["region"]
    # the extract names regions only: matched by name (the store's region code is X1)
    assert region["area_name"] == "Northish" and region["spend_per_child_gbp"] == 1300
    assert np.isnan(region["spend_per_looked_after_child_gbp"])  # no region CLA count
    england = frame.loc["england"]
    assert england["spend_per_child_gbp"] == 1000
    assert england["spend_per_looked_after_child_gbp"] == 100_000  # 50,000,000 / 500


def test_spend_and_demand_rates_per_10000_children() -> None:
    frame = funding.spend_and_demand(tiny_store(PUBLISHED_TINY), old_la_code="801")
    assert list(frame["area_name"]) == ["Alpha", "Beta"]  # Gamma has no published spend
    assert list(frame["role"]) == ["authority", "neighbour"]
    alpha = frame.iloc[0]
    # population 1,000: referrals 50 → 500 per 10,000; CIN 30 → 300; CLA 6 → 60
    assert alpha["referrals_per_10k"] == 500
    assert alpha["cin_at31_per_10k"] == 300
    assert alpha["cla_at31_per_10k"] == 60
    assert np.isnan(alpha["cp_at31_per_10k"])  # suppressed (c): no rate
    assert alpha["rereferral_pct"] == 20.5
    assert frame.iloc[1]["cla_at31_per_10k"] == 50  # 10 / 2,000 × 10,000
    assert funding.spend_and_demand(tiny_store()).empty


def test_national_position_with_five_authorities() -> None:
    rows = ["dataset | time_period | geographic_level | area_code | old_la_code | measure | value"]
    for code, value in (("801", 100), ("802", 200), ("803", 300), ("804", 400), ("805", 500)):
        rows.append(f"s | 2024/25 | Local authority | E0{code} | {code} | {SPEND} | {value}")
    rows.append(f"s | 2024/25 | Local authority | E0806 | 806 | {SPEND} | -300")
    rows.append(f"s | 2024/25 | National | E92000001 | | {SPEND} | 250")
    con = tiny_store("published_statistics\n" + "\n".join(rows))
    position = funding.national_position(con, "804")
    # five figures (806's -300 is "not available"): 100 200 300 400 500
    # quartiles by linear interpolation: 200, 300 (median), 400
    assert (position.n, position.minimum, position.maximum) == (5, 100, 500)
    assert (position.lower_quartile, position.median, position.upper_quartile) == (200, 300, 400)
    assert position.england == 250 and position.value == 400
    assert (position.higher_than, position.lower_than) == (3, 1)
    assert position.words == "higher than 3 of 4 other authorities"
    missing = funding.national_position(con, "806")
    assert np.isnan(missing.value) and missing.words.startswith("no published spend")
    assert funding.national_position(tiny_store(), "804") is None
    for name in ("good", "bad", "better", "worse"):  # spend has no polarity
        assert name not in repr(position).lower()


# --- the real published files -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> duckdb.DuckDBPyConnection:
    if not PUBLISHED.is_dir():
        pytest.skip("shared/ reference not present")
    con = tiny_store()
    names = [
        SPENDING_CSV,
        "cla_number_and_rate_per_10k_children.csv",
        "sn_model_2025_wide.csv",
        "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv",
        "b1_children_in_need_2013_to_2025.csv",
        "d3_cpps_subsequent_plan_2013_to_2025.csv",
        "d5_cpps_at31march_by_duration_2013_to_2025.csv",
    ]
    for name in names:
        for table, frame in read_published(PUBLISHED / name).tables.items():
            frame = frame.assign(collection_year=0, load_id=1, row_hash="x")
            # one region row per authority, as the loader keeps (by area_code)
            known = "area_code NOT IN (SELECT area_code FROM authority_regions)"
            where = known if table == "authority_regions" else "TRUE"
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame WHERE {where}")
    return con


def _raw(name: str) -> list[dict[str, str]]:
    with (PUBLISHED / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@needs_shared
def test_real_hartlepool_and_its_neighbours(real) -> None:
    raw = {r["old_la_code"].removesuffix(".0"): r for r in _raw(SPENDING_CSV)}
    assert float(raw["805"]["csc_spend_per_child_gbp"]) == 2528
    frame = funding.spend_against_comparators(real, "805")
    hartlepool = frame.iloc[0]
    assert hartlepool["area_name"] == "Hartlepool" and hartlepool["spending_year"] == "2024/25"
    assert hartlepool["spend_per_child_gbp"] == 2528
    # 33,045 thousand on looked-after children ÷ 332 looked after on 31 March 2025
    assert hartlepool["looked_after_31_march"] == 332
    assert round(hartlepool["spend_per_looked_after_child_gbp"]) == 99_533
    assert hartlepool["csc_share_of_total_pct"] == 19.5
    neighbours = frame[frame["role"] == "neighbour"]
    assert len(neighbours) == 10
    for row in neighbours.itertuples():
        assert row.spend_per_child_gbp == float(raw[row.old_la_code]["csc_spend_per_child_gbp"])
    average = frame[frame["role"] == "neighbour_average"]["spend_per_child_gbp"].iloc[0]
    assert same(average, neighbours["spend_per_child_gbp"].mean())
    tail = frame.iloc[-2:]
    assert list(tail["area_name"]) == ["North East", "England"]
    assert list(tail["spend_per_child_gbp"]) == [1866, 1385]


@needs_shared
def test_real_national_position_and_scatter(real) -> None:
    position = funding.national_position(real, "805")
    usable = [r for r in _raw(SPENDING_CSV) if r["geographic_level"] == "Local authority"]
    usable = [float(r["csc_spend_per_child_gbp"]) for r in usable]
    usable = [v for v in usable if v >= 0]  # Birmingham, Cumberland, Slough: -300
    assert position.n == len(usable) == 150
    assert position.median == float(np.median(usable))
    assert position.england == 1385 and position.value == 2528
    assert position.words == f"higher than {sum(v < 2528 for v in usable)} of 149 other authorities"
    scatter = funding.spend_and_demand(real, old_la_code="805")
    assert len(scatter) == 150
    assert scatter["role"].value_counts().to_dict() == {
        "other": 139,
        "neighbour": 10,
        "authority": 1,
    }
    hartlepool = scatter[scatter["old_la_code"] == "805"].iloc[0]
    # DfE publishes Hartlepool's CIN rate on 31 March 2025 as 636 per 10,000 (cin_rates file)
    assert round(hartlepool["cin_at31_per_10k"]) == 636
    assert hartlepool["counts_year"] == "2025"


# --- the demo ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, duckdb.DuckDBPyConnection]:
    from framework.privacy import Pseudonymiser

    out = tmp_path_factory.mktemp("funding") / "demoton"
    generate_demo(out, children=600, years=3, seed=5, end_year=2026)
    path = out.parent / "store.duckdb"
    outcome = load_files(
        [out], store_path=path, pseudonymiser=Pseudonymiser(b"a test key that is long enough")
    )
    assert outcome.status == "loaded", outcome.message
    con = store.connect(path, read_only=True)
    yield out, con
    con.close()


def test_demo_spending_file_has_the_dashboard_layout_and_demotons_own_outturn(demo) -> None:
    out, _ = demo
    path = out / "benchmarks" / benchmarks.SPENDING_FILE
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert list(rows[0]) == benchmarks.SPENDING_HEADER
    if PUBLISHED.is_dir():
        assert list(_raw(SPENDING_CSV)[0]) == benchmarks.SPENDING_HEADER
    assert {r["time_period"] for r in rows} == {"2023/24", "2024/25", "2025/26"}
    assert len(rows) == 3 * 14  # 12 authorities, England, the region
    finance = list(csv.DictReader((out / "local" / "finance.csv").open(encoding="utf-8")))
    population = sum(
        int(r["children_0_17"])
        for r in csv.DictReader((out / "reference" / "demoton_areas.csv").open(encoding="utf-8"))
    )
    for row in (r for r in rows if r["old_la_code"] == "999.0"):
        year = row["time_period"].replace("/", "-")
        outturn = [r for r in finance if r["year"] == year and r["basis"] == "outturn"]
        care = sum(int(r["spend_gbp"]) for r in outturn if r["category"] == "looked_after")
        assert (
            float(row["csc_expenditure_gbp_thousands"])
            == sum(int(r["spend_gbp"]) for r in outturn) / 1000
        )
        assert float(row["cla_expenditure_gbp_thousands"]) == care / 1000
        assert float(row["population_under18"]) == population
    for period in ("2024/25",):
        local = [r for r in rows if r["time_period"] == period and r["new_la_code"]]
        region = next(
            r for r in rows if r["time_period"] == period and r["geo_breakdown"] == "Demoton Region"
        )
        total = sum(float(r["csc_expenditure_gbp_thousands"]) for r in local)
        assert math.isclose(float(region["csc_expenditure_gbp_thousands"]), total, abs_tol=0.1)
        per_child = [float(r["csc_spend_per_child_gbp"]) for r in local]
        assert min(per_child) > 700 and max(per_child) < 3500


def test_demo_store_gives_every_funding_view(demo) -> None:
    _, con = demo
    over_time = funding.spend_over_time(con)
    assert list(over_time["year"].unique()) == ["2023-24", "2024-25", "2025-26"]
    per_child = funding.spend_per_child(con)
    assert len(per_child) == 3 and per_child["per_child_gbp"].notna().all()
    own = per_child.set_index("year").loc["2024-25"]
    against = funding.spend_against_comparators(con, "999", "2024-25")
    assert list(against["role"]) == ["authority"] + ["neighbour"] * 10 + [
        "neighbour_average",
        "region",
        "england",
    ]
    assert against["spend_per_child_gbp"].notna().all()
    assert against["spend_per_looked_after_child_gbp"].notna().all()
    # the demo's published spend is its own outturn over its own population
    assert round(own["per_child_gbp"]) == against["spend_per_child_gbp"].iloc[0]
    scatter = funding.spend_and_demand(con, "2024-25", old_la_code="999")
    assert len(scatter) == 12 and scatter.drop(columns="role").notna().all().all()
    position = funding.national_position(con, "999", "2024-25")
    assert position.n == 12 and position.words.endswith("of 11 other authorities")
    assert [y.spending for y in funding.spending_years(con)] == ["2023/24", "2024/25", "2025/26"]
