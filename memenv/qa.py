"""Answering the questions: what the reader sees, what it answers, and how that is scored.

Every system goes through :func:`answer_questions` — the environments with their memory, and the
memory-free reference baselines with their own view of the raw stream — so that only the memory
differs between systems, never the reader or the metric.

Besides the reader's score, every question gets two reader-free numbers computed on exactly the
context the reader was given (:func:`memenv.metrics.answer_recall`,
:func:`memenv.metrics.evidence_recall`): they say whether the memory *held* the answer, whatever a
reader makes of it, and bound any reader from above.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from memenv import metrics
from memenv.memory import LIST_TIERS, Memory
from memenv.readers import Passage, Reader, ReaderContext
from memenv.retrieval import BM25Index
from memenv.tasks.records import Question

ContextFn = Callable[[Question], ReaderContext]

QA_SIGNALS = ("reader", "answer_recall", "evidence_recall")
"""What r1 is: the reader's mean score (Mem-α), or a reader-free recall (trains without any LLM)."""


@dataclass(frozen=True)
class QAReport:
    """Terminal question-answering results.

    Attributes:
        accuracy: mean reader score over the questions.
        per_question: one row per question: ``question``, ``answers``, ``prediction``, ``metric``,
            ``category``, ``score``, ``answer_recall``, ``evidence_recall`` (None without evidence) and
            ``context_ids`` (the passages the reader was given: ``"core"``, ``"<tier>:<id>"``,
            ``"chunk:<index>"``).
        answer_recall: mean ``answer_recall`` over the questions.
        evidence_recall: mean ``evidence_recall`` over the questions that have evidence (None if none).
        evidence_left_out: how many questions had no evidence and were left out of that mean.
    """

    accuracy: float
    per_question: tuple[dict[str, Any], ...]
    answer_recall: float = 0.0
    evidence_recall: float | None = None
    evidence_left_out: int = 0

    def signal(self, name: str) -> float:
        """The terminal QA signal named ``name`` (one of :data:`QA_SIGNALS`): r1 of the reward."""
        if name == "reader":
            return self.accuracy
        if name == "answer_recall":
            return self.answer_recall
        if name == "evidence_recall":
            if self.evidence_recall is None:
                raise ValueError("evidence_recall is undefined: no question of this episode names its evidence")
            return self.evidence_recall
        raise ValueError(f"qa signal must be one of {QA_SIGNALS}, got {name!r}")

    def as_info(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "answer_recall": self.answer_recall,
            "evidence_recall": self.evidence_recall,
            "evidence_left_out": self.evidence_left_out,
            "per_question": [dict(row, context_ids=list(row["context_ids"])) for row in self.per_question],
        }

    @classmethod
    def from_info(cls, qa: dict[str, Any]) -> QAReport:
        """The report back from :meth:`as_info`'s dictionary."""
        return cls(
            qa["accuracy"],
            tuple(qa["per_question"]),
            qa["answer_recall"],
            qa["evidence_recall"],
            qa["evidence_left_out"],
        )


def memory_context(memory: Memory, top_k: int = 20) -> ContextFn:
    """What a Mem-α reader sees: the full core plus the BM25 top-``top_k`` entries of each list tier.

    The tiers are indexed once, then queried per question. Passages come tier by tier, best first.
    """
    entries = {tier: memory.entries(tier) for tier in LIST_TIERS}
    indexes = {tier: BM25Index.from_texts([e.text for e in entries[tier]]) for tier in LIST_TIERS}

    def context(question: Question) -> ReaderContext:
        passages = [
            Passage(entries[tier][i].text, tier, entries[tier][i].id)
            for tier in LIST_TIERS
            for i, _ in indexes[tier].search(question.question, top_k)
        ]
        return ReaderContext(memory.core, tuple(passages))

    return context


def context_ids(context: ReaderContext) -> list[str]:
    """How a report names what the reader was given: ``"core"`` (when not empty), then each passage."""
    return (["core"] if context.core.strip() else []) + [p.ref for p in context.passages]


def answer_questions(questions: Sequence[Question], context: ContextFn, reader: Reader) -> QAReport:
    """Ask every question through ``reader``, score it with the question's metric, and measure recall."""
    if not questions:
        raise ValueError("answer_questions needs at least one question")
    contexts = [context(q) for q in questions]
    predictions = reader.answer_batch(list(questions), contexts)
    tokens: dict[str, frozenset[str]] = {}  # contexts share passages: tokenize each text once

    def context_tokens(ctx: ReaderContext) -> frozenset[str]:
        sets = []
        for text in (ctx.core, *(p.text for p in ctx.passages)):
            if text not in tokens:
                tokens[text] = metrics.recall_tokens(text)
            sets.append(tokens[text])
        return frozenset().union(*sets)

    rows = []
    for q, ctx, prediction in zip(questions, contexts, predictions, strict=True):
        seen = context_tokens(ctx)
        rows.append(
            {
                "question": q.question,
                "answers": list(q.answers),
                "prediction": prediction,
                "metric": q.metric,
                "category": q.category,
                "score": metrics.score(q.metric, prediction, q.answers, question=q.question),
                "answer_recall": metrics.answer_recall(q.answers, seen, pooled=q.metric == "keyword_hit"),
                "evidence_recall": metrics.evidence_recall(q.evidence, seen),
                "context_ids": context_ids(ctx),
            }
        )
    with_evidence = [r["evidence_recall"] for r in rows if r["evidence_recall"] is not None]
    return QAReport(
        accuracy=sum(r["score"] for r in rows) / len(rows),
        per_question=tuple(rows),
        answer_recall=math.fsum(r["answer_recall"] for r in rows) / len(rows),
        evidence_recall=math.fsum(with_evidence) / len(with_evidence) if with_evidence else None,
        evidence_left_out=len(rows) - len(with_evidence),
    )
