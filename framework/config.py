"""The authority's settings, from ``config.toml`` at the project root.

``OUTCOMES_CONFIG`` may point at another file (useful for tests and for running several
authorities side by side). Relative paths in the file are relative to the file itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"


@dataclass(frozen=True)
class Settings:
    authority_name: str
    la_number: str
    store_path: Path
    demo_directory: Path
    demo_store: Path
    demo_children: int
    demo_years: int
    demo_seed: int
    demo_end_year: int
    key_env: str
    key_file: Path
    disclosure_threshold: int
    source: Path
    # The authority's own events for trend charts: (ISO date, label, kind), oldest first.
    events: tuple[tuple[str, str, str], ...] = ()
    # The key of the id map (pseudonym -> the authority's child id, framework/idmap.py): an
    # environment variable, else a key file outside the project.
    idmap_key_env: str = "OUTCOMES_IDMAP_KEY"
    idmap_key_file: Path = Path(os.path.expanduser("~/.config/outcomes-explorer/idmap.key"))


def _path(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path)


def load_settings(path: Path | None = None) -> Settings:
    path = Path(path or os.environ.get("OUTCOMES_CONFIG") or DEFAULT_CONFIG)
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    base = path.resolve().parent
    authority, store, demo = raw["authority"], raw["store"], raw["demo"]
    privacy, disclosure = raw["privacy"], raw["disclosure"]
    return Settings(
        authority_name=authority["name"],
        la_number=str(authority["la_number"]),
        store_path=_path(base, store["path"]),
        demo_directory=_path(base, demo["directory"]),
        demo_store=_path(base, demo["store"]),
        demo_children=int(demo["children"]),
        demo_years=int(demo["years"]),
        demo_seed=int(demo["seed"]),
        demo_end_year=int(demo["end_year"]),
        key_env=privacy["key_env"],
        key_file=_path(base, privacy["key_file"]),
        disclosure_threshold=int(disclosure["threshold"]),
        source=path,
        events=_events(raw.get("event", []), path),
        idmap_key_env=privacy.get("idmap_key_env", "OUTCOMES_IDMAP_KEY"),
        idmap_key_file=_path(
            base, privacy.get("idmap_key_file", "~/.config/outcomes-explorer/idmap.key")
        ),
    )


EVENT_KINDS = ("restructure", "practice model", "inspection", "leadership", "other")


def _events(raw: list, path: Path) -> tuple[tuple[str, str, str], ...]:
    """The ``[[event]]`` tables, checked: a date (2024-09-01), a label and a kind."""
    events = []
    for number, event in enumerate(raw, start=1):
        day, label, kind = event.get("date"), event.get("label"), event.get("kind", "other")
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"{path}: event {number}: date must be a date such as 2024-09-01")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{path}: event {number}: a label is needed")
        if kind not in EVENT_KINDS:
            raise ValueError(
                f"{path}: event {number}: kind {kind!r} is not one of {', '.join(EVENT_KINDS)}"
            )
        events.append((day.isoformat(), label.strip(), kind))
    return tuple(sorted(events))


def showing_demo(settings: Settings) -> bool:
    """Whether the app shows the fictional demo authority rather than the authority's own
    store: OUTCOMES_MODE=demo or =local decides; unset, the authority's store is shown as soon
    as it exists (a first upload or `python -m framework load` creates it), the demo before."""
    mode = os.environ.get("OUTCOMES_MODE")
    if mode in ("demo", "local"):
        return mode == "demo"
    return not settings.store_path.exists()


def shown_store(settings: Settings) -> Path:
    """The store the app shows (see ``showing_demo``)."""
    return settings.demo_store if showing_demo(settings) else settings.store_path
