"""The aggregator, statistics and periods: worked examples by hand, and properties."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.engine import statistics as stats
from framework.engine.aggregate import RESULT_COLUMNS, Query, evaluate
from framework.engine.periods import Period
from framework.engine.units import MEASURES, UnitContractError, conform, measure
from tests.engine_store import add_rows, tiny_store

# --- periods --------------------------------------------------------------------------------


def test_periods_parse_and_step_back():
    year = Period.parse("2024-25")
    assert (str(year.start), str(year.end)) == ("2024-04-01", "2025-03-31")
    assert year.previous().label == "2023-24"
    assert year.last_six_months().label == "2024-25H2"
    assert str(Period.parse("2024-25H2").start) == "2024-10-01"
    assert Period.parse("2024-25H1").previous().label == "2023-24H2"
    assert Period.parse("2024-25H2").previous().label == "2024-25H1"
    assert Period.parse("2025") == year
    with pytest.raises(ValueError, match="not a period"):
        Period.parse("2024-26")


# --- statistics (values worked out by hand from the formulas) ----------------------------------


def test_wilson_interval_for_five_of_ten():
    low, high = stats.wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)


def test_wilson_interval_at_the_edges_stays_in_zero_to_one():
    assert stats.wilson(0, 20)[0] == 0.0
    assert round(stats.wilson(0, 20)[1], 4) == 0.1611
    assert stats.wilson(20, 20)[1] == 1.0


def test_byar_interval_for_ten_events():
    # Byar: 10·(1 − 1/90 − 1.96/(3·√10))³ = 4.787…; 11·(1 − 1/99 + 1.96/(3·√11))³ = 18.39…
    low, high = stats.byar(10, 100)
    assert (round(low, 4), round(high, 3)) == (0.0479, 0.184)


def test_mean_interval_uses_t_for_small_samples():
    low, high = stats.mean_interval(10.0, 2.0, 4)  # t(3) = 3.182: 10 ± 3.182·2/2
    assert (round(low, 3), round(high, 3)) == (6.818, 13.182)


def test_two_proportion_test():
    # 30/100 v 15/100: pooled 0.225, se = √(0.225·0.775·0.02) = 0.05906, z = 2.540
    assert round(stats.two_proportion_p(30, 100, 15, 100), 4) == 0.0111
    assert stats.two_proportion_p(10, 100, 10, 100) == 1.0


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_the_proportion(numerator, denominator):
    numerator = min(numerator, denominator)
    low, high = stats.wilson(numerator, denominator)
    assert 0 <= low <= numerator / denominator <= high <= 1


# --- the unit contract ---------------------------------------------------------------------


def test_the_contract_refuses_duplicate_units_and_numerators_outside_the_cohort():
    rows = pd.DataFrame({"unit_id": ["a", "a"], "in_denominator": [True, True]})
    rows["in_numerator"] = [True, False]
    with pytest.raises(UnitContractError, match="unique"):
        conform(rows, "proportion")
    rows = pd.DataFrame(
        {"unit_id": ["a", "b"], "in_denominator": [True, False], "in_numerator": [False, True]}
    )
    with pytest.raises(UnitContractError, match="not in the cohort"):
        conform(rows, "proportion")
    with pytest.raises(UnitContractError, match="needs the column category"):
        conform(pd.DataFrame({"unit_id": ["a"], "in_denominator": [True]}), "distribution")


# --- the aggregator on a toy measure ------------------------------------------------------------


@pytest.fixture
def toy_measure():
    """Children's referrals in the period; numerator: NFA referrals (a toy B1.2)."""

    @measure("TEST.1", "proportion")
    def toy(ctx):
        frame = ctx.sql(
            """SELECT child_id || referral_date AS unit_id, child_id,
                      TRUE AS in_denominator, referral_nfa AS in_numerator
               FROM referrals WHERE referral_date BETWEEN $start AND $end"""
        )
        return frame

    yield "TEST.1"
    del MEASURES["TEST.1"]


def _store(boys: int, boys_nfa: int, girls: int, girls_nfa: int):
    children, referrals = [], []
    for sex, total, nfa in (("M", boys, boys_nfa), ("F", girls, girls_nfa)):
        for n in range(total):
            child = f"{sex}{n}"
            children.append(f"{child} | {sex} | 2015-01-01 | WBRI")
            referrals.append(f"{child} | 2024-06-01 | {'true' if n < nfa else 'false'}")
    return tiny_store(
        "children\nchild_id | sex | date_of_birth | ethnicity\n"
        + "\n".join(children)
        + "\n\nreferrals\nchild_id | referral_date | referral_nfa\n"
        + "\n".join(referrals)
    )


def test_a_proportion_by_sex_with_intervals(toy_measure):
    con = _store(boys=20, boys_nfa=10, girls=30, girls_nfa=12)
    result = evaluate(con, Query((toy_measure,), Period.parse("2024-25"), by=("sex",)))
    assert list(result.columns) == list(RESULT_COLUMNS)
    whole = result[result["slice"] == "all"].iloc[0]
    assert (whole["numerator"], whole["denominator"], whole["value"]) == (22, 50, 0.44)
    boys = result[result["sex"] == "M"].iloc[0]
    assert (boys["numerator"], boys["denominator"]) == (10, 20)
    assert round(boys["ci_low"], 4) == round(stats.wilson(10, 20)[0], 4)
    assert not result["suppressed"].any()
    assert result["category"].isna().all()  # only a distribution's rows name a category
    assert result.loc[result["slice"] == "all", "sex"].isna().all()  # the whole has no sex


def test_no_data_is_not_zero(toy_measure):
    con = tiny_store()
    result = evaluate(con, Query((toy_measure,), Period.parse("2024-25")))
    assert result["status"].tolist() == ["no data"]
    assert result["value"].isna().all()


def test_small_counts_and_their_complements_are_hidden_and_cannot_be_differenced(toy_measure):
    # Boys: 3 of 20 NFA (small numerator). Girls: 28 of 30 (2 not NFA: small complement).
    # Unknown sex: none. Whole: 31 of 50 shown, so hiding only the boys would let the boys'
    # 3 be worked out as 31 − 28: the girls are hidden too (secondary suppression).
    con = _store(boys=20, boys_nfa=3, girls=30, girls_nfa=28)
    result = evaluate(con, Query((toy_measure,), Period.parse("2024-25"), by=("sex",)))
    boys = result[result["sex"] == "M"].iloc[0]
    girls = result[result["sex"] == "F"].iloc[0]
    assert boys["suppressed"] and pd.isna(boys["numerator"]) and pd.isna(boys["value"])
    assert boys["denominator"] == 20
    assert girls["suppressed"] and pd.isna(girls["numerator"])
    whole = result[result["slice"] == "all"].iloc[0]
    assert whole["numerator"] == 31 and not whole["suppressed"]


def test_a_tiny_cohort_hides_everything(toy_measure):
    con = _store(boys=4, boys_nfa=2, girls=0, girls_nfa=0)
    result = evaluate(con, Query((toy_measure,), Period.parse("2024-25")))
    row = result.iloc[0]
    assert row["suppressed"] and pd.isna(row["denominator"]) and pd.isna(row["value"])


def test_change_from_the_previous_year_and_its_test(toy_measure):
    con = _store(boys=50, boys_nfa=30, girls=50, girls_nfa=30)  # 60 of 100 in 2024-25
    earlier = "referrals\nchild_id | referral_date | referral_nfa\n" + "\n".join(
        f"P{n} | 2023-06-01 | {'true' if n < 30 else 'false'}" for n in range(100)
    )  # 30 of 100 in 2023-24
    add_rows(con, earlier)
    result = evaluate(con, Query((toy_measure,), Period.parse("2024-25")))
    row = result.iloc[0]
    assert (row["value"], row["previous_value"]) == (0.6, 0.3)
    assert math.isclose(row["change"], 0.3)
    assert row["change_significant"]  # z ≈ 4.26


# --- surveys: response rates and weighting ---------------------------------------------------


@pytest.fixture
def valued_item():
    from framework.engine.measures.common import survey_item_units

    @measure("TEST.2", "proportion")
    def valued(ctx):
        return survey_item_units(ctx, "staff_survey", ["a8_2_valued"])

    yield "TEST.2"
    del MEASURES["TEST.2"]


def _survey_store():
    """20 of 80 social workers answered (8 agree); all 10 team managers answered (all agree)."""
    lines = ["staff_survey", "survey | respondent_id | response_date | level | team | a8_2_valued"]
    for n in range(20):
        lines.append(f"S25 | sw{n} | 2024-10-10 | social_worker | T1 | {5 if n < 8 else 2}")
    for n in range(10):
        lines.append(f"S25 | tm{n} | 2024-10-10 | team_manager | T1 | 4")
    lines += [
        "",
        "survey_invitations",
        "survey | year | audience | segment | team | invited",
        "S25 | 2025 | staff | social_worker | T1 | 80",
        "S25 | 2025 | staff | team_manager | T1 | 10",
    ]
    return tiny_store("\n".join(lines))


def test_survey_response_rates_by_level(valued_item):
    result = evaluate(
        _survey_store(), Query((valued_item,), Period.parse("2024-25"), by=("staff_level",))
    )
    whole = result[result["slice"] == "all"].iloc[0]
    assert (whole["numerator"], whole["units"], whole["invited"]) == (18, 30, 90)
    assert math.isclose(whole["response_rate"], 1 / 3) and whole["value"] == 0.6
    workers = result[result["staff_level"] == "social_worker"].iloc[0]
    assert (workers["value"], workers["response_rate"]) == (0.4, 0.25)
    # All 10 managers agree: the complement (0) is not small, so nothing is hidden.
    managers = result[result["staff_level"] == "team_manager"].iloc[0]
    assert (managers["value"], managers["response_rate"]) == (1.0, 1.0)


def test_weighting_to_the_people_invited(valued_item):
    # Invited shares 8/9 and 1/9; respondent shares 2/3 and 1/3: weights 4/3 and 1/3.
    # Weighted share agreeing = (4/3·8 + 1/3·10) / (4/3·20 + 1/3·10) = 14 / 30.
    query = Query((valued_item,), Period.parse("2024-25"), weighted=True)
    row = evaluate(_survey_store(), query).iloc[0]
    assert math.isclose(row["value"], 14 / 30)
    assert row["weighted"] and row["numerator"] == 18  # counts stay unweighted
    # Kish's effective size: 30² / (20·(4/3)² + 10·(1/3)²) = 900 / 36.67 = 24.5
    effective = 900 / (20 * 16 / 9 + 10 / 9)
    low, high = stats.wilson(14 / 30 * effective, effective)
    assert math.isclose(row["ci_low"], low) and math.isclose(row["ci_high"], high)


def test_several_single_slicings_and_a_group_in_one_evaluation(toy_measure):
    con = _store(boys=20, boys_nfa=10, girls=30, girls_nfa=12)
    query = Query(
        (toy_measure,), Period.parse("2024-25"), separately=("sex", "age_band"), group="cin"
    )
    result = evaluate(con, query)
    assert set(result["slice"]) == {"all", "sex", "age_band"}
    # Every child was referred in the year, so all are children in need; all aged 10 on
    # 31 March 2025 (born 1 January 2015).
    ages = result[result["slice"] == "age_band"]
    assert ages["age_band"].tolist() == ["10-15"] and ages["denominator"].tolist() == [50]
    # Nobody is on a child protection plan: no data for that group, not zero.
    on_plans = evaluate(con, Query((toy_measure,), Period.parse("2024-25"), group="cp"))
    assert on_plans["status"].tolist() == ["no data"]


def test_a_dimension_the_units_lack_is_named(valued_item):
    result = evaluate(_survey_store(), Query((valued_item,), Period.parse("2024-25"), by=("sex",)))
    assert result[result["slice"] == "sex"]["status"].tolist() == ["not by sex"]


def test_restricting_to_children_with_a_dimension_value(toy_measure):
    # 20 boys (10 NFA) and 30 girls (12 NFA): restricted to girls, 12 of 30; with the CiN
    # group as well (every child was referred, so all are in it), the same; a value nobody
    # has gives no data, not zero.
    con = _store(boys=20, boys_nfa=10, girls=30, girls_nfa=12)
    period = Period.parse("2024-25")
    girls = evaluate(con, Query((toy_measure,), period, where=(("sex", "F"),)))
    assert (girls.iloc[0]["numerator"], girls.iloc[0]["denominator"]) == (12, 30)
    both = evaluate(con, Query((toy_measure,), period, group="cin", where=(("sex", "F"),)))
    assert (both.iloc[0]["numerator"], both.iloc[0]["denominator"]) == (12, 30)
    nobody = evaluate(con, Query((toy_measure,), period, where=(("locality", "Nowhere"),)))
    assert nobody["status"].tolist() == ["no data"]
    with pytest.raises(ValueError, match="cannot restrict"):
        evaluate(con, Query((toy_measure,), period, where=(("staff_level", "x"),)))


def test_survey_answers_cannot_be_restricted_to_an_area(valued_item):
    query = Query((valued_item,), Period.parse("2024-25"), where=(("imd_decile", "1"),))
    assert evaluate(_survey_store(), query)["status"].tolist() == ["not by area"]


def _referral_outcomes_store(nfa: int, not_in_need: int, service: int):
    """Referrals in 2024-25: ``nfa`` with no further action, ``not_in_need`` closed RC8
    after assessment, ``service`` still open (a child in need)."""
    rows = []
    for n in range(nfa + not_in_need + service):
        if n < nfa:
            rows.append(f"R{n} | 2024-06-01 | true  | |")
        elif n < nfa + not_in_need:
            rows.append(f"R{n} | 2024-06-01 | false | 2024-07-01 | RC8")
        else:
            rows.append(f"R{n} | 2024-06-01 | false | |")
    return tiny_store(
        "referrals\nchild_id | referral_date | referral_nfa | closure_date | closure_reason\n"
        + "\n".join(rows)
    )


def test_indicators_built_from_the_same_referrals_are_protected_together():
    # 50 NFA, 3 assessed not in need, 40 a service. B1.3 hides "not in need" (3) and, so that
    # it cannot be worked back, "child in need" (40). B1.1 counts exactly the referrals that
    # led to a service (40) and would give the hidden 40 back, and then 93 − 50 − 40 = 3: so
    # it is hidden too. B1.2 (the 50 NFA) matches B1.3's shown "nfa" and stays.
    from framework.engine.run import register_measures

    register_measures()
    con = _referral_outcomes_store(nfa=50, not_in_need=3, service=40)
    period = Period.parse("2024-25")
    results = evaluate(con, Query(("B1.1", "B1.2", "B1.3"), period))
    rows = results.set_index(results["indicator_id"] + ":" + results["category"].fillna(""))
    assert rows.loc["B1.3:not_in_need", "suppressed"] and rows.loc["B1.3:cin", "suppressed"]
    assert rows.loc["B1.1:", "suppressed"] and pd.isna(rows.loc["B1.1:", "numerator"])
    assert rows.loc["B1.2:", "numerator"] == 50 and rows.loc["B1.3:nfa", "numerator"] == 50
    # Asked for alone (as the place page does), B1.1 is hidden the same way: its partners
    # are protected with it and then left out of the answer.
    alone = evaluate(con, Query(("B1.1",), period))
    assert alone["indicator_id"].tolist() == ["B1.1"] and alone["suppressed"].iloc[0]


@given(nfa=st.integers(0, 12), not_in_need=st.integers(0, 12), service=st.integers(0, 12))
@settings(max_examples=40)
def test_no_hidden_referral_outcome_can_be_worked_back(nfa, not_in_need, service):
    """An attacker sees B1.1, B1.2 and B1.3 as published and tries every split of the
    referrals that agrees with them: a hidden small count must have more than one answer."""
    from framework.engine.run import register_measures

    register_measures()
    if nfa + not_in_need + service == 0:
        return
    con = _referral_outcomes_store(nfa=nfa, not_in_need=not_in_need, service=service)
    results = evaluate(con, Query(("B1.1", "B1.2", "B1.3"), Period.parse("2024-25")))
    rows = results.set_index(results["indicator_id"] + ":" + results["category"].fillna(""))

    def shown(name):
        value = rows.loc[name, "numerator"] if name in rows.index else 0
        return None if pd.isna(value) else int(value)

    # The strongest attacker: one who knows how many referrals there were even when that
    # number is hidden.
    denominator = nfa + not_in_need + service
    splits = [
        (a, b, denominator - a - b)
        for a in range(denominator + 1)
        for b in range(denominator + 1 - a)
        if (shown("B1.3:nfa") in (None, a))
        and (shown("B1.3:not_in_need") in (None, b))
        and (shown("B1.3:cin") in (None, denominator - a - b))
        and (shown("B1.1:") in (None, denominator - a - b))
        and (shown("B1.2:") in (None, a))
    ]
    truth = (nfa, not_in_need, service)
    assert truth in splits
    for position, name in enumerate(("nfa", "not_in_need", "cin")):
        if 0 < truth[position] <= 5:  # a small count: never pinned down
            assert len({split[position] for split in splits}) > 1, name


def test_results_are_conformed_to_the_contract_with_every_missing_column_empty():
    from framework.engine.aggregate import conform_results

    rows = pd.DataFrame(
        {
            "indicator_id": ["B1.2", "B1.2"],
            "slice": ["all", "sex"],
            "key": ["", "F"],
            "numerator": [3.0, None],
            "suppressed": [False, True],
        }
    )
    first, second = conform_results(rows), conform_results(rows)
    assert list(first.columns) == list(RESULT_COLUMNS)
    for name, dtype in RESULT_COLUMNS.items():
        assert str(first[name].dtype) == dtype, name
    assert first["sex"].tolist() == [pd.NA, "F"]  # the slice's key, spread to its dimension
    assert first["numerator"].tolist() == [3.0, pd.NA]
    assert first["value"].isna().all() and first["change_significant"].isna().all()
    first.loc[0, "value"] = 0.5  # each result owns its columns: nothing is shared
    assert second["value"].isna().all()


def test_child_dimensions_are_made_once_per_store_version_and_period(tmp_path, monkeypatch):
    """A store read from its file keeps each period's child dimensions across evaluations (a
    query protected on its own built them each time); one that may change never does."""
    from framework.engine import aggregate
    from framework.engine.run import register_measures
    from framework.store import store
    from tests.engine_store import save_store
    from tests.test_place import place_store

    made = []
    real = aggregate.child_dimensions

    def counted(con, period):
        made.append(period.label)
        return real(con, period)

    monkeypatch.setattr(aggregate, "child_dimensions", counted)
    monkeypatch.setattr(aggregate, "_DIMENSIONS", aggregate.OrderedDict())
    register_measures()
    query = Query(("B1.2",), Period.parse("2024-25"), by=("sex",), group="cin", with_change=False)
    writable = place_store()
    evaluate(writable, query)
    evaluate(writable, query)
    assert made == ["2024-25", "2024-25"]  # may change under its connection: made each time

    made.clear()
    path = save_store(place_store(), tmp_path / "places.duckdb")
    con = store.connect(path, read_only=True)
    try:
        first, again = evaluate(con, query), evaluate(con, query)
    finally:
        con.close()
    assert made == ["2024-25"]
    pd.testing.assert_frame_equal(again, first)
