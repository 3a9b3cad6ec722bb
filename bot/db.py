"""Database engine, sessions and the declarative Base; the `flask db` commands; schema checks at start."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from flask.cli import AppGroup
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from bot.clock import utcnow  # noqa: F401  (re-exported: the column default of created_at-like columns)
from bot.forks import Forks

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
        self.engine = _make_engine(url, echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

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


BUSY_TIMEOUT = 15.0  # seconds a SQLite writer waits for another before "database is locked"


class WriterLock:
    """One SQLite database's writer lock: a thread lock for this process's threads, then a file lock between processes.

    SQLite lets one writer in at a time and makes the others poll with sleeps of 1, 2, 5, 10 ... ms: two busy
    processes then spend their time asleep while the database is free (bench/README.md, steps 2 and 10). Writers
    queue here instead, the threads of a process on the thread lock and the processes on `flock` of a file beside
    the database, and the next one starts the moment the holder commits. SQLite's own lock and busy timeout still
    apply behind it (a process that does not take this lock, such as the sqlite3 shell, is waited for as before).
    """

    def __init__(self, path: str | None) -> None:
        self.thread = threading.Lock()
        self.path = path + ".write-lock" if path and path != ":memory:" else None
        self._fd: int | None = None
        self._forks = 0

    def acquire(self, timeout: float) -> bool:
        if not self.thread.acquire(timeout=timeout):
            return False
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # sleeps in the kernel until the holder releases: no polling
        except BaseException:
            self.thread.release()
            raise
        return True

    def release(self) -> None:
        try:
            if self._fd is not None and self._forks == Forks.count:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.thread.release()

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self._forks != Forks.count:  # opened before a fork: the child needs its own open file (flock is per file)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._forks = Forks.count
        return self._fd


class _SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's WriterLock from BEGIN to COMMIT or ROLLBACK."""

    write_lock: WriterLock
    holding = False

    def begin_immediate(self) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer got in between.
        if not self.write_lock.acquire(timeout=BUSY_TIMEOUT):
            raise sqlite3.OperationalError("database is locked (another thread's transaction)")
        self.holding = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self.holding and not self.in_transaction:
            self.holding = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.holding:
                self.holding = False
                self.write_lock.release()


class ThreadReaders:
    """A read-only sqlite3 connection per thread (and process) for one database file, outside the engine's pool.

    For the webhook's retry look-up: one indexed read in autocommit, where a pool checkout and return (events, the
    reset on return) cost more than the read itself. None for an in-memory database (the pool serves it then).
    """

    def __init__(self, engine: Engine) -> None:
        path = engine.url.database
        self.path = path if path and path != ":memory:" and not path.startswith("file:") else None
        self._local = threading.local()
        self._inherited: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.forks != Forks.count:  # a thread's first read, or the first after a fork
            if conn is not None:  # the parent's: never used here, and never closed here either (SQLite's rule)
                self._inherited.append(conn)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
            local.conn, local.forks = conn, Forks.count
        return conn


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database file from a thread of its own, every INTERVAL.

    By default the commit that finds the log past 1,000 pages does that copy and its fsync, inside the writer lock:
    every writer of every process waits for it (bench/README.md, step 13). Here a PASSIVE checkpoint runs beside
    the writers and readers; the connections' own automatic checkpoint stays as a fallback at FALLBACK_PAGES,
    should this thread ever fall behind. One thread per process serves every database file the process opened
    (started again after a fork); a file whose engines are all gone is dropped.
    """

    INTERVAL = 0.5  # seconds
    PATIENCE = 120  # passes in a row that find the file locked (a minute) before that is worth a warning
    FALLBACK_PAGES = 20000  # ~80 MB of log with 4 KB pages

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, weakref.WeakSet] = {}
        self._pid = 0

    def watch(self, path: str, engine: Engine) -> None:
        with self._lock:
            self._files.setdefault(path, weakref.WeakSet()).add(engine)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def _run(self) -> None:
        failed: set[str] = set()
        busy: dict[str, int] = {}  # consecutive passes that found the file locked
        while True:
            time.sleep(self.INTERVAL)
            with self._lock:
                live = [path for path, engines in self._files.items() if len(engines)]
                self._files = {path: self._files[path] for path in live}
            for path in live:
                try:
                    self.checkpoint(path)
                    failed.discard(path)
                    busy.pop(path, None)
                except sqlite3.OperationalError as exc:
                    transient = "locked" in str(exc) or "busy" in str(exc)
                    busy[path] = busy.get(path, 0) + 1 if transient else 0
                    if transient and busy[path] < self.PATIENCE:
                        continue  # another connection holds what this one needs for an instant: next time
                    if path not in failed:
                        log.warning("WAL checkpoint of %s failed: %s", path, exc)
                        failed.add(path)
                except Exception as exc:  # the file removed, a full disk: say it once, keep serving the others
                    if path not in failed:
                        log.warning("WAL checkpoint of %s failed: %s", path, exc)
                        failed.add(path)

    @staticmethod
    def checkpoint(path: str) -> None:
        """One PASSIVE checkpoint: as much of the log as no reader still needs, without waiting for anyone."""
        if not os.path.exists(path + "-wal"):
            return
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()


CHECKPOINTER = Checkpointer()


def _make_engine(url: str, echo: bool) -> Engine:
    if not url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
        _ping_when_idle(engine)
        return engine
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT, "factory": _SQLiteConnection}
    engine = create_engine(url, echo=echo, connect_args=connect_args)
    write_lock = WriterLock(make_url(url).database)  # one per engine, i.e. per database file and process

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        # Take transactions into our own hands (see _begin) and make SQLite fit for several threads.
        dbapi_conn.isolation_level = None
        dbapi_conn.write_lock = write_lock
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        if write_lock.path is not None:  # a file: a background thread checkpoints it (see Checkpointer)
            cur.execute(f"PRAGMA wal_autocheckpoint={Checkpointer.FALLBACK_PAGES}")
            CHECKPOINTER.watch(write_lock.path.removesuffix(".write-lock"), engine)
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.connection.dbapi_connection.begin_immediate()

    return engine


IDLE_PING = 5.0  # seconds a pooled server connection may sit unused before it is tested on checkout


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled server connection on checkout when it sat unused for IDLE_PING seconds (a server restart, an
    idle timeout on the way); a connection in steady use is handed out as it is.

    SQLAlchemy's pool_pre_ping tests every checkout, a round trip to the server for each request; under load that
    was one of the webhook's seven (bench/README.md). A failed test raises DisconnectionError: the pool drops the
    connection and checks out a new one.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING:
            return  # new, or in steady use
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()
        except Exception as exc:
            idle = time.monotonic() - since
            log.warning("pooled database connection failed its test after %.0f s idle: %s", idle, type(exc).__name__)
            raise DisconnectionError("connection failed its checkout test") from exc


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
    settings = app.config["SETTINGS"]["database"]
    db = Database(settings["url"], settings["echo"])
    app.extensions["db"] = db
    app.teardown_appcontext(_close_session)
    app.cli.add_command(db_cli)
    if _running_db_command():
        return
    if settings["auto_migrate"]:
        upgrade(db)
    else:
        current, head = revisions(db)
        if current != head:
            raise SchemaError(
                f"database schema is at {current or 'nothing'}, this code needs {head}: run `flask db upgrade`"
            )


def _running_db_command() -> bool:
    # `flask db ...` must be able to load the app whatever state the schema is in.
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    return Path(sys.argv[0]).name == "flask" and "db" in args[:3]


def alembic_config(db: Database) -> AlembicConfig:
    """An Alembic configuration pointing at our migrations and the given database."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def head_revision(db: Database) -> str | None:
    """The newest migration in the code (read once per Database: parsing the scripts is slow)."""
    if not hasattr(db, "_head"):
        db._head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()  # type: ignore[attr-defined]
    return db._head  # type: ignore[attr-defined]


def revisions(db: Database) -> tuple[str | None, str | None]:
    """(the database's current revision, the code's head revision)."""
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head_revision(db)


def upgrade(db: Database) -> None:
    """Bring the schema to head, one process at a time (a file lock for SQLite, an advisory lock for PostgreSQL)."""
    current, head = revisions(db)
    if current == head:
        return
    with _migration_lock(db):
        command.upgrade(alembic_config(db), "head")
    log.info("database schema upgraded from %s to %s", current or "empty", head)


@contextlib.contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    if db.is_sqlite:
        path = db.engine.url.database
        if not path or path == ":memory:":  # private to this process: nobody to race with
            yield
            return
        with open(path + ".migrate-lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(7212021)")
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(7212021)")
            conn.commit()


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
    with _migration_lock(db):
        command.downgrade(alembic_config(db), revision)
    click.echo(f"schema at {revisions(db)[0] or 'empty'} (was {before or 'empty'})")


@db_cli.command("current")
def current_command() -> None:
    """Show the database's schema revision and the code's."""
    current, head = revisions(get_db())
    click.echo(f"database: {current or 'empty'}; code: {head}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
def revision_command(message: str) -> None:
    """Write a new migration by comparing the models with the database (run `flask db upgrade` first)."""
    import bot.models  # noqa: F401  (every model registered on Base.metadata)

    script = command.revision(alembic_config(get_db()), message=message, autogenerate=True)
    click.echo(f"wrote {getattr(script, 'path', script)}")
