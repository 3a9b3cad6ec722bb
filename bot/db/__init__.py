"""The database: the engine and sessions of one app, the declarative Base, the schema checked at start.

The package's other modules are the machinery behind `Database`: `engines` (SQLite's or a server's pool),
`sqlite` (the writer lock, per-thread readers, the checkpointer; used only here), `statements` (precompiled SQL for
the hot paths), `groupcommit` (SQLite writers sharing a transaction), `migrate` and `cli` (`flask db`), and the
Alembic scripts in `migrations/`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from flask import Flask, current_app, g
from sqlalchemy import Connection, DateTime, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from bot.clock import utcnow  # noqa: F401  (re-exported: the column default of created_at-like columns)
from bot.db.engines import make_engine
from bot.db.groupcommit import GroupCommit
from bot.db.settings import DatabaseSettings
from bot.db.sqlite import ThreadReaders, can_write
from bot.db.statements import Prepared

log = logging.getLogger(__name__)
T = TypeVar("T")


def aware(value: datetime | None) -> datetime | None:
    """A stored time as timezone-aware UTC: SQLite hands back naive datetimes for timezone-aware columns."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware time stored in UTC on every database, read back timezone-aware.

    SQLite has no time zones: its driver writes a datetime's wall-clock digits and drops the zone, so a bound
    Shanghai midnight would compare as if it were UTC midnight, eight hours off. Every aware value is converted to
    UTC before it is bound (a naive one is taken as UTC), and a naive value read back gets UTC attached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of every model."""


class SchemaError(click.ClickException):
    """The database schema is not at the revision this code expects."""


class Database:
    """The engine and the session factory of one app."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = make_engine(url, echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer: units of work that queue for it share a transaction (groupcommit.py); each thread
        # reads on a read-only connection of its own, without the pool's checkout (sqlite.ThreadReaders).
        self._group = GroupCommit(self.engine) if self.is_sqlite else None
        self._readers = ThreadReaders(self.engine) if self.is_sqlite else None

    @contextlib.contextmanager
    def scope(self) -> Iterator[Session]:
        """A session for a job or a command: committed on success, rolled back on error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in a transaction of its own (a server) or in a savepoint of a group (SQLite).
        DatabaseBusy when another writer kept the database past the wait (SQLite's BUSY_TIMEOUT): nothing done."""
        if self._group is not None:
            try:
                return self._group.run(work)
            except Exception as exc:
                if is_busy(exc):
                    raise DatabaseBusy(str(exc)) from exc
                raise
        with self.engine.connect() as conn:
            conn.begin()
            try:
                result = work(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result

    def can_write(self, timeout: float) -> bool:
        """Whether a write could begin within `timeout` seconds (SQLite: the write lock taken and given back at once;
        a server database is asked nothing more here)."""
        return self._readers is None or can_write(self._readers.path, timeout)

    def read_one(self, statement: Prepared, **params: Any) -> tuple | None:
        """The first row of a precompiled read, in autocommit: on SQLite the thread's read-only connection, on a
        server a bare pool checkout (no Connection object, no BEGIN and ROLLBACK around a single read)."""
        reader = self._readers.get() if self._readers is not None else None
        if reader is not None:
            cursor = reader.cursor()
            try:
                return statement.fetch(cursor, self.engine.dialect, **params)
            finally:
                cursor.close()
        pooled = self.engine.raw_connection()
        try:
            server = self.engine.dialect.name == "postgresql"
            if server:
                pooled.driver_connection.autocommit = True
            cursor = pooled.cursor()
            try:
                return statement.fetch(cursor, self.engine.dialect, **params)
            finally:
                cursor.close()
                if server:
                    pooled.driver_connection.autocommit = False
        finally:
            pooled.close()  # back to the pool


class DatabaseBusy(Exception):
    """Another writer held the database longer than a write may wait; the work was not done (nothing stored)."""


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means "another writer held the database too long" (SQLite: locked or busy)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


def get_db(app: Flask | None = None) -> Database:
    """The app's Database."""
    return (app or current_app).extensions["db"]


def session() -> Session:
    """The session of the current request (or app context), opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def init_app(app: Flask) -> None:
    """Create the engine, bring or check the schema, register teardown and the `flask db` commands."""
    settings = DatabaseSettings.of(app)
    db = Database(settings.url, settings.echo)
    app.extensions["db"] = db
    app.teardown_appcontext(_close_session)
    from bot.db.cli import db_cli
    from bot.db.migrate import revisions, running_db_command, upgrade

    app.cli.add_command(db_cli)
    if running_db_command():
        return
    if settings.auto_migrate:
        upgrade(db)
    else:
        current, head = revisions(db)
        if current != head:
            raise SchemaError(
                f"database schema is at {current or 'nothing'}, this code needs {head}: run `flask db upgrade`"
            )
