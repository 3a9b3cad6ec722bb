"""The steps of the complaint/report dialogue: which apply, which may be skipped, and how an answer is checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.wechat.router import normalise

Data = dict[str, Any]
# A parser returns (value, None) for a good answer or (None, error key in dialogue.toml) for a bad one.
Parser = Callable[[str], tuple[Any, str | None]]

PHONE = re.compile(r"1[3-9]\d{9}")
NAME = re.compile(r"[\u4e00-\u9fffA-Za-z·•.\s]{2,20}")
DATE_HINTS = (
    "今天",
    "昨天",
    "前天",
    "上周",
    "本周",
    "这周",
    "星期",
    "礼拜",
    "周",
    "月",
    "日",
    "号",
    "年",
    "最近",
    "刚才",
)
STICKER = re.compile(r"^(\[[^\[\]]{1,8}\]|/:[^\s]{1,8})+$")
UNSUPPORTED = "收到不支持的消息类型"


def _length(lo: int, hi: int) -> Parser:
    def parse(text: str) -> tuple[Any, str | None]:
        if len(text) < lo:
            return None, "too_short"
        if len(text) > hi:
            return None, "too_long"
        return text, None

    return parse


def _choice(options: dict[str, Any]) -> Parser:
    def parse(text: str) -> tuple[Any, str | None]:
        folded = normalise(text).rstrip("。.!！")
        if folded in options:
            return options[folded], None
        return None, "invalid"

    return parse


def parse_when(text: str) -> tuple[Any, str | None]:
    """A date the way people write it: 2026-11-20, 11月20日, 上周六, 昨天."""
    if len(text) > 50:
        return None, "too_long"
    if re.search(r"\d", text) or any(h in text for h in DATE_HINTS):
        return text, None
    return None, "invalid"


def parse_amount(text: str) -> tuple[Any, str | None]:
    """An amount in yuan: 128, 128.5, ¥128, 128元, 1,280 块."""
    cleaned = re.sub(r"[\s,，¥￥元块钱圆人民币rmbRMB]", "", text)
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        return None, "invalid"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None, "invalid"
    if value >= Decimal("10000000000"):
        return None, "too_large"
    return str(value), None


def parse_name(text: str) -> tuple[Any, str | None]:
    """A person's name: 2 to 20 letters or Chinese characters."""
    if NAME.fullmatch(text) and not text.isspace():
        return text.strip(), None
    return None, "invalid"


def parse_phone(text: str) -> tuple[Any, str | None]:
    """A mainland mobile number, spaces, dashes and a +86 prefix allowed."""
    digits = re.sub(r"[\s\-()（）]", "", normalise(text))
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
    if PHONE.fullmatch(digits):
        return digits, None
    return None, "invalid"


KIND = _choice({"1": "complaint", "投诉": "complaint", "我要投诉": "complaint", "2": "report", "举报": "report"})
ONLINE = _choice({k: True for k in ("1", "网上", "线上", "网购", "网店", "网络", "外卖", "直播")})
YES_NO = _choice(
    {
        **{k: True for k in ("是", "是的", "要", "需要", "举报", "同时举报", "1", "y", "yes")},
        **{k: False for k in ("否", "不", "不是", "不要", "不用", "不需要", "没有", "2", "n", "no")},
    }
)
CONFIRM = _choice({k: True for k in ("确认", "确定", "提交", "确认提交", "是", "对", "没问题")})


def _offline(text: str) -> tuple[Any, str | None]:
    value, error = ONLINE(text)
    if error is None:
        return value, None
    return _choice({k: False for k in ("2", "线下", "实体", "实体店", "门店", "上门")})(text)


def _is(kind: str) -> Callable[[Data], bool]:
    return lambda d: d.get("kind") == kind


def _always(_d: Data) -> bool:
    return True


def _identified(d: Data) -> bool:
    return d.get("kind") == "complaint" or not d.get("anonymous")


@dataclass(frozen=True)
class Step:
    """One question: the key its answer is stored under, when it applies, when it may be skipped, its parser."""

    key: str
    parse: Parser
    applies: Callable[[Data], bool] = _always
    optional: Callable[[Data], bool] = lambda d: False
    takes_location: bool = False


STEPS: tuple[Step, ...] = (
    Step("kind", KIND),
    Step("online", _offline),
    Step("platform", _length(2, 50), applies=lambda d: bool(d.get("online"))),
    Step("business", _length(2, 200)),
    Step("address", _length(2, 200), optional=lambda d: bool(d.get("online")), takes_location=True),
    Step("item", _length(2, 200)),
    Step("when", parse_when, optional=_is("report")),
    Step("amount", parse_amount, optional=_is("report")),
    Step("facts", _length(10, 1000)),
    Step("request", _length(2, 300), applies=_is("complaint")),
    Step("also_report", YES_NO, applies=_is("complaint")),
    Step("name", parse_name, optional=_is("report")),
    Step("phone", parse_phone, applies=_identified, optional=_is("report")),
    Step("mail_address", _length(5, 200), applies=_identified, optional=_is("report"), takes_location=True),
    Step("confirm", CONFIRM),
)
BY_KEY = {s.key: s for s in STEPS}


def next_step(after: str, data: Data) -> str:
    """The first step after `after` that applies to the answers so far."""
    keys = [s.key for s in STEPS]
    for step in STEPS[keys.index(after) + 1 :]:
        if step.applies(data):
            return step.key
    return "confirm"


def is_sticker(text: str) -> bool:
    """A sticker or an unsupported message shown as text: not an answer."""
    return bool(STICKER.match(text)) or UNSUPPORTED in text
