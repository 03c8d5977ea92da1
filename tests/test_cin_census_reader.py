"""The CiN census XML reader: both sex shapes, pre-proceedings, every kind of problem with its
exact place, what is set aside with it, the collection year, hostile and broken files, and the
published sample files (which contain deliberate mistakes).

Fixtures are small hand-written files in tests/fixtures/cin/; each bad one holds a clean record
beside records that are wrong in one way each, so the tests can name exactly what loads.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.sources.cin_census import looks_like_cin_census, read_cin_census
from framework.sources.problems import ERROR, WARNING, ReadResult, UnreadableFile
from framework.store.schema import BOOL, DATE, INT, TABLES, tables_of

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cin"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # the project's shared reference folder, beside the repo
CIN_TABLES = ["children", *(table.name for table in tables_of("cin_census"))]


@pytest.fixture
def samples() -> Path:
    folder = SHARED / "spec" / "samples"
    if not folder.is_dir():
        pytest.skip("the shared sample files are not available")
    return folder


def read(name: str, **options) -> ReadResult:
    return read_cin_census(FIXTURES / name, **options)


def problems(result: ReadResult) -> list[tuple]:
    """Each problem as (severity, location, child, field, value), in the reader's order."""
    return [(p.severity, p.location, p.child, p.field, p.value) for p in result.problems]


def loaded(result: ReadResult, table: str) -> list[tuple]:
    """A table's rows as plain tuples: dates as 'YYYY-MM-DD', missing values as None."""
    return [
        tuple(_plain(value) for value in row)
        for row in result.tables[table].itertuples(index=False)
    ]


def _plain(value):
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value.item() if hasattr(value, "item") else value


def counts(result: ReadResult) -> dict[str, tuple[int, int]]:
    """(read, set aside) of the tables that had any records."""
    return {name: (c.read, c.set_aside) for name, c in result.counts.items() if c.read}


def ids(result: ReadResult) -> list[str]:
    return list(result.tables["children"]["child_id"])


# --- Valid files: every shape loads exactly ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "valid_2023-24_gendercurrent.xml",
        "valid_2024-25_sex.xml",
        "valid_2026-27_preproceedings.xml",
    ],
)
def test_valid_files_load_with_no_problems_and_the_schema_columns(name):
    result = read(name)
    assert result.problems == []
    assert sorted(result.tables) == sorted(CIN_TABLES)
    for table, frame in result.tables.items():
        assert list(frame.columns) == TABLES[table].reader_columns
        for column, kind in TABLES[table].types().items():
            dtype = str(frame[column].dtype)
            expected = {DATE: "datetime64[ns]", BOOL: "boolean", INT: "Int64"}.get(kind, "string")
            assert dtype.startswith(expected), (table, column, dtype)


def test_a_gendercurrent_return_loads_every_record():
    result = read("valid_2023-24_gendercurrent.xml")
    assert result.collection_year == 2024
    assert loaded(result, "children") == [
        (
            "GC001",
            "M",
            "2015-06-01",
            None,
            None,
            "WBRI",
            "A123456789012",
            "B12345678901C",
            None,
            None,
            None,
        ),
        ("GC002", "F", "2010-01-31", None, None, "MWBA", "C123456789012", None, None, None, None),
        ("GC003", "U", None, "2024-05-20", None, "NOBT", None, None, "UN1", None, None),
    ]
    assert loaded(result, "child_disabilities") == [("GC001", "HAND"), ("GC001", "VIS")]
    assert loaded(result, "referrals") == [
        ("GC001", "2023-05-10", "2A", "N1", "2024-02-20", "RC7", None, False),
        ("GC002", "2023-04-03", "6", None, "2023-04-20", "RC8", None, True),
        ("GC002", "2023-11-01", "3A", "N5", None, None, None, False),
        ("GC003", "2024-03-01", "3B", "N0", None, None, None, False),
    ]
    assert loaded(result, "assessments") == [
        ("GC001", "2023-05-10", "2023-05-11", "2023-05-25", "2023-06-15"),
        ("GC002", "2023-11-01", "2023-11-02", None, None),
    ]
    # 19A was retired only from 2024-25, so it is a plain valid code here.
    assert loaded(result, "assessment_factors") == [
        ("GC001", "2023-05-10", "2023-05-11", code) for code in ("3B", "16A", "19A")
    ]
    assert loaded(result, "cin_plans") == [
        ("GC001", "2023-05-10", "2023-06-20", "2023-07-01"),
        ("GC002", "2023-11-01", "2024-01-10", None),
    ]
    assert loaded(result, "s47_enquiries") == [
        ("GC001", "2023-05-10", "2023-06-25", "2023-07-14", "2023-07-03", False),
        ("GC003", "2024-03-01", "2024-03-04", "2024-04-03", None, True),
    ]
    assert loaded(result, "cp_plans") == [
        ("GC001", "2023-05-10", "2023-07-03", "2024-02-20", "NEG", "MUL", 1)
    ]
    # Every CPPreviewDate of every Reviews block.
    assert loaded(result, "cp_plan_reviews") == [
        ("GC001", "2023-07-03", day) for day in ("2023-09-28", "2023-12-20", "2024-02-15")
    ]
    assert loaded(result, "pre_proceedings") == []


def test_a_sex_return_loads_every_record():
    result = read("valid_2024-25_sex.xml")
    assert result.collection_year == 2025
    assert loaded(result, "children") == [
        (
            "SX001",
            "F",
            "2012-09-09",
            None,
            "2025-01-15",
            "BAFR",
            "D123456789012",
            None,
            None,
            None,
            None,
        ),
        ("SX002", "M", "2008-02-29", None, None, "AOTH", None, None, "UN2", None, None),
        ("SX003", "U", None, "2025-06-01", None, "REFU", None, None, None, None, None),
    ]
    assert loaded(result, "child_disabilities") == [
        ("SX001", "NONE"),
        ("SX002", "AUT"),
        ("SX002", "COMM"),
    ]
    assert loaded(result, "assessment_factors") == [
        ("SX001", "2024-04-15", "2024-04-16", "18B"),
        ("SX001", "2024-04-15", "2024-04-16", "24A"),
    ]
    # NumberOfPreviousCPP 0 is valid although the published schema says positiveInteger.
    assert loaded(result, "cp_plans") == [
        ("SX001", "2024-04-15", "2024-06-01", "2025-01-15", "PHY", "PHY", 0)
    ]


def test_pre_proceedings_load_from_2026_27():
    result = read("valid_2026-27_preproceedings.xml")
    assert result.collection_year == 2027
    assert loaded(result, "pre_proceedings") == [
        (
            "PP001",
            "2026-05-01",
            "2026-09-09",
            "2026-09-20",
            True,
            False,
            "2026-09-28",
            3,
            "2026-12-01",
            "A",
            "2026-12-18",
            "2027-02-05",
        ),
        ("PP001", "2026-05-01", "2027-03-01", None, True, None, None, None, None, None, None, None),
    ]
    assert loaded(result, "cp_plan_reviews") == [("PP001", "2026-06-01", "2026-08-24")]


def test_the_result_describes_the_file_and_counts_every_table():
    path = FIXTURES / "valid_2024-25_sex.xml"
    result = read_cin_census(path)
    assert result.source == "cin_census"
    assert result.fatal is None
    (source,) = result.files
    assert source.path == path
    assert source.kind == "cin_census_xml"
    assert source.size == path.stat().st_size
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(result.counts) == sorted(CIN_TABLES)
    assert counts(result) == {
        "children": (3, 0),
        "child_disabilities": (3, 0),
        "referrals": (3, 0),
        "assessments": (1, 0),
        "assessment_factors": (2, 0),
        "cp_plans": (1, 0),
    }
    assert result.notes == ["Collection year 2024-25 from the header's ReferenceDate 2025-03-31."]


# --- Child-level problems: the whole child is set aside -----------------------------------------


def test_bad_identifiers_set_aside_the_child_with_all_its_episodes():
    result = read("bad_child_identifiers.xml")
    assert ids(result) == ["OK001"]
    assert counts(result) == {"children": (11, 10), "referrals": (11, 10), "assessments": (11, 10)}
    assert problems(result) == [
        (ERROR, "line 30", None, "LAchildID", None),
        (ERROR, "line 53", "BAD02", "Sex", "1"),
        (ERROR, "line 68", "BAD03", "Sex", None),
        (ERROR, "line 86", "BAD04", "PersonBirthDate", None),
        (ERROR, "line 107", "BAD05", "PersonBirthDate", "2012-02-30"),
        (ERROR, "line 126", "BAD06", "PersonBirthDate", "2025-04-01"),
        (ERROR, "line 149", "BAD07", "Ethnicity", "WHIT"),
        (ERROR, "line 161", "BAD08", "Ethnicity", None),
        (ERROR, "line 184", "BAD09", "PersonDeathDate", "2011-12-31"),
        (ERROR, "line 202", "BAD10", "PersonBirthDate", "1979-12-31"),
    ]
    assert {p.file for p in result.problems} == {"bad_child_identifiers.xml"}
    expected = {p.child: p.expected for p in result.problems}
    assert expected["BAD02"] == "one of F, M, U"
    assert expected["BAD06"] == "a date on or before 2025-03-31, the census reference date"
    assert "ExpectedPersonBirthDate" in expected["BAD04"]


def test_every_copy_of_a_repeated_child_id_is_set_aside():
    result = read("duplicate_child.xml")
    assert ids(result) == ["OK001"]
    assert counts(result) == {"children": (3, 2), "referrals": (3, 2), "assessments": (3, 2)}
    assert problems(result) == [
        (ERROR, "line 13", "TWIN", "LAchildID", "TWIN"),
        (ERROR, "line 51", "TWIN", "LAchildID", "TWIN"),
    ]
    assert "every copy was set aside" in result.problems[0].expected


def test_identifier_warnings_load_the_child_and_blank_bad_upns():
    result = read("child_warnings.xml")
    assert ids(result) == ["W01", "THIS-ID-IS-FAR-TOO-LONG-01", "W03", "W04", "W05"]
    assert problems(result) == [
        (WARNING, "line 14", "W01", "UPN", "A12345678901"),
        (WARNING, "line 15", "W01", "FormerUPN", "1234567890123"),
        (
            WARNING,
            "line 34",
            "THIS-ID-IS-FAR-TOO-LONG-01",
            "LAchildID",
            "THIS-ID-IS-FAR-TOO-LONG-01",
        ),
        (WARNING, "line 54", "W03", "UPNunknown", "UN9"),
        (WARNING, "line 61", "W03", "Disability", "NONE"),
        (WARNING, "line 63", "W03", "Disability", "LD"),
        (ERROR, "line 64", "W03", "Disability", "XYZ"),
        (WARNING, "line 81", "W04", "Sex", "F"),
        (WARNING, "line 100", "W05", "ExpectedPersonBirthDate", "2012-01-02"),
        (WARNING, "line 102", "W05", "GenderCurrent", "1"),
        (WARNING, "line 102", "W05", "GenderCurrent", "1"),
    ]
    children = {row[0]: row for row in loaded(result, "children")}
    assert children["W01"][6:8] == (None, None)  # UPN and FormerUPN blanked
    assert children["W03"][8] is None  # UPNunknown blanked
    assert children["W05"][1] == "M"  # <Sex>m</Sex> wins over GenderCurrent
    # A bad disability code sets aside that row only; a repeat loads once.
    assert loaded(result, "child_disabilities") == [("W03", "NONE"), ("W03", "LD")]
    assert counts(result)["child_disabilities"] == (4, 2)


# --- Episode-level problems: the episode and what is nested in it ------------------------------


def test_bad_episode_fields_set_aside_the_episode_and_its_assessments():
    result = read("bad_referrals.xml")
    assert ids(result) == ["R01", "R02"]
    assert problems(result) == [
        (ERROR, "line 31", "R01", "CINreferralDate", None),
        (ERROR, "line 41", "R01", "ReferralSource", "99"),
        (ERROR, "line 48", "R01", "PrimaryNeedCode", None),
        (ERROR, "line 61", "R01", "ReasonForClosure", None),
        (ERROR, "line 75", "R01", "ReasonForClosure", "RC8"),
        (ERROR, "line 85", "R01", "CINclosureDate", "2024-05-10"),
        (WARNING, "line 106", "R02", "CINclosureDate", "2024-02-01"),
        (ERROR, "line 123", "R02", "CINreferralDate", "2024-05-01"),
        (ERROR, "line 138", "R02", "ReferralNFA", "maybe"),
        (ERROR, "line 140", "R02", "ReferralNFA", None),
        (ERROR, "line 151", "R02", "PrimaryNeedCode", "N10"),
        (ERROR, "line 158", "R02", "CINreferralDate", "2025-04-02"),
        (ERROR, "line 168", "R02", "ReasonForClosure", "RC10"),
    ]
    reason = result.problems[3].expected
    assert reason.startswith("one of RC1, RC2") and reason.endswith(
        "because CINclosureDate is given"
    )
    assert [row[:2] for row in loaded(result, "referrals")] == [
        ("R01", "2024-05-01"),
        ("R01", "2024-06-09"),  # no PrimaryNeedCode needed: ReferralNFA is true
        ("R02", "2023-01-10"),  # closed before the year began: a late correction, loaded
        ("R02", "2024-05-01"),  # the first of two with this date
    ]
    assert [row[:3] for row in loaded(result, "assessments")] == [
        ("R01", "2024-05-01", "2024-05-02"),
        ("R02", "2023-01-10", "2023-01-11"),
        ("R02", "2024-05-01", "2024-05-02"),
    ]
    assert counts(result) == {"children": (2, 0), "referrals": (16, 12), "assessments": (14, 11)}


def test_bad_assessments_and_factors_set_aside_the_smallest_record():
    result = read("bad_assessments.xml")
    assert problems(result) == [
        (ERROR, "line 33", "A01", "AssessmentActualStartDate", "2024-04-30"),
        (ERROR, "line 41", "A01", "AssessmentAuthorisationDate", "2024-05-01"),
        (ERROR, "line 51", "A01", "AssessmentFactors", "ZZ"),
        (ERROR, "line 52", "A01", "AssessmentFactors", "2B"),
        (WARNING, "line 53", "A01", "AssessmentFactors", "18A"),
        (ERROR, "line 54", "A01", "AssessmentFactors", None),
        (WARNING, "line 57", "A01", "AssessmentAuthorisationDate", None),
        (WARNING, "line 67", "A01", "AssessmentFactors", "21"),
        (ERROR, "line 72", "A01", "AssessmentActualStartDate", "2024-05-02"),
        (ERROR, "line 78", "A01", "AssessmentActualStartDate", None),
        (ERROR, "line 86", "A01", "AssessmentInternalReviewDate", "08/05/2024"),
    ]
    assert "18A was retired after 2023-24" in result.problems[4].expected
    assert [row[2] for row in loaded(result, "assessments")] == [
        "2024-05-02",
        "2024-05-04",
        "2024-05-05",
        "2024-05-06",
    ]
    assert [(row[2], row[3]) for row in loaded(result, "assessment_factors")] == [
        ("2024-05-02", "3B"),
        ("2024-05-02", "4B"),
        ("2024-05-04", "2B"),
        ("2024-05-04", "18A"),
        ("2024-05-05", "1A"),
        ("2024-05-06", "21"),
        ("2024-05-06", "3A"),
    ]
    assert counts(result)["assessment_factors"] == (14, 7)


def test_bad_plans_and_enquiries():
    result = read("bad_plans_s47.xml")
    assert problems(result) == [
        (ERROR, "line 29", "P01", "CINPlanStartDate", "2024-04-20"),
        (ERROR, "line 33", "P01", "CINPlanEndDate", "2024-05-15"),
        (ERROR, "line 36", "P01", "CINPlanStartDate", "2024-05-10"),
        (ERROR, "line 38", "P01", "CINPlanStartDate", None),
        (ERROR, "line 43", "P01", "CINPlanEndDate", "2025-04-10"),
        (ERROR, "line 52", "P01", "S47ActualStartDate", "2024-04-25"),
        (ERROR, "line 60", "P01", "DateOfInitialCPC", "2024-05-01"),
        (ERROR, "line 63", "P01", "ICPCnotRequired", None),
        (ERROR, "line 68", "P01", "ICPCnotRequired", "yes"),
    ]
    assert loaded(result, "cin_plans") == [("P01", "2024-05-01", "2024-05-10", "2024-06-10")]
    assert loaded(result, "s47_enquiries") == [
        ("P01", "2024-05-01", "2024-05-02", "2024-05-23", "2024-05-20", False),
        # A conference target may fall after 31 March.
        ("P01", "2024-05-01", "2025-03-25", "2025-04-15", None, False),
    ]


def test_bad_protection_plans_and_reviews():
    result = read("bad_cp_plans.xml")
    assert problems(result) == [
        (ERROR, "line 37", "C01", "InitialCategoryOfAbuse", None),
        (ERROR, "line 48", "C01", "LatestCategoryOfAbuse", "ABC"),
        (ERROR, "line 55", "C01", "NumberOfPreviousCPP", "-1"),
        (ERROR, "line 61", "C01", "NumberOfPreviousCPP", "two"),
        (ERROR, "line 63", "C01", "NumberOfPreviousCPP", None),
        (ERROR, "line 70", "C01", "CPPendDate", "2024-07-01"),
        (WARNING, "line 81", "C01", "CPPreviewDate", "2024-07-14"),
        (ERROR, "line 82", "C01", "CPPreviewDate", "2025-04-05"),
        (ERROR, "line 84", "C01", "CPPreviewDate", "2024-07-20"),
        (ERROR, "line 88", "C01", "CPPstartDate", "2024-05-10"),
        (ERROR, "line 94", "C01", "CPPstartDate", "2024-13-01"),
    ]
    assert [row[2] for row in loaded(result, "cp_plans")] == ["2024-05-10", "2024-07-15"]
    assert loaded(result, "cp_plan_reviews") == [
        ("C01", "2024-05-10", "2024-05-30"),
        ("C01", "2024-05-10", "2024-06-05"),
        ("C01", "2024-07-15", "2024-07-14"),  # before the plan began: a warning, loaded
        ("C01", "2024-07-15", "2024-07-20"),
    ]
    assert counts(result)["cp_plans"] == (10, 8)
    assert counts(result)["cp_plan_reviews"] == (7, 3)


# --- Checks across the records of one child ------------------------------------------------------


def test_checks_across_records_report_each_case_on_the_right_record():
    result = read("cross_record.xml")
    assert problems(result) == [
        (ERROR, "line 89", "X01", "CINreferralDate", "2024-07-01"),  # 8820
        (ERROR, "line 115", "X02", "CINclosureDate", None),  # 8815: the episode's own line
        (ERROR, "line 122", "X02", "CINreferralDate", "2024-09-01"),  # 8820, while open
        (ERROR, "line 154", "X03", "CPPstartDate", "2024-06-15"),  # 8935/8940
        (ERROR, "line 176", "X03", "CPPstartDate", "2024-10-01"),  # ... while open
        (ERROR, "line 200", "X04", "CPPstartDate", "2024-04-20"),  # 8720: before referral
        (ERROR, "line 207", "X04", "CPPstartDate", "2024-07-10"),  # 8720: after closure
        (WARNING, "line 228", "X05", "CINPlanEndDate", None),  # 4001: still open
        (WARNING, "line 232", "X05", "CINPlanStartDate", "2024-06-01"),  # 4003: began during
        (WARNING, "line 257", "X06", "DateOfInitialCPC", None),  # 8839
        (WARNING, "line 285", "X07", "DateOfInitialCPC", "2024-05-02"),  # 2884
    ]
    expected = [p.expected for p in result.problems]
    assert "earlier episode referred on 2024-04-10, which closed on 2024-08-01" in expected[0]
    assert "DfE rule 8820" in expected[0]
    assert "one referred later, on 2024-09-01 (DfE rule 8815)" in expected[1]
    assert "referred on 2024-04-10, which is still open" in expected[2]
    assert "plan started on 2024-05-01, which ended on 2024-07-01" in expected[3]
    assert "plan started on 2024-09-01, which is still open" in expected[4]
    assert "on or after its episode's CINreferralDate" in expected[5]
    assert "on or before its episode's CINclosureDate" in expected[6]
    assert "a CINPlanEndDate on or before 2024-05-01" in expected[7]
    assert "started on 2024-05-01, which is still open" in expected[8]
    assert "the one started on 2024-05-01 is open too (DfE rule 8839)" in expected[9]
    assert "section 47 enquiry started on 2024-04-15" in expected[10]
    assert all(p.file == "cross_record.xml" for p in result.problems)


def test_checks_across_records_set_aside_exactly_the_records_at_fault():
    result = read("cross_record.xml")
    assert ids(result) == [f"X0{n}" for n in range(8)]  # no child is set aside whole
    assert [row[:2] + row[4:5] for row in loaded(result, "referrals")] == [
        ("X00", "2024-04-02", None),  # an NFA referral without closure is not open
        ("X00", "2024-04-10", "2024-06-01"),
        ("X00", "2024-06-01", None),  # referred on the day the previous one closed
        ("X01", "2024-04-10", "2024-08-01"),
        ("X01", "2024-10-01", None),  # after both earlier episodes
        ("X03", "2024-04-10", "2024-08-15"),
        ("X03", "2024-08-20", None),
        ("X04", "2024-05-01", "2024-07-01"),
        ("X05", "2024-04-10", None),
        ("X06", "2024-04-10", None),
        ("X07", "2024-04-10", None),
    ]
    assert loaded(result, "assessments") == []  # nested in X01's overlapping episode
    assert [row[:4] for row in loaded(result, "cp_plans")] == [
        ("X00", "2024-04-10", "2024-05-01", "2024-05-31"),
        ("X00", "2024-06-01", "2024-06-10", None),
        ("X03", "2024-04-10", "2024-05-01", "2024-07-01"),
        ("X03", "2024-08-20", "2024-09-01", None),
        ("X05", "2024-04-10", "2024-05-01", None),
    ]
    assert loaded(result, "cp_plan_reviews") == []  # nested in X03's overlapping plan
    # Warnings load: both of X05's CIN plans, all of X06's enquiries, X07's conference date.
    assert [row[:3] for row in loaded(result, "cin_plans")] == [
        ("X00", "2024-04-10", "2024-04-20"),
        ("X05", "2024-04-10", "2024-04-20"),
        ("X05", "2024-04-10", "2024-06-01"),
    ]
    assert [(row[0], row[2], row[4], row[5]) for row in loaded(result, "s47_enquiries")] == [
        ("X00", "2024-04-25", "2024-05-01", False),
        ("X00", "2024-06-05", None, False),  # one open enquiry; the other needs no ICPC
        ("X00", "2024-06-07", None, True),
        ("X06", "2024-04-12", None, False),
        ("X06", "2024-05-01", None, False),
        ("X06", "2024-05-10", None, True),
        ("X07", "2024-04-15", "2024-05-02", False),
    ]
    referrals = result.tables["referrals"]
    assert referrals.loc[referrals["child_id"] == "X07", "initial_cpc_date"].notna().all()
    assert counts(result) == {
        "children": (8, 0),
        "referrals": (14, 3),
        "assessments": (1, 1),
        "cin_plans": (3, 0),
        "s47_enquiries": (7, 0),
        "cp_plans": (9, 4),
        "cp_plan_reviews": (1, 1),
    }


def test_records_already_set_aside_are_not_compared_again(tmp_path):
    """An episode set aside for its own error neither overlaps nor is overlapped."""
    text = (FIXTURES / "cross_record.xml").read_text()
    path = tmp_path / "cross_2024-25.xml"
    # X01's first episode gets a bad source: it is set aside, so the second one now loads.
    path.write_text(
        text.replace(
            "<CINreferralDate>2024-04-10</CINreferralDate>\n        <ReferralSource>6",
            "<CINreferralDate>2024-04-10</CINreferralDate>\n        <ReferralSource>ZZ",
            2,  # X00's second episode and X01's first
        )
    )
    result = read_cin_census(path)
    found = [row for row in problems(result) if row[2] in ("X00", "X01")]
    assert [row[2:] for row in found] == [
        ("X00", "ReferralSource", "ZZ"),
        ("X01", "ReferralSource", "ZZ"),
    ]
    assert [row[:2] for row in loaded(result, "referrals") if row[0] in ("X00", "X01")] == [
        ("X00", "2024-04-02"),
        ("X00", "2024-06-01"),
        ("X01", "2024-07-01"),
        ("X01", "2024-10-01"),
    ]


# --- Oddities that load ---------------------------------------------------------------------------


def test_stray_text_comments_unknown_and_repeated_elements_are_tolerated():
    result = read("quirks_2024-25.xml")
    assert problems(result) == [
        (WARNING, "line 18", "Q001", "PersonSchoolYear", "8"),  # one warning for 2 occurrences
        (WARNING, "line 27", "Q001", "ReferralSource", "6"),
        (WARNING, "line 29", "Q001", "Notes", "called twice"),
        (WARNING, "line 37", "Q002", "CINdetails", None),
    ]
    assert "ignored (2 times in this file)" in result.problems[0].expected
    # Values are stripped; codes upper-cased; booleans in any case.
    assert loaded(result, "children")[0][:2] == ("Q001", "F")
    assert loaded(result, "children")[0][5] == "WBRI"
    assert loaded(result, "children")[0][8] == "UN4"
    assert loaded(result, "referrals") == [
        ("Q001", "2024-04-02", "5D", "N2", None, None, None, False)
    ]
    assert loaded(result, "s47_enquiries") == [
        ("Q001", "2024-04-02", "2024-04-03", None, None, True)
    ]


def test_a_layout_from_another_year_warns_once_per_file():
    result = read("shape_gendercurrent_2024-25.xml")
    assert problems(result) == [(WARNING, "line 15", "G001", "GenderCurrent", "1")]
    assert "[2 times in this file]" in result.problems[0].expected
    assert [row[:2] for row in loaded(result, "children")] == [("G001", "M"), ("G002", "U")]


def test_pre_proceedings_in_an_earlier_year_warn_once_and_load():
    result = read("valid_2026-27_preproceedings.xml", collection_year=2026)
    shape = [p for p in result.problems if p.rule == "shape"]
    assert [(p.location, p.child, p.field) for p in shape] == [("line 36", "PP001", "PPStartDate")]
    assert "no PreProceedingsandFGDM blocks before 2026-27" in shape[0].expected


# --- The collection year --------------------------------------------------------------------------


def test_the_reference_date_decides_when_the_header_year_disagrees():
    result = read("header_year_mismatch.xml")
    assert result.collection_year == 2024
    assert problems(result) == [(WARNING, "line 6", None, "Year", "2023")]
    assert "DfE rule 100" in result.problems[0].expected
    assert result.notes == [
        "Collection year 2023-24 from the header's ReferenceDate 2024-03-31 (its Year says 2023)."
    ]


def test_a_year_given_when_loading_wins_over_the_header_with_a_warning():
    result = read("header_year_mismatch.xml", collection_year=2025)
    assert result.collection_year == 2025
    assert (WARNING, "line 7", None, "ReferenceDate", "2024-03-31") in problems(result)
    warning = next(p for p in result.problems if p.field == "ReferenceDate")
    assert "2024-25" in warning.expected and "2023-24" in warning.expected
    assert "Collection year 2024-25 as given when loading, not 2023-24 as the header says." in (
        result.notes
    )


def test_a_file_without_a_header_takes_the_year_given_or_the_one_in_its_name(tmp_path):
    assert read("no_header.xml", collection_year=2025).collection_year == 2025
    renamed = tmp_path / "cin_census_2024-25.xml"
    shutil.copy(FIXTURES / "no_header.xml", renamed)
    result = read_cin_census(renamed)
    assert result.collection_year == 2025
    assert result.problems == []
    assert "from the file name" in result.notes[0]
    with pytest.raises(UnreadableFile, match="--year"):
        read("no_header.xml")


def test_a_reference_date_that_is_not_31_march_warns_and_its_year_is_used(tmp_path):
    text = (FIXTURES / "valid_2024-25_sex.xml").read_text()
    path = tmp_path / "odd.xml"
    path.write_text(text.replace("2025-03-31", "2024-07-21"))
    result = read_cin_census(path)
    assert result.collection_year == 2025  # 21 July 2024 falls in 2024-25, as Year says
    assert problems(result) == [(WARNING, "line 7", None, "ReferenceDate", "2024-07-21")]
    assert "2025-03-31" in result.problems[0].expected


# --- Files that cannot be read at all ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("doctype_entity_expansion.xml", "document type"),
        ("external_entity.xml", "document type"),
        ("truncated.xml", "not well formed at line 25"),
        ("empty.xml", "empty"),
        ("wrong_root.xml", "root element <EXPSSDA903>"),
        ("not_xml.xml", "not XML"),
        ("workforce_message.xml", "CSWW"),
        ("no_children.xml", "no <Child> records"),
    ],
)
def test_unreadable_files_raise_with_a_plain_reason(name, reason):
    with pytest.raises(UnreadableFile) as raised:
        read(name)
    assert raised.value.file == name
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    ("name", "recognised"),
    [
        ("valid_2023-24_gendercurrent.xml", True),
        ("no_header.xml", True),
        ("truncated.xml", True),  # recognised; reading it then explains what is wrong
        ("workforce_message.xml", False),
        ("wrong_root.xml", False),
        ("empty.xml", False),
        ("not_xml.xml", False),
        ("doctype_entity_expansion.xml", False),
        ("external_entity.xml", False),
    ],
)
def test_looks_like_cin_census(name, recognised):
    assert looks_like_cin_census(FIXTURES / name) is recognised


READABLE = sorted(
    path.name
    for path in FIXTURES.glob("*.xml")
    if path.name.startswith(
        ("valid", "bad", "child", "cross", "duplicate", "header", "quirks", "shape")
    )
)


def _check_invariants(result: ReadResult, file: str) -> None:
    for name, count in result.counts.items():
        assert count.read == len(result.tables[name]) + count.set_aside, name
    lines = [int(p.location.removeprefix("line ")) for p in result.problems]
    assert lines == sorted(lines)
    assert {p.file for p in result.problems} <= {file}
    loaded_ids = set(ids(result))
    for table in result.tables.values():
        assert set(table["child_id"]) <= loaded_ids


@pytest.mark.parametrize("name", READABLE)
def test_every_fixture_counts_add_up_and_problems_are_in_file_order(name):
    _check_invariants(read(name), name)


# --- The published samples (deliberate mistakes) -------------------------------------------------


def test_d2i_2024_sample(samples):
    result = read_cin_census(samples / "cin" / "d2i_CIN_Census_2024.xml")
    assert result.collection_year == 2024
    found = problems(result)
    assert (WARNING, "line 5", None, "Year", "2023") in found
    assert (ERROR, "line 25", "DfEX0000001", "Sex", "1") in found
    assert (ERROR, "line 46", "DfEX0000001", "AssessmentFactors", "RB") in found
    assert "DfEX0000001" not in ids(result)
    assert ids(result) == ["child_fails_assessments"]
    # Its only episode was referred after the census reference date.
    assert (ERROR, "line 87", "child_fails_assessments", "CINreferralDate", "2024-10-24") in found


def test_d2i_2026_sample_reads_pre_proceedings_and_ignores_stray_text(samples):
    result = read_cin_census(samples / "cin" / "d2i_CIN_Census_2026.xml")
    assert result.counts["pre_proceedings"].read == 1
    assert not [p for p in result.problems if p.rule == "unknown"]
    fields = {p.field for p in result.problems if p.table == "PreProceedingsandFGDM"}
    assert fields >= {"PPStartDate", "LetterInitCPDate"}  # dates after 2024-03-31


def test_liiatools_2022_sample_reports_implausibly_early_dates(samples):
    result = read_cin_census(samples / "cin" / "liiatools_cin-2022.xml")
    assert result.collection_year == 2022
    assert (ERROR, "line 24", "DfEX0000001", "PersonBirthDate", "1966-03-24") in problems(result)
    assert ids(result) == []


def test_every_cin_sample_reads_consistently(samples):
    paths = [
        *sorted((samples / "cin").glob("*.xml")),
        samples / "d2i_full_return" / "cin" / "fake_CIN_data.xml",
    ]
    assert len(paths) == 4
    for path in paths:
        assert looks_like_cin_census(path)
        _check_invariants(read_cin_census(path), path.name)


def test_other_returns_are_not_taken_for_a_cin_census(samples):
    assert not looks_like_cin_census(samples / "d2i_full_return" / "ssda903" / "fake_903.xml")
    csww = next((samples / "csww").glob("*.xml"))
    assert not looks_like_cin_census(csww)
    with pytest.raises(UnreadableFile, match="CSWW"):
        read_cin_census(csww)


def test_d2i_full_fake_census(samples):
    result = read_cin_census(samples / "d2i_full_return" / "cin" / "fake_CIN_data.xml")
    assert result.counts["children"].read == 332
    assert result.counts["referrals"].read == 402
    assert (WARNING, "line 6", None, "ReferenceDate", "2022-07-21") in problems(result)
    children = result.tables["children"].set_index("child_id")
    assert children.loc["RND000824303014", "sex"] == "U"  # GenderCurrent 9
    assert children.loc["RND000215205141", "sex"] == "M"  # GenderCurrent 1
    assert set(children["sex"]) <= {"M", "F", "U"}


# --- Properties --------------------------------------------------------------------------------

children_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "sex": st.sampled_from(["M", "F", "U", "1", "", "x"]),
            "dob": st.sampled_from(["2012-05-01", "2012-02-30", "", "2026-01-01", "1970-01-01"]),
            "ethnicity": st.sampled_from(["WBRI", "aoth", "BAD", ""]),
            "episodes": st.lists(
                st.fixed_dictionaries(
                    {
                        "referral": st.sampled_from(["2024-05-01", "2024-06-01", "2024-13-01", ""]),
                        "source": st.sampled_from(["6", "1a", "ZZ"]),
                        "closure": st.sampled_from(["", "2024-08-01", "2024-04-15"]),
                        "reason": st.sampled_from(["", "RC7", "RC0"]),
                        "nfa": st.sampled_from(["true", "0", "perhaps"]),
                        "factors": st.lists(st.sampled_from(["3B", "21", "18A", "ZZ"]), max_size=3),
                    }
                ),
                max_size=3,
            ),
        }
    ),
    min_size=1,
    max_size=6,
)


def _census(children: list[dict]) -> str:
    def leaf(tag: str, value: str) -> str:
        return f"<{tag}>{value}</{tag}>" if value else ""

    parts = [
        "<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2025</Year>"
        "<ReferenceDate>2025-03-31</ReferenceDate></CollectionDetails></Header><Children>"
    ]
    for number, child in enumerate(children):
        parts.append(
            f"<Child><ChildIdentifiers><LAchildID>H{number}</LAchildID>"
            f"{leaf('PersonBirthDate', child['dob'])}{leaf('Sex', child['sex'])}"
            f"</ChildIdentifiers><ChildCharacteristics>{leaf('Ethnicity', child['ethnicity'])}"
            "</ChildCharacteristics>"
        )
        for episode in child["episodes"]:
            factors = "".join(leaf("AssessmentFactors", code) for code in episode["factors"])
            parts.append(
                f"<CINdetails>{leaf('CINreferralDate', episode['referral'])}"
                f"{leaf('ReferralSource', episode['source'])}<PrimaryNeedCode>N1</PrimaryNeedCode>"
                f"{leaf('CINclosureDate', episode['closure'])}"
                f"{leaf('ReasonForClosure', episode['reason'])}"
                "<Assessments><AssessmentActualStartDate>2024-07-01</AssessmentActualStartDate>"
                "<AssessmentAuthorisationDate>2024-07-20</AssessmentAuthorisationDate>"
                f"<FactorsIdentifiedAtAssessment>{factors}</FactorsIdentifiedAtAssessment>"
                f"</Assessments>{leaf('ReferralNFA', episode['nfa'])}</CINdetails>"
            )
        parts.append("</Child>")
    parts.append("</Children></Message>")
    return "".join(parts)


@settings(max_examples=40, deadline=None)
@given(children_strategy)
def test_every_record_either_loads_or_is_reported_never_both(children):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "census.xml"
        path.write_text(_census(children))
        result = read_cin_census(path)
    for name, count in result.counts.items():
        assert count.read == len(result.tables[name]) + count.set_aside, name
    everyone = {f"H{number}" for number in range(len(children))}
    loaded_ids = set(ids(result))
    reported = {p.child for p in result.errors if p.table == "Child"}
    assert loaded_ids | reported == everyone
    assert not loaded_ids & reported
    for table in result.tables.values():
        assert set(table["child_id"]) <= loaded_ids
    assert all(p.location.startswith("line ") for p in result.problems)
