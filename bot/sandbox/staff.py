"""Console accounts for a newcomer in sandbox mode: made when the development server starts (`make run`, `flask
run`) and printed at the end of its start-up banner, or by `flask sandbox accounts`.

When the database has no staff account at all, the sandbox creates an admin with a random password and prints it
(a newcomer has nobody to run `flask staff add` for them). The accounts it created are remembered in key_value and
get a new random password, printed again, at every start, since the terminal is the only place it is shown. Once
someone has made real accounts and the sandbox made none, nothing is touched. Never in production: the sandbox is
refused there.
"""

from __future__ import annotations

import logging
import secrets
import string

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import AppSettings
from bot.console import audit
from bot.console.security import clear_lockout, hash_password
from bot.db import get_db
from bot.models import KeyValue, StaffUser
from bot.wechat.settings import WechatSettings

log = logging.getLogger(__name__)
MARK = "sandbox.console_accounts"  # key_value row: the usernames the sandbox created, comma-separated
ACCOUNTS = (("sandbox-admin", "admin", "沙盒管理员"),)


def _new_password() -> str:
    # 16 letters (no digits: the log formatter masks anything that looks like a phone number).
    return "".join(secrets.choice(string.ascii_letters) for _ in range(16))


def ensure_accounts(s: Session) -> list[tuple[str, str, str]]:
    """Create the sandbox's console accounts (or renew their passwords); returns (username, role, password) each."""
    mark = s.get(KeyValue, MARK)
    mine = [u for u in (mark.value.split(",") if mark else []) if u]
    users = {u.username: u for u in s.scalars(select(StaffUser).where(StaffUser.username.in_(mine)))}
    if not users and s.scalar(select(func.count()).select_from(StaffUser)):
        return []  # real accounts exist and none is the sandbox's: leave them alone
    out = []
    for username, role, display_name in ACCOUNTS:
        password = _new_password()
        user = users.get(username)
        if user is None:
            user = StaffUser(username=username, role=role, display_name=display_name, password_hash="")
            s.add(user)
            audit.record(s, "staff_change", detail=f"沙盒新建账号 {username}")
        user.password_hash = hash_password(password)
        user.disabled = False
        clear_lockout(s, username)
        out.append((username, role, password))
    if mark is None:
        mark = KeyValue(key=MARK)
        s.add(mark)
    mark.value = ",".join(username for username, _role, _password in out)
    return out


@click.command("accounts")
@with_appcontext
def accounts_command() -> None:
    """Sign-in accounts for the console in sandbox mode (run by `make run`); prints the passwords."""
    if not WechatSettings.of(current_app).sandbox:
        click.echo("sandbox is off: no console accounts made (use `flask staff add`)")
        return
    with get_db(current_app).scope() as s:
        made = ensure_accounts(s)
    if not made:
        click.echo("console accounts exist already; `flask staff passwd <name>` sets a new password")
        return
    url = AppSettings.of(current_app).public_url.rstrip("/") + "/console/"
    for username, role, password in made:
        # WARNING so that it stands out in the terminal; the sandbox never runs in production.
        log.warning("sandbox console account (%s): %s  password: %s  sign in at %s", role, username, password, url)


def startup_lines(app: Flask, base: str) -> list[str]:
    """The banner's last lines when the development server starts: the chat, the console and its account (made or
    given a new password now)."""
    lines = [f" * Sandbox chat (WeChat stand-in): {base}/sandbox/", f" * Staff console: {base}/console/"]
    with app.app_context(), get_db(app).scope() as s:
        made = ensure_accounts(s)
    for username, role, password in made:
        lines.append(f" * Console account ({role}, new password at every start): {username}  password: {password}")
    if not made:
        lines.append(" * Console accounts: your own (`flask staff add` makes one, `flask staff passwd` resets one)")
    return lines
