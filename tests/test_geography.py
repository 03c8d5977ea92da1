"""Linking home postcodes to small areas (framework/geography.py): the lookup first, then the
location from the packaged postcode directory and the boundary that contains it. Postcodes here
are real public reference data (the directory's own), never a child's."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from framework import geography
from framework.geography import (
    BLANK,
    LOCATED,
    MALFORMED,
    MATCHED,
    NO_LOOKUP,
    OUTSIDE_BOUNDARIES,
    OUTSIDE_ENGLAND,
    TERMINATED,
    UNKNOWN,
    describe_postcodes,
    link_postcodes,
    match_rate,
    normalise_postcodes,
)
from tests.engine_store import save_store, tiny_store

LOOKUP = """
    ref_postcode_areas
    postcode | area_code
    QX1 1AB  | X01000001

    ref_postcode_terminated
    postcode | terminated
    QX9 9ZZ  | 2019-06

    ref_deprivation
    vintage | lsoa_code | lsoa_vintage | imd_decile | idaci_decile
    2025    | X01000001 | 2021         | 3          | 4

    ref_areas
    area_code | imd_decile | idaci_decile
    X01000002 | 7          | 8
"""


def test_postcodes_are_normalised_however_they_are_written():
    written = pd.Series(["qx11ab", " QX1  1AB ", "qx1-1ab", "EC1A1BB", "", None, "ABC"])
    assert normalise_postcodes(written).tolist() == [
        "QX1 1AB", "QX1 1AB", "QX1 1AB", "EC1A 1BB", pd.NA, pd.NA, "ABC",
    ]  # fmt: skip


def test_the_lookup_links_and_says_why_not():
    con = tiny_store(LOOKUP)
    given = pd.Series(["qx1 1ab", "QX99ZZ", "QX5 5AA", "not one", None])
    linked = link_postcodes(con, given, locate=False)
    assert linked["area_code"].tolist()[0] == "X01000001"
    assert linked["status"].tolist() == [MATCHED, TERMINATED, UNKNOWN, MALFORMED, BLANK]
    assert match_rate(linked["status"]) == pytest.approx(1 / 4)


def test_nothing_to_link_with_says_so():
    linked = link_postcodes(tiny_store(), pd.Series(["QX1 1AB", ""]))
    assert linked["status"].tolist() == [NO_LOOKUP, BLANK]
    assert linked["area_code"].isna().all()


def _directory_row(letter: str, prefix: str) -> pd.Series:
    """The first postcode (in order) starting with ``letter`` whose local authority code
    starts with ``prefix`` (E England, W Wales) and that has a grid reference."""
    rows = geography._directory((letter,)).dropna(subset=["oseast1m", "osnrth1m"])
    return rows[rows["laua"].astype(str).str.startswith(prefix)].sort_values("pcd").iloc[0]


def _box_around(row: pd.Series, half: float = 0.0005) -> bytes:
    point = gpd.GeoSeries(
        gpd.points_from_xy([row["oseast1m"]], [row["osnrth1m"]]), crs="EPSG:27700"
    ).to_crs("EPSG:4326")[0]
    return shapely.to_wkb(
        shapely.box(point.x - half, point.y - half, point.x + half, point.y + half)
    )


def test_a_postcode_the_lookup_lacks_is_placed_by_its_location():
    inside = _directory_row("T", "E")
    con = tiny_store(LOOKUP)
    con.execute(
        "INSERT INTO ref_boundaries (lsoa_code, lsoa_vintage, geometry) VALUES ('E0TEST', 2021, ?)",
        [_box_around(inside)],
    )
    wales = _directory_row("C", "W")  # a Cardiff postcode
    far = geography._directory(("T",))
    far = far[
        (far["laua"].astype(str).str.startswith("E"))
        & (far["oseast1m"] > inside["oseast1m"] + 5000)
    ]
    elsewhere = far.sort_values("pcd").iloc[0]
    given = pd.Series([inside["pcd"].lower().replace(" ", ""), wales["pcd"], elsewhere["pcd"]])
    linked = link_postcodes(con, given)
    assert linked["status"].tolist() == [LOCATED, OUTSIDE_ENGLAND, OUTSIDE_BOUNDARIES]
    assert linked["area_code"].tolist()[0] == "E0TEST"
    assert match_rate(linked["status"]) == pytest.approx(1 / 3)


def test_analysts_get_the_area_and_its_deciles():
    con = tiny_store(LOOKUP)
    con.execute(
        "INSERT INTO ref_postcode_areas (postcode, area_code) VALUES ('QX2 2AB', 'X01000002')"
    )
    described = describe_postcodes(con, pd.Series(["qx1 1ab", "QX2 2AB", "nonsense"]))
    assert described["lsoa"].tolist()[:2] == ["X01000001", "X01000002"]
    # X01000001 from the indices imported; X01000002 from the authority's own area table.
    assert described["imd_decile"].tolist()[:2] == [3, 7]
    assert described["idaci_decile"].tolist()[:2] == [4, 8]
    assert described["status"].tolist() == [MATCHED, MATCHED, MALFORMED]
    assert described["postcode"].tolist()[0] == "qx1 1ab"  # as given, for the analyst's file


@given(st.lists(st.text(alphabet="ab1 2-QXZ9y.", max_size=10), max_size=20))
def test_linking_normalises_exactly_as_normalise_postcodes_does(written):
    # The lookup path normalises in DuckDB (for speed); it must agree with the pandas form.
    given_postcodes = pd.Series(written, dtype="string")
    expected = normalise_postcodes(given_postcodes)
    rows = geography._normalised(tiny_store(), given_postcodes, join_lookup=False)
    assert rows["postcode"].astype("string").tolist() == expected.tolist()


def test_the_geo_link_command_writes_each_postcode_with_its_area(tmp_path, capsys):
    from framework import cli
    from framework.store import store

    con = tiny_store(LOOKUP)
    store_file = save_store(con, tmp_path / "store.duckdb")
    store.connect(store_file).close()  # a store the command can open
    given = tmp_path / "postcodes.csv"
    given.write_text("home postcode\nqx11ab\nQX9 9ZZ\n")
    out = tmp_path / "linked.csv"
    assert cli.main(["geo", "link", str(given), "--store", str(store_file), "--out", str(out)]) == 0
    linked = pd.read_csv(out, dtype=str).fillna("")
    assert linked.to_dict("records") == [
        {"postcode": "qx11ab", "lsoa": "X01000001", "imd_decile": "3", "idaci_decile": "4",
         "status": MATCHED},
        {"postcode": "QX9 9ZZ", "lsoa": "", "imd_decile": "", "idaci_decile": "",
         "status": TERMINATED},
    ]  # fmt: skip
    assert "2 postcodes linked (50.0% to an area)" in capsys.readouterr().out
