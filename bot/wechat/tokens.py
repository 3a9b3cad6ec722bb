"""The access token, stored in the database and shared by every process; one refresher at a time.

Every process keeps the token in memory until it nears expiry or the platform rejects it, then reads the
key_value row. A refresh happens under a lock that spans processes (a row lock, SELECT ... FOR UPDATE, on
PostgreSQL; a file lock beside the database on SQLite, so that the HTTP call to the platform never holds SQLite's
write lock); whoever waited for the lock finds the fresh token in the row and reuses it instead of refreshing again.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Database, utcnow
from bot.models import KeyValue

# Treat a token as expired this long before the platform does, so that no call goes out with a dying token.
MARGIN = timedelta(seconds=120)
# fetch(force) -> (token, expires_in seconds)
Fetch = Callable[[bool], tuple[str, int]]
_memory_locks: dict[str, threading.Lock] = {}


class TokenStore:
    """The shared access token of one AppID."""

    def __init__(self, db: Database, appid: str) -> None:
        self.db = db
        self.key = f"wechat.access_token.{appid}"
        self._cached: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    def get(self, fetch: Fetch) -> str:
        """A valid token: from memory, else from the database, else fetched (by one process only)."""
        cached = self._cached
        if cached and cached[1] > utcnow():
            return cached[0]
        token = self._read()
        return token if token else self.refresh(fetch, stale=None, force=False)

    def refresh(self, fetch: Fetch, stale: str | None, force: bool) -> str:
        """Replace `stale` (the token just rejected, or None when there is none yet) unless someone already did."""
        with self._lock, self._exclusive() as held:
            value, expires_at = self._load(held)
            if value and value != stale and _valid(expires_at):
                self._cached = (value, _aware(expires_at))
                return value
            token, expires_in = fetch(force)
            expires_at = utcnow() + timedelta(seconds=expires_in) - MARGIN
            self._store(held, token, expires_at)
            self._cached = (token, expires_at)
            return token

    def _read(self) -> str | None:
        with self.db.scope() as s:
            row = s.get(KeyValue, self.key)
            if row is None or not row.value or not _valid(row.expires_at):
                return None
            self._cached = (row.value, _aware(row.expires_at))
            return row.value

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[Session | None]:
        """Hold the cross-process refresh lock; yields the session holding the row lock (PostgreSQL) or None."""
        if self.db.is_sqlite:
            path = self.db.engine.url.database
            if not path or path == ":memory:" or path.startswith("file:"):
                with _memory_locks.setdefault(self.key, threading.Lock()):
                    yield None
                return
            with open(path + ".token-lock", "w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                yield None
            return
        self._ensure_row()
        with self.db.work_sessions() as s:  # a job's wait: another process may be fetching the token
            try:
                yield s
            finally:
                s.rollback()  # a no-op after the commit that stored a new token

    def _load(self, held: Session | None) -> tuple[str | None, datetime | None]:
        if held is not None:
            row = held.execute(select(KeyValue).where(KeyValue.key == self.key).with_for_update()).scalar_one()
            return row.value, row.expires_at
        with self.db.scope() as s:
            row = s.get(KeyValue, self.key)
            return (row.value, row.expires_at) if row else (None, None)

    def _store(self, held: Session | None, token: str, expires_at: datetime) -> None:
        if held is not None:
            row = held.get(KeyValue, self.key)
            row.value, row.expires_at = token, expires_at
            held.commit()
            return
        with self.db.scope() as s:
            row = s.get(KeyValue, self.key) or KeyValue(key=self.key)
            row.value, row.expires_at = token, expires_at
            s.add(row)

    def _ensure_row(self) -> None:
        # FOR UPDATE can only lock a row that exists: create it empty once (a racing creator is harmless).
        try:
            with self.db.scope() as s:
                if s.get(KeyValue, self.key) is None:
                    s.add(KeyValue(key=self.key, value=""))
        except IntegrityError:
            pass


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _valid(expires_at: datetime | None) -> bool:
    return expires_at is not None and _aware(expires_at) > utcnow()
