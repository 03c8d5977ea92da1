"""Helpers shared by pages: settings, which store to show, cached reads of the engine."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from framework.config import Settings, load_settings
from framework.disclosure import SUPPRESSED
from framework.status import StoreStatus, store_status
from framework.store import store


@st.cache_resource
def settings() -> Settings:
    return load_settings()


def store_path() -> Path:
    """The demo store unless OUTCOMES_MODE=local asks for the authority's own store."""
    chosen = settings()
    return chosen.store_path if os.environ.get("OUTCOMES_MODE") == "local" else chosen.demo_store


@st.cache_data(ttl=60)
def _status(path: str, modified: float) -> StoreStatus:
    # Keyed on the file's modification time so a new load shows without a restart.
    con = store.connect(Path(path), read_only=True)
    try:
        return store_status(con, settings().disclosure_threshold)
    finally:
        con.close()


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Suppressed counts (missing values from the engine) drawn as 'c'."""
    return frame.astype(object).where(frame.notna(), SUPPRESSED)


def open_status() -> tuple[StoreStatus | None, Path]:
    path = store_path()
    if not path.exists():
        return None, path
    return _status(str(path), path.stat().st_mtime), path
