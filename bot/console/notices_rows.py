"""What the notice editor lists: each file with its state, and the audiences a push may be sent to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import Flask

from bot import clock
from bot.pushes.audience import topics
from bot.pushes.states import audience_name
from notices.editing import EditedNotice
from notices.store import NoticeStore


@dataclass
class Row:
    """One notice file as the list shows it."""

    slug: str
    title: str
    category: str
    day: date | None
    states: list[str] = field(default_factory=list)
    problems: int = 0
    view: str | None = None  # the public page (published notices)
    preview: str | None = None  # the signed preview link (drafts)


def notice_rows(store: NoticeStore, preview: Callable[[str], str]) -> list[Row]:
    """Every .md file of the content directory, newest first; a file with problems is listed too, as 有问题."""
    problems: dict[str, int] = {}
    for problem in store.problems():
        problems[problem.path.name] = problems.get(problem.path.name, 0) + 1
    now = clock.local_now(store.tz)
    rows = []
    for path in sorted(store.dir.glob("*.md")):
        slug = path.stem
        notice = store.get(slug) or store.draft(slug)
        if notice is None:
            rows.append(Row(slug, path.name, "", None, ["有问题"], problems.get(path.name, 0)))
            continue
        row = Row(slug, notice.title, notice.category, notice.date, problems=problems.get(path.name, 0))
        if notice.draft:
            row.states.append("草稿")
            row.preview = preview(slug)
        else:
            row.states.append("已过期" if notice.expired else "已发布")
            row.view = row.preview = f"/notices/{slug}"
        if any(plan["at"] >= now for plan in notice.push):
            row.states.append("已排期推送")
        rows.append(row)
    return sorted(rows, key=lambda r: (r.day or date.max, r.slug), reverse=True)


def audiences(app: Flask, form: EditedNotice) -> list[tuple[str, str]]:
    """(value, words) of each audience a push may go to: everyone and each topic of [pushes] topics, and any other
    audience the file already names (a WeChat tag written by hand)."""
    known = topics(app)
    choices = [("all", audience_name("all"))]
    choices += [(f"topic:{key}", audience_name(f"topic:{key}", known)) for key in known]
    for row in form.pushes:
        if row.audience not in dict(choices):
            choices.append((row.audience, audience_name(row.audience, known)))
    return choices
