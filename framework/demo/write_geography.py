"""Demoton's reference files in the layouts of the official files they stand in for.

An authority that maps its children's outcomes works from files published by ONS and MHCLG.
The demo writes its own, fictional, versions of them, column for column, so that the readers
written for the real files can be tried on Demoton:

* ``demoton_lsoa_boundaries.geojson``: small-area polygons, named like ONS's "LSOA (Dec 2021)
  Boundaries" (``LSOA21CD``, ``LSOA21NM``; WGS84, EPSG:4326);
* ``demoton_IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv``: IMD, IDACI and IDAOPI
  ranks and deciles, laid out as MHCLG's English Indices of Deprivation 2025, File 3;
* ``demoton_lsoa21_to_ward24_to_lad24.csv``: small area to ward to district, as ONS's LSOA
  (2021) to ward (2024) to LAD (2024) lookup (in the column names of the copy kept under
  ``../shared/reference/lookups``);
* ``demoton_population_mid2024_age0-17.csv``: children by single year of age in each small area, as
  the ONS mid-2020 small-area estimates kept under ``../shared/reference/population`` (whose
  columns say ``lsoa11``: Demoton's areas keep their one set of ``X01`` codes);
* ``demoton_postcode_lookup.csv``: each postcode's small area, grid reference (British National
  Grid, EPSG:27700, whole metres) and date of termination, in the column names of ONS's
  National Statistics Postcode Lookup (NSPL).

Every value is invented and comes from the seed, like the rest of the demo. The district is
``X06000999`` (ONS codes never start with X).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import shapely
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient

from framework.demo.geography import LA_NAME, Area, Demoton, DemotonMap, build_map, to_wgs84

LAD_CODE = "X06000999"
BOUNDARIES = "demoton_lsoa_boundaries.geojson"
DEPRIVATION = "demoton_IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv"
WARD_LOOKUP = "demoton_lsoa21_to_ward24_to_lad24.csv"
POPULATION = "demoton_population_mid2024_age0-17.csv"
POSTCODE_LOOKUP = "demoton_postcode_lookup.csv"

# Column names exactly as in the official files (only the names are taken from them).
IOD_FILE_3_COLUMNS = (
    "LSOA code (2021)",
    "LSOA name (2021)",
    "Local Authority District code (2024)",
    "Local Authority District name (2024)",
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    "Income Deprivation Affecting Children Index (IDACI) Rank (where 1 is most deprived)",
    "Income Deprivation Affecting Children Index (IDACI) Decile (where 1 is most deprived 10% "
    "of LSOAs)",
    "Income Deprivation Affecting Older People (IDAOPI) Rank (where 1 is most deprived)",
    "Income Deprivation Affecting Older People (IDAOPI) Decile (where 1 is most deprived 10% of "
    "LSOAs)",
)
WARD_LOOKUP_COLUMNS = (
    "lsoa21_name",
    "lsoa21_code",
    "ward24_name",
    "ward24_code",
    "ltla24_name",
    "ltla24_code",
)
POPULATION_COLUMNS = (
    "lsoa11_code",
    "lsoa11_name",
    "total_population",
    *(f"age_{age}" for age in range(18)),
    "children_0_17",
)
POSTCODE_LOOKUP_COLUMNS = ("pcds", "lsoa21cd", "oseast1m", "osnrth1m", "doterm")

ENGLAND_LSOAS = 33_755  # LSOAs ranked in IoD2025: ranks run 1..33,755
TERMINATED_SHARE = 0.02  # postcodes no longer in use (NSPL keeps them, with doterm)
_EDGE_M = 20.0  # a postcode's point lies at least this far inside its area
_DECIMALS = 7  # degrees in the GeoJSON: about 1 cm


def write_geography(
    folder: Path, demoton: Demoton, populations: list[int], seed: int
) -> dict[str, int]:
    """Write the five files into ``folder``; returns rows (features) per file."""
    folder.mkdir(parents=True, exist_ok=True)
    demoton_map = build_map(demoton, seed)
    areas = demoton.areas
    _write_boundaries(folder / BOUNDARIES, areas, demoton_map)
    _write_csv(folder / DEPRIVATION, IOD_FILE_3_COLUMNS, _deprivation_rows(areas, seed))
    _write_csv(folder / WARD_LOOKUP, WARD_LOOKUP_COLUMNS, _ward_rows(areas))
    _write_csv(folder / POPULATION, POPULATION_COLUMNS, _population_rows(areas, populations, seed))
    postcodes = _postcode_rows(areas, demoton_map, seed)
    _write_csv(folder / POSTCODE_LOOKUP, POSTCODE_LOOKUP_COLUMNS, postcodes)
    return {
        BOUNDARIES: len(areas),
        DEPRIVATION: len(areas),
        WARD_LOOKUP: len(areas),
        POPULATION: len(areas),
        POSTCODE_LOOKUP: len(postcodes),
    }


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(columns)
        out.writerows(rows)


# --- boundaries ----------------------------------------------------------------------------------


def _write_boundaries(path: Path, areas: list[Area], demoton_map: DemotonMap) -> None:
    """A GeoJSON FeatureCollection, one feature a line (so that it can be read and diffed)."""
    polygons = to_wgs84(demoton_map.polygons)
    features = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {"LSOA21CD": area.code, "LSOA21NM": area.name},
                "geometry": _rounded(polygon),
            },
            separators=(",", ":"),
        )
        for area, polygon in zip(areas, polygons, strict=True)
    ]
    head = '{"type":"FeatureCollection","name":"demoton_lsoa_boundaries","features":[\n'
    path.write_text(head + ",\n".join(features) + "\n]}\n", encoding="utf-8")


def _rounded(polygon: Polygon) -> dict:
    """GeoJSON geometry with the outer ring anticlockwise (RFC 7946) and 7 decimals."""
    geometry = mapping(orient(polygon, sign=1.0))
    rings = [
        [[round(x, _DECIMALS), round(y, _DECIMALS)] for x, y in ring]
        for ring in geometry["coordinates"]
    ]
    return {"type": "Polygon", "coordinates": rings}


# --- deprivation ---------------------------------------------------------------------------------


def decile_band(decile: int) -> range:
    """The national ranks in an IoD2025 decile: 1-3,375 in decile 1 and so on (each decile
    holds 3,375 or 3,376 of the 33,755 LSOAs, as in File 3)."""
    return range((decile - 1) * ENGLAND_LSOAS // 10 + 1, decile * ENGLAND_LSOAS // 10 + 1)


def _deprivation_rows(areas: list[Area], seed: int) -> list[list]:
    """IMD and IDACI deciles as the demo assigns them; ranks drawn within each decile's band
    (no two of Demoton's areas share a rank, as no two LSOAs do). The demo has no older
    people: their index (IDAOPI) follows the IMD decile, give or take one or two."""
    rng = random.Random(f"demoton:{seed}:deprivation")
    idaopi = [min(10, max(1, a.imd_decile + round(rng.gauss(0.0, 1.2)))) for a in areas]
    imd_ranks = _ranks(rng, [a.imd_decile for a in areas])
    idaci_ranks = _ranks(rng, [a.idaci_decile for a in areas])
    idaopi_ranks = _ranks(rng, idaopi)
    return [
        [
            area.code,
            area.name,
            LAD_CODE,
            LA_NAME,
            imd_ranks[i],
            area.imd_decile,
            idaci_ranks[i],
            area.idaci_decile,
            idaopi_ranks[i],
            idaopi[i],
        ]
        for i, area in enumerate(areas)
    ]


def _ranks(rng: random.Random, deciles: list[int]) -> list[int]:
    """A distinct national rank for each area, inside its decile's band."""
    ranks = [0] * len(deciles)
    for decile in sorted(set(deciles)):
        members = [i for i, d in enumerate(deciles) if d == decile]
        for i, rank in zip(members, rng.sample(decile_band(decile), len(members)), strict=True):
            ranks[i] = rank
    return ranks


# --- wards ---------------------------------------------------------------------------------------


def _ward_rows(areas: list[Area]) -> list[list]:
    return [
        [area.name, area.code, area.ward_name, area.ward_code, LA_NAME, LAD_CODE] for area in areas
    ]


# --- population ----------------------------------------------------------------------------------


def _population_rows(areas: list[Area], populations: list[int], seed: int) -> list[list]:
    """The children of each area (the same numbers as ``demoton_areas.csv``, so rates per
    10,000 agree with the demo's) by single year of age, and everyone living there. Children
    are about a fifth of the people, a little more in deprived areas, as in ONS's small-area
    estimates. The age profile is nearly flat, with fewer babies (births have fallen since
    2012), and varies a little from area to area."""
    rng = random.Random(f"demoton:{seed}:population")
    rows = []
    for area, children in zip(areas, populations, strict=True):
        child_share = 0.21 + 0.006 * (5.5 - area.imd_decile) + rng.gauss(0.0, 0.015)
        total = round(children / min(0.32, max(0.14, child_share)))
        ages = _share_out(
            children, [(0.92 + 0.008 * age) * rng.uniform(0.8, 1.2) for age in range(18)]
        )
        rows.append([area.code, area.name, total, *ages, children])
    return rows


def _share_out(total: int, weights: list[float]) -> list[int]:
    """Whole numbers in proportion to ``weights`` that add up to ``total`` exactly (the
    largest remainders get the units left over)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --- postcodes -----------------------------------------------------------------------------------


def _postcode_rows(areas: list[Area], demoton_map: DemotonMap, seed: int) -> list[list]:
    """Every postcode of Demoton at a point inside its own area, in whole metres of the British
    National Grid as NSPL gives them; a few are terminated (``doterm`` as YYYYMM), as in any
    postcode directory. Rows in postcode order."""
    rng = random.Random(f"demoton:{seed}:postcode-points")
    rows = []
    for area, polygon in zip(areas, demoton_map.polygons, strict=True):
        inside = _interior(polygon)
        for postcode in area.postcodes:
            east, north = _point_in(rng, inside)
            ended = ""
            if rng.random() < TERMINATED_SHARE:
                ended = f"{rng.randint(2016, 2025)}{rng.randint(1, 12):02d}"
            rows.append([postcode, area.code, east, north, ended])
    return sorted(rows, key=lambda row: _postcode_order(row[0]))


def _interior(polygon: Polygon) -> Polygon:
    """The polygon less a margin, so a point rounded to the metre and reprojected stays in
    (small areas are at least a hundred metres across, so the margin always leaves room)."""
    inner = polygon.buffer(-_EDGE_M)
    return inner if not inner.is_empty else polygon.buffer(-_EDGE_M / 4)


def _point_in(rng: random.Random, polygon: Polygon) -> tuple[int, int]:
    minx, miny, maxx, maxy = polygon.bounds
    while True:
        east, north = round(rng.uniform(minx, maxx)), round(rng.uniform(miny, maxy))
        if shapely.contains_xy(polygon, east, north):
            return east, north


def _postcode_order(postcode: str) -> tuple[str, int, str]:
    """Sort key that puts QX2 before QX10, as a padded postcode (NSPL's ``pcd``) would."""
    outward, inward = postcode.split(" ")
    letters = outward.rstrip("0123456789")
    return letters, int(outward[len(letters) :]), inward
