# ruff: noqa: E501  (the worked examples are wide tables, kept whole for readability)
"""Worked examples for domain A (spec §5): staff survey items, organisation facts, multi-agency
meetings and the workforce. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

import pytest

import framework.engine.measures.domain_a  # noqa: F401  (registers the measures)
from framework.engine.aggregate import Query, evaluate
from framework.engine.periods import Period
from framework.engine.units import MEASURES, MeasureContext
from tests.engine_store import tiny_store


def units(store, indicator: str, period: str = "2024-25"):
    return MEASURES[indicator].units(MeasureContext(store, Period.parse(period)))


def counts(frame) -> tuple[int, int]:
    cohort = frame[frame["in_denominator"]]
    return int(cohort["in_numerator"].sum()), len(cohort)


def ratio(frame) -> tuple[float, float]:
    cohort = frame[frame["in_denominator"]]
    return float(cohort["value"].sum()), float(cohort["amount"].sum())


# --- Staff survey items ---------------------------------------------------------------------

SURVEY_ITEMS = [
    ("A1.1", "a1_1_council_committed"),
    ("A1.2", "a1_2_clear_priorities"),
    ("A1.3", "a1_3_leaders_in_touch"),
    ("A2.3", "a2_3_apply_values"),
    ("A3.1", "a3_1_reflective_learning"),
    ("A3.2", "a3_2_feedback_planning"),
    ("A3.3", "a3_3_feedback_practice"),
    ("A4.3", "a4_3_multi_agency_effective"),
    ("A5.1", "a5_1_information"),
    ("A5.2", "a5_2_case_system"),
    ("A5.3", "a5_3_systems_training"),
    ("A5.4", "a5_4_work_environment"),
    ("A6.1b", "a6_1_apply_framework"),
    ("A6.2", "a6_2_evidence"),
    ("A6.3", "a6_3_family_network"),
    ("A6.4", "a6_4_meaningful_role"),
    ("A6.5", "a6_5_trusting_relationships"),
    ("A6.6", "a6_6_autonomy"),
    ("A8.1a", "a8_1a_time_with_children"),
    ("A8.1b", "a8_1b_improved_outcomes"),
    ("A8.2", "a8_2_valued"),
    ("A8.3", "a8_3_supervision"),
    ("A8.4", "a8_4_development"),
    ("A8.5", "a8_5_workload"),
    ("A9.1", "a9_1_own_skills"),
    ("A9.2a", "a9_2a_colleagues_skills"),
    ("A9.2b", "a9_2b_managers_skills"),
    ("A9.3a", "a9_3a_team_skill_mix"),
    ("A9.3b", "a9_3b_department_skill_mix"),
]


@pytest.mark.parametrize(("indicator", "column"), SURVEY_ITEMS)
def test_staff_item_agreeing_among_respondents_who_answered(indicator, column):
    # R1 agrees (4) on 1 April 2024, the first day of 2024-25; R2 is neutral (3) on 31 March
    # 2025, the last day; R3 strongly agrees (5) but left the item blank -> not answered;
    # R4 answered on 31 March 2024 and R5 on 1 April 2025: other years.
    # Every other item column is blank, so the indicator must read its own column.
    store = tiny_store(f"""
        staff_survey
        survey | respondent_id | response_date | level         | team   | {column}
        S24    | R1            | 2024-04-01    | social_worker | Team A | 4
        S24    | R2            | 2025-03-31    | team_manager  |        | 3
        S24    | R3            | 2024-10-10    | social_worker | Team A |
        S23    | R4            | 2024-03-31    | social_worker | Team A | 5
        S25    | R5            | 2025-04-01    | social_worker | Team A | 5
    """)
    frame = units(store, indicator)
    assert counts(frame) == (1, 2)  # R1 of R1, R2
    row = frame.set_index("unit_id").loc["S24 / R1"]
    assert (row["staff_level"], row["team"]) == ("social_worker", "Team A")


def test_staff_items_two_parts_are_separate_indicators():
    # R1 answered only the first part of A8.1 (5), R2 only the second (2): each part has its
    # own denominator of one.
    store = tiny_store("""
        staff_survey
        survey | respondent_id | response_date | a8_1a_time_with_children | a8_1b_improved_outcomes
        S24    | R1            | 2024-11-01    | 5                        |
        S24    | R2            | 2024-11-02    |                          | 2
    """)
    assert counts(units(store, "A8.1a")) == (1, 1)
    assert counts(units(store, "A8.1b")) == (0, 1)


def test_staff_items_no_survey_is_no_data():
    assert units(tiny_store(), "A1.1").empty


# --- A4.4: factors supporting or undermining multi-agency working -------------------------------


def test_a4_4_one_unit_per_mention():
    # R1 names two supports and one underminer; R2 one support; R3 answered neither question;
    # R4 repeats it_systems (counted once) and names a code outside the list (not counted);
    # R5 answered in 2023-24.
    store = tiny_store("""
        staff_survey
        survey | respondent_id | response_date | level         | team | a4_4_supports                   | a4_4_undermines
        S24    | R1            | 2024-10-01    | social_worker | A    | information_sharing;co_location | it_systems
        S24    | R2            | 2024-10-02    | team_manager  | B    | information_sharing             |
        S24    | R3            | 2024-10-03    | social_worker | A    |                                 |
        S24    | R4            | 2024-10-04    | other         | C    |                                 | it_systems; it_systems;bananas
        S23    | R5            | 2023-10-04    | other         | C    | leadership                      |
    """)
    frame = units(store, "A4.4")
    assert frame["in_denominator"].all()
    assert frame["category"].value_counts().to_dict() == {
        "supports:information_sharing": 2,  # R1, R2
        "undermines:it_systems": 2,  # R1, R4 (once)
        "supports:co_location": 1,  # R1
    }
    assert len(MEASURES["A4.4"].categories) == 18
    row = frame.set_index("unit_id").loc["S24 / R4 / undermines / it_systems"]
    assert (row["staff_level"], row["team"]) == ("other", "C")


# --- Organisation facts -------------------------------------------------------------------------


def test_facts_of_the_periods_year():
    # 2024-25 is year 2025: a values statement that does not describe how the values operate,
    # and a practice framework. 2023-24 (year 2024) says otherwise and must not be read.
    store = tiny_store("""
        organisation_facts
        year | values_statement | values_describe_operation | practice_framework
        2025 | true             | false                     | true
        2024 | false            | false                     | false
    """)
    assert units(store, "A2.1")["value"].tolist() == [1.0]
    assert units(store, "A2.2")["value"].tolist() == [0.0]
    assert units(store, "A6.1a")["value"].tolist() == [1.0]
    assert units(store, "A6.1a", "2024-25H2")["value"].tolist() == [1.0]  # a half: its year
    # No row for 2025-26: no data, never "no".
    for indicator in ("A2.1", "A2.2", "A6.1a"):
        assert units(store, indicator, "2025-26").empty


# --- A4.1, A4.2: meetings attended by all the agencies expected ---------------------------------

MEETINGS = """
    multi_agency_meetings
    meeting_id | meeting_date | level       | agencies_expected       | agencies_attended
    M1         | 2024-04-01   | strategic   | police;education        | education;police
    M2         | 2025-03-31   | strategic   | police;health_provider  | police
    M3         | 2024-03-31   | strategic   | police                  | police
    M4         | 2024-06-01   | strategic   | police                  | police;housing
    M5         | 2024-07-01   | operational | police;education        |
    M6         | 2024-08-01   | operational | police                  | police
    M7         | 2025-04-01   | operational | police                  | police
"""


def test_a4_1_strategic_meetings_fully_attended():
    # In 2024-25: M1 (all came, in another order), M2 (health missing), M4 (an unexpected
    # agency too: still all expected came). M3 is 31 March 2024: the year before.
    frame = units(tiny_store(MEETINGS), "A4.1")
    assert counts(frame) == (2, 3)
    assert set(frame.loc[frame["in_numerator"], "unit_id"]) == {"meeting / M1", "meeting / M4"}


def test_a4_2_operational_meetings_fully_attended():
    # M5 (nobody attended) and M6 (all came); M7 is 1 April 2025: next year.
    assert counts(units(tiny_store(MEETINGS), "A4.2")) == (1, 2)


# --- Workforce: local HR records ----------------------------------------------------------------

# 2024-25 = year 2025, 1 April 2024 to 31 March 2025 (365 days).
#   W1 social worker since 2020, in post all year, 10 sickness days.
#   W2 left 30 Sept 2024 (a leaver; in post at the start, not at the end), 0.5 FTE.
#   W3 team manager, started 1 April 2024 (in post at the start), left 31 March 2025 (a leaver:
#      not in post at the end).
#   W4 started 1 Oct 2024 (not in post at the start), 0.8 FTE, 2 sickness days.
#   W5 agency social worker: not in turnover, service or sickness; in the agency rate.
#   W6 started 31 March 2023: exactly 2 years' service on 31 March 2025 (not under 2).
#   W7 started 1 April 2023: one day short of 2 years (under 2).
#   W9 other staff in team C, which has no establishment row.
#   W8 is a row of year 2024 (2023-24): never read for 2024-25.
STAFF = """
    workforce_staff
    worker_id | year | level         | team | start_date | leave_date | fte | agency | sickness_days
    W1        | 2025 | social_worker | A    | 2020-01-01 |            | 1.0 | false  | 10
    W2        | 2025 | social_worker | A    | 2023-06-01 | 2024-09-30 | 0.5 | false  | 4
    W3        | 2025 | team_manager  | A    | 2024-04-01 | 2025-03-31 | 1.0 | false  |
    W4        | 2025 | social_worker | A    | 2024-10-01 |            | 0.8 | false  | 2
    W5        | 2025 | social_worker | A    | 2024-06-01 |            | 1.0 | true   |
    W6        | 2025 | social_worker | A    | 2023-03-31 |            | 1.0 | false  |
    W7        | 2025 | social_worker | A    | 2023-04-01 |            | 1.0 | false  |
    W9        | 2025 | other         | C    | 2010-01-01 |            | 1.0 | false  |
    W8        | 2024 | social_worker | A    | 2015-01-01 | 2024-03-31 | 1.0 | false  | 50

    workforce_posts
    year | level         | team | established_fte
    2025 | social_worker | A    | 5.0
    2025 | team_manager  | A    | 1.0
    2025 | social_worker | B    | 1.0
    2024 | social_worker | A    | 9.0

    caseloads
    worker_id | snapshot_date | team | children_allocated
    W1        | 2025-02-28    | A    | 99
    W1        | 2025-03-31    | A    | 20
    W4        | 2025-03-31    | A    | 10
    X         | 2025-03-31    | A    | 5
    W1        | 2025-04-30    | A    | 99
"""


def test_a7_1_turnover_local():
    # Leavers' FTE: W2 0.5 + W3 1.0 = 1.5.
    # Mean FTE of start and end, per employee: W1 1.0, W2 0.5/2 = 0.25, W3 1.0/2 = 0.5,
    # W4 0.8/2 = 0.4, W6 1.0, W7 1.0, W9 1.0 -> 5.15. (W5 agency, W8 another year.)
    frame = units(tiny_store(STAFF), "A7.1")
    value, amount = ratio(frame)
    assert value == pytest.approx(1.5)
    assert amount == pytest.approx(5.15)
    assert set(frame["unit_id"]) == {f"worker / W{i}" for i in (1, 2, 3, 4, 6, 7, 9)}
    assert frame.set_index("unit_id").loc["worker / W3", "staff_level"] == "team_manager"


def test_a7_2_vacancy_local():
    # Filled on 31 March 2025 (employees): social workers in A: W1 1.0 + W4 0.8 + W6 1.0 +
    # W7 1.0 = 3.8 (W5 is agency: the post is still vacant); team manager A: 0 (W3 left).
    # SW A 5.0 - 3.8 = 1.2 vacant of 5.0; TM A 1.0 of 1.0; SW B 1.0 of 1.0; other C: no
    # establishment, 1.0 filled, 0 vacant of 1.0. Total 3.2 / 8.0.
    frame = units(tiny_store(STAFF), "A7.2")
    value, amount = ratio(frame)
    assert value == pytest.approx(3.2)
    assert amount == pytest.approx(8.0)
    assert len(frame) == 4


def test_a7_3_under_two_years_service_local():
    # Employees in post on 31 March 2025: W1, W4 (under 2), W6 (exactly 2), W7 (under 2), W9.
    frame = units(tiny_store(STAFF), "A7.3")
    assert counts(frame) == (2, 5)
    assert set(frame.loc[frame["in_numerator"], "unit_id"]) == {"worker / W4", "worker / W7"}


def test_a7_3_median_years_of_service_beside_the_share():
    # Service on 31 March 2025: W4 182 days, W7 730, W6 731 (2024 was a leap year), W1 about
    # 5.2 years, W9 about 15.2: the middle one of five is W6's 731 days.
    query = Query(("A7.3",), Period.parse("2024-25"), threshold=0, with_change=False)
    whole = evaluate(tiny_store(STAFF), query).iloc[0]
    assert whole["median"] == pytest.approx(731 / 365.25)
    assert (whole["numerator"], whole["denominator"]) == (2, 5)


def test_a7_4_agency_rate_local():
    # In post on 31 March 2025: W1 1.0, W4 0.8, W5 1.0 (agency), W6 1.0, W7 1.0, W9 1.0.
    assert ratio(units(tiny_store(STAFF), "A7.4")) == pytest.approx((1.0, 5.8))


def test_a8_6_sickness_per_fte_local():
    # Employees with sickness recorded: W1 10 days over 1.0 FTE-year; W2 4 days over
    # 0.5 x 183/365 (1 April-30 Sept); W4 2 days over 0.8 x 182/365 (1 Oct-31 March).
    value, amount = ratio(units(tiny_store(STAFF), "A8.6"))
    assert value == pytest.approx(16.0)
    assert amount == pytest.approx(1.0 + 0.5 * 183 / 365 + 0.8 * 182 / 365)


def test_a8_5b_caseload_per_fte_at_the_last_snapshot():
    # The last snapshot in 2024-25 is 31 March 2025: W1 20 children (1.0 FTE), W4 10 (0.8).
    # X has no workforce record: outside the denominator. 28 Feb and 30 April are not read.
    frame = units(tiny_store(STAFF), "A8.5b")
    assert ratio(frame) == pytest.approx((30.0, 1.8))
    assert frame.loc[~frame["in_denominator"], "unit_id"].tolist() == ["worker / X / 2025-03-31"]


def test_workforce_half_year_is_measured_over_its_year():
    store = tiny_store(STAFF)
    assert ratio(units(store, "A7.1", "2024-25H1")) == pytest.approx((1.5, 5.15))


# --- Workforce: CSWW fallback -----------------------------------------------------------------

# No local records for 2024-25: the CSWW whose reference date (30 Sept 2024) is in the year,
# its year running 1 Oct 2023 to 30 Sept 2024 (366 days: February 2024 has 29).
#   S1 case holder (OrgRole 5) since 2015, 6 days lost.
#   S2 team manager (OrgRole 3), started 1 Oct 2023 (in post at the start), left 30 Sept 2024
#      (a leaver, not in post at the end), 0.6 FTE, 3 days lost.
#   S3 agency, in post on 30 September.
#   S4 belongs to CSWW 2025 (2025-26): not read.
CSWW = """
    workforce_workers
    worker_id | year | agency_worker | fte | fte_30_september | org_role | role_start_date | role_end_date | working_days_lost
    S1        | 2024 | false         | 1.0 | 1.0              | 5        | 2015-01-01      |               | 6
    S2        | 2024 | false         | 0.6 |                  | 3        | 2023-10-01      | 2024-09-30    | 3
    S3        | 2024 | true          | 1.0 | 1.0              | 5        | 2024-05-01      |               |
    S4        | 2025 | false         | 1.0 | 1.0              | 5        | 2024-05-01      | 2025-01-01    | 1

    workforce_vacancies
    year | vacancies_fte
    2024 | 2.0
    2025 | 9.0
"""


def test_workforce_from_csww_when_no_local_records():
    store = tiny_store(CSWW)
    # Turnover: S2 0.6 left; mean FTE S1 1.0 + S2 0.6/2 = 1.3.
    turnover = units(store, "A7.1")
    assert ratio(turnover) == pytest.approx((0.6, 1.3))
    assert turnover.set_index("unit_id").loc["worker / S2", "staff_level"] == "team_manager"
    # Vacancy: 2.0 vacant / (2.0 + S1's 1.0 employed on 30 September).
    assert ratio(units(store, "A7.2")) == pytest.approx((2.0, 3.0))
    # Agency: S3 1.0 of S1 1.0 + S3 1.0 in post on 30 September.
    assert ratio(units(store, "A7.4")) == pytest.approx((1.0, 2.0))
    # Service: S1 only (employed on 30 Sept), nearly 10 years.
    assert counts(units(store, "A7.3")) == (0, 1)
    # Sickness: (6 + 3) days over 1.0 + 0.6 (both in post the whole CSWW year).
    assert ratio(units(store, "A8.6")) == pytest.approx((9.0, 1.6))


def test_workforce_no_data():
    for indicator in ("A7.1", "A7.2", "A7.3", "A7.4", "A8.6", "A8.5b"):
        assert units(tiny_store(), indicator).empty
