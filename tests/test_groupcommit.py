"""Group commit (SQLite): units share a transaction, each all-or-nothing; the WAL checkpointer keeps the log short."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db import sqlite
from bot.db.engines import make_engine
from bot.db.groupcommit import GroupCommit


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}", echo=False)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
    yield engine
    engine.dispose()


def rows(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY rowid"))]


def insert(value: str, then=None):
    def work(conn):
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", (value,))
        if then is not None:
            then()
        return value.upper()

    return work


def test_a_unit_alone_is_committed_and_returns_its_result(engine):
    assert GroupCommit(engine).run(insert("a")) == "A"
    assert rows(engine) == ["a"]


def test_units_queued_behind_a_running_group_are_committed_together_each_with_its_own_result(engine):
    group = GroupCommit(engine)
    inside, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def first_unit():
        inside.set()
        release.wait(5)

    def send(label, value, then=None):
        try:
            results[label] = group.run(insert(value, then))
        except Exception as exc:
            results[label] = exc

    leader = threading.Thread(target=send, args=("lead", "lead", first_unit))
    leader.start()
    assert inside.wait(5)
    # While the first group runs, three more units arrive; one of them fails (a duplicate of another).
    waiting = [threading.Thread(target=send, args=args) for args in (("b1", "b"), ("c", "c"), ("b2", "b"))]
    for t in waiting:
        t.start()
        time.sleep(0.05)
    reader = sqlite3.connect(engine.url.database)  # a plain reader: it does not queue for the writer lock
    before = reader.execute("SELECT count(*) FROM t").fetchone()[0]
    reader.close()
    release.set()
    for t in [leader, *waiting]:
        t.join(5)
    assert before == 0  # nothing visible while the first group was open
    assert results["lead"] == "LEAD" and results["c"] == "C"
    # The two "b" units: the first committed, the second rolled back to its savepoint with its own error.
    assert results["b1"] == "B"
    assert isinstance(results["b2"], IntegrityError)
    assert sorted(rows(engine)) == ["b", "c", "lead"]


def test_a_failing_unit_is_rolled_back_alone_and_gets_its_exception(engine):
    group = GroupCommit(engine)

    def failing(conn):
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('half done')")
        raise ValueError("handler failed")

    with pytest.raises(ValueError, match="handler failed"):
        group.run(failing)
    assert group.run(insert("after")) == "AFTER"
    assert rows(engine) == ["after"]


def test_a_failed_commit_fails_every_unit_of_the_group_and_keeps_nothing(engine, monkeypatch):
    group = GroupCommit(engine)
    gate, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow(conn):
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('slow')")
        gate.set()
        go.wait(5)

    def send(work):
        try:
            group.run(work)
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=send, args=(slow,))
    first.start()
    assert gate.wait(5)
    second = threading.Thread(target=send, args=(insert("x"),))
    third = threading.Thread(target=send, args=(insert("y"),))
    second.start()
    third.start()
    time.sleep(0.2)
    # The next group's commit fails (a full disk, an I/O error): both of its units fail, neither row stays.
    real_commit = sqlite._SQLiteConnection.commit

    def broken_commit(self):
        if self.in_transaction and self.execute("SELECT count(*) FROM t WHERE v IN ('x', 'y')").fetchone()[0]:
            self.rollback()
            raise OSError("disk I/O error")
        real_commit(self)

    monkeypatch.setattr(sqlite._SQLiteConnection, "commit", broken_commit)
    go.set()
    for t in (first, second, third):
        t.join(5)
    assert [type(e) for e in errors] == [OSError, OSError]
    assert rows(engine) == ["slow"]


def test_the_checkpointer_copies_the_log_into_the_database_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite.Checkpointer, "INTERVAL", 0.05)
    checkpointer = sqlite.Checkpointer()
    monkeypatch.setattr(sqlite, "CHECKPOINTER", checkpointer)
    path = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{path}", echo=False)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
        conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == sqlite.Checkpointer.FALLBACK_PAGES
    for _ in range(100):  # the thread runs every 50 ms
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('y')"))

    def in_the_file_itself() -> int:  # immutable=1 reads the database file and ignores the log
        bare = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            return bare.execute("SELECT count(*) FROM t").fetchone()[0]
        except sqlite3.OperationalError:  # the table itself not yet copied
            return 0
        finally:
            bare.close()

    deadline = time.monotonic() + 5
    while in_the_file_itself() < 101 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert in_the_file_itself() == 101  # far below the fallback of 20,000 pages: the thread did it
    engine.dispose()
