"""Read one editor's file: YAML front matter with line numbers, then check each field (messages are for editors)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from notices.bodycheck import check_body, internal_links
from notices.model import CATEGORIES, Notice, Problem
from notices.pushplan import read_push
from notices.template import check_placeholders

REQUIRED = ("title", "date", "category", "keywords", "summary")
OPTIONAL = ("cover", "expires", "push", "draft")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text, so that a bad date is reported by this module with its line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class _File:
    """A file being checked: where problems go and what was read so far."""

    path: Path
    audience_check: AudienceCheck | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))


def slug_of(path: Path) -> str:
    """The notice's URL name: its file name without .md, lower-cased."""
    return path.stem.lower()


Link = tuple[int, str]  # (line, slug) of a link to another notice
AudienceCheck = Callable[[str], str | None]  # a push's audience -> what is wrong with it (None: it reaches someone)


def parse_file(
    path: Path, images: Path, tz: ZoneInfo, audience_check: AudienceCheck | None = None
) -> tuple[Notice | None, list[Problem], list[Link]]:
    """Read and check one file: (notice, problems, links to other notices).

    The notice is None when a problem leaves nothing sensible to publish; the links are still returned so that
    the store can check them against the other files in the same run. `audience_check` judges each push's audience
    (the bot knows the topics); without it any well-formed audience passes.
    """
    f = _File(path, audience_check)
    try:
        stat = path.stat()
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        f.add(1, f"文件不是 UTF-8 编码（第 {exc.start} 字节附近），请另存为 UTF-8")
        return None, f.problems, []
    if not SLUG.match(slug_of(path)):
        f.add(1, "文件名只能用英文字母、数字和连字符（它就是网页地址），如 2022-double11-tips.md")
    split = _split(f, text.lstrip("\ufeff"))
    if split is None:
        return None, f.problems, []
    fm_text, body, body_line = split
    links = list(internal_links(body, body_line))
    values = _front_matter(f, fm_text)
    if values is None:
        return None, f.problems, links
    fields = _fields(f, values, images, tz)
    check_body(f.add, body, body_line, images)
    check_placeholders(f.add, values, body, body_line)
    if fields is None or not SLUG.match(slug_of(path)):
        return None, f.problems, links
    version = (stat.st_mtime_ns, stat.st_size)
    lines = {key: line for key, (line, _, _) in values.items()}
    notice = Notice(
        slug=slug_of(path), path=path, body=body, body_line=body_line, version=version, tz=tz, lines=lines, **fields
    )
    return notice, f.problems, links


def _split(f: _File, text: str) -> tuple[str, str, int] | None:
    """(front matter, body, first body line) or None, telling the editor how the file must begin."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        f.add(1, "文件应以一行 --- 开头，接着是标题、日期等字段，再以一行 --- 结束")
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    f.add(1, "字段部分没有以一行 --- 结束")
    return None


def _front_matter(f: _File, fm_text: str) -> dict[str, tuple[int, Any, yaml.Node]] | None:
    """Each key of the front matter -> (line, value, node), or None on a YAML error."""
    try:
        root = yaml.compose(fm_text, Loader=_Loader)
    except yaml.YAMLError as exc:
        # An unclosed quote or bracket is found at the end: point at where it was opened instead.
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.index >= len(fm_text.rstrip()):
            mark = getattr(exc, "context_mark", None) or mark
        line = mark.line + 2 if mark else 2
        f.add(line, f"字段部分的格式有误（{getattr(exc, 'problem', None) or exc}），请检查冒号、引号和缩进")
        return None
    if not isinstance(root, yaml.MappingNode):
        f.add(2, "字段部分应写成“字段: 值”的形式，每行一个")
        return None
    out: dict[str, tuple[int, Any, yaml.Node]] = {}
    loader = _Loader("")
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 2
        key = str(key_node.value)
        if key in out:
            f.add(line, f"字段 {key} 重复出现（第一次在第 {out[key][0]} 行）")
            continue
        if key not in REQUIRED + OPTIONAL:
            f.add(line, f"未知字段 {key}（可用的字段：{', '.join(REQUIRED + OPTIONAL)}）")
            continue
        out[key] = (line, loader.construct_object(value_node, deep=True), value_node)
    return out


def _fields(f: _File, values: dict, images: Path, tz: ZoneInfo) -> dict[str, Any] | None:
    """The Notice's fields from the front matter, or None when a required one is missing or unusable."""
    for key in REQUIRED:
        if key not in values:
            f.add(1, f"缺少必填字段 {key}")
    title = _text(f, values, "title")
    day = _date(f, values, "date")
    category = _category(f, values)
    keywords = _keywords(f, values)
    summary = _text(f, values, "summary")
    cover = _cover(f, values, images)
    expires = _date(f, values, "expires")
    if expires and day and expires < day:
        f.add(values["expires"][0], f"expires（{expires}）早于发布日期 date（{day}）")
    push = read_push(f, values, tz)
    draft = _draft(f, values)
    if not title or not day or not category:
        return None
    return {
        "title": title,
        "date": day,
        "category": category,
        "keywords": keywords,
        "summary": summary or "",
        "cover": cover,
        "expires": expires,
        "push": push,
        "draft": draft,
    }


def _draft(f: _File, values: dict) -> bool:
    """`draft: true` keeps the notice off the site and out of the bot; anything but true or false is reported (and
    the notice is then kept as a draft, the safe side)."""
    if "draft" not in values:
        return False
    line, value, _ = values["draft"]
    if not isinstance(value, bool):
        f.add(line, f"draft 只能写 true（草稿）或 false（发布），现在是“{value}”；要发布，也可以删去这一行")
        return True
    return value


def _text(f: _File, values: dict, key: str) -> str | None:
    if key not in values:
        return None
    line, value, _ = values[key]
    if isinstance(value, (list, dict)) or value is None or not str(value).strip():
        f.add(line, f"{key} 应为一段非空的文字")
        return None
    return str(value).strip()


def _date(f: _File, values: dict, key: str) -> date | None:
    if key not in values:
        return None
    line, value, _ = values[key]
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
            raise ValueError
        return date.fromisoformat(str(value))
    except ValueError:
        f.add(line, f"{key} 的日期“{value}”无效，应写成 YYYY-MM-DD，如 2022-11-01")
        return None


def _category(f: _File, values: dict) -> str | None:
    category = _text(f, values, "category")
    if category is not None and category not in CATEGORIES:
        f.add(values["category"][0], f"未知分类“{category}”，应为以下之一：{'、'.join(CATEGORIES)}")
        return None
    return category


def _keywords(f: _File, values: dict) -> tuple[str, ...]:
    if "keywords" not in values:
        return ()
    line, value, _ = values["keywords"]
    if not isinstance(value, list) or any(isinstance(k, (list, dict)) or k is None for k in value):
        f.add(line, "keywords 应为关键词列表，如 [双11, 退货]")
        return ()
    words = tuple(str(k).strip() for k in value)
    if any(not w for w in words):
        f.add(line, "keywords 中有空的关键词")
    return tuple(w for w in words if w)


def _cover(f: _File, values: dict, images: Path) -> str | None:
    name = _text(f, values, "cover")
    if name is None:
        return None
    line = values["cover"][0]
    if "/" in name or "\\" in name or name.startswith("."):
        f.add(line, f"cover 只写图片文件名（放在 {images.name}/ 目录下），如 double11.jpg")
        return None
    if not (images / name).is_file():
        f.add(line, f"封面图片 {images.name}/{name} 不存在")
        return None
    return name
