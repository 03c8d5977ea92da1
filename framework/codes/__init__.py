"""Code lists of the statutory returns, kept as CSV data files beside this module.

Each CSV has at least ``code`` and ``meaning``; some add a grouping column (e.g. ``group``,
``suitable``, ``eet``) and ``valid_from`` / ``valid_to``, the first and last collection *end
years* in which a code is valid (blank means no limit). So ``K3`` with ``valid_from = 2025`` is
valid from the 2024-25 return on.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

CODE_DIR = Path(__file__).parent


@cache
def code_table(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a code list as dicts (cached; treat as read-only)."""
    path = CODE_DIR / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _valid_in(row: dict[str, str], year: int | None) -> bool:
    if year is None:
        return True
    start, end = row.get("valid_from") or "", row.get("valid_to") or ""
    return (not start or year >= int(start)) and (not end or year <= int(end))


@cache
def codes(name: str, year: int | None = None) -> frozenset[str]:
    """The set of valid codes of a list, for a collection end year if given."""
    return frozenset(row["code"] for row in code_table(name) if _valid_in(row, year))


@cache
def meanings(name: str) -> dict[str, str]:
    return {row["code"]: row["meaning"] for row in code_table(name)}


@cache
def attribute(name: str, column: str) -> dict[str, str]:
    """Map code -> another column of the list (e.g. placement_type -> group)."""
    return {row["code"]: row[column] for row in code_table(name)}


def describe(name: str, year: int | None = None, limit: int = 12) -> str:
    """The valid codes in words, for 'expected ...' messages."""
    valid = sorted(codes(name, year), key=lambda c: (len(c), c))
    shown = ", ".join(valid[:limit])
    more = f" (and {len(valid) - limit} more)" if len(valid) > limit else ""
    return f"one of {shown}{more}"


def available() -> list[str]:
    return sorted(p.stem for p in CODE_DIR.glob("*.csv"))
