"""Shared fixtures. Tests that read ../shared (the reference and sample data) skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from framework.privacy import Pseudonymiser

# Property tests: no per-example deadline (speed is benchmarked, not asserted), and the same
# examples on every run by default, so CI's verdict is reproducible. Set
# HYPOTHESIS_PROFILE=explore (or pass --hypothesis-seed=N) to search new random examples.
settings.register_profile("project", deadline=None, derandomize=True)
settings.register_profile("explore", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "project"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def open_access(monkeypatch):
    """The app's tests run without sign-in (everyone admin), as the demo does; the tests of
    sign-in itself (test_access.py) set the mode they test."""
    monkeypatch.setenv("OUTCOMES_ACCESS_MODE", "open")


@pytest.fixture(autouse=True)
def nothing_in_the_background(monkeypatch):
    """No load or page starts the process that works out views ahead (precompute.py): tests
    run on temporary stores; test_precompute.py switches it on where it tests it."""
    monkeypatch.setenv("OUTCOMES_WARM_UP", "0")


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "spec" / "samples").is_dir():
        pytest.skip("../shared (samples and reference data) is not available")
    return SHARED


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(b"a test key that is long enough")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def app_on(tmp_path, monkeypatch):
    """Start the app (AppTest) on a store of our own, through a config file and
    OUTCOMES_MODE=local; ``app_on(path)`` returns the app after its first run."""

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def start(store_file: Path, mode: str = "local") -> AppTest:
        config = tmp_path / "config.toml"
        text = (REPO / "config.toml").read_text()
        config.write_text(text.replace('path = "data/outcomes.duckdb"', f'path = "{store_file}"'))
        monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
        monkeypatch.setenv("OUTCOMES_MODE", mode)
        monkeypatch.setenv("OUTCOMES_WARM_UP", "0")  # no background work on temporary stores
        monkeypatch.chdir(REPO)
        st.cache_data.clear()
        st.cache_resource.clear()
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=30)
        return app.run()

    return start
