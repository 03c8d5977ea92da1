"""The load pipeline end to end on small files: recognition, local readers, strictness,
unreadable and hostile files, re-loads, and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework import cli
from framework.load import load_files
from framework.store import store

AREAS = (
    "area_code,area_name,ward_code,ward_name,locality,imd_decile,idaci_decile,children_0_17\n"
    "X01000001,Demoton 001A,X05000001,Ward One,Northmere,1,2,350\n"
    "X01000002,Demoton 001B,X05000001,Ward One,Northmere,10,9,410\n"
)
POSTCODES = "postcode,area_code\nQX1 1AB,X01000001\nQX1 2CD,X01000002\n"
ADDRESSES = (
    "child_id,postcode,from_date\n"
    "DMT01,qx1 1ab,2023-04-01\n"  # row 1: matched after normalising
    "DMT02,QX7 7ZZ,2023-05-01\n"  # row 2: well formed, not in the lookup
    "DMT03,,2023-06-01\n"  # row 3: blank postcode
    "DMT04,NOT A POSTCODE,2023-07-01\n"  # row 4: malformed
    "DMT05,QX1 2CD,31/02/2024\n"  # row 5: impossible date -> set aside
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def local_files(tmp_path: Path) -> Path:
    folder = tmp_path / "local"
    write(folder, "areas.csv", AREAS)
    write(folder, "lookup.csv", POSTCODES)
    write(folder, "addresses.csv", ADDRESSES)
    return folder


def query(path: Path, sql: str) -> list[tuple]:
    con = store.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_addresses_are_linked_to_areas_and_bad_rows_set_aside(
    local_files, store_path, pseudonymiser
):
    outcome = load_files([local_files], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "loaded", outcome.message
    statuses = dict(
        query(
            store_path,
            "SELECT area_code, postcode_status FROM child_addresses WHERE area_code IS NOT NULL",
        )
    )
    assert statuses == {"X01000001": "matched"}
    assert sorted(
        s for (s,) in query(store_path, "SELECT postcode_status FROM child_addresses")
    ) == ["blank", "malformed", "matched", "not in lookup"]
    (problem,) = outcome.problems
    assert (problem.file, problem.location, problem.child, problem.field, problem.value) == (
        "addresses.csv",
        "row 5",
        "DMT05",
        "from_date",
        "31/02/2024",
    )
    # The stored problem withholds nothing harmless but never keeps the raw child id.
    assert query(store_path, "SELECT location, field, value FROM load_problems") == [
        ("row 5", "from_date", "31/02/2024")
    ]
    assert ("DMT05",) not in query(store_path, "SELECT child_id FROM load_problems")


def test_no_postcode_reaches_the_store(local_files, store_path, pseudonymiser):
    load_files([local_files], store_path=store_path, pseudonymiser=pseudonymiser)
    con = store.connect(store_path, read_only=True)
    try:
        everything = repr(
            {k: v for k, v in store.snapshot(con).items() if k != "ref_postcode_areas"}
        )
    finally:
        con.close()
    for postcode in ("QX1 1AB", "QX7 7ZZ", "QX1 2CD", "NOT A POSTCODE"):
        assert postcode not in everything.upper()


def test_strict_mode_refuses_everything_and_changes_nothing(local_files, store_path, pseudonymiser):
    outcome = load_files(
        [local_files], store_path=store_path, pseudonymiser=pseudonymiser, strict=True
    )
    assert outcome.status == "refused"
    assert outcome.exit_code == 1
    assert not store_path.exists()


def test_an_identical_file_is_not_loaded_twice(local_files, store_path, pseudonymiser):
    load_files([local_files], store_path=store_path, pseudonymiser=pseudonymiser)
    again = load_files([local_files], store_path=store_path, pseudonymiser=pseudonymiser)
    assert again.status == "unchanged"
    assert {name for name, _ in again.skipped} == {"areas.csv", "lookup.csv", "addresses.csv"}
    assert query(store_path, "SELECT COUNT(*) FROM loads") == [(1,)]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", "", "empty"),
        (
            "bomb.xml",
            '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<Message>&b;</Message>",
            "document type",
        ),
        (
            "external.xml",
            '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<Message>&x;</Message>",
            "document type",
        ),
        ("truncated.xml", "<Message><Children><Child><ChildIdentifiers>", "not well formed"),
        ("other.xml", "<Invoices><Invoice/></Invoices>", "root element <Invoices>"),
    ],
)
def test_unreadable_files_are_named_and_explained(
    tmp_path, store_path, pseudonymiser, name, content, reason
):
    path = write(tmp_path / "in", name, content)
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "nothing loaded"
    (problem,) = outcome.unreadable
    assert problem.file == name
    assert reason in problem.reason
    assert not store_path.exists()


def test_an_unrecognised_csv_says_what_it_resembles(tmp_path, store_path, pseudonymiser):
    path = write(
        tmp_path / "in",
        "episodes_old.csv",
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n1,01/04/2024,S,V2,N1,U6,PR1,,\n",
    )
    outcome = load_files([path], store_path=store_path, pseudonymiser=pseudonymiser)
    (problem,) = outcome.unreadable
    assert "episodes" in problem.reason.lower()
    assert "REASON_PLACE_CHANGE" in problem.reason


def test_cli_load_and_status(local_files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", "a test key that is long enough")
    store_file = tmp_path / "cli.duckdb"
    assert cli.main(["load", str(local_files), "--store", str(store_file)]) == 0
    printed = capsys.readouterr().out
    assert "addresses.csv, row 5, child DMT05: from_date = '31/02/2024'" in printed
    assert "Load 1 finished" in printed
    assert cli.main(["status", "--store", str(store_file)]) == 0
    assert "child_addresses" in capsys.readouterr().out


def test_cli_without_a_key_refuses_clearly(local_files, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    config = tmp_path / "config.toml"
    original = (Path(__file__).resolve().parents[1] / "config.toml").read_text()
    config.write_text(
        original.replace("~/.config/outcomes-explorer/pseudonym.key", str(tmp_path / "absent.key"))
    )
    code = cli.main(
        ["--config", str(config), "load", str(local_files), "--store", str(tmp_path / "s.duckdb")]
    )
    assert code == 1
    assert "No pseudonymisation key found" in capsys.readouterr().err
    assert not (tmp_path / "s.duckdb").exists()


def test_cli_exit_status_is_nonzero_when_nothing_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", "a test key that is long enough")
    empty = write(tmp_path / "in", "empty.xml", "")
    assert cli.main(["load", str(empty), "--store", str(tmp_path / "s.duckdb")]) == 1


def test_every_shared_sample_loads_or_is_explained(shared, store_path, pseudonymiser):
    """The fake returns other projects publish: valid records load, the rest are explained."""
    samples = shared / "spec" / "samples"
    outcome = load_files([samples], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "loaded", outcome.message
    # Every sample is read, the workforce (CSWW) return included.
    assert outcome.unreadable == []
    read = {f.name for r in outcome.results for f in r.files}
    every_file = {p.name for p in samples.rglob("*") if p.suffix in (".xml", ".csv")}
    assert read == every_file
    for problem in outcome.problems:
        assert problem.file and problem.location and problem.expected
    # Two d2i CiN samples claim the same year: the person loading is told only one stays.
    assert any("d2i_CIN_Census_2024.xml; d2i_CIN_Census_2026.xml" in n for n in outcome.notes)
    counts = dict(
        query(
            store_path,
            "SELECT 'episodes', COUNT(*) FROM episodes UNION ALL "
            "SELECT 'referrals', COUNT(*) FROM referrals",
        )
    )
    assert counts["episodes"] > 1000 and counts["referrals"] > 100
    workers = query(store_path, "SELECT year, COUNT(*) FROM workforce_workers GROUP BY year")
    assert workers == [(2022, 30)]


def test_published_statistics_load_by_their_columns(shared, store_path, pseudonymiser):
    """The DfE tidy CSVs and statistical neighbour tables, as authorities download them."""
    folder = shared / "reference" / "csc_la_stats"
    outcome = load_files([folder], store_path=store_path, pseudonymiser=pseudonymiser)
    assert outcome.status == "loaded", outcome.message
    assert not [p for p in outcome.problems if p.severity == "error"]
    england = query(
        store_path,
        "SELECT value FROM published_statistics WHERE dataset LIKE 'c1_%' "
        "AND geographic_level = 'National' AND time_period = '2025' "
        "AND measure = 'rereferral_percent'",
    )
    assert england == [(22.6,)]
    assert query(
        store_path,
        "SELECT COUNT(DISTINCT old_la_code) FROM statistical_neighbours WHERE model = '2025'",
    ) == [(153,)]
    # Files in other layouts are named and explained, never silently skipped.
    assert all(u.reason for u in outcome.unreadable)
