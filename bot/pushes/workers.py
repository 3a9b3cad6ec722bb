"""A plain pool of sending threads fed from a queue: cheaper per message than futures, and kept for a whole push.

Each thread keeps its own HTTP connection to the platform (the API client is per thread), so keeping the threads for
the whole push keeps those connections open between batches.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from queue import SimpleQueue
from typing import Any

log = logging.getLogger(__name__)


class Workers:
    """`concurrency` threads running jobs; a context manager that stops and joins them on exit."""

    def __init__(self, concurrency: int, name: str = "push") -> None:
        self.jobs: SimpleQueue = SimpleQueue()
        self.threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(max(concurrency, 1))
        ]
        for thread in self.threads:
            thread.start()

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """fn(item) for every item on the threads; the results as they come (None where fn raised)."""
        results: SimpleQueue = SimpleQueue()
        count = 0
        for item in items:
            self.jobs.put((fn, item, results))
            count += 1
        for _ in range(count):
            yield results.get()

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            fn, item, results = job
            try:
                results.put(fn(item))
            except Exception:  # the caller still gets one answer per item
                log.exception("push worker: unexpected error")
                results.put(None)

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
