"""Demoton: a fictional authority's small areas, wards, localities, postcodes and map.

Nothing here may be mistaken for a real place. Area codes start ``X01`` and ward codes ``X05``
(ONS never issues an ``X`` prefix); postcodes start ``QX`` (no real UK postcode area starts
with Q). The locality names are invented compounds. Districts QX1-QX89 are Demoton's;
QX90-QX99 stand for placements outside the authority and are deliberately absent from the
postcode lookup. The map (``build_map``) lies at sea, on the Dogger Bank, where nobody lives.
"""

from __future__ import annotations

import csv
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from framework.demo.params import Geography

LA_NUMBER = "999"
LA_NAME = "Demoton"
OUT_OF_AREA_DISTRICTS = range(90, 100)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in real inward codes
_WARD_SUFFIXES = (
    "Central",
    "North",
    "South",
    "East",
    "West",
    "Park",
    "Green",
    "Heath",
    "Vale",
    "Common",
    "Fields",
    "Hill",
    "Moor",
    "Cross",
    "Lanes",
    "Meadows",
)


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    ward_code: str
    ward_name: str
    locality: str
    imd_decile: int
    idaci_decile: int
    weight: float  # relative child population
    postcodes: tuple[str, ...]


class Demoton:
    """The areas of the demo authority, and how new children are spread across them."""

    def __init__(self, areas: list[Area], out_of_area: list[str], settings: Geography):
        self.areas = areas
        self.out_of_area_postcodes = out_of_area
        self.settings = settings
        risk = settings.referral_risk_by_decile
        self._cumulative = list(accumulate(a.weight * risk[a.imd_decile - 1] for a in areas))

    def pick_area(self, rng: random.Random) -> int:
        """An area for a newly referred child: population times deprivation risk."""
        u = rng.random() * self._cumulative[-1]
        return min(bisect_right(self._cumulative, u), len(self.areas) - 1)

    def postcode_in(self, rng: random.Random, area: int) -> str:
        return rng.choice(self.areas[area].postcodes)

    def out_of_area(self, rng: random.Random) -> str:
        return rng.choice(self.out_of_area_postcodes)

    def any_postcode(self, rng: random.Random) -> str:
        return self.postcode_in(rng, rng.randrange(len(self.areas)))

    def escalation_risk(self, area: int) -> float:
        if area < 0:
            return 1.0
        return self.settings.escalation_risk_by_decile[self.areas[area].imd_decile - 1]

    def populations(self, total: float) -> list[int]:
        """Children aged 0-17 per area, sharing ``total`` by the areas' weights."""
        weight = sum(a.weight for a in self.areas)
        return [max(1, round(total * a.weight / weight)) for a in self.areas]

    def write_reference(self, folder: Path, populations: list[int]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "demoton_areas.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(
                [
                    "area_code",
                    "area_name",
                    "ward_code",
                    "ward_name",
                    "locality",
                    "imd_decile",
                    "idaci_decile",
                    "children_0_17",
                ]
            )
            for area, population in zip(self.areas, populations, strict=True):
                out.writerow(
                    [
                        area.code,
                        area.name,
                        area.ward_code,
                        area.ward_name,
                        area.locality,
                        area.imd_decile,
                        area.idaci_decile,
                        population,
                    ]
                )
        with (folder / "demoton_postcodes.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(["postcode", "area_code"])
            for area in self.areas:
                for postcode in area.postcodes:
                    out.writerow([postcode, area.code])


def build_demoton(rng: random.Random, n_areas: int, settings: Geography) -> Demoton:
    """Areas clustered by deprivation into wards and localities, each with postcodes."""
    deciles = _area_deciles(rng, n_areas, settings)
    localities = _split(n_areas, len(settings.localities), rng)
    areas: list[Area] = []
    per_district = max(8, math.ceil(n_areas / 89))
    used: set[str] = set()
    ward_number = 0
    index = 0
    for locality_name, size in zip(settings.localities, localities, strict=True):
        wards = _split_into_wards(size, settings.areas_per_ward, rng)
        for ward_in_locality, ward_size in enumerate(wards):
            ward_number += 1
            ward_code = f"X05{ward_number:06d}"
            ward_name = _ward_name(locality_name, ward_in_locality)
            for _ in range(ward_size):
                district = index // per_district + 1
                count = rng.randint(*settings.postcodes_per_area)
                postcodes = tuple(_new_postcode(rng, district, used) for _ in range(count))
                imd = deciles[index]
                idaci = min(10, max(1, imd + round(rng.gauss(0.0, 1.1))))
                areas.append(
                    Area(
                        code=f"X01{index + 1:06d}",
                        name=f"{LA_NAME} {index // 4 + 1:03d}{'ABCD'[index % 4]}",
                        ward_code=ward_code,
                        ward_name=ward_name,
                        locality=locality_name,
                        imd_decile=imd,
                        idaci_decile=idaci,
                        weight=math.exp(rng.gauss(0.0, 0.15)),
                        postcodes=postcodes,
                    )
                )
                index += 1
    outside = [
        _new_postcode(rng, rng.choice(OUT_OF_AREA_DISTRICTS), used)
        for _ in range(max(200, n_areas * 2))
    ]
    return Demoton(areas, outside, settings)


def _area_deciles(rng: random.Random, n_areas: int, settings: Geography) -> list[int]:
    """IMD deciles drawn from the authority's skew, then ordered with noise so that
    deprived areas sit together (neighbouring areas, wards and localities resemble each
    other, as real ones do)."""
    cumulative = list(accumulate(settings.imd_decile_shares))
    drawn = [
        min(bisect_right(cumulative, rng.random() * cumulative[-1]) + 1, 10) for _ in range(n_areas)
    ]
    keyed = sorted((decile + rng.gauss(0.0, 2.0), i, decile) for i, decile in enumerate(drawn))
    return [decile for _, _, decile in keyed]


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """Share ``total`` areas between ``parts`` localities of somewhat different sizes."""
    weights = [0.8 + 0.4 * rng.random() for _ in range(parts)]
    sizes = [max(1, int(total * w / sum(weights))) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def _split_into_wards(size: int, bounds: tuple[int, int], rng: random.Random) -> list[int]:
    wards = []
    remaining = size
    while remaining > 0:
        take = min(remaining, rng.randint(*bounds))
        if 0 < remaining - take < bounds[0] and wards:
            take = remaining  # fold a small remainder into this ward
        wards.append(take)
        remaining -= take
    return wards


def _ward_name(locality: str, number: int) -> str:
    suffix = _WARD_SUFFIXES[number % len(_WARD_SUFFIXES)]
    lap = number // len(_WARD_SUFFIXES)
    return f"{locality} {suffix}" + (f" {lap + 1}" if lap else "")


def _new_postcode(rng: random.Random, district: int, used: set[str]) -> str:
    while True:
        inward = f"{rng.randrange(10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
        postcode = f"QX{district} {inward}"
        if postcode not in used:
            used.add(postcode)
            return postcode


# --- the map -------------------------------------------------------------------------------------
#
# Demoton is drawn on the Dogger Bank, a sandbank in the North Sea some 180 km off the Yorkshire
# coast: nobody lives there, so no polygon can be mistaken for a real place. The map is made in
# British National Grid metres (EPSG:27700), where distances are plain, and written in WGS84
# (EPSG:4326) like ONS's boundary files. Why 2.7°E: pyproj (so geopandas) picks the datum shift
# point by point from each operation's area of use, and between about 2.0°E and 2.4°E it picks
# different ones going to and from the grid (a 130 m jump). East of 2.5°E both directions use
# the same (no shift), so the two stay consistent; ``build_map`` checks that they do.

MAP_CENTRE = (2.7, 54.7)  # longitude, latitude
MAP_RADIUS_M = 9_500.0  # mean radius: the outline is about 16-22 km across
BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
_OUTLINE_VERTICES = 120
_TOWN_SCALE_M = 2_500.0  # homes thin out over this distance from the town centre...
_RURAL_DENSITY = 0.08  # ...to this share of the town centre's density
_SPACING = 0.65  # no two seed points closer than this share of the local spacing
_GRID_M = 1.0  # polygons are snapped to a 1 m grid (drops Voronoi edges shorter than that)
_ATTEMPTS = 50
_STARTS = 100  # starting cells tried for a region before drawing other points


@dataclass(frozen=True)
class DemotonMap:
    """Demoton's outline and each small area's polygon, in British National Grid metres."""

    outline: Polygon
    town_centre: Point
    polygons: list[Polygon]  # polygons[i] belongs to Demoton.areas[i]


class _Stuck(Exception):
    """A region could not grow to its size without cutting the cells left over in two."""


def build_map(demoton: Demoton, seed: int) -> DemotonMap:
    """A polygon for every area: a Voronoi tessellation of the outline, dense around a town
    centre, whose cells are dealt to the areas so that localities and wards come out as
    contiguous patches and deprivation falls away from the town (see ``_deal_cells``)."""
    outline = demoton_outline(seed)
    _check_round_trip(outline)
    rng = np.random.default_rng(random.Random(f"demoton:{seed}:map").getrandbits(64))
    town = _town_centre(rng, outline)
    sweep_from = float(rng.uniform(0.0, 2 * math.pi))
    for _ in range(_ATTEMPTS):  # a retry is rare: a cell cut in two, or a region boxed in
        cells = _voronoi_cells(_seed_points(rng, outline, town, len(demoton.areas)), outline)
        if cells is None:
            continue
        try:
            cell_of = _deal_cells(demoton.areas, cells, town, sweep_from)
        except _Stuck:
            continue
        return DemotonMap(outline, town, [cells[cell] for cell in cell_of])
    raise RuntimeError(f"no map could be drawn for {len(demoton.areas)} areas")


def demoton_outline(seed: int) -> Polygon:
    """The authority's boundary (BNG metres): a circle whose radius wobbles by a few smooth
    harmonics. Only long waves, so the outline has no narrow bays that could cut a small area
    in two. It depends on the seed alone, so tests can rebuild it."""
    rng = random.Random(f"demoton:{seed}:outline")
    centre_x, centre_y = _transformer(WGS84, BNG).transform(*MAP_CENTRE)
    waves = [
        (k, 0.16 / k * rng.uniform(0.5, 1.0), rng.uniform(0.0, 2 * math.pi)) for k in (2, 3, 4, 5)
    ]
    ring = []
    for step in range(_OUTLINE_VERTICES):
        theta = 2 * math.pi * step / _OUTLINE_VERTICES
        radius = MAP_RADIUS_M * (1 + sum(a * math.cos(k * theta + phase) for k, a, phase in waves))
        ring.append((centre_x + radius * math.cos(theta), centre_y + radius * math.sin(theta)))
    return shapely.set_precision(Polygon(ring), _GRID_M)


def to_wgs84(geometry):
    """A geometry (or array of them) from British National Grid metres to WGS84 degrees."""
    return _reproject(geometry, BNG, WGS84)


def to_bng(geometry):
    """A geometry (or array of them) from WGS84 degrees to British National Grid metres."""
    return _reproject(geometry, WGS84, BNG)


def _reproject(geometry, source: str, target: str):
    transformer = _transformer(source, target)

    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, move)


def _check_round_trip(outline: Polygon) -> None:
    """Grid to degrees and back must return within a metre everywhere on the map; if a PROJ
    release chose datum shifts differently here, polygons and postcodes would part."""
    back = shapely.get_coordinates(to_bng(to_wgs84(outline)))
    if np.abs(back - shapely.get_coordinates(outline)).max() > 1.0:
        raise RuntimeError("pyproj does not transform Demoton's map consistently both ways")


@cache
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def _town_centre(rng: np.random.Generator, outline: Polygon) -> Point:
    """Off the middle, as towns are: a quarter of the way out in a random direction."""
    middle = outline.centroid
    theta = rng.uniform(0.0, 2 * math.pi)
    reach = 0.25 * MAP_RADIUS_M
    return Point(middle.x + reach * math.cos(theta), middle.y + reach * math.sin(theta))


def _density(xy: np.ndarray, town: Point) -> np.ndarray:
    """Relative density of homes (so of small areas, which hold similar numbers of people)."""
    distance = np.hypot(xy[:, 0] - town.x, xy[:, 1] - town.y)
    return np.exp(-distance / _TOWN_SCALE_M) + _RURAL_DENSITY


def _uniform_in(rng: np.random.Generator, outline: Polygon, count: int) -> np.ndarray:
    """Points spread evenly over the outline (about ``count`` draws, those inside kept)."""
    minx, miny, maxx, maxy = outline.bounds
    xy = rng.uniform((minx, miny), (maxx, maxy), size=(count, 2))
    return xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]


def _seed_points(rng: np.random.Generator, outline: Polygon, town: Point, n: int) -> np.ndarray:
    """``n`` points, denser near the town, none nearer another than a share of the local
    spacing: without that rule random points make slivers of cells."""
    mass = outline.area * _density(_uniform_in(rng, outline, 20_000), town).mean()
    points = np.empty((n, 2))
    count, closeness = 0, _SPACING
    while count < n:
        batch = _uniform_in(rng, outline, 2_000)
        density = _density(batch, town)
        kept = rng.random(len(batch)) * (1 + _RURAL_DENSITY) < density  # thinned by density
        batch, density = batch[kept], density[kept]
        spacing = closeness * np.sqrt(mass / (n * density))
        added = 0
        for point, gap in zip(batch, spacing, strict=True):
            if count and np.min(np.hypot(*(points[:count] - point).T)) < gap:
                continue
            points[count] = point
            count, added = count + 1, added + 1
            if count == n:
                break
        if not added:
            closeness *= 0.9  # the outline is nearly full at this spacing: allow closer points
    return points


def _voronoi_cells(points: np.ndarray, outline: Polygon) -> list[Polygon] | None:
    """Each point's Voronoi cell cut to the outline and snapped to a 1 m grid; None when a
    cell comes out in two pieces, so that the caller tries other points."""
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline)
    cells = shapely.set_precision(
        shapely.intersection(shapely.get_parts(diagram), outline), _GRID_M
    )
    cells = [cell for cell in cells if not cell.is_empty]
    if len(cells) != len(points) or any(cell.geom_type != "Polygon" for cell in cells):
        return None
    return cells


def _adjacency(cells: list[Polygon]) -> list[set[int]]:
    """Cells sharing a border longer than a metre. Touching at a corner does not count: a
    ward joined only at a point would not be one patch."""
    geometries = np.asarray(cells, dtype=object)
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    borders = shapely.boundary(geometries)
    shared = shapely.length(shapely.intersection(borders[left], borders[right]))
    neighbours: list[set[int]] = [set() for _ in cells]
    for a, b in zip(left[shared > 1.0].tolist(), right[shared > 1.0].tolist(), strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    return neighbours


def _deal_cells(
    areas: list[Area], cells: list[Polygon], town: Point, sweep_from: float
) -> list[int]:
    """The cell of each area, so that localities and wards are contiguous patches and
    deprivation has a shape. ``build_demoton`` orders areas from most to least deprived
    (with noise) and groups them into localities and wards in that order, so:

    * the first locality (the most deprived) is the town, grown outwards from its centre;
    * the other localities share the rest as sectors, swept round the town;
    * within a locality each ward grows as a compact patch from the remaining cell nearest
      the town, so the more deprived wards lie nearer the centre;
    * within a ward the more deprived areas take the cells nearer the centre.
    """
    adjacency = _adjacency(cells)
    xy = shapely.get_coordinates(shapely.centroid(np.asarray(cells, dtype=object)))
    from_town = np.hypot(xy[:, 0] - town.x, xy[:, 1] - town.y).tolist()
    angle = (
        (np.arctan2(xy[:, 1] - town.y, xy[:, 0] - town.x) - sweep_from) % (2 * math.pi)
    ).tolist()

    def distance(cell: int) -> float:
        return from_town[cell]

    def compact(seed: int) -> Callable[[int], float]:
        return lambda cell: math.hypot(*(xy[cell] - xy[seed]))

    localities = _groups(range(len(areas)), lambda i: areas[i].locality)
    regions = _locality_regions([len(m) for m in localities], adjacency, distance, angle)
    cell_of = [0] * len(areas)
    for members, region in zip(localities, regions, strict=True):
        wards = _groups(members, lambda i: areas[i].ward_code)
        patches = _partition(region, [len(ward) for ward in wards], adjacency, distance, compact)
        for ward, patch in zip(wards, patches, strict=True):
            by_need = sorted(ward, key=lambda i: (areas[i].imd_decile, areas[i].idaci_decile, i))
            by_centrality = sorted(patch, key=lambda cell: (from_town[cell], cell))
            for area, cell in zip(by_need, by_centrality, strict=True):
                cell_of[area] = cell
    return cell_of


def _locality_regions(
    sizes: list[int],
    adjacency: list[set[int]],
    distance: Callable[[int], float],
    angle: list[float],
) -> list[set[int]]:
    """The cells of each locality: the first grown outwards from the town centre (nearest
    cells first), the others cut from what is left in sectors, by angle round the town."""
    everything = set(range(len(adjacency)))
    town, rest = _partition(
        everything, [sizes[0], len(everything) - sizes[0]], adjacency, distance, lambda _: distance
    )
    by_angle = angle.__getitem__
    return [town, *_partition(rest, sizes[1:], adjacency, by_angle, lambda _: by_angle)]


def _groups(indices: Iterable[int], key: Callable[[int], str]) -> list[list[int]]:
    """Indices grouped by key, groups in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for index in indices:
        groups.setdefault(key(index), []).append(index)
    return list(groups.values())


def _partition(
    cells: set[int],
    sizes: list[int],
    adjacency: list[set[int]],
    start_key: Callable[[int], float],
    grow_key: Callable[[int], Callable[[int], float]],
) -> list[set[int]]:
    """Split a connected set of cells into connected regions of the given sizes, in order.
    Each region starts at the remaining cell with the smallest ``start_key`` and takes, one
    by one, the neighbouring cell with the smallest ``grow_key(start)``; the cells left over
    always stay connected, so the last region (what is left) is a patch too."""
    if not sizes:
        return []
    remainder = set(cells)
    regions = []
    for size in sizes[:-1]:
        regions.append(_grow(remainder, size, adjacency, start_key, grow_key))
    regions.append(remainder)
    if len(remainder) != sizes[-1]:
        raise ValueError("the sizes do not add up to the cells")
    return regions


def _grow(
    remainder: set[int],
    size: int,
    adjacency: list[set[int]],
    start_key: Callable[[int], float],
    grow_key: Callable[[int], Callable[[int], float]],
) -> set[int]:
    """One region of ``size`` cells taken from ``remainder`` (which keeps the rest). When the
    region gets boxed in (every neighbouring cell would cut the rest in pieces too big to
    take), it is tried again from the next start."""
    starts = sorted(remainder, key=lambda cell: (start_key(cell), cell))
    for start in starts[:_STARTS]:
        trial = set(remainder)
        region = _grow_from(trial, start, size, adjacency, grow_key(start))
        if region:
            remainder -= region
            return region
    raise _Stuck


def _grow_from(
    remainder: set[int],
    start: int,
    size: int,
    adjacency: list[set[int]],
    key: Callable[[int], float],
) -> set[int]:
    """A region grown from ``start`` by taking the neighbouring cell with the smallest
    ``key``; empty if it is boxed in before reaching ``size``."""
    region = _take(remainder, start, adjacency, room=size)
    while region and len(region) < size:
        frontier = {n for c in region for n in adjacency[c] if n in remainder}
        for cell in sorted(frontier, key=lambda c: (key(c), c)):
            taken = _take(remainder, cell, adjacency, room=size - len(region))
            if taken:
                region |= taken
                break
        else:
            return set()
    return region


def _take(remainder: set[int], cell: int, adjacency: list[set[int]], room: int) -> set[int]:
    """Remove ``cell`` from ``remainder`` and return what was taken: the cell, plus any
    pieces of the remainder it would cut off from the largest (so the remainder stays one
    patch). Takes nothing (returns an empty set) when that is more than ``room`` cells."""
    around = [n for n in adjacency[cell] if n in remainder]
    remainder.discard(cell)
    if _connected(set(around), adjacency):
        return {cell}  # its neighbours still reach each other, so nothing is cut off
    pieces = sorted(_components(remainder, adjacency), key=lambda p: (-len(p), min(p)))
    cut_off = set().union(*pieces[1:])
    if 1 + len(cut_off) > room:
        remainder.add(cell)
        return set()
    remainder -= cut_off
    return {cell} | cut_off


def _connected(cells: set[int], adjacency: list[set[int]]) -> bool:
    return len(_components(cells, adjacency)) <= 1


def _components(cells: set[int], adjacency: list[set[int]]) -> list[set[int]]:
    """The connected pieces of ``cells`` (neighbours taken from ``adjacency``)."""
    left = set(cells)
    pieces = []
    while left:
        start = min(left)
        piece, stack = {start}, [start]
        while stack:
            for neighbour in adjacency[stack.pop()]:
                if neighbour in left and neighbour not in piece:
                    piece.add(neighbour)
                    stack.append(neighbour)
        left -= piece
        pieces.append(piece)
    return pieces
