"""Ranked retrieval over the notices: segmentation with the domain's lexicon and synonyms (analyzer.py),
BM25F over the notices and BM25 over their paragraphs (index.py), snippets (snippet.py)."""

from notices.retrieval.analyzer import Analyzer, Token
from notices.retrieval.index import Engine, Result
from notices.retrieval.lexicon import Lexicon, LexiconError, from_data

__all__ = ["Analyzer", "Engine", "Lexicon", "LexiconError", "Result", "Token", "from_data"]
