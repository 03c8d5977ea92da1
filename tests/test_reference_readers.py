"""Official reference files: each layout recognised and read, problems reported, imports atomic.

Fixtures are small hand-made files with invented codes and values, written by the tests, with
the quirks of the published files (BOM, CRLF, "29,199", "29199.00", spaces around headers).
The real files in ../shared/reference are read where present (never copied here).
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from framework import geography
from framework.cli import main
from framework.reference import import_reference, read_reference
from framework.reference import imports as imports_module
from framework.reference.common import SHOWN_PER_KIND, NotReferenceFile, ReferenceCheck
from framework.reference.files import RowLabels
from framework.sources.problems import ERROR, WARNING, UnreadableFile
from framework.store import store

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"

IOD_2019_FILE_1 = (
    "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
    "Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,"
    "Index of Multiple Deprivation (IMD) Decile"
)
WHERE_RANK = "(where 1 is most deprived)"
WHERE_DECILE = "(where 1 is most deprived 10% of LSOAs)"
IMD = "Index of Multiple Deprivation (IMD)"
IDACI = "Income Deprivation Affecting Children Index (IDACI)"


def write(path: Path, lines: list[str], *, bom: bool = False, crlf: bool = False) -> Path:
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
    data = ("\ufeff" if bom else "") + text
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data.encode("utf-8")))
    else:
        path.write_bytes(data.encode("utf-8"))
    return path


def row_of(read, lsoa: str, table: str = "ref_deprivation") -> dict:
    frame = read.tables[table]
    column = "lsoa_code" if "lsoa_code" in frame else "lsoa21_code"
    rows = frame[frame[column] == lsoa].to_dict("records")
    assert len(rows) == 1, rows
    return rows[0]


def file_1(tmp_path: Path, name: str = "IoD2019_File_1_test.csv") -> Path:
    return write(
        tmp_path / name,
        [
            IOD_2019_FILE_1,
            'E01900001,Invented 001A,E09900001,Invented,"29,199",9',
            "E01900002,Invented 001B,E09900001,Invented,17,1",
        ],
        bom=True,
        crlf=True,
    )


def file_3(tmp_path: Path, name: str = "IoD2019_File_3_test.csv.gz") -> Path:
    header = (
        f" LSOA code (2011) ,LSOA name (2011),Local Authority District code (2019) ,"
        f"Local Authority District name (2019),{IMD} Rank {WHERE_RANK},"
        f"{IMD} Decile {WHERE_DECILE},{IDACI} Rank {WHERE_RANK} ,{IDACI} Decile {WHERE_DECILE},"
        f"Income Deprivation Affecting Older People (IDAOPI) Rank {WHERE_RANK},"
        f"Income Deprivation Affecting Older People (IDAOPI) Decile {WHERE_DECILE}"
    )
    return write(
        tmp_path / name,
        [
            header,
            "E01900001,Invented 001A,E09900001,Invented,29199.00,9.00,32806.00,10.00,5.00,1.00",
            "E01900002,Invented 001B,E09900001,Invented,17.00,1.00,120.00,1.00,7.00,1.00",
        ],
        bom=True,
        crlf=True,
    )


# --- deprivation layouts ------------------------------------------------------------------------


def test_iod2019_file_1_bom_crlf_and_thousands_separators(tmp_path):
    read = read_reference(file_1(tmp_path))
    assert (read.kind, read.vintage) == ("deprivation", 2019)
    row = row_of(read, "E01900001")
    assert (row["imd_rank"], row["imd_decile"], row["lsoa_vintage"]) == (29199, 9, 2011)
    assert row["lad_code"] == "E09900001"
    assert pd.isna(row["idaci_rank"]) and pd.isna(row["imd_score"])
    assert read.count.read == 2 and read.count.set_aside == 0 and not read.problems


def test_iod2019_file_2_domains_where_headers(tmp_path):
    domains = ["Income", "Employment", "Crime"]
    header = [
        "LSOA code (2011)",
        "LSOA name (2011)",
        f"{IMD} Rank {WHERE_RANK}",
        f"{IMD} Decile {WHERE_DECILE}",
    ]
    header += [f"{d} {m} {w}" for d in domains for m, w in (("Rank", WHERE_RANK),)]
    path = write(
        tmp_path / "IoD2019_File_2_test.csv",
        [",".join(header), "E01900003,Invented 002A,3001,2,1,2,3"],
        bom=True,
    )
    read = read_reference(path)
    row = row_of(read, "E01900003")
    assert (read.kind, row["imd_rank"], row["imd_decile"]) == ("deprivation", 3001, 2)


def test_iod2019_file_3_decimals_gzip_and_spaces_around_headers(tmp_path):
    read = read_reference(file_3(tmp_path))
    assert read.description.startswith("IoD 2019 on LSOA 2011")
    row = row_of(read, "E01900001")
    assert (row["imd_rank"], row["idaci_rank"], row["idaci_decile"]) == (29199, 32806, 10)
    assert pd.isna(row["idaci_score"])  # File 3 publishes no score


def test_iod2025_file_3_lsoa_2021_and_year_from_codes_when_unnamed(tmp_path):
    header = (
        f"LSOA code (2021),LSOA name (2021),Local Authority District code (2024),"
        f"Local Authority District name (2024),{IMD} Rank {WHERE_RANK},"
        f"{IMD} Decile {WHERE_DECILE},{IDACI} Rank {WHERE_RANK},{IDACI} Decile {WHERE_DECILE}"
    )
    lines = [header, "E01900001,Invented 001A,E09900001,Invented,26525,8,33304,10"]
    named = read_reference(write(tmp_path / "File_3_IoD2025_Supplementary.csv", lines))
    assert (named.vintage, row_of(named, "E01900001")["lsoa_vintage"]) == (2025, 2021)
    unnamed = read_reference(write(tmp_path / "supplementary.csv", lines))
    assert unnamed.vintage == 2025
    assert any("IoD 2025 assumed" in note for note in unnamed.notes)


def test_iod2025_file_7_official_headers_give_scores_and_children(tmp_path):
    header = [
        "LSOA code (2021)",
        "LSOA name (2021)",
        "Local Authority District code (2024)",
        f"{IMD} Score",
        f"{IMD} Rank {WHERE_RANK}",
        f"{IMD} Decile {WHERE_DECILE}",
        f"{IDACI} Score (rate)",
        f"{IDACI} Rank {WHERE_RANK}",
        f"{IDACI} Decile {WHERE_DECILE}",
        "Total population: mid 2022 (excluding prisoners)",
        "Dependent Children aged 0-15: mid 2022 (excluding prisoners)",
    ]
    path = write(
        tmp_path / "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
        [
            ",".join(header),
            "E01900001,Invented 001A,E09900001,8.742,26525,8,0.041,33304,10,1500,180",
        ],
    )
    read = read_reference(path)
    row = row_of(read, "E01900001")
    assert (row["imd_score"], row["idaci_score"]) == (pytest.approx(8.742), pytest.approx(0.041))
    people = row_of(read, "E01900001", "ref_population")
    assert (people["year"], people["age_group"], people["population"]) == (2022, "0-15", 180)


def test_iod2025_file_7_renamed_has_no_idaci(tmp_path):
    path = write(
        tmp_path / "IoD2025_lsoa21_IMD_domains_scores_ranks_deciles.csv.gz",
        [
            "lsoa21_code,IMD_decile,Income_decile,IMD_rank,Income_rank,IMD_score,Income_score",
            "E01900001,8,10,26525,33730,8.742,0.013",
        ],
    )
    read = read_reference(path)
    row = row_of(read, "E01900001")
    assert (read.vintage, row["imd_rank"], row["imd_score"]) == (2025, 26525, 8.742)
    assert pd.isna(row["idaci_rank"]) and pd.isna(row["idaci_decile"]) and pd.isna(row["lad_code"])


def test_iod_workbook_read_from_the_sheet_whose_header_matches(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["English Indices of Deprivation 2019: notes (invented)"])
    sheet = book.create_sheet("IMD2019")
    sheet.append(["Invented title row above the header"])
    sheet.append(IOD_2019_FILE_1.split(","))
    sheet.append(["E01900001", "Invented 001A", "E09900001", "Invented", 29199, 9])
    sheet.append(["E01900002", "Invented 001B", "E09900001", "Invented", 17, 11])
    path = tmp_path / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx"
    book.save(path)
    read = read_reference(path)
    assert row_of(read, "E01900001")["imd_rank"] == 29199
    assert read.count.set_aside == 1
    (problem,) = read.problems
    assert problem.location == "sheet 'IMD2019', row 4"
    assert problem.value == "11" and "decile from 1 to 10" in problem.expected


# --- lookups, populations, postcodes -----------------------------------------------------------


def test_lsoa_change_lookup_official_and_renamed_headers(tmp_path):
    official = write(
        tmp_path / "LSOA11_LSOA21_LAD22_EW_LU.csv",
        [
            "LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD,LAD22NM,LAD22NMW,ObjectId",
            "E01900001,Invented 001A,E01900001,Invented 001A,U,E09900001,Invented,,1",
            "E01900002,Invented 001B,E01900010,Invented 001E,S,E09900001,Invented,,2",
            "E01900002,Invented 001B,E01900011,Invented 001F,Q,E09900001,Invented,,3",
        ],
        bom=True,
    )
    read = read_reference(official)
    assert read.kind == "lsoa_changes"
    assert read.tables["ref_lsoa_changes"]["change"].tolist() == ["U", "S"]
    (problem,) = read.problems
    assert (problem.field, problem.value, problem.location) == ("CHGIND", "Q", "row 3")
    renamed = write(
        tmp_path / "lookup.csv",
        [
            "lsoa11_name,lsoa11_code,change_code,lsoa21_name,lsoa21_code,ltla22_name,ltla22_code",
            "Invented 001A,E01900001,M,Invented 001A,E01900020,Invented,E09900001",
        ],
    )
    rows = read_reference(renamed).tables["ref_lsoa_changes"].to_dict("records")
    assert rows == [
        {
            "lsoa11_code": "E01900001",
            "lsoa21_code": "E01900020",
            "change": "M",
            "lad_code": "E09900001",
        }
    ]


def test_ward_lookup_year_from_the_ward_column(tmp_path):
    path = write(
        tmp_path / "wards.csv",
        [
            "LSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM,ObjectId",
            "E01900001,Invented 001A,E05900001,Invented Ward,E09900001,Invented,1",
        ],
    )
    read = read_reference(path)
    assert (read.kind, read.vintage) == ("wards", 2024)
    assert row_of(read, "E01900001", "ref_wards")["ward_name"] == "Invented Ward"


def test_population_0_17_year_from_name_and_file_6_from_header(tmp_path):
    ages = ",".join(f"age_{a}" for a in range(18))
    ons = write(
        tmp_path / "ons_mid2020_lsoa11_population.csv",
        [
            f"lsoa11_code,lsoa11_name,total_population,{ages},children_0_17",
            "E01900001,Invented 001A,1500," + ",".join(["10"] * 18) + ",180",
        ],
    )
    read = read_reference(ons)
    people = row_of(read, "E01900001", "ref_population")
    assert (read.kind, people["year"], people["age_group"], people["population"]) == (
        "population",
        2020,
        "0-17",
        180,
    )
    file_6 = write(
        tmp_path / "IoD2019_File_6_Population_Denominators.csv",
        [
            "LSOA code (2011),LSOA name (2011),Total population: mid 2015 (excluding prisoners),"
            "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
            "E01900001,Invented 001A,1296.00,175.00",
        ],
        bom=True,
    )
    people = row_of(read_reference(file_6), "E01900001", "ref_population")
    assert (people["year"], people["age_group"], people["population"]) == (2015, "0-15", 175)


def test_population_without_a_year_is_refused(tmp_path):
    path = write(tmp_path / "children.csv", ["lsoa21_code,children_0_17", "E01900001,180"])
    with pytest.raises(UnreadableFile, match="which year"):
        read_reference(path)


NSPL_HEADER = "pcd,pcd2,pcds,dointr,doterm,usertype,oseast1m,osnrth1m,oa21,lsoa11,lsoa21,imd"


def test_postcode_directory_prefers_lsoa_2021_and_records_terminations(tmp_path):
    path = write(
        tmp_path / "NSPL21_TEST.csv",
        [
            NSPL_HEADER,
            "ZZ1 1AA,ZZ1  1AA,ZZ1 1AA,198001,,0,532000,181000,E00900001,E01900001,E01900021,1",
            "ZZ1 1AB,ZZ1  1AB,ZZ1 1AB,198001,200506,0,,,E00900001,E01900002,E01900022,1",
            "ZZ1 1AD,ZZ1  1AD,ZZ1 1AD,198001,20x5,0,,,E00900001,E01900002,E01900022,1",
            "GY1 1AA,GY1  1AA,GY1 1AA,198001,,0,,,L99999999,L99999999,L99999999,0",
            "ZZ11,ZZ11,ZZ11,198001,,0,532000,181000,E00900001,E01900001,E01900021,1",
        ],
    )
    read = read_reference(path)
    assert (read.kind, read.vintage) == ("postcodes", 2021)
    areas = dict(read.tables["ref_postcode_areas"].itertuples(index=False))
    assert areas == {"ZZ1 1AA": "E01900021", "ZZ1 1AB": "E01900022", "ZZ1 1AD": "E01900022"}
    assert read.tables["ref_postcode_terminated"].to_dict("records") == [
        {"postcode": "ZZ1 1AB", "terminated": "2005-06"}
    ]
    assert read.count.set_aside == 2  # the Channel Islands row and the malformed postcode
    warning = next(p for p in read.problems if p.severity == WARNING)
    assert (warning.field, warning.value) == ("doterm", "20x5")
    error = next(p for p in read.problems if p.severity == ERROR)
    assert (error.field, error.value, error.location) == ("pcds", "ZZ11", "row 5")
    assert any("no LSOA 2021" in note for note in read.notes)


def test_postcode_best_fit_lookup_with_lsoa_2011_links_at_load(tmp_path):
    path = write(
        tmp_path / "PCD_OA_LSOA_MSOA_LAD_TEST_LU.csv",
        [
            "pcd7,pcd8,pcds,dointr,doterm,usertype,oa11cd,lsoa11cd,msoa11cd,ladcd",
            "ZZ11AA,ZZ1  1AA,ZZ1 1AA,198001,,0,E00900001,E01900001,E02900001,E09900001",
        ],
    )
    store_path = tmp_path / "store.duckdb"
    outcome = import_reference([path], store_path=store_path)
    assert outcome.status == "imported" and outcome.reads[0].vintage == 2011
    con = store.connect(store_path)
    try:
        linked = geography.link_postcodes(con, pd.Series(["zz11aa", "ZZ1 9ZZ"]))
    finally:
        con.close()
    assert linked["area_code"].tolist()[0] == "E01900001"
    assert linked["status"].tolist() == [geography.MATCHED, geography.UNKNOWN]


# --- boundaries --------------------------------------------------------------------------------


def british_grid_geojson(path: Path, code_column: str = "LSOA21CD") -> Path:
    """A 400 m square in the City of London, in British National Grid coordinates."""
    square = [[532000, 181500], [532400, 181500], [532400, 181900], [532000, 181900]]
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": [
            {
                "type": "Feature",
                "properties": {code_column: "E01900001", "LSOA21NM": "Invented 001A"},
                "geometry": {"type": "Polygon", "coordinates": [[*square, square[0]]]},
            }
        ],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def test_geojson_in_british_grid_comes_out_in_longitude_latitude(tmp_path):
    read = read_reference(british_grid_geojson(tmp_path / "lsoa.geojson"))
    assert (read.kind, read.vintage) == ("boundaries", 2021)
    row = read.tables["ref_boundaries"].iloc[0]
    assert (row["lsoa_code"], row["lsoa_name"]) == ("E01900001", "Invented 001A")
    # The square's centre (532200, 181700) is at about 0.0960 W, 51.5188 N.
    assert row["centroid_lon"] == pytest.approx(-0.0960, abs=2e-4)
    assert row["centroid_lat"] == pytest.approx(51.5188, abs=2e-4)
    polygon = shapely.from_wkb(row["geometry"])
    west, south, east, north = polygon.bounds
    assert -0.1 < west < east < -0.09 and 51.51 < south < north < 51.53


def test_geopackage_and_zipped_shapefile_any_case_columns(tmp_path):
    frame = gpd.GeoDataFrame(
        {"lsoa11cd": ["E01900001"], "lsoa11nm": ["Invented 001A"]},
        geometry=[box(532000, 181500, 532400, 181900)],
        crs="EPSG:27700",
    )
    frame.to_file(tmp_path / "lsoa.gpkg", layer="boundaries", driver="GPKG")
    shapefile = tmp_path / "shp" / "LSOA_2011.shp"
    shapefile.parent.mkdir()
    frame.to_crs("EPSG:3857").to_file(shapefile)
    archive = tmp_path / "LSOA_2011_boundaries.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for part in shapefile.parent.iterdir():
            handle.write(part, f"inner/{part.name}")
    for path in (tmp_path / "lsoa.gpkg", archive, shapefile):
        read = read_reference(path)
        row = read.tables["ref_boundaries"].iloc[0]
        assert (read.vintage, row["lsoa_code"], row["lsoa_name"]) == (
            2011,
            "E01900001",
            "Invented 001A",
        )
        assert row["centroid_lon"] == pytest.approx(-0.0960, abs=2e-4), path.name


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_shapefile_without_crs_is_read_as_british_grid_with_a_note(tmp_path):
    shapefile = tmp_path / "lsoa.shp"
    gpd.GeoDataFrame(
        {"LSOA21CD": ["E01900001"]}, geometry=[box(532000, 181500, 532400, 181900)]
    ).to_file(shapefile)
    shapefile.with_suffix(".prj").unlink(missing_ok=True)
    read = read_reference(shapefile)
    assert read.tables["ref_boundaries"]["centroid_lat"].iloc[0] == pytest.approx(51.5188, abs=2e-4)
    assert any("EPSG:27700" in note for note in read.notes)


def test_boundaries_without_lsoa_codes_are_refused(tmp_path):
    path = british_grid_geojson(tmp_path / "wards.geojson", code_column="WD24CD")
    with pytest.raises(NotReferenceFile, match=r"LSOA11CD or LSOA21CD.*WD24CD"):
        read_reference(path)


# --- refusals and problems ----------------------------------------------------------------------


def test_unrecognised_file_is_refused_naming_the_expected_columns(tmp_path):
    path = write(tmp_path / "something.csv", ["la_code,la_name,children", "E09900001,X,10"])
    with pytest.raises(NotReferenceFile) as refused:
        read_reference(path)
    reason = refused.value.reason
    assert "'la_code', 'la_name', 'children'" in reason
    for expected in ("LSOA code (2011)", "pcds", "CHGIND", "WD24CD", "children_0_17", "LSOA21CD"):
        assert expected in reason


def test_bad_rows_are_set_aside_with_file_row_field_value_and_expectation(tmp_path):
    path = write(
        tmp_path / "IoD2019_File_1_bad.csv",
        [
            IOD_2019_FILE_1,
            "E01900001,Invented 001A,E09900001,Invented,100,1",
            "X123,Invented 001B,E09900001,Invented,101,1",
            "E01900003,Invented 001C,E09900001,Invented,abc,1",
            "E01900004,Invented 001D,E09900001,Invented,102,11",
            "E01900005,Invented 001E,E09900001,Invented,99999,1",
            "E01900006,Invented 001F,E09900001,Invented,103,",
            "E01900001,Invented 001A,E09900001,Invented,100,1",
        ],
    )
    read = read_reference(path)
    assert read.count.read == 7 and read.count.set_aside == 7
    by_row = {p.location: p for p in read.problems}
    assert by_row["row 2"].field == "LSOA code (2011)" and by_row["row 2"].value == "X123"
    assert by_row["row 3"].value == "abc" and "rank from 1 to 32,844" in by_row["row 3"].expected
    assert by_row["row 4"].field == "Index of Multiple Deprivation (IMD) Decile"
    assert by_row["row 5"].value == "99999"
    assert by_row["row 6"].rule == "required"
    duplicates = [p for p in read.problems if p.rule == "duplicate"]
    assert [p.location for p in duplicates] == ["row 1", "row 7"]
    message = by_row["row 3"].message()
    assert message.startswith("[set aside] IoD2019_File_1_bad.csv, row 3:")
    assert "Index of Multiple Deprivation (IMD) Rank = 'abc'" in message


def test_problems_of_one_kind_are_listed_up_to_a_limit_then_counted():
    frame = pd.DataFrame({"code": ["bad"] * (SHOWN_PER_KIND + 7)}, dtype="string")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    check = ReferenceCheck(frame, file="f.csv", table="t", child_column=None, locations=RowLabels())
    check.codes("code", r"E\d+", "a code")
    assert check.set_aside.all()
    assert len(check.problems) == SHOWN_PER_KIND + 1
    assert check.problems[-1].location == "7 more rows"


# --- importing ---------------------------------------------------------------------------------


def test_files_1_and_3_combine_by_lsoa_whether_imported_together_or_apart(tmp_path):
    together = tmp_path / "together.duckdb"
    import_reference([file_1(tmp_path), file_3(tmp_path)], store_path=together)
    apart = tmp_path / "apart.duckdb"
    import_reference([file_3(tmp_path)], store_path=apart)
    import_reference([file_1(tmp_path)], store_path=apart)
    columns = "vintage, lsoa_code, lad_code, imd_rank, imd_decile, idaci_rank, idaci_decile"
    results = []
    for path in (together, apart):
        con = store.connect(path, read_only=True)
        results.append(con.execute(f"SELECT {columns} FROM ref_deprivation ORDER BY 2").fetchall())
        con.close()
    assert (
        results[0]
        == results[1]
        == [
            (2019, "E01900001", "E09900001", 29199, 9, 32806, 10),
            (2019, "E01900002", "E09900001", 17, 1, 120, 1),
        ]
    )


def test_import_records_files_problems_and_is_idempotent(tmp_path):
    store_path = tmp_path / "store.duckdb"
    lines = [IOD_2019_FILE_1, "E01900001,A,E09900001,A,5,1", "E01900002,B,E09900001,B,6,12"]
    path = write(tmp_path / "IoD2019_File_1.csv", lines)
    first = import_reference([path], store_path=store_path)
    second = import_reference([path], store_path=store_path)
    assert first.status == second.status == "imported"
    assert all(c == {"added": 0, "removed": 0} for c in second.changes.values())
    con = store.connect(store_path, read_only=True)
    try:
        imported = con.execute("SELECT file_name, kind, vintage, rows FROM reference_imports")
        assert imported.fetchall() == [("IoD2019_File_1.csv", "deprivation", 2019, 1)] * 2
        problems = con.execute("SELECT file_name, location, field, value FROM load_problems")
        assert problems.fetchall()[0] == (
            "IoD2019_File_1.csv",
            "row 2",
            "Index of Multiple Deprivation (IMD) Decile",
            "12",
        )
        assert con.execute("SELECT COUNT(*) FROM loads").fetchall()[0][0] == 2
    finally:
        con.close()


def _snapshot(path: Path) -> dict:
    con = store.connect(path, read_only=True)
    try:
        return store.snapshot(con)
    finally:
        con.close()


def test_an_unreadable_second_file_leaves_the_store_as_it_was(tmp_path):
    store_path = tmp_path / "store.duckdb"
    import_reference([file_1(tmp_path)], store_path=store_path)
    before = _snapshot(store_path)
    unknown = write(tmp_path / "unknown.csv", ["a,b", "1,2"])
    outcome = import_reference([file_3(tmp_path), unknown], store_path=store_path)
    assert outcome.status == "refused" and outcome.exit_code == 1
    assert "unknown.csv" in imports_module.describe(outcome)
    assert _snapshot(store_path) == before


def test_a_failure_while_writing_the_second_file_rolls_everything_back(tmp_path, monkeypatch):
    store_path = tmp_path / "store.duckdb"
    import_reference([file_1(tmp_path)], store_path=store_path)
    before = _snapshot(store_path)
    real_write = imports_module.write_reference_table
    calls = []

    def failing_write(con, name, frame, load_id):
        calls.append(name)
        if len(calls) == 2:
            raise duckdb.IOException("disk full (simulated)")
        return real_write(con, name, frame, load_id)

    monkeypatch.setattr(imports_module, "write_reference_table", failing_write)
    wards = write(
        tmp_path / "wards.csv",
        ["LSOA21CD,WD24CD,WD24NM", "E01900001,E05900001,Invented Ward"],
    )
    with pytest.raises(duckdb.IOException):
        import_reference([file_3(tmp_path), wards], store_path=store_path)
    assert _snapshot(store_path) == before


def test_folders_skip_files_that_are_not_reference_layouts(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    file_1(folder)
    write(folder / "readme.csv", ["note", "invented"])
    (folder / "notes.txt").write_text("not a table\n", encoding="utf-8")
    outcome = import_reference([folder], store_path=tmp_path / "store.duckdb")
    assert outcome.status == "imported"
    assert sorted(p.file for p in outcome.skipped) == ["notes.txt", "readme.csv"]


def test_command_line_import(tmp_path, capsys):
    store_path = tmp_path / "store.duckdb"
    code = main(["reference", "import", str(file_1(tmp_path)), "--store", str(store_path)])
    shown = capsys.readouterr().out
    assert code == 0
    assert "deprivation: IoD 2019 on LSOA 2011" in shown
    assert "2 rows imported, 0 set aside" in shown
    unknown = write(tmp_path / "unknown.csv", ["a,b", "1,2"])
    assert main(["reference", "import", str(unknown), "--store", str(store_path)]) == 1
    assert "NOT IMPORTED unknown.csv" in capsys.readouterr().out


# --- the real files (../shared/reference; skipped when absent) ----------------------------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> Path:
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not available")
    deprivation = REFERENCE / "deprivation"
    files = [
        deprivation / "IoD2019_File_1_IMD2019_Index_of_Multiple_Deprivation.csv.gz",
        deprivation / "IoD2019_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv.gz",
        deprivation / "IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv.gz",
        deprivation / "IoD2025_lsoa21_IMD_domains_scores_ranks_deciles.csv.gz",
        REFERENCE / "geography" / "lsoa21_bsc_england.geojson",
    ]
    path = tmp_path_factory.mktemp("reference") / "store.duckdb"
    outcome = import_reference(files, store_path=path)
    assert outcome.status == "imported", imports_module.describe(outcome)
    assert not outcome.problems
    return path


def _query(path: Path, sql: str) -> list[tuple]:
    con = store.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("vintage", "total", "sizes"), [(2019, 32_844, {3284, 3285}), (2025, 33_755, {3375, 3376})]
)
def test_real_iod_deciles_hold_a_tenth_of_lsoas_each(real_store, vintage, total, sizes):
    for measure in ("imd_decile", "idaci_decile"):
        counts = _query(
            real_store,
            f"SELECT {measure}, COUNT(*) FROM ref_deprivation WHERE vintage = {vintage} "
            "GROUP BY 1 ORDER BY 1",
        )
        assert [d for d, _ in counts] == list(range(1, 11)), measure
        assert {n for _, n in counts} <= sizes and sum(n for _, n in counts) == total


def test_real_iod2019_files_1_and_3_combine_for_every_lsoa(real_store):
    ((rows, both, codes),) = _query(
        real_store,
        "SELECT COUNT(*), COUNT(imd_rank + idaci_rank), COUNT(DISTINCT lsoa_code) "
        "FROM ref_deprivation WHERE vintage = 2019 AND lsoa_vintage = 2011",
    )
    assert rows == both == codes == 32_844


def test_real_iod2025_scores_and_ranks_from_two_files(real_store):
    ((rank, idaci, score),) = _query(
        real_store,
        "SELECT imd_rank, idaci_rank, imd_score FROM ref_deprivation "
        "WHERE vintage = 2025 AND lsoa_code = 'E01000001'",
    )
    assert (rank, idaci, score) == (26525, 33304, pytest.approx(8.742))


def test_real_lsoa21_boundaries(real_store):
    ((features,),) = _query(
        real_store, "SELECT COUNT(*) FROM ref_boundaries WHERE lsoa_vintage = 2021"
    )
    assert features == 33_755
    ((lon, lat, name),) = _query(
        real_store,
        "SELECT centroid_lon, centroid_lat, lsoa_name FROM ref_boundaries "
        "WHERE lsoa_code = 'E01000001'",
    )
    assert lon == pytest.approx(-0.097, abs=0.003) and lat == pytest.approx(51.52, abs=0.003)
    assert name == "City of London 001A"


def test_real_lookups_and_populations_read_whole():
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not available")
    expected = {
        "lookups/lsoa11_to_lsoa21_to_lad22_ew.csv": ("lsoa_changes", 35_795),
        "lookups/lsoa21_to_ward24_to_lad24_ew.csv": ("wards", 35_672),
        "population/ons_mid2020_lsoa11_population_age0-17_england.csv": ("population", 32_844),
        "deprivation/IoD2019_File_6_Population_Denominators.csv.gz": ("population", 32_844),
    }
    for name, (kind, rows) in expected.items():
        read = read_reference(REFERENCE / name)
        assert (read.kind, read.rows_imported, read.count.set_aside) == (kind, rows, 0), name
    ons = read_reference(REFERENCE / "population/ons_mid2020_lsoa11_population_age0-17_england.csv")
    assert ons.tables["ref_population"]["population"].sum() == 12_093_288  # as PROVENANCE says


def test_real_district_summaries_are_refused_with_the_layouts_expected():
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not available")
    deprivation = REFERENCE / "deprivation"
    for name in (
        "IoD2019_File_10_Local_Authority_District_Summaries_lower-tier.xlsx",
        "IoD2019_File_11_Upper-tier_LA_Summaries_IMD.csv",
    ):
        with pytest.raises(NotReferenceFile, match="Expected one of: postcode lookup") as refused:
            read_reference(deprivation / name)
        assert "IMD - Average rank" in refused.value.reason
