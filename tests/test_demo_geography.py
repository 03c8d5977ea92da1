"""Demoton's map and its reference files in the official layouts: polygons that tile the
outline, wards and localities that are single patches, postcodes inside their own areas,
headers equal to the official files', deciles that agree with the areas file, a map at sea,
and files that depend on the seed alone.

The official files are read (headers only, and the England LSOA bounds) from
``../shared/reference`` when it is there; those comparisons are skipped without it.
"""

from __future__ import annotations

import csv
import gzip
import random
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from framework.demo import write_geography as wg
from framework.demo.generator import generate_demo
from framework.demo.geography import build_demoton, build_map, demoton_outline, to_bng
from framework.demo.params import Geography
from framework.load import discover

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
OFFICIAL = {
    wg.DEPRIVATION: REFERENCE
    / "deprivation"
    / "IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv.gz",
    wg.WARD_LOOKUP: REFERENCE / "lookups" / "lsoa21_to_ward24_to_lad24_ew.csv",
    wg.POPULATION: REFERENCE / "population" / "ons_mid2020_lsoa11_population_age0-17_england.csv",
}
ENGLAND_LSOAS = REFERENCE / "geography" / "lsoa21_bsc_england.geojson"
NEW_FILES = [wg.BOUNDARIES, wg.DEPRIVATION, wg.WARD_LOOKUP, wg.POPULATION, wg.POSTCODE_LOOKUP]
SEED = 23


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("geo") / "demoton"
    generate_demo(out, children=500, years=2, seed=SEED, end_year=2026)
    return out / "reference"


@pytest.fixture(scope="module")
def boundaries(reference) -> gpd.GeoDataFrame:
    return gpd.read_file(reference / wg.BOUNDARIES)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle))


def single_patches(polygons_by_group: dict[str, list]) -> list[str]:
    """Groups whose polygons do not merge into one Polygon."""
    return [
        group
        for group, polygons in polygons_by_group.items()
        if shapely.union_all(polygons).geom_type != "Polygon"
    ]


# --- polygons ------------------------------------------------------------------------------------


def test_one_valid_polygon_per_area_with_ons_field_names(reference, boundaries):
    areas = [row["area_code"] for row in rows(reference / "demoton_areas.csv")]
    assert list(boundaries["LSOA21CD"]) == areas
    assert set(boundaries.columns) == {"LSOA21CD", "LSOA21NM", "geometry"}
    assert boundaries.crs.to_epsg() == 4326
    assert (boundaries.geom_type == "Polygon").all()
    assert boundaries.is_valid.all()
    names = {row["area_code"]: row["area_name"] for row in rows(reference / "demoton_areas.csv")}
    assert dict(zip(boundaries["LSOA21CD"], boundaries["LSOA21NM"], strict=True)) == names


def test_polygons_tile_the_outline_without_overlaps(boundaries):
    polygons = np.asarray(to_bng(boundaries.geometry.values), dtype=object)
    left, right = shapely.STRtree(polygons).query(polygons, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(polygons[left[pairs]], polygons[right[pairs]]))
    assert overlap.sum() < 1.0  # square metres, over the whole authority
    outline = demoton_outline(SEED)
    union = shapely.union_all(polygons)
    assert union.geom_type == "Polygon"
    assert union.area == pytest.approx(outline.area, rel=1e-4)
    assert union.symmetric_difference(outline).area < 1e-4 * outline.area
    assert 15_000 <= outline.bounds[2] - outline.bounds[0] <= 25_000


def test_wards_and_localities_are_single_patches(reference, boundaries):
    polygon = dict(zip(boundaries["LSOA21CD"], boundaries.geometry, strict=True))
    wards, localities = defaultdict(list), defaultdict(list)
    for row in rows(reference / "demoton_areas.csv"):
        wards[row["ward_code"]].append(polygon[row["area_code"]])
        localities[row["locality"]].append(polygon[row["area_code"]])
    assert len(wards) > 1
    assert not single_patches(wards)
    assert not single_patches(localities)


@pytest.mark.parametrize(("n_areas", "seed"), [(10, 1), (60, 2), (250, 3), (250, 4)])
def test_larger_maps_keep_wards_whole_and_deprivation_near_the_town(n_areas, seed):
    demoton = build_demoton(random.Random(f"test:{seed}"), n_areas, Geography())
    demoton_map = build_map(demoton, seed)
    wards, localities = defaultdict(list), defaultdict(list)
    for area, polygon in zip(demoton.areas, demoton_map.polygons, strict=True):
        wards[area.ward_code].append(polygon)
        localities[area.locality].append(polygon)
    assert not single_patches(wards)
    assert not single_patches(localities)
    assert shapely.union_all(demoton_map.polygons).area == pytest.approx(
        demoton_map.outline.area, rel=1e-4
    )
    if n_areas >= 60:  # the most deprived areas lie near the town centre
        distance = [p.centroid.distance(demoton_map.town_centre) for p in demoton_map.polygons]
        deciles = [area.imd_decile for area in demoton.areas]
        assert np.corrcoef(distance, deciles)[0, 1] > 0.3


def test_the_map_lies_at_sea_away_from_every_real_lsoa(boundaries):
    west, south, east, north = boundaries.total_bounds
    assert west > 1.9  # no English LSOA reaches 1.9°E (Lowestoft Ness is at 1.76°E)
    assert 54.4 < south < north < 55.0 and east < 3.1  # the Dogger Bank
    if ENGLAND_LSOAS.is_file():
        import pyogrio

        info = pyogrio.read_info(ENGLAND_LSOAS, force_total_bounds=True)
        assert west > info["total_bounds"][2] + 0.3  # some 20 km east of the easternmost


# --- postcodes -----------------------------------------------------------------------------------


def test_every_postcode_lies_inside_its_own_area(reference, boundaries):
    lookup = rows(reference / wg.POSTCODE_LOOKUP)
    existing = {r["postcode"]: r["area_code"] for r in rows(reference / "demoton_postcodes.csv")}
    assert {r["pcds"]: r["lsoa21cd"] for r in lookup} == existing
    points = gpd.GeoSeries(
        gpd.points_from_xy(
            [int(r["oseast1m"]) for r in lookup], [int(r["osnrth1m"]) for r in lookup]
        ),
        crs=27700,
    ).to_crs(4326)
    polygon = dict(zip(boundaries["LSOA21CD"], boundaries.geometry, strict=True))
    outside = [
        r["pcds"]
        for r, point in zip(lookup, points, strict=True)
        if not polygon[r["lsoa21cd"]].contains(point)
    ]
    assert not outside


def test_a_few_postcodes_are_terminated(reference):
    ended = [r["doterm"] for r in rows(reference / wg.POSTCODE_LOOKUP) if r["doterm"]]
    total = len(rows(reference / wg.POSTCODE_LOOKUP))
    assert 0 < len(ended) < 0.06 * total
    assert all(len(d) == 6 and 2016 <= int(d[:4]) <= 2025 and 1 <= int(d[4:]) <= 12 for d in ended)


# --- layouts and agreement with the areas file ---------------------------------------------------


def test_headers_equal_the_official_files(reference):
    assert header(reference / wg.DEPRIVATION) == list(wg.IOD_FILE_3_COLUMNS)
    assert header(reference / wg.WARD_LOOKUP) == list(wg.WARD_LOOKUP_COLUMNS)
    assert header(reference / wg.POPULATION) == list(wg.POPULATION_COLUMNS)
    assert header(reference / wg.POSTCODE_LOOKUP) == [
        "pcds",
        "lsoa21cd",
        "oseast1m",
        "osnrth1m",
        "doterm",
    ]
    present = {name: path for name, path in OFFICIAL.items() if path.is_file()}
    if not present:
        pytest.skip("../shared/reference (the official files) is not available")
    for name, path in present.items():
        assert header(reference / name) == header(path), name


def test_decile_bands_are_those_of_iod2025():
    bands = [wg.decile_band(d) for d in range(1, 11)]
    assert bands[0].start == 1 and bands[-1].stop - 1 == wg.ENGLAND_LSOAS
    assert all(a.stop == b.start for a, b in pairwise(bands))
    assert {len(b) for b in bands} == {3375, 3376}
    official = OFFICIAL[wg.DEPRIVATION]
    if official.is_file():
        import pandas as pd

        columns = list(wg.IOD_FILE_3_COLUMNS)
        iod = pd.read_csv(official, usecols=columns[4:6])
        for decile, ranks in iod.groupby(columns[5])[columns[4]]:
            assert range(ranks.min(), ranks.max() + 1) == wg.decile_band(decile)


def test_deprivation_file_agrees_with_the_areas(reference):
    areas = {r["area_code"]: r for r in rows(reference / "demoton_areas.csv")}
    iod = rows(reference / wg.DEPRIVATION)
    columns = wg.IOD_FILE_3_COLUMNS
    assert [r[columns[0]] for r in iod] == list(areas)
    for row in iod:
        area = areas[row[columns[0]]]
        assert row[columns[1]] == area["area_name"]
        assert row[columns[2]] == "X06000999" and row[columns[3]] == "Demoton"
        assert row[columns[5]] == area["imd_decile"]
        assert row[columns[7]] == area["idaci_decile"]
        for rank, decile in ((4, 5), (6, 7), (8, 9)):
            assert int(row[columns[rank]]) in wg.decile_band(int(row[columns[decile]]))
    for rank in (4, 6, 8):
        assert len({r[columns[rank]] for r in iod}) == len(iod)  # ranks are unique


def test_ward_lookup_and_population_agree_with_the_areas(reference):
    areas = rows(reference / "demoton_areas.csv")
    wards = rows(reference / wg.WARD_LOOKUP)
    assert [
        (w["lsoa21_code"], w["lsoa21_name"], w["ward24_code"], w["ward24_name"]) for w in wards
    ] == [(a["area_code"], a["area_name"], a["ward_code"], a["ward_name"]) for a in areas]
    assert {(w["ltla24_code"], w["ltla24_name"]) for w in wards} == {("X06000999", "Demoton")}
    population = rows(reference / wg.POPULATION)
    assert [p["lsoa11_code"] for p in population] == [a["area_code"] for a in areas]
    for people, area in zip(population, areas, strict=True):
        children = int(people["children_0_17"])
        assert children == int(area["children_0_17"])
        assert sum(int(people[f"age_{age}"]) for age in range(18)) == children
        assert 3 * children < int(people["total_population"]) < 8 * children


# --- determinism and loading ---------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_files(reference, tmp_path):
    generate_demo(tmp_path / "again", children=500, years=2, seed=SEED, end_year=2026)
    for name in NEW_FILES:
        assert (tmp_path / "again" / "reference" / name).read_bytes() == (
            reference / name
        ).read_bytes(), name


def test_a_load_leaves_the_official_layouts_aside(reference):
    found, ignored = discover([reference])
    assert sorted(p.name for p in found) == ["demoton_areas.csv", "demoton_postcodes.csv"]
    assert sorted(ignored) == sorted(NEW_FILES)
