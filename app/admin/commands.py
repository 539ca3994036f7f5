"""`kramar admin ...`: panel accounts from the shell (the first owner has no panel to use yet)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from app.config import get_settings

if TYPE_CHECKING:
    from app.config import Settings

ROLE = click.Choice(["owner", "manager"])


@click.group("admin")
def admin() -> None:
    """Accounts of the web panel at /admin."""


def _password(from_stdin: bool) -> str:
    """From stdin's first line (scripts, CI), or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@admin.command("create-user")
@click.argument("username")
@click.option("--role", type=ROLE, default="manager", show_default=True, help="owner or manager.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin's first line.")
def create_user(username: str, role: str, password_stdin: bool) -> None:
    """Create the panel account USERNAME (owners also manage accounts and the shop's texts)."""
    from app.cli import run  # here: app.cli imports this module

    run(_create(get_settings(), username, _password(password_stdin), role))


@admin.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin's first line.")
def set_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password; every session of the account ends."""
    from app.cli import run

    run(_set_password(get_settings(), username, _password(password_stdin)))


async def _create(settings: Settings, username: str, password: str, role: str) -> int:
    from app.admin.errors import AdminError
    from app.admin.users import AdminUsers
    from app.db.runtime import open_database

    async with open_database(settings) as db:
        try:
            user = await AdminUsers(db.session_factory).create(username, password, role)
        except AdminError as error:
            click.echo(f"not created: {error}", err=True)
            return 1
    click.echo(f"created {user.role} {user.username!r}; sign in at /admin/login")
    return 0


async def _set_password(settings: Settings, username: str, password: str) -> int:
    from app.admin.errors import AdminError
    from app.admin.users import AdminUsers
    from app.db.runtime import open_database

    async with open_database(settings) as db:
        try:
            user = await AdminUsers(db.session_factory).set_password(username, password)
        except AdminError as error:
            click.echo(f"not changed: {error}", err=True)
            return 1
    click.echo(f"password of {user.username!r} changed; its sessions have ended")
    return 0
