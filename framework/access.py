"""Who may see what: roles, accounts, sign-in modes and session expiry (no streamlit here).

Three roles, each allowed everything the one before it is:

* **viewer**: the aggregate pages and their exports (every number disclosure-controlled);
* **analyst**: also the child-level pages (the tracker) and loading files;
* **admin**: also the audit log and the users.

How people sign in (``[access] mode`` in config.toml, or the environment variable
``OUTCOMES_ACCESS_MODE``, which wins):

* ``oidc``: the council's identity provider, through Streamlit's ``st.login`` (configured in
  ``.streamlit/secrets.toml``, ``[auth]``). Roles come from the accounts file, by e-mail;
  people not listed get ``oidc_default_role`` ("" refuses them).
* ``local``: user names and passwords in the accounts file, a JSON file kept outside the
  project (only scrypt hashes of the passwords are stored), managed with
  ``python -m framework user ...`` or by an admin on the Users page.
* ``open``: no sign-in; everyone gets ``open_role``. Chosen by ``auto`` only for the fictional
  demo authority; on real data only when configured explicitly (one analyst's own machine,
  with the server bound to localhost).
* ``auto`` (the default): ``oidc`` when ``[auth]`` is configured, else ``local`` when the
  accounts file holds an account, else ``open`` for the demo, else ``closed``: nothing is
  shown but how to set up sign-in.

Sessions expire after ``idle_minutes`` without activity and ``max_hours`` after sign-in.
Repeated failed sign-ins for a user name lock it for ``lockout_minutes``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROLES = ("viewer", "analyst", "admin")  # each role may do all the roles before it may

# What each action needs, checked on the server before the page draws or the file is made.
PERMISSIONS = {
    "view_aggregate": "viewer",
    "export_aggregate": "viewer",
    "view_child_level": "analyst",
    "export_child_level": "analyst",
    "upload": "analyst",
    "read_audit": "admin",
    "manage_users": "admin",
}

DEFAULT_ACCOUNTS = Path("~/.config/outcomes-explorer/accounts.json").expanduser()
MODES = ("auto", "oidc", "local", "open")
MODE_ENV = "OUTCOMES_ACCESS_MODE"
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
MIN_PASSWORD = 12

# scrypt's cost: about 50 ms and 32 MB per check on a laptop, which makes guessing slow and
# signing in still quick. Stored with each hash, so it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class AccessError(ValueError):
    """A user, role or password that cannot be accepted (the message says why)."""


@dataclass(frozen=True)
class AccessSettings:
    mode: str = "auto"
    accounts_file: Path = DEFAULT_ACCOUNTS
    open_role: str = "admin"
    oidc_default_role: str = ""
    idle_minutes: float = 30
    max_hours: float = 8
    max_failures: int = 5
    lockout_minutes: float = 15
    audit_log: Path | None = None  # None: beside the store, <store>.audit.jsonl


def access_settings(config_file: Path) -> AccessSettings:
    """The ``[access]`` table of the config file (defaults where absent); the environment
    variable ``OUTCOMES_ACCESS_MODE`` overrides the mode."""
    with Path(config_file).open("rb") as handle:
        raw = tomllib.load(handle).get("access", {})
    base = Path(config_file).resolve().parent
    defaults = AccessSettings()
    mode = os.environ.get(MODE_ENV) or raw.get("mode", defaults.mode)
    if mode not in MODES:
        raise AccessError(f"[access] mode is {mode!r}; expected one of {', '.join(MODES)}.")
    chosen = AccessSettings(
        mode=mode,
        accounts_file=_path(base, raw.get("accounts_file")) or defaults.accounts_file,
        open_role=raw.get("open_role", defaults.open_role),
        oidc_default_role=raw.get("oidc_default_role", defaults.oidc_default_role),
        idle_minutes=float(raw.get("idle_minutes", defaults.idle_minutes)),
        max_hours=float(raw.get("max_hours", defaults.max_hours)),
        max_failures=int(raw.get("max_failures", defaults.max_failures)),
        lockout_minutes=float(raw.get("lockout_minutes", defaults.lockout_minutes)),
        audit_log=_path(base, raw.get("audit_log")),
    )
    for name in ("open_role", "oidc_default_role"):
        role = getattr(chosen, name)
        if role and role not in ROLES:
            raise AccessError(f"[access] {name} is {role!r}; expected one of {', '.join(ROLES)}.")
    return chosen


def _path(base: Path, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def allows(role: str | None, permission: str) -> bool:
    """Whether someone with ``role`` may do ``permission`` (unknown roles may do nothing)."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(PERMISSIONS[permission])


def resolve_mode(chosen: AccessSettings, *, oidc_configured: bool, demo: bool) -> str:
    """The sign-in actually used: oidc, local, open, or closed (nothing configured for real
    data: the app shows only how to set up sign-in)."""
    if chosen.mode != "auto":
        return chosen.mode
    if oidc_configured:
        return "oidc"
    if Accounts(chosen.accounts_file).has_local_accounts():
        return "local"
    return "open" if demo else "closed"


# --- passwords ----------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """A salted scrypt hash, with its parameters: ``scrypt$N$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        made = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(made, base64.b64decode(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# A hash to check against when the user name is unknown, so that a wrong name takes as long
# as a wrong password (the time taken does not reveal which names exist).
_DECOY = hash_password(secrets.token_hex(16))


# --- the accounts file --------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password: str | None = None  # scrypt hash; None for people who sign in through OIDC
    added: str = ""

    @property
    def kind(self) -> str:
        return "local" if self.password else "identity provider"


class Accounts:
    """The accounts file: ``{"users": {name: {"role", "password", "added"}}}``. Written whole
    and atomically, readable only by its owner. Names are compared case-insensitively."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def all(self) -> dict[str, Account]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            users = raw["users"]
            return {
                name.lower(): Account(
                    name=name,
                    role=record["role"],
                    password=record.get("password"),
                    added=record.get("added", ""),
                )
                for name, record in users.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as broken:
            raise AccessError(
                f"The accounts file {self.path} cannot be read ({broken}); expected JSON with "
                '{"users": {name: {"role": ..., "password": ...}}}.'
            ) from None

    def has_local_accounts(self) -> bool:
        try:
            return any(account.password for account in self.all().values())
        except AccessError:
            return True  # a broken file must not open the app: sign-in then says why

    def get(self, name: str) -> Account | None:
        return self.all().get(name.strip().lower())

    def add(self, name: str, role: str, password: str | None = None) -> Account:
        name = name.strip()
        if not USER_NAME.match(name):
            raise AccessError(
                f"The user name {name!r} is not accepted: use letters, digits and . _ @ + - "
                "(up to 100 characters), starting with a letter or digit."
            )
        _check_role(role)
        if self.get(name):
            raise AccessError(f"There is already a user called {name}.")
        if password is not None:
            check_password_strength(password, name)
        account = Account(
            name=name,
            role=role,
            password=hash_password(password) if password is not None else None,
            added=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._write({**self.all(), name.lower(): account})
        return account

    def remove(self, name: str) -> None:
        accounts = self.all()
        if name.strip().lower() not in accounts:
            raise AccessError(f"There is no user called {name}.")
        del accounts[name.strip().lower()]
        self._write(accounts)

    def set_role(self, name: str, role: str) -> None:
        _check_role(role)
        self._replace(name, role=role)

    def set_password(self, name: str, password: str) -> None:
        check_password_strength(password, name)
        self._replace(name, password=hash_password(password))

    def check(self, name: str, password: str) -> Account | None:
        """The account when the password is right; None otherwise (same time either way)."""
        account = self.get(name) if name else None
        stored = account.password if account and account.password else _DECOY
        matches = password_matches(password, stored)
        return account if matches and account and account.password else None

    def _replace(self, name: str, **changes) -> None:
        accounts = self.all()
        account = accounts.get(name.strip().lower())
        if account is None:
            raise AccessError(f"There is no user called {name}.")
        values = {**account.__dict__, **changes}
        accounts[name.strip().lower()] = Account(**values)
        self._write(accounts)

    def _write(self, accounts: dict[str, Account]) -> None:
        users = {
            account.name: {
                key: value
                for key, value in (
                    ("role", account.role),
                    ("password", account.password),
                    ("added", account.added),
                )
                if value
            }
            for account in accounts.values()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"users": users}, handle, indent=2, sort_keys=True)
        os.replace(temporary, self.path)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccessError(f"The role {role!r} is not known; expected one of {', '.join(ROLES)}.")


def check_password_strength(password: str, name: str = "") -> None:
    """At least 12 characters, not the user name: long passphrases, as the NCSC advises,
    rather than rules about symbols."""
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"The password is too short: use at least {MIN_PASSWORD} characters.")
    if name and password.strip().lower() == name.strip().lower():
        raise AccessError("The password must not be the user name.")


# --- failed sign-ins ----------------------------------------------------------------------------


@dataclass
class FailedSignIns:
    """Failed sign-ins per user name: after ``max_failures`` within ``lockout_minutes``, the
    name is locked until the oldest of them is that old.

    With ``path`` (the app's: beside the accounts file) they are kept in that file, under a
    lock, so a lockout holds across every app process and over a restart; without it, in this
    object's memory. Names are kept as hashes: a name typed at a failed sign-in could be a
    password typed in the wrong box."""

    max_failures: int = 5
    lockout_minutes: float = 15
    path: Path | None = None
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._held() as failures:
            failures[_name_key(name)] = [*self._recent(failures, name, now), now]

    def locked(self, name: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._held() as failures:
            return len(self._recent(failures, name, now)) >= self.max_failures

    def clear(self, name: str) -> None:
        with self._held() as failures:
            failures.pop(_name_key(name), None)

    def _recent(self, failures: dict, name: str, now: float) -> list[float]:
        window = self.lockout_minutes * 60
        return [moment for moment in failures.get(_name_key(name), []) if now - moment < window]

    @contextlib.contextmanager
    def _held(self):
        """The failures, for reading and changing, by one thread and process at a time."""
        with self._lock:
            if self.path is None:
                yield self._failures
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "r+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    failures = json.loads(handle.read() or "{}")
                except json.JSONDecodeError:
                    failures = {}  # a damaged file forgets failures; it never locks anyone out
                before = json.dumps(failures, sort_keys=True)
                yield failures
                window = self.lockout_minutes * 60
                now = time.time()
                kept = {
                    key: times
                    for key, times in failures.items()
                    if any(now - moment < window for moment in times)
                }
                if json.dumps(kept, sort_keys=True) != before:
                    handle.seek(0)
                    handle.truncate()
                    handle.write(json.dumps(kept))


def _name_key(name: str) -> str:
    return hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]


def failures_path(accounts_file: Path) -> Path:
    """Where the app keeps failed sign-ins: beside the accounts file, outside git."""
    return accounts_file.with_name(accounts_file.stem + ".failures.json")


# --- sessions -----------------------------------------------------------------------------------


@dataclass
class Session:
    """Who is signed in, in one browser session (kept in that session's state only)."""

    user: str
    role: str
    via: str  # oidc, local or open
    signed_in_at: float
    last_seen: float

    def allows(self, permission: str) -> bool:
        return allows(self.role, permission)


def expiry_reason(session: Session, chosen: AccessSettings, now: float | None = None) -> str:
    """Why the session has expired ("" when it has not): idle too long, or signed in too long
    ago. Open sessions never expire (there is nobody to sign in again)."""
    if session.via == "open":
        return ""
    now = time.time() if now is None else now
    if now - session.last_seen > chosen.idle_minutes * 60:
        return f"no activity for {chosen.idle_minutes:g} minutes"
    if now - session.signed_in_at > chosen.max_hours * 3600:
        return f"signed in more than {chosen.max_hours:g} hours ago"
    return ""


def oidc_role(email: str, chosen: AccessSettings) -> str:
    """The role of someone signed in through the identity provider: theirs in the accounts
    file (by e-mail), else the default ("" when they are refused)."""
    account = Accounts(chosen.accounts_file).get(email) if email else None
    return account.role if account else chosen.oidc_default_role
