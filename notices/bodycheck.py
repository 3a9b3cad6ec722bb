"""Line-by-line checks of a notice's Markdown body: raw HTML the sanitizer will strip, images, internal links."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from notices.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"`+[^`]*`+")
TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>")
ATTR = re.compile(r"([^\s=/\"']+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
MD_URL = re.compile(r"\]\(\s*<?([^)\s>]+)")
SCHEME = re.compile(r"^\s*([A-Za-z][\w+.-]*):")
NOTICE_LINK = re.compile(r"(?:\]\(\s*<?|href=[\"']?)/notices/([^/)\s\"'#?>]+)(?=[)\s\"'#?>])")
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?(?:/notices/)?(images/[^)\s>]+)")
NOT_SLUGS = {"search", "feed.xml", "category", "images"}

Add = Callable[[int, str], None]


def body_lines(body: str, first_line: int) -> Iterator[tuple[int, str]]:
    """(file line number, text) of each body line outside fenced code, inline code removed."""
    fenced = False
    for number, line in enumerate(body.splitlines(), start=first_line):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, CODE_SPAN.sub("", line)


def check_body(add: Add, body: str, first_line: int, images: Path) -> None:
    """Report raw HTML the sanitizer will strip, dangerous link schemes and missing images."""
    for number, line in body_lines(body, first_line):
        if "<!--" in line:
            add(number, "HTML 注释会被安全过滤删除，请直接删去")
        for match in TAG.finditer(line):
            _check_tag(add, number, match)
        for match in MD_URL.finditer(line):
            _check_url(add, number, match.group(1))
        for match in IMAGE.finditer(line):
            name = match.group(1).split("/", 1)[1]
            if "/" in name or name.startswith(".") or not (images / name).is_file():
                add(number, f"图片 {match.group(1)} 不存在（图片应放在 {images.name}/ 目录下）")


def _check_tag(add: Add, number: int, match: re.Match[str]) -> None:
    tag = match.group(2).lower()
    if tag not in ALLOWED_TAGS:
        if match.group(1):  # the closing tag of one already reported
            return
        if tag == "script":
            add(number, "正文不能含有脚本：网站不运行脚本，<script> 会被安全过滤删除，请删去这段代码")
        else:
            add(number, f"HTML 标签 <{tag}> 会被安全过滤删除，请改用 Markdown 写法")
        return
    allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, set())
    for attr in ATTR.finditer(match.group(3)):
        name = attr.group(1).lower()
        if name not in allowed:
            add(number, f"<{tag}> 的属性 {name} 会被安全过滤删除")
        elif name in ("href", "src") and attr.group(2):
            _check_url(add, number, attr.group(2).strip("\"'"))


def _check_url(add: Add, number: int, url: str) -> None:
    scheme = SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        add(number, f"链接 {url[:40]} 使用了不安全的协议 {scheme.group(1)}:，会被安全过滤删除")


def internal_links(body: str, first_line: int) -> Iterator[tuple[int, str]]:
    """(line, slug) of every link to another notice (/notices/<slug>)."""
    for number, line in body_lines(body, first_line):
        for match in NOTICE_LINK.finditer(line):
            if match.group(1) not in NOT_SLUGS:
                yield number, match.group(1)
