"""Shared fixtures. Tests that read ../shared (the reference and sample data) skip without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.privacy import Pseudonymiser

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
