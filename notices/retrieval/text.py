"""Folding text for retrieval, one character for one character so that positions stay those of the original:
full-width to half-width, lower case, traditional to simplified characters; and cutting it into runs of Chinese
characters and of letters and digits."""

from __future__ import annotations

import re
from functools import cache

# CJK unified ideographs (with extension A and the compatibility block): the characters segmentation works on.
CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run: Chinese characters, letters and digits together (双11, 7天无理由); its atoms: one Chinese character, or a
# word of letters and digits.
RUNS = re.compile(rf"[{CJK}a-z0-9]+")
ATOMS = re.compile(rf"[{CJK}]|[a-z0-9]+")
HAS_CJK = re.compile(rf"[{CJK}]")
HAS_LATIN = re.compile(r"[A-Za-z]{2,}")
# Pictographs, dingbats, variation selectors, joiners and skin tones: what an emoji-only message is made of.
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3\U0001f3fb-\U0001f3ff\u3030\u303d]"
)
# WeChat's own emoticons arrive as text: [微笑], [强], /::) ...
WECHAT_FACE = re.compile(r"\[[\u4e00-\u9fff\w]{1,4}\]|/:[^\s/]{1,8}")


@cache
def _table() -> dict[int, int]:
    """Traditional -> simplified characters (hanziconv's character map: 2,704 pairs), plus full-width ASCII."""
    from hanziconv.charmap import simplified_charmap, traditional_charmap

    table = {ord(t): ord(s) for t, s in zip(traditional_charmap, simplified_charmap, strict=True) if t != s}
    table.update({code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)})
    table[0x3000] = 0x20  # ideographic space
    return table


def fold(text: str) -> str:
    """Simplified characters, half-width letters and digits, lower case; as long as `text`, position for position."""
    folded = text.translate(_table())
    lowered = folded.lower()
    # A few characters change length when lower-cased (İ): keep the original ones there.
    return lowered if len(lowered) == len(folded) else "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


def only_emoji(text: str) -> bool:
    """A message made only of emoji, WeChat emoticons, punctuation and spaces (nothing to look up)."""
    rest = WECHAT_FACE.sub("", EMOJI.sub("", text))
    return rest != text and not any(ch.isalnum() for ch in rest)


def has_chinese(text: str) -> bool:
    """Whether the text contains any Chinese character."""
    return bool(HAS_CJK.search(text))


def has_foreign_words(text: str) -> bool:
    """Whether the text contains words in Latin letters (English, pinyin ...)."""
    return bool(HAS_LATIN.search(text))
