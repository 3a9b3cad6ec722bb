"""The SQLite writer lock: processes queue on a file lock and the next writer starts as soon as the holder commits."""

from __future__ import annotations

import multiprocessing
import time

from sqlalchemy import text

from bot.db import WriterLock, _make_engine

HOLD = 0.4


def _acquire_and_report(path: str, queue) -> None:
    lock = WriterLock(path)
    lock.acquire(timeout=5)
    queue.put(time.time())
    lock.release()


def _write_and_report(url: str, queue) -> None:
    engine = _make_engine(url, echo=False)
    queue.put("ready")
    with engine.begin() as conn:  # BEGIN IMMEDIATE behind the writer lock
        conn.execute(text("INSERT INTO t (v) VALUES ('child')"))
    queue.put(time.time())
    engine.dispose()


def test_a_second_process_waits_for_the_holder_and_starts_when_it_releases(tmp_path):
    ctx = multiprocessing.get_context("fork")
    lock = WriterLock(str(tmp_path / "db.sqlite"))
    lock.acquire(timeout=5)  # opened in this process before the fork: the child must open its own
    queue = ctx.Queue()
    child = ctx.Process(target=_acquire_and_report, args=(str(tmp_path / "db.sqlite"), queue))
    child.start()
    time.sleep(HOLD)
    released = time.time()
    lock.release()
    got = queue.get(timeout=10)
    child.join(10)
    assert got >= released  # never while the parent held it
    assert got - released < 0.2  # woken by the release, not by polling


def test_sqlite_writers_of_two_processes_take_turns_without_busy_sleeps(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = _make_engine(url, echo=False)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: SQLite's state must not be forked mid-transaction
    queue = ctx.Queue()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('parent')"))
        child = ctx.Process(target=_write_and_report, args=(url, queue))
        child.start()
        assert queue.get(timeout=20) == "ready"
        time.sleep(HOLD)  # the child is now queued behind this transaction
        committing = time.time()
    got = queue.get(timeout=20)
    child.join(10)
    assert child.exitcode == 0
    assert got >= committing
    assert got - committing < 0.2
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY rowid"))] == ["parent", "child"]
    engine.dispose()


def test_an_in_memory_database_needs_no_lock_file(tmp_path):
    lock = WriterLock(":memory:")
    assert lock.acquire(timeout=1)
    lock.release()
    assert lock.path is None
