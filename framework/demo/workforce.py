"""Demoton's children's services workforce: teams, staff, and who holds each child's case.

Built after the children are simulated, from their true histories, in three steps:

1. **Needs.** Each child's history becomes a list of spells with the team that holds the case:
   the front door from a referral until the assessment is done (or the case closes), the
   child's locality safeguarding team while a service continues, the children-in-care team for
   every period of care, and the care leavers team (a personal adviser) from leaving care to
   21. Referrals closed with no further action get no allocation: they are decided by the
   duty social worker on the day and never allocated.
2. **Staff.** Every team has posts sized on its caseload in the window. Each post is filled by
   an employee, who leaves at the team's turnover rate (or moves to a vacant post in another
   team); the post then stays vacant while a replacement is recruited, usually covered by a
   run of short agency assignments. High-turnover teams lose staff more often, take longer
   to recruit and lean more on agency workers.
3. **Allocations.** Cases are allocated, day by day, to the least loaded case holder of the
   team. A worker's departure reallocates all their children; a case moving team (e.g. on
   becoming looked after) is a transfer; a few changes happen for other reasons (caseload
   management, absence, a family's request). So children in high-turnover teams have more
   changes of worker, as in the CSWW and SSDA903 data of real authorities.

The looked-after allocations then replace each period of care's ``social_workers`` (written as
the SSDA903 social-worker episodes), so the 903 return, the allocations file and the CSWW
return describe the same people. Everything is drawn from its own random streams, so the
statutory returns are otherwise unchanged.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import pairwise

from framework.demo.dates import Day, age_on, birthday, day, to_date
from framework.demo.draws import Picker, chance, normal_int
from framework.demo.model import Child, SocialWorker
from framework.demo.params import WorkforceParams

PARAMS = WorkforceParams()
END_REASONS = ("worker_left", "worker_moved", "case_transferred", "case_closed", "other")
# SSDA903 SW_REASON for the change that begins an allocation, by why the previous one ended.
SW_REASON_FOR = {
    "worker_left": "LEFTRL",
    "worker_moved": "LEFTRL",
    "case_transferred": "TSPROC",
}
# Other changes (per allocation-year, PARAMS.other_change_per_year) and their 903 reason.
OTHER_REASONS = Picker(
    (("MANAGE", 45.0), ("ABSENC", 25.0), ("CHCHAN", 8.0), ("PCCHAN", 10.0), ("OTHERS", 12.0))
)
EARLIEST_START = day(1990, 1, 1)  # nobody in post joined before (the template needs 1981+)
CASE_KINDS = ("front_door", "locality", "children_in_care", "care_leavers")
CHOICE_SAMPLE = 12  # case holders compared when allocating a case in a large team
# CSWW OrgRole by level (social workers: 5 case holder, or 4 for advanced practitioners).
ORG_ROLE = {"senior_leader": "1", "middle_manager": "2", "team_manager": "3"}
ETHNICITY = Picker(  # assumption, near the CSWW 2024 profile (about 7 in 10 white)
    (
        ("WBRI", 62.0),
        ("WIRI", 1.5),
        ("WOTH", 4.5),
        ("MWBC", 2.0),
        ("MWBA", 0.8),
        ("MWAS", 0.8),
        ("MOTH", 1.2),
        ("AIND", 2.8),
        ("APKN", 3.2),
        ("ABAN", 0.8),
        ("AOTH", 1.2),
        ("BCRB", 3.0),
        ("BAFR", 8.5),
        ("BOTH", 1.0),
        ("CHNE", 0.3),
        ("OOTH", 1.4),
        ("REFU", 1.5),
        ("NOBT", 3.5),
    )
)
START_ORIGIN = Picker(  # CSWW StartOrigin of experienced starters (assumption)
    (
        ("2", 40.0),
        ("4", 16.0),
        ("5", 10.0),
        ("6", 8.0),
        ("7", 5.0),
        ("3", 4.0),
        ("8", 5.0),
        ("9", 12.0),
    )
)
REASON_LEAVE = Picker((("1", 78.0), ("5", 7.0), ("4", 2.0), ("7", 4.0), ("8", 5.0), ("9", 4.0)))
QUAL_INSTITUTIONS = (  # invented names
    "University of Northbridge",
    "Eastmoor University",
    "Kingsford Metropolitan University",
    "University of Westerleigh",
    "Harrowgate College",
    "Open Learning Institute",
)


# --- The model ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Team:
    name: str
    kind: str  # front_door, locality, children_in_care, care_leavers, quality_assurance, ...
    locality: str  # "" for authority-wide teams
    turnover: float  # yearly chance an employee leaves a post
    recruitment_days: float
    agency_cover: float
    case_holding: bool


@dataclass(slots=True)
class Post:
    number: int
    team: str
    level: str
    qualified: bool
    case_holder: bool
    org_role: str  # CSWW OrgRole ("" for staff the return does not cover)
    created: Day
    fte: float = 1.0  # established FTE


@dataclass(slots=True)
class Spell:
    """A person in a post (a team) from start to end (None: still there at the horizon)."""

    team: str
    post: int
    start: Day
    end: Day | None = None
    end_reason: str = ""  # worker_left or worker_moved


@dataclass(slots=True)
class Staff:
    worker_id: str
    level: str
    qualified: bool
    agency: bool
    fte: float
    joined: Day  # started working for the authority's children's services
    born: Day
    gender: str  # CSWW GenderCurrent
    ethnicity: str
    org_role: str
    start_origin: str
    qual_level: str
    qual_institution: str
    step_up: bool
    frontline: bool
    case_holder: bool = False  # holds cases (social workers, personal advisers)
    left: Day | None = None
    reason_leave: str = ""
    destination: str = ""
    spells: list[Spell] = field(default_factory=list)
    sickness: list[tuple[Day, int]] = field(default_factory=list)  # (first day, working days)

    def spell_on(self, when: Day) -> Spell | None:
        for spell in self.spells:
            if spell.start <= when and (spell.end is None or when < spell.end):
                return spell
        return None

    def in_post(self, start: Day, end: Day) -> bool:
        """Worked at any time from ``start`` to ``end`` (inclusive)."""
        return self.joined <= end and (self.left is None or self.left >= start)

    def team_in(self, start: Day, end: Day) -> str:
        """The latest team in a span of days."""
        teams = [
            s.team for s in self.spells if s.start <= end and (s.end is None or s.end >= start)
        ]
        return teams[-1] if teams else self.spells[-1].team

    def sickness_days(self, start: Day, end: Day) -> float:
        """Working days lost to sickness in spells beginning from ``start`` to ``end``."""
        days = sum(length for first, length in self.sickness if start <= first <= end)
        return round(days * self.fte, 1)

    def absent_on(self, when: Day) -> bool:
        return any(first <= when < first + length * 7 // 5 + 1 for first, length in self.sickness)


@dataclass(slots=True)
class Allocation:
    child_id: str
    worker_id: str
    team: str
    start: Day
    end: Day | None
    end_reason: str  # one of END_REASONS, or "" while it continues
    sw_reason: str = ""  # the SSDA903 SW_REASON for the change that began it


@dataclass
class Workforce:
    teams: list[Team]
    staff: list[Staff]
    allocations: dict[str, list[Allocation]]  # by child_id, sorted by start
    posts: list[Post] = field(default_factory=list)
    horizon: Day = 0  # the last day simulated (31 March of the window's last year)
    # (day, age of the child) of each S47 strategy discussion, for the meetings file
    strategy_discussions: list[tuple[Day, int]] = field(default_factory=list)
    _teams: dict[str, Team] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._teams = {team.name: team for team in self.teams}

    def worker_changes(self, child_id: str, start: Day, end: Day) -> int:
        """Changes of worker with the new allocation starting in [start, end]: a new worker
        taking over a case that continued (not a first allocation after the case opened)."""
        allocations = self.allocations.get(child_id, [])
        changes = 0
        for before, after in pairwise(allocations):
            if start <= after.start <= end and before.end_reason != "case_closed":
                changes += after.worker_id != before.worker_id
        return changes

    def team_of(self, child_id: str, on: Day) -> str | None:
        for allocation in self.allocations.get(child_id, []):
            if allocation.start <= on and (allocation.end is None or on < allocation.end):
                return allocation.team
        return None

    def team_turnover(self, team: str) -> float:
        return self._teams[team].turnover

    def team(self, name: str) -> Team:
        return self._teams[name]


# --- Entry point -------------------------------------------------------------------------------


def build_workforce(children: list[Child], window, seed: int, demoton) -> Workforce:
    """The workforce and every child's allocations; replaces each period of care's
    ``social_workers`` with its looked-after allocations (so the SSDA903 return agrees)."""
    horizon = window.end
    improvement = day(window.first_year + 1, 4, 1)  # the third written year (params.Referrals)
    needs = {child.child_id: _needs(child, demoton, horizon) for child in children}
    teams = _teams(needs, window)
    _name_teams(needs, children, teams)
    start = min([window.start - 3 * 365] + [s[0][0] for s in needs.values() if s]) - 30
    posts = _posts(teams, _mean_open_cases(needs, window), start, improvement)
    staff = _StaffSimulation(random.Random(f"demoton:{seed}:workforce"), teams, posts).run(
        start, horizon
    )
    allocations = _Allocator(random.Random(f"demoton:{seed}:allocations"), teams, staff).run(
        needs, horizon
    )
    _replace_social_workers(children, allocations)
    return Workforce(
        teams=list(teams.values()),
        staff=staff,
        allocations=allocations,
        posts=posts,
        horizon=horizon,
        strategy_discussions=_strategy_discussions(children, window),
    )


# --- 1. What each child needs: spells with a kind of team ---------------------------------------

Need = tuple[Day, Day | None, str]  # start, end (None: open at the horizon), team (or kind)
PRIORITY = {"front_door": 0, "locality": 1, "care_leavers": 2, "children_in_care": 3}


def _needs(child: Child, demoton, horizon: Day) -> list[Need]:
    """The child's case-holding spells, the most specialist team winning where they overlap."""
    spans: list[tuple[Day, Day, str]] = []
    for referral in child.referrals:
        if referral.nfa or referral.closure is None:
            continue
        if not referral.led_to_service:
            spans.append((referral.date, referral.closure, "front_door"))
            continue
        handover = min(
            [referral.closure]
            + [a.authorised for a in referral.assessments]
            + [p.start for p in referral.cin_plans + referral.cp_plans]
            + [p.start for p in child.care if referral.date <= p.start]
        )
        spans.append((referral.date, max(handover, referral.date + 1), "front_door"))
        spans.append((handover, referral.closure, "locality"))
    for period in child.care:
        spans.append((period.start, period.end, "children_in_care"))
    if child.leaver and child.care:
        spans.append((child.care[-1].end, _leaving_care_support_ends(child), "care_leavers"))
    spans = [(s, min(e, horizon + 1), k) for s, e, k in spans if e > s and s <= horizon]
    locality = _locality(child, demoton)
    painted = _paint(spans)
    return [
        (s, None if e > horizon else e, f"locality:{locality}" if k == "locality" else k)
        for s, e, k in painted
    ]


def _leaving_care_support_ends(child: Child) -> Day:
    """A personal adviser until 21, unless the young person died."""
    for status in child.leaver:
        if status.in_touch == "DIED":
            return birthday(child.dob, status.age)
    return birthday(child.dob, 21)


def _locality(child: Child, demoton) -> str:
    if child.area >= 0:
        return demoton.areas[child.area].locality
    localities = demoton.settings.localities  # no recorded address: spread evenly
    return localities[child.key % len(localities)]


def _paint(spans: list[tuple[Day, Day, str]]) -> list[tuple[Day, Day, str]]:
    """Half-open spans [start, end) flattened: on each day the highest-priority kind holds."""
    cuts = sorted({d for s, e, _ in spans for d in (s, e)})
    painted: list[tuple[Day, Day, str]] = []
    for a, b in pairwise(cuts):
        kinds = [k for s, e, k in spans if s <= a and b <= e]
        if not kinds:
            continue
        kind = max(kinds, key=PRIORITY.__getitem__)
        if painted and painted[-1][1] == a and painted[-1][2] == kind:
            painted[-1] = (painted[-1][0], b, kind)
        else:
            painted.append((a, b, kind))
    return painted


# --- 2. Teams and posts -------------------------------------------------------------------------


def _mean_open_cases(needs: dict[str, list[Need]], window) -> dict[str, float]:
    """Average cases open on the last day of each month of the window, by team or kind."""
    snapshots = month_ends(window.start, window.end)
    totals: dict[str, int] = {}
    for spells in needs.values():
        for start, end, kind in spells:
            first = bisect_left(snapshots, start)
            last = len(snapshots) if end is None else bisect_left(snapshots, end)
            if last > first:
                totals[kind] = totals.get(kind, 0) + last - first
    return {kind: total / len(snapshots) for kind, total in totals.items()}


def _make_team(name: str, kind: str, locality: str = "") -> Team:
    group = "locality_high" if kind == "locality_high" else kind
    other = "locality_high" if group == "locality_high" else kind
    return Team(
        name=name,
        kind="locality" if kind == "locality_high" else kind,
        locality=locality,
        turnover=PARAMS.turnover[group],
        recruitment_days=PARAMS.recruitment_days.get(other, PARAMS.recruitment_days["other"]),
        agency_cover=PARAMS.agency_cover.get(other, PARAMS.agency_cover["other"]),
        case_holding=kind in CASE_KINDS or kind == "locality_high",
    )


def _teams(needs: dict[str, list[Need]], window) -> dict[str, Team]:
    """Front door, locality safeguarding teams (two in a busy locality), children in care,
    care leavers, quality assurance (IROs and CP chairs) and the managers."""
    loads = _mean_open_cases(needs, window)
    teams = [_make_team("Front Door", "front_door")]
    localities = sorted({k.split(":", 1)[1] for k in loads if k.startswith("locality:")})
    for locality in localities:
        high = locality in PARAMS.high_turnover_localities
        kind = "locality_high" if high else "locality"
        posts = loads[f"locality:{locality}"] / PARAMS.children_per_post
        if posts > PARAMS.locality_split_posts:
            for suffix in ("A", "B"):
                teams.append(_make_team(f"{locality} Safeguarding {suffix}", kind, locality))
        else:
            teams.append(_make_team(f"{locality} Safeguarding", kind, locality))
    teams += [
        _make_team("Children in Care", "children_in_care"),
        _make_team("Care Leavers", "care_leavers"),
        _make_team("Quality Assurance", "quality_assurance"),
        _make_team("Service Managers", "service_managers"),
        _make_team("Senior Leadership", "senior_leadership"),
    ]
    return {team.name: team for team in teams}


KIND_TEAM = {
    "front_door": "Front Door",
    "children_in_care": "Children in Care",
    "care_leavers": "Care Leavers",
}


def _name_teams(needs: dict[str, list[Need]], children, teams: dict[str, Team]) -> None:
    """Replace each kind with the team's name: ``locality:<name>`` becomes the child's locality
    team (A or B by case number in a split locality)."""
    keys = {child.child_id: child.key for child in children}
    for child_id, spells in needs.items():
        for i, (start, end, kind) in enumerate(spells):
            if not kind.startswith("locality:"):
                spells[i] = (start, end, KIND_TEAM[kind])
                continue
            locality = kind.split(":", 1)[1]
            name = f"{locality} Safeguarding"
            if name not in teams:
                name += " A" if keys[child_id] % 2 == 0 else " B"
            spells[i] = (start, end, name)


def _posts(
    teams: dict[str, Team], loads: dict[str, float], start: Day, improvement: Day
) -> list[Post]:
    posts: list[Post] = []

    def add(team: str, level: str, count: int, *, case_holder=False, role="", created=start):
        qualified = level != "other"
        for _ in range(count):
            posts.append(Post(len(posts), team, level, qualified, case_holder, role, created))

    case_teams = [t for t in teams.values() if t.case_holding]
    for team in case_teams:
        load = loads.get(team.name, 0.0)
        if team.kind == "care_leavers":  # personal advisers: not social workers
            holders = max(2, round(load / PARAMS.children_per_personal_adviser))
            add(team.name, "team_manager", 1, role="3")
            add(team.name, "other", holders, case_holder=True)
            add(team.name, "other", 1)  # business support
            continue
        holders = max(PARAMS.min_case_holding_posts, round(load / PARAMS.children_per_post))
        advanced = max(1, holders // 6)
        add(team.name, "team_manager", 1 + (holders >= 8), role="3")
        add(team.name, "social_worker", advanced, case_holder=True, role="4")
        add(team.name, "social_worker", holders - advanced, case_holder=True, role="5")
        add(team.name, "other", max(1, round(holders * 0.35)))  # family support, admin
        if team.turnover >= 0.2 and team.kind == "locality":
            extra = PARAMS.extra_posts_in_improvement_year
            add(team.name, "social_worker", extra, case_holder=True, role="5", created=improvement)
    locality_cases = sum(loads.get(t.name, 0.0) for t in case_teams if t.kind == "locality")
    reviewing = (
        loads.get("Children in Care", 0.0) + locality_cases * 0.15
    )  # IROs and CP chairs: about 1 per 60 looked-after children and CP plans
    add("Quality Assurance", "team_manager", 1, role="3")
    add("Quality Assurance", "social_worker", max(2, round(reviewing / 60)), role="6")
    add("Quality Assurance", "other", 1)
    add("Service Managers", "middle_manager", max(2, (len(case_teams) + 1) // 2), role="2")
    add("Service Managers", "other", 1)
    add("Senior Leadership", "senior_leader", 1)  # director: not a social worker
    posts[-1].qualified = False
    add("Senior Leadership", "senior_leader", 3, role="1")  # assistant director, heads of service
    add("Senior Leadership", "other", 1)
    return posts


def month_ends(first: Day, last: Day) -> list[Day]:
    """The last day of every month from ``first`` to ``last``."""
    out = []
    when = first
    while when <= last:
        d = to_date(when)
        nxt = day(d.year + (d.month == 12), d.month % 12 + 1, 1)
        if nxt - 1 <= last:
            out.append(nxt - 1)
        when = nxt
    return out


# --- 3. Staff: posts filled, vacated, covered ---------------------------------------------------


class _StaffSimulation:
    """Each post's occupants over time, as a queue of events (leave, recruit, agency)."""

    def __init__(self, rng: random.Random, teams: dict[str, Team], posts: list[Post]):
        self.rng = rng
        self.teams = teams
        self.posts = posts
        self.staff: list[Staff] = []
        self.holder: list[Staff | None] = [None] * len(posts)  # the employee in the post
        self.agency: list[Staff | None] = [None] * len(posts)
        self.recruiting: list[int] = [0] * len(posts)  # version of the open recruitment, 0 none
        self.events: list[tuple[Day, int, str, int, int]] = []
        self.sequence = 0
        self.next_sw, self.next_hr = 900_000, 10_000

    def run(self, start: Day, horizon: Day) -> list[Staff]:
        self.horizon = horizon
        for post in self.posts:
            if post.created <= start:
                tenure = self.rng.expovariate(self._turnover(post)) * 365.25
                joined = max(start - min(round(tenure), 15 * 365), EARLIEST_START)
                self._appoint(post, joined, start)
            else:
                self._recruit(post, post.created)
        while self.events:
            when, _, kind, number, version = heapq.heappop(self.events)
            if when > horizon:
                break
            getattr(self, f"_on_{kind}")(self.posts[number], when, version)
        for person in self.staff:
            self._sickness(person, start)
        return self.staff

    # events

    def _schedule(self, when: Day, kind: str, post: Post, version: int = 0) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (when, self.sequence, kind, post.number, version))

    def _on_leave(self, post: Post, when: Day, version: int) -> None:
        person = self.holder[post.number]
        if person is None or id(person) != version:
            return
        target = self._internal_vacancy(post) if post.case_holder else None
        if target is not None and person.level == "social_worker" and not person.agency:
            person.spells[-1].end, person.spells[-1].end_reason = when, "worker_moved"
            self._end_agency(target, when)
            self.recruiting[target.number] = 0
            self.holder[target.number] = person
            person.spells.append(Spell(target.team, target.number, when))
            self._schedule_leaving(target, person, when)
        else:
            person.spells[-1].end, person.spells[-1].end_reason = when, "worker_left"
            person.left = when
            person.reason_leave = REASON_LEAVE(self.rng)
            person.destination = str(self.rng.randint(1, 9))
        self.holder[post.number] = None
        self._recruit(post, when)

    def _on_recruit(self, post: Post, when: Day, version: int) -> None:
        if self.recruiting[post.number] != version:
            return
        self.recruiting[post.number] = 0
        self._end_agency(post, when)
        self._appoint(post, when, when)

    def _on_agency_start(self, post: Post, when: Day, version: int) -> None:
        if self.recruiting[post.number] != version or self.agency[post.number] is not None:
            return
        person = self._new_person(post, when, agency=True)
        person.spells.append(Spell(post.team, post.number, when))
        self.agency[post.number] = person
        stint = max(28, round(self.rng.expovariate(1 / PARAMS.agency_stint_days)))
        self._schedule(when + stint, "agency_end", post, id(person))

    def _on_agency_end(self, post: Post, when: Day, version: int) -> None:
        person = self.agency[post.number]
        if person is None or id(person) != version:
            return
        self._end_agency(post, when)
        if self.recruiting[post.number]:  # another agency worker, often after a gap
            self._schedule(
                when + self.rng.choice((0, 0, 7, 14, 28)),
                "agency_start",
                post,
                self.recruiting[post.number],
            )

    # helpers

    def _turnover(self, post: Post) -> float:
        rate = self.teams[post.team].turnover
        return rate * (0.8 if post.level in ("senior_leader", "middle_manager") else 1.0)

    def _appoint(self, post: Post, joined: Day, since: Day) -> None:
        person = self._new_person(post, joined, agency=False)
        person.spells.append(Spell(post.team, post.number, since))
        self.holder[post.number] = person
        self._schedule_leaving(post, person, since)

    def _schedule_leaving(self, post: Post, person: Staff, since: Day) -> None:
        # Gamma with shape 2: the mean stay is 1 / turnover, but small teams do not see the
        # runs of very long stays an exponential gives (turnover differences stay visible).
        stay = round(self.rng.gammavariate(2.0, 0.5 / self._turnover(post)) * 365.25)
        self._schedule(since + max(30, stay), "leave", post, id(person))

    def _recruit(self, post: Post, when: Day) -> None:
        team = self.teams[post.team]
        self.sequence += 1
        version = self.sequence
        self.recruiting[post.number] = version
        wait = round(self.rng.expovariate(1 / team.recruitment_days))
        self._schedule(when + max(21, wait), "recruit", post, version)
        if chance(self.rng, team.agency_cover):
            self._schedule(when + self.rng.randint(5, 35), "agency_start", post, version)

    def _end_agency(self, post: Post, when: Day) -> None:
        person = self.agency[post.number]
        if person is not None:
            person.spells[-1].end, person.spells[-1].end_reason = when, "worker_left"
            person.left = when
            person.reason_leave = "9"
            self.agency[post.number] = None

    def _internal_vacancy(self, post: Post) -> Post | None:
        """A vacant case-holding social worker post in another team, sometimes."""
        if not chance(self.rng, PARAMS.internal_move_share):
            return None
        open_posts = [
            p
            for p in self.posts
            if self.recruiting[p.number]
            and p.team != post.team
            and p.level == "social_worker"
            and p.case_holder
        ]
        return self.rng.choice(open_posts) if open_posts else None

    def _new_person(self, post: Post, joined: Day, *, agency: bool) -> Staff:
        rng = self.rng
        if post.qualified:
            self.next_sw += rng.randint(1, 60)
            worker_id = f"SW{self.next_sw:010d}"
        else:
            self.next_hr += rng.randint(1, 9)
            worker_id = f"HR{self.next_hr:05d}"
        senior = post.level in ("senior_leader", "middle_manager", "team_manager")
        age = normal_int(rng, (42.0, 7.0) if senior else (33.0, 9.0), 21, 62)
        newly_qualified = not agency and not senior and post.qualified and age <= 26
        newly_qualified = newly_qualified and chance(rng, 0.7)
        fte = 1.0
        if not agency and chance(rng, PARAMS.part_time_share):
            fte = rng.choice((0.6, 0.7, 0.8))
        person = Staff(
            worker_id=worker_id,
            level=post.level,
            qualified=post.qualified,
            agency=agency,
            fte=fte,
            joined=joined,
            born=joined - round(age * 365.25) - rng.randint(0, 364),
            gender=rng.choices(("2", "1", "9", "0"), (84.0, 14.5, 1.0, 0.5))[0],
            ethnicity=ETHNICITY(rng),
            org_role=post.org_role,
            start_origin="4" if agency else ("1" if newly_qualified else START_ORIGIN(rng)),
            qual_level=rng.choices(("1", "2", "3"), (58.0, 39.0, 3.0))[0],
            qual_institution=rng.choice(QUAL_INSTITUTIONS),
            step_up=chance(rng, 0.04),
            frontline=age < 35 and chance(rng, 0.07),
            case_holder=post.case_holder,
        )
        self.staff.append(person)
        return person

    def _sickness(self, person: Staff, start: Day) -> None:
        """Spells of sickness (employees; agency absence is not recorded) from a year before
        the window's data could need them."""
        if person.agency:
            return
        rng = random.Random(f"{self.rng.random()}")  # a child stream: order-independent
        high = self.teams[person.spells[0].team].turnover >= 0.2
        factor = PARAMS.sickness_factor_high_turnover if high else 1.0
        begin = max(person.joined, self.horizon - 8 * 365)
        finish = person.left if person.left is not None else self.horizon
        when = begin
        rate = (PARAMS.short_sickness_per_year + PARAMS.long_sickness_per_year) * factor
        long_share = PARAMS.long_sickness_per_year / (
            PARAMS.short_sickness_per_year + PARAMS.long_sickness_per_year
        )
        while True:
            when += round(rng.expovariate(rate) * 365.25)
            if when > finish:
                return
            if chance(rng, long_share):
                length = rng.randint(20, 90)
            else:
                length = rng.choice((1, 1, 1, 2, 2, 3, 3, 4, 5, 8))
            person.sickness.append((when, length))


# --- 4. Allocations ------------------------------------------------------------------------------


class _Allocator:
    """Cases allocated to the least loaded case holder of the team, in time order."""

    ARRIVE, DEPART, CASE, OTHER = 0, 1, 2, 3

    def __init__(self, rng: random.Random, teams: dict[str, Team], staff: list[Staff]):
        self.rng = rng
        self.teams = teams
        self.staff = {person.worker_id: person for person in staff}
        self.active: dict[str, dict[str, Staff]] = {name: {} for name in teams}
        self.managers: dict[str, dict[str, Staff]] = {name: {} for name in teams}
        self.cases: dict[str, dict[str, None]] = {}  # worker -> children (ordered set)
        self.current: dict[str, Allocation] = {}
        self.out: dict[str, list[Allocation]] = {}
        self.events: list[tuple] = []
        self.sequence = 0
        self.case_holding_posts: set[tuple[str, str]] = set()

    def run(self, needs: dict[str, list[Need]], horizon: Day) -> dict[str, list[Allocation]]:
        self.horizon = horizon
        for person in self.staff.values():
            for spell in person.spells:
                self._push(spell.start, self.ARRIVE, (person, spell))
                if spell.end is not None:
                    self._push(spell.end, self.DEPART, (person, spell))
        for child_id, spells in needs.items():
            self.out[child_id] = []
            for i, (start, end, team) in enumerate(spells):
                joined = i > 0 and spells[i - 1][1] == start
                self._push(start, self.CASE, (child_id, team, "transfer" if joined else "open"))
                follows = i + 1 < len(spells) and spells[i + 1][0] == end
                if end is not None and not follows:
                    self._push(end, self.CASE, (child_id, "", "close"))
        while self.events:
            when, order, _, payload = heapq.heappop(self.events)
            if when > horizon:
                break
            if order == self.ARRIVE:
                self._arrive(*payload)
            elif order == self.DEPART:
                self._depart(when, *payload)
            elif order == self.CASE:
                self._case(when, *payload)
            else:
                self._other(when, payload)
        return {child_id: allocations for child_id, allocations in sorted(self.out.items())}

    def _push(self, when: Day, order: int, payload) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (when, order, self.sequence, payload))

    # staff arriving and leaving

    def _holds_cases(self, person: Staff, spell: Spell) -> str:
        team = self.teams[spell.team]
        if not team.case_holding:
            return ""
        if person.level == "team_manager":
            return "manager"
        if person.case_holder:
            return "holder"
        return ""

    def _arrive(self, person: Staff, spell: Spell) -> None:
        role = self._holds_cases(person, spell)
        if role == "holder":
            self.active[spell.team][person.worker_id] = person
            self.cases.setdefault(person.worker_id, {})
        elif role == "manager":
            self.managers[spell.team][person.worker_id] = person
            self.cases.setdefault(person.worker_id, {})

    def _depart(self, when: Day, person: Staff, spell: Spell) -> None:
        self.active[spell.team].pop(person.worker_id, None)
        self.managers[spell.team].pop(person.worker_id, None)
        for child_id in list(self.cases.get(person.worker_id, {})):
            self._change(when, child_id, spell.team, spell.end_reason, avoid=person.worker_id)

    # cases opening, moving and closing

    def _case(self, when: Day, child_id: str, team: str, kind: str) -> None:
        if kind == "close":
            self._end(when, child_id, "case_closed")
        elif kind == "transfer" and child_id in self.current:
            self._change(when, child_id, team, "case_transferred")
        else:
            self._start(when, child_id, team, "FCONTA")

    def _other(self, when: Day, allocation: Allocation) -> None:
        if self.current.get(allocation.child_id) is not allocation:
            return
        if len(self.active[allocation.team]) < 2:
            return
        self._change(
            when, allocation.child_id, allocation.team, "other", avoid=allocation.worker_id
        )

    def _change(self, when: Day, child_id: str, team: str, reason: str, avoid: str = "") -> None:
        self._end(when, child_id, reason)
        sw_reason = SW_REASON_FOR.get(reason) or OTHER_REASONS(self.rng)
        self._start(when, child_id, team, sw_reason, avoid)

    def _end(self, when: Day, child_id: str, reason: str) -> None:
        allocation = self.current.pop(child_id, None)
        if allocation is None:
            return
        allocation.end, allocation.end_reason = when, reason
        self.cases[allocation.worker_id].pop(child_id, None)

    def _start(self, when: Day, child_id: str, team: str, sw_reason: str, avoid: str = "") -> None:
        worker = self._choose(team, avoid)
        allocation = Allocation(child_id, worker.worker_id, team, when, None, "", sw_reason)
        self.current[child_id] = allocation
        self.out[child_id].append(allocation)
        self.cases[worker.worker_id][child_id] = None
        # Caseload management and absence cover come up more often in stretched teams.
        strain = min(2.0, max(0.5, self.teams[team].turnover / 0.15))
        wait = round(self.rng.expovariate(PARAMS.other_change_per_year * strain) * 365.25)
        if when + wait <= self.horizon:
            self._push(when + max(30, wait), self.OTHER, allocation)

    def _choose(self, team: str, avoid: str) -> Staff:
        """The case holder with the fewest children per FTE (ties broken at random); the team
        manager when nobody is in post; in the worst case any case holder of the service."""
        for pool in (self.active[team], self.managers[team]):
            candidates = [p for p in pool.values() if p.worker_id != avoid]
            if len(candidates) > CHOICE_SAMPLE:
                # The least loaded of a random sample: as even as scanning the whole team in
                # practice, without making large authorities quadratic to generate.
                candidates = self.rng.sample(candidates, CHOICE_SAMPLE)
            if candidates:
                return min(
                    candidates,
                    key=lambda p: len(self.cases[p.worker_id]) / p.fte + self.rng.random() * 2,
                )
        everyone = [p for pool in self.active.values() for p in pool.values()]
        return min(everyone, key=lambda p: len(self.cases[p.worker_id]) / p.fte)


# --- 5. The SSDA903 social-worker episodes --------------------------------------------------------


def _replace_social_workers(children: list[Child], allocations: dict[str, list[Allocation]]):
    """Each period of care's social workers: its allocations, the first from the period's start
    (reason FCONTA), the last to its end (the 903 writer shows it open while looked after)."""
    for child in children:
        mine = allocations.get(child.child_id, [])
        for period in child.care:
            start, end = period.start, period.end
            inside = [
                a
                for a in mine
                if (end is None or a.start < end) and (a.end is None or a.end > start)
            ]
            if not inside:
                continue  # a period entirely after the horizon keeps its placeholder workers
            workers = []
            for i, allocation in enumerate(inside):
                first = max(allocation.start, start)
                last = allocation.end if allocation.end is not None else end
                if end is not None and (last is None or last > end):
                    last = end
                reason = "FCONTA" if i == 0 else allocation.sw_reason
                workers.append(SocialWorker(allocation.worker_id, first, last, reason))
            if end is not None and workers[-1].end is not None and workers[-1].end < end:
                workers[-1].end = end
            period.social_workers = workers


# --- Strategy discussions for the multi-agency meetings file ------------------------------------


def _strategy_discussions(children: list[Child], window) -> list[tuple[Day, int]]:
    found = []
    for child in children:
        for referral in child.referrals:
            for enquiry in referral.section47s:
                if window.start <= enquiry.start <= window.end:
                    found.append((enquiry.start, age_on(child.dob, enquiry.start)))
    return sorted(found)
