"""Schema migrations (Alembic, in bot/db/migrations/): bring a database to head, one process at a time.

Migrations run on the work engine (bot/db/engines.py): a long ALTER TABLE, and the wait for another process's
migration, are not cut by the request timeouts.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from bot.db import Database

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def running_db_command() -> bool:
    # `flask db ...` must be able to load the app whatever state the schema is in.
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    return Path(sys.argv[0]).name == "flask" and "db" in args[:3]


def alembic_config(db: Database) -> AlembicConfig:
    """An Alembic configuration pointing at our migrations and the given database."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.work_engine
    return cfg


def head_revision(db: Database) -> str | None:
    """The newest migration in the code (read once per Database: parsing the scripts is slow)."""
    if not hasattr(db, "_head"):
        db._head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()  # type: ignore[attr-defined]
    return db._head  # type: ignore[attr-defined]


def revisions(db: Database) -> tuple[str | None, str | None]:
    """(the database's current revision, the code's head revision)."""
    with db.work_engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head_revision(db)


def upgrade(db: Database) -> None:
    """Bring the schema to head, one process at a time (a file lock for SQLite, an advisory lock for PostgreSQL)."""
    current, head = revisions(db)
    if current == head:
        return
    with migration_lock(db):
        command.upgrade(alembic_config(db), "head")
    log.info("database schema upgraded from %s to %s", current or "empty", head)


@contextlib.contextmanager
def migration_lock(db: Database) -> Iterator[None]:
    if db.is_sqlite:
        path = db.engine.url.database
        if not path or path == ":memory:":  # private to this process: nobody to race with
            yield
            return
        with open(path + ".migrate-lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        return
    with db.work_engine.connect() as conn:  # no lock_timeout: waits for another process's migration to end
        conn.exec_driver_sql("SELECT pg_advisory_lock(7212021)")
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(7212021)")
            conn.commit()
