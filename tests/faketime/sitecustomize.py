"""Loaded as `sitecustomize` by every Python process of `make test-far-date` (its folder is put on PYTHONPATH), and
by nothing else.

libfaketime 0.9.10 (Debian 12) mistranslates the absolute deadline of `clock_nanosleep(CLOCK_MONOTONIC,
TIMER_ABSTIME)`, which Python 3.11's `time.sleep` uses, and the call fails with EINVAL, even with
FAKETIME_DONT_FAKE_MONOTONIC=1. Waiting on a lock with a timeout (what `threading.Event.wait` does) is not
affected, so `time.sleep` waits that way in these processes.
"""

import threading
import time

_never_set = threading.Event()


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    _never_set.wait(seconds)


time.sleep = _sleep
