"""What a notice is, and what a problem with an editor's file looks like."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import clock
from notices.render import html_to_text, render_cached

CATEGORIES = ("消费提示", "维权指南", "合规指导", "典型案例", "通知公告")
CHANNELS = ("mass", "template", "custom")


def local_now(tz: ZoneInfo) -> datetime:
    """The current time in the bureau's timezone."""
    return clock.local_now(tz)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an editor's file, printed as `file:line: message`."""

    path: Path
    line: int
    message: str

    def show(self, base: Path | None = None) -> str:
        """The `file:line: message` line, with the path relative to base when it lies under it."""
        shown = self.path
        if base is not None and self.path.is_relative_to(base):
            shown = self.path.relative_to(base)
        return f"{shown}:{self.line}: {self.message}"


@dataclass(frozen=True, eq=False)
class Notice:
    """One notice: its front matter, its Markdown body and the version of its file. A draft (`draft: true`) is
    shown only through a signed preview link (notices/preview.py), never on a public page or in the bot."""

    slug: str
    title: str
    date: date
    category: str
    keywords: tuple[str, ...]
    summary: str
    cover: str | None
    expires: date | None
    push: list[dict]
    path: Path
    body: str = field(repr=False)
    body_line: int = field(repr=False)
    version: tuple[int, int] = field(repr=False)  # (mtime_ns, size) of the file when read
    lines: dict[str, int] = field(repr=False, default_factory=dict)  # front-matter key -> its line in the file
    tz: ZoneInfo = field(repr=False, default=ZoneInfo("Asia/Shanghai"))
    draft: bool = False

    @property
    def expired(self) -> bool:
        """True once the day after `expires` has begun in the bureau's timezone (the page stays up and says so)."""
        return self.expires is not None and self.expires < local_now(self.tz).date()

    @property
    def modified(self) -> datetime:
        """When the file last changed (UTC)."""
        return datetime.fromtimestamp(self.version[0] / 1e9, UTC)

    @property
    def html(self) -> str:
        """The body as sanitized HTML, rendered once per file version."""
        return render_cached(str(self.path), self.version, self.body)

    @property
    def text(self) -> str:
        """The body's readable text."""
        return html_to_text(self.html)
