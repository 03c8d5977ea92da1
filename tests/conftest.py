"""Shared fixtures. Tests that read ../shared (the reference and sample data) skip without it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from framework.privacy import Pseudonymiser

# Property tests check behaviour, not speed (speed is benchmarked in docs/benchmarks.md): a
# per-example deadline only makes them flaky on a busy two-core machine.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
