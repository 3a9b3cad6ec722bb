"""The sandbox: a stand-in for the WeChat platform served by this app when `[wechat] sandbox = true`.

Its API side (bot.sandbox.api) answers /sandbox/api/cgi-bin/... like the real platform, so the app's own client,
pointed there by `[wechat] api_base_url`, runs unchanged. Its user side (bot.sandbox.chat) is a chat page at
/sandbox/ whose actions are real signed POSTs to /wechat, with /sandbox/outbox listing what the app sent. Its data
lives in its own sandbox_* tables; the users are the app's Follower rows. `flask sandbox reset` clears it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot import logs
from bot.db import get_db, utcnow
from bot.models import (
    SandboxCall,
    SandboxMass,
    SandboxMassReceipt,
    SandboxMedia,
    SandboxMessage,
    SandboxTag,
    SandboxToken,
    SandboxUser,
)
from bot.wechat.settings import WechatSettings

# Children before parents (foreign keys).
TABLES = (
    SandboxMassReceipt,
    SandboxMass,
    SandboxCall,
    SandboxMedia,
    SandboxTag,
    SandboxToken,
    SandboxMessage,
    SandboxUser,
)
FIRST_TAG_ID = 100  # the platform reserves ids below 100 for its own tags (e.g. 2, 星标组)


def init_app(app: Flask) -> None:
    """Serve the sandbox's API side and chat page when the sandbox is on; register `flask sandbox` either way."""
    _add_accounts_command()
    app.cli.add_command(sandbox_cli)
    if not WechatSettings.of(app).sandbox:
        return
    from bot.sandbox import account, messages, sent  # noqa: F401  (their endpoints join the registry / blueprint)
    from bot.sandbox.api import bp
    from bot.sandbox.chat import bp as chat_bp
    from bot.sandbox.wire import Wire

    app.register_blueprint(bp)
    app.register_blueprint(chat_bp)
    app.extensions["sandbox_wire"] = Wire(app)
    logs.quiet(app, "sandbox.messages")  # the chat page asks for new messages every 2 seconds
    logs.on_startup(app, lambda base: _startup_lines(app, base))


def _startup_lines(app: Flask, base: str) -> list[str]:
    from bot.sandbox.staff import startup_lines  # the console's password hashing, only when the server starts

    return startup_lines(app, base)


def store_media(session: Session, content: bytes, content_type: str, openid: str | None = None) -> str:
    """Keep a file a sandbox user "sent" and return its media_id, which media/get then serves."""
    media_id = secrets.token_urlsafe(48)
    session.add(
        SandboxMedia(media_id=media_id, openid=openid, content=content, content_type=content_type, created_at=utcnow())
    )
    return media_id


def add_tag(session: Session, name: str, openids: Iterable[str] = ()) -> int:
    """Create (or refill) a user tag of the sandbox account; returns its id."""
    tag = session.execute(select(SandboxTag).where(SandboxTag.name == name)).scalar_one_or_none()
    if tag is None:
        highest = session.execute(select(func.max(SandboxTag.id))).scalar() or FIRST_TAG_ID - 1
        tag = SandboxTag(id=max(highest + 1, FIRST_TAG_ID), name=name)
        session.add(tag)
    tag.openids = sorted(set(openids))
    session.flush()
    return tag.id


def reset(session: Session) -> dict[str, int]:
    """Delete every sandbox row; returns how many went from each table."""
    return {model.__tablename__: session.execute(delete(model)).rowcount for model in TABLES}


sandbox_cli = AppGroup("sandbox", help="The built-in stand-in for the WeChat platform.")


@sandbox_cli.command("reset")
def reset_command() -> None:
    """Clear the sandbox's tables (recorded calls, tokens, media, tags, mass sends)."""
    with get_db().scope() as s:
        counts = reset(s)
    click.echo("sandbox cleared: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


def _add_accounts_command() -> None:
    from bot.sandbox.staff import accounts_command  # the console's password hashing; imported when the CLI is built

    sandbox_cli.add_command(accounts_command)
