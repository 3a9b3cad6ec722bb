"""The writers' lock of one SQLite database: a thread lock for a process's threads, then `flock` between processes,
each waited for no longer than the caller's deadline."""

from __future__ import annotations

import fcntl
import os
import threading
import time

from bot.forks import Forks


class FileLockWaiter:
    """A thread that waits in `flock` for the callers of one WriterLock, one at a time (the thread lock in front lets
    only one through): `flock` has no timeout of its own, and a caller must give up in time.

    A caller that gives up marks its request abandoned; when the waiter gets the lock for it later, it lets go at once.
    """

    def __init__(self) -> None:
        self.forks = Forks.count
        self._cond = threading.Condition()
        self._pending: list[dict] = []
        threading.Thread(target=self._run, name="sqlite-write-lock", daemon=True).start()

    def acquire(self, fd: int, deadline: float) -> bool:
        request = {"fd": fd, "held": False, "abandoned": False}
        with self._cond:
            self._pending.append(request)
            self._cond.notify_all()
            while not request["held"]:
                left = deadline - time.monotonic()
                if left <= 0:
                    request["abandoned"] = True
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                request = self._pending.pop(0)
                if request["abandoned"]:
                    continue
            fcntl.flock(request["fd"], fcntl.LOCK_EX)  # sleeps in the kernel until the holder releases
            with self._cond:
                if request["abandoned"]:
                    fcntl.flock(request["fd"], fcntl.LOCK_UN)
                else:
                    request["held"] = True
                    self._cond.notify_all()


def poll_flock(fd: int, deadline: float) -> bool:
    """The file lock by `deadline`, asked every 1 to 10 ms: for a rare check (/healthz), not for the writers."""
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.01)


class WriterLock:
    """One SQLite database's writer lock: a thread lock for this process's threads, then a file lock between processes.

    SQLite lets one writer in at a time and makes the others poll with sleeps of 1, 2, 5, 10 ... ms: two busy processes
    then spend their time asleep while the database is free (bench/README.md, "Before and after": writers queue on a
    lock, then on a file lock). Writers queue here instead, the threads of a process on the thread lock and the
    processes on `flock` of a file beside the database, and the next one starts the moment the holder commits. SQLite's
    own lock and busy timeout still apply behind it (a process that does not take this lock, such as the sqlite3 shell,
    is waited for as before).
    """

    def __init__(self, path: str | None) -> None:
        self.thread = threading.Lock()
        self.path = path + ".write-lock" if path and path != ":memory:" else None
        self._fd: int | None = None
        self._forks = 0
        self._waiter: FileLockWaiter | None = None

    def acquire(self, timeout: float) -> bool:
        """Take both locks within `timeout` seconds; False (holding neither) when another writer kept them."""
        deadline = time.monotonic() + timeout
        if not self.thread.acquire(timeout=timeout):
            return False
        try:
            fd = self._file()
            if fd is not None and not self._flock(fd, deadline):
                self.thread.release()
                return False
        except BaseException:
            self.thread.release()
            raise
        return True

    def _flock(self, fd: int, deadline: float) -> bool:
        """The file lock by `deadline`: at once when it is free; else the kernel's own wait, in the waiter thread,
        so that this thread wakes the moment the holder lets go and still gives up at the deadline."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        if self._waiter is None or self._waiter.forks != Forks.count:  # its thread did not survive a fork
            self._waiter = FileLockWaiter()
        return self._waiter.acquire(fd, deadline)

    def release(self) -> None:
        try:
            if self._fd is not None and self._forks == Forks.count:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.thread.release()

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self._forks != Forks.count:  # opened before a fork: the child needs its own open file (flock is per file)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._forks = Forks.count
        return self._fd
