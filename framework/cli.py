"""Command line: ``python -m framework COMMAND`` (load, status, report, demo, templates…)."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from framework import idmap
from framework.config import load_settings
from framework.disclosure import SUPPRESSED
from framework.load import LoadOutcome, load_files
from framework.privacy import MissingKeyError, Pseudonymiser, new_key_file, resolve_key
from framework.store import store
from framework.store.store import StoreError
from framework.upload import IGNORED_WORDS, problem_kinds, skipped_words, year_words
from framework.users_cli import add_user_commands

SHOWN_PROBLEMS = 40


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (MissingKeyError, StoreError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m framework", description=__doc__)
    parser.add_argument("--config", type=Path, help="settings file (default: config.toml)")
    commands = parser.add_subparsers(dest="command")

    load = commands.add_parser("load", help="load returns and local files into the store")
    load.add_argument("paths", nargs="+", type=Path, help="files or folders")
    load.add_argument("--store", type=Path, help="DuckDB store file (default from config)")
    load.add_argument(
        "--strict",
        action="store_true",
        help="refuse the whole load if any record would be set aside",
    )
    load.add_argument("--year", type=int, help="collection end year, e.g. 2025 for 2024-25")
    load.add_argument("--force", action="store_true", help="re-read files already loaded")
    load.add_argument(
        "--report",
        type=Path,
        help="write every problem to this CSV (it names children: keep it safe)",
    )
    load.add_argument(
        "--demo",
        action="store_true",
        help="use the demo authority's public key (fictional data only)",
    )
    load.set_defaults(run=run_load)

    status = commands.add_parser("status", help="what the store holds, per source and year")
    status.add_argument("--store", type=Path)
    status.add_argument("--demo", action="store_true", help="the demo authority's store")
    status.set_defaults(run=run_status)

    demo = commands.add_parser("demo", help="generate the fictional demo authority's returns")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--children", type=int, default=6000)
    demo.add_argument("--years", type=int, default=5)
    demo.add_argument("--seed", type=int, default=2019)
    demo.add_argument("--end-year", type=int, default=2026)
    demo.add_argument(
        "--with-errors",
        action="store_true",
        help="plant the mistakes real returns contain (listed in planted_errors.csv)",
    )
    demo.add_argument(
        "--cin-shape",
        choices=["auto", "sex", "gender"],
        default="auto",
        help="CiN child sex element: by year (auto), <Sex> or <GenderCurrent>",
    )
    demo.add_argument("--load", action="store_true", help="also load it into --store")
    demo.add_argument("--store", type=Path)
    demo.set_defaults(run=run_demo)

    demo_store = commands.add_parser(
        "demo-store", help="make sure the demo authority is generated and loaded (for the app)"
    )
    demo_store.set_defaults(run=run_demo_store)

    ahead = commands.add_parser(
        "precompute",
        help="work out every year's protected results ahead, so that pages open at once",
    )
    ahead.add_argument("--store", type=Path)
    ahead.add_argument("--demo", action="store_true", help="the demo authority's store")
    ahead.add_argument("--years", type=int, help="only the latest N years")
    ahead.add_argument(
        "--background",
        action="store_true",
        help="at low priority, and not at all while another one works on the same store",
    )
    ahead.set_defaults(run=run_precompute)

    bench = commands.add_parser("bench", help="time generation and load; write the figures")
    bench.add_argument(
        "--children",
        type=int,
        nargs="+",
        default=None,
        help="sizes to measure (default: the demo size and 100000)",
    )
    bench.add_argument("--work", type=Path, default=Path("data/bench"))
    bench.add_argument("--markdown", type=Path, help="append the results to this file")
    bench.set_defaults(run=run_bench)

    report = commands.add_parser(
        "report", help="indicators for a period, sliced, with intervals and suppression"
    )
    report.add_argument("--store", type=Path)
    report.add_argument("--demo", action="store_true", help="the demo authority's store")
    report.add_argument("--period", help="2024-25 or 2024-25H2 (default: the latest year)")
    report.add_argument("--indicator", help="ids separated by commas (default: all)")
    report.add_argument("--group", help="cin, disabled, cp, cla, care_leaver, neglect or uasc")
    report.add_argument("--by", help="dimension(s) to slice by, comma-crossed, e.g. sex,age_band")
    report.add_argument("--format", choices=["csv", "table", "json"], default="table")
    report.add_argument("--out", type=Path, help="write to this file instead of the screen")
    report.set_defaults(run=run_report)

    blanks = commands.add_parser(
        "templates", help="write the local-data dictionaries and blank CSV/XLSX templates"
    )
    blanks.add_argument("--docs", type=Path, default=Path("docs/data/templates"))
    blanks.add_argument("--out", type=Path, default=Path("templates"))
    blanks.set_defaults(run=run_templates)

    reference = commands.add_parser(
        "reference", help="official reference files: deprivation, boundaries, lookups, populations"
    )
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    reference_import = reference_commands.add_parser(
        "import", help="import IoD, boundary, lookup, population and postcode files"
    )
    reference_import.add_argument("paths", nargs="+", type=Path, help="files or folders")
    reference_import.add_argument(
        "--store", type=Path, help="DuckDB store file (default from config)"
    )
    reference_import.set_defaults(run=run_reference_import)
    reference_areas = reference_commands.add_parser(
        "areas", help="build the authority's small areas from the official files imported"
    )
    reference_areas.add_argument(
        "--lad", nargs="+", required=True, help="the authority's district codes, e.g. E06000001"
    )
    reference_areas.add_argument(
        "--vintage", type=int, choices=[2019, 2025], help="indices to use (default: newest)"
    )
    reference_areas.add_argument("--store", type=Path, help="DuckDB store (default from config)")
    reference_areas.set_defaults(run=run_reference_areas)

    geo = commands.add_parser("geo", help="postcodes to small areas and deprivation")
    geo_commands = geo.add_subparsers(dest="geo_command", required=True)
    geo_link = geo_commands.add_parser(
        "link", help="each postcode's LSOA, IMD and IDACI deciles and match status"
    )
    geo_link.add_argument("postcodes", type=Path, help="a CSV whose first column is postcodes")
    geo_link.add_argument("--store", type=Path, help="DuckDB store (default from config)")
    geo_link.add_argument("--out", type=Path, help="write a CSV here (default: print it)")
    geo_link.set_defaults(run=run_geo_link)

    key = commands.add_parser("key", help="pseudonymisation key, and the id map's key")
    key.add_argument(
        "action",
        choices=["new", "new-idmap"],
        help="new: create a random pseudonymisation key file; new-idmap: the id map's key file",
    )
    key.set_defaults(run=run_key)
    add_user_commands(commands)
    return parser


# --- load ---------------------------------------------------------------------------------------


def _pseudonymiser(args, settings, demo: bool) -> Pseudonymiser:
    return resolve_key(env_name=settings.key_env, key_file=settings.key_file, demo=demo)


def run_load(args) -> int:
    settings = load_settings(args.config)
    store_path = args.store or (settings.demo_store if args.demo else settings.store_path)
    pseudonymiser = _pseudonymiser(args, settings, args.demo)
    outcome = load_files(
        args.paths,
        store_path=store_path,
        pseudonymiser=pseudonymiser,
        strict=args.strict,
        collection_year=args.year,
        force=args.force,
        progress=_progress_bar(),
        idmap_key=idmap.key_for(settings, demo=args.demo),
    )
    print(format_outcome(outcome))
    if args.report:
        write_problem_report(outcome, args.report)
        print(f"Every problem is listed in {args.report}.")
    if outcome.status == "loaded" and _work_out_views_ahead(store_path, args.config):
        print("The app's views are being worked out in the background (a few minutes).")
    return outcome.exit_code


def _work_out_views_ahead(store_path: Path, config: Path | None) -> bool:
    from framework.engine.precompute import start_in_background

    return start_in_background(store_path, config) is not None


def _progress_bar():
    """A tqdm bar on stderr, shown only when it is a terminal."""
    from tqdm import tqdm

    bar = None

    def update(what: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            bar = tqdm(
                total=total,
                unit="step",
                file=sys.stderr,
                disable=not sys.stderr.isatty(),
                leave=False,
            )
        bar.set_description(what[:40])
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def format_outcome(outcome: LoadOutcome, shown: int = SHOWN_PROBLEMS) -> str:
    lines = []
    for result in outcome.results:
        year = year_words(result)
        names = ", ".join(f.name for f in result.files)
        lines.append(f"{result.source} {year} ({names})")
        for table, count in result.counts.items():
            lines.append(
                f"    {table:<24} {count.read:>9,} read {count.valid:>9,} loaded "
                f"{count.set_aside:>7,} set aside"
            )
        lines.extend(f"    note: {note}" for note in result.notes)
    for name, earlier in outcome.skipped:
        lines.append(f"{name}: {skipped_words(earlier)}")
    for problem in outcome.unreadable:
        lines.append(f"UNREADABLE {problem.file}: {problem.reason}")
    lines.extend(f"NOTE: {note}" for note in outcome.notes)
    if outcome.ignored:
        lines.append(f"Ignored ({IGNORED_WORDS}): {', '.join(sorted(set(outcome.ignored)))}")
    problems = outcome.problems
    if problems:
        lines.append("")
        lines.append(_problem_summary(problems))
        lines.append(f"First {min(shown, len(problems))} of {len(problems):,} problems:")
        lines.extend("  " + p.message() for p in problems[:shown])
        if len(problems) > shown:
            lines.append("  ... use --report FILE.csv to list every problem.")
    lines.append("")
    lines.append(outcome.message)
    return "\n".join(lines)


def _problem_summary(problems) -> str:
    kinds = problem_kinds(problems)
    rows = ["Problems by file, field and expectation:"]
    for (file, severity, field, expected), n in kinds[:25]:
        rows.append(f"  {n:>6,} × {file} {field} [{severity}]: expected {expected}")
    if len(kinds) > 25:
        rows.append(f"  ... and {len(kinds) - 25} more kinds")
    return "\n".join(rows)


def write_problem_report(outcome: LoadOutcome, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = [
        "severity",
        "file",
        "location",
        "table",
        "child",
        "field",
        "value",
        "expected",
        "rule",
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for p in outcome.problems:
            writer.writerow({name: getattr(p, name) for name in fields})
        for u in outcome.unreadable:
            writer.writerow({"severity": "unreadable", "file": u.file, "expected": u.reason})


# --- report ------------------------------------------------------------------------------------


def run_report(args) -> int:
    from framework.engine.run import report, write

    settings = load_settings(args.config)
    store_path = args.store or (settings.demo_store if args.demo else settings.store_path)
    con = store.connect(store_path, read_only=True)
    try:
        frame = report(
            con,
            period=args.period,
            indicators=args.indicator,
            group=args.group,
            by=args.by,
            threshold=settings.disclosure_threshold,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        con.close()
    text = write(frame, args.format, args.out)
    if text is not None:
        print(text)
    else:
        print(f"Wrote {len(frame):,} rows to {args.out}")
    return 0


# --- templates -----------------------------------------------------------------------------------


def run_templates(args) -> int:
    from framework.sources.template_docs import write_all

    written = write_all(args.docs, args.out)
    print(f"Wrote {len(written)} files: dictionaries in {args.docs}, blank files in {args.out}")
    return 0


# --- status -------------------------------------------------------------------------------------


def run_status(args) -> int:
    from framework.status import store_status

    settings = load_settings(args.config)
    store_path = args.store or (settings.demo_store if args.demo else settings.store_path)
    con = store.connect(store_path, read_only=True)
    try:
        status = store_status(con, settings.disclosure_threshold)
    finally:
        con.close()
    print(f"Store: {store_path}")
    shown = f"{status.children:,}" if status.children is not None else SUPPRESSED
    print(f"Children: {shown}")
    print(
        f"\nRecords held, by source, table and collection year ({SUPPRESSED} = hidden: from 1 "
        f"to {settings.disclosure_threshold}, or a count that would reveal one):"
    )
    print(status.by_year.astype(object).fillna(SUPPRESSED).to_string(index=False))
    if status.empty_sources:
        print("\nNothing loaded yet for: " + "; ".join(status.empty_sources))
    print("\nLoads (newest first):")
    print(status.loads.head(20).to_string(index=False))
    return 0


# --- demo ----------------------------------------------------------------------------------------


def run_demo(args) -> int:
    from framework.demo.generator import generate_demo

    summary = generate_demo(
        args.out,
        children=args.children,
        years=args.years,
        seed=args.seed,
        end_year=args.end_year,
        with_errors=args.with_errors,
        cin_shape=args.cin_shape,
    )
    print(summary)
    if args.load:
        settings = load_settings(args.config)
        outcome = load_files(
            [args.out],
            store_path=args.store or settings.demo_store,
            pseudonymiser=_pseudonymiser(args, settings, demo=True),
            progress=_progress_bar(),
        )
        print(format_outcome(outcome))
        return outcome.exit_code
    return 0


def demo_signature(settings) -> str:
    """What the demo store was built from: settings and the code that reads and writes it.

    When any of it changes (a new generator or reader), the demo is rebuilt on next start.
    """
    import hashlib

    from framework.config import PROJECT_ROOT

    digest = hashlib.sha256()
    options = (
        settings.demo_children,
        settings.demo_years,
        settings.demo_seed,
        settings.demo_end_year,
    )
    digest.update(repr(options).encode())
    folders = ("framework/demo", "framework/sources", "framework/store", "framework/codes")
    for folder in (*folders, "framework/reference"):
        for path in sorted((PROJECT_ROOT / folder).glob("*.*")):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def run_demo_store(args) -> int:
    """Generate and load the demo authority unless the demo store already holds this build."""
    import shutil

    from framework.demo.generator import generate_demo
    from framework.reference import describe, import_reference

    settings = load_settings(args.config)
    signature = demo_signature(settings)
    if settings.demo_store.exists():
        con = store.connect(settings.demo_store, read_only=True)
        try:
            built_from = store.meta(con, "demo_signature")
        finally:
            con.close()
        if built_from == signature:
            _demo_id_map(settings)
            print(f"Demo store ready: {settings.demo_store}")
            return 0
        print("The demo authority was built by other code or settings: rebuilding it.")
        settings.demo_store.unlink()
        idmap.map_path(settings.demo_store).unlink(missing_ok=True)
        shutil.rmtree(settings.demo_directory, ignore_errors=True)
    print(f"Generating the demo authority ({settings.demo_children:,} children)...")
    generate_demo(
        settings.demo_directory,
        children=settings.demo_children,
        years=settings.demo_years,
        seed=settings.demo_seed,
        end_year=settings.demo_end_year,
    )
    outcome = load_files(
        [settings.demo_directory],
        store_path=settings.demo_store,
        pseudonymiser=_pseudonymiser(args, settings, demo=True),
        strict=True,
        progress=_progress_bar(),
    )
    print(outcome.message)
    if outcome.status != "loaded":
        return outcome.exit_code
    # The demo's official-layout reference files (boundaries for the maps, deprivation,
    # wards, populations, postcode directory) go in the way an authority's own would.
    imported = import_reference(
        [settings.demo_directory / "reference"], store_path=settings.demo_store
    )
    if imported.status != "imported":
        print(describe(imported))
        return 1
    con = store.connect(settings.demo_store)
    try:
        store.set_meta(con, "demo_signature", signature)
    finally:
        con.close()
    return 0


def _demo_id_map(settings) -> None:
    """A demo store built before the id map existed gets its map from the demo's files."""
    from framework.load import keep_ids_from_files

    if idmap.map_path(settings.demo_store).exists() or not settings.demo_directory.exists():
        return
    print("Writing the demo's id map (fictional ids, public demo key)...")
    keep_ids_from_files(
        [settings.demo_directory],
        store_path=settings.demo_store,
        pseudonymiser=_pseudonymiser(None, settings, demo=True),
        idmap_key=idmap.DEMO_KEY,
    )


# --- reference ----------------------------------------------------------------------------------


def run_reference_import(args) -> int:
    from framework.reference import describe, import_reference

    settings = load_settings(args.config)
    outcome = import_reference(args.paths, store_path=args.store or settings.store_path)
    print(describe(outcome))
    return outcome.exit_code


def run_reference_areas(args) -> int:
    from framework.reference.areas import AreasError, build_areas

    settings = load_settings(args.config)
    con = store.connect(args.store or settings.store_path)
    try:
        areas = build_areas(con, args.lad, vintage=args.vintage)
    except AreasError as problem:
        print(f"The areas were not built: {problem}.")
        return 1
    finally:
        con.close()
    missing = areas[["imd_decile", "children_0_17"]].isna().sum()
    print(
        f"{len(areas):,} small areas in {', '.join(args.lad)}: "
        f"{int(missing['imd_decile'])} without a decile, "
        f"{int(missing['children_0_17'])} without a child population."
    )
    return 0


# --- geo ------------------------------------------------------------------------------------------


def run_geo_link(args) -> int:
    """Link the postcodes of the file's first column (a header row is kept as a header)."""
    import pandas as pd

    from framework.geography import POSTCODE_PATTERN, describe_postcodes, normalise_postcodes

    settings = load_settings(args.config)
    given = pd.read_csv(args.postcodes, header=None, usecols=[0], dtype=str).iloc[:, 0]
    header = given.iloc[:1]
    if (
        len(given)
        and not normalise_postcodes(header).str.match(POSTCODE_PATTERN).fillna(False).iloc[0]
    ):
        given = given.iloc[1:]  # the first row names the column
    con = store.connect(args.store or settings.store_path, read_only=True)
    try:
        linked = describe_postcodes(con, given.reset_index(drop=True))
    finally:
        con.close()
    if args.out:
        linked.to_csv(args.out, index=False)
        rate = linked["status"].isin(["matched", "matched by location"]).mean()
        print(f"{len(linked):,} postcodes linked ({rate:.1%} to an area): {args.out}")
    else:
        print(linked.to_csv(index=False), end="")
    return 0


# --- bench and key -------------------------------------------------------------------------------


def run_precompute(args) -> int:
    from framework.engine.precompute import only_one, precompute

    settings = load_settings(args.config)
    store_path = args.store or (settings.demo_store if args.demo else settings.store_path)
    if not store_path.exists():
        print(f"error: no store at {store_path}", file=sys.stderr)
        return 1
    if args.background:
        os.nice(10)  # pages come first
    with only_one(store_path) as alone:
        if not alone:
            print(f"Another process is already working out {store_path}'s views.")
            return 0
        made = precompute(
            store_path, settings.disclosure_threshold, years=args.years, report=_say_made
        )
    worked = [m for m in made if m.seconds]
    print(
        f"Views worked out ahead for {store_path}: {len(worked)} year-and-group results made "
        f"in {sum(m.seconds for m in worked):.0f} s, {len(made) - len(worked)} already there."
    )
    return 0


def _say_made(made) -> None:
    if made.seconds:
        group = made.group or "all children"
        print(f"  {made.year} {group}: {made.rows:,} rows in {made.seconds:.1f} s", flush=True)


def run_bench(args) -> int:
    from framework.bench import run_benchmarks

    settings = load_settings(args.config)
    sizes = args.children or [settings.demo_children, 100_000]
    report = run_benchmarks(
        sizes,
        work=args.work,
        years=settings.demo_years,
        seed=settings.demo_seed,
        end_year=settings.demo_end_year,
    )
    print(report)
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report + "\n")
    return 0


def run_key(args) -> int:
    settings = load_settings(args.config)
    if args.action == "new-idmap":
        path = idmap.new_key_file(settings.idmap_key_file)
        print(f"New id-map key written to {path} (readable only by you). Back it up.")
        return 0
    path = new_key_file(settings.key_file)
    print(f"New pseudonymisation key written to {path} (readable only by you). Back it up.")
    return 0
