"""Ranked retrieval over the notices: BM25F over title, keywords, summary and body, plus BM25 over the body's
paragraphs (the best paragraph adds to its notice's score and is the one quoted), current notices first.

Built once per content generation and lexicon, shared by every thread; the postings are kept in compact arrays
(a worker's memory is part of the budget: bench/retrieval.py).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from notices.retrieval.analyzer import CHANNEL_WEIGHT, TYPO_WEIGHT, UNIGRAM, WORD, Analyzer, Token
from notices.retrieval.paragraphs import Paragraph, paragraphs

if TYPE_CHECKING:
    from notices.model import Notice

K1 = 2.0
# field -> (weight, length normalisation b)
FIELDS = {"title": (5.0, 0.3), "keywords": (5.0, 0.0), "summary": (2.0, 0.5), "body": (1.0, 0.75)}
PARAGRAPH_B = 0.5
PARAGRAPH_SHARE = 0.6  # how much the best paragraph adds to its notice's score
HEADING_SHARE = 0.5  # a paragraph's heading counts half in the paragraph's terms
POSITION = 0.02  # an earlier paragraph is preferred for quoting: 1 / (1 + POSITION * index)
RECENCY = 0.1  # per year older than the newest notice: 1 / (1 + RECENCY * years)
EXPIRED = 0.5  # an expired notice's score is multiplied by this
MAX_QUERY = 200  # characters of a question that are read
# Confidence: the question's weight (term weight x idf) that the notice matches, against what it misses; a missed
# term that no notice uses counts less (a word the content never says, like 羽绒服, is not what it is about).
MISSED_SHARE, UNKNOWN_SHARE = 0.6, 0.3
# A notice that shares no topic word with the question and whose title, keywords and summary hold none of its words
# matched it in passing (天气 in a sentence of the body): its confidence counts this much.
HEARSAY = 0.6
# A lexicon word keeps at least this idf (as a share of the idf of a term no notice has): the words an editor put in
# the lexicon name topics, and a topic that many notices mention in passing (退货) still tells them apart by how
# much they say about it.
WORD_IDF_FLOOR = 0.35


@dataclass(frozen=True)
class Analysis:
    """A notice cut into terms: counts per field and per paragraph (kept only while the index is built)."""

    fields: dict[str, Counter]
    blocks: list[Paragraph]
    block_terms: list[Counter]


@dataclass(frozen=True)
class Result:
    """One ranked notice: the score, how much of the question it covers (0..1), its best paragraph."""

    notice: Notice
    score: float
    confidence: float
    blocks: list[Paragraph]
    best: int  # index into blocks of the paragraph that answers best, -1 when no paragraph matched
    query: list[Token]


def analyse(analyzer: Analyzer, notice: Notice) -> Analysis:
    """Count the terms of a notice's fields and of each paragraph of its body."""
    blocks = paragraphs(notice.html)
    block_terms, body = [], Counter()
    headings: dict[str, Counter] = {}
    for block in blocks:
        own = analyzer.counts(block.text, characters=False)
        body.update(own)
        if block.heading and not block.is_heading:
            if block.heading not in headings:
                headings[block.heading] = analyzer.counts(block.heading, characters=False)
            for term, n in headings[block.heading].items():
                own[term] += HEADING_SHARE * n
        block_terms.append(own)
    fields = {
        "title": analyzer.counts(notice.title),
        "keywords": sum((analyzer.counts(k) for k in notice.keywords), Counter()),
        "summary": analyzer.counts(notice.summary),
        "body": body,
    }
    return Analysis(fields, blocks, block_terms)


class Postings:
    """term -> (ids, saturated term frequencies): every term's list in two flat arrays, a term mapped to one int
    (its offset and length), so that tens of thousands of terms cost a few megabytes."""

    def __init__(self, lists: dict[str, tuple[list[int], list[float]]], code: str) -> None:
        self.where: dict[str, int] = {}
        self.ids, self.values = array(code), array("f")
        for term, (ids, values) in lists.items():
            self.where[sys.intern(term)] = len(self.ids) << 20 | len(ids)
            self.ids.extend(ids)
            self.values.extend(values)

    def get(self, term: str):
        """The (id, value) pairs of a term (none when it occurs nowhere)."""
        packed = self.where.get(term)
        if packed is None:
            return ()
        start, n = packed >> 20, packed & 0xFFFFF
        return zip(self.ids[start : start + n], self.values[start : start + n], strict=True)

    def count(self, term: str) -> int:
        """In how many ids the term occurs."""
        return self.where.get(term, 0) & 0xFFFFF


class Engine:
    """The index of one set of notices; `search(question)` ranks them."""

    def __init__(self, notices: list[Notice], analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.notices = list(notices)
        found = [analyse(analyzer, n) for n in self.notices]
        self.blocks = [a.blocks for a in found]
        heads = ("title", "keywords", "summary")
        self.heads = [frozenset(t for f in heads for t in a.fields[f] if not t.startswith(UNIGRAM)) for a in found]
        self.block_owner: list[tuple[int, int]] = [(d, i) for d, a in enumerate(found) for i in range(len(a.blocks))]
        self.postings = self._index_fields(found)
        self.block_postings = self._index_blocks(found)
        self.total = max(len(self.notices), 1)
        self.unknown_idf = _idf(self.total, 0)
        newest = max((n.date for n in self.notices), default=None)
        self.prior = [_prior(n, newest) for n in self.notices]

    def _index_fields(self, found: list[Analysis]) -> Postings:
        """Postings term -> notices and their saturated, weighted, length-normalised term frequency (BM25F)."""
        averages = {f: sum(sum(a.fields[f].values()) for a in found) / max(len(found), 1) or 1.0 for f in FIELDS}
        lists: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for doc, analysis in enumerate(found):
            weighted: dict[str, float] = defaultdict(float)
            for field, (weight, b) in FIELDS.items():
                counts = analysis.fields[field]
                norm = 1 - b + b * sum(counts.values()) / averages[field]
                for term, n in counts.items():
                    weighted[term] += weight * n / norm
            for term, tf in weighted.items():
                ids, values = lists[term]
                ids.append(doc)
                values.append(tf / (K1 + tf))
        return Postings(lists, "H")

    def _index_blocks(self, found: list[Analysis]) -> Postings:
        """Postings term -> paragraphs (numbered across notices) and their saturated term frequency (BM25)."""
        lengths = [sum(c.values()) for a in found for c in a.block_terms]
        average = sum(lengths) / max(len(lengths), 1) or 1.0
        lists: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        number = 0
        for analysis in found:
            for counts in analysis.block_terms:
                norm = 1 - PARAGRAPH_B + PARAGRAPH_B * sum(counts.values()) / average
                for term, n in counts.items():
                    tf = n / norm
                    ids, values = lists[term]
                    ids.append(number)
                    values.append(tf / (K1 + tf))
                number += 1
        return Postings(lists, "I")

    def idf(self, term: str) -> float | None:
        """The term's idf over the notices (None when no notice has it); a lexicon word's never below its floor."""
        df = self.postings.count(term)
        if not df:
            return None
        value = _idf(self.total, df)
        return max(value, WORD_IDF_FLOOR * self.unknown_idf) if term.startswith(WORD) else value

    def query_terms(self, tokens: list[Token]) -> dict[str, float]:
        """term -> its weight in the question (the channel's weight; a repaired word a little less)."""
        weights: dict[str, float] = {}
        for token in tokens:
            weight = CHANNEL_WEIGHT[token.term[:2]] * token.weight
            weights[token.term] = max(weights.get(token.term, 0.0), weight)
        return weights

    def search(self, question: str, limit: int = 10) -> list[Result]:
        """The notices that answer the question, best first (none when no term of it occurs anywhere)."""
        tokens = self.analyzer.tokens(question[:MAX_QUERY], query=True)
        terms = self.query_terms(tokens)
        if not terms:
            return []
        only_characters = all(t.startswith(UNIGRAM) for t in terms)
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, float] = defaultdict(float)
        matched: dict[int, set[str]] = defaultdict(set)
        idfs = {term: self.idf(term) for term in terms}
        for term, weight in terms.items():
            idf = idfs[term]
            for doc, saturated in self.postings.get(term):
                scores[doc] += weight * idf * saturated
                if not term.startswith(UNIGRAM) or only_characters:
                    covered[doc] += weight * idf
                    matched[doc].add(term)
        block_sums: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for term, weight in terms.items():
            idf = idfs[term] or 0.0
            for number, saturated in self.block_postings.get(term):
                doc, i = self.block_owner[number]
                block_sums[doc][i] += weight * idf * saturated
        results = []
        for doc, score in scores.items():
            notice = self.notices[doc]
            para, para_score = _best_block(block_sums.get(doc), self.blocks[doc])
            total = (score + PARAGRAPH_SHARE * para_score) * self.prior[doc]
            confidence = self._confidence(terms, idfs, covered[doc], matched[doc])
            if not self._evidence(doc, terms, matched[doc]):
                confidence *= HEARSAY
            results.append(Result(notice, total, confidence, self.blocks[doc], para, tokens))
        results.sort(key=lambda r: (-r.score, -r.notice.date.toordinal(), r.notice.slug))
        return results[:limit]

    def _evidence(self, doc: int, terms: dict[str, float], matched: set[str]) -> bool:
        """Whether the notice is about what the question asks: they share a topic word of the lexicon (one at full
        weight), or the notice's title, keywords or summary hold a word or character pair of the question and the
        notice matches more of it than that one pair."""
        head = False
        for term in matched:
            if terms[term] < CHANNEL_WEIGHT[term[:2]] * TYPO_WEIGHT:
                continue
            if term.startswith(WORD):
                return True
            head = head or term in self.heads[doc]
        return head and sum(not t.startswith(UNIGRAM) for t in matched) > 1

    def _confidence(self, terms: dict[str, float], idfs: dict, covered: float, matched: set[str]) -> float:
        """How much of the question (its words and character pairs) the notice matches, 0..1."""
        missed = 0.0
        only_characters = all(t.startswith(UNIGRAM) for t in terms)
        for term, weight in terms.items():
            if term in matched or (term.startswith(UNIGRAM) and not only_characters):
                continue
            idf = idfs[term]
            missed += weight * (MISSED_SHARE * idf if idf is not None else UNKNOWN_SHARE * self.unknown_idf)
        return covered / (covered + missed) if covered else 0.0


def _best_block(sums: dict[int, float] | None, blocks: list[Paragraph]) -> tuple[int, float]:
    """The paragraph to quote and its score: the best match, a paragraph before a table row or a heading, and the
    first of a section a little before the later ones (a section usually states its rule first)."""
    if not sums:
        return -1, 0.0
    ranked = {i: score * blocks[i].quotable / (1 + POSITION * i) for i, score in sums.items()}
    best = max(ranked, key=lambda i: (ranked[i], -i))
    return best, sums[best]


def _idf(total: int, df: int) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def _prior(notice: Notice, newest) -> float:
    """Current notices before the archive on the same topic; an expired notice well behind."""
    years = max((newest - notice.date).days, 0) / 365.25 if newest else 0.0
    return (EXPIRED if notice.expired else 1.0) / (1 + RECENCY * years)
