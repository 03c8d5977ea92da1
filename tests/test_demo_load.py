"""The demo authority through the real readers and store: strict loads, history, re-loads,
and planted errors caught."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from framework.demo.generator import generate_demo
from framework.load import load_files
from framework.sources.template_defs import TEMPLATES
from framework.store import store
from framework.store.schema import TABLES

pytestmark = pytest.mark.slow
CHILDREN = 800


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demoton"
    generate_demo(out, children=CHILDREN, years=5, seed=7, end_year=2026)
    return out


@pytest.fixture(scope="module")
def demo_with_errors(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_errors") / "demoton"
    generate_demo(out, children=CHILDREN, years=3, seed=11, end_year=2026, with_errors=True)
    return out


def data(path: Path) -> dict[str, list[tuple]]:
    """Every data table's rows without load ids (which differ between equivalent stores)."""
    con = store.connect(path, read_only=True)
    try:
        out = {}
        for name, table in TABLES.items():
            columns = ", ".join([*table.column_names, "collection_year"])
            out[name] = sorted(con.execute(f"SELECT {columns} FROM {name}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def year_folders(demo: Path) -> list[Path]:
    return sorted(p for p in demo.iterdir() if p.is_dir() and p.name[:2] == "20")


def test_the_demo_loads_in_strict_mode_with_nothing_set_aside(demo, tmp_path, pseudonymiser):
    outcome = load_files(
        [demo], store_path=tmp_path / "s.duckdb", pseudonymiser=pseudonymiser, strict=True
    )
    assert outcome.status == "loaded", (
        outcome.message + "\n" + "\n".join(p.message() for p in outcome.problems[:20])
    )
    assert not [p for p in outcome.problems if p.severity == "error"]
    years = {r.collection_year for r in outcome.results if r.source == "cin_census"}
    assert years == {2022, 2023, 2024, 2025, 2026}
    counts = data(tmp_path / "s.duckdb")
    for table in (
        "children",
        "referrals",
        "assessments",
        "cp_plans",
        "episodes",
        "looked_after_reviews",
        "care_leavers",
        "health_outcomes",
        "child_addresses",
        "workforce_workers",
        "workforce_vacancies",
        "published_statistics",
        "statistical_neighbours",
        *TEMPLATES,  # every local-data template has demo data
    ):
        assert counts[table], f"{table} is empty"
    csww_years = {r.collection_year for r in outcome.results if r.source == "csww"}
    assert len(csww_years) == 5


def test_loading_years_in_any_order_gives_the_same_store(demo, tmp_path, pseudonymiser):
    reference = [demo / "reference", demo / "addresses"]
    in_order, reverse = tmp_path / "in_order.duckdb", tmp_path / "reverse.duckdb"
    load_files(reference, store_path=in_order, pseudonymiser=pseudonymiser)
    load_files(reference, store_path=reverse, pseudonymiser=pseudonymiser)
    for folder in year_folders(demo):
        load_files([folder], store_path=in_order, pseudonymiser=pseudonymiser)
    for folder in reversed(year_folders(demo)):
        load_files([folder], store_path=reverse, pseudonymiser=pseudonymiser)
    assert data(in_order) == data(reverse)


def test_reloading_changes_nothing(demo, tmp_path, pseudonymiser):
    path = tmp_path / "s.duckdb"
    load_files([demo], store_path=path, pseudonymiser=pseudonymiser)
    before = data(path)
    unchanged = load_files([demo], store_path=path, pseudonymiser=pseudonymiser)
    assert unchanged.status == "unchanged"
    forced = load_files([demo], store_path=path, pseudonymiser=pseudonymiser, force=True)
    assert forced.status == "loaded"
    assert data(path) == before
    assert all(change.get("added", 0) == 0 for change in forced.changes.values())


def test_every_planted_error_is_reported(demo_with_errors, tmp_path, pseudonymiser):
    outcome = load_files(
        [demo_with_errors], store_path=tmp_path / "s.duckdb", pseudonymiser=pseudonymiser
    )
    assert outcome.status == "loaded"
    with (demo_with_errors / "planted_errors.csv").open(newline="") as handle:
        planted = list(csv.DictReader(handle))
    assert planted
    found = {(p.file, p.child) for p in outcome.problems} | {
        (u.file, None) for u in outcome.unreadable
    }
    missed = [row for row in planted if (Path(row["file"]).name, row["child"]) not in found]
    assert not missed, missed[:10]


def test_strict_mode_refuses_a_demo_with_errors(demo_with_errors, tmp_path, pseudonymiser):
    path = tmp_path / "s.duckdb"
    outcome = load_files(
        [demo_with_errors], store_path=path, pseudonymiser=pseudonymiser, strict=True
    )
    assert outcome.status == "refused"
    assert not path.exists()


def test_demo_store_is_built_once_and_rebuilt_when_its_settings_change(tmp_path, capsys):
    from framework import cli

    original = (Path(__file__).resolve().parents[1] / "config.toml").read_text()

    def config(seed: int) -> Path:
        path = tmp_path / f"config_{seed}.toml"
        text = original.replace('directory = "data/demo"', f'directory = "{tmp_path}/demo"')
        text = text.replace('store = "data/demo.duckdb"', f'store = "{tmp_path}/demo.duckdb"')
        text = text.replace("children = 6000", "children = 300").replace(
            "seed = 2019", f"seed = {seed}"
        )
        path.write_text(text)
        return path

    assert cli.main(["--config", str(config(1)), "demo-store"]) == 0
    assert "Load 1 finished" in capsys.readouterr().out
    assert cli.main(["--config", str(config(1)), "demo-store"]) == 0
    assert "Demo store ready" in capsys.readouterr().out
    assert cli.main(["--config", str(config(2)), "demo-store"]) == 0
    assert "rebuilding" in capsys.readouterr().out
