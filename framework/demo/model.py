"""The simulated records: one child's whole history, as the returns would describe it.

Dates are day ordinals (see ``dates.py``). A record holds the *true* dates; the writers decide
what each year's return shows (only activity up to that year's 31 March, ends recorded late,
codes that changed between years).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from framework.demo.dates import Day


@dataclass(slots=True)
class Assessment:
    start: Day
    authorised: Day
    factors: tuple[str, ...]


@dataclass(slots=True)
class Section47:
    start: Day  # strategy discussion
    target: Day  # ICPC target: 15 working days later
    icpc: Day | None  # the initial child protection conference, if one was held
    concluded: Day  # when the enquiry ended (the ICPC, or a decision that none was needed)


@dataclass(slots=True)
class CinPlan:
    start: Day
    end: Day | None


@dataclass(slots=True)
class CPPlan:
    start: Day
    end: Day | None
    initial_category: str
    latest_category: str
    category_changed: Day | None  # when LatestCategoryOfAbuse became different
    previous_plans: int
    reviews: list[Day] = field(default_factory=list)


@dataclass(slots=True)
class Referral:
    """One CINdetails block: a referral and everything until the case closes."""

    date: Day
    source: str
    need: str  # PrimaryNeedCode ("" for NFA referrals)
    nfa: bool = False
    closure: Day | None = None
    closure_reason: str = ""
    transfer_icpc: Day | None = None  # DateOfInitialCPC at CINdetails level (transfer-in)
    assessments: list[Assessment] = field(default_factory=list)
    cin_plans: list[CinPlan] = field(default_factory=list)
    section47s: list[Section47] = field(default_factory=list)
    cp_plans: list[CPPlan] = field(default_factory=list)
    led_to_service: bool = False


@dataclass(slots=True)
class Episode:
    """One SSDA903 episode row."""

    start: Day
    rne: str
    legal_status: str
    need: str  # CIN category N1-N8
    place: str
    provider: str
    pl_post: str
    urn: str
    home_post: str
    end: Day | None = None
    rec: str = ""
    reason_change: str = ""
    z_subtype: str = ""  # the Z11-Z14 code a Z1 placement is recorded as from 2025-26


@dataclass(slots=True)
class Missing:
    kind: str  # M or A
    start: Day
    end: Day | None


@dataclass(slots=True)
class SocialWorker:
    worker: str
    start: Day
    end: Day | None
    reason: str


@dataclass(slots=True)
class Adoption:
    decision: Day  # DATE_PLACED: the decision that the child should be placed
    ceased: Day | None = None  # DATE_PLACED_CEASED
    ceased_reason: str = ""
    matched: Day | None = None
    foster_carer: bool = False
    adopters: int = 2
    adopters_sex: str = "MF"
    adopters_status: str = "L11"


@dataclass(slots=True)
class CarePeriod:
    """A period of care: episodes joined end to start; begins with RNE S."""

    episodes: list[Episode]
    unaccompanied: bool = False
    previous_permanence: tuple[str, str, str] = ("Z1", "", "")  # PREV_PERM, LA_PERM, DATE_PERM
    reviews: list[tuple[Day, str]] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    social_workers: list[SocialWorker] = field(default_factory=list)
    adoption: Adoption | None = None
    end_recorded: Day | None = None  # set when the end reached the case record late

    @property
    def start(self) -> Day:
        return self.episodes[0].start

    @property
    def end(self) -> Day | None:
        return self.episodes[-1].end

    @property
    def rec(self) -> str:
        return self.episodes[-1].rec


@dataclass(slots=True)
class LeaverStatus:
    """One OC3 row's answers, drawn for a birthday."""

    age: int
    in_touch: str
    activity: str
    accommodation: str


@dataclass(slots=True)
class Child:
    key: int  # generation order; the LA child id is assigned at the end
    sex: str  # M, F (U only while unborn)
    dob: Day
    expected_dob: Day | None  # set when the first referral came before birth
    ethnicity: str
    disabilities: tuple[str, ...]
    upn: str  # used from school age; UN1 before, UN2 for unaccompanied children
    area: int  # index of the home area at first contact (-1: none)
    addresses: list[tuple[Day, str]] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    care: list[CarePeriod] = field(default_factory=list)
    died: Day | None = None
    unaccompanied: bool = False
    duc: Day | None = None  # date UASC status ceased
    mother: Day | None = None  # DOB of her first child, if a mother
    leaver: list[LeaverStatus] = field(default_factory=list)
    prior_cp_plans: int = 0
    child_id: str = ""

    @property
    def disabled(self) -> bool:
        return bool(self.disabilities) and self.disabilities[0] != "NONE"

    def first_activity(self) -> Day:
        return self.referrals[0].date if self.referrals else self.care[0].start

    def postcode_on(self, when: Day) -> str:
        """The recorded home postcode on a day ("" when none is recorded)."""
        found = ""
        for since, postcode in self.addresses:
            if since <= when:
                found = postcode
            else:
                break
        return found
