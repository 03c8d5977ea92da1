# ruff: noqa: E501  (the education example is a wide table, kept whole for readability)
"""Worked examples for domain D from local data and surveys (spec §8): risk factors at reviews
and assessments, SDQ change, surveys, case audits, permanence plans, mental health and
education. Every expected number is worked out by hand in the comments.

The period is 2024-25 unless a test says otherwise: the last 6 months run from 1 October 2024
to 31 March 2025, the 6 months before from 1 April to 30 September 2024, and "the past year"
(the social care cohort) from 1 April 2024 to 31 March 2025.
"""

from __future__ import annotations

import pytest

import framework.engine.measures.domain_d  # noqa: F401  (registers the measures)
from framework.engine.periods import Period
from framework.engine.units import MEASURES, MeasureContext
from tests.engine_store import categories, tiny_store


def units(store, indicator: str, period: str = "2024-25"):
    return MEASURES[indicator].units(MeasureContext(store, Period.parse(period)))


def counts(frame) -> tuple[int, int]:
    cohort = frame[frame["in_denominator"]]
    return int(cohort["in_numerator"].sum()), len(cohort)


def numerator_ids(frame) -> set[str]:
    return set(frame.loc[frame["in_denominator"] & frame["in_numerator"], "child_id"])


def cohort(*children: str) -> str:
    """A referrals block putting ``children`` in the social care cohort (an open episode)."""
    rows = "\n".join(f"{child} | 2024-06-01 | false" for child in children)
    return f"\nreferrals\nchild_id | referral_date | referral_nfa\n{rows}\n"


DOMAIN_D_IDS = [
    *("D1.3", "D1.4", "D1.5", "D1.6", "D1.7", "D1.8", "D1.9", "D2.1", "D2.2", "D2.3"),
    *("D4.1", "D4.1b", "D4.2", "D4.2b", "D4.3", "D4.3b", "D4.4", "D4.4b", "D4.5", "D4.6"),
    *("D5.1", "D5.2", "D5.3", "D5.6", "D5.7", "D5.8a", "D5.8b", "D5.9a", "D5.9b"),
    *("D6.1", "D7.1", "D9.1", "D9.2", "D9.3a", "D9.3b", "D10.1"),
    *("D11.1", "D11.2", "D11.2b", "D11.3", "D11.4", "D12.1", "D12.2", "D12.3", "D12.4"),
    *("D13.1", "D13.1b", "D13.2"),
]


@pytest.mark.parametrize("indicator", DOMAIN_D_IDS)
def test_no_source_rows_is_no_data(indicator):
    assert units(tiny_store(), indicator).empty


# --- Risk factors at reviews and assessments (D1.3-D4.4) ---------------------------------------

# Domestic abuse: review column domestic_abuse, assessment factors 3A, 3B, 3C.
DOMESTIC_ABUSE = """
    case_reviews
    child_id | review_date | plan_type   | domestic_abuse
    A        | 2024-09-30  | cin         | false
    A        | 2024-10-01  | cin         | true
    B        | 2025-03-31  | cp          | false
    C        | 2024-11-01  | cin         |
    D        | 2024-03-31  | cin         | true
    D        | 2025-04-01  | cin         | true
    E        | 2024-12-01  | care_leaver | true
    G        | 2024-04-01  | cla         | true
    G        | 2025-01-01  | cla         | true

    assessments
    child_id | referral_date | start_date | authorised_date
    B        | 2024-05-01    | 2024-05-02 | 2024-06-01
    C        | 2024-12-01    | 2024-12-02 | 2025-01-10
    F        | 2025-01-01    | 2025-01-02 |
    H        | 2024-11-01    | 2024-11-02 | 2024-12-01
    J        | 2024-11-01    | 2024-11-02 | 2024-12-01

    assessment_factors
    child_id | referral_date | assessment_start_date | factor
    B        | 2024-05-01    | 2024-05-02            | 3B
    C        | 2024-12-01    | 2024-12-02            | 21
    F        | 2025-01-01    | 2025-01-02            | 3A
    H        | 2024-11-01    | 2024-11-02            | 3C
    H        | 2024-11-01    | 2024-11-02            | 4B
"""


def test_d1_3_domestic_abuse_from_reviews_and_assessments():
    # Evidence in the last 6 months (1 Oct 2024 - 31 Mar 2025):
    #   A review 1 Oct (first day) yes -> affected
    #   B review 31 Mar (last day) no  -> not affected (its 3B assessment is in the first half)
    #   C review 1 Nov left blank (not assessed: no evidence), but an assessment authorised
    #     10 Jan with factor 21 (no factors) -> evidence, not affected
    #   D reviews on 31 Mar 2024 and 1 Apr 2025: other periods -> not in the cohort
    #   E pathway-plan review of a care leaver -> not in the cohort
    #   F assessment not authorised (factors not final) -> no evidence
    #   G review 1 Jan yes -> affected
    #   H assessment authorised 1 Dec with 3C (another household member) -> affected
    #   J assessment authorised 1 Dec with no factor rows at all -> no evidence
    frame = units(tiny_store(DOMESTIC_ABUSE), "D1.3")
    assert counts(frame) == (3, 5)  # A, G, H of A, B, C, G, H
    assert numerator_ids(frame) == {"A", "G", "H"}


def test_d1_4_change_in_domestic_abuse_for_children_seen_in_both_halves():
    # Both halves: A (no 30 Sep -> yes 1 Oct: more likely), B (3B assessment 1 Jun -> review
    # no 31 Mar: less likely), G (yes -> yes: no change). C and H only in the last 6 months.
    frame = units(tiny_store(DOMESTIC_ABUSE), "D1.4")
    assert categories(frame) == {"A": "more_likely", "B": "less_likely", "G": "no_change"}


def test_d1_5_parental_mental_health_is_the_parents_factor_only():
    # Assessments authorised in the last 6 months: P with 4B (parent) -> yes; Q with 4A (the
    # child's own mental health) and R with 4C (another household member) -> no.
    # S: review yes; T: review no. Denominator P, Q, R, S, T; numerator P, S.
    store = tiny_store("""
        assessments
        child_id | referral_date | start_date | authorised_date
        P        | 2024-10-01    | 2024-10-01 | 2024-11-01
        Q        | 2024-10-01    | 2024-10-01 | 2024-11-01
        R        | 2024-10-01    | 2024-10-01 | 2024-11-01

        assessment_factors
        child_id | referral_date | assessment_start_date | factor
        P        | 2024-10-01    | 2024-10-01            | 4B
        Q        | 2024-10-01    | 2024-10-01            | 4A
        R        | 2024-10-01    | 2024-10-01            | 4C

        case_reviews
        child_id | review_date | plan_type | parental_mental_health
        S        | 2025-02-01  | cp        | true
        S        | 2024-08-01  | cp        | true
        T        | 2025-02-01  | cin       | false
        T        | 2024-08-01  | cin       | true
    """)
    frame = units(store, "D1.5")
    assert counts(frame) == (2, 5)
    assert numerator_ids(frame) == {"P", "S"}
    assert categories(units(store, "D1.6")) == {"S": "no_change", "T": "less_likely"}


def test_d1_7_parental_substance_misuse_alcohol_or_drugs():
    # 1B (parent's alcohol) for P and 2B (parent's drugs) for Q count; 1A (the child's own
    # alcohol misuse) for R does not. U: review no in the first half, yes in the second.
    store = tiny_store("""
        assessments
        child_id | referral_date | start_date | authorised_date
        P        | 2024-10-01    | 2024-10-01 | 2025-03-31
        Q        | 2024-10-01    | 2024-10-01 | 2024-10-01
        R        | 2024-10-01    | 2024-10-01 | 2024-12-01

        assessment_factors
        child_id | referral_date | assessment_start_date | factor
        P        | 2024-10-01    | 2024-10-01            | 1B
        Q        | 2024-10-01    | 2024-10-01            | 2B
        R        | 2024-10-01    | 2024-10-01            | 1A

        case_reviews
        child_id | review_date | plan_type | parental_substance_misuse
        U        | 2024-04-01  | cin       | false
        U        | 2024-12-01  | cin       | true
    """)
    assert counts(units(store, "D1.7")) == (3, 4)  # P, Q, U of P, Q, R, U
    assert categories(units(store, "D1.8")) == {"U": "more_likely"}


def test_d2_1_exploitation_any_of_three_review_answers_or_factors():
    # P: criminal exploitation yes (sexual exploitation blank) -> affected
    # Q: all three blank -> not assessed, no evidence
    # R: trafficking no, the others blank -> evidence, not affected
    # S: assessment with 24A (criminal exploitation) -> affected
    # T: assessment with 13A (gangs) only -> evidence, not affected
    # V: sexual exploitation yes before, all no now -> less likely
    store = tiny_store("""
        case_reviews
        child_id | review_date | plan_type | sexual_exploitation | criminal_exploitation | trafficking
        P        | 2024-11-01  | cla       |                     | true                  |
        Q        | 2024-11-01  | cla       |                     |                       |
        R        | 2024-11-01  | cin       |                     |                       | false
        V        | 2024-05-01  | cp        | true                | false                 | false
        V        | 2024-11-01  | cp        | false               | false                 | false

        assessments
        child_id | referral_date | start_date | authorised_date
        S        | 2024-10-01    | 2024-10-01 | 2024-11-01
        T        | 2024-10-01    | 2024-10-01 | 2024-11-01

        assessment_factors
        child_id | referral_date | assessment_start_date | factor
        S        | 2024-10-01    | 2024-10-01            | 24A
        T        | 2024-10-01    | 2024-10-01            | 13A
    """)
    frame = units(store, "D2.1")
    assert counts(frame) == (2, 5)  # P, S of P, R, S, T, V
    assert numerator_ids(frame) == {"P", "S"}
    assert categories(units(store, "D2.2")) == {"V": "less_likely"}


YOUTH_JUSTICE = """
    case_reviews
    child_id | review_date | plan_type | youth_justice
    P        | 2024-06-01  | cla       | false
    P        | 2024-12-01  | cla       | false
    Q        | 2024-12-01  | cin       | true

    health_outcomes
    child_id | year | convicted
    P        | 2025 | true
    R        | 2025 | false
    S        | 2024 | true
    T        | 2025 |
"""


def test_d4_2_youth_justice_from_reviews_and_oc2():
    # OC2 2025 (the year to 31 March 2025, dated 31 March: in the last 6 months): P convicted
    # -> affected although its review said no; R not convicted -> evidence, not affected;
    # T blank (under 10) -> no evidence. S's OC2 is for 2024 (31 March 2024): another period.
    # Q: review yes. Denominator P, Q, R; numerator P, Q.
    frame = units(tiny_store(YOUTH_JUSTICE), "D4.2")
    assert counts(frame) == (2, 3)
    assert numerator_ids(frame) == {"P", "Q"}


def test_d4_2b_youth_justice_change_uses_reviews_only():
    # OC2 has no first-half value, so the change compares reviews: P no -> no.
    assert categories(units(tiny_store(YOUTH_JUSTICE), "D4.2b")) == {"P": "no_change"}


def test_d4_2_oc2_not_in_a_first_half_period():
    # 2024-25H1 runs 1 April - 30 September 2024: no 31 March in it, so OC2 is not read; only
    # P's review of 1 June 2024 (no) is evidence. Its change compares 2023-24H2 (nothing).
    frame = units(tiny_store(YOUTH_JUSTICE), "D4.2", "2024-25H1")
    assert counts(frame) == (0, 1)
    assert units(tiny_store(YOUTH_JUSTICE), "D4.2b", "2024-25H1").empty


def test_d4_3_substance_misuse_reviews_factors_and_oc2():
    # P: review yes; Q: assessment with 2A (the child's drug misuse); R: OC2 substance misuse
    # 2025 yes; S: assessment with 1B (the parent's, not the child's) -> no.
    # Change: P yes (Jul) -> yes (Nov): no change.
    store = tiny_store("""
        case_reviews
        child_id | review_date | plan_type | substance_misuse
        P        | 2024-07-01  | cin       | true
        P        | 2024-11-01  | cin       | true

        assessments
        child_id | referral_date | start_date | authorised_date
        Q        | 2024-10-01    | 2024-10-01 | 2024-11-01
        S        | 2024-10-01    | 2024-10-01 | 2024-11-01

        assessment_factors
        child_id | referral_date | assessment_start_date | factor
        Q        | 2024-10-01    | 2024-10-01            | 2A
        S        | 2024-10-01    | 2024-10-01            | 1B

        health_outcomes
        child_id | year | substance_misuse
        R        | 2025 | true
    """)
    assert counts(units(store, "D4.3")) == (3, 4)  # P, Q, R of P, Q, R, S
    assert categories(units(store, "D4.3b")) == {"P": "no_change"}


def test_d4_4_self_harm_reviews_and_factor_15a():
    # P: 15A at an assessment authorised 1 Oct -> yes; Q: review no; R: review yes before,
    # 15A now -> no change; V: review yes 30 Sep, no 1 Oct -> less likely.
    store = tiny_store("""
        case_reviews
        child_id | review_date | plan_type | self_harm
        Q        | 2024-12-01  | cla       | false
        R        | 2024-05-01  | cla       | true
        V        | 2024-09-30  | cp        | true
        V        | 2024-10-01  | cp        | false

        assessments
        child_id | referral_date | start_date | authorised_date
        P        | 2024-09-01    | 2024-09-01 | 2024-10-01
        R        | 2024-09-01    | 2024-09-01 | 2025-02-01

        assessment_factors
        child_id | referral_date | assessment_start_date | factor
        P        | 2024-09-01    | 2024-09-01            | 15A
        R        | 2024-09-01    | 2024-09-01            | 15A
    """)
    assert counts(units(store, "D4.4")) == (2, 4)  # P, R of P, Q, R, V
    assert categories(units(store, "D4.4b")) == {"R": "no_change", "V": "less_likely"}


# --- SDQ change (D4.1, D4.1b, D6.1, D7.1) ------------------------------------------------------

SDQ_TOTALS = """
    referrals
    child_id | referral_date | closure_date | referral_nfa
    A        | 2023-01-01    |              | false
    B        | 2024-04-01    | 2024-05-01   | false
    C        | 2025-03-31    |              | false
    D        | 2024-06-01    |              | false
    E        | 2024-06-01    |              | false
    F        | 2024-06-01    |              | false
    G        | 2024-06-01    |              | false
    I        | 2024-06-01    |              | false
    J        | 2023-01-01    | 2024-03-31   | false
    K        | 2024-06-01    | 2024-06-01   | true
    L        | 2023-06-01    | 2024-04-01   | false

    episodes
    child_id | start_date | reason_new_episode
    H        | 2022-01-01 | S

    sdq
    child_id | sdq_date   | informant | total
    A        | 2024-01-15 | carer     | 20
    A        | 2024-12-15 | carer     | 17
    B        | 2023-10-01 | carer     | 12
    B        | 2024-06-01 | carer     | 10
    B        | 2024-10-15 | carer     | 20
    C        | 2024-03-31 | carer     | 12
    C        | 2025-03-31 | carer     | 14
    C        | 2024-06-01 | self      | 10
    C        | 2025-03-01 | self      | 20
    D        | 2024-04-10 | teacher   | 10
    D        | 2025-01-10 | carer     | 20
    E        | 2022-11-01 | carer     | 15
    E        | 2024-05-01 | carer     | 15
    F        | 2022-10-31 | carer     | 10
    F        | 2024-05-01 | carer     | 20
    G        | 2024-04-01 | carer     | 10
    G        | 2025-04-01 | carer     | 30
    I        | 2024-02-01 | carer     | 15
    I        | 2025-02-01 | carer     | 25
    J        | 2023-06-01 | carer     | 10
    J        | 2024-06-01 | carer     | 30
    K        | 2023-06-01 | carer     | 10
    K        | 2024-06-01 | carer     | 30
    L        | 2023-07-01 | carer     | 10
    L        | 2024-07-01 | carer     | 13

    health_outcomes
    child_id | year | sdq_score
    H        | 2024 | 20
    H        | 2025 | 15
    I        | 2024 | 13
    I        | 2025 | 15
"""


def test_d4_1_sdq_total_change_distribution():
    # Latest SDQ in 2024-25 against the most recent earlier one 5-18 months before it:
    #   A 15 Jan 2024 -> 15 Dec 2024: 20 -> 17, -3: improved (3 points count)
    #   B latest 15 Oct 2024 (20); 1 Jun 2024 is under 5 months before, so 1 Oct 2023 (12,
    #     12.5 months): +8 worsened
    #   C carer 31 Mar 2024 -> 31 Mar 2025 (12 -> 14, +2: no change); the self-report pair
    #     (+10) is not used: the carer's is preferred
    #   D teacher then carer: different informants, no pair -> not counted
    #   E 1 Nov 2022 -> 1 May 2024, exactly 18 months: 15 -> 15, no change
    #   F 31 Oct 2022 -> 1 May 2024, over 18 months: no pair
    #   G the 1 April 2025 SDQ is in the next period; 1 Apr 2024 has none before: no pair
    #   H looked after, no local SDQ: OC2 2024 -> 2025, 20 -> 15, -5: improved
    #   I local 1 Feb 2024 -> 1 Feb 2025: 15 -> 25, +10 worsened (the local pair wins over
    #     OC2's +2)
    #   J referral closed 31 March 2024, K's referral was no further action: not in the cohort
    #   L referral closed 1 April 2024 (in the past year): 10 -> 13, +3 worsened
    frame = units(tiny_store(SDQ_TOTALS), "D4.1")
    assert categories(frame) == {
        "A": "improved",
        "B": "worsened",
        "C": "no_change",
        "E": "no_change",
        "H": "improved",
        "I": "worsened",
        "L": "worsened",
    }


def test_d4_1b_mean_sdq_total_change():
    # Same children: (-3 + 8 + 2 + 0 - 5 + 10 + 3) / 7 = 15 / 7.
    frame = units(tiny_store(SDQ_TOTALS), "D4.1b")
    assert len(frame) == 7
    assert frame["value"].mean() == pytest.approx(15 / 7)


SDQ_SUBSCALES = f"""
    {cohort("P", "Q", "R", "S")}

    sdq
    child_id | sdq_date   | informant | total | emotional | conduct | hyperactivity | peer | prosocial
    P        | 2024-01-10 | carer     | 19    | 5         | 5       | 5             | 4    | 4
    P        | 2025-01-10 | carer     | 16    | 3         | 4       | 5             | 4    | 7
    Q        | 2024-01-10 | carer     | 8     | 2         | 2       | 2             | 2    | 8
    Q        | 2025-01-10 | carer     | 11    | 3         | 3       | 3             | 2    | 5
    R        | 2024-01-10 | carer     | 10    |           |         |               |      |
    R        | 2025-01-10 | carer     | 12    | 3         | 3       | 3             | 3    | 5

    episodes
    child_id | start_date | reason_new_episode
    S        | 2022-01-01 | S

    health_outcomes
    child_id | year | sdq_score
    S        | 2024 | 20
    S        | 2025 | 10
"""


def test_d6_1_emotional_conduct_hyperactivity_change():
    # Sum of the three subscales: P 15 -> 12 (-3, improved); Q 6 -> 9 (+3, worsened);
    # R's earlier SDQ has no subscales; S has only OC2 totals: neither counted.
    frame = units(tiny_store(SDQ_SUBSCALES), "D6.1")
    assert categories(frame) == {"P": "improved", "Q": "worsened"}


def test_d7_1_peer_and_reversed_prosocial_change():
    # peer + (10 - prosocial): P 4 + 6 = 10 -> 4 + 3 = 7 (-3: improved, prosocial rose);
    # Q 2 + 2 = 4 -> 2 + 5 = 7 (+3: worsened, prosocial fell).
    frame = units(tiny_store(SDQ_SUBSCALES), "D7.1")
    assert categories(frame) == {"P": "improved", "Q": "worsened"}


# --- Surveys -------------------------------------------------------------------------------

SURVEY_ITEMS = [
    ("D1.9", "child_survey", "d1_9_safe_home"),
    ("D2.3", "child_survey", "d2_3_safe_community"),
    ("D4.5", "child_survey", "d4_5_settled_loved"),
    ("D4.6", "child_survey", "d4_6_understand_plans"),
    ("D5.6", "child_survey", "d5_6_permanence"),
    ("D5.7", "parent_survey", "d5_7_permanence"),
    ("D5.8a", "child_survey", "d5_8_contact_clear"),
    ("D5.8b", "child_survey", "d5_8_wishes"),
    ("D5.9a", "parent_survey", "d5_9_contact_clear"),
    ("D5.9b", "parent_survey", "d5_9_wishes"),
    ("D9.3a", "parent_survey", "d9_3_identity"),
    ("D9.3b", "parent_survey", "d9_3_hopes"),
    ("D12.3", "child_survey", "d12_3_school"),
    ("D12.4", "child_survey", "d12_4_activities"),
    ("D13.2", "child_survey", "d13_2_aspirations"),
]


@pytest.mark.parametrize(("indicator", "table", "column"), SURVEY_ITEMS)
def test_survey_item_agreeing_among_respondents_who_answered(indicator, table, column):
    # R1 agrees (4) on 1 April 2024; R2 is neutral (3) on 31 March 2025; R3 left it blank;
    # R4 (31 March 2024) and R5 (1 April 2025) answered in other years. Every other item is
    # blank, so the indicator must read its own column.
    store = tiny_store(f"""
        {table}
        survey | respondent_id | response_date | child_group | age_band | {column}
        S24    | R1            | 2024-04-01    | cla         | 10-15    | 4
        S24    | R2            | 2025-03-31    | cin         | 5-9      | 3
        S24    | R3            | 2024-10-10    | cp          | 10-15    |
        S23    | R4            | 2024-03-31    | cla         | 10-15    | 5
        S25    | R5            | 2025-04-01    | cla         | 10-15    | 5
    """)
    frame = units(store, indicator)
    assert counts(frame) == (1, 2)  # R1 of R1, R2
    row = frame.set_index("unit_id").loc["S24 / R1"]
    assert (row["respondent_group"], row["age_band"]) == ("cla", "10-15")


# --- Case audits (D5.1, D5.2) -------------------------------------------------------------------

AUDITS = """
    case_audits
    audit_id | child_id | audit_date | plan_type | team | plan_updated_6m | drift | needs_met_at_home
    a1       | A        | 2024-04-01 | cin       | T1   | true            | false | true
    a2       | B        | 2025-03-31 | cp        | T2   | true            | true  | false
    a3       | C        | 2024-10-01 | cin       | T1   | false           | false |
    a4       | D        | 2024-06-01 | cla       | T1   | true            | false | true
    a5       | E        | 2025-04-01 | cin       | T1   | true            | false | true
    a6       | F        | 2024-07-01 | cp        | T2   |                 | false | true
    a7       | G        | 2024-08-01 | none      | T2   | true            | false | true
"""


def test_d5_1_audits_plan_updated_and_not_drifting():
    # CiN and CP audits in 2024-25 that answered both questions: a1 (yes, not drifting:
    # confirms), a2 (drifting), a3 (not updated). a4 is a care plan, a7 has no plan, a5 is in
    # 2025-26, a6 did not say whether the plan was updated.
    frame = units(tiny_store(AUDITS), "D5.1")
    assert counts(frame) == (1, 3)
    assert frame.set_index("unit_id").loc["a1", "team"] == "T1"


def test_d5_2_audits_needs_met_at_home():
    # Answered: a1 yes, a2 no, a6 yes (a3 left it blank).
    assert counts(units(tiny_store(AUDITS), "D5.2")) == (2, 3)


# --- Permanence plans (D5.3) ------------------------------------------------------------------


def test_d5_3_permanence_plan_within_two_years():
    # Entry cohort for 2024-25: periods of care starting 1 Apr 2022 - 31 Mar 2023, open at some
    # time from 1 Apr 2024.
    #   A starts 1 Apr 2022, open; plan on 1 Apr 2024, the second anniversary -> yes
    #   B starts 31 Mar 2023, open; plan 1 Apr 2025, a day after the anniversary -> no
    #   C starts 31 Mar 2022 and D 1 Apr 2023: outside the entry window
    #   E 1 Jun 2022 - 1 Jan 2023: left care before the past year
    #   F S 1 Jun 2022 to 1 Sep 2022, then a P episode from 1 Sep 2022 (same period), open;
    #     plan 1 Aug 2022 -> yes
    #   G 1 May 2022 - 1 May 2024; plan 20 Apr 2024, before leaving -> yes
    #   H 1 Jul 2022 - 1 Jun 2024; plan 15 Jun 2024, after leaving care -> no
    #   I first episode is a P (its start is before the store's history): not counted
    # Denominator A, B, F, G, H; numerator A, F, G.
    store = tiny_store("""
        episodes
        child_id | start_date | reason_new_episode | end_date
        A        | 2022-04-01 | S                  |
        B        | 2023-03-31 | S                  |
        C        | 2022-03-31 | S                  |
        D        | 2023-04-01 | S                  |
        E        | 2022-06-01 | S                  | 2023-01-01
        F        | 2022-06-01 | S                  | 2022-09-01
        F        | 2022-09-01 | P                  |
        G        | 2022-05-01 | S                  | 2024-05-01
        H        | 2022-07-01 | S                  | 2024-06-01
        I        | 2022-05-01 | P                  |

        permanence_plans
        child_id | looked_after_date | plan_date  | plan_type
        A        | 2022-04-01        | 2024-04-01 | long_term_fostering
        B        | 2023-03-31        | 2025-04-01 | adoption
        C        | 2022-03-31        | 2022-08-01 | adoption
        F        | 2022-06-01        | 2022-08-01 | special_guardianship
        G        | 2022-05-01        | 2024-04-20 | return_home
        H        | 2022-07-01        | 2024-06-15 | other
        I        | 2022-05-01        | 2022-09-01 | adoption
    """)
    frame = units(store, "D5.3")
    assert counts(frame) == (3, 5)
    assert numerator_ids(frame) == {"A", "F", "G"}
    assert "A / 2022-04-01" in set(frame["unit_id"])


# --- Mental health (D9.1, D9.2) ----------------------------------------------------------------

HEALTH = f"""
    {cohort("A", "B", "C", "D", "E")}

    referrals
    child_id | referral_date | closure_date | referral_nfa
    F        | 2024-06-01    | 2024-06-01   | true

    health_needs
    child_id | record_date | mental_health_need | support   | need_met
    A        | 2024-10-01  | true               | camhs     | false
    B        | 2024-11-01  | true               | waiting   | false
    B        | 2025-03-31  | true               | equivalent| true
    C        | 2024-09-30  | true               | none      | false
    D        | 2025-01-01  | false              |           |
    E        | 2025-02-01  | true               | none      | false
    F        | 2025-02-01  | true               | declined  | false
"""


def test_d9_1_unmet_mental_health_need():
    # Latest record in the last 6 months: A unmet (1 Oct, first day); B met by 31 Mar (its
    # November record is not the latest); D no need; E unmet. C's record is from 30 Sep (the
    # half before); F's referral was no further action (not in the cohort).
    frame = units(tiny_store(HEALTH), "D9.1")
    assert counts(frame) == (2, 4)
    assert numerator_ids(frame) == {"A", "E"}


def test_d9_2_need_supported_by_camhs_or_equivalent():
    # A CAMHS, B an equivalent service; D no need; E no support.
    frame = units(tiny_store(HEALTH), "D9.2")
    assert counts(frame) == (2, 4)
    assert numerator_ids(frame) == {"A", "B"}


# --- Education (D10.1-D12.2) --------------------------------------------------------------------

# Terms of 2024-25 by their term_date: summer 2023/24 (1 Jun 2024) is in the 6 months before;
# autumn 2024/25 (1 Nov 2024) and spring 2024/25 (15 Feb 2025) are in the last 6 months;
# summer 2024/25 (1 Jun 2025) is in 2025-26. B's rows carry only its UPN.
EDUCATION = f"""
    {cohort("A", "B", "C", "D", "E", "F", "H", "I")}

    children
    child_id | upn
    B        | UB

    education_attendance
    child_id | upn | academic_year | term   | term_date  | sessions_possible | sessions_authorised | sessions_unauthorised | suspensions | permanent_exclusion | school_changes | early_education
    A        |     | 2024          | summer | 2024-06-01 | 100               | 5                   | 0                     | 0           | false               | 0              |
    A        |     | 2025          | autumn | 2024-11-01 | 140               | 10                  | 2                     | 1           | false               | 0              |
    A        |     | 2025          | spring | 2025-02-15 | 100               | 0                   | 0                     | 0           | false               | 0              |
    A        |     | 2025          | summer | 2025-06-01 | 100               | 0                   | 50                    | 3           | false               | 0              |
    B        | UB  | 2024          | summer | 2024-06-01 | 100               | 0                   | 10                    | 0           | true                | 1              |
               | UB  | 2025          | autumn | 2024-11-01 | 140               | 14                  | 0                     |             |                     |                |
    C        |     | 2025          | autumn | 2024-11-01 | 140               | 0                   | 20                    | 0           | false               | 1              |
    D        |     | 2024          | summer | 2024-06-01 |                   |                     |                       |             |                     |                | false
    D        |     | 2025          | autumn | 2024-11-01 |                   |                     |                       |             |                     |                | true
    D        |     | 2025          | spring | 2025-02-15 |                   |                     |                       |             |                     |                | false
    E        |     | 2025          | autumn | 2024-11-01 |                   |                     |                       |             |                     |                | false
    E        |     | 2025          | spring | 2025-02-15 |                   |                     |                       |             |                     |                | false
    F        |     | 2025          | summer | 2025-06-01 | 100               | 0                   | 50                    | 0           | false               | 0              |
    G        |     | 2025          | autumn | 2024-11-01 | 140               | 0                   | 10                    | 2           | false               | 1              |
    H        |     | 2024          | summer | 2024-06-01 | 100               | 0                   | 0                     | 0           | false               | 1              |
    H        |     | 2025          | autumn | 2024-11-01 | 140               | 0                   | 0                     | 0           | false               | 1              |
    H        |     | 2025          | spring | 2025-02-15 | 100               | 0                   | 0                     | 0           | false               | 1              |
    I        |     | 2025          | autumn | 2024-11-01 | 0                 |                     |                       |             |                     |                |
"""


def test_education_example_reads_b_by_upn():
    # B's second row has no child id (the first cell is blank): it joins through children.upn.
    assert "B" in set(units(tiny_store(EDUCATION), "D11.2b")["child_id"])


def test_d10_1_early_education_2_to_4_year_olds():
    # D took up early education in the autumn term; E in neither term. Others are not 2-4.
    frame = units(tiny_store(EDUCATION), "D10.1")
    assert counts(frame) == (1, 2)
    assert numerator_ids(frame) == {"D"}


def test_d11_1_suspension_or_exclusion_in_the_last_6_months():
    # School-age children with a term in the last 6 months: A, B, C, H (I had no sessions
    # possible; F's term is in 2025-26; G is not in the social care cohort).
    # A had a suspension in the autumn; B's permanent exclusion was in the summer before.
    frame = units(tiny_store(EDUCATION), "D11.1")
    assert counts(frame) == (1, 4)
    assert numerator_ids(frame) == {"A"}


def test_d11_2_unauthorised_absence():
    # A missed 2 sessions without authorisation in the autumn, C 20; B and H none.
    frame = units(tiny_store(EDUCATION), "D11.2")
    assert counts(frame) == (2, 4)
    assert numerator_ids(frame) == {"A", "C"}


def test_d11_2b_persistent_absence():
    # Missed / possible over the last 6 months: A (10 + 2) / (140 + 100) = 5% -> no;
    # B 14 / 140 = exactly 10% -> persistently absent; C 20 / 140 = 14% -> yes; H 0.
    frame = units(tiny_store(EDUCATION), "D11.2b")
    assert counts(frame) == (2, 4)
    assert numerator_ids(frame) == {"B", "C"}


def test_d11_3_change_in_exclusions():
    # Children with school-age terms in both halves: A (none -> suspended: more likely),
    # B (excluded -> none: less likely), H (none -> none). C has no term before.
    frame = units(tiny_store(EDUCATION), "D11.3")
    assert categories(frame) == {"A": "more_likely", "B": "less_likely", "H": "no_change"}


def test_d11_4_change_in_unauthorised_absence():
    # A 0 -> 2 sessions (more likely), B 10 -> 0 (less likely), H 0 -> 0.
    frame = units(tiny_store(EDUCATION), "D11.4")
    assert categories(frame) == {"A": "more_likely", "B": "less_likely", "H": "no_change"}


def test_d12_1_mid_year_school_move():
    # C moved in the autumn; H moved in autumn and spring; A and B did not in these terms.
    frame = units(tiny_store(EDUCATION), "D12.1")
    assert counts(frame) == (2, 4)
    assert numerator_ids(frame) == {"C", "H"}


def test_d12_2_more_or_fewer_school_moves():
    # Moves before -> now: A 0 -> 0, B 1 -> 0 (fewer), H 1 -> 2 (more).
    frame = units(tiny_store(EDUCATION), "D12.2")
    assert categories(frame) == {"A": "no_change", "B": "fewer", "H": "more"}


def test_d11_1_in_a_first_half_period():
    # 2024-25H1 (1 April - 30 September 2024): the summer 2023/24 term is the last 6 months;
    # the 6 months before (October 2023 - March 2024) have no rows. Cohort: the 12 months to
    # 30 September 2024, which the 1 June 2024 referrals are in.
    # Summer term: A, B, H are of school age; B was permanently excluded.
    frame = units(tiny_store(EDUCATION), "D11.1", "2024-25H1")
    assert counts(frame) == (1, 3)
    assert numerator_ids(frame) == {"B"}
    assert units(tiny_store(EDUCATION), "D11.3", "2024-25H1").empty


# --- Progress between key stages (D13.1, D13.1b) ----------------------------------------------


def test_d13_1_mean_progress_in_the_periods_academic_year():
    # 2024-25 reads academic year 2024/25 (stored as 2025). KS4: A -1.0 and B (by UPN) +0.5;
    # C's KS4 is 2023/24; E has no progress score; G is not in the cohort.
    # Mean (-1.0 + 0.5) / 2 = -0.25. KS2 (D13.1b): D +2.0, apart from KS4's scale.
    store = tiny_store(f"""
        {cohort("A", "B", "C", "D", "E")}

        children
        child_id | upn
        B        | UB

        education_results
        child_id | upn | academic_year | key_stage | progress
        A        |     | 2025          | ks4       | -1.0
                 | UB  | 2025          | ks4       | 0.5
        C        |     | 2024          | ks4       | 1.0
        D        |     | 2025          | ks2       | 2.0
        E        |     | 2025          | ks4       |
        G        |     | 2025          | ks4       | 3.0
    """)
    ks4 = units(store, "D13.1")
    assert set(ks4["child_id"]) == {"A", "B"}
    assert ks4["value"].mean() == pytest.approx(-0.25)
    ks2 = units(store, "D13.1b")
    assert ks2["value"].tolist() == [2.0]


def test_looked_after_cohort_leaves_out_short_breaks():
    # W is looked after (C2, open) and in the cohort; V's only episode is a short break (V3):
    # not looked after in the spec's sense, and with no CiN episode not in the cohort.
    store = tiny_store("""
        episodes
        child_id | start_date | reason_new_episode | legal_status | end_date
        V        | 2024-10-05 | S                  | V3           | 2024-10-07
        W        | 2023-01-01 | S                  | C2           |

        health_needs
        child_id | record_date | mental_health_need | support | need_met
        V        | 2024-12-01  | true               | none    | false
        W        | 2024-12-01  | true               | none    | false
    """)
    assert counts(units(store, "D9.1")) == (1, 1)  # W
