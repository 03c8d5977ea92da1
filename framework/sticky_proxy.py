"""A small sticky reverse proxy in front of several Streamlit server processes.

``python serve.py --workers N`` starts N Streamlit servers on free loopback ports and this
proxy on the address and port the user asked for. One Python process uses at most one core,
so two workers serve about twice the page runs; but a Streamlit session lives in one process
(its WebSocket ``/_stcore/stream``, the uploads ``/_stcore/upload_file/<session>/…`` and the
downloads ``/media/…`` it keeps in memory), so each browser must keep reaching the same one.

How: a connection-level TCP proxy (asyncio streams, the standard library only; like the rest of
framework/, it never imports streamlit). For each incoming connection it reads the first HTTP
request head and looks for the cookie ``outcomes_worker=<n>``. With a valid one, the connection
goes to that worker; without, to the worker with the fewest open connections (ties: the lowest
index), and the first response on the connection gets ``Set-Cookie: outcomes_worker=<n>``, so
the browser's later connections (its WebSocket among them) follow. From then on bytes are piped
both ways unchanged for the life of the connection: keep-alive requests and WebSocket upgrades
just flow through, and every request on one connection reaches the same worker. A worker that
refuses the connection is skipped (the cookie is then set to the one used); with none left the
client gets ``502 Bad Gateway``.

Limits: stickiness is per connection plus the cookie. A client that keeps no cookies (a
WebSocket-only client, such as tests/load_harness.py's) is balanced per connection, which is
right for it: each of its connections is a session of its own. Request heads are read only on a
connection's first request; the proxy never rewrites requests and never logs their contents
(a link can carry filters): it says only where it listens and where the workers are.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Callable

COOKIE = "outcomes_worker"
HEAD_END = b"\r\n\r\n"
HEAD_LIMIT = 64 * 1024  # the longest request or response head read (browsers send ~2 KB)
CHUNK = 64 * 1024
HEAD_TIMEOUT = 300.0  # an opened connection may stay silent this long (browsers preconnect)
CONNECT_TIMEOUT = 5.0
BAD_GATEWAY_TEXT = b"The app is not answering just now (no worker is reachable). Try again soon.\n"
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: " + str(len(BAD_GATEWAY_TEXT)).encode() + b"\r\n"
    b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n\r\n" + BAD_GATEWAY_TEXT
)
_COOKIE_LINE = re.compile(rb"^cookie:(.*)$", re.IGNORECASE | re.MULTILINE)
_REQUEST_LINE = re.compile(rb"^[A-Z]+ [^ \r\n]+ HTTP/\d\.\d\r\n")
_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)? (\d{3})")


# --- reading heads -------------------------------------------------------------------------------


def worker_from_cookie(head: bytes, workers: int) -> int | None:
    """The worker named by the request head's ``outcomes_worker`` cookie, or None when there is
    none or its value is not the number of a worker (0 … workers - 1)."""
    for line in _COOKIE_LINE.findall(head):
        for pair in line.decode("latin-1").split(";"):
            name, _, value = pair.strip().partition("=")
            if name == COOKIE and re.fullmatch(r"[0-9]{1,4}", value) and int(value) < workers:
                return int(value)
    return None


def with_cookie(head: bytes, worker: int) -> bytes:
    """A response head (ending in a blank line) with the cookie that names ``worker`` added.

    No script access (nobody needs to read it) and same-site Lax, not Strict: a Strict cookie
    is left off when a link from elsewhere (an e-mail, a chat) opens the app, and the proxy
    would then move the browser, and its tabs already open, to another worker, where their
    sessions' uploads and downloads are unknown. The cookie only steers; it grants nothing."""
    line = f"Set-Cookie: {COOKIE}={worker}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
    return head[:-2] + line + b"\r\n"


def _interim(head: bytes) -> bool:
    """A 1xx response other than 101 (e.g. 100 Continue): the real response follows it, and a
    cookie in it would be ignored."""
    found = _STATUS_LINE.match(head)
    return bool(found) and found.group(1).startswith(b"1") and found.group(1) != b"101"


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The bytes up to and including the first blank line, or None on EOF or an oversize or
    non-HTTP start (the reader's limit is HEAD_LIMIT)."""
    try:
        return await reader.readuntil(HEAD_END)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
        return None


# --- the proxy -----------------------------------------------------------------------------------


class StickyProxy:
    """Listens on one address; sends each connection to one of ``workers`` (host, port)."""

    def __init__(self, workers: list[tuple[str, int]]):
        if not workers:
            raise ValueError("a proxy needs at least one worker")
        self.workers = list(workers)
        self.connections = [0] * len(self.workers)  # open connections per worker, now
        self.server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task] = set()

    async def start(self, host: str | None, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, host, port, limit=HEAD_LIMIT)

    @property
    def port(self) -> int:
        """The port listened on (the one chosen by the system when started on port 0)."""
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every connection still open."""
        if self.server is not None:
            self.server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()

    def _order(self, wanted: int | None) -> list[int]:
        """The workers to try: the cookie's first, then the least busy (ties: lowest index)."""
        rest = sorted(range(len(self.workers)), key=lambda i: (self.connections[i], i))
        if wanted is None:
            return rest
        return [wanted, *(i for i in rest if i != wanted)]

    async def _connect(self, wanted: int | None):
        """A connection to the first worker in order that accepts one: (index, reader,
        writer), or None. The count is taken before connecting, so that connections arriving
        together are spread rather than all sent to the same idle worker."""
        for index in self._order(wanted):
            self.connections[index] += 1
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.workers[index], limit=HEAD_LIMIT),
                    CONNECT_TIMEOUT,
                )
            except (OSError, TimeoutError):
                self.connections[index] -= 1
                continue
            return index, reader, writer
        return None

    async def _handle(self, client_reader, client_writer) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await self._serve(client_reader, client_writer)
        except (ConnectionError, OSError):
            pass  # the client or the worker went away: nothing to tell anyone
        except asyncio.CancelledError:
            # The proxy is closing. Ended, not cancelled: asyncio (3.11) would log a cancelled
            # connection task as an error.
            pass
        finally:
            self._handlers.discard(task)
            await _close(client_writer)

    async def _serve(self, client_reader, client_writer) -> None:
        try:
            head = await asyncio.wait_for(_read_head(client_reader), HEAD_TIMEOUT)
        except TimeoutError:
            return
        if head is None or not _REQUEST_LINE.match(head):
            return  # not HTTP, too long, or closed before a whole head: drop it
        wanted = worker_from_cookie(head, len(self.workers))
        found = await self._connect(wanted)
        if found is None:
            client_writer.write(BAD_GATEWAY)
            await client_writer.drain()
            return
        index, backend_reader, backend_writer = found
        try:
            backend_writer.write(head)
            await backend_writer.drain()
            cookie = index if index != wanted else None
            await _pipe_both_ways(
                client_reader, client_writer, backend_reader, backend_writer, cookie
            )
        finally:
            self.connections[index] -= 1
            await _close(backend_writer)


# --- piping --------------------------------------------------------------------------------------


async def _pipe_both_ways(client_reader, client_writer, backend_reader, backend_writer, cookie):
    """Client to worker and worker to client until the worker's side ends. When the client
    half-closes (sends no more), the worker is told and its answer still flows back; when the
    worker closes, or either side fails, the connection ends."""
    upstream = asyncio.create_task(_relay(client_reader, backend_writer))
    downstream = asyncio.create_task(_relay(backend_reader, client_writer, cookie=cookie))
    try:
        done, _ = await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        if downstream not in done and upstream.result():
            await downstream  # the client finished sending: let the answer arrive
    finally:
        for task in (upstream, downstream):
            task.cancel()
        await asyncio.gather(upstream, downstream, return_exceptions=True)


async def _relay(reader, writer, *, cookie: int | None = None) -> bool:
    """Copy until EOF (then pass the half-close on). With ``cookie``, the first response head
    gets the Set-Cookie line first. True on a clean EOF, False when a side failed."""
    try:
        if cookie is not None and not await _first_response(reader, writer, cookie):
            return True
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        return True
    except (ConnectionError, OSError):
        return False


async def _first_response(reader, writer, cookie: int) -> bool:
    """Pass on the worker's first response head with the cookie added (after any 100
    Continue). False when the worker closed meanwhile (what it sent is passed on)."""
    while True:
        try:
            head = await reader.readuntil(HEAD_END)
        except asyncio.IncompleteReadError as ended:
            writer.write(ended.partial)
            await writer.drain()
            return False
        except asyncio.LimitOverrunError:
            return True  # an oversize head: passed on unchanged, without the cookie
        if _interim(head):
            writer.write(head)
            continue
        writer.write(with_cookie(head, cookie))
        await writer.drain()
        return True


async def _close(writer) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


# --- running it ----------------------------------------------------------------------------------


def serve_forever(
    host: str | None,
    port: int,
    workers: list[tuple[str, int]],
    *,
    stop_when: Callable[[], str | None] | None = None,
) -> str | None:
    """Run the proxy until SIGINT or SIGTERM, or until ``stop_when()`` (asked every second)
    gives a reason to stop; returns that reason (None after a signal)."""
    return asyncio.run(_serve_forever(host, port, workers, stop_when))


async def _serve_forever(host, port, workers, stop_when) -> str | None:
    proxy = StickyProxy(workers)
    await proxy.start(host, port)
    shown = "localhost" if host in (None, "", "0.0.0.0", "::") else host
    ports = ", ".join(str(worker_port) for _h, worker_port in workers)
    print(
        f"Sticky proxy: http://{shown}:{proxy.port} -> {len(workers)} workers on ports {ports}",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reason = None
    try:
        while reason is None and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            if stop_when is not None and not stop.is_set():
                reason = stop_when()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await proxy.close()
    return reason
