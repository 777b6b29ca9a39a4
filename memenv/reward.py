"""Mem-α's reward, every part reported separately.

At step t:  r_t = r1 + r2,t + β·r3 + γ·r4,t  (Mem-α: β = 0.05, γ = 0.1), where

* r1 (terminal) — mean question score from the final memory;
* r2,t — share of the step's tool calls that executed (0 when the step made no call);
* r3 (terminal) — compression, 1 − memory_tokens / chunk_tokens (negative when memory outgrows the stream);
* r4,t — share of the step's executed memory operations judged valid (deletes score 0, as in Mem-α).

Non-terminal steps carry r1 = r3 = 0. Trainers that want per-step credit read the parts from
``info["reward_components"]``; the scalar reward is their weighted sum.

Mem-α's r4 judge was an LLM. The default here, :class:`GroundingJudge`, is a documented rule: a write is
valid when at least ``min_overlap`` of its distinct words occur in the current chunk or in the text it
replaces, i.e. the memory is built from what the agent read rather than invented. Any callable with the
:class:`ContentJudge` signature can replace it (an LLM judge included).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from memenv.retrieval import tokenize
from memenv.tools import ToolResult

BETA = 0.05
GAMMA = 0.1


@dataclass(frozen=True)
class Write:
    """One executed memory operation, as the content judge sees it."""

    tool: str
    tier: str
    content: str  # new text ("" for deletes)
    previous: str  # text it replaced ("" for inserts)


class ContentJudge(Protocol):
    def __call__(self, write: Write, chunk: str) -> float:
        """Score in [0, 1] for one executed operation given the chunk read at that step."""
        ...


@dataclass(frozen=True)
class GroundingJudge:
    """Rule-based r4: a write is valid (1.0) when it is grounded in the chunk, else 0.0; deletes score 0."""

    min_overlap: float = 0.5
    delete_score: float = 0.0

    def __call__(self, write: Write, chunk: str) -> float:
        if write.tool == "memory_delete":
            return self.delete_score
        words = _word_set(write.content)
        if not words:
            return 0.0
        # Words found in neither the chunk nor the replaced text; the chunk's word set is shared by
        # every write of a step, and the replaced text is read only when something is left.
        unsourced = words - _word_set(chunk)
        if unsourced and write.previous:
            unsourced -= _word_set(write.previous)
        return 1.0 if (len(words) - len(unsourced)) / len(words) >= self.min_overlap else 0.0


@functools.lru_cache(maxsize=32)
def _word_set(text: str) -> frozenset[str]:
    """The distinct words of a text, cached: a step judges all its writes against the same chunk, and
    a rewritten core or paragraph is the replaced text of the next step's rewrite."""
    return frozenset(tokenize(text))


def tool_call_reward(results: Sequence[ToolResult]) -> float:
    """r2: executed calls / calls made (0.0 when no call was made)."""
    return sum(r.ok for r in results) / len(results) if results else 0.0


def compression_reward(memory_tokens: int, chunk_tokens: int) -> float:
    """r3: 1 − memory_tokens / chunk_tokens."""
    if chunk_tokens <= 0:
        raise ValueError(f"chunk_tokens must be positive, got {chunk_tokens}")
    return 1.0 - memory_tokens / chunk_tokens


def content_reward(writes: Sequence[Write], chunk: str, judge: ContentJudge) -> float:
    """r4: mean judge score over the step's executed operations (0.0 when there were none)."""
    return sum(judge(w, chunk) for w in writes) / len(writes) if writes else 0.0


COMPONENTS = ("r1_qa", "r2_tool_call", "r3_compression", "r4_content")
"""The reward parts of every step, as named in the env's ``info["reward_components"]``."""

TERMINAL_COMPONENTS = frozenset({"r1_qa", "r3_compression"})
"""The parts given at the last step only (``0`` before it); adapters report their last-step value."""


def total_reward(components: dict[str, float], beta: float = BETA, gamma: float = GAMMA) -> float:
    return (
        components["r1_qa"]
        + components["r2_tool_call"]
        + beta * components["r3_compression"]
        + gamma * components["r4_content"]
    )
