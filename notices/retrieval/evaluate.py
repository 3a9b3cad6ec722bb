"""Measuring the retrieval on a set of questions, each with the notice that answers it: top-1 and top-3 accuracy
and the questions it misses (`flask notices evaluate`, tests/test_retrieval_eval.py)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class Searchable(Protocol):
    def search(self, query: str, limit: int = 50, min_confidence: float | None = None) -> list: ...


@dataclass(frozen=True)
class Question:
    """A question as a consumer typed it, and the slug of the notice that answers it."""

    text: str
    answer: str


@dataclass
class Report:
    """How many questions had their notice first, or among the first three; the others with what came instead."""

    total: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[tuple[Question, list[str]]] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.total if self.total else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.total if self.total else 0.0

    def lines(self) -> list[str]:
        """The figures and each miss (the expected notice, then what the engine ranked first)."""
        figures = f"top-1 {self.top1_rate:.1%} ({self.top1}), top-3 {self.top3_rate:.1%} ({self.top3})"
        out = [f"{self.total} questions: {figures}"]
        for question, found in self.misses:
            where = f"#{found.index(question.answer) + 1}" if question.answer in found else "not in the top 3"
            out.append(f"  {where}: {question.text}  -> expected {question.answer}, got {', '.join(found) or '-'}")
        return out


def read_questions(path: Path) -> list[Question]:
    """The [[q]] tables (text, answer) of a questions file."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    return [Question(q["text"], q["answer"]) for q in data.get("q", [])]


def evaluate(store: Searchable, questions: list[Question]) -> Report:
    """Ask every question; a question counts when its notice is first (top-1) or among the first three (top-3)
    of the ranking (the confidence that decides whether the bot answers is another matter: `flask notices ask`)."""
    report = Report(total=len(questions))
    for question in questions:
        found = [hit.notice.slug for hit in store.search(question.text, limit=3, min_confidence=0.0)]
        report.top1 += bool(found) and found[0] == question.answer
        report.top3 += question.answer in found
        if not found or found[0] != question.answer:
            report.misses.append((question, found))
    return report
