"""The database: the engines and sessions of one app, the declarative Base, the schema checked at start.

What a request uses: `session()`, the request's writing session (on SQLite its first statement waits for the
writers' lock); `read_session()`, the request's reading session, for work that only reads (console pages, exports,
the audit log): it never takes the writers' lock, so it answers while another process writes. Outside a request:
`Database.scope()` for a job or a command, `Database.reading()` to read, `Database.transaction(work)` for a unit of
writing work (the webhook's), `Database.read_one()` for one precompiled read.

The package's other modules are the machinery behind `Database`: `engines` (SQLite's, or a server's request and
work pools with their bounds), `sqlite` (the writer lock, readers, the checkpointer; used only here), `busy` (what
"the database is held" looks like), `statements` (precompiled SQL for the hot paths), `groupcommit` (SQLite writers
sharing a transaction), `migrate` and `cli` (`flask db`), and the Alembic scripts in `migrations/`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from flask import Flask, current_app, g
from sqlalchemy import Connection, DateTime, TypeDecorator, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from bot.clock import utcnow  # noqa: F401  (re-exported: the column default of created_at-like columns)
from bot.db.busy import BUSY_ERRORS, DatabaseBusy, as_busy, busy_response, is_busy, server_can_write
from bot.db.engines import make_engine, make_reader, make_work_engine
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
    """The engines and the session factories of one app: request work, jobs and commands, and reading."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = make_engine(url, echo)  # request work (bot/db/engines.py: the bounds of its waits)
        self.work_engine = make_work_engine(url, echo, self.engine)  # jobs, commands, migrations
        self.reader = make_reader(url, echo, self.engine)  # None: an in-memory SQLite database
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.work_sessions = sessionmaker(self.work_engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.reader, expire_on_commit=False) if self.reader is not None else None
        # SQLite has one writer: units of work that queue for it share a transaction (groupcommit.py); each thread
        # reads on a read-only connection of its own, without the pool's checkout (sqlite.ThreadReaders).
        self._group = GroupCommit(self.engine) if self.is_sqlite else None
        self._readers = ThreadReaders(self.engine) if self.is_sqlite else None

    def dispose(self) -> None:
        """Close the pooled connections of every engine (a database about to be dropped or copied)."""
        for engine in (self.engine, self.work_engine, self.reader):
            if engine is not None:
                engine.dispose()

    @contextlib.contextmanager
    def scope(self) -> Iterator[Session]:
        """A session for a job or a command (the work engine: no request timeouts), committed on success, rolled
        back on error."""
        with self.work_sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session that only reads, in a read transaction that never takes the writers' lock (SQLite: a snapshot
        on a read-only connection; a server: READ ONLY on the request pool); rolled back at the end."""
        with (self.read_sessions or self.sessions)() as s:
            try:
                yield s
            finally:
                s.rollback()

    def transaction(self, work: Callable[[Connection], T], wait: float | None = None) -> T:
        """`work(connection)` in a transaction of its own (a server) or in a savepoint of a group (SQLite).

        DatabaseBusy, nothing done, when another writer kept the database past the wait: BUSY_TIMEOUT on SQLite,
        the request engine's lock_timeout on a server, or `wait` seconds when given (a write worth doing only now).
        """
        try:
            if wait is not None and self.is_sqlite and not self.can_write(wait):
                raise DatabaseBusy(f"another writer holds the database (waited {wait:g} s)")
            if self._group is not None:
                return self._group.run(work)
            with self.engine.connect() as conn:
                conn.begin()
                try:
                    if wait is not None:
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}")
                    result = work(conn)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
                return result
        except Exception as exc:  # SQLite's own error when raised as the transaction begins
            if is_busy(exc) and not isinstance(exc, DatabaseBusy):
                raise as_busy(exc) from exc
            raise

    def can_write(self, timeout: float) -> bool:
        """Whether a message could be stored within `timeout` seconds: SQLite's write lock taken and given back at
        once; on a server the lock that writing the message tables needs, asked for and given back."""
        if self._readers is None:
            return server_can_write(self.engine, timeout)
        return can_write(self._readers.path, timeout)

    def read_one(self, statement: Prepared, **params: Any) -> tuple | None:
        """The first row of a precompiled read, in autocommit: on SQLite the thread's read-only connection, on a
        server a bare pool checkout (no Connection object, no BEGIN and ROLLBACK around a single read).
        DatabaseBusy when the read waited past its bound (a server's lock_timeout, the pool's timeout)."""
        try:
            return self._read_one(statement, params)
        except Exception as exc:  # the driver's own error: this read bypasses SQLAlchemy's wrapping
            if is_busy(exc) and not isinstance(exc, DatabaseBusy):
                raise as_busy(exc) from exc
            raise

    def _read_one(self, statement: Prepared, params: dict) -> tuple | None:
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


def get_db(app: Flask | None = None) -> Database:
    """The app's Database."""
    return (app or current_app).extensions["db"]


def session() -> Session:
    """The current request's writing session, opened on first use and closed at teardown. When it commits, the
    request's reading session starts a new snapshot, so that what follows reads what was just written."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
        event.listen(g.db_session, "after_commit", _fresh_reads)
    return g.db_session


def read_session() -> Session:
    """The current request's reading session, for work that only reads: it never takes the writers' lock (see
    `Database.reading`). Objects read here are not written through `session()`: a view that changes what it reads
    reads it there. On an in-memory SQLite database it is the writing session."""
    if "db_reader" not in g:
        db = get_db()
        g.db_reader = db.read_sessions() if db.read_sessions is not None else session()
    return g.db_reader


def write_if_free(work: Callable[[Connection], Any], wait: float) -> bool:
    """For a request that only reads: `work(connection)` in a write transaction of its own if the database takes it
    within `wait` seconds, else nothing (False). On an in-memory SQLite database (one connection per thread, no
    other writer) it runs on the request's session."""
    db = get_db()
    if db.read_sessions is None:
        s = session()
        work(s.connection())
        s.commit()
        return True
    try:
        db.transaction(work, wait=wait)
        return True
    except DatabaseBusy:
        return False


def _fresh_reads(_session: Session) -> None:
    reader = g.get("db_reader")
    if reader is not None and reader is not g.get("db_session"):
        reader.commit()  # ends the read transaction only (expire_on_commit is off: what was read stays loaded)


def _close_session(_exc: BaseException | None) -> None:
    for name in ("db_reader", "db_session"):
        s = g.pop(name, None)
        if s is not None:
            s.close()


def init_app(app: Flask) -> None:
    """Create the engines, bring or check the schema, register teardown, the busy answer and `flask db`."""
    settings = DatabaseSettings.of(app)
    db = Database(settings.url, settings.echo)
    app.extensions["db"] = db
    app.teardown_appcontext(_close_session)
    for error in BUSY_ERRORS:  # a view whose database stayed held answers 503 (the console its own page)
        app.register_error_handler(error, busy_response)
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
