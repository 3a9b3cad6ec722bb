"""Writes that may come after the answer: queued by any thread of a process, written by one thread in batches.

The webhook's record of a message without effect (bot/wechat/inbox.py) goes here: its answer does not depend on
the row, so the row need not be durable before the answer. A thread of the process takes what is queued every
INTERVAL seconds (sooner once BATCH items wait) and writes it in one transaction (`write(connection, items)`, which
must be idempotent: a batch whose commit failed is written again). The queue is bounded in count and in age: when it
holds LIMIT items, or its oldest is MAX_AGE seconds old (the database is held), the caller writes its item itself,
inline, as if there were no queue. So a crash of the process loses at most the last MAX_AGE seconds of these
writes; `flush()` writes what is queued at once, and every queue is flushed when the interpreter exits (atexit: a
gunicorn worker's graceful stop, `max_requests` recycling included).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from bot.forks import Forks

log = logging.getLogger(__name__)
INTERVAL = 0.1  # seconds between two batches
BATCH = 200  # items written in one transaction at most
LIMIT = 2000  # items queued at most
MAX_AGE = 1.0  # seconds an item may wait; past that, callers write inline
IDLE = 2.0  # seconds without work after which the thread ends (the next item starts another)
TRIES = 3  # a batch that failed this many times is given up (logged): the database is gone or refuses it

_queues: weakref.WeakSet[Later] = weakref.WeakSet()


class Later:
    """A bounded queue of items for `write`, run in `transaction` (Database.transaction); see the module."""

    def __init__(
        self,
        transaction: Callable[[Callable[[Connection], Any]], Any],
        write: Callable[[Connection, list], None],
        *,
        interval: float = INTERVAL,
        batch: int = BATCH,
        limit: int = LIMIT,
        max_age: float = MAX_AGE,
    ) -> None:
        self.transaction, self.write = transaction, write
        self.interval, self.batch, self.limit, self.max_age = interval, batch, limit, max_age
        self._items: list[tuple[float, Any]] = []
        self._failures = 0
        self._cond = threading.Condition()
        self._writing = threading.Lock()  # held while a batch is taken and written: flush() waits for it
        self._thread: threading.Thread | None = None
        self._forks = Forks.count
        _queues.add(self)

    def put(self, item: Any) -> None:
        """Queue `item`, or write it now when the queue is full or stale (see the module)."""
        now = time.monotonic()
        if self._forks != Forks.count:  # a child of a fork: the parent's queue, thread and locks are not ours
            self._forks, self._items, self._thread = Forks.count, [], None
            self._cond, self._writing = threading.Condition(), threading.Lock()
        with self._cond:
            if len(self._items) < self.limit and (not self._items or now - self._items[0][0] < self.max_age):
                self._items.append((now, item))
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="later-writes", daemon=True)
                    self._thread.start()
                elif len(self._items) >= self.batch:
                    self._cond.notify()
                return
        self.transaction(lambda conn: self.write(conn, [item]))

    def pending(self) -> int:
        """How many items wait in the queue."""
        return len(self._items)

    def flush(self) -> None:
        """Write everything queued now, in the caller's thread (after the batch the thread may be writing)."""
        while self._write_next():
            pass

    def _run(self) -> None:
        idle = 0.0
        while idle < IDLE:
            with self._cond:
                if len(self._items) < self.batch:
                    self._cond.wait(self.interval)
            idle = 0.0 if self._write_next() or self._items else idle + self.interval

    def _write_next(self) -> bool:
        """Take the next batch and write it; False when there was none or it failed."""
        with self._writing:
            with self._cond:
                taken, self._items = self._items[: self.batch], self._items[self.batch :]
            return bool(taken) and self._write(taken)

    def _write(self, taken: list[tuple[float, Any]]) -> bool:
        try:
            self.transaction(lambda conn: self.write(conn, [item for _, item in taken]))
            self._failures = 0
            return True
        except Exception:
            # Back to the front of the queue, for the next batch; if the database stays held, the items age and
            # the callers write inline (and meet the same error themselves).
            self._failures += 1
            if self._failures >= TRIES:
                log.exception("deferred writes failed %d times: %d given up", self._failures, len(taken))
                self._failures = 0
                return False
            log.warning("deferred writes failed: %d kept for the next batch", len(taken), exc_info=True)
            with self._cond:
                self._items[:0] = taken
            time.sleep(self.interval)
            return False


@atexit.register
def flush_all() -> None:
    """Flush every queue of this process (at exit)."""
    for queue in list(_queues):
        if queue._forks == Forks.count:
            try:
                queue.flush()
            except Exception:
                log.exception("deferred writes lost at exit")
