"""A count of the forks in this process's line, for what must be made again in a child (threads, open files, SQLite
connections) without a getpid() system call on every use: under load that call showed in the webhook's profile."""

from __future__ import annotations

import os


class Forks:
    count = 1  # 1 in the process that imported this first; one more in each child after a fork


def _after_fork_in_child() -> None:
    Forks.count += 1


os.register_at_fork(after_in_child=_after_fork_in_child)
