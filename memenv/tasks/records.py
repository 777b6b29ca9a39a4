"""The records every task source produces: an :class:`Episode` of chunks and its :class:`Question`s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPETENCIES = (
    "accurate_retrieval",
    "test_time_learning",
    "long_range_understanding",
    "conflict_resolution",
)


@dataclass(frozen=True)
class Question:
    """One question asked after the last chunk.

    Attributes:
        question: the text shown to the reader.
        answers: gold answers; several strings are aliases (any one counts), except for the
            ``keyword_hit`` metric where they are the keywords that must all appear.
        metric: name of the metric in :mod:`memenv.metrics` that scores this question.
        category: a finer label for reporting (``single_hop``, ``multi_hop``, ``temporal``, ...).
        hops: how many facts must be chained to answer (the evidence reader chains retrievals).
        metadata: anything source-specific (evidence ids, question type, abstention flag, ...).
        evidence: the text of each stream statement the answer rests on, where the source names them
            (LoCoMo's evidence turns, LongMemEval's ``has_answer`` turns, the generators' fact
            sentences, ...); ``()`` when it does not. :func:`memenv.metrics.evidence_recall` scores
            how much of it a memory kept.
    """

    question: str
    answers: tuple[str, ...]
    metric: str
    category: str = ""
    hops: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Episode:
    """A stream of chunks fed to the memory writer one step at a time, then questions.

    Attributes:
        id: stable identifier (generator name + seed, or the dataset's instance id).
        chunks: the text of each step, in order.
        questions: asked once after the last chunk.
        competency: one of :data:`COMPETENCIES` (or a dataset's own label).
        source: where it came from (``synthetic`` or the dataset's ``data_source``); the
            leaderboard aggregates per source.
        metadata: generator parameters or dataset extras.
    """

    id: str
    chunks: tuple[str, ...]
    questions: tuple[Question, ...]
    competency: str
    source: str = "synthetic"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.chunks:
            raise ValueError(f"episode {self.id!r} has no chunks")
        if not self.questions:
            raise ValueError(f"episode {self.id!r} has no questions")
