"""The demo authority's local child-outcome files (framework/demo/child_outcomes.py and
services.py): layout against templates.toml, determinism, realistic levels, and the
relationships the demo is meant to show.

One small demo (2,000 children, 4 years) is simulated per module; the files are read back the
way any user of the templates would read them. Margins are set so that a correct generator
passes for any seed and a generator without the relationship fails.
"""

from __future__ import annotations

import csv
import filecmp
import statistics
import tomllib
from bisect import bisect_left
from collections import Counter, defaultdict
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from framework.demo import write_cin
from framework.demo.child_outcomes import RISKS, write_child_outcome_files
from framework.demo.generator import Window, _assign_ids, _World
from framework.demo.params import DEFAULT_PARAMS

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "framework" / "sources" / "templates.toml"
CHILDREN, YEARS, SEED, END_YEAR = 2000, 4, 11, 2026
FILES = (
    "case_reviews",
    "sdq",
    "health_needs",
    "education_attendance",
    "education_results",
    "case_audits",
    "permanence_plans",
    "commissioned_services",
    "planning_meetings",
    "complaints",
    "finance",
)
RISK_COLUMNS = [risk[0] for risk in RISKS]
NEGLECT_MEASURES = ("clothed", "breakfast", "sleep")


class Demo:
    def __init__(self, out: Path):
        self.window = Window(END_YEAR - YEARS + 1, END_YEAR)
        world = _World(DEFAULT_PARAMS, self.window, SEED, CHILDREN)
        self.children, candidates = world.simulate(CHILDREN)
        _assign_ids(self.children)
        self.population = sum(world.demoton.populations(world.population(candidates)))
        self.demoton = world.demoton
        self.out = out
        self.counts = self.write(out)

    def write(self, out: Path) -> dict[str, int]:
        return write_child_outcome_files(
            out, self.children, self.window, SEED, self.demoton, population=self.population
        )

    def rows(self, name: str) -> list[dict[str, str]]:
        with (self.out / "local" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    return Demo(tmp_path_factory.mktemp("outcomes") / "demoton")


def day(text: str) -> date:
    return date.fromisoformat(text)


def absence(row: dict[str, str]) -> float:
    missed = int(row["sessions_authorised"]) + int(row["sessions_unauthorised"])
    return missed / int(row["sessions_possible"])


# --- layout ---------------------------------------------------------------------------------------


def test_every_file_has_the_template_columns(demo):
    templates = {t["name"]: t for t in tomllib.loads(TEMPLATES.read_text())["template"]}
    for name in FILES:
        expected = [c["name"] for c in templates[name]["column"] if not c.get("derived")]
        with (demo.out / "local" / f"{name}.csv").open(encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == expected, name
        assert demo.counts[f"{name}.csv"] == len(demo.rows(name)) > 0, name


def test_files_load_with_no_problems(demo):
    templates = pytest.importorskip("framework.sources.templates")
    for name in FILES:
        result = templates.read_template(demo.out / "local" / f"{name}.csv", name)
        assert result.problems == [], (name, result.problems[:3])


def test_same_arguments_give_identical_files(demo, tmp_path):
    demo.write(tmp_path)
    for name in FILES:
        assert filecmp.cmp(
            demo.out / "local" / f"{name}.csv", tmp_path / "local" / f"{name}.csv", shallow=False
        ), name


def test_dates_lie_in_the_window(demo):
    start, end = date(END_YEAR - YEARS, 4, 1), date(END_YEAR, 3, 31)
    for name, column in (
        ("case_reviews", "review_date"),
        ("sdq", "sdq_date"),
        ("health_needs", "record_date"),
        ("case_audits", "audit_date"),
        ("planning_meetings", "meeting_date"),
        ("complaints", "received_date"),
        ("commissioned_services", "start_date"),
    ):
        dates = [day(r[column]) for r in demo.rows(name)]
        assert start <= min(dates) and max(dates) <= end, name


# --- case reviews and SDQ -------------------------------------------------------------------------


def reviews_by_child(demo) -> dict[str, list[tuple[date, int, str]]]:
    found = defaultdict(list)
    for row in demo.rows("case_reviews"):
        risks = sum(row[c] == "yes" for c in RISK_COLUMNS)
        found[row["child_id"]].append((day(row["review_date"]), risks, row["plan_type"]))
    for reviews in found.values():
        reviews.sort()
    return found


def test_reviews_at_least_every_six_months(demo):
    gaps = Counter()
    for reviews in reviews_by_child(demo).values():
        by_plan = defaultdict(list)
        for when, _, plan in reviews:
            by_plan[plan].append(when)
        for plan, dates in by_plan.items():
            for a, b in pairwise(dates):
                # CP review conferences come from the simulation (every 6 months, up to two
                # weeks early): allow those two weeks; a new plan can start after a gap.
                limit = 200 if plan == "cp" else 184
                gaps["ok" if (b - a).days <= limit else "long"] += 1
    assert gaps["long"] / (gaps["ok"] + gaps["long"]) < 0.1


def test_risks_fall_for_most_children_and_prevalence_follows_age(demo):
    moves = Counter()
    for reviews in reviews_by_child(demo).values():
        if len(reviews) >= 3 and reviews[0][1] >= 1:
            change = reviews[-1][1] - reviews[0][1]
            moves["fell" if change < 0 else "rose" if change > 0 else "same"] += 1
    assert moves["fell"] > 1.5 * moves["rose"]
    assert moves["rose"] > 0.05 * sum(moves.values())  # some rise
    # Exploitation is a teenage risk: answered "yes" far more often at 11+ than under 11.
    dob = {c.child_id: c.dob for c in demo.children}
    share = defaultdict(Counter)
    for row in demo.rows("case_reviews"):
        age = (day(row["review_date"]).toordinal() - dob[row["child_id"]]) / 365.25
        if row["criminal_exploitation"]:
            share[age >= 11][row["criminal_exploitation"]] += 1
    older = share[True]["yes"] / sum(share[True].values())
    younger = share[False]["yes"] / sum(share[False].values())
    assert older > 3 * younger


def test_sdq_scores_add_up_and_look_like_looked_after_children(demo):
    rows = demo.rows("sdq")
    for row in rows:
        parts = [int(row[k]) for k in ("emotional", "conduct", "hyperactivity", "peer")]
        assert int(row["total"]) == sum(parts) and all(0 <= p <= 10 for p in parts)
    looked_after = {c.child_id for c in demo.children if c.care}
    carers = [int(r["total"]) for r in rows if r["child_id"] in looked_after]
    assert 11.5 < statistics.mean(carers) < 16.5  # OC2: mean ~14
    assert 5.0 < statistics.stdev(carers) < 9.0


def test_children_whose_risks_fall_improve_on_the_sdq(demo):
    """Change in SDQ between a child's first and last questionnaire (same informant), against
    the change in risks at the reviews each questionnaire was completed for."""
    reviews = reviews_by_child(demo)

    def risks_at(child_id: str, when: date) -> int | None:
        found = reviews.get(child_id, [])
        i = bisect_left(found, (when,))
        if i < len(found) and (found[i][0] - when).days <= 21:
            return found[i][1]
        return None

    series = defaultdict(list)
    for row in demo.rows("sdq"):
        series[(row["child_id"], row["informant"])].append(
            (day(row["sdq_date"]), int(row["total"]))
        )
    fell, other = [], []
    for (child_id, _), scores in series.items():
        if len(scores) < 2:
            continue
        scores.sort()
        first, last = risks_at(child_id, scores[0][0]), risks_at(child_id, scores[-1][0])
        if first is None or last is None:
            continue
        (fell if last < first else other).append(scores[-1][1] - scores[0][1])
    assert len(fell) >= 20 and len(other) >= 40
    assert statistics.mean(fell) < statistics.mean(other) - 1.5


# --- health ---------------------------------------------------------------------------------------


def test_mental_health_needs_and_support(demo):
    rows = demo.rows("health_needs")
    looked_after = {c.child_id for c in demo.children if c.care}
    need = Counter(r["mental_health_need"] for r in rows if r["child_id"] in looked_after)
    assert 0.25 < need["yes"] / need.total() < 0.5
    met = defaultdict(Counter)
    for row in rows:
        if row["mental_health_need"] == "no":
            assert row["support"] == row["need_met"] == ""
        else:
            met[row["support"] in ("camhs", "equivalent")][row["need_met"]] += 1
    with_service = met[True]["yes"] / met[True].total()
    without = met[False]["yes"] / met[False].total()
    assert with_service > without + 0.3


# --- education ------------------------------------------------------------------------------------


def test_attendance_is_realistic_for_children_in_need(demo):
    rows = [r for r in demo.rows("education_attendance") if r["sessions_possible"]]
    possible = sum(int(r["sessions_possible"]) for r in rows)
    missed = sum(int(r["sessions_authorised"]) + int(r["sessions_unauthorised"]) for r in rows)
    assert 0.08 < missed / possible < 0.17
    looked_after = {
        c.child_id for c in demo.children if any(p.start <= demo.window.start for p in c.care)
    }
    persistent = defaultdict(Counter)
    for row in rows:
        persistent[row["child_id"] in looked_after][absence(row) >= 0.1] += 1
    cin = persistent[False][True] / persistent[False].total()
    cla = persistent[True][True] / persistent[True].total()
    assert 0.25 < cin < 0.5 and cla < cin - 0.08
    early = [r for r in demo.rows("education_attendance") if r["early_education"]]
    assert early and all(r["sessions_possible"] == "" for r in early)


def test_attendance_is_worse_while_risks_are_high(demo):
    reviews = reviews_by_child(demo)
    starts = {"autumn": (0, 9, 1), "spring": (1, 1, 1), "summer": (1, 4, 1)}
    rates = defaultdict(list)
    for row in demo.rows("education_attendance"):
        if not row["sessions_possible"]:
            continue
        first_year = int(row["academic_year"][:4])
        offset, month, dom = starts[row["term"]]
        start = date(first_year + offset, month, dom)
        in_term = [
            r for when, r, _ in reviews.get(row["child_id"], []) if 0 <= (when - start).days < 100
        ]
        if in_term:
            rates["high" if max(in_term) >= 2 else "none" if max(in_term) == 0 else "one"].append(
                absence(row)
            )
    assert len(rates["high"]) >= 50 and len(rates["none"]) >= 50
    assert statistics.mean(rates["high"]) > statistics.mean(rates["none"]) * 1.25


def test_upns_are_the_ones_the_census_writes(demo):
    written = set()
    for year in demo.window.years:
        for node in write_cin.iter_children(demo.children, year, "auto"):
            identifiers = node[1][0][1]
            written |= {value for tag, value in identifiers if tag == "UPN"}
    for name in ("education_attendance", "education_results"):
        upns = {r["upn"] for r in demo.rows(name) if r["upn"]}
        assert upns and upns <= written, name
        rows = demo.rows(name)
        assert 0.4 < sum(bool(r["upn"]) for r in rows) / len(rows) < 0.95


def test_key_stage_results_sit_below_national(demo):
    rows = demo.rows("education_results")
    ks2 = [r for r in rows if r["key_stage"] == "ks2"]
    ks4 = [r for r in rows if r["key_stage"] == "ks4"]
    assert 96 < statistics.mean(float(r["attainment"]) for r in ks2) < 103  # England ~105
    assert 17 < statistics.mean(float(r["attainment"]) for r in ks4) < 30  # England ~46
    assert -1.6 < statistics.mean(float(r["progress"]) for r in ks4) < -0.8


# --- audits, permanence, services -----------------------------------------------------------------


def test_case_audits_improve_after_the_third_year(demo):
    rows = demo.rows("case_audits")
    assert len({r["audit_id"] for r in rows}) == len(rows)
    improvement = demo.window.first_year + DEFAULT_PARAMS.referrals.improvement_year_index
    good = defaultdict(Counter)
    for row in rows:
        audited = day(row["audit_date"])
        end_year = audited.year + (audited.month >= 4)
        good[end_year >= improvement][row["grade"] in ("outstanding", "good")] += 1
        if row["plan_type"] not in ("cin", "cp"):
            assert row["needs_met_at_home"] == ""
    before = good[False][True] / good[False].total()
    after = good[True][True] / good[True].total()
    assert after > before + 0.1
    drift = Counter(r["drift"] for r in rows)
    assert 0.1 < drift["yes"] / drift.total() < 0.3


def test_permanence_plans_match_how_care_ended(demo):
    ended = {}
    for child in demo.children:
        for period in child.care:
            ended[(child.child_id, period.start)] = period.rec
    expected = {"E11": "adoption", "E12": "adoption", "E41": "child_arrangements"}
    expected |= dict.fromkeys(("E45", "E46", "E47", "E48"), "special_guardianship")
    checked = 0
    for row in demo.rows("permanence_plans"):
        started = day(row["looked_after_date"]).toordinal()
        rec = ended[(row["child_id"], started)]
        assert day(row["plan_date"]) > day(row["looked_after_date"])
        if rec in expected:
            assert row["plan_type"] == expected[rec]
            checked += 1
    assert checked >= 10


def neglect_outcomes(demo) -> dict[str, Counter]:
    by_provider = defaultdict(Counter)
    for row in demo.rows("commissioned_services"):
        if row["service_type"] != "neglect" or not row["end_date"] or not row["clothed_after"]:
            continue
        before = sum(row[f"{m}_before"] == "yes" for m in NEGLECT_MEASURES)
        after = sum(row[f"{m}_after"] == "yes" for m in NEGLECT_MEASURES)
        by_provider[row["provider"]][after > before] += 1
    return by_provider


def test_neglect_services_improve_practical_measures_for_most_not_all(demo):
    total = Counter()
    for counts in neglect_outcomes(demo).values():
        total.update(counts)
    assert total.total() >= 60
    assert 0.5 < total[True] / total.total() < 0.92


def test_providers_differ(demo):
    rates = {
        provider: counts[True] / counts.total()
        for provider, counts in neglect_outcomes(demo).items()
        if counts.total() >= 15
    }
    assert len(rates) >= 2
    assert max(rates.values()) - min(rates.values()) > 0.25


def test_services_record_measures_only_where_providers_opt_in(demo):
    rows = demo.rows("commissioned_services")
    recording = defaultdict(set)
    for row in rows:
        if row["service_type"] == "neglect":
            recording[row["provider"]].add(bool(row["clothed_before"]))
        if row["tool_score_before"]:
            assert row["tool_lower_is_better"] == "yes" and row["tool_name"]
            assert 1 <= float(row["tool_score_before"]) <= 5
        if not row["end_date"]:
            assert row["clothed_after"] == row["tool_score_after"] == ""
    assert {False} in recording.values()  # a provider that records none
    assert any(v == {True} for v in recording.values())
    for row in rows:
        if row["end_date"]:
            days = (day(row["end_date"]) - day(row["start_date"])).days
            assert 85 <= days <= 275  # 3 to 9 months


# --- meetings, complaints, finance ----------------------------------------------------------------


def test_planning_meetings_participation_and_parents(demo):
    rows = demo.rows("planning_meetings")
    attended = defaultdict(Counter)
    dob = {c.child_id: c.dob for c in demo.children}
    for row in rows:
        if row["parent_attended"] == "yes":
            assert row["parent_invited"] == "yes"
        attended[row["meeting_type"]][row["parent_attended"]] += 1
        age = (day(row["meeting_date"]).toordinal() - dob[row["child_id"]]) / 365.25
        if age < 4:
            assert row["child_participation"] == "not_applicable"
    conference = (
        attended["initial_cp_conference"]["yes"] / attended["initial_cp_conference"].total()
    )
    review = attended["cin_review"]["yes"] / attended["cin_review"].total()
    assert 0.7 < conference < 0.9 and 0.5 < review < 0.75
    assert attended["core_group"].total() > attended["cp_review_conference"].total()


def test_complaints(demo):
    rows = demo.rows("complaints")
    assert len({r["complaint_id"] for r in rows}) == len(rows)
    per_year = len(rows) / YEARS * 6000 / CHILDREN
    assert 60 <= per_year <= 120
    outcomes = Counter(r["outcome"] for r in rows)
    assert 0.18 < (outcomes["upheld"] + outcomes["partly_upheld"]) / len(rows) < 0.44
    assert 0.04 < sum(r["repeat"] == "yes" for r in rows) / len(rows) < 0.18


def test_finance_is_sized_for_the_population(demo):
    rows = demo.rows("finance")
    outturn = defaultdict(dict)
    for row in rows:
        if row["basis"] == "outturn":
            outturn[row["year"]][row["category"]] = float(row["spend_gbp"])
    years = sorted(outturn)
    assert len(years) == YEARS
    last = outturn[years[-1]]
    per_child = sum(last.values()) / demo.population
    assert 1000 < per_child < 1700
    assert 0.35 < last["looked_after"] / sum(last.values()) < 0.65
    assert sum(outturn[years[-1]].values()) > sum(outturn[years[0]].values())
    budget = [r for r in rows if r["basis"] == "budget"]
    assert {r["year"] for r in budget} == {years[-1]} and len(budget) == 5
