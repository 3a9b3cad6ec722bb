"""Commands that span features, kept here so that no low module imports upward: `flask rotate-keys` (every
encrypted column of every model) and `flask db revision` (the models against the database)."""

from __future__ import annotations

import click
from alembic import command
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import column, select, table, update

import bot.models  # noqa: F401  (every model registered on Base.metadata)
from bot.db import Base, get_db
from bot.db.cli import db_cli
from bot.db.migrate import alembic_config
from bot.privacy import EncryptedText, encrypt, is_token, rotate


def init_app(app: Flask) -> None:
    """Register the commands (`flask db revision` joins the `flask db` group)."""
    app.cli.add_command(rotate_keys_command)
    if "revision" not in db_cli.commands:
        db_cli.add_command(revision_command)


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Re-encrypt every encrypted column under the first key of [app] data_key (after adding a new key in front)."""
    total = 0
    with get_db(current_app).scope() as s:
        for tbl in Base.metadata.sorted_tables:
            cols = [c.name for c in tbl.columns if isinstance(c.type, EncryptedText)]
            clear = {c.name for c in tbl.columns if isinstance(c.type, EncryptedText) and c.type.legacy_plain}
            pk = [c.name for c in tbl.primary_key.columns]
            if not cols or len(pk) != 1:
                continue
            raw = table(tbl.name, column(pk[0]), *(column(c) for c in cols))  # untyped: the stored tokens
            for row in s.execute(select(raw)).all():
                values = {
                    c: encrypt(v) if c in clear and not is_token(v) else rotate(v)
                    for c in cols
                    if (v := getattr(row, c)) is not None
                }
                if values:
                    s.execute(update(raw).where(raw.c[pk[0]] == getattr(row, pk[0])).values(**values))
                    total += 1
    click.echo(f"re-encrypted {total} rows under the primary key; the older keys can now be removed")


@click.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
def revision_command(message: str) -> None:
    """Write a new migration by comparing the models with the database (run `flask db upgrade` first)."""
    script = command.revision(alembic_config(get_db()), message=message, autogenerate=True)
    click.echo(f"wrote {getattr(script, 'path', script)}")
