"""Full-text search over notices: Chinese has no spaces, so an inverted index of character bigrams (and single
characters, for one-character queries) over title, keywords, summary and body, rebuilt when the store reloads."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

from markupsafe import Markup, escape

from notices.model import Notice

WORD = re.compile(r"\w+")
# Spellings consumers mix; folded the same way in the index and in the query.
SYNONYMS = {"双十一": "双11", "双十二": "双12", "七日无理由": "七天无理由", "个人资讯": "个人信息"}
FIELD_WEIGHTS = {"title": 4.0, "keywords": 4.0, "summary": 2.0, "body": 1.0}
PHRASE_BONUS = {"title": 6.0, "keywords": 6.0, "summary": 2.0, "body": 2.0}
MAX_QUERY = 40


def fold(text: str) -> str:
    """Lower-case, half-width, one spelling for common variants (双十一 -> 双11)."""
    chars = []
    for ch in text:
        code = ord(ch)
        chars.append(chr(code - 0xFEE0) if 0xFF01 <= code <= 0xFF5E else ch)
    folded = "".join(chars).lower()
    for variant, canonical in SYNONYMS.items():
        folded = folded.replace(variant, canonical)
    return folded


def segments(text: str) -> list[str]:
    """Runs of letters, digits and CJK characters, punctuation and spaces removed."""
    return WORD.findall(fold(text))


def grams(segment: str) -> list[str]:
    """A segment's character bigrams; a one-character segment is its own gram."""
    if len(segment) == 1:
        return [segment]
    return [segment[i : i + 2] for i in range(len(segment) - 1)]


@dataclass(frozen=True)
class Hit:
    """One search result."""

    notice: Notice
    score: float
    snippet: Markup


class SearchIndex:
    """Postings gram -> {slug: weight}; built once per store reload from the notices' cached text."""

    def __init__(self, notices: list[Notice]) -> None:
        self.notices = {n.slug: n for n in notices}
        self.fields: dict[str, dict[str, str]] = {}
        self.postings: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for n in notices:
            body = n.text
            fields = {"title": n.title, "keywords": " ".join(n.keywords), "summary": n.summary, "body": body}
            self.fields[n.slug] = {name: fold(value) for name, value in fields.items()}
            for name, value in self.fields[n.slug].items():
                self._add(n.slug, name, value)
        self.bodies = {n.slug: n.text for n in notices}

    def _add(self, slug: str, name: str, value: str) -> None:
        counts: dict[str, int] = defaultdict(int)
        for seg in WORD.findall(value):
            for gram in {*grams(seg), *seg}:
                counts[gram] += 1
        weight = FIELD_WEIGHTS[name]
        for gram, count in counts.items():
            self.postings[gram][slug] += weight * (1 + min(count, 10) / 10)

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """Notices matching the query, best first: most of its bigrams must occur, whole words score extra."""
        segs = segments(query[:MAX_QUERY])
        wanted = {g for seg in segs for g in grams(seg)}
        if not wanted:
            return []
        scores: dict[str, float] = defaultdict(float)
        found: dict[str, int] = defaultdict(int)
        for gram in wanted:
            for slug, weight in self.postings.get(gram, {}).items():
                scores[slug] += weight
                found[slug] += 1
        # Short queries need every bigram; longer ones 2/3 of them (商家跑路 finds 商家…跑路, which lacks 家跑).
        need = len(wanted) if len(wanted) <= 2 else math.ceil(2 * len(wanted) / 3)
        hits = []
        for slug, score in scores.items():
            if found[slug] < need:
                continue
            fields = self.fields[slug]
            score += sum(PHRASE_BONUS[name] for seg in segs for name, value in fields.items() if seg in value)
            hits.append(Hit(self.notices[slug], score, self._snippet(slug, segs)))
        hits.sort(key=lambda h: (-h.score, -h.notice.date.toordinal(), h.notice.slug))
        return hits[:limit]

    def _snippet(self, slug: str, segs: list[str], width: int = 60) -> Markup:
        """A piece of the body around the first matching word, the words marked."""
        text = self.bodies[slug]
        folded = fold(text)
        if len(folded) != len(text):  # a synonym changed the length: mark nothing rather than the wrong place
            return escape(text[:width])
        positions = [folded.find(seg) for seg in segs if seg in folded]
        start = max(min(positions) - width // 3, 0) if positions else 0
        piece, low = text[start : start + width], folded[start : start + width]
        out, i = [], 0
        while i < len(piece):
            seg = next((s for s in segs if s and low.startswith(s, i)), None)
            if seg:
                out.append(Markup("<mark>%s</mark>") % piece[i : i + len(seg)])
                i += len(seg)
            else:
                out.append(escape(piece[i]))
                i += 1
        prefix = "…" if start > 0 else ""
        suffix = "…" if start + width < len(text) else ""
        return escape(prefix) + Markup("").join(out) + escape(suffix)
