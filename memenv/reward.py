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
import re
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
        source = _chunk_words(chunk)
        if source.quotes(write.content):
            # Every word of a quote is a word of the chunk: all of its words are sourced (share 1.0),
            # and no word set is built. The quote is ASCII, so it has a word exactly when \w finds one.
            return 1.0 if _ASCII_WORD_CHAR.search(write.content) and self.min_overlap <= 1.0 else 0.0
        words = _word_set(write.content)
        if not words:
            return 0.0
        # Words found in neither the replaced text nor the chunk. The replaced text goes first: it is
        # often the previous step's rewrite, whose words are cached, and leaves few words to look up in
        # the chunk, which every write of the step shares (see _ChunkWords).
        unsourced = words - _word_set(write.previous) if write.previous else words
        if unsourced:
            unsourced = source.missing(unsourced)
        return 1.0 if (len(words) - len(unsourced)) / len(words) >= self.min_overlap else 0.0


_ASCII_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")


@functools.lru_cache(maxsize=32)
def _word_set(text: str) -> frozenset[str]:
    """The distinct words of a text (those of :func:`memenv.retrieval.tokenize`), cached: a rewritten
    core or paragraph is the replaced text of the next step's rewrite.

    ASCII text is read line by line, each line's words cached: a rewritten core or MEM1 paragraph
    repeats most of its lines. No ``\\w+`` word spans a line break, and ASCII lowercases letter by
    letter, so the union of the lines' words is the text's.
    """
    if not text.isascii():
        return frozenset(tokenize(text))
    if "\n" not in text:
        return _ascii_words(text)
    return frozenset().union(*map(_line_words, text.split("\n")))


# ASCII ``\w`` is [A-Za-z0-9_]: map those bytes to their lowercase and every other byte to a space, and
# ``split()`` gives the words that ``tokenize``'s regex finds, at C speed (~4x faster on a chunk).
_ASCII_WORD_BYTES = bytes(
    byte if chr(byte).isalnum() or byte == ord("_") else ord(" ") for byte in bytes(range(128)).lower()
).ljust(256, b" ")


def _ascii_words(text: str) -> frozenset[str]:
    """``frozenset(tokenize(text))`` for an ASCII ``text``."""
    return frozenset(text.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii").split())


@functools.lru_cache(maxsize=8192)
def _line_words(line: str) -> frozenset[str]:
    return _ascii_words(line)


class _ChunkWords:
    """Which of a write's words a chunk does not hold, for the writes of one step, found cheaply.

    The plain answer builds the chunk's word set, ~30-40 us for a 512-token chunk at every step. Most
    writes need less. For ASCII text (where lowercasing goes letter by letter and ``\\w`` is
    [A-Za-z0-9_]):

    * a write that quotes the chunk (its text occurs in it, not inside a longer word) holds only words
      of the chunk: nothing is looked up (:meth:`quotes`, asked first by the judge for every write);
    * a few words are looked up by substring search: in the chunk made lowercase with every non-word
      character a space, and a space added at each end, a word occurs exactly when ``" word "`` does.

    The searches may scan the chunk :data:`SEARCH_PASSES` times in all (a miss scans it once, a hit up
    to where it is found); past that, and for non-ASCII text, the word set is built once and used, so
    a step never costs much more than the plain way.
    """

    SEARCH_PASSES = 24

    def __init__(self, chunk: str) -> None:
        self.chunk = chunk
        self.words: frozenset[str] | None = None  # built on demand
        self.spaced = ""  # the chunk as described above, or "" when it is not ASCII
        if chunk.isascii():
            self.spaced = f" {chunk.encode('ascii').translate(_ASCII_WORD_BYTES).decode('ascii')} "
        self.budget = self.SEARCH_PASSES * len(self.spaced)  # characters the searches may still scan

    def missing(self, words: frozenset[str]) -> frozenset[str] | set[str]:
        """The words of ``words`` (a write's words) that the chunk does not hold."""
        if self.words is None and self.spaced:
            missing = set()
            for word in words:
                at = self.spaced.find(f" {word} ")
                if at < 0:
                    missing.add(word)
                self.budget -= len(self.spaced) if at < 0 else at
                if self.budget < 0:
                    break
            else:
                return missing
        if self.words is None:
            self.words = _word_set(self.chunk)
        return words - self.words

    def quotes(self, content: str) -> bool:
        """Whether ``content`` (not empty) occurs in the chunk, which is ASCII, with no word character
        joined to either end (False for a non-ASCII chunk: its words are not read letter by letter)."""
        if not self.spaced or not content:
            return False
        start = self.chunk.find(content)
        if start < 0:
            return False
        end = start + len(content)
        # Each end is a word boundary when the content's or the chunk's character there is a non-word one.
        return (start == 0 or self.spaced[start] == " " or not _is_word_char(content[0])) and (
            end == len(self.chunk) or self.spaced[end + 1] == " " or not _is_word_char(content[-1])
        )


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


@functools.lru_cache(maxsize=8)
def _chunk_words(chunk: str) -> _ChunkWords:
    # Keyed on the chunk's text, all that a _ChunkWords depends on: every write of a step shares one.
    return _ChunkWords(chunk)


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
