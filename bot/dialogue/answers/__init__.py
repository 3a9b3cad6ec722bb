"""Parsers of the dialogue's answers, one module per kind of answer; each is pure: text (and the message's date,
where it matters) in, an `Answer` or an `Unclear` out. Wording stays in content/dialogue.toml: an `Unclear` names
the re-ask by its key and carries what was understood as the re-ask's {placeholders}."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """An understood answer: the normalised value to store, how to show it back, and anything else understood."""

    value: Any
    shown: str | None = None  # None: show the value itself
    extra: dict[str, Any] = field(default_factory=dict)
    as_typed: bool = False  # keep the consumer's words beside the value (a resolved date, a range)


@dataclass(frozen=True)
class Unclear:
    """Not (fully) understood: the re-ask's key in the step's table and what was understood, for its placeholders."""

    reason: str = "invalid"
    fields: dict[str, Any] = field(default_factory=dict)


Result = Answer | Unclear

_TRAILING = re.compile(r"[\s。.!！~～…,，、;；?？啊呀吧哈呢嘛哦噢喔啦了的]+$")


def fold(text: str) -> str:
    """NFKC (full-width digits and letters, ¥ and the like), lower case, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def bare(text: str) -> str:
    """`fold` without the particles and punctuation people end an answer with: 对的。 -> 对, 好的呀 -> 好."""
    folded = fold(text)
    stripped = _TRAILING.sub("", folded)
    return stripped or folded
