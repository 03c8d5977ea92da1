"""Pseudonymisation: the authority's child identifiers never enter the store.

Each identifier is replaced at load by a keyed hash (HMAC-SHA256 with a secret key), so the same
child links across returns and years, but nobody without the key can go from a pseudonym back
to a child, or test a guessed identifier. The key lives outside git: in an environment variable
or a local key file. The demo authority, which is entirely fictional, uses a fixed public key.

The store remembers a fingerprint of the key it was built with, and refuses loads made with a
different key, which would silently split every child into two.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DEMO_KEY = b"outcomes-explorer-demo-authority-not-secret"
PSEUDONYM_LENGTH = 20  # hex characters = 80 bits: collisions negligible at national scale
MIN_KEY_BYTES = 16


class MissingKeyError(RuntimeError):
    """No pseudonymisation key was found: loading real data would be unsafe."""


@dataclass(frozen=True)
class Pseudonymiser:
    key: bytes
    # Pseudonyms already made in this run: a child appears in many tables and years, and the
    # hash is the costly part. Kept in memory only, never written anywhere.
    _made: dict = field(default_factory=dict, repr=False, compare=False)

    def pseudonym(self, identifier: str, *, kind: str = "child") -> str:
        made = self._made.get((kind, identifier))
        if made is None:
            # The kind is mixed in so a child id and a worker id that happen to be equal do
            # not get the same pseudonym.
            message = f"{kind}\x1f{identifier.strip().upper()}".encode()
            made = hmac.new(self.key, message, hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]
            self._made[(kind, identifier)] = made
        return made

    def column(self, values: pd.Series, *, kind: str = "child") -> pd.Series:
        """Pseudonymise a column, hashing each distinct identifier once."""
        present = values.dropna()
        if present.empty:
            return values.astype("string")
        distinct = present.astype(str).unique()
        mapping = {value: self.pseudonym(value, kind=kind) for value in distinct}
        return values.map(mapping, na_action="ignore").astype("string")

    @property
    def fingerprint(self) -> str:
        """Identifies the key without revealing it (stored in the store's metadata)."""
        return hmac.new(self.key, b"fingerprint", hashlib.sha256).hexdigest()[:16]


def resolve_key(*, env_name: str, key_file: Path, demo: bool) -> Pseudonymiser:
    """Find the key: environment variable first, then the key file; the demo uses its own."""
    if demo:
        return Pseudonymiser(DEMO_KEY)
    value = os.environ.get(env_name)
    source = f"environment variable {env_name}"
    if not value and key_file.exists():
        value = key_file.read_text(encoding="utf-8").strip()
        source = f"key file {key_file}"
    if not value:
        raise MissingKeyError(
            f"No pseudonymisation key found. Set the environment variable {env_name}, or put "
            f"a long random secret in {key_file} (outside the project folder, readable only "
            "by you), for example with: python -m framework key new. Keep a backup: the same "
            "key is needed for every future load."
        )
    if len(value.encode()) < MIN_KEY_BYTES:
        raise MissingKeyError(f"The key in {source} is too short: use at least 16 characters.")
    return Pseudonymiser(value.encode())


def new_key_file(key_file: Path) -> Path:
    """Create a new random key file readable only by its owner; refuse to overwrite one."""
    if key_file.exists():
        raise FileExistsError(f"{key_file} already exists; it was not changed.")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(os.urandom(32).hex() + "\n")
    return key_file
