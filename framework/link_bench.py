"""Timing postcode linking (issue 5): one million postcodes through the lookup, and the
location step (packaged postcode directory + point in polygon) for postcodes the lookup lacks.

The lookup is the packaged postcode directory itself (about 2.7 million postcodes, the size of
the ONS directory), each given an invented area code, in an in-memory store; the postcodes to
link are drawn from it and written the ways people write them (lower case, no space). For the
location step, squares around a sample of postcodes stand in for small-area boundaries.
"""

from __future__ import annotations

import string
import time

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from framework import geography
from framework.store import store


def time_linking(postcodes: int = 1_000_000, located: int = 10_000, seed: int = 7) -> dict:
    directory = geography._directory(tuple(string.ascii_uppercase)).dropna(
        subset=["oseast1m", "osnrth1m"]
    )
    con = duckdb.connect(":memory:")
    store.ensure_schema(con)
    normalised = geography.normalise_postcodes(directory["pcd"])
    lookup = pd.DataFrame(
        {"postcode": normalised.to_numpy(dtype=object), "area_code": "X01000001"}
    ).drop_duplicates("postcode")
    con.register("lookup", lookup)
    con.execute("INSERT INTO ref_postcode_areas (postcode, area_code) SELECT * FROM lookup")
    rng = np.random.default_rng(seed)
    chosen = directory["pcd"].to_numpy()[rng.integers(0, len(directory), postcodes)]
    written = pd.Series(chosen).str.lower().where(rng.random(postcodes) < 0.5, chosen)
    started = time.perf_counter()
    linked = geography.link_postcodes(con, written, locate=False)
    lookup_seconds = time.perf_counter() - started
    return {
        "postcodes": postcodes,
        "lookup_rows": len(lookup),
        "lookup_seconds": lookup_seconds,
        "matched": float((linked["status"] == geography.MATCHED).mean()),
        **_time_location(directory, located, rng),
    }


def _time_location(directory: pd.DataFrame, located: int, rng) -> dict:
    """Postcodes no lookup holds, placed in squares (100 m) around their own points."""
    con = duckdb.connect(":memory:")
    store.ensure_schema(con)
    sample = directory.iloc[rng.choice(len(directory), located, replace=False)]
    sample = sample[sample["laua"].astype(str).str.startswith("E")]
    points = gpd.GeoSeries(
        gpd.points_from_xy(sample["oseast1m"], sample["osnrth1m"]), crs="EPSG:27700"
    ).to_crs("EPSG:4326")
    boxes = shapely.box(points.x - 0.0005, points.y - 0.0005, points.x + 0.0005, points.y + 0.0005)
    frame = pd.DataFrame(
        {
            "lsoa_code": [f"X{i:08d}" for i in range(len(sample))],
            "geometry": shapely.to_wkb(boxes),
        }
    )
    con.register("boxes", frame)
    con.execute(
        "INSERT INTO ref_boundaries (lsoa_code, lsoa_vintage, geometry) "
        "SELECT lsoa_code, 2021, geometry FROM boxes"
    )
    started = time.perf_counter()
    linked = geography.link_postcodes(con, sample["pcd"].reset_index(drop=True))
    return {
        "located": len(sample),
        "location_seconds": time.perf_counter() - started,
        "located_share": float((linked["status"] == geography.LOCATED).mean()),
    }


__all__ = ["time_linking"]
