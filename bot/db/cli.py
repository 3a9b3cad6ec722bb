"""The `flask db` commands: upgrade, downgrade, current (`revision`, which needs the models, is in bot/cli.py)."""

from __future__ import annotations

import click
from alembic import command
from flask.cli import AppGroup

from bot.db import get_db
from bot.db.migrate import alembic_config, migration_lock, revisions, upgrade

db_cli = AppGroup("db", help="Database schema migrations.")


@db_cli.command("upgrade")
def upgrade_command() -> None:
    """Bring the database schema to the latest revision."""
    db = get_db()
    before, head = revisions(db)
    upgrade(db)
    click.echo(f"schema at {head}" + (" (already up to date)" if before == head else f" (was {before or 'empty'})"))


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Take the database schema back to REVISION, before going back to the release that expects it."""
    db = get_db()
    before, _head = revisions(db)
    with migration_lock(db):
        command.downgrade(alembic_config(db), revision)
    click.echo(f"schema at {revisions(db)[0] or 'empty'} (was {before or 'empty'})")


@db_cli.command("current")
def current_command() -> None:
    """Show the database's schema revision and the code's."""
    current, head = revisions(get_db())
    click.echo(f"database: {current or 'empty'}; code: {head}")
