"""Sign-in, roles and the audit log on the Streamlit side (the rules are framework/access.py).

``app.py`` calls ``signed_in()`` before it builds the navigation: nobody reaches a page without
a session, and the navigation lists only the pages the session's role allows. Pages that need
more than viewing call ``require(...)`` again (a page can be reached by its address), and
exports and uploads check the role when the file is made. Every sign-in, failure, expiry,
child-level view, export and upload is written to the audit log.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import streamlit as st

from app_pages.common import settings, showing_demo
from framework.access import (
    MODE_ENV,
    PERMISSIONS,
    AccessError,
    AccessSettings,
    Accounts,
    FailedSignIns,
    Session,
    access_settings,
    expiry_reason,
    failures_path,
    oidc_role,
    resolve_mode,
)
from framework.audit import AuditLog, audit_path

SESSION_KEY = "access_session"
EXPIRED_KEY = "access_expired"  # why the last session ended, said above the sign-in form
USER_LABEL, PASSWORD_LABEL, SIGN_IN_LABEL = "User name", "Password", "Sign in"
OPEN_USER = "everyone (no sign-in)"


def chosen() -> AccessSettings:
    """The ``[access]`` settings, read again only when the config file or the mode's
    environment variable changes (every page run and every download button asks)."""
    source = settings().source
    return _access_settings(str(source), source.stat().st_mtime, os.environ.get(MODE_ENV))


@st.cache_resource(max_entries=4, show_spinner=False)
def _access_settings(path: str, modified: float, mode_override: str | None) -> AccessSettings:
    return access_settings(Path(path))


def audit_log() -> AuditLog:
    """One log per installation, beside the authority's own store (also while the demo is
    shown: the demo's sign-ins are accountable too)."""
    return AuditLog(audit_path(settings().store_path, chosen().audit_log))


@st.cache_resource
def _failed_sign_ins(max_failures: int, lockout_minutes: float, path: Path) -> FailedSignIns:
    # Kept in a file beside the accounts: a lockout holds across browser sessions, app
    # processes and restarts.
    return FailedSignIns(max_failures, lockout_minutes, path)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def mode() -> str:
    return resolve_mode(chosen(), oidc_configured=_oidc_configured(), demo=showing_demo())


def current() -> Session | None:
    return st.session_state.get(SESSION_KEY)


def record(event: str, session: Session | None = None, **details) -> None:
    """Write an audit entry for this session's user."""
    session = session or current()
    user, role = (session.user, session.role) if session else ("", "")
    audit_log().append(event, user, role, **details)


# --- the gate -----------------------------------------------------------------------------------


def signed_in() -> Session | None:
    """The session of whoever is using the app, or None when nobody is signed in (or the
    session has just expired): the app then shows only ``sign_in_page``."""
    access = chosen()
    session = current()
    if session is not None:
        reason = expiry_reason(session, access, now=_now())
        if not reason:
            session.last_seen = _now()
            return session
        _expire(session, reason)
    if mode() == "open":
        return _start(OPEN_USER, access.open_role, "open", log=False)
    return None


def sign_in_page() -> None:
    """The only page of the app before sign-in, whatever address was asked for."""
    how = mode()
    if how == "closed":
        _closed()
    elif how == "oidc":
        _oidc_sign_in(chosen())
    else:
        _local_sign_in(chosen())


def _now() -> float:
    return time.time()  # one place, so that tests can move the clock


def _start(user: str, role: str, via: str, *, log: bool = True) -> Session:
    now = _now()
    session = Session(user=user, role=role, via=via, signed_in_at=now, last_seen=now)
    st.session_state[SESSION_KEY] = session
    st.session_state.pop(EXPIRED_KEY, None)
    if log:
        record("sign_in", session, via=via)
    return session


def _expire(session: Session, reason: str) -> None:
    record("session_expired", session, reason=reason)
    del st.session_state[SESSION_KEY]
    st.session_state[EXPIRED_KEY] = f"Your session ended: {reason}. Please sign in again."
    if session.via == "oidc":
        st.logout()  # the identity cookie goes too, or the next run would sign straight in


def sign_out() -> None:
    session = current()
    if session is None:
        return
    record("sign_out", session)
    del st.session_state[SESSION_KEY]
    if session.via == "oidc":
        st.logout()
    st.rerun()


def _heading() -> None:
    st.title("Outcomes Explorer")
    expired = st.session_state.get(EXPIRED_KEY)
    if expired:
        st.warning(expired, icon=":material/timer_off:")


def _local_sign_in(access: AccessSettings) -> None:
    _heading()
    with st.form("sign-in", enter_to_submit=True):
        name = st.text_input(USER_LABEL, autocomplete="username")
        password = st.text_input(PASSWORD_LABEL, type="password", autocomplete="current-password")
        submitted = st.form_submit_button(SIGN_IN_LABEL, type="primary")
    if not submitted:
        return
    failures = _failed_sign_ins(
        access.max_failures, access.lockout_minutes, failures_path(access.accounts_file)
    )
    if failures.locked(name):
        audit_log().append("sign_in_locked", name.strip()[:100])
        st.error(
            f"Too many failed sign-ins for this user name: try again in "
            f"{access.lockout_minutes:g} minutes, or ask an admin.",
            icon=":material/lock:",
        )
        return
    try:
        account = Accounts(access.accounts_file).check(name, password)
    except AccessError as broken:
        st.error(f"Sign-in is not available: {broken}", icon=":material/error:")
        return
    if account is None:
        failures.record(name)
        audit_log().append("sign_in_failed", name.strip()[:100])
        # The same words for an unknown name and a wrong password: nothing to learn from it.
        st.error("That user name and password do not match.", icon=":material/error:")
        return
    failures.clear(name)
    _start(account.name, account.role, "local")
    st.rerun()


def _oidc_sign_in(access: AccessSettings) -> None:
    if not st.user.is_logged_in:
        _heading()
        st.write("Sign in with your organisation's account.")
        if st.button(SIGN_IN_LABEL, type="primary", icon=":material/login:"):
            st.login()
        return
    email = str(st.user.get("email") or "")
    issued = st.user.get("iat")
    if isinstance(issued, int | float) and _now() - issued > access.max_hours * 3600:
        # The identity cookie outlives a working day; the provider is asked again.
        audit_log().append("session_expired", email, reason="identity older than max_hours")
        st.logout()
        return
    role = oidc_role(email, access)
    if not role:
        audit_log().append("access_refused", email, reason="not in the accounts file")
        _heading()
        st.error(
            f"You are signed in as {email or 'an account without an e-mail address'}, but "
            "you have not been given access to the Outcomes Explorer. Ask its admin to add you.",
            icon=":material/block:",
        )
        if st.button("Sign out"):
            st.logout()
        return
    _start(email, role, "oidc")
    st.rerun()


def _closed() -> None:
    _heading()
    st.error(
        "Sign-in has not been set up, and this installation holds the authority's own data, "
        "so nothing is shown.",
        icon=":material/lock:",
    )
    st.markdown(
        "An administrator sets up sign-in on the server (see the README, *Sign-in and roles*):\n"
        "\n* **local accounts**: `python -m framework user add NAME --role admin`, then sign in "
        "and add the others on the *Users and audit* page; or\n"
        "* **the council's identity provider** (OpenID Connect): an `[auth]` section in "
        "`.streamlit/secrets.toml`, and each person's e-mail and role with "
        "`python -m framework user add EMAIL --role viewer --identity-provider`."
    )


# --- on every page -------------------------------------------------------------------------------


def sidebar_account(session: Session) -> None:
    with st.sidebar:
        if session.via == "open":
            st.caption(
                f"No sign-in: everyone using this server is **{session.role}**"
                + (" (the demo authority is fictional)." if showing_demo() else ".")
            )
            return
        st.caption(f"Signed in as **{session.user}** ({session.role})")
        if st.button("Sign out", icon=":material/logout:", key="sign-out"):
            sign_out()


def require(permission: str = "view_aggregate", what: str = "This page") -> Session:
    """Called first by every page: stop the page unless someone is signed in with a role
    that allows ``permission`` (refusals are said and audited); then the sidebar says who.

    app.py has already checked sign-in, but a page must not rely on it: Streamlit runs a
    script from app_pages/ on its own when a fresh server's first request names it."""
    session = signed_in()
    if session is None:
        sign_in_page()
        st.stop()
    if not session.allows(permission):
        record("access_refused", session, page=what, needs=permission)
        st.error(f"{what} needs the {PERMISSIONS[permission]} role.", icon=":material/block:")
        st.stop()
    sidebar_account(session)
    return session


def may(permission: str) -> bool:
    """Whether the signed-in user may (for parts of a page: the uploader, the download
    buttons). Checked again when the action happens."""
    session = current() or signed_in()  # the page's require() has checked expiry already
    return session is not None and session.allows(permission)
