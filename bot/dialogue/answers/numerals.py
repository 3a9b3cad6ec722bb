"""Numbers written in Chinese numerals, Arabic digits or both: 三百, 两千五, 一千零五, 1.2万, 2万5, 十五, 壹佰.

A hand parser of about forty lines instead of cn2an: cn2an (with its `proces` dependency) reads the plain forms too,
but not the ranges (五六百) and yuan-and-jiao (一块五) that prices are said in, which need this grammar anyway.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

DIGITS = {
    **dict(zip("〇零一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)),
    **dict(zip("壹贰叁肆伍陆柒捌玖", range(1, 10), strict=True)),
}
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}
CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)
# One number: a run of Arabic numbers (with a decimal part) and Chinese numeral characters, e.g. 1.2万, 2万5, 三百五.
NUMBER = re.compile(rf"(?:\d+(?:\.\d+)?|[{CHARS}])+")
_TOKEN = re.compile(rf"\d+(?:\.\d+)?|[{CHARS}]")


def to_number(text: str) -> Decimal | None:
    """The value of one number (a match of NUMBER), or None when it is not a well-formed number."""
    total, section = Decimal(0), Decimal(0)
    current: Decimal | None = None
    last_unit, after_unit, zero, seen = 0, 0, False, False
    for token in _TOKEN.findall(text):
        if token in ("零", "〇") and seen and current is None:
            zero = True  # 一千零五: the 五 is units, not 五百
            continue
        if token in DIGITS or token[0].isdigit():
            value = Decimal(DIGITS[token]) if token in DIGITS else _decimal(token)
            if value is None:
                return None
            current = value if current is None else current * 10 + value  # digits in a row (一三八): one number
            after_unit += 1
        elif token in SMALL_UNITS:
            if current is None and token not in ("十", "拾"):
                return None
            section += (Decimal(1) if current is None else current) * SMALL_UNITS[token]
            last_unit, current, after_unit, zero = SMALL_UNITS[token], None, 0, False
        else:
            if current is None and section == 0:
                return None
            total += (section + (current or 0)) * BIG_UNITS[token]
            section, current, last_unit, after_unit, zero = Decimal(0), None, BIG_UNITS[token], 0, False
        seen = True
    if not seen:
        return None
    if current is not None and last_unit and not zero and after_unit == 1 and current < 10:
        current *= Decimal(last_unit) / 10  # 两千五 = 2500, 一万二 = 12000, 2万5 = 25000
    return total + section + (current or 0)


def _decimal(token: str) -> Decimal | None:
    try:
        return Decimal(token)
    except InvalidOperation:
        return None


def plain(value: Decimal) -> str:
    """12000, 1.5, 0: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")
