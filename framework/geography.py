"""Postcodes to small areas, at load time, so that no postcode is ever stored.

A child's home postcode is normalised, looked up in the store's postcode-to-area reference
table (``ref_postcode_areas``), and replaced by the area code and a match status. Load the
reference data first (the demo does); a postcode that arrives before any lookup is loaded is
recorded as ``no lookup loaded`` and cannot be linked later without re-loading the return.
"""

from __future__ import annotations

import duckdb
import pandas as pd

# Shape of a UK postcode after normalisation: outward code, one space, inward code.
POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"

MATCHED = "matched"
BLANK = "blank"
MALFORMED = "malformed"
UNKNOWN = "not in lookup"
NO_LOOKUP = "no lookup loaded"


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Upper-case, drop spaces and punctuation, then put one space before the inward code."""
    squeezed = values.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    spaced = squeezed.str[:-3] + " " + squeezed.str[-3:]
    spaced = spaced.where(squeezed.str.len() >= 5, squeezed)
    return spaced.mask(squeezed.isna() | (squeezed == ""), pd.NA)


def link_postcodes(con: duckdb.DuckDBPyConnection, raw: pd.Series) -> pd.DataFrame:
    """Area code and match status for each postcode (same index as ``raw``)."""
    postcode = normalise_postcodes(raw)
    well_formed = postcode.str.match(POSTCODE_PATTERN).fillna(False).astype(bool)
    status = pd.Series(BLANK, index=raw.index, dtype="string")
    status = status.mask(postcode.notna() & ~well_formed, MALFORMED)
    lookup_size = con.execute("SELECT COUNT(*) FROM ref_postcode_areas").fetchall()[0][0]
    if lookup_size == 0:
        status = status.mask(well_formed, NO_LOOKUP)
        area = pd.Series(pd.NA, index=raw.index, dtype="string")
        return pd.DataFrame({"area_code": area, "status": status})
    wanted = pd.DataFrame({"postcode": postcode[well_formed].unique().astype(object)})
    con.register("wanted_postcodes", wanted)
    found = con.execute(
        "SELECT w.postcode, r.area_code FROM wanted_postcodes w "
        "JOIN ref_postcode_areas r USING (postcode)"
    ).fetchall()
    con.unregister("wanted_postcodes")
    mapping = dict(found)
    area = postcode.where(well_formed).map(mapping, na_action="ignore").astype("string")
    status = status.mask(well_formed, UNKNOWN).mask(area.notna(), MATCHED)
    return pd.DataFrame({"area_code": area, "status": status})


def match_rate(statuses: pd.Series) -> float | None:
    """Share of non-blank postcodes that matched an area (None when there were none)."""
    given = statuses[statuses != BLANK]
    return None if given.empty else float((given == MATCHED).mean())
