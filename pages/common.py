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


def shown(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Suppressed counts (missing values from the engine) drawn as 'c', in ``columns`` (all by
    default; name them when other columns may be missing for other reasons, e.g. an undated
    file's year). A column holding any becomes text (a column cannot mix numbers and letters)."""
    out = frame.copy()
    for name in columns if columns is not None else out.columns:
        column = out[name]
        if not column.isna().any():
            continue
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            column = column.map(_number_text, na_action="ignore")
        out[name] = column.astype(object).where(column.notna(), SUPPRESSED).astype(str)
    return out


def _number_text(value) -> str:
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.4g}"


def open_status() -> tuple[StoreStatus | None, Path]:
    path = store_path()
    if not path.exists():
        return None, path
    return _status(str(path), path.stat().st_mtime), path


# --- the engine, cached per store version (its file's modification time) ----------------------


def _store_key() -> tuple[str, float]:
    path = store_path()
    return str(path), path.stat().st_mtime


@st.cache_data(ttl=600)
def _child_indicators(_key: tuple) -> dict[str, str]:
    from framework.engine.catalogue import catalogue
    from framework.engine.run import load_measures

    measures = load_measures()
    return {
        i.id: i.label
        for i in catalogue().indicators
        if i.statistic == "proportion" and i.unit not in NOT_ABOUT_A_CHILD and i.id in measures
    }


# Units that belong to no one child's home (survey answers are anonymous; meetings, complaints,
# audits and workers are counted as themselves), so they cannot be put on a map of homes.
NOT_ABOUT_A_CHILD = {
    "staff respondent",
    "child respondent",
    "parent respondent",
    "meeting",
    "complaint",
    "audit",
    "worker",
}


def child_indicators() -> dict[str, str]:
    """Indicators whose units are children's (a child, their referral, plan, period of care…)
    and that are one share each (id -> label)."""
    return _child_indicators(_store_key())


def _connect():
    return store.connect(store_path(), read_only=True)


@st.cache_data(ttl=600)
def _latest_period(_key: tuple) -> str | None:
    from framework.engine.run import latest_period

    con = _connect()
    try:
        return latest_period(con).label
    except ValueError:  # no dated returns or local data yet
        return None
    finally:
        con.close()


def latest_period_label() -> str | None:
    """The latest period the store covers, or None when it holds no dated data yet."""
    return _latest_period(_store_key())


@st.cache_data(ttl=600, show_spinner="Working out the gradient…")
def _deprivation_view(_key, indicator, period, index, group, threshold):
    from framework.engine.periods import Period
    from framework.engine.place import deprivation_view as view

    con = _connect()
    try:
        return view(con, indicator, Period.parse(period), index=index, group=group,
                    threshold=threshold)  # fmt: skip
    finally:
        con.close()


def deprivation_view(indicator, period, index, group, threshold):
    return _deprivation_view(_store_key(), indicator, period, index, group, threshold)


@st.cache_data(ttl=600, show_spinner="Drawing the map…")
def _area_view(_key, indicator, period, level, group, threshold):
    from framework.engine.periods import Period
    from framework.engine.place import area_view as view

    con = _connect()
    try:
        return view(con, indicator, Period.parse(period), level=level, group=group,
                    threshold=threshold)  # fmt: skip
    finally:
        con.close()


def area_view(indicator, period, level, group, threshold):
    return _area_view(_store_key(), indicator, period, level, group, threshold)
