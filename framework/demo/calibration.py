"""Measure a generated demo authority from its files, to compare with England's figures.

Reads only what ``generate_demo`` wrote (the XML, the CSVs, the reference geography), so the
numbers are those any reader of the returns would get. Used by the tests and to report how
close the demo is to the published national rates (``params.ENGLAND``).
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path


@dataclass
class Referral:
    child: str
    date: date
    nfa: bool
    closure_reason: str


@dataclass
class YearMeasures:
    referrals: int = 0
    nfa: int = 0
    rc8: int = 0
    rereferrals: int = 0
    cin_at_31_march: int = 0
    cp_at_31_march: int = 0
    cp_started: int = 0
    cp_subsequent: int = 0
    s47_started: int = 0
    looked_after_at_31_march: int = 0
    started_care: int = 0
    three_placements: int = 0
    care_leavers: int = 0
    care_leavers_eet: int = 0
    care_leavers_suitable: int = 0
    care_leaver_rows: int = 0
    care_leavers_in_touch: int = 0
    referrals_by_decile: dict[int, int] = field(default_factory=dict)


def _iso(text: str) -> date:
    return date.fromisoformat(text)


def _uk(text: str) -> date:
    dom, month, year = text.split("/")
    return date(int(year), int(month), int(dom))


def read_areas(out_dir: Path) -> tuple[dict[str, int], dict[str, int], int]:
    """Postcode -> IMD decile; decile -> children aged 0-17; total children."""
    deciles, population = {}, defaultdict(int)
    with (out_dir / "reference" / "demoton_areas.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            deciles[row["area_code"]] = int(row["imd_decile"])
            population[int(row["imd_decile"])] += int(row["children_0_17"])
    by_postcode = {}
    with (out_dir / "reference" / "demoton_postcodes.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_postcode[row["postcode"]] = deciles[row["area_code"]]
    return by_postcode, dict(population), sum(population.values())


def read_addresses(out_dir: Path) -> dict[str, list[tuple[date, str]]]:
    addresses = defaultdict(list)
    with (out_dir / "addresses" / "child_addresses.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            addresses[row["child_id"]].append((_iso(row["from_date"]), row["postcode"]))
    return addresses


def cin_referrals(path: Path) -> list[Referral]:
    """Every CINdetails block in a census file."""
    out = []
    for child in ET.parse(path).getroot().iter("Child"):
        child_id = child.findtext("ChildIdentifiers/LAchildID")
        for details in child.findall("CINdetails"):
            out.append(
                Referral(
                    child=child_id,
                    date=_iso(details.findtext("CINreferralDate")),
                    nfa=details.findtext("ReferralNFA") in ("true", "1"),
                    closure_reason=details.findtext("ReasonForClosure") or "",
                )
            )
    return out


def measure(out_dir: Path) -> dict[int, YearMeasures]:
    """Per collection end year: the counts behind the headline rates."""
    out_dir = Path(out_dir)
    by_postcode, _, _ = read_areas(out_dir)
    addresses = read_addresses(out_dir)
    years = sorted(int(p.name[:4]) + 1 for p in out_dir.glob("20??-??") if p.is_dir())
    history: dict[str, set[date]] = defaultdict(set)
    for year in years:
        for referral in cin_referrals(_cin_path(out_dir, year)):
            history[referral.child].add(referral.date)
    results = {}
    for year in years:
        results[year] = _measure_year(out_dir, year, history, addresses, by_postcode)
    return results


def _cin_path(out_dir: Path, year: int) -> Path:
    return out_dir / f"{year - 1}-{str(year)[-2:]}" / f"cin_census_{year}.xml"


def _measure_year(out_dir, year, history, addresses, by_postcode) -> YearMeasures:
    start, ref = date(year - 1, 4, 1), date(year, 3, 31)
    m = YearMeasures()
    decile_counts: dict[int, int] = defaultdict(int)
    root = ET.parse(_cin_path(out_dir, year)).getroot()
    for child in root.iter("Child"):
        child_id = child.findtext("ChildIdentifiers/LAchildID")
        for details in child.findall("CINdetails"):
            referred = _iso(details.findtext("CINreferralDate"))
            if details.findtext("CINclosureDate") is None:
                m.cin_at_31_march += 1
            for plan in details.findall("ChildProtectionPlans"):
                begun = _iso(plan.findtext("CPPstartDate"))
                if plan.findtext("CPPendDate") is None:
                    m.cp_at_31_march += 1
                if start <= begun <= ref:
                    m.cp_started += 1
                    m.cp_subsequent += int(plan.findtext("NumberOfPreviousCPP")) >= 1
            for enquiry in details.findall("Section47"):
                if start <= _iso(enquiry.findtext("S47ActualStartDate")) <= ref:
                    m.s47_started += 1
            if not start <= referred <= ref:
                continue
            m.referrals += 1
            m.nfa += details.findtext("ReferralNFA") in ("true", "1")
            m.rc8 += details.findtext("ReasonForClosure") == "RC8"
            earlier = [
                d for d in history[child_id] if referred - timedelta(days=365) <= d < referred
            ]
            m.rereferrals += bool(earlier)
            postcode = _postcode_on(addresses.get(child_id, []), referred)
            if postcode in by_postcode:
                decile_counts[by_postcode[postcode]] += 1
    m.referrals_by_decile = dict(decile_counts)
    _measure_903(out_dir, year, m)
    return m


def _postcode_on(rows: list[tuple[date, str]], when: date) -> str:
    found = ""
    for since, postcode in sorted(rows):
        if since <= when:
            found = postcode
    return found


def _measure_903(out_dir: Path, year: int, m: YearMeasures) -> None:
    folder = out_dir / f"{year - 1}-{str(year)[-2:]}" / "ssda903"
    start = date(year - 1, 4, 1)
    placements = defaultdict(int)  # placements held during the year (first row counts one)
    open_children = set()
    with (folder / "episodes.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["DEC"]:
                open_children.add(row["CHILD"])
            if row["RNE"] == "S" and _uk(row["DECOM"]) >= start:
                m.started_care += 1
            new_placement = row["RNE"] in ("S", "P", "B", "T", "U")
            if row["CHILD"] not in placements or (new_placement and row["PLACE"][0] != "T"):
                placements[row["CHILD"]] += 1
    m.looked_after_at_31_march = len(open_children)
    m.three_placements = sum(1 for c in open_children if placements[c] >= 3)
    with (folder / "oc3.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            m.care_leaver_rows += 1
            m.care_leavers_in_touch += row["IN_TOUCH"] == "YES"
            if row["IN_TOUCH"] in ("DIED", "RHOM"):
                continue
            m.care_leavers += 1
            m.care_leavers_eet += row["ACTIV"] in ("F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5")
            m.care_leavers_suitable += row["ACCOM"].endswith("1")


def headline(out_dir: Path, year: int | None = None) -> dict[str, float]:
    """The rates in ``params.ENGLAND`` for one year (the last by default)."""
    results = measure(out_dir)
    year = year or max(results)
    m = results[year]
    _, _, population = read_areas(Path(out_dir))
    per10k = 10_000 / population

    def pct(part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else float("nan")

    return {
        "referrals per 10k": round(m.referrals * per10k, 1),
        "children in need at 31 March per 10k": round(m.cin_at_31_march * per10k, 1),
        "CP plans at 31 March per 10k": round(m.cp_at_31_march * per10k, 1),
        "looked after at 31 March per 10k": round(m.looked_after_at_31_march * per10k, 1),
        "NFA % of referrals": pct(m.nfa, m.referrals),
        "re-referrals within 12 months %": pct(m.rereferrals, m.referrals),
        "second or subsequent CP plans %": pct(m.cp_subsequent, m.cp_started),
        "care leavers 17-21 in EET %": pct(m.care_leavers_eet, m.care_leavers),
        "care leavers in suitable accommodation %": pct(m.care_leavers_suitable, m.care_leavers),
        "assessed not in need (RC8) % of referrals": pct(m.rc8, m.referrals),
        "S47 enquiries per 10k": round(m.s47_started * per10k, 1),
        "CP plans started per 10k": round(m.cp_started * per10k, 1),
        "started to be looked after per 10k": round(m.started_care * per10k, 1),
        "care leavers in touch %": pct(m.care_leavers_in_touch, m.care_leaver_rows),
    }
