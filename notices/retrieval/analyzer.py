"""Text -> search terms: Chinese word segmentation over the lexicon, synonyms, character bigrams, typo repair.

Each run of text is cut into the fewest pieces, a piece being a word of the lexicon or one atom outside it (an atom:
a Chinese character, or a word of letters and digits). Stop words end a stretch of content; each stretch yields:

- `w:<term>` for each lexicon word (a synonym as its group's first word, with the group's weight), the lexicon's
  words inside a longer one (快递 in 快递丢了), and each word of letters or digits;
- `b:<two atoms>` for each pair of neighbouring atoms, so words the lexicon lacks (压缩机) still match;
- `u:<atom>` for each atom, weighed lightly, so a one-character query (卡) finds something.

A question is cut the same way, and its pieces one character away from a long lexicon word (七天无里由) also
count as that word. The hot path (a notice's thousands of characters) works on plain tuples.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import NamedTuple

from notices.retrieval.lexicon import TYPO_MIN, Lexicon
from notices.retrieval.text import ATOMS, RUNS, fold

WORD, BIGRAM, UNIGRAM = "w:", "b:", "u:"
CHANNEL_WEIGHT = {WORD: 1.0, BIGRAM: 0.45, UNIGRAM: 0.08}
TYPO_WEIGHT = 0.8  # a word found by repairing one character counts a little less than the word itself


class Token(NamedTuple):
    """One search term, where it stands in the text (offsets into the original text) and its weight."""

    term: str
    start: int
    end: int
    weight: float = 1.0


class Analyzer:
    """Cuts text into Tokens with one lexicon; built once per lexicon and shared (it holds no per-call state)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.terms = lexicon.terms
        self.stop = lexicon.stop
        self.weights = lexicon.weights
        self.prefixes = {w[:i] for w in self.terms for i in range(1, len(w))}

    @cached_property
    def typos(self) -> dict[str, str]:
        return self.lexicon.typo_keys()

    def tokens(self, text: str, query: bool = False) -> list[Token]:
        """The terms of a text in order of appearance; a question (`query`) also gets typo repairs."""
        folded = fold(text)
        out: list[Token] = []
        for m in RUNS.finditer(folded):
            run, offset = m.group(), m.start()
            spans = _atoms(run)
            for stretch in self._stretches(run, spans):
                out.extend(Token(*t) for t in self._emit(run, offset, spans, stretch))
                if query:
                    out.extend(self._repairs(run, offset, spans, stretch))
        return out

    def counts(self, text: str, characters: bool = True) -> Counter:
        """How often each term occurs in a text (a notice's field or paragraph: no positions kept); without
        `characters`, single characters are left out (a body: they serve one-character queries on the heads)."""
        found: Counter = Counter()
        for m in RUNS.finditer(fold(text)):
            run = m.group()
            spans = _atoms(run)
            for stretch in self._stretches(run, spans):
                terms = (t[0] for t in self._emit(run, 0, spans, stretch))
                found.update(terms if characters else (t for t in terms if not t.startswith(UNIGRAM)))
        return found

    def _segment(self, run: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The fewest pieces (first atom, end atom) covering the run; ties go to the longer first piece."""
        n = len(spans)
        terms, prefixes = self.terms, self.prefixes
        cost = [0.0] * (n + 1)
        step = [1] * (n + 1)
        for i in range(n - 1, -1, -1):
            best, end = 1.5 + cost[i + 1], i + 1  # one atom outside the lexicon
            begin = spans[i][0]
            for j in range(i + 1, n + 1):
                piece = run[begin : spans[j - 1][1]]
                if piece in terms and 1.0 + cost[j] <= best:
                    best, end = 1.0 + cost[j], j
                if piece not in prefixes:
                    break
            cost[i], step[i] = best, end
        pieces, i = [], 0
        while i < n:
            pieces.append((i, step[i]))
            i = step[i]
        return pieces

    def _stretches(self, run: str, spans: list[tuple[int, int]]) -> list[list[tuple[int, int, str | None]]]:
        """The pieces (first atom, end atom, term or None) in stretches split at stop words, which are dropped."""
        out: list[list[tuple[int, int, str | None]]] = [[]]
        for i, j in self._segment(run, spans):
            text = run[spans[i][0] : spans[j - 1][1]]
            term = self.terms.get(text)
            if term is not None and text in self.stop:
                out.append([])
            else:
                out[-1].append((i, j, term))
        return [s for s in out if s]

    def _emit(self, run: str, offset: int, spans: list[tuple[int, int]], stretch: list) -> list[tuple]:
        out = []
        weights = self.weights
        atom_weight = []
        for i, j, term in stretch:
            start, end = spans[i][0], spans[j - 1][1]
            weight = 1.0
            if term is not None:
                weight = weights.get(term, 1.0)
                out.append((WORD + term, offset + start, offset + end, weight))
                if j - i > 2:
                    out.extend(self._inner_words(run[start:end], offset + start, term))
            elif end - start > 1 or run[start].isdigit():  # a word of letters or digits
                out.append((WORD + run[start:end], offset + start, offset + end, 1.0))
            atom_weight.extend([weight] * (j - i))
        first = stretch[0][0]
        last = stretch[-1][1]
        for k in range(first, last):
            a, b = spans[k]
            weight = atom_weight[k - first]
            out.append((UNIGRAM + run[a:b], offset + a, offset + b, weight))
            if k + 1 < last:
                c, d = spans[k + 1]
                out.append(
                    (BIGRAM + run[a:b] + run[c:d], offset + a, offset + d, min(weight, atom_weight[k + 1 - first]))
                )
        return out

    def _inner_words(self, text: str, offset: int, outer: str) -> list[tuple]:
        """The lexicon's words inside a longer word (快递 and 丢了 in 快递丢了), so that their synonyms match too."""
        out = []
        for size in range(2, len(text)):
            for a in range(len(text) - size + 1):
                word = text[a : a + size]
                term = self.terms.get(word)
                if term is not None and term != outer and word not in self.stop:
                    out.append((WORD + term, offset + a, offset + a + size, self.weights.get(term, 1.0)))
        return out

    def _repairs(self, run: str, offset: int, spans: list[tuple[int, int]], stretch: list) -> list[Token]:
        """Lexicon words one mistyped character away from a piece of the stretch (not already a word)."""
        lo, hi = spans[stretch[0][0]][0], spans[stretch[-1][1] - 1][1]
        text = run[lo:hi]
        out = []
        for size in range(TYPO_MIN, min(self.lexicon.longest, len(text)) + 1):
            for a in range(len(text) - size + 1):
                window = text[a : a + size]
                if window in self.terms:
                    continue
                for i in range(size):
                    word = self.typos.get(window[:i] + "\0" + window[i + 1 :])
                    if word is not None:
                        term = self.terms[word]
                        weight = TYPO_WEIGHT * self.weights.get(term, 1.0)
                        out.append(Token(WORD + term, offset + lo + a, offset + lo + a + size, weight))
                        break
        return out


def _atoms(run: str) -> list[tuple[int, int]]:
    """The (start, end) of each atom of a run; a run of Chinese characters only is one atom per character."""
    if run.isascii() or any(c.isascii() for c in run):
        return [m.span() for m in ATOMS.finditer(run)]
    return [(i, i + 1) for i in range(len(run))]
