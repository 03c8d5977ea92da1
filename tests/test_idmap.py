"""The id map: pseudonym -> the authority's child id, beside the store, encrypted at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from framework import cli, idmap
from framework import load as load_module
from framework.config import PROJECT_ROOT
from framework.load import load_files
from framework.privacy import DEMO_KEY, Pseudonymiser
from framework.store import store
from framework.store.store import StoreError

ADDRESSES = (
    "child_id,postcode,from_date\n"
    "DMT01,QX1 1AB,2023-04-01\n"
    "DMT02,QX1 2CD,2023-05-01\n"
    " dmt03 ,QX1 1AB,2023-06-01\n"
)
MORE = "child_id,postcode,from_date\nDMT04,QX1 1AB,2024-04-01\nDMT01,QX1 2CD,2024-05-01\n"
IDS = {"DMT01", "DMT02", "dmt03", "DMT04"}


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture
def first(tmp_path) -> Path:
    return _write(tmp_path / "first", "addresses.csv", ADDRESSES)


@pytest.fixture
def second(tmp_path) -> Path:
    return _write(tmp_path / "second", "addresses.csv", MORE)


def _stored_children(path: Path) -> set[str]:
    con = store.connect(path, read_only=True)
    try:
        return {c for (c,) in con.execute("SELECT child_id FROM child_addresses").fetchall()}
    finally:
        con.close()


def test_round_trip(tmp_path, key):
    path = tmp_path / "s.duckdb.idmap"
    idmap.write_map(path, key, {"p1": "LA1", "p2": "LA2"})
    assert idmap.read_map(path, key) == {"p1": "LA1", "p2": "LA2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert idmap.merge(path, key, {"p3": "LA3"}) == 3
    assert idmap.lookup(["p1", "p3", "unknown"], store_path=tmp_path / "s.duckdb", key=key) == {
        "p1": "LA1",
        "p3": "LA3",
    }
    assert idmap.map_path(Path("data/outcomes.duckdb")) == Path("data/outcomes.duckdb.idmap")
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_load_keeps_the_ids_encrypted_beside_the_store(first, second, store_path, key):
    pseudonymiser = Pseudonymiser(b"a test key that is long enough")
    outcome = load_files([first], store_path=store_path, pseudonymiser=pseudonymiser, idmap_key=key)
    assert outcome.status == "loaded", outcome.message
    assert not any("id-map key" in note for note in outcome.notes)
    mapped = idmap.read_map(idmap.map_path(store_path), key)
    stored = _stored_children(store_path)
    assert set(mapped) == stored and len(stored) == 3
    assert set(mapped.values()) == {"DMT01", "DMT02", "dmt03"}  # as given, trimmed
    assert all(mapped[pseudonymiser.pseudonym(i)] == i for i in ("DMT01", "DMT02"))
    # A later load (a new pseudonymiser, as a new run) merges into the map.
    load_files(
        [second],
        store_path=store_path,
        pseudonymiser=Pseudonymiser(pseudonymiser.key),
        idmap_key=key,
    )
    mapped = idmap.read_map(idmap.map_path(store_path), key)
    assert set(mapped.values()) == IDS and set(mapped) == _stored_children(store_path)
    # Nothing readable in the file: no id, no pseudonym; and no id in the store.
    raw = idmap.map_path(store_path).read_bytes()
    for value in [*IDS, *mapped]:
        assert value.encode() not in raw and value.upper().encode() not in raw
    assert not (IDS & _stored_children(store_path))
    assert stat.S_IMODE(idmap.map_path(store_path).stat().st_mode) == 0o600


def test_a_wrong_key_is_refused_clearly(first, second, store_path, key, pseudonymiser):
    load_files([first], store_path=store_path, pseudonymiser=pseudonymiser, idmap_key=key)
    before = idmap.map_path(store_path).read_bytes()
    other = Fernet.generate_key()
    with pytest.raises(idmap.IdMapError, match="cannot be opened with this key"):
        idmap.read_map(idmap.map_path(store_path), other)
    with pytest.raises(idmap.IdMapError):
        idmap.lookup(["x"], store_path=store_path, key=other)
    # A load with the wrong map key is refused before anything is read: store and map as before.
    con = store.connect(store_path, read_only=True)
    snapshot = store.snapshot(con)
    con.close()
    with pytest.raises(StoreError, match="id map"):
        load_files([second], store_path=store_path, pseudonymiser=pseudonymiser, idmap_key=other)
    con = store.connect(store_path, read_only=True)
    assert store.snapshot(con) == snapshot
    con.close()
    assert idmap.map_path(store_path).read_bytes() == before
    # A malformed key names its source, never its value.
    with pytest.raises(idmap.IdMapError, match="not a valid key") as error:
        idmap.resolve_key(env_name="NO_SUCH_VARIABLE_X", key_file=_bad_key(store_path), demo=False)
    assert "not-a-fernet-key" not in str(error.value)


def _bad_key(store_path: Path) -> Path:
    path = store_path.parent / "bad.key"
    path.write_text("not-a-fernet-key\n")
    return path


def test_a_failed_load_leaves_store_and_map_unchanged(
    first, second, store_path, key, pseudonymiser, monkeypatch
):
    load_files([first], store_path=store_path, pseudonymiser=pseudonymiser, idmap_key=key)
    before = idmap.map_path(store_path).read_bytes()
    con = store.connect(store_path, read_only=True)
    snapshot = store.snapshot(con)
    con.close()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(load_module, "_record", broken)  # fails inside the transaction
    with pytest.raises(RuntimeError):
        load_files([second], store_path=store_path, pseudonymiser=pseudonymiser, idmap_key=key)
    assert idmap.map_path(store_path).read_bytes() == before
    assert set(idmap.read_map(idmap.map_path(store_path), key).values()) == IDS - {"DMT04"}
    con = store.connect(store_path, read_only=True)
    assert store.snapshot(con) == snapshot
    con.close()


def test_without_a_key_the_store_loads_and_the_map_is_not_written(first, store_path, pseudonymiser):
    outcome = load_files(
        [first], store_path=store_path, pseudonymiser=pseudonymiser, idmap_key=None
    )
    assert outcome.status == "loaded"
    assert len(_stored_children(store_path)) == 3
    assert not idmap.map_path(store_path).exists()
    said = [note for note in outcome.notes if "id-map key" in note]
    assert len(said) == 1  # said once
    assert not any(i.upper() in note.upper() for note in outcome.notes for i in IDS)
    assert idmap.lookup(["anything"], store_path=store_path, key=None) == {}
    assert "no id-map key" in idmap.availability(store_path, None)


def test_keys_from_the_environment_the_key_file_and_the_demo(tmp_path, monkeypatch, key):
    key_file = tmp_path / "config" / "idmap.key"
    assert idmap.resolve_key(env_name="OUTCOMES_TEST_IDMAP", key_file=key_file, demo=False) is None
    idmap.new_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    from_file = idmap.resolve_key(env_name="OUTCOMES_TEST_IDMAP", key_file=key_file, demo=False)
    Fernet(from_file)  # a valid key
    with pytest.raises(FileExistsError):
        idmap.new_key_file(key_file)
    monkeypatch.setenv("OUTCOMES_TEST_IDMAP", key.decode())
    assert idmap.resolve_key(env_name="OUTCOMES_TEST_IDMAP", key_file=key_file, demo=False) == key
    assert idmap.resolve_key(env_name="X", key_file=key_file, demo=True) == idmap.DEMO_KEY
    assert idmap.key_for_pseudonymiser(Pseudonymiser(DEMO_KEY)) == idmap.DEMO_KEY
    Fernet(idmap.DEMO_KEY)


def test_the_key_command_makes_the_idmap_key_file(tmp_path, capsys):
    key_file = tmp_path / "keys" / "idmap.key"
    text = (PROJECT_ROOT / "config.toml").read_text()
    text = text.replace(
        'idmap_key_file = "~/.config/outcomes-explorer/idmap.key"', f'idmap_key_file = "{key_file}"'
    )
    config = tmp_path / "config.toml"
    config.write_text(text)
    assert cli.main(["--config", str(config), "key", "new-idmap"]) == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_text().strip())
    assert str(key_file) in capsys.readouterr().out
    assert cli.main(["--config", str(config), "key", "new-idmap"]) == 1  # never overwritten


DEMO = PROJECT_ROOT / "data" / "demo.duckdb"


def test_the_demo_store_has_its_map():
    if not DEMO.exists() or not idmap.map_path(DEMO).exists():
        pytest.skip("the demo store (and its map) is not built (python -m framework demo-store)")
    mapped = idmap.read_map(idmap.map_path(DEMO), idmap.DEMO_KEY)
    con = store.connect(DEMO, read_only=True)
    try:
        children = [c for (c,) in con.execute("SELECT child_id FROM children").fetchall()]
    finally:
        con.close()
    assert set(children) <= set(mapped)
    assert all(mapped[c].startswith("DMT") for c in children[:50])
