"""SQLite for several threads and processes: the writer lock, readers that never take it, a background checkpointer.

Nothing outside `bot/db/` uses this module: the rest of the app sees a `Database` (bot/db/__init__.py), whose
`transaction`, `reading` and `read_one` use what is here on SQLite.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref

from sqlalchemy import Engine, create_engine, event, make_url

from bot.db.writelock import WriterLock, poll_flock
from bot.forks import Forks

log = logging.getLogger(__name__)

# Seconds a SQLite writer waits for another (the writer lock, then SQLite's own busy timeout) before "database is
# locked": well inside WeChat's 5 s, so that the webhook can still answer when another process holds the database.
BUSY_TIMEOUT = 3.0


class _SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's WriterLock from BEGIN to COMMIT or ROLLBACK."""

    write_lock: WriterLock
    holding = False

    def begin_immediate(self) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer got in between.
        if not self.write_lock.acquire(timeout=BUSY_TIMEOUT):
            raise sqlite3.OperationalError("database is locked (another writer held it for longer than BUSY_TIMEOUT)")
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
    every writer of every process waits for it (bench/README.md, "Before and after": a background WAL checkpointer).
    Here a PASSIVE checkpoint runs beside the writers and readers; the connections' own automatic checkpoint stays as a
    fallback at FALLBACK_PAGES, should this thread ever fall behind. One thread per process serves every database file
    the process opened (started again after a fork); a file whose engines are all gone is dropped.
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


def can_write(path: str | None, timeout: float) -> bool:
    """Whether a writer could begin within `timeout` seconds: the writers' file lock (WriterLock) and then SQLite's
    own write lock, each taken and released at once."""
    if path is None:
        return True  # an in-memory database: private to this process
    deadline = time.monotonic() + timeout
    fd = os.open(path + ".write-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if not poll_flock(fd, deadline):
            return False
        conn = sqlite3.connect(path, timeout=max(0.0, deadline - time.monotonic()), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()
    finally:
        os.close(fd)  # closing the file releases its lock


def sqlite_reader_engine(url: str, echo: bool) -> Engine | None:
    """An engine of read-only connections whose transactions begin deferred: the first read fixes a snapshot of the
    write-ahead log, and neither the writers' lock nor SQLite's write lock is ever asked for, so a reader answers
    while another process holds them. None for an in-memory database (one connection per process holds it)."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA query_only=1")
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.connection.dbapi_connection.execute("BEGIN")  # deferred: a read transaction

    return engine


def sqlite_engine(url: str, echo: bool) -> Engine:
    """An engine whose connections take the WriterLock from BEGIN IMMEDIATE to COMMIT, in WAL mode."""
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
