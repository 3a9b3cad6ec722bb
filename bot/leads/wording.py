"""The wording of the notices to the parties (content/decisions.toml): loaded, checked and filled in.

Every problem in the file is a ContentError naming its line: a missing notice, ground or status, a placeholder the
program does not fill, a stray brace. The file is re-read when it changes (bot/content.py's ContentFile).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask

from bot.content import ContentFile, Source, resolve
from bot.leads.settings import LeadsSettings
from bot.leads.workflow import ALL_STATUSES, REFUSAL_GROUNDS, TERMINATION_GROUNDS

NOTICE_KEYS = (
    "accepted", "refused", "transferred", "referred", "agreement", "terminated", "terminated_business",
    "report_filed", "report_not_filed", "report_closed", "reply",
)  # fmt: skip
FIELDS = ("ticket", "kind", "business", "received", "today", "ground", "where", "referred_to", "outcome", "note")
SUMMARY_LIMIT = 60  # characters of a template message's summary
COMMON = {"header": {"kind", "ticket", "title"}, "note": {"note"}, "link": {"url"}, "more": set()}


@dataclass(frozen=True)
class Notice:
    """One notice filled in: what a message and the consumer's page carry."""

    kind: str
    title: str
    summary: str
    text: str


@dataclass(frozen=True)
class Wording:
    """The checked contents of content/decisions.toml."""

    common: dict[str, str]
    status: dict[str, str]
    grounds: dict[str, str]
    where: dict[str, str]
    notices: dict[str, dict[str, str]]

    def status_words(self, status: str, kind: str) -> str:
        """A status as the consumer reads it (新线索 of a report reads 正在核查)."""
        return self.status.get(f"{status}/{kind}") or self.status.get(status) or status

    def fill(self, key: str, values: dict[str, Any]) -> Notice:
        """The notice `key` with the placeholders filled; a line left empty by a missing value is dropped."""
        found = self.notices[key]
        note = values.get("note") or ""
        given = {f: str(values.get(f) or "") for f in FIELDS}
        given["note"] = self.common["note"].format(note=note) if note else ""
        summary = excerpt(_tidy(found["summary"].format(**given)), SUMMARY_LIMIT)
        return Notice(key, found["title"], summary, _tidy(found["text"].format(**given)))

    def message(self, notice_title: str, kind: str, ticket: str, text: str) -> str:
        """The whole text as sent in a chat message: the header line with the ticket, then the notice."""
        return self.common["header"].format(kind=kind, ticket=ticket, title=notice_title) + "\n" + text


def _tidy(text: str) -> str:
    """Drop the lines a missing value left empty and the spaces at line ends."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def cn_date(day: date | None) -> str:
    """2026年12月8日."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _placeholders(source: Source, line: int, text: str, allowed: set[str]) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        raise source.error(line, "花括号不成对：占位符写作 {名称}，要显示花括号本身请写 {{ 或 }}") from None
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        known = "、".join("{" + a + "}" for a in sorted(allowed)) or "无"
        raise source.error(line, f"不认识的占位符 {{{unknown[0]}}}；这里可以用的是：{known}")


def _text(source: Source, table: dict, header: str, key: str, allowed: set[str]) -> str:
    start = source.line_of_table(header, 0)
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise source.error(start, f'[{header}] 缺少 {key} = "..."')
    _placeholders(source, source.line_of_key(key, start), value, allowed)
    return value


def _table(source: Source, data: dict, header: str) -> dict:
    node: Any = data
    for part in header.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise source.error(len(source.lines) or 1, f"缺少表 [{header}]")
    return node


def build(data: dict[str, Any], source: Source) -> Wording:
    """Check the file and return its wording; the first problem raises a ContentError with its line."""
    common = {k: _text(source, _table(source, data, "common"), "common", k, allowed) for k, allowed in COMMON.items()}
    status_table = _table(source, data, "status")
    status = {s: _text(source, status_table, "status", s, set()) for s in ALL_STATUSES}
    status |= {k: v for k, v in status_table.items() if isinstance(v, str) and "/" in k}
    grounds_table = _table(source, data, "grounds")
    codes = (*REFUSAL_GROUNDS, *TERMINATION_GROUNDS)
    grounds = {c: _text(source, grounds_table, "grounds", c, set()) for c in codes}
    where_table = _table(source, data, "where")
    where = {k: _text(source, where_table, "where", k, set()) for k in where_table} | {
        "default": _text(source, where_table, "where", "default", set())
    }
    notices = {}
    for key in NOTICE_KEYS:
        header = f"notices.{key}"
        table = _table(source, data, header)
        title = _text(source, table, header, "title", set())
        if len(title) > 64:
            raise source.error(source.line_of_key("title", source.line_of_table(header, 0)), "标题不能超过 64 个字")
        notices[key] = {
            "title": title,
            "summary": _text(source, table, header, "summary", set(FIELDS)),
            "text": _text(source, table, header, "text", set(FIELDS)),
        }
    return Wording(common, status, grounds, where, notices)


def wording(app: Flask) -> Wording:
    """The app's notice wording (`[leads] decisions_file`), re-read when the file changes."""
    found = app.extensions.get("decision_wording")
    if found is None:
        found = ContentFile(resolve(LeadsSettings.of(app).decisions_file), build)
        found.load()
        app.extensions["decision_wording"] = found
    return found.get()


SPACES = re.compile(r"\s+")


def excerpt(text: str, limit: int = 40) -> str:
    """The beginning of a text on one line, for a template message's summary."""
    flat = SPACES.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[:limit] + "……"
