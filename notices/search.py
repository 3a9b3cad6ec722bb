"""Search over the notices, for the public search page and the bot's answers: the retrieval engine
(notices/retrieval/) over the current notices, each hit with its key paragraph and a highlighted snippet."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from notices.retrieval import Analyzer, Engine, Lexicon
from notices.retrieval.paragraphs import quote
from notices.retrieval.snippet import highlight, marked_spans
from notices.retrieval.text import fold as fold_chars

if TYPE_CHECKING:
    from notices.model import Notice

# A hit is kept when it covers at least this share of the question and scores at least this share of the best.
MIN_CONFIDENCE = 0.35
MIN_RELATIVE = 0.5


def fold(text: str) -> str:
    """Folded for comparing words: simplified characters, half-width, lower case (as the engine sees text)."""
    return fold_chars(text)


@dataclass(frozen=True)
class Hit:
    """One search result: the notice, its score and confidence (0..1), the paragraph to quote, the snippet."""

    notice: Notice
    score: float
    confidence: float
    passage: str
    snippet: Markup


class Searcher:
    """The engine for the notices of the moment: rebuilt when the notices or the lexicon change, shared by all
    threads; the lexicon comes from whoever owns the dictionary file (the bot: content/synonyms.toml)."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self._lock = threading.Lock()
        self._lexicon = lexicon or Lexicon()
        self._analyzer: tuple[object, Analyzer] | None = None  # (what it was built from, analyzer)
        self._engine: tuple[object, Engine] | None = None  # (the notices list it indexes, engine)
        self._source: Callable[[], Lexicon] | None = None
        self._changes = 0

    def set_lexicon(self, lexicon: Lexicon | Callable[[], Lexicon]) -> None:
        """Use another dictionary from now on, or follow a source of it (asked before each search: it returns
        the same object until the dictionary changes); the next search rebuilds the index."""
        if callable(lexicon):
            self._source = lexicon
            lexicon = lexicon()
        with self._lock:
            if lexicon is not self._lexicon:
                self._lexicon = lexicon
                self._analyzer = self._engine = None
                self._changes += 1

    @property
    def generation(self) -> int:
        """Counts the changes of the lexicon (pages cached with an older one are stale)."""
        self._follow()
        return self._changes

    def _follow(self) -> None:
        if self._source is not None:
            lexicon = self._source()
            if lexicon is not self._lexicon:
                self.set_lexicon(lexicon)

    def engine(self, notices: list[Notice]) -> Engine:
        """The engine over exactly these notices (the store's snapshot list), built on first use."""
        self._follow()
        current = self._engine
        if current is not None and current[0] is notices:
            return current[1]
        with self._lock:
            if self._engine is not None and self._engine[0] is notices:
                return self._engine[1]
            keywords = frozenset(k for n in notices for k in n.keywords)
            if self._analyzer is None or self._analyzer[0] != keywords:
                self._analyzer = (keywords, Analyzer(self._lexicon.with_words(keywords)))
            engine = Engine(notices, self._analyzer[1])
            self._engine = (notices, engine)
            return engine

    def search(
        self, notices: list[Notice], query: str, limit: int = 50, min_confidence: float = MIN_CONFIDENCE
    ) -> list[Hit]:
        """The notices answering a query, best first, with the paragraph that answers and its snippet; those
        below `min_confidence` or far behind the best are left out."""
        engine = self.engine(notices)
        results = engine.search(query, limit=limit)
        if not results:
            return []
        top = results[0].score
        hits = []
        for r in results:
            if r.confidence < min_confidence or r.score < MIN_RELATIVE * top:
                continue
            text = r.blocks[r.best].text if r.best >= 0 else r.notice.summary
            spans = marked_spans(engine.analyzer, text, r.query)
            passage = quote(r.blocks, r.best) if r.best >= 0 else r.notice.summary
            snippet = highlight(text, spans) if text else escape(r.notice.summary)
            hits.append(Hit(r.notice, r.score, r.confidence, passage, snippet))
        return hits
