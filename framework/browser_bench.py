"""The app measured in a real browser: headless Chromium (Debian's), driven by Playwright.

``python -m framework.browser_bench [--markdown docs/benchmarks.md]`` (or ``make bench-browser``)

1. **First page.** From process start (``streamlit run app.py`` spawned on the demo authority)
   to the default page rendered in Chromium: its title (``h1``) visible and the script run
   finished. Three cold starts, each a fresh server process and a fresh browser context (no
   cached files); the median is reported, with where the time went.
2. **Interactions.** In the last of those servers, a scripted sequence (40 by default) of page
   switches across every page of the sidebar navigation and filter changes (the sidebar's group
   and period, back and forth). Each is timed from the action (the click, or Enter in the
   period box) until the script run it started has finished and the page has no stale element
   left, with its title visible. A "first visit" is the first time this server draws that view
   (page and query parameters): the engine computes it; a "repeat visit" is drawn from the
   app's cache.

It also holds the helpers the browser tests share (tests/test_browser.py): starting the app on
a copy of the demo store, waiting for a script run to finish, finding the pages, looking for
errors, full-page screenshots. Playwright is a development dependency: it is imported inside the
functions that need it. Like the rest of framework/, this module never imports streamlit: the
app runs in its own process.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
GROUP_FILTER_LABEL = "Group"
PERIOD_FILTER_LABEL = "Period"
ALL_GROUPS = "All children"
A_GROUP = "Child protection plan"  # the group the filter changes use (query parameter cp)

# Installed before any page script: records every change of the app's script-run state
# (initial, running, notRunning, …) and connection state, with the time (epoch milliseconds).
# Streamlit sets both attributes on its root element for exactly this kind of test.
RECORDER = """
(() => {
  const log = (window.__outcomes = {
    runs: [], connections: [], busy: [], input: null, done: null, changes: 0, changed: null,
  });
  const now = () => performance.timeOrigin + performance.now();
  log.now = now;
  // Changes to the page's content (the main area): counted, and the time of the last one.
  new MutationObserver((records) => {
    for (const r of records) {
      const node = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
      if (node && node.closest('[data-testid="stMain"]')) {
        log.changes += 1;
        log.changed = now();
      }
    }
  }).observe(document, {childList: true, characterData: true, subtree: true});
  new MutationObserver((records) => {
    for (const r of records) {
      const entry = [r.oldValue, r.target.getAttribute(r.attributeName), now()];
      (r.attributeName === "data-test-script-state" ? log.runs : log.connections).push(entry);
    }
  }).observe(document, {
    attributes: true, attributeOldValue: true, subtree: true,
    attributeFilter: ["data-test-script-state", "data-test-connection-state"],
  });
  // The moment of the user's last action (a press of the mouse or of a key): the event's own
  // time stamp, taken when the input arrived, even if the page was too busy to handle it.
  const pressed = (event) => { log.input = performance.timeOrigin + event.timeStamp; };
  window.addEventListener("mousedown", pressed, true);
  window.addEventListener("keydown", pressed, true);
  // Long tasks (over 50 ms) of the page's main thread: the browser's own share of a wait.
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) {
      log.busy.push([performance.timeOrigin + task.startTime, task.duration]);
    }
  }).observe({type: "longtask", buffered: true});
})();
"""

# True once a script run has started since the mark ``since`` (see ``mark``), every run has
# finished, no element of the previous run is left (Streamlit marks them data-stale until
# replaced), nothing is pending (spinner, placeholder), and the page's title is visible (and,
# for a page switch, the address is the new page's). Checked at every animation frame; the first
# time it holds is kept as ``done``. A run quick enough to start and end within one update of
# the page shows no running state at all: then the main area's content must have changed since
# the mark and stayed unchanged for half a second, and ``done`` is its last change.
RUN_FINISHED = """
([since, path]) => {
  const log = window.__outcomes;
  if (!log) return false;
  const [runsBefore, changesBefore] = since;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  if (path !== null && location.pathname !== path) return false;
  const title = document.querySelector('[data-testid="stMain"] h1');
  if (!title || title.getBoundingClientRect().height === 0) return false;
  const runs = log.runs.slice(runsBefore);
  if (runs.some(([before, after]) => before === "running" || after === "running")) {
    log.done = log.now();
    return true;
  }
  if (log.changes > changesBefore && log.now() - log.changed >= 500) {
    log.done = log.changed;
    return true;
  }
  return false;
}
"""

STATE = """
(since) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const count = (selector) => document.querySelectorAll(selector).length;
  return {
    address: location.pathname + location.search,
    script: app && app.getAttribute("data-test-script-state"),
    connection: app && app.getAttribute("data-test-connection-state"),
    runs_since_action: window.__outcomes ? window.__outcomes.runs.slice(since) : null,
    stale: count('[data-stale="true"]'), spinners: count('[data-testid="stSpinner"]'),
    skeletons: count('[data-testid="stSkeleton"]'),
    titles: [...document.querySelectorAll('[data-testid="stMain"] h1')].map((h) => h.innerText),
  };
}
"""


# --- Chromium and the app's server ---------------------------------------------------------------


def chromium_path() -> str | None:
    """Debian's Chromium, or None when it is not installed."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


def chromium_version(executable: str) -> str:
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"Chromium\s+([\d.]+)", done.stdout)
    return found.group(1) if found else "unknown"


def launch_chromium(playwright):
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)


def new_page(browser):
    """A page in a fresh context (no cache, no cookies) that records the app's script runs."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.add_init_script(RECORDER)
    return context.new_page()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_demo(work: Path) -> Path:
    """Make sure the demo authority is built (``python -m framework demo-store``, as ``make
    run`` does), copy its store into ``work`` and write a config file that points the app at
    the copy. Returns the config file.

    The copy keeps a running app safe from a rebuild of the demo store by anyone else (the
    store is rebuilt whenever the demo's code changes). A lock file serialises the build and
    the copy between test workers and benchmarks on this machine."""
    from framework.config import load_settings

    source = Path(os.environ.get("OUTCOMES_CONFIG") or REPO / "config.toml").resolve()
    settings = load_settings(source)
    settings.demo_store.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "demo.duckdb"
    lock_path = settings.demo_store.parent / ".demo-store.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = subprocess.run(
            [sys.executable, "-m", "framework", "--config", str(source), "demo-store"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            raise RuntimeError(
                f"python -m framework demo-store failed:\n{built.stdout[-3000:]}"
                f"\n{built.stderr[-3000:]}"
            )
        # copy2 keeps the modification time: the copy's views worked out ahead stay valid
        # in a work folder used again (precompute.py keys them on path, size and time).
        shutil.copy2(settings.demo_store, copy)
    config = work / "config.toml"
    config.write_text(_config_text(source, copy))
    return config


def _config_text(source: Path, demo_store: Path) -> str:
    """``source`` with the demo store replaced and every other relative path made absolute (the
    copy lives elsewhere)."""
    base = source.parent

    def absolute(match: re.Match) -> str:
        key, value = match.group(1), match.group(2)
        if key == "store":
            value = str(demo_store)
        elif not (value.startswith(("/", "~"))):
            value = str(base / value)
        return f'{key} = "{value}"'

    return re.sub(
        r'(?m)^(path|directory|store|key_file)\s*=\s*"([^"]*)"', absolute, source.read_text()
    )


@dataclass
class App:
    """A running ``streamlit run app.py``."""

    url: str
    process: subprocess.Popen
    log: Path
    config: Path
    started: float  # time.time() just before the process was spawned
    ready: float = 0.0  # when its health check first answered

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_app(
    config: Path,
    log: Path,
    *,
    mode: str = "demo",
    timeout: float = 90,
    env: dict[str, str] | None = None,
) -> App:
    """Spawn the app as the README runs it (``streamlit run app.py``), headless on a free port,
    and wait until its server answers (the page itself is drawn when a browser connects).
    ``env``: more environment variables for the app."""
    port = free_port()
    env = {**os.environ, "OUTCOMES_CONFIG": str(config), "OUTCOMES_MODE": mode, **(env or {})}
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port),
    ]  # fmt: skip
    handle = log.open("w")
    started = time.time()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return wait_until_healthy(
        App(f"http://localhost:{port}", process, log, config, started), timeout
    )


def wait_until_healthy(app: App, timeout: float, *, poll: float = 0.05) -> App:
    """Wait until the app's server answers its health check (and note when); stop it and say
    why when it exits or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"streamlit exited:\n{app.output()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    app.ready = time.time()
                    return app
        except OSError:
            time.sleep(poll)
    app.stop()
    raise TimeoutError(f"the app did not start in {timeout:.0f} s:\n{app.output()[-3000:]}")


# --- driving the app -----------------------------------------------------------------------------


def mark(page) -> list[int]:
    """Where the page's records stand now (script-state changes, content changes): pass it to
    wait_for_run to wait for a run that starts after this moment."""
    return page.evaluate(
        "window.__outcomes ? [window.__outcomes.runs.length, window.__outcomes.changes] : [0, 0]"
    )


def wait_for_run(page, since: list[int], *, path: str | None = None, timeout: float = 60) -> None:
    """Wait until a script run started after ``since`` (see mark) has finished and its page is
    drawn, with its title visible (and the address's path ``path``, if given)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(RUN_FINISHED, arg=[since, path], timeout=timeout * 1000)
    except PlaywrightTimeout as timed_out:
        raise TimeoutError(
            f"the app's page was not drawn within {timeout:.0f} s: {page.evaluate(STATE, since[0])}"
        ) from timed_out


def settle(page, *, timeout: float = 60) -> None:
    """Wait until no script run is going on and nothing is left stale (whether or not the last
    action started a run)."""
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute("data-test-script-state") !== "running"
              && !document.querySelector('[data-stale="true"]'); }""",
        timeout=timeout * 1000,
    )


@dataclass(frozen=True)
class Timing:
    """One interaction, timed in the page (no test-harness overhead): from the user's action
    (the press of the mouse or key) to the page drawn, and the script run inside it."""

    seconds: float
    run_seconds: float
    busy_seconds: float  # the page's long tasks (main thread busy over 50 ms) in that time


def _timing(page, since: list[int]) -> Timing:
    found = page.evaluate(
        """s => { const log = window.__outcomes; const runs = log.runs.slice(s);
            const begun = runs.filter(r => r[1] === "running").map(r => r[2]);
            const ended = runs.filter(r => r[1] === "notRunning").map(r => r[2]);
            const busy = log.busy.filter(([start, length]) =>
                start + length > log.input && start < log.done)
              .reduce((sum, [start, length]) =>
                sum + Math.min(start + length, log.done) - Math.max(start, log.input), 0);
            return [log.input, log.done, begun.length ? begun[0] : null,
                    ended.length ? ended[ended.length - 1] : null, busy]; }""",
        since[0],
    )
    action, done, begun, ended, busy = found
    run = (ended - begun) / 1000 if begun is not None and ended is not None else float("nan")
    return Timing((done - action) / 1000, run, busy / 1000)


def open_app(page, url: str, *, timeout: float = 60) -> None:
    """Open ``url`` and wait for its first script run to finish."""
    page.goto(url)
    wait_for_run(page, [0, 0], timeout=timeout)


@dataclass(frozen=True)
class NavLink:
    title: str
    path: str  # the address's path: "/", "/domain_a"


def nav_links(page) -> list[NavLink]:
    """Every page of the app's sidebar navigation, in order (expanding "View more")."""
    more = page.get_by_test_id("stSidebarNavViewButton")
    if more.count() and "more" in more.inner_text():
        more.click()
        page.get_by_test_id("stSidebarNavViewButton").filter(has_text="less").wait_for()
    found = page.get_by_test_id("stSidebarNavLink").evaluate_all(
        """links => links.map(a => [
            (a.querySelector('span[label]') || a).getAttribute('label') || a.innerText.trim(),
            new URL(a.href).pathname])"""
    )
    return [NavLink(title, path) for title, path in found]


def switch_page(page, link: NavLink, *, timeout: float = 60) -> Timing:
    """Click the page's link in the sidebar and wait until it is drawn."""
    since = mark(page)
    page.locator(f'[data-testid="stSidebarNavLink"][href$="{link.path}"]').first.click()
    wait_for_run(page, since, path=link.path, timeout=timeout)
    return _timing(page, since)


def problems(page) -> list[str]:
    """What a user would see going wrong: exceptions, tracebacks and error boxes."""
    found = [
        f"exception: {text[:300]}" for text in page.get_by_test_id("stException").all_inner_texts()
    ]
    found += [
        f"error box: {text[:300]}"
        for text in page.get_by_test_id("stAlertContentError").all_inner_texts()
    ]
    if "Traceback" in page.get_by_test_id("stApp").inner_text():
        found.append("the text 'Traceback' is on the page")
    return found


def _period_box(page):
    return page.get_by_test_id("stSidebar").locator(f'input[aria-label="{PERIOD_FILTER_LABEL}"]')


def _group_box(page):
    return (
        page.get_by_test_id("stSidebar")
        .get_by_test_id("stSelectbox")
        .filter(has=page.get_by_test_id("stWidgetLabel").filter(has_text=GROUP_FILTER_LABEL))
    )


def has_filters(page) -> bool:
    """Whether the page has the sidebar's period and group filters."""
    return bool(_period_box(page).count() and _group_box(page).count())


def filter_values(page) -> tuple[str, str]:
    """(period, group label) as the sidebar shows them."""
    return _period_box(page).input_value(), _group_box(page).locator("input").first.input_value()


def choose_group(page, label: str, *, timeout: float = 60) -> Timing:
    """Choose a group in the sidebar and wait until the page is drawn again."""
    option = page.get_by_role("option", name=label, exact=True)
    for _attempt in range(3):
        # The first click after the sidebar's page list was expanded ("View more") only
        # focuses the box in Chromium; a second one opens it.
        _group_box(page).click()
        try:
            option.wait_for(timeout=5_000)
            break
        except Exception:  # playwright's TimeoutError: the list did not open; click again
            continue
    option.wait_for()
    since = mark(page)
    option.click()
    wait_for_run(page, since, timeout=timeout)
    return _timing(page, since)


def enter_period(page, period: str, *, timeout: float = 60) -> Timing:
    """Type a period in the sidebar, press Enter and wait until the page is drawn again."""
    box = _period_box(page)
    box.fill(period)
    since = mark(page)
    box.press("Enter")
    wait_for_run(page, since, timeout=timeout)
    return _timing(page, since)


def query(page) -> dict[str, str]:
    """The address's query parameters."""
    return dict(page.evaluate("[...new URLSearchParams(location.search).entries()]"))


def full_page_screenshot(page, path: Path, *, tallest: int = 12_000) -> None:
    """The whole page, not only the window: Streamlit scrolls inside its own containers, so the
    window is made as tall as their content for the picture, then put back."""
    height = page.evaluate(
        """() => Math.max(window.innerHeight, ...[
            '[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
            '[data-testid="stSidebarContent"]', '[data-testid="stMainBlockContainer"]']
          .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight))"""
    )
    size = page.viewport_size or VIEWPORT
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, tallest)})
    page.wait_for_timeout(400)  # charts and tables redraw for the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def previous_year(period: str) -> str:
    """The financial year before ``period`` (2025-26 → 2024-25; a half year → its year's)."""
    found = re.match(r"(\d{4})-\d{2}", period)
    if not found:
        raise ValueError(f"not a period: {period}")
    start = int(found.group(1)) - 1
    return f"{start}-{(start + 1) % 100:02d}"


# --- the benchmark -------------------------------------------------------------------------------


@dataclass
class ColdStart:
    """Seconds from the process start (``streamlit run`` spawned) to each moment."""

    server_ready: float  # the server answers its health check
    connected: float  # the page has loaded and connected its websocket
    run_started: float  # the first script run began
    run_finished: float  # the first script run ended
    rendered: float  # the first page is drawn: run finished, nothing pending, title visible
    browser_busy: float = 0.0  # seconds of the page's long tasks until then


@dataclass
class Step:
    number: int
    kind: str  # "page switch" or "filter change"
    action: str
    view: str  # path and query string after the run
    first: bool  # the first time this server draws this view
    ms: float  # from the action to the page drawn, in the page
    run_ms: float  # the script run itself (running → notRunning), in the page
    busy_ms: float  # the page's main thread busy (long tasks) meanwhile
    note: str = ""


@dataclass
class Results:
    cold: list[ColdStart]
    steps: list[Step]
    pages: list[NavLink]
    versions: dict[str, str] = field(default_factory=dict)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pause: float = 0.0  # seconds between the first page drawn and the first interaction


def cold_start(browser, config: Path, log: Path) -> tuple[App, object, ColdStart]:
    """One cold start; returns the still running app, its page and the timings."""
    page = new_page(browser)
    app = start_app(config, log)
    page.goto(app.url)
    wait_for_run(page, [0, 0], timeout=120)
    record = page.evaluate("window.__outcomes")
    connected = next((t for _, now, t in record["connections"] if now == "CONNECTED"), None)
    begun = next((t for _, now, t in record["runs"] if now == "running"), None)
    ended = next((t for _, now, t in record["runs"] if now == "notRunning"), None)

    def since_start(epoch_ms: float | None) -> float:
        return float("nan") if epoch_ms is None else epoch_ms / 1000 - app.started

    timings = ColdStart(
        server_ready=app.ready - app.started,
        connected=since_start(connected),
        run_started=since_start(begun),
        run_finished=since_start(ended),
        rendered=since_start(record["done"]),
        browser_busy=sum(length for start, length in record["busy"] if start < record["done"])
        / 1000,
    )
    return app, page, timings


def _view(page) -> str:
    return page.evaluate("location.pathname + location.search")


def plan(links: list[NavLink], count: int) -> list[tuple[str, object]]:
    """The scripted sequence: every page once (first visits, ending back on the default page),
    the filters back and forth on the first other page, every page again (repeat visits), then
    each other page in turn with its filters changed, until ``count`` interactions. Filter
    changes planned for a page without filters are left out when run."""
    others = [link for link in links if link != links[0]]
    tour = [("page", link) for link in [*others, links[0]]]
    back_and_forth = [
        ("group", A_GROUP), ("period", "previous"), ("period", "latest"), ("group", ALL_GROUPS),
        ("group", A_GROUP), ("period", "previous"), ("period", "latest"), ("group", ALL_GROUPS),
    ]  # fmt: skip
    steps = [*tour, *([("page", others[0]), *back_and_forth] if others else []), *tour]
    turn = [("group", A_GROUP), ("period", "previous"), ("group", ALL_GROUPS), ("period", "latest")]
    while others and len(steps) < count:
        for link in [*others[1:], others[0]]:
            steps += [("page", link), *turn]
    return steps


def interactions(page, links: list[NavLink], count: int) -> list[Step]:
    """Run the scripted sequence on an app already showing its first page."""
    seen = {_view(page)}
    latest = None
    steps: list[Step] = []
    current = links[0].path
    for action, target in plan(links, count * 3):
        if len(steps) == count:
            break
        note = ""
        if action == "page":
            if target.path == current:
                continue
            timing = switch_page(page, target, timeout=120)
            current = target.path
            kind, label = "page switch", f"page → {target.title}"
        else:
            if not has_filters(page):
                continue
            period, group = filter_values(page)
            latest = latest or period
            kind = "filter change"
            if action == "group":
                if group == target:
                    continue
                timing = choose_group(page, target, timeout=120)
                label = f"group → {target}"
                if filter_values(page)[1] != target:
                    note = f"not taken: the group shown is {filter_values(page)[1]}"
            else:
                wanted = previous_year(latest) if target == "previous" else latest
                if period == wanted:
                    continue
                timing = enter_period(page, wanted, timeout=120)
                label = f"period → {wanted}"
                if query(page).get("period") != wanted:
                    note = f"not taken: the page shows {query(page).get('period')}"
        if math.isnan(timing.run_seconds):
            note = "; ".join([*filter(None, [note]), "run too quick to show (content change)"])
        view = _view(page)
        steps.append(
            Step(len(steps) + 1, kind, label, view, view not in seen, timing.seconds * 1000,
                 timing.run_seconds * 1000, timing.busy_seconds * 1000, note)
        )  # fmt: skip
        seen.add(view)
        step = steps[-1]
        print(
            f"{step.number:>3} {step.kind:<13} {'first' if step.first else 'repeat':<6} "
            f"{step.ms:>7.0f} ms (run {step.run_ms:>6.0f}, browser busy {step.busy_ms:>5.0f})  "
            f"{step.action}  [{step.view}]"
            f"{'  ' + step.note if step.note else ''}",
            flush=True,
        )
    return steps


def run_benchmark(
    *, starts: int = 3, count: int = 40, pause: float = 0.0, work: Path | None = None
) -> Results:
    from playwright.sync_api import sync_playwright

    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="browser_bench_")))
        config = prepare_demo(work)
        load = os.getloadavg()
        playwright = stack.enter_context(sync_playwright())
        browser = launch_chromium(playwright)
        stack.callback(browser.close)
        cold: list[ColdStart] = []
        for run in range(starts):
            app, page, timings = cold_start(browser, config, work / f"streamlit_{run}.log")
            stack.callback(app.stop)
            cold.append(timings)
            print(
                f"cold start {run + 1}: first page drawn {timings.rendered:.2f} s after process "
                f"start (server answers {timings.server_ready:.2f}, page connected "
                f"{timings.connected:.2f}, script run {timings.run_started:.2f} to "
                f"{timings.run_finished:.2f})",
                flush=True,
            )
            if run < starts - 1:
                page.context.close()
                app.stop()
        links = nav_links(page)
        print(f"{len(links)} pages: " + ", ".join(link.title for link in links), flush=True)
        if pause:
            print(f"reading the first page for {pause:.0f} s", flush=True)
            time.sleep(pause)
        steps = interactions(page, links, count)
        versions = {
            "Streamlit": version("streamlit"),
            "Chromium": chromium_version(chromium_path()),
            "Playwright": version("playwright"),
        }
        return Results(cold, steps, links, versions, load, pause)


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def markdown(results: Results) -> str:
    versions = ", ".join(f"{name} {number}" for name, number in results.versions.items())
    cold = results.cold
    lines = [
        f"### Browser run of {date.today():%Y-%m-%d}"
        + (
            f", interactions after {results.pause:.0f} s on the first page" if results.pause else ""
        ),
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; {versions}. Demo store; "
        f"{len(results.pages)} pages in the navigation. Load average at the start "
        f"{results.load[0]:.1f} (1 min), {results.load[1]:.1f} (5 min).",
        "",
        "First page (the default page, from process start; each a new server process and a new "
        "browser context):",
        "",
        "| start | server answers s | page connected s | script run begins s "
        "| script run ends s | **first page drawn s** | browser busy s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, run in enumerate(cold, 1):
        lines.append(
            f"| {number} | {run.server_ready:.2f} | {run.connected:.2f} | {run.run_started:.2f} "
            f"| {run.run_finished:.2f} | {run.rendered:.2f} | {run.browser_busy:.2f} |"
        )
    lines.append(
        "| **median** | "
        + " | ".join(
            f"{statistics.median(getattr(r, name) for r in cold):.2f}"
            for name in (
                "server_ready",
                "connected",
                "run_started",
                "run_finished",
                "rendered",
                "browser_busy",
            )
        )
        + " |"
    )
    lines += [
        "",
        f"Interactions after the first load ({len(results.steps)}, "
        + (f"from {results.pause:.0f} s" if results.pause else "from the moment")
        + " after the first page was drawn; ms from the user's action "
        "(mouse or key press) to the page drawn with nothing pending, timed in the page; "
        '"script run" is the Streamlit run within it, as the page sees it start and end; '
        '"browser busy" the page\'s long tasks (main thread busy over 50 ms) meanwhile):',
        "",
        "| interactions | n | p50 ms | p95 ms | max ms | script run p50 ms | browser busy p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [
        ("page switches, first visit", lambda s: s.kind == "page switch" and s.first),
        ("page switches, repeat visit", lambda s: s.kind == "page switch" and not s.first),
        ("filter changes, first visit", lambda s: s.kind == "filter change" and s.first),
        ("filter changes, repeat visit", lambda s: s.kind == "filter change" and not s.first),
        ("**all page switches**", lambda s: s.kind == "page switch"),
        ("**all filter changes**", lambda s: s.kind == "filter change"),
        ("all first visits", lambda s: s.first),
        ("all repeat visits", lambda s: not s.first),
        ("**all**", lambda s: True),
    ]
    for name, chosen in groups:
        times = [s.ms for s in results.steps if chosen(s)]
        runs = [s.run_ms for s in results.steps if chosen(s)]
        busy = [s.busy_ms for s in results.steps if chosen(s)]
        if not times:
            continue
        lines.append(
            f"| {name} | {len(times)} | {percentile(times, 0.5):,.0f} "
            f"| {percentile(times, 0.95):,.0f} | {max(times):,.0f} "
            f"| {percentile(runs, 0.5):,.0f} | {percentile(busy, 0.5):,.0f} |"
        )
    lines += [
        "",
        "<details><summary>The sequence</summary>",
        "",
        "| # | interaction | view afterwards | visit | ms | script run ms | browser busy ms "
        "| note |",
        "|---:|---|---|---|---:|---:|---:|---|",
    ]
    for step in results.steps:
        lines.append(
            f"| {step.number} | {step.action} | `{step.view}` "
            f"| {'first' if step.first else 'repeat'} | {step.ms:,.0f} | {step.run_ms:,.0f} "
            f"| {step.busy_ms:,.0f} | {step.note} |"
        )
    lines += ["", "</details>"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m framework.browser_bench",
        description="First page and interaction times of the app in headless Chromium.",
    )
    parser.add_argument("--starts", type=int, default=3, help="cold starts (default 3)")
    parser.add_argument("--interactions", type=int, default=40, help="default 40")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds to wait on the first page before the interactions (default 0: at once)",
    )
    parser.add_argument("--work", type=Path, help="keep the store copy and server logs here")
    parser.add_argument("--markdown", type=Path, help="append the results to this file")
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("Chromium is not installed (apt-get install chromium).", file=sys.stderr)
        return 2
    results = run_benchmark(
        starts=args.starts, count=args.interactions, pause=args.pause, work=args.work
    )
    report = markdown(results)
    print(report)
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
