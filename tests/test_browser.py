"""The whole app in a real browser: Debian's headless Chromium, driven by Playwright.

Starts `streamlit run app.py` on a free local port against a small store, opens every page and
checks what a user would see. Skipped (with the reason) when Chromium is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from framework.load import load_files

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
        page.goto(running_app)
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
