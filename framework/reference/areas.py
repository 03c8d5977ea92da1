"""The authority's small areas (``ref_areas``) built from the official files imported.

The engine slices children by their home area's ward, locality, national deprivation deciles
and local quintiles, and rates need the child population of each area: all of that is read
from ``ref_areas``. An authority can load that table from its own file (the demo does), or
build it from the official files it imported (``python -m framework reference areas``):

* its areas: the LSOAs (2021) of its local authority districts, from the LSOA-to-ward lookup
  (else from the deprivation file's district column);
* names: from the boundaries; wards: from the ward lookup; localities: kept from an earlier
  ``ref_areas`` (localities are the authority's own grouping; no official file has them);
* deciles: from the indices of the vintage asked for (the newest imported by default). IoD
  2025 is published for 2021 LSOAs and used as it is; IoD 2019 is for 2011 LSOAs, so each 2021
  area takes the deciles of its 2011 area from the official LSOA 2011-to-2021 lookup, or, where
  2011 areas were merged, of the most deprived of them (so a merge never hides deprivation);
* children aged 0-17: the newest population imported. A 2011-based population is carried to
  2021 areas through the same lookup: a 2011 area split into several 2021 areas shares its
  children equally between them; merged areas add up.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from framework.store import store
from framework.store.schema import TABLES


class AreasError(ValueError):
    """The official files imported cannot give the authority's areas."""


def build_areas(
    con: duckdb.DuckDBPyConnection, lad_codes: list[str], *, vintage: int | None = None
) -> pd.DataFrame:
    """Replace ``ref_areas`` with the areas of the districts ``lad_codes``; returns them."""
    codes = [code.strip().upper() for code in lad_codes if code.strip()]
    if not codes:
        raise AreasError("name the authority's local authority district codes (e.g. E06000001)")
    vintage = vintage or _newest_vintage(con)
    con.register("wanted_districts", pd.DataFrame({"lad_code": codes}))
    try:
        areas = con.execute(_AREAS_SQL, {"vintage": vintage}).df()
    finally:
        con.unregister("wanted_districts")
    if areas.empty:
        raise AreasError(
            f"no small areas found for {', '.join(codes)}: import the LSOA-to-ward lookup "
            "(or a deprivation file) that covers these districts"
        )
    with store.transaction(con):
        load_id = store.next_load_id(con)
        store.run(con, "DELETE FROM ref_areas")
        store.write_table(con, TABLES["ref_areas"], areas, collection_year=None, load_id=load_id)
    return areas


def _newest_vintage(con: duckdb.DuckDBPyConnection) -> int:
    found = con.execute("SELECT max(vintage) FROM ref_deprivation").fetchall()[0][0]
    if found is None:
        raise AreasError("no indices of deprivation imported: import IoD File 1/3 or File 7")
    return int(found)


_AREAS_SQL = """
WITH from_wards AS (
    SELECT lsoa21_code AS area_code, ward_code, ward_name FROM ref_wards
    WHERE lad_code IN (SELECT lad_code FROM wanted_districts)),
from_indices AS (
    SELECT lsoa_code AS area_code, NULL AS ward_code, NULL AS ward_name FROM ref_deprivation
    WHERE lsoa_vintage = 2021 AND lad_code IN (SELECT lad_code FROM wanted_districts)
      AND NOT EXISTS (SELECT 1 FROM from_wards)),
areas AS (SELECT * FROM from_wards UNION ALL SELECT * FROM from_indices),
-- each 2021 area's 2011 areas, and how many 2021 areas each 2011 area became
parents AS (
    SELECT c.lsoa21_code, c.lsoa11_code,
           count(*) OVER (PARTITION BY c.lsoa11_code) AS shares
    FROM ref_lsoa_changes c),
indices AS (
    SELECT lsoa_code, lsoa_vintage, imd_rank, imd_decile, idaci_rank, idaci_decile
    FROM ref_deprivation WHERE vintage = $vintage),
deciles AS (  -- 2021 indices directly; 2011 indices through the lookup (most deprived parent)
    SELECT a.area_code,
           coalesce(any_value(d.imd_decile), arg_min(p11.imd_decile, p11.imd_rank)) AS imd_decile,
           coalesce(any_value(d.idaci_decile), arg_min(p11.idaci_decile, p11.idaci_rank))
               AS idaci_decile
    FROM areas a
    LEFT JOIN indices d ON d.lsoa_code = a.area_code AND d.lsoa_vintage = 2021
    LEFT JOIN parents p ON p.lsoa21_code = a.area_code
    LEFT JOIN indices p11 ON p11.lsoa_code = p.lsoa11_code AND p11.lsoa_vintage = 2011
    GROUP BY a.area_code),
children AS (  -- the newest 0-17 population, carried to 2021 areas when it is 2011-based
    SELECT lsoa_code, lsoa_vintage, population FROM ref_population
    WHERE age_group = '0-17'
      AND year = (SELECT max(year) FROM ref_population WHERE age_group = '0-17')),
population AS (
    SELECT a.area_code,
           coalesce(any_value(c21.population),
                    round(sum(c11.population / p.shares))) AS children_0_17
    FROM areas a
    LEFT JOIN children c21 ON c21.lsoa_code = a.area_code AND c21.lsoa_vintage = 2021
    LEFT JOIN parents p ON p.lsoa21_code = a.area_code
    LEFT JOIN children c11 ON c11.lsoa_code = p.lsoa11_code AND c11.lsoa_vintage = 2011
    GROUP BY a.area_code),
names AS (
    SELECT lsoa_code, any_value(lsoa_name) AS lsoa_name FROM ref_boundaries
    WHERE lsoa_vintage = 2021 GROUP BY lsoa_code),
localities AS (SELECT area_code, locality FROM ref_areas)
SELECT a.area_code, n.lsoa_name AS area_name, a.ward_code, a.ward_name, l.locality,
       CAST(d.imd_decile AS INTEGER) AS imd_decile,
       CAST(d.idaci_decile AS INTEGER) AS idaci_decile,
       CAST(p.children_0_17 AS INTEGER) AS children_0_17
FROM areas a
LEFT JOIN deciles d USING (area_code)
LEFT JOIN population p USING (area_code)
LEFT JOIN names n ON n.lsoa_code = a.area_code
LEFT JOIN localities l USING (area_code)
ORDER BY a.area_code
"""


__all__ = ["AreasError", "build_areas"]
