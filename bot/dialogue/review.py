"""The confirmation: the answers numbered for the consumer to check (their own phone in full: it is their chat),
and the ways people ask to change one: 改3, 改 3, 修改第三项, 第2项错了, 电话改成 13912345678, 地址写错了."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.dialogue.answers import fold
from bot.dialogue.answers.numerals import to_number
from bot.dialogue.steps import STEPS
from bot.dialogue.texts import Texts

SUMMARY_WIDTH = 60
NUM = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
VERB = r"(?:修改|更改|更正|改正|改|换)"
BY_NUMBER = (
    re.compile(rf"^(?:我要|我想|请|帮我)?{VERB}(?:一下)?第?{NUM}(?:项|条|个|行)?(?:一下)?$"),
    re.compile(rf"^第?{NUM}(?:项|条|个|行)?(?:要|需要|想|得)?(?:{VERB}|错了|不对|有误|写错了)(?:一下)?$"),
)
WHICH = re.compile(rf"^(?:我要|我想|我需要|需要|要)?{VERB}(?:一下)?$")
TO = r"改成|改为|换成|改作|更正为|应该是|应为"
BY_FIELD = re.compile(rf"^(?:把|将|我的)?(?P<field>.{{1,7}}?)(?:要|应该|应|需要)?(?:{TO})[:：]?(?P<value>.+)$")
FIELD_WRONG = re.compile(r"^(?:我的)?(?P<field>.{1,7}?)(?:写错了|填错了|错了|不对|有误|要改|需要改|想改)")

# What people call an answer, beyond the labels of the confirmation itself (read from [summary]).
SYNONYMS = {
    "电话": "phone", "手机号": "phone", "号码": "phone", "联系电话": "phone", "电话号码": "phone", "手机号码": "phone",
    "名字": "name", "姓名": "name", "住址": "mail_address", "我的地址": "mail_address", "收件地址": "mail_address",
    "联系地址": "mail_address", "店铺地址": "address", "店的地址": "address", "商家名称": "business",
    "店名": "business", "店铺": "business", "店铺名称": "business", "商品": "item", "服务": "item",
    "日期": "when", "购买时间": "when", "购买日期": "when", "价格": "amount", "钱": "amount", "价钱": "amount",
    "事情经过": "facts", "情况": "facts", "要求": "request",
}  # fmt: skip


@dataclass(frozen=True)
class Edit:
    """A request to change an answer: by number or by key, with the new answer when it was given."""

    number: int | None = None
    key: str | None = None
    value: str | None = None


def listed(data: dict[str, Any]) -> list[str]:
    """The keys of the answers in the confirmation, in order (their position + 1 is their number)."""
    return [s.key for s in STEPS[:-1] if s.shown(data)]


def summary(t: Texts, data: dict[str, Any]) -> str:
    """The numbered answers (long ones shortened) and the number of photos."""
    lines = [f"{n}. " + t.get(f"summary.{key}", value=shown(t, data, key)) for n, key in enumerate(listed(data), 1)]
    if data.get("evidence"):
        lines.append(t.get("summary.photos", value=len(data["evidence"])))
    return "\n".join(lines)


def shown(t: Texts, data: dict[str, Any], key: str) -> str:
    """One answer as the consumer reads it back."""
    value = data.get(key)
    labels = t.data["labels"]
    if key == "kind":
        return labels[value]
    if key == "online":
        return labels["online" if value else "offline"]
    if key == "also_report":
        return labels["yes" if value else "no"]
    if key == "name" and data.get("anonymous"):
        return labels["anonymous"]
    if value in (None, ""):
        return labels["skipped"]
    text = str((data.get("shown") or {}).get(key) or value)
    return text if len(text) <= SUMMARY_WIDTH else text[:SUMMARY_WIDTH] + "…"


def label(t: Texts, key: str) -> str:
    """The answer's name in the confirmation (手机, 金额, ...)."""
    return re.split(r"[：:]", t.data["summary"][key], maxsplit=1)[0]


def read_edit(t: Texts, text: str, keys: list[str]) -> Edit | None:
    """The change asked for, or None when the message is not a request to change an answer."""
    word = fold(text).rstrip("。.!！")
    for pattern in BY_NUMBER:
        if m := pattern.match(word):
            value = to_number(m.group(1))
            return Edit(number=int(value) if value is not None else 0)
    if WHICH.match(word):
        return Edit()
    names = {fold(label(t, k)): k for k in keys} | {w: k for w, k in SYNONYMS.items() if k in keys}
    addresses = [k for k in ("address", "mail_address") if k in keys]
    if len(addresses) == 1:  # 地址 alone is clear only when one address is asked
        names["地址"] = addresses[0]
    if (m := BY_FIELD.match(word)) and (key := _field(m.group("field"), names)):
        value = re.split(TO, text, maxsplit=1)[-1].strip(" ：:")
        return Edit(key=key, value=value or None)
    if (m := FIELD_WRONG.match(word)) and (key := _field(m.group("field"), names)):
        return Edit(key=key)
    return None


def is_numbered_edit(text: str) -> bool:
    """改3, 修改第三项: a change asked for by number."""
    word = fold(text).rstrip("。.!！")
    return any(p.match(word) for p in BY_NUMBER)


def _field(said: str, names: dict[str, str]) -> str | None:
    said = re.sub(r"^(把|将|我的)", "", said)
    return names.get(said) or names.get(said.removesuffix("的"))
