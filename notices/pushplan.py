"""A notice's push plan (`push:` in its front matter), checked as data; the bot's pushes feature gives it meaning."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from notices.model import CHANNELS, local_now

AUDIENCE = re.compile(r"^(all|tag:\S+|topic:\S+)$")
PUSH_KEYS = ("at", "channel", "audience")


def read_push(f: Any, values: dict, tz: ZoneInfo) -> list[dict]:
    """The push plan, checked as data only (the pushes feature gives it meaning)."""
    if "push" not in values:
        return []
    line, value, node = values["push"]
    if not isinstance(value, list) or not isinstance(node, yaml.SequenceNode):
        f.add(line, "push 应为列表，每项含 at、channel、audience")
        return []
    plans = []
    for item, item_node in zip(value, node.value, strict=True):
        plan = push_item(f, item, item_node.start_mark.line + 2, tz)
        if plan is not None:
            plans.append(plan)
    return plans


def push_item(f: Any, item: Any, line: int, tz: ZoneInfo) -> dict | None:
    if not isinstance(item, dict):
        f.add(line, "push 的每一项应含 at、channel、audience")
        return None
    ok = True
    for key in item:
        if key not in PUSH_KEYS:
            f.add(line, f"push 中有未知字段 {key}（可用：at、channel、audience）")
            ok = False
    at_text, channel, audience = str(item.get("at", "")), item.get("channel"), str(item.get("audience", ""))
    try:
        at = datetime.strptime(at_text, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError:
        f.add(line, f'push 的时间 at“{at_text}”无效，应写成 "YYYY-MM-DD HH:MM"（带引号）')
        at, ok = None, False
    if at is not None and at < local_now(tz):
        f.add(line, f"push 的时间 {at_text} 已经过去")
    if channel not in CHANNELS:
        f.add(line, f"push 的 channel“{channel}”无效，应为 mass（群发）、template（模板消息）或 custom（客服消息）")
        ok = False
    if not AUDIENCE.match(audience):
        f.add(line, f"push 的 audience“{audience}”无效，应为 all、tag:标签名 或 topic:主题名")
        ok = False
    elif f.audience_check is not None and (why := f.audience_check(audience)):
        f.add(line, why)
        ok = False
    return {"at": at, "channel": channel, "audience": audience, "line": line} if ok else None
