"""A load waits while another process reads the store (and a reader while a load writes): DuckDB
refuses at once, so framework.store.connect tries again for a while, then says why."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import pytest

from framework.store import store

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
con.close()
"""


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / "store.duckdb"
    store.connect(path).close()  # created with its tables
    return path


@contextlib.contextmanager
def hold(path, mode: str, seconds: float, *, until_done: bool = True):
    """Another process holding the store open (``read`` or ``write``) for ``seconds``; at the
    end, wait for it to let go (``until_done``) or stop it."""
    command = [sys.executable, "-c", HOLD, str(path), mode, str(seconds)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "holding"
        yield process
    finally:
        if not until_done:
            process.kill()
        process.wait()


def test_a_load_waits_for_a_reader_in_another_process(store_file):
    with hold(store_file, "read", 1.5):
        began = time.monotonic()
        con = store.connect(store_file, wait=30)
        try:
            assert time.monotonic() - began >= 0.5  # it had to wait
            con.execute("CREATE TABLE written (a INTEGER)")
        finally:
            con.close()


def test_a_load_gives_up_with_a_message_saying_why(store_file):
    refused = pytest.raises(store.StoreError, match=r"open in another process.*after 1 s")
    with hold(store_file, "read", 5, until_done=False), refused:
        store.connect(store_file, wait=1)


def test_a_reader_waits_for_a_load_to_finish(store_file):
    with hold(store_file, "write", 1.5):
        store.connect(store_file, read_only=True, wait=30).close()


def test_a_reader_gives_up_with_a_message_saying_why(store_file):
    refused = pytest.raises(store.StoreError, match="being written by a load")
    with hold(store_file, "write", 5, until_done=False), refused:
        store.connect(store_file, read_only=True, wait=0.5)


def test_a_damaged_file_is_not_waited_for(tmp_path):
    damaged = tmp_path / "damaged.duckdb"
    damaged.write_bytes(b"not a duckdb file" * 100)
    began = time.monotonic()
    with pytest.raises(store.StoreError, match="could not be opened"):
        store.connect(damaged, read_only=True, wait=30)
    assert time.monotonic() - began < 20  # refused at once, not after the wait
