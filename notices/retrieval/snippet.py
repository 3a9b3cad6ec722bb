"""The words of a question marked in a paragraph: a window around the first match, every character escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

from notices.retrieval.analyzer import BIGRAM, UNIGRAM, WORD, Analyzer, Token

WIDTH = 90


def marked_spans(analyzer: Analyzer, text: str, query: list[Token]) -> list[tuple[int, int]]:
    """The (start, end) of the text's pieces that match a word or two characters of the question, merged; single
    characters only when the question has nothing longer."""
    wanted = {t.term for t in query if t.term.startswith((WORD, BIGRAM))}
    if not wanted:
        wanted = {t.term for t in query if t.term.startswith(UNIGRAM)}
    spans = sorted((t.start, t.end) for t in analyzer.tokens(text) if t.term in wanted)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: list[tuple[int, int]], width: int = WIDTH) -> Markup:
    """A window of `text` around its first span, each span in <mark>; the rest escaped, cuts shown as …."""
    start = max(spans[0][0] - width // 4, 0) if spans else 0
    end = min(start + width, len(text))
    if end - start < width:
        start = max(end - width, 0)
    out, at = [], start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        out.append(escape(text[at:a]))
        out.append(Markup("<mark>%s</mark>") % text[a:b])
        at = b
    out.append(escape(text[at:end]))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return escape(prefix) + Markup("").join(out) + escape(suffix)
