"""Files editors write (content/*.toml): one loader and one error class for all of them.

`read(path)` parses a file and keeps its text to point at lines; every problem is a ContentError printed as
`file:line: what is wrong and how to fix it`. `ContentFile` adds reloading for the files the bot rereads while it
runs (the replies and phrases).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import click

from bot.config import ROOT

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECK_EVERY = 1.0  # seconds between two looks at a file's mtime


class ContentError(click.ClickException):
    """A problem in an editor's file, as `path:line: what is wrong and how to fix it` (several: one per line)."""

    def __init__(self, path: Path, line: int, problem: str, *more: tuple[int, str]) -> None:
        super().__init__("\n".join(f"{path}:{n}: {text}" for n, text in ((line, problem), *more)))


def resolve(path: str | Path) -> Path:
    """A content path from config: absolute, or relative to the repository root."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def read(path: Path) -> tuple[dict[str, Any], Source]:
    """A TOML content file and its Source; a missing file, bad encoding or syntax error is a ContentError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(path, 1, "找不到文件") from None
    except UnicodeDecodeError:
        raise ContentError(path, 1, "不是 UTF-8 编码的文本：请用 UTF-8 编码另存") from None
    try:
        return tomllib.loads(text), Source(path, text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ContentError(path, line, f"不是有效的 TOML：{exc}") from None


def fill(data: Any, **values: str) -> Any:
    """The data with each `{name}` of `values` replaced in every string, at any depth (e.g. {bureau} in a content
    file, expanded when it is loaded); other braces are left as they are."""
    if isinstance(data, str):
        for name, value in values.items():
            data = data.replace("{" + name + "}", value)
        return data
    if isinstance(data, dict):
        return {key: fill(item, **values) for key, item in data.items()}
    if isinstance(data, list):
        return [fill(item, **values) for item in data]
    return data


class Source:
    """The text of a content file, to point errors at lines."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def error(self, line: int, problem: str) -> ContentError:
        return ContentError(self.path, line, problem)

    def line_of_table(self, header: str, index: int) -> int:
        """The line (1-based) of the index-th `[[header]]` (or `[header]`), or 1 when not found."""
        pattern = re.compile(r"^\s*\[\[?\s*" + re.escape(header) + r"\s*\]\]?\s*(#.*)?$")
        found = [n for n, line in enumerate(self.lines, 1) if pattern.match(line)]
        return found[index] if index < len(found) else 1

    def line_of_key(self, key: str, start: int = 1) -> int:
        """The line of `key = ...` at or after `start` and before the next table header, else `start`."""
        pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for n in range(start, len(self.lines) + 1):
            line = self.lines[n - 1]
            if n > start and line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return n
        return start


class ContentFile(Generic[T]):
    """One TOML file turned into a value by `build(data, source)`; `get()` reloads it when its mtime changed.

    A reload that fails keeps the last good value and logs the file:line error, so an editor's slip never takes
    the bot down; the first load (at start) raises instead, so a broken file stops the start with a clear message.
    """

    def __init__(self, path: Path, build: Callable[[dict[str, Any], Source], T]) -> None:
        self.path, self.build = path, build
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._value: T | None = None
        self.listeners: list[Callable[[T], None]] = []

    def load(self) -> T:
        """Read, parse and validate the file now; raise ContentError naming the line of the first problem."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise ContentError(self.path, 1, "找不到文件") from None
        data, source = read(self.path)
        value = self.build(data, source)
        self._value, self._stamp = value, (stat.st_mtime_ns, stat.st_size)
        for listener in self.listeners:
            listener(value)
        return value

    def get(self) -> T:
        """The current value, reloaded first if the file changed (looked at no more than once a second)."""
        now = time.monotonic()
        if now - self._checked >= CHECK_EVERY and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                self._reload_if_changed()
            finally:
                self._lock.release()
        if self._value is None:
            raise RuntimeError(f"{self.path} was never loaded")
        return self._value

    def _reload_if_changed(self) -> None:
        try:
            stat = self.path.stat()
        except OSError as exc:
            log.error("content file %s cannot be read (%s); keeping the last good version", self.path, exc)
            return
        if (stat.st_mtime_ns, stat.st_size) == self._stamp:
            return
        try:
            self.load()
            log.info("content file %s reloaded", self.path)
        except ContentError as exc:
            self._stamp = (stat.st_mtime_ns, stat.st_size)  # do not retry the same broken version every second
            log.error("content file not reloaded, keeping the last good version: %s", exc.format_message())


def _line_from_message(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 1
