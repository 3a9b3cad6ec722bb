"""Save a notice from the console: checked by the same rules as `flask notices check` before anything is written.

The new text is written to a temporary file beside the real one (under `.editing/`, which the store does not read),
parsed and checked there, and only a file without problems replaces the real one (`os.replace`, so a reader never
sees it half written). The save is refused, and nothing changed, when the file changed since the editor opened it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from notices.crosscheck import broken_links, keyword_conflicts
from notices.editing import EditedNotice
from notices.model import Notice, Problem
from notices.parse import SLUG, parse_file
from notices.store import NoticeStore

WORK_DIR = ".editing"
MAX_SLUG = 100
BAD_SLUG = "网页地址只能用小写英文字母、数字和连字符，以字母或数字开头，不超过 100 个字符，如 2026-winter-tips"
FRONT_IN_BODY = (
    "正文开头是一段字段（以 --- 开头）：标题、日期等请填在上面的各栏，再删去正文开头的这一段；"
    "正文里的分隔线请写成 *** 或 ___"
)
QUOTED = re.compile(r"“([^”]+)”")


def fingerprint(data: bytes | None) -> str:
    """The version of a file as the form carries it: the SHA-256 of its bytes ("" for no file)."""
    return "" if data is None else hashlib.sha256(data).hexdigest()


@dataclass
class Outcome:
    """What a save did: problems by form field, or the file as it is now when someone else changed it."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    conflict: str | None = None  # the file's current text (or "" when it was deleted) when the save was refused
    version: str = ""  # the file's fingerprint after the save, or now (on a conflict)
    path: Path | None = None
    image: Path | None = None  # the picture stored with this save

    @property
    def saved(self) -> bool:
        return not self.problems and self.conflict is None

    def add(self, name: str, message: str) -> None:
        self.problems.setdefault(name, []).append(message)


def save(
    store: NoticeStore,
    form: EditedNotice,
    opened: str | None,
    image: tuple[str, bytes] | None = None,
) -> Outcome:
    """Write the form's notice to content/notices/<slug>.md if it passes the check.

    `opened` is the fingerprint of the file when the form was opened (None: a new notice, which must not exist yet).
    `image` is an uploaded picture already checked (name, bytes), stored under images/ and kept only if the save
    succeeds."""
    out = Outcome()
    if not SLUG.match(form.slug) or len(form.slug) > MAX_SLUG:
        out.add("slug", BAD_SLUG)
        return out
    path = out.path = store.dir / f"{form.slug}.md"
    if form.body.lstrip().startswith("---"):
        out.add("body", FRONT_IN_BODY)
        return out
    text = form.to_text()
    if _refused(out, path, opened):  # told at once, before the lock; looked at again under it
        return out
    with _locked(store.dir) as work:
        if _refused(out, path, opened):
            return out
        picture = _store_image(store.images, image)
        folder = Path(tempfile.mkdtemp(dir=work))
        try:
            candidate = folder / path.name
            candidate.write_text(text, encoding="utf-8")
            for problem in check(store, candidate):
                out.add(form.field_at(problem.line), problem.message)
            if out.problems:
                if picture is not None:
                    picture.unlink(missing_ok=True)
                return out
            os.replace(candidate, path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    out.image = picture
    out.version = fingerprint(text.encode("utf-8"))
    store.refresh(force=True)
    return out


def _refused(out: Outcome, path: Path, opened: str | None) -> bool:
    """True (with the reason in `out`) when a new notice's address is taken or the file changed since opened."""
    current = path.read_bytes() if path.is_file() else None
    if opened is None and current is not None:
        out.add("slug", f"已经有一篇公告使用这个网页地址（{path.name}），请换一个，或在列表里打开它编辑")
    elif opened is not None and fingerprint(current) != opened:
        out.conflict = "" if current is None else current.decode("utf-8", "replace")
        out.version = fingerprint(current)
    return not out.saved


def check(store: NoticeStore, candidate: Path) -> list[Problem]:
    """The problems `flask notices check` would report on this file were it in the content directory: its own, and
    its keywords and links against the other notices."""
    notice, problems, links = parse_file(candidate, store.images, store.tz, store.audience_check)
    store.refresh(force=True)
    others = [n for n in [*store.all(), *store.drafts()] if n.slug != candidate.stem]
    if notice is None:
        return problems
    published = {n.slug: n for n in others if not n.draft}
    drafts = {n.slug: n for n in others if n.draft}
    (drafts if notice.draft else published)[notice.slug] = notice
    problems += broken_links({candidate: (None, notice, [], links)}, published, drafts)
    return problems + _keyword_clashes(notice, others)


def _keyword_clashes(notice: Notice, others: list[Notice]) -> list[Problem]:
    """Keyword clashes this notice brings, all reported on its keywords line."""
    before = {(p.path, p.message) for p in keyword_conflicts(others)}
    line = notice.lines.get("keywords", 1)
    found = []
    for problem in keyword_conflicts([*others, notice]):
        if (problem.path, problem.message) in before:
            continue
        if problem.path == notice.path:
            found.append(Problem(notice.path, line, problem.message))
        else:
            word = QUOTED.search(problem.message)
            message = f"关键词“{word.group(1) if word else ''}”已经属于仍有效的公告 {problem.path.name}："
            message += "同一个关键词只能对应一篇公告，请删去其中一处"
            found.append(Problem(notice.path, line, message))
    return found


def _store_image(images: Path, image: tuple[str, bytes] | None) -> Path | None:
    """Store a checked picture under its generated name; the path when this save created it (else None)."""
    if image is None:
        return None
    images.mkdir(parents=True, exist_ok=True)
    target = images / image[0]
    if target.exists():
        return None  # the same picture (its name is its content's hash) is there already
    partial = images / f".{image[0]}.partial"
    partial.write_bytes(image[1])
    os.replace(partial, target)
    return target


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[Path]:
    """The content directory's work folder, held by one save at a time across processes (an advisory file lock)."""
    work = directory / WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    ignore = work / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")  # a content directory under git never records the work folder
    with open(work / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield work
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
