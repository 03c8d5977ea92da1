"""The SSDA903 reader: CSV sets and XML, every kind of problem, and the published samples.

Fixtures live in tests/fixtures/ssda903 (hand-written; see the README there). Tests over the
shared DfE-validator samples skip when /work/shared is not beside the repository.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.sources.problems import ERROR, WARNING, UnreadableFile
from framework.sources.ssda903 import (
    COLUMNS,
    STORE_TABLE,
    describe_unrecognised_csv,
    identify_ssda903_csv,
    looks_like_ssda903_xml,
    read_ssda903,
    read_ssda903_xml,
)
from framework.store.schema import TABLES, tables_of

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "ssda903"
SAMPLES = REPO.parent / "shared" / "spec" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/ samples not present")

E, W = ERROR, WARNING


def csv_set(folder: str) -> list[Path]:
    return sorted((FIXTURES / folder).glob("*.csv"))


def found(result, file: str | None = None) -> list[tuple]:
    """Problems as (severity, file, location, child, field, value), in reported order."""
    return [
        (p.severity, p.file, p.location, p.child, p.field, p.value)
        for p in result.problems
        if file is None or p.file == file
    ]


def children_of(result, table: str) -> list[str]:
    return result.tables[table]["child_id"].tolist()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- Recognising files -------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(COLUMNS))
def test_each_table_is_recognised_by_its_columns_not_its_name(tmp_path, table):
    source = FIXTURES / "valid_2024_25" / f"{table}.csv"
    renamed = tmp_path / "export 7.csv"
    shutil.copy(source, renamed)
    assert identify_ssda903_csv(renamed) == table


def test_recognition_tolerates_bom_case_spaces_and_extra_columns():
    assert identify_ssda903_csv(FIXTURES / "encodings" / "header_bom.csv") == "header"
    assert identify_ssda903_csv(FIXTURES / "encodings" / "header_utf16.csv") == "header"
    assert identify_ssda903_csv(FIXTURES / "structure" / "ragged_reviews.csv") == "reviews"
    assert identify_ssda903_csv(FIXTURES / "extra_columns" / "episodes.csv") == "episodes"


def test_a_file_missing_a_column_is_not_recognised_and_the_message_says_what_is_missing():
    path = FIXTURES / "structure" / "episodes_without_place.csv"
    assert identify_ssda903_csv(path) is None
    message = describe_unrecognised_csv(path)
    assert message.startswith("the file looks most like the SSDA903 Episodes table")
    assert "lacks the column(s) PLACE." in message


def test_a_file_matching_two_tables_equally_is_not_guessed(tmp_path):
    path = write(tmp_path / "mixed.csv", "CHILD,DOB,REVIEW,REVIEW_CODE,SEX,DUC\n")
    assert identify_ssda903_csv(path) is None
    assert "more than one SSDA903 table (Reviews and UASC)" in describe_unrecognised_csv(path)


def test_a_file_of_something_else_is_described_as_such(tmp_path):
    path = write(tmp_path / "staff.csv", "NAME,TEAM\nAda,East\n")
    assert identify_ssda903_csv(path) is None
    assert "does not look like an SSDA903 table" in describe_unrecognised_csv(path)


def test_an_empty_file_is_unreadable():
    path = FIXTURES / "structure" / "empty.csv"
    assert identify_ssda903_csv(path) is None
    empty = "the file is empty (expected an SSDA903 CSV with a header row)"
    assert describe_unrecognised_csv(path) == empty
    result = read_ssda903([FIXTURES / "valid_2024_25" / "header.csv", path])
    assert result.fatal == f"empty.csv: {empty}"
    assert result.tables == {}


# --- A valid 2024-25 return with every table ---------------------------------------------------

ALL_STORE_TABLES = [*sorted(t.name for t in tables_of("ssda903")), "children"]


@pytest.fixture(scope="module")
def valid_2025():
    return read_ssda903(csv_set("valid_2024_25"))


def test_valid_set_loads_every_table_without_problems(valid_2025):
    assert valid_2025.fatal is None
    assert valid_2025.problems == []
    assert valid_2025.collection_year == 2025
    assert valid_2025.notes == ["Collection year 2024-25 taken from the file or folder name."]
    assert sorted(valid_2025.tables) == sorted(ALL_STORE_TABLES)
    kinds = sorted(f.kind for f in valid_2025.files)
    assert kinds == sorted(f"ssda903_csv:{t}" for t in COLUMNS)
    assert all(len(f.sha256) == 64 and f.size > 0 for f in valid_2025.files)
    expected_rows = {
        "children": 5,
        "episodes": 6,
        "looked_after_reviews": 5,
        "uasc": 1,
        "health_outcomes": 1,
        "care_leavers": 1,
        "adoptions": 1,
        "placed_for_adoption": 1,
        "previous_permanence": 2,
        "missing_episodes": 2,
        "social_worker_episodes": 2,
        "deprivation_of_liberty": 1,
    }
    assert {t: len(f) for t, f in valid_2025.tables.items()} == expected_rows
    assert {t: (c.read, c.set_aside) for t, c in valid_2025.counts.items()} == {
        t: (n, 0) for t, n in expected_rows.items()
    }


@pytest.mark.parametrize("table", ALL_STORE_TABLES)
def test_tables_have_exactly_the_reader_columns_and_their_dtypes(valid_2025, table):
    frame = valid_2025.tables[table]
    assert list(frame.columns) == TABLES[table].reader_columns
    types = TABLES[table].types()
    for column in frame.columns:
        kind = types.get(column, "VARCHAR")
        dtype = frame[column].dtype
        if kind == "DATE":
            assert dtype == "datetime64[ns]", column
            assert (frame[column].dropna() == frame[column].dropna().dt.normalize()).all()
        elif kind == "INTEGER":
            assert dtype == "Int64", column
        elif kind == "BOOLEAN":
            assert dtype == "boolean", column
        else:
            assert isinstance(dtype, pd.StringDtype), column


def test_valid_set_values_are_normalised(valid_2025):
    children = valid_2025.tables["children"].set_index("child_id")
    assert children["sex"].tolist() == ["F", "M", "F", "M", "F"]
    assert children.loc["C1002", "upn_unknown"] == "UN4" and pd.isna(children.loc["C1002", "upn"])
    assert children.loc["C1003", "mother"] is np.True_ or children.loc["C1003", "mother"]
    assert children.loc["C1003", "mother_child_dob"] == pd.Timestamp("2024-09-02")
    episodes = valid_2025.tables["episodes"]
    assert episodes["home_postcode"].tolist()[:2] == ["AB1 2CD", "AB1 2CD"]
    assert episodes["placement_postcode"].tolist() == [
        "AB1 2CD",
        "M1 1AA",
        "M1 1AA",
        "AB1 2CD",
        "M1 1AA",
        pd.NA,
    ]
    assert episodes["end_date"].isna().tolist() == [False, True, False, False, True, False]
    assert valid_2025.tables["previous_permanence"]["permanence_date"].tolist() == [
        pd.NA,
        "zz/05/2019",
    ]
    for table in ("health_outcomes", "care_leavers", "previous_permanence"):
        assert set(valid_2025.tables[table]["year"]) == {2025}
    sdq = valid_2025.tables["health_outcomes"].iloc[0]
    assert sdq["sdq_score"] == 14 and not sdq["convicted"] and pd.isna(sdq["health_check"])
    assert valid_2025.tables["social_worker_episodes"]["worker_id"].tolist() == [
        "SW123456",
        "SW654321",
    ]


def test_valid_2022_23_set_accepts_sex_1_and_2_and_the_old_placement_types():
    result = read_ssda903(csv_set("valid_2022_23"))
    assert result.collection_year == 2023
    assert result.problems == []
    assert result.tables["children"]["sex"].tolist() == ["M", "F"]
    assert result.tables["episodes"]["placement_type"].tolist() == ["Z1", "H5", "P2"]


def test_sex_1_and_2_are_set_aside_in_a_2024_25_return():
    result = read_ssda903(csv_set("valid_2022_23"), collection_year=2025)
    assert result.notes == [
        "The file or folder names suggest 2022-23, but the collection year 2024-25 was given "
        "and is used."
    ]
    sex = [p for p in result.problems if p.field == "SEX"]
    assert [(p.location, p.value) for p in sex] == [("row 1", "1"), ("row 2", "2")]
    assert sex[0].expected == "one of F, M, U; 1 was valid until the 2023-24 return"
    assert result.tables["children"].empty


# --- XML ---------------------------------------------------------------------------------------


def test_xml_gives_the_same_tables_as_the_csv_set(valid_2025):
    result = read_ssda903_xml(FIXTURES / "valid_2024_25.xml")
    assert result.fatal is None and result.problems == []
    assert result.collection_year == 2025
    assert [f.kind for f in result.files] == ["ssda903_xml"]
    # The XML layout has no social-worker episodes or DoLo.
    assert set(valid_2025.tables) - set(result.tables) == {
        "social_worker_episodes",
        "deprivation_of_liberty",
    }
    for table, frame in result.tables.items():
        pd.testing.assert_frame_equal(frame, valid_2025.tables[table], obj=table)


def test_xml_problems_name_lines_and_the_xml_field_names():
    result = read_ssda903_xml(FIXTURES / "bad_2024_25.xml", collection_year=2025)
    assert found(result) == [
        (E, "bad_2024_25.xml", "line 4", "E1", "SEX", "1"),
        (W, "bad_2024_25.xml", "line 4", "E1", "UASC", "Y"),
        (W, "bad_2024_25.xml", "line 11", None, None, None),
        (E, "bad_2024_25.xml", "line 12", "E1", "REVIEW_CODE", "PN8"),
        (E, "bad_2024_25.xml", "line 17", "E1", "PL", "Q1"),
        (E, "bad_2024_25.xml", "line 27", None, "CHILDID", None),
    ]
    assert "<FAVOURITE_COLOUR> is not one and was ignored (1 time)" in result.problems[2].expected
    assert result.tables["children"].empty and result.tables["episodes"].empty


def test_xml_with_a_doctype_is_refused_before_parsing():
    path = FIXTURES / "doctype.xml"
    result = read_ssda903_xml(path)
    assert result.fatal.startswith("doctype.xml: the XML declares a document type or entities")
    assert result.tables == {} and result.problems == []
    with pytest.raises(UnreadableFile):
        looks_like_ssda903_xml(path)


def test_looks_like_ssda903_xml(tmp_path):
    assert looks_like_ssda903_xml(FIXTURES / "valid_2024_25.xml")
    other_root = write(tmp_path / "a.xml", "<Return><CHILD><HEADER><CHILDID>1</CHILDID>")
    other_root.write_text(other_root.read_text() + "</HEADER></CHILD></Return>")
    assert looks_like_ssda903_xml(other_root)
    cin = write(tmp_path / "cin.xml", "<Message><Header><Year>2025</Year></Header></Message>")
    assert not looks_like_ssda903_xml(cin)
    result = read_ssda903_xml(cin, collection_year=2025)
    assert (
        result.fatal
        == "cin.xml: no <CHILD> records were found, so this is not an SSDA903 XML return"
    )


def test_truncated_xml_is_unreadable(tmp_path):
    text = (FIXTURES / "valid_2024_25.xml").read_text()
    path = write(tmp_path / "cut_2024_25.xml", text[: len(text) // 2])
    result = read_ssda903_xml(path)
    assert "the XML is not well formed" in result.fatal
    assert result.tables == {}


# --- Problems, one fixture set per kind --------------------------------------------------------


def test_invalid_codes():
    result = read_ssda903(csv_set("bad_codes"), collection_year=2025)
    assert found(result) == [
        (E, "episodes.csv", "row 1", "B1", "RNE", "Q"),
        (E, "episodes.csv", "row 2", "B2", "LS", "C9"),
        (E, "episodes.csv", "row 2", "B2", "CIN", "N9"),
        (E, "episodes.csv", "row 3", "B3", "PLACE", "Z11"),
        (E, "episodes.csv", "row 4", "B4", "PLACE", "P2"),
        (E, "episodes.csv", "row 5", "B5", "PLACE_PROVIDER", "PR0"),
        (W, "episodes.csv", "row 6", "B6", "REASON_PLACE_CHANGE", "CARPL"),
        (W, "episodes.csv", "row 7", "B6", "HOME_POST", "XYZ"),
        (W, "episodes.csv", "row 7", "B6", "URN", "SC12"),
        (E, "episodes.csv", "row 8", "B7", "PLACE_PROVIDER", "PR9"),
        (E, "episodes.csv", "row 8", "B7", "REC", "E99"),
        (E, "episodes.csv", "row 8", "B7", "REASON_PLACE_CHANGE", "BADRC"),
        (E, "header.csv", "row 1", "B1", "SEX", "1"),
        (E, "header.csv", "row 2", "B2", "ETHNIC", "XXXX"),
        (W, "header.csv", "row 3", "B3", "UPN", "I123456789012"),
        (E, "header.csv", "row 3", "B3", "MOTHER", "2"),
        (E, "reviews.csv", "row 1", "B1", "REVIEW_CODE", "PN9"),
        (E, "reviews.csv", "row 2", "B2", "REVIEW_CODE", ""),
        (E, "reviews.csv", "row 3", "B4", "REVIEW", ""),
    ]
    messages = {(p.location, p.field): p.expected for p in result.problems}
    assert messages[("row 3", "PLACE")].endswith("; Z11 is valid from the 2025-26 return on")
    assert "starting after 27/10/2023" in messages[("row 4", "PLACE")]
    assert children_of(result, "episodes") == ["B6", "B6", "B8"]
    # Lower-case codes are accepted and upper-cased (as the DfE tools do).
    b8 = result.tables["episodes"].iloc[2]
    assert (b8["reason_new_episode"], b8["placement_provider"]) == ("S", "PR1")
    assert children_of(result, "children") == ["B4", "B5", "B6", "B7", "B8"]
    assert children_of(result, "looked_after_reviews") == ["B8"]


def test_impossible_dates():
    result = read_ssda903(csv_set("bad_dates"), collection_year=2025)
    assert found(result) == [
        (E, "episodes.csv", "row 4", "D4", "DECOM", "2024-05-01"),
        (E, "episodes.csv", "row 5", "D5", "DECOM", "01/05/2014"),
        (W, "episodes.csv", "row 5", "D5", "DEC", "01/06/2014"),
        (E, "episodes.csv", "row 6", "D5", "DEC", "01/06/2024"),
        (E, "episodes.csv", "row 7", "D5", "DEC", "05/04/2025"),
        (E, "episodes.csv", "row 8", "D5", "REC", ""),
        (W, "episodes.csv", "row 9", "D5", "REC", "E8"),  # open episode: reason ignored
        (E, "header.csv", "row 1", "D1", "DOB", "31/02/2012"),
        (E, "header.csv", "row 2", "D2", "DOB", "01/06/2025"),
        (E, "header.csv", "row 3", "D3", "DOB", "01/01/1975"),
        (E, "reviews.csv", "row 1", "D4", "REVIEW", "31/04/2024"),
        (E, "reviews.csv", "row 2", "D4", "REVIEW", "01/04/2025"),
        (E, "reviews.csv", "row 3", "D4", "REVIEW", "01/05/1979"),
    ]
    messages = [p.expected for p in result.problems]
    assert messages[1] == "a start on or after the child's date of birth (15/06/2015)"
    assert messages[2].startswith("an end date in 2024-25 or later")
    assert messages[4] == "a date on or before 31/03/2025 (the end of 2024-25)"
    assert children_of(result, "episodes") == ["D1", "D2", "D3", "D5"]
    assert result.tables["episodes"]["reason_ceased"].isna().all()
    assert children_of(result, "children") == ["D4", "D5"]
    assert result.counts["looked_after_reviews"].set_aside == 3


def test_duplicates():
    result = read_ssda903(csv_set("duplicates"), collection_year=2025)
    assert found(result) == [
        (E, "episodes.csv", "row 3", "X2", "DECOM", "01/05/2024"),
        (E, "header.csv", "row 1", "X1", "CHILD", "X1"),
        (E, "header.csv", "row 3", "X1", "CHILD", "X1"),
        (E, "reviews.csv", "row 2", "X2", "REVIEW", "1/6/2024"),
    ]
    assert result.problems[0].expected == (
        "one episode per child and start date (DECOM): row 2 has the same"
    )
    assert result.problems[1].expected == "one header row per child: this child is in row 1, row 3"
    # Every copy of a repeated header child is set aside; later copies of other rows only.
    assert children_of(result, "children") == ["X2"]
    assert result.tables["episodes"]["placement_type"].tolist() == ["U4", "U4"]
    assert result.tables["looked_after_reviews"]["participation_code"].tolist() == ["PN1"]


def test_orphans_missing_episodes_and_differing_dates_of_birth():
    result = read_ssda903(csv_set("orphans"), collection_year=2025)
    assert found(result) == [
        (E, "episodes.csv", "row 2", "O9", "CHILD", "O9"),
        (W, "header.csv", "row 2", "O2", "CHILD", "O2"),
        (W, "reviews.csv", "row 1", "O1", "DOB", "02/01/2012"),
        (E, "reviews.csv", "row 2", "O9", "CHILD", "O9"),
    ]
    assert result.problems[0].expected == "a child who is in the header file (header.csv)"
    assert result.problems[2].expected == "the same date of birth as the header (01/01/2012)"
    assert children_of(result, "children") == ["O1", "O2"]
    assert children_of(result, "episodes") == ["O1"]
    assert children_of(result, "looked_after_reviews") == ["O1"]


def test_orphans_are_not_checked_without_a_header():
    result = read_ssda903([FIXTURES / "orphans" / "episodes.csv"], collection_year=2025)
    assert result.problems == []
    assert children_of(result, "episodes") == ["O1", "O9"]


def test_overlapping_episodes_set_aside_the_later_one():
    result = read_ssda903(csv_set("overlaps"), collection_year=2025)
    assert found(result) == [
        (E, "episodes.csv", "row 1", "V1", "DECOM", "01/06/2024"),
        (E, "episodes.csv", "row 4", "V2", "DECOM", "01/08/2024"),
    ]
    assert result.problems[0].expected == (
        "a start on or after the end of the child's earlier episode (row 2, which ended 01/07/2024)"
    )
    assert result.problems[1].expected == (
        "a start after the child's earlier episodes ended, but the episode starting "
        "01/05/2024 (row 3) has no end date (DEC)"
    )
    assert children_of(result, "episodes") == ["V1", "V2", "V3", "V3"]


def test_problems_in_the_other_tables():
    result = read_ssda903(csv_set("bad_other_tables"), collection_year=2025)
    assert found(result) == [
        (E, "ad1.csv", "row 1", "P1", "DATE_MATCH", "01/05/2024"),
        (E, "ad1.csv", "row 1", "P1", "NB_ADOPTR", "3"),
        (E, "ad1.csv", "row 1", "P1", "SEX_ADOPTR", "XX"),
        (E, "ad1.csv", "row 1", "P1", "LS_ADOPTR", "L9"),
        (E, "ad1.csv", "row 2", "P2", "DATE_INT", ""),
        (E, "ad1.csv", "row 2", "P2", "FOSTER_CARE", "2"),
        (E, "dolo.csv", "row 1", "P1", "DOLO_END", "01/05/2024"),
        (E, "dolo.csv", "row 2", "P2", "DOLO_START", ""),
        (E, "missing.csv", "row 1", "P1", "MISSING", "X"),
        (E, "missing.csv", "row 2", "P1", "MIS_END", "30/06/2024"),
        (E, "missing.csv", "row 3", "P2", "MIS_START", ""),
        (E, "oc2.csv", "row 1", "P1", "SDQ_SCORE", "41"),
        (E, "oc2.csv", "row 2", "P2", "SDQ_SCORE", ""),
        (W, "oc2.csv", "row 3", "P3", "SDQ_REASON", "SDQ1"),
        (E, "oc2.csv", "row 3", "P3", "CONVICTED", "2"),
        (E, "oc2.csv", "row 4", "P4", "SDQ_REASON", "SDQ9"),
        (E, "oc2.csv", "row 5", "P5", "SDQ_SCORE", "7.5"),
        (E, "oc3.csv", "row 1", "P1", "ACTIV", "F3"),
        (E, "oc3.csv", "row 1", "P1", "ACCOM", "S1"),
        (E, "oc3.csv", "row 2", "P2", "ACTIV", "0"),
        (E, "oc3.csv", "row 2", "P2", "ACCOM", "0"),
        (W, "oc3.csv", "row 3", "P3", "ACTIV", "F1"),
        (W, "oc3.csv", "row 4", "P4", "ACCOM", "B1"),
        (E, "oc3.csv", "row 5", "P5", "IN_TOUCH", "MAYBE"),
        (E, "oc3.csv", "row 6", "P6", "IN_TOUCH", ""),
        (E, "placed_for_adoption.csv", "row 1", "P1", "DATE_PLACED_CEASED", ""),
        (E, "placed_for_adoption.csv", "row 2", "P2", "REASON_PLACED_CEASED", "RD9"),
        (E, "placed_for_adoption.csv", "row 2", "P2", "DATE_PLACED_CEASED", "01/05/2024"),
        (E, "placed_for_adoption.csv", "row 3", "P3", "REASON_PLACED_CEASED", ""),
        (E, "previous_permanence.csv", "row 3", "P3", "DATE_PERM", "12/zz/2019"),
        (E, "previous_permanence.csv", "row 4", "P4", "PREV_PERM", "P9"),
        (W, "previous_permanence.csv", "row 4", "P4", "LA_PERM", "ABC"),
        (E, "previous_permanence.csv", "row 4", "P4", "DATE_PERM", "31/02/2019"),
        (E, "previous_permanence.csv", "row 5", "P5", "DATE_PERM", "01/05/2025"),
        (E, "sw_episodes.csv", "row 1", "P1", "SW_REASON", "SWLAZY"),
        (E, "sw_episodes.csv", "row 2", "P2", "SW_DEC", "01/05/2024"),
        (E, "sw_episodes.csv", "row 3", "P3", "SW_ID", ""),
        (W, "sw_episodes.csv", "row 4", "P4", "SW_ID", "JOHN"),
        (E, "uasc.csv", "row 1", "P1", "DUC", "32/01/2026"),
        (W, "uasc.csv", "row 2", "P2", "SEX", "1"),
        (W, "uasc.csv", "row 3", "P3", "SEX", "M"),
    ]
    messages = {(p.file, p.location, p.field): p.expected for p in result.problems}
    assert messages[("oc3.csv", "row 1", "ACCOM")].endswith(
        "homelessness (S) and custody (X) are always unsuitable: use S2 or X2"
    )
    assert messages[("oc3.csv", "row 1", "ACTIV")].endswith(
        "F3 and P3 are superseded codes that are no longer valid"
    )
    assert messages[("uasc.csv", "row 3", "SEX")] == "the same sex as the header (F)"
    assert children_of(result, "care_leavers") == ["P3", "P4"]
    assert children_of(result, "health_outcomes") == []
    assert result.tables["previous_permanence"]["permanence_date"].tolist() == [
        "zz/05/2019",
        "zz/zz/zzzz",
        "07/03/2020",
    ]
    assert children_of(result, "social_worker_episodes") == ["P4"]
    assert children_of(result, "uasc") == ["P2", "P3"]
    assert children_of(result, "adoptions") == []
    assert children_of(result, "deprivation_of_liberty") == []


@pytest.mark.parametrize(
    ("place", "start", "year", "valid"),
    [
        ("K3", "01/05/2023", 2024, False),
        ("K3", "01/05/2024", 2025, True),
        ("Z1", "01/05/2024", 2025, True),
        ("Z1", "01/05/2025", 2026, False),
        ("Z11", "01/05/2025", 2026, True),
        ("H5", "01/05/2024", 2025, True),
        ("H5", "01/05/2025", 2026, False),
        ("P2", "27/10/2023", 2025, True),
        ("P2", "28/10/2023", 2024, False),
        ("P2", "01/05/2022", 2026, False),
    ],
)
def test_placement_types_depend_on_the_year(tmp_path, place, start, year, valid):
    header = ",".join(COLUMNS["episodes"])
    path = write(tmp_path / "episodes.csv", f"{header}\nK,{start},S,C2,N1,{place},,,,,,,\n")
    result = read_ssda903([path], collection_year=year)
    assert [p.field for p in result.errors] == ([] if valid else ["PLACE"])


# --- File-level problems -----------------------------------------------------------------------


def test_extra_columns_are_ignored_with_a_warning():
    result = read_ssda903(csv_set("extra_columns"), collection_year=2025)
    assert found(result) == [
        (W, "episodes.csv", "header row", None, "LA", None),
        (W, "episodes.csv", "header row", None, "YEAR", None),
    ]
    assert children_of(result, "episodes") == ["E1", "E2"]


def test_a_utf8_bom_is_silently_accepted():
    result = read_ssda903([FIXTURES / "encodings" / "header_bom.csv"], collection_year=2025)
    assert result.problems == []
    assert children_of(result, "children") == ["G1", "GÉ2"]


@pytest.mark.parametrize(
    ("name", "words"),
    [("header_utf16.csv", "this one is UTF-16"), ("header_cp1252.csv", "read as Windows-1252")],
)
def test_other_encodings_are_read_with_a_warning_naming_the_file(name, words):
    result = read_ssda903([FIXTURES / "encodings" / name], collection_year=2025)
    assert found(result) == [(W, name, "whole file", None, None, None)]
    assert words in result.problems[0].expected
    assert children_of(result, "children") == ["G1", "GÉ2"]


def test_ragged_rows_blank_lines_and_header_spelling():
    result = read_ssda903([FIXTURES / "structure" / "ragged_reviews.csv"], collection_year=2025)
    assert found(result) == [
        (E, "ragged_reviews.csv", "row 4", "R1", "REVIEW_CODE", ""),
        (E, "ragged_reviews.csv", "row 5", "R1", None, None),
    ]
    assert result.problems[1].expected == "4 values, one per column (this row has more)"
    # Blank lines and lines of commas are not records, but rows keep their file numbering.
    assert result.counts["looked_after_reviews"].read == 4
    assert result.tables["looked_after_reviews"]["review_date"].tolist() == [
        pd.Timestamp("2024-06-01"),
        pd.Timestamp("2024-09-04"),
    ]


def test_a_header_row_alone_gives_an_empty_table(tmp_path):
    path = write(tmp_path / "reviews_2024-25.csv", "CHILD,DOB,REVIEW,REVIEW_CODE\n")
    result = read_ssda903([path])
    assert result.fatal is None and result.problems == []
    frame = result.tables["looked_after_reviews"]
    assert frame.empty and list(frame.columns) == TABLES["looked_after_reviews"].reader_columns


def test_two_files_for_one_table_are_fatal():
    header = FIXTURES / "valid_2024_25" / "header.csv"
    result = read_ssda903([header, FIXTURES / "encodings" / "header_bom.csv"])
    assert result.fatal == (
        "header_bom.csv: header.csv and header_bom.csv both hold the SSDA903 Header table. "
        "A return has one file per table: remove one and load again."
    )
    assert result.tables == {}


def test_an_unrecognised_or_missing_file_in_a_set_is_fatal(tmp_path):
    header = FIXTURES / "valid_2024_25" / "header.csv"
    odd = FIXTURES / "structure" / "episodes_without_place.csv"
    result = read_ssda903([header, odd])
    assert result.fatal.startswith("episodes_without_place.csv: the file looks most like")
    assert [f.kind for f in result.files] == ["ssda903_csv:header", "ssda903_csv:unrecognised"]
    assert read_ssda903([tmp_path / "gone.csv"]).fatal == "gone.csv: the file does not exist"
    assert read_ssda903([]).fatal == "no SSDA903 files were given"


# --- The collection year -----------------------------------------------------------------------


def test_year_is_inferred_from_episode_dates_with_a_note(tmp_path):
    folder = tmp_path / "return"
    folder.mkdir()
    for path in csv_set("valid_2024_25"):
        shutil.copy(path, folder / path.name)
    result = read_ssda903(sorted(folder.glob("*.csv")))
    assert result.collection_year == 2025
    assert result.problems == []
    assert result.notes == [
        "No collection year was given and none is in the file or folder names, so 2024-25 was "
        "inferred from the latest DEC date (01/03/2025). If that is wrong, load the return again "
        "giving the year with --year (the end year, e.g. --year 2025 for 2024-25)."
    ]


def test_a_few_stray_later_dates_do_not_move_the_year(tmp_path):
    header = ",".join(COLUMNS["episodes"])
    rows = [f"K{n},01/05/2024,S,C2,N1,U4,PR1,,,,,," for n in range(150)]
    rows.append("K999,01/05/2025,S,C2,N1,U4,PR1,,,,,,")  # a typing mistake for 2024
    path = write(tmp_path / "return" / "episodes.csv", "\n".join([header, *rows]) + "\n")
    result = read_ssda903([path])
    assert result.collection_year == 2025
    assert "1 later date(s) look mistyped" in result.notes[0]
    assert found(result) == [(E, "episodes.csv", "row 151", "K999", "DECOM", "01/05/2025")]


def test_without_any_year_the_read_is_fatal(tmp_path):
    path = tmp_path / "return" / "header.csv"
    path.parent.mkdir()
    shutil.copy(FIXTURES / "valid_2024_25" / "header.csv", path)
    result = read_ssda903([path])
    assert result.collection_year is None
    assert "could not be told" in result.fatal and "--year" in result.fatal


# --- Published samples (deliberate mistakes) ---------------------------------------------------


@needs_samples
@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("d2i_ad1.csv", "ad1"),
        ("d2i_header_first15rows.csv", "header"),
        ("d2i_missing.csv", "missing"),
        ("d2i_oc2_first15rows.csv", "oc2"),
        ("d2i_oc3.csv", "oc3"),
        ("d2i_sw_episodes.csv", "sw_episodes"),
        ("d2i_uasc.csv", "uasc"),
        ("liiatools_SSDA903_2020_episodes.csv", "episodes"),
    ],
)
def test_every_sample_csv_is_recognised(name, table):
    assert identify_ssda903_csv(SAMPLES / "ssda903" / name) == table


@needs_samples
def test_oc3_sample_mistakes_are_reported():
    result = read_ssda903([SAMPLES / "ssda903" / "d2i_oc3.csv"], collection_year=2018)
    by_cell = {(p.location, p.field): p for p in result.problems}
    accom = by_cell[("row 1", "ACCOM")]
    assert (accom.severity, accom.child, accom.value) == (E, "197474", "01")
    activity = by_cell[("row 2", "ACTIV")]
    assert (activity.severity, activity.child, activity.value) == (E, "864948", "P3")
    died = by_cell[("row 1", "ACTIV")]  # IN_TOUCH DIED, yet an activity is recorded
    assert (died.severity, died.value, died.rule) == (W, "F1", "combination")
    assert result.counts["care_leavers"].read == 53
    assert 0 < result.counts["care_leavers"].set_aside < 53


@needs_samples
def test_sw_episodes_sample_with_a_bom_is_read_and_its_reason_rejected():
    result = read_ssda903([SAMPLES / "ssda903" / "d2i_sw_episodes.csv"])
    assert found(result) == [(E, "d2i_sw_episodes.csv", "row 1", "CHILD10", "SW_REASON", "SWLAZY")]
    assert result.collection_year == 2020
    assert "inferred from the latest SW_DEC date (03/01/2020)" in result.notes[0]


@needs_samples
def test_header_sample_sex_codes_depend_on_the_year():
    path = SAMPLES / "ssda903" / "d2i_header_first15rows.csv"
    old = read_ssda903([path], collection_year=2018)
    assert old.counts["children"].set_aside == 0 and len(old.tables["children"]) == 15
    new = read_ssda903([path], collection_year=2025)
    assert {p.field for p in new.errors} == {"SEX"}
    assert new.counts["children"].set_aside == 15


@needs_samples
def test_liiatools_episodes_sample_takes_its_year_from_the_name_and_shows_overlaps():
    result = read_ssda903([SAMPLES / "ssda903" / "liiatools_SSDA903_2020_episodes.csv"])
    assert result.collection_year == 2020
    assert [(p.location, p.child, p.rule) for p in result.problems] == [
        ("row 1", "689661", "overlap"),
        ("row 3", "689661", "overlap"),
    ]


@needs_samples
@pytest.mark.parametrize(
    "name", ["d2i_ad1.csv", "d2i_missing.csv", "d2i_oc2_first15rows.csv", "d2i_uasc.csv"]
)
def test_other_samples_load_in_their_own_year(name):
    result = read_ssda903([SAMPLES / "ssda903" / name], collection_year=2018)
    assert result.fatal is None and result.errors == []


@pytest.fixture(scope="module")
def full_return_csv():
    if not SAMPLES.is_dir():
        pytest.skip("shared/ samples not present")
    return read_ssda903(sorted((SAMPLES / "d2i_full_return" / "ssda903").glob("*.csv")))


@needs_samples
def test_full_fake_return_csv_mostly_loads(full_return_csv):
    result = full_return_csv
    assert result.fatal is None
    assert result.collection_year == 2018  # its dates run to March 2018, so SEX 1/2 is valid
    assert "--year" in result.notes[0]
    read = sum(c.read for c in result.counts.values())
    set_aside = sum(c.set_aside for c in result.counts.values())
    assert read == 2675 * 3 + 5050 + 12582 + 29  # header, OC2, PrevPerm; episodes...
    assert set_aside < read / 3
    counts = {t: (c.read, c.set_aside) for t, c in result.counts.items()}
    assert counts["children"] == (2675, 1)  # MOTHER "1.0"
    assert counts["placed_for_adoption"] == (29, 29)  # REASON_PLACED_CEASED "XXX"
    assert counts["health_outcomes"] == (2675, 0)
    assert counts["previous_permanence"] == (2675, 0)
    fields = {(p.field, p.rule) for p in result.errors}
    assert {("MOTHER", "code"), ("PLACE_PROVIDER", "combination"), ("DECOM", "overlap")} <= fields
    for table, frame in result.tables.items():
        assert len(frame) == result.counts[table].valid


@needs_samples
def test_full_fake_return_xml_mostly_loads():
    result = read_ssda903_xml(SAMPLES / "d2i_full_return" / "ssda903" / "fake_903.xml")
    assert result.fatal is None and result.collection_year == 2018
    read = sum(c.read for c in result.counts.values())
    set_aside = sum(c.set_aside for c in result.counts.values())
    assert read > 2000 and set_aside < read / 3
    assert result.counts["children"].read == 253
    assert result.counts["uasc"].read == 12 and result.counts["uasc"].set_aside == 0
    accom = [p for p in result.errors if p.field == "ACCOM"]
    assert {p.value for p in accom} == {"S1", "01"}
    assert all(p.location.startswith("line ") for p in accom)
    assert all(p.field != "PLACE" for p in result.problems)  # named PL, as in the file


# --- Properties --------------------------------------------------------------------------------

CODES = st.sampled_from(["PN1", "PN7", "pn2", "", "PN9", "X"])
DATES = st.sampled_from(["01/05/2024", "31/03/2025", "1/6/2024", "", "2024-05-01", "31/02/2024"])
CHILDREN = st.sampled_from(["A", "B", "C", " A ", ""])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(CHILDREN, DATES, CODES), min_size=0, max_size=25))
def test_every_row_is_either_loaded_or_set_aside(rows):
    """Rows read = rows loaded + rows set aside, and no set-aside row is loaded."""
    lines = ["CHILD,DOB,REVIEW,REVIEW_CODE"] + [f"{c},,{d},{code}" for c, d, code in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "reviews.csv", "\n".join(lines) + "\n")
        result = read_ssda903([path], collection_year=2025)
    count = result.counts["looked_after_reviews"]
    records = sum(1 for c, d, code in rows if (c.strip() or d or code))
    assert count.read == records
    assert len(result.tables["looked_after_reviews"]) == count.read - count.set_aside
    set_aside_rows = {p.location for p in result.errors}
    assert len(set_aside_rows) == count.set_aside
    loaded = result.tables["looked_after_reviews"]
    keys = list(zip(loaded["child_id"], loaded["review_date"], strict=True))
    assert len(keys) == len(set(keys))  # the store key is unique among loaded rows


@settings(max_examples=25, deadline=None)
@given(
    episodes=st.lists(
        st.tuples(
            st.sampled_from(["K1", "K2"]),
            st.integers(0, 300),
            st.one_of(st.none(), st.integers(0, 200)),
            st.sampled_from(["U4", "T1", "P2", "Q"]),
        ),
        max_size=12,
    )
)
def test_loaded_episodes_never_overlap(episodes):
    """Whatever the file holds, one child's loaded episodes never overlap one another."""
    start = pd.Timestamp("2024-04-01")
    header = ",".join(COLUMNS["episodes"])
    lines = [header]
    for child, begin, length, place in episodes:
        first = start + pd.Timedelta(days=begin)
        end = "" if length is None else f"{first + pd.Timedelta(days=length):%d/%m/%Y}"
        reason = "" if length is None else "X1"
        lines.append(f"{child},{first:%d/%m/%Y},S,C2,N1,{place},,{end},{reason},,,,")
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "episodes.csv", "\n".join(lines) + "\n")
        result = read_ssda903([path], collection_year=2025)
    loaded = result.tables["episodes"]
    count = result.counts["episodes"]
    assert len(loaded) == count.read - count.set_aside
    for _, group in loaded.sort_values(["child_id", "start_date"]).groupby("child_id"):
        ends = group["end_date"].fillna(pd.Timestamp.max).tolist()
        starts = group["start_date"].tolist()
        assert all(later >= end for end, later in zip(ends, starts[1:], strict=False))


# --- Speed -------------------------------------------------------------------------------------


def make_large_year(folder: Path, children=4000, episodes=10000, reviews=15000, seed=7) -> None:
    """A clean 2024-25 CSV set of a large authority (every child has at least one episode)."""
    rng = np.random.default_rng(seed)

    def days(dates):
        return pd.Series(dates).dt.strftime("%d/%m/%Y").fillna("").to_numpy()

    ids = np.array([f"C{n:06d}" for n in range(children)])
    dob = pd.Timestamp("2008-01-01") + pd.to_timedelta(rng.integers(0, 5000, children), unit="D")
    header = {
        "CHILD": ids,
        "SEX": rng.choice(["M", "F"], children),
        "DOB": days(dob),
        "ETHNIC": rng.choice(["WBRI", "BAFR", "MWBC"], children),
        "UPN": [f"A{n:012d}" for n in range(children)],
        "MOTHER": "",
        "MC_DOB": "",
    }
    pd.DataFrame(header).to_csv(folder / "header.csv", index=False)
    # Each child's time from 1 April is cut into consecutive 20-day episodes.
    extra = rng.integers(0, children, episodes - children)
    per_child = np.bincount(np.r_[np.arange(children), extra], minlength=children)
    owner = np.repeat(np.arange(children), per_child)
    order = np.concatenate([np.arange(n) for n in per_child])
    starts = pd.Timestamp("2024-04-01") + pd.to_timedelta(order * 20, unit="D")
    last = order == per_child[owner] - 1
    ends = pd.Series(starts + pd.Timedelta(days=20)).where(~last)
    rows = {
        "CHILD": ids[owner],
        "DECOM": days(starts),
        "RNE": np.where(order == 0, "S", "P"),
        "LS": "C2",
        "CIN": "N1",
        "PLACE": "U4",
        "PLACE_PROVIDER": "PR1",
        "DEC": days(ends),
        "REC": np.where(last, "", "X1"),
        "REASON_PLACE_CHANGE": np.where(last, "", "CARPL"),
        "HOME_POST": "AB1 2CD",
        "PL_POST": "ab12cd",
        "URN": "SC123456",
    }
    pd.DataFrame(rows).to_csv(folder / "episodes.csv", index=False)
    who = rng.integers(0, children, reviews)
    when = pd.Timestamp("2024-04-01") + pd.to_timedelta(np.arange(reviews) % 360, unit="D")
    review = {"CHILD": ids[who], "DOB": days(dob[who]), "REVIEW": days(when), "REVIEW_CODE": "PN1"}
    frame = pd.DataFrame(review).drop_duplicates(["CHILD", "REVIEW"])
    frame.to_csv(folder / "reviews.csv", index=False)


def test_a_large_authoritys_year_reads_in_well_under_two_seconds(tmp_path):
    make_large_year(tmp_path)
    paths = sorted(tmp_path.glob("*.csv"))
    timings = []
    for _ in range(2):
        # CPU time of this process, so tests running beside this one do not fail it.
        began = time.process_time()
        result = read_ssda903(paths, collection_year=2025)
        timings.append(time.process_time() - began)
    assert result.problems == []
    assert len(result.tables["episodes"]) == 10000
    assert len(result.tables["children"]) == 4000
    assert min(timings) < 2.0, timings


def test_year_is_found_in_the_folder_above_the_return(tmp_path):
    folder = tmp_path / "2024-25" / "ssda903"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "valid_2024_25" / "header.csv", folder / "header.csv")
    result = read_ssda903([folder / "header.csv"])
    assert result.collection_year == 2025 and result.problems == []


def test_store_tables_cover_every_903_table():
    assert set(STORE_TABLE.values()) == set(ALL_STORE_TABLES)
