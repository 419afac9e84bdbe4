"""``citydata portal-user …``: the portal's accounts (``Settings.accounts_path``)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from rich.table import Table

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings
from citydata.errors import CityDataError

portal_user_app = typer.Typer(help="Portal accounts: who may sign in, with which role, department and domain.",
                              no_args_is_help=True)


def _store():
    from citydata.portal.accounts import AccountStore

    return AccountStore(_settings().accounts_path)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise CityDataError("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@portal_user_app.command("add")
def add(
    user: str = typer.Argument(..., help="The account id (what the user signs in with)."),
    role: str = typer.Option(..., help="registered_consumer, department_staff, bureau_analyst, steward or admin."),
    department: str = typer.Option(None, help="The department they work for (needed by steward and department_staff)."),
    domain: str = typer.Option(None, help="The consumer domain whose pseudonyms they receive."),
    display_name: str = typer.Option(None, help="The name the portal shows (default: the account id)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input "
                                                                        "(one line) instead of prompting."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing account (e.g. a new password)."),
) -> None:
    """Add a portal account; the password is prompted for (hidden, twice) or read from stdin."""
    from citydata.portal.accounts import ROLES

    if role not in ROLES:  # before asking for a password
        raise CityDataError(f"role {role!r} is not one of {', '.join(ROLES)}")
    password = _password(password_stdin)
    with _store() as store:
        added = store.add_user(user, password, role, now=datetime.now(UTC), department=department, domain=domain,
                               display_name=display_name, replace=replace)
        where = store.path
    console.print(f"portal user {added.id} ({added.role}{', ' + added.department if added.department else ''})"
                  f" {'replaced' if replace else 'added'} in {where}", soft_wrap=True, highlight=False)


@portal_user_app.command("list")
def list_() -> None:
    """The portal's accounts."""
    with _store() as store:
        users = store.users()
    table = Table("user", "role", "department", "domain", "display name")
    for u in users:
        table.add_row(u.id, u.role, u.department or "", u.domain or "", u.display_name)
    console.print(table)
