"""Deterministic synthetic episodes for the four competencies, from a few K to millions of tokens.

:func:`generate` builds one :class:`~memenv.tasks.records.Episode` from ``(competency, seed,
context_tokens, chunk_tokens, num_questions)``; the same arguments always give the same episode, in any
process (every random draw comes from a :class:`random.Random` seeded with a string, never from the
global RNG or from ``hash()``). :func:`generate_suite` makes several episodes per competency.

The world is procedural: people (first x last names, 6,000+ combinations), places, organisations,
objects and four-digit codes. The stream is prose: the few facts that questions ask about are mixed
into distractor facts of the same shape about other entities and into filler narrative, so most of
the stream is never asked about and a memory must keep the right sentences, not just some sentences.
Every asked fact is stated in one sentence, and no gold answer is a substring of another value of the
same attribute (the value pools are substring-free; SubEM asks "is the gold inside the prediction").

Two versions (``suite=``), chosen per call; the default is ``"v0"`` and never changes what it makes:

* ``v0`` (:mod:`memenv.tasks.synthetic.v0`) — the first generators, described below; every fact is
  stated in one self-contained sentence, so storing everything answers most questions.
* ``v1`` (:mod:`memenv.tasks.synthetic.v1`) — the same world with the phenomena that make real data
  hard, each a ``Question.category``: coreference, facts split over sentences, three-hop chains,
  relative dates under dated session headers, set answers and unanswerable questions (accurate
  retrieval); out-of-order, indirect, look-alike and withdrawn updates and history questions (conflict
  resolution); rare classes with overlapping vocabularies and announced relabelling (test-time
  learning); the order and the causes of events (long-range understanding). v1 episodes carry the
  oracle writer's ground truth (``metadata["oracle_notes"]``, see :mod:`baselines.oracle`), are
  ids ``<competency>-v1-<seed>-<context_tokens>`` and write one sentence per line. The envs
  ``MemAlpha-v1``, ``MEM1-v1`` and ``MemoryR1-v1`` draw from it.

Suite v0's competencies (``Question.metric`` / ``Question.category``):

* ``accurate_retrieval`` (``subem``; ``single_hop`` / ``multi_hop``): about 70 % single facts
  ("The access code of the Copper Gate is 4821." -> "What is the access code of the Copper Gate?")
  and 30 % two-hop chains whose two sentences sit in different halves of the stream ("Mira Okafor
  guards the Copper Gate." ... "The access code of the Copper Gate is 4821." -> "What is the access
  code of the gate that Mira Okafor guards?", ``hops=2``). About 4 distractor facts per 1K tokens.
* ``conflict_resolution`` (``subem``; ``conflict``): each asked fact takes 2-4 values over the
  stream in an identical sentence ("Mira Okafor lives in Calder Heights." ... "Mira Okafor lives in
  Port Senna."); the last value is new (never A -> B -> A) and is the gold answer. A preamble in the
  first chunk says that later statements override earlier ones. ``Question.metadata`` holds
  ``first_value``, ``outdated`` (all earlier values, in order) and ``statements`` (every sentence).
* ``test_time_learning`` (``boxed_label_em``; ``classification``): 6-10 topics, each with its own
  vocabulary and an arbitrary label (distinct random integers 0-99); the stream is one example per
  line, ``Input: <sentence> Label: <n>``; questions are new sentences of a topic: "Input: ...\\nWhich
  label does this input get? Answer as \\boxed{label}."
* ``long_range_understanding`` (``keyword_hit``; ``summary``): a story over the whole stream with
  3-4 main characters who recur throughout and 6-8 named events in order ("the Saltmarsh flood");
  up to three questions (summary, events, characters) whose answers are the keywords.

In both suites, questions depend only on ``(competency, seed, num_questions)``; the stream around them
also depends on ``context_tokens`` and ``chunk_tokens``. So the same seed asks the same questions at 8K and at 1M
tokens, with more distractors: a length-scaling curve compares like with like.

>>> episode = generate("accurate_retrieval", seed=0, context_tokens=4096)
>>> episode.id, len(episode.chunks) >= 8, episode.questions[0].metric
('accurate_retrieval-0-4096', True, 'subem')
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from memenv.tasks.chunking import pack
from memenv.tasks.records import COMPETENCIES, Episode
from memenv.tasks.synthetic import v0, v1
from memenv.tasks.synthetic.stream import _count, _fill, _weave

# Re-exported: the v0 vocabulary, as the single module offered it before the package split.
from memenv.tasks.synthetic.v0 import CONFLICT_PREAMBLE  # noqa: F401
from memenv.tasks.synthetic.v1.common import HEADER_SHARE, add_sessions, oracle_notes
from memenv.tasks.synthetic.vocabulary import (  # noqa: F401
    EVENT_ROOTS,
    FIRST_NAMES,
    LAST_NAMES,
    MATERIALS,
    OBJECT_KINDS,
    ORG_KINDS,
    ORG_ROOTS,
    PLACE_ROOTS,
    TOPICS,
    _objects,
    _orgs,
    _people,
    _places,
)

__all__ = ["MAX_QUESTIONS", "MIN_CHUNK_TOKENS", "SUITES", "generate", "generate_suite"]

MIN_CHUNK_TOKENS = 64
"""Smallest ``chunk_tokens``: every generated sentence (and example line) fits in one chunk."""

MAX_QUESTIONS = 100
"""Largest ``num_questions``: asked entities are reserved from finite pools."""

SUITES = ("v0", "v1")
"""The generator versions: ``v0`` (the default, unchanged since published) and ``v1``."""


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int ({expected}), got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value


def generate(
    competency: str,
    *,
    seed: int,
    context_tokens: int = 8192,
    chunk_tokens: int = 512,
    num_questions: int = 10,
    suite: str = "v0",
) -> Episode:
    """One synthetic episode (see the module docstring for what each competency holds).

    Args:
        competency: one of :data:`~memenv.tasks.records.COMPETENCIES`.
        seed: any int; same arguments -> identical episode.
        context_tokens: target length of the stream in o200k_base tokens (the result lands within a
            sentence of it; a few percent over at most for tiny contexts). Must be >= ``chunk_tokens``.
        chunk_tokens: token budget per chunk (one env step), >= :data:`MIN_CHUNK_TOKENS`. Sentences
            are packed greedily and never split; no chunk exceeds the budget.
        num_questions: questions to ask, 1 to :data:`MAX_QUESTIONS`; ``long_range_understanding``
            asks at most 3 (summary, events, characters) in v0 and at most 3 plus the events' order
            and causes in v1. v1 reserves more entities per question, so a large ``num_questions``
            can exhaust a pool sooner (a ValueError says which).
        suite: ``"v0"`` (default) or ``"v1"`` (see the module docstring).

    Returns:
        An :class:`Episode` with id ``f"{competency}-{seed}-{context_tokens}"`` (v1:
        ``f"{competency}-v1-{seed}-{context_tokens}"``), ``source="synthetic"`` and the generator's
        parameters in ``metadata`` (v1 adds ``suite`` and ``oracle_notes``). Every question's
        ``evidence`` holds the stream statements its answer rests on: the fact sentence(s) (accurate
        retrieval; the same tuple is in ``metadata["evidence"]``), the statement of the current value
        (conflict resolution), the stream's examples of the asked class (test-time learning), the
        sentences that introduce the events (long-range understanding); v1's modules say what each
        of its categories holds (``()`` for an unanswerable question).

    Raises:
        ValueError: an argument is unknown or out of range (the message names it and what is expected),
            or ``context_tokens`` is too small to state the asked facts.
    """
    if competency not in v0.BUILDERS:
        raise ValueError(f"competency must be one of {', '.join(COMPETENCIES)}; got {competency!r}")
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(SUITES)}; got {suite!r}")
    _check_int("seed", seed, -(2**63), "any integer")
    _check_int("chunk_tokens", chunk_tokens, MIN_CHUNK_TOKENS, f">= {MIN_CHUNK_TOKENS}")
    _check_int("context_tokens", context_tokens, chunk_tokens, f">= chunk_tokens ({chunk_tokens})")
    _check_int("num_questions", num_questions, 1, f"between 1 and {MAX_QUESTIONS}")
    if num_questions > MAX_QUESTIONS:
        raise ValueError(f"num_questions must be between 1 and {MAX_QUESTIONS}, got {num_questions}")

    if suite == "v1":
        return _generate_v1(competency, seed, context_tokens, chunk_tokens, num_questions)

    # Questions come from their own RNG so that they do not depend on the stream length.
    world = random.Random(f"memenv.synthetic/{competency}/{seed}/questions/{num_questions}")
    stream = random.Random(f"memenv.synthetic/{competency}/{seed}/stream/{context_tokens}/{chunk_tokens}")
    plan = v0.BUILDERS[competency](world, stream, context_tokens, num_questions)

    fixed = plan.header + [sentence for _, sentence in plan.placed]
    used = sum(_count(fixed, plan.separator))
    if used > context_tokens:
        raise ValueError(
            f"context_tokens={context_tokens} is too small for {num_questions} questions of {competency}: "
            f"the sentences they need (facts, story events) take {used} tokens; raise context_tokens "
            "or lower num_questions"
        )
    filler = _fill(plan.filler, stream, context_tokens - used, plan.separator) if plan.filler else []
    pieces = plan.header + _weave(plan.placed, filler)
    questions = plan.questions
    if competency == "test_time_learning":
        questions = v0._with_class_examples(questions, pieces)
    chunks = pack(pieces, chunk_tokens, separator=plan.separator)
    metadata = {
        "generator": "memenv.tasks.synthetic",
        "competency": competency,
        "seed": seed,
        "context_tokens": context_tokens,
        "chunk_tokens": chunk_tokens,
        "num_questions": len(plan.questions),
        **plan.metadata,
    }
    return Episode(
        id=f"{competency}-{seed}-{context_tokens}",
        chunks=tuple(chunks),
        questions=tuple(questions),
        competency=competency,
        source="synthetic",
        metadata=metadata,
    )


def _generate_v1(competency: str, seed: int, context_tokens: int, chunk_tokens: int, num_questions: int) -> Episode:
    """Suite v1 (see :mod:`memenv.tasks.synthetic.v1`): v0's steps plus sessions, relabelling and oracle notes."""
    world = random.Random(f"memenv.synthetic.v1/{competency}/{seed}/questions/{num_questions}")
    stream = random.Random(f"memenv.synthetic.v1/{competency}/{seed}/stream/{context_tokens}/{chunk_tokens}")
    plan = v1.BUILDERS[competency](world, stream, context_tokens, num_questions)

    # In prose a newline merges with the sentence end before it into one token (".\n"): lines count without it.
    counted = "" if plan.prose and plan.separator == "\n" else plan.separator
    fixed = plan.header + [sentence for _, sentence in plan.placed]
    used = sum(_count(fixed, counted))
    if used > context_tokens:
        raise ValueError(
            f"context_tokens={context_tokens} is too small for {num_questions} questions of {competency} (suite "
            f"v1): the sentences they need take {used} tokens; raise context_tokens or lower num_questions"
        )
    budget = context_tokens - used
    if plan.sessions:
        budget = round(budget * (1 - HEADER_SHARE))
    filler = _fill(plan.filler, stream, budget, counted) if plan.filler else []
    body = _weave(plan.placed, filler)
    if plan.finish is not None:
        body = plan.finish(body)
    questions, slots = list(plan.questions), list(plan.slots)
    if plan.complete is not None:
        questions, more = plan.complete(body)
        slots += more
    if plan.sessions:
        body = add_sessions(body, stream, plan.start, plan.dated, plan.flashbacks)
    pieces = plan.header + body
    chunks = pack(pieces, chunk_tokens, separator=plan.separator)
    metadata = {
        "generator": "memenv.tasks.synthetic",
        "suite": "v1",
        "competency": competency,
        "seed": seed,
        "context_tokens": context_tokens,
        "chunk_tokens": chunk_tokens,
        "num_questions": len(questions),
        **plan.metadata,
        "oracle_notes": oracle_notes(slots, pieces),
    }
    return Episode(
        id=f"{competency}-v1-{seed}-{context_tokens}",
        chunks=tuple(chunks),
        questions=tuple(questions),
        competency=competency,
        source="synthetic",
        metadata=metadata,
    )


def generate_suite(
    competencies: Sequence[str] | str, *, episodes: int, seed: int, suite: str = "v0", **kwargs: int
) -> list[Episode]:
    """``episodes`` episodes per competency, competency by competency, with seeds ``seed .. seed+episodes-1``.

    ``suite`` and ``kwargs`` (``context_tokens``, ``chunk_tokens``, ``num_questions``) go to
    :func:`generate`. A single competency name is accepted in place of a list.
    """
    if isinstance(competencies, str):
        competencies = (competencies,)
    if not competencies:
        raise ValueError(f"competencies must name at least one of {', '.join(COMPETENCIES)}")
    _check_int("episodes", episodes, 1, ">= 1")
    _check_int("seed", seed, -(2**63), "any integer")
    return [generate(c, seed=seed + i, suite=suite, **kwargs) for c in competencies for i in range(episodes)]
