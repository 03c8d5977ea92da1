"""Benchmarks: how long generating and loading the demo authority takes, and peak memory.

Each step runs in a fresh Python process so its peak memory (resident set, including any worker
processes it starts) is its own. Results are written as a Markdown table for
docs/benchmarks.md. Speed goals are recorded here, never asserted in tests.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path

STEP = r"""
import json, resource, sys, time
from pathlib import Path
step, out, store_path, children, years, seed, end_year = sys.argv[1:8]
start = time.perf_counter()
if step == "generate":
    from framework.demo.generator import generate_demo
    generate_demo(Path(out), children=int(children), years=int(years), seed=int(seed),
                  end_year=int(end_year))
    detail = {}
elif step == "load":
    from framework.load import load_files
    from framework.privacy import DEMO_KEY, Pseudonymiser
    outcome = load_files([Path(out)], store_path=Path(store_path),
                         pseudonymiser=Pseudonymiser(DEMO_KEY), strict=True)
    assert outcome.status == "loaded", outcome.message
    detail = {"records": sum(c.valid for r in outcome.results for c in r.counts.values()),
              "set_aside": sum(c.set_aside for r in outcome.results for c in r.counts.values())}
if step == "engine":
    from framework.engine.bench import time_engine
    detail = time_engine(Path(store_path))
seconds = time.perf_counter() - start
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": max(own, workers) / 1024, **detail}))
"""


def _run_step(
    step: str, out: Path, store_path: Path, children: int, years: int, seed: int, end_year: int
) -> dict:
    command = [
        sys.executable,
        "-c",
        STEP,
        step,
        str(out),
        str(store_path),
        str(children),
        str(years),
        str(seed),
        str(end_year),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def run_benchmarks(sizes: list[int], *, work: Path, years: int, seed: int, end_year: int) -> str:
    rows = []
    for children in sizes:
        out = work / f"demo_{children}"
        store_path = work / f"demo_{children}.duckdb"
        shutil.rmtree(out, ignore_errors=True)
        store_path.unlink(missing_ok=True)
        generated = _run_step("generate", out, store_path, children, years, seed, end_year)
        loaded = _run_step("load", out, store_path, children, years, seed, end_year)
        engine = _run_step("engine", out, store_path, children, years, seed, end_year)
        size = store_path.stat().st_size / 1e6
        rows.append((children, _size_mb(out), generated, loaded, size, engine))
    return _markdown(rows, years)


def _markdown(rows, years: int) -> str:
    packages = ", ".join(f"{p} {version(p)}" for p in ("pandas", "duckdb", "lxml"))
    lines = [
        f"### Run of {date.today():%Y-%m-%d}",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; {packages}. Years: {years}.",
        "",
        "| children | input MB | generate s | generate peak MB | load s | load peak MB "
        "| records loaded | store MB | catalogue s | with change s | engine peak MB "
        "| DuckDB floor s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for children, size, gen, load, store_mb, engine in rows:
        lines.append(
            f"| {children:,} | {size:,.0f} | {gen['seconds']:.1f} | {gen['peak_mb']:,.0f} "
            f"| {load['seconds']:.1f} | {load['peak_mb']:,.0f} | {load['records']:,} "
            f"| {store_mb:,.0f} | {engine['catalogue_seconds']:.1f} "
            f"| {engine['change_seconds']:.1f} | {engine['peak_mb']:,.0f} "
            f"| {engine['floor_seconds']:.2f} |"
        )
    return "\n".join(lines)
