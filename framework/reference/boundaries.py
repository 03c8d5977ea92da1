"""LSOA boundaries: GeoJSON, GeoPackage or Shapefile (alone or in a zip), in any CRS.

Geometries are stored as WKB in EPSG:4326 (longitude, latitude), the CRS web maps draw in.
Centroids are computed on the British National Grid (EPSG:27700), where coordinates are metres
and areas are not stretched, then converted to longitude and latitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from framework.reference.common import (
    LSOA_CODE,
    LSOA_WORDS,
    NotReferenceFile,
    ReferenceCheck,
    ReferenceRead,
    find_columns,
    lsoa_column,
    source_file,
)
from framework.reference.files import RowLabels, zip_members
from framework.sources.problems import TableCount, UnreadableFile

GEO_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp"}
BNG, WGS84 = "EPSG:27700", "EPSG:4326"
UNOPENED = "not a geographic file that can be opened (damaged, or not GeoJSON/GeoPackage/Shapefile)"
EXPECTS = (
    "LSOA boundaries: a GeoJSON, GeoPackage or Shapefile (or a .zip holding one) with a "
    "column LSOA11CD or LSOA21CD (any case; lsoa21_code also read)"
)


@dataclass(frozen=True)
class LsoaLayer:
    """The layer of a geographic file that holds LSOAs, and its code and name fields."""

    dataset: str  # what GDAL opens: the path, or a /vsizip/ path inside an archive
    layer: str | None  # None: the file's only layer
    code: str
    name: str | None
    lsoa_vintage: int


def is_geographic(path: Path) -> bool:
    return path.suffix.lower() in GEO_SUFFIXES | {".zip"}


def _datasets(path: Path) -> list[str]:
    if path.suffix.lower() != ".zip":
        return [str(path)]
    members = zip_members(path, GEO_SUFFIXES)
    if not members:
        raise NotReferenceFile(
            path,
            "the archive holds no shapefile (.shp), GeoPackage or GeoJSON (for a postcode "
            "directory, unzip it and import the national CSV in its Data folder)",
        )
    return [f"/vsizip/{path.resolve()}/{member}" for member in members]


def _layers(path: Path, dataset: str) -> list[str | None]:
    """A GeoPackage's layers; None (the only layer) for the other formats."""
    if not dataset.lower().endswith(".gpkg"):
        return [None]
    try:
        return [str(name) for name, _ in pyogrio.list_layers(dataset)]
    except pyogrio.errors.DataSourceError:
        raise NotReferenceFile(path, UNOPENED) from None


def _read_layer(path: Path, dataset: str, layer: str | None) -> gpd.GeoDataFrame:
    # The whole layer is read at once: opening a GeoJSON parses all of it anyway.
    try:
        return pyogrio.read_dataframe(dataset, layer=layer)
    except pyogrio.errors.DataSourceError:
        raise NotReferenceFile(path, UNOPENED) from None


def read_lsoa_layer(path: Path) -> tuple[gpd.GeoDataFrame, LsoaLayer]:
    """The first layer with an LSOA code field; refuses the file when there is none."""
    seen: list[str] = []
    for dataset in _datasets(path):
        for layer in _layers(path, dataset):
            frame = _read_layer(path, dataset, layer)
            fields = [str(c) for c in frame.columns if c != frame.geometry.name]
            columns = find_columns(fields)
            found = lsoa_column(columns)
            if found:
                code, vintage = found
                name = columns.get(f"lsoa{vintage % 100}_name")
                return frame, LsoaLayer(dataset, layer, code, name, vintage)
            seen.extend(fields)
    shown = ", ".join(seen[:12]) or "none"
    raise NotReferenceFile(path, f"expected {EXPECTS}; fields found: {shown}")


def _with_crs(path: Path, frame: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """A file that states no CRS (a shapefile without its .prj) is read as the CRS its
    coordinates can only be in: longitude and latitude, or British National Grid."""
    if frame.crs is not None:
        return frame
    west, south, east, north = frame.total_bounds
    if west >= -11 and east <= 3 and south >= 49 and north <= 61:
        crs = WGS84
    elif west >= 0 and east <= 700_000 and south >= 0 and north <= 1_300_000:
        crs = BNG
    else:
        raise UnreadableFile(
            path,
            "the file does not say which coordinate system it uses (for a shapefile, the "
            ".prj file is missing) and its coordinates are neither longitude and latitude "
            "nor British National Grid",
        )
    notes.append(f"{path.name}: no coordinate system stated; coordinates read as {crs}")
    return frame.set_crs(crs)


def _checked(path: Path, found: LsoaLayer, frame: gpd.GeoDataFrame, notes: list[str]):
    """Codes checked, features without a geometry flagged, invalid geometries repaired."""
    fields = [c for c in (found.code, found.name) if c]
    cells = pd.DataFrame({c: frame[c].astype("string") for c in fields}, index=frame.index)
    check = ReferenceCheck(
        cells,
        file=path.name,
        table="ref_boundaries",
        child_column=None,
        locations=RowLabels(unit="feature"),
    )
    codes = check.codes(found.code, LSOA_CODE, LSOA_WORDS)
    geometry = frame.geometry
    missing = geometry.isna() | geometry.is_empty
    nothing = pd.Series("", index=frame.index)
    check.flag(missing, "geometry", "a polygon", rule="required", values=nothing)
    invalid = ~missing & ~geometry.is_valid
    if invalid.any():
        # Generalised boundaries sometimes self-touch; repairing keeps the area and its place.
        frame.loc[invalid, "geometry"] = shapely.make_valid(geometry[invalid].values)
        notes.append(f"{path.name}: {int(invalid.sum()):,} invalid geometries repaired")
    check.unique(codes.to_frame(), found.code, "each LSOA only once in the file")
    return check, codes


def read_boundaries(path: Path) -> ReferenceRead:
    frame, found = read_lsoa_layer(path)
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # feature 1 is the file's first
    notes: list[str] = []
    frame = _with_crs(path, frame, notes)
    check, codes = _checked(path, found, frame, notes)
    kept = frame[~check.set_aside]
    centroids = kept.geometry.to_crs(BNG).centroid.to_crs(WGS84)
    table = pd.DataFrame(
        {
            "lsoa_code": codes[~check.set_aside].to_numpy(),
            "lsoa_vintage": found.lsoa_vintage,
            "lsoa_name": check.names(found.name)[~check.set_aside].to_numpy(),
            "geometry": shapely.to_wkb(kept.geometry.to_crs(WGS84).values),
            "centroid_lon": centroids.x.to_numpy(),
            "centroid_lat": centroids.y.to_numpy(),
        }
    )
    return ReferenceRead(
        file=source_file(path, "boundaries"),
        kind="boundaries",
        vintage=found.lsoa_vintage,
        description=f"LSOA {found.lsoa_vintage} boundaries",
        tables={"ref_boundaries": table},
        count=TableCount(len(frame), int(check.set_aside.sum())),
        problems=check.problems,
        notes=notes,
    )
