"""The retrieval's own dictionary: the domain's words, synonym groups and stop words (content/synonyms.toml).

A word of a group is looked up as the group's first word, in the notices and in the questions alike, so that
"会员卡跑路" finds a notice about "预付卡 ... 停业". Every word is folded (notices/retrieval/text.py) when loaded, so
editors may write traditional characters or full-width letters and they still match.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notices.retrieval.text import RUNS, fold

MAX_WORD = 12
TYPO_MIN = 3  # words this long or longer are still found with one character mistyped (七天无里由, 保建品); in a
# three-character word only the middle one: its first and last hold it (不想留 is not 不想要)


class LexiconError(ValueError):
    """A mistake in the dictionary's data: `key` and `index` say where (index of a group or of a list item)."""

    def __init__(self, key: str, index: int | None, message: str) -> None:
        super().__init__(message)
        self.key, self.index, self.message = key, index, message


@dataclass(frozen=True)
class Lexicon:
    """Words known to segmentation, each with its search term (the group's first word, or itself)."""

    terms: dict[str, str] = field(default_factory=dict)  # folded word -> folded search term
    stop: frozenset[str] = frozenset()
    weights: dict[str, float] = field(default_factory=dict)  # search term -> its weight in a question (default 1)
    groups: tuple[tuple[str, ...], ...] = ()

    @property
    def longest(self) -> int:
        return max((len(w) for w in self.terms), default=1)

    def with_words(self, words: Iterable[str]) -> Lexicon:
        """This lexicon plus more plain words (the notices' keywords); words already known keep their term."""
        terms = dict(self.terms)
        for word in words:
            folded = "".join(fold(word).split())
            if _valid(folded) and folded not in terms:
                terms[folded] = folded
        return Lexicon(terms, self.stop, self.weights, self.groups)

    def typo_keys(self) -> dict[str, str]:
        """`word with one character masked` -> word, for words of TYPO_MIN or more characters (unambiguous ones)."""
        keys: dict[str, str | None] = {}
        for word in self.terms:
            if len(word) < TYPO_MIN or word in self.stop or not RUNS.fullmatch(word) or word.isascii():
                continue
            for i in range(1, 2) if len(word) == TYPO_MIN else range(len(word)):
                key = word[:i] + "\0" + word[i + 1 :]
                keys[key] = word if keys.get(key, word) == word else None  # two words one slip apart: neither
        return {k: w for k, w in keys.items() if w is not None}


def _valid(word: str) -> bool:
    return 0 < len(word) <= MAX_WORD and RUNS.fullmatch(word) is not None


def _words(value: Any, key: str, index: int | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise LexiconError(key, index, f'`{key}` 应当是用引号括起来的词语列表，例如 {key} = ["退货", "退款"]')
    out = []
    for word in value:
        folded = "".join(fold(word).split())
        if not _valid(folded):
            shown = word if word.strip() else "（空）"
            raise LexiconError(key, index, f"“{shown}”不能用作词语：只能由汉字、字母和数字组成，最多 {MAX_WORD} 个字")
        out.append(folded)
    return out


def load(path: Path) -> Lexicon:
    """The lexicon of a TOML file (for a notice service without the bot, which loads it with file:line errors)."""
    with path.open("rb") as f:
        return from_data(tomllib.load(f))


def from_data(data: dict[str, Any]) -> Lexicon:
    """A Lexicon from the parsed TOML: `stopwords`, `words` and [[group]] tables with `words`; LexiconError else."""
    for key in data:
        if key not in ("stopwords", "words", "group"):
            raise LexiconError(key, None, f"不认识的项目 `{key}`：只能有 stopwords、words 和 [[group]]")
    stop = frozenset(_words(data.get("stopwords", []), "stopwords", None))
    terms: dict[str, str] = {w: w for w in stop}
    for word in _words(data.get("words", []), "words", None):
        terms.setdefault(word, word)
    raw_groups = data.get("group", [])
    if not isinstance(raw_groups, list):
        raise LexiconError("group", None, "同义词组要写成 [[group]]（两层方括号），每组一行 words = [...]")
    groups, owner, weights = [], {}, {}
    for i, raw in enumerate(raw_groups):
        if not isinstance(raw, dict) or "words" not in raw or set(raw) - {"words", "weight"}:
            raise LexiconError("group", i, "每个 [[group]] 写一行 words = [...]，列出意思相同的词（可加一行 weight）")
        weight = raw.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            raise LexiconError("weight", i, "weight 是 0 到 1 之间的数，例如 weight = 0.5（只说明背景的词）")
        members = _words(raw["words"], "words", i)
        if len(members) < 2:
            raise LexiconError("words", i, "同义词组至少要有两个词")
        for word in members:
            if word in stop:
                raise LexiconError("words", i, f"“{word}”已列在 stopwords 里，不能再放进同义词组")
            if word in owner and owner[word] != i:
                raise LexiconError("words", i, f"“{word}”已在第 {owner[word] + 1} 个同义词组里，一个词只能属于一组")
            owner[word] = i
            terms[word] = members[0]
        groups.append(tuple(members))
        if weight != 1:
            weights[members[0]] = float(weight)
    return Lexicon(terms, stop, weights, tuple(groups))
