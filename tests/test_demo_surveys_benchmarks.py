"""The demo authority's child and parent surveys and its fictional published benchmarks.

One demo (3,000 children, 3 years) is simulated per module, with the real workforce model, and
both writers are run on it. Group comparisons pool the three years, so that each group has
enough invitations for the margins to hold for any seed (checked on seven seeds).
Determinism is checked on a smaller demo, simulated twice.
"""

from __future__ import annotations

import csv
import filecmp
import random
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean
from types import SimpleNamespace

import pytest

from framework.demo import family_surveys as fs
from framework.demo.benchmarks import SN_FILE, write_benchmark_files
from framework.demo.dates import year_end, year_start
from framework.demo.family_surveys import write_family_survey_files
from framework.demo.generator import Window, _assign_ids, _World
from framework.demo.params import DEFAULT_PARAMS
from framework.demo.workforce import build_workforce
from framework.sources.published import read_published

REPO = Path(__file__).resolve().parents[1]
REAL_STATS = Path("/work/shared/reference/csc_la_stats")
CHILDREN, YEARS, END_YEAR, SEED = 3000, 3, 2026, 11
SURVEY_FILES = {
    "child_survey.csv": "child_survey",
    "parent_survey.csv": "parent_survey",
    "survey_invitations_families.csv": "survey_invitations",
}


def _simulate(out: Path, seed: int = SEED, children: int = CHILDREN) -> SimpleNamespace:
    """The lines of generate_demo that build the children and workforce, then our writers."""
    window = Window(END_YEAR - YEARS + 1, END_YEAR)
    world = _World(DEFAULT_PARAMS, window, seed, children)
    kept, candidates = world.simulate(children)
    _assign_ids(kept)
    population = sum(world.demoton.populations(world.population(candidates)))
    workforce = build_workforce(kept, window, seed, world.demoton)
    surveys = write_family_survey_files(out, kept, window, seed, workforce)
    benchmarks = write_benchmark_files(out, kept, window, seed, population)
    return SimpleNamespace(
        out=out,
        children=kept,
        window=window,
        workforce=workforce,
        population=population,
        counts=surveys | benchmarks,
        seed=seed,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> SimpleNamespace:
    return _simulate(tmp_path_factory.mktemp("surveys") / "demoton")


@pytest.fixture(scope="module")
def surveys(demo) -> list[fs.YearSurveys]:
    return fs.simulate_surveys(demo.children, demo.window, demo.seed, demo.workforce)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _template_columns() -> dict[str, list[str]]:
    with (REPO / "framework" / "sources" / "templates.toml").open("rb") as handle:
        definitions = tomllib.load(handle)
    return {t["name"]: [c["name"] for c in t["column"]] for t in definitions["template"]}


# --- files, layout and determinism ---------------------------------------------------------


def test_same_arguments_give_identical_files(tmp_path):
    first = _simulate(tmp_path / "first", seed=5, children=500)
    again = _simulate(tmp_path / "again", seed=5, children=500)
    assert again.counts == first.counts
    for folder in ("local", "benchmarks"):
        names = sorted(p.name for p in (first.out / folder).iterdir())
        assert names == sorted(p.name for p in (again.out / folder).iterdir())
        _, mismatch, errors = filecmp.cmpfiles(
            first.out / folder, again.out / folder, names, shallow=False
        )
        assert not mismatch and not errors


def test_survey_headers_are_the_templates_columns(demo):
    columns = _template_columns()
    for file, template in SURVEY_FILES.items():
        path = demo.out / "local" / file
        with path.open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == columns[template]
        assert b"\r\n" not in path.read_bytes()
        assert demo.counts[file] == len(_rows(path)) > 0


def test_survey_files_read_without_problems(demo):
    templates = pytest.importorskip("framework.sources.templates")
    for file, template in SURVEY_FILES.items():
        result = templates.read_template(demo.out / "local" / file)
        assert result.problems == []
        assert result.counts[template].set_aside == 0


def test_respondents_are_anonymous_and_numbered_within_each_survey(demo):
    for file in ("child_survey.csv", "parent_survey.csv"):
        rows = _rows(demo.out / "local" / file)
        keys = [(r["survey"], r["respondent_id"]) for r in rows]
        assert len(set(keys)) == len(keys)
        assert not any(r["respondent_id"].startswith("DMT") for r in rows)
        for row in rows:  # answered between the January invitation and the end of February
            assert row["response_date"][5:7] in ("01", "02")


def test_files_match_the_simulated_responses(demo, surveys):
    """The written rows are exactly the responses the relationship tests below examine."""
    written = Counter(
        (r["child_group"], r["age_band"], tuple(r[item] for item in fs.CHILD_MEANS))
        for r in _rows(demo.out / "local" / "child_survey.csv")
    )
    simulated = Counter(
        (r.group, r.age_band, tuple(fs._cell(r.answers[item]) for item in fs.CHILD_MEANS))
        for year in surveys
        for r in year.child_responses
    )
    assert written == simulated


# --- who is invited and who answers ----------------------------------------------------------


def _response_rates(demo, audience: str, file: str) -> tuple[Counter, Counter]:
    invited, answered = Counter(), Counter()
    for row in _rows(demo.out / "local" / "survey_invitations_families.csv"):
        if row["audience"] == audience:
            invited[row["segment"]] += int(row["invited"])
    for row in _rows(demo.out / "local" / file):
        answered[row["child_group"]] += 1
    return invited, answered


def test_invitations_count_everyone_eligible_and_cover_every_response(demo, surveys):
    invitations = _rows(demo.out / "local" / "survey_invitations_families.csv")
    assert all(r["team"] == "" and r["year"] for r in invitations)
    invited = {(r["survey"], r["segment"], r["age_band"]): int(r["invited"]) for r in invitations}
    for year in surveys:
        child_name = fs.child_survey_name(year.end_year)
        assert sum(v for k, v in invited.items() if k[0] == child_name) == len(year.child_invitees)
    for file in ("child_survey.csv", "parent_survey.csv"):
        answered = Counter(
            (r["survey"], r["child_group"], r["age_band"]) for r in _rows(demo.out / "local" / file)
        )
        for key, n in answered.items():
            assert n <= invited.get(key, 0), key


def test_groups_and_ages_follow_the_design(demo):
    children = _rows(demo.out / "local" / "child_survey.csv")
    assert {r["age_band"] for r in children} <= {"5-9", "10-15", "16-17", "18+"}
    assert {r["child_group"] for r in children} == {"cin", "cp", "cla", "care_leaver"}
    for row in children:
        assert (row["child_group"] == "care_leaver") == (row["age_band"] == "18+")
        if (
            row["child_group"] != "cla"
        ):  # permanence and contact items only for looked-after children
            assert all(row[item] == "" for item in fs.CHILD_CLA_ITEMS)
    parents = _rows(demo.out / "local" / "parent_survey.csv")
    assert {r["child_group"] for r in parents} == {"cin", "cp", "cla"}
    assert {r["relationship"] for r in parents if r["child_group"] == "cp"} <= {
        "parent",
        "other_family",
    }
    assert Counter(r["relationship"] for r in parents if r["child_group"] == "cla")["carer"] > 0
    for row in parents:
        if row["child_group"] != "cla":
            assert all(row[item] == "" for item in fs.PARENT_CLA_ITEMS)


def test_response_rates_differ_by_group_as_designed(demo, surveys):
    # parents of children on CP plans answer least (designed 12%, children in need 22%)
    invited, answered = _response_rates(demo, "parent", "parent_survey.csv")
    rate = {g: answered[g] / invited[g] for g in invited}
    assert rate["cp"] < rate["cin"] - 0.04 and rate["cp"] < rate["cla"] - 0.04
    assert 0.05 < rate["cp"] < 0.2
    carers = [i for y in surveys for i in y.parent_invitees if i.relationship == "carer"]
    carers_answered = sum(r.relationship == "carer" for y in surveys for r in y.parent_responses)
    assert carers_answered / len(carers) > rate["cin"] + 0.05  # designed 35%
    # looked-after children answer most (designed 45%; others 15-25%)
    invited, answered = _response_rates(demo, "child", "child_survey.csv")
    rate = {g: answered[g] / invited[g] for g in invited}
    assert rate["cla"] > max(rate["cin"], rate["cp"], rate["care_leaver"]) + 0.05
    assert rate["care_leaver"] < 0.25


def _shares(counts: Counter) -> dict[str, float]:
    return {key: n / sum(counts.values()) for key, n in counts.items()}


def test_respondents_mix_differs_from_the_invited_mix(demo, surveys):
    # children: looked-after children answer most (~1.7 times their invited share), children on
    # CP plans and care leavers least
    invited, answered = _response_rates(demo, "child", "child_survey.csv")
    invited_share, answered_share = _shares(invited), _shares(answered)
    assert answered_share["cla"] > 1.25 * invited_share["cla"]
    least = ("cp", "care_leaver")  # each ~0.6 times
    assert sum(answered_share[g] for g in least) < 0.85 * sum(invited_share[g] for g in least)
    # parents: parents of children on CP plans are under-represented (~0.6 times)...
    invited, answered = _response_rates(demo, "parent", "parent_survey.csv")
    assert _shares(answered)["cp"] < 0.85 * _shares(invited)["cp"]
    # ...and among looked-after children's families, carers answer more than parents
    invited = Counter(
        i.relationship for y in surveys for i in y.parent_invitees if i.group == "cla"
    )
    answered = Counter(
        r.relationship == "carer" for y in surveys for r in y.parent_responses if r.group == "cla"
    )
    assert _shares(answered)[True] > 1.1 * _shares(invited)["carer"]


def test_older_teenagers_answer_less(surveys):
    """Responses against those expected from each invitee's group rate alone, by age band."""
    expected, answered = Counter(), Counter()
    for year in surveys:
        for invitee in year.child_invitees:
            if invitee.group != "care_leaver":
                expected[invitee.age_band] += fs.SURVEY_PARAMS.child_response[invitee.group]
        answered.update(r.age_band for r in year.child_responses if r.group != "care_leaver")
    ratio = {band: answered[band] / expected[band] for band in ("10-15", "16-17")}
    assert ratio["16-17"] < ratio["10-15"] - 0.05  # designed: 0.6 against 1.0


# --- answers depend on the child's experience ------------------------------------------------


def _relationship_score(response: fs.Response, items) -> float | None:
    values = [v for item in items if (v := response.answers[item]) is not None]
    return mean(values) if values else None


CHANGE_BANDS = ("none", "one", "two+")


def _scores_by_changes(responses, items) -> dict[str, list[float]]:
    out = defaultdict(list)
    for response in responses:
        score = _relationship_score(response, items)
        if score is not None:
            out[CHANGE_BANDS[min(response.worker_changes, 2)]].append(score)
    return out


def test_children_with_more_worker_changes_rate_the_relationship_lower(demo, surveys):
    responses = [r for year in surveys for r in year.child_responses]
    scores = _scores_by_changes(responses, fs.CHILD_RELATIONSHIP_ITEMS)
    assert len(scores["none"]) >= 40 and len(scores["two+"]) >= 20
    assert mean(scores["none"]) - mean(scores["two+"]) > 0.35
    assert mean(scores["none"]) > mean(scores["one"]) > mean(scores["two+"]) - 0.1
    # ...but not the items that have nothing to do with the worker
    other = _scores_by_changes(responses, ("d2_3_safe_community", "d12_4_activities"))
    assert abs(mean(other["none"]) - mean(other["two+"])) < 0.3


def test_parents_relationship_falls_with_changes(surveys):
    responses = [r for year in surveys for r in year.parent_responses]
    scores = _scores_by_changes(responses, fs.PARENT_RELATIONSHIP_ITEMS)
    assert len(scores["none"]) >= 40 and len(scores["two+"]) >= 15
    assert mean(scores["none"]) - mean(scores["two+"]) > 0.3


def _everyone_answers(invitees, answer) -> dict[str, dict[str, list[int]]]:
    """Answers as if every invitee had responded (too few respondents in some groups of a
    small demo to compare them reliably): group -> item -> answers."""
    rng = random.Random(1)
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for invitee in invitees:
        for item, value in answer(rng, invitee, fs.SURVEY_PARAMS).items():
            if value is not None:
                out[invitee.group][item].append(value)
    return out


def test_looked_after_children_feel_safer_at_home_than_children_on_cp_plans(surveys):
    invitees = [i for year in surveys for i in year.child_invitees]
    answers = _everyone_answers(invitees, fs.child_answers)
    assert len(answers["cp"]["d1_9_safe_home"]) >= 60
    assert mean(answers["cla"]["d1_9_safe_home"]) > mean(answers["cp"]["d1_9_safe_home"]) + 0.15


def test_parents_of_children_on_cp_plans_feel_less_involved(surveys):
    invitees = [i for year in surveys for i in year.parent_invitees]
    answers = _everyone_answers(invitees, fs.parent_answers)
    for item in ("c4_1_needs", "c4_1_support"):
        assert len(answers["cp"][item]) >= 100
        assert mean(answers["cin"][item]) > mean(answers["cp"][item]) + 0.3
    # and the respondents show it too, though there are few CP parents among them
    involvement = defaultdict(list)
    for year in surveys:
        for r in year.parent_responses:
            if (score := _relationship_score(r, ("c4_1_needs", "c4_1_support"))) is not None:
                involvement[r.group].append(score)
    assert mean(involvement["cin"]) > mean(involvement["cp"])


# --- published benchmarks ---------------------------------------------------------------------


def test_benchmark_files_read_without_problems(demo):
    files = sorted((demo.out / "benchmarks").iterdir())
    assert len(files) == len(demo.counts) - len(SURVEY_FILES)
    for path in files:
        result = read_published(path)
        assert result.problems == [], path.name
        table = next(iter(result.tables.values()))
        assert len(table) > 0
        assert demo.counts[path.name] == len(_rows(path))


def _published(demo, file: str):
    result = read_published(demo.out / "benchmarks" / file)
    return result.tables["published_statistics"]


def _value(table, year: int, area: str, measure: str, **breakdown) -> float:
    rows = table[
        (table["time_period"] == str(year))
        & (table["area_code"] == area)
        & (table["measure"] == measure)
    ]
    if breakdown:
        rows = rows[rows["breakdown"].map(lambda b: all(f'"{v}"' in b for v in breakdown.values()))]
    assert len(rows) == 1
    return float(rows["value"].iloc[0])


def test_demoton_benchmarks_are_computed_from_its_children(demo):
    c1 = _published(demo, "c1_children_in_need_referrals_and_rereferrals_demoton.csv")
    cla = _published(demo, "cla_number_and_rate_per_10k_children_demoton.csv")
    for year in demo.window.years:
        start, ref = year_start(year), year_end(year)
        referrals = sum(start <= r.date <= ref for c in demo.children for r in c.referrals)
        looked_after = sum(
            any(p.start <= ref and (p.end is None or p.end > ref) for p in c.care)
            for c in demo.children
        )
        assert _value(c1, year, "X06000999", "referral_count") == referrals
        label = "Children looked after on 31 March each year"
        written = _value(cla, year, "X06000999", "children_count", population_type=label)
        assert written == looked_after
        people = _value(cla, year, "X06000999", "population_estimate", population_type=label)
        assert people == demo.population
        rate = _value(cla, year, "X06000999", "rate_per_10000", population_type=label)
        assert rate == round(10_000 * looked_after / demo.population)
        # the referral rate a reader derives is the demo's own, near England's ~519 per 10,000
        assert 350 < 10_000 * referrals / demo.population < 700


def test_region_is_the_sum_of_its_authorities_and_england_is_near_published(demo):
    c1 = _published(demo, "c1_children_in_need_referrals_and_rereferrals_demoton.csv")
    year = demo.window.last_year
    la_rows = c1[(c1["geographic_level"] == "Local authority") & (c1["time_period"] == str(year))]
    counts = la_rows[la_rows["measure"] == "referral_count"]
    assert len(counts) == 12
    assert _value(c1, year, "X15000001", "referral_count") == counts["value"].sum()
    england = _value(c1, year, "E92000001", "rereferral_percent")
    assert 18 < england < 27
    rates = _value(c1, year, "E92000001", "referral_count") / 12_180_000 * 10_000
    assert 450 < rates < 600


def test_benchmarks_carry_ees_symbols(demo):
    symbols = Counter()
    for path in (demo.out / "benchmarks").iterdir():
        if path.name == SN_FILE:
            continue
        table = _published(demo, path.name)
        symbols.update(table["value_code"].dropna())
    assert symbols["c"] > 0 and symbols["x"] > 0 and symbols["z"] > 0


def test_statistical_neighbours_are_fictional_and_ten_each(demo):
    result = read_published(demo.out / "benchmarks" / SN_FILE)
    table = result.tables["statistical_neighbours"]
    codes = set(table["old_la_code"])
    assert "999" in codes and len(codes) == 12
    assert codes == set(table["neighbour_old_la_code"])
    for code, rows in table.groupby("old_la_code"):
        assert sorted(rows["rank"]) == list(range(1, 11))
        assert code not in set(rows["neighbour_old_la_code"])
    assert result.tables["statistical_neighbours"]["model"].iloc[0] == "2025"


@pytest.mark.skipif(not REAL_STATS.exists(), reason="reference statistics not present")
def test_fictional_codes_and_names_are_not_real(demo):
    real_codes, real_names = set(), set()
    for path in REAL_STATS.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                real_codes.add(row.get("old_la_code") or row.get("LA num") or "")
                real_names.add(row.get("la_name") or row.get("LA Name") or "")
    sn = _rows(demo.out / "benchmarks" / SN_FILE)
    assert not {r["old_la_code"] for r in sn} & real_codes
    assert not {r["la_name"] for r in sn} & real_names
