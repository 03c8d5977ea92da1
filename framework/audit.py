"""The audit log: who signed in (or failed to), viewed child-level pages, exported or loaded
files, and changed users, with when. No streamlit here.

The log is a JSON Lines file beside the store (``<store>.audit.jsonl``, or ``[access]
audit_log``). It is only ever appended to, under a file lock, so several sessions and the
command line can write at once. Each entry carries the hash of the entry before it, so an
entry edited, removed or inserted later breaks the chain, and ``verify`` says where.

What is written is about people using the product, never about children: page names, cohort
names, file names and row counts, but no child's id, name or details.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

EVENTS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Failed sign-in",
    "sign_in_locked": "Sign-in refused: too many failures",
    "sign_out": "Signed out",
    "session_expired": "Session expired",
    "access_refused": "Refused: role does not allow it",
    "child_level_view": "Viewed a child-level page",
    "export": "Exported",
    "upload": "Loaded files",
    "user_added": "User added",
    "user_removed": "User removed",
    "role_changed": "Role changed",
    "password_changed": "Password changed",
}
GENESIS = "0" * 64  # the "previous hash" of the first entry
MAX_DETAIL = 500  # characters per detail value: the log is for who and when, not content


@dataclass(frozen=True)
class ChainProblem:
    line: int
    problem: str


def audit_path(store_path: Path, configured: Path | None = None) -> Path:
    return Path(configured) if configured else Path(store_path).with_suffix(".audit.jsonl")


class AuditLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, event: str, user: str, role: str = "", **details) -> dict:
        """Add one entry (time in UTC) and return it."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # one writer at a time: the chain stays whole
            try:
                entry = {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "event": event,
                    "user": str(user),
                    "role": str(role or ""),
                    "details": _plain(details),
                    "previous": _last_hash(handle),
                }
                entry["hash"] = _hash(entry)
                handle.seek(0, os.SEEK_END)
                handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return entry

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        rows = []
        for text in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(text))
            except ValueError:
                rows.append({"event": "unreadable", "details": {}})
        return rows

    def table(self) -> pd.DataFrame:
        """Newest first, with the event in words and the details as one line of text."""
        rows = [
            {
                "time": entry.get("time", ""),
                "user": entry.get("user", ""),
                "role": entry.get("role", ""),
                "event": EVENTS.get(entry.get("event"), entry.get("event", "")),
                "details": "; ".join(f"{k}: {v}" for k, v in entry.get("details", {}).items()),
            }
            for entry in self.entries()
        ]
        frame = pd.DataFrame(rows, columns=["time", "user", "role", "event", "details"])
        return frame.iloc[::-1].reset_index(drop=True)

    def verify(self) -> list[ChainProblem]:
        """Every place where the chain is broken: an entry changed (its hash no longer
        matches), or removed or inserted (it does not follow the one before)."""
        problems, previous = [], GENESIS
        for number, entry in enumerate(self.entries(), start=1):
            if "hash" not in entry:
                problems.append(ChainProblem(number, "not a log entry"))
                previous = None
                continue
            if _hash({k: v for k, v in entry.items() if k != "hash"}) != entry["hash"]:
                problems.append(ChainProblem(number, "changed after it was written"))
            if previous is not None and entry.get("previous") != previous:
                problems.append(ChainProblem(number, "an entry before it was removed or added"))
            previous = entry["hash"]
        return problems


def _hash(entry: Mapping) -> str:
    text = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _last_hash(handle) -> str:
    """The hash of the file's last entry (read from the end: the log can grow large)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return GENESIS
    block = min(size, 64 * 1024)
    handle.seek(size - block)
    lines = handle.read(block).splitlines()
    for text in reversed(lines):
        try:
            return json.loads(text)["hash"]
        except (ValueError, KeyError, TypeError):
            continue
    return GENESIS


def _plain(details: Mapping) -> dict:
    """Details as short strings and numbers (no objects, no long text)."""
    plain = {}
    for key, value in details.items():
        if value is None:
            continue
        if not isinstance(value, int | float | bool):
            value = str(value)[:MAX_DETAIL]
        plain[str(key)] = value
    return plain
