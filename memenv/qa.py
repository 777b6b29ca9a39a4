"""Answering the questions: what the reader sees, what it answers, and how that is scored.

Every system goes through :func:`answer_questions` — the environments with their memory, and the
memory-free reference baselines with their own view of the raw stream — so that only the memory
differs between systems, never the reader or the metric.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from memenv import metrics
from memenv.memory import LIST_TIERS, Memory
from memenv.readers import Passage, Reader, ReaderContext
from memenv.retrieval import BM25Index
from memenv.tasks.records import Question

ContextFn = Callable[[Question], ReaderContext]


@dataclass(frozen=True)
class QAReport:
    """Terminal question-answering results: ``accuracy`` (mean score, r1) and one row per question."""

    accuracy: float
    per_question: tuple[dict[str, Any], ...]

    def as_info(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "per_question": [dict(row) for row in self.per_question]}


def memory_context(memory: Memory, top_k: int = 20) -> ContextFn:
    """What a Mem-α reader sees: the full core plus the BM25 top-``top_k`` entries of each list tier.

    The tiers are indexed once, then queried per question. Passages come tier by tier, best first.
    """
    texts = {tier: [e.text for e in memory.entries(tier)] for tier in LIST_TIERS}
    indexes = {tier: BM25Index.from_texts(texts[tier]) for tier in LIST_TIERS}

    def context(question: Question) -> ReaderContext:
        passages = [
            Passage(texts[tier][i], tier)
            for tier in LIST_TIERS
            for i, _ in indexes[tier].search(question.question, top_k)
        ]
        return ReaderContext(memory.core, tuple(passages))

    return context


def answer_questions(questions: Sequence[Question], context: ContextFn, reader: Reader) -> QAReport:
    """Ask every question through ``reader`` and score it with the question's metric."""
    if not questions:
        raise ValueError("answer_questions needs at least one question")
    contexts = [context(q) for q in questions]
    predictions = reader.answer_batch(list(questions), contexts)
    rows = []
    for q, prediction in zip(questions, predictions, strict=True):
        value = metrics.score(q.metric, prediction, q.answers, question=q.question)
        rows.append(
            {
                "question": q.question,
                "answers": list(q.answers),
                "prediction": prediction,
                "metric": q.metric,
                "category": q.category,
                "score": value,
            }
        )
    return QAReport(sum(r["score"] for r in rows) / len(rows), tuple(rows))
