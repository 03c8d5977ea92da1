"""Privacy defaults (issue 8, part 4): the server's settings, nothing child-level in logs,
exports marked, and the role checked again when a file is made."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from framework.access import Session
from framework.audit import AuditLog
from framework.config import load_settings
from framework.export import CHILD_LEVEL, Provenance, marking, table_csv
from framework.load import load_files
from framework.privacy import Pseudonymiser

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _streamlit_config() -> dict:
    with (REPO / ".streamlit" / "config.toml").open("rb") as handle:
        return tomllib.load(handle)


def test_the_server_is_private_by_default():
    config = _streamlit_config()
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "localhost"
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 200
    # An unexpected error shows where it happened, never its message (which can quote data).
    assert config["client"]["showErrorDetails"] in ("stacktrace", "type", "none")


def test_secrets_and_keys_are_kept_out_of_git():
    ignored = (REPO / ".gitignore").read_text().splitlines()
    for pattern in (".streamlit/secrets.toml", "*.key", "data/*"):
        assert pattern in ignored
    settings = load_settings(REPO / "config.toml")
    for path in (settings.key_file, settings.idmap_key_file):
        assert not str(path.expanduser()).startswith(str(REPO)), path


def test_a_load_with_mistakes_logs_nothing_about_a_child(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    folder = FIXTURES / "ssda903" / "bad_dates"
    outcome = load_files(
        sorted(folder.glob("*.csv")),
        store_path=tmp_path / "store.duckdb",
        pseudonymiser=Pseudonymiser(b"a test key that is long enough"),
        collection_year=2025,
    )
    assert outcome.problems  # the file's mistakes were found and reported to the loader...
    logged = "\n".join(record.getMessage() for record in caplog.records)
    # ...but none of the children's identifiers, UPNs or dates of birth reached the log.
    for value in ("A123456789012", "A123456789015", "31/02/2012", "15/06/2015"):
        assert value not in logged


def test_every_aggregate_export_says_it_is_safe_to_share():
    rows = dict(Provenance(authority="Demoton", threshold=5).rows())
    assert rows["Marking"] == marking(5)
    assert "no count from 1 to 5" in rows["Marking"] and "Safe to share" in rows["Marking"]
    assert "safe to share" not in CHILD_LEVEL.lower()


def test_formulas_are_written_as_text_in_csv():
    table = pd.DataFrame({"area": ["=cmd|' /C calc'!A0", "+A1*2", "@SUM(A1)", "-0.6%", "+1"]})
    written = table_csv(table, 5).decode("utf-8-sig").splitlines()
    # Numbers written as text stay numbers; anything else a spreadsheet would run is text.
    assert written[1:] == ["'=cmd|' /C calc'!A0", "'+A1*2", "'@SUM(A1)", "-0.6%", "+1"]


@pytest.fixture
def signed_in_as(tmp_path, monkeypatch):
    """app_pages.downloads.audited with the session of the role given, the audit log in tmp."""
    import app_pages.access
    import app_pages.downloads

    log = AuditLog(tmp_path / "audit.jsonl")
    monkeypatch.setattr(app_pages.access, "audit_log", lambda: log)

    def sign_in(role: str):
        session = Session("sam", role, "local", 0, 0)
        monkeypatch.setattr(app_pages.downloads, "current", lambda: session)
        return app_pages.downloads.audited, log

    return sign_in


def test_an_export_is_audited_when_the_file_is_made(signed_in_as):
    audited, log = signed_in_as("viewer")
    made = audited("demoton-b1.2-safe-to-share.csv", "B1.2")(lambda: b"data")
    assert log.entries() == []  # a button drawn is not an export
    assert made() == b"data"
    [entry] = log.entries()
    assert (entry["event"], entry["user"], entry["details"]["file"]) == (
        "export",
        "sam",
        "demoton-b1.2-safe-to-share.csv",
    )


def test_a_child_level_export_is_refused_to_a_viewer_when_the_file_is_made(signed_in_as):
    audited, log = signed_in_as("viewer")
    made = audited("tracker.csv", "tracker", permission="export_child_level")(lambda: b"ids")
    with pytest.raises(PermissionError):
        made()
    assert [e["event"] for e in log.entries()] == ["access_refused"]
