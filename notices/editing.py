"""A notice as the console's form holds it, written to and read from the same Markdown file the command line uses.

The form writes every front-matter key on a line of its own, in a fixed order, so that a problem the checker reports
at a line can be shown at the field that wrote it (`EditedNotice.field_at`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from notices.parse import _Loader

SPLIT_WORDS = re.compile(r"[,，、;；\n]+")


@dataclass
class PushRow:
    """One scheduled push as the form shows it: local time "YYYY-MM-DD HH:MM", channel, audience."""

    at: str = ""
    channel: str = "template"
    audience: str = "all"


@dataclass
class EditedNotice:
    """The fields of the console's notice form; `lines` maps each written line to the field it belongs to."""

    slug: str = ""
    title: str = ""
    date: str = ""
    category: str = ""
    keywords: list[str] = field(default_factory=list)
    summary: str = ""
    cover: str = ""
    expires: str = ""
    pushes: list[PushRow] = field(default_factory=list)
    body: str = ""
    draft: bool = True
    lines: dict[int, str] = field(default_factory=dict)
    body_line: int = 0

    def to_text(self) -> str:
        """The file's text: front matter (one key per line, quoted only where YAML needs it), then the body."""
        out = ["---"]
        self.lines = {1: "slug"}

        def put(name: str, text: str) -> None:
            out.append(text)
            self.lines[len(out)] = name

        put("title", f"title: {scalar(self.title)}")
        put("date", f"date: {scalar(self.date)}")
        put("category", f"category: {scalar(self.category)}")
        put("keywords", f"keywords: [{', '.join(scalar(k, in_list=True) for k in self.keywords)}]")
        put("summary", f"summary: {scalar(self.summary)}")
        if self.cover:
            put("cover", f"cover: {scalar(self.cover)}")
        if self.expires:
            put("expires", f"expires: {scalar(self.expires)}")
        if self.pushes:
            put("pushes", "push:")
            for i, row in enumerate(self.pushes):
                put(f"push.{i}", f"  - at: {json.dumps(row.at, ensure_ascii=False)}")
                put(f"push.{i}", f"    channel: {scalar(row.channel)}")
                put(f"push.{i}", f"    audience: {scalar(row.audience)}")
        if self.draft:
            put("draft", "draft: true")
        out.append("---")
        self.body_line = len(out) + 2
        body = self.body.replace("\r\n", "\n").strip("\n")
        return "\n".join(out) + "\n\n" + body + "\n"

    def field_at(self, line: int) -> str:
        """The form field that wrote a line of the file from `to_text` (the body for its lines)."""
        if self.body_line and line >= self.body_line - 1:
            return "body"
        return self.lines.get(line, "general")


def scalar(text: str, in_list: bool = False) -> str:
    """The text as a YAML scalar: plain when YAML reads it back unchanged, otherwise double-quoted."""
    text = " ".join(str(text).split())
    if text and not text.startswith(("'", '"', "[", "{", "!", "&", "*", "#", "|", ">", "%", "@", "`")):
        probe = f"[{text}]" if in_list else text
        try:
            value = yaml.load(f"k: {probe}", Loader=_Loader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError:
            value = None
        wanted = [text] if in_list else text
        if isinstance(value, dict) and value.get("k") == wanted:
            return text
    return json.dumps(text, ensure_ascii=False)


def split_keywords(text: str) -> list[str]:
    """Keywords typed in one field, separated by commas (either width), 顿号, semicolons or new lines."""
    return [word.strip() for word in SPLIT_WORDS.split(text) if word.strip()]


def from_text(slug: str, text: str) -> tuple[EditedNotice, str | None]:
    """The form's fields read from a file's text, and what kept a part of it from being read (None: all read).

    A file the form cannot read whole (broken front matter) gives its whole text as the body, so that nothing of it
    is lost when the editor fixes it in the form."""
    form = EditedNotice(slug=slug, draft=False)
    lines = text.lstrip("\ufeff").splitlines()
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if not lines or lines[0].strip() != "---" or end is None:
        form.body = text
        return form, "文件开头的字段部分不完整，全文放在了正文里，请把标题等信息填到上面的各栏"
    form.body = "\n".join(lines[end + 1 :]).strip("\n")
    try:
        values = yaml.load("\n".join(lines[1:end]), Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        form.body = text
        return form, f"字段部分的格式有误（{getattr(exc, 'problem', None) or exc}），全文放在了正文里"
    if not isinstance(values, dict):
        form.body = text
        return form, "字段部分应写成“字段: 值”的形式，全文放在了正文里"
    _fill(form, values)
    return form, None


def _fill(form: EditedNotice, values: dict[str, Any]) -> None:
    def text(key: str) -> str:
        value = values.get(key)
        return "" if value is None or isinstance(value, (list, dict)) else str(value)

    form.title, form.date, form.category = text("title"), text("date"), text("category")
    form.summary, form.cover, form.expires = text("summary"), text("cover"), text("expires")
    keywords = values.get("keywords")
    form.keywords = [str(k) for k in keywords if k is not None] if isinstance(keywords, list) else []
    form.draft = values.get("draft") is not False and "draft" in values
    for item in values.get("push") or []:
        if isinstance(item, dict):
            at = str(item.get("at", ""))
            form.pushes.append(PushRow(at, str(item.get("channel", "template")), str(item.get("audience", "all"))))
