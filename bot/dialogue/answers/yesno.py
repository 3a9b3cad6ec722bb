"""Yes and no in their common forms: 对的, 是的, 嗯, 好, 可以, 没问题, 确认 / 不用了, 不要, 算了, 不是, 错了.

A question may add its own words (同时举报 is yes to "also report?"); "not sure" answers (不确定, 随便) are Unclear,
never a yes or a no.
"""

from __future__ import annotations

import re

from bot.dialogue.answers import Answer, Result, Unclear, bare, fold

YES = frozenset(
    "是 是的 是滴 对 对的 对啊 没错 正确 嗯 嗯嗯 恩 恩恩 好 好的 好滴 好啊 行 可以 没问题 确认 确定 同意 要 要的 需要 "
    "当然 必须 ok okay yes y 1 确认无误 无误 提交 确认提交 中 妥 是呀 对呀".split()
)
NO = frozenset(
    "不 不是 否 不要 不用 不用了 不需要 算 算了 没有 没 错 错了 不对 不行 不了 别 暂时不用 先不 不必 有误 "
    "不正确 不同意 no n 2 不想 不好".split()
)
UNSURE = re.compile(r"^(不确定|不知道|不清楚|说不好|不好说|也许|可能|看情况|随便|都行|无所谓|考虑|想想|再说)")
NO_START = re.compile(r"^(不了|不是|不要|不用|不需要|不必|算了|没有|错了|不对|不想|不行|别|先不|暂时不|no\b)")
YES_START = re.compile(r"^(是的|对的|对|好的|可以|确认|确定|没问题|嗯|行|同意|要的|ok|yes)")


def parse_yes_no(text: str, yes: tuple[str, ...] = (), no: tuple[str, ...] = ()) -> Result:
    """True or False; the question's own words (`yes`, `no`) are understood too, a negation before them first."""
    folded, short = fold(text), bare(text)
    if UNSURE.match(folded):
        return Unclear("invalid")
    for candidate in (folded, short):
        if candidate in NO or candidate in no:
            return Answer(False)
        if candidate in YES or candidate in yes:
            return Answer(True)
    first = re.split(r"[,，。.!！;；\s]", folded, maxsplit=1)[0]
    if first != folded and first:
        found = parse_yes_no(first, yes, no)
        if isinstance(found, Answer):
            return found
    if NO_START.match(folded) or any(w in folded for w in no):
        return Answer(False)
    if YES_START.match(folded) or any(w in folded for w in yes):
        return Answer(True)
    return Unclear("invalid")
