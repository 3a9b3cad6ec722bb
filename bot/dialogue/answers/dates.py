"""Dates as people say them, resolved against the day the message was sent: 上周六, 前天, 昨天晚上, 11月11日,
双十一那天, 2026.11.3, 20号, 3天前, 上个月. A date in the future, or one that does not exist, is Unclear.

The value is ISO (2026-11-28), or a month (2026-10) when only the month was given; it is shown back for
confirmation with the words it came from: 2026年11月28日（上周六）.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.dialogue.answers import Answer, Result, Unclear, fold
from bot.dialogue.answers.numerals import to_number

CN = r"[〇零一二两三四五六七八九十]{1,3}"
N = rf"(\d{{1,2}}|{CN})"
WEEKDAYS = "一二三四五六日天"
RELATIVE_DAYS = (("大前天", 3), ("前天", 2), ("前日", 2), ("前晚", 2), ("昨天", 1), ("昨日", 1), ("昨晚", 1),
                 ("昨儿", 1), ("今天", 0), ("今日", 0), ("今早", 0), ("今晚", 0), ("刚才", 0), ("刚刚", 0))  # fmt: skip
FESTIVALS = {"双十一": (11, 11), "双11": (11, 11), "双十二": (12, 12), "双12": (12, 12), "618": (6, 18),
             "元旦": (1, 1), "国庆": (10, 1), "圣诞": (12, 25), "情人节": (2, 14), "妇女节": (3, 8),
             "劳动节": (5, 1), "五一": (5, 1), "315": (3, 15)}  # fmt: skip
WEEKDAY_NAMES = "一二三四五六日"

FULL = re.compile(r"(20\d{2}|\d{2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})(?!\d)")
COMPACT = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
YEAR_MONTH = re.compile(r"(20\d{2}|今年|去年)年?(\d{1,2}|" + CN + r")月(?:份)?(?!\d|" + CN + r")")
MONTH_DAY = re.compile(rf"(上个?月|这个?月|本月|今年|去年)?{N}月{N}[日号]?")
MONTH_DAY_DOTS = re.compile(r"(?<![\d.])(\d{1,2})[./](\d{1,2})(?![\d.])")
DAY_ONLY = re.compile(rf"(?:(上个?月|这个?月|本月)|(?<![月\d])){N}[日号]")
MONTH_ONLY = re.compile(rf"(上个?月|这个?月|本月)|(?<!\d){N}月(?:份)?")
WEEKDAY = re.compile(rf"(上上|上|这|本)?个?(周|星期|礼拜)([{WEEKDAYS}1-7])")
AGO = re.compile(rf"({CN}|\d{{1,3}}|半)个?(天|日|周|星期|礼拜)(以前|之前|前)")
VAGUE = re.compile(r"前几天|这几天|前些天|最近|近期|前段时间|前阵子|之前|以前|年初|月初|月中|月底|上半年|下半年")
WEEK_ONLY = re.compile(r"(上上|上|这|本)个?(周|星期|礼拜)(?![一二三四五六日天1-7])")


def parse_date(text: str, today: date) -> Result:
    """The day (or month) meant, resolved against `today` (the message's date in the bureau's time zone)."""
    folded = fold(text)
    for reader in (_full, _relative_day, _ago, _weekday, _festival, _month_day, _day_only, _year_month, _month):
        found = reader(folded, today)
        if found is None:
            continue
        if isinstance(found, Unclear):
            return found
        day, label = found
        return _checked(day, label, today)
    if (m := WEEK_ONLY.search(folded)) is not None:
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=_week_shift(m.group(1)))
        sunday = monday + timedelta(days=6)
        return Unclear("which_day", {"understood": f"{monday.month}月{monday.day}日至{sunday.month}月{sunday.day}日"})
    if (m := VAGUE.search(folded)) is not None:
        return Unclear("vague", {"understood": m.group(0)})
    return Unclear("invalid")


def shown(day: date | str, label: str = "") -> str:
    """2026年11月28日（上周六）, 2026年11月11日（星期三）, 2026年10月（上个月）."""
    if isinstance(day, str):
        year, month = day.split("-")[:2]
        return f"{int(year)}年{int(month)}月" + (f"（{label}）" if label else "")
    return f"{_cn(day)}（{label or '星期' + WEEKDAY_NAMES[day.weekday()]}）"


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _checked(day: date | str, label: str, today: date) -> Result:
    if isinstance(day, str):  # a month
        if day > f"{today:%Y-%m}":
            return Unclear("future", {"understood": shown(day)})
        return Answer(day, shown(day, label), as_typed=True)
    if day > today:
        return Unclear("future", {"understood": _cn(day)})
    return Answer(day.isoformat(), shown(day, label), as_typed=True)


def _num(token: str) -> int:
    value = to_number(token)
    return int(value) if value is not None else -1


def _make(year: int, month: int, day: int) -> date | Unclear:
    try:
        return date(year, month, day)
    except ValueError:
        return Unclear("no_such_day", {"understood": f"{month}月{day}日"})


def _past(month: int, day: int, today: date, year: int | None = None) -> date | Unclear:
    """month/day in the given year, or the latest one not after today."""
    made = _make(year or today.year, month, day)
    if year is None and isinstance(made, date) and made > today:
        made = _make(today.year - 1, month, day)
    return made


def _full(folded: str, today: date):
    m = FULL.search(folded) or COMPACT.search(folded)
    if m is None:
        return None
    year = int(m.group(1)) + (2000 if len(m.group(1)) == 2 else 0)
    made = _make(year, int(m.group(2)), int(m.group(3)))
    return made if isinstance(made, Unclear) else (made, "")


def _relative_day(folded: str, today: date):
    for word, days in RELATIVE_DAYS:
        if word in folded:
            return today - timedelta(days=days), word
    return None


def _ago(folded: str, today: date):
    m = AGO.search(folded)
    if m is None:
        return None
    count = 0.5 if m.group(1) == "半" else _num(m.group(1))
    days = count * (1 if m.group(2) in ("天", "日") else 7)
    if days < 0 or days != int(days):
        return None
    return today - timedelta(days=int(days)), m.group(0)


def _week_shift(prefix: str | None) -> int:
    return {"上上": 2, "上": 1}.get(prefix or "", 0)


def _weekday(folded: str, today: date):
    m = WEEKDAY.search(folded)
    if m is None:
        return None
    char = m.group(3)
    index = int(char) - 1 if char.isdigit() else min(WEEKDAYS.index(char), 6)
    monday = today - timedelta(days=today.weekday())
    if m.group(1):
        return monday - timedelta(weeks=_week_shift(m.group(1))) + timedelta(days=index), m.group(0)
    day = monday + timedelta(days=index)
    return (day if day <= today else day - timedelta(weeks=1)), m.group(0)  # 周六: the latest one


def _festival(folded: str, today: date):
    for word, (month, day) in FESTIVALS.items():
        if word in folded:
            made = _past(month, day, today)
            return made if isinstance(made, Unclear) else (made, word)
    return None


def _month_shift(prefix: str | None, today: date) -> tuple[int, int] | None:
    if not prefix:
        return None
    if prefix.startswith("上"):
        first = today.replace(day=1) - timedelta(days=1)
        return first.year, first.month
    return today.year, today.month


def _month_day(folded: str, today: date):
    m = MONTH_DAY.search(folded)
    if m is not None:
        prefix, month, day = m.group(1), _num(m.group(2)), _num(m.group(3))
        year = {"今年": today.year, "去年": today.year - 1}.get(prefix or "")
        made = _past(month, day, today, year)
        return made if isinstance(made, Unclear) else (made, prefix or "")
    m = MONTH_DAY_DOTS.search(folded)
    if m is None:
        return None
    made = _past(int(m.group(1)), int(m.group(2)), today)
    return made if isinstance(made, Unclear) else (made, "")


def _day_only(folded: str, today: date):
    m = DAY_ONLY.search(folded)
    if m is None:
        return None
    day = _num(m.group(2))
    if m.group(1):
        year, month = _month_shift(m.group(1), today) or (today.year, today.month)
        made = _make(year, month, day)
        return made if isinstance(made, Unclear) else (made, m.group(1))
    first = today.replace(day=1)
    for _ in range(3):  # 20号 on the 5th is last month's; 31号 is the latest month that has one
        made = _make(first.year, first.month, day)
        if isinstance(made, date) and made <= today:
            return made, ""
        first = (first - timedelta(days=1)).replace(day=1)
    return Unclear("no_such_day", {"understood": f"{day}号"})


def _year_month(folded: str, today: date):
    m = YEAR_MONTH.search(folded)
    if m is None:
        return None
    year = {"今年": today.year, "去年": today.year - 1}.get(m.group(1)) or int(m.group(1))
    month = _num(m.group(2))
    return (f"{year:04d}-{month:02d}", m.group(1) if not m.group(1).isdigit() else "") if 1 <= month <= 12 else None


def _month(folded: str, today: date):
    m = MONTH_ONLY.search(folded)
    if m is None:
        return None
    if m.group(1):
        year, month = _month_shift(m.group(1), today) or (today.year, today.month)
        return f"{year:04d}-{month:02d}", m.group(1)
    month = _num(m.group(2))
    if not 1 <= month <= 12:
        return None
    year = today.year if month <= today.month else today.year - 1
    return f"{year:04d}-{month:02d}", ""
