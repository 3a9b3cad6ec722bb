"""Group commit for SQLite: units of work that queue for the single writer share one transaction, each in a savepoint.

SQLite lets one writer in at a time. Under a burst, the threads of a process queue for it and each pays a whole
transaction of its own: BEGIN IMMEDIATE, the commit's write of the log, the locks, about half of a webhook message's
time inside the writer lock (bench/README.md, "Before and after": group commit for SQLite). Here the first thread to
arrive leads: it takes every unit queued so far (its own first), runs each in a SAVEPOINT on one connection and commits
them together; the others wait and get their own unit's result or exception. Whoever arrives meanwhile is in the next
group, led by the first of them as soon as this one is done.

Each unit is still all-or-nothing: a unit that raises is rolled back to its savepoint (its exception goes to its
caller; the group carries on), and a commit that fails fails every unit of the group, none half done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

LIMIT = 32  # units in one group at most


class _Unit:
    __slots__ = ("error", "finished", "leads", "result", "wake", "work")

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished = False
        self.leads = False
        self.wake = threading.Event()


class GroupCommit:
    """Run units of work against `engine` (SQLite) in shared transactions; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._queue: list[_Unit] = []
        self._busy = False  # a leader is at work

    def run(self, work: Callable[[Connection], Any]) -> Any:
        """`work(connection)` inside a savepoint of a group's transaction, once committed: its result, or its error."""
        unit = _Unit(work)
        with self._lock:
            self._queue.append(unit)
            if not self._busy:
                self._busy = unit.leads = True
        if not unit.leads:
            unit.wake.wait()  # set when the unit is finished, or when it is its turn to lead
        if not unit.finished:
            self._lead()
        if unit.error is not None:
            raise unit.error
        return unit.result

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue[:LIMIT], self._queue[LIMIT:]
        try:
            self._commit(group)
        finally:
            for unit in group:
                unit.finished = True
                unit.wake.set()
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].wake.set()
                else:
                    self._busy = False

    def _commit(self, group: list[_Unit]) -> None:
        if len(group) == 1:  # alone: the transaction itself is the unit's (no savepoint statements)
            unit = group[0]
            try:
                with self.engine.connect() as conn:
                    conn.begin()
                    try:
                        unit.result = unit.work(conn)
                    except BaseException:
                        conn.rollback()
                        raise
                    conn.commit()
            except BaseException as exc:
                unit.result, unit.error = None, exc
            return
        try:
            with self.engine.connect() as conn:
                conn.begin()  # BEGIN IMMEDIATE behind the writer lock (bot/db/sqlite.py)
                cursor = conn.connection.cursor()
                try:
                    for unit in group:
                        cursor.execute("SAVEPOINT grouped_unit")
                        try:
                            unit.result = unit.work(conn)
                        except BaseException as exc:
                            cursor.execute("ROLLBACK TO grouped_unit")
                            unit.error = exc
                        cursor.execute("RELEASE grouped_unit")
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    cursor.close()
        except BaseException as exc:  # nothing of the group was committed: every unit fails with this
            for unit in group:
                if unit.error is None:
                    unit.result, unit.error = None, exc
