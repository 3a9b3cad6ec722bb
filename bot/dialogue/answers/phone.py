"""Phone numbers as people type them: 138 0013 8000, 138-0013-8000, +86 13800138000, 0760-88889999,
(0760)88889999, 0760 8888 9999, 020-12345678转123. Mobile numbers are stored as 11 digits, landlines as
区号-号码 (with 转 and the extension when given)."""

from __future__ import annotations

import re

from bot.dialogue.answers import Answer, Result, Unclear, fold

# A run of digits with what people put between them; 转 / ext starts an extension.
RUN = re.compile(r"(?:\+|00)?\d[\d\-()（）.·—_]*\d")
EXTENSION = re.compile(r"^(?:转|ext\.?|分机)(\d{1,6})")
MOBILE = re.compile(r"1[3-9]\d{9}")
TWO_DIGIT_AREAS = ("010", "02")  # 010 Beijing and 02X; every other 区号 has four digits


def parse_phone(text: str) -> Result:
    """A mobile or landline number in the answer; Unclear says what was seen (a short number, no 区号)."""
    folded = fold(text)
    runs = list(RUN.finditer(folded))
    if not runs:
        return Unclear("invalid")
    first_problem: Unclear | None = None
    for run in runs:
        digits = re.sub(r"\D", "", run.group(0))
        found = _read(digits)
        if isinstance(found, Answer):
            ext = EXTENSION.match(folded[run.end() :])
            if ext and "-" in found.value:
                found = Answer(f"{found.value}转{ext.group(1)}")
            return found
        first_problem = first_problem or found
    return first_problem or Unclear("invalid")


def _read(digits: str) -> Result:
    international = digits.startswith("0086") or (digits.startswith("86") and len(digits) > 11)
    if international:
        digits = digits[4:] if digits.startswith("0086") else digits[2:]
    if MOBILE.fullmatch(digits):
        return Answer(digits)
    if international and not digits.startswith(("0", "1")) and 9 <= len(digits) <= 11:
        digits = "0" + digits  # +86 760 88889999: the international form drops the 0 of the 区号
    if digits.startswith("0") and len(digits) >= 10:
        area_len = 3 if digits.startswith(TWO_DIGIT_AREAS) else 4
        area, local = digits[:area_len], digits[area_len:]
        if len(local) in (7, 8) and local[0] not in "01":
            return Answer(f"{area}-{local}")
    if len(digits) in (7, 8) and digits[0] not in "01":
        return Unclear("no_area_code", {"understood": digits})
    if digits.startswith("1") and 8 <= len(digits) <= 13 and len(digits) != 11:
        return Unclear("mobile_length", {"understood": digits, "count": len(digits)})
    return Unclear("invalid", {"understood": digits})
