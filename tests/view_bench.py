"""First views: how long the engine takes to make a page's view nobody has asked for yet.

``python -m tests.view_bench [--views 40] [--seed 7] [--markdown docs/benchmarks.md]`` (or
``make bench-views``)

A freshly started app holds the protected results worked out ahead after a load (read into
memory as the process starts, ``precompute.read_ahead``) but none of the views made from them:
every view a person asks for first is assembled then (``aggregate.evaluate``). This times that
assembly alone, in one process, without Streamlit: a seeded list of the views the framework
pages ask the engine for (overview, domain table, indicator in full, groups, trend, deprivation
deciles), each with a group and a place filter drawn as people draw them, on a copy of the demo
store whose views were worked out ahead (``python -m framework precompute``). Each view is
asked for once. The load test (tests/load_harness.py) measures the same views through the app,
with twenty people at once; this one shows where a single view's time goes (``--profile``).

It lives in tests/, not framework/: any change under framework/ makes the views worked out
ahead stale (their key holds a fingerprint of that code), and a benchmark is not the engine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from framework.browser_bench import prepare_demo

KINDS = ("overview", "domain table", "indicator in full", "groups", "trend", "deciles")
WORK = Path("data/bench/views")


@dataclass(frozen=True)
class View:
    kind: str
    subject: str  # the domain or indicator
    group: str | None
    where: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        place = ", ".join(f"{d} {v}" for d, v in self.where) or "the whole authority"
        return f"{self.kind} {self.subject}, {self.group or 'all children'}, {place}"


@dataclass(frozen=True)
class Timed:
    view: View
    seconds: float


def views_to_ask(con, count: int, seed: int) -> list[View]:
    """``count`` views drawn as people draw them: half for the whole authority, the rest for
    a locality, a ward or a deprivation decile; every group as often."""
    from framework.engine.catalogue import catalogue
    from framework.engine.dimensions import GROUPS
    from framework.engine.place import area_names

    areas = area_names(con)
    localities, wards = areas["locality"], areas["ward"]
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        kind = rng.choice(KINDS)
        domain = rng.choice("ABCD")
        indicator = rng.choice(catalogue().in_domain(domain)).id
        group = rng.choice([None, *GROUPS])
        where = _place(rng, localities, wards)
        if kind in ("groups", "deciles"):  # these pages take no group, or no place
            group = None if kind == "groups" else group
            where = () if kind == "deciles" else where
        found.append(View(kind, domain if kind == "domain table" else indicator, group, where))
    return found


def _place(rng: random.Random, localities: list[str], wards: list[str]) -> tuple:
    draw = rng.random()
    if draw < 0.5 or not localities:
        return ()
    if draw < 0.7:
        return (("locality", rng.choice(localities)),)
    if draw < 0.85 and wards:
        return (("ward", rng.choice(wards)),)
    return (("imd_decile", str(rng.randint(1, 10))),)


def make(con, view: View, period, threshold: int) -> Callable[[], object]:
    """The engine call the view's page makes (app_pages/common.py)."""
    from framework.engine import groups, overview, place, trends, views

    options = {"group": view.group, "where": view.where, "threshold": threshold}
    calls = {
        "overview": lambda: overview.overview(con, period, **options),
        "domain table": lambda: views.domain_table(con, view.subject, period, **options),
        "indicator in full": lambda: views.indicator_detail(con, view.subject, period, **options),
        "groups": lambda: groups.groups_view(
            con, view.subject, period, threshold=threshold, where=view.where
        ),
        "trend": lambda: trends.trend_view(con, view.subject, period, **options, count=5),
        "deciles": lambda: place.deprivation_view(
            con, view.subject, period, index="imd", group=view.group, threshold=threshold
        ),
    }
    return calls[view.kind]


def run(store_file: Path, threshold: int, count: int, seed: int, profile: Path | None = None):
    """(seconds reading ahead, rows read, each view timed) in this process."""
    from framework.engine import precompute
    from framework.engine.run import latest_period, register_measures
    from framework.store import store

    register_measures()
    started = time.perf_counter()
    rows = precompute.read_ahead(store_file, threshold)
    reading = time.perf_counter() - started
    con = store.connect(store_file, read_only=True)
    try:
        period = latest_period(con)
        asked = views_to_ask(con, count, seed)
        profiler = cProfile.Profile() if profile else None
        timed = []
        for view in asked:
            call = make(con, view, period, threshold)
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            call()
            if profiler:
                profiler.disable()
            timed.append(Timed(view, time.perf_counter() - started))
        if profiler:
            profiler.dump_stats(profile)
    finally:
        con.close()
    return reading, rows, timed


def markdown(reading: float, rows: int, timed: list[Timed], seed: int) -> str:
    seconds = [t.seconds for t in timed]
    lines = [
        f"### First views, {date.today().isoformat()} (tests/view_bench.py)",
        "",
        f"{len(timed)} views of the demo's latest year (seed {seed}), each asked for once in a "
        f"fresh process after reading {rows:,} rows of protected results ahead "
        f"({reading:.1f} s); Python {platform.python_version()}, {os.cpu_count()} cores.",
        "",
        "| view | asked | median s | slowest s |",
        "|---|---:|---:|---:|",
    ]
    for kind in KINDS:
        mine = [t.seconds for t in timed if t.view.kind == kind]
        if mine:
            lines.append(
                f"| {kind} | {len(mine)} | {statistics.median(mine):.2f} | {max(mine):.2f} |"
            )
    lines.append(
        f"| **all** | {len(seconds)} | {statistics.median(seconds):.2f} | {max(seconds):.2f} |"
    )
    lines += ["", f"Total {sum(seconds):.1f} s."]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.view_bench", description=__doc__)
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=WORK, help="where the demo's copy is kept")
    parser.add_argument("--markdown", type=Path, help="append the table to this file")
    parser.add_argument("--profile", type=Path, help="write cProfile's statistics here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OUTCOMES_WARM_UP", "0")  # no background process: this times views
    args = parse_args(argv)
    from framework.config import load_settings
    from framework.engine.precompute import precompute

    config = prepare_demo(args.work)
    settings = load_settings(config)
    store_file = settings.demo_store
    print(f"Working out the views ahead on {store_file} (kept: minutes only the first time)")
    precompute(store_file, settings.disclosure_threshold)
    reading, rows, timed = run(
        store_file, settings.disclosure_threshold, args.views, args.seed, args.profile
    )
    for each in timed:
        print(f"{each.seconds:6.2f} s  {each.view.describe()}")
    report = markdown(reading, rows, timed, args.seed)
    print(report)
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report + "\n")
    if args.profile:
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
