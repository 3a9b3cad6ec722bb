"""Checks across files: a keyword claimed by two notices, a link to a notice that is missing or still a draft."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from notices.model import Notice, Problem
from notices.search import fold


def keys(notice: Notice) -> list[str]:
    """The notice's keywords as the bot matches them (case, width and spaces folded)."""
    return ["".join(fold(k).split()) for k in notice.keywords]


def keyword_conflicts(notices: list[Notice]) -> list[Problem]:
    """A keyword claimed by several live notices (drafts included: they are about to be): reported on each file that
    claimed it after the first one, the newer by date and then by modification time, naming the first."""
    owners: dict[str, list[tuple[Notice, str]]] = defaultdict(list)
    for notice in sorted(notices, key=lambda n: (n.date, n.version[0], n.slug)):  # oldest first
        if notice.expired:
            continue
        for key, shown in dict(zip(keys(notice), notice.keywords, strict=True)).items():
            owners[key].append((notice, shown))
    problems = []
    for claimants in owners.values():
        first = claimants[0][0]
        for later, shown in claimants[1:]:
            message = f"关键词“{shown}”已经属于仍有效的公告 {first.path.name}："
            message += "同一个关键词只能对应一篇公告（消费者发送它只会收到其中较新的一篇），请删去其中一处"
            problems.append(Problem(later.path, later.lines.get("keywords", 1), message))
    return problems


def broken_links(files: dict, published: dict[str, Notice], drafts: dict[str, Notice]) -> list[Problem]:
    """Links to /notices/<slug> where no notice has that slug (checked in broken files too), and links from a
    published notice to a draft, which its readers would find missing."""
    problems = []
    for path, (_, notice, _, links) in files.items():
        for line, slug in links:
            if slug.lower() in drafts:
                if notice is not None and not notice.draft:
                    problems.append(_draft_link(path, line, slug))
            elif slug.lower() not in published:
                message = f"链接 /notices/{slug} 指向的公告不存在（应为 content/notices/ 下某个文件名，不含 .md）"
                problems.append(Problem(path, line, message))
    return problems


def _draft_link(path: Path, line: int, slug: str) -> Problem:
    message = f"链接 /notices/{slug} 指向的公告还是草稿，读者打开会看到“页面不存在”：请先发布它，或删去这个链接"
    return Problem(path, line, message)
