"""Generate Demoton, a fictional local authority, as the statutory returns it would submit.

``generate_demo(out_dir, ...)`` simulates children day by day (referrals, assessments, S47
enquiries, plans, periods of care, leaving care) and writes, for each year of the window, the
CiN census XML and the SSDA903 CSVs, plus the reference geography and the child address
extract. Everything is fictional, and the same arguments always give byte-identical files.

How children are made: first referrals arrive in random time order over a burn-in and the
window, in areas chosen by population and deprivation. Each candidate child's whole journey is
simulated at once; the child is kept if anything of them falls in a written year, until
``children`` are kept. The authority's child population is then the one for which that many
arrivals is the published referral rate, so rates per 10,000 come out near England's.
"""

from __future__ import annotations

import csv
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from framework.demo import write_cin, write_ssda903
from framework.demo.benchmarks import write_benchmark_files
from framework.demo.care import CareBuilder
from framework.demo.child_outcomes import write_child_outcome_files
from framework.demo.dates import (
    WorkingDays,
    birthday,
    day,
    iso,
    year_end,
    year_label,
    year_start,
)
from framework.demo.errors import ErrorPlanter
from framework.demo.family_surveys import write_family_survey_files
from framework.demo.geography import LA_NAME, LA_NUMBER, Demoton, build_demoton
from framework.demo.journey import Journeys
from framework.demo.model import Child
from framework.demo.params import DEFAULT_PARAMS, DemoParams
from framework.demo.providers import Providers
from framework.demo.workforce import Workforce, build_workforce
from framework.demo.write_geography import write_geography
from framework.demo.write_workforce import write_workforce_files

CIN_SHAPES = ("auto", "sex", "gender")


@dataclass
class DemoSummary:
    """What was generated: suitable to print."""

    out_dir: Path
    seed: int
    children: int
    population: int
    areas: int
    candidates: int
    seconds: float
    with_errors: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # year -> file -> rows
    local_counts: dict[str, int] = field(default_factory=dict)  # local/benchmark file -> rows
    planted_errors: int = 0

    def __str__(self) -> str:
        lines = [
            f"Demoton demo authority (LA {LA_NUMBER}, fictional) written to {self.out_dir}",
            f"  seed {self.seed}; {self.children:,} children in the files; "
            f"child population 0-17: {self.population:,} in {self.areas} areas; "
            f"{self.seconds:.1f} s",
        ]
        if self.with_errors:
            lines.append(f"  planted errors: {self.planted_errors} (see planted_errors.csv)")
        files = sorted({name for per_year in self.counts.values() for name in per_year})
        width = max((len(name) for name in files), default=10)
        years = list(self.counts)
        lines.append("  " + "rows".ljust(width) + "".join(f"{y:>10}" for y in years))
        for name in files:
            cells = "".join(f"{self.counts[y].get(name, 0):>10,}" for y in years)
            lines.append("  " + name.ljust(width) + cells)
        if self.local_counts:
            lines.append("  workforce returns, local data, benchmarks (local files: all years):")
            width = max(len(name) for name in self.local_counts)
            for name, rows in sorted(self.local_counts.items()):
                lines.append(f"    {name.ljust(width)} {rows:>10,}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Window:
    first_year: int  # end year of the first written year
    last_year: int

    @property
    def start(self) -> int:
        return year_start(self.first_year)

    @property
    def end(self) -> int:
        return year_end(self.last_year)

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)


def generate_demo(
    out_dir: Path,
    *,
    children: int = 6000,
    years: int = 5,
    seed: int = 2019,
    end_year: int = 2026,
    with_errors: bool = False,
    cin_shape: str = "auto",
    params: DemoParams = DEFAULT_PARAMS,
) -> DemoSummary:
    """Write the demo authority's returns under ``out_dir`` (replacing what was there)."""
    _check_arguments(children, years, end_year, cin_shape)
    began = time.perf_counter()
    out_dir = Path(out_dir)
    window = Window(end_year - years + 1, end_year)
    world = _World(params, window, seed, children)
    kept, candidates = world.simulate(children)
    population = world.population(candidates)
    _assign_ids(kept)
    _prepare(out_dir)
    populations = world.demoton.populations(population)
    world.demoton.write_reference(out_dir / "reference", populations)
    write_geography(out_dir / "reference", world.demoton, populations, seed)
    _write_addresses(out_dir / "addresses" / "child_addresses.csv", kept)
    # The workforce model allocates workers to every child and rewrites looked-after
    # children's social-worker episodes, so it runs before the SSDA903 return is written.
    workforce = build_workforce(kept, window, seed, world.demoton)
    planter = ErrorPlanter(seed) if with_errors else None
    counts = {}
    for year in window.years:
        counts[year_label(year)] = _write_year(out_dir, kept, year, seed, cin_shape, planter)
    if planter:
        planter.write(out_dir)
    local_counts = _write_local_data(
        out_dir, kept, window, seed, world.demoton, workforce, sum(populations)
    )
    summary = DemoSummary(
        out_dir=out_dir,
        seed=seed,
        children=len(kept),
        population=sum(populations),
        areas=len(world.demoton.areas),
        candidates=candidates,
        seconds=0.0,
        with_errors=with_errors,
        counts=counts,
        local_counts=local_counts,
        planted_errors=len(planter.records) if planter else 0,
    )
    _write_readme(out_dir, summary, window, cin_shape)
    summary.seconds = time.perf_counter() - began
    return summary


def _check_arguments(children: int, years: int, end_year: int, cin_shape: str) -> None:
    if children < 1:
        raise ValueError("children must be at least 1")
    if not 1 <= years <= 15:
        raise ValueError("years must be between 1 and 15")
    if end_year - years + 1 < 2011 or end_year > 2035:
        raise ValueError("the years written must lie between 2010-11 and 2034-35")
    if cin_shape not in CIN_SHAPES:
        raise ValueError(f"cin_shape must be one of {', '.join(CIN_SHAPES)}")


class _World:
    """The fictional authority and its simulator, sized for the number of children wanted."""

    def __init__(self, params: DemoParams, window: Window, seed: int, children: int):
        self.params = params
        self.window = window
        self.seed = seed
        demand = params.demand
        self.burn_in_start = day(window.first_year - 1 - demand.burn_in_years, 4, 1)
        share = demand.appear_share_first_year + demand.appear_share_per_extra_year * (
            window.last_year - window.first_year
        )
        estimate = children / share
        n_areas = max(10, round(estimate / params.geography.children_per_area))
        geo_rng = random.Random(f"demoton:{seed}:geography")
        self.demoton: Demoton = build_demoton(geo_rng, n_areas, params.geography)
        providers = Providers(random.Random(f"demoton:{seed}:providers"), self.demoton)
        care = CareBuilder(params.care, providers, until=window.end + 400)
        workdays = WorkingDays(window.first_year - demand.burn_in_years - 2, window.last_year + 25)
        self.journeys = Journeys(params, self.demoton, care, workdays, window.end, window.start)
        # Arrivals, in years at the base rate: steady before the window, growing in it.
        self.growth = math.log1p(demand.yearly_growth)
        self.mass_before = (window.start - self.burn_in_start) / 365.25
        window_years = (window.end + 1 - window.start) / 365.25
        self.mass_during = math.expm1(self.growth * window_years) / self.growth

    def simulate(self, wanted: int) -> tuple[list[Child], int]:
        """Candidates in random time order until ``wanted`` of them appear in the files."""
        master = random.Random(f"demoton:{self.seed}:children")
        demand = self.params.demand
        kept: list[Child] = []
        candidates = 0
        limit = wanted * 200 + 10_000
        while len(kept) < wanted:
            candidates += 1
            if candidates > limit:
                raise RuntimeError("the simulation is not producing children in the window")
            child_seed = master.getrandbits(64)
            first = self._arrival(master.random())
            unaccompanied = master.random() < demand.unaccompanied_share
            rng = random.Random(child_seed)
            child = self.journeys.new_child(rng, candidates, first, unaccompanied)
            self.journeys.run(rng, child, first)
            if _appears(child, self.window):
                kept.append(child)
        return kept, candidates

    def _arrival(self, u: float) -> int:
        """A first-referral day: a steady rate through the burn-in (so the caseload is settled
        when the window opens), then growing by ``yearly_growth`` a year in the window."""
        mass = u * (self.mass_before + self.mass_during)
        if mass < self.mass_before:
            return self.burn_in_start + int(mass * 365.25)
        years_in = math.log1p(self.growth * (mass - self.mass_before)) / self.growth
        return min(self.window.end, self.window.start + int(years_in * 365.25))

    def population(self, candidates: int) -> float:
        """Children aged 0-17 for which ``candidates`` arrivals match the first-referral rate."""
        years = self.mass_before + self.mass_during
        per_child = self.params.demand.first_referral_rate / 10_000 * years
        return candidates / per_child


def _appears(child: Child, window: Window) -> bool:
    start, end = window.start, window.end
    for referral in child.referrals:
        if referral.date <= end and (referral.closure is None or referral.closure >= start):
            return True
    for period in child.care:
        if period.start <= end and (period.end is None or period.end >= start):
            return True
        late = period.end_recorded
        if late is not None and start <= late <= end and period.end >= start - 366:
            return True  # ended just before the window, recorded in it (shown then)
    return any(start <= birthday(child.dob, s.age) <= end for s in child.leaver)


def _assign_ids(children: list[Child]) -> None:
    """LA child ids in order of first contact, as a case-management system numbers them."""
    children.sort(key=lambda c: (c.first_activity(), c.key))
    for number, child in enumerate(children, start=1):
        child.child_id = f"DMT{number:07d}"


def _prepare(out_dir: Path) -> None:
    """Replace the previous demo output, but never a folder that is not one."""
    if out_dir.exists():
        readme = out_dir / "README.txt"
        if any(out_dir.iterdir()) and not (
            readme.exists() and readme.read_text(encoding="utf-8").startswith("Demoton")
        ):
            raise FileExistsError(f"{out_dir} is not empty and does not hold a demo authority")
        for item in out_dir.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_addresses(path: Path, children: list[Child]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["child_id", "postcode", "from_date"])
        for child in sorted(children, key=lambda c: c.child_id):
            for since, postcode in child.addresses:
                out.writerow([child.child_id, postcode, iso(since)])


def _write_local_data(
    out_dir: Path,
    children: list[Child],
    window: Window,
    seed: int,
    demoton: Demoton,
    workforce: Workforce,
    population: int,
) -> dict[str, int]:
    """The local and new data (templates.toml) and the benchmark files, from the same
    simulated children and staff as the returns."""
    counts = write_workforce_files(out_dir, workforce, window, seed)
    outcomes = write_child_outcome_files(
        out_dir, children, window, seed, demoton, population=population, workforce=workforce
    )
    surveys = write_family_survey_files(out_dir, children, window, seed, workforce)
    benchmarks = write_benchmark_files(out_dir, children, window, seed, population)
    # Every count is keyed by the file's path under the demo folder.
    counts |= {f"local/{name}": rows for name, rows in (outcomes | surveys).items()}
    counts |= {f"benchmarks/{name}": rows for name, rows in benchmarks.items()}
    return counts


def _write_year(
    out_dir: Path,
    children: list[Child],
    year: int,
    seed: int,
    cin_shape: str,
    planter: ErrorPlanter | None,
) -> dict[str, int]:
    label = year_label(year)
    folder = out_dir / label
    folder.mkdir(parents=True, exist_ok=True)
    ordered = sorted(children, key=lambda c: c.child_id)
    cin_name = f"cin_census_{year}.xml"
    if planter:  # errors are planted in the whole tree; otherwise stream child by child
        nodes = write_cin.build_children(ordered, year, cin_shape)
        planter.plant_cin(f"{label}/{cin_name}", nodes)
        cin_counts = write_cin.write_file(folder / cin_name, year, nodes)
    else:
        stream = write_cin.iter_children(ordered, year, cin_shape)
        cin_counts = write_cin.write_file(folder / cin_name, year, stream)
    counts = {f"cin {k}": v for k, v in cin_counts.items()}
    rows = write_ssda903.build_tables(ordered, year, seed)
    if planter:
        planter.plant_ssda903(f"{label}/ssda903", rows)
    write_ssda903.write_tables(folder / "ssda903", rows)
    counts.update({f"903 {name}": len(table) for name, table in rows.items()})
    return counts


def _write_readme(out_dir: Path, summary: DemoSummary, window: Window, cin_shape: str) -> None:
    years = ", ".join(year_label(y) for y in window.years)
    planted = ""
    if summary.with_errors:
        planted = "  planted_errors.csv               mistakes planted on purpose (with_errors)\n"
    text = f"""{LA_NAME}: a fictional local authority for the Outcomes Explorer demo
=====================================================================

Everything in this folder is invented. {LA_NAME} (DfE LA number {LA_NUMBER}) does not exist; no
child, address, postcode, area, carer, home or worker here is real. Area codes start X01 and
ward codes X05 (prefixes ONS does not use); postcodes start QX (no real postcode area begins
with Q). Postcode districts QX90-QX99 stand for placements outside {LA_NAME} and are not in the
postcode lookup.

Generated by framework.demo.generator.generate_demo with:
  children={summary.children}  years={window.last_year - window.first_year + 1}  \
seed={summary.seed}  end_year={window.last_year}
  with_errors={summary.with_errors}  cin_shape={cin_shape}
The same options always produce byte-identical files.

Years written: {years}
Child population aged 0-17: {summary.population:,} in {summary.areas} small areas.

Layout
  reference/demoton_areas.csv       small areas: ward, locality, IMD and IDACI decile, children
  reference/demoton_postcodes.csv   postcode -> small area
  reference/demoton_lsoa_boundaries.geojson
                                    small-area polygons (ONS LSOA 2021 boundary fields
                                    LSOA21CD, LSOA21NM; WGS84). The map lies at sea, on the
                                    Dogger Bank, where nobody lives
  reference/demoton_IoD2025_File_3_Supplementary_Indices_IDACI_and_IDAOPI.csv
                                    IMD, IDACI and IDAOPI ranks and deciles (IoD2025 File 3
                                    layout; district X06000999, a code ONS does not use)
  reference/demoton_lsoa21_to_ward24_to_lad24.csv
                                    small area -> ward -> district (ONS lookup layout)
  reference/demoton_population_mid2024_age0-17.csv
                                    children by single year of age, and all residents, per
                                    small area (ONS small-area population estimates layout)
  reference/demoton_postcode_lookup.csv
                                    postcode -> small area, British National Grid point and
                                    date of termination (NSPL column names)
  addresses/child_addresses.csv     each child's home postcodes with the date each began
  <year>/cin_census_<end year>.xml  the CiN census return for the year
  <year>/ssda903/*.csv              the SSDA903 return for the year (CSV upload layout)
  <year>/csww_<calendar year>.xml   the social work workforce return (30 September in the year)
  local/*.csv                       local and new data laid out as the templates (see
                                    docs/data/templates): surveys, workforce, allocations,
                                    meetings, complaints, case reviews, SDQ, education, health,
                                    audits, permanence plans, commissioned services, finance
  benchmarks/*.csv                  published statistics of fictional authorities (Explore
                                    Education Statistics layout) and statistical neighbours
{planted}
Rates are calibrated to England's published statistics (DfE children in need and children
looked after, 2024-25): see framework/demo/params.py.
"""
    (out_dir / "README.txt").write_text(text, encoding="utf-8")
