"""Periods of care (SSDA903): legal status, placements, reviews, missing, social workers.

A period is built in three passes. The legal timeline decides how the child leaves care and
when (care proceedings, placement orders, special guardianship, return home, turning 18); the
placement timeline adds moves, long-term matches, adoption placements and short temporary
breaks; the two are then merged into episodes, a new one at every change, with the RNE that
describes the change and REASON_PLACE_CHANGE on the episode that ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from framework.demo.dates import Day, age_on, birthday, day, to_date
from framework.demo.draws import Picker, chance, exponential_days, lognormal_days, poisson
from framework.demo.model import (
    Adoption,
    CarePeriod,
    Child,
    Episode,
    Missing,
    SocialWorker,
)
from framework.demo.params import Care
from framework.demo.providers import Providers, Setting

TEMPORARY = frozenset({"T0", "T1", "T2", "T3", "T4"})
FOSTER = frozenset({"U1", "U2", "U3", "U4", "U5", "U6"})
NO_PROVIDER = TEMPORARY | {"Z1"}
NO_URN = TEMPORARY | {"P1", "R1", "Z1"}
K3_FROM = day(2024, 4, 1)  # supported accommodation is coded K3 in returns from 2024-25
# Semi-independent (H5) providers had no URN until Ofsted registration, required from 28
# October 2023 (DfE rules 222 and 230): an H5 placement open then gains its URN in a new
# episode (RNE T, same carer) on the day the provider registered.
REGISTRATION_FROM, REGISTRATION_BY = day(2023, 6, 1), day(2023, 10, 27)
H5_LAST_OPEN = day(2025, 4, 1)  # no H5 placement may be open on 1 April 2025
RETIRED_IN_2025_26 = ("H5", "P2")  # placement codes the 2025-26 return no longer accepts
UNTIL_ADULT = 10**7  # "until 18": a day far ahead, capped at the 18th birthday
SGO_CODES = Picker((("E45", 40.0), ("E46", 12.0), ("E47", 38.0), ("E48", 10.0)))
ADOPTERS_COUPLE = Picker((("MF", 85), ("FF", 8), ("MM", 7)))
ADOPTERS_SAME_SEX_STATUS = Picker((("L12", 60), ("L2", 25), ("L4", 15)))
Z_SUBTYPES = ("Z11", "Z12", "Z13", "Z14")
REVIEW_YOUNG = Picker(
    (("PN1", 20), ("PN2", 5), ("PN3", 12), ("PN4", 6), ("PN5", 20), ("PN6", 25), ("PN7", 12))
)
REVIEW_OLDER = Picker(
    (("PN1", 45), ("PN2", 6), ("PN3", 2), ("PN4", 5), ("PN5", 12), ("PN6", 20), ("PN7", 10))
)
SW_REASONS = Picker(
    (
        ("LEFTRL", 30.0),
        ("MANAGE", 20.0),
        ("TSPROC", 20.0),
        ("ORGRST", 5.0),
        ("ABSENC", 8.0),
        ("CHCHAN", 3.0),
        ("PCCHAN", 2.0),
        ("OTHERS", 7.0),
    )
)


@dataclass(slots=True)
class Placement:
    start: Day
    place: str
    setting: Setting
    reason: str = ""  # REASON_PLACE_CHANGE for the episode that ends when this begins
    unregistered: bool = False  # semi-independent (H5) before Ofsted registration: no URN


@dataclass(slots=True)
class Timeline:
    """The legal side of a period: statuses by date, how and when it ends, milestones."""

    legal: list[tuple[Day, str]]
    end: Day = 0
    rec: str = ""
    plan: str = ""
    settled: Day | None = None  # full care order: time to match long-term carers
    with_parents: Day | None = None
    adoption_placement: Day | None = None
    adoption: Adoption | None = None


def age_band(age: int) -> str:
    if age < 1:
        return "0"
    if age < 5:
        return "1-4"
    if age < 10:
        return "5-9"
    if age < 16:
        return "10-15"
    return "16-17"


class CareBuilder:
    def __init__(self, params: Care, providers: Providers, until: Day):
        self.p = params
        self.providers = providers
        # Reviews, missing spells and worker changes after this day are never written:
        # not simulating them keeps memory flat for children in care until far ahead.
        self.until = until
        self.plans = {band: Picker(weights) for band, weights in params.plan_by_age.items()}
        self.route_young = Picker(params.entry_route_under16)
        self.route_older = Picker(params.entry_route_16_17)
        self.move_reason = Picker(params.move_reasons)
        self.leave18 = Picker(params.leave_at_18)
        self.leave18_uasc = Picker(params.unaccompanied_exit_at_18)
        # Placeholder Social Work England numbers ("SW" + 10 digits, as SW_ID and the CSWW
        # SWENo expect); the workforce model (workforce.py) replaces these allocations.
        self.workers = [f"SW{900100 + n:010d}" for n in range(300)]

    # --- the whole period --------------------------------------------------------------------

    def period(
        self,
        rng: random.Random,
        child: Child,
        start: Day,
        need: str,
        *,
        route: str = "",
        plan: str = "",
        previous_permanence: tuple[str, str, str] = ("Z1", "", ""),
    ) -> CarePeriod:
        age = age_on(child.dob, start)
        if child.unaccompanied:
            route, plan = "voluntary", "uasc"
        route = route or (self.route_older(rng) if age >= 16 else self.route_young(rng))
        if route == "remand" and age < 12:
            route = "voluntary"
        plan = plan or ("remand" if route == "remand" else self.plans[age_band(age)](rng))
        timeline = self._legal(rng, child, start, route, plan)
        placements = self._placements(rng, child, start, timeline)
        self._tidy_exit(child, timeline, placements)
        episodes = self._episodes(child, need, timeline, placements)
        period = CarePeriod(
            episodes=episodes,
            unaccompanied=child.unaccompanied,
            previous_permanence=previous_permanence,
            adoption=timeline.adoption,
        )
        period.reviews = self._reviews(rng, child, start, timeline.end)
        period.missing = self._missing(rng, child, start, timeline.end, placements)
        period.social_workers = self._social_workers(rng, start, timeline.end)
        self._maybe_late(rng, period)
        return period

    # --- legal status and exit ---------------------------------------------------------------

    def _legal(
        self, rng: random.Random, child: Child, start: Day, route: str, plan: str
    ) -> Timeline:
        adult = birthday(child.dob, 18)
        timeline = Timeline(legal=[], plan=plan)
        now = self._first_status(rng, timeline, start, route, plan)
        if timeline.end:
            return self._cap(rng, child, timeline, adult)
        status = timeline.legal[-1][1]
        age = age_on(child.dob, now)
        wants_court = plan in ("adoption", "sgo") or (
            plan == "long" and age < 13 and chance(rng, 0.6)
        )
        if status == "V2" and wants_court and plan != "uasc":
            now += rng.randint(20, 150)
            timeline.legal.append((now, "C1"))
            status = "C1"
        if status == "C1":
            self._proceedings(rng, timeline, now)
        elif timeline.plan == "home":
            timeline.end = start + lognormal_days(rng, self.p.return_home_days, low=7)
            timeline.rec = "E4A" if chance(rng, 0.8) else ("E4B" if chance(rng, 0.75) else "E13")
        elif timeline.plan == "uasc" and chance(rng, 0.03):
            timeline.end, timeline.rec = start + rng.randint(30, 200), "E15"
        else:  # long-term accommodation, or an unaccompanied child, until 18
            timeline.end = adult
        return self._cap(rng, child, timeline, adult)

    def _first_status(
        self, rng: random.Random, timeline: Timeline, start: Day, route: str, plan: str
    ) -> Day:
        """The status at entry; short emergency and remand statuses resolve here."""
        if route == "court":
            timeline.legal.append((start, "C1"))
            return start
        if route == "voluntary":
            timeline.legal.append((start, "V2"))
            return start
        if route in ("police", "epo"):
            status, length = (
                ("L1", rng.randint(1, 3)) if route == "police" else ("L2", rng.randint(3, 8))
            )
            timeline.legal.append((start, status))
            now = start + length
            if plan == "home" and chance(rng, 0.35):
                timeline.end, timeline.rec = now, "E4B"
                return now
            court = plan in ("adoption", "sgo", "long") or chance(rng, 0.4) or route == "epo"
            timeline.legal.append((now, "C1" if court else "V2"))
            return now
        # remand to local authority accommodation
        timeline.legal.append((start, "J1"))
        now = start + rng.randint(14, 70)
        roll = rng.random()
        if roll < 0.6:
            timeline.end, timeline.rec = now, "E14"
        elif roll < 0.75:
            timeline.end, timeline.rec = now, "E9"
        else:
            timeline.legal.append((now, "V2"))
            timeline.plan = "home" if chance(rng, 0.5) else "long"
        return now

    def _proceedings(self, rng: random.Random, timeline: Timeline, c1: Day) -> None:
        """Care proceedings from an interim order to the final hearing, and what follows."""
        mean, sd = self.p.final_hearing_days
        final = c1 + max(120, min(600, round(rng.gauss(mean, sd))))
        plan = timeline.plan
        if plan == "adoption":
            self._adoption(rng, timeline, c1, final)
        elif plan == "sgo":
            if chance(rng, 0.6):
                timeline.end, timeline.rec = final, SGO_CODES(rng)
            else:
                timeline.legal.append((final, "C2"))
                timeline.settled = final
                timeline.end = final + rng.randint(*self.p.sgo_after_hearing_days) + 30
                timeline.rec = SGO_CODES(rng)
        elif plan == "home":
            if chance(rng, 0.5):
                timeline.end, timeline.rec = final, "E4A" if chance(rng, 0.8) else "E41"
            else:
                timeline.legal.append((final, "C2"))
                timeline.with_parents = final + rng.randint(1, 60)
                timeline.end, timeline.rec = timeline.with_parents + rng.randint(90, 400), "E4A"
        else:
            timeline.legal.append((final, "C2"))
            timeline.settled = final
            timeline.end = UNTIL_ADULT

    def _adoption(self, rng: random.Random, timeline: Timeline, c1: Day, final: Day) -> None:
        decision = max(c1 + 10, final - rng.randint(20, 90))
        adoption = Adoption(decision=decision)
        timeline.adoption = adoption
        if chance(rng, self.p.adoption_disrupted):
            if chance(rng, 0.4):  # the court made a care order, not a placement order
                adoption.ceased, adoption.ceased_reason = final, "RD2"
                timeline.legal.append((final, "C2"))
            else:
                timeline.legal.append((final, "E1"))
                adoption.ceased = final + rng.randint(60, 400)
                adoption.ceased_reason = (
                    "RD3" if chance(rng, 0.6) else ("RD1" if chance(rng, 0.5) else "RD4")
                )
                timeline.legal.append((adoption.ceased + rng.randint(30, 120), "C2"))
            timeline.settled = final
            timeline.plan = "long"
            timeline.end = UNTIL_ADULT
            return
        timeline.legal.append((final, "E1"))
        placed = final + rng.randint(*self.p.adoption_placement_after_order_days)
        timeline.adoption_placement = placed
        adoption.matched = placed - rng.randint(7, 40)
        adoption.foster_carer = chance(rng, 0.12)
        if chance(rng, 0.86):
            adoption.adopters = 2
            adoption.adopters_sex = ADOPTERS_COUPLE(rng)
            if adoption.adopters_sex == "MF":
                adoption.adopters_status = "L11" if chance(rng, 0.75) else "L3"
            else:
                adoption.adopters_status = ADOPTERS_SAME_SEX_STATUS(rng)
        else:
            adoption.adopters = 1
            adoption.adopters_sex = "F1" if chance(rng, 0.85) else "M1"
            adoption.adopters_status = "L0"
        timeline.end = placed + rng.randint(*self.p.adoption_order_after_placement_days)
        timeline.rec = "E11" if chance(rng, 0.35) else "E12"

    def _cap(self, rng: random.Random, child: Child, timeline: Timeline, adult: Day) -> Timeline:
        """Nobody stays looked after past 18; rare deaths and transfers out end care early."""
        start = timeline.legal[0][0]
        if timeline.end >= adult:
            timeline.end = adult
            timeline.rec = self.leave18_uasc(rng) if child.unaccompanied else self.leave18(rng)
        if timeline.end - start > 2 and chance(rng, 0.0015):
            timeline.end, timeline.rec = rng.randint(start + 1, timeline.end - 1), "E2"
        elif timeline.end - start > 30 and timeline.rec not in ("E11", "E12") and chance(rng, 0.01):
            timeline.end, timeline.rec = rng.randint(start + 10, timeline.end - 1), "E3"
        timeline.legal = [(d, s) for d, s in timeline.legal if d < timeline.end or d == start]
        if timeline.adoption_placement and timeline.adoption_placement >= timeline.end:
            timeline.adoption_placement = None
        if timeline.with_parents and timeline.with_parents >= timeline.end:
            timeline.with_parents = None
        return timeline

    # --- placements --------------------------------------------------------------------------

    def _placements(
        self, rng: random.Random, child: Child, start: Day, timeline: Timeline
    ) -> list[Placement]:
        end = timeline.end
        current = self._initial_placement(rng, child, start, timeline)
        placements = [current]
        for when, kind in self._placement_events(rng, child, start, timeline):
            if kind == "urn":
                last = placements[-1]
                if last.unregistered and last.start < when < timeline.end:
                    placements.append(Placement(when, "H5", last.setting, "PLACE"))
                continue
            if kind == "registered":
                if placements[-1].place == "H5" and placements[-1].start < when < timeline.end:
                    previous = placements[-1]
                    placements.append(Placement(when, "K3", previous.setting, "PLACE"))
                continue
            if when <= placements[-1].start or when >= end:
                continue
            current = placements[-1]
            if current.place in ("A5", "A6") or (current.place == "P1" and kind == "move"):
                continue  # adoption placements and planned returns home are not moved
            new = self._apply_event(rng, child, when, kind, current, timeline)
            if new is None or (kind in ("move", "sixteen") and new[0].setting == current.setting):
                continue  # a move must be to a different carer or home
            placements.extend(new)
        return placements

    def _placement_events(
        self, rng: random.Random, child: Child, start: Day, timeline: Timeline
    ) -> list[tuple[Day, str]]:
        end = timeline.end
        events: list[tuple[Day, str]] = []
        when = start + exponential_days(rng, self.p.first_placement_mean_days, low=2)
        while when < end:
            events.append((when, "move"))
            band = (
                "0-9"
                if age_on(child.dob, when) < 10
                else ("10-15" if age_on(child.dob, when) < 16 else "16-17")
            )
            when += exponential_days(rng, self.p.placement_mean_days[band], low=7)
        if timeline.settled and timeline.plan == "long":
            events.append((timeline.settled + rng.randint(20, 200), "match"))
        if timeline.adoption_placement:
            events.append((timeline.adoption_placement, "adopt"))
        if timeline.with_parents:
            events.append((timeline.with_parents, "parents"))
        sixteen = birthday(child.dob, 16)
        if timeline.plan in ("long", "uasc") and start < sixteen < end and chance(rng, 0.35):
            events.append((sixteen + rng.randint(0, 200), "sixteen"))
        years = (end - start) / 365.25
        for _ in range(poisson(rng, self.p.temporary_placement_per_year * years)):
            events.append((rng.randint(start + 1, max(start + 1, end - 1)), "temporary"))
        if start < REGISTRATION_BY < end:
            events.append((rng.randint(REGISTRATION_FROM, REGISTRATION_BY), "urn"))
        if start < H5_LAST_OPEN <= end:  # an exit on 1 April itself is in the 2025-26 return
            # H5 is not a valid code in 2025-26: supported accommodation still in use is
            # recorded as K3 (same provider) at some point in 2024-25
            events.append((rng.randint(K3_FROM + 180, H5_LAST_OPEN - 1), "registered"))
        # scheduled events win over random moves on the same day
        order = {
            "urn": 0,
            "registered": 0,
            "adopt": 1,
            "parents": 2,
            "match": 3,
            "sixteen": 4,
            "temporary": 5,
            "move": 6,
        }
        return sorted(events, key=lambda item: (item[0], order[item[1]]))

    def _apply_event(
        self,
        rng: random.Random,
        child: Child,
        when: Day,
        kind: str,
        current: Placement,
        timeline: Timeline,
    ) -> list[Placement] | None:
        if kind == "adopt":
            adoption = timeline.adoption
            if adoption and (adoption.foster_carer or current.place == "U5"):
                adoption.foster_carer = True
                return [Placement(when, "A5", current.setting, "CARPL")]
            setting = self.providers.adopters(rng)
            return [Placement(when, "A6", setting, "CARPL")]
        if kind == "parents":
            home = child.postcode_on(when)
            parents = Setting(f"P-{child.key}", "PR0", home, "")
            return [Placement(when, "P1", parents, "CARPL")]
        if kind == "match":
            if current.place in ("U6", "U3") and chance(rng, self.p.long_term_match):
                return [
                    Placement(
                        when, "U4" if current.place == "U6" else "U1", current.setting, "PLACE"
                    )
                ]
            return None
        if kind == "sixteen":
            if current.place in FOSTER or current.place == "K2":
                return [self._supported(rng, when, "CARPL")]
            return None
        if kind == "temporary":
            return self._temporary(rng, when, current, timeline.end)
        age = age_on(child.dob, when)
        return [self._next_placement(rng, child, when, age)]

    def _temporary(
        self, rng: random.Random, when: Day, current: Placement, end: Day
    ) -> list[Placement] | None:
        """A short break away (hospital, or respite while the carer is on holiday), then back."""
        if current.place not in FOSTER or current.place == "U5":
            return None
        if chance(rng, 0.7):
            place, setting, length = "T3", self.providers.foster(rng), rng.randint(5, 14)
        else:
            place, setting, length = "T1", self.providers.hospital[0], rng.randint(2, 10)
        back = when + length
        if back >= end - 1 or setting.key == current.setting.key:
            return None
        return [Placement(when, place, setting), Placement(back, current.place, current.setting)]

    def _supported(self, rng: random.Random, when: Day, reason: str) -> Placement:
        # From 2024-25 supported accommodation is coded K3 (Ofsted-registered from Oct 2023);
        # H5 stays valid in 2024-25 returns, so some placements still use it.
        h5_still_used = when < K3_FROM or (when < K3_FROM + 180 and chance(rng, 0.3))
        place = "H5" if h5_still_used else "K3"
        setting = self.providers.supported_accommodation(rng)
        unregistered = place == "H5" and when < REGISTRATION_BY
        return Placement(when, place, setting, reason, unregistered=unregistered)

    def _initial_placement(
        self, rng: random.Random, child: Child, start: Day, timeline: Timeline
    ) -> Placement:
        age = age_on(child.dob, start)
        roll = rng.random()
        if child.unaccompanied:
            if age >= 16 and roll < 0.6:
                return self._supported(rng, start, "")
            return self._foster_or_home(rng, start, roll < 0.85)
        if timeline.legal[0][1] == "J1":
            return self._foster_or_home(rng, start, roll < 0.6)
        if age < 1:
            if roll < 0.08:
                return Placement(start, "R3", self.providers.parent_baby[0])
            if roll < 0.20 and timeline.plan == "adoption":
                return Placement(start, "U5", self.providers.foster(rng))
            if roll < 0.42:
                return Placement(start, "U3", self.providers.kinship(rng, child.area))
            return Placement(start, "U6", self.providers.foster(rng))
        if age < 10:
            if roll < 0.27:
                return Placement(start, "U3", self.providers.kinship(rng, child.area))
            if roll < 0.30 and age >= 8:
                return Placement(start, "K2", self.providers.home(rng))
            return Placement(start, "U6", self.providers.foster(rng))
        if age < 16:
            return self._next_placement(rng, child, start, age, first=True)
        if roll < 0.37:
            return self._supported(rng, start, "")
        if roll < 0.52:
            return Placement(start, "K2", self.providers.home(rng))
        if roll < 0.62:
            return Placement(start, "U3", self.providers.kinship(rng, child.area))
        return Placement(start, "U6", self.providers.foster(rng))

    def _foster_or_home(self, rng: random.Random, when: Day, foster: bool) -> Placement:
        if foster:
            return Placement(when, "U6", self.providers.foster(rng))
        return Placement(when, "K2", self.providers.home(rng))

    def _next_placement(
        self, rng: random.Random, child: Child, when: Day, age: int, first: bool = False
    ) -> Placement:
        reason = "" if first else self.move_reason(rng)
        if reason == "CUSTOD" and age < 14:
            reason = "CARPL"  # custody arrangements concern older children
        roll = rng.random()
        if age < 10:
            if roll < 0.12:
                return Placement(when, "U3", self.providers.kinship(rng, child.area), reason)
            if roll < 0.17 and age >= 8:
                return Placement(when, "K2", self.providers.home(rng), reason)
            return Placement(when, "U6", self.providers.foster(rng), reason)
        if age < 16:
            if roll < 0.55:
                return Placement(when, "U6", self.providers.foster(rng), reason)
            if roll < 0.66:
                return Placement(when, "U3", self.providers.kinship(rng, child.area), reason)
            if roll < 0.69:
                return Placement(when, "Z1", rng.choice(self.providers.other), reason)
            if roll < 0.70 and age >= 14:
                return Placement(when, "K1", self.providers.secure[0], reason)
            if roll < 0.71 and child.disabled:
                return Placement(when, "R1", self.providers.care_home[0], reason)
            return Placement(when, "K2", self.providers.home(rng), reason)
        if roll < 0.45:
            return self._supported(rng, when, reason)
        if roll < 0.75:
            return Placement(when, "U6", self.providers.foster(rng), reason)
        return Placement(when, "K2", self.providers.home(rng), reason)

    def _tidy_exit(self, child: Child, timeline: Timeline, placements: list[Placement]) -> None:
        """Reasons for leaving that must agree with where the child was living."""
        last = placements[-1]
        for placement in placements:
            if placement.start < timeline.end:
                last = placement
        if timeline.rec == "E17" and last.place not in FOSTER:
            timeline.rec = "E5"
        if timeline.rec in ("E45", "E46") and last.place not in FOSTER:
            timeline.rec = "E47" if timeline.rec == "E45" else "E48"  # not former foster carers
        if timeline.rec == "E7" and not child.disabled:
            timeline.rec = "E5"

    # --- episodes ----------------------------------------------------------------------------

    def _episodes(
        self, child: Child, need: str, timeline: Timeline, placements: list[Placement]
    ) -> list[Episode]:
        end = timeline.end
        start = timeline.legal[0][0]
        changes = sorted(
            {d for d, _ in timeline.legal[1:] if start < d < end}
            | {p.start for p in placements[1:] if start < p.start < end}
        )
        legal = timeline.legal
        status, placement = legal[0][1], placements[0]
        episodes = [self._episode(child, start, "S", status, need, placement)]
        li, pi = 0, 0
        for when in changes:
            while li + 1 < len(legal) and legal[li + 1][0] <= when:
                li += 1
            while pi + 1 < len(placements) and placements[pi + 1].start <= when:
                pi += 1
            new_status, new_placement = legal[li][1], placements[pi]
            status_changed = new_status != status
            carer_changed = new_placement.setting.key != placement.setting.key
            place_changed = (
                carer_changed
                or new_placement.place != placement.place
                or new_placement.unregistered != placement.unregistered
            )
            if not (status_changed or place_changed):
                continue
            if status_changed:
                rne = "B" if carer_changed else ("U" if place_changed else "L")
            else:
                rne = "P" if carer_changed else "T"
            previous = episodes[-1]
            previous.end, previous.rec = when, "X1"
            temporary = previous.place in TEMPORARY or new_placement.place in TEMPORARY
            if place_changed and not temporary:
                previous.reason_change = new_placement.reason or "CARPL"
            episodes.append(self._episode(child, when, rne, new_status, need, new_placement))
            status, placement = new_status, new_placement
        episodes[-1].end, episodes[-1].rec = end, timeline.rec
        return episodes

    def _episode(
        self, child: Child, when: Day, rne: str, status: str, need: str, placement: Placement
    ) -> Episode:
        place, setting = placement.place, placement.setting
        home = child.postcode_on(when)
        pl_post = home if place == "P1" else setting.postcode
        if place != "P1" and pl_post == home:
            pl_post = self.providers.demoton.out_of_area_postcodes[child.key % 200]
        return Episode(
            start=when,
            rne=rne,
            legal_status=status,
            need=need,
            place=place,
            provider="" if place in NO_PROVIDER else ("PR0" if place == "P1" else setting.provider),
            pl_post=pl_post,
            urn="" if place in NO_URN or placement.unregistered else setting.urn,
            home_post=home,
            z_subtype=Z_SUBTYPES[child.key % 4] if place == "Z1" else "",
        )

    # --- reviews, missing, social workers, late records ---------------------------------------

    def _reviews(
        self, rng: random.Random, child: Child, start: Day, end: Day
    ) -> list[tuple[Day, str]]:
        reviews = []
        when = start + 20
        gap = 91  # first review within 20 days, the second 3 months later, then 6-monthly
        while when < min(end, self.until):
            age = age_on(child.dob, when)
            code = "PN0" if age < 4 else (REVIEW_YOUNG if age < 10 else REVIEW_OLDER)(rng)
            reviews.append((when, code))
            when += gap - rng.randint(0, 10)
            gap = 182
        return reviews

    def _missing(
        self,
        rng: random.Random,
        child: Child,
        start: Day,
        end: Day,
        placements: list[Placement],
    ) -> list[Missing]:
        first = max(start, birthday(child.dob, 11))
        last = min(end, self.until)
        if first >= last - 2:
            return []
        residential = any(p.place in ("K2", "H5", "K3") for p in placements)
        prone = self.p.missing_prone_share * (1.6 if residential else 0.85)
        if not chance(rng, prone):
            return []
        count = max(1, poisson(rng, self.p.missing_per_year * (last - first) / 365.25))
        periods: list[Missing] = []
        busy_until = first
        for when in sorted(rng.randint(first, last - 2) for _ in range(count)):
            if when <= busy_until:
                continue
            length = rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 4, 6, 9, 15))
            finish = min(when + length, end - 1)
            kind = "A" if chance(rng, self.p.away_share) else "M"
            periods.append(Missing(kind, when, finish))
            busy_until = finish
        return periods

    def _social_workers(self, rng: random.Random, start: Day, end: Day) -> list[SocialWorker]:
        allocations = []
        when, reason = start, "FCONTA"
        mean = 365.25 / self.p.social_worker_changes_per_year
        while True:
            worker = rng.choice(self.workers)
            finish = when + exponential_days(rng, mean, low=14)
            if finish >= end or finish > self.until:  # the last allocation lasts to the end
                allocations.append(SocialWorker(worker, when, end, reason))
                return allocations
            allocations.append(SocialWorker(worker, when, finish, reason))
            when, reason = finish, SW_REASONS(rng)

    def _maybe_late(self, rng: random.Random, period: CarePeriod) -> None:
        """Sometimes an exit in the last days of March reaches the record after 31 March: that
        year's return shows the episode open; the next year's shows it closed (awkward case)."""
        end = period.end
        if end is None or period.rec in ("E11", "E12"):
            return  # (adoptions are recorded on the day: AD1 must agree with the episodes)
        if period.episodes[-1].place in RETIRED_IN_2025_26:
            # Shown in the next year's return, the placement code would no longer be valid
            # there (DfE rule 146), which a real return could not submit either.
            return
        ended = to_date(end)
        if ended.month == 3 and ended.day >= 18 and chance(rng, 0.4):
            period.end_recorded = day(ended.year, 4, 1) + rng.randint(5, 40)
