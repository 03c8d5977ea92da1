"""Worked examples for the place views (framework/engine/place.py): an outcome across
deprivation deciles with rates per 10,000 and the slope index of inequality, and by area for a
map, with small numbers hidden on the map as everywhere else."""

from __future__ import annotations

import math

import pytest
import shapely

from framework.engine.periods import Period
from framework.engine.place import area_view, deprivation_view
from framework.engine.units import MEASURES, measure
from tests.engine_store import tiny_store

PERIOD = Period.parse("2024-25")
# Four of the authority's small areas: national IMD decile, ward, children living there.
AREAS = """
    ref_areas
    area_code | area_name | ward_name | locality | imd_decile | idaci_decile | children_0_17
    X1        | Area 1    | North     | Uplands  | 1          | 1            | 2000
    X2        | Area 2    | North     | Uplands  | 2          | 3            | 1000
    X3        | Area 3    | South     | Lowlands | 5          | 5            | 1000
    X4        | Area 4    | South     | Lowlands | 9          | 8            | 2000
"""


@pytest.fixture
def toy_measure():
    """Children referred in the period; numerator: referrals closed with no further action."""

    @measure("TEST.PLACE", "proportion")
    def toy(ctx):
        return ctx.sql(
            """SELECT child_id AS unit_id, child_id, TRUE AS in_denominator,
                      referral_nfa AS in_numerator
               FROM referrals WHERE referral_date BETWEEN $start AND $end"""
        )

    yield "TEST.PLACE"
    del MEASURES["TEST.PLACE"]


def _store(nfa_by_area: dict[str, int], referred: int = 20):
    """``referred`` children living in each area, of whom ``nfa_by_area[area]`` had NFA."""
    rows = {"children": [], "child_addresses": [], "referrals": []}
    for area, nfa in nfa_by_area.items():
        for n in range(referred):
            child = f"{area}-{n}"
            rows["children"].append(f"{child} | F | 2015-01-01 | WBRI")
            rows["child_addresses"].append(f"{child} | 2020-01-01 | {area}")
            rows["referrals"].append(f"{child} | 2024-06-01 | {'true' if n < nfa else 'false'}")
    return tiny_store(
        AREAS
        + "\n\nchildren\nchild_id | sex | date_of_birth | ethnicity\n"
        + "\n".join(rows["children"])
        + "\n\nchild_addresses\nchild_id | from_date | area_code\n"
        + "\n".join(rows["child_addresses"])
        + "\n\nreferrals\nchild_id | referral_date | referral_nfa\n"
        + "\n".join(rows["referrals"])
    )


def test_an_outcome_by_decile_with_rates_and_its_gradient(toy_measure):
    # NFA: decile 1 12 of 20, decile 2 10 of 20, decile 5 8 of 20, decile 9 6 of 20 — every
    # count and complement above the threshold of 5, so nothing is hidden.
    view = deprivation_view(_store({"X1": 12, "X2": 10, "X3": 8, "X4": 6}), toy_measure, PERIOD)
    table = view.table.set_index("area")
    assert list(table.index) == ["1", "2", "5", "9"]
    assert list(table["value"]) == [0.6, 0.5, 0.4, 0.3]
    # Per 10,000 children living there: 12/2000, 10/1000, 8/1000, 6/2000.
    assert list(table["rate_per_10000"]) == pytest.approx([60.0, 100.0, 80.0, 30.0])
    # Equal denominators: ranks 1/8, 3/8, 5/8, 7/8; the value falls 0.1 every quarter of the
    # ranks, so SII = -0.4 (least minus most deprived) and RII = -0.4 / 0.45.
    assert view.dimension == "imd_decile"
    assert view.gradient.sii == pytest.approx(-0.4)
    assert view.gradient.rii == pytest.approx(-0.4 / 0.45)
    assert view.gradient.sii_low < -0.4 < view.gradient.sii_high


def test_no_gradient_is_worked_from_hidden_deciles(toy_measure):
    # Decile 9 has 3 of 20 with NFA: hidden, and another decile with it (secondary
    # suppression). The local quintiles are the same four areas, so no gradient at all.
    view = deprivation_view(_store({"X1": 12, "X2": 10, "X3": 8, "X4": 3}), toy_measure, PERIOD)
    hidden = view.table[view.table["suppressed"]]
    assert len(hidden) >= 2
    assert hidden["value"].isna().all() and hidden["rate_per_10000"].isna().all()
    assert math.isnan(view.gradient.sii) and view.gradient.reason


def test_idaci_deciles_and_an_unknown_index_is_refused(toy_measure):
    store = _store({"X1": 12, "X2": 10, "X3": 8, "X4": 6})
    view = deprivation_view(store, toy_measure, PERIOD, index="idaci")
    assert list(view.table["area"]) == ["1", "3", "5", "8"]
    with pytest.raises(ValueError, match="unknown index"):
        deprivation_view(store, toy_measure, PERIOD, index="income")


def test_the_map_by_ward_hides_small_numbers(toy_measure):
    # North (X1, X2): 22 of 40; South (X3, X4): 8 + 3 = 11 of 40. Shown by ward, nothing is
    # small. No boundaries loaded: a table but no map.
    store = _store({"X1": 12, "X2": 10, "X3": 8, "X4": 3})
    view = area_view(store, toy_measure, PERIOD, level="ward")
    assert view.geojson is None
    table = view.table.set_index("area")
    assert table.loc["North", "numerator"] == 22 and table.loc["South", "numerator"] == 11
    # Per 10,000 children living in the ward: North 22 of 3,000; South 11 of 3,000.
    assert list(table["rate_per_10000"]) == pytest.approx([22 / 3000 * 1e4, 11 / 3000 * 1e4])
    # By small area, X4's 3 is hidden, with one more area so it cannot be worked back.
    by_area = area_view(store, toy_measure, PERIOD, level="lsoa").table.set_index("area")
    assert by_area.loc["X4", "suppressed"] and by_area["suppressed"].sum() >= 2


def _square(lon: float, lat: float, size: float = 0.01) -> bytes:
    return shapely.to_wkb(shapely.box(lon, lat, lon + size, lat + size))


def test_the_map_outlines_areas_and_never_shows_a_hidden_value(toy_measure):
    store = _store({"X1": 12, "X2": 10, "X3": 8, "X4": 3})
    for code, lon in (("X1", 2.00), ("X2", 2.01), ("X3", 2.02), ("X4", 2.03)):
        store.execute(
            "INSERT INTO ref_boundaries (lsoa_code, lsoa_vintage, lsoa_name, geometry) "
            "VALUES (?, 2021, ?, ?)",
            [code, code, _square(lon, 54.7)],
        )
    view = area_view(store, toy_measure, PERIOD, level="lsoa")
    features = {f["properties"]["area"]: f["properties"] for f in view.geojson["features"]}
    assert set(features) == {"X1", "X2", "X3", "X4"}
    assert features["X4"]["suppressed"] is True and features["X4"]["value"] is None
    assert features["X4"]["numerator"] is None
    assert features["X1"]["value"] == pytest.approx(0.6)
    assert features["X4"]["imd_decile"] == 9  # each area's decile, to compare on the map
    # Wards are the small areas dissolved: two outlines, each two squares wide.
    wards = area_view(store, toy_measure, PERIOD, level="ward")
    shapes = {f["properties"]["area"]: f["geometry"] for f in wards.geojson["features"]}
    assert set(shapes) == {"North", "South"}
    assert shapely.geometry.shape(shapes["North"]).area == pytest.approx(2 * 0.01 * 0.01)
    assert wards.centre == pytest.approx((2.02, 54.705))


def test_an_unknown_level_is_refused(toy_measure):
    with pytest.raises(ValueError, match="unknown level"):
        area_view(tiny_store(AREAS), toy_measure, PERIOD, level="county")


def place_store():
    """Four areas with square outlines and 80 referred children living in them, a third with
    no further action, in a store dated 2024-25 (for the app's and the browser's tests)."""
    children = [f"C{n} | F | 2015-01-01 | WBRI" for n in range(80)]
    homes = [f"C{n} | 2020-01-01 | X{1 + n % 4}" for n in range(80)]
    referrals = [f"C{n} | 2024-06-01 | {'true' if n % 3 else 'false'}" for n in range(80)]
    con = tiny_store(
        AREAS
        + "\n\nchildren\nchild_id | sex | date_of_birth | ethnicity\n"
        + "\n".join(children)
        + "\n\nchild_addresses\nchild_id | from_date | area_code\n"
        + "\n".join(homes)
        + "\n\nreferrals\nchild_id | referral_date | referral_nfa\n"
        + "\n".join(referrals)
    )
    con.execute(
        "INSERT INTO load_files (load_id, file_name, collection_year, status) "
        "VALUES (1, 'census.xml', 2025, 'loaded')"
    )
    for n, code in enumerate(("X1", "X2", "X3", "X4")):
        con.execute(
            "INSERT INTO ref_boundaries (lsoa_code, lsoa_vintage, lsoa_name, geometry) "
            "VALUES (?, 2021, ?, ?)",
            [code, code, _square(2 + n / 100, 54.7)],
        )
    return con
