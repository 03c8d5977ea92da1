"""Real postcodes, real boundaries (../shared/reference, OGL; skipped when absent): postcodes
from the packaged ONS postcode directory, with no lookup loaded, are placed by location in the
official LSOA 2021 boundaries and get their IoD 2025 deciles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framework import geography
from framework.reference import import_reference
from framework.store import store

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
# District codes that changed between the IoD 2025 file (2024 districts) and the packaged
# postcode directory: Barnsley and Sheffield were recoded (boundary changes) in 2025.
RECODED = {"E08000016": "E08000038", "E08000019": "E08000039"}
FILES = (
    "geography/lsoa21_bsc_england.geojson",
    "deprivation/IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv.gz",
)


@pytest.fixture(scope="module")
def england(tmp_path_factory):
    if not all((REFERENCE / name).exists() for name in FILES):
        pytest.skip(f"{REFERENCE} (official boundaries and indices) is not available")
    path = tmp_path_factory.mktemp("england") / "store.duckdb"
    outcome = import_reference([REFERENCE / name for name in FILES], store_path=path)
    assert outcome.status == "imported", outcome.message
    con = store.connect(path, read_only=True)
    yield con
    con.close()


def _sample(size: int = 300):
    """English postcodes with a grid reference, drawn the same way every run."""
    letters = tuple("BLMNS")  # Birmingham, London, Manchester, Newcastle, Sheffield… and more
    directory = geography._directory(letters).dropna(subset=["oseast1m", "osnrth1m"])
    english = directory[directory["laua"].astype(str).str.startswith("E")]
    chosen = np.random.default_rng(5).choice(len(english), size, replace=False)
    return english.iloc[np.sort(chosen)].reset_index(drop=True)


def test_real_postcodes_land_in_their_own_district(england):
    sample = _sample()
    described = geography.describe_postcodes(england, sample["pcd"])
    located = described["status"] == geography.LOCATED
    # The boundaries are generalised (clipped to the coast, 20 m), so a postcode on an
    # estuary edge can fall just outside; nearly all must be placed.
    assert located.mean() >= 0.98
    districts = (
        england.execute("SELECT lsoa_code, lad_code FROM ref_deprivation WHERE vintage = 2025")
        .df()
        .set_index("lsoa_code")["lad_code"]
    )
    found = described.loc[located, "lsoa"].map(districts).replace(RECODED)
    # The directory's district and the LSOA's district agree for nearly every one (a postcode
    # on a district border can fall on the other side of a generalised boundary).
    assert (found.to_numpy() == sample.loc[located, "laua"].to_numpy()).mean() >= 0.97
    assert described.loc[located, "imd_decile"].between(1, 10).all()
    assert described.loc[located, "idaci_decile"].between(1, 10).all()
