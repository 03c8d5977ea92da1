"""The whole catalogue on a generated demo store: every indicator computes, and the results
keep the engine's promises (numerator within denominator, intervals around values, nothing
from 1 to the threshold shown)."""

from __future__ import annotations

import pandas as pd
import pytest

from framework.demo.generator import generate_demo
from framework.engine.aggregate import Query, evaluate
from framework.engine.periods import Period
from framework.engine.run import load_measures, select_indicators
from framework.load import load_files
from framework.store import store

pytestmark = pytest.mark.slow
THRESHOLD = 5


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, pseudonymiser_module):
    folder = tmp_path_factory.mktemp("engine_demo")
    generate_demo(folder / "demo", children=1500, years=3, seed=23, end_year=2026)
    path = folder / "demo.duckdb"
    outcome = load_files([folder / "demo"], store_path=path, pseudonymiser=pseudonymiser_module)
    assert outcome.status == "loaded", outcome.message
    con = store.connect(path, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def pseudonymiser_module():
    from framework.privacy import DEMO_KEY, Pseudonymiser

    return Pseudonymiser(DEMO_KEY)


@pytest.fixture(scope="module")
def results(demo_store) -> pd.DataFrame:
    load_measures()
    query = Query(
        select_indicators(None),
        Period.parse("2024-25"),  # the latest year with key stage results (D13.1)
        separately=("sex", "age_band", "group", "locality"),
        threshold=THRESHOLD,
    )
    return evaluate(demo_store, query)


def test_every_indicator_computes_on_the_demo(results):
    whole = results[results["slice"] == "all"]
    no_data = sorted(whole.loc[whole["status"] != "ok", "indicator_id"])
    assert no_data == [], f"indicators without data on the demo: {no_data}"


def test_numerators_stay_within_denominators_and_values_within_intervals(results):
    shown = results[results["numerator"].notna() & results["denominator"].notna()]
    counted = shown[shown["statistic"].isin(["proportion", "distribution"])]
    assert (counted["numerator"] <= counted["denominator"]).all()
    inside = results[results["ci_low"].notna()]
    assert (inside["ci_low"] <= inside["value"] + 1e-9).all()
    assert (inside["value"] <= inside["ci_high"] + 1e-9).all()


def test_no_count_from_one_to_the_threshold_is_shown(results):
    counted = results[results["statistic"].isin(["proportion", "distribution"])]
    for column in ("numerator", "denominator", "units"):
        values = counted[column].dropna()
        assert not ((values > 0) & (values <= THRESHOLD)).any(), column
    complement = (counted["denominator"] - counted["numerator"]).dropna()
    assert not ((complement > 0) & (complement <= THRESHOLD)).any()
