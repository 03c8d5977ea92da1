"""The canonical tables of the store: one declaration used by readers, the loader and the tests.

Readers (``framework.sources``) produce pandas DataFrames with exactly the *reader columns* of a
table. The loader then
  * replaces the raw ``child_id`` (the authority's own identifier) with its keyed-hash pseudonym,
  * replaces each raw postcode column with an area code and a match status (postcodes are never
    stored), and
  * adds the provenance columns ``collection_year``, ``load_id`` and ``row_hash``.

``key`` is the natural key of a row across years: loading the 2024-25 return after 2023-24
updates the rows both returns share (e.g. a referral that was open at 31 March 2024 and closed
in 2024-25) instead of duplicating them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# DuckDB types used below.
TEXT, DATE, INT, BOOL, FLOAT = "VARCHAR", "DATE", "INTEGER", "BOOLEAN", "DOUBLE"


@dataclass(frozen=True)
class PostcodeColumn:
    """A raw postcode column a reader produces, and the columns that replace it in the store."""

    reader_column: str
    area_column: str
    status_column: str


@dataclass(frozen=True)
class Table:
    name: str
    source: str  # "cin_census", "ssda903", "child_addresses" or "reference"
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type) as stored, before provenance
    key: tuple[str, ...]
    description: str
    postcodes: tuple[PostcodeColumn, ...] = ()
    # Tables that describe one child per row are merged field by field (see store.merge).
    merge_fields: bool = False
    # Rows of a return's year that are absent from a re-load of that year are removed: the
    # corrected return replaces the earlier one. Reference tables are replaced whole instead.
    per_year: bool = True
    pseudonymise: tuple[str, ...] = field(default=("child_id",))
    # Local data: each row's collection year comes from this column (a date, or an end year)
    # instead of from the return, and a file replaces the values of ``period_column`` it holds.
    dated_by: str | None = None
    period_column: str = "collection_year"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def reader_columns(self) -> list[str]:
        """Columns a reader must produce: stored columns, with postcodes in raw form."""
        replaced = {c.area_column: c for c in self.postcodes}
        skip = {c.status_column for c in self.postcodes}
        out = []
        for name in self.column_names:
            if name in skip:
                continue
            out.append(replaced[name].reader_column if name in replaced else name)
        return out

    def types(self) -> dict[str, str]:
        return dict(self.columns)


PROVENANCE = (("collection_year", INT), ("load_id", INT), ("row_hash", TEXT))

HOME = PostcodeColumn("home_postcode", "home_area_code", "home_postcode_status")
PLACEMENT = PostcodeColumn("placement_postcode", "placement_area_code", "placement_postcode_status")
ADDRESS = PostcodeColumn("postcode", "area_code", "postcode_status")

TABLES: dict[str, Table] = {}


def _table(*args, **kwargs) -> Table:
    table = Table(*args, **kwargs)
    TABLES[table.name] = table
    return table


_table(
    "children",
    "any",
    (
        ("child_id", TEXT),
        ("sex", TEXT),  # M, F or U (older codes 1/2/0/9 are translated at read)
        ("date_of_birth", DATE),
        ("expected_date_of_birth", DATE),
        ("date_of_death", DATE),
        ("ethnicity", TEXT),
        ("upn", TEXT),  # pseudonymised like child_id: links to education data, never shown
        ("former_upn", TEXT),
        ("upn_unknown", TEXT),
        ("mother", BOOL),
        ("mother_child_dob", DATE),
    ),
    ("child_id",),
    "One row per child: characteristics, the latest return's values taking precedence.",
    merge_fields=True,
    per_year=False,
    pseudonymise=("child_id", "upn", "former_upn"),
)
_table(
    "child_disabilities",
    "cin_census",
    (("child_id", TEXT), ("disability", TEXT)),
    ("child_id", "disability"),
    "Disability codes from the CiN census (NONE when none); the latest census replaces the set.",
)
_table(
    "referrals",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("referral_source", TEXT),
        ("primary_need", TEXT),
        ("closure_date", DATE),
        ("closure_reason", TEXT),
        ("initial_cpc_date", DATE),  # ICPC recorded on the episode itself (e.g. a transfer in)
        ("referral_nfa", BOOL),
    ),
    ("child_id", "referral_date"),
    "One row per CiN episode (CINdetails): referral to closure.",
)
_table(
    "assessments",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("start_date", DATE),
        ("internal_review_date", DATE),
        ("authorised_date", DATE),
    ),
    ("child_id", "referral_date", "start_date"),
    "Assessments within a CiN episode; authorised_date is completion (blank while open).",
)
_table(
    "assessment_factors",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("assessment_start_date", DATE),
        ("factor", TEXT),
    ),
    ("child_id", "referral_date", "assessment_start_date", "factor"),
    "Factors identified at the end of an assessment, one row per code.",
)
_table(
    "cin_plans",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("start_date", DATE),
        ("end_date", DATE),
    ),
    ("child_id", "referral_date", "start_date"),
    "Child in need plans.",
)
_table(
    "s47_enquiries",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("start_date", DATE),
        ("icpc_target_date", DATE),
        ("icpc_date", DATE),
        ("icpc_not_required", BOOL),
    ),
    ("child_id", "referral_date", "start_date"),
    "Section 47 enquiries and their initial child protection conferences.",
)
_table(
    "cp_plans",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("start_date", DATE),
        ("end_date", DATE),
        ("initial_category", TEXT),
        ("latest_category", TEXT),
        ("previous_plans", INT),
    ),
    ("child_id", "start_date"),
    "Child protection plans.",
)
_table(
    "cp_plan_reviews",
    "cin_census",
    (("child_id", TEXT), ("plan_start_date", DATE), ("review_date", DATE)),
    ("child_id", "plan_start_date", "review_date"),
    "Review dates of child protection plans (every CPPreviewDate, in every Reviews block).",
)
_table(
    "pre_proceedings",
    "cin_census",
    (
        ("child_id", TEXT),
        ("referral_date", DATE),
        ("start_date", DATE),
        ("letter_before_proceedings_date", DATE),
        ("fgdm_offered", BOOL),
        ("fgdm_facilitated", BOOL),
        ("initial_meeting_date", DATE),
        ("review_meetings", INT),
        ("step_decision_date", DATE),
        ("outcome", TEXT),
        ("court_application_date", DATE),
        ("letter_initiating_cp_date", DATE),
    ),
    ("child_id", "referral_date", "start_date"),
    "Pre-proceedings and family group decision making (CiN census from 2026-27).",
)

# --- SSDA903 -------------------------------------------------------------------------------
_table(
    "episodes",
    "ssda903",
    (
        ("child_id", TEXT),
        ("start_date", DATE),  # DECOM
        ("reason_new_episode", TEXT),  # RNE
        ("legal_status", TEXT),  # LS
        ("category_of_need", TEXT),  # CIN
        ("placement_type", TEXT),  # PLACE (XML: PL)
        ("placement_provider", TEXT),
        ("end_date", DATE),  # DEC
        ("reason_ceased", TEXT),  # REC
        ("reason_place_change", TEXT),
        ("home_area_code", TEXT),
        ("home_postcode_status", TEXT),
        ("placement_area_code", TEXT),
        ("placement_postcode_status", TEXT),
        ("urn", TEXT),
    ),
    ("child_id", "start_date"),
    "Episodes of care: a new episode starts at any change of legal status or placement.",
    postcodes=(HOME, PLACEMENT),
)
_table(
    "looked_after_reviews",
    "ssda903",
    (("child_id", TEXT), ("review_date", DATE), ("participation_code", TEXT)),
    ("child_id", "review_date"),
    "Looked-after reviews and how the child took part (PN0-PN7).",
)
_table(
    "uasc",
    "ssda903",
    (("child_id", TEXT), ("uasc_ceased_date", DATE)),
    ("child_id",),
    "Children who were ever unaccompanied asylum-seeking; DUC is when that status ceased.",
)
_table(
    "health_outcomes",
    "ssda903",
    (
        ("child_id", TEXT),
        ("year", INT),  # collection end year the outcomes describe
        ("sdq_score", INT),
        ("sdq_reason", TEXT),
        ("convicted", BOOL),
        ("health_check", BOOL),
        ("immunisations", BOOL),
        ("teeth_check", BOOL),
        ("health_assessment", BOOL),
        ("substance_misuse", BOOL),
        ("intervention_received", BOOL),
        ("intervention_offered", BOOL),
    ),
    ("child_id", "year"),
    "OC2: outcomes of children looked after continuously for 12 months at 31 March.",
)
_table(
    "care_leavers",
    "ssda903",
    (
        ("child_id", TEXT),
        ("year", INT),
        ("in_touch", TEXT),
        ("activity", TEXT),
        ("accommodation", TEXT),
    ),
    ("child_id", "year"),
    "OC3: care leavers around their 17th to 21st birthdays.",
)
_table(
    "missing_episodes",
    "ssda903",
    (
        ("child_id", TEXT),
        ("missing_type", TEXT),  # M missing, A away without authorisation
        ("start_date", DATE),
        ("end_date", DATE),
    ),
    ("child_id", "start_date"),
    "Periods missing from care or away from placement without authorisation.",
)
_table(
    "adoptions",
    "ssda903",
    (
        ("child_id", TEXT),
        ("decision_date", DATE),  # DATE_INT
        ("match_date", DATE),
        ("foster_carer", BOOL),
        ("number_of_adopters", INT),
        ("adopter_sex", TEXT),
        ("adopter_legal_status", TEXT),
    ),
    ("child_id", "decision_date"),
    "AD1: children adopted.",
)
_table(
    "placed_for_adoption",
    "ssda903",
    (
        ("child_id", TEXT),
        ("decision_date", DATE),  # DATE_PLACED
        ("ceased_date", DATE),
        ("ceased_reason", TEXT),
    ),
    ("child_id", "decision_date"),
    "Decisions that a child should be placed for adoption, and their reversal.",
)
_table(
    "previous_permanence",
    "ssda903",
    (
        ("child_id", TEXT),
        ("year", INT),
        ("previous_permanence", TEXT),
        ("arranging_la", TEXT),
        ("permanence_date", TEXT),  # may hold zz for unknown parts, so kept as text dd/mm/yyyy
    ),
    ("child_id", "year"),
    "Previous permanence option of children starting to be looked after.",
)
_table(
    "social_worker_episodes",
    "ssda903",
    (
        ("child_id", TEXT),
        ("worker_id", TEXT),  # pseudonymised: Social Work England numbers are personal data
        ("start_date", DATE),
        ("end_date", DATE),
        ("change_reason", TEXT),
    ),
    ("child_id", "start_date", "worker_id"),
    "Allocated social workers of looked-after children (from 2023-24).",
    pseudonymise=("child_id", "worker_id"),
)
_table(
    "deprivation_of_liberty",
    "ssda903",
    (("child_id", TEXT), ("start_date", DATE), ("end_date", DATE)),
    ("child_id", "start_date"),
    "Deprivation of liberty orders (SSDA903 from 2026-27).",
)

# --- Local data ------------------------------------------------------------------------------
_table(
    "child_addresses",
    "child_addresses",
    (
        ("child_id", TEXT),
        ("from_date", DATE),
        ("area_code", TEXT),
        ("postcode_status", TEXT),
    ),
    ("child_id", "from_date"),
    "Home areas of children from the authority's address extract (the CiN census has none).",
    postcodes=(ADDRESS,),
    per_year=False,
)

# --- Workforce (CSWW return, reference date 30 September of the collection year) --------------
_table(
    "workforce_workers",
    "csww",
    (
        ("worker_id", TEXT),  # pseudonymised Social Work England number (same as 903 SW_ID)
        ("year", INT),  # CSWW collection year (reference date 30 September of this year)
        ("agency_worker", BOOL),
        ("fte", FLOAT),
        ("birth_year", INT),  # the year only: a worker's full date of birth is not kept
        ("gender", TEXT),
        ("ethnicity", TEXT),
        ("qualification_level", TEXT),
        ("step_up_graduate", BOOL),
        ("frontline_graduate", BOOL),
        ("org_role", TEXT),
        ("role_start_date", DATE),
        ("start_origin", TEXT),
        ("role_end_date", DATE),
        ("reason_leave", TEXT),
        ("leaver_destination", TEXT),
        ("fte_30_september", FLOAT),
        ("cases_30_september", INT),
        ("working_days_lost", FLOAT),
        ("contract_weeks", FLOAT),
        ("absent_30_september", BOOL),
        ("reason_absence", TEXT),
        ("cfkss_status", TEXT),
    ),
    ("worker_id", "year"),
    "CSWW: one row per qualified children and families social worker per collection year.",
    pseudonymise=("worker_id",),
)
_table(
    "workforce_vacancies",
    "csww",
    (
        ("year", INT),
        ("vacancies_fte", FLOAT),
        ("agency_fte", FLOAT),
        ("agency_headcount", INT),
    ),
    ("year",),
    "CSWW authority-level vacancies and agency workers at 30 September.",
    pseudonymise=(),
)

# --- Reference data (no child-level content) ---------------------------------------------------
_table(
    "ref_postcode_areas",
    "reference",
    (("postcode", TEXT), ("area_code", TEXT)),
    ("postcode",),
    "Postcode to small area (LSOA) lookup. Postcodes here are reference data, not children's.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "ref_areas",
    "reference",
    (
        ("area_code", TEXT),
        ("area_name", TEXT),
        ("ward_code", TEXT),
        ("ward_name", TEXT),
        ("locality", TEXT),
        ("imd_decile", INT),
        ("idaci_decile", INT),
        ("children_0_17", INT),
    ),
    ("area_code",),
    "Small areas with their ward, locality, deprivation deciles and child population.",
    per_year=False,
    pseudonymise=(),
)
# Official reference files (python -m framework reference import; framework/reference/).
_table(
    "ref_postcode_terminated",
    "reference",
    (("postcode", TEXT), ("terminated", TEXT)),  # terminated: yyyy-mm, from the directory
    ("postcode",),
    "Postcodes the postcode directory lists as terminated, and since when.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "ref_deprivation",
    "reference",
    (
        ("vintage", INT),  # IoD year: 2019 or 2025
        ("lsoa_code", TEXT),
        ("lsoa_vintage", INT),  # 2011 (IoD 2019) or 2021 (IoD 2025)
        ("lad_code", TEXT),
        ("imd_score", FLOAT),  # blank when the files imported publish none (Files 1-3)
        ("imd_rank", INT),  # 1 = most deprived
        ("imd_decile", INT),
        ("idaci_score", FLOAT),  # a rate from 0 to 1, blank when not published
        ("idaci_rank", INT),
        ("idaci_decile", INT),
    ),
    ("vintage", "lsoa_code"),
    "English Indices of Deprivation per LSOA: IMD and IDACI scores, ranks and deciles.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "ref_boundaries",
    "reference",
    (
        ("lsoa_code", TEXT),
        ("lsoa_vintage", INT),
        ("lsoa_name", TEXT),
        ("geometry", "BLOB"),  # WKB, EPSG:4326 (longitude, latitude)
        ("centroid_lon", FLOAT),
        ("centroid_lat", FLOAT),
    ),
    ("lsoa_vintage", "lsoa_code"),
    "LSOA boundaries (WKB in EPSG:4326) and centroids, for maps.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "ref_lsoa_changes",
    "reference",
    (("lsoa11_code", TEXT), ("lsoa21_code", TEXT), ("change", TEXT), ("lad_code", TEXT)),
    ("lsoa11_code", "lsoa21_code"),
    "ONS LSOA 2011 to 2021 lookup; change is U unchanged, S split, M merged or X redrawn.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "ref_wards",
    "reference",
    (
        ("lsoa21_code", TEXT),
        ("ward_code", TEXT),
        ("ward_name", TEXT),
        ("lad_code", TEXT),
        ("lad_name", TEXT),
    ),
    ("lsoa21_code",),
    "ONS LSOA 2021 to ward and district lookup (best fit: one ward per LSOA).",
    per_year=False,
    pseudonymise=(),
)
_table(
    "ref_population",
    "reference",
    (
        ("lsoa_code", TEXT),
        ("lsoa_vintage", INT),
        ("year", INT),  # mid-year of the estimate
        ("age_group", TEXT),  # "0-17" (ONS estimates) or "0-15" (IoD denominators)
        ("population", INT),
    ),
    ("lsoa_vintage", "lsoa_code", "year", "age_group"),
    "Child populations per LSOA (ONS mid-year estimates, IoD population denominators).",
    per_year=False,
    pseudonymise=(),
)
_table(
    "reference_imports",
    "reference",
    (
        ("file_name", TEXT),
        ("kind", TEXT),  # deprivation, boundaries, lsoa_changes, wards, population, postcodes
        ("vintage", INT),  # IoD, LSOA, ward or population year, by kind (docs/reference-data.md)
        ("sha256", TEXT),
        ("rows", INT),  # records imported (records set aside are in load_problems)
        ("imported_at", TEXT),  # ISO 8601, UTC
        ("tool_version", TEXT),
    ),
    ("file_name", "sha256", "imported_at"),
    "Every official reference file imported: what it was, its vintage and its rows.",
    per_year=False,
    pseudonymise=(),
)

# --- Published statistics (authority level, for benchmarking) ---------------------------------
_table(
    "published_statistics",
    "published",
    (
        ("dataset", TEXT),  # the file's name without extension, e.g. b1_children_in_need_...
        ("time_period", TEXT),  # as published: 2025, 202425, 2024/25...
        ("time_identifier", TEXT),
        ("geographic_level", TEXT),  # National, Regional, Local authority
        ("area_code", TEXT),  # new_la_code, region_code or country_code by level
        ("old_la_code", TEXT),
        ("area_name", TEXT),
        ("breakdown", TEXT),  # the file's filter columns as JSON ("{}" when none)
        ("measure", TEXT),  # the indicator column's name
        ("value", FLOAT),
        ("value_code", TEXT),  # EES symbols kept as published: c, k, u, x, z, low...
    ),
    (
        "dataset",
        "time_period",
        "time_identifier",
        "geographic_level",
        "area_code",
        "breakdown",
        "measure",
    ),
    "Explore Education Statistics tidy CSVs, one row per area, period, breakdown and measure.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "authority_regions",
    "published",
    (
        ("area_code", TEXT),  # the authority's ONS code (new_la_code)
        ("old_la_code", TEXT),  # DfE's three-digit number
        ("area_name", TEXT),
        ("region_code", TEXT),
        ("region_name", TEXT),
    ),
    ("area_code",),
    "The region of each authority, from the newest row of each EES file that names both.",
    per_year=False,
    pseudonymise=(),
)
_table(
    "statistical_neighbours",
    "published",
    (
        ("model", TEXT),  # e.g. "2021" or "2025"
        ("old_la_code", TEXT),
        ("la_name", TEXT),
        ("rank", INT),  # 1 = closest
        ("neighbour_old_la_code", TEXT),
        ("closeness", TEXT),  # as published: Very close, Close, Somewhat close, Not close
    ),
    ("model", "old_la_code", "rank"),
    "Statistical neighbours of each authority (DfE models), ten per authority.",
    per_year=False,
    pseudonymise=(),
)

# --- Local and new data (templates.toml: one table per template) -----------------------------


def _register_templates() -> dict[str, str]:
    from framework.sources.template_defs import TEMPLATES

    for template in TEMPLATES.values():
        _table(
            template.name,
            template.name,
            tuple((c.name, c.stored_type) for c in template.columns),
            template.key,
            f"{template.title}: one row per {template.unit}.",
            per_year=template.replaces == "periods",
            pseudonymise=template.id_columns,
            dated_by=template.dated_by,
            period_column=template.period or "collection_year",
        )
    return {t.name: f"{t.title} (local CSV or XLSX)" for t in TEMPLATES.values()}


SOURCES = {
    "cin_census": "Children in Need census (XML)",
    "ssda903": "SSDA903 children looked after return (CSV set or XML)",
    "child_addresses": "Child address extract (CSV, local)",
    "csww": "Children's social work workforce return (XML)",
    "reference": "Reference data (postcodes, areas, deprivation, boundaries)",
    "published": "Published statistics (EES tidy CSV, statistical neighbours)",
    **_register_templates(),
}


def tables_of(source: str) -> list[Table]:
    return [t for t in TABLES.values() if t.source == source]


def ddl(table: Table) -> str:
    cols = [*table.columns, *PROVENANCE]
    body = ",\n    ".join(f"{name} {typ}" for name, typ in cols)
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {body}\n)"
