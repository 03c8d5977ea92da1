"""Building the authority's small areas from the official files imported
(framework/reference/areas.py): its districts' LSOAs, wards, deciles of the chosen indices
(through the 2011-to-2021 lookup for IoD 2019) and child populations."""

from __future__ import annotations

import pytest

from framework.reference.areas import AreasError, build_areas
from tests.engine_store import save_store, tiny_store

OFFICIAL = """
    ref_wards
    lsoa21_code | ward_code | ward_name | lad_code
    E01000001   | E05000001 | Abbey     | E06000001
    E01000002   | E05000001 | Abbey     | E06000001
    E01000003   | E05000002 | Bridge    | E06000001
    E01000009   | E05000009 | Elsewhere | E06000099

    ref_deprivation
    vintage | lsoa_code | lsoa_vintage | imd_rank | imd_decile | idaci_rank | idaci_decile
    2025    | E01000001 | 2021         | 10       | 1          | 20         | 1
    2025    | E01000002 | 2021         | 8000     | 3          | 9000       | 3
    2025    | E01000003 | 2021         | 33000    | 10         | 33100      | 10
    2019    | E01000011 | 2011         | 5000     | 2          | 6000       | 2
    2019    | E01000014 | 2011         | 100      | 1          | 200        | 1
    2019    | E01000012 | 2011         | 18000    | 6          | 19000      | 6

    ref_lsoa_changes
    lsoa11_code | lsoa21_code | change
    E01000011   | E01000001   | M
    E01000014   | E01000001   | M
    E01000012   | E01000002   | S
    E01000012   | E01000003   | S

    ref_population
    lsoa_code | lsoa_vintage | year | age_group | population
    E01000011 | 2011         | 2020 | 0-17      | 300
    E01000014 | 2011         | 2020 | 0-17      | 100
    E01000012 | 2011         | 2020 | 0-17      | 500

    ref_boundaries
    lsoa_code | lsoa_vintage | lsoa_name
    E01000001 | 2021         | Town 001A

    ref_areas
    area_code | locality
    E01000001 | Uplands
"""


def _areas(con, **options):
    return build_areas(con, ["e06000001 "], **options).set_index("area_code")


def test_the_newest_indices_for_the_districts_areas():
    con = tiny_store(OFFICIAL)
    areas = _areas(con)
    assert list(areas.index) == ["E01000001", "E01000002", "E01000003"]  # not E06000099's
    assert list(areas["imd_decile"]) == [1, 3, 10]
    assert list(areas["ward_name"]) == ["Abbey", "Abbey", "Bridge"]
    assert areas.loc["E01000001", "area_name"] == "Town 001A"
    assert areas.loc["E01000001", "locality"] == "Uplands"  # the authority's own, kept
    # Children, 2011-based, carried to 2021 areas: E01000001 is two merged 2011 areas
    # (300 + 100); E01000012's 500 was split in two (250 each).
    assert list(areas["children_0_17"]) == [400, 250, 250]
    stored = con.execute("SELECT count(*), sum(children_0_17) FROM ref_areas").fetchall()
    assert stored == [(3, 900)]


def test_iod_2019_reaches_2021_areas_through_the_lookup():
    areas = _areas(tiny_store(OFFICIAL), vintage=2019)
    # E01000001 merged a decile-2 and a decile-1 area: it takes the most deprived (1).
    assert list(areas["imd_decile"]) == [1, 6, 6]
    assert list(areas["idaci_decile"]) == [1, 6, 6]


def test_without_districts_or_files_it_says_what_is_missing():
    with pytest.raises(AreasError, match="district codes"):
        build_areas(tiny_store(OFFICIAL), [])
    with pytest.raises(AreasError, match="no indices"):
        build_areas(tiny_store(), ["E06000001"])
    with pytest.raises(AreasError, match="no small areas found for E06000042"):
        build_areas(tiny_store(OFFICIAL), ["E06000042"])


def test_the_reference_areas_command(tmp_path, capsys):
    from framework import cli

    con = tiny_store(OFFICIAL)
    store_file = save_store(con, tmp_path / "store.duckdb")
    command = ["reference", "areas", "--store", str(store_file), "--lad"]
    assert cli.main([*command, "E06000001"]) == 0
    assert "3 small areas in E06000001: 0 without a decile" in capsys.readouterr().out
    assert cli.main([*command, "E06000042"]) == 1
    assert "no small areas found" in capsys.readouterr().out
