"""The steps of the complaint/report dialogue: which apply, which may be skipped, and how an answer is understood
(each by its parser in bot/dialogue/answers/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.dialogue.answers import Answer, Result, Unclear
from bot.dialogue.answers.address import parse_address
from bot.dialogue.answers.amount import parse_amount
from bot.dialogue.answers.channel import parse_channel, platform_in
from bot.dialogue.answers.dates import parse_date
from bot.dialogue.answers.kind import parse_kind
from bot.dialogue.answers.phone import parse_phone
from bot.dialogue.answers.yesno import parse_yes_no

Data = dict[str, Any]


@dataclass(frozen=True)
class Env:
    """What a parser may need beyond the text: the message's date (bureau's time zone) and the city's 镇街."""

    today: date
    towns: tuple[str, ...] = ()


Parser = Callable[[str, Env], Result]

NAME = re.compile(r"[\u4e00-\u9fffA-Za-z·•.\s]{2,20}")
NAME_LEAD = re.compile(r"^(我叫|我是|本人|姓名是?|名字是?|叫)[:：]?")
# A sticker or an unsupported message shown as text; an answer with no letter, digit or Chinese character at all.
STICKER = re.compile(r"^(\[[^\[\]]{1,8}\]|/:[^\s]{1,8})+$")
MEANINGFUL = re.compile(r"[\w\u4e00-\u9fff]")
UNSUPPORTED = "收到不支持的消息类型"


def _length(lo: int, hi: int) -> Parser:
    def parse(text: str, _env: Env) -> Result:
        text = text.strip()
        if len(text) < lo:
            return Unclear("too_short")
        if len(text) > hi:
            return Unclear("too_long")
        return Answer(text)

    return parse


def _capped(limit: int, parser: Callable[..., Result]) -> Callable[..., Result]:
    """A parser that first refuses answers longer than `limit` (a pasted essay is not a date)."""

    def parse(text: str, *args: Any, **kwargs: Any) -> Result:
        return Unclear("too_long") if len(text) > limit else parser(text, *args, **kwargs)

    return parse


def parse_name(text: str, _env: Env) -> Result:
    """A person's name: 2 to 20 letters or Chinese characters (我叫张三 is 张三)."""
    name = NAME_LEAD.sub("", text.strip()).strip()
    if NAME.fullmatch(name) and not name.isspace():
        return Answer(name)
    return Unclear("invalid")


def parse_platform(text: str, _env: Env) -> Result:
    """A platform by its usual name (淘宝上 -> 淘宝), or the name as typed."""
    found = platform_in(text)
    return Answer(found) if found else _length(2, 50)(text, _env)


def _also_report(text: str, _env: Env) -> Result:
    return parse_yes_no(text, yes=("举报", "同时举报", "一起举报"), no=("不举报", "只投诉", "只要解决", "就投诉"))


def _is(kind: str) -> Callable[[Data], bool]:
    return lambda d: d.get("kind") == kind


def _always(_d: Data) -> bool:
    return True


def _identified(d: Data) -> bool:
    return d.get("kind") == "complaint" or not d.get("anonymous")


def _asks_platform(d: Data) -> bool:
    return bool(d.get("online")) and not d.get("platform_named")


@dataclass(frozen=True)
class Step:
    """One question: the key its answer is stored under, when it applies, when it may be skipped, its parser,
    whether a location answers it, whether it is a choice (numbered after two misses), when it is shown."""

    key: str
    parse: Parser
    applies: Callable[[Data], bool] = _always
    optional: Callable[[Data], bool] = lambda d: False
    takes_location: bool = False
    choice: bool = False
    listed: Callable[[Data], bool] | None = None  # shown in the confirmation (default: when it applies)

    def shown(self, data: Data) -> bool:
        return (self.listed or self.applies)(data)


STEPS: tuple[Step, ...] = (
    Step("kind", lambda t, _e: parse_kind(t), choice=True),
    Step("online", _capped(200, lambda t, _e: parse_channel(t)), choice=True),
    Step("platform", parse_platform, applies=_asks_platform, listed=lambda d: bool(d.get("online"))),
    Step("business", _length(2, 200)),
    Step(
        "address",
        _capped(200, lambda t, e: parse_address(t, e.towns)),
        optional=lambda d: bool(d.get("online")),
        takes_location=True,
    ),
    Step("item", _length(2, 200)),
    Step("when", _capped(50, lambda t, e: parse_date(t, e.today)), optional=_is("report")),
    Step("amount", _capped(100, lambda t, _e: parse_amount(t)), optional=_is("report")),
    Step("facts", _length(10, 1000)),
    Step("request", _length(2, 300), applies=_is("complaint")),
    Step("also_report", _capped(100, _also_report), applies=_is("complaint"), choice=True),
    Step("name", parse_name, optional=_is("report")),
    Step("phone", _capped(60, lambda t, _e: parse_phone(t)), applies=_identified, optional=_is("report")),
    Step(
        "mail_address",
        _capped(200, lambda t, e: parse_address(t, e.towns, mailing=True)),
        applies=_identified,
        optional=_is("report"),
        takes_location=True,
    ),
    Step("confirm", lambda t, _e: parse_yes_no(t)),
)
BY_KEY = {s.key: s for s in STEPS}
CONTACTS = ("name", "phone", "mail_address")  # what an anonymous reporter never leaves behind


def next_step(after: str, data: Data) -> str:
    """The first step after `after` that applies to the answers so far."""
    keys = [s.key for s in STEPS]
    for step in STEPS[keys.index(after) + 1 :]:
        if step.applies(data):
            return step.key
    return "confirm"


def first_missing(data: Data) -> str:
    """The first step that applies and has no answer yet (a changed answer can call for a new one), else confirm."""
    for step in STEPS[:-1]:
        if step.applies(data) and step.key not in data:
            return step.key
    return "confirm"


def is_sticker(text: str) -> bool:
    """A sticker, an unsupported message shown as text, or nothing but emoji and punctuation: not an answer."""
    return bool(STICKER.match(text)) or UNSUPPORTED in text or not MEANINGFUL.search(text)
