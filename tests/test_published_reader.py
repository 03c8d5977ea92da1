"""The published-statistics reader: EES tidy CSVs and statistical-neighbour tables.

Fixtures live in tests/fixtures/published (hand-written). The test over the real published
files skips when /work/shared is not beside the repository.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import pytest

from framework.sources.problems import ERROR, WARNING, UnreadableFile
from framework.sources.published import SYMBOL_WORDS, identify_published_csv, read_published
from framework.store.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "published"
PUBLISHED = REPO.parent / "shared" / "reference" / "csc_la_stats"
needs_shared = pytest.mark.skipif(not PUBLISHED.is_dir(), reason="shared/ reference not present")

LAC = '{"population_type":"Looked after"}'
CEASING = '{"population_type":"Ceasing"}'


def rows(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples, NaN shown as None, so they compare exactly."""
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]


def problems(result) -> list[tuple]:
    return [(p.location, p.field, p.value, p.severity, p.rule) for p in result.problems]


def test_identify_by_columns() -> None:
    assert identify_published_csv(FIXTURES / "ees_good.csv") == "ees_tidy"
    assert identify_published_csv(FIXTURES / "ees_bad.csv") == "ees_tidy"
    assert identify_published_csv(FIXTURES / "sn_model_2025_small.csv") == "statistical_neighbours"
    assert (
        identify_published_csv(FIXTURES / "sn_groupings_2021_small.csv") == "statistical_neighbours"
    )
    assert identify_published_csv(REPO / "pyproject.toml") is None


def test_unrecognised_file_is_unreadable(tmp_path: Path) -> None:
    other = tmp_path / "ofsted.csv"
    other.write_text("Local authority area code,Inspection date\nE09000002,2019-02-18\n")
    assert identify_published_csv(other) is None
    with pytest.raises(UnreadableFile):
        read_published(other)


def test_ees_good_file_melts_to_exact_rows() -> None:
    result = read_published(FIXTURES / "ees_good.csv")
    assert result.source == "published"
    assert result.collection_year is None
    assert [f.kind for f in result.files] == ["ees_tidy_csv"]
    assert len(result.files[0].sha256) == 64
    assert result.problems == []
    table = result.tables["published_statistics"]
    assert list(table.columns) == list(TABLES["published_statistics"].column_names)
    assert set(table["dataset"]) == {"ees_good"}
    nat = ("2025", "Reporting year", "National", "E92000001", None, "England")
    reg = ("2025", "Reporting year", "Regional", "E12000001", None, "North East")
    la = ("2025", "Reporting year", "Local authority", "E06000005", "841", "Darlington")
    assert rows(table.drop(columns="dataset")) == [
        (*nat, LAC, "children_count", 81770.0, None),
        (*reg, LAC, "children_count", 6720.0, None),
        (*la, LAC, "children_count", None, "c"),
        (*la, CEASING, "children_count", None, "k"),
        (*nat, LAC, "rate_per_10000", 67.0, None),
        (*reg, LAC, "rate_per_10000", None, "z"),
        (*la, LAC, "rate_per_10000", None, "x"),
        (*la, CEASING, "rate_per_10000", None, "low"),
    ]
    assert result.counts["published_statistics"].read == 8
    assert result.counts["published_statistics"].set_aside == 0


def test_ees_bad_file_sets_aside_rows_and_cells() -> None:
    result = read_published(FIXTURES / "ees_bad.csv")
    assert problems(result) == [
        ("row 2", "time_period", "", ERROR, "required"),
        ("row 6", "geographic_level", "", ERROR, "required"),
        ("row 7", "new_la_code", "", ERROR, "required"),
        ("row 5", "new_la_code", "E06000005", ERROR, "duplicate"),
        ("row 3", "percent", "abc", ERROR, "code"),
    ]
    expected = [p.expected for p in result.problems]
    assert expected[4] == SYMBOL_WORDS
    assert expected[2] == "the area code (new_la_code) for a Local authority row"
    assert expected[3].startswith("one row per time period, area and breakdown")
    assert all(p.file == "ees_bad.csv" for p in result.problems)
    table = result.tables["published_statistics"]
    assert set(table["breakdown"]) == {"{}"}
    kept = rows(table[["time_period", "geographic_level", "area_code", "measure", "value"]])
    assert kept == [
        ("2025", "National", "E92000001", "count", 100.0),
        ("2025", "Regional", "E12000001", "count", 50.0),  # the bad percent is set aside alone
        ("2025", "Local authority", "E06000005", "count", 10.0),
        ("2024", "Local authority", "E06000047", "count", 1234.0),
        ("2024", "Regional", "E12000001", "count", 7.0),
        ("2024", "National", "E92000001", "count", 200.0),
        ("2024", "Local authority", "E06000005", "count", 5.0),
        ("2025", "National", "E92000001", "percent", 10.0),
        ("2025", "Local authority", "E06000005", "percent", 5.0),  # "5%"
        ("2024", "Local authority", "E06000047", "percent", 12.5),
        ("2024", "Regional", "E12000001", "percent", 7.5),
        ("2024", "National", "E92000001", "percent", None),
        ("2024", "Local authority", "E06000005", "percent", None),
    ]
    assert list(table["value_code"].iloc[-2:]) == ["c", "u"]
    # 11 rows x 2 measures; 4 rows set aside (8 cells) and 1 bad cell
    assert result.counts["published_statistics"].read == 22
    assert result.counts["published_statistics"].set_aside == 9


def test_sn_2025_layout() -> None:
    result = read_published(FIXTURES / "sn_model_2025_small.csv")
    assert [f.kind for f in result.files] == ["statistical_neighbours_csv"]
    table = result.tables["statistical_neighbours"]
    assert list(table.columns) == list(TABLES["statistical_neighbours"].column_names)
    assert len(table) == 20
    assert rows(table.iloc[[0, 3, 10, 17]]) == [
        ("2025", "301", "Barking and Dagenham", 1, "308", "Close"),
        ("2025", "301", "Barking and Dagenham", 4, "333", "Somewhat close"),
        ("2025", "801", "Bristol, City of", 1, "846", "Very close"),
        ("2025", "801", "Bristol, City of", 8, "30", "Close"),
    ]
    assert list(table["rank"].iloc[:10]) == list(range(1, 11))
    assert problems(result) == [
        ("row 3", "old_la_code", "301", ERROR, "duplicate"),
        ("row 2", "SN_8", "30", WARNING, "code"),
    ]
    assert result.counts["statistical_neighbours"].read == 30
    assert result.counts["statistical_neighbours"].set_aside == 10


def test_sn_2021_layout_with_repeated_headers_and_headings() -> None:
    result = read_published(FIXTURES / "sn_groupings_2021_small.csv")
    table = result.tables["statistical_neighbours"]
    assert len(table) == 30
    assert set(table["model"]) == {"2021"}
    assert rows(table.iloc[[0, 9, 10, 20, 29]]) == [
        ("2021", "202", "Camden", 1, "213", "Very Close"),
        ("2021", "202", "Camden", 10, "302", "Not Close"),
        ("2021", "810", "Kingston Upon Hull, City of", 1, "861", "Very Close"),
        ("2021", "836", "Poole (Pre LG)", 1, "938", "Extremely Close"),
        ("2021", "836", "Poole (Pre LG)", 10, "X81", "Very Close"),
    ]
    assert problems(result) == [("row 5", "SN10", "X81", WARNING, "code")]
    assert any("row 3, row 4" in note for note in result.notes)


@needs_shared
def test_every_shared_file_reads() -> None:
    kinds = {}
    for path in sorted(PUBLISHED.glob("*.csv")):
        kind = identify_published_csv(path)
        kinds[path.name] = kind
        if kind is None:
            continue
        started = time.perf_counter()
        result = read_published(path)
        elapsed = time.perf_counter() - started
        assert result.errors == [], (path.name, [p.message() for p in result.errors[:5]])
        table = next(iter(result.tables.values()))  # the measures (or neighbours) table
        assert len(table) > 0
        assert elapsed < 5, (path.name, elapsed)
    assert kinds["sn_model_2025_wide.csv"] == "statistical_neighbours"
    assert kinds["dfe_dashboard_csc_spending_ro3_2024_25.csv"] == "ees_tidy"
    assert kinds["dfe_dashboard_cin_rates_per10k_2013_2025.csv"] == "ees_tidy"
    assert kinds["New_Statistical_Neighbour_Groupings_April_2021.csv"] == "statistical_neighbours"
    assert kinds["la_care_leavers_activity.csv"] == "ees_tidy"
    assert kinds["ofsted_ilacs_judgements_as_at_2025-03-31.csv"] is None
    assert kinds["dfe_national_framework_dashboard_metrics.csv"] is None


@needs_shared
def test_shared_values_and_symbols() -> None:
    result = read_published(
        PUBLISHED / "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
    )
    table = result.tables["published_statistics"]
    england = table[
        (table["area_code"] == "E92000001")
        & (table["time_period"] == "2025")
        & (table["measure"] == "rereferral_percent")
    ]
    assert england["value"].tolist() == [22.6]
    assert england["value_code"].tolist() == [None]
    suppressed = table[table["value_code"] == "c"]
    assert len(suppressed) > 0
    assert suppressed["value"].isna().all()
    sn = read_published(PUBLISHED / "sn_model_2025_wide.csv").tables["statistical_neighbours"]
    assert len(sn) == 1530
    assert not sn["closeness"].str.endswith(" ").any()


# --- DfE dashboard extracts: no time_identifier; areas in geo_breakdown ---------------------

SPENDING_HEADER = (
    "time_period,geographic_level,geo_breakdown,new_la_code,old_la_code,"
    "csc_expenditure_gbp_thousands,csc_spend_per_child_gbp"
)


def test_dashboard_extract_reads_like_an_ees_file(tmp_path: Path) -> None:
    path = tmp_path / "spending.csv"
    path.write_text(
        SPENDING_HEADER
        + "\n2024/25,Local authority,Hartlepool,E06000001,805.0,53309.0,2528.0"
        + "\n2024/25,Local authority,Somewhere,E06000099,5.0,10.5,x"
        + "\n2024/25,National,National,,,16878876.02917,1385.0"
        + "\n2024/25,Regional,North East,,,1012843.68959,1866.0"
        + "\n2024/25,Regional,Nowhere Region,,,100.0,1500.0\n"
    )
    assert identify_published_csv(path) == "ees_tidy"
    result = read_published(path)
    assert result.problems == []
    assert [f.kind for f in result.files] == ["dfe_dashboard_csv"]
    table = result.tables["published_statistics"]
    assert list(table.columns) == list(TABLES["published_statistics"].column_names)
    spend = table[table["measure"] == "csc_spend_per_child_gbp"].drop(
        columns=["dataset", "measure"]
    )
    # the area's name from geo_breakdown; old_la_code as three digits; England by its ONS code
    # (and name, as in EES files); an English region by its ONS code, any other by its name
    assert rows(spend) == [
        ("2024/25", None, "Local authority", "E06000001", "805", "Hartlepool", "{}", 2528.0, None),
        ("2024/25", None, "Local authority", "E06000099", "005", "Somewhere", "{}", None, "x"),
        ("2024/25", None, "National", "E92000001", None, "England", "{}", 1385.0, None),
        ("2024/25", None, "Regional", "E12000001", None, "North East", "{}", 1866.0, None),
        ("2024/25", None, "Regional", "Nowhere Region", None, "Nowhere Region", "{}", 1500.0, None),
    ]


def test_dashboard_extract_problems_name_file_row_field_value_and_expectation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cin_rates.csv"
    path.write_text(
        "time_period,geographic_level,region_code,region_name,new_la_code,old_la_code,la_name,"
        "At31_episodes,At31_episodes_rate\n"
        "2025,National,,,,,,400000,330\n"
        "2025,Regional,,North East,,,,20000,450\n"  # a region code column, left blank
        "2025,Local authority,E12000001,North East,,805,Hartlepool,1341,636\n"  # no ONS code
        ",Local authority,E12000001,North East,E06000002,806,Middlesbrough,1,1\n"
        "2025,Local authority,E12000001,North East,E06000003,807,Redcar,1600,582\n"
    )
    result = read_published(path)
    assert problems(result) == [
        ("row 4", "time_period", "", ERROR, "required"),
        ("row 3", "new_la_code", "", ERROR, "required"),
        ("row 2", "region_code", "", ERROR, "required"),
    ]
    assert all(p.file == "cin_rates.csv" for p in result.problems)
    assert result.problems[2].expected == "the area code (region_code) for a Regional row"
    table = result.tables["published_statistics"]
    assert sorted(set(table["area_code"])) == ["E06000003", "E92000001"]
    regions = result.tables["authority_regions"]
    assert rows(regions) == [("E06000003", "807", "Redcar", "E12000001", "North East")]


def test_a_file_with_time_and_level_but_no_area_column_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("time_period,geographic_level,value\n2025,National,1\n")
    assert identify_published_csv(path) is None
    with pytest.raises(UnreadableFile, match="dashboard extract"):
        read_published(path)


@needs_shared
def test_shared_dashboard_extracts() -> None:
    spending = read_published(PUBLISHED / "dfe_dashboard_csc_spending_ro3_2024_25.csv")
    table = spending.tables["published_statistics"]
    assert len(table) == 165 * 7
    hartlepool = table[
        (table["old_la_code"] == "805") & (table["measure"] == "csc_spend_per_child_gbp")
    ]
    assert rows(hartlepool[["time_period", "area_code", "area_name", "value"]]) == [
        ("2024/25", "E06000001", "Hartlepool", 2528.0)
    ]
    levels = table.drop_duplicates("area_code")["geographic_level"].value_counts().to_dict()
    assert levels == {"Local authority": 153, "Regional": 11, "National": 1}
    assert table["area_code"].str.fullmatch(r"E\d{8}").all()  # every region mapped by name
    rates = read_published(PUBLISHED / "dfe_dashboard_cin_rates_per10k_2013_2025.csv")
    cin = rates.tables["published_statistics"]
    row = cin[(cin["old_la_code"] == "805") & (cin["time_period"] == "2025")]
    assert dict(zip(row["measure"], row["value"], strict=True)) == {
        "At31_episodes": 1341.0,
        "At31_episodes_rate": 636.0,
    }
    assert set(cin.loc[cin["geographic_level"] == "National", "area_name"]) == {"England"}
