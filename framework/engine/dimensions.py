"""Child dimensions for a period: the slices every child-level indicator can be cut by.

One row per child known in the period, with:
  * the groups of spec §4 (a child may be in several), defined here and nowhere else:
      cin          a CiN episode (referral) open at any time in the period
      disabled     a disability recorded in the CiN census, or primary need N2 on an episode
                   open in the period
      cp           a child protection plan open at any time in the period
      cla          looked after (an SSDA903 episode open) at any time in the period
      care_leaver  an SSDA903 OC3 row for the period's collection year
      neglect      primary need N1 on an episode open in the period, with neglect (NEG, or MUL
                   among multiple categories is not used: DfE does not say which) as a CP plan
                   category or factor 16A at an assessment of that episode (spec §9)
      uasc         recorded as unaccompanied asylum-seeking, and that status not ceased before
                   the period began
  * demography at the period's end: age band (spec §4), sex, ethnicity major group, disabled;
  * place: the home small area at the period's end (address extract, else the latest 903
    home postcode's area), its ward, locality, national IMD and IDACI deciles, and local
    quintiles: the authority's own small areas (``ref_areas``) split into five equal numbers
    of areas by deprivation (decile, then national rank where the indices were imported; 1:
    the most deprived fifth), for gradients within the authority;
  * service: the team of the child's worker at the period's end (worker allocations).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from framework.engine.periods import Period

GROUPS = ("cin", "disabled", "cp", "cla", "care_leaver", "neglect", "uasc")
GROUP_LABELS = {
    "cin": "Children in need",
    "disabled": "Disabled children",
    "cp": "Child protection plan",
    "cla": "Looked-after children",
    "care_leaver": "Care leavers",
    "neglect": "Neglect",
    "uasc": "Unaccompanied asylum-seeking children",
}
CHILD_DIMENSIONS = (
    "age_band",
    "sex",
    "ethnicity",
    "disability",
    "imd_decile",
    "idaci_decile",
    "imd_local_quintile",  # the authority's own areas in fifths by IMD (1: most deprived)
    "idaci_local_quintile",
    "lsoa",
    "ward",
    "locality",
    "team",
)
AGE_BANDS = ("under_1", "1-4", "5-9", "10-15", "16-17", "18+")
ETHNIC_GROUPS = {  # first letter of the CiN/903 ethnicity code -> DfE major group
    "W": "White",
    "M": "Mixed",
    "A": "Asian or Asian British",
    "B": "Black or Black British",
    "C": "Other ethnic group",  # CHNE (Chinese) is in "other" in DfE's major groups
    "O": "Other ethnic group",
    "R": "Refused",
    "N": "Not obtained",
}

_OPEN_IN_PERIOD = "{start} <= $end AND ({end} IS NULL OR {end} >= $start)"


def _open(start: str, end: str) -> str:
    return _OPEN_IN_PERIOD.format(start=start, end=end)


GROUP_SQL = {
    "cin": f"""SELECT DISTINCT child_id FROM referrals
               WHERE {_open("referral_date", "closure_date")}""",
    "cp": f"SELECT DISTINCT child_id FROM cp_plans WHERE {_open('start_date', 'end_date')}",
    "cla": f"SELECT DISTINCT child_id FROM episodes WHERE {_open('start_date', 'end_date')}",
    "care_leaver": "SELECT DISTINCT child_id FROM care_leavers WHERE year = $year",
    "disabled": f"""
        SELECT child_id FROM child_disabilities WHERE disability <> 'NONE'
        UNION
        SELECT child_id FROM referrals
        WHERE primary_need = 'N2' AND {_open("referral_date", "closure_date")}""",
    "neglect": f"""
        SELECT DISTINCT r.child_id FROM referrals r
        WHERE r.primary_need = 'N1' AND {_open("r.referral_date", "r.closure_date")}
          AND (EXISTS (SELECT 1 FROM cp_plans p
                       WHERE p.child_id = r.child_id AND p.referral_date = r.referral_date
                         AND 'NEG' IN (p.initial_category, p.latest_category))
               OR EXISTS (SELECT 1 FROM assessment_factors f
                          WHERE f.child_id = r.child_id AND f.referral_date = r.referral_date
                            AND f.factor = '16A'))""",
    "uasc": """SELECT child_id FROM uasc
               WHERE uasc_ceased_date IS NULL OR uasc_ceased_date >= $start""",
}


def _params(query: str, period: Period) -> dict:
    values = {"start": period.start, "end": period.end, "year": period.end_year}
    return {k: v for k, v in values.items() if f"${k}" in query}


def group_members(con: duckdb.DuckDBPyConnection, group: str, period: Period) -> set[str]:
    query = GROUP_SQL[group]
    rows = con.execute(query, _params(query, period)).fetchall()
    return {child for (child,) in rows if child is not None}


def age_band(age: float | None) -> str | None:
    if age is None or pd.isna(age):
        return None
    for limit, band in ((1, "under_1"), (5, "1-4"), (10, "5-9"), (16, "10-15"), (18, "16-17")):
        if age < limit:
            return band
    return "18+"


_CHILDREN = """
WITH home AS (
    SELECT child_id, arg_max(area_code, from_date) AS area_code
    FROM child_addresses WHERE from_date <= $end AND area_code IS NOT NULL GROUP BY child_id
), home_903 AS (
    SELECT child_id, arg_max(home_area_code, start_date) AS area_code
    FROM episodes WHERE start_date <= $end AND home_area_code IS NOT NULL GROUP BY child_id
), team AS (
    SELECT child_id, arg_max(team, start_date) AS team
    FROM worker_allocations
    WHERE start_date <= $end AND (end_date IS NULL OR end_date >= $end) GROUP BY child_id
), ranks AS (  -- national ranks, when the indices were imported (newest vintage)
    SELECT lsoa_code, arg_max(imd_rank, vintage) AS imd_rank,
           arg_max(idaci_rank, vintage) AS idaci_rank
    FROM ref_deprivation GROUP BY lsoa_code
), local_areas AS (  -- the authority's own small areas in fifths, most deprived first
    SELECT a.area_code,
           CASE WHEN a.imd_decile IS NOT NULL THEN ntile(5) OVER (
               PARTITION BY a.imd_decile IS NULL
               ORDER BY a.imd_decile, r.imd_rank NULLS LAST, a.area_code) END
               AS imd_local_quintile,
           CASE WHEN a.idaci_decile IS NOT NULL THEN ntile(5) OVER (
               PARTITION BY a.idaci_decile IS NULL
               ORDER BY a.idaci_decile, r.idaci_rank NULLS LAST, a.area_code) END
               AS idaci_local_quintile
    FROM ref_areas a LEFT JOIN ranks r ON r.lsoa_code = a.area_code
)
SELECT c.child_id, c.sex, c.ethnicity,
       date_part('year', age(CAST($end AS DATE), c.date_of_birth)) AS age,  -- whole years
       COALESCE(h.area_code, h9.area_code) AS lsoa,
       a.ward_name AS ward, a.locality, a.imd_decile, a.idaci_decile,
       q.imd_local_quintile, q.idaci_local_quintile, t.team
FROM children c
LEFT JOIN home h USING (child_id)
LEFT JOIN home_903 h9 USING (child_id)
LEFT JOIN ref_areas a ON a.area_code = COALESCE(h.area_code, h9.area_code)
LEFT JOIN local_areas q ON q.area_code = a.area_code
LEFT JOIN team t USING (child_id)
"""


def _age_band_sql(age: str) -> str:
    """The SQL of ``age_band`` (the same bands, for a whole column at once)."""
    limits = ((1, "under_1"), (5, "1-4"), (10, "5-9"), (16, "10-15"), (18, "16-17"))
    cases = " ".join(f"WHEN {age} < {limit} THEN '{band}'" for limit, band in limits)
    return f"CASE WHEN {age} IS NULL THEN NULL {cases} ELSE '18+' END"


def _ethnic_group_sql(code: str) -> str:
    cases = " ".join(f"WHEN '{letter}' THEN '{group}'" for letter, group in ETHNIC_GROUPS.items())
    return f"CASE left({code}, 1) {cases} END"


def child_dimensions(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """One row per child in the store: dimension columns and a boolean column per group
    (one query: this runs for every period an evaluation needs, on every child)."""
    groups = []
    params = {"start": period.start, "end": period.end, "year": period.end_year}
    for group, query in GROUP_SQL.items():
        groups.append(f"c.child_id IN ({query}) AS {group}")
    query = f"""
        WITH known AS ({_CHILDREN})
        SELECT c.child_id, c.sex, {_ethnic_group_sql("c.ethnicity")} AS ethnicity,
               {_age_band_sql("c.age")} AS age_band,
               c.lsoa, c.ward, c.locality,
               CAST(c.imd_decile AS INTEGER) AS imd_decile,
               CAST(c.idaci_decile AS INTEGER) AS idaci_decile,
               CAST(c.imd_local_quintile AS INTEGER) AS imd_local_quintile,
               CAST(c.idaci_local_quintile AS INTEGER) AS idaci_local_quintile, c.team,
               {", ".join(groups)}
        FROM known c"""
    used = {k: v for k, v in params.items() if f"${k}" in query}
    frame = con.execute(query, used).df()
    for group in GROUPS:
        frame[group] = frame[group].fillna(False).astype(bool)
    frame["disability"] = np.where(frame["disabled"], "Disabled", "Not disabled")
    for column in ("imd_decile", "idaci_decile", "imd_local_quintile", "idaci_local_quintile"):
        frame[column] = frame[column].astype("Int64")
    return frame


__all__ = [
    "AGE_BANDS",
    "CHILD_DIMENSIONS",
    "GROUPS",
    "GROUP_LABELS",
    "age_band",
    "child_dimensions",
    "group_members",
]
