"""`flask staff add|passwd|disable|list`: staff accounts are made on the server, never with a default password."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from bot.console import audit
from bot.console.access import ROLES
from bot.console.security import clear_lockout, find_user, hash_password, password_problem
from bot.db import get_db
from bot.leads.create import rules
from bot.models import StaffUser

staff_cli = AppGroup("staff", help="Staff accounts of the console.")


def _ask_password() -> str:
    """Prompt twice with hidden input until a usable password is given."""
    while True:
        password = click.prompt("Password", hide_input=True)
        again = click.prompt("Repeat password", hide_input=True)
        problem = password_problem(password, again)
        if problem is None:
            return password
        click.echo(f"Error: {problem}", err=True)


@staff_cli.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="admin, handler, editor or viewer.")
@click.option("--branch", default=None, help="Branch code (required for a handler).")
@click.option("--name", "display_name", default=None, help="The person's name as shown in the console.")
def add_command(username: str, role: str, branch: str | None, display_name: str | None) -> None:
    """Create a staff account; the password is asked for twice."""
    if role == "handler" and not branch:
        raise click.UsageError("a handler needs --branch <code>")
    known = rules(current_app).branches.branches
    if branch is not None and branch not in known:
        raise click.UsageError(f"no branch {branch!r} in the branches file (one of: {', '.join(known)})")
    with get_db(current_app).scope() as s:
        if find_user(s, username):
            raise click.ClickException(f"user {username!r} already exists")
        user = StaffUser(username=username, role=role, branch=branch, display_name=display_name)
        user.password_hash = hash_password(_ask_password())
        s.add(user)
        s.flush()
        audit.record(s, "staff_change", detail=f"新建账号 {username}（{ROLES[role]}，{branch or '全部'}）")
    click.echo(f"created {role} {username}" + (f" of branch {branch}" if branch else ""))


@staff_cli.command("passwd")
@click.argument("username")
def passwd_command(username: str) -> None:
    """Set a new password (ends the account's open sessions and clears a lockout)."""
    with get_db(current_app).scope() as s:
        user = find_user(s, username)
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        user.password_hash = hash_password(_ask_password())
        clear_lockout(s, user.username)
        audit.record(s, "staff_change", detail=f"重设密码 {username}")
    click.echo(f"password changed for {username}")


@staff_cli.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def disable_command(username: str, enable: bool) -> None:
    """Disable an account (its sessions end at once), or enable it again with --enable."""
    with get_db(current_app).scope() as s:
        user = find_user(s, username)
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        user.disabled = not enable
        audit.record(s, "staff_change", detail=f"{'启用' if enable else '停用'}账号 {username}")
    click.echo(f"{'enabled' if enable else 'disabled'} {username}")


@staff_cli.command("list")
def list_command() -> None:
    """List the accounts: user name, role, branch, state."""
    with get_db(current_app).scope() as s:
        for user in s.scalars(select(StaffUser).order_by(StaffUser.username)):
            state = "disabled" if user.disabled else "active"
            click.echo(f"{user.username}\t{user.role}\t{user.branch or '-'}\t{state}")
