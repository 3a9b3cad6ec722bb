"""Database connections under load: SQLite writers queue on a file lock (the next starts as soon as the holder
commits); PostgreSQL connections are tested on checkout only after sitting idle."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.db import engines
from bot.db.engines import make_engine
from bot.db.sqlite import ThreadReaders
from bot.db.writelock import WriterLock

HOLD = 0.4


def _acquire_and_report(path: str, queue) -> None:
    lock = WriterLock(path)
    lock.acquire(timeout=5)
    queue.put(time.time())
    lock.release()


def _write_and_report(url: str, queue) -> None:
    engine = make_engine(url, echo=False)
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
    engine = make_engine(url, echo=False)
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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_pooled_connection_idle_past_the_limit_is_tested_and_replaced_when_the_server_dropped_it(
    db_url, pg_server, monkeypatch
):
    monkeypatch.setattr(engines, "IDLE_PING", 0.05)
    engine = make_engine(db_url, echo=False)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with pg_server.admin.connect() as admin:  # the server drops the pooled connection (a restart, an idle timeout)
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    time.sleep(0.2)
    with engine.connect() as conn:  # idle for longer than IDLE_PING: tested on checkout, replaced, works
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_connection_in_steady_use_is_not_tested_on_checkout(db_url, pg_server, monkeypatch):
    monkeypatch.setattr(engines, "IDLE_PING", 60.0)
    engine = make_engine(db_url, echo=False)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with pg_server.admin.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    time.sleep(0.2)
    # No test round trip: the dropped connection is only found out by the statement (SQLAlchemy then replaces it).
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    engine.dispose()


def _read_in_child(readers: ThreadReaders, parent_connection_id: int, queue) -> None:
    conn = readers.get()
    queue.put((id(conn) == parent_connection_id, conn.execute("SELECT v FROM t").fetchone()))


def test_retry_readers_are_one_per_thread_read_only_and_made_again_after_a_fork(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}", echo=False)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
        conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
    readers = ThreadReaders(engine)
    mine = readers.get()
    assert readers.get() is mine and mine.execute("SELECT v FROM t").fetchone() == ("x",)
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        mine.execute("INSERT INTO t (v) VALUES ('y')")
    others: list = []
    thread = threading.Thread(target=lambda: others.append(readers.get()))
    thread.start()
    thread.join(5)
    assert others and others[0] is not mine
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(readers, id(mine), queue))
    child.start()
    assert queue.get(timeout=10) == (False, ("x",))  # the child opened its own, and it reads the file
    child.join(10)
    memory = make_engine("sqlite://", echo=False)
    assert ThreadReaders(memory).get() is None  # an in-memory database is read through the pool
    engine.dispose()
    memory.dispose()


def test_the_file_lock_is_waited_for_until_the_deadline_and_taken_the_moment_it_is_free(tmp_path):
    """flock has no timeout: the waiter thread waits in the kernel, the caller gives up at its deadline."""
    import subprocess
    import sys

    path = str(tmp_path / "w.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FLOCK, path + ".write-lock"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = WriterLock(path)
        started = time.monotonic()
        assert lock.acquire(timeout=0.3) is False  # neither lock kept: the next caller is not blocked by this one
        assert 0.25 < time.monotonic() - started < 1.5
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
        started = time.monotonic()
        assert lock.acquire(timeout=2.0) is True  # the abandoned request's late lock was let go
        assert time.monotonic() - started < 1.0
        lock.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdin.close()
        holder.stdout.close()


HOLD_FLOCK = """
import fcntl, sys
fh = open(sys.argv[1], "a")
fcntl.flock(fh, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""
