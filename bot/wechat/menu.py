"""The custom menu: content/menu.toml, checked against the platform's limits, with errors at file:line.

The same checks (`check_buttons`) answer menu/create in the sandbox with the platform's error codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content import ContentError, read

MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
# (most non-ASCII characters, most UTF-8 bytes): 4 汉字 / 16 bytes top-level, 8 汉字 / 60 bytes in a sub-menu.
NAME_LIMITS = {"top": (4, 16), "sub": (8, 60)}
KEY_BYTES, URL_BYTES = 128, 1024
KEY_TYPES = {
    "click",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
}
OTHER_TYPES = {"view", "miniprogram", "media_id", "article_id", "article_view_limited"}
# The platform's errcode for each problem: (top-level, sub-menu).
CODES = {
    "size": ((40016, "invalid button size"), (40023, "invalid sub button size")),
    "type": ((40017, "invalid button type"), (40024, "invalid sub button type")),
    "name": ((40018, "invalid button name size"), (40025, "invalid sub button name size")),
    "key": ((40019, "invalid button key size"), (40026, "invalid sub button key size")),
    "url": ((40020, "invalid button url size"), (40027, "invalid sub button url size")),
    "level": ((40022, "invalid sub button level"), (40022, "invalid sub button level")),
}


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (top index, sub index or None, field), the platform's errcode, and what to fix."""

    top: int | None
    sub: int | None
    field: str
    kind: str
    message: str

    @property
    def errcode(self) -> tuple[int, str]:
        in_sub_menu = self.sub is not None or self.field == "sub_button"
        return CODES[self.kind][1 if in_sub_menu else 0]


def check_buttons(menu: Any) -> list[Problem]:
    """Every way menu ({"button": [...]}) breaks the platform's rules, in order; [] when it is valid."""
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        count = len(buttons) if isinstance(buttons, list) else 0
        return [Problem(None, None, "button", "size", f"一级菜单须有 1 至 {MAX_BUTTONS} 个，现有 {count} 个")]
    problems: list[Problem] = []
    for i, button in enumerate(buttons):
        subs = button.get("sub_button") if isinstance(button, dict) else None
        problems += _check_one(button, i, None)
        if subs:
            if not isinstance(subs, list) or len(subs) > MAX_SUB_BUTTONS:
                n = len(subs) if isinstance(subs, list) else 0
                problems.append(Problem(i, None, "sub_button", "size", f"子菜单最多 {MAX_SUB_BUTTONS} 个，现有 {n} 个"))
                continue
            for j, sub in enumerate(subs):
                problems += _check_one(sub, i, j)
                if isinstance(sub, dict) and sub.get("sub_button"):
                    problems.append(Problem(i, j, "sub_button", "level", "子菜单下不能再有子菜单（最多两级）"))
    return problems


def _check_one(button: Any, i: int, j: int | None) -> list[Problem]:
    if not isinstance(button, dict):
        return [Problem(i, j, "name", "type", "菜单项必须是一个表（name、type、key 或 url）")]
    level = "top" if j is None else "sub"
    out = []
    name = button.get("name")
    wide_max, bytes_max = NAME_LIMITS[level]
    if not isinstance(name, str) or not name.strip():
        out.append(Problem(i, j, "name", "name", "缺少菜单名称 name"))
    elif sum(ord(c) > 127 for c in name) > wide_max or len(name.encode()) > bytes_max:
        label = "一级菜单" if level == "top" else "子菜单"
        out.append(
            Problem(i, j, "name", "name", f"{label}名称「{name}」太长：最多 {wide_max} 个汉字或 {bytes_max} 个字节")
        )
    if j is None and button.get("sub_button"):
        return out  # a top-level button with a sub-menu has no action of its own
    return out + _check_action(button, i, j)


def _check_action(button: dict, i: int, j: int | None) -> list[Problem]:
    kind = button.get("type")
    if kind not in KEY_TYPES | OTHER_TYPES:
        return [Problem(i, j, "type", "type", f"菜单类型 type = {kind!r} 无效，常用 click（点击）或 view（打开网页）")]
    if kind in KEY_TYPES:
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode()) > KEY_BYTES:
            return [Problem(i, j, "key", "key", f"{kind} 类型的菜单须有 key，且不超过 {KEY_BYTES} 个字节")]
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not isinstance(url, str) or not url or len(url.encode()) > URL_BYTES:
            return [Problem(i, j, "url", "url", f"{kind} 类型的菜单须有网址 url，且不超过 {URL_BYTES} 个字节")]
        if not url.startswith(("http://", "https://")):
            return [Problem(i, j, "url", "url", f"网址 {url!r} 须以 http:// 或 https:// 开头")]
    return []


def load_menu(path: Path, public_url: str) -> dict:
    """Read, fill in {public_url} and check the menu file; a ContentError names file:line for each problem."""
    data, source = read(path)
    menu = {"button": _fill(data.get("button"), public_url.rstrip("/"))}
    problems = check_buttons(menu) + _duplicate_keys(menu)
    if problems:
        where = _Lines("\n".join(source.lines))
        lines = [(where.line(p), p.message) for p in problems]
        raise ContentError(path, *lines[0], *lines[1:])
    return menu


def _fill(value: Any, public_url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{public_url}", public_url)
    if isinstance(value, list):
        return [_fill(v, public_url) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, public_url) for k, v in value.items()}
    return value


def _duplicate_keys(menu: dict) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for i, button in enumerate(menu["button"]):
        for j, item in [(None, button), *enumerate(button.get("sub_button") or [])]:
            key = item.get("key") if isinstance(item, dict) else None
            if key in seen:
                out.append(Problem(i, j, "key", "key", f"key {key!r} 重复：每个菜单项的 key 须不同"))
            elif key:
                seen.add(key)
    return out


class _Lines:
    """Line numbers of [[button]] / [[button.sub_button]] blocks and their fields, for messages at file:line."""

    HEADER = re.compile(r"^\s*\[\[\s*button(\s*\.\s*sub_button)?\s*\]\]")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.blocks: list[tuple[int, list[int]]] = []  # (line of [[button]], [lines of its [[button.sub_button]]])
        for n, line in enumerate(self.lines, start=1):
            match = self.HEADER.match(line)
            if match and not match.group(1):
                self.blocks.append((n, []))
            elif match and self.blocks:
                self.blocks[-1][1].append(n)

    def line(self, p: Problem) -> int:
        if p.top is None or p.top >= len(self.blocks):
            return self.blocks[MAX_BUTTONS][0] if len(self.blocks) > MAX_BUTTONS else 1
        start, subs = self.blocks[p.top]
        if p.field == "sub_button" and p.sub is None:  # too many: point at the first one over the limit
            return subs[MAX_SUB_BUTTONS] if len(subs) > MAX_SUB_BUTTONS else start
        if p.sub is not None and p.sub < len(subs):
            start = subs[p.sub]
        # The line of the field; a missing key or url is reported at the type that needs it.
        return self._field(start, p.field) or self._field(start, "type") or start

    def _field(self, start: int, name: str) -> int | None:
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
        for n in range(start, len(self.lines)):
            if self.HEADER.match(self.lines[n]):
                return None
            if pattern.match(self.lines[n]):
                return n + 1
        return None


def describe(menu: dict) -> str:
    """The menu as an indented outline, one button a line."""
    out = []
    for button in menu.get("button", []):
        out.append(_describe_one(button, ""))
        out += [_describe_one(sub, "  - ") for sub in button.get("sub_button") or []]
    return "\n".join(out)


def _describe_one(button: dict, prefix: str) -> str:
    action = button.get("key") or button.get("url") or button.get("media_id") or ""
    return f"{prefix}{button.get('name', '')}" + (f"  [{button['type']}: {action}]" if button.get("type") else "")
