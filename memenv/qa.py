"""Answering the questions: what the reader sees, what it answers, and how that is scored.

Every system goes through :func:`answer_questions` — the environments with their memory, and the
memory-free reference baselines with their own view of the raw stream — so that only the memory
differs between systems, never the reader or the metric. The scoring profile (``scoring=``, see
:mod:`memenv.metrics` and docs/scoring.md) says which evaluation protocol scores the answers; by
default each question is scored as its own benchmark's code scores it. :func:`rescore` re-scores a
report's answers under another protocol without asking the reader again.

Besides the reader's score, every question gets two reader-free numbers computed on exactly the
context the reader was given (:func:`memenv.metrics.answer_recall`,
:func:`memenv.metrics.evidence_recall`): they say whether the memory *held* the answer, whatever a
reader makes of it, and bound any reader from above.
"""

from __future__ import annotations

import dataclasses
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
        accuracy: mean reader score over the scored questions; a question the scoring profile leaves
            out (Mem0's protocol skips LoCoMo's adversarial category) has ``score`` None and does not
            count; 0.0 when no question is scored.
        per_question: one row per question: ``question``, ``answers``, ``prediction``, ``metric``,
            ``category`` (as the scoring profile names it), ``score``, ``scoring`` (the name of the
            rule that scored it), ``extra_scores`` (only where the protocol reports more than one
            number, e.g. Mem0's BLEU-1), ``judge`` (only where a judge model was asked:
            ``{"verdict": bool, "reply": str | None}``), ``answer_recall``, ``evidence_recall`` (None without
            evidence) and ``context_ids`` (the passages the reader was given: ``"core"``,
            ``"<tier>:<id>"``, ``"chunk:<index>"``).
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


def answer_questions(
    questions: Sequence[Question],
    context: ContextFn,
    reader: Reader,
    *,
    scoring: str = "default",
    judge: metrics.Judge | metrics.JudgeModel | None = None,
) -> QAReport:
    """Ask every question through ``reader``, score it under the ``scoring`` profile, and measure recall.

    ``scoring`` is a name in :data:`memenv.metrics.SCORING_PROFILES`; ``"default"`` scores each
    question as its own benchmark's evaluation code does. ``judge`` serves LLM-judged questions (an
    offline stand-in without it).
    """
    if not questions:
        raise ValueError("answer_questions needs at least one question")
    metrics.check_profile(scoring)
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
        row = {"question": q.question, "answers": list(q.answers), "prediction": prediction, "metric": q.metric}
        row |= _scored(q, prediction, scoring, judge)
        row["answer_recall"] = metrics.answer_recall(q.answers, seen, pooled=q.metric == "keyword_hit")
        row["evidence_recall"] = metrics.evidence_recall(q.evidence, seen)
        row["context_ids"] = context_ids(ctx)
        rows.append(row)
    with_evidence = [r["evidence_recall"] for r in rows if r["evidence_recall"] is not None]
    return QAReport(
        accuracy=_accuracy(rows),
        per_question=tuple(rows),
        answer_recall=math.fsum(r["answer_recall"] for r in rows) / len(rows),
        evidence_recall=math.fsum(with_evidence) / len(with_evidence) if with_evidence else None,
        evidence_left_out=len(rows) - len(with_evidence),
    )


class _RecordingJudgeModel:
    """A :class:`memenv.metrics.JudgeModel` that keeps the replies of the model it wraps."""

    def __init__(self, judge: metrics.JudgeModel) -> None:
        self.judge = judge
        self.replies: list[str | None] = []

    def complete(self, prompt: str, max_new_tokens: int | None = None) -> str:
        reply = self.judge.complete(prompt, max_new_tokens)
        self.replies.append(reply)
        return reply


class _RecordingJudge:
    """A plain :data:`memenv.metrics.Judge` callable that notes each call (it has no reply text)."""

    def __init__(self, judge: metrics.Judge) -> None:
        self.judge = judge
        self.replies: list[str | None] = []

    def __call__(self, question: str, answers: tuple[str, ...], prediction: str) -> bool:
        verdict = bool(self.judge(question, answers, prediction))
        self.replies.append(None)
        return verdict


def _verdict(question: Question, scoring: str, result: metrics.QuestionScore) -> bool | None:
    """Whether the judge accepted the answer: the score of the profile's judged rule (the main one, else
    the first judged extra such as Mem0's ``llm_judge``)."""
    rule = metrics.rule_for(question, scoring)
    if rule.metric == "llm_judge":
        return None if result.score is None else result.score == 1.0
    for name, extra in rule.extras:
        if extra.metric == "llm_judge" and name in result.extras:
            return result.extras[name] == 1.0
    return None


def _scored(
    question: Question, prediction: str, scoring: str, judge: metrics.Judge | metrics.JudgeModel | None
) -> dict[str, Any]:
    """The score fields of a report row: ``category``, ``score``, ``scoring``, maybe ``extra_scores``,
    and ``judge`` (``{"verdict": bool, "reply": str | None}``) when a judge was asked about this answer."""
    recorder: _RecordingJudgeModel | _RecordingJudge | None = None
    if judge is not None:  # tested first: isinstance against the runtime-checkable protocol costs ~20 us
        recorder = _RecordingJudgeModel(judge) if isinstance(judge, metrics.JudgeModel) else _RecordingJudge(judge)
    result = metrics.score_question(question, prediction, profile=scoring, judge=recorder)
    fields: dict[str, Any] = {"category": result.category, "score": result.score, "scoring": result.rule}
    if result.extras:
        fields["extra_scores"] = dict(result.extras)
    if recorder is not None and recorder.replies:
        fields["judge"] = {"verdict": _verdict(question, scoring, result), "reply": recorder.replies[-1]}
    return fields


def _accuracy(rows: Sequence[dict[str, Any]]) -> float:
    scored = [row["score"] for row in rows if row["score"] is not None]
    return math.fsum(scored) / len(scored) if scored else 0.0


def rescore(
    report: QAReport,
    questions: Sequence[Question],
    *,
    scoring: str,
    judge: metrics.Judge | metrics.JudgeModel | None = None,
) -> QAReport:
    """``report`` with the same answers scored under the ``scoring`` profile (the reader is not asked again).

    ``questions`` are the report's questions, in its row order. The recall fields, which do not
    depend on the protocol, are kept.
    """
    metrics.check_profile(scoring)
    if len(questions) != len(report.per_question):
        raise ValueError(f"got {len(questions)} questions for a report of {len(report.per_question)} rows")
    rows = []
    for question, row in zip(questions, report.per_question, strict=True):
        row = {key: value for key, value in row.items() if key not in ("extra_scores", "judge")}
        rows.append(row | _scored(question, row["prediction"], scoring, judge))
    return dataclasses.replace(report, accuracy=_accuracy(rows), per_question=tuple(rows))
