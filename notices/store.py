"""The notice store: every valid file under content/notices in memory, reloaded when a file changes.

Files are stat'ed at most once per `interval` seconds, and only the ones whose (mtime, size) changed are read again.
Drafts (`draft: true`) are kept apart: every public look-up (get, all, latest, by_keyword, related, search) leaves
them out; `draft(slug)` and `drafts()` serve the preview and the editors' commands.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from notices.crosscheck import broken_links, keys, keyword_conflicts
from notices.model import Notice, Problem
from notices.parse import AudienceCheck, Link, parse_file
from notices.retrieval import Lexicon
from notices.search import Hit, Searcher, fold

Version = tuple[int, int]


@dataclass
class _Snapshot:
    """One consistent view of the content directory; replaced whole on each reload."""

    notices: list[Notice] = field(default_factory=list)  # published, newest first
    by_slug: dict[str, Notice] = field(default_factory=dict)  # published
    drafts: dict[str, Notice] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    last_modified: datetime = field(default_factory=lambda: datetime.fromtimestamp(0, UTC))
    generation: int = 0  # counts the rebuilds: cached pages and searches are keyed by it


class NoticeStore:
    """Notices by slug, keyword, category and search; see INTERFACES.md ("The notice store")."""

    def __init__(
        self,
        content_dir: Path | str,
        timezone: str = "Asia/Shanghai",
        interval: float = 1.0,
        lexicon: Lexicon | None = None,
        audience_check: AudienceCheck | None = None,
    ) -> None:
        self.dir = Path(content_dir)
        self.searcher = Searcher(lexicon)
        self.audience_check = audience_check  # set before the first read: parsed files are kept per version
        self.images = self.dir / "images"
        self.tz = ZoneInfo(timezone)
        self.interval = interval
        self.reads = 0  # files parsed so far: lets a test see that unchanged files are not read again
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[Version, Notice | None, list[Problem], list[Link]]] = {}
        self._images_version: Version | None = None
        self._checked_at = float("-inf")
        self._snap = _Snapshot()

    # ------------------------------------------------------------------ reading the directory

    def refresh(self, force: bool = False) -> None:
        """Look for changed files (at most once per interval unless forced) and rebuild the index if any."""
        if not force and time.monotonic() - self._checked_at < self.interval:
            return
        with self._lock:
            if not force and time.monotonic() - self._checked_at < self.interval:
                return
            if self._reload():
                snap = self._build()
                snap.generation = self._snap.generation + 1
                self._snap = snap
            # Marked checked only now: a thread arriving during the first load waits for it instead of answering
            # from the empty snapshot (a 404 for every notice during a worker's first moments).
            self._checked_at = time.monotonic()

    def _reload(self) -> bool:
        """Re-read new and changed files, forget deleted ones; True when anything changed."""
        current = _scan(self.dir)
        images = _version(self.images)
        reread_all = images != self._images_version  # a cover or picture added or removed
        self._images_version = images
        changed = set(self._files) - set(current)
        for path in changed:
            del self._files[path]
        for path, version in current.items():
            known = self._files.get(path)
            if known and known[0] == version and not reread_all:
                continue
            self._files[path] = (version, *parse_file(path, self.images, self.tz, self.audience_check))
            self.reads += 1
            changed.add(path)
        return bool(changed) or reread_all

    def _build(self) -> _Snapshot:
        snap = _Snapshot()
        for path in sorted(self._files):
            _, notice, problems, _ = self._files[path]
            snap.problems.extend(problems)
            if notice is None:
                continue
            other = snap.by_slug.get(notice.slug) or snap.drafts.get(notice.slug)
            if other is not None:
                message = f"与 {other.path.name} 的网页地址相同（/notices/{notice.slug}），请改名"
                snap.problems.append(Problem(path, 1, message))
                continue
            (snap.drafts if notice.draft else snap.by_slug)[notice.slug] = notice
        snap.notices = _newest_first(snap.by_slug.values())
        snap.problems.extend(keyword_conflicts([*snap.notices, *snap.drafts.values()]))
        snap.problems.extend(broken_links(self._files, snap.by_slug, snap.drafts))
        snap.problems.sort(key=lambda p: (str(p.path), p.line))
        stamps = [v[0][0] for v in self._files.values()] + [_version(self.dir)[0], self._images_version[0]]
        snap.last_modified = datetime.fromtimestamp(max(stamps) // 1_000_000_000, UTC)
        return snap

    def _snapshot(self) -> _Snapshot:
        self.refresh()
        return self._snap

    # ------------------------------------------------------------------ the interface

    def get(self, slug: str) -> Notice | None:
        """The notice published at /notices/<slug>, expired or not (None for a draft)."""
        return self._snapshot().by_slug.get(slug.lower())

    def all(self) -> list[Notice]:
        """Every valid published notice, newest first."""
        return list(self._snapshot().notices)

    def draft(self, slug: str) -> Notice | None:
        """The draft that would be published at /notices/<slug> (for its preview), or None."""
        return self._snapshot().drafts.get(slug.lower())

    def drafts(self) -> list[Notice]:
        """Every valid draft, newest first."""
        return _newest_first(self._snapshot().drafts.values())

    def latest(self, category: str | None = None, limit: int | None = 5) -> list[Notice]:
        """The newest notices, optionally of one category."""
        found = [n for n in self._snapshot().notices if category is None or n.category == category]
        return found if limit is None else found[:limit]

    def by_keyword(self, text: str) -> Notice | None:
        """The newest live notice one of whose keywords occurs in the text (case, width and spaces folded)."""
        folded = "".join(fold(text).split())
        if not folded:
            return None
        for notice in self._snapshot().notices:
            if not notice.expired and any(k and k in folded for k in keys(notice)):
                return notice
        return None

    def related(self, notice: Notice, limit: int = 3) -> list[Notice]:
        """Other notices sharing keywords or the category, the closest and newest first."""
        mine = set(keys(notice))
        scored = []
        for other in self._snapshot().notices:
            if other.slug == notice.slug:
                continue
            score = 2 * len(mine & set(keys(other))) + (other.category == notice.category)
            if score:
                scored.append((-score, -other.date.toordinal(), other.slug, other))
        return [item[-1] for item in sorted(scored)[:limit]]

    def search(self, query: str, limit: int = 50, min_confidence: float | None = None) -> list[Hit]:
        """Notices answering a query or question, best first (the index is built on the first search after a
        reload or a change of the lexicon)."""
        notices = self._snapshot().notices
        if min_confidence is None:
            return self.searcher.search(notices, query, limit)
        return self.searcher.search(notices, query, limit, min_confidence)

    def set_lexicon(self, lexicon: Lexicon | Callable[[], Lexicon]) -> None:
        """The search's dictionary and synonyms, or a function returning the current one (the bot's reloading
        content/synonyms.toml); searches and cached search pages follow from the next request on."""
        self.searcher.set_lexicon(lexicon)

    def problems(self) -> list[Problem]:
        """Everything wrong with the files, sorted by file and line."""
        return list(self._snapshot().problems)

    @property
    def generation(self) -> int:
        """A number that changes whenever any notice, picture or file, or the search's lexicon, changed (files are
        checked once per interval)."""
        return self._snapshot().generation + self.searcher.generation

    @property
    def last_modified(self) -> datetime:
        """When anything under the content directory last changed (whole seconds, UTC)."""
        return self._snapshot().last_modified


def _newest_first(notices) -> list[Notice]:
    return sorted(notices, key=lambda n: (-n.date.toordinal(), n.slug))


def _scan(directory: Path) -> dict[Path, Version]:
    """The *.md files of the directory with their (mtime_ns, size)."""
    found: dict[Path, Version] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.name.endswith(".md") and entry.is_file():
            st = entry.stat()
            found[Path(entry.path)] = (st.st_mtime_ns, st.st_size)
    return found


def _version(path: Path) -> Version:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)
