"""``python -m framework user ...``: the accounts file from the server's command line.

    python -m framework user add alice --role admin            (asks for the password twice)
    python -m framework user add bob@council.gov.uk --role viewer --identity-provider
    python -m framework user list
    python -m framework user role alice analyst
    python -m framework user password alice
    python -m framework user remove bob@council.gov.uk

Passwords are read without echo, or from standard input with ``--password-stdin`` (for
scripts). Each change is written to the audit log as done by the command line's user.
"""

from __future__ import annotations

import getpass
import os
import sys

from framework.access import ROLES, AccessError, Accounts, access_settings
from framework.audit import AuditLog, audit_path
from framework.config import load_settings


def add_user_commands(commands) -> None:
    user = commands.add_parser("user", help="sign-in accounts and roles (local accounts file)")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user")
    add.add_argument("name", help="user name, or e-mail for the identity provider")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument(
        "--identity-provider",
        action="store_true",
        help="signs in through the council's identity provider (st.login): no password",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    actions.add_parser("list", help="list users and roles")
    role = actions.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    password = actions.add_parser("password", help="set a user's password")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    remove = actions.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    user.set_defaults(run=run_user)


def run_user(args) -> int:
    settings = load_settings(args.config)
    access = access_settings(settings.source)
    accounts = Accounts(access.accounts_file)
    log = AuditLog(audit_path(settings.store_path, access.audit_log))
    actor = f"command line ({_unix_user()})"
    try:
        if args.action == "list":
            return _list(accounts)
        if args.action == "add":
            secret = None if args.identity_provider else _password(args.password_stdin)
            account = accounts.add(args.name, args.role, secret)
            log.append("user_added", actor, target=account.name, new_role=account.role)
            print(f"Added {account.name} ({account.role}, signs in with {account.kind}).")
        elif args.action == "role":
            _keep_an_admin(accounts, args.name, args.role)
            accounts.set_role(args.name, args.role)
            log.append("role_changed", actor, target=args.name, new_role=args.role)
            print(f"{args.name} is now {args.role}.")
        elif args.action == "password":
            accounts.set_password(args.name, _password(args.password_stdin))
            log.append("password_changed", actor, target=args.name)
            print(f"{args.name}'s password changed.")
        elif args.action == "remove":
            _keep_an_admin(accounts, args.name, None)
            accounts.remove(args.name)
            log.append("user_removed", actor, target=args.name)
            print(f"Removed {args.name}.")
    except AccessError as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    print(f"Accounts file: {accounts.path}")
    return 0


def _list(accounts: Accounts) -> int:
    known = accounts.all()
    if not known:
        print(f"No users yet ({accounts.path}).")
    for account in known.values():
        print(f"{account.name}\t{account.role}\t{account.kind}\t{account.added[:10]}")
    return 0


def _keep_an_admin(accounts: Accounts, name: str, new_role: str | None) -> None:
    admins = [a for a in accounts.all().values() if a.role == "admin"]
    leaving = [a for a in admins if a.name.lower() == name.strip().lower()]
    if leaving and len(admins) == 1 and new_role != "admin":
        raise AccessError(f"{name} is the only admin: add another admin first.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Again: ") != first:
        raise AccessError("The two passwords differ.")
    return first


def _unix_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
