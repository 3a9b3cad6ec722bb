"""Amounts of money as people type them: 25元, ¥399, 三百元, 1.2万, 两千五, 一块五, 5k, 300-500, 大概五六百.

The value is yuan as a plain decimal string; a range is stored as its lower end with the words kept as typed, and
so is an approximate amount (一千多, 大概两百).
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.dialogue.answers import Answer, Result, Unclear, fold
from bot.dialogue.answers.numerals import CHARS, DIGITS, NUMBER, SMALL_UNITS, plain, to_number

LIMIT = Decimal("10000000000")
ZERO = re.compile(r"^(没(有)?(花|付)(钱|费)?|免费(的)?|不要钱|没有?花钱|0|零|0元|零元|一分钱都?没花)$")
VAGUE = re.compile(r"几(十|百|千|万)")
APPROX = re.compile(r"大概|大约|约|左右|差不多|将近|接近|上下|多|来块|不到|记得是")
MONEY_AFTER = re.compile(r"^(元|块|圆|蚊|rmb|人民币|k|w|千|万)")
MONEY_BEFORE = re.compile(r"(¥|\$|rmb|人民币|花了|付了|共|一共|总共|合计|总计|价格|价钱|金额)$")
# A number followed by one of these counts things, not money: 3件, 2个, 11月, 5号.
NOT_MONEY = re.compile(
    r"^(件|个|次|天|日|号|月|年|斤|两|瓶|张|人|份|盒|箱|台|岁|小时|分钟|点|楼|栋|层|周|星期|套|双|只|袋)"
)
TOTAL = re.compile(r"(一共|总共|合计|总计|共|总价|全部)$")
FESTIVALS = re.compile(r"双(十一|十二|11|12)|618")
SLANG = {"k": Decimal(1000), "w": Decimal(10_000)}
_ADJACENT = re.compile(rf"([{''.join(DIGITS)}])([{''.join(DIGITS)}])([{''.join(SMALL_UNITS)}万])")
_JIAO = re.compile(r"^(块|元)([一二两三四五六七八九1-9])(毛|角)?")
_RANGE = re.compile(r"^\s*(-|~|～|—|–|到|至)\s*")
_NUM = re.compile(rf"{NUMBER.pattern}(?:k|w(?!ei))?")


def parse_amount(text: str) -> Result:
    """The amount in a consumer's answer, or Unclear with what was seen (several numbers, 几百, none)."""
    folded = fold(text).replace("人民币", "rmb").replace("￥", "¥")
    folded = re.sub(r"(?<=\d),(?=\d{3})", "", folded)  # 1,280
    folded = FESTIVALS.sub("", folded)  # 双十一 is a day, not an amount
    if ZERO.match(folded.rstrip("。.!！")):
        return Answer("0", "0 元")
    candidates = list(_candidates(folded))
    if not candidates:
        vague = VAGUE.search(folded)
        return Unclear("vague", {"understood": vague.group(0)}) if vague else Unclear("invalid")
    strong = [c for c in candidates if c[3]]
    chosen = strong or candidates
    totals = [c for c in chosen if TOTAL.search(folded[: c[0]])]
    if len({(c[1], c[2]) for c in chosen}) > 1 and len(totals) == 1:
        chosen = totals
    if len({(c[1], c[2]) for c in chosen}) > 1:
        numbers = "、".join(_shown_number(c[1], c[2]) for c in chosen[:4])
        return Unclear("several", {"understood": numbers})
    _, low, high, _ = chosen[0]
    if high >= LIMIT:
        return Unclear("too_large")
    approximate = high != low or bool(APPROX.search(folded))
    shown = _shown_number(low, high) + " 元"
    if approximate:
        shown += f"（{text.strip()[:30]}）"
    return Answer(plain(low), shown, {"amount_high": plain(high)} if high != low else {}, as_typed=approximate)


def _shown_number(low: Decimal, high: Decimal) -> str:
    return plain(low) if low == high else f"{plain(low)}–{plain(high)}"


def _candidates(folded: str):
    """(position, low, high, is_money) of every number that may be the amount."""
    pos = 0
    while (m := _NUM.search(folded, pos)) is not None:
        start, end = m.start(), m.end()
        pos = end
        low = _value(m.group(0))
        if low is None:
            continue
        high = low
        adjacent = _ADJACENT.fullmatch(m.group(0))
        if adjacent and DIGITS[adjacent.group(1)] < DIGITS[adjacent.group(2)]:  # 五六百, 一两千, 三五百
            unit = to_number("一" + adjacent.group(3)) or Decimal(1)
            low, high = DIGITS[adjacent.group(1)] * unit, DIGITS[adjacent.group(2)] * unit
        rest = folded[end:]
        if (jiao := _JIAO.match(rest)) is not None:  # 一块五, 3块5毛
            low = high = low + (to_number(jiao.group(2)) or 0) / 10
            end += jiao.end()
            pos, rest = end, folded[end:]
        elif (dash := _RANGE.match(rest)) and (other := _NUM.match(rest, dash.end())):
            upper = _value(other.group(0))
            if upper is not None and upper > low:
                high, end = upper, end + other.end()
                pos, rest = end, folded[end:]
        elif re.match(r"^(毛|角)", rest):  # 五毛
            low = high = low / 10
            rest = "元" + rest[1:]
        if NOT_MONEY.match(rest) or re.match(r"^\d", rest):
            continue
        money = bool(MONEY_AFTER.match(rest) or MONEY_BEFORE.search(folded[:start]))
        yield start, low, high, money


def _value(token: str) -> Decimal | None:
    if token[-1] in SLANG and token[:-1].replace(".", "", 1).isdigit():
        return Decimal(token[:-1]) * SLANG[token[-1]]
    if not any(ch.isdigit() or ch in CHARS for ch in token):
        return None
    return to_number(token)
