"""Helpers shared by pages: settings, which store to show, cached reads of the engine."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import streamlit as st

from framework import config
from framework.config import Settings, load_settings
from framework.disclosure import SUPPRESSED
from framework.status import StoreStatus, store_status
from framework.store import store


@st.cache_resource
def settings() -> Settings:
    return load_settings()


def showing_demo() -> bool:
    """Whether the app shows the fictional demo authority (framework.config.showing_demo)."""
    return config.showing_demo(settings())


def store_path() -> Path:
    return config.shown_store(settings())


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
#
# Every cached read takes the store's path and modification time as its first argument (named
# without a leading underscore: Streamlit leaves underscored arguments out of the cache key,
# and then a new load would not show). The cache is bounded so a long meeting cannot fill memory.


def _store_key() -> tuple[str, float]:
    path = store_path()
    return str(path), path.stat().st_mtime


def _connect():
    return store.connect(store_path(), read_only=True)


@st.cache_data(ttl=600)
def _child_indicators(store_key: tuple) -> dict[str, str]:
    from framework.engine.catalogue import catalogue
    from framework.engine.run import load_measures
    from framework.engine.views import NOT_ABOUT_A_CHILD

    measures = load_measures()
    return {
        i.id: i.label
        for i in catalogue().indicators
        if i.statistic == "proportion" and i.unit not in NOT_ABOUT_A_CHILD and i.id in measures
    }


def child_indicators() -> dict[str, str]:
    """Indicators whose units are children's (a child, their referral, plan, period of care…)
    and that are one share each (id -> label)."""
    return _child_indicators(_store_key())


@st.cache_data(ttl=600)
def _latest_period(store_key: tuple) -> str | None:
    from framework.engine.run import latest_period

    con = _connect()
    try:
        return latest_period(con).label
    except ValueError:  # no dated returns or local data yet
        return None
    finally:
        con.close()


def latest_period_label() -> str | None:
    """The latest period the store covers, or None when there is no store or it holds no dated
    data yet (cheap: the pages that show numbers need only this, not the store's status)."""
    if not store_path().exists():
        return None
    return _latest_period(_store_key())


# Views are keyed on the store's version, so they never go stale: they are kept in memory for
# a working day (a meeting must not wait twice for the same view), at most 256 of them, and on
# disk beside the store (the newest 512), so that a restarted app opens at once.
@st.cache_data(ttl=12 * 3600, max_entries=256, show_spinner="Working it out…")
def _view(store_key: tuple, name: str, subject: str | None, period: str, options: tuple):
    """``framework.engine.<name>(con, subject, period, **options)`` on the store (without
    ``subject`` when it is None)."""
    from framework.engine.periods import Period

    subjects = () if subject is None else (subject,)
    arguments = (*subjects, Period.parse(period))
    return _saved_or_made(store_key, (name, subject, period, options), name, arguments, options)


def _saved_or_made(store_key: tuple, request: tuple, name: str, args: tuple, options: tuple):
    """The view saved beside the store for ``request``, else ``framework.engine.<name>(con,
    *args, **options)`` worked out now and saved."""
    import importlib

    saved = _saved_view_path(store_key, request)
    found = _read_saved_view(saved)
    if found is not None:
        return found
    module, function = name.rsplit(".", 1)
    view = getattr(importlib.import_module(f"framework.engine.{module}"), function)
    con = _connect()
    try:
        result = view(con, *args, **dict(options))
    finally:
        con.close()
    _save_view(saved, result)
    return result


@st.cache_data(ttl=12 * 3600, max_entries=256, show_spinner="Working it out…")
def _call(store_key: tuple, name: str, args: tuple, options: tuple):
    """``framework.engine.<name>(con, *args, **options)`` on the store, for views whose
    arguments are not (subject, period): cached and saved beside the store like ``_view``.
    A period is passed as its label (arguments must be plain values)."""
    return _saved_or_made(store_key, ("call", name, args, options), name, args, options)


def engine(name: str, *args, **options):
    """A cached engine view: ``engine("funding.spend_over_time", basis="outturn")``."""
    return _call(_store_key(), name, tuple(args), tuple(sorted(options.items())))


def period_of(label: str):
    """The engine's Period for a period label (views that take one are called with it)."""
    from framework.engine.periods import Period

    return Period.parse(label)


# --- views saved on disk: aggregate, disclosure-controlled results only (what pages show) -----

SAVED_VIEWS_KEPT = 512


def _code_version() -> str:
    """A fingerprint of the engine's code and catalogue: a saved view made by other code is
    never read back."""
    from framework.engine.precompute import code_version

    return code_version()


def _saved_view_path(store_key: tuple, request: tuple) -> Path:
    import hashlib

    store_file = Path(store_key[0])
    key = repr((store_key, request, _code_version()))
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return store_file.with_name(store_file.name + ".views") / f"{name}.pickle"


def _read_saved_view(path: Path):
    import pickle

    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # written by this app, beside the store it describes
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def _save_view(path: Path, result) -> None:
    """Write atomically, then keep only the newest SAVED_VIEWS_KEPT (bounded on disk too)."""
    import pickle

    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        with partial.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
        saved = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in saved[:-SAVED_VIEWS_KEPT]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only folder: the view is still kept in memory


def _threshold() -> int:
    return settings().disclosure_threshold


def deprivation_view(indicator, period, index, group, threshold):
    options = (("index", index), ("group", group), ("threshold", threshold))
    return _view(_store_key(), "place.deprivation_view", indicator, period, options)


def area_view(indicator, period, level, group, threshold):
    options = (("level", level), ("group", group), ("threshold", threshold))
    return _view(_store_key(), "place.area_view", indicator, period, options)


def _options(group: str | None, where: tuple = ()) -> tuple:
    options = [("group", group), ("threshold", _threshold())]
    if where:
        options.append(("where", tuple(where)))
    return tuple(options)


def domain_table(domain: str, period: str, group: str | None, where: tuple = ()):
    return _view(_store_key(), "views.domain_table", domain, period, _options(group, where))


def indicator_detail(indicator: str, period: str, group: str | None, where: tuple = ()):
    return _view(_store_key(), "views.indicator_detail", indicator, period, _options(group, where))


def overview(period: str, group: str | None, where: tuple = ()):
    return _view(_store_key(), "overview.overview", None, period, _options(group, where))


@st.cache_data(ttl=600)
def _places(store_key: tuple) -> dict[str, list[str]]:
    from framework.engine.place import area_names

    con = _connect()
    try:
        return area_names(con)
    finally:
        con.close()


# --- filters shared by every page, kept in the URL so that a link reopens the same view -------
#
# The filters last chosen are kept in st.session_state["filters"] (so they stay set across
# pages: a page switch starts with a clean URL) and written to the link's query parameters on
# every run. A query parameter that differs from what was last written came from outside (a
# shared link, or a link on the overview) and wins. Each widget has a fixed key and copies its
# value to both places when the user changes it, before the run: a widget identified by its
# default instead would be made anew whenever the default moved, and drop every second change.

FILTER_KEYS = ("period", "group", "area", "decile")
# The choice "all" of a select box (all children, the whole authority, all deciles). Not None:
# a select box whose state is None shows no choice at all rather than the first option.
EVERYTHING = "all"


class Filters(NamedTuple):
    period: str
    group: str | None
    where: tuple[tuple[str, str], ...]  # the engine's restriction of children (Query.where)


def _memory() -> dict[str, str | None]:
    memory = st.session_state.setdefault("filters", {})
    for name in FILTER_KEYS:
        asked = st.query_params.get(name)
        if asked is not None and asked != memory.get(name):
            memory[name] = asked  # a link brought it
    return memory


def _chosen(name: str) -> None:
    """A filter widget changed: remember its value and put it in the link."""
    value = st.session_state[f"filter_{name}"]
    value = None if value == EVERYTHING else value
    st.session_state.setdefault("filters", {})[name] = value
    if value is None:
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = value


def _keyed(name: str, value, allowed=None) -> dict:
    """The arguments that tie a widget to its remembered value (set before it is drawn)."""
    key = f"filter_{name}"
    value = EVERYTHING if value is None and allowed is not None else value
    if allowed is not None and value not in allowed:
        value = allowed[0]
    # Set on every run, equal or not: on another page the same key is another widget, which
    # would otherwise start from its default.
    st.session_state[key] = value
    return {"key": key, "on_change": _chosen, "args": (name,)}


def sidebar_filters(latest: str, *, places: bool = True) -> Filters:
    """Period, group and (when ``places``) area and deprivation decile from the sidebar; the
    link's query parameters look like ``?period=2024-25&group=cp&area=ward:Ward+One&decile=1``.
    A page that cannot restrict by place passes ``places=False``: the place filters are kept
    (for the next page) but not drawn, and the page says so."""
    from framework.engine.dimensions import GROUP_LABELS
    from framework.engine.periods import Period

    memory = _memory()
    groups = [EVERYTHING, *GROUP_LABELS]
    typed = st.sidebar.text_input(
        "Period",
        help="A year (2024-25) or a half (2024-25H2)",
        **_keyed("period", memory.get("period") or latest),
    )
    group = st.sidebar.selectbox(
        "Group",
        groups,
        format_func=lambda g: "All children" if g == EVERYTHING else GROUP_LABELS[g],
        **_keyed("group", memory.get("group"), groups),
    )
    group = None if group == EVERYTHING else group
    try:
        period = Period.parse(typed).label
    except ValueError as problem:
        st.sidebar.error(str(problem))
        period = latest
    values = {"period": period, "group": group}
    if places:
        values.update(_place_filters(memory.get("area"), memory.get("decile")))
    else:
        values.update(area=memory.get("area"), decile=memory.get("decile"))
        if values["area"] or values["decile"]:
            st.sidebar.caption("The area and decile filters do not apply on this page.")
    memory.update(values)
    for name, value in values.items():
        if value is None:
            st.query_params.pop(name, None)
        else:
            st.query_params[name] = value
    where = _where(values) if places else ()
    return Filters(period, group, where)


def _place_filters(area: str | None, decile: str | None) -> dict[str, str | None]:
    found = _places(_store_key())
    areas = [
        EVERYTHING,
        *(f"{kind}:{name}" for kind in ("locality", "ward") for name in found[kind]),
    ]
    area = st.sidebar.selectbox(
        "Area",
        areas,
        format_func=lambda a: "The whole authority" if a == EVERYTHING else a.replace(":", ": ", 1),
        help="A locality or ward of the authority's own small areas (Data loaded lists them).",
        **_keyed("area", area, areas),
    )
    from framework.engine.place import IMD_DECILES

    deciles = [EVERYTHING, *IMD_DECILES]
    decile = st.sidebar.selectbox(
        "Deprivation decile",
        deciles,
        format_func=lambda d: "All deciles" if d == EVERYTHING else _decile_label(d),
        help="National IMD decile of the child's home area (1: England's most deprived tenth).",
        **_keyed("decile", decile, deciles),
    )
    return {
        "area": None if area == EVERYTHING else area,
        "decile": None if decile == EVERYTHING else decile,
    }


def _decile_label(decile: str) -> str:
    ends = {"1": " (most deprived)", "10": " (least deprived)"}
    return f"IMD decile {decile}{ends.get(decile, '')}"


def _where(values: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    where = []
    if values["area"]:
        kind, name = values["area"].split(":", 1)
        where.append((kind, name))
    if values["decile"]:
        where.append(("imd_decile", values["decile"]))
    return tuple(where)


def filter_caption(filters: Filters) -> str:
    """The filters in words, for a page's subheading: "2024-25 · children in need · ward:
    Ward One · IMD decile 1"."""
    from framework.engine.dimensions import GROUP_LABELS

    parts = [
        filters.period,
        "all children" if filters.group is None else GROUP_LABELS[filters.group],
    ]
    for dimension, value in filters.where:
        parts.append(_decile_label(value) if dimension == "imd_decile" else f"{dimension}: {value}")
    return " · ".join(parts)


def groups_view(indicator: str, period: str, where: tuple = ()):
    options = (("threshold", _threshold()), ("where", tuple(where)))
    return _view(_store_key(), "groups.groups_view", indicator, period, options)


def groups_matrix(indicator_ids: tuple[str, ...], period: str, where: tuple = ()):
    options = (("threshold", _threshold()), ("where", tuple(where)))
    return _view(_store_key(), "groups.groups_matrix", tuple(indicator_ids), period, options)


def trend_view(indicator: str, period: str, group: str | None, where: tuple = (), count=5):
    options = (*_options(group, where), ("count", count), ("events", settings().events))
    return _view(_store_key(), "trends.trend_view", indicator, period, options)


def indicator_choice(
    ids: list[str], *, label: str = "Indicator", key: str = "indicator", default: str = "B2.1"
) -> str:
    """A select box of indicators kept in the link (``?indicator=B2.1``) and the session."""
    from framework.engine.catalogue import catalogue

    asked = st.query_params.get(key) or st.session_state.get(f"chosen_{key}") or default
    chosen = st.selectbox(
        label,
        ids,
        index=ids.index(asked) if asked in ids else 0,
        format_func=lambda i: f"{i} {catalogue()[i].label}",
    )
    st.query_params[key] = chosen
    st.session_state[f"chosen_{key}"] = chosen
    return chosen


@st.cache_data(ttl=600)
def _authorities(store_key: tuple) -> tuple[dict[str, str], str | None]:
    from framework.engine import comparators

    con = _connect()
    try:
        found = comparators.authorities(con)
        home = comparators.home_authority(con, settings().la_number)
    finally:
        con.close()
    names = dict(zip(found["old_la_code"], found["area_name"], strict=True))
    return names, home


def home_authority_code() -> str | None:
    """The authority's own number (config.toml ``la_number``) when the published statistics
    hold it, else None."""
    if not store_path().exists():
        return None
    return _authorities(_store_key())[1]


def authority_choice(label: str = "Authority") -> str | None:
    """A select box of the authorities the published statistics hold, kept in the link
    (``?la=302``) and the session; the authority's own (``la_number`` in config.toml) first.
    None when no published statistics are loaded (the page then says how to load them)."""
    if not store_path().exists():
        return None
    names, home = _authorities(_store_key())
    if not names:
        return None
    codes = sorted(names, key=lambda code: (code != home, names[code]))
    asked = st.query_params.get("la") or st.session_state.get("chosen_la") or home
    chosen = st.selectbox(
        label,
        codes,
        index=codes.index(asked) if asked in codes else 0,
        format_func=lambda code: f"{names[code]} ({code})" + (" — yours" if code == home else ""),
        help="Any authority in the published statistics; yours is first.",
    )
    st.query_params["la"] = chosen
    st.session_state["chosen_la"] = chosen
    return chosen


# --- working out every year's views ahead, after each load -------------------------------------


def warm_up_in_background() -> None:
    """Once per store version and app process, before a page is drawn: start the separate,
    low-priority process that works out the protected results of every year and group the
    store covers (framework/engine/precompute.py), so that every later view is read, not
    worked out, and pages keep this process's time; and read those already worked out into
    this process's memory. Off when OUTCOMES_WARM_UP=0 (tests: ``start_in_background`` and
    ``start_reading_ahead`` check it)."""
    if not store_path().exists():
        return
    _start_precompute(_store_key())
    _start_reading_ahead(_store_key(), _threshold())


@st.cache_resource(max_entries=4, show_spinner=False)
def _start_reading_ahead(store_key: tuple, threshold: int) -> bool:
    """Once per store version and app process: read the views already worked out into this
    process's memory, in a thread, so that its first views do not each wait for a file."""
    from framework.engine.precompute import start_reading_ahead

    return start_reading_ahead(Path(store_key[0]), threshold) is not None


@st.cache_resource(max_entries=4, show_spinner=False)
def _start_precompute(store_key: tuple) -> bool:
    from framework.engine.precompute import start_in_background

    # The process reads the same settings (OUTCOMES_CONFIG is passed on in its environment).
    return start_in_background(Path(store_key[0])) is not None
