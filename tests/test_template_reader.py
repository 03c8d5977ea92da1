"""The generic reader of local-data templates (templates.toml): good and bad files for every
template, whole-file problems, XLSX workbooks (filled, hostile, damaged) and the load pipeline.

Fixtures are hand-written in tests/fixtures/templates/{good,bad}/<template>.csv, one per
template; every expected value and problem below was worked out by hand from those files
("row N" is the N-th data row after the header). The tests after "bugs found and fixed" each
reproduce a reader or loader bug found while writing these tests (now fixed).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import math
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Font

from framework import load as load_module
from framework.load import load_files, recognise
from framework.sources import templates as reader
from framework.sources.problems import ERROR, WARNING, UnreadableFile
from framework.sources.template_defs import TEMPLATES
from framework.sources.templates import identify_template, read_template
from framework.store import store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "templates"
GOOD, BAD = FIXTURES / "good", FIXTURES / "bad"
BLANKS = REPO / "templates"
KEY = b"a test key that is long enough"  # the conftest pseudonymiser's key
E, W = ERROR, WARNING
D = date

ALL = [
    "staff_survey",
    "survey_invitations",
    "organisation_facts",
    "workforce_staff",
    "workforce_posts",
    "caseloads",
    "multi_agency_meetings",
    "child_survey",
    "parent_survey",
    "worker_allocations",
    "planning_meetings",
    "complaints",
    "case_reviews",
    "sdq",
    "education_attendance",
    "education_results",
    "health_needs",
    "case_audits",
    "permanence_plans",
    "commissioned_services",
    "finance",
]


# --- helpers ----------------------------------------------------------------------------------


def plain(value):
    """A table cell as a plain Python value: dates as date, missing as None."""
    if isinstance(value, str | list):
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")
    ]


def found(result) -> list[tuple]:
    return sorted((p.location, p.field, p.value, p.severity, p.rule) for p in result.problems)


def counts(result) -> tuple[int, int, int]:
    (count,) = result.counts.values()
    return count.read, count.set_aside, len(result.tables[result.source])


@functools.cache
def read_fixture(kind: str, name: str):
    """Each fixture is read once per test session (reads are the slow part of these tests)."""
    return read_template(FIXTURES / kind / f"{name}.csv")


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def pseudonym(identifier: str, kind: str = "child") -> str:
    """The keyed hash the loader must store, computed here independently of framework.privacy."""
    message = f"{kind}\x1f{identifier.strip().upper()}".encode()
    return hmac.new(KEY, message, hashlib.sha256).hexdigest()[:20]


def query(path: Path, sql: str) -> list[tuple]:
    con = store.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(path: Path) -> dict:
    con = store.connect(path, read_only=True)
    try:
        return store.snapshot(con)
    finally:
        con.close()


def data_tables(snap: dict) -> dict:
    return {name: rows for name, rows in snap.items() if name in TEMPLATES}


# --- 1. good files ------------------------------------------------------------------------------

# Hand-worked rows (1 = first data row of the good file). Wide survey files list some columns.
GOOD_ROWS: dict[str, dict[int, dict]] = {
    "staff_survey": {
        1: {
            "survey": "Staff survey 2025",
            "respondent_id": "1001",
            "response_date": D(2025, 1, 14),
            "level": "social_worker",
            "team": "Northmere CIN",
            "a1_1_council_committed": 4,
            "a1_3_leaders_in_touch": 2,
            "a4_4_supports": "information_sharing;co_location",
            "a4_4_undermines": "it_systems",
            "a5_2_case_system": 2,
            "a8_5_workload": 2,
            "a9_3b_department_skill_mix": 3,
        },
        2: {
            "respondent_id": "1002",
            "response_date": D(2025, 1, 15),  # 15/01/2025
            "level": "team_manager",  # by its label
            "team": None,
            "a1_1_council_committed": 5,  # Strongly agree
            "a1_2_clear_priorities": 4,  # Agree
            "a1_3_leaders_in_touch": 3,  # Neither agree nor disagree
            "a4_3_multi_agency_effective": 2,  # Disagree
            "a4_4_supports": None,
            # label and code, put in the code list's order
            "a4_4_undermines": "partner_turnover;it_systems",
            "a5_2_case_system": 1,
            "a8_5_workload": 1,
        },
        3: {
            "level": "other",
            "a1_2_clear_priorities": None,
            "a1_3_leaders_in_touch": None,
            "a6_1_apply_framework": None,
            "a4_4_supports": None,
            "a4_4_undermines": None,
            "a8_2_valued": 2,
        },
        4: {
            "level": "senior_leader",  # SENIOR_LEADER
            "a1_3_leaders_in_touch": 4,
            "a4_4_supports": "information_sharing;shared_priorities;leadership",
            "a4_4_undermines": "partner_capacity",
        },
    },
    "survey_invitations": {
        1: {
            "survey": "Staff survey 2025",
            "year": 2025,
            "audience": "staff",
            "segment": "social_worker",
            "age_band": None,
            "team": "Northmere CIN",
            "invited": 42,
        },
        2: {"audience": "staff", "segment": "team_manager", "invited": 6},
        3: {
            "survey": "Child survey 2025",
            "year": 2025,  # 2024/25
            "audience": "child",
            "segment": "cla",
            "age_band": "10-15",  # 10 to 15
            "team": None,
            "invited": 38,
        },
        5: {
            "survey": "Parent survey 2025",
            "year": 2025,  # 2024-2025
            "audience": "parent",  # Parent and carer survey
            "segment": "cin",
            "age_band": "under_1",  # Under 1
            "invited": 17,
        },
    },
    "organisation_facts": {
        1: {
            "year": 2023,
            "values_statement": True,
            "values_describe_operation": False,
            "practice_framework": False,
            "practice_framework_name": None,
            "notes": "Values statement drafted in 2022",
        },
        2: {"year": 2024, "values_describe_operation": True, "notes": None},
        3: {
            "year": 2025,
            "values_statement": True,  # Y
            "values_describe_operation": True,  # y
            "practice_framework": True,  # TRUE
            "practice_framework_name": "Signs of Safety, with systemic supervision",
            "notes": "Framework refreshed in autumn 2024",
        },
    },
    "workforce_staff": {
        1: {
            "worker_id": "SW0000900001",
            "year": 2025,
            "level": "social_worker",
            "team": "Northmere CIN",
            "start_date": D(2019, 9, 2),
            "leave_date": None,
            "fte": 1.0,
            "agency": False,
            "qualified_social_worker": True,
            "sickness_days": 4.5,
        },
        2: {
            "worker_id": "SW0000900002",
            "level": "social_worker",
            "start_date": D(2024, 6, 1),
            "leave_date": D(2025, 1, 31),
            "fte": 0.8,
            "agency": True,
            "sickness_days": None,
        },
        3: {"worker_id": "HR0000452", "qualified_social_worker": False, "sickness_days": 12.0},
        4: {"worker_id": "SW0000900001", "year": 2024, "fte": 1.0, "sickness_days": 2.0},
    },
    "workforce_posts": {
        1: {
            "year": 2025,
            "level": "social_worker",
            "team": "Northmere CIN",
            "established_fte": 12.5,
        },
        3: {"year": 2025, "level": "senior_leader", "team": "Directorate", "established_fte": 4.0},
        4: {
            "year": 2026,
            "level": "social_worker",
            "team": "Northmere CIN",
            "established_fte": 13.0,
        },
    },
    "caseloads": {
        2: {
            "worker_id": "SW0000900001",
            "snapshot_date": D(2025, 2, 28),
            "team": "Northmere CIN",
            "children_allocated": 17,
        },
        3: {
            "worker_id": "SW0000900002",
            "snapshot_date": D(2025, 1, 31),
            "team": None,
            "children_allocated": 0,
        },
    },
    "multi_agency_meetings": {
        1: {
            "meeting_id": "MAM-2024-031",
            "meeting_date": D(2024, 10, 8),
            "level": "strategic",
            "meeting_type": "Safeguarding partnership board",
            "agencies_expected": "police;health_commissioner;education",
            "agencies_attended": "police;education",
        },
        2: {
            "meeting_date": D(2024, 11, 12),
            "level": "operational",
            "agencies_expected": "police;health_provider",
            "agencies_attended": "police",
        },
        3: {"agencies_expected": "police;housing;voluntary", "agencies_attended": None},
        4: {
            "level": "operational",
            "meeting_type": None,
            "agencies_expected": "police;education",
            "agencies_attended": "police;education",
        },
    },
    "child_survey": {
        1: {
            "survey": "Child survey 2025",
            "respondent_id": "C-0001",
            "response_date": D(2025, 2, 3),
            "child_group": "cla",  # the header says "Group" (an alias)
            "age_band": "10-15",
            "c1_2_trust": 5,
            "d13_2_aspirations": 5,
        },
        2: {
            "respondent_id": "C-0002",
            "response_date": D(2025, 2, 4),
            "child_group": "cp",
            "age_band": "5-9",
            "c1_2_trust": 5,
            "c1_2_support": 4,
            "c1_2_empowerment": None,
            "c1_3_open_honest": 4,
            "c3_1_needs": None,
            "d2_3_safe_community": 2,
            "d12_4_activities": 5,
            "d13_2_aspirations": None,
        },
        3: {
            "child_group": "care_leaver",
            "age_band": "18+",
            "c1_2_empowerment": 2,
            "d1_9_safe_home": None,
            "d12_3_school": None,
            "d12_4_activities": 4,
        },
        4: {"child_group": "cin", "age_band": "16-17", "d5_6_permanence": None, "d12_3_school": 3},
    },
    "parent_survey": {
        1: {
            "survey": "Parent survey 2025",
            "respondent_id": "P-0001",
            "response_date": D(2025, 2, 5),
            "child_group": "cp",
            "age_band": "1-4",
            "relationship": "parent",
            "c2_1_relationship": 2,
            "c2_2_open_honest": 3,
            "c4_1_needs": 2,
            "c4_1_support": 2,
            "c6_1_other_services": 3,
            "d5_7_permanence": None,
            "d5_9_contact_clear": None,
            "d5_9_wishes": None,
            "d9_3_identity": 3,
            "d9_3_hopes": 4,
        },
        2: {
            "survey": "Parent survey 2025",
            "respondent_id": "P-0002",
            "response_date": D(2025, 2, 6),
            "child_group": "cla",
            "age_band": "10-15",
            "relationship": "carer",
            "c2_1_relationship": 5,
            "c2_2_open_honest": 4,
            "c4_1_needs": 4,
            "c4_1_support": 4,
            "c6_1_other_services": 5,
            "d5_7_permanence": 4,
            "d5_9_contact_clear": 4,
            "d5_9_wishes": 3,
            "d9_3_identity": 4,
            "d9_3_hopes": 5,
        },
        3: {"relationship": "other_family", "c4_1_support": 4, "c6_1_other_services": None},
    },
    "worker_allocations": {
        1: {
            "child_id": "DMT0000001",
            "worker_id": "SW0000900001",
            "team": "Northmere CIN",
            "start_date": D(2024, 4, 15),
            "end_date": D(2024, 11, 30),
            "end_reason": "worker_moved",
        },
        2: {
            "child_id": "DMT0000001",
            "worker_id": "SW0000900002",
            "team": "Northmere CIN",
            "start_date": D(2024, 12, 1),
            "end_date": None,
            "end_reason": None,
        },
        3: {"end_date": D(2025, 1, 10), "end_reason": "case_closed"},
    },
    "planning_meetings": {
        1: {
            "child_id": "DMT0000001",
            "meeting_date": D(2024, 6, 12),
            "meeting_type": "cin_review",
            "child_participation": "attended",
            "parent_invited": True,
            "parent_attended": True,
        },
        2: {
            "child_id": "DMT0000002",
            "meeting_date": D(2024, 9, 3),
            "meeting_type": "initial_cp_conference",
            "child_participation": "views_conveyed",
            "parent_invited": True,
            "parent_attended": False,
        },
        3: {"meeting_type": "core_group", "parent_invited": True, "parent_attended": None},
        4: {
            "child_id": "DMT0000004",
            "child_participation": "not_applicable",
            "parent_invited": None,
            "parent_attended": None,
        },
    },
    "complaints": {
        1: {
            "complaint_id": "CMP-24-001",
            "received_date": D(2024, 5, 13),
            "complainant": "parent_carer",
            "stage": "1",
            "outcome": "not_upheld",
            "repeat": False,
            "child_id": "DMT0000001",
        },
        2: {"complaint_id": "CMP-24-014", "received_date": D(2025, 3, 31), "complainant": "child"},
        3: {
            "complaint_id": "CMP-25-001",
            "received_date": D(2025, 4, 1),
            "complainant": "parent_carer",  # Parent or carer
            "stage": "1",  # Stage 1: local resolution
            "outcome": "partly_upheld",
            "repeat": True,
            "child_id": None,
        },
        4: {"stage": None, "outcome": "open", "repeat": False},
    },
    "case_reviews": {
        2: {
            "child_id": "DMT0000002",
            "review_date": D(2024, 10, 15),
            "plan_type": "cp",
            "domestic_abuse": True,
            "parental_mental_health": True,
            "parental_substance_misuse": None,
            "sexual_exploitation": False,
            "criminal_exploitation": False,
            "trafficking": False,
            "missing": False,
            "self_harm": False,
            "substance_misuse": False,
            "youth_justice": False,
            "feels_safe": None,
        },
        3: {
            "child_id": "DMT0000003",
            "review_date": D(2025, 1, 8),
            "plan_type": "cla",
            "domestic_abuse": False,
            "parental_mental_health": False,
            "parental_substance_misuse": False,
            "sexual_exploitation": False,  # n
            "criminal_exploitation": True,  # Y
            "trafficking": False,
            "missing": True,
            "self_harm": True,  # header "Self Harm"
            "substance_misuse": False,
            "youth_justice": True,
            "feels_safe": False,
        },
    },
    "sdq": {
        1: {
            "child_id": "DMT0000003",
            "sdq_date": D(2024, 6, 20),
            "informant": "carer",
            "total": 17,
            "emotional": 5,
            "conduct": 4,
            "hyperactivity": 6,
            "peer": 2,
            "prosocial": 7,
        },
        3: {
            "child_id": "DMT0000005",
            "sdq_date": D(2025, 1, 15),
            "informant": "self",
            "total": 22,
            "emotional": None,
            "conduct": None,
            "hyperactivity": None,
            "peer": None,
            "prosocial": 6,
        },
        4: {"informant": "carer", "total": 19, "peer": 3, "prosocial": None},
    },
    "education_attendance": {
        1: {
            "child_id": "DMT0000003",
            "upn": "A801234500003",
            "academic_year": 2025,
            "term": "autumn",
            "sessions_possible": 142,
            "sessions_authorised": 6,
            "sessions_unauthorised": 4,
            "suspensions": 1,
            "permanent_exclusion": False,
            "school_changes": 0,
            "early_education": None,
            "term_date": D(2024, 11, 1),
        },
        2: {"term": "spring", "school_changes": 1, "term_date": D(2025, 2, 15)},
        3: {"child_id": None, "upn": "A801234500006", "term_date": D(2024, 11, 1)},
        4: {
            "child_id": "DMT0000007",
            "upn": None,
            "academic_year": 2025,  # 2024-25
            "term": "summer",
            "sessions_possible": None,
            "permanent_exclusion": None,
            "early_education": True,
            "term_date": D(2025, 6, 1),
        },
    },
    "education_results": {
        1: {
            "child_id": "DMT0000003",
            "upn": "A801234500003",
            "academic_year": 2024,
            "key_stage": "ks2",
            "attainment": 101.0,
            "progress": -0.8,
            "met_expected": True,
        },
        2: {"key_stage": "ks4", "attainment": 38.5, "progress": -1.25, "met_expected": False},
        3: {"child_id": None, "upn": "A801234500009", "academic_year": 2025, "key_stage": "ks4"},
        4: {"key_stage": "ks1", "attainment": None, "progress": None, "met_expected": False},
    },
    "health_needs": {
        1: {
            "child_id": "DMT0000003",
            "record_date": D(2024, 8, 14),
            "mental_health_need": True,
            "support": "camhs",
            "need_met": True,
        },
        2: {"record_date": D(2024, 12, 2), "support": "waiting", "need_met": False},
        3: {"mental_health_need": False, "support": None, "need_met": None},
    },
    "case_audits": {
        2: {
            "audit_id": "AUD-2024-019",
            "child_id": "DMT0000002",
            "audit_date": D(2024, 11, 21),
            "plan_type": "cp",
            "team": "Northmere CIN",
            "plan_updated_6m": False,
            "drift": True,
            "needs_met_at_home": False,
            "grade": "requires_improvement",
        },
        3: {"plan_type": "cla", "needs_met_at_home": None, "grade": "outstanding"},
    },
    "permanence_plans": {
        1: {
            "child_id": "DMT0000003",
            "looked_after_date": D(2023, 6, 19),
            "plan_date": D(2023, 11, 2),
            "plan_type": "long_term_fostering",
        },
        2: {
            "child_id": "DMT0000009",
            "looked_after_date": D(2024, 2, 14),
            "plan_date": D(2024, 9, 3),
            "plan_type": "special_guardianship",
        },
        3: {"looked_after_date": D(2024, 5, 30), "plan_date": D(2024, 5, 30)},
    },
    "commissioned_services": {
        1: {
            "child_id": "DMT0000001",
            "service": "Family Futures",
            "provider": "Northmere Family Trust",
            "service_type": "neglect",
            "start_date": D(2024, 5, 1),
            "end_date": D(2024, 10, 31),
            "clothed_before": False,
            "clothed_after": True,
            "breakfast_before": False,
            "breakfast_after": True,
            "sleep_before": True,
            "sleep_after": True,
            "tool_name": "Graded Care Profile 2",
            "tool_score_before": 4.2,
            "tool_score_after": 2.6,
            "tool_lower_is_better": True,
        },
        2: {
            "provider": "Harbour Women's Aid",
            "service_type": "domestic_abuse",
            "start_date": D(2024, 6, 3),
            "end_date": None,
            "clothed_before": None,
            "tool_name": None,
            "tool_score_before": None,
            "tool_lower_is_better": None,
        },
        3: {
            "end_date": D(2025, 3, 17),
            "tool_name": "Home conditions scale",
            "tool_score_before": 38.0,
            "tool_score_after": 61.0,
            "tool_lower_is_better": False,
        },
    },
    "finance": {
        1: {"year": 2025, "category": "looked_after", "basis": "outturn", "spend_gbp": 48250000.0},
        2: {"category": "safeguarding", "spend_gbp": 21500000.0},
        3: {"category": "family_support", "basis": "budget", "spend_gbp": 6400000.5},
        4: {"year": 2026, "basis": "budget", "spend_gbp": 51000000.0},
    },
}

GOOD_COUNTS = {
    "staff_survey": 4,
    "survey_invitations": 5,
    "organisation_facts": 3,
    "workforce_staff": 4,
    "workforce_posts": 4,
    "caseloads": 4,
    "multi_agency_meetings": 4,
    "child_survey": 4,
    "parent_survey": 3,
    "worker_allocations": 4,
    "planning_meetings": 4,
    "complaints": 4,
    "case_reviews": 3,
    "sdq": 4,
    "education_attendance": 4,
    "education_results": 4,
    "health_needs": 3,
    "case_audits": 3,
    "permanence_plans": 3,
    "commissioned_services": 3,
    "finance": 4,
}


def test_there_is_a_good_and_a_bad_file_for_every_template():
    assert sorted(ALL) == sorted(TEMPLATES)
    assert sorted(p.stem for p in GOOD.glob("*.csv")) == sorted(ALL)
    assert sorted(p.stem for p in BAD.glob("*.csv")) == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_a_good_file_is_recognised_and_reads_exactly(name):
    path = GOOD / f"{name}.csv"
    assert identify_template(path) == name
    result = read_fixture("good", name)  # recognised again by read_template itself
    assert result.source == name
    assert result.problems == []
    assert result.notes == []
    assert counts(result) == (GOOD_COUNTS[name], 0, GOOD_COUNTS[name])
    table = result.tables[name]
    assert list(table.columns) == [c.name for c in TEMPLATES[name].columns]
    rows = records(table)
    for number, expected in GOOD_ROWS[name].items():
        got = rows[number - 1]
        assert {k: got[k] for k in expected} == expected, f"{name} row {number}"
    assert [(f.name, f.kind) for f in result.files] == [(f"{name}.csv", f"{name}_csv")]


def test_a_byte_order_mark_and_windows_line_ends_are_read():
    # finance.csv was saved as Excel's "CSV UTF-8": a BOM and CRLF line ends.
    assert (GOOD / "finance.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert b"\r\n" in (GOOD / "finance.csv").read_bytes()
    assert reader.read_header(GOOD / "finance.csv") == ["year", "category", "basis", "spend_gbp"]


def test_headers_are_compared_ignoring_case_spaces_and_hyphens(tmp_path):
    path = write(
        tmp_path,
        "caseload.csv",
        " Worker-ID , SNAPSHOT DATE,Team,Children  Allocated\nSW0000900001,2025-01-31,T,3\n",
    )
    assert identify_template(path) == "caseloads"
    assert records(read_template(path).tables["caseloads"]) == [
        {
            "worker_id": "SW0000900001",
            "snapshot_date": D(2025, 1, 31),
            "team": "T",
            "children_allocated": 3,
        }
    ]


def test_columns_not_in_the_template_are_ignored_and_named(tmp_path):
    path = write(
        tmp_path,
        "extra.csv",
        "worker_id,snapshot_date,children_allocated,Worker Name\nSW0000900001,2025-01-31,3,Ann\n",
    )
    result = read_template(path)
    assert result.problems == []
    assert result.notes == ["extra.csv: column(s) not in the template, ignored: ['worker_name']"]
    assert "Ann" not in repr(records(result.tables["caseloads"]))


# --- 2. bad files -------------------------------------------------------------------------------

BAD_PROBLEMS: dict[str, list[tuple]] = {
    "staff_survey": [
        ("row 1", "a1_1_council_committed", "6", E, "code"),
        ("row 2", "response_date", "2025-02-30", E, "date"),
        ("row 3", "response_date", "2099-01-14", E, "date"),
        ("row 4", "respondent_id", "", E, "required"),
        ("row 4", "level", "Manager", E, "code"),
        ("row 4", "a1_1_council_committed", "Mostly agree", E, "code"),
        ("row 4", "a4_4_supports", "teamwork;police", E, "code"),
        ("row 5", "respondent_id", "2005", E, "duplicate"),
        ("row 6", "respondent_id", "2005", E, "duplicate"),
        ("row 8", "respondent_id", "2007", W, "duplicate"),
        ("row 9", "survey", "", E, "required"),
    ],
    "survey_invitations": [
        ("row 2", "segment", "cin", E, "code"),
        ("row 3", "segment", "team_manager", E, "code"),
        ("row 4", "year", "2024-26", E, "code"),
        ("row 5", "year", "2098-99", E, "code"),
        ("row 6", "audience", "pupils", E, "code"),
        ("row 7", "age_band", "11-15", E, "code"),
        ("row 8", "invited", "-3", E, "code"),
        ("row 9", "invited", "100001", E, "code"),
        ("row 10", "invited", "", E, "required"),
        ("row 11", "team", "", E, "duplicate"),
        ("row 12", "team", "", E, "duplicate"),
        ("row 14", "team", "", W, "duplicate"),
        ("row 15", "invited", "12.5", E, "code"),
        ("row 16", "age_band", "10-15", E, "order"),  # staff have no age band
        ("row 17", "team", "Northmere CIN", E, "order"),  # children have no team
    ],
    "organisation_facts": [
        ("row 1", "values_describe_operation", "yes", E, "order"),
        ("row 2", "values_statement", "maybe", E, "code"),
        ("row 3", "practice_framework", "", E, "required"),
        ("row 5", "year", "2021-22", W, "duplicate"),
        ("row 6", "year", "2019-20", E, "duplicate"),
        ("row 7", "year", "2019-20", E, "duplicate"),
        ("row 9", "year", "2098-99", E, "code"),
        ("row 10", "practice_framework_name", "Signs of Safety", W, "order"),  # no framework
    ],
    "workforce_staff": [
        ("row 2", "leave_date", "2024-05-31", E, "order"),
        ("row 3", "start_date", "2025-04-07", E, "order"),
        ("row 4", "leave_date", "2024-03-29", E, "order"),
        ("row 5", "team", "", E, "required"),
        ("row 5", "fte", "1.2", E, "code"),
        ("row 5", "qualified_social_worker", "maybe", E, "code"),
        ("row 5", "sickness_days", "400", E, "code"),
        ("row 6", "level", "agency manager", E, "code"),
        ("row 6", "start_date", "2021-13-01", E, "date"),
        ("row 6", "fte", "0", E, "code"),
        ("row 7", "start_date", "2099-01-01", E, "date"),
        ("row 8", "worker_id", "", E, "required"),
        ("row 9", "year", "2024-25", E, "duplicate"),
        ("row 10", "year", "2024-25", E, "duplicate"),
        ("row 11", "year", "2024-25", W, "duplicate"),
    ],
    "workforce_posts": [
        ("row 2", "team", "", E, "required"),
        ("row 3", "established_fte", "-1", E, "code"),
        ("row 4", "established_fte", "ten", E, "code"),
        ("row 5", "level", "practitioner", E, "code"),
        ("row 6", "team", "Southmere CLA", E, "duplicate"),
        ("row 7", "team", "Southmere CLA", E, "duplicate"),
        ("row 8", "established_fte", "10001", E, "code"),
        ("row 10", "team", "Directorate", W, "duplicate"),
        ("row 11", "year", "", E, "required"),
    ],
    "caseloads": [
        ("row 2", "snapshot_date", "2025-01-32", E, "date"),
        ("row 3", "snapshot_date", "2099-12-31", E, "date"),
        ("row 4", "children_allocated", "201", E, "code"),
        ("row 5", "children_allocated", "", E, "required"),
        ("row 6", "children_allocated", "twelve", E, "code"),
        ("row 7", "snapshot_date", "2025-01-31", E, "duplicate"),
        ("row 8", "snapshot_date", "31/01/2025", E, "duplicate"),
        ("row 9", "snapshot_date", "31/01/2025", W, "duplicate"),
        ("row 10", "worker_id", "", E, "required"),
        ("row 11", "snapshot_date", "1979-06-30", E, "date"),
    ],
    "multi_agency_meetings": [
        ("row 2", "agencies_attended", "police;housing", W, "code"),
        ("row 3", "level", "tactical", E, "code"),
        ("row 4", "agencies_expected", "", E, "required"),
        ("row 5", "agencies_expected", "police;social services", E, "code"),
        ("row 6", "meeting_date", "2024-11-31", E, "date"),
        ("row 7", "agencies_attended", "police;CAMHS", E, "code"),
        ("row 8", "meeting_id", "MAM-2024-060", E, "duplicate"),
        ("row 9", "meeting_id", "MAM-2024-060", E, "duplicate"),
        ("row 11", "meeting_id", "MAM-2024-061", W, "duplicate"),
        ("row 12", "meeting_id", "", E, "required"),
    ],
    "child_survey": [
        ("row 2", "child_group", "looked after", E, "code"),
        ("row 3", "age_band", "", E, "required"),
        ("row 4", "c1_2_trust", "0", E, "code"),
        ("row 5", "response_date", "03/02/2099", E, "date"),
        ("row 5", "d13_2_aspirations", "Yes", E, "code"),
        ("row 6", "response_date", "29/02/2025", E, "date"),
        ("row 7", "respondent_id", "C-0107", E, "duplicate"),
        ("row 8", "respondent_id", "C-0107", E, "duplicate"),
        ("row 10", "respondent_id", "C-0109", W, "duplicate"),
        ("row 11", "c1_2_trust", "4.0", E, "code"),
    ],
    "parent_survey": [
        ("row 2", "relationship", "grandparent", E, "code"),
        ("row 3", "response_date", "", E, "required"),
        ("row 4", "age_band", "0-1", E, "code"),
        ("row 5", "child_group", "", E, "required"),
        ("row 6", "d9_3_hopes", "Agree strongly", E, "code"),
        ("row 7", "response_date", "2025-06-31", E, "date"),
        ("row 8", "respondent_id", "P-0108", E, "duplicate"),
        ("row 9", "respondent_id", "P-0108", E, "duplicate"),
        ("row 11", "respondent_id", "P-0110", W, "duplicate"),
        ("row 12", "response_date", "2099-02-07", E, "date"),
        ("row 13", "relationship", "", E, "required"),
    ],
    "worker_allocations": [
        ("row 2", "end_date", "2024-08-31", E, "order"),
        ("row 3", "end_reason", "retired", E, "code"),
        ("row 4", "worker_id", "", E, "required"),
        ("row 5", "child_id", "", E, "required"),
        ("row 6", "team", "", E, "required"),
        ("row 7", "start_date", "2099-07-01", E, "date"),
        ("row 8", "start_date", "2024-02-30", E, "date"),
        ("row 9", "start_date", "2024-12-01", E, "duplicate"),
        ("row 10", "start_date", "01/12/2024", E, "duplicate"),
        ("row 12", "start_date", "2024-12-02", W, "duplicate"),
    ],
    "planning_meetings": [
        ("row 2", "parent_attended", "yes", W, "order"),
        ("row 3", "meeting_type", "strategy", E, "code"),
        ("row 4", "child_participation", "", E, "required"),
        ("row 5", "parent_invited", "perhaps", E, "code"),
        ("row 6", "meeting_date", "2024-09-31", E, "date"),
        ("row 7", "meeting_date", "2099-09-06", E, "date"),
        ("row 8", "meeting_type", "cla_review", E, "duplicate"),
        ("row 9", "meeting_type", "Looked-after review", E, "duplicate"),
        ("row 11", "meeting_type", "cla_review", W, "duplicate"),
    ],
    "complaints": [
        ("row 2", "complainant", "mother", E, "code"),
        ("row 3", "stage", "4", E, "code"),
        ("row 4", "outcome", "", E, "required"),
        ("row 5", "repeat", "", E, "required"),
        ("row 6", "received_date", "31/04/2024", E, "date"),
        ("row 7", "received_date", "01/01/2099", E, "date"),
        ("row 8", "complaint_id", "CMP-24-008", E, "duplicate"),
        ("row 9", "complaint_id", "CMP-24-008", E, "duplicate"),
        ("row 11", "complaint_id", "CMP-24-010", W, "duplicate"),
        ("row 12", "complaint_id", "", E, "required"),
    ],
    "case_reviews": [
        ("row 2", "plan_type", "early_help", E, "code"),
        ("row 3", "domestic_abuse", "sometimes", E, "code"),
        ("row 3", "feels_safe", "2", E, "code"),
        ("row 4", "review_date", "", E, "required"),
        ("row 5", "review_date", "2024-02-30", E, "date"),
        ("row 6", "review_date", "2099-01-01", E, "date"),
        ("row 7", "review_date", "2024-08-01", E, "duplicate"),
        ("row 8", "review_date", "2024-08-01", E, "duplicate"),
        ("row 10", "review_date", "02/08/2024", W, "duplicate"),
    ],
    "sdq": [
        ("row 2", "total", "18", E, "sum"),
        ("row 3", "total", "41", E, "code"),
        ("row 3", "peer", "11", E, "code"),
        ("row 4", "informant", "parent", E, "code"),
        ("row 5", "total", "", E, "required"),
        ("row 6", "prosocial", "-1", E, "code"),
        ("row 7", "total", "8.5", E, "code"),
        ("row 8", "sdq_date", "2099-06-20", E, "date"),
        ("row 9", "informant", "teacher", E, "duplicate"),
        ("row 10", "informant", "Teacher", E, "duplicate"),
        ("row 12", "informant", "The young person (11 to 17)", W, "duplicate"),
    ],
    "education_attendance": [
        ("row 2", "child_id", "", E, "required"),  # neither child_id nor upn
        ("row 3", "sessions_authorised", "101", E, "order"),  # more than possible
        ("row 3", "sessions_unauthorised", "0", E, "order"),  # 101 + 0 > 100
        ("row 4", "sessions_unauthorised", "120", E, "order"),  # more than possible
        ("row 4", "sessions_unauthorised", "120", E, "order"),  # 10 + 120 > 100
        ("row 5", "sessions_unauthorised", "50", E, "order"),  # 60 + 50 > 100
        ("row 6", "term", "winter", E, "code"),
        ("row 7", "academic_year", "2024/26", E, "code"),
        ("row 8", "sessions_possible", "201", E, "code"),
        ("row 8", "suspensions", "61", E, "code"),
        ("row 8", "school_changes", "11", E, "code"),
        ("row 9", "permanent_exclusion", "expelled", E, "code"),
        ("row 9", "early_education", "maybe", E, "code"),
        ("row 10", "term", "spring", E, "duplicate"),
        ("row 11", "term", "Spring term (January to Easter)", E, "duplicate"),
        ("row 13", "term", "Summer", W, "duplicate"),
        ("row 14", "academic_year", "", E, "required"),
        ("row 14", "child_id", "", E, "required"),
    ],
    "education_results": [
        ("row 2", "child_id", "", E, "required"),
        ("row 3", "key_stage", "ks3", E, "code"),
        ("row 4", "attainment", "250", E, "code"),
        ("row 5", "progress", "-10.5", E, "code"),
        ("row 6", "met_expected", "passed", E, "code"),
        ("row 7", "academic_year", "2098/99", E, "code"),
        ("row 8", "academic_year", "", E, "required"),
        ("row 9", "key_stage", "ks4", E, "duplicate"),
        ("row 10", "key_stage", "Key stage 4", E, "duplicate"),
        ("row 12", "key_stage", "KS2", W, "duplicate"),
    ],
    "health_needs": [
        ("row 2", "mental_health_need", "", E, "required"),
        ("row 3", "support", "counselling", E, "code"),
        ("row 4", "need_met", "partly", E, "code"),
        ("row 5", "record_date", "14/13/2024", E, "date"),
        ("row 6", "record_date", "2099-08-17", E, "date"),
        ("row 7", "child_id", "", E, "required"),
        ("row 8", "record_date", "2024-09-01", E, "duplicate"),
        ("row 9", "record_date", "2024-09-01", E, "duplicate"),
        ("row 11", "record_date", "02/09/2024", W, "duplicate"),
        ("row 12", "support", "camhs", E, "order"),  # support without a need
        ("row 13", "need_met", "no", E, "order"),  # need met without a need
    ],
    "case_audits": [
        ("row 2", "child_id", "", E, "required"),
        ("row 3", "grade", "excellent", E, "code"),
        ("row 4", "plan_type", "foster", E, "code"),
        ("row 5", "audit_date", "2024-09-31", E, "date"),
        ("row 6", "audit_date", "2099-09-18", E, "date"),
        ("row 7", "plan_updated_6m", "unknown", E, "code"),
        ("row 8", "audit_id", "AUD-2024-020", E, "duplicate"),
        ("row 9", "audit_id", "AUD-2024-020", E, "duplicate"),
        ("row 11", "audit_id", "AUD-2024-021", W, "duplicate"),
    ],
    "permanence_plans": [
        ("row 2", "plan_date", "2024-04-30", E, "order"),
        ("row 3", "plan_type", "kinship", E, "code"),
        ("row 4", "looked_after_date", "", E, "required"),
        ("row 5", "plan_date", "2099-09-01", E, "date"),
        ("row 6", "looked_after_date", "30/02/2024", E, "date"),
        ("row 7", "plan_date", "2024-07-15", E, "duplicate"),
        ("row 8", "plan_date", "15/07/2024", E, "duplicate"),
        ("row 10", "plan_date", "2023-09-01", W, "duplicate"),
    ],
    "commissioned_services": [
        ("row 2", "end_date", "2024-04-30", E, "order"),
        ("row 3", "tool_score_before", "4", E, "required"),  # no tool_name
        ("row 4", "tool_score_after", "3", E, "required"),  # no tool_lower_is_better
        ("row 5", "service_type", "respite", E, "code"),
        ("row 6", "provider", "", E, "required"),
        ("row 7", "clothed_before", "sometimes", E, "code"),
        ("row 7", "tool_score_before", "101", E, "code"),
        ("row 8", "start_date", "2099-05-01", E, "date"),
        ("row 9", "end_date", "2024-06-31", E, "date"),
        ("row 10", "start_date", "2024-06-03", E, "duplicate"),
        ("row 11", "start_date", "2024-06-03", E, "duplicate"),
        ("row 13", "start_date", "04/06/2024", W, "duplicate"),
    ],
    "finance": [
        ("row 2", "category", "Looked after children", E, "code"),
        ("row 3", "basis", "forecast", E, "code"),
        ("row 4", "spend_gbp", "-5", E, "code"),
        ("row 5", "spend_gbp", "", E, "required"),
        ("row 6", "spend_gbp", "£1200000", E, "code"),
        ("row 7", "spend_gbp", "10000000001", E, "code"),
        ("row 8", "basis", "outturn", E, "duplicate"),
        ("row 9", "basis", "Outturn", E, "duplicate"),
        ("row 11", "basis", "Budget", W, "duplicate"),
        ("row 12", "year", "2098-99", E, "code"),
    ],
}

# (rows read, rows set aside, rows loaded): an exact repeat counts as set aside (loaded once).
BAD_COUNTS = {
    "staff_survey": (10, 8, 2),
    "survey_invitations": (17, 15, 2),
    "organisation_facts": (10, 7, 3),
    "workforce_staff": (12, 10, 2),
    "workforce_posts": (11, 9, 2),
    "caseloads": (12, 10, 2),
    "multi_agency_meetings": (12, 9, 3),
    "child_survey": (11, 9, 2),
    "parent_survey": (13, 11, 2),
    "worker_allocations": (12, 10, 2),
    "planning_meetings": (11, 8, 3),
    "complaints": (12, 10, 2),
    "case_reviews": (10, 8, 2),
    "sdq": (12, 10, 2),
    "education_attendance": (14, 12, 2),
    "education_results": (12, 10, 2),
    "health_needs": (13, 11, 2),
    "case_audits": (11, 9, 2),
    "permanence_plans": (10, 8, 2),
    "commissioned_services": (13, 11, 2),
    "finance": (12, 10, 2),
}

# The rows that load, named by one of their columns.
BAD_LOADED = {
    "staff_survey": ("respondent_id", ["2007", "2010"]),
    "survey_invitations": ("invited", [42, 4]),
    "organisation_facts": ("year", [2022, 2025, 2021]),
    "workforce_staff": ("worker_id", ["SW0000900001", "SW0000900012"]),
    "workforce_posts": ("established_fte", [12.5, 3.0]),
    "caseloads": ("children_allocated", [18, 0]),
    "multi_agency_meetings": ("meeting_id", ["MAM-2024-031", "MAM-2024-047", "MAM-2024-061"]),
    "child_survey": ("respondent_id", ["C-0101", "C-0109"]),
    "parent_survey": ("respondent_id", ["P-0101", "P-0110"]),
    "worker_allocations": ("child_id", ["DMT0000001", "DMT0000009"]),
    "planning_meetings": ("child_id", ["DMT0000001", "DMT0000002", "DMT0000009"]),
    "complaints": ("complaint_id", ["CMP-24-001", "CMP-24-010"]),
    "case_reviews": ("child_id", ["DMT0000001", "DMT0000008"]),
    "sdq": ("child_id", ["DMT0000003", "DMT0000012"]),
    "education_attendance": ("child_id", ["DMT0000003", "DMT0000012"]),
    "education_results": ("child_id", ["DMT0000003", "DMT0000011"]),
    "health_needs": ("child_id", ["DMT0000003", "DMT0000010"]),
    "case_audits": ("audit_id", ["AUD-2024-011", "AUD-2024-021"]),
    "permanence_plans": ("child_id", ["DMT0000003", "DMT0000010"]),
    "commissioned_services": ("child_id", ["DMT0000001", "DMT0000011"]),
    "finance": ("spend_gbp", [48250000.0, 6400000.0]),
}


@pytest.mark.parametrize("name", ALL)
def test_a_bad_file_reports_exactly_its_mistakes(name):
    path = BAD / f"{name}.csv"
    assert identify_template(path) == name
    result = read_fixture("bad", name)
    assert found(result) == sorted(BAD_PROBLEMS[name])
    assert counts(result) == BAD_COUNTS[name]
    column, values = BAD_LOADED[name]
    assert [row[column] for row in records(result.tables[name])] == values
    for problem in result.problems:
        assert problem.file == f"{name}.csv"
        assert problem.table == name
        assert problem.expected


def test_every_cross_column_rule_is_broken_by_some_bad_file():
    """Each rule of templates.toml has a hand-written case above (its field and rule name)."""
    rule_field = {
        "order": lambda s: s["later"],
        "at_most": lambda s: s["column"],
        "sum_at_most": lambda s: s["parts"][-1],
        "sum": lambda s: s["total"],
        "one_of": lambda s: s["columns"][0],
        "subset": lambda s: s["column"],
        "implies": lambda s: s["column"],
        "requires": lambda s: s["column"],
        "code_in": lambda s: s["column"],
        "in_year_or_before": lambda s: s["column"],
        "in_year_or_after": lambda s: s["column"],
        "only_when": lambda s: s["column"],
    }
    rule_name = {"sum": "sum", "one_of": "required", "subset": "code", "code_in": "code"}
    rule_name |= {"requires": "required"}
    for template in TEMPLATES.values():
        for rule in template.rules:
            field = rule_field[rule.kind](rule.settings)
            severity = E if rule.severity == "error" else W
            wanted = (field, severity, rule_name.get(rule.kind, "order"))
            assert any(p[1:2] + p[3:] == wanted for p in BAD_PROBLEMS[template.name]), (
                template.name,
                rule.kind,
            )


def test_problems_name_the_child_or_worker_and_say_what_was_expected():
    complaints = read_fixture("bad", "complaints")
    clash = next(p for p in complaints.problems if p.location == "row 8")
    assert clash.child == "DMT0000002"
    assert clash.expected == (
        "one row per complaint_id (another row has the same, with different values)"
    )
    code = next(p for p in complaints.problems if p.location == "row 2")
    assert code.expected == "one of child, parent_carer, other"
    assert code.message() == (
        "[set aside] complaints.csv, row 2: complainant = 'mother': expected one of child, "
        "parent_carer, other"
    )
    repeat = next(p for p in complaints.problems if p.location == "row 11")
    assert repeat.message().startswith("[warning] complaints.csv, row 11: complaint_id = ")
    meetings = read_fixture("bad", "multi_agency_meetings")
    subset = next(p for p in meetings.problems if p.location == "row 2")
    assert subset.expected == (
        "agencies attended to be among those expected (an unexpected agency is not counted)"
    )
    staff = read_fixture("bad", "workforce_staff")
    started_late = next(p for p in staff.problems if p.location == "row 3")
    assert started_late.expected == "a start date on or before the end of the row's year"
    assert started_late.child == "SW0000900003"
    dates = read_fixture("bad", "caseloads")
    future = next(p for p in dates.problems if p.location == "row 3")
    assert future.expected == "a date from 1980 and not in the future"


def test_a_warning_row_loads_with_its_values():
    meetings = records(read_fixture("bad", "multi_agency_meetings").tables["multi_agency_meetings"])
    assert meetings[1]["agencies_attended"] == "police;housing"
    planning = records(read_fixture("bad", "planning_meetings").tables["planning_meetings"])
    assert (planning[1]["parent_invited"], planning[1]["parent_attended"]) == (False, True)


# --- bugs found and fixed ----------------------------------------------------------------------

MEETINGS = "child_id,meeting_date,meeting_type,child_participation,parent_invited,parent_attended\n"


def test_implies_flags_a_yes_when_the_required_column_is_blank(tmp_path):
    path = write(
        tmp_path, "meetings.csv", MEETINGS + "DMT0000010,2024-10-03,core_group,attended,,yes\n"
    )
    result = read_template(path)
    assert found(result) == [("row 1", "parent_attended", "yes", W, "order")]


def test_two_headers_with_one_normalised_name_are_refused_clearly(tmp_path):
    path = write(
        tmp_path,
        "twice.csv",
        "survey,respondent_id,response_date,level,Response Date\n"
        "Staff survey 2025,1,2025-01-14,other,2025-01-14\n",
    )
    with contextlib.suppress(UnreadableFile):
        read_template(path)


def test_a_column_and_its_alias_together_are_refused_clearly(tmp_path):
    path = write(
        tmp_path,
        "both.csv",
        "survey,respondent_id,response_date,child_group,group,age_band\n"
        "Child survey 2025,1,2025-02-03,cin,cin,5-9\n",
    )
    with contextlib.suppress(UnreadableFile):
        read_template(path)


COMPLAINTS = "complaint_id,received_date,complainant,stage,outcome,repeat,child_id\n"


def test_locations_count_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "gap.csv",
        COMPLAINTS
        + "CMP-1,2024-05-01,child,1,upheld,no,\n\nCMP-2,2024-05-02,mother,1,upheld,no,\n",
    )
    assert found(read_template(path)) == [("row 3", "complainant", "mother", E, "code")]


def test_empty_trailing_rows_of_a_csv_are_ignored(tmp_path):
    path = write(
        tmp_path, "trail.csv", COMPLAINTS + "CMP-1,2024-05-01,child,1,upheld,no,\n,,,,,,\n"
    )
    result = read_template(path)
    assert result.problems == []
    assert counts(result) == (1, 0, 1)


def test_integer_columns_accept_thousands_separators_like_numbers(tmp_path):
    path = write(
        tmp_path,
        "invited.csv",
        "survey,year,audience,segment,age_band,team,invited\n"
        'Staff survey 2025,2024-25,staff,social_worker,,Northmere CIN,"1,200"\n',
    )
    result = read_template(path)
    assert result.problems == []
    assert records(result.tables["survey_invitations"])[0]["invited"] == 1200


def test_a_segment_code_is_accepted_in_any_case(tmp_path):
    path = write(
        tmp_path,
        "segment.csv",
        "survey,year,audience,segment,age_band,team,invited\n"
        "Child survey 2025,2024-25,child,CP,5-9,,25\n",
    )
    result = read_template(path)
    assert result.problems == []
    assert records(result.tables["survey_invitations"])[0]["segment"] == "cp"


def test_a_problem_about_a_worker_says_worker():
    result = read_fixture("bad", "caseloads")
    problem = next(p for p in result.problems if p.location == "row 4")
    assert "worker SW0000900002" in problem.message()


def test_a_decimal_comma_is_not_read_as_a_thousands_separator(tmp_path):
    path = write(
        tmp_path,
        "staff.csv",
        "worker_id,year,level,team,start_date,leave_date,fte,agency,qualified_social_worker,"
        "sickness_days\n"
        'SW0000900001,2024-25,social_worker,Northmere CIN,2019-09-02,,1,no,yes,"4,5"\n',
    )
    result = read_template(path)
    assert found(result) == [("row 1", "sickness_days", "4,5", E, "code")]


def test_an_excel_date_time_cell_reads_as_its_date(tmp_path):
    book = openpyxl.load_workbook(BLANKS / "staff_survey.xlsx")
    book["data"].append(["Staff survey 2025", 1001, datetime(2025, 1, 14, 10, 32), "other"])
    path = tmp_path / "responses.xlsx"
    book.save(path)
    result = read_template(path)
    assert result.problems == []
    assert records(result.tables["staff_survey"])[0]["response_date"] == D(2025, 1, 14)


# --- 3. whole-file problems ---------------------------------------------------------------------


def test_an_empty_file_is_unreadable(tmp_path):
    path = write(tmp_path, "empty.csv", "")
    assert identify_template(path) is None
    with pytest.raises(UnreadableFile, match="the file is empty"):
        read_template(path, "complaints")
    with pytest.raises(UnreadableFile, match="the file is empty"):
        recognise(path)


def test_a_header_only_file_reads_as_zero_rows(tmp_path):
    path = write(tmp_path, "header.csv", COMPLAINTS)
    assert identify_template(path) == "complaints"
    result = read_template(path)
    assert result.problems == []
    assert counts(result) == (0, 0, 0)
    assert list(result.tables["complaints"].columns) == [
        "complaint_id",
        "received_date",
        "complainant",
        "stage",
        "outcome",
        "repeat",
        "child_id",
    ]


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(tmp_path):
    text = (
        COMPLAINTS + "CMP-1,2024-05-01,child,1,upheld,no,\nCMP-2,2024-05-02,child,1,upheld,no,Zoë\n"
    )
    path = write(tmp_path, "latin.csv", text.encode("cp1252"))
    assert identify_template(path) == "complaints"  # the header itself is plain ASCII
    with pytest.raises(UnreadableFile) as error:
        read_template(path)
    assert error.value.file == "latin.csv"
    assert error.value.reason == "the file is not UTF-8 text; save it as CSV UTF-8"


def test_a_csv_with_no_template_column_is_unreadable_and_explained(
    tmp_path, store_path, pseudonymiser
):
    path = write(tmp_path / "in", "budget.csv", "cost_centre,amount\nCC01,1200\n")
    with pytest.raises(UnreadableFile, match="not a template layout"):
        read_template(path)
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "nothing loaded"
    (problem,) = outcome.unreadable
    assert problem.file == "budget.csv"
    assert "not a CSV layout this version reads" in problem.reason
    assert problem.reason.endswith("; no template column found")
    assert not store_path.exists()


def test_a_csv_missing_a_required_column_names_the_closest_template(
    tmp_path, store_path, pseudonymiser
):
    path = write(
        tmp_path / "in",
        "complaints_2025.csv",
        "complaint_id,received_date,complainant,stage,child_id\nCMP-1,2024-05-01,child,1,\n",
    )
    assert identify_template(path) is None
    with pytest.raises(UnreadableFile) as error:
        read_template(path, "complaints")
    assert error.value.reason == "the Complaints template needs column(s) ['outcome', 'repeat']"
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    (problem,) = outcome.unreadable
    assert problem.reason.endswith("Complaints template, missing column(s) outcome, repeat")
    assert not store_path.exists()


# --- XLSX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", sorted(p.name for p in BLANKS.glob("*.xlsx")))
def test_a_blank_workbook_is_recognised_with_no_rows(blank):
    path = BLANKS / blank
    name = Path(blank).stem
    assert identify_template(path) == name
    assert recognise(path) == name
    result = read_template(path)
    assert result.problems == [] and result.notes == []
    assert counts(result) == (0, 0, 0)
    assert result.files[0].kind == f"{name}_xlsx"


def test_the_blank_workbooks_are_those_of_the_hand_filled_templates():
    hand_filled = sorted(t.name for t in TEMPLATES.values() if t.hand_filled)
    assert sorted(p.stem for p in BLANKS.glob("*.xlsx")) == hand_filled
    assert len(hand_filled) == 11


def filled_complaints(tmp_path: Path) -> Path:
    """The blank complaints workbook filled as a person would in Excel."""
    book = openpyxl.load_workbook(BLANKS / "complaints.xlsx")
    sheet = book["data"]
    sheet.append(
        ["CMP-24-001", datetime(2024, 5, 13), "parent_carer", 1, "not_upheld", "no", "DMT0000001"]
    )  # row 2
    sheet.append(["CMP-25-001", datetime(2025, 4, 1), "Parent or carer", 2, "upheld", True])
    sheet.append([])  # row 4 left empty
    sheet.append(["CMP-25-003", datetime(2025, 4, 30), "child", 5, "open", "No"])  # row 5
    for row in range(6, 40):  # formatted but empty rows below the data
        sheet.cell(row=row, column=1).font = Font(bold=True)
        sheet.cell(row=row, column=3).value = ""
    path = tmp_path / "complaints 2025.xlsx"
    book.save(path)
    return path


def test_a_filled_workbook_reads_exactly_with_excel_row_numbers(tmp_path):
    path = filled_complaints(tmp_path)
    assert identify_template(path) == "complaints"
    result = read_template(path)
    assert found(result) == [("row 5", "stage", "5", E, "code")]
    assert counts(result) == (3, 1, 2)  # rows 2, 3 and 5; the empty ones are not read
    assert records(result.tables["complaints"]) == [
        {
            "complaint_id": "CMP-24-001",
            "received_date": D(2024, 5, 13),
            "complainant": "parent_carer",
            "stage": "1",
            "outcome": "not_upheld",
            "repeat": False,
            "child_id": "DMT0000001",
        },
        {
            "complaint_id": "CMP-25-001",
            "received_date": D(2025, 4, 1),
            "complainant": "parent_carer",
            "stage": "2",
            "outcome": "upheld",
            "repeat": True,
            "child_id": None,
        },
    ]
    assert result.files[0].kind == "complaints_xlsx"


def test_a_filled_workbook_loads_through_the_pipeline(tmp_path, store_path, pseudonymiser):
    path = filled_complaints(tmp_path)
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "loaded", outcome.message
    assert query(store_path, "SELECT complaint_id, collection_year FROM complaints ORDER BY 1") == [
        ("CMP-24-001", 2025),
        ("CMP-25-001", 2026),
    ]
    assert query(store_path, "SELECT location, field, value FROM load_problems") == [
        ("row 5", "stage", "5")
    ]


def test_an_old_excel_workbook_is_refused_with_save_as_xlsx(tmp_path):
    path = write(tmp_path, "complaints.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    with pytest.raises(UnreadableFile) as error:
        recognise(path)
    assert error.value.reason == "save the workbook as .xlsx (or CSV UTF-8) to load it"


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(tmp_path):
    path = write(tmp_path, "complaints.xlsx", COMPLAINTS + "CMP-1,2024-05-01,child,1,upheld,no,\n")
    for attempt in (identify_template, read_template, recognise):
        with pytest.raises(UnreadableFile) as error:
            attempt(path)
        assert error.value.reason == "not a valid .xlsx workbook (the file is damaged)"


def test_a_workbook_that_expands_far_too_much_is_refused(tmp_path):
    """A member of 2 MB of zeros packs to a few kB: far beyond the allowed ratio."""
    path = tmp_path / "bomb.xlsx"
    shutil.copy(BLANKS / "complaints.xlsx", path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (2 * 1024 * 1024))
    for attempt in (identify_template, read_template):
        with pytest.raises(UnreadableFile, match="refused as a possible zip bomb"):
            attempt(path)


def test_a_workbook_over_the_size_limit_is_refused(
    tmp_path, monkeypatch, store_path, pseudonymiser
):
    path = filled_complaints(tmp_path)
    assert identify_template(path) == "complaints"  # fine under the real limits
    monkeypatch.setattr(reader, "MAX_XLSX_UNCOMPRESSED", 10_000)
    with pytest.raises(UnreadableFile, match="implausible size"):
        read_template(path)
    monkeypatch.setattr(reader, "MAX_XLSX_UNCOMPRESSED", 500 * 1024 * 1024)
    monkeypatch.setattr(reader, "MAX_XLSX_RATIO", 1.5)
    with pytest.raises(UnreadableFile, match="implausible size"):
        read_template(path)
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    assert [u.file for u in outcome.unreadable] == ["complaints 2025.xlsx"]
    assert not store_path.exists()


def test_a_workbook_with_entity_expansion_is_refused(tmp_path):
    source = filled_complaints(tmp_path)
    expansion = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet ['
        '<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
    )
    hostile = tmp_path / "hostile.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                sheet = data.decode("utf-8")
                assert "<t>CMP-24-001</t>" in sheet
                data = (expansion + sheet.replace("<t>CMP-24-001</t>", "<t>&e;</t>")).encode()
            new.writestr(info, data)
    try:
        result = read_template(hostile, "complaints")
    except UnreadableFile as error:
        assert error.file == "hostile.xlsx"
    else:  # read without expanding: no cell holds the 100 000 characters of &e;
        cells = repr(records(result.tables["complaints"])) + repr(result.problems)
        assert "aaaaaaaaaa" * 10 not in cells


def test_a_note_beside_the_table_in_a_workbook_is_ignored(tmp_path):
    book = openpyxl.load_workbook(BLANKS / "complaints.xlsx")
    sheet = book["data"]
    sheet.append(["CMP-24-001", datetime(2024, 5, 13), "child", 1, "upheld", "no"])
    sheet["J2"] = "checked by AB"  # columns H and I stay empty
    path = tmp_path / "noted.xlsx"
    book.save(path)
    result = read_template(path)
    assert counts(result) == (1, 0, 1)


# --- 4. through the load pipeline ---------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory):
    """Every good fixture loaded into one store (read only by the tests that use it)."""
    from framework.privacy import Pseudonymiser

    path = tmp_path_factory.mktemp("store") / "store.duckdb"
    outcome = load_files([GOOD], store_path=path, pseudonymiser=Pseudonymiser(KEY))
    return path, outcome


def test_every_good_file_loads_every_row(loaded_store):
    path, outcome = loaded_store
    assert outcome.status == "loaded", outcome.message
    assert outcome.unreadable == [] and outcome.problems == []
    assert sorted(r.source for r in outcome.results) == sorted(ALL)
    stored = {name: query(path, f"SELECT COUNT(*) FROM {name}")[0][0] for name in ALL}
    assert stored == GOOD_COUNTS
    files = query(
        path, "SELECT file_name, records_read, records_loaded, records_set_aside FROM load_files"
    )
    assert sorted(files) == sorted((f"{n}.csv", c, c, 0) for n, c in GOOD_COUNTS.items())


def test_ids_are_pseudonymised_and_never_stored(loaded_store):
    path, _ = loaded_store
    everything = repr(snapshot(path)).upper()
    for raw in ("DMT0000001", "DMT0000003", "SW0000900001", "HR0000452", "A801234500003"):
        assert raw not in everything
    assert query(path, "SELECT child_id FROM complaints WHERE complaint_id = 'CMP-24-001'") == [
        (pseudonym("DMT0000001"),)
    ]
    assert query(
        path, "SELECT DISTINCT worker_id FROM caseloads WHERE children_allocated = 18"
    ) == [(pseudonym("SW0000900001", "worker"),)]
    assert query(
        path, "SELECT child_id, upn FROM education_attendance WHERE sessions_possible = 142"
    ) == [(pseudonym("DMT0000003"), pseudonym("A801234500003", "upn"))]


def test_each_row_is_dated_by_its_own_column(loaded_store):
    path, _ = loaded_store
    assert query(path, "SELECT complaint_id, collection_year FROM complaints ORDER BY 1") == [
        ("CMP-24-001", 2025),
        ("CMP-24-014", 2025),  # received 2025-03-31: 2024-25
        ("CMP-25-001", 2026),  # received 2025-04-01: 2025-26
        ("CMP-25-002", 2026),
    ]
    assert sorted(query(path, "SELECT DISTINCT year, collection_year FROM workforce_staff")) == [
        (2024, 2024),
        (2025, 2025),  # 2024-25
    ]
    assert query(
        path,
        "SELECT term, term_date, collection_year FROM education_attendance "
        "ORDER BY term_date, sessions_possible",
    ) == [
        ("autumn", D(2024, 11, 1), 2025),
        ("autumn", D(2024, 11, 1), 2025),
        ("spring", D(2025, 2, 15), 2025),
        ("summer", D(2025, 6, 1), 2026),  # the summer term falls in the next financial year
    ]
    assert sorted(query(path, "SELECT academic_year, collection_year FROM education_results")) == [
        (2024, 2024),
        (2024, 2024),
        (2025, 2025),
        (2025, 2025),
    ]


def load_one(folder: Path, name: str, text: str, store_path: Path, pseudonymiser, **options):
    path = write(folder, name, text)
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser, **options)
    assert outcome.status in ("loaded", "unchanged"), outcome.message
    return outcome


def test_loading_the_same_file_again_changes_nothing(store_path, pseudonymiser):
    first = load_files(
        [GOOD / "complaints.csv"], store_path=store_path, pseudonymiser=pseudonymiser
    )
    assert first.status == "loaded"
    before = snapshot(store_path)
    again = load_files(
        [GOOD / "complaints.csv"], store_path=store_path, pseudonymiser=pseudonymiser
    )
    assert again.status == "unchanged"
    assert snapshot(store_path) == before
    forced = load_files(
        [GOOD / "complaints.csv"], store_path=store_path, pseudonymiser=pseudonymiser, force=True
    )
    assert forced.status == "loaded"
    assert data_tables(snapshot(store_path)) == data_tables(before)
    assert all(change["added"] == 0 for change in forced.changes.values())


def test_a_corrected_year_replaces_that_year_only(tmp_path, store_path, pseudonymiser):
    load_files([GOOD / "complaints.csv"], store_path=store_path, pseudonymiser=pseudonymiser)
    # 2024-25 again: CMP-24-001 withdrawn from the record, CMP-24-014 corrected.
    load_one(
        tmp_path,
        "complaints_2024-25.csv",
        COMPLAINTS + "CMP-24-014,2025-03-31,child,3,partly_upheld,yes,DMT0000003\n",
        store_path,
        pseudonymiser,
    )
    assert query(
        store_path,
        "SELECT complaint_id, stage, outcome, repeat, collection_year FROM complaints ORDER BY 1",
    ) == [
        ("CMP-24-014", "3", "partly_upheld", True, 2025),
        ("CMP-25-001", "1", "partly_upheld", True, 2026),  # 2025-26 untouched
        ("CMP-25-002", None, "open", False, 2026),
    ]


def test_a_correction_that_moves_a_row_to_an_earlier_year_is_applied(
    tmp_path, store_path, pseudonymiser
):
    load_one(
        tmp_path / "a",
        "c.csv",
        COMPLAINTS + "CMP-9,2025-04-02,child,1,upheld,no,\n",
        store_path,
        pseudonymiser,
    )
    load_one(
        tmp_path / "b",
        "c.csv",
        COMPLAINTS + "CMP-9,2025-03-28,child,1,upheld,no,\n",
        store_path,
        pseudonymiser,
    )
    assert query(store_path, "SELECT received_date, collection_year FROM complaints") == [
        (D(2025, 3, 28), 2025)
    ]


def test_a_monthly_caseload_snapshot_adds_its_month(tmp_path, store_path, pseudonymiser):
    header = "worker_id,snapshot_date,team,children_allocated\n"
    load_one(
        tmp_path / "jan",
        "caseloads.csv",
        header + "SW0000900001,2025-01-31,T,18\n",
        store_path,
        pseudonymiser,
    )
    load_one(
        tmp_path / "feb",
        "caseloads.csv",
        header + "SW0000900001,2025-02-28,T,17\n",
        store_path,
        pseudonymiser,
    )
    assert query(
        store_path, "SELECT snapshot_date, children_allocated FROM caseloads ORDER BY 1"
    ) == [
        (D(2025, 1, 31), 18),
        (D(2025, 2, 28), 17),
    ]


def test_a_later_allocations_file_never_removes_rows(tmp_path, store_path, pseudonymiser):
    load_files(
        [GOOD / "worker_allocations.csv"], store_path=store_path, pseudonymiser=pseudonymiser
    )
    load_one(
        tmp_path,
        "allocations_march.csv",
        "child_id,worker_id,team,start_date,end_date,end_reason\n"
        "DMT0000001,SW0000900002,Northmere CIN,2024-12-01,2025-03-14,worker_left\n"
        "DMT0000011,SW0000900002,Northmere CIN,2025-03-17,,\n",
        store_path,
        pseudonymiser,
    )
    assert query(
        store_path,
        "SELECT start_date, end_date, end_reason, collection_year FROM worker_allocations "
        "ORDER BY start_date",
    ) == [
        (D(2023, 6, 19), None, None, 2024),
        (D(2023, 9, 4), D(2025, 1, 10), "case_closed", 2024),
        (D(2024, 4, 15), D(2024, 11, 30), "worker_moved", 2025),
        (D(2024, 12, 1), D(2025, 3, 14), "worker_left", 2025),  # updated by its key
        (D(2025, 3, 17), None, None, 2025),  # added
    ]


def test_education_attendance_is_replaced_term_by_term(tmp_path, store_path, pseudonymiser):
    load_files(
        [GOOD / "education_attendance.csv"], store_path=store_path, pseudonymiser=pseudonymiser
    )
    load_one(
        tmp_path,
        "attendance_spring.csv",
        "child_id,upn,academic_year,term,sessions_possible,sessions_authorised,"
        "sessions_unauthorised,suspensions,permanent_exclusion,school_changes,early_education\n"
        "DMT0000003,A801234500003,2024/25,spring,118,3,7,0,no,1,\n"
        "DMT0000012,,2024/25,spring,120,0,2,0,no,0,\n",
        store_path,
        pseudonymiser,
    )
    assert query(
        store_path,
        "SELECT term, sessions_possible, sessions_unauthorised FROM education_attendance "
        "ORDER BY term_date, sessions_possible",
    ) == [
        ("autumn", 140, 0),  # the autumn rows of the same year stay
        ("autumn", 142, 4),
        ("spring", 118, 7),  # corrected
        ("spring", 120, 2),  # added
        ("summer", None, None),
    ]


def test_a_failing_load_leaves_the_store_unchanged(store_path, pseudonymiser, monkeypatch):
    load_files([GOOD / "complaints.csv"], store_path=store_path, pseudonymiser=pseudonymiser)
    before = snapshot(store_path)
    real = store.write_table
    calls = []

    def failing(*args, **kwargs):
        calls.append(args[1].name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module.store, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        load_files(
            [GOOD / "caseloads.csv", GOOD / "finance.csv"],
            store_path=store_path,
            pseudonymiser=pseudonymiser,
        )
    assert len(calls) == 2
    assert snapshot(store_path) == before


BAD_LOADED_FILES = [
    "caseloads",
    "complaints",
    "education_attendance",
    "multi_agency_meetings",
    "workforce_staff",
]


@pytest.fixture(scope="module")
def bad_store(tmp_path_factory):
    """Five bad fixtures (child ids, worker ids, UPNs, warnings) loaded into one store."""
    from framework.privacy import Pseudonymiser

    path = tmp_path_factory.mktemp("bad") / "store.duckdb"
    files = [BAD / f"{name}.csv" for name in BAD_LOADED_FILES]
    outcome = load_files(files, store_path=path, pseudonymiser=Pseudonymiser(KEY))
    return path, outcome


def test_bad_files_load_their_valid_rows_and_withhold_ids(bad_store):
    path, outcome = bad_store
    assert outcome.status == "loaded", outcome.message
    stored = {name: query(path, f"SELECT COUNT(*) FROM {name}")[0][0] for name in BAD_LOADED_FILES}
    assert stored == {name: BAD_COUNTS[name][2] for name in BAD_LOADED_FILES}
    files = query(
        path,
        "SELECT file_name, records_read, records_loaded, records_set_aside FROM load_files "
        "ORDER BY file_name",
    )
    assert files == [
        ("caseloads.csv", 12, 2, 10),
        ("complaints.csv", 12, 2, 10),
        ("education_attendance.csv", 14, 2, 12),
        ("multi_agency_meetings.csv", 12, 3, 9),
        ("workforce_staff.csv", 12, 2, 10),
    ]
    everything = repr(snapshot(path)).upper()
    for raw in ("DMT0000002", "DMT0000004", "SW0000900009", "SW0000900002", "A801234500003"):
        assert raw not in everything
    assert query(path, "SELECT COUNT(*) FROM load_problems")[0][0] == sum(
        len(BAD_PROBLEMS[name]) for name in BAD_LOADED_FILES
    )
    # The stored log keeps what the person loading needs, never the child's id.
    assert query(
        path,
        "SELECT location, field, value, severity, rule, child_id FROM load_problems "
        "WHERE file_name = 'complaints.csv' AND location = 'row 8'",
    ) == [("row 8", "complaint_id", "CMP-24-008", E, "duplicate", pseudonym("DMT0000002"))]
    assert query(
        path,
        "SELECT value FROM load_problems WHERE file_name = 'education_attendance.csv' "
        "AND location = 'row 2'",
    ) == [("",)]


def test_ids_differing_only_in_case_are_one_child(tmp_path, store_path, pseudonymiser):
    path = write(
        tmp_path,
        "health.csv",
        "child_id,record_date,mental_health_need,support,need_met\n"
        "DMT0000001,2024-08-14,yes,camhs,yes\n"
        "dmt0000001,2024-08-14,no,,\n",
    )
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    assert [(p.location, p.rule) for p in outcome.problems] == [
        ("row 1", "duplicate"),
        ("row 2", "duplicate"),
    ]


def test_a_problem_without_a_child_is_stored_without_a_child(bad_store):
    path, _ = bad_store
    assert query(
        path,
        "SELECT child_id FROM load_problems WHERE file_name = 'complaints.csv' "
        "AND location = 'row 2'",
    ) == [(None,)]


def test_a_problem_about_a_worker_is_stored_with_the_worker_pseudonym(bad_store):
    path, _ = bad_store
    assert query(
        path,
        "SELECT child_id FROM load_problems WHERE file_name = 'caseloads.csv' "
        "AND location = 'row 4'",
    ) == [(pseudonym("SW0000900002", "worker"),)]


def test_plain_floats_survive_the_store(loaded_store):
    """Numbers keep their decimals; nothing is rounded on the way in."""
    path, _ = loaded_store
    assert sorted(query(path, "SELECT spend_gbp FROM finance")) == [
        (6400000.5,),
        (21500000.0,),
        (48250000.0,),
        (51000000.0,),
    ]
    assert math.isclose(
        query(
            path,
            "SELECT tool_score_before FROM commissioned_services WHERE tool_name "
            "= 'Graded Care Profile 2'",
        )[0][0],
        4.2,
    )
