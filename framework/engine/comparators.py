"""Who an authority is compared with: England, its region and its statistical neighbours.

Everything here reads the published tables of the store (``published_statistics`` and
``statistical_neighbours``, loaded from DfE's files by ``framework.sources.published``), so the
same code serves the demo's fictional authorities and the real published files:

* ``authorities(con)``: every local authority the published statistics name, with its DfE
  ("old") number, ONS code, name and region, from its most recent row;
* ``neighbours(con, old_la_code)``: its ten statistical neighbours in the newest model loaded
  (DfE 2025 when present), closest first, with DfE's closeness band as published;
* ``comparators(con, old_la_code)``: the authority, its neighbours, its region and England as
  one small table, the rows every benchmarking and funding chart draws.

An authority's number is kept as text (``"999"``): DfE's numbers have three digits and some files
write them as ``305.0``; ``la_number`` normalises both.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

NATIONAL = "National"
REGIONAL = "Regional"
LOCAL_AUTHORITY = "Local authority"
# Roles of the rows of ``comparators``, in the order charts list them.
AUTHORITY, NEIGHBOUR, REGION, ENGLAND = "authority", "neighbour", "region", "england"
ROLES = (AUTHORITY, NEIGHBOUR, REGION, ENGLAND)
COMPARATOR_COLUMNS = ["role", "rank", "geographic_level", "area_code", "old_la_code", "area_name"]
COMPARATOR_COLUMNS += ["closeness"]


def la_number(value: object) -> str | None:
    """A DfE authority number as three digits of text ("305.0" and 305 → "305")."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text.zfill(3) if text.isdigit() else (text or None)


def authorities(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per authority the published statistics name: old_la_code, area_code, area_name,
    region_code, region_name (from ``authority_regions``; missing when no file gave it),
    sorted by name. Names and codes are the newest published."""
    frame = con.execute(
        """
        SELECT old_la_code, area_code, area_name, max(time_period) AS newest
        FROM published_statistics
        WHERE geographic_level = $level AND old_la_code IS NOT NULL
        GROUP BY ALL
        """,
        {"level": LOCAL_AUTHORITY},
    ).df()
    columns = ["old_la_code", "area_code", "area_name", "region_code", "region_name"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["old_la_code"] = frame["old_la_code"].map(la_number)
    newest = frame.sort_values("newest").drop_duplicates("old_la_code", keep="last")
    regions = con.execute("SELECT area_code, region_code, region_name FROM authority_regions").df()
    out = newest.merge(regions, on="area_code", how="left")
    return out[columns].sort_values("area_name").reset_index(drop=True)


def newest_model(con: duckdb.DuckDBPyConnection) -> str | None:
    """The newest statistical-neighbour model loaded ("2025" before "2021"), or None."""
    row = con.execute("SELECT max(model) FROM statistical_neighbours").fetchone()
    return row[0] if row and row[0] else None


def neighbours(con: duckdb.DuckDBPyConnection, old_la_code: str) -> pd.DataFrame:
    """The authority's neighbours in the newest model: rank, old_la_code, la_name (from the
    neighbour's own row, else the published statistics), closeness. Empty when unknown."""
    model = newest_model(con)
    columns = ["rank", "old_la_code", "la_name", "closeness"]
    if model is None:
        return pd.DataFrame(columns=columns)
    rows = con.execute(
        """
        SELECT n.rank, n.neighbour_old_la_code AS old_la_code, n.closeness
        FROM statistical_neighbours n
        WHERE n.model = $model AND n.old_la_code = $code
        ORDER BY n.rank
        """,
        {"model": model, "code": la_number(old_la_code)},
    ).df()
    rows["old_la_code"] = rows["old_la_code"].map(la_number)
    names = _names(con, model)
    rows["la_name"] = rows["old_la_code"].map(names)
    return rows[columns].reset_index(drop=True)


def _names(con: duckdb.DuckDBPyConnection, model: str) -> dict[str, str]:
    """Authority names by number: the neighbour model's own rows, then published rows."""
    found = {}
    for code, name in con.execute(
        """
        SELECT old_la_code, any_value(area_name) FROM published_statistics
        WHERE geographic_level = $level AND old_la_code IS NOT NULL GROUP BY 1
        """,
        {"level": LOCAL_AUTHORITY},
    ).fetchall():
        found[la_number(code)] = name
    for code, name in con.execute(
        "SELECT old_la_code, any_value(la_name) FROM statistical_neighbours "
        "WHERE model = $model GROUP BY 1",
        {"model": model},
    ).fetchall():
        found[la_number(code)] = name
    return found


@dataclass(frozen=True)
class Region:
    code: str | None
    name: str | None


def region_of(con: duckdb.DuckDBPyConnection, old_la_code: str) -> Region:
    """The authority's region as the published files give it (``authority_regions``), or
    Region(None, None) when no file loaded named it."""
    row = con.execute(
        """
        SELECT region_code, region_name FROM authority_regions
        WHERE old_la_code IN ($code, $code || '.0') LIMIT 1
        """,
        {"code": la_number(old_la_code)},
    ).fetchone()
    return Region(*row) if row else Region(None, None)


def home_authority(con: duckdb.DuckDBPyConnection, la_number_setting: str) -> str | None:
    """The configured authority's number when the published statistics hold it, else None
    (the pages then ask which authority to show)."""
    code = la_number(la_number_setting)
    known = set(authorities(con)["old_la_code"])
    return code if code in known else None


def comparators(con: duckdb.DuckDBPyConnection, old_la_code: str) -> pd.DataFrame:
    """The rows a comparison draws, in order: the authority, its neighbours (rank 1-10, with
    closeness), its region, England. Columns ``COMPARATOR_COLUMNS``; an area the published
    statistics do not hold is still listed (its figures will be missing)."""
    code = la_number(old_la_code)
    known = authorities(con).set_index("old_la_code")
    rows = [_authority_row(AUTHORITY, 0, code, known, None)]
    for item in neighbours(con, code).itertuples(index=False):
        rows.append(_authority_row(NEIGHBOUR, item.rank, item.old_la_code, known, item.closeness))
        if rows[-1]["area_name"] is None:
            rows[-1]["area_name"] = item.la_name
    region = region_of(con, code)
    if region.code is not None:
        rows.append(_area_row(REGION, REGIONAL, region.code, region.name))
    england = con.execute(
        "SELECT area_code, any_value(area_name) FROM published_statistics "
        "WHERE geographic_level = $level GROUP BY 1 LIMIT 1",
        {"level": NATIONAL},
    ).fetchone()
    if england:
        rows.append(_area_row(ENGLAND, NATIONAL, *england))
    return pd.DataFrame(rows, columns=COMPARATOR_COLUMNS)


def _authority_row(role: str, rank: int, code: str, known: pd.DataFrame, closeness) -> dict:
    found = code in known.index
    return {
        "role": role,
        "rank": rank,
        "geographic_level": LOCAL_AUTHORITY,
        "area_code": known.at[code, "area_code"] if found else None,
        "old_la_code": code,
        "area_name": known.at[code, "area_name"] if found else None,
        "closeness": closeness,
    }


def _area_row(role: str, level: str, area_code: str, area_name: str) -> dict:
    return {
        "role": role,
        "rank": 0,
        "geographic_level": level,
        "area_code": area_code,
        "old_la_code": None,
        "area_name": area_name,
        "closeness": None,
    }
