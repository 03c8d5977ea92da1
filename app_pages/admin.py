"""Users and audit (admins only): who may use the app with which role, and the audit log of
sign-ins, child-level views, exports and uploads. The rules are framework/access.py and
framework/audit.py; this page only asks and draws."""

import dataclasses

import streamlit as st

from app_pages.access import audit_log, chosen, mode, record, require
from app_pages.downloads import audited
from framework.access import ROLES, AccessError, Accounts
from framework.audit import EVENTS
from framework.export import text_csv

session = require("manage_users", "The Users and audit page")
LOG_FILE = "outcomes-explorer-audit-log.csv"
access = chosen()
accounts = Accounts(access.accounts_file)

st.title("Users and audit")
st.caption(
    "Viewers see the aggregate pages and export them; analysts also see the child-level "
    "tracker and load files; admins also manage users and read the audit log."
)

# --- the audit log ------------------------------------------------------------------------------

st.header("Audit log")
log = audit_log()
problems = log.verify()
entries = log.table()
if problems:
    st.error(
        "The log has been altered: "
        + "; ".join(f"entry {p.line}: {p.problem}" for p in problems[:10]),
        icon=":material/gpp_bad:",
    )
elif len(entries):
    st.success(
        f"{len(entries):,} entries, each linked to the one before: none has been changed, "
        "removed or added since it was written.",
        icon=":material/verified_user:",
    )
st.caption(f"Kept in `{log.path}`, only ever added to. Times are UTC.")
left, middle, right = st.columns(3)
events = left.multiselect("Events", sorted(set(EVENTS.values())), placeholder="All events")
users = middle.multiselect("Users", sorted(set(entries["user"])), placeholder="All users")
last = right.number_input("Most recent entries", 10, 100_000, 500, step=100)
shown = entries
if events:
    shown = shown[shown["event"].isin(events)]
if users:
    shown = shown[shown["user"].isin(users)]
st.dataframe(shown.head(int(last)), hide_index=True, width="stretch")
st.download_button(
    "Download the log (CSV)",
    # Audited like any export; user names typed at sign-in could hold a formula, so defused.
    data=audited(LOG_FILE, "audit log", permission="read_audit")(lambda: text_csv(entries)),
    file_name=LOG_FILE,
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)

# --- users --------------------------------------------------------------------------------------

st.header("Users")
how = mode()
st.caption(
    f"Sign-in: **{how}**. Accounts file: `{access.accounts_file}` (outside the project, "
    f"readable only by the server's user). Sessions end after {access.idle_minutes:g} minutes "
    f"without activity and {access.max_hours:g} hours after sign-in."
)
try:
    known = accounts.all()
except AccessError as broken:
    st.error(str(broken))
    st.stop()
table = [
    {"user": a.name, "role": a.role, "signs in with": a.kind, "added": a.added[:10]}
    for a in known.values()
]
st.dataframe(table, hide_index=True, width="stretch")

if how == "open":
    st.info(
        "No sign-in is in use, so users cannot be managed here (anyone could). Add the first "
        "admin on the server: `python -m framework user add NAME --role admin`; the app then "
        "asks everyone to sign in.",
        icon=":material/info:",
    )
    st.stop()


def _admins(after: dict) -> int:
    return sum(1 for a in after.values() if a.role == "admin")


def _change(action, event: str, message: str, **details) -> None:
    try:
        action()
    except AccessError as refused:
        st.error(str(refused))
        return
    record(event, **details)
    st.success(message)


with (
    st.expander("Add a user", icon=":material/person_add:"),
    st.form("add-user", clear_on_submit=True),
):
    name = st.text_input("User name, or e-mail for the identity provider")
    role = st.selectbox("Role", ROLES)
    idp = st.checkbox(
        "Signs in through the identity provider (no password here)",
        value=how == "oidc",
    )
    password = st.text_input("Password (at least 12 characters)", type="password")
    if st.form_submit_button("Add", type="primary"):
        _change(
            lambda: accounts.add(name, role, None if idp else password),
            "user_added",
            f"{name} added as {role}.",
            target=name,
            new_role=role,
        )

if known:
    with st.expander("Change a user", icon=":material/manage_accounts:"):
        names = [a.name for a in known.values()]
        who = st.selectbox("User", names)
        new_role = st.selectbox("New role", ROLES, key="new-role")
        if st.button("Change role"):
            after = {**known, who.lower(): dataclasses.replace(known[who.lower()], role=new_role)}
            if _admins(after) == 0:
                st.error("There must remain at least one admin.")
            else:
                _change(
                    lambda: accounts.set_role(who, new_role),
                    "role_changed",
                    f"{who} is now {new_role}.",
                    target=who,
                    new_role=new_role,
                )
        new_password = st.text_input("New password", type="password", key="new-password")
        if st.button("Set password"):
            _change(
                lambda: accounts.set_password(who, new_password),
                "password_changed",
                f"{who}'s password changed.",
                target=who,
            )
        if st.button("Remove this user", type="secondary"):
            after = {k: v for k, v in known.items() if k != who.lower()}
            if who.lower() == session.user.lower():
                st.error("You cannot remove yourself.")
            elif _admins(after) == 0:
                st.error("There must remain at least one admin.")
            else:
                _change(lambda: accounts.remove(who), "user_removed", f"{who} removed.", target=who)
