"""Rendered public pages kept as bytes with their ETag, per URL, host, content generation and day.

A repeated page is a dictionary look-up instead of a template rendering, and a revalidation (If-None-Match or
If-Modified-Since) is a 304 without rendering at all. An edit changes the store's generation, so the next request
renders afresh; the day is part of the key because a notice's 已过期 depends on it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Response, request

from notices.model import local_now
from notices.store import NoticeStore

if TYPE_CHECKING:
    from notices.fastpath import FastIndex

LIMIT = 256  # pages kept per process (a page is 5-40 KB)


@dataclass(frozen=True)
class Page:
    """One rendered page."""

    body: bytes
    etag: str
    last_modified: datetime
    mimetype: str


class PageCache:
    """A bounded, thread-safe LRU of rendered pages."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._pages: OrderedDict[tuple, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: Page) -> None:
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self.limit:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def respond(
    cache: PageCache,
    store: NoticeStore,
    render: Callable[[], str | bytes],
    mimetype: str,
    fast: FastIndex | None = None,
) -> Response:
    """The page for this request from the cache, rendered by `render()` on a miss; 304 when the client has it.
    With `fast`, the page is also recorded for the WSGI fast path (notices/fastpath.py), which answers repeats."""
    generation = store.generation
    day = local_now(store.tz).date()
    key = (request.path, request.query_string, request.host, generation, day, mimetype)
    page = cache.get(key)
    if page is None:
        body = render()
        data = body.encode() if isinstance(body, str) else body
        page = Page(data, hashlib.sha1(data).hexdigest(), store.last_modified, mimetype)
        cache.put(key, page)
    if fast is not None:
        fast.record(request.environ, generation, day, page)
    response = Response(page.body, mimetype=mimetype)
    response.set_etag(page.etag)
    response.last_modified = page.last_modified
    response.cache_control.no_cache = True  # always revalidate: an edit shows at once, a 304 costs little
    return response.make_conditional(request)
