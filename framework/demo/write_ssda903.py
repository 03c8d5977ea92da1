"""The SSDA903 CSV files for one year, as the authority would have submitted them that year.

Tables and column order follow data-formats.md section 2.2; dates are DD/MM/YYYY. Episodes
are those of children looked after at any time in the year (including episodes that began
earlier). Each year uses its own codes: SEX 1/2 up to 2023-24 and M/F from 2024-25; Z1 and H5
placements still open in 2025-26 are shown with their 2025-26 codes (Z11-Z14, K3).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from framework.demo.dates import age_on, birthday, uk, year_end, year_start
from framework.demo.model import CarePeriod, Child, Episode

COLUMNS = {
    "header": ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
    "episodes": [
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ],
    "reviews": ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
    "uasc": ["CHILD", "SEX", "DOB", "DUC"],
    "oc2": [
        "CHILD",
        "DOB",
        "SDQ_SCORE",
        "SDQ_REASON",
        "CONVICTED",
        "HEALTH_CHECK",
        "IMMUNISATIONS",
        "TEETH_CHECK",
        "HEALTH_ASSESSMENT",
        "SUBSTANCE_MISUSE",
        "INTERVENTION_RECEIVED",
        "INTERVENTION_OFFERED",
    ],
    "oc3": ["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"],
    "missing": ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"],
    "previous_permanence": ["CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"],
    "sw_episodes": ["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
    "ad1": [
        "CHILD",
        "DOB",
        "DATE_INT",
        "DATE_MATCH",
        "FOSTER_CARE",
        "NB_ADOPTR",
        "SEX_ADOPTR",
        "LS_ADOPTR",
    ],
    "placed_for_adoption": [
        "CHILD",
        "DOB",
        "DATE_PLACED",
        "DATE_PLACED_CEASED",
        "REASON_PLACED_CEASED",
    ],
}
SW_EPISODES_FROM = 2024  # social-worker episodes are collected from 2023-24
Rows = dict[str, list[list[str]]]


def tables_for_year(end_year: int) -> list[str]:
    return [t for t in COLUMNS if t != "sw_episodes" or end_year >= SW_EPISODES_FROM]


class YearView:
    """What year Y's return shows: ends recorded by 31 March, the year's codes."""

    def __init__(self, end_year: int, seed: int):
        self.year = end_year
        self.start, self.ref = year_start(end_year), year_end(end_year)
        self.seed = seed

    def shown_end(self, period: CarePeriod, episode: Episode) -> int | None:
        end = episode.end
        if end is None or end > self.ref:
            return None
        late = period.end_recorded is not None and period.end_recorded > self.ref
        if late and episode is period.episodes[-1]:
            return None
        return end

    def episodes(self, period: CarePeriod) -> list[tuple[Episode, int | None]]:
        shown = []
        for episode in period.episodes:
            if episode.start > self.ref:
                break
            end = self.shown_end(period, episode)
            recorded_late_into_year = (
                episode is period.episodes[-1]
                and period.end_recorded is not None
                and self.start <= period.end_recorded <= self.ref
                and episode.end is not None
                and episode.end >= self.start - 366
            )
            if end is None or end >= self.start or recorded_late_into_year:
                shown.append((episode, end))
        return shown

    def looked_after_at_end(self, period: CarePeriod) -> bool:
        return period.start <= self.ref and self.shown_end(period, period.episodes[-1]) is None

    def sex(self, child: Child) -> str:
        if self.year >= 2025:
            return child.sex
        return {"M": "1", "F": "2"}.get(child.sex, "1")

    def place(self, episode: Episode) -> str:
        # Z1 was split into Z11-Z14 in 2025-26: an open Z1 placement is shown with its new
        # code (the DfE validator treats the change as continuity). H5 placements are moved
        # to K3 during 2024-25 by the simulator, so none is open in 2025-26.
        if self.year >= 2026 and episode.place == "Z1":
            return episode.z_subtype
        return episode.place


def build_tables(children: list[Child], end_year: int, seed: int) -> Rows:
    view = YearView(end_year, seed)
    rows: Rows = {name: [] for name in tables_for_year(end_year)}
    for child in children:
        _child_rows(child, view, rows)
    return rows


def _child_rows(child: Child, view: YearView, rows: Rows) -> None:
    cid, dob = child.child_id, uk(child.dob)
    shown_periods = []
    for period in child.care:
        episodes = view.episodes(period)
        if episodes:
            shown_periods.append((period, episodes))
    leaver = [s for s in child.leaver if _birthday_in(child, s.age, view)]
    if not shown_periods and not leaver:
        return
    # Looked after during the year (not only a late-recorded exit from last year): UASC is
    # collected for these children, not for care leavers; MOTHER too, and for a girl whose
    # only episode is a late correction unless she is in this year's care leaver cohort.
    in_year = any(end is None or end >= view.start for _, eps in shown_periods for _, end in eps)
    mother_asked = in_year or (bool(shown_periods) and not leaver)
    rows["header"].append(_header_row(child, view, looked_after=mother_asked))
    if child.unaccompanied and in_year:
        rows["uasc"].append([cid, view.sex(child), dob, uk(child.duc)])
    for period, episodes in shown_periods:
        for episode, end in episodes:
            rows["episodes"].append(_episode_row(cid, episode, end, view))
        _period_rows(child, period, view, rows)
    for status in leaver:
        rows["oc3"].append([cid, dob, status.in_touch, status.activity, status.accommodation])
    if _continuously_looked_after(child, view):
        rows["oc2"].append(_oc2_row(child, view))


def _birthday_in(child: Child, age: int, view: YearView) -> bool:
    return view.start <= birthday(child.dob, age) <= view.ref


def _header_row(child: Child, view: YearView, looked_after: bool) -> list[str]:
    age = age_on(child.dob, view.ref)
    # UN2: never at school in England (unaccompanied); UN1: not yet of school age
    upn = "UN2" if child.unaccompanied else (child.upn if age >= 5 else "UN1")
    mother = mc_dob = ""
    if child.sex == "F" and looked_after:  # MOTHER: every girl looked after in the year
        is_mother = child.mother is not None and child.mother <= view.ref
        mother = "1" if is_mother else "0"
        mc_dob = uk(child.mother) if is_mother else ""
    return [child.child_id, view.sex(child), uk(child.dob), child.ethnicity, upn, mother, mc_dob]


def _episode_row(cid: str, episode: Episode, end: int | None, view: YearView) -> list[str]:
    closed = end is not None
    return [
        cid,
        uk(episode.start),
        episode.rne,
        episode.legal_status,
        episode.need,
        view.place(episode),
        episode.provider,
        uk(end) if closed else "",
        episode.rec if closed else "",
        episode.reason_change if closed else "",
        episode.home_post,
        episode.pl_post,
        episode.urn,
    ]


def _period_rows(child: Child, period: CarePeriod, view: YearView, rows: Rows) -> None:
    cid, dob = child.child_id, uk(child.dob)
    start, ref = view.start, view.ref
    for when, code in period.reviews:
        if start <= when <= ref:
            rows["reviews"].append([cid, dob, uk(when), code])
    for spell in period.missing:
        if spell.start <= ref and (spell.end is None or spell.end >= start):
            end = uk(spell.end) if spell.end is not None and spell.end <= ref else ""
            rows["missing"].append([cid, dob, spell.kind, uk(spell.start), end])
    first_start = next((p.start for p in child.care if p.start >= start), None)
    if start <= period.start <= ref and period.start == first_start:
        # one row per child: the first period of care that began in the year
        prev, la, when = period.previous_permanence
        rows["previous_permanence"].append([cid, dob, prev, la, when])
    adoption = period.adoption
    if (
        adoption
        and adoption.decision <= ref
        and (adoption.ceased is None or adoption.ceased >= start)
    ):
        ceased = adoption.ceased is not None and adoption.ceased <= ref
        rows["placed_for_adoption"].append(
            [
                cid,
                dob,
                uk(adoption.decision),
                uk(adoption.ceased) if ceased else "",
                adoption.ceased_reason if ceased else "",
            ]
        )
    last_end = view.shown_end(period, period.episodes[-1])
    if adoption and period.rec in ("E11", "E12") and last_end is not None and last_end >= start:
        rows["ad1"].append(
            [
                cid,
                dob,
                uk(adoption.decision),
                uk(adoption.matched or adoption.decision),
                "1" if adoption.foster_carer else "0",
                str(adoption.adopters),
                adoption.adopters_sex,
                adoption.adopters_status,
            ]
        )
    if "sw_episodes" in rows and view.looked_after_at_end(period):
        # The child is looked after on 31 March, so the latest allocation is still open.
        last = period.social_workers[-1]
        for worker in period.social_workers:
            if worker.start > ref or (worker.end is not None and worker.end < start):
                continue
            open_now = worker is last or worker.end is None or worker.end > ref
            end = "" if open_now else uk(worker.end)
            rows["sw_episodes"].append(
                [cid, dob, worker.worker, uk(worker.start), end, worker.reason]
            )


def _continuously_looked_after(child: Child, view: YearView) -> bool:
    """Looked after for 12 months or more at 31 March (OC2): a period that began by 1 April
    and had not ended before 31 March (the DfE validator's definition)."""
    for period in child.care:
        end = view.shown_end(period, period.episodes[-1])
        if period.start <= view.start and (end is None or end >= view.ref):
            return True
    return False


def _oc2_row(child: Child, view: YearView) -> list[str]:
    rng = random.Random(f"demoton:{view.seed}:oc2:{child.key}:{view.year}")
    age = age_on(child.dob, view.ref)
    # A score for ages 4-16, else a reason (data-formats 2.2: SDQ1 = under 4 or over 16).
    score = reason = ""
    if 4 <= age <= 16 and rng.random() < 0.76:
        score = str(min(40, max(0, round(rng.gauss(14.0, 7.0)))))
    elif 4 <= age <= 16:
        refused = age >= 11 and rng.random() < 0.35
        reason = "SDQ5" if refused else ("SDQ2" if rng.random() < 0.3 else "SDQ4")
    else:
        reason = "SDQ1"

    def flag(p: float) -> str:
        return "1" if rng.random() < p else "0"

    convicted = flag(0.03) if age >= 10 else ""
    health_check = flag(0.88) if age < 5 else ""
    misuse = flag(0.05) if age >= 10 else "0"
    received = flag(0.6) if misuse == "1" else ""
    offered = flag(0.7) if received == "0" else ""
    return [
        child.child_id,
        uk(child.dob),
        score,
        reason,
        convicted,
        health_check,
        flag(0.82),
        flag(0.76),
        flag(0.89),
        misuse,
        received,
        offered,
    ]


def write_tables(folder: Path, rows: Rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in rows.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(COLUMNS[name])
            out.writerows(table)
