"""Many people at once: simultaneous sessions of the app, each with its own filters and role.

``python -m tests.load_harness --sessions 20 [--markdown docs/benchmarks.md]`` (or ``make
bench-load``)

The app is started on a free loopback port on a copy of the demo store (or ``--url`` names one
already running). Each session is a lightweight WebSocket client that speaks Streamlit's own
protocol, as the browser's frontend does: it connects to ``/_stcore/stream`` (subprotocol
``streamlit``), sends ``BackMsg.rerun_script`` with a ``ClientState`` (the link's query string,
the page's script hash or name, and the values of the widgets on the page) and reads
``ForwardMsg``s until ``script_finished``. The page a session receives is the set of deltas of
that run; widgets are found in them by label, and changing one sends every widget's value with
the new one (as the frontend does). No browser draws anything: the figures are the server's
side of a page (the script run and the messages), not the browser's drawing.

1. **Sign-in.** When the app shows its sign-in form (``[access] mode = "local"``), the harness
   adds accounts (``framework.access.Accounts``, what ``python -m framework user add`` uses) to
   an accounts file of its own, one per session, with roles in turn viewer, analyst, admin, and
   each session signs in through the form: it finds the form's "User name" and "Password"
   boxes and its "Sign in" button in the deltas and sends their values with the button's
   trigger. Without ``framework.access`` (or with ``--no-roles``) nobody signs in.
2. **A probe.** One session per role (or one), alone, opens the overview: the first page on a
   server nobody has used yet; it reads the navigation each role gets and the filters' options.
   A viewer also asks for every page only an analyst or admin gets, by its address.
3. **Rounds.** All sessions at once, each starting on a different page with different filters
   in its link (group, period, area, deprivation decile), then a scripted sequence of actions
   (switch page, change group, period or place) with a random think time between them (seeded:
   the same sequence every run). Round 1 is on a freshly started server: its memory holds
   nothing, but every year's protected results were worked out ahead on disk, as after a load
   (``python -m framework precompute``; ``--no-warm-up``: not, so views are worked out as they
   are asked for); round 2 replays the same sequences in new sessions on the warm server.

Page time is from sending the rerun to receiving ``script_finished`` (of the run the app ends
with, when it reruns itself as after a sign-in). An action's view (page and filters) is "new"
the first time any session asks this server for it.

Isolation is checked on every page a session receives: its page is the one it asked for; the
sidebar's Period, Group, Area and Deprivation decile show its own filters; the link the app
writes (``page_info_changed``) carries them; the page's filter caption names them; the sidebar
says "Signed in as" its own user and role; no other session's user name appears anywhere; its
navigation is its role's. A mismatch that equals another session's state at that moment is
counted as a leak. It lives in tests/, not framework/: it speaks Streamlit's protocol with its
protobuf messages (and ``websockets``, which streamlit's server depends on), and framework/
never imports streamlit.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from framework.browser_bench import App, free_port, percentile, prepare_demo, wait_until_healthy

REPO = Path(__file__).resolve().parents[1]
STREAM = "/_stcore/stream"
ROLES = ("viewer", "analyst", "admin")
USER_LABEL, PASSWORD_LABEL, SIGN_IN_LABEL = "User name", "Password", "Sign in"
PERIOD_LABEL, GROUP_LABEL, AREA_LABEL, DECILE_LABEL = (
    "Period",
    "Group",
    "Area",
    "Deprivation decile",
)
FILTER_LABELS = {"period": PERIOD_LABEL, "group": GROUP_LABEL}
PLACE_LABELS = {"area": AREA_LABEL, "decile": DECILE_LABEL}
SIGNED_IN = re.compile(r"Signed in as \*\*(?P<user>[^*]+)\*\* \((?P<role>\w+)\)")
PERIOD_IN_CAPTION = re.compile(r"(?:^|· )(\d{4}-\d{2}(?:H[12])?(?: · .*)?)$")
PASSWORD = "load test passphrase, not secret"
# ForwardMsg.ScriptFinishedStatus: the app stopped to rerun itself (st.rerun), or a fragment
FINISHED_EARLY_FOR_RERUN, FINISHED_FRAGMENT = 2, 3


# --- the app's server --------------------------------------------------------------------------


def start_server(
    config: Path, log: Path, env: dict[str, str], timeout: float = 120, workers: int = 1
) -> App:
    """``python serve.py`` (what ``make run`` starts) on a free port, on ``config``; with
    ``workers`` > 1, ``serve.py --workers N`` (N servers behind its sticky proxy)."""
    port = free_port()
    command = [
        sys.executable, "serve.py", "--server.headless", "true",
        "--server.address", "localhost", "--server.port", str(port),
        # Not reloaded when someone edits the code meanwhile (a benchmark measures one version).
        "--server.fileWatcherType", "none",
        *(["--workers", str(workers)] if workers > 1 else []),
    ]  # fmt: skip
    full_env = {**os.environ, "OUTCOMES_CONFIG": str(config), "OUTCOMES_MODE": "demo", **env}
    started = time.time()
    with log.open("w") as handle:
        process = subprocess.Popen(
            command, cwd=REPO, env=full_env, stdout=handle, stderr=subprocess.STDOUT
        )
    app = App(f"http://localhost:{port}", process, log, config, started)
    return wait_until_healthy(app, timeout, poll=0.1)


def with_access(config: Path, accounts: Path, audit: Path) -> None:
    """Point ``config``'s ``[access]`` table at the harness's own accounts file and audit log,
    sign-in by local accounts (the keys given replace any already there)."""
    wanted = {"mode": "local", "accounts_file": str(accounts), "audit_log": str(audit)}
    lines = config.read_text().splitlines()
    out, in_access, seen = [], False, False
    for line in lines:
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            in_access = header.group(1).strip() == "access"
            if in_access:
                seen = True
                out.append(line)
                out += [f'{key} = "{value}"' for key, value in wanted.items()]
                continue
        if in_access and re.match(rf"\s*({'|'.join(wanted)})\s*=", line):
            continue
        out.append(line)
    if not seen:
        out += ["", "[access]", *(f'{key} = "{value}"' for key, value in wanted.items())]
    config.write_text("\n".join(out) + "\n")


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process, its waited-for children and its descendants
    alive now (``serve.py --workers``: the proxy and its worker servers) (Linux /proc)."""
    stats = _process_stats()
    if pid not in stats:
        return None
    children: dict[int, list[int]] = collections.defaultdict(list)
    for child, (parent, _) in stats.items():
        children[parent].append(child)
    total, waiting = 0.0, [pid]
    while waiting:
        current = waiting.pop()
        total += stats[current][1]
        waiting.extend(children.get(current, []))
    return total


def _process_stats() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds (with its waited-for children's)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        stats[int(stat.parent.name)] = (
            int(fields[1]),
            sum(int(value) for value in fields[11:15]) / ticks,
        )
    return stats


# --- one session: a WebSocket client speaking Streamlit's protocol -----------------------------


@dataclass
class Element:
    kind: str  # the element's type (markdown, selectbox, …) or "block"
    proto: object
    script_hash: str  # the script that drew it (app.py or the page)
    sidebar: bool


@dataclass
class Run:
    """What one script run sent: the page as the client would draw it."""

    seconds: float = 0.0
    page_hash: str = ""
    main_hash: str = ""
    elements: dict[tuple, Element] = field(default_factory=dict)
    query: str | None = None  # the link's query string, when the app set it in this run
    navigation: list[tuple[str, str, str]] = field(default_factory=list)  # title, path, hash
    page_not_found: str | None = None
    status: int | None = None
    messages: int = 0
    size: int = 0
    reruns: int = 0  # runs the app started itself (st.rerun) before the last one

    def widget(self, label: str, kind: str | None = None) -> tuple[str, object] | None:
        for element in self.elements.values():
            proto = element.proto
            if (
                getattr(proto, "label", None) == label
                and hasattr(proto, "id")
                and (kind is None or element.kind == kind)
            ):
                return element.kind, proto
        return None

    def texts(self) -> list[tuple[bool, str, str]]:
        """(in the sidebar, element type, text) of every element with words."""
        found = []
        for element in self.elements.values():
            proto = element.proto
            for name in ("body", "label", "value", "message", "raw_value"):
                value = getattr(proto, name, None)
                if isinstance(value, str) and value:
                    found.append((element.sidebar, element.kind, value))
        return found

    def errors(self) -> list[str]:
        """Exceptions and error boxes on the page."""
        found = []
        for element in self.elements.values():
            if element.kind == "exception":
                found.append(f"exception {element.proto.type}: {element.proto.message}"[:300])
            elif element.kind == "alert" and element.proto.format == 1:  # Alert.Format.ERROR
                found.append(f"error box: {element.proto.body}"[:300])
        return found

    def title(self) -> str | None:
        for element in self.elements.values():
            if element.kind == "heading" and element.proto.tag == "h1":
                return element.proto.body
        return None


def selected(kind: str, proto) -> str | None:
    """A widget's value as the server last set or defined it (the frontend's view)."""
    if kind in ("text_input", "text_area"):
        return proto.value if proto.set_value else proto.default
    if kind == "selectbox":
        if proto.set_value:
            return proto.raw_value if proto.HasField("raw_value") else None
        return proto.options[proto.default] if proto.HasField("default") else None
    return None


class Client:
    """One browser tab's worth of the protocol."""

    def __init__(self, url: str, name: str, timeout: float):
        self.ws_url = re.sub(r"^http", "ws", url.rstrip("/")) + STREAM
        self.name = name
        self.timeout = timeout
        self.socket = None
        self.values: dict[str, tuple[str, object]] = {}  # widget id -> (value field, value)
        self.widget_hash: dict[str, str] = {}  # widget id -> the script that drew it
        self.page_hash = ""
        self.main_hash = ""
        self.query = ""
        self.last: Run | None = None

    async def connect(self) -> None:
        import websockets

        # No keep-alive pings (a browser sends none): a busy server answers them late, and the
        # client would then close the connection itself.
        self.socket = await websockets.connect(
            self.ws_url,
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,
        )

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()

    async def open(self, page_name: str, query: str) -> Run:
        """The first request of a tab opened on ``/page_name?query``."""
        self.query = query
        return await self._rerun(page_name=page_name, page_hash="", widgets=[])

    async def switch_page(self, page_hash: str) -> Run:
        """A click in the navigation: the new page, a clean link, and only the values of the
        widgets the main script drew (the page's own are dropped)."""
        self.query = ""
        kept = [w for w, h in self.widget_hash.items() if h == self.main_hash]
        return await self._rerun(page_hash=page_hash, widgets=kept)

    async def set_widget(self, widget_id: str, field_name: str, value) -> Run:
        """A changed widget: its new value with every other widget's current one."""
        self.values[widget_id] = (field_name, value)
        return await self._rerun(page_hash=self.page_hash, widgets=list(self.values))

    async def submit(self, values: dict[str, str], button: str) -> Run:
        """A form submitted: its text boxes' values and the submit button's trigger."""
        for widget_id, value in values.items():
            self.values[widget_id] = ("string_value", value)
        return await self._rerun(
            page_hash=self.page_hash, widgets=list(self.values), triggers=[button]
        )

    async def _rerun(
        self,
        *,
        page_hash: str,
        widgets: list[str],
        page_name: str = "",
        triggers: tuple[str, ...] | list[str] = (),
    ) -> Run:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = page_hash
        state.page_name = page_name
        for widget_id in widgets:
            if widget_id not in self.values:
                continue
            field_name, value = self.values[widget_id]
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            setattr(widget, field_name, value)
        for widget_id in triggers:
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            widget.trigger_value = True
        run = Run()
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        await self.socket.send(message.SerializeToString())
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no script_finished within {self.timeout:.0f} s")
            try:
                data = await asyncio.wait_for(self.socket.recv(), remaining)
            except TimeoutError:
                raise TimeoutError(f"no script_finished within {self.timeout:.0f} s") from None
            forward = ForwardMsg.FromString(data)
            run.messages += 1
            run.size += len(data)
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                if run.page_hash:
                    run.reruns += 1
                run.page_hash = forward.new_session.page_script_hash
                run.main_hash = forward.new_session.main_script_hash
                run.elements = {}
            elif kind == "delta":
                delta = forward.delta
                path = tuple(forward.metadata.delta_path)
                which = delta.WhichOneof("type")
                if which == "new_element":
                    element_kind = delta.new_element.WhichOneof("type")
                    proto = getattr(delta.new_element, element_kind)
                elif which == "add_block":
                    element_kind, proto = "block", delta.add_block
                else:
                    continue  # transient (spinners)
                run.elements[path] = Element(
                    element_kind, proto, forward.metadata.active_script_hash, path[:1] == (1,)
                )
            elif kind == "page_info_changed":
                run.query = forward.page_info_changed.query_string
            elif kind == "navigation":
                # With st.navigation the page drawn is named here (new_session names app.py).
                run.page_hash = forward.navigation.page_script_hash or run.page_hash
                run.navigation = [
                    (p.page_name, p.url_pathname, p.page_script_hash)
                    for p in forward.navigation.app_pages
                ]
            elif kind == "page_not_found":
                run.page_not_found = forward.page_not_found.page_name or "(unnamed)"
            elif kind == "script_finished":
                run.status = forward.script_finished
                if run.status not in (FINISHED_EARLY_FOR_RERUN, FINISHED_FRAGMENT):
                    break
        run.seconds = time.perf_counter() - started
        self._after(run)
        return run

    def _after(self, run: Run) -> None:
        """Keep what the frontend keeps: the page, the link, the values of the widgets still
        drawn (a value the server set wins; a new widget starts from its default)."""
        self.page_hash = run.page_hash or self.page_hash
        self.main_hash = run.main_hash or self.main_hash
        if run.query is not None:
            self.query = run.query
        values, hashes = {}, {}
        fields = {"text_input": "string_value", "text_area": "string_value"}
        fields["selectbox"] = "string_value"
        for element in run.elements.values():
            widget_id = getattr(element.proto, "id", "")
            if element.kind not in fields or not widget_id:
                continue
            hashes[widget_id] = element.script_hash
            value = selected(element.kind, element.proto)
            if element.proto.set_value or widget_id not in self.values:
                if value is not None:
                    values[widget_id] = (fields[element.kind], value)
            else:
                values[widget_id] = self.values[widget_id]
        self.values, self.widget_hash = values, hashes
        self.last = run


# --- filters: as the sidebar shows them and as the link carries them ---------------------------


@dataclass(frozen=True)
class Filters:
    """A session's filters as the sidebar shows them (None: the first choice, "all")."""

    period: str
    group: str | None = None  # the Group box's label, e.g. "Child protection plan"
    area: str | None = None  # the Area box's label, e.g. "locality: Northmere"
    decile: str | None = None  # the decile box's label, e.g. "IMD decile 3"

    def query(self) -> dict[str, str]:
        """The link's parameters for these filters (as app_pages/common.py writes them)."""
        from framework.engine.dimensions import GROUP_LABELS

        codes = {label: code for code, label in GROUP_LABELS.items()}
        found = {"period": self.period}
        if self.group:
            found["group"] = codes.get(self.group, self.group)
        if self.area:
            found["area"] = self.area.replace(": ", ":", 1)
        if self.decile:
            found["decile"] = re.search(r"\d+", self.decile).group(0)
        return found

    def caption(self) -> str:
        """The filters in words, as the pages' caption says them (app_pages/common.py)."""
        parts = [self.period, self.group or "all children"]
        if self.area:
            parts.append(self.area)
        if self.decile:
            parts.append(self.decile)
        return " · ".join(parts)


def previous_year(period: str, back: int) -> str:
    start = int(period[:4]) - back
    return f"{start}-{(start + 1) % 100:02d}"


@dataclass
class Options:
    """What the probe learnt: the filters' choices, each role's navigation."""

    latest: str
    groups: list[str]
    areas: list[str]
    deciles: list[str]
    navigation: dict[str, list[tuple[str, str, str]]]  # role ("" without sign-in) -> pages
    probe: list[Action]
    denied: list[str]  # what a viewer got for each page only others get, by its address


# --- the sessions' scripts ----------------------------------------------------------------------


@dataclass
class Action:
    round: int
    session: int
    step: int
    kind: str  # first page, sign-in form, sign in, page switch, group, period, place
    detail: str
    seconds: float
    new_view: bool
    size: int = 0
    error: str = ""


@dataclass
class Problem:
    round: int
    session: int
    step: int
    what: str
    leak: bool = False  # what the session saw is another session's


@dataclass
class Shared:
    """What all sessions of a round can see of each other (for the leak checks)."""

    expected: dict[int, Filters] = field(default_factory=dict)
    users: dict[int, tuple[str, str]] = field(default_factory=dict)  # session -> (user, role)
    views: set = field(default_factory=set)  # views this server was asked for (all rounds)
    actions: list[Action] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    checks: int = 0
    sign_ins: int = 0
    link_not_taken: int = 0  # sessions whose link's page draws no filters (defaults after it)
    landing: collections.Counter = field(default_factory=collections.Counter)  # after sign-in


def user_name(number: int, role: str) -> str:
    return f"load-{number:02d}-{role}"


def role_of(number: int, roles: bool) -> str:
    return ROLES[number % len(ROLES)] if roles else ""


async def sign_in(client: Client, run: Run, user: str) -> Run | None:
    """Fill in and submit the sign-in form when the page shows it (None when it does not)."""
    name = run.widget(USER_LABEL, "text_input")
    password = run.widget(PASSWORD_LABEL, "text_input")
    button = run.widget(SIGN_IN_LABEL, "button")
    if not (name and password and button):
        return None
    return await client.submit({name[1].id: user, password[1].id: PASSWORD}, button[1].id)


def view_key(run: Run, filters: Filters) -> tuple:
    return (run.page_hash, filters)


def check(
    shared: Shared,
    number: int,
    round_: int,
    step: int,
    run: Run,
    want: Filters,
    page_hash: str | None,
    role_pages: dict[str, list] | None,
) -> None:
    """Everything the session received must be its own: page, filters, user, role."""
    problems = []

    def mismatch(what: str, leak: bool = False) -> None:
        problems.append(Problem(round_, number, step, what, leak))

    # Another session's state, unless it is also what any new session starts with.
    defaults = Filters(LATEST.get("period", want.period))
    others = {n: f for n, f in shared.expected.items() if n != number and f not in (want, defaults)}
    shared.checks += 1
    if page_hash is not None and run.page_hash != page_hash:
        mismatch(f"asked for page {page_hash[:8]}, got {run.page_hash[:8]}")
    seen = {}
    for name, label in {**FILTER_LABELS, **PLACE_LABELS}.items():
        widget = run.widget(label)
        if widget is not None:
            value = selected(*widget)
            seen[name] = (
                None if widget[0] == "selectbox" and value == widget[1].options[0] else value
            )
    if seen:
        own = {name: getattr(want, name) for name in seen}
        if seen != own:
            leak = any(seen == {k: getattr(f, k) for k in seen} for f in others.values())
            mismatch(f"sidebar shows {seen}, expected {own}", leak)
    if run.query is not None and seen:
        link = dict(parse_qsl(run.query))
        own = want.query()
        link_filters = {k: link.get(k) for k in ("period", "group", "area", "decile")}
        if any(link_filters[k] != own.get(k) for k in link_filters):
            leak = any(
                all(link_filters[k] == f.query().get(k) for k in link_filters)
                for f in others.values()
            )
            mismatch(f"link carries {run.query!r}, expected {urlencode(own)!r}", leak)
    for _sidebar, kind, text in run.texts():
        said = filter_caption(text) if kind == "markdown" else None
        if said is not None and said not in (want.caption(), _no_place(want).caption()):
            leak = any(said == f.caption() for f in others.values())
            mismatch(f"caption says {said!r}, expected {want.caption()!r}", leak)
    if number in shared.users:
        user, role = shared.users[number]
        said = [SIGNED_IN.search(text) for sidebar, _k, text in run.texts() if sidebar and text]
        said = [m for m in said if m]
        if not said:
            mismatch("the sidebar does not say who is signed in")
        for found in said:
            if (found["user"], found["role"]) != (user, role):
                leak = any((found["user"], found["role"]) == u for u in shared.users.values())
                mismatch(f"signed in as {found['user']} ({found['role']}), not {user}", leak)
        everything = " ".join(text for _s, _k, text in run.texts())
        # The admins' own pages (users, audit log) list other people by right.
        admins_only = {p[2] for p in (role_pages or {}).get("admin", [])} - {
            p[2] for p in (role_pages or {}).get("analyst", [])
        }
        for other, (name, _role) in shared.users.items():
            if run.page_hash in admins_only and role == "admin":
                break
            if other != number and name in everything:
                mismatch(f"another session's user {name} appears on the page", True)
        if role_pages and run.navigation and role in role_pages:
            mine = {p[2] for p in run.navigation}
            theirs = {p[2] for p in role_pages[role]}
            if mine != theirs:
                leak = any(mine == {p[2] for p in v} for r, v in role_pages.items() if r != role)
                mismatch(f"navigation of {len(mine)} pages is not the {role}'s", leak)
    shared.problems += problems


LATEST: dict[str, str] = {}  # the latest period, as the probe found it


def filter_caption(text: str) -> str | None:
    """The filters a page's caption names ("… · 2024-25 · Child protection plan · locality:
    Northmere · IMD decile 3"), or None when ``text`` is not such a caption."""
    found = PERIOD_IN_CAPTION.search(text)
    if not found:
        return None
    _period, *rest = found.group(1).split(" · ")
    if not 1 <= len(rest) <= 3 or len(rest[0]) > 60 or any(c in rest[0] for c in ".,;:()"):
        return None  # not a group: some other sentence that happens to hold a period
    if not all(part.startswith(("locality: ", "ward: ", "IMD decile ")) for part in rest[1:]):
        return None
    return found.group(1)


def _no_place(want: Filters) -> Filters:
    """A page that does not restrict by place leaves area and decile out of its caption."""
    return Filters(want.period, want.group)


async def session(
    number: int,
    round_: int,
    url: str,
    options: Options,
    shared: Shared,
    *,
    actions: int,
    think: tuple[float, float],
    seed: int,
    years: int,
    verbose: bool = True,
    timeout: float,
    roles: bool,
    start: float,
) -> None:
    """One person: opens a page with filters of their own, signs in, then acts and reads."""
    rng = random.Random(seed * 1000 + number)
    role = role_of(number, roles)
    user = user_name(number, role) if roles else ""
    pages = options.navigation.get(role) or options.navigation.get("") or []
    periods = [previous_year(options.latest, back) for back in range(years)]
    want = Filters(
        period=periods[(number // max(1, len(options.groups))) % len(periods)],
        group=(options.groups[number % len(options.groups)] or None),
        area=options.areas[1 + number % (len(options.areas) - 1)] if number % 3 == 1 else None,
        decile=options.deciles[1 + number % (len(options.deciles) - 1)]
        if number % 4 == 2
        else None,
    )
    if want.group == options.groups[0]:
        want = Filters(want.period, None, want.area, want.decile)
    shared.expected[number] = want
    if user:
        shared.users[number] = (user, role)
    page = pages[number % len(pages)]
    client = Client(url, user or f"session {number}", timeout)

    def record(step: int, kind: str, detail: str, run: Run | None, seconds: float, error=""):
        key = (run.page_hash if run else page[2], shared.expected[number])
        new = key not in shared.views
        shared.views.add(key)
        action = Action(round_, number, step, kind, detail, seconds, new, run.size if run else 0)
        action.error = error
        shared.actions.append(action)
        if verbose:
            print(
                f"round {round_} session {number:>2} step {step}: {kind:<12} "
                f"{'new' if new else 'seen':<4} {seconds:6.2f} s  {detail}"
                + (f"  ERROR {error}" if error else ""),
                flush=True,
            )

    await asyncio.sleep(max(0.0, start - time.monotonic()))
    try:
        began = time.perf_counter()
        await client.connect()
        query = urlencode(want.query())
        run = await client.open(page[1], query)
        record(
            0, "sign-in form" if user else "first page", page[0], run, time.perf_counter() - began
        )
        if user:
            signed = await sign_in(client, run, user)
            if signed is None:
                said = "; ".join(run.errors()) or f"the page's title is {run.title()!r}"
                shared.problems.append(
                    Problem(round_, number, 0, f"no sign-in form where one was expected: {said}")
                )
                return
            run = signed
            shared.sign_ins += 1
            if run.widget(PERIOD_LABEL) is not None:
                link = dict(parse_qsl(run.query or client.query))
                kept = all(link.get(k) == v for k, v in want.query().items())
                shared.landing["kept the link's filters" if kept else "dropped them"] += 1
            record(0, "sign in", f"{user} on {page[0]}", run, run.seconds)
            if run.page_hash != page[2]:
                # Signed in, but not on the page of the link (the sign-in is a page of its
                # own): the person opens the link again, in the same session.
                run = await client.open(page[1], query)
                record(0, "first page", f"{page[0]}, link opened again", run, run.seconds)
        if run.widget(PERIOD_LABEL) is None:
            # A page without the sidebar's filters does not take them from the link, so the
            # session goes on with the app's defaults (and says so on the next page).
            want = Filters(options.latest)
            shared.expected[number] = want
            shared.link_not_taken += 1
        check(shared, number, round_, 0, run, want, page[2], options.navigation if roles else None)
        for step in range(1, actions + 1):
            await asyncio.sleep(rng.uniform(*think))
            possible = ["page switch"]
            if run.widget(GROUP_LABEL):
                possible += ["group", "group"]
            if run.widget(PERIOD_LABEL) and len(periods) > 1:
                possible += ["period"]
            if run.widget(AREA_LABEL) and run.widget(DECILE_LABEL):
                possible += ["place"]
            kind = rng.choice(["page switch", "page switch", *possible])
            target_hash, detail = None, kind
            try:
                if kind == "page switch":
                    choices = [p for p in pages if p[2] != run.page_hash] or pages
                    target = rng.choice(choices)
                    target_hash = target[2]
                    detail = f"page → {target[0]}"
                    run = await client.switch_page(target_hash)
                elif kind == "group":
                    _k, box = run.widget(GROUP_LABEL)
                    choice = rng.choice([g for g in box.options if g != (want.group or "")])
                    want = Filters(
                        want.period,
                        None if choice == box.options[0] else choice,
                        want.area,
                        want.decile,
                    )
                    detail = f"group → {choice}"
                    shared.expected[number] = want
                    run = await client.set_widget(box.id, "string_value", choice)
                elif kind == "period":
                    _k, box = run.widget(PERIOD_LABEL)
                    choice = rng.choice([p for p in periods if p != want.period])
                    want = Filters(choice, want.group, want.area, want.decile)
                    detail = f"period → {choice}"
                    shared.expected[number] = want
                    run = await client.set_widget(box.id, "string_value", choice)
                else:
                    label = rng.choice([AREA_LABEL, DECILE_LABEL])
                    _k, box = run.widget(label)
                    now = want.area if label == AREA_LABEL else want.decile
                    choice = rng.choice([o for o in box.options if o != (now or box.options[0])])
                    value = None if choice == box.options[0] else choice
                    if label == AREA_LABEL:
                        want = Filters(want.period, want.group, value, want.decile)
                    else:
                        want = Filters(want.period, want.group, want.area, value)
                    detail = f"{label.lower()} → {choice}"
                    shared.expected[number] = want
                    run = await client.set_widget(box.id, "string_value", choice)
            except (TimeoutError, OSError) as failed:
                record(step, kind, detail, None, float("nan"), f"{type(failed).__name__}: {failed}")
                return
            errors = run.errors()
            record(step, kind, detail, run, run.seconds, "; ".join(errors))
            check(
                shared,
                number,
                round_,
                step,
                run,
                want,
                target_hash,
                options.navigation if roles else None,
            )
    except Exception as failed:  # a session that fails says so; the others go on
        shared.actions.append(
            Action(round_, number, -1, "session", "", float("nan"), False, 0, repr(failed)[:300])
        )
        if verbose:
            print(f"round {round_} session {number:>2}: FAILED {failed!r}"[:400], flush=True)
    finally:
        await client.close()


# --- the probe: one session per role, alone ---------------------------------------------------


async def probe(url: str, roles: bool, timeout: float) -> Options:
    navigation, actions, denied = {}, [], []
    found: dict[str, object] = {}
    # The viewer last: it then asks for the pages the others were offered.
    for index, role in enumerate(reversed(ROLES) if roles else ("",)):
        client = Client(url, f"probe {role}", timeout)
        await client.connect()
        began = time.perf_counter()
        run = await client.open("", "")
        first = time.perf_counter() - began
        actions.append(Action(0, -1 - index, 0, "first page", "Overview (probe)", first, True))
        if roles:
            run = await sign_in(client, run, user_name(90 + ROLES.index(role), role))
            if run is None:
                raise RuntimeError("the app shows no sign-in form")
            actions.append(Action(0, -1 - index, 0, "sign in", role, run.seconds, index == 0))
        navigation[role] = run.navigation
        if not found:
            period = run.widget(PERIOD_LABEL)
            if period is None:
                raise RuntimeError(f"no Period box on the first page: {run.errors()}")
            found["latest"] = LATEST["period"] = selected(*period)
            for name, label in (("groups", GROUP_LABEL), ("areas", AREA_LABEL)):
                found[name] = list(run.widget(label)[1].options)
            found["deciles"] = list(run.widget(DECILE_LABEL)[1].options)
        if role == "viewer":
            denied = await _ask_for_hidden_pages(client, navigation)
        await client.close()
    return Options(
        found["latest"], found["groups"], found["areas"], found["deciles"], navigation, actions,
        denied,
    )  # fmt: skip


async def _ask_for_hidden_pages(client: Client, navigation: dict) -> list[str]:
    """The viewer asks for each page that only an analyst or admin is offered, by its address
    (as a typed or shared link would); what it got back, in words."""
    mine = {p[2] for p in navigation.get("viewer", [])}
    hidden = {p[2]: p for role in ("analyst", "admin") for p in navigation.get(role, [])}
    said = []
    for page_hash, (title, path, _h) in hidden.items():
        if page_hash in mine:
            continue
        run = await client.open(path, "")
        refused = run.page_hash != page_hash or run.page_not_found is not None
        words = [t for _s, k, t in run.texts() if k == "alert" and "role" in t]
        said.append(
            f"{title} (/{path}): "
            + (
                "not served"
                + (f" (page not found: {run.page_not_found})" if run.page_not_found else "")
                + f", the viewer got {run.title() or 'no title'!r}"
                if refused and not words
                else ("refused: " + words[0] if words else "SERVED to a viewer")
            )
        )
    return said


# --- a whole test -------------------------------------------------------------------------------


@dataclass
class Results:
    sessions: int
    actions_each: int
    rounds: int
    think: tuple[float, float]
    seed: int
    roles: bool
    options: Options
    shared: list[Shared]
    durations: list[float]
    server_cpu: list[float | None]
    client_cpu: list[float]
    machine: list[float]  # cores busy on the whole machine (every process) during each round
    load: tuple[float, float, float]
    versions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    workers: int = 1  # app servers (serve.py --workers)
    arrive_over: float = 0.0  # seconds over which the sessions start, evenly spread (0: at once)
    stolen: list[float] = field(default_factory=list)  # cores the host took away, per round

    def all_actions(self) -> list[Action]:
        return [a for s in self.shared for a in s.actions]

    def problems(self) -> list[Problem]:
        return [p for s in self.shared for p in s.problems]

    def errors(self) -> list[Action]:
        return [a for a in self.all_actions() if a.error]


def access_available() -> bool:
    try:
        import framework.access  # noqa: F401
    except ImportError:
        return False
    return True


def make_accounts(path: Path, sessions: int) -> None:
    """One account per session (and the probe's), roles in turn; the password is the same."""
    from framework.access import Accounts

    accounts = Accounts(path)
    for number in [*range(sessions), 90, 91, 92]:
        role = ROLES[number % len(ROLES)] if number < 90 else ROLES[number - 90]
        name = user_name(number, role)
        if accounts.get(name) is None:
            accounts.add(name, role, PASSWORD)


def machine_busy() -> tuple[float, float]:
    """(busy, stolen): CPU seconds of the whole machine since it started (Linux /proc/stat)
    that its processes used, and that the host gave to other machines while this one was
    ready to run ("steal": on a shared virtual machine, time our processes waited for a core
    they were owed)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    stolen = fields[7] if len(fields) > 7 else 0
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle - stolen) / tick, stolen / tick


async def _round(
    url: str, options: Options, round_: int, args, server_pid: int | None, views: set
) -> tuple[Shared, float, float | None, float, tuple[float, float]]:
    shared = Shared(views=views)
    machine_before = machine_busy()
    cpu_before = cpu_seconds(server_pid) if server_pid else None
    client_before = time.process_time()
    began = time.monotonic()
    start = began + 0.2
    await asyncio.gather(
        *(
            session(
                number, round_, url, options, shared,
                actions=args.actions, think=tuple(args.think), seed=args.seed, years=args.years,
                verbose=not args.quiet,
                timeout=args.timeout, roles=args.roles,
                start=start + arrival(number, args.sessions, args.arrive_over),
            )
            for number in range(args.sessions)
        )
    )  # fmt: skip
    took = time.monotonic() - began
    cpu_after = cpu_seconds(server_pid) if server_pid else None
    server = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    (busy_after, stolen_after), (busy_before, stolen_before) = machine_busy(), machine_before
    busy, stolen = (busy_after - busy_before) / took, (stolen_after - stolen_before) / took
    return shared, took, server, time.process_time() - client_before, (busy, stolen)


def arrival(number: int, sessions: int, arrive_over: float) -> float:
    """When session ``number`` starts, in seconds after the round begins: all at once, or
    evenly over ``arrive_over`` seconds (people coming into a meeting, not one click)."""
    return number * arrive_over / sessions if arrive_over > 0 else 0.0


def _arrivals(results: Results) -> str:
    if results.arrive_over > 0:
        return (
            f"The {results.sessions} sessions start one every "
            f"{results.arrive_over / results.sessions:g} s (over {results.arrive_over:g} s)"
        )
    return f"All {results.sessions} start at once"


def work_out_views_ahead(config: Path, store_file: Path) -> float:
    """``python -m framework precompute`` on the store copy, in the foreground, as after a load
    (bundles already in ``work`` from an earlier run are kept). Returns the seconds it took."""
    began = time.monotonic()
    print(f"working out the views ahead for {store_file}...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "framework", "--config", str(config), "precompute",
         "--store", str(store_file)],
        cwd=Path(__file__).resolve().parents[1], check=True,
    )  # fmt: skip
    return time.monotonic() - began


def start_app(args, work: Path) -> App:
    """The app on a copy of the demo store in ``work``, with the sessions' accounts (when
    ``args.roles``) in an accounts file and audit log of its own there."""
    config = prepare_demo(work)
    if args.warm_up:
        args.ahead_seconds = work_out_views_ahead(config, work / "demo.duckdb")
    env = {}
    if args.roles:
        make_accounts(work / "accounts.json", args.sessions)
        with_access(config, work / "accounts.json", work / "audit.jsonl")
        env["OUTCOMES_ACCESS_MODE"] = "local"
    if not args.warm_up:
        env["OUTCOMES_WARM_UP"] = "0"
    return start_server(config, work / "app.log", env, workers=args.workers)


def run_load_test(args, app: App | None = None) -> Results:
    """The probe and the rounds, on ``app``, else on ``args.url``, else on an app started for
    the purpose (and stopped at the end)."""
    with contextlib.ExitStack() as stack:
        notes = []
        if app is None and args.url:
            url, server_pid = args.url, None
            if args.roles:
                notes.append(f"--url: the accounts load-NN-ROLE were made beforehand ({url})")
        else:
            if app is None:
                work = args.work
                if work is None:
                    temporary = tempfile.TemporaryDirectory(prefix="load_test_")
                    work = Path(stack.enter_context(temporary))
                work.mkdir(parents=True, exist_ok=True)
                app = start_app(args, work)
                stack.callback(app.stop)
                if getattr(args, "ahead_seconds", None) is not None:
                    notes.append(
                        f"views worked out ahead before the rounds (python -m framework "
                        f"precompute, as after a load): {args.ahead_seconds:.0f} s"
                    )
            url, server_pid = app.url, app.process.pid
            print(f"app on {url} (pid {server_pid}), config {app.config}", flush=True)
        load = os.getloadavg()
        options = asyncio.run(probe(url, args.roles, args.timeout))
        print(
            f"probe: latest {options.latest}; pages per role "
            + ", ".join(f"{r or 'everyone'} {len(p)}" for r, p in options.navigation.items()),
            flush=True,
        )
        shared, durations, server_cpu, client_cpu, machine, steal = [], [], [], [], [], []
        views: set = set()
        for round_ in range(1, args.rounds + 1):
            found, took, server, client, (busy, stolen) = asyncio.run(
                _round(url, options, round_, args, server_pid, views)
            )
            machine.append(busy)
            steal.append(stolen)
            shared.append(found)
            durations.append(took)
            server_cpu.append(server)
            client_cpu.append(client)
            times = [a.seconds for a in found.actions if not a.error and a.step > 0]
            print(
                f"round {round_}: {len(found.actions)} timed requests in {took:.0f} s; actions "
                f"p50 {percentile(times, 0.5):.2f} s, p95 {percentile(times, 0.95):.2f} s; "
                f"{len(found.problems)} isolation problems; "
                f"{sum(1 for a in found.actions if a.error)} errors",
                flush=True,
            )
        versions = {"Streamlit": version("streamlit"), "websockets": version("websockets")}
        return Results(
            args.sessions, args.actions, args.rounds, tuple(args.think), args.seed, args.roles,
            options, shared, durations, server_cpu, client_cpu, machine, load, versions, notes,
            workers=getattr(args, "workers", 1), arrive_over=getattr(args, "arrive_over", 0.0),
            stolen=steal,
        )  # fmt: skip


# --- the report ---------------------------------------------------------------------------------

KINDS = ("first page", "sign-in form", "sign in", "page switch", "group", "period", "place")


def _times(shared: Shared) -> list[float]:
    return [a.seconds for a in shared.actions if a.step > 0 and not a.error]


def _row(name: str, chosen: list[Action]) -> str:
    times = [a.seconds for a in chosen if not a.error]
    errors = sum(1 for a in chosen if a.error)
    if not times:
        return f"| {name} | 0 | – | – | – | {errors} |"
    return (
        f"| {name} | {len(times)} | {percentile(times, 0.5):.2f} | "
        f"{percentile(times, 0.95):.2f} | {max(times):.2f} | {errors} |"
    )


def markdown(results: Results) -> str:
    cores = os.cpu_count()
    versions = ", ".join(f"{k} {v}" for k, v in results.versions.items())
    options = results.options
    lines = [
        f"### Load test of {date.today():%Y-%m-%d}: {results.sessions} simultaneous sessions",
        "",
        f"Machine: {cores} cores (shared with other work: load average "
        f"{results.load[0]:.1f} over 1 min, {results.load[1]:.1f} over 5 min at the start), "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"{versions}. The demo store (latest period {options.latest}), the app started with "
        + (
            f"`serve.py --workers {results.workers}` ({results.workers} app servers behind its "
            "sticky proxy) "
            if results.workers > 1
            else "`serve.py` "
        )
        + "on a loopback port. `python -m tests.load_harness` (`make bench-load`).",
        "",
        "Each session is a WebSocket client speaking Streamlit's protocol (no browser draws the "
        "pages: the figures are the server's script run and its messages). "
        + _arrivals(results)
        + ", each on a different page with its own filters in the link, "
        + (
            "signs in (roles viewer, analyst, admin in turn), "
            if results.roles
            else "nobody signs in, "
        )
        + f"then takes {results.actions_each} actions (switch page; change group, period, area "
        f"or decile) with {results.think[0]:g}–{results.think[1]:g} s to think between them "
        f"(seed {results.seed}). Page time: from sending the rerun to `script_finished`. "
        "Round 1 is on a freshly started server; round 2 replays the same sequences in new "
        "sessions. A view (page and filters) is *new* the first time any session asks for it."
        + (
            " *Sign-in form*: connecting and the first run, which draws the form; *sign in*: "
            "from submitting it to the page drawn after it; *first page*: the link opened again "
            "when sign-in did not land on the link's page."
            if results.roles
            else ""
        ),
        "",
        "Target (issue 8): p95 page time ≤ 1 s. All actions after the first page: "
        + "; ".join(
            f"round {n} p95 {percentile(_times(s), 0.95):.2f} s"
            for n, s in enumerate(results.shared, 1)
        )
        + ".",
        "",
        "| round | what | n | p50 s | p95 s | max s | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    first = [a for a in options.probe if a.kind == ("sign in" if results.roles else "first page")]
    if first:
        lines.append(_row("– | first page drawn, alone, on the just-started server", first[:1]))
    for round_, shared in enumerate(results.shared, 1):
        actions = shared.actions
        for kind in KINDS:
            chosen = [a for a in actions if a.kind == kind]
            if chosen:
                lines.append(_row(f"{round_} | {kind}", chosen))
        steps = [a for a in actions if a.step > 0]
        lines.append(_row(f"{round_} | actions, new view", [a for a in steps if a.new_view]))
        lines.append(
            _row(f"{round_} | actions, view seen before", [a for a in steps if not a.new_view])
        )
        lines.append(_row(f"{round_} | **all actions**", steps))
    lines += [
        "",
        "Where the time went (CPU seconds from /proc; the machine's cores busy counts every "
        "process on it, the other work included; *stolen* is time the virtual machine's host "
        "gave to other machines while this one had work to run, which no figure above can "
        "show but every wall time includes):",
        "",
        "| round | wall s | requests | app CPU s | app CPU per request s | app cores busy "
        "| machine cores busy | cores stolen | harness CPU s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stolen = results.stolen or [float("nan")] * len(results.durations)
    rounds = zip(
        results.durations, results.server_cpu, results.client_cpu, results.machine, stolen,
        results.shared, strict=True,
    )  # fmt: skip
    for round_, (took, server, client, machine, taken, shared) in enumerate(rounds, 1):
        requests = len(shared.actions)
        app = (
            f"{server:.0f} | {server / max(1, requests):.2f} | {server / took:.2f}"
            if server is not None
            else "– | – | –"
        )
        lines.append(
            f"| {round_} | {took:.0f} | {requests} | {app} | {machine:.2f} | {taken:.2f} "
            f"| {client:.1f} |"
        )
    problems = results.problems()
    leaks = [p for p in problems if p.leak]
    checks = sum(s.checks for s in results.shared)
    lines += [
        "",
        f"**Isolation:** {checks} pages checked ({', '.join(_checked(results))}): "
        f"{len(problems)} mismatches, {len(leaks)} of them another session's state.",
    ]
    landing = collections.Counter()
    for shared in results.shared:
        landing.update(shared.landing)
    not_taken = sum(s.link_not_taken for s in results.shared)
    if not_taken or landing:
        lines.append(
            f"Links opened on a page without the sidebar filters (whose filters the app then "
            f"does not take): {not_taken}."
            + (
                " After sign-in, on a page with filters: "
                + ", ".join(f"{n} {what}" for what, n in landing.items())
                + "."
                if landing
                else ""
            )
        )
    if results.roles:
        navigation = options.navigation
        lines.append(
            "Pages offered per role: "
            + "; ".join(f"{role} {len(pages)}" for role, pages in navigation.items())
            + ". "
            + (
                "Asked for by address by a viewer: " + "; ".join(options.denied) + "."
                if options.denied
                else "No page is offered to an analyst or admin only (nothing to withhold "
                "from a viewer yet)."
            )
        )
    for problem in problems[:10]:
        lines.append(
            f"- round {problem.round}, session {problem.session}, step {problem.step}: "
            f"{problem.what}{' (LEAK)' if problem.leak else ''}"
        )
    for action in results.errors()[:10]:
        lines.append(
            f"- error: round {action.round}, session {action.session}, step {action.step}, "
            f"{action.kind} {action.detail}: {action.error}"
        )
    lines += [f"- {note}" for note in results.notes]
    return "\n".join(lines)


def _checked(results: Results) -> list[str]:
    what = ["the page asked for", "sidebar filters", "the link", "the filter caption"]
    if results.roles:
        what += ["signed-in user and role", "no other user named", "the role's navigation"]
    return what


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load_harness",
        description="Simultaneous sessions of the app as WebSocket clients: page times and "
        "isolation of each session's filters, user and role.",
    )
    parser.add_argument("--sessions", type=int, default=20, help="default 20")
    parser.add_argument("--actions", type=int, default=6, help="per session (default 6)")
    parser.add_argument("--rounds", type=int, default=2, help="default 2 (cold, then warm)")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
        help="seconds between actions, uniform (default 1 3)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--arrive-over", type=float, default=0.0, metavar="SECONDS",
        help="start the sessions evenly over this many seconds (default 0: all at once)",
    )  # fmt: skip
    parser.add_argument(
        "--years", type=int, default=2,
        help="periods the sessions choose from: the latest year and those before (default 2)",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=300, help="per page (default 300 s)")
    parser.add_argument("--url", help="an app already running (else one is started)")
    parser.add_argument("--work", type=Path, help="keep the store copy and the app's log here")
    parser.add_argument(
        "--roles", action=argparse.BooleanOptionalAction, default=None,
        help="sign in as viewers, analysts and admins (default: when framework.access exists)",
    )  # fmt: skip
    parser.add_argument(
        "--warm-up", action=argparse.BooleanOptionalAction, default=True,
        help="work out every year's views ahead before the rounds, as after a load (default on, "
        "as in use)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=1,
        help="app servers behind serve.py's sticky proxy (default 1: one server, no proxy)",
    )  # fmt: skip
    parser.add_argument("--markdown", type=Path, help="append the results to this file")
    parser.add_argument("--quiet", action="store_true", help="no line per action")
    args = parser.parse_args(argv)
    if args.roles is None:
        args.roles = access_available()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_load_test(args)
    report = markdown(results)
    print(report)
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report + "\n")
    return 1 if results.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
