"""Every rate and distribution the simulator uses, in one place, with where it came from.

Figures marked "England 2024-25" come from the published DfE statistics copied into
``/work/shared/reference/csc_la_stats`` (national rows of the files named); the rest are
judgements about practice, chosen so that the generated returns reproduce those published
levels (see ``tests/test_demo_generator.py`` for the checks). Weighted choices are tuples of
``(value, weight)``; weights need not sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Weights = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Geography:
    # About 350 children aged 0-17 per small area (the brief; an English LSOA holds ~1,500
    # people, of whom ~21% are under 18).
    children_per_area: int = 350
    areas_per_ward: tuple[int, int] = (5, 9)
    postcodes_per_area: tuple[int, int] = (10, 20)
    localities: tuple[str, ...] = ("Quillmarsh", "Thistlewick", "Fennimoor", "Dunnockley")
    # Share of areas in IMD deciles 1..10: skewed towards deprivation, like a northern or
    # coastal authority (IoD2019 File 1: many such LAs have ~30% of LSOAs in deciles 1-2).
    imd_decile_shares: tuple[float, ...] = (
        0.17,
        0.14,
        0.12,
        0.11,
        0.10,
        0.09,
        0.08,
        0.07,
        0.06,
        0.06,
    )
    # Relative risk of a first referral by IMD decile 1..10. Referral and care rates in the
    # most deprived tenth are several times those in the least (Child Welfare Inequalities
    # Project; the brief asks for decile 1 "several times" decile 10).
    referral_risk_by_decile: tuple[float, ...] = (
        2.6,
        2.0,
        1.6,
        1.3,
        1.05,
        0.85,
        0.7,
        0.55,
        0.45,
        0.4,
    )
    # Extra multiplier on entry to care and CP by decile (the care gradient is steeper).
    escalation_risk_by_decile: tuple[float, ...] = (
        1.3,
        1.2,
        1.1,
        1.05,
        1.0,
        0.95,
        0.9,
        0.85,
        0.8,
        0.75,
    )
    no_postcode_share: float = 0.02  # children with no recorded postcode (awkward case)
    move_house_per_year: float = 0.06  # house moves within Demoton per child-year known
    out_of_area_placement_share: float = 0.35  # foster/children's homes outside Demoton


@dataclass(frozen=True)
class Demand:
    # First-ever referrals per 10,000 children a year, before the window opens. With
    # re-referrals this gives ~520 referrals per 10,000 in the middle of the window (c1:
    # 632,830 referrals / 12.18m children = 519 per 10k in 2024-25).
    first_referral_rate: float = 280.0
    # In the window, first referrals rise a few % a year (c1: 598k in 2020-21 to 633k in
    # 2024-25); before it the rate is steady, so the caseload is settled when it opens.
    yearly_growth: float = 0.04
    # Years simulated before the first written year. Longer than the brief's ~8 so that
    # children looked after since early childhood, and care leavers who entered care young,
    # are in the data (cla_number_and_rate: 67 looked after per 10k at 31 March).
    burn_in_years: int = 16
    # Children appearing in any written file per child in the population: about 8% for one
    # year plus 2.7% per extra year. Measured on this simulator; used only to size the
    # geography (~350 children per area) before simulating. (England: b1 counts 704k
    # children in need at some point in 2024-25, 5.8% of 12.18m, excluding NFA and
    # not-in-need referrals, which the files here include.)
    appear_share_first_year: float = 0.080
    appear_share_per_extra_year: float = 0.027
    # Age at a child's first referral, shaped on DfE's children in need by age (published
    # tables, not in the reference folder): under 1 ~10%, 1-4 ~18%, 5-9 ~22%, 10-15 ~34%,
    # 16+ ~12%; unborn ~3%. First referrals lean younger than all referrals.
    first_referral_age: Weights = (
        ("unborn", 3.0),
        ("0", 10.0),
        ("1-4", 19.0),
        ("5-9", 22.0),
        ("10-15", 34.0),
        ("16-17", 12.0),
    )
    unaccompanied_share: float = 0.009  # of first referrals: UASC arriving aged 15-17
    transfer_in_cp_share: float = 0.005  # referrals that are CP transfers-in from another LA
    male_share: float = 0.52  # children in need are ~52% boys (DfE characteristics tables)
    disabled_share: float = 0.115  # 10-13% of children in need have a disability recorded
    death_per_year: float = 0.0006  # deaths are rare (RC2/E2)
    moves_away_share: float = 0.03  # episodes closed RC5 (transferred to another LA)


@dataclass(frozen=True)
class Referrals:
    # Referral sources, England 2024-25 (DfE referrals by source, as quoted in the brief;
    # not in the reference folder): police 29%, schools 20%, health 14%, LA services 14%,
    # individuals 7%, other legal agencies 2.5%, the rest other, anonymous or unknown.
    sources: Weights = (
        ("6", 29.0),
        ("2A", 18.5),
        ("2B", 1.5),
        ("3A", 1.6),
        ("3B", 2.2),
        ("3C", 0.6),
        ("3D", 2.6),
        ("3E", 2.6),
        ("3F", 4.4),
        ("5A", 3.8),
        ("5B", 3.2),
        ("5C", 3.2),
        ("5D", 3.8),
        ("1A", 4.6),
        ("1B", 0.8),
        ("1C", 1.0),
        ("1D", 0.6),
        ("4", 1.3),
        ("7", 2.5),
        ("8", 4.3),
        ("9", 1.4),
        ("10", 1.5),
    )
    # c1 2024-25: 6.5% of referrals NFA; 30.8% assessed not in need (RC8).
    nfa: float = 0.065
    not_in_need: float = 0.36  # of assessed referrals -> RC8 (~31% of all referrals)
    early_help: float = 0.06  # of assessed referrals -> RC9
    # Of assessed referrals: S47 enquiry started (England ~200k S47s / 633k referrals; set so
    # CP plans come out near 51 per 10k starting a year, d3).
    s47: float = 0.20
    # Of assessed referrals going straight to care (emergencies, teenagers accommodated).
    care_direct: float = 0.024
    # Re-referral: chance of a later referral after closure, and the gap. Tuned so ~22% of
    # referrals are within 12 months of a previous one (c1: 22.6% in 2024-25).
    rereferral_after_nfa_or_rc8: float = 0.50
    rereferral_after_service: float = 0.48
    rereferral_gap_days: tuple[float, float] = (5.0, 1.1)  # lognormal mu, sigma (median ~5 months)
    # Improvement from the third written year: fewer quick re-referrals.
    improvement_year_index: int = 2
    improvement_rereferral_factor: float = 0.8
    # Assessment: start within days, authorised 10-45 working days later (England: 83% of
    # assessments within 45 working days; median ~ 25).
    assessment_start_delay_wd: tuple[int, int] = (0, 4)
    assessment_length_wd: tuple[float, float] = (24.0, 10.0)  # mean, sd (normal, clipped)
    # Primary need at assessment (DfE children in need by primary need: abuse or neglect
    # ~57%, disability ~10%, family in acute stress or dysfunction ~16%).
    primary_need: Weights = (
        ("N1", 57.0),
        ("N2", 10.0),
        ("N3", 3.5),
        ("N4", 8.0),
        ("N5", 8.0),
        ("N6", 2.5),
        ("N7", 0.5),
        ("N8", 4.5),
        ("N9", 6.0),
    )


@dataclass(frozen=True)
class Protection:
    # ~40% of S47 enquiries lead to a CP plan (brief): 0.34 before the deprivation and
    # history multipliers, which lift it to ~40% in the files. ~8% more reach an initial
    # conference that makes no plan.
    cp_after_s47: float = 0.34
    icpc_no_plan: float = 0.08
    icpc_wd: tuple[float, float] = (13.0, 4.0)  # working days from strategy meeting (target 15)
    # Initial category (England 2024-25: neglect ~50%, emotional ~37%).
    categories: Weights = (("NEG", 49.0), ("EMO", 37.0), ("PHY", 7.0), ("SAB", 4.0), ("MUL", 3.0))
    category_changes: float = 0.08  # LatestCategoryOfAbuse differs from the initial one
    # Plan length in days, as a mixture matching d5 (at 31 March: 31% <=3m, 26% 3-6m,
    # 26% 6-12m, 14% 1-2y, 2% 2y+).
    length_days: tuple[tuple[int, int, float], ...] = (
        (60, 95, 0.10),
        (95, 190, 0.27),
        (190, 365, 0.38),
        (365, 730, 0.21),
        (730, 1000, 0.04),
    )
    # What happens when a plan ends.
    end_into_care: float = 0.12
    end_step_down_cin_plan: float = 0.62
    # Plans elsewhere or before the records began (so ~24% are second or subsequent, d3).
    prior_plan_chance: float = 0.15
    # CIN plans: share of non-CP assessed episodes that get a plan, and their length.
    cin_plan_share: float = 0.55
    cin_plan_days: tuple[float, float] = (5.3, 0.55)  # lognormal mu, sigma (median ~7 months)
    open_without_plan_days: tuple[float, float] = (5.0, 0.9)
    disabled_long_episode_days: tuple[float, float] = (6.7, 0.6)  # N2 children: years
    escalation_from_cin_plan: float = 0.08  # a new S47 during a CIN plan


@dataclass(frozen=True)
class Care:
    # Legal status at entry (DfE children starting to be looked after by legal status,
    # published tables: s20 ~ half, interim care orders ~30%, police protection or EPO
    # ~12%, remand ~2%).
    entry_route_under16: Weights = (
        ("voluntary", 40.0),
        ("court", 36.0),
        ("police", 14.0),
        ("epo", 8.0),
        ("remand", 2.0),
    )
    entry_route_16_17: Weights = (("voluntary", 82.0), ("police", 8.0), ("remand", 10.0))
    # Plans by age at entry, aimed at DfE's reasons for ceasing (published tables): ~25% leave
    # at 18, ~30% return home, ~12% special guardianship, ~9% adopted.
    plan_by_age: dict[str, Weights] = field(
        default_factory=lambda: {
            "0": (("adoption", 48.0), ("sgo", 22.0), ("home", 23.0), ("long", 7.0)),
            "1-4": (("adoption", 26.0), ("sgo", 26.0), ("home", 37.0), ("long", 11.0)),
            "5-9": (("adoption", 2.0), ("sgo", 18.0), ("home", 52.0), ("long", 28.0)),
            "10-15": (("sgo", 5.0), ("home", 58.0), ("long", 37.0)),
            "16-17": (("home", 45.0), ("long", 55.0)),
        }
    )
    return_home_days: tuple[float, float] = (5.4, 0.85)  # lognormal: median ~7 months
    final_hearing_days: tuple[float, float] = (300.0, 60.0)  # care proceedings (~43 weeks)
    adoption_placement_after_order_days: tuple[int, int] = (40, 200)
    adoption_order_after_placement_days: tuple[int, int] = (180, 380)
    adoption_disrupted: float = 0.07  # decision reversed (REASON_PLACED_CEASED)
    sgo_after_hearing_days: tuple[int, int] = (0, 400)
    reentry_after_return: float = 0.11  # re-entry within the same CIN episode
    # Placements: mean days before a move, by age band (la_cla_placement_stability: 10% of
    # children looked after at 31 March had 3+ placements in the year).
    placement_mean_days: dict[str, float] = field(
        default_factory=lambda: {"0-9": 1100.0, "10-15": 800.0, "16-17": 650.0}
    )
    first_placement_mean_days: float = 320.0
    move_reasons: Weights = (
        ("CARPL", 44.0),
        ("CREQB", 15.0),
        ("CREQO", 8.0),
        ("CHILD", 6.0),
        ("LAREQ", 5.0),
        ("CLOSE", 5.0),
        ("STAND", 3.0),
        ("ALLEG", 3.0),
        ("APPRR", 1.0),
        ("CUSTOD", 1.0),
        ("OTHER", 2.0),
    )
    long_term_match: float = 0.55  # short-term foster -> long-term with the same carer (RNE T)
    temporary_placement_per_year: float = 0.05  # T1/T3 breaks
    leave_at_18: Weights = (("E17", 24.0), ("E5", 52.0), ("E6", 12.0), ("E13", 6.0), ("E7", 3.0))
    unaccompanied_exit_at_18: Weights = (("E5", 60.0), ("E17", 25.0), ("E6", 15.0))
    # Missing and away from placement (DfE published figures: ~12% of looked-after children go
    # missing in a year, ~6 incidents each; mostly teenagers).
    missing_prone_share: float = 0.22  # of children looked after aged 11+
    missing_per_year: float = 5.0
    away_share: float = 0.15
    # la_cla_swcount: most looked-after children have one or two social workers in a year.
    social_worker_changes_per_year: float = 0.9
    # Care leavers, OC3 (la_care_leavers_*: 17-18 EET 64%, 19-21 EET 54%; suitable
    # accommodation 91% / 89%; "information not known" ~6%).
    in_touch: Weights = (
        ("YES", 90.0),
        ("NO", 3.5),
        ("REFU", 2.0),
        ("NREQ", 2.5),
        ("RHOM", 1.8),
        ("DIED", 0.2),
    )
    eet_17_18: float = 0.64
    eet_19_21: float = 0.56
    suitable_accommodation: float = 0.90


@dataclass(frozen=True)
class WorkforceParams:
    """The demo authority's staff (framework/demo/workforce.py).

    National figures are CSWW 2024 (csww_indicators_2017_to_2025.csv, England, reporting year
    2024): turnover 13.9% (FTE), agency rate 16.2%, vacancy rate 17.3%, caseload 15.4 per
    case-holding FTE, 8.3 working days lost per FTE. Teams differ around them; the rest are
    judgements about how a children's services department is organised.
    """

    # Localities whose safeguarding teams struggle to keep staff (high turnover, high agency).
    high_turnover_localities: tuple[str, ...] = ("Quillmarsh", "Fennimoor")
    # Yearly chance an employee leaves the post, by team kind (the team's turnover parameter).
    turnover: dict[str, float] = field(
        default_factory=lambda: {
            "front_door": 0.18,
            "locality_high": 0.30,
            "locality": 0.11,
            "children_in_care": 0.16,
            "care_leavers": 0.13,
            "quality_assurance": 0.08,
            "service_managers": 0.10,
            "senior_leadership": 0.09,
        }
    )
    # Mean days to recruit a permanent replacement (hard-to-fill teams take longer).
    recruitment_days: dict[str, float] = field(
        default_factory=lambda: {"locality_high": 330.0, "front_door": 270.0, "other": 260.0}
    )
    # Chance that a vacancy is covered by an agency (or interim) worker meanwhile.
    agency_cover: dict[str, float] = field(
        default_factory=lambda: {"locality_high": 0.92, "front_door": 0.85, "other": 0.75}
    )
    agency_stint_days: float = 200.0  # agency assignments are short: a new face each time
    internal_move_share: float = 0.12  # of social workers leaving a post: a move to another team
    # Posts are sized on the window's caseload: 14.5 children per established case-holding
    # FTE gives ~15-16 per FTE in post once vacancies and part-time staff are counted.
    children_per_post: float = 14.5
    children_per_personal_adviser: float = 20.0
    min_case_holding_posts: int = 3
    locality_split_posts: int = 11  # a locality needing more posts than this has two teams
    part_time_share: float = 0.18  # employees on 0.6-0.8 FTE
    # Sickness (working days): short spells and rarer long-term ones; ~8-9 days per FTE a year.
    short_sickness_per_year: float = 2.0
    long_sickness_per_year: float = 0.06
    sickness_factor_high_turnover: float = 1.3
    # Changes of worker for reasons other than a worker leaving or the case moving team:
    # caseload management, absence cover, a child's or parent's request (per allocation-year,
    # at a turnover of 15%; in proportion to the team's turnover, within half to double).
    other_change_per_year: float = 0.35
    # Extra posts funded in each high-turnover team from the improvement year (journey.py).
    extra_posts_in_improvement_year: int = 1


@dataclass(frozen=True)
class DemoParams:
    geography: Geography = field(default_factory=Geography)
    demand: Demand = field(default_factory=Demand)
    referrals: Referrals = field(default_factory=Referrals)
    protection: Protection = field(default_factory=Protection)
    care: Care = field(default_factory=Care)


DEFAULT_PARAMS = DemoParams()

# Published England figures the demo is checked against (per 10,000 children aged 0-17,
# 2024-25 unless noted), for the summary and the README.
ENGLAND = {
    "referrals per 10k": 519.0,  # c1 referral_count / cla population_estimate
    "children in need at 31 March per 10k": 330.0,  # dfe_dashboard_cin_rates_per10k
    "CP plans at 31 March per 10k": 40.6,  # d5 CPP_At31 / population
    "looked after at 31 March per 10k": 67.0,  # cla_number_and_rate_per_10k_children
    "NFA % of referrals": 6.5,  # c1 no_further_action_percent
    "re-referrals within 12 months %": 22.6,  # c1 rereferral_percent
    "second or subsequent CP plans %": 24.5,  # d3 CPP_subsequent_percent
    "care leavers 17-21 in EET %": 56.0,  # la_care_leavers_activity (weighted 17-18 and 19-21)
    "care leavers in suitable accommodation %": 89.0,  # la_care_leavers_accommodation
}
