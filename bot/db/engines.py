"""The engine for a database URL: SQLite's (bot/db/sqlite.py) or a server's pool, tested when it sat idle."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from bot.db.sqlite import sqlite_engine

log = logging.getLogger(__name__)


def make_engine(url: str, echo: bool) -> Engine:
    """The engine for `url`: SQLite's own machinery, or a pool of 10 (+20) server connections."""
    if url.startswith("sqlite"):
        return sqlite_engine(url, echo)
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
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
