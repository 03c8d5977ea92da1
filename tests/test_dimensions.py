"""Child dimensions and groups (spec §4): worked examples for each definition."""

from __future__ import annotations

from framework.engine.dimensions import age_band, child_dimensions, group_members
from framework.engine.periods import Period
from tests.engine_store import tiny_store

YEAR = Period.parse("2024-25")  # 1 April 2024 to 31 March 2025

STORE = """
    children
    child_id | sex | date_of_birth | ethnicity
    A        | F   | 2024-06-01    | WBRI
    B        | M   | 2010-03-31    | BAFR
    C        | M   | 2008-04-01    | MWBC
    D        | F   | 2006-12-25    | CHNE
    E        | M   | 2019-01-01    |

    referrals
    child_id | referral_date | closure_date | primary_need
    A        | 2024-06-01    |              | N1
    B        | 2023-01-01    | 2024-04-01   | N2
    E        | 2025-04-01    |              | N1

    cp_plans
    child_id | referral_date | start_date | end_date   | initial_category | latest_category
    A        | 2024-06-01    | 2024-07-01 |            | EMO              | NEG

    episodes
    child_id | start_date | end_date   | home_area_code
    C        | 2020-01-01 | 2024-03-31 | X01000002
    D        | 2024-03-31 | 2025-04-02 | X01000001

    care_leavers
    child_id | year | in_touch
    D        | 2025 | YES

    uasc
    child_id | uasc_ceased_date
    D        |
    C        | 2024-03-30

    child_disabilities
    child_id | disability
    E        | HAND
    A        | NONE

    child_addresses
    child_id | from_date  | area_code
    A        | 2024-06-01 | X01000001
    A        | 2025-04-01 | X01000002

    ref_areas
    area_code | ward_name | locality   | imd_decile | idaci_decile
    X01000001 | North     | Quillmarsh | 1          | 2
    X01000002 | South     | Fennimoor  | 9          | 10

    worker_allocations
    child_id | worker_id | team   | start_date | end_date
    A        | W1        | Team 1 | 2024-06-02 | 2024-12-31
    A        | W2        | Team 2 | 2025-01-01 |
"""


def test_groups_follow_their_definitions():
    con = tiny_store(STORE)
    members = {g: group_members(con, g, YEAR) for g in ("cin", "cp", "cla", "care_leaver")}
    # B's episode closed on 1 April 2024, the year's first day: open in the year.
    # E's referral is on 1 April 2025, after the year.
    assert members["cin"] == {"A", "B"}
    assert members["cp"] == {"A"}
    # C's episode ended on 31 March 2024, the day before the year: not looked after in it.
    assert members["cla"] == {"D"}
    assert members["care_leaver"] == {"D"}
    # Disabled: E has a disability code; B had primary need N2 on an episode open in the year.
    assert group_members(con, "disabled", YEAR) == {"B", "E"}
    # Neglect: N1 and NEG as the latest CP category of that episode (A); E is outside the year.
    assert group_members(con, "neglect", YEAR) == {"A"}
    # UASC: D's status never ceased; C's ceased before the year.
    assert group_members(con, "uasc", YEAR) == {"D"}


def test_age_bands_at_the_period_end():
    assert [age_band(a) for a in (0.5, 1, 4.99, 5, 15.9, 16, 17.99, 18, 21)] == [
        "under_1", "1-4", "1-4", "5-9", "10-15", "16-17", "16-17", "18+", "18+",
    ]  # fmt: skip


def test_child_dimensions_for_the_year():
    dims = child_dimensions(tiny_store(STORE), YEAR).set_index("child_id")
    # Ages on 31 March 2025: A 0 (under 1); B 15 (turns 15 on 31 March 2025); C 16; D 18.
    assert dims["age_band"].to_dict() == {
        "A": "under_1", "B": "10-15", "C": "16-17", "D": "18+", "E": "5-9",
    }  # fmt: skip
    assert dims.loc["B", "ethnicity"] == "Black or Black British"
    assert dims.loc["D", "ethnicity"] == "Other ethnic group"
    # A's address from 1 April 2025 is after the year: the earlier one counts.
    assert dims.loc["A", "lsoa"] == "X01000001"
    assert (dims.loc["A", "locality"], dims.loc["A", "imd_decile"]) == ("Quillmarsh", 1)
    # C has no address extract row: the 903 home area is used.
    assert dims.loc["C", "ward"] == "South"
    # A's worker at 31 March 2025 is in Team 2.
    assert dims.loc["A", "team"] == "Team 2"
    assert dims.loc["E", "disability"] == "Disabled"
    assert bool(dims.loc["A", "cp"]) and not bool(dims.loc["B", "cp"])


def test_local_quintiles_split_the_authoritys_areas_in_fifths_by_rank():
    from framework.engine.dimensions import child_dimensions
    from framework.engine.periods import Period
    from tests.engine_store import tiny_store

    # Ten areas, all in national decile 1: their ranks (not their codes) order them, so the
    # most deprived two by rank (A9 and A8) are the first fifth.
    areas = "\n".join(f"A{n} | 1 | 1" for n in range(10))
    ranks = "\n".join(f"2025 | A{n} | 2021 | {1000 - 100 * n} | 1" for n in range(10))
    homes = "\n".join(f"C{n} | 2020-01-01 | A{n}" for n in range(10))
    children = "\n".join(f"C{n} | F | 2015-01-01" for n in range(10))
    con = tiny_store(
        f"ref_areas\narea_code | imd_decile | idaci_decile\n{areas}\n\n"
        f"ref_deprivation\nvintage | lsoa_code | lsoa_vintage | imd_rank | imd_decile\n{ranks}\n\n"
        f"child_addresses\nchild_id | from_date | area_code\n{homes}\n\n"
        f"children\nchild_id | sex | date_of_birth\n{children}"
    )
    frame = child_dimensions(con, Period.parse("2024-25")).set_index("child_id")
    quintile = frame["imd_local_quintile"]
    assert quintile["C9"] == 1 and quintile["C8"] == 1  # ranks 100 and 200
    assert quintile["C0"] == 5 and quintile["C1"] == 5  # ranks 1000 and 900
