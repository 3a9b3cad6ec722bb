"""Structured logging: one key=value line per request, job and command; personal data never logged."""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable

import click
from flask import Flask, g, request

from bot.config import AppSettings
from bot.forks import Forks
from bot.privacy import mask_text


class MaskingFormatter(logging.Formatter):
    """A key=value formatter that masks any mobile number that slipped into a message, and escapes control
    characters in the values put into a line (a CR/LF in a menu key must not start a forged line of its own)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            if any(isinstance(a, str) and _UNSAFE.search(a) for a in args):
                record.args = tuple(_escape(a) if isinstance(a, str) else a for a in args)
        return mask_text(super().format(record))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached = self._second
        if cached[0] != second:  # strftime once a second, not once a line
            cached = self._second = (second, time.strftime(self.default_time_format, self.converter(record.created)))
        return self.default_msec_format % (cached[1], record.msecs)

    _second: tuple[int, str] = (-1, "")


_UNSAFE = re.compile("[\x00-\x1f\x7f]")


def _escape(value: str) -> str:
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], value)


class LineBuffer(logging.StreamHandler):
    """A stream handler that writes INFO lines in batches when they come fast: a line that finds the last write at
    least FLUSH_EVERY seconds old is written at once; lines that follow it closer are kept and written by a thread of
    the handler's own within FLUSH_EVERY seconds, or as soon as BATCH are waiting. A WARNING or worse is written at
    once, with everything before it.

    One line per request written on its own costs a system call, the GIL released and taken back, under load about a
    tenth of a webhook retry's CPU (bench/README.md). A quiet process (the dev server, the scheduler) writes each line
    at once; a busy one about five times a second. At most FLUSH_EVERY seconds of INFO lines can be lost if a busy
    process is killed outright; warnings and errors never wait. Lines are flushed at a normal exit.
    """

    FLUSH_EVERY = 0.2
    BATCH = 256

    def __init__(self, stream=None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._forks = 0  # the fork count its flushing thread was started in
        self._written = 0.0  # time.monotonic() of the last write
        self._threadless = False  # no flushing thread could be started: every line is written at once
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        if self._forks != Forks.count:
            self._start()
        pending = self._pending
        pending.append(line)  # emit runs under self.lock (Handler.handle), as flush does
        if (
            record.levelno >= logging.WARNING
            or self._threadless
            or len(pending) >= self.BATCH
            or time.monotonic() - self._written >= self.FLUSH_EVERY
        ):
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._forks != Forks.count:  # a forked child that has not logged: what waits is its parent's
                self._pending = []
                return
            lines, self._pending = self._pending, []
            self._written = time.monotonic()
            if lines and self.stream is not None:
                with contextlib.suppress(OSError, ValueError):  # a full disk, a closed stream: never raise here
                    self.stream.write("".join(lines))
                    self.stream.flush()

    def _start(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._forks == Forks.count:
                return
            self._forks = Forks.count
            self._pending = []  # lines buffered by the parent before a fork are the parent's to write
            try:
                threading.Thread(target=self._run, args=(self._forks,), name="log-flush", daemon=True).start()
                self._threadless = False
            except RuntimeError:  # no thread to be had (a thread limit, the interpreter stopping): write at once
                self._threadless = True

    def _run(self, generation: int) -> None:
        while Forks.count == generation:
            time.sleep(self.FLUSH_EVERY)
            if self._pending:
                self.flush()


RUNNING_ON = re.compile(r"Running on (https?://\S+)")
SETTLE_SECONDS = 10.0  # the longest the banner waits for the background start-up (the scheduler's first jobs)
StartupLines = Callable[[str], list[str]]  # the served address -> lines for the start-up banner


class DevServerLines(logging.Filter):
    """On werkzeug's logger: warnings and errors pass; werkzeug's own request lines are dropped (their query strings
    carry WeChat's openids; `bot.request` logs every request instead); the development server's "Running on"
    announcement becomes the start-up banner of the app last set up (`flask run`, `make run`)."""

    def __init__(self) -> None:
        super().__init__()
        self.app: Callable[[], Flask | None] = lambda: None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        text = record.getMessage()
        app = self.app()
        if app is not None:
            found = RUNNING_ON.search(text)
            if found is not None:
                announce(app, found.group(1))
                return False
            if "CTRL+C" in text:
                return False  # the banner ends with it
        # The server's own notices (" * Debugger PIN: ...") pass; request lines ('127.0.0.1 - - [...] "GET ...') not.
        return text.startswith(" * ") or "Running on" in text or "CTRL+C" in text


def on_startup(app: Flask, lines: StartupLines) -> None:
    """Add lines to the banner printed when the development server starts serving (called with its address)."""
    app.extensions.setdefault("startup_lines", []).append(lines)


def settle_first(app: Flask, wait: Callable[[float], None]) -> None:
    """Have the banner wait for a part of the start-up that runs in the background (`wait(timeout)` returns when it is
    done, or after `timeout` seconds), so that its log lines come before the banner, not after it."""
    app.extensions.setdefault("startup_waits", []).append(wait)


def announce(app: Flask, address: str) -> None:
    """Print the banner at the end of the start-up: at once, or from a thread of its own once the background parts of
    the start-up (settle_first) are done, at most SETTLE_SECONDS later; the server is serving meanwhile."""
    waits = app.extensions.get("startup_waits", [])
    if not waits:
        _banner(app, address)
        return

    def settle_then_print() -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        for wait in waits:
            wait(max(0.0, deadline - time.monotonic()))
        _banner(app, address)

    threading.Thread(target=settle_then_print, name="startup-banner", daemon=True).start()


def _banner(app: Flask, address: str) -> None:
    """Where the app is served, then each feature's lines (sandbox chat, console, account)."""
    base = address.rstrip("/")
    lines = [f" * Serving {base}/  (Flask's development server: in production run gunicorn, see the README)"]
    for provider in app.extensions.get("startup_lines", []):
        try:
            lines += provider(base)
        except Exception:
            logging.getLogger(__name__).exception("start-up banner: %s failed", getattr(provider, "__name__", provider))
    lines.append(" * Press CTRL+C to quit")
    for handler in logging.getLogger().handlers:
        handler.flush()  # the log lines so far come before the banner
    click.echo("\n".join(lines), err=True)


def quiet(app: Flask, endpoint: str) -> None:
    """Log the requests of an endpoint polled all the time (the sandbox chat's) at DEBUG, not INFO."""
    app.extensions.setdefault("quiet_endpoints", set()).add(endpoint)


def _werkzeug_filter() -> DevServerLines:
    logger = logging.getLogger("werkzeug")
    found = next((f for f in logger.filters if isinstance(f, DevServerLines)), None)
    if found is None:
        found = DevServerLines()
        logger.addFilter(found)
    logger.setLevel(logging.INFO)  # the filter, not the level, keeps request lines out
    return found


def init_app(app: Flask) -> None:
    """Configure the root logger once and log every request with its status and duration."""
    level = AppSettings.of(app).log_level
    root = logging.getLogger()
    if not any(getattr(h, "_bot", False) for h in root.handlers):
        handler = LineBuffer()
        handler._bot = True  # type: ignore[attr-defined]
        handler.setFormatter(MaskingFormatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    _werkzeug_filter().app = weakref.ref(app)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our jobs log their own one line

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else -1
        # The path only: WeChat's query string carries the user's openid.
        level = logging.DEBUG if request.endpoint in app.extensions.get("quiet_endpoints", ()) else logging.INFO
        logging.getLogger("bot.request").log(
            level, "method=%s path=%s status=%s ms=%.1f", request.method, request.path, response.status_code, ms
        )
        return response
