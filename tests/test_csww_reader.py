"""The CSWW (social work workforce) reader: rows, every kind of problem, refusals, the published
sample and the load pipeline (worker ids pseudonymised like the SSDA903 SW_ID).

Fixtures are hand-written in tests/fixtures/csww; line numbers below are those of the files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from framework.load import load_files, recognise
from framework.sources.csww import looks_like_csww, read_csww
from framework.sources.problems import ERROR, WARNING, UnreadableFile
from framework.store import store
from framework.store.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "csww"
SAMPLE = (
    REPO.parent
    / "shared"
    / "spec"
    / "samples"
    / "csww"
    / "liiatools_social_work_workforce_2022.xml"
)
E, W = ERROR, WARNING


def read(name: str, **options):
    return read_csww(FIXTURES / name, **options)


def found(result) -> list[tuple]:
    return [(p.severity, p.location, p.child, p.field, p.value) for p in result.problems]


def test_valid_file_loads_every_worker_and_the_vacancies():
    result = read("valid_2024.xml")
    assert result.source == "csww" and result.collection_year == 2024
    assert [(f.name, f.kind) for f in result.files] == [("valid_2024.xml", "csww_xml")]
    assert result.problems == []
    assert {k: (c.read, c.set_aside) for k, c in result.counts.items()} == {
        "workforce_workers": (4, 0),
        "workforce_vacancies": (1, 0),
    }
    assert result.notes == ["CSWW 2024 (reference date 30 September 2024) from the header."]
    workers = result.tables["workforce_workers"]
    assert list(workers.columns) == TABLES["workforce_workers"].reader_columns
    rows = workers.astype(object).where(workers.notna(), None).to_dict("records")
    day = pd.Timestamp
    assert rows[0] == {
        "worker_id": "SW0000000001",
        "year": 2024,
        "agency_worker": False,
        "fte": 1.0,
        "birth_year": 1985,
        "gender": "2",
        "ethnicity": "WBRI",
        "qualification_level": "2",  # the higher of its two QualLevel
        "step_up_graduate": False,
        "frontline_graduate": False,
        "org_role": "5",
        "role_start_date": day("2019-01-07"),
        "start_origin": "2",
        "role_end_date": None,
        "reason_leave": None,
        "leaver_destination": None,
        "fte_30_september": 1.0,
        "cases_30_september": 18,
        "working_days_lost": 4.5,
        "contract_weeks": None,
        "absent_30_september": False,
        "reason_absence": None,
        "cfkss_status": "2",
    }
    agency = rows[1]
    assert (agency["worker_id"], agency["agency_worker"], agency["contract_weeks"]) == (
        "SW0000000002",
        True,
        29.5,
    )
    assert (agency["ethnicity"], agency["qualification_level"], agency["gender"]) == (
        "BAFR",
        "3",
        "1",
    )
    leaver = rows[2]
    assert (
        leaver["role_end_date"],
        leaver["reason_leave"],
        leaver["leaver_destination"],
        leaver["birth_year"],
    ) == (day("2024-05-31"), "5", "9", 1960)
    absent = rows[3]
    assert (absent["absent_30_september"], absent["reason_absence"], absent["gender"]) == (
        True,
        "SIC",
        "0",
    )
    assert (absent["cases_30_september"], absent["working_days_lost"]) == (0, 30.25)
    # Only the year of birth is kept.
    assert not any("birth_date" in c for c in workers.columns)
    vacancies = result.tables["workforce_vacancies"].to_dict("records")
    assert vacancies == [
        {"year": 2024, "vacancies_fte": 12.5, "agency_fte": 8.75, "agency_headcount": 9}
    ]


def test_bad_workers_are_set_aside_with_precise_problems():
    result = read("bad_workers.xml")
    assert found(result) == [
        (E, "line 15", None, "SWENo", None),
        (E, "line 21", "SW0000000011", "SWENo", "SW0000000011"),
        (E, "line 26", "sw0000000011", "SWENo", "sw0000000011"),
        (E, "line 32", "SW0000000012", "FTE", "1.5"),
        (E, "line 33", "SW0000000012", "GenderCurrent", "3"),
        (E, "line 36", "SW0000000013", "AgencyWorker", "2"),
        (E, "line 39", "SW0000000013", "PersonBirthDate", "1980-02-30"),
        (E, "line 40", "SW0000000013", "QualLevel", "4"),
        (E, "line 41", "SW0000000013", "OrgRole", "7"),
        (E, "line 48", "SW0000000014", "RoleEndDate", "2023-01-31"),
        (E, "line 55", "SW0000000015", "Cases30", "2.5"),
        (E, "line 56", "SW0000000015", "WorkingDaysLost", "-1"),
        (E, "line 57", "SW0000000015", "ReasonAbsence", "XYZ"),
        (W, "line 57", "SW0000000015", "ReasonAbsence", "XYZ"),
        (W, "line 61", "JK12345", "SWENo", "JK12345"),
        (W, "line 62", "JK12345", "FTE", "0.1234567"),
        (W, "line 63", "JK12345", "ReasonLeave", "2"),
        (W, "line 64", "JK12345", "Shoesize", None),
    ]
    expected = {(p.field, p.rule): p.expected for p in result.problems}
    assert expected[("SWENo", "duplicate")].startswith("each worker once")
    assert result.problems[3].expected == "a number from 0 to 1"
    assert expected[("GenderCurrent", "code")] == "one of 0, 1, 2, 9"
    assert expected[("SWENo", "pattern")].startswith("2 letters and 10 digits")
    assert expected[("RoleEndDate", "order")] == (
        "an end date (RoleEndDate) on or after RoleStartDate"
    )
    assert all(p.file == "bad_workers.xml" for p in result.problems)
    assert {p.table for p in result.problems} == {"CSWWWorker"}
    # Only the worker with warnings alone loads (the id is still usable).
    assert result.tables["workforce_workers"]["worker_id"].tolist() == ["JK12345"]
    assert result.tables["workforce_workers"]["fte"].tolist() == [0.1234567]
    assert (
        result.counts["workforce_workers"].read,
        result.counts["workforce_workers"].set_aside,
    ) == (
        8,
        7,
    )
    # The SWENo is shown to the person loading, named as a worker, and withheld when stored.
    problem = result.problems[1]
    assert "worker SW0000000011" in problem.message()
    assert problem.redacted_value() == "(withheld)"


def test_warnings_load_and_impossible_birth_dates_set_aside():
    result = read("warnings.xml")
    assert found(result) == [
        (W, "line 3", None, "LALevelVacancies", None),
        (W, "line 13", "SW0000000041", "SWENo", "SW0000000099"),
        (W, "line 15", "SW0000000041", "PersonBirthDate", "2010-01-01"),
        (W, "line 16", "SW0000000041", "RoleStartDate", "2024-10-01"),
        (W, "line 17", "SW0000000041", "WorkingDaysLost", "400"),
        (E, "line 23", "SW0000000042", "PersonBirthDate", "2025-01-01"),
    ]
    workers = result.tables["workforce_workers"]
    assert workers["worker_id"].tolist() == ["SW0000000041"]
    assert workers["birth_year"].tolist() == [2010]
    assert result.tables["workforce_vacancies"].empty
    assert (result.counts["workforce_vacancies"].read, result.counts["workforce_workers"].read) == (
        0,
        2,
    )


def test_header_disagreements_warn_and_bad_vacancies_are_set_aside():
    result = read("header_mismatch.xml")
    assert result.collection_year == 2023
    assert found(result) == [
        (W, "line 7", None, "ReferenceDate", "2023-03-31"),
        (E, "line 11", None, "NumberOfVacancies", "-2"),
        (W, "line 12", None, "NoAgencyFTE", "1.234"),
    ]
    assert result.tables["workforce_vacancies"].empty
    assert result.counts["workforce_vacancies"].set_aside == 1
    assert result.tables["workforce_workers"]["worker_id"].tolist() == ["SW0000000031"]
    # A year given when loading does not override the header's Year, and is reported.
    given = read("header_mismatch.xml", collection_year=2024)
    assert given.collection_year == 2023
    assert (W, "line 6", None, "Year", "2023") in found(given)


def test_year_from_argument_then_file_name_else_unreadable(tmp_path):
    assert read("no_year.xml", collection_year=2023).collection_year == 2023
    named = shutil.copy(FIXTURES / "no_year.xml", tmp_path / "csww_2021.xml")
    result = read_csww(named)
    assert result.collection_year == 2021
    assert "from the file name" in result.notes[0]
    with pytest.raises(UnreadableFile, match="--year"):
        read("no_year.xml")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("doctype.xml", "document type"),
        ("truncated.xml", "not well formed at line 12"),
        ("not_csww.xml", "SCHOOLCENSUS"),
    ],
)
def test_unreadable_files_are_refused(name, reason):
    with pytest.raises(UnreadableFile) as raised:
        read(name)
    assert raised.value.file == name
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    ("path", "recognised"),
    [
        (FIXTURES / "valid_2024.xml", True),
        (FIXTURES / "no_year.xml", True),  # no header, but CSWWWorker under Message
        (REPO / "tests" / "fixtures" / "cin" / "workforce_message.xml", True),
        (FIXTURES / "not_csww.xml", False),
        (FIXTURES / "doctype.xml", False),
        (REPO / "tests" / "fixtures" / "cin" / "valid_2023-24_gendercurrent.xml", False),
    ],
)
def test_looks_like_csww(path, recognised):
    assert looks_like_csww(path) is recognised


def test_load_recognises_csww_and_refuses_hostile_files():
    assert recognise(FIXTURES / "valid_2024.xml") == "csww"
    with pytest.raises(UnreadableFile, match="document type"):
        recognise(FIXTURES / "doctype.xml")


@pytest.mark.skipif(not SAMPLE.is_file(), reason="shared/ samples not present")
def test_shared_sample_reads():
    result = read_csww(SAMPLE)
    assert result.collection_year == 2022
    assert result.counts["workforce_workers"].read == 30
    assert result.counts["workforce_workers"].set_aside == 0
    assert len(result.tables["workforce_workers"]) == 30
    assert result.tables["workforce_vacancies"].to_dict("records") == [
        {"year": 2022, "vacancies_fte": 79.68, "agency_fte": 59.82, "agency_headcount": 71}
    ]
    assert result.errors == []
    # The sample's generated dates run past 30 September 2022: warned, loaded.
    assert {p.field for p in result.warnings} <= {"RoleStartDate", "RoleEndDate", "ReasonAbsence"}
    assert result.tables["workforce_workers"]["worker_id"].is_unique


def test_pipeline_pseudonymises_worker_ids_like_ssda903(tmp_path, store_path, pseudonymiser):
    returns = tmp_path / "returns"
    shutil.copytree(REPO / "tests" / "fixtures" / "ssda903" / "valid_2024_25", returns / "903")
    sw = returns / "903" / "sw_episodes.csv"
    sw.write_text(sw.read_text().replace("SW123456", "SW0000000001"))
    shutil.copy(FIXTURES / "valid_2024.xml", returns / "csww.xml")
    outcome = load_files([returns], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "loaded", outcome.message
    assert outcome.unreadable == []
    con = store.connect(store_path, read_only=True)
    try:
        workers = dict(
            con.execute("SELECT worker_id, fte FROM workforce_workers ORDER BY fte").fetchall()
        )
        linked = con.execute(
            "SELECT COUNT(*) FROM social_worker_episodes s "
            "JOIN workforce_workers w USING (worker_id)"
        ).fetchone()[0]
        vacancies = con.execute("SELECT year, vacancies_fte FROM workforce_vacancies").fetchall()
    finally:
        con.close()
    raw = [f"SW000000000{i}" for i in range(1, 5)]
    assert not set(raw) & set(workers)
    assert pseudonymiser.pseudonym("SW0000000001", kind="worker") in workers
    assert set(workers) == {pseudonymiser.pseudonym(r, kind="worker") for r in raw}
    assert linked == 1  # the 903 episode with SW_ID SW0000000001 joins the CSWW worker
    assert vacancies == [(2024, 12.5)]
