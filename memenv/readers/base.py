"""What a reader is: it answers a question from a view of memory (:class:`ReaderContext`).

The environment decides what the reader sees (Mem-α: the full core plus the BM25 top-20 entries of
each list tier, with the question as query); the reader only turns that view into an answer string,
which :func:`memenv.metrics.score` then scores with the question's metric. Keeping the two apart is
what lets every system (memories, baselines) share one reader and one metric.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from memenv.tasks.records import Question


@dataclass(frozen=True)
class Passage:
    """One retrieved piece of memory: its ``text`` and where it came from.

    ``source`` is ``"core"``, ``"semantic"``, ``"episodic"`` (memory tiers) or ``"chunk"`` (raw stream,
    for retrieval baselines); ``id`` is the memory entry's id (or the chunk's index). Readers may
    ignore both; reports use them to say which entries the reader was given.
    """

    text: str
    source: str = ""
    id: str = ""

    @property
    def ref(self) -> str:
        """``"<source>:<id>"`` (or whichever of the two is set): how reports name this passage."""
        return ":".join(part for part in (self.source, self.id) if part)


@dataclass(frozen=True)
class ReaderContext:
    """Everything a reader may use for one question.

    Attributes:
        core: the core memory, in full (may be empty).
        passages: retrieved passages in retrieval order, best first.
    """

    core: str
    passages: tuple[Passage, ...] = ()


class Reader(ABC):
    """Answers questions from a :class:`ReaderContext`.

    Subclasses set :attr:`name` (shown in reports) and implement :meth:`answer`; a reader backed by a
    batched model overrides :meth:`answer_batch` as well.
    """

    name: str = "reader"

    @abstractmethod
    def answer(self, question: Question, context: ReaderContext) -> str:
        """The answer text for ``question`` given ``context`` (``""`` when there is nothing to say)."""

    def answer_batch(self, questions: Sequence[Question], contexts: Sequence[ReaderContext]) -> list[str]:
        """Answers for aligned lists of questions and contexts (by default one :meth:`answer` each)."""
        if len(questions) != len(contexts):
            raise ValueError(f"got {len(questions)} questions but {len(contexts)} contexts; they must align")
        return [self.answer(q, c) for q, c in zip(questions, contexts, strict=True)]
