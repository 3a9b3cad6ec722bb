"""When the database is held: the one exception for "another session kept it past our wait", how database errors
are recognised as that, the 503 a view answers with, and the write check of a server database for /healthz."""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# PostgreSQL's lock_timeout (55P03) and statement_timeout (57014): the waits bot/db/engines.py bounds.
BUSY_STATES = {"55P03", "57014"}
# The tables every message writes: while one of them cannot be written, no message can be stored.
MESSAGE_TABLES = ("webhook_nonce", "inbound_message")


class DatabaseBusy(Exception):
    """Another writer held the database longer than a write may wait; the work was not done (nothing stored)."""


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means "another session held the database too long": SQLite's "locked" or "busy",
    PostgreSQL's lock or statement timeout, or no pooled connection free in time."""
    if isinstance(exc, DatabaseBusy | PoolTimeout):
        return True
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in BUSY_STATES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text


def as_busy(exc: BaseException) -> BaseException:
    """DatabaseBusy for a busy error, the error itself otherwise (raise it `from exc`)."""
    return DatabaseBusy(str(exc)) if is_busy(exc) and not isinstance(exc, DatabaseBusy) else exc


BUSY_TEXT = "系统繁忙，请稍后再试。"


def busy_response(exc: Exception):
    """A view's answer to a busy database: 503 with a short Chinese text and Retry-After. Any other database error
    goes on as it was (the error handler re-raises it)."""
    if not is_busy(exc):
        raise exc
    return BUSY_TEXT, 503, {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"}


# SQLite's own error comes unwrapped when it is raised as a transaction begins (bot/db/sqlite.py).
BUSY_ERRORS = (DatabaseBusy, OperationalError, PoolTimeout, sqlite3.OperationalError)


def server_can_write(engine: Engine, timeout: float) -> bool:
    """Whether the tables every message writes could be written within `timeout` seconds on a server database:
    the lock an INSERT takes (ROW EXCLUSIVE) asked for on each and given back at once. False while another session
    holds a conflicting table lock (LOCK TABLE, a migration's ALTER TABLE)."""
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int((deadline - time.monotonic()) * 1000))}")
            conn.exec_driver_sql(f"LOCK TABLE {', '.join(MESSAGE_TABLES)} IN ROW EXCLUSIVE MODE")
            conn.rollback()
        return True
    except BUSY_ERRORS as exc:
        if is_busy(exc):
            return False
        raise
