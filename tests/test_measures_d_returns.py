"""Worked examples for the domain D indicators computed from the returns (spec §8 and §12).

The period is 2024-25: the last 6 months are 1 October 2024 to 31 March 2025 and the 6 months
before are 1 April to 30 September 2024. Each example works out its answer by hand.
"""

from __future__ import annotations

import framework.engine.measures.domain_d_returns  # noqa: F401  (registers the measures)
from framework.engine.periods import Period
from framework.engine.units import MEASURES, UNIT_COLUMNS, MeasureContext
from tests.engine_store import categories, denominator, numerator, tiny_store


def units(indicator: str, text: str, period: str = "2024-25"):
    ctx = MeasureContext(tiny_store(text), Period.parse(period))
    return MEASURES[indicator].units(ctx)


# --- D1: missing ------------------------------------------------------------------------------


def test_d1_1_went_missing_in_the_last_6_months():
    frame = units(
        "D1.1",
        """
        episodes
        child_id | start_date | reason_new_episode | legal_status | end_date
        A        | 2024-06-01 | S                  | C2           |
        B        | 2024-01-01 | S                  | C2           | 2024-09-30
        C        | 2024-01-01 | S                  | C2           |
        D        | 2024-01-01 | S                  | C2           |

        missing_episodes
        child_id | missing_type | start_date | end_date
        A        | M            | 2024-10-01 | 2024-10-02
        B        | M            | 2024-09-30 | 2024-09-30
        C        | A            | 2024-11-01 | 2024-11-01
        D        | M            | 2024-09-30 | 2024-10-05

        case_reviews
        child_id | review_date | plan_type | missing
        E        | 2024-12-01  | cin       | true
        F        | 2025-03-31  | cp        | false
        G        | 2024-11-01  | cin       |
        H        | 2024-11-01  | cla       | true
        I        | 2024-09-30  | cin       | true
        """,
    )
    # Looked after in the last 6 months: A, C, D (B left care on 30 September).
    # Not looked after, with a CiN/CP review in them answering "missing": E, F. G's review
    # did not answer; H's is a care-plan review with no episode (the 903 is the source for
    # looked-after children); I's review was before 1 October. Cohort A, C, D, E, F = 5.
    # Went missing: A (1 October), E (review yes). C was away (A), not missing; D's period
    # started on 30 September. 2 / 5.
    assert denominator(frame) == {"A", "C", "D", "E", "F"}
    assert numerator(frame) == {"A", "E"}


def test_d1_2_change_in_missing_episodes():
    frame = units(
        "D1.2",
        """
        episodes
        child_id | start_date | reason_new_episode | legal_status | end_date
        A        | 2024-01-01 | S                  | C2           |
        B        | 2024-01-01 | S                  | C2           |
        C        | 2024-01-01 | S                  | C2           |
        D        | 2024-10-01 | S                  | C2           |
        E        | 2023-01-01 | S                  | C2           | 2024-09-30
        F        | 2024-01-01 | S                  | C2           |
        G        | 2024-09-30 | S                  | V2           |

        missing_episodes
        child_id | missing_type | start_date
        A        | M            | 2024-05-01
        A        | M            | 2024-11-01
        A        | M            | 2025-03-31
        B        | M            | 2024-04-01
        B        | M            | 2024-09-30
        D        | M            | 2024-11-01
        F        | M            | 2024-06-01
        F        | A            | 2024-12-01
        G        | M            | 2025-01-01
        """,
    )
    # Looked after in both halves: A, B, C, F, G (D only since 1 October; E left on 30 Sept;
    # G arrived on 30 September, the last day of the first half).
    # A 1 -> 2 more; B 2 -> 0 fewer; C 0 -> 0 no change; F 1 -> 0 fewer (away is not missing);
    # G 0 -> 1 more.
    assert categories(frame) == {
        "A": "more",
        "B": "fewer",
        "C": "no_change",
        "F": "fewer",
        "G": "more",
    }


# --- D3, D13: care leavers ------------------------------------------------------------------

OC3 = """
    care_leavers
    child_id | year | in_touch | activity | accommodation
    A        | 2025 | YES      | F1       | D1
    B        | 2025 | NO       | G5       | R2
    C        | 2025 | DIED     | 0        | 0
    D        | 2025 | RHOM     | 0        | 0
    E        | 2025 | YES      | P5       | B2
    F        | 2024 | YES      | F1       | D1
    G        | 2025 | REFU     |          |
"""
# 2024-25 uses the 2025 OC3 rows (F's is 2023-24's). C died and D returned home: left out.
# Denominator A, B, E, G = 4.


def test_d3_1_care_leavers_in_suitable_accommodation():
    frame = units("D3.1", OC3)
    assert denominator(frame) == {"A / 2025", "B / 2025", "E / 2025", "G / 2025"}
    assert numerator(frame) == {"A / 2025"}  # only A's ACCOM ends in 1: 1 / 4


def test_d13_3_care_leavers_in_education_employment_or_training():
    frame = units("D13.3", OC3)
    assert len(denominator(frame)) == 4
    assert numerator(frame) == {"A / 2025", "E / 2025"}  # F1 and P5: 2 / 4


def test_oc3_with_no_rows_for_the_year_is_no_data():
    frame = units("D3.1", OC3, period="2026-27")
    assert frame.empty and set(frame.columns) >= set(UNIT_COLUMNS)


OC3_HISTORY = """
    care_leavers
    child_id | year | in_touch | activity | accommodation
    A        | 2024 | YES      | F1       | D1
    A        | 2025 | YES      | G5       | D2
    B        | 2024 | YES      | G5       | D2
    B        | 2025 | YES      | F5       | D1
    C        | 2023 | YES      | F2       | D1
    C        | 2024 | RHOM     | 0        | 0
    C        | 2025 | YES      | F2       | D1
    D        | 2025 | YES      | F1       | D1
    E        | 2024 | YES      | G6       | B2
    E        | 2025 | YES      | G4       | B2
    F        | 2025 | YES      | F1       | D1
    F        | 2026 | YES      | G5       | D2
    G        | 2024 | YES      | F1       | D1
    G        | 2025 | DIED     | 0        | 0
"""
# Each care leaver's 2025 row against their latest earlier row with a known status.
# C's 2024 row (returned home, ACCOM/ACTIV 0) is passed over for 2023's. D has no earlier row,
# F's other row is later, G's 2025 row has no status: left out. Cohort A, B, C, E.


def test_d3_2_changes_in_accommodation_suitability():
    assert categories(units("D3.2", OC3_HISTORY)) == {
        "A / 2025": "suitable_to_unsuitable",
        "B / 2025": "unsuitable_to_suitable",
        "C / 2025": "stayed_suitable",
        "E / 2025": "stayed_unsuitable",
    }


def test_d13_4_changes_in_eet_status():
    assert categories(units("D13.4", OC3_HISTORY)) == {
        "A / 2025": "out_of_eet",
        "B / 2025": "into_eet",
        "C / 2025": "stayed_eet",
        "E / 2025": "stayed_not_eet",
    }


# --- D5: placement moves and permanence ---------------------------------------------------------


def test_d5_4_unplanned_placement_changes_in_the_last_6_months():
    frame = units(
        "D5.4",
        """
        episodes
        child_id | start_date | reason_new_episode | legal_status | placement_type | end_date   | reason_ceased | reason_place_change
        A        | 2024-01-01 | S                  | C2           | U6             | 2024-10-01 | X1            | CREQB
        A        | 2024-10-01 | P                  | C2           | U6             |            |               |
        B        | 2024-01-01 | S                  | C2           | U6             | 2024-11-01 | X1            | CARPL
        B        | 2024-11-01 | P                  | C2           | U4             |            |               |
        C        | 2024-01-01 | S                  | C2           | U6             | 2024-09-30 | X1            | CHILD
        C        | 2024-09-30 | P                  | C2           | K2             |            |               |
        D        | 2024-01-01 | S                  | C2           | U4             | 2024-12-01 | X1            | CREQO
        D        | 2024-12-01 | P                  | C2           | T4             | 2024-12-05 | X1            |
        D        | 2024-12-05 | P                  | C2           | U6             |            |               |
        E        | 2024-11-01 | S                  | V3           | U6             | 2024-11-02 | E4A           |
        F        | 2024-01-01 | S                  | C2           | U6             | 2025-03-31 | X1            | STAND
        F        | 2025-03-31 | B                  | C1           | K2             |            |               |
        G        | 2024-01-01 | S                  | C2           | U6             | 2025-04-01 | X1            | ALLEG
        G        | 2025-04-01 | P                  | C2           | U6             |            |               |
        """,  # noqa: E501
    )
    # Looked after in the last 6 months: A, B, C, D, F, G (E's short break is not care) = 6.
    # A: new carer 1 Oct after the carer asked (CREQB) -> unplanned. B: care plan (CARPL).
    # C: moved on 30 September, before the period. D: the T4 week is not a change; the move
    # on 5 Dec replaces the U4 placement that ended CREQO -> unplanned. F: 31 March, ended
    # STAND -> unplanned. G: 1 April 2025, after the period. 3 / 6.
    assert denominator(frame) == {"A", "B", "C", "D", "F", "G"}
    assert numerator(frame) == {"A", "D", "F"}


def test_d5_5_moves_to_permanence_that_broke_down():
    frame = units(
        "D5.5",
        """
        episodes
        child_id | start_date | reason_new_episode | legal_status | end_date   | reason_ceased
        A        | 2022-01-01 | S                  | C2           | 2023-10-01 | E11
        B        | 2022-01-01 | S                  | C2           | 2024-03-31 | E45
        B        | 2025-03-31 | S                  | V2           |            |
        C        | 2022-01-01 | S                  | C2           | 2023-12-01 | E4A
        C        | 2024-12-02 | S                  | V2           |            |
        D        | 2022-01-01 | S                  | C2           | 2024-01-15 | E4B
        E        | 2022-01-01 | S                  | C2           | 2023-09-30 | E41
        F        | 2022-01-01 | S                  | C2           | 2024-02-01 | E47
        F        | 2024-03-01 | S                  | V3           | 2024-03-02 | E4A
        G        | 2023-01-01 | S                  | C2           | 2023-11-01 | X1
        G        | 2023-11-01 | L                  | E1           | 2024-01-10 | E12
        G        | 2024-06-01 | S                  | V2           |            |
        """,
    )
    # 2024-25: moves from 1 Oct 2023 to 31 March 2024 (the last 6 months, 12 months back).
    # A adopted 1 Oct 2023, never back -> succeeded. B SGO 31 March 2024, back in care
    # 31 March 2025 (12 months on) -> broke down. C home (E4A) 1 Dec 2023, back on 2 Dec 2024,
    # a day after 12 months -> succeeded. D returned home outside care planning (E4B): not a
    # move to permanence. E's CAO on 30 Sept 2023 is before the window. F's SGO held: the
    # short break later is not care. G adopted 10 Jan 2024 at the end of a 2-episode period,
    # back in care in June -> broke down.
    assert categories(frame) == {
        "A / 2023-10-01": "succeeded",
        "B / 2024-03-31": "broke_down",
        "C / 2023-12-01": "succeeded",
        "F / 2024-02-01": "succeeded",
        "G / 2024-01-10": "broke_down",
    }
