"""A WSGI fast path in front of Flask for public pages already rendered: the same bytes, ETag and headers, answered
from the page cache without building a request context, or a 304 when the client has the page.

Only a plain GET whose exact PATH_INFO, QUERY_STRING and Host were rendered for the store's current content
generation and today's date is answered here; anything else (another method, a proxy's X-Forwarded-Host, an
If-Modified-Since without an ETag, an edit, a new day) goes to Flask, which renders and records the page again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import date

from werkzeug.http import http_date
from werkzeug.utils import get_content_type

from notices.model import local_now
from notices.pagecache import LIMIT, Page
from notices.store import NoticeStore

log = logging.getLogger("notices.request")


class FastIndex:
    """(path, query, host) -> (generation, day, page, headers), bounded; filled by pagecache.respond()."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[str, str, str], tuple[int, date, Page, list]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, environ: dict, generation: int, day: date, page: Page) -> None:
        """Remember a page rendered for this request's raw address."""
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_X_FORWARDED_HOST" in environ:
            return
        ctype = get_content_type(page.mimetype, "utf-8")  # as werkzeug.Response sets it
        headers = [
            ("Content-Type", ctype),
            ("ETag", f'"{page.etag}"'),
            ("Last-Modified", http_date(page.last_modified)),
            ("Cache-Control", "no-cache"),
        ]
        key = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("HTTP_HOST", ""))
        with self._lock:
            self._items[key] = (generation, day, page, headers)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, key: tuple[str, str, str]):
        with self._lock:
            return self._items.get(key)


class FastPath:
    """WSGI middleware answering repeated public pages from the FastIndex."""

    def __init__(self, app, index: FastIndex, store: NoticeStore) -> None:
        self.app, self.index, self.store = app, index, store

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_X_FORWARDED_HOST" in environ:
            return self.app(environ, start_response)
        key = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("HTTP_HOST", ""))
        hit = self.index.get(key)
        if hit is None:
            return self.app(environ, start_response)
        started = time.perf_counter()
        self.store.refresh()  # throttled: at most one look at the files per interval
        generation, day, page, headers = hit
        if generation != self.store.generation or day != local_now(self.store.tz).date():
            return self.app(environ, start_response)
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match is None and "HTTP_IF_MODIFIED_SINCE" in environ:
            return self.app(environ, start_response)  # date revalidation: Flask's make_conditional decides
        if match is not None and (match.strip() == "*" or f'"{page.etag}"' in match):
            start_response("304 NOT MODIFIED", [h for h in headers if h[0] != "Content-Type"])
            body = []
            status = 304
        else:
            start_response("200 OK", [*headers, ("Content-Length", str(len(page.body)))])
            body = [page.body]
            status = 200
        log.info("method=GET path=%s status=%s ms=%.1f", key[0], status, (time.perf_counter() - started) * 1000)
        return body
