"""Start the app as `make run` does: `streamlit run app.py`, with the libraries every page
needs (pandas, Altair, DuckDB, the engine) imported in the background while the server starts
and the browser connects, instead of on the first page's run. Arguments are passed on to
`streamlit run` (e.g. `python serve.py --server.port 8502`).

`python serve.py --workers N` (or `OUTCOMES_WORKERS=N`), N ≥ 2, starts N Streamlit servers
("workers", each this script again, with `OUTCOMES_WORKER=<i>`) on free loopback ports and, in
this process, a sticky reverse proxy (framework/sticky_proxy.py) on the address and port asked
for (`--server.address`/`--server.port`, else Streamlit's config files, else localhost:8501).
One Python process uses at most one core; the proxy sends each browser to one worker for good
(a cookie), since a Streamlit session lives in one process. The workers share one cookie secret
(for `st.login`) and read the same store, accounts and audit log. When a worker stops, or on
SIGINT/SIGTERM, every worker is stopped and this script exits.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import tomllib
from pathlib import Path

WORKERS_ENV = "OUTCOMES_WORKERS"  # how many workers to start (as --workers)
WORKER_ENV = "OUTCOMES_WORKER"  # set in a worker's environment: its number
HEALTH_TIMEOUT = 120.0  # seconds for every worker to answer its health check
WILDCARDS = (None, "", "0.0.0.0", "::")


def _preload() -> None:
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import app_pages.common
    import app_pages.downloads  # noqa: F401
    import framework.charts
    import framework.engine.overview
    import framework.engine.views  # noqa: F401


def _read_views_ahead() -> None:
    """Read the views already worked out into this process's memory as it starts, so that
    the first people to open a page do not wait for it (the app would otherwise do it on its
    first page; framework/engine/precompute.py ``read_ahead``)."""
    from framework.config import load_settings, shown_store
    from framework.engine.precompute import start_reading_ahead

    try:
        settings = load_settings()
    except Exception:  # a broken config.toml: the app's first page says what is wrong
        return
    start_reading_ahead(shown_store(settings), settings.disclosure_threshold)


def _work_out_views_ahead() -> None:
    """Start working out the shown store's views in a separate process now, not when the
    first page is drawn (framework/engine/precompute.py; a no-op when already done)."""
    from framework.config import load_settings, shown_store
    from framework.engine.precompute import start_in_background

    start_in_background(shown_store(load_settings()))


def _run_streamlit(args: list[str]) -> None:
    """`streamlit run app.py ARGS` in this process (one server: the usual case, or a worker)."""
    threading.Thread(target=_preload, name="preload", daemon=True).start()
    _read_views_ahead()
    if os.environ.get(WORKER_ENV) is None:
        _work_out_views_ahead()  # with workers, the parent has started it once for all
    else:
        _stop_with_parent()
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    # Belt and braces: Streamlit treats a folder called pages/ beside the script as an
    # old-style multipage app (running a page's script without app.py's sign-in); the pages
    # live in app_pages/ for that reason, and this keeps the old behaviour off regardless.
    PagesManager.uses_pages_directory = False

    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), *args]
    sys.exit(cli.main())


def _stop_with_parent() -> None:
    """A worker stops (as on SIGTERM) once the serve.py that started it is gone, even when
    that one was killed outright and could not stop it."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# --- arguments ---------------------------------------------------------------------------------


def _take_workers(argv: list[str]) -> tuple[int, list[str]]:
    """How many workers (--workers N, else OUTCOMES_WORKERS, else 1) and argv without it."""
    value, rest = _take_option(argv, "workers")
    value = value or os.environ.get(WORKERS_ENV) or "1"
    if not value.isdigit() or int(value) < 1:
        sys.exit(f"serve.py: --workers wants a whole number from 1, not {value!r}")
    return int(value), rest


def _take_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of ``--name value`` or ``--name=value`` (the last one given wins; script
    arguments after ``--`` are left alone) and the arguments without it."""
    value, rest, index = None, [], 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        if arg == f"--{name}":
            if index + 1 >= len(args):
                sys.exit(f"serve.py: --{name} wants a value")
            value, index = args[index + 1], index + 2
            continue
        if arg.startswith(f"--{name}="):
            value = arg.partition("=")[2]
        else:
            rest.append(arg)
        index += 1
    return value, rest


def _configured(option: str, flag: str | None) -> str | None:
    """A Streamlit option as Streamlit would find it: the flag, else its environment variable
    (STREAMLIT_SERVER_PORT for server.port), else the last config file that sets it (global,
    then the working folder's, then the app's .streamlit/config.toml)."""
    if flag is not None:
        return flag
    section, _, key = option.partition(".")
    snake = re.sub(r"([A-Z])", r"_\1", key)  # cookieSecret: COOKIE_SECRET
    variable = f"STREAMLIT_{section}_{snake}".upper()
    if os.environ.get(variable):
        return os.environ[variable]
    found = None
    here = Path(__file__).resolve().parent
    for folder in (Path.home(), Path.cwd(), here):
        try:
            table = tomllib.loads((folder / ".streamlit" / "config.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        value = table.get(section, {}).get(key)
        if value is not None:
            found = str(value)
    return found


# --- several workers behind the sticky proxy ---------------------------------------------------


def _run_workers(count: int, args: list[str]) -> int:
    """Start ``count`` workers and the proxy in front of them; returns the exit status."""
    from framework.browser_bench import free_port
    from framework.sticky_proxy import serve_forever

    host, port, args = _proxy_address(args)
    _check_free(host, port)
    _work_out_views_ahead()  # once, for every worker
    env = _worker_env(args)
    args = [*_browser_address(host, port, args), *args]
    apps = []
    signal.signal(signal.SIGTERM, _interrupt)  # stop the workers even while they start
    try:
        for number in range(count):
            apps.append(_start_worker(number, free_port(), args, env))
        _wait_until_healthy(apps)
        workers = [("127.0.0.1", int(app.url.rsplit(":", 1)[1])) for app in apps]
        reason = serve_forever(host, port, workers, stop_when=lambda: _stopped(apps))
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, TimeoutError, OSError) as failed:
        print(f"serve.py: {failed}", file=sys.stderr, flush=True)
        return 1
    finally:
        _stop_all(apps)
    if reason is not None:
        print(f"serve.py: {reason}; the others were stopped", file=sys.stderr, flush=True)
        return 1
    return 0


def _proxy_address(args: list[str]) -> tuple[str | None, int, list[str]]:
    """Where the proxy listens (None: every interface, as Streamlit would), and the workers'
    arguments: the user's, less the address, port and headless flag (serve.py sets those)."""
    address, args = _take_option(args, "server.address")
    port, args = _take_option(args, "server.port")
    _headless, args = _take_option(args, "server.headless")  # workers never open a browser
    host = _configured("server.address", address)
    port = int(_configured("server.port", port) or 8501)
    return (None if host in WILDCARDS else host), port, args


def _browser_address(host: str | None, port: int, args: list[str]) -> list[str]:
    """Tell the workers the address in the browser's address bar (the proxy's), unless
    configured: Streamlit prints it and names it in the upload endpoints' CORS headers."""
    extra = []
    if _configured("browser.serverAddress", _take_option(args, "browser.serverAddress")[0]) is None:
        extra += ["--browser.serverAddress", host or "localhost"]
    if _configured("browser.serverPort", _take_option(args, "browser.serverPort")[0]) is None:
        extra += ["--browser.serverPort", str(port)]
    return extra


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _check_free(host: str | None, port: int) -> None:
    """Stop at once, before starting any worker, when the proxy's port is taken."""
    try:
        with socket.create_server((host or "", port)):
            pass
    except OSError as taken:
        reason = os.strerror(taken.errno) if taken.errno else str(taken)
        sys.exit(f"serve.py: cannot listen on {host or '*'}:{port} ({reason})")


def _worker_env(args: list[str]) -> dict[str, str]:
    """The workers' environment: this one, less the worker count (a worker starts no
    workers), with one cookie secret for all when none is configured (st.login's cookie must
    be readable by every worker). An environment variable, not a flag: a process's
    arguments are visible to every user of the machine, its environment is not."""
    env = {key: value for key, value in os.environ.items() if key != WORKERS_ENV}
    if _configured("server.cookieSecret", _take_option(args, "server.cookieSecret")[0]) is None:
        env["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(32)
    return env


def _start_worker(number: int, port: int, args: list[str], env: dict[str, str]):
    """One worker: this script, headless on a loopback port. Its output goes to this
    terminal, like a single server's."""
    import subprocess

    from framework.browser_bench import App

    command = [
        sys.executable, str(Path(__file__).resolve()),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", *args,
    ]  # fmt: skip
    started = time.time()
    process = subprocess.Popen(command, env={**env, WORKER_ENV: str(number)})
    return App(f"http://127.0.0.1:{port}", process, Path(os.devnull), Path.cwd(), started)


def _wait_until_healthy(apps: list) -> None:
    from framework.browser_bench import wait_until_healthy

    deadline = time.monotonic() + HEALTH_TIMEOUT
    for number, app in enumerate(apps):
        try:
            wait_until_healthy(app, max(deadline - time.monotonic(), 1.0), poll=0.2)
        except (RuntimeError, TimeoutError):
            raise RuntimeError(
                f"worker {number} ({app.url}) did not start within {HEALTH_TIMEOUT:.0f} s "
                "(its messages are above)"
            ) from None


def _stopped(apps: list) -> str | None:
    for number, app in enumerate(apps):
        code = app.process.poll()
        if code is not None:
            return f"worker {number} ({app.url}) stopped with exit status {code}"
    return None


def _stop_all(apps: list) -> None:
    """Ask every worker to stop at once, then wait for each (killed after 20 s)."""
    for app in apps:
        if app.process.poll() is None:
            app.process.terminate()
    for app in apps:
        app.stop()


if __name__ == "__main__":
    if os.environ.get(WORKER_ENV) is not None:
        _run_streamlit(sys.argv[1:])  # a worker: its arguments came from serve.py
    workers, arguments = _take_workers(sys.argv[1:])
    if workers >= 2:
        sys.exit(_run_workers(workers, arguments))
    _run_streamlit(arguments)
