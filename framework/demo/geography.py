"""Demoton: a fictional authority's small areas, wards, localities and postcodes.

Nothing here may be mistaken for a real place. Area codes start ``X01`` and ward codes ``X05``
(ONS never issues an ``X`` prefix); postcodes start ``QX`` (no real UK postcode area starts
with Q). The locality names are invented compounds. Districts QX1-QX89 are Demoton's;
QX90-QX99 stand for placements outside the authority and are deliberately absent from the
postcode lookup.
"""

from __future__ import annotations

import csv
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

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
