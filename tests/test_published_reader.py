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
        (table,) = result.tables.values()
        assert len(table) > 0
        assert elapsed < 5, (path.name, elapsed)
    assert kinds["sn_model_2025_wide.csv"] == "statistical_neighbours"
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
