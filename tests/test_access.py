"""Access (issue 8, part 1) and the audit log (part 2): roles, accounts, sign-in modes, session
expiry, lockout, the pages each role gets, and the log's chain. Worked by hand: each test says
who signs in and what they must, and must not, see."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st_

from framework.access import (
    PERMISSIONS,
    ROLES,
    AccessError,
    AccessSettings,
    Accounts,
    FailedSignIns,
    Session,
    access_settings,
    allows,
    expiry_reason,
    hash_password,
    oidc_role,
    password_matches,
    resolve_mode,
)
from framework.audit import GENESIS, AuditLog

REPO = Path(__file__).resolve().parents[1]
DEMO_STORE = REPO / "data" / "demo.duckdb"
PASSWORD = "correct horse battery"


# --- roles ----------------------------------------------------------------------------------------


def test_each_role_may_do_what_the_issue_says():
    # viewer: aggregate views only; analyst: also child-level views and uploads; admin: users.
    expected = {
        "viewer": {"view_aggregate", "export_aggregate"},
        "analyst": {
            "view_aggregate",
            "export_aggregate",
            "view_child_level",
            "export_child_level",
            "upload",
        },
        "admin": set(PERMISSIONS),
    }
    for role, permitted in expected.items():
        assert {p for p in PERMISSIONS if allows(role, p)} == permitted
    assert not any(allows(None, p) for p in PERMISSIONS)
    assert not any(allows("Admin", p) for p in PERMISSIONS)  # roles are exact


@given(st_.sampled_from(ROLES), st_.sampled_from(ROLES), st_.sampled_from(sorted(PERMISSIONS)))
def test_a_higher_role_may_do_all_a_lower_one_may(lower, higher, permission):
    if ROLES.index(higher) >= ROLES.index(lower) and allows(lower, permission):
        assert allows(higher, permission)


# --- passwords and the accounts file --------------------------------------------------------------


def test_passwords_are_stored_as_salted_hashes_only(tmp_path):
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add("alice", "analyst", PASSWORD)
    accounts.add("bob", "viewer", PASSWORD)
    text = accounts.path.read_text()
    assert PASSWORD not in text
    stored = json.loads(text)["users"]
    assert stored["alice"]["password"].startswith("scrypt$")
    assert stored["alice"]["password"] != stored["bob"]["password"]  # salted
    assert stat.S_IMODE(os.stat(accounts.path).st_mode) == 0o600


def test_checking_a_password(tmp_path):
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add("Alice", "analyst", PASSWORD)
    assert accounts.check("alice", PASSWORD).role == "analyst"  # names ignore case
    assert accounts.check("ALICE ", PASSWORD).name == "Alice"
    assert accounts.check("alice", PASSWORD.upper()) is None
    assert accounts.check("nobody", PASSWORD) is None
    assert accounts.check("", "") is None
    assert not password_matches(PASSWORD, "md5$abc")
    assert password_matches("x" * 12, hash_password("x" * 12))


def test_identity_provider_accounts_have_no_password_and_cannot_sign_in_locally(tmp_path):
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add("carol@council.gov.uk", "viewer")
    assert accounts.get("Carol@Council.gov.uk").kind == "identity provider"
    assert accounts.check("carol@council.gov.uk", "") is None
    assert not accounts.has_local_accounts()


@pytest.mark.parametrize(
    ("name", "role", "password", "words"),
    [
        ("alice", "analyst", "short", "too short"),
        ("alice", "analyst", "alice", "too short"),
        ("alicealicealice", "analyst", "AliceAliceAlice", "must not be the user name"),
        ("alice", "superuser", PASSWORD, "role 'superuser' is not known"),
        ("../etc", "viewer", PASSWORD, "not accepted"),
        ("", "viewer", PASSWORD, "not accepted"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(tmp_path, name, role, password, words):
    accounts = Accounts(tmp_path / "accounts.json")
    with pytest.raises(AccessError, match=words):
        accounts.add(name, role, password)
    assert not accounts.path.exists()


def test_changing_and_removing_users(tmp_path):
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add("alice", "viewer", PASSWORD)
    with pytest.raises(AccessError, match="already a user"):
        accounts.add("ALICE", "admin", PASSWORD)
    accounts.set_role("alice", "admin")
    accounts.set_password("alice", "a new long passphrase")
    assert accounts.check("alice", "a new long passphrase").role == "admin"
    assert accounts.check("alice", PASSWORD) is None
    accounts.remove("alice")
    assert accounts.all() == {}
    with pytest.raises(AccessError, match="no user called"):
        accounts.remove("alice")


def test_a_broken_accounts_file_says_so_and_does_not_open_the_app(tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text("{not json")
    with pytest.raises(AccessError, match="cannot be read"):
        Accounts(path).all()
    assert Accounts(path).has_local_accounts()  # so "auto" asks for sign-in, never opens
    chosen = AccessSettings(accounts_file=path)
    assert resolve_mode(chosen, oidc_configured=False, demo=True) == "local"


# --- modes, settings, lockout, expiry -------------------------------------------------------------


def test_the_mode_auto_chooses(tmp_path):
    chosen = AccessSettings(accounts_file=tmp_path / "accounts.json")
    assert resolve_mode(chosen, oidc_configured=False, demo=True) == "open"
    assert resolve_mode(chosen, oidc_configured=False, demo=False) == "closed"
    assert resolve_mode(chosen, oidc_configured=True, demo=False) == "oidc"
    Accounts(chosen.accounts_file).add("alice", "admin", PASSWORD)
    assert resolve_mode(chosen, oidc_configured=False, demo=True) == "local"
    assert resolve_mode(chosen, oidc_configured=False, demo=False) == "local"
    explicit = AccessSettings(mode="open", accounts_file=chosen.accounts_file)
    assert resolve_mode(explicit, oidc_configured=True, demo=False) == "open"


def test_access_settings_from_the_config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_ACCESS_MODE")
    config = tmp_path / "config.toml"
    config.write_text('[access]\nmode = "local"\naccounts_file = "users.json"\nidle_minutes = 5\n')
    chosen = access_settings(config)
    assert (chosen.mode, chosen.idle_minutes, chosen.max_hours) == ("local", 5, 8)
    assert chosen.accounts_file == tmp_path / "users.json"
    monkeypatch.setenv("OUTCOMES_ACCESS_MODE", "oidc")
    assert access_settings(config).mode == "oidc"
    monkeypatch.setenv("OUTCOMES_ACCESS_MODE", "everyone")
    with pytest.raises(AccessError, match="expected one of auto, oidc, local, open"):
        access_settings(config)
    monkeypatch.delenv("OUTCOMES_ACCESS_MODE")
    config.write_text('[access]\noidc_default_role = "root"\n')
    with pytest.raises(AccessError, match="oidc_default_role"):
        access_settings(config)


def test_the_project_config_has_safe_defaults():
    chosen = access_settings(REPO / "config.toml")
    assert chosen.oidc_default_role == ""  # people the council has not added are refused
    assert chosen.idle_minutes <= 60 and chosen.max_hours <= 12
    assert not str(chosen.accounts_file).startswith(str(REPO))  # outside git


def test_five_failures_lock_a_name_for_the_window():
    failures = FailedSignIns(max_failures=5, lockout_minutes=15)
    for minute in range(4):
        failures.record("alice", now=minute * 60)
    assert not failures.locked("alice", now=5 * 60)
    failures.record("ALICE", now=5 * 60)
    assert failures.locked("alice", now=6 * 60)
    assert not failures.locked("bob", now=6 * 60)
    assert not failures.locked("alice", now=(5 + 15) * 60 + 1)  # all but one are old enough
    failures.clear("alice")
    assert not failures.locked("alice", now=6 * 60)


def test_a_lockout_kept_in_a_file_holds_across_processes_and_restarts(tmp_path):
    path = tmp_path / "accounts.failures.json"
    one, other = (FailedSignIns(5, 15, path) for _ in range(2))  # two app processes
    now = time.time()
    for n in range(3):
        one.record("Alice", now=now + n)
    for n in range(2):
        other.record("alice ", now=now + 3 + n)
    assert one.locked("alice", now=now + 10) and other.locked("ALICE", now=now + 10)
    assert FailedSignIns(5, 15, path).locked("alice", now=now + 10)  # after a restart
    assert not other.locked("bob", now=now + 10)
    assert "alice" not in path.read_text().lower()  # names are kept as hashes
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    other.clear("alice")
    assert not one.locked("alice", now=now + 10)
    path.write_text("{not json")
    assert not one.locked("alice", now=now + 10)  # a damaged file locks nobody out
    one.record("alice", now=now)
    assert one.locked("alice", now=now) is False and json.loads(path.read_text())


def test_sessions_expire_when_idle_or_old():
    chosen = AccessSettings(idle_minutes=30, max_hours=8)
    start = 1_000_000.0
    session = Session("alice", "viewer", "local", signed_in_at=start, last_seen=start)
    assert expiry_reason(session, chosen, now=start + 29 * 60) == ""
    assert "no activity for 30 minutes" in expiry_reason(session, chosen, now=start + 31 * 60)
    session.last_seen = start + 8 * 3600
    assert "more than 8 hours" in expiry_reason(session, chosen, now=start + 8 * 3600 + 60)
    always = Session("everyone", "admin", "open", signed_in_at=start, last_seen=start)
    assert expiry_reason(always, chosen, now=start + 10**6) == ""


def test_identity_provider_roles_come_from_the_accounts_file(tmp_path):
    chosen = AccessSettings(accounts_file=tmp_path / "a.json", oidc_default_role="")
    Accounts(chosen.accounts_file).add("dan@council.gov.uk", "analyst")
    assert oidc_role("Dan@Council.gov.uk", chosen) == "analyst"
    assert oidc_role("eve@elsewhere.com", chosen) == ""
    assert oidc_role("", chosen) == ""
    welcoming = AccessSettings(accounts_file=chosen.accounts_file, oidc_default_role="viewer")
    assert oidc_role("eve@elsewhere.com", welcoming) == "viewer"


# --- the audit log --------------------------------------------------------------------------------


def test_the_audit_log_chains_its_entries(tmp_path):
    log = AuditLog(tmp_path / "store.audit.jsonl")
    first = log.append("sign_in", "alice", "analyst", via="local")
    second = log.append("export", "alice", "analyst", file="a.csv", rows=12)
    assert first["previous"] == GENESIS and second["previous"] == first["hash"]
    assert log.verify() == []
    table = log.table()
    assert list(table["event"]) == ["Exported", "Signed in"]  # newest first
    assert table.loc[0, "details"] == "file: a.csv; rows: 12"
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600


def _tampered(log: AuditLog, change) -> list[int]:
    lines = log.path.read_text().splitlines()
    change(lines)
    log.path.write_text("\n".join(lines) + "\n")
    return [problem.line for problem in log.verify()]


def test_an_edited_removed_or_inserted_entry_is_found(tmp_path):
    def fresh(name):
        log = AuditLog(tmp_path / name)
        for user in ("alice", "bob", "carol", "dan"):
            log.append("sign_in", user, "viewer")
        return log

    def edit(lines):
        lines[1] = lines[1].replace('"bob"', '"mallory"')

    assert _tampered(fresh("a.jsonl"), edit) == [2]
    assert _tampered(fresh("b.jsonl"), lambda lines: lines.pop(1)) == [2]
    assert _tampered(fresh("c.jsonl"), lambda lines: lines.insert(2, lines[0])) == [3, 4]


def test_an_unknown_event_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown audit event"):
        AuditLog(tmp_path / "log.jsonl").append("looked_at_child_42", "alice")


def test_many_writers_at_once_keep_the_chain_whole(tmp_path):
    path = tmp_path / "log.jsonl"
    threads = [
        threading.Thread(
            target=lambda n=n: [AuditLog(path).append("export", f"user{n}") for _ in range(25)]
        )
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # and another process, as the command line is
    script = (
        "from framework.audit import AuditLog;"
        f"[AuditLog({str(path)!r}).append('upload', 'cli') for _ in range(20)]"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, env={**os.environ})
    log = AuditLog(path)
    assert len(log.entries()) == 8 * 25 + 20
    assert log.verify() == []


def test_details_are_short_text_and_numbers(tmp_path):
    entry = AuditLog(tmp_path / "log.jsonl").append(
        "upload", "alice", files="x" * 2000, rows=3, missing=None, when=object()
    )
    assert len(entry["details"]["files"]) == 500
    assert entry["details"]["rows"] == 3 and "missing" not in entry["details"]
    assert isinstance(entry["details"]["when"], str)


# --- the command line -----------------------------------------------------------------------------


def _cli(config: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "framework", "--config", str(config), "user", *args],
        input=password,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "OUTCOMES_ACCESS_MODE"},
        check=False,
    )


def test_the_user_command_manages_accounts_and_is_audited(tmp_path):
    config = _config(tmp_path, mode="local")
    added = _cli(config, "add", "alice", "--role", "admin", "--password-stdin", password=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "Added alice (admin" in added.stdout
    assert _cli(config, "add", "bob@council.gov.uk", "--role", "viewer", "--identity-provider")
    listed = _cli(config, "list").stdout
    assert "alice\tadmin\tlocal" in listed and "bob@council.gov.uk\tviewer" in listed
    last_admin = _cli(config, "role", "alice", "viewer")
    assert last_admin.returncode == 1 and "only admin" in last_admin.stderr
    assert _cli(config, "remove", "alice").returncode == 1
    weak = _cli(config, "password", "alice", "--password-stdin", password="short")
    assert weak.returncode == 1 and "too short" in weak.stderr
    assert _cli(config, "remove", "bob@council.gov.uk").returncode == 0
    log = AuditLog(tmp_path / "store.audit.jsonl")
    assert [e["event"] for e in log.entries()] == ["user_added", "user_added", "user_removed"]
    assert log.entries()[0]["user"].startswith("command line (")
    assert PASSWORD not in log.path.read_text()


# --- the app --------------------------------------------------------------------------------------


def _config(tmp_path: Path, *, mode: str, **access) -> Path:
    text = (REPO / "config.toml").read_text()
    text = text.replace('path = "data/outcomes.duckdb"', f'path = "{tmp_path / "store.duckdb"}"')
    text = text.replace(
        'accounts_file = "~/.config/outcomes-explorer/accounts.json"',
        f'accounts_file = "{tmp_path / "accounts.json"}"',
    )
    text = text.replace('mode = "auto"', f'mode = "{mode}"')
    for name, value in access.items():  # e.g. max_failures=3
        text = re.sub(rf"(?m)^{name} = .*$", f"{name} = {value}", text)
    config = tmp_path / "config.toml"
    config.write_text(text)
    return config


@pytest.fixture
def app_with(tmp_path, monkeypatch):
    """The app on the demo store with sign-in configured as asked; accounts alice (admin),
    ann (analyst) and vic (viewer)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    if not DEMO_STORE.exists():
        pytest.skip("the demo store is not built (python -m framework demo-store)")
    accounts = Accounts(tmp_path / "accounts.json")
    for name, role in (("alice", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        accounts.add(name, role, PASSWORD)

    def start(mode: str, *, demo: bool = True, user: dict | None = None, **access):
        monkeypatch.delenv("OUTCOMES_ACCESS_MODE", raising=False)
        monkeypatch.setenv("OUTCOMES_CONFIG", str(_config(tmp_path, mode=mode, **access)))
        monkeypatch.setenv("OUTCOMES_MODE", "demo" if demo else "local")
        monkeypatch.setenv("OUTCOMES_WARM_UP", "0")
        monkeypatch.chdir(REPO)
        st.cache_data.clear()
        st.cache_resource.clear()
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        if user is not None:
            app.user = user
        return app.run()

    return start


def _audit(tmp_path) -> list[dict]:
    return AuditLog(tmp_path / "store.audit.jsonl").entries()


def _sign_in(app, name: str, password: str = PASSWORD):
    [user] = [w for w in app.text_input if w.label == "User name"]
    [secret] = [w for w in app.text_input if w.label == "Password"]
    user.input(name)
    secret.input(password)
    [button] = [b for b in app.button if b.label == "Sign in"]
    return button.click().run()


def _page_titles(app) -> set[str]:
    return {t.value for t in app.title}


def _sidebar_text(app) -> str:
    return " ".join(c.value for c in app.sidebar.caption)


def test_local_sign_in_shows_nothing_before_it(app_with, tmp_path):
    app = app_with("local")
    assert not app.exception
    assert _page_titles(app) == {"Outcomes Explorer"}
    assert not app.metric and not app.dataframe  # no figure before sign-in
    assert [w.label for w in app.text_input] == ["User name", "Password"]


def test_a_wrong_password_is_refused_and_audited(app_with, tmp_path):
    app = _sign_in(app_with("local"), "vic", "not the password")
    assert "do not match" in app.error[0].value
    unknown = _sign_in(app, "nobody", PASSWORD)
    assert unknown.error[0].value == app.error[0].value  # the same words: nothing learnt
    entries = _audit(tmp_path)
    assert [(e["event"], e["user"]) for e in entries] == [
        ("sign_in_failed", "vic"),
        ("sign_in_failed", "nobody"),
    ]
    assert "not the password" not in json.dumps(entries)


@pytest.mark.parametrize(
    ("name", "role", "child_level", "admin"),
    [
        ("vic", "viewer", False, False),
        ("ann", "analyst", True, False),
        ("alice", "admin", True, True),
    ],
)
def test_each_role_gets_its_pages(app_with, tmp_path, name, role, child_level, admin):
    app = _sign_in(app_with("local"), name)
    assert not app.exception
    assert f"Signed in as **{name}** ({role})" in _sidebar_text(app)
    assert _page_titles(app) == {"Outcomes at a glance"}  # the first page is drawn
    for page, title, allowed in (
        ("app_pages/tracker.py", "Child-level tracker", child_level),
        ("app_pages/admin.py", "Users and audit", admin),
    ):
        fresh = _sign_in(app_with("local"), name)
        if allowed:
            assert title in _page_titles(fresh.switch_page(page).run())
        else:  # not in the navigation: it cannot be opened, even by its address
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                fresh.switch_page(page)
    assert _audit(tmp_path)[0]["event"] == "sign_in"


@pytest.mark.parametrize(("page", "title"), [("tracker", "child-level"), ("admin", "Users")])
def test_a_page_refuses_a_role_it_does_not_allow_even_when_run_directly(
    app_with, tmp_path, page, title
):
    """Defence in depth: each restricted page checks the role itself."""
    from streamlit.testing.v1 import AppTest

    app_with("local")  # the configuration and the store
    app = AppTest.from_file(str(REPO / "app_pages" / f"{page}.py"), default_timeout=60)
    app.session_state["access_session"] = Session(
        "vic", "viewer", "local", time.time(), time.time()
    )
    app.run()
    assert "needs the" in app.error[0].value
    assert not app.dataframe
    refused = _audit(tmp_path)[-1]
    assert (refused["event"], refused["user"]) == ("access_refused", "vic")


def test_a_viewer_cannot_load_files(app_with):
    app = _sign_in(app_with("local"), "vic").switch_page("app_pages/data_loaded.py").run()
    assert not app.get("file_uploader")
    assert any("needs the analyst role" in c.value for c in app.caption)
    analyst = _sign_in(app_with("local"), "ann").switch_page("app_pages/data_loaded.py").run()
    assert analyst.get("file_uploader")


def test_five_failures_lock_the_name(app_with, tmp_path):
    app = app_with("local", max_failures=3)
    for _ in range(3):
        app = _sign_in(app, "ann", "wrong password!!")
    app = _sign_in(app, "ann")  # the right password, but the name is locked
    assert "Too many failed sign-ins" in app.error[0].value
    assert "Signed in as" not in _sidebar_text(app)
    assert [e["event"] for e in _audit(tmp_path)][-1] == "sign_in_locked"


def test_an_idle_session_expires(app_with, tmp_path, monkeypatch):
    import app_pages.access

    app = _sign_in(app_with("local"), "ann")
    later = time.time() + 31 * 60
    monkeypatch.setattr(app_pages.access, "_now", lambda: later)
    app = app.run()
    assert "Your session ended: no activity for 30 minutes" in app.warning[0].value
    assert [w.label for w in app.text_input] == ["User name", "Password"]
    assert [e["event"] for e in _audit(tmp_path)] == ["sign_in", "session_expired"]


def test_signing_out(app_with, tmp_path):
    app = _sign_in(app_with("local"), "ann")
    [out] = [b for b in app.sidebar.button if b.label == "Sign out"]
    app = out.click().run()
    assert [w.label for w in app.text_input] == ["User name", "Password"]
    assert [e["event"] for e in _audit(tmp_path)] == ["sign_in", "sign_out"]


def test_the_authoritys_data_stays_closed_until_sign_in_is_set_up(app_with, tmp_path):
    Accounts(tmp_path / "accounts.json").path.unlink()
    app = app_with("auto", demo=False)
    assert "Sign-in has not been set up" in app.error[0].value
    assert not app.metric and not app.dataframe


def test_the_demo_opens_without_sign_in(app_with, tmp_path):
    Accounts(tmp_path / "accounts.json").path.unlink()
    app = app_with("auto")
    assert not app.exception
    assert "No sign-in" in _sidebar_text(app)


def test_identity_provider_sign_in(app_with, tmp_path):
    Accounts(tmp_path / "accounts.json").add("dan@council.gov.uk", "analyst")
    now = int(time.time())
    app = app_with("oidc", user={"is_logged_in": True, "email": "dan@council.gov.uk", "iat": now})
    assert not app.exception
    assert "Signed in as **dan@council.gov.uk** (analyst)" in _sidebar_text(app)
    stranger = app_with(
        "oidc", user={"is_logged_in": True, "email": "eve@elsewhere.com", "iat": now}
    )
    assert "have not been given access" in stranger.error[0].value
    assert not stranger.metric
    nobody = app_with("oidc", user={"is_logged_in": False})
    assert [b.label for b in nobody.button] == ["Sign in"]
    events = [(e["event"], e["user"]) for e in _audit(tmp_path)]
    assert events == [
        ("sign_in", "dan@council.gov.uk"),
        ("access_refused", "eve@elsewhere.com"),
    ]


def test_an_old_identity_is_asked_again(app_with, tmp_path):
    Accounts(tmp_path / "accounts.json").add("dan@council.gov.uk", "analyst")
    old = int(time.time()) - 9 * 3600
    app = app_with("oidc", user={"is_logged_in": True, "email": "dan@council.gov.uk", "iat": old})
    assert "Signed in as" not in _sidebar_text(app)
    assert _audit(tmp_path)[0]["event"] == "session_expired"


def test_an_admin_adds_a_user_and_reads_the_log(app_with, tmp_path):
    app = _sign_in(app_with("local"), "alice").switch_page("app_pages/admin.py").run()
    assert not app.exception
    assert "entries, each linked to the one before" in app.success[0].value
    [name] = [w for w in app.text_input if w.label.startswith("User name, or e-mail")]
    name.input("nina")
    [secret] = [w for w in app.text_input if w.label.startswith("Password (at least")]
    secret.input("another long passphrase")
    [role] = [s for s in app.selectbox if s.label == "Role"]
    role.set_value("analyst")
    [add] = [b for b in app.button if b.label == "Add"]
    app = add.click().run()
    assert Accounts(tmp_path / "accounts.json").check("nina", "another long passphrase").role == (
        "analyst"
    )
    entry = _audit(tmp_path)[-1]
    assert (entry["event"], entry["user"], entry["details"]["target"]) == (
        "user_added",
        "alice",
        "nina",
    )
    log = app.dataframe[0].value
    assert list(log.columns) == ["time", "user", "role", "event", "details"]


def test_the_admin_page_says_when_the_log_was_altered(app_with, tmp_path):
    app = _sign_in(app_with("local"), "alice")
    path = tmp_path / "store.audit.jsonl"
    path.write_text(path.read_text().replace('"alice"', '"mallory"'))
    app = app.switch_page("app_pages/admin.py").run()
    assert "The log has been altered: entry 1: changed after it was written" in app.error[0].value


def test_the_last_admin_cannot_be_demoted_on_the_page(app_with, tmp_path):
    app = _sign_in(app_with("local"), "alice").switch_page("app_pages/admin.py").run()
    [who] = [s for s in app.selectbox if s.label == "User"]
    who.set_value("alice")
    [new_role] = [s for s in app.selectbox if s.label == "New role"]
    new_role.set_value("viewer")
    app = next(b for b in app.button if b.label == "Change role").click().run()
    assert "There must remain at least one admin." in [e.value for e in app.error]
    assert Accounts(tmp_path / "accounts.json").get("alice").role == "admin"
