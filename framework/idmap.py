"""The id map: pseudonym -> the authority's own child id, kept apart from the store, encrypted.

The store never holds the authority's child identifiers (``privacy.py``): analysts see keyed-hash
pseudonyms. The child-level tracker is the one place where the authority's own id is shown, so
that a manager can find the child's record. The ids come from a separate map:

* **Where.** A file beside the store, ``<store>.idmap`` (``data/outcomes.duckdb.idmap``). It is
  never part of the DuckDB file, so a copy of the store (or an export) carries no child ids.
* **Encrypted at rest.** The whole file is one Fernet token (``cryptography``: AES-128-CBC with
  an HMAC-SHA256 tag), so nothing in it can be read, or changed unnoticed, without the key. A
  wrong key is refused with a clear error (``IdMapError``); it never gives garbage.
* **The key** lives outside git, like the pseudonymisation key: the environment variable
  ``OUTCOMES_IDMAP_KEY``, else the key file ``~/.config/outcomes-explorer/idmap.key`` (both named
  in ``config.toml``'s ``[privacy]`` table), made by ``python -m framework key new-idmap``. The
  demo authority is fictional and uses a fixed public key (``DEMO_KEY``).
* **Written by loads.** During a load the pseudonymiser remembers which identifiers it hashed;
  after the store's transaction has committed, the child ids among them are merged into the
  map, which is written whole to a temporary file and moved into place (``os.replace``). A
  failed load leaves the store and the map as they were. Without a key a load still works: the
  map is not written and the load says so once (``NO_KEY_NOTE``). No child id is ever put in a
  message or a log.

``lookup`` gives the page the ids of the children it shows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from framework.privacy import DEMO_KEY as DEMO_PSEUDONYM_KEY
from framework.privacy import Pseudonymiser
from framework.store.store import StoreError

# The demo authority is fictional: its map uses a fixed, public key (derived from a phrase so
# that it is visibly not a secret). Never use it for real children.
DEMO_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"outcomes-explorer-demo-id-map-not-secret").digest()
)
DEFAULT_ENV = "OUTCOMES_IDMAP_KEY"
DEFAULT_KEY_FILE = Path("~/.config/outcomes-explorer/idmap.key")
SUFFIX = ".idmap"
FORMAT_VERSION = 1
KIND = "child"  # the pseudonym kind the map holds (never workers' or UPNs)


class IdMapError(StoreError):
    """The id map cannot be used as asked: a wrong or malformed key, or a damaged file."""


class _Auto:
    """Find the key as ``key_for`` does (the default of ``load.load_files``)."""

    def __repr__(self) -> str:
        return "AUTO"


AUTO = _Auto()


def map_path(store_path: Path) -> Path:
    """The map of a store: ``<store>.idmap`` beside it."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + SUFFIX)


# --- keys ---------------------------------------------------------------------------------------


def _checked(value: str | bytes, source: str) -> bytes:
    key = value.encode() if isinstance(value, str) else value
    key = key.strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise IdMapError(
            f"The id-map key in {source} is not a valid key (it should be 44 characters of "
            "URL-safe base64, as python -m framework key new-idmap writes)."
        ) from None
    return key


def resolve_key(*, env_name: str, key_file: Path, demo: bool) -> bytes | None:
    """The id-map key: the demo's own, else the environment variable, else the key file; None
    when there is none (the map is then neither written nor read)."""
    if demo:
        return DEMO_KEY
    value = os.environ.get(env_name)
    if value:
        return _checked(value, f"environment variable {env_name}")
    key_file = Path(os.path.expanduser(key_file))
    if key_file.exists():
        text = key_file.read_text(encoding="utf-8").strip()
        if text:
            return _checked(text, f"key file {key_file}")
    return None


def key_for(settings=None, *, demo: bool = False) -> bytes | None:
    """The key for ``settings`` (config.toml by default); the demo's when ``demo``."""
    if demo:
        return DEMO_KEY
    env_name, key_file = DEFAULT_ENV, DEFAULT_KEY_FILE
    if settings is None:
        try:
            from framework.config import load_settings

            settings = load_settings()
        except (OSError, KeyError, ValueError):
            settings = None
    if settings is not None:
        env_name = getattr(settings, "idmap_key_env", env_name)
        key_file = getattr(settings, "idmap_key_file", key_file)
    return resolve_key(env_name=env_name, key_file=key_file, demo=False)


def key_for_pseudonymiser(pseudonymiser: Pseudonymiser, settings=None) -> bytes | None:
    """The id-map key that goes with a load's pseudonymiser: the demo's public key for the demo
    (fictional) authority, else the authority's own."""
    return key_for(settings, demo=pseudonymiser.key == DEMO_PSEUDONYM_KEY)


def key_for_store(settings, store_path: Path) -> bytes | None:
    """The key for the store a page shows: the demo's for the demo store, else the authority's."""
    demo = Path(store_path).resolve() == Path(settings.demo_store).resolve()
    return key_for(settings, demo=demo)


def new_key_file(key_file: Path) -> Path:
    """Create a new random id-map key file readable only by its owner; refuse to overwrite."""
    key_file = Path(os.path.expanduser(key_file))
    if key_file.exists():
        raise FileExistsError(f"{key_file} already exists; it was not changed.")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    return key_file


# --- the map file -------------------------------------------------------------------------------


def read_map(path: Path, key: bytes) -> dict[str, str]:
    """The map in a file ({} when there is no file). Raises IdMapError for a wrong key or a
    damaged file: the contents are authenticated, so they are never half-read."""
    path = Path(path)
    if not path.exists():
        return {}
    token = path.read_bytes()
    try:
        plain = Fernet(key).decrypt(token)
    except InvalidToken:
        raise IdMapError(
            f"The id map {path} cannot be opened with this key: it was written with another "
            "key, or the file is damaged. Use the key it was made with (see docs/tracker.md, "
            "'The id map'); nothing was changed."
        ) from None
    try:
        payload = json.loads(plain)
        ids = payload["ids"]
    except (ValueError, KeyError, TypeError):
        raise IdMapError(f"The id map {path} is not in a layout this version reads.") from None
    if payload.get("version") != FORMAT_VERSION or not isinstance(ids, dict):
        raise IdMapError(f"The id map {path} is not in a layout this version reads.")
    return {str(k): str(v) for k, v in ids.items()}


def write_map(path: Path, key: bytes, ids: dict[str, str]) -> None:
    """Encrypt the whole map and put it in place atomically (a temporary file in the same
    folder, flushed, then moved over the old one), readable only by its owner."""
    path = Path(path)
    payload = json.dumps({"version": FORMAT_VERSION, "kind": KIND, "ids": ids}, sort_keys=True)
    token = Fernet(key).encrypt(payload.encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp makes it 0600
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def captured(pseudonymiser: Pseudonymiser) -> dict[str, str]:
    """The children's ids a pseudonymiser hashed in this run: {pseudonym: id as given}."""
    return {
        made: identifier.strip()
        for (kind, identifier), made in list(pseudonymiser._made.items())
        if kind == KIND and isinstance(identifier, str) and identifier.strip()
    }


def merge(path: Path, key: bytes, new: dict[str, str]) -> int:
    """Add ``new`` to the map in ``path`` (read again just before writing, so that entries
    another load wrote meanwhile are kept); return how many children the map holds."""
    ids = read_map(path, key)
    changed = {pseudonym: child for pseudonym, child in new.items() if ids.get(pseudonym) != child}
    if changed:
        ids.update(changed)
        write_map(path, key, ids)
    return len(ids)


# --- for the page -------------------------------------------------------------------------------


def availability(store_path: Path, key: bytes | None) -> str | None:
    """Why the authority's ids cannot be shown (None when they can), in words for the page."""
    path = map_path(store_path)
    if key is None:
        return (
            "The authority's child ids are not shown: no id-map key was found on this machine "
            "(see docs/tracker.md)."
        )
    if not path.exists():
        return (
            "The authority's child ids are not shown: no id map has been written for this store "
            "yet (it is written by loads made with the id-map key; load the returns again with "
            "--force to build it)."
        )
    return None


def lookup(
    pseudonyms: Iterable[str], *, store_path: Path, key: bytes | _Auto | None = AUTO
) -> dict[str, str]:
    """{pseudonym: the authority's child id} for the pseudonyms the map knows (others are left
    out). {} when there is no key or no map; IdMapError when the key is the wrong one."""
    if key is AUTO:
        key = key_for()
    if key is None:
        return {}
    ids = read_map(map_path(store_path), key)
    return {p: ids[p] for p in pseudonyms if p in ids}


NO_KEY_NOTE = (
    "The authority's child ids were not kept for the child-level tracker: no id-map key was "
    "found (environment variable {env} or key file {file}). The tracker will show pseudonyms "
    "only. To keep them, run python -m framework key new-idmap, then load the returns again "
    "with --force (docs/tracker.md)."
)


def no_key_note(settings=None) -> str:
    env = getattr(settings, "idmap_key_env", DEFAULT_ENV)
    file = getattr(settings, "idmap_key_file", DEFAULT_KEY_FILE)
    return NO_KEY_NOTE.format(env=env, file=file)


__all__ = [
    "AUTO",
    "DEMO_KEY",
    "IdMapError",
    "availability",
    "captured",
    "key_for",
    "key_for_pseudonymiser",
    "key_for_store",
    "lookup",
    "map_path",
    "merge",
    "new_key_file",
    "read_map",
    "resolve_key",
    "write_map",
]
