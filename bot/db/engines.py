"""The engines for a database URL: SQLite's (bot/db/sqlite.py), or a server's pools, tested when they sat idle.

A server database gets two pools with different bounds. Request work (the webhook, console and public pages, the
health check) runs on the *request* engine, whose connections are opened with `lock_timeout`, `statement_timeout`
and `idle_in_transaction_session_timeout` set as startup options: a row or table lock held by another session ends
the wait after LOCK_TIMEOUT, well inside WeChat's 5 s, at no cost per request. Jobs, commands and migrations run on
the *work* engine, without those limits: a push's batches, a long migration's DDL and the migration's advisory lock
may wait and run as long as they need. On SQLite both are one engine, whose waits bot/db/sqlite.py bounds.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from bot.db.sqlite import BUSY_TIMEOUT, sqlite_engine, sqlite_reader_engine

log = logging.getLogger(__name__)

LOCK_TIMEOUT = BUSY_TIMEOUT  # seconds a request waits for another session's lock: the same bound as SQLite's
STATEMENT_TIMEOUT = 4.0  # seconds one statement of a request may run, its lock wait included
IDLE_IN_TRANSACTION = 30.0  # seconds a request may leave a transaction idle before the server ends its session
REQUEST_CONNECT_TIMEOUT = 2  # seconds (libpq's least) to open a connection for a request
REQUEST_POOL_TIMEOUT = 2.0  # seconds a request waits for a pooled connection when all are in use
WORK_CONNECT_TIMEOUT = 10


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


REQUEST_OPTIONS = (
    f"-c lock_timeout={_ms(LOCK_TIMEOUT)} -c statement_timeout={_ms(STATEMENT_TIMEOUT)}"
    f" -c idle_in_transaction_session_timeout={_ms(IDLE_IN_TRANSACTION)}"
)


def make_engine(url: str, echo: bool) -> Engine:
    """The request engine for `url`: SQLite's own machinery, or a pool of 10 (+20) server connections whose waits
    are bounded (see the module docstring)."""
    if url.startswith("sqlite"):
        return sqlite_engine(url, echo)
    args = {"connect_timeout": REQUEST_CONNECT_TIMEOUT, "options": REQUEST_OPTIONS}
    engine = create_engine(
        url, echo=echo, pool_size=10, max_overflow=20, pool_timeout=REQUEST_POOL_TIMEOUT, connect_args=args
    )
    _ping_when_idle(engine)
    return engine


def make_work_engine(url: str, echo: bool, request_engine: Engine) -> Engine:
    """The engine of jobs, commands and migrations: on SQLite the request engine itself (one writer lock per file
    and process); on a server a pool of its own without the request timeouts."""
    if url.startswith("sqlite"):
        return request_engine
    args = {"connect_timeout": WORK_CONNECT_TIMEOUT}
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, connect_args=args)
    _ping_when_idle(engine)
    return engine


def make_reader(url: str, echo: bool, request_engine: Engine) -> Engine | None:
    """The engine of read-only work: SQLite connections that begin a deferred (read) transaction and never take the
    writers' lock, or the request pool's connections in READ ONLY transactions; None for an in-memory SQLite
    database, which has no other writer to wait for (its readers share the writers' session)."""
    if url.startswith("sqlite"):
        return sqlite_reader_engine(url, echo)
    return request_engine.execution_options(postgresql_readonly=True)


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
