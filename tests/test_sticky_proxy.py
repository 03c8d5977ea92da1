"""The sticky proxy in front of several Streamlit workers (framework/sticky_proxy.py, ``python
serve.py --workers N``).

Most tests put the proxy in front of tiny asyncio HTTP servers that name themselves in every
answer: the cookie steers, new clients are spread, a worker that is down is skipped, large
bodies and WebSocket-like upgrades flow through unchanged. One slow test starts ``serve.py
--workers 2`` on a copy of the demo store and opens a Streamlit session on each worker through
the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from framework import sticky_proxy
from framework.browser_bench import App, free_port, wait_until_healthy
from framework.sticky_proxy import StickyProxy, with_cookie, worker_from_cookie

REPO = Path(__file__).resolve().parents[1]
COOKIE_SET = re.compile(r"outcomes_worker=(\d+); Path=/; HttpOnly; SameSite=Lax")


# --- tiny backends -------------------------------------------------------------------------------


class Backend:
    """An HTTP server answering every request with ``<name> <body length> <body sha256>``;
    keeps connections alive unless ``close``. An ``Upgrade`` request gets 101 and then every
    byte back (a WebSocket-like echo); ``Expect: 100-continue`` gets an interim 100 first."""

    def __init__(self, name: str, *, close: bool = False):
        self.name, self.close = name, close
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return "127.0.0.1", self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()

    async def _handle(self, reader, writer) -> None:
        try:
            while await self._answer(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, reader, writer) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        lower = head.lower()
        if b"upgrade: websocket" in lower:
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            return False
        if b"expect: 100-continue" in lower:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        found = re.search(rb"content-length: *(\d+)", lower)
        body = await reader.readexactly(int(found.group(1))) if found else b""
        text = f"{self.name} {len(body)} {hashlib.sha256(body).hexdigest()}".encode()
        connection = b"close" if self.close else b"keep-alive"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(text)).encode()
            + b"\r\nConnection: "
            + connection
            + b"\r\n\r\n"
            + text
        )
        await writer.drain()
        return not self.close


@contextlib.asynccontextmanager
async def proxied(*backends: Backend | None):
    """The proxy in front of ``backends`` (None: a worker that is down, its port refusing)."""
    workers = []
    for backend in backends:
        workers.append(await backend.start() if backend else ("127.0.0.1", free_port()))
    proxy = StickyProxy(workers)
    await proxy.start("127.0.0.1", 0)
    try:
        yield proxy
    finally:
        await proxy.close()
        for backend in backends:
            if backend:
                await backend.stop()


# --- a tiny client -------------------------------------------------------------------------------


class Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, proxy: StickyProxy) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", proxy.port))

    async def get(
        self, cookie: str | None = None, body: bytes = b"", extra: str = ""
    ) -> tuple[int, str, str | None]:
        """(status, body, the worker the Set-Cookie names or None)."""
        head = "POST /x HTTP/1.1\r\nHost: localhost\r\n" + extra
        if cookie is not None:
            head += f"Cookie: {cookie}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        return await self.response()

    async def response(self) -> tuple[int, str, str | None]:
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode()
        status = int(head.split()[1])
        if 100 <= status < 200 and status != 101:
            assert "outcomes_worker" not in head, "the cookie went in an interim response"
            return await self.response()
        length = re.search(r"(?i)content-length: *(\d+)", head)
        body = (await self.reader.readexactly(int(length.group(1)))).decode() if length else ""
        cookies = [line for line in head.split("\r\n") if line.lower().startswith("set-cookie:")]
        assert len(cookies) <= 1, cookies
        worker = None
        if cookies:
            found = COOKIE_SET.search(cookies[0])
            assert found, cookies[0]
            worker = found.group(1)
        return status, body, worker

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def ask(proxy: StickyProxy, cookie: str | None = None, **kwargs):
    """One request on a connection of its own."""
    connection = await Connection.open(proxy)
    try:
        return await connection.get(cookie, **kwargs)
    finally:
        await connection.close()


async def until_counted(proxy: StickyProxy, expected: list[int]) -> None:
    """Wait until the proxy counts ``expected`` open connections per worker (it notices a
    closed connection a moment after the client closes it)."""
    for _ in range(200):
        if proxy.connections == expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"connections counted: {proxy.connections}, not {expected}")


async def until_idle(proxy: StickyProxy) -> None:
    await until_counted(proxy, [0] * len(proxy.workers))


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


# --- the cookie ----------------------------------------------------------------------------------


def test_the_cookie_is_read_only_when_it_names_a_worker():
    def head(cookie: str) -> bytes:
        return f"GET / HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode()

    assert worker_from_cookie(head("outcomes_worker=1"), 2) == 1
    assert worker_from_cookie(head("a=b; outcomes_worker=0; c=d"), 2) == 0
    assert worker_from_cookie(b"GET / HTTP/1.1\r\ncookie:outcomes_worker=1\r\n\r\n", 2) == 1
    for bad in ("outcomes_worker=9", "outcomes_worker=abc", "outcomes_worker=-1", "x=1", ""):
        assert worker_from_cookie(head(bad), 2) is None, bad
    assert worker_from_cookie(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2) is None
    assert worker_from_cookie(b"GET /?outcomes_worker=1 HTTP/1.1\r\n\r\n", 2) is None
    assert with_cookie(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n", 1) == (
        b"HTTP/1.1 200 OK\r\nA: b\r\n"
        b"Set-Cookie: outcomes_worker=1; Path=/; HttpOnly; SameSite=Lax\r\n\r\n"
    )


# --- steering ------------------------------------------------------------------------------------


def test_a_new_client_gets_the_cookie_and_the_cookie_brings_it_back():
    async def scenario():
        async with proxied(Backend("w0"), Backend("w1")) as proxy:
            status, body, worker = await ask(proxy)
            assert (status, body.split()[0], worker) == (200, "w0", "0")
            # A later connection with the cookie: the same worker, no new cookie.
            for _ in range(3):
                assert await ask(proxy, "outcomes_worker=0") == (200, body, None)
            # The cookie decides, whatever the load.
            status, body, worker = await ask(proxy, "theme=dark; outcomes_worker=1")
            assert (body.split()[0], worker) == ("w1", None)
            await until_idle(proxy)

    run(scenario())


def test_new_clients_are_spread_over_the_workers_by_open_connections():
    async def scenario():
        async with proxied(Backend("w0"), Backend("w1")) as proxy:
            first, second = await Connection.open(proxy), await Connection.open(proxy)
            _s, body, worker = await first.get()
            assert (body.split()[0], worker) == ("w0", "0")
            _s, body, worker = await second.get()  # the first is still open
            assert (body.split()[0], worker) == ("w1", "1")
            assert proxy.connections == [1, 1]
            # Every request on a connection goes to its worker; only the first gets a cookie.
            for _ in range(3):
                _s, body, worker = await first.get()
                assert (body.split()[0], worker) == ("w0", None)
            await first.close()
            await until_counted(proxy, [0, 1])
            _s, body, worker = await ask(proxy)  # worker 0 is the less busy now
            assert (body.split()[0], worker) == ("w0", "0")
            await second.close()
            await until_idle(proxy)

    run(scenario())


def test_a_cookie_that_names_no_worker_counts_as_none():
    async def scenario():
        async with proxied(Backend("w0"), Backend("w1")) as proxy:
            held = await Connection.open(proxy)
            assert (await held.get())[1].startswith("w0")
            for bad in ("outcomes_worker=9", "outcomes_worker=abc", "outcomes_worker="):
                status, body, worker = await ask(proxy, bad)
                assert (status, body.split()[0], worker) == (200, "w1", "1"), bad
                await until_counted(proxy, [1, 0])
            await held.close()

    run(scenario())


def test_a_worker_that_is_down_is_skipped_and_the_cookie_set_to_the_one_used():
    async def scenario():
        async with proxied(None, Backend("w1")) as proxy:
            status, body, worker = await ask(proxy, "outcomes_worker=0")
            assert (status, body.split()[0], worker) == (200, "w1", "1")
            status, body, worker = await ask(proxy)
            assert (status, body.split()[0], worker) == (200, "w1", "1")
            assert await ask(proxy, "outcomes_worker=1") == (200, body, None)
            await until_idle(proxy)

    run(scenario())


def test_with_every_worker_down_the_client_gets_bad_gateway():
    async def scenario():
        async with proxied(None, None) as proxy:
            connection = await Connection.open(proxy)
            status, body, worker = await connection.get("outcomes_worker=1")
            assert (status, worker) == (502, None)
            assert "not answering" in body
            assert await connection.reader.read() == b""  # and the connection is closed
            await connection.close()
            assert proxy.connections == [0, 0]

    run(scenario())


# --- what flows through --------------------------------------------------------------------------


def test_a_large_upload_arrives_whole():
    body = os.urandom(5 * 1024 * 1024)

    async def scenario():
        async with proxied(Backend("w0"), Backend("w1")) as proxy:
            status, answer, _w = await ask(proxy, "outcomes_worker=1", body=body)
            assert status == 200
            assert answer == f"w1 {len(body)} {hashlib.sha256(body).hexdigest()}"

    run(scenario())


def test_the_cookie_goes_in_the_response_after_100_continue():
    async def scenario():
        async with proxied(Backend("w0")) as proxy:
            status, body, worker = await ask(proxy, body=b"abc", extra="Expect: 100-continue\r\n")
            assert (status, body.split()[:2], worker) == (200, ["w0", "3"], "0")

    run(scenario())


def test_a_websocket_upgrade_is_piped_both_ways():
    async def scenario():
        async with proxied(Backend("w0"), Backend("w1")) as proxy:
            held = await Connection.open(proxy)
            await held.get()  # worker 0 is busier
            connection = await Connection.open(proxy)
            connection.writer.write(
                b"GET /_stcore/stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
            )
            status, _body, worker = await connection.response()
            assert (status, worker) == (101, "1")  # browsers keep a cookie set in a 101
            sent = os.urandom(1024 * 1024)
            connection.writer.write(sent)
            await connection.writer.drain()
            assert await connection.reader.readexactly(len(sent)) == sent
            connection.writer.write(b"and more")
            assert await connection.reader.readexactly(8) == b"and more"
            assert proxy.connections == [1, 1]
            await connection.close()
            await held.close()
            await until_idle(proxy)

    run(scenario())


def test_a_worker_that_closes_after_answering_closes_the_client_too():
    async def scenario():
        async with proxied(Backend("w0", close=True)) as proxy:
            connection = await Connection.open(proxy)
            status, body, _w = await connection.get()
            assert (status, body.split()[0]) == (200, "w0")
            assert await connection.reader.read() == b""
            await connection.close()
            await until_idle(proxy)

    run(scenario())


def test_garbage_and_heads_too_long_are_dropped_without_reaching_a_worker():
    async def scenario():
        backend = Backend("w0")
        async with proxied(backend) as proxy:
            for sent in (
                b"x" * (70 * 1024),  # no head at all
                b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 20000,  # a head too long
                b"hello\r\n\r\n",  # not HTTP
                b"\r\n\r\n",
            ):
                connection = await Connection.open(proxy)
                connection.writer.write(sent)
                with contextlib.suppress(ConnectionError):
                    await connection.writer.drain()
                    assert await connection.reader.read() == b""
                await connection.close()
            connection = await Connection.open(proxy)
            connection.writer.write(b"GET / HTTP/1.1\r\n")  # half a head, then gone
            await connection.close()
            await asyncio.sleep(0.05)
            assert backend.requests == 0
            assert proxy.connections == [0]

    run(scenario())


def test_clients_that_disconnect_leave_no_traceback_and_no_count(caplog):
    async def scenario():
        async with proxied(Backend("w0"), Backend("w1")) as proxy:
            for _ in range(20):
                connection = await Connection.open(proxy)
                connection.writer.write(b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\nab")
                connection.writer.transport.abort()  # a reset, mid-request
            upgraded = await Connection.open(proxy)
            upgraded.writer.write(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
            await upgraded.response()
            upgraded.writer.write(b"x" * 100000)
            upgraded.writer.transport.abort()
            await until_idle(proxy)

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_closing_the_proxy_ends_open_connections():
    async def scenario():
        async with proxied(Backend("w0")) as proxy:
            connection = await Connection.open(proxy)
            await connection.get()
            await proxy.close()
            assert await asyncio.wait_for(connection.reader.read(), 5) == b""
            await connection.close()

    run(scenario())


def test_the_proxy_imports_nothing_but_the_standard_library():
    source = Path(sticky_proxy.__file__).read_text()
    imported = re.findall(r"(?m)^(?:from|import) (\w+)", source)
    assert set(imported) <= {"__future__", *sys.stdlib_module_names}, imported


# --- serve.py's arguments -------------------------------------------------------------------------


@pytest.fixture
def serve(monkeypatch, tmp_path):
    """serve.py as a module, with no Streamlit settings from the environment or the home
    folder (the app's own .streamlit/config.toml still counts)."""
    import serve as module

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("STREAMLIT_") or name in ("OUTCOMES_WORKERS", "OUTCOMES_WORKER"):
            monkeypatch.delenv(name)
    return module


def test_serve_takes_the_worker_count_and_leaves_the_rest(serve, monkeypatch):
    given = ["--server.port", "9000", "--workers", "3", "--theme.base=dark", "--", "--workers"]
    assert serve._take_workers(given) == (
        3,
        ["--server.port", "9000", "--theme.base=dark", "--", "--workers"],
    )
    assert serve._take_workers(["--workers=2"]) == (2, [])
    assert serve._take_workers(["--server.port", "9000"]) == (1, ["--server.port", "9000"])
    monkeypatch.setenv("OUTCOMES_WORKERS", "2")
    assert serve._take_workers([]) == (2, [])
    assert serve._take_workers(["--workers", "1"]) == (1, [])
    for bad in (["--workers", "0"], ["--workers", "two"], ["--workers"]):
        with pytest.raises(SystemExit):
            serve._take_workers(bad)


def test_serve_puts_the_proxy_where_streamlit_would_listen(serve, monkeypatch):
    given = ["--server.port=9000", "--server.headless", "false", "--theme.base", "dark"]
    # The address from the app's .streamlit/config.toml; the flags win over it.
    assert serve._proxy_address(given) == ("localhost", 9000, ["--theme.base", "dark"])
    assert serve._proxy_address([]) == ("localhost", 8501, [])
    monkeypatch.setenv("STREAMLIT_SERVER_PORT", "8600")
    assert serve._proxy_address([])[1] == 8600
    assert serve._proxy_address(["--server.address", "0.0.0.0"])[0] is None
    assert serve._browser_address(None, 8600, []) == [
        "--browser.serverAddress", "localhost", "--browser.serverPort", "8600",
    ]  # fmt: skip
    assert serve._browser_address("h", 1, ["--browser.serverPort", "2"]) == [
        "--browser.serverAddress", "h",
    ]  # fmt: skip


def test_serve_reads_the_views_ahead_as_each_server_starts(serve, monkeypatch, tmp_path):
    from framework.engine import precompute

    asked = []
    monkeypatch.setattr(precompute, "start_reading_ahead", lambda *a: asked.append(a))
    config = tmp_path / "config.toml"
    project = Path(serve.__file__).with_name("config.toml").read_text()
    config.write_text(project.replace("threshold = 5", "threshold = 7"))
    monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
    serve._read_views_ahead()
    assert len(asked) == 1 and asked[0][1] == 7

    config.write_text("not toml [")  # the app's first page says what is wrong; serve.py starts
    serve._read_views_ahead()
    assert len(asked) == 1


def test_serve_gives_the_workers_one_cookie_secret_unless_one_is_set(serve, monkeypatch):
    monkeypatch.setenv("OUTCOMES_WORKERS", "2")
    env = serve._worker_env([])
    assert re.fullmatch(r"[0-9a-f]{64}", env["STREAMLIT_SERVER_COOKIE_SECRET"])
    assert "OUTCOMES_WORKERS" not in env  # a worker starts no workers
    assert "STREAMLIT_SERVER_COOKIE_SECRET" not in serve._worker_env(
        ["--server.cookieSecret", "set by the user"]
    )


# --- end to end: serve.py --workers 2 ------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """The processes started by ``pid``, and theirs (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, waiting = set(), [pid]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found.add(child)
            waiting.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def streamlit_sessions(url: str) -> list[tuple[str, str | None, str | None]]:
    """Two sessions at once (WebSocket clients speaking Streamlit's protocol): for each, the
    worker its handshake's cookie names, the title of its first page and any errors."""
    from tests.load_harness import Client

    clients = [Client(url, f"session {n}", timeout=180) for n in range(2)]
    try:
        for client in clients:  # the first stays open while the second connects
            await client.connect()
        found = []
        for client in clients:
            cookie = client.socket.response.headers.get("Set-Cookie", "")
            worker = COOKIE_SET.search(cookie)
            page = await client.open("", "")
            found.append((worker and worker.group(1), page.title(), page.errors()))
        return found
    finally:
        for client in clients:
            await client.close()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux's /proc")
def test_serve_with_two_workers_gives_each_session_its_own_worker(tmp_path):
    from framework.browser_bench import prepare_demo

    try:
        config = prepare_demo(tmp_path)
    except (OSError, RuntimeError) as failed:
        pytest.skip(f"the demo store could not be prepared here: {str(failed)[:500]}")
    port = free_port()
    env = {
        **os.environ, "OUTCOMES_CONFIG": str(config), "OUTCOMES_MODE": "demo",
        "OUTCOMES_WARM_UP": "0", "OUTCOMES_ACCESS_MODE": "open",
    }  # fmt: skip
    command = [
        sys.executable, "serve.py", "--workers", "2", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    app = App(f"http://127.0.0.1:{port}", process, log, config, time.time())
    workers: set[int] = set()
    try:
        wait_until_healthy(app, 240, poll=0.2)
        workers = descendants(process.pid)
        assert len(workers) >= 2, app.output()
        with urllib.request.urlopen(f"{app.url}/", timeout=30) as reply:
            assert reply.status == 200
            assert COOKIE_SET.search(reply.headers.get("Set-Cookie", "")), dict(reply.headers)
        sessions = asyncio.run(streamlit_sessions(app.url))
        assert sorted(worker for worker, _t, _e in sessions) == ["0", "1"], sessions
        for _worker, title, errors in sessions:
            assert title and not errors, (sessions, app.output()[-3000:])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, app.output()[-3000:]
    finally:
        app.stop()
    left = [pid for pid in workers if alive(pid)]
    assert not left, f"processes left running: {left}\n{app.output()[-3000:]}"
    assert "Sticky proxy: http://127.0.0.1:" in app.output()
