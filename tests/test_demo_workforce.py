"""The demo authority's workforce: staff, allocations, the SSDA903 social-worker episodes that
follow from them, and the workforce files (templates and CSWW XML).

One small demo (4,000 children, 5 years) is simulated per module; the relationships asked of
the model are checked with margins a correct model meets for any seed.
"""

from __future__ import annotations

import csv
import filecmp
import tomllib
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from framework.demo import write_ssda903
from framework.demo.dates import day, uk
from framework.demo.generator import Window, _assign_ids, _World
from framework.demo.params import DEFAULT_PARAMS
from framework.demo.workforce import END_REASONS, build_workforce
from framework.demo.write_workforce import SURVEY_ITEMS, write_workforce_files
from framework.sources.csww import read_csww
from framework.sources.ssda903 import read_ssda903

REPO = Path(__file__).resolve().parents[1]
CHILDREN, YEARS, SEED, END_YEAR = 4000, 5, 31, 2026
LOCAL_FILES = {
    "workforce_staff": "workforce_staff.csv",
    "workforce_posts": "workforce_posts.csv",
    "caseloads": "caseloads.csv",
    "worker_allocations": "worker_allocations.csv",
    "staff_survey": "staff_survey.csv",
    "survey_invitations": "survey_invitations.csv",
    "organisation_facts": "organisation_facts.csv",
    "multi_agency_meetings": "multi_agency_meetings.csv",
}


def simulate(children: int, years: int, seed: int, end_year: int):
    """The simulation part of generate_demo: kept children with their ids."""
    window = Window(end_year - years + 1, end_year)
    world = _World(DEFAULT_PARAMS, window, seed, children)
    kept, _ = world.simulate(children)
    _assign_ids(kept)
    return kept, window, world.demoton


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    kept, window, demoton = simulate(CHILDREN, YEARS, SEED, END_YEAR)
    workforce = build_workforce(kept, window, SEED, demoton)
    out = tmp_path_factory.mktemp("workforce")
    counts = write_workforce_files(out, workforce, window, SEED)
    return kept, window, workforce, out, counts


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def high_and_low(workforce):
    locality = [t for t in workforce.teams if t.kind == "locality"]
    high = {t.name for t in locality if t.turnover >= 0.2}
    low = {t.name for t in locality if t.turnover < 0.2}
    assert high and low
    return high, low


# --- determinism and layout ---------------------------------------------------------------------


def test_same_arguments_give_identical_files(demo, tmp_path):
    _, window, _, out, counts = demo
    kept, window, demoton = simulate(CHILDREN, YEARS, SEED, END_YEAR)
    again = build_workforce(kept, window, SEED, demoton)
    assert write_workforce_files(tmp_path, again, window, SEED) == counts
    for name in counts:
        assert filecmp.cmp(out / name, tmp_path / name, shallow=False), name


def test_every_local_file_has_its_template_header_and_loads_cleanly(demo):
    *_, out, counts = demo
    toml = tomllib.loads((REPO / "framework/sources/templates.toml").read_text("utf-8"))
    columns = {t["name"]: [c["name"] for c in t["column"]] for t in toml["template"]}
    for template, name in LOCAL_FILES.items():
        path = out / "local" / name
        with path.open(encoding="utf-8") as handle:
            header = handle.readline().rstrip("\n").split(",")
        assert header == columns[template], name
        assert counts[f"local/{name}"] > 0, name
    try:
        from framework.sources.templates import read_template
    except ImportError:  # the generic reader is not there yet
        return
    for name in LOCAL_FILES.values():
        result = read_template(out / "local" / name)
        assert not result.problems, [p.message() for p in result.problems[:5]]


def test_csww_returns_load_without_problems(demo):
    *_, out, _ = demo
    files = sorted(out.glob("20*/csww_*.xml"))
    # 30 September 2021..2025 fall in the window 2021-22..2025-26
    assert [f.name for f in files] == [f"csww_{y}.xml" for y in range(2021, 2026)]
    for path in files:
        assert path.parent.name == f"{path.stem[-4:]}-{int(path.stem[-2:]) + 1:02d}"
        result = read_csww(path)
        assert result.problems == [], [p.message() for p in result.problems[:5]]
        workers = result.tables["workforce_workers"]
        assert len(workers) == result.counts["workforce_workers"].read > 20
        assert len(result.tables["workforce_vacancies"]) == 1


# --- the workforce ------------------------------------------------------------------------------


def test_worker_ids_and_allocations_are_well_formed(demo):
    _, _, workforce, *_ = demo
    teams = {t.name for t in workforce.teams}
    for person in workforce.staff:
        prefix, digits = person.worker_id[:2], person.worker_id[2:]
        assert prefix in ("SW", "HR") and digits.isdigit()
        assert len(digits) == (10 if prefix == "SW" else 5)
        assert (prefix == "SW") == person.qualified
    for child_id, allocations in workforce.allocations.items():
        for before, after in pairwise(allocations):
            assert before.end is not None and before.end <= after.start, child_id
        for a in allocations:
            assert a.team in teams and a.end_reason in (*END_REASONS, "")
            assert (a.end is None) == (a.end_reason == "")
            assert a.end is None or a.start <= a.end


def test_rates_are_plausible_for_an_english_authority(demo):
    """CSWW 2024 England: turnover 13.9%, agency 16.2%, vacancy 17.3%, caseload 15.4, 8.3
    days' sickness per FTE. A small authority varies a lot, so the ranges are wide."""
    *_, out, _ = demo
    turnover, agency, vacancy, caseload, sickness = [], [], [], [], []
    for path in sorted(out.glob("20*/csww_*.xml")):
        result = read_csww(path)
        w, v = result.tables["workforce_workers"], result.tables["workforce_vacancies"]
        employed = w[~w["agency_worker"].astype(bool)]
        in_post = employed[employed["fte_30_september"].notna()]
        agents = w[w["agency_worker"].astype(bool)]
        holders = w[(w["org_role"] == "5") & w["cases_30_september"].notna()]
        turnover.append(employed[employed["role_end_date"].notna()]["fte"].sum())
        turnover[-1] /= in_post["fte"].sum()
        agency.append(agents["fte"].sum() / (agents["fte"].sum() + in_post["fte"].sum()))
        vacancy.append(v["vacancies_fte"][0] / (v["vacancies_fte"][0] + in_post["fte"].sum()))
        caseload.append(holders["cases_30_september"].sum() / holders["fte_30_september"].sum())
        sickness.append(employed["working_days_lost"].sum() / employed["fte"].sum())
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    assert 0.08 <= mean(turnover) <= 0.28
    assert 0.04 <= mean(agency) <= 0.30
    assert 0.08 <= mean(vacancy) <= 0.30
    assert 10 <= mean(caseload) <= 22
    assert 4 <= mean(sickness) <= 15


def test_children_in_high_turnover_teams_have_more_changes_of_worker(demo):
    _, window, workforce, *_ = demo
    high, low = high_and_low(workforce)
    changes, years = defaultdict(float), defaultdict(float)
    for child_id, allocations in workforce.allocations.items():
        for a in allocations:
            start, end = max(a.start, window.start), min(a.end or window.end, window.end)
            group = "high" if a.team in high else "low" if a.team in low else None
            if group is None or end <= start:
                continue
            years[group] += (end - start) / 365.25
            if a.end is not None and a.end_reason in ("worker_left", "worker_moved", "other"):
                changes[group] += workforce.worker_changes(child_id, a.end, a.end) > 0
    assert years["high"] > 150 and years["low"] > 150
    high_rate, low_rate = changes["high"] / years["high"], changes["low"] / years["low"]
    assert high_rate > 1.6 * low_rate, (high_rate, low_rate)


def test_worker_changes_and_team_of(demo):
    _, _, workforce, *_ = demo
    child_id, allocations = next(
        (c, a) for c, a in workforce.allocations.items() if len(a) >= 3 and a[1].start > 0
    )
    first, second = allocations[0], allocations[1]
    assert workforce.team_of(child_id, first.start) == first.team
    assert workforce.team_of(child_id, second.start) == second.team
    assert workforce.team_of(child_id, first.start - 1) is None
    expected = sum(
        b.worker_id != a.worker_id and a.end_reason != "case_closed"
        for a, b in pairwise(allocations)
    )
    assert workforce.worker_changes(child_id, 0, 10**7) == expected
    assert workforce.worker_changes(child_id, 0, first.start) == 0
    turnover = {t.name: t.turnover for t in workforce.teams}
    assert all(workforce.team_turnover(name) == value for name, value in turnover.items())


def test_staff_in_stretched_teams_agree_less_with_workload_and_feeling_valued(demo):
    *_, workforce, out, _ = demo
    high, low = high_and_low(workforce)
    rows = read_rows(out / "local" / "staff_survey.csv")
    items = ("a8_5_workload", "a8_2_valued", "a8_3_supervision", "a8_1a_time_with_children")
    gaps = []
    for item in items:
        scores = defaultdict(list)
        for row in rows:
            if row[item]:
                group = "high" if row["team"] in high else "low" if row["team"] in low else ""
                scores[group].append(int(row[item]))
        assert len(scores["high"]) >= 25 and len(scores["low"]) >= 25, item
        mean = {g: sum(v) / len(v) for g, v in scores.items()}
        assert mean["high"] < mean["low"], (item, mean)
        gaps.append(mean["low"] - mean["high"])
    assert sum(gaps) / len(gaps) > 0.4, gaps
    assert set(SURVEY_ITEMS) <= set(rows[0])


def test_survey_response_rate_and_dates(demo):
    *_, out, _ = demo
    invited = defaultdict(int)
    for row in read_rows(out / "local" / "survey_invitations.csv"):
        assert row["audience"] == "staff" and row["age_band"] == ""
        invited[row["survey"]] += int(row["invited"])
    answered = defaultdict(int)
    for row in read_rows(out / "local" / "staff_survey.csv"):
        answered[row["survey"]] += 1
        assert row["response_date"][5:7] in ("10", "11")
    for survey, count in invited.items():
        assert 0.45 <= answered[survey] / count <= 0.75, survey


def test_organisation_facts_and_meetings(demo):
    _, _, workforce, out, _ = demo
    facts = read_rows(out / "local" / "organisation_facts.csv")
    assert [f["practice_framework"] for f in facts] == ["no", "no", "yes", "yes", "yes"]
    assert [f["values_describe_operation"] for f in facts] == ["no", "yes", "yes", "yes", "yes"]
    meetings = read_rows(out / "local" / "multi_agency_meetings.csv")
    strategy = [m for m in meetings if m["meeting_type"] == "Strategy discussion"]
    assert len(strategy) == len(workforce.strategy_discussions) > 100
    share = defaultdict(list)
    for meeting in strategy:
        attended = set(meeting["agencies_attended"].split(";"))
        for agency in meeting["agencies_expected"].split(";"):
            share[agency].append(agency in attended)
    rate = {agency: sum(v) / len(v) for agency, v in share.items()}
    assert rate["police"] > rate["health_provider"] + 0.1
    assert rate["police"] > rate["education"] + 0.1
    assert any(m["level"] == "strategic" for m in meetings)


# --- consistency with the SSDA903 return ---------------------------------------------------------


def test_ssda903_social_worker_episodes_are_the_looked_after_allocations(demo, tmp_path):
    kept, window, workforce, *_ = demo
    allocated = {
        (a.child_id, a.worker_id, uk(a.start))
        for allocations in workforce.allocations.values()
        for a in allocations
        if a.team == "Children in Care"
    }
    for year in window.years:
        rows = write_ssda903.build_tables(kept, year, SEED)
        if year < write_ssda903.SW_EPISODES_FROM:
            continue
        episodes = rows["sw_episodes"]
        assert episodes
        by_child = defaultdict(list)
        for child, _dob, worker, start, end, reason in episodes:
            assert worker.startswith("SW") and len(worker) == 12
            assert reason in (
                "FCONTA",
                "LEFTRL",
                "TSPROC",
                "MANAGE",
                "ABSENC",
                "CHCHAN",
                "PCCHAN",
                "OTHERS",
            )
            by_child[child].append((start, end, worker))
        in_allocations = 0
        for child, spells in by_child.items():
            spells.sort(key=lambda s: tuple(reversed(s[0].split("/"))))
            for (_, end, _), (start, _, _) in pairwise(spells):
                assert end and _day(end) <= _day(start), child  # no overlaps
            assert spells[-1][1] == ""  # looked after at 31 March: the last is open
            in_allocations += sum((child, w, s) in allocated for s, _, w in spells)
        assert in_allocations >= 0.95 * len(episodes)
        folder = tmp_path / str(year)
        write_ssda903.write_tables(folder, rows)
        result = read_ssda903(sorted(folder.glob("*.csv")))
        assert result.fatal is None
        assert not [p for p in result.problems if p.severity == "error"], [
            p.message() for p in result.problems[:5]
        ]


def test_looked_after_children_see_realistic_numbers_of_social_workers(demo):
    """la_cla_swcount 2024: 27% of children looked after at 31 March had 3 or more social
    workers in the year (the demo's children-in-care team is steadier than most: ~10-20%)."""
    kept, *_ = demo
    shares = []
    for year in (2024, 2025, 2026):
        workers = defaultdict(set)
        for child, _dob, worker, *_ in write_ssda903.build_tables(kept, year, SEED)["sw_episodes"]:
            workers[child].add(worker)
        shares.append(sum(len(w) >= 3 for w in workers.values()) / len(workers))
    assert 0.04 <= sum(shares) / len(shares) <= 0.45, shares


def _day(text: str) -> int:
    d, m, y = (int(part) for part in text.split("/"))
    return day(y, m, d)
