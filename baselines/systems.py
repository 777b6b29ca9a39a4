"""The systems on the leaderboard.

Two memory-free references read the raw stream directly:

* ``long-context`` — the reader sees the last ``window_tokens`` tokens of the stream (Mem-α: 30K).
* ``rag-top-k`` — every chunk is kept and BM25 picks the top ``k`` chunks per question (Mem-α: k=2).

Memory-writing systems are policies acting in a registered environment through ``reset``/``step``:

* ``store-all`` — inserts every chunk verbatim into episodic memory (the largest memory a Mem-α
  writer can build; what retrieval alone achieves on it).
* ``no-memory`` — writes nothing (the floor: what the reader gets from an empty memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym

from memenv import tokenizer
from memenv.parsing import render_tool_calls
from memenv.qa import QAReport, answer_questions
from memenv.readers import Passage, Reader, ReaderContext
from memenv.retrieval import BM25Index
from memenv.tasks.records import Episode, Question


@dataclass(frozen=True)
class RunResult:
    """One system on one episode."""

    accuracy: float
    memory_tokens: int
    stream_tokens: int
    seconds: float
    qa: QAReport


class System(Protocol):
    name: str

    def run(self, episode: Episode, reader: Reader) -> RunResult: ...


def _stream_tokens(episode: Episode) -> int:
    return sum(tokenizer.count_tokens_batch(episode.chunks))


@dataclass
class LongContext:
    """The reader sees the last ``window_tokens`` tokens of the raw stream, in order."""

    window_tokens: int = 30_000
    name: str = "long-context"

    def run(self, episode: Episode, reader: Reader) -> RunResult:
        start = time.perf_counter()
        counts = tokenizer.count_tokens_batch(episode.chunks)
        window: list[str] = []
        room = self.window_tokens
        for chunk, n in zip(reversed(episode.chunks), reversed(counts), strict=True):
            if room <= 0:
                break
            if n > room:  # keep the tail of the chunk that straddles the window's start
                chunk = tokenizer.decode(tokenizer.encode(chunk)[-room:])
                n = room
            window.append(chunk)
            room -= n
        context = ReaderContext("", tuple(Passage(c, "chunk") for c in reversed(window)))
        qa = answer_questions(episode.questions, lambda _q: context, reader)
        used = self.window_tokens - room
        return RunResult(qa.accuracy, used, sum(counts), time.perf_counter() - start, qa)


@dataclass
class RagTopK:
    """Every chunk is kept; BM25 retrieves the top ``k`` chunks for each question."""

    k: int = 2
    name: str = "rag-top-k"

    def run(self, episode: Episode, reader: Reader) -> RunResult:
        start = time.perf_counter()
        index = BM25Index.from_texts(episode.chunks)

        def context(question: Question) -> ReaderContext:
            hits = index.search(question.question, self.k)
            return ReaderContext("", tuple(Passage(episode.chunks[i], "chunk") for i, _ in hits))

        qa = answer_questions(episode.questions, context, reader)
        stream = _stream_tokens(episode)
        return RunResult(qa.accuracy, stream, stream, time.perf_counter() - start, qa)


Policy = Callable[[dict[str, str], dict[str, Any]], str]


def store_all(obs: dict[str, str], info: dict[str, Any]) -> str:
    """Insert the chunk verbatim into episodic memory."""
    if not obs["chunk"]:
        return ""
    call = {"name": "new_memory_insert", "arguments": {"memory_type": "episodic_memory", "content": obs["chunk"]}}
    return render_tool_calls([call])


def write_nothing(obs: dict[str, str], info: dict[str, Any]) -> str:
    return ""


@dataclass
class EnvPolicy:
    """A writing policy played in a registered memenv environment, one episode per run."""

    name: str
    policy: Policy
    env_id: str = "MemAlpha-v0"
    env_kwargs: dict[str, Any] | None = None

    def run(self, episode: Episode, reader: Reader) -> RunResult:
        start = time.perf_counter()
        env = gym.make(self.env_id, reader=reader, **(self.env_kwargs or {}))
        try:
            obs, info = env.reset(seed=0, options={"episode": episode})
            terminated = truncated = False
            while not (terminated or truncated):
                obs, _, terminated, truncated, info = env.step(self.policy(obs, info))
        finally:
            env.close()
        qa = info["qa"]
        report = QAReport(qa["accuracy"], tuple(qa["per_question"]))
        return RunResult(
            qa["accuracy"], info["memory_tokens"], _stream_tokens(episode), time.perf_counter() - start, report
        )


def default_systems() -> list[System]:
    return [
        LongContext(),
        RagTopK(),
        EnvPolicy("store-all", store_all),
        EnvPolicy("no-memory", write_nothing),
    ]
