"""Worked examples for domain B (spec §6 and §12): hand-written returns, hand-worked answers.

The period is 2024-25 (1 April 2024 to 31 March 2025) unless a test says otherwise. Each
example's comment works out the expected numerator and denominator by hand.
"""

from __future__ import annotations

import framework.engine.measures.domain_b  # noqa: F401  (registers the measures)
from framework.engine.periods import Period
from framework.engine.units import MEASURES, UNIT_COLUMNS, MeasureContext
from tests.engine_store import categories, denominator, numerator, tiny_store


def units(indicator: str, text: str, period: str = "2024-25"):
    ctx = MeasureContext(tiny_store(text), Period.parse(period))
    return MEASURES[indicator].units(ctx)


# --- B1: referral outcomes ------------------------------------------------------------------

REFERRALS = """
    referrals
    child_id | referral_date | referral_source | referral_nfa | closure_date | closure_reason
    A        | 2024-03-31    | 6               | false        |              |
    B        | 2024-04-01    | 6               | true         | 2024-04-01   | RC7
    C        | 2024-06-01    | 2A              | false        | 2024-07-15   | RC8
    D        | 2024-07-01    | 2A              | false        | 2024-08-01   | RC9
    E        | 2024-08-01    | 3A              | false        |              |
    F        | 2024-09-01    | 6               | false        | 2025-02-01   | RC7
    G        | 2025-03-31    | 6               | false        |              |
    H        | 2025-04-01    | 6               | false        |              |
    I        | 2024-05-01    | 5A              | false        | 2024-10-01   | RC7
    J        | 2024-05-01    | 5A              | false        |              |

    cp_plans
    child_id | start_date | end_date
    F        | 2024-10-01 |
    I        | 2025-01-01 |

    episodes
    child_id | start_date | reason_new_episode | legal_status
    G        | 2025-05-01 | S                  | C1
    J        | 2024-06-01 | S                  | V3
"""
# In the year: B..G, I, J (A is 31 March 2024, H is 1 April 2025) = 8 referrals.
# B NFA. C (RC8) and D (RC9) closed after assessment: not in need. E open: a service.
# F had a CP plan during its episode. G is still open and the child came into care after the
# year ended, during the episode: looked after. I's CP plan started after its closure: CiN.
# J's only episode of care is a short break (V3): not looked after, so CiN.


def test_b1_1_referrals_leading_to_a_service():
    frame = units("B1.1", REFERRALS)
    assert denominator(frame) == {
        f"{c} / {d}"
        for c, d in [
            ("B", "2024-04-01"),
            ("C", "2024-06-01"),
            ("D", "2024-07-01"),
            ("E", "2024-08-01"),
            ("F", "2024-09-01"),
            ("G", "2025-03-31"),
            ("I", "2024-05-01"),
            ("J", "2024-05-01"),
        ]
    }
    # Not NFA and not RC8/RC9: E, F, G, I, J -> 5 / 8
    assert {u.split(" / ")[0] for u in numerator(frame)} == {"E", "F", "G", "I", "J"}
    assert set(frame.columns) >= {*UNIT_COLUMNS, "referral_source"}


def test_b1_2_referrals_with_no_further_action():
    frame = units("B1.2", REFERRALS)
    assert len(denominator(frame)) == 8
    assert numerator(frame) == {"B / 2024-04-01"}  # 1 / 8


def test_b1_3_furthest_outcome_by_referral_source():
    frame = units("B1.3", REFERRALS)
    found = {u.split(" / ")[0]: c for u, c in categories(frame).items()}
    assert found == {
        "B": "nfa",
        "C": "not_in_need",
        "D": "not_in_need",
        "E": "cin",
        "F": "cp",
        "G": "looked_after",
        "I": "cin",
        "J": "cin",
    }
    sources = dict(zip(frame["child_id"], frame["referral_source"], strict=True))
    assert sources["C"] == "2A" and sources["E"] == "3A"
    assert set(found.values()) <= set(MEASURES["B1.3"].categories)


def test_b1_no_referrals_in_the_year_is_no_data():
    frame = units("B1.1", REFERRALS, period="2020-21")
    assert frame.empty and set(frame.columns) >= set(UNIT_COLUMNS)


# --- B2: re-referrals -----------------------------------------------------------------------


def test_b2_1_re_referrals_after_a_referral_without_a_service():
    frame = units(
        "B2.1",
        """
        referrals
        child_id | referral_date | referral_nfa | closure_date | closure_reason
        A        | 2023-05-01    | true         | 2023-05-01   | RC7
        A        | 2024-04-30    | false        |              |
        B        | 2023-06-01    | true         | 2023-06-01   | RC7
        B        | 2024-06-01    | false        |              |
        C        | 2024-04-10    | false        | 2024-05-01   | RC8
        C        | 2024-09-01    | false        |              |
        D        | 2024-05-01    | false        | 2024-07-01   | RC7
        D        | 2024-08-01    | false        |              |
        E        | 2024-01-10    | false        | 2024-02-01   | RC9
        E        | 2024-04-01    | false        |              |
        """,
    )
    # In the year: A 30/4, B 1/6, C 10/4 and 1/9, D 1/5 and 1/8, E 1/4 = 7 referrals.
    # A: NFA 365 days before (1 May 2023 -> 30 April 2024 crosses 29 Feb) -> yes.
    # B: NFA 366 days before -> no. C 1/9: C 10/4 was closed RC8 (no service) -> yes; C 10/4
    # itself has no earlier referral. D 1/8: D 1/5 led to a service (RC7) -> no.
    # E 1/4 (first day of the year): E 10/1 closed RC9 -> yes. 3 / 7.
    assert len(denominator(frame)) == 7
    assert numerator(frame) == {"A / 2024-04-30", "C / 2024-09-01", "E / 2024-04-01"}


def test_b2_2_re_referrals_after_a_cin_plan_ended():
    frame = units(
        "B2.2",
        """
        referrals
        child_id | referral_date
        A        | 2024-05-31
        B        | 2024-06-01
        C        | 2024-07-01
        D        | 2024-08-01
        E        | 2024-12-01

        cin_plans
        child_id | start_date | end_date
        A        | 2023-01-01 | 2023-06-01
        B        | 2023-01-01 | 2023-06-01
        C        | 2024-01-01 | 2024-07-01
        D        | 2023-01-01 |
        E        | 2024-06-01 | 2025-01-01
        """,
    )
    # A: plan ended 365 days before (leap year) -> yes. B: 366 days -> no. C: ended the same
    # day as the referral (not before it) -> no. D: plan still open -> no. E: the plan ended
    # after the referral -> no. 1 / 5.
    assert len(denominator(frame)) == 5
    assert numerator(frame) == {"A / 2024-05-31"}


# --- B3: S47 enquiries and CP plans -----------------------------------------------------------


def test_b3_1_s47_enquiries_not_leading_to_a_plan_within_60_days():
    frame = units(
        "B3.1",
        """
        s47_enquiries
        child_id | start_date
        A        | 2024-04-01
        B        | 2024-04-01
        C        | 2025-03-31
        D        | 2024-05-01
        E        | 2024-03-31
        F        | 2024-07-01

        cp_plans
        child_id | start_date
        A        | 2024-05-31
        B        | 2024-06-01
        C        | 2025-04-15
        F        | 2024-06-01
        """,
    )
    # In the year: A, B, C, D, F (E is 31 March 2024) = 5.
    # A: plan 60 days later (1 April + 60 = 31 May) -> led to a plan. B: 61 days -> no plan.
    # C: plan 15 days later, in the next year -> led to a plan. D: no plan. F: only a plan
    # that started before the enquiry -> no plan. Numerator B, D, F: 3 / 5.
    assert len(denominator(frame)) == 5
    assert numerator(frame) == {"B / 2024-04-01", "D / 2024-05-01", "F / 2024-07-01"}


def test_b3_2_s47_enquiries_about_children_previously_on_a_plan():
    frame = units(
        "B3.2",
        """
        s47_enquiries
        child_id | start_date
        A        | 2024-05-01
        B        | 2024-05-01
        C        | 2024-05-01
        D        | 2024-06-01
        E        | 2024-06-01
        F        | 2024-06-01

        cp_plans
        child_id | start_date | end_date   | previous_plans
        A        | 2022-01-01 | 2022-06-01 | 0
        B        | 2024-05-20 |            | 1
        C        | 2024-05-20 |            | 0
        D        | 2024-06-01 |            | 0
        F        | 2024-06-20 | 2024-09-01 | 0
        F        | 2025-01-01 |            | 1
        """,
    )
    # A: a plan in the store's history before the enquiry -> yes. B: no earlier plan in the
    # store, but the plan that followed says 1 previous plan -> yes. C: the next plan says 0
    # -> no. D: a plan starting on the enquiry's day is not before it -> no. E: no plans.
    # F: the first plan after the enquiry says 0 (F's later plan counts that one) -> no.
    assert len(denominator(frame)) == 6
    assert numerator(frame) == {"A / 2024-05-01", "B / 2024-05-01"}


CP_PLANS = """
    cp_plans
    child_id | start_date | end_date   | previous_plans
    A        | 2024-04-01 | 2024-09-01 | 0
    A        | 2025-03-31 |            | 1
    B        | 2024-03-31 |            | 2
    C        | 2025-04-01 |            | 1
    D        | 2022-01-01 | 2022-09-30 | 1
    D        | 2024-10-01 |            | 2
    E        | 2024-11-01 |            |
"""


def test_b3_3_second_or_subsequent_plans():
    frame = units("B3.3", CP_PLANS)
    # Started in the year: A 1/4/24, A 31/3/25, D 1/10/24, E 1/11/24 (B before, C after) = 4.
    # NumberOfPreviousCPP >= 1: A 31/3/25 and D (E's is blank: not counted). 2 / 4.
    assert denominator(frame) == {
        "A / 2024-04-01",
        "A / 2025-03-31",
        "D / 2024-10-01",
        "E / 2024-11-01",
    }
    assert numerator(frame) == {"A / 2025-03-31", "D / 2024-10-01"}


def test_b3_3_beside_it_previous_plan_ended_within_two_years():
    frame = units("B3.3b", CP_PLANS)
    # A's previous plan ended 1/9/24, within 2 years of 31/3/25 -> yes. D's ended 30/9/22,
    # one day more than 2 years before 1/10/24 -> no. 1 / 4.
    assert set(frame["unit_id"]) == denominator(units("B3.3", CP_PLANS))
    assert set(frame.loc[frame["in_numerator"], "unit_id"]) == {"A / 2025-03-31"}


# --- B4: admissions ---------------------------------------------------------------------------


def test_b4_1_unplanned_admissions():
    frame = units(
        "B4.1",
        """
        episodes
        child_id | start_date | reason_new_episode | legal_status | end_date   | reason_ceased
        A        | 2024-04-01 | S                  | L1           |            |
        B        | 2024-06-10 | S                  | C2           |            |
        C        | 2024-06-10 | S                  | V2           |            |
        D        | 2024-05-01 | S                  | C1           | 2024-07-01 | X1
        D        | 2024-07-01 | L                  | L2           |            |
        E        | 2024-03-31 | S                  | L1           |            |
        F        | 2024-07-01 | S                  | V3           | 2024-07-02 | E4A
        G        | 2025-03-31 | S                  | J1           |            |

        referrals
        child_id | referral_date
        B        | 2024-06-03
        C        | 2024-06-02
        G        | 2025-03-31
        """,
    )
    # Periods started in the year: A, B, C, D, G (E entered on 31 March 2024; F's short break
    # is not care; D's second episode continues the same period) = 5.
    # A: police protection at entry -> unplanned. B: referred 7 days before -> unplanned.
    # C: referred 8 days before -> planned. D: entered on an interim care order; the later
    # EPO episode is not the entry -> planned. G: referred the same day -> unplanned. 3 / 5.
    assert denominator(frame) == {
        "A / 2024-04-01",
        "B / 2024-06-10",
        "C / 2024-06-10",
        "D / 2024-05-01",
        "G / 2025-03-31",
    }
    assert numerator(frame) == {"A / 2024-04-01", "B / 2024-06-10", "G / 2025-03-31"}


def test_b4_2_readmissions():
    frame = units(
        "B4.2",
        """
        episodes
        child_id | start_date | reason_new_episode | legal_status | end_date   | reason_ceased
        A        | 2022-05-01 | S                  | V2           | 2022-12-01 | E4A
        A        | 2024-06-01 | S                  | V2           |            |
        B        | 2024-05-01 | S                  | C1           | 2024-08-01 | X1
        B        | 2024-08-01 | P                  | C1           |            |
        C        | 2024-05-01 | S                  | V2           | 2024-07-01 | E4B
        C        | 2024-09-01 | S                  | V2           |            |
        D        | 2024-05-01 | S                  | C2           | 2024-06-01 | X1
        D        | 2024-06-10 | P                  | C2           |            |
        E        | 2023-01-01 | S                  | V3           | 2023-01-03 | E4A
        E        | 2024-07-01 | S                  | C2           |            |
        """,
    )
    # Periods started in the year: A 1/6, B 1/5 (its 1/8 episode continues it), C 1/5 and
    # 1/9, D 1/5 and 10/6 (a gap after D's first episode starts a new period), E 1/7 = 7.
    # Re-admissions: A (period ended 2022), C 1/9, D 10/6. E's earlier stay was a short break.
    assert len(denominator(frame)) == 7
    assert numerator(frame) == {"A / 2024-06-01", "C / 2024-09-01", "D / 2024-06-10"}


# --- B5: plan history -----------------------------------------------------------------------


def test_b5_1_stayed_on_the_same_type_of_plan():
    frame = units(
        "B5.1",
        """
        cin_plans
        child_id | start_date | end_date
        A        | 2024-01-01 | 2024-12-31
        B        | 2024-05-01 | 2024-08-01
        D        | 2025-03-31 |
        E        | 2024-04-01 | 2024-06-01
        E        | 2024-09-01 | 2024-12-01

        cp_plans
        child_id | start_date | end_date
        B        | 2024-08-01 |
        C        | 2023-01-01 | 2024-03-31
        F        | 2023-06-01 | 2024-04-01

        episodes
        child_id | start_date | reason_new_episode | legal_status
        F        | 2024-01-01 | S                  | C2
        """,
    )
    # On a plan in the year: A, B, D (from 31 March 2025), E, F. C's plan ended on 31 March
    # 2024: not in the year. B moved from a CiN plan to a CP plan -> changed. E had two CiN
    # plans -> same type. F was on a CP plan until 1 April 2024 but looked after since
    # January: the higher level counts, so looked after all year -> same type. 4 / 5.
    assert denominator(frame) == {"A", "B", "D", "E", "F"}
    assert numerator(frame) == {"A", "D", "E", "F"}


DE_ESCALATIONS = """
    cin_plans
    child_id | start_date | end_date
    A        | 2024-06-30 | 2024-12-31
    B        | 2024-02-01 | 2024-05-31
    B        | 2025-06-01 |
    C        | 2024-02-01 | 2024-05-31
    C        | 2025-06-02 |
    D        | 2023-01-01 | 2024-03-30
    E        | 2024-01-01 | 2025-03-30
    F        | 2024-01-01 | 2025-03-31
    H        | 2024-05-01 | 2024-06-10
    I        | 2024-05-01 | 2024-06-10

    cp_plans
    child_id | start_date | end_date
    A        | 2024-01-01 | 2024-06-30
    H        | 2024-07-01 |
    I        | 2024-07-12 |

    episodes
    child_id | start_date | reason_new_episode | legal_status | end_date   | reason_ceased
    G        | 2020-01-01 | S                  | C2           | 2024-09-30 | E17

    children
    child_id | date_of_birth
    G        | 2006-10-01

    referrals
    child_id | referral_date | referral_nfa
    C        | 2025-05-20    | false
"""
# Period 2025-26: de-escalations from 1 April 2024 to 31 March 2025 (12 months before the
# period), followed up for 12 months (to day + 12 months).
# A: CP to CiN on 1 July 2024 (both open on 30 June: CP), CiN to none on 1 Jan 2025.
# B: plan ended (none from 1 June 2024); a new CiN plan 1 June 2025, 12 months on -> new plan.
# C: none from 1 June 2024; the new plan on 2 June 2025 is a day too late, but a referral that
#    led to a service came on 20 May 2025 -> presented again, without a new plan in time.
# D: none from 31 March 2024 (before the window). E: none from 31 March 2025 (in the window).
# F: none from 1 April 2025 (after the window). G: left care at 18 on 1 Oct 2024: ageing out.
# H: CiN ended 10 June, CP from 1 July: a 20-day gap is the hand-over, not a de-escalation.
# I: a 31-day gap (11 June to 11 July) -> none from 11 June, then a new (CP) plan.
DE_ESCALATION_COHORT = {
    "A / 2024-07-01",
    "A / 2025-01-01",
    "B / 2024-06-01",
    "C / 2024-06-01",
    "E / 2025-03-31",
    "I / 2024-06-11",
}


def test_b5_2_de_escalated_and_did_not_present_again():
    frame = units("B5.2", DE_ESCALATIONS, period="2025-26")
    assert denominator(frame) == DE_ESCALATION_COHORT
    # No new plan and no referral leading to a service within 12 months: A twice, E. 3 / 6.
    assert numerator(frame) == {"A / 2024-07-01", "A / 2025-01-01", "E / 2025-03-31"}


def test_b5_3_de_escalated_and_needed_a_new_plan_within_12_months():
    frame = units("B5.3", DE_ESCALATIONS, period="2025-26")
    assert denominator(frame) == DE_ESCALATION_COHORT
    assert numerator(frame) == {"B / 2024-06-01", "I / 2024-06-11"}  # 2 / 6


ESCALATIONS = """
    cin_plans
    child_id | start_date | end_date
    A        | 2024-04-01 | 2024-06-01
    B        | 2024-04-01 | 2024-07-01
    B        | 2024-09-15 |
    D        | 2024-04-01 | 2024-05-01
    E        | 2023-06-01 | 2024-03-31
    F        | 2024-05-01 | 2024-06-10

    cp_plans
    child_id | start_date | end_date
    A        | 2024-06-01 | 2025-01-31
    B        | 2024-07-01 | 2024-09-15
    C        | 2024-10-01 |
    D        | 2024-05-01 |
    E        | 2024-03-31 |
    F        | 2024-07-01 |
    H        | 2024-04-01 |

    cp_plan_reviews
    child_id | plan_start_date | review_date
    A        | 2024-06-01      | 2024-08-20
    D        | 2024-05-01      | 2024-09-01
    F        | 2024-07-01      | 2024-09-15

    episodes
    child_id | start_date | reason_new_episode | legal_status | end_date   | reason_ceased
    C        | 2025-03-31 | S                  | C1           |            |
    G        | 2024-06-01 | S                  | L1           |            |
    H        | 2024-08-01 | S                  | C1           | 2024-08-20 | E4A
"""
# Escalations in 2024-25 (the store's returns reach 31 March 2025):
# A: CiN -> CP 1 June; first review 20 Aug, still on the plan -> confirmed; CP ended 31 Jan,
#    8 months on -> not de-escalated within 6 months.
# B: CiN -> CP 1 July; no review recorded, due 1 Oct; back to CiN from 16 Sept -> not
#    confirmed; de-escalated within 6 months.
# C: CP (a first plan from none: not an escalation) -> looked after 31 March 2025; first
#    review due 28 April 2025, after the store ends, still looked after -> not yet known.
# D: CiN -> CP 1 May; first review late (1 Sept), still on the plan -> confirmed.
# E: escalated on 31 March 2024, before the year. F: CiN -> CP 1 July after a 20-day gap (the
#    hand-over) -> confirmed at 15 Sept. G: entered care from no plan: not an escalation.
# H: CP -> looked after 1 Aug; back home 20 Aug (CP again from 21 Aug), before the review due
#    on 29 Aug -> not confirmed; de-escalated within 6 months.


def test_b5_4_escalations_confirmed_at_the_first_review():
    frame = units("B5.4", ESCALATIONS)
    assert set(frame["unit_id"]) == {
        "A / 2024-06-01",
        "B / 2024-07-01",
        "C / 2025-03-31",
        "D / 2024-05-01",
        "F / 2024-07-01",
        "H / 2024-08-01",
    }
    assert denominator(frame) == set(frame["unit_id"]) - {"C / 2025-03-31"}  # C not known yet
    assert numerator(frame) == {"A / 2024-06-01", "D / 2024-05-01", "F / 2024-07-01"}  # 3/5


def test_b5_5_escalations_de_escalated_within_6_months():
    frame = units("B5.5", ESCALATIONS)
    assert len(denominator(frame)) == 6  # A, B, C, D, F, H
    assert numerator(frame) == {"B / 2024-07-01", "H / 2024-08-01"}  # 2 / 6


# --- B6: care leavers -------------------------------------------------------------------------


def test_b6_1_pattern_of_contact():
    frame = units(
        "B6.1",
        """
        care_leavers
        child_id | year | in_touch
        A        | 2025 | YES
        B        | 2025 | NO
        C        | 2025 | REFU
        D        | 2025 | NREQ
        E        | 2025 | RHOM
        F        | 2025 | DIED
        G        | 2024 | YES
        H        | 2025 | XX
        """,
    )
    # 2024-25 uses the OC3 rows of 2025; G's row is 2023-24's. H's code is not a valid one.
    assert categories(frame) == {
        "A / 2025": "in_touch",
        "B / 2025": "not_in_touch",
        "C / 2025": "refused",
        "D / 2025": "not_required",
        "E / 2025": "returned_home",
        "F / 2025": "died",
    }
    assert "H / 2025" in set(frame["unit_id"]) - denominator(frame)
