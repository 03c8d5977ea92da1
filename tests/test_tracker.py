# ruff: noqa: E501  (the tiny store's tables are written as wide text tables)
"""The child-level tracker: every column and colour worked out by hand on a tiny store, the RAG
rules as a property, and the demo authority (when built)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework import readable
from framework.engine import tracker as tr
from framework.engine.dimensions import GROUPS, group_members
from framework.engine.periods import Period
from tests.engine_store import tiny_store

YEAR = Period.parse("2024-25")  # 1 April 2024 to 31 March 2025; the 12 months are the same

# A, B, C, D: looked after in the year; E, F, G: a CP plan open in it; H: a plan ended before.
STORE = """
children
child_id | sex | date_of_birth | upn
A        | F   | 2012-06-15    |
B        | M   | 2020-03-31    |
C        | F   | 2010-01-01    |
D        | M   | 2008-05-05    |
E        | F   | 2015-02-02    |
F        | M   | 2011-09-09    | UF
G        | U   | 2019-12-12    |
H        | F   | 2016-01-01    |

ref_areas
area_code | locality
X1        | North
X2        | South

child_addresses
child_id | from_date  | area_code
A        | 2020-01-01 | X1
C        | 2020-01-01 | X2

episodes
child_id | start_date | reason_new_episode | legal_status | placement_type | end_date
A        | 2023-01-10 | S                  | C2           | U4             | 2024-05-01
A        | 2024-05-01 | P                  | C2           | U4             | 2024-09-01
A        | 2024-09-01 | P                  | C2           | K2             | 2025-01-15
A        | 2025-01-15 | B                  | C2           | U6             |
B        | 2025-02-01 | S                  | V2           | U4             |
C        | 2022-01-01 | S                  | V2           | U4             |
D        | 2023-06-01 | S                  | V2           | U4             | 2024-06-30

missing_episodes
child_id | missing_type | start_date | end_date
A        | M            | 2024-03-01 | 2024-03-02
A        | M            | 2024-06-01 | 2024-06-02
A        | M            | 2024-08-01 | 2024-08-01
A        | A            | 2024-10-01 | 2024-10-01
A        | M            | 2025-01-01 | 2025-01-03

looked_after_reviews
child_id | review_date
A        | 2023-02-01
A        | 2023-05-01
A        | 2024-12-01
C        | 2022-02-01
C        | 2022-05-01
C        | 2024-10-01

education_attendance
child_id | upn | academic_year | term   | term_date  | sessions_possible | sessions_authorised | sessions_unauthorised | suspensions | permanent_exclusion
A        |     | 2024          | summer | 2024-06-01 | 100               | 20                  | 5                     | 0           | false
A        |     | 2025          | autumn | 2024-11-01 | 100               | 10                  | 5                     | 1           | false
A        |     | 2025          | spring | 2025-02-15 | 100               | 15                  | 5                     | 0           | false
C        |     | 2024          | summer | 2024-06-01 | 100               | 5                   | 0                     |             |
C        |     | 2025          | autumn | 2024-11-01 | 100               | 3                   | 2                     |             |
C        |     | 2025          | spring | 2025-02-15 | 100               | 5                   |                       |             |
C        |     | 2023          | spring | 2023-02-15 | 100               | 90                  | 0                     |             |
         | UF  | 2025          | spring | 2025-02-15 | 100               | 20                  | 5                     | 0           | true

sdq
child_id | sdq_date   | informant | total
C        | 2024-10-01 | carer     | 12
F        | 2025-01-10 | teacher   | 16

case_reviews
child_id | review_date | plan_type | feels_safe | sexual_exploitation | domestic_abuse
C        | 2024-11-01  | cla       | true       | false               | false
D        | 2024-05-01  | cla       | true       | true                | false
D        | 2023-05-01  | cla       | false      | false               | true

assessment_factors
child_id | referral_date | assessment_start_date | factor
D        | 2024-05-05    | 2024-05-10            | 3B
D        | 2022-05-05    | 2022-05-10            | 11A

referrals
child_id | referral_date | closure_date
E        | 2023-05-01    |
F        | 2024-09-01    |
G        | 2024-01-15    |
H        | 2023-01-01    | 2024-01-01

cp_plans
child_id | referral_date | start_date | end_date   | latest_category | previous_plans
E        | 2023-05-01    | 2023-06-01 |            | NEG             | 1
F        | 2024-09-01    | 2024-10-01 |            | PHY             | 0
G        | 2024-01-15    | 2024-02-01 | 2024-08-01 | EMO             | 0
H        | 2023-01-01    | 2023-02-01 | 2024-01-01 | NEG             | 0

cp_plan_reviews
child_id | plan_start_date | review_date
E        | 2023-06-01      | 2023-09-01
E        | 2023-06-01      | 2024-03-01
E        | 2023-06-01      | 2024-09-01
E        | 2023-06-01      | 2025-02-01

cin_plans
child_id | referral_date | start_date | end_date
G        | 2024-01-15    | 2024-08-01 |
"""


@pytest.fixture(scope="module")
def con():
    connection = tiny_store(STORE)
    yield connection
    connection.close()


def _rows(frame: pd.DataFrame) -> dict[str, dict]:
    return {row["child_id"]: row for row in frame.to_dict("records")}


def _missing(value) -> bool:
    return value is None or value is pd.NA or pd.isna(value)


def test_looked_after_cohort_by_hand(con):
    frame = tr.tracker(con, "cla", YEAR)
    assert list(frame.columns) == list(tr.COLUMNS)
    assert set(frame["child_id"]) == {"A", "B", "C", "D"}
    # Red first, then amber, then green; within a colour by pseudonym.
    assert list(frame["child_id"]) == ["A", "D", "B", "C"]
    rows = _rows(frame)

    a = rows["A"]
    assert (a["age"], a["sex"], a["locality"], a["plan"]) == (12, "F", "North", "looked_after")
    assert (a["legal_status"], a["placement_type"]) == ("C2", "U6")
    assert a["care_start"] == pd.Timestamp("2023-01-10")
    assert a["placement_start"] == pd.Timestamp("2025-01-15")
    # The placement held on 1 April 2024 and three new carers since (P, P, B).
    assert (a["placements_12m"], a["placement_moves_12m"]) == (4, 3)
    # The missing episode of March 2024 is before the 12 months.
    assert (a["missing_12m"], a["away_12m"]) == (3, 1)
    # (300 possible - 60 missed) / 300 over three terms.
    assert a["attendance_pct"] == 80.0
    assert (a["attendance_terms"], a["latest_term"]) == (3, "2024/25 spring")
    assert (a["suspensions_12m"], a["permanent_exclusion_12m"]) == (1, False)
    # Three reviews since coming into care: the next within 6 months of 1 December 2024.
    assert a["next_review_due"] == pd.Timestamp("2025-06-01")
    assert a["review_overdue"] is False or a["review_overdue"] == False  # noqa: E712
    assert (a["last_review_date"], a["last_review"]) == (
        pd.Timestamp("2024-12-01"),
        "Looked-after review",
    )
    assert a["rag"] == "red"
    assert a["reasons"] == [
        "4 placements in the last 12 months",
        "missing 3 times in the last 12 months",  # (neither again as amber)
        "away from placement 1 time(s) in the last 12 months",
        "attendance 80.0% (persistently absent)",  # 80% is not below 80: amber, not red
        "1 suspension(s) in the last 12 months",
    ]

    b = rows["B"]  # came into care on 1 February 2025 with no review since
    assert (b["age"], b["plan"], b["placements_12m"], b["placement_moves_12m"]) == (
        5,
        "looked_after",
        1,
        0,
    )
    assert (b["missing_12m"], b["away_12m"]) == (0, 0)  # covered by the 903: none is 0
    assert _missing(b["attendance_pct"]) and _missing(b["suspensions_12m"])  # no data: blank
    assert _missing(b["locality"])
    assert b["next_review_due"] == pd.Timestamp("2025-03-01")  # 28 days after 1 February
    assert b["review_overdue"] == True  # noqa: E712
    assert (b["rag"], b["reasons"]) == ("amber", ["review overdue (due 01 Mar 2025)"])

    c = rows["C"]
    # 2022-23's poor term is outside the 12 months; blank counts read as none.
    assert c["attendance_pct"] == 95.0
    assert c["suspensions_12m"] == 0
    assert (c["sdq_total"], c["sdq_informant"], c["sdq_concern"]) == (12, "carer", False)
    assert c["feels_safe"] == True  # noqa: E712
    assert c["risks"] == ()
    assert c["next_review_due"] == pd.Timestamp("2025-04-01")
    assert (c["rag"], c["reasons"]) == ("green", [])

    d = rows["D"]  # left care in June 2024; exploitation named at the latest review
    assert d["plan"] == "no_plan_open"
    assert (d["placements_12m"], d["placement_moves_12m"], d["missing_12m"]) == (1, 0, 0)
    assert _missing(d["care_start"]) and _missing(d["legal_status"])  # not in care now
    # The latest review (not the 2023 one) and the assessment of May 2024 (not 2022's 11A).
    assert d["review_risks_date"] == pd.Timestamp("2024-05-01")
    assert d["feels_safe"] == True  # noqa: E712
    assert d["assessment_factors"] == ("3B",)
    assert d["risks"] == ("sexual exploitation", "domestic abuse")
    assert _missing(d["review_overdue"])
    assert (d["rag"], d["reasons"]) == (
        "red",
        [
            "exploitation or trafficking named",
            "domestic abuse or parental mental health or substance misuse named",
        ],
    )


def test_child_protection_cohort_by_hand(con):
    frame = tr.tracker(con, "cp", YEAR)
    assert set(frame["child_id"]) == {"E", "F", "G"}  # H's plan ended before the year
    rows = _rows(frame)

    e = rows["E"]
    assert (e["plan"], e["cp_category"], e["cp_months"], e["cp_plan_number"]) == (
        "cp_plan",
        "NEG",
        21,  # 1 June 2023 to 31 March 2025
        2,
    )
    assert e["next_review_due"] == pd.Timestamp("2025-08-01")
    assert e["last_review"] == "Child protection review"
    # Not looked after: no placement or missing counts at all (never 0).
    for column in ("placements_12m", "placement_moves_12m", "missing_12m", "away_12m"):
        assert _missing(e[column])
    assert (e["rag"], e["reasons"]) == (
        "red",
        ["child protection plan open 21 months", "child protection plan number 2"],
    )

    f = rows["F"]
    # Education given by UPN only, matched to the child through children.upn.
    assert (f["attendance_pct"], f["permanent_exclusion_12m"]) == (75.0, True)
    assert f["cp_months"] == 5
    assert f["next_review_due"] == pd.Timestamp("2025-01-01")  # 3 months, none held
    assert (f["sdq_total"], f["sdq_concern"]) == (16, True)  # teacher: 16 is the top band
    assert (f["rag"], f["reasons"]) == (
        "red",
        [
            "attendance 75.0%",  # red below 80%; not also amber "persistently absent"
            "permanently excluded in the last 12 months",
            "review overdue (due 01 Jan 2025)",
            "SDQ 16 (teacher)",
        ],
    )

    g = rows["G"]  # the CP plan ended in August; a CiN plan since
    assert (g["plan"], g["cin_plan_start"], g["cp_months"]) == (
        "cin_plan",
        pd.Timestamp("2024-08-01"),
        6,
    )
    assert g["cp_end"] == pd.Timestamp("2024-08-01")
    assert _missing(g["next_review_due"]) and _missing(g["attendance_pct"])
    assert (g["rag"], g["reasons"]) == ("green", [])


def test_a_red_rule_outranks_the_milder_rule_on_the_same_thing():
    colour, reasons = tr.rate({"placements_12m": 4, "placement_moves_12m": 3, "missing_12m": 1})
    assert colour == "red"
    assert reasons[0] == "4 placements in the last 12 months"
    assert reasons == [
        "4 placements in the last 12 months",  # not also "3 placement move(s)" (amber)
        "missing 1 time(s) in the last 12 months",  # amber, on something else
    ]


def test_locality_and_group_choices(con):
    assert list(tr.tracker(con, "cla", YEAR, locality="North")["child_id"]) == ["A"]
    assert tr.tracker(con, "cla", YEAR, locality="Nowhere").empty
    assert list(tr.tracker(con, "cla", YEAR, locality="Nowhere").columns) == list(tr.COLUMNS)
    assert tr.localities(con) == ["North", "South"]
    assert set(tr.cohorts()) == set(GROUPS)
    with pytest.raises(ValueError, match="not a group"):
        tr.tracker(con, "everyone", YEAR)
    assert tr.rag_counts(tr.tracker(con, "cla", "2024-25")) == {"red": 2, "amber": 1, "green": 1}


def test_rules_are_data_and_stated():
    table = tr.rules_table()
    assert list(table.columns) == ["rule", "colour", "when", "why"]
    assert table["rule"].is_unique
    assert set(table["colour"]) == {"red", "amber", "green"}
    assert table["why"].str.len().min() > 20  # every threshold is justified
    assert len(table) == len(tr.RULES) + 1  # and green says what it means
    words = readable.tracker_rules(table)
    assert list(words.columns) == ["Colour", "Rule", "When", "Why this threshold"]


def test_readable_table_with_and_without_ids(con):
    frame = tr.tracker(con, "cla", YEAR)
    plain = readable.tracker(frame)
    assert readable.AUTHORITY_ID not in plain.columns
    with_ids = readable.tracker(frame, {"A": "LA-0001"})
    assert list(with_ids.columns[:4]) == [
        "RAG",
        "Reasons",
        "Child (pseudonym)",
        "Authority's child id",
    ]
    rows = {row["Child (pseudonym)"]: row for row in with_ids.to_dict("records")}
    assert rows["A"]["Authority's child id"] == "LA-0001"
    assert rows["B"]["Authority's child id"] == ""  # not in the map: blank
    assert rows["A"]["RAG"] == "Red"
    assert rows["A"]["Attendance (12 months)"] == "80.0% (3 term(s) to 2024/25 spring)"
    assert rows["A"]["Placements (12 months)"] == "4"
    assert rows["B"]["Attendance (12 months)"] == ""  # missing is blank, never 0
    assert rows["B"]["Missing (12 months)"] == "0"
    assert rows["B"]["Next review due"] == "1 Mar 2025 (overdue)"
    assert "Full care order (C2)" in rows["A"]["Plan details"]
    assert rows["D"]["Risks named"] == "sexual exploitation; domestic abuse"
    assert readable.tracker(frame.iloc[0:0]).empty


# --- the rules as a property ---------------------------------------------------------------

_maybe_count = st.one_of(st.none(), st.integers(0, 8))
_maybe_bool = st.one_of(st.none(), st.booleans())
ROWS = st.fixed_dictionaries(
    {
        "plan": st.sampled_from(list(tr.PLAN_STATUSES)),
        "placements_12m": _maybe_count,
        "placement_moves_12m": _maybe_count,
        "missing_12m": _maybe_count,
        "away_12m": _maybe_count,
        "attendance_pct": st.one_of(st.none(), st.floats(0, 100), st.just(float("nan"))),
        "suspensions_12m": _maybe_count,
        "permanent_exclusion_12m": _maybe_bool,
        "cp_months": st.one_of(st.none(), st.integers(0, 60)),
        "cp_plan_number": st.one_of(st.none(), st.integers(1, 5)),
        "risks": st.lists(st.sampled_from(tr.RISKS), unique=True).map(tuple),
        "feels_safe": _maybe_bool,
        "sdq_total": st.one_of(st.none(), st.integers(0, 40)),
        "sdq_informant": st.sampled_from(["carer", "teacher", "self"]),
        "sdq_concern": _maybe_bool,
        "mental_health_need_unmet": _maybe_bool,
        "review_overdue": _maybe_bool,
        "next_review_due": st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2030, 1, 1))),
        "care_leaver_in_touch": st.sampled_from([None, "YES", "NO", "DIED"]),
        "care_leaver_eet": _maybe_bool,
        "care_leaver_accommodation_suitable": _maybe_bool,
    }
)


@given(ROWS)
def test_colour_follows_the_rules_that_fire(row):
    colour, reasons = tr.rate(row)
    fired = [rule for rule in tr.RULES if rule.condition(row)]
    assert (colour == "red") == any(rule.colour == "red" for rule in fired)
    assert (colour == "amber") == (not any(rule.colour == "red" for rule in fired) and bool(fired))
    assert (colour == "green") == (not fired)
    outranked = {milder for rule in fired for milder in rule.outranks}
    assert len(reasons) == len([r for r in fired if r.id not in outranked])
    assert all(isinstance(r, str) and r for r in reasons)
    assert bool(reasons) == (colour != "green")
    # The thresholds the rules state.
    if row["placements_12m"] is not None and row["placements_12m"] >= 3:
        assert colour == "red"
    attendance = row["attendance_pct"]
    if attendance is not None and attendance == attendance and attendance < 90:
        assert colour in ("red", "amber")


def test_missing_data_fires_no_rule():
    empty = dict.fromkeys(tr.COLUMNS, None) | {"risks": (), "plan": "no_plan_open"}
    assert tr.rate(empty) == ("green", [])
    na = {name: pd.NA for name in tr.COLUMNS} | {"risks": (), "plan": "looked_after"}
    assert tr.rate(na) == ("green", [])


# --- the demo authority --------------------------------------------------------------------

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo.duckdb"


@pytest.fixture(scope="module")
def demo():
    if not DEMO.exists():
        pytest.skip("the demo store is not built (python -m framework demo-store)")
    connection = duckdb.connect(str(DEMO), read_only=True)
    yield connection
    connection.close()


@pytest.mark.parametrize("group", GROUPS)
def test_demo_tracker_is_one_row_per_child(demo, group):
    # (Its speed is a benchmark in docs/benchmarks.md, not asserted here.)
    period = Period(2026)
    frame = tr.tracker(demo, group, period)
    assert frame["child_id"].is_unique
    assert set(frame["child_id"]) == group_members(demo, group, period)
    assert set(frame["rag"]) <= {"red", "amber", "green"}
    assert all(
        bool(r) == (c != "green") for c, r in zip(frame["rag"], frame["reasons"], strict=True)
    )
    looked_after = frame["placements_12m"].notna()
    assert (frame.loc[looked_after, "placements_12m"] >= 1).all()
    assert (frame["placement_moves_12m"].dropna() >= 0).all()
    in_care = frame["plan"] == "looked_after"
    assert frame.loc[in_care, "placements_12m"].notna().all()
    attendance = frame["attendance_pct"].dropna()
    assert ((attendance >= 0) & (attendance <= 100)).all()
