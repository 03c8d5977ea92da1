"""The store: history across years, idempotent re-loads, corrections, atomicity, privacy.

Inputs are hand-built read results (what a reader returns), so these tests check the store and
the load pipeline alone, whatever the readers do.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework import load as load_module
from framework.load import LoadOutcome, store_results
from framework.privacy import Pseudonymiser
from framework.sources.problems import ReadResult, SourceFile, TableCount
from framework.store import store
from framework.store.schema import TABLES


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A reader-shaped DataFrame: every reader column, missing ones blank."""
    columns = TABLES[table].reader_columns
    out = pd.DataFrame(rows, columns=columns)
    for column, typ in TABLES[table].types().items():
        if typ == "DATE" and column in out:
            out[column] = pd.to_datetime(out[column])
    return out


def result(source: str, year: int | None, **tables: list[dict]) -> ReadResult:
    frames = {name: frame(name, rows) for name, rows in tables.items()}
    return ReadResult(
        source=source,
        collection_year=year,
        files=[SourceFile(pd.io.common.Path(f"{source}_{year}.xml"), f"{source}{year}", 1, "t")],
        tables=frames,
        counts={name: TableCount(len(f), 0) for name, f in frames.items()},
    )


def write(store_path, pseudonymiser, *results: ReadResult) -> LoadOutcome:
    outcome = LoadOutcome("loaded", "", results=list(results))
    store_results(outcome, list(results), store_path, pseudonymiser)
    return outcome


def rows(store_path, sql: str) -> list[tuple]:
    con = store.connect(store_path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(store_path) -> dict:
    con = store.connect(store_path, read_only=True)
    try:
        return store.snapshot(con)
    finally:
        con.close()


CHILD = {"child_id": "C1", "sex": "F", "date_of_birth": "2015-06-01", "ethnicity": "WBRI"}
OPEN_REFERRAL = {
    "child_id": "C1",
    "referral_date": "2024-02-10",
    "referral_source": "6",
    "primary_need": "N1",
    "referral_nfa": False,
}
CLOSED_REFERRAL = {**OPEN_REFERRAL, "closure_date": "2024-09-30", "closure_reason": "RC7"}


def cin(year: int, referral: dict, child: dict = CHILD, **more) -> ReadResult:
    return result("cin_census", year, children=[child], referrals=[referral], **more)


def test_a_later_census_extends_the_same_referral(store_path, pseudonymiser):
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    write(store_path, pseudonymiser, cin(2025, CLOSED_REFERRAL))
    assert rows(
        store_path,
        "SELECT referral_date, closure_date, closure_reason, collection_year FROM referrals",
    ) == [(pd.Timestamp("2024-02-10").date(), pd.Timestamp("2024-09-30").date(), "RC7", 2025)]


def test_an_older_census_loaded_later_does_not_undo_a_newer_one(store_path, pseudonymiser):
    write(store_path, pseudonymiser, cin(2025, CLOSED_REFERRAL))
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    assert rows(store_path, "SELECT closure_reason, collection_year FROM referrals") == [
        ("RC7", 2025)
    ]


def test_reloading_the_same_return_changes_nothing(store_path, pseudonymiser):
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    before = snapshot(store_path)
    outcome = write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    after = snapshot(store_path)
    data_tables = [name for name in TABLES]
    assert {t: after[t] for t in data_tables} == {t: before[t] for t in data_tables}
    assert all(change["added"] == 0 for change in outcome.changes.values())


def test_a_corrected_return_of_the_same_year_replaces_the_first(store_path, pseudonymiser):
    wrong_date = {**OPEN_REFERRAL, "referral_date": "2024-02-01"}
    write(store_path, pseudonymiser, cin(2024, wrong_date))
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    assert rows(store_path, "SELECT referral_date FROM referrals") == [
        (pd.Timestamp("2024-02-10").date(),)
    ]


def test_episodes_that_ended_in_earlier_years_are_kept(store_path, pseudonymiser):
    first = {
        "child_id": "C1",
        "start_date": "2023-05-01",
        "end_date": "2023-11-01",
        "reason_new_episode": "S",
        "legal_status": "V2",
        "category_of_need": "N1",
        "placement_type": "U6",
        "reason_ceased": "E4A",
    }
    second = {**first, "start_date": "2024-06-01", "end_date": None, "reason_ceased": None}
    write(store_path, pseudonymiser, result("ssda903", 2024, children=[CHILD], episodes=[first]))
    write(store_path, pseudonymiser, result("ssda903", 2025, children=[CHILD], episodes=[second]))
    assert rows(store_path, "SELECT count(*) FROM episodes") == [(2,)]


def test_a_newer_assessment_picture_replaces_its_factors(store_path, pseudonymiser):
    assessment = {"child_id": "C1", "referral_date": "2024-02-10", "start_date": "2024-02-12"}
    factor = {
        "child_id": "C1",
        "referral_date": "2024-02-10",
        "assessment_start_date": "2024-02-12",
    }
    write(
        store_path,
        pseudonymiser,
        cin(
            2024,
            OPEN_REFERRAL,
            assessments=[assessment],
            assessment_factors=[{**factor, "factor": "3B"}],
        ),
    )
    write(
        store_path,
        pseudonymiser,
        cin(
            2025,
            CLOSED_REFERRAL,
            assessments=[assessment],
            assessment_factors=[{**factor, "factor": "4B"}],
        ),
    )
    assert rows(store_path, "SELECT factor FROM assessment_factors") == [("4B",)]


def test_children_merge_field_by_field(store_path, pseudonymiser):
    from_cin = {**CHILD, "ethnicity": "WBRI"}
    from_903 = {"child_id": "C1", "sex": "F", "date_of_birth": "2015-06-01", "mother": False}
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL, child=from_cin))
    write(store_path, pseudonymiser, result("ssda903", 2024, children=[from_903]))
    assert rows(store_path, "SELECT ethnicity, mother, sex FROM children") == [("WBRI", False, "F")]


def test_child_ids_are_pseudonymised_and_link_across_returns(store_path, pseudonymiser):
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    write(store_path, pseudonymiser, result("ssda903", 2024, children=[CHILD]))
    ids = rows(store_path, "SELECT child_id FROM children")
    assert ids == [(pseudonymiser.pseudonym("C1"),)]
    assert rows(store_path, "SELECT child_id FROM referrals") == ids
    assert "C1" not in repr(snapshot(store_path))


def test_the_same_id_gives_different_pseudonyms_under_different_keys():
    one, other = Pseudonymiser(b"k" * 20), Pseudonymiser(b"j" * 20)
    assert one.pseudonym("C1") == one.pseudonym(" c1 ")  # normalised, stable
    assert one.pseudonym("C1") != other.pseudonym("C1")
    assert one.pseudonym("C1", kind="worker") != one.pseudonym("C1")


def test_a_store_refuses_a_different_key(store_path, pseudonymiser):
    write(store_path, pseudonymiser, cin(2024, OPEN_REFERRAL))
    before = snapshot(store_path)
    with pytest.raises(store.StoreError, match="key differs"):
        write(store_path, Pseudonymiser(b"another key, also long"), cin(2025, CLOSED_REFERRAL))
    assert snapshot(store_path) == before


def test_postcodes_become_areas_and_are_not_stored(store_path, pseudonymiser):
    reference = result(
        "reference",
        None,
        ref_postcode_areas=[{"postcode": "QX1 1AB", "area_code": "X01000001"}],
    )
    episode = {
        "child_id": "C1",
        "start_date": "2024-06-01",
        "reason_new_episode": "S",
        "legal_status": "V2",
        "category_of_need": "N1",
        "placement_type": "U6",
        "home_postcode": "qx11ab",
        "placement_postcode": "QX9 9ZZ",
    }
    write(store_path, pseudonymiser, reference)
    write(store_path, pseudonymiser, result("ssda903", 2025, children=[CHILD], episodes=[episode]))
    assert rows(
        store_path,
        "SELECT home_area_code, home_postcode_status, placement_area_code, "
        "placement_postcode_status FROM episodes",
    ) == [("X01000001", "matched", None, "not in lookup")]
    stored = repr({k: v for k, v in snapshot(store_path).items() if k != "ref_postcode_areas"})
    assert "QX9" not in stored and "QX1" not in stored


# --- atomicity -----------------------------------------------------------------------------------

referral_dates = st.dates(
    min_value=pd.Timestamp("2020-04-01").date(), max_value=pd.Timestamp("2025-03-31").date()
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.lists(referral_dates, min_size=1, max_size=4, unique=True),
    second=st.lists(referral_dates, min_size=1, max_size=4, unique=True),
    fail_after=st.integers(min_value=0, max_value=2),
)
def test_any_failing_load_leaves_the_store_unchanged(
    tmp_path_factory, pseudonymiser, first, second, fail_after
):
    """Whatever was loaded before, a load that fails part-way changes nothing at all."""
    path = tmp_path_factory.mktemp("atomic") / "store.duckdb"
    referrals = lambda dates: [{**OPEN_REFERRAL, "referral_date": str(d)} for d in dates]  # noqa: E731
    write(
        path,
        pseudonymiser,
        result("cin_census", 2024, children=[CHILD], referrals=referrals(first)),
    )
    before = snapshot(path)

    calls = {"n": 0}
    real_write_table = store.write_table

    def failing_write_table(*args, **kwargs):
        if calls["n"] >= fail_after:
            raise OSError("disk full (simulated)")
        calls["n"] += 1
        return real_write_table(*args, **kwargs)

    load_module.store.write_table = failing_write_table
    try:
        with pytest.raises(OSError):
            write(
                path,
                pseudonymiser,
                result("cin_census", 2025, children=[CHILD], referrals=referrals(second)),
                result("ssda903", 2025, children=[CHILD]),
            )
    finally:
        load_module.store.write_table = real_write_table
    assert snapshot(path) == before


def test_a_store_made_before_a_table_was_added_reads_it_as_empty(store_path):
    # A store from an older version: made with today's schema, then one table dropped (as if
    # the table had been added to the schema since).
    con = store.connect(store_path)
    con.execute("DROP TABLE authority_regions")
    con.close()
    before = store_path.read_bytes()
    reader = store.connect(store_path, read_only=True)
    # Read-only, it is stood in for by an empty temporary table, and the file is not touched.
    assert reader.execute("SELECT count(*) FROM authority_regions").fetchone() == (0,)
    columns = [r[0] for r in reader.execute("DESCRIBE authority_regions").fetchall()]
    assert columns[: len(TABLES["authority_regions"].columns)] == [
        name for name, _ in TABLES["authority_regions"].columns
    ]
    reader.close()
    assert store_path.read_bytes() == before
    # The next load (a writing connection) adds the real table.
    writer = store.connect(store_path)
    assert writer.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'authority_regions' AND table_catalog <> 'temp'"
    ).fetchone() == (1,)
    writer.close()
