"""A child's journey through children's social care, referral by referral.

Each referral (a CINdetails block) runs: source -> no further action, or an assessment whose
outcome is one of: closed not in need (RC8), referred to early help (RC9), services with or
without a child in need plan, a section 47 enquiry (which may lead to an initial conference
and a child protection plan), or entry to care. Plans end in step-down, closure or escalation;
periods of care end in return home, special guardianship, adoption or adulthood. After a
closure the child may be referred again; the gap decides whether it counts as a re-referral.
"""

from __future__ import annotations

import random

from framework.demo.care import CareBuilder
from framework.demo.dates import (
    Day,
    WorkingDays,
    age_on,
    birthday,
    end_year_of,
    uk,
    year_end,
)
from framework.demo.draws import Picker, chance, lognormal_days, normal_int
from framework.demo.geography import LA_NUMBER, Demoton
from framework.demo.model import (
    Assessment,
    Child,
    CinPlan,
    CPPlan,
    LeaverStatus,
    Referral,
    Section47,
)
from framework.demo.params import DemoParams

ETHNICITY = Picker(
    (
        ("WBRI", 57.0),
        ("WIRI", 0.4),
        ("WIRT", 0.3),
        ("WOTH", 6.5),
        ("WROM", 0.8),
        ("MWBC", 3.0),
        ("MWBA", 1.3),
        ("MWAS", 1.5),
        ("MOTH", 3.5),
        ("AIND", 1.0),
        ("APKN", 3.0),
        ("ABAN", 1.5),
        ("AOTH", 2.3),
        ("BCRB", 1.4),
        ("BAFR", 4.0),
        ("BOTH", 1.5),
        ("CHNE", 0.2),
        ("OOTH", 3.3),
        ("REFU", 0.5),
        ("NOBT", 3.0),
    )
)
ETHNICITY_UASC = Picker((("OOTH", 40.0), ("BAFR", 30.0), ("AOTH", 20.0), ("WOTH", 10.0)))
DISABILITY = Picker(
    (
        ("AUT", 35.0),
        ("LD", 30.0),
        ("BEH", 25.0),
        ("COMM", 20.0),
        ("MOB", 8.0),
        ("HAND", 3.0),
        ("PC", 5.0),
        ("INC", 3.0),
        ("HEAR", 3.0),
        ("VIS", 3.0),
        ("CON", 4.0),
        ("DDA", 6.0),
    )
)
UASC_SOURCE = Picker((("7", 40.0), ("6", 40.0), ("5C", 20.0)))
# Factors at assessment: (code, share of assessments with factors, youngest age).
# Shares from c3 2024-25 (count / episodes with a factor); child-centred ones are raised for
# the ages they can apply to.
FACTORS = (
    ("3B", 0.32, -1),
    ("4B", 0.33, -1),
    ("1B", 0.14, -1),
    ("2B", 0.14, -1),
    ("3C", 0.05, -1),
    ("4C", 0.046, -1),
    ("1C", 0.023, -1),
    ("2C", 0.031, -1),
    ("5B", 0.03, -1),
    ("6B", 0.054, -1),
    ("5C", 0.015, -1),
    ("6C", 0.01, -1),
    ("3A", 0.11, 0),
    ("4A", 0.30, 8),
    ("5A", 0.12, 2),
    ("6A", 0.047, 0),
    ("1A", 0.05, 12),
    ("2A", 0.11, 12),
    ("7A", 0.06, 8),
    ("10A", 0.07, 10),
    ("11A", 0.05, 10),
    ("12A", 0.008, 10),
    ("13A", 0.035, 12),
    ("14A", 0.13, 10),
    ("15A", 0.11, 10),
    ("16A", 0.176, -1),
    ("17A", 0.19, 0),
    ("18B", 0.03, 5),
    ("18C", 0.12, 0),
    ("19B", 0.025, 5),
    ("19C", 0.037, 0),
    ("20", 0.163, -1),
    ("22A", 0.0015, 0),
    ("23A", 0.0044, 0),
    ("24A", 0.07, 10),
    ("8F", 0.004, 0),
)
ABUSE_FACTORS = frozenset({"3B", "16A", "17A", "18C", "19C", "3A"})
SCHOOL_SOURCES = frozenset({"2A", "2B", "3C"})
ACTIVITY_EET_17 = Picker(
    (("F2", 48.0), ("P2", 3.0), ("F1", 3.0), ("F4", 2.0), ("P4", 0.5), ("F5", 9.0), ("P5", 2.0))
)
ACTIVITY_EET_19 = Picker(
    (
        ("F1", 7.0),
        ("P1", 1.0),
        ("F2", 18.0),
        ("P2", 3.0),
        ("F4", 2.0),
        ("P4", 0.5),
        ("F5", 20.0),
        ("P5", 5.0),
    )
)
ACTIVITY_NEET_17 = Picker((("G5", 25.0), ("G4", 3.0), ("G6", 2.0)))
ACTIVITY_NEET_19 = Picker((("G5", 27.0), ("G4", 9.0), ("G6", 4.0)))
ACCOM_SUITABLE_17 = Picker(
    (("B1", 20.0), ("C1", 10.0), ("D1", 38.0), ("E1", 12.0), ("K1", 5.0), ("U1", 8.0), ("Y1", 4.0))
)
ACCOM_SUITABLE_18 = Picker(
    (
        ("Z1", 16.0),
        ("U1", 30.0),
        ("D1", 20.0),
        ("B1", 15.0),
        ("E1", 5.0),
        ("T1", 3.0),
        ("K1", 4.0),
        ("Y1", 3.0),
        ("C1", 2.0),
    )
)
ACCOM_UNSUITABLE = Picker(
    (
        ("S2", 15.0),
        ("V2", 15.0),
        ("X2", 15.0),
        ("W2", 10.0),
        ("U2", 20.0),
        ("B2", 15.0),
        ("D2", 10.0),
    )
)
ACCOM_UNSUITABLE_17 = Picker((("V2", 20.0), ("X2", 20.0), ("B2", 30.0), ("D2", 30.0)))
ENDED_NOT_LEAVER = frozenset({"E11", "E12", "E2", "E3", "E15", "E45", "E46", "E47", "E48", "E41"})
# Age at first referral: band -> (youngest, oldest) age in days.
AGE_BANDS = {
    "0": (0, 364),
    "1-4": (365, 5 * 365),
    "5-9": (5 * 365 + 2, 10 * 365),
    "10-15": (10 * 365 + 3, 16 * 365),
    "16-17": (16 * 365 + 4, 18 * 365 - 90),
}


def upn_check_letter(digits: str) -> str:
    """DfE UPN check letter for the 12 characters after it (weights 2..13, mod 23)."""
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    total = sum(int(ch) * weight for weight, ch in enumerate(digits, start=2))
    return letters[total % 23]


class Journeys:
    """Builds whole children: who they are, then every referral and period of care."""

    def __init__(
        self,
        params: DemoParams,
        demoton: Demoton,
        care: CareBuilder,
        workdays: WorkingDays,
        horizon: Day,
        window_start: Day,
    ):
        self.p = params
        self.demoton = demoton
        self.care = care
        self.wd = workdays
        self.horizon = horizon  # no referral after the last 31 March written
        self.window_start = window_start
        self.first_age = Picker(params.demand.first_referral_age)
        self.source = Picker(params.referrals.sources)
        self.need = Picker(params.referrals.primary_need)
        self.category = Picker(params.protection.categories)
        self.in_touch = Picker(params.care.in_touch)
        self.cp_length = Picker(
            tuple(((low, high), weight) for low, high, weight in params.protection.length_days)
        )

    # --- who the child is --------------------------------------------------------------------

    def new_child(self, rng: random.Random, key: int, first: Day, unaccompanied: bool) -> Child:
        demand = self.p.demand
        expected = None
        if unaccompanied:
            age_days = rng.randint(15 * 365 + 4, 18 * 365 - 20)
            dob = first - age_days
        else:
            band = self.first_age(rng)
            if band == "unborn":
                dob = first + rng.randint(20, 170)
                expected = max(first + 1, dob + rng.randint(-10, 10))
            else:
                dob = first - rng.randint(*AGE_BANDS[band])
        sex = "M" if chance(rng, demand.male_share) else "F"
        disabled = expected is None and chance(rng, demand.disabled_share)
        if disabled:
            codes = {DISABILITY(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))}
            disabilities = tuple(sorted(codes))
        else:
            disabilities = ("NONE",) if expected is None and chance(rng, 0.85) else ()
        digits = f"999{rng.randrange(10000):04d}{rng.randrange(100):02d}{rng.randrange(1000):03d}"
        area = -1 if unaccompanied else self.demoton.pick_area(rng)
        child = Child(
            key=key,
            sex=sex,
            dob=dob,
            expected_dob=expected,
            ethnicity=ETHNICITY_UASC(rng) if unaccompanied else ETHNICITY(rng),
            disabilities=disabilities,
            upn=upn_check_letter(digits) + digits,
            area=area,
            unaccompanied=unaccompanied,
        )
        if unaccompanied:
            child.duc = birthday(dob, 18)
        child.prior_cp_plans = self._prior_plans(rng, first, dob)
        self._addresses(rng, child, first)
        return child

    def _prior_plans(self, rng: random.Random, first: Day, dob: Day) -> int:
        """Plans before the records began or in another authority (older children more)."""
        years = max(0.0, (first - dob) / 365.25)
        if chance(rng, self.p.protection.prior_plan_chance * min(1.0, years / 6.0)):
            return 1 if chance(rng, 0.8) else 2
        return 0

    def _addresses(self, rng: random.Random, child: Child, first: Day) -> None:
        """Home postcodes with the date each began; some children move within Demoton."""
        geo = self.p.geography
        if child.area < 0 or chance(rng, geo.no_postcode_share):
            child.addresses.append((max(child.dob, first - rng.randint(0, 3 * 365)), ""))
            return
        since = first if child.expected_dob else max(child.dob, first - rng.randint(0, 6 * 365))
        child.addresses.append((since, self.demoton.postcode_in(rng, child.area)))
        adult = birthday(child.dob, 18)
        when = first
        while True:
            when += round(rng.expovariate(geo.move_house_per_year) * 365.25) + 30
            if when >= min(adult, self.horizon + 365):
                return
            area = child.area if chance(rng, 0.4) else self.demoton.pick_area(rng)
            postcode = self.demoton.postcode_in(rng, area)
            if postcode != child.addresses[-1][1]:  # a move is to a different address
                child.addresses.append((when, postcode))

    # --- the journey ---------------------------------------------------------------------------

    def run(self, rng: random.Random, child: Child, first: Day) -> None:
        when = first
        last_day = birthday(child.dob, 18) - 60  # no new referral in the last weeks before 18
        while when <= min(last_day, self.horizon):
            referral = self._referral(rng, child, when)
            child.referrals.append(referral)
            if child.died or referral.closure_reason in ("RC1", "RC5", "RC2"):
                break
            gap = self._next_gap(rng, child, referral)
            if gap is None:
                break
            when = referral.closure + gap
        self._care_leaver(rng, child)
        self._motherhood(rng, child)

    def _next_gap(self, rng: random.Random, child: Child, referral: Referral) -> int | None:
        ref = self.p.referrals
        if referral.closure is None or referral.closure >= self.horizon:
            return None
        if referral.closure_reason == "RC4" and not chance(rng, 0.1):
            return None  # most special guardianship arrangements last
        base = (
            ref.rereferral_after_service
            if referral.led_to_service
            else ref.rereferral_after_nfa_or_rc8
        )
        gap = lognormal_days(rng, ref.rereferral_gap_days, low=7)
        # From the improvement year, quick returns become less likely (better first responses).
        improved = (
            end_year_of(referral.closure) - end_year_of(self.window_start)
            >= ref.improvement_year_index
        )
        if improved and gap < 365 and not chance(rng, ref.improvement_rereferral_factor):
            gap += rng.randint(365, 900)
        return gap if chance(rng, base) else None

    def _referral(self, rng: random.Random, child: Child, when: Day) -> Referral:
        age = age_on(child.dob, when)
        referral = Referral(date=when, source=self._source(rng, child, age), need="")
        if child.unaccompanied and not child.referrals:
            return self._unaccompanied(rng, child, referral)
        if age >= 0 and age < 17 and chance(rng, self.p.demand.transfer_in_cp_share):
            return self._transfer_in(rng, child, referral)
        if chance(rng, self.p.referrals.nfa):
            referral.nfa = True
            referral.closure, referral.closure_reason = when, "RC7"
            return referral
        referral.need = self._need(rng, child)
        outcome = self._outcome(rng, child, age)
        if outcome in ("rc8", "rc9"):
            assessment = self._assessment(rng, child, when, age, outcome)
            referral.assessments.append(assessment)
            referral.need = "N0" if chance(rng, 0.4) else referral.need
            # closed in the same census year as the assessment, so the return shows both
            year_close = year_end(end_year_of(assessment.authorised))
            referral.closure = min(assessment.authorised + rng.randint(0, 10), year_close)
            referral.closure_reason = outcome.upper()
            return referral
        referral.led_to_service = True
        if outcome == "care":
            self._direct_care(rng, child, referral, age)
        elif outcome == "s47":
            self._protection(rng, child, referral, when)
        else:
            assessment = self._assessment(rng, child, when, age, outcome)
            referral.assessments.append(assessment)
            self._services(rng, child, referral, assessment.authorised)
        self._finish(rng, child, referral)
        return referral

    def _source(self, rng: random.Random, child: Child, age: int) -> str:
        if child.unaccompanied and not child.referrals:
            return UASC_SOURCE(rng)
        source = self.source(rng)
        if age < 4 and source in SCHOOL_SOURCES:
            source = "3B" if age >= 0 else "3F"
        return source

    def _need(self, rng: random.Random, child: Child) -> str:
        disabled = child.disabled
        if disabled and chance(rng, 0.45):
            return "N2"
        need = self.need(rng)
        return "N1" if need == "N2" and not disabled else need

    def _outcome(self, rng: random.Random, child: Child, age: int) -> str:
        ref = self.p.referrals
        risk = self.demoton.escalation_risk(child.area)
        known = child.prior_cp_plans or any(r.cp_plans for r in child.referrals) or child.care
        history = 1.5 if known else 1.0
        care = ref.care_direct * risk * history * (1.6 if age < 1 or age >= 14 else 1.0)
        s47 = ref.s47 * risk * (1.3 if age < 0 else 1.0) * (1.4 if history > 1 else 1.0)
        roll = rng.random()
        if roll < care:
            return "care"
        roll -= care
        if roll < s47:
            return "s47"
        roll -= s47
        if roll < ref.not_in_need:
            return "rc8"
        roll -= ref.not_in_need
        if roll < ref.early_help:
            return "rc9"
        return "services"

    # --- assessments, S47 and plans --------------------------------------------------------------

    def _assessment(
        self, rng: random.Random, child: Child, when: Day, age: int, outcome: str
    ) -> Assessment:
        ref = self.p.referrals
        low, high = ref.assessment_start_delay_wd
        delay = rng.randint(low, high)
        start = self.wd.on_or_after(when) if delay == 0 else self.wd.after(when, delay)
        length = normal_int(rng, ref.assessment_length_wd, 3, 70)
        authorised = self.wd.after(start, length)
        return Assessment(start, authorised, self._factors(rng, child, age, outcome))

    def _factors(self, rng: random.Random, child: Child, age: int, outcome: str) -> tuple[str, ...]:
        low_need = outcome in ("rc8", "rc9")
        if low_need and chance(rng, 0.30):  # "no factors" only where the case then closes
            return ("21",)
        scale = 0.6 if low_need else 1.0
        found = []
        for code, share, youngest in FACTORS:
            if age < youngest:
                continue
            boost = 1.5 if outcome in ("s47", "care") and code in ABUSE_FACTORS else 1.0
            if rng.random() < share * scale * boost:
                found.append(code)
        if child.unaccompanied:
            found.append("9A")
        return tuple(found) if found else ("20",)

    def _protection(self, rng: random.Random, child: Child, referral: Referral, when: Day) -> None:
        """Strategy discussion and S47 enquiry alongside the assessment."""
        age = age_on(child.dob, when)
        assessment = self._assessment(rng, child, when, age, "s47")
        referral.assessments.append(assessment)
        s47_start = when + rng.choice((0, 0, 0, 1, 1, 2, 3, 5))
        self._section47(rng, child, referral, s47_start, assessment.authorised)

    def _section47(
        self, rng: random.Random, child: Child, referral: Referral, start: Day, assessed: Day
    ) -> None:
        prot = self.p.protection
        target = self.wd.after(start, 15)
        risk = self.demoton.escalation_risk(child.area)
        roll = rng.random()
        plan = roll < prot.cp_after_s47 * risk
        conference = plan or roll < prot.cp_after_s47 * risk + prot.icpc_no_plan
        if conference:
            icpc = self.wd.after(start, normal_int(rng, prot.icpc_wd, 4, 40))
            referral.section47s.append(Section47(start, target, icpc, icpc))
            if plan:
                self._cp_plan(rng, child, referral, icpc)
                return
            self._after_enquiry(rng, child, referral, max(icpc, assessed))
            return
        concluded = start + rng.randint(5, 25)
        referral.section47s.append(Section47(start, target, None, concluded))
        self._after_enquiry(rng, child, referral, max(concluded, assessed))

    def _after_enquiry(
        self, rng: random.Random, child: Child, referral: Referral, when: Day
    ) -> None:
        if chance(rng, 0.55):
            self._cin_plan(rng, child, referral, when + rng.randint(0, 14), allow_escalation=False)
        else:
            referral.closure = when + rng.randint(3, 40)
            referral.closure_reason = "RC7"

    def _cp_plan(self, rng: random.Random, child: Child, referral: Referral, start: Day) -> None:
        prot = self.p.protection
        previous = child.prior_cp_plans + sum(len(r.cp_plans) for r in child.referrals)
        previous += len(referral.cp_plans)
        low, high = self.cp_length(rng)
        end = start + rng.randint(low, high)
        category = self.category(rng)
        plan = CPPlan(start, end, category, category, None, previous)
        when = start + 91  # first review within 3 months, then every 6 months
        while when < end:
            review = self.wd.on_or_after(when - rng.randint(0, 14))
            if review < end:
                plan.reviews.append(review)
            when += 182
        if plan.reviews and chance(rng, prot.category_changes):
            plan.category_changed = rng.choice(plan.reviews)
            plan.latest_category = rng.choice(
                [c for c in ("NEG", "EMO", "PHY", "MUL") if c != category]
            )
        referral.cp_plans.append(plan)
        self._after_cp(rng, child, referral, plan)

    def _after_cp(self, rng: random.Random, child: Child, referral: Referral, plan: CPPlan) -> None:
        prot = self.p.protection
        end = plan.end
        adult = birthday(child.dob, 18)
        if end >= adult:
            plan.end = adult - 1
            plan.reviews = [r for r in plan.reviews if r < plan.end]
            referral.closure, referral.closure_reason = plan.end, "RC7"
            return
        risk = self.demoton.escalation_risk(child.area)
        roll = rng.random()
        if roll < prot.end_into_care * risk and end > child.dob:
            self._enter_care(rng, child, referral, end)
        elif roll < prot.end_into_care * risk + prot.end_step_down_cin_plan:
            self._cin_plan(rng, child, referral, end, allow_escalation=True)
        else:
            referral.closure = end + rng.randint(0, 30)
            referral.closure_reason = "RC5" if chance(rng, 0.08) else "RC7"

    def _cin_plan(
        self,
        rng: random.Random,
        child: Child,
        referral: Referral,
        start: Day,
        allow_escalation: bool,
    ) -> None:
        prot = self.p.protection
        days = prot.cin_plan_days
        if referral.need == "N2":
            days = prot.disabled_long_episode_days
        end = start + lognormal_days(rng, days, low=30)
        plan = CinPlan(start, end)
        referral.cin_plans.append(plan)
        if allow_escalation and chance(rng, prot.escalation_from_cin_plan):
            strategy = start + rng.randint(20, max(21, end - start - 1))
            if strategy < birthday(child.dob, 18) - 60:
                plan.end = strategy
                age = age_on(child.dob, strategy)
                assessment = self._assessment(rng, child, strategy, age, "s47")
                referral.assessments.append(assessment)  # a new assessment with the enquiry
                self._section47(rng, child, referral, strategy, assessment.authorised)
                return
        referral.closure = end + rng.randint(0, 30)
        referral.closure_reason = "RC7"

    def _services(
        self, rng: random.Random, child: Child, referral: Referral, assessed: Day
    ) -> None:
        """Assessed as in need, no S47: a CIN plan, or help without a formal plan."""
        prot = self.p.protection
        if chance(rng, prot.cin_plan_share):
            self._cin_plan(
                rng, child, referral, assessed + rng.randint(0, 20), allow_escalation=True
            )
            return
        days = (
            prot.disabled_long_episode_days
            if referral.need == "N2"
            else prot.open_without_plan_days
        )
        referral.closure = assessed + lognormal_days(rng, days, low=14)
        referral.closure_reason = "RC7"

    # --- care ------------------------------------------------------------------------------------

    def _direct_care(self, rng: random.Random, child: Child, referral: Referral, age: int) -> None:
        """An emergency or planned entry to care soon after referral (at birth if unborn)."""
        when = referral.date
        assessment = self._assessment(rng, child, when, age, "care")
        referral.assessments.append(assessment)
        start = child.dob if age < 0 else when + rng.choice((0, 0, 1, 2, 3, 7, 14))
        if age >= 0 and not child.unaccompanied and chance(rng, 0.6):
            s47_start = when + rng.choice((0, 0, 1))
            concluded = max(s47_start + rng.randint(5, 20), start)
            referral.section47s.append(
                Section47(s47_start, self.wd.after(s47_start, 15), None, concluded)
            )
        self._enter_care(rng, child, referral, max(start, when))

    def _unaccompanied(self, rng: random.Random, child: Child, referral: Referral) -> Referral:
        referral.need = "N8"
        referral.led_to_service = True
        age = age_on(child.dob, referral.date)
        referral.assessments.append(self._assessment(rng, child, referral.date, age, "care"))
        self._enter_care(rng, child, referral, referral.date + rng.choice((0, 0, 1, 2)))
        self._finish(rng, child, referral)
        return referral

    def _transfer_in(self, rng: random.Random, child: Child, referral: Referral) -> Referral:
        """A child arriving on another authority's CP plan: a transfer-in conference, no S47."""
        referral.source = "5C"
        referral.need = "N1"
        referral.led_to_service = True
        age = age_on(child.dob, referral.date)
        referral.assessments.append(self._assessment(rng, child, referral.date, age, "s47"))
        conference = self.wd.after(referral.date, rng.randint(5, 15))
        referral.transfer_icpc = conference
        child.prior_cp_plans += 1  # the plan held in the other authority
        self._cp_plan(rng, child, referral, conference)
        self._finish(rng, child, referral)
        return referral

    def _enter_care(self, rng: random.Random, child: Child, referral: Referral, start: Day) -> None:
        for plan in [p for p in referral.cin_plans if p.end is None or p.end > start]:
            if plan.start >= start:
                referral.cin_plans.remove(plan)  # superseded before it began
            else:
                plan.end = start
        for plan in referral.cp_plans:
            if plan.end is None or plan.end > start:
                plan.end = max(plan.start, start)
                plan.reviews = [r for r in plan.reviews if r <= plan.end]
        need = {"N0": "N1", "N9": "N5", "": "N1"}.get(referral.need, referral.need)
        period = self.care.period(
            rng,
            child,
            start,
            need,
            previous_permanence=self._previous_permanence(rng, child, start),
        )
        child.care.append(period)
        self._after_care(rng, child, referral, period)

    def _previous_permanence(
        self, rng: random.Random, child: Child, start: Day
    ) -> tuple[str, str, str]:
        """PREV_PERM: an order this child left care on before, else (rarely) one made before
        the records began; DATE_PERM may have unknown parts written as zz."""
        for period in reversed(child.care):
            if period.rec in ("E45", "E46", "E47", "E48"):
                return ("P2", LA_NUMBER, uk(period.end))
            if period.rec == "E41":
                return ("P3", LA_NUMBER, uk(period.end))
        roll = rng.random()
        if roll < 0.01 and start - child.dob > 3 * 365:  # adopted before, another identity
            when = rng.randint(child.dob + 300, start - 365)
            return ("P1", LA_NUMBER, "zz/" + uk(when)[3:] if chance(rng, 0.3) else uk(when))
        if roll < 0.05:  # an order of unknown type, date unknown
            return ("P4", LA_NUMBER, "zz/zz/zzzz")
        return ("Z1", "", "")

    def _after_care(self, rng: random.Random, child: Child, referral: Referral, period) -> None:
        end, rec = period.end, period.rec
        if rec in ("E11", "E12"):
            referral.closure, referral.closure_reason = end, "RC1"
        elif rec in ("E45", "E46", "E47", "E48"):
            referral.closure, referral.closure_reason = end, "RC4"
        elif rec == "E41":
            referral.closure, referral.closure_reason = end, "RC3"
        elif rec == "E2":
            referral.closure, referral.closure_reason = end, "RC2"
            child.died = end
        elif rec == "E3":
            referral.closure, referral.closure_reason = end, "RC5"
        elif end >= birthday(child.dob, 18):
            referral.closure = end
            disabled = child.disabled
            referral.closure_reason = (
                "RC6" if rec == "E7" or (disabled and chance(rng, 0.3)) else "RC7"
            )
        else:
            self._after_return_home(rng, child, referral, end)

    def _after_return_home(
        self, rng: random.Random, child: Child, referral: Referral, end: Day
    ) -> None:
        """Support continues after a return home; some children come back into care."""
        adult = birthday(child.dob, 18)
        plan_end = min(end + rng.randint(90, 300), adult - 1)
        if plan_end <= end:
            referral.closure, referral.closure_reason = end, "RC7"
            return
        plan = CinPlan(end, plan_end)
        referral.cin_plans.append(plan)
        if chance(rng, self.p.care.reentry_after_return) and plan_end - end > 30:
            again = end + rng.randint(14, plan_end - end - 1)
            self._enter_care(rng, child, referral, again)
            return
        referral.closure, referral.closure_reason = plan_end + rng.randint(0, 20), "RC7"

    def _finish(self, rng: random.Random, child: Child, referral: Referral) -> None:
        """Close anything left, keep the closure after all activity, and apply rare events."""
        if referral.closure is None:
            referral.closure, referral.closure_reason = referral.date + 180, "RC7"
        adult = birthday(child.dob, 18)
        if referral.closure >= adult and not any(p.start >= referral.date for p in child.care):
            self._close_at_adulthood(referral, adult - 1)
        latest = max(
            [referral.date]
            + [a.authorised for a in referral.assessments]
            + [s.concluded for s in referral.section47s]
            + [p.end or p.start for p in referral.cin_plans]
            + [p.end or p.start for p in referral.cp_plans]
        )
        if referral.closure < latest:
            referral.closure = latest
        if referral.closure_reason == "RC7" and chance(rng, self.p.demand.moves_away_share):
            referral.closure_reason = "RC5"
        years = (referral.closure - referral.date) / 365.25
        if referral.closure_reason == "RC7" and chance(rng, self.p.demand.death_per_year * years):
            child.died = referral.closure
            referral.closure_reason = "RC2"

    @staticmethod
    def _close_at_adulthood(referral: Referral, last: Day) -> None:
        """Children's services end the day before 18: plans still open end then too."""
        referral.closure = last
        referral.cin_plans = [p for p in referral.cin_plans if p.start < last]
        for plan in referral.cin_plans:
            if plan.end is None or plan.end > last:
                plan.end = last
        for plan in referral.cp_plans:
            if plan.end is None or plan.end > last:
                plan.end = max(plan.start, last)
                plan.reviews = [r for r in plan.reviews if r < plan.end]

    # --- after care: care leavers, young mothers -----------------------------------------------

    def _care_leaver(self, rng: random.Random, child: Child) -> None:
        """OC3 answers for each 17th-21st birthday after leaving care as a relevant child:
        looked after for 13 weeks or more since 14, and still looked after at 16 or later."""
        if not child.care:
            return
        last = child.care[-1]
        if last.rec in ENDED_NOT_LEAVER or last.end is None:
            return
        fourteen, sixteen = birthday(child.dob, 14), birthday(child.dob, 16)
        days_since_14 = sum(max(0, p.end - max(p.start, fourteen)) for p in child.care if p.end)
        if days_since_14 < 91 or last.end <= sixteen:
            return
        care = self.p.care
        previous: LeaverStatus | None = None
        for age in range(17, 22):
            if birthday(child.dob, age) < last.end:  # leaving on the birthday counts
                continue
            status = self._leaver_status(rng, age, previous, care)
            child.leaver.append(status)
            previous = status
            if status.in_touch == "DIED":
                break

    def _leaver_status(self, rng: random.Random, age: int, previous, care) -> LeaverStatus:
        in_touch = self.in_touch(rng)
        if previous and previous.in_touch in ("NREQ", "RHOM") and chance(rng, 0.6):
            in_touch = previous.in_touch
        if in_touch in ("DIED", "RHOM"):
            return LeaverStatus(age, in_touch, "0", "0")
        eet = care.eet_17_18 if age <= 18 else care.eet_19_21
        if in_touch in ("NO", "REFU"):
            eet *= 0.5
        if previous and previous.activity != "0" and chance(rng, 0.5):
            activity = previous.activity
        elif chance(rng, eet):
            activity = (ACTIVITY_EET_17 if age <= 18 else ACTIVITY_EET_19)(rng)
        else:
            activity = (ACTIVITY_NEET_17 if age <= 18 else ACTIVITY_NEET_19)(rng)
        if in_touch in ("NO", "REFU"):
            accommodation = "R1" if chance(rng, 0.5) else "R2"
        elif chance(rng, care.suitable_accommodation):
            accommodation = (ACCOM_SUITABLE_17 if age == 17 else ACCOM_SUITABLE_18)(rng)
        else:
            accommodation = (ACCOM_UNSUITABLE_17 if age == 17 else ACCOM_UNSUITABLE)(rng)
        return LeaverStatus(age, in_touch, activity, accommodation)

    def _motherhood(self, rng: random.Random, child: Child) -> None:
        """A few girls in care become mothers (MOTHER / MC_DOB on the 903 header)."""
        if child.sex != "F" or not child.care:
            return
        fifteen = birthday(child.dob, 15)
        in_care_late = [p for p in child.care if p.end and p.end > fifteen]
        if in_care_late and chance(rng, 0.03):
            period = in_care_late[-1]
            low = max(period.start, fifteen)
            if low < period.end:
                child.mother = rng.randint(low, period.end)
