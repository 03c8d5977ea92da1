"""The demo authority generator: determinism, layout, era shapes, calibration against
England's published rates, awkward cases, validity, and planted errors.

Rates are computed here straight from the generated files, the way any reader of the returns
would compute them. Sizes are small (hundreds to 1,500 children) to keep the suite quick;
tolerances are set for those sizes.
"""

from __future__ import annotations

import csv
import filecmp
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from framework.demo.calibration import headline
from framework.demo.generator import DemoSummary, generate_demo
from framework.sources.template_defs import TEMPLATES

REPO = Path(__file__).resolve().parents[1]
YEARS = ["2021-22", "2022-23", "2023-24", "2024-25", "2025-26"]
# One file per local-data template (all years in each), the family survey invitations apart
# from the staff survey's, as two survey teams would send them.
LOCAL_FILES = [
    *(name for name in TEMPLATES),
    "survey_invitations_families",
]
BENCHMARK_FILES = [
    "b1_children_in_need",
    "c1_children_in_need_referrals_and_rereferrals",
    "cla_number_and_rate_per_10k_children",
    "d3_cpps_subsequent_plan",
    "d5_cpps_at31march_by_duration",
    "dfe_dashboard_csc_spending_ro3",
    "la_care_leavers_accommodation_suitability",
    "la_care_leavers_activity",
    "sn_model_2025_wide",
]
SSDA903_COLUMNS = {
    "header": "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB",
    "episodes": "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,"
    "HOME_POST,PL_POST,URN",
    "reviews": "CHILD,DOB,REVIEW,REVIEW_CODE",
    "uasc": "CHILD,SEX,DOB,DUC",
    "oc2": "CHILD,DOB,SDQ_SCORE,SDQ_REASON,CONVICTED,HEALTH_CHECK,IMMUNISATIONS,TEETH_CHECK,"
    "HEALTH_ASSESSMENT,SUBSTANCE_MISUSE,INTERVENTION_RECEIVED,INTERVENTION_OFFERED",
    "oc3": "CHILD,DOB,IN_TOUCH,ACTIV,ACCOM",
    "missing": "CHILD,DOB,MISSING,MIS_START,MIS_END",
    "previous_permanence": "CHILD,DOB,PREV_PERM,LA_PERM,DATE_PERM",
    "sw_episodes": "CHILD,DOB,SW_ID,SW_DECOM,SW_DEC,SW_REASON",
    "ad1": "CHILD,DOB,DATE_INT,DATE_MATCH,FOSTER_CARE,NB_ADOPTR,SEX_ADOPTR,LS_ADOPTR",
    "placed_for_adoption": "CHILD,DOB,DATE_PLACED,DATE_PLACED_CEASED,REASON_PLACED_CEASED",
}
CHILDREN = 1500


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demoton"
    generate_demo(out, children=CHILDREN, years=5, seed=2019, end_year=2026)
    return out


@pytest.fixture(scope="module")
def demo_with_errors(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("errors") / "demoton"
    generate_demo(out, children=600, years=3, seed=5, end_year=2026, with_errors=True)
    return out


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def table(demo: Path, year: str, name: str) -> list[dict[str, str]]:
    return rows(demo / year / "ssda903" / f"{name}.csv")


def census(demo: Path, year: str) -> ET.Element:
    end_year = int(year[:4]) + 1
    return ET.parse(demo / year / f"cin_census_{end_year}.xml").getroot()


def uk(text: str) -> date:
    dom, month, year = text.split("/")
    return date(int(year), int(month), int(dom))


def all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def referrals_by_child(demo: Path) -> dict[str, set[date]]:
    history = defaultdict(set)
    for year in YEARS:
        for child in census(demo, year).iter("Child"):
            child_id = child.findtext("ChildIdentifiers/LAchildID")
            for details in child.findall("CINdetails"):
                history[child_id].add(date.fromisoformat(details.findtext("CINreferralDate")))
    return history


def in_year(year: str, when: date) -> bool:
    start = int(year[:4])
    return date(start, 4, 1) <= when <= date(start + 1, 3, 31)


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    generate_demo(first, children=400, years=3, seed=42)
    generate_demo(second, children=400, years=3, seed=42)
    names = all_files(first)
    assert names == all_files(second)
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert not mismatch and not errors


def test_output_does_not_depend_on_the_hash_seed(tmp_path):
    """Another interpreter with a different PYTHONHASHSEED writes the same bytes."""
    here, there = tmp_path / "here", tmp_path / "there"
    generate_demo(here, children=300, years=2, seed=9)
    code = (
        "from pathlib import Path; from framework.demo.generator import generate_demo; "
        f"generate_demo(Path({str(there)!r}), children=300, years=2, seed=9)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO)
    names = all_files(here)
    _, mismatch, errors = filecmp.cmpfiles(here, there, names, shallow=False)
    assert names == all_files(there) and not mismatch and not errors


def test_a_different_seed_gives_different_files(tmp_path):
    generate_demo(tmp_path / "a", children=300, years=2, seed=1)
    generate_demo(tmp_path / "b", children=300, years=2, seed=2)
    one = (tmp_path / "a" / "2025-26" / "cin_census_2026.xml").read_bytes()
    two = (tmp_path / "b" / "2025-26" / "cin_census_2026.xml").read_bytes()
    assert one != two


# --- layout --------------------------------------------------------------------------------------


def test_layout_is_exact(demo):
    expected = {
        "README.txt",
        "reference/demoton_postcodes.csv",
        "reference/demoton_areas.csv",
        "reference/demoton_lsoa_boundaries.geojson",
        "reference/demoton_IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv",
        "reference/demoton_lsoa21_to_ward24_to_lad24.csv",
        "reference/demoton_population_mid2024_age0-17.csv",
        "reference/demoton_postcode_lookup.csv",
        "addresses/child_addresses.csv",
    }
    expected |= {f"local/{name}.csv" for name in LOCAL_FILES}
    expected |= {f"benchmarks/{name}_demoton.csv" for name in BENCHMARK_FILES}
    for year in YEARS:
        end_year = int(year[:4]) + 1
        expected.add(f"{year}/cin_census_{end_year}.xml")
        expected.add(f"{year}/csww_{end_year - 1}.xml")  # at 30 September in the year
        for name in SSDA903_COLUMNS:
            if name == "sw_episodes" and end_year < 2024:
                continue  # social-worker episodes are collected from 2023-24
            expected.add(f"{year}/ssda903/{name}.csv")
    assert set(all_files(demo)) == expected
    assert (demo / "README.txt").read_text(encoding="utf-8").startswith("Demoton")
    assert "fictional" in (demo / "README.txt").read_text(encoding="utf-8")


def test_column_headers_are_exact(demo):
    def first_line(path: Path) -> str:
        return path.read_text(encoding="utf-8").splitlines()[0]

    reference = demo / "reference"
    assert first_line(reference / "demoton_postcodes.csv") == "postcode,area_code"
    assert first_line(reference / "demoton_areas.csv") == (
        "area_code,area_name,ward_code,ward_name,locality,imd_decile,idaci_decile,children_0_17"
    )
    assert first_line(demo / "addresses" / "child_addresses.csv") == "child_id,postcode,from_date"
    for year in YEARS:
        for path in (demo / year / "ssda903").glob("*.csv"):
            assert first_line(path) == SSDA903_COLUMNS[path.stem], path


def test_cin_header_and_identifiers(demo):
    for year in YEARS:
        root = census(demo, year)
        end_year = int(year[:4]) + 1
        assert root.tag == "Message"
        assert root.findtext("Header/CollectionDetails/Collection") == "CIN"
        assert root.findtext("Header/CollectionDetails/Year") == str(end_year)
        assert root.findtext("Header/CollectionDetails/ReferenceDate") == f"{end_year}-03-31"
        assert root.findtext("Header/Source/LEA") == "999"
        ids = [c.findtext("ChildIdentifiers/LAchildID") for c in root.iter("Child")]
        assert len(ids) == len(set(ids))
        assert all(i.isalnum() and len(i) <= 20 for i in ids)


def test_the_number_of_children_is_respected(demo):
    seen = set()
    for year in YEARS:
        seen |= {c.findtext("ChildIdentifiers/LAchildID") for c in census(demo, year).iter("Child")}
        seen |= {r["CHILD"] for r in table(demo, year, "header")}
    assert len(seen) == CHILDREN
    addressed = {r["child_id"] for r in rows(demo / "addresses" / "child_addresses.csv")}
    assert addressed == seen


def test_summary_reports_counts(tmp_path):
    summary = generate_demo(tmp_path / "d", children=200, years=2, seed=3)
    assert isinstance(summary, DemoSummary)
    assert summary.children == 200
    assert set(summary.counts) == {"2024-25", "2025-26"}
    assert summary.counts["2025-26"]["cin children"] > 0
    text = str(summary)
    assert "2025-26" in text and "903 episodes" in text


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "x", children=10, cin_shape="both")
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("not a demo", encoding="utf-8")
    with pytest.raises(FileExistsError):
        generate_demo(keep, children=10)
    assert (keep / "notes.txt").exists()


# --- the shapes that changed between years --------------------------------------------------------


def test_auto_shape_uses_gender_current_then_sex(demo):
    for year in YEARS:
        root = census(demo, year)
        sex = root.findall(".//ChildIdentifiers/Sex")
        gender = root.findall(".//ChildIdentifiers/GenderCurrent")
        if year < "2024-25":
            assert gender and not sex
            assert {g.text for g in gender} <= {"0", "1", "2", "9"}
        else:
            assert sex and not gender
            assert {s.text for s in sex} <= {"M", "F", "U"}


@pytest.mark.parametrize(("shape", "tag"), [("sex", "Sex"), ("gender", "GenderCurrent")])
def test_a_forced_cin_shape_applies_to_every_year(tmp_path, shape, tag):
    out = tmp_path / shape
    generate_demo(out, children=250, years=4, seed=4, cin_shape=shape)
    other = "GenderCurrent" if tag == "Sex" else "Sex"
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and p.name[:2] == "20"):
        root = ET.parse(next(folder.glob("cin_census_*.xml"))).getroot()
        assert root.findall(f".//ChildIdentifiers/{tag}")
        assert not root.findall(f".//ChildIdentifiers/{other}")


def test_ssda903_sex_codes_follow_the_year(demo):
    for year in YEARS:
        codes = {r["SEX"] for r in table(demo, year, "header")}
        assert codes <= ({"1", "2"} if year < "2024-25" else {"M", "F", "U"}), year


def test_placement_codes_are_valid_for_their_year(demo):
    for year in YEARS:
        places = Counter(r["PLACE"] for r in table(demo, year, "episodes"))
        if year == "2025-26":
            assert not {"Z1", "H5", "P2"} & set(places)
        else:
            assert not {"Z11", "Z12", "Z13", "Z14"} & set(places)
        if year < "2024-25":
            assert "K3" not in places
        for row in table(demo, year, "episodes"):
            if row["PLACE"][0] in "TZ":
                assert row["PLACE_PROVIDER"] == "", row
            if row["PLACE"] == "P1":
                assert row["PLACE_PROVIDER"] == "PR0"
            if row["PLACE"] in ("K2", "U4", "U6"):
                assert row["URN"].startswith("SC") and len(row["URN"]) == 8


# --- calibration against England -----------------------------------------------------------------


def test_nfa_share_is_near_england(demo):
    referrals = nfa = 0
    for year in YEARS:
        for details in census(demo, year).iter("CINdetails"):
            if in_year(year, date.fromisoformat(details.findtext("CINreferralDate"))):
                referrals += 1
                nfa += details.findtext("ReferralNFA") == "true"
    assert 4.0 <= 100 * nfa / referrals <= 9.0  # England 2024-25: 6.5% (c1)


def test_rereferrals_within_12_months_are_near_england(demo):
    history = referrals_by_child(demo)
    shares = {}
    for year in YEARS[1:]:  # the first year has no earlier file to look back into
        total = repeat = 0
        for child in census(demo, year).iter("Child"):
            child_id = child.findtext("ChildIdentifiers/LAchildID")
            for details in child.findall("CINdetails"):
                when = date.fromisoformat(details.findtext("CINreferralDate"))
                if not in_year(year, when):
                    continue
                total += 1
                repeat += any(when - timedelta(days=365) <= d < when for d in history[child_id])
        shares[year] = 100 * repeat / total
    pooled = sum(shares.values()) / len(shares)
    assert 17.0 <= pooled <= 27.0, shares  # England: 22.6% (c1)
    # the improvement from the third year lowers re-referrals
    assert shares["2025-26"] < shares["2022-23"], shares


def test_second_or_subsequent_cp_plans_are_near_england(demo):
    started = subsequent = 0
    for year in YEARS:
        for plan in census(demo, year).iter("ChildProtectionPlans"):
            if in_year(year, date.fromisoformat(plan.findtext("CPPstartDate"))):
                started += 1
                subsequent += int(plan.findtext("NumberOfPreviousCPP")) >= 1
    assert 16.0 <= 100 * subsequent / started <= 34.0  # England: 24.5% (d3)


def test_referral_rates_rise_with_deprivation(demo):
    decile_of = {}
    population = Counter()
    for row in rows(demo / "reference" / "demoton_areas.csv"):
        decile_of[row["area_code"]] = int(row["imd_decile"])
        population[int(row["imd_decile"])] += int(row["children_0_17"])
    area_of = {
        r["postcode"]: r["area_code"] for r in rows(demo / "reference" / "demoton_postcodes.csv")
    }
    first_postcode = {}
    for row in rows(demo / "addresses" / "child_addresses.csv"):
        first_postcode.setdefault(row["child_id"], row["postcode"])
    referrals = Counter()
    for year in YEARS:
        for child in census(demo, year).iter("Child"):
            postcode = first_postcode[child.findtext("ChildIdentifiers/LAchildID")]
            if postcode not in area_of:
                continue
            decile = decile_of[area_of[postcode]]
            for details in child.findall("CINdetails"):
                referrals[decile] += in_year(
                    year, date.fromisoformat(details.findtext("CINreferralDate"))
                )

    def rate(deciles) -> float:
        return sum(referrals[d] for d in deciles) / sum(population[d] for d in deciles)

    assert rate((1, 2)) > 2.5 * rate((9, 10))


def test_rates_per_10000_are_near_england(demo):
    values = [headline(demo, year) for year in (2024, 2025, 2026)]

    def mean(key: str) -> float:
        return sum(v[key] for v in values) / len(values)

    assert 420 <= mean("referrals per 10k") <= 620  # England 519 (c1)
    assert 260 <= mean("children in need at 31 March per 10k") <= 400  # 330 (b1)
    assert 28 <= mean("CP plans at 31 March per 10k") <= 55  # 40.6 (d5)
    assert 45 <= mean("looked after at 31 March per 10k") <= 90  # 67 (cla)
    assert 45 <= mean("care leavers 17-21 in EET %") <= 70  # 54-64% (care leavers activity)
    assert 78 <= mean("care leavers in suitable accommodation %") <= 96  # 89-91%


def test_area_populations_are_about_350_children(demo):
    areas = rows(demo / "reference" / "demoton_areas.csv")
    mean = sum(int(a["children_0_17"]) for a in areas) / len(areas)
    assert 250 <= mean <= 450


# --- awkward but valid cases ----------------------------------------------------------------------


def test_episodes_span_year_ends(demo):
    spanning = 0
    for before, after in pairwise(YEARS):
        still_open = {
            (r["CHILD"], r["DECOM"]) for r in table(demo, before, "episodes") if not r["DEC"]
        }
        later = {(r["CHILD"], r["DECOM"]) for r in table(demo, after, "episodes")}
        spanning += len(still_open & later)
        referrals = {
            (c.findtext("ChildIdentifiers/LAchildID"), d.findtext("CINreferralDate"))
            for c in census(demo, before).iter("Child")
            for d in c.findall("CINdetails")
            if d.findtext("CINclosureDate") is None
        }
        carried = {
            (c.findtext("ChildIdentifiers/LAchildID"), d.findtext("CINreferralDate"))
            for c in census(demo, after).iter("Child")
            for d in c.findall("CINdetails")
        }
        assert referrals <= carried  # every open CIN episode appears in the next census
    assert spanning > 0


def test_children_re_enter_care(demo):
    starts = Counter()
    for year in YEARS:
        for row in table(demo, year, "episodes"):
            if row["RNE"] == "S":
                starts[(row["CHILD"], row["DECOM"])] += 1
    per_child = Counter(child for child, _ in starts)
    assert any(n >= 2 for n in per_child.values())
    reentries = {r["CHILD"] for y in YEARS for r in table(demo, y, "previous_permanence")}
    assert reentries


def test_transfers_in_have_a_conference_but_no_s47(demo):
    found = 0
    for year in YEARS:
        for details in census(demo, year).iter("CINdetails"):
            conference = details.findtext("DateOfInitialCPC")
            if conference and not details.findall("Section47"):
                found += 1
                starts = [
                    p.findtext("CPPstartDate") for p in details.findall("ChildProtectionPlans")
                ]
                assert conference in starts
                assert details.findtext("ReferralSource") == "5C"
    assert found > 0


def test_some_children_have_no_recorded_postcode(demo):
    addresses = rows(demo / "addresses" / "child_addresses.csv")
    assert any(r["postcode"] == "" for r in addresses)
    assert sum(r["postcode"] == "" for r in addresses) < 0.1 * len(addresses)
    moved = Counter(r["child_id"] for r in addresses)
    assert any(n > 1 for n in moved.values())  # address history


def test_unborn_children_are_recorded_as_unborn(demo):
    unborn = 0
    for year in YEARS:
        for child in census(demo, year).iter("Child"):
            ids = child.find("ChildIdentifiers")
            if ids.find("ExpectedPersonBirthDate") is not None:
                unborn += 1
                assert ids.find("PersonBirthDate") is None
                sex = ids.findtext("Sex") or ids.findtext("GenderCurrent")
                assert sex in ("U", "0")
    assert unborn > 0


def test_late_recorded_care_exit_is_open_then_closed(demo):
    """An exit in late March shown open in that year's return and closed, dated in that
    year, in the next year's return."""
    found = 0
    for before, after in pairwise(YEARS):
        open_then = {
            (r["CHILD"], r["DECOM"]) for r in table(demo, before, "episodes") if not r["DEC"]
        }
        start = date(int(after[:4]), 4, 1)
        for row in table(demo, after, "episodes"):
            if (row["CHILD"], row["DECOM"]) in open_then and row["DEC"] and uk(row["DEC"]) < start:
                found += 1
    assert found > 0


def test_children_in_both_returns(demo):
    cin = {c.findtext("ChildIdentifiers/LAchildID") for c in census(demo, "2025-26").iter("Child")}
    looked_after = {r["CHILD"] for r in table(demo, "2025-26", "header")}
    assert len(cin & looked_after) > 0.5 * len(looked_after)


def test_care_leavers_and_unaccompanied_children(demo):
    oc3 = [r for y in YEARS for r in table(demo, y, "oc3")]
    assert oc3
    for row in oc3:
        if row["IN_TOUCH"] in ("DIED", "RHOM"):
            assert row["ACTIV"] == "0" and row["ACCOM"] == "0"
        else:
            assert row["ACTIV"] != "0" and row["ACCOM"] != "0"
    uasc = [r for y in YEARS for r in table(demo, y, "uasc")]
    assert uasc
    for row in uasc:
        born = uk(row["DOB"])
        assert uk(row["DUC"]) == date(born.year + 18, born.month, born.day) or born.day == 29


# --- fiction, and validity by the project's readers ---------------------------------------------


def test_geography_is_plainly_fictional(demo):
    for area in rows(demo / "reference" / "demoton_areas.csv"):
        assert area["area_code"].startswith("X01") and area["ward_code"].startswith("X05")
        assert area["area_name"].startswith("Demoton ")
        assert 1 <= int(area["imd_decile"]) <= 10 and 1 <= int(area["idaci_decile"]) <= 10
    lookup = {r["postcode"] for r in rows(demo / "reference" / "demoton_postcodes.csv")}
    assert all(p.startswith("QX") for p in lookup)
    for row in rows(demo / "addresses" / "child_addresses.csv"):
        assert row["postcode"] == "" or row["postcode"] in lookup
    for row in table(demo, "2025-26", "episodes"):
        for postcode in (row["HOME_POST"], row["PL_POST"]):
            assert postcode == "" or postcode.startswith("QX")


def test_every_code_is_in_the_project_code_lists_for_its_year(demo):
    from framework.codes import codes

    columns = {
        "episodes": {
            "RNE": "reason_new_episode",
            "LS": "legal_status",
            "CIN": "category_of_need",
            "PLACE": "placement_type",
            "PLACE_PROVIDER": "placement_provider",
            "REC": "reason_ceased",
            "REASON_PLACE_CHANGE": "reason_place_change",
        },
        "header": {"ETHNIC": "ethnicity"},
        "reviews": {"REVIEW_CODE": "review_code"},
        "oc3": {"IN_TOUCH": "in_touch", "ACTIV": "activity", "ACCOM": "accommodation"},
        "missing": {"MISSING": "missing_type"},
        "previous_permanence": {"PREV_PERM": "previous_permanence"},
    }
    cin_elements = {
        "ReferralSource": "referral_source",
        "PrimaryNeedCode": "primary_need",
        "ReasonForClosure": "closure_reason",
        "AssessmentFactors": "assessment_factor",
        "InitialCategoryOfAbuse": "abuse_category",
        "LatestCategoryOfAbuse": "abuse_category",
        "Ethnicity": "ethnicity",
        "Disability": "disability",
    }
    for year in YEARS:
        end_year = int(year[:4]) + 1
        for name, fields in columns.items():
            for row in table(demo, year, name):
                for column, code_list in fields.items():
                    value = row[column]
                    assert value == "" or value in codes(code_list, end_year), (year, column, value)
        root = census(demo, year)
        for element, code_list in cin_elements.items():
            found = {e.text for e in root.iter(element)}
            assert found <= codes(code_list, end_year), (year, element, found)


def test_the_project_readers_find_no_errors(demo):
    cin_reader = pytest.importorskip("framework.sources.cin_census")
    ssda903_reader = pytest.importorskip("framework.sources.ssda903")
    for year in YEARS:
        end_year = int(year[:4]) + 1
        cin = cin_reader.read_cin_census(demo / year / f"cin_census_{end_year}.xml")
        assert not cin.errors, [p.message() for p in cin.errors[:5]]
        paths = sorted((demo / year / "ssda903").glob("*.csv"))
        looked_after = ssda903_reader.read_ssda903(paths, collection_year=end_year)
        assert not looked_after.errors, [p.message() for p in looked_after.errors[:5]]


def test_cin_episodes_are_internally_consistent(demo):
    for year in YEARS:
        for child in census(demo, year).iter("Child"):
            spells = []
            for details in child.findall("CINdetails"):
                referred = details.findtext("CINreferralDate")
                closed = details.findtext("CINclosureDate")
                spells.append((referred, closed))
                dates = [e.text for e in details.iter() if e.tag.endswith("Date") and e.text]
                if closed:
                    assert all(d <= closed for d in dates), child.findtext(".//LAchildID")
                conferences = {e.text for e in details.iter("DateOfInitialCPC")}
                for plan in details.findall("ChildProtectionPlans"):
                    start = plan.findtext("CPPstartDate")
                    if in_year(year, date.fromisoformat(start)):
                        assert start in conferences
                if details.findtext("ReferralNFA") == "true":
                    assert not details.findall("Assessments")
            spells.sort()
            for (_, closed), (next_referral, _) in pairwise(spells):
                assert closed is not None and closed < next_referral


def test_episodes_chain_within_periods_of_care(demo):
    for year in YEARS:
        by_child = defaultdict(list)
        for row in table(demo, year, "episodes"):
            by_child[row["CHILD"]].append(row)
        for child, episodes in by_child.items():
            episodes.sort(key=lambda r: uk(r["DECOM"]))
            for row, following in pairwise(episodes):
                assert row["DEC"], (child, row)
                assert uk(following["DECOM"]) >= uk(row["DEC"]) > uk(row["DECOM"])
                joined = uk(following["DECOM"]) == uk(row["DEC"])
                assert (row["REC"] == "X1") == joined
                assert (following["RNE"] == "S") != joined
                if following["RNE"] in ("P", "B", "T", "U") and "T" not in (
                    row["PLACE"][0],
                    following["PLACE"][0],
                ):
                    assert row["REASON_PLACE_CHANGE"], (child, row)


# --- planted errors -----------------------------------------------------------------------------


def test_clean_output_has_no_planted_errors_file(demo):
    assert not (demo / "planted_errors.csv").exists()


def test_with_errors_plants_and_records_every_kind(demo_with_errors):
    planted = rows(demo_with_errors / "planted_errors.csv")
    assert list(planted[0]) == ["file", "child", "field", "value", "kind"]
    kinds = {r["kind"] for r in planted}
    assert kinds == {
        "duplicate_child",
        "duplicate_episode",
        "invalid_code",
        "impossible_date",
        "end_before_start",
        "closure_before_referral",
        "orphan_row",
    }
    for record in planted:
        text = (demo_with_errors / record["file"]).read_text(encoding="utf-8")
        assert record["child"] in text and record["value"] in text, record
    orphans = [r for r in planted if r["kind"] == "orphan_row"]
    for orphan in orphans:
        header = demo_with_errors / Path(orphan["file"]).parent / "header.csv"
        assert orphan["child"] not in header.read_text(encoding="utf-8")
    records = sum(len(rows(p)) for p in demo_with_errors.glob("20*/ssda903/*.csv"))
    for path in demo_with_errors.glob("20*/cin_census_*.xml"):
        records += len(ET.parse(path).getroot().findall(".//CINdetails"))
    assert len(planted) < 0.04 * records  # a small rate (each kind at least once a year)


def test_the_project_readers_catch_every_planted_error(demo_with_errors):
    cin_reader = pytest.importorskip("framework.sources.cin_census")
    ssda903_reader = pytest.importorskip("framework.sources.ssda903")
    caught = defaultdict(set)
    for folder in sorted(demo_with_errors.glob("20??-??")):
        end_year = int(folder.name[:4]) + 1
        results = [
            cin_reader.read_cin_census(folder / f"cin_census_{end_year}.xml"),
            ssda903_reader.read_ssda903(
                sorted((folder / "ssda903").glob("*.csv")), collection_year=end_year
            ),
        ]
        for result in results:
            for problem in result.errors:
                caught[(folder.name, problem.file, problem.child)].add(problem.field)
    for record in rows(demo_with_errors / "planted_errors.csv"):
        folder, name = record["file"].split("/")[0], Path(record["file"]).name
        assert (folder, name, record["child"]) in caught, record
