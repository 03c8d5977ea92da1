"""The whole app in a real browser: Debian's headless Chromium, driven by Playwright.

Starts the app as the README does (``python -m framework demo-store``, then ``streamlit run
app.py``) on the demo authority, and as a user would: visits every page of the sidebar
navigation, changes the filters, downloads an export; no page may show an exception, a
traceback or an error box. A full-page screenshot of every page is saved in
tests/artifacts/screenshots/ (or $OUTCOMES_SCREENSHOTS), listed at the end of the test's output
(``pytest -rP``) and in pages.txt and filters.txt there. Two smaller tests start the app on
stores of their own. Skipped (with the reason) when Chromium is not installed. The helpers are
shared with the browser benchmark (framework/browser_bench.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from framework import browser_bench as bb
from framework.load import load_files

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = bb.chromium_path() or "/usr/bin/chromium"
CHROMIUM_FLAGS = bb.CHROMIUM_FLAGS
# How long a page may take when its year and group were never worked out on this store copy
# (nothing is worked out ahead here): the joint disclosure control and its differencing check
# take about 40 s of a core for a year of all children, and test runs share two cores.
# A bound on waiting, not a speed goal (docs/benchmarks.md has those).
FIRST_VIEW = 300
SCREENSHOTS = Path(
    os.environ.get("OUTCOMES_SCREENSHOTS") or REPO / "tests" / "artifacts" / "screenshots"
)
GROUP, GROUP_CODE = bb.A_GROUP, "cp"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited: {server.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("the app did not start")


@pytest.fixture
def serve(tmp_path):
    """Start the app on a store file; yields a function that returns its URL."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    servers = []

    def start(store_file: Path) -> str:
        config = tmp_path / "config.toml"
        text = (REPO / "config.toml").read_text()
        config.write_text(text.replace('path = "data/outcomes.duckdb"', f'path = "{store_file}"'))
        port = _free_port()
        env = {**os.environ, "OUTCOMES_CONFIG": str(config), "OUTCOMES_MODE": "local"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://localhost:{port}"
        servers.append(server)
        _wait_until_healthy(url, server)
        return url

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def running_app(serve, tmp_path, pseudonymiser):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "areas.csv").write_text(
        "area_code,area_name,ward_code,ward_name,locality,imd_decile,idaci_decile,"
        "children_0_17\nX01000001,Demoton 001A,X05000001,Ward One,Northmere,1,2,350\n"
    )
    store_file = tmp_path / "store.duckdb"
    load_files([folder], store_path=store_file, pseudonymiser=pseudonymiser)
    return serve(store_file)


@pytest.fixture
def running_place_app(serve, tmp_path):
    from tests.engine_store import save_store
    from tests.test_place import place_store

    return serve(save_store(place_store(), tmp_path / "store.duckdb"))


def test_the_data_page_renders_in_chromium(running_app, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(f"{running_app}/data_loaded")
        page.get_by_role("heading", name="Data loaded").wait_for(timeout=30_000)
        page.get_by_text("Records by source and year").wait_for(timeout=30_000)
        page.get_by_test_id("stMetric").last.wait_for(timeout=30_000)
        metrics = page.get_by_test_id("stMetric").all_inner_texts()
        assert any(text.startswith("Loads") and text.endswith("1") for text in metrics), metrics
        assert any(text.startswith("Children") for text in metrics), metrics
        page.screenshot(path=str(tmp_path / "data_loaded.png"))
        browser.close()


def test_the_place_page_draws_its_chart_and_map_in_chromium(running_place_app, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(f"{running_place_app}/place")
        page.get_by_role("heading", name="Place and deprivation").wait_for(timeout=30_000)
        page.get_by_text("Across deprivation").wait_for(timeout=30_000)
        page.get_by_test_id("stDeckGlJsonChart").wait_for(timeout=60_000)
        page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(tmp_path / "place.png"), full_page=True)
        browser.close()


# --- the demo authority, every page, as the README starts it ---------------------------------


def _need_chromium() -> None:
    if bb.chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """``python -m framework demo-store`` (builds the demo authority if it is absent or out of
    date, about 25 s), then ``streamlit run app.py`` on a copy of its store (so a rebuild by
    someone else cannot pull the store from under the running app)."""
    _need_chromium()
    work = tmp_path_factory.mktemp("demo_app")
    # No views worked out ahead in the background: a module's fixture starts before conftest's
    # switch applies, and that process would take a core from the rest of the test run.
    no_warm_up = {"OUTCOMES_WARM_UP": "0"}
    app = bb.start_app(bb.prepare_demo(work), work / "streamlit.log", env=no_warm_up)
    yield app
    app.stop()


@dataclass
class Browsing:
    page: object
    errors: list[str] = field(default_factory=list)  # uncaught errors in the page's scripts


@pytest.fixture
def browsing():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = bb.launch_chromium(playwright)
        page = bb.new_page(browser)
        page.set_default_timeout(60_000)
        seen = Browsing(page)
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        yield seen
        browser.close()


def _screenshots(prefix: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{prefix}-*.png"):
        old.unlink()
    return SCREENSHOTS


def _list_screenshots(name: str, rows: list[tuple[Path, str]]) -> None:
    """Write the screenshots' list to <folder>/<name>.txt and to the test's output."""
    width = max(len(path.name) for path, _ in rows)
    text = "\n".join(f"{path.name:<{width}}  {what}" for path, what in rows)
    (SCREENSHOTS / f"{name}.txt").write_text(text + "\n")
    print(f"\nScreenshots in {SCREENSHOTS}:\n{text}")


def _title(page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text()


def _arrive(page, link, timeout: float = FIRST_VIEW) -> None:
    """Show the page of this navigation link (click it, unless it is shown already)."""
    if page.evaluate("location.pathname") != link.path:
        bb.switch_page(page, link, timeout=timeout)


def test_every_page_of_the_demo_renders_without_errors_in_chromium(demo_app, browsing):
    page = browsing.page
    bb.open_app(page, demo_app.url, timeout=FIRST_VIEW)
    links = bb.nav_links(page)
    assert links, "the sidebar shows no pages"
    titles = {link.title for link in links}
    assert {"Neglect services", "Funding", "Benchmarking"} <= titles, titles
    folder = _screenshots("page")
    shots, failures = [], {}
    for number, link in enumerate(links, 1):
        _arrive(page, link)
        title = _title(page)
        assert title.strip(), f"{link.title}: the page has an empty title"
        found = bb.problems(page)
        if found:
            failures[f"{link.title} ({link.path})"] = found
        path = folder / f"page-{number:02d}-{bb.slug(link.title)}.png"
        bb.full_page_screenshot(page, path)
        shots.append(
            (path, f"{link.title} ({link.path}): first view, default filters; title {title!r}")
        )
    _list_screenshots("pages", shots)
    assert not failures, f"errors shown on pages: {failures}"
    assert not browsing.errors, f"errors in the page's scripts: {browsing.errors}"
    assert "Traceback" not in demo_app.output(), demo_app.output()[-5000:]


def test_filters_are_kept_in_the_address_and_across_pages_in_chromium(demo_app, browsing):
    page = browsing.page
    bb.open_app(page, demo_app.url, timeout=FIRST_VIEW)
    links = bb.nav_links(page)
    for first in links:
        _arrive(page, first)
        if bb.has_filters(page):
            break
    else:
        pytest.fail("no page has the sidebar's Period and Group filters")
    folder = _screenshots("filter")
    failures: list[str] = []

    bb.choose_group(page, GROUP, timeout=FIRST_VIEW)
    assert bb.query(page).get("group") == GROUP_CODE, page.url
    assert bb.filter_values(page)[1] == GROUP
    assert not bb.problems(page), bb.problems(page)
    shots = [(folder / f"filter-01-{bb.slug(first.title)}-{GROUP_CODE}.png",
              f"{first.title}: group {GROUP} chosen in the sidebar ({page.url})")]  # fmt: skip
    bb.full_page_screenshot(page, shots[-1][0])

    latest = bb.filter_values(page)[0]
    for period in (bb.previous_year(latest), latest):  # there and back
        bb.enter_period(page, period, timeout=FIRST_VIEW)
        shown = bb.query(page).get("period"), bb.filter_values(page)[0]
        if shown != (period, period):
            failures.append(
                f"{first.title}: period {period} typed and entered, but the address says "
                f"{shown[0]} and the Period box {shown[1]}"
            )
        if found := bb.problems(page):
            failures.append(f"{first.title}, period {period}: {found}")
    if bb.query(page).get("group") != GROUP_CODE:
        bb.choose_group(page, GROUP, timeout=FIRST_VIEW)

    for link in links[links.index(first) + 1 :]:
        bb.switch_page(page, link, timeout=FIRST_VIEW)
        if bb.has_filters(page):
            break
    else:
        pytest.fail(f"no page with filters after {first.title} to switch to")
    path = folder / f"filter-02-{bb.slug(link.title)}-after-switching.png"
    bb.full_page_screenshot(page, path)
    shots.append(
        (path, f"{link.title}, reached from {first.title} with group {GROUP} ({page.url})")
    )
    _list_screenshots("filters", shots)
    group = bb.filter_values(page)[1]
    if group != GROUP or bb.query(page).get("group") != GROUP_CODE:
        failures.append(
            f"switched from {first.title} (group {GROUP}) to {link.title}: the Group box shows "
            f"{group!r} and the address is {page.url}"
        )
    if found := bb.problems(page):
        failures.append(f"{link.title}: {found}")
    assert not failures, "\n".join(failures)
    assert not browsing.errors, f"errors in the page's scripts: {browsing.errors}"


COUNT_COLUMNS = {"numerator", "denominator", "count", "children", "records", "n"}


def _read_export(path: Path) -> dict[str, object]:
    """The tables of a downloaded CSV or Excel file (sheet name → DataFrame)."""
    import openpyxl
    import pandas as pd

    if path.suffix.lower() == ".csv":
        return {"csv": pd.read_csv(path)}
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames, f"{path.name} has no sheet"
    book.close()
    return pd.read_excel(path, sheet_name=None, engine="openpyxl")


def _small_counts(tables: dict, threshold: int) -> list[str]:
    """Counts from 1 to the threshold in columns named as counts (they must never be shown)."""
    import pandas as pd

    found = []
    for sheet, table in tables.items():
        for column in table.columns:
            name = str(column).strip().lower()
            if name not in COUNT_COLUMNS and not name.endswith("_count"):
                continue
            counts = pd.to_numeric(table[column].astype(str).str.replace(",", ""), errors="coerce")
            small = table.loc[counts.between(1, threshold), column]
            if not small.empty:
                found.append(f"[{sheet}] {column}: {small.tolist()[:10]}")
    return found


def test_exports_download_and_read_back_in_chromium(demo_app, browsing, tmp_path):
    """The first page with download buttons (st.download_button): its first CSV and first
    Excel file (or, if it has neither, its first download of any kind) are downloaded, are not
    empty, read back (pandas; openpyxl), have rows, and show no count from 1 to the threshold."""
    from framework.config import load_settings

    page = browsing.page
    bb.open_app(page, demo_app.url, timeout=FIRST_VIEW)
    for link in bb.nav_links(page):
        _arrive(page, link)
        if page.get_by_test_id("stDownloadButton").count():
            break
    else:
        pytest.skip("no page has a download button (st.download_button) yet: no export to test")
    buttons = page.get_by_test_id("stDownloadButton")
    labels = [text.strip().splitlines()[-1] for text in buttons.all_inner_texts()]
    wanted = [
        labels.index(label) for label in ("Download CSV", "Download Excel") if label in labels
    ] or [0]
    threshold = load_settings(demo_app.config).disclosure_threshold
    for index in wanted:
        label = labels[index]
        with page.expect_download(timeout=FIRST_VIEW * 1000) as started:
            buttons.nth(index).locator("button").first.click()
        download = started.value
        assert download.failure() is None, f"{label}: {download.failure()}"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        size = saved.stat().st_size
        assert size > 0, f"{label!r} on {link.title} downloaded an empty file"
        if saved.suffix.lower() not in (".csv", ".xlsx"):
            print(f"\n{label!r} on {link.title}: {saved.name}, {size:,} bytes (not a table)")
            continue
        tables = _read_export(saved)
        assert any(len(table) for table in tables.values()), f"{saved.name} holds no rows"
        assert not _small_counts(tables, threshold), _small_counts(tables, threshold)
        rows = sum(len(table) for table in tables.values())
        print(f"\n{label!r} on {link.title}: {saved.name}, {size:,} bytes, {rows} rows")
        bb.settle(page)
    assert not bb.problems(page), bb.problems(page)
    assert not browsing.errors, f"errors in the page's scripts: {browsing.errors}"


def _tab_to(page, matches: str, presses: int = 80) -> bool:
    """Press Tab until the focused element satisfies the JavaScript test ``matches`` (given
    the element as ``el``); whether it got there within ``presses``."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({matches}); }}"):
            return True
    return False


def test_the_app_can_be_used_with_the_keyboard_alone_in_chromium(demo_app, browsing):
    """WCAG 2.2 2.1.1: a page reached and a filter changed without the mouse."""
    page = browsing.page
    bb.open_app(page, demo_app.url, timeout=FIRST_VIEW)
    # Tab to the sidebar's link to the Trends page, and open it with Enter.
    # (the order met on the way: "skip to main content", the navigation, the filters, the page)
    reached = _tab_to(
        page, "el.tagName === 'A' && (el.getAttribute('href') || '').endsWith('/trends')"
    )
    assert reached, "Tab never reached the Trends link in the sidebar"
    since = bb.mark(page)
    page.keyboard.press("Enter")
    bb.wait_for_run(page, since, path="/trends", timeout=FIRST_VIEW)
    assert _title(page) == "Trends"
    # Tab to the Group box, open it with the keyboard and choose the next group.
    reached = _tab_to(page, "el.closest('[data-testid=\"stSelectbox\"]') && "
                      "el.closest('[data-testid=\"stSidebar\"]')")  # fmt: skip
    assert reached, "Tab never reached a select box in the sidebar"
    since = bb.mark(page)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    bb.wait_for_run(page, since, timeout=FIRST_VIEW)
    assert bb.query(page).get("group") not in (None, "all"), page.url
    assert not bb.problems(page), bb.problems(page)


# --- sign-in, in a real browser ----------------------------------------------------------------


def test_sign_in_guards_every_address_in_chromium(tmp_path_factory, monkeypatch):
    """Local accounts on the demo store, started with ``streamlit run app.py``. The fresh
    server's very first request names a page (/groups): it must ask for sign-in, then open
    that page. Then a viewer signs in,
    gets the aggregate pages only, and cannot open the tracker by its address."""
    from playwright.sync_api import sync_playwright

    from framework.access import Accounts
    from framework.audit import AuditLog

    _need_chromium()
    monkeypatch.delenv("OUTCOMES_ACCESS_MODE", raising=False)
    work = tmp_path_factory.mktemp("sign_in")
    config = bb.prepare_demo(work)
    password = "correct horse battery"
    Accounts(work / "accounts.json").add("vic", "viewer", password)
    text = config.read_text().replace('mode = "auto"', 'mode = "local"')
    text = text.replace(
        'accounts_file = "~/.config/outcomes-explorer/accounts.json"',
        f'accounts_file = "{work / "accounts.json"}"',
    )
    config.write_text(text.replace('audit_log = ""', f'audit_log = "{work / "audit.jsonl"}"'))
    app = bb.start_app(config, work / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = bb.launch_chromium(playwright)
            page = bb.new_page(browser)
            page.set_default_timeout(120_000)
            page.goto(f"{app.url}/groups")
            page.get_by_role("button", name="Sign in").wait_for()
            assert page.get_by_text("Groups side by side").count() == 0
            assert page.get_by_test_id("stMetric").count() == 0
            page.get_by_role("textbox", name="User name").fill("vic")
            page.get_by_role("textbox", name="Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            # The address asked for opens once signed in.
            page.get_by_role("heading", name="Groups side by side").wait_for()
            titles = {link.title for link in bb.nav_links(page)}
            assert "Overview" in titles
            assert not {"Child-level tracker", "Users and audit"} & titles, titles
            assert page.get_by_text("Signed in as vic (viewer)").count() == 1
            # Opening an address starts a new browser session: sign-in again, never the page.
            page.goto(f"{app.url}/tracker")
            page.get_by_role("button", name="Sign in").wait_for()
            assert page.get_by_text("Child-level tracker").count() == 0
            browser.close()
    finally:
        app.stop()
    assert [e["event"] for e in AuditLog(work / "audit.jsonl").entries()] == ["sign_in"]
    assert "Traceback" not in app.output()
