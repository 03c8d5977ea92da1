"""Worked examples for domain C (spec §7, §12): changes of social worker, child and parent
survey items, taking part in planning, parents at meetings, and complaints. Every expected
number is worked out by hand in the comments."""

from __future__ import annotations

import pytest

import framework.engine.measures.domain_c  # noqa: F401  (registers the measures)
from framework.engine.periods import Period
from framework.engine.units import MEASURES, MeasureContext
from tests.engine_store import numerator, tiny_store


def units(store, indicator: str, period: str = "2024-25"):
    return MEASURES[indicator].units(MeasureContext(store, Period.parse(period)))


def counts(frame) -> tuple[int, int]:
    cohort = frame[frame["in_denominator"]]
    return int(cohort["in_numerator"].sum()), len(cohort)


# --- C1.1: changes of social worker in the last 6 months ----------------------------------------

# 2024-25: the last 6 months are 1 October 2024 to 31 March 2025.
#   A: W1 left on 15 Nov; W2 took over the same day -> a change.
#   B: changed worker on 30 Sept (before the 6 months); W2 held the case through them -> no.
#   C: case closed in June, reopened in December with W2 -> a new case, not a change.
#   D: only allocation ended 30 Sept -> no worker in the 6 months: not in the cohort.
#   E: first allocated 1 April 2025 -> not in the cohort.
#   F: first allocated 1 Oct 2024 -> in the cohort, no change.
#   G: transferred to team Y with W2 on 31 March 2025 -> a change; team at the end is Y.
#   H: a new allocation to the same worker W1 -> not a change.
#   J: W1 went off sick (other) open-ended; W3 allocated alongside in January -> a change.
ALLOCATIONS = """
    worker_allocations
    child_id | worker_id | team | start_date | end_date   | end_reason
    A        | W1        | X    | 2024-01-01 | 2024-11-15 | worker_left
    A        | W2        | X    | 2024-11-15 |            |
    B        | W1        | X    | 2024-02-01 | 2024-09-30 | worker_left
    B        | W2        | X    | 2024-09-30 |            |
    C        | W1        | X    | 2024-01-01 | 2024-06-01 | case_closed
    C        | W2        | X    | 2024-12-01 |            |
    D        | W1        | X    | 2024-05-01 | 2024-09-30 | other
    E        | W1        | X    | 2025-04-01 |            |
    F        | W1        | X    | 2024-10-01 |            |
    G        | W1        | X    | 2024-04-01 | 2025-03-31 | case_transferred
    G        | W2        | Y    | 2025-03-31 |            |
    H        | W1        | X    | 2024-06-01 | 2024-12-01 | worker_moved
    H        | W1        | Z    | 2024-12-01 |            |
    J        | W1        | X    | 2024-03-01 |            |
    J        | W3        | X    | 2025-01-10 |            |
"""


def test_c1_1_changed_social_worker_in_the_last_six_months():
    frame = units(tiny_store(ALLOCATIONS), "C1.1")
    assert counts(frame) == (3, 7)  # A, G, J of A, B, C, F, G, H, J
    assert numerator(frame) == {"A", "G", "J"}
    teams = frame.set_index("unit_id")["team"]
    assert teams["G"] == "Y"
    assert teams["H"] == "Z"
    assert (frame["child_id"] == frame["unit_id"]).all()


def test_c1_1_half_year_uses_the_half():
    # 2024-25H1 (April-September 2024): held a worker then: A, B, C, D, G, H, J (F and E
    # start later). Changes in April-September: B's on 30 September only.
    frame = units(tiny_store(ALLOCATIONS), "C1.1", "2024-25H1")
    assert counts(frame) == (1, 7)
    assert numerator(frame) == {"B"}


def test_c1_1_counts_the_workers_each_child_had_in_the_year():
    # Different workers in the 12 months to 31 March 2025: A, B, C, G and J had two; F had
    # one, and so did H (W1 twice).
    workers = units(tiny_store(ALLOCATIONS), "C1.1").set_index("unit_id")["value"]
    assert workers.to_dict() == {"A": 2, "B": 2, "C": 2, "F": 1, "G": 2, "H": 1, "J": 2}
    # 12 months to 30 September 2024: only B had two (W2 from that day); A's W2 came later.
    workers = units(tiny_store(ALLOCATIONS), "C1.1", "2024-25H1").set_index("unit_id")["value"]
    assert workers.to_dict() == {"A": 1, "B": 2, "C": 1, "D": 1, "G": 1, "H": 1, "J": 1}


def test_c1_1_no_allocations_is_no_data():
    assert units(tiny_store(), "C1.1").empty


# --- Survey items -----------------------------------------------------------------------------


def test_c1_2_three_items_together():
    # R1 5, 4, 3: mean 4 -> agrees; R2 4, 4, 3: mean 3.67 -> does not; R3 left one blank -> not
    # in the denominator; R4 answered in 2023-24.
    store = tiny_store("""
        child_survey
        survey | respondent_id | response_date | c1_2_trust | c1_2_support | c1_2_empowerment
        C25    | R1            | 2025-01-10    | 5          | 4            | 3
        C25    | R2            | 2025-03-31    | 4          | 4            | 3
        C25    | R3            | 2025-01-12    | 5          | 5            |
        C24    | R4            | 2024-03-31    | 5          | 5            | 5
    """)
    frame = units(store, "C1.2")
    assert counts(frame) == (1, 2)
    assert numerator(frame) == {"C25 / R1"}


SURVEY_ITEMS = [
    ("C1.3", "child_survey", "c1_3_open_honest"),
    ("C3.1a", "child_survey", "c3_1_needs"),
    ("C3.1b", "child_survey", "c3_1_support"),
    ("C5.1", "child_survey", "c5_1_other_services"),
    ("C2.1", "parent_survey", "c2_1_relationship"),
    ("C2.2", "parent_survey", "c2_2_open_honest"),
    ("C4.1a", "parent_survey", "c4_1_needs"),
    ("C4.1b", "parent_survey", "c4_1_support"),
    ("C6.1", "parent_survey", "c6_1_other_services"),
]


@pytest.mark.parametrize(("indicator", "table", "column"), SURVEY_ITEMS)
def test_family_survey_item(indicator, table, column):
    # R1 agrees (4, 1 April 2024), R2 disagrees (2, 31 March 2025), R3 left it blank, R4
    # answered on 1 April 2025 (next year). Other items are blank: the indicator reads its own.
    relationship = " | relationship" if table == "parent_survey" else ""
    parent = " | parent" if table == "parent_survey" else ""
    store = tiny_store(f"""
        {table}
        survey | respondent_id | response_date | child_group | age_band | {column}{relationship}
        S      | R1            | 2024-04-01    | cin         | 5-9      | 4{parent}
        S      | R2            | 2025-03-31    | cp          | 1-4      | 2{parent}
        S      | R3            | 2024-06-01    | cla         | 10-15    |{parent}
        S      | R4            | 2025-04-01    | cla         | 10-15    | 5{parent}
    """)
    frame = units(store, indicator)
    assert counts(frame) == (1, 2)
    row = frame.set_index("unit_id").loc["S / R1"]
    assert (row["respondent_group"], row["age_band"]) == ("cin", "5-9")


# --- C3.2: children aged 4+ taking part in planning ----------------------------------------------

# 2024-25. Looked-after reviews (SSDA903):
#   A 1 April 2024 PN1, A 1 Oct 2024 PN4: attended (2).
#   B 1 May 2024 PN0: under 4, left out. B 31 March 2025 PN5: briefed an advocate (took part,
#   did not attend). C 1 June 2024 PN7: neither. D 1 April 2025, E 31 March 2024: other years.
# Local planning meetings:
#   F cin_review attended; F core_group views conveyed; G ICPC not applicable (left out);
#   G CP review did not take part; H cla_review: in the SSDA903 already (left out);
#   K is a day short of 4 at the meeting (left out, whatever its code); L is 4 that day.
PARTICIPATION = """
    looked_after_reviews
    child_id | review_date | participation_code
    A        | 2024-04-01  | PN1
    A        | 2024-10-01  | PN4
    B        | 2024-05-01  | PN0
    B        | 2025-03-31  | PN5
    C        | 2024-06-01  | PN7
    D        | 2025-04-01  | PN1
    E        | 2024-03-31  | PN1

    planning_meetings
    child_id | meeting_date | meeting_type          | child_participation
    F        | 2024-07-01   | cin_review            | attended
    F        | 2024-08-01   | core_group            | views_conveyed
    G        | 2024-09-01   | initial_cp_conference | not_applicable
    G        | 2024-09-02   | cp_review_conference  | did_not_take_part
    H        | 2024-09-03   | cla_review            | attended
    K        | 2024-11-01   | cin_review            | did_not_take_part
    L        | 2024-11-01   | cin_review            | did_not_take_part

    children
    child_id | date_of_birth
    K        | 2020-11-02
    L        | 2020-11-01
"""


def test_c3_2_attended_reviews_and_meetings():
    # Denominator: A x2, B PN5, C PN7, F x2, G CP review, L = 8. Attended: A x2, F review = 3.
    frame = units(tiny_store(PARTICIPATION), "C3.2")
    assert counts(frame) == (3, 8)
    assert numerator(frame) == {
        "review / A / 2024-04-01",
        "review / A / 2024-10-01",
        "meeting / F / 2024-07-01 / cin_review",
    }


def test_c3_2b_took_part_in_person_or_by_views():
    # Took part: A x2, B PN5, F attended, F views conveyed = 5 of the same 8.
    assert counts(units(tiny_store(PARTICIPATION), "C3.2b")) == (5, 8)


# --- C4.2: parents and carers at planning meetings ----------------------------------------------

# 2024-25: M1 invited, attended; M2 invited, did not attend; M3 not invited (so not there);
# M4 a care leaver's pathway review (left out); M5 invited, attendance not recorded (left
# out of both); M6 is 1 April 2025.
PARENTS = """
    planning_meetings
    child_id | meeting_date | meeting_type         | parent_invited | parent_attended
    A        | 2024-04-01   | cin_review           | true           | true
    B        | 2024-05-01   | core_group           | true           | false
    C        | 2024-06-01   | cp_review_conference | false          |
    D        | 2024-07-01   | pathway_review       | true           | true
    E        | 2024-08-01   | cin_review           | true           |
    F        | 2025-04-01   | cin_review           | true           | true
"""


def test_c4_2_parent_attended_among_all_meetings():
    frame = units(tiny_store(PARENTS), "C4.2")
    assert counts(frame) == (1, 3)  # A of A, B, C
    assert set(frame["child_id"]) == {"A", "B", "C"}


def test_c4_2b_parent_attended_among_meetings_invited_to():
    assert counts(units(tiny_store(PARENTS), "C4.2b")) == (1, 2)  # A of A, B


# --- Complaints ---------------------------------------------------------------------------------

# 2024-25 from children: K1 upheld, K2 partly upheld and a repeat (31 March 2025), K3 not
# upheld, K4 withdrawn and a repeat, K5 open; K6 received 1 April 2025 (next year).
# From parents or carers: K7 not upheld, a repeat; K8 upheld. K9 from someone else.
COMPLAINTS = """
    complaints
    complaint_id | received_date | complainant  | outcome       | repeat | child_id
    K1           | 2024-04-01    | child        | upheld        | false  | A
    K2           | 2025-03-31    | child        | partly_upheld | true   |
    K3           | 2024-06-01    | child        | not_upheld    | false  | B
    K4           | 2024-07-01    | child        | withdrawn     | true   |
    K5           | 2025-02-01    | child        | open          | false  |
    K6           | 2025-04-01    | child        | upheld        | true   |
    K7           | 2024-05-01    | parent_carer | not_upheld    | true   | C
    K8           | 2024-09-30    | parent_carer | upheld        | false  | C
    K9           | 2024-10-01    | other        | upheld        | true   |
"""


def test_c5_2_child_complaints_substantiated_among_decided():
    frame = units(tiny_store(COMPLAINTS), "C5.2")
    assert counts(frame) == (2, 3)  # K1, K2 of K1, K2, K3 (K4 withdrawn, K5 open)
    assert frame.set_index("unit_id").loc["complaint / K1", "child_id"] == "A"


def test_c5_3_child_complaints_repeat_among_all_received():
    assert counts(units(tiny_store(COMPLAINTS), "C5.3")) == (2, 5)  # K2, K4 of K1-K5


def test_c6_2_parent_complaints_substantiated():
    assert counts(units(tiny_store(COMPLAINTS), "C6.2")) == (1, 2)  # K8 of K7, K8


def test_c6_3_parent_complaints_repeat():
    assert counts(units(tiny_store(COMPLAINTS), "C6.3")) == (1, 2)  # K7 of K7, K8


def test_no_records_is_no_data():
    for indicator in ("C3.2", "C3.2b", "C4.2", "C4.2b", "C5.2", "C5.3", "C6.2", "C6.3"):
        assert units(tiny_store(), indicator).empty
