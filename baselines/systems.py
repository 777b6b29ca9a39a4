"""The systems on the leaderboard.

Two memory-free references read the raw stream directly:

* ``long-context`` — the reader sees the last ``window_tokens`` tokens of the stream (Mem-α: 30K).
* ``rag-top-k`` — every chunk is kept and BM25 picks the top ``k`` chunks per question (Mem-α: k=2).

Memory-writing systems are policies acting in a registered environment through ``reset``/``step``:

* ``mem-alpha`` — the three-tier heuristic writer of :mod:`baselines.mem_alpha` in ``MemAlpha-v0``.
* ``mem1`` — the flat-paragraph heuristic rewriter of :mod:`baselines.mem1` in ``MEM1-v0``.
* ``memory-r1`` — the fact-bank heuristic manager of :mod:`baselines.memory_r1` in ``MemoryR1-v0``
  (``memory-r1-add-only``: the same manager without updates, an ablation; not run by default).
* ``store-all`` — inserts every chunk verbatim into episodic memory (the largest memory a Mem-α
  writer can build; what retrieval alone achieves on it).
* ``no-memory`` — writes nothing (the floor: what the reader gets from an empty memory).

One ceiling, never a competitor (:data:`CEILINGS`; the leaderboard marks it and ranks it apart):

* ``oracle`` — :class:`baselines.oracle.OracleWriter` in ``MemAlpha-v1``: writes what the questions
  depend on (the generator's ground truth, never the questions' text) in the best self-contained form
  the stream allows. It only plays suite-v1 synthetic episodes; it shows that the suite is solvable
  by the same reader every system gets.

:func:`llm_systems` adds ``<name>-llm`` variants of the three learned memories, written by a chat
model through :class:`baselines.llm_policy.LLMPolicy`. :func:`make_systems` builds any of them by name.

Running episodes: ``system.run(episode, reader)`` plays one. :func:`run_episodes` plays a list and is
what a runner holding several episodes of one system should call: an ``-llm`` writer then plays up to
``num_envs`` episodes in lock-step with one batched model call per step
(:meth:`EnvPolicy.run_many`), everything else runs episode by episode; the results are the same.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym

from memenv import tokenizer
from memenv.llm import ChatModel
from memenv.parsing import render_tool_calls
from memenv.qa import QAReport, answer_questions
from memenv.readers import Passage, Reader, ReaderContext
from memenv.retrieval import BM25Index
from memenv.tasks.records import Episode, Question
from memenv.trajectories import RecordEpisodes, trajectory_path, write_reference_run


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
    """The reader sees the last ``window_tokens`` tokens of the raw stream, in order.

    ``trajectory_dir``: if set, each run's questions are recorded there (:func:`trajectory_path`).
    """

    window_tokens: int = 30_000
    name: str = "long-context"
    trajectory_dir: Path | None = None

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
        first = len(episode.chunks) - len(window)  # index of the oldest chunk in the window
        context = ReaderContext("", tuple(Passage(c, "chunk", str(first + i)) for i, c in enumerate(reversed(window))))
        qa = answer_questions(episode.questions, lambda _q: context, reader)
        used = self.window_tokens - room
        _record_reference(self, episode, qa, used)
        return RunResult(qa.accuracy, used, sum(counts), time.perf_counter() - start, qa)


@dataclass
class RagTopK:
    """Every chunk is kept; BM25 retrieves the top ``k`` chunks for each question.

    ``trajectory_dir``: if set, each run's questions are recorded there (:func:`trajectory_path`).
    """

    k: int = 2
    name: str = "rag-top-k"
    trajectory_dir: Path | None = None

    def run(self, episode: Episode, reader: Reader) -> RunResult:
        start = time.perf_counter()
        index = BM25Index.from_texts(episode.chunks)

        def context(question: Question) -> ReaderContext:
            hits = index.search(question.question, self.k)
            return ReaderContext("", tuple(Passage(episode.chunks[i], "chunk", str(i)) for i, _ in hits))

        qa = answer_questions(episode.questions, context, reader)
        stream = _stream_tokens(episode)
        _record_reference(self, episode, qa, stream)
        return RunResult(qa.accuracy, stream, stream, time.perf_counter() - start, qa)


def _record_reference(system: LongContext | RagTopK, episode: Episode, qa: QAReport, memory_tokens: int) -> None:
    if system.trajectory_dir is not None:
        path = trajectory_path(system.trajectory_dir, episode.id, system.name)
        write_reference_run(path, system=system.name, episode=episode, qa=qa.as_info(), memory_tokens=memory_tokens)


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
    """A writing policy played in a registered memenv environment.

    ``policy(obs, info) -> reply`` is called once per chunk. A policy that keeps state across steps
    (such as :class:`baselines.mem_alpha.MemAlphaHeuristic`) must start over when ``info["step"] == 0``;
    :meth:`run` plays one episode, so one instance serves every episode in turn.

    Two entry points:

    - :meth:`run` plays one episode: one policy call per chunk.
    - :meth:`run_many` plays a list of episodes and returns the same results as calling :meth:`run`
      on each; when the policy can act on a batch (it has ``act_batch(observations, infos)``, as
      :class:`baselines.llm_policy.LLMPolicy` does), up to ``num_envs`` episodes are played in
      lock-step with one batched model call per step (:func:`memenv.lockstep.run_lockstep`). This is
      the one to call when several episodes are run with an LLM writer.

    ``trajectory_dir``: if set, every run is recorded with :class:`memenv.trajectories.RecordEpisodes`
    to ``trajectory_dir/<episode id>/<name>.jsonl`` (``memenv view`` shows it).
    """

    name: str
    policy: Policy
    env_id: str = "memenv/MemAlpha-v0"
    env_kwargs: dict[str, Any] | None = None
    trajectory_dir: Path | None = None

    def _make_env(self, episode: Episode, reader: Reader) -> gym.Env:
        env = gym.make(self.env_id, reader=reader, **(self.env_kwargs or {}))
        if self.trajectory_dir is not None:
            env = RecordEpisodes(env, trajectory_path(self.trajectory_dir, episode.id, self.name), system=self.name)
        return env

    def run(self, episode: Episode, reader: Reader) -> RunResult:
        start = time.perf_counter()
        env = self._make_env(episode, reader)
        try:
            obs, info = env.reset(seed=0, options={"episode": episode})
            terminated = truncated = False
            while not (terminated or truncated):
                obs, _, terminated, truncated, info = env.step(self.policy(obs, info))
        finally:
            env.close()
        return _result(info, episode, time.perf_counter() - start)

    @property
    def batched(self) -> bool:
        """Whether :meth:`run_many` plays episodes in lock-step (the policy has ``act_batch``)."""
        return callable(getattr(self.policy, "act_batch", None))

    def run_many(
        self,
        episodes: Sequence[Episode],
        reader: Reader,
        *,
        num_envs: int = 8,
        on_result: Callable[[int, RunResult], None] | None = None,
    ) -> list[RunResult]:
        """Play every episode; the results equal ``[self.run(e, reader) for e in episodes]``.

        With a batch-capable policy (:attr:`batched`), up to ``num_envs`` episodes are in play at once
        and each step's prompts go to the model in one ``act_batch`` call: one padded batch on a
        local model, up to its ``concurrency`` requests in flight on an endpoint. An episode that
        ends makes room for the next, so episodes of different lengths keep the batch full. Each
        episode has its own environment; with greedy decoding its memory, answers and scores are
        those of :meth:`run`. ``RunResult.seconds`` is then the episode's share of the wall time
        (see :class:`memenv.lockstep.EpisodeRun`), so the seconds of all episodes add up to the
        run's wall time. Any other policy plays the episodes one after another with :meth:`run`.

        Args:
            episodes: the episodes, in order.
            reader: answers every episode's questions.
            num_envs: the most episodes in play at once (the model's batch size).
            on_result: called with ``(index in episodes, result)`` as each episode finishes (in
                lock-step, in the order they finish), e.g. for a progress bar or to save results early.

        Returns:
            One :class:`RunResult` per episode, in the order of ``episodes``.
        """
        if not self.batched:
            return _run_each(self, episodes, reader, on_result)
        from memenv.lockstep import run_lockstep

        results_by_index: dict[int, RunResult] = {}

        def finished(run: Any) -> None:
            results_by_index[run.index] = _result(run.info, episodes[run.index], run.seconds)
            if on_result is not None:
                on_result(run.index, results_by_index[run.index])

        run_lockstep(
            lambda index: self._make_env(episodes[index], reader),
            [{"seed": 0, "options": {"episode": episode}} for episode in episodes],
            self.policy.act_batch,  # type: ignore[attr-defined]
            num_envs=num_envs,
            on_episode_end=finished,
        )
        return [results_by_index[index] for index in range(len(episodes))]


def _result(info: dict[str, Any], episode: Episode, seconds: float) -> RunResult:
    """The :class:`RunResult` of an episode from its last step's ``info``."""
    qa = info["qa"]
    return RunResult(qa["accuracy"], info["memory_tokens"], _stream_tokens(episode), seconds, QAReport.from_info(qa))


def run_episodes(
    system: System,
    episodes: Sequence[Episode],
    reader: Reader,
    *,
    num_envs: int = 8,
    on_result: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Every episode through ``system``, in order: ``system.run_many`` where it has one, else ``system.run`` each.

    The entry point for runners (the leaderboard) that hold several episodes of one system: LLM
    writers then play ``num_envs`` episodes at once with batched model calls (:meth:`EnvPolicy.run_many`);
    other systems run one episode at a time. Results are the same either way. ``on_result(index,
    result)`` is called as each episode finishes.
    """
    run_many = getattr(system, "run_many", None)
    if callable(run_many):
        return run_many(episodes, reader, num_envs=num_envs, on_result=on_result)
    return _run_each(system, episodes, reader, on_result)


def _run_each(
    system: System,
    episodes: Sequence[Episode],
    reader: Reader,
    on_result: Callable[[int, RunResult], None] | None,
) -> list[RunResult]:
    """``system.run`` on each episode in turn, calling ``on_result(index, result)`` after each."""
    results = []
    for index, episode in enumerate(episodes):
        results.append(system.run(episode, reader))
        if on_result is not None:
            on_result(index, results[-1])
    return results


# The learned memories: leaderboard name -> (env id, how to build the heuristic policy).
LEARNED = {
    "mem-alpha": "memenv/MemAlpha-v0",
    "mem1": "memenv/MEM1-v0",
    "memory-r1": "memenv/MemoryR1-v0",
}
DEFAULT_SYSTEMS = ("long-context", "rag-top-k", "mem1", "memory-r1", "mem-alpha", "store-all", "no-memory")
EXTRA_SYSTEMS = ("memory-r1-add-only",)
CEILINGS = ("oracle",)
"""Systems that know the answers' evidence: reported as ceilings, never ranked with the competitors."""
SYSTEM_NAMES = DEFAULT_SYSTEMS + EXTRA_SYSTEMS + CEILINGS


@dataclass
class Oracle:
    """The ``oracle`` ceiling: :class:`baselines.oracle.OracleWriter` playing each episode in ``env_id``.

    Raises ValueError on an episode without oracle notes (anything but suite-v1 synthetic episodes).
    ``trajectory_dir``: as :class:`EnvPolicy`'s.
    """

    name: str = "oracle"
    env_id: str = "memenv/MemAlpha-v1"
    trajectory_dir: Path | None = None

    def run(self, episode: Episode, reader: Reader) -> RunResult:
        from baselines.oracle import OracleWriter, notes_of

        writer = OracleWriter(notes_of(episode))
        return EnvPolicy(self.name, writer, self.env_id, trajectory_dir=self.trajectory_dir).run(episode, reader)


def _heuristic(name: str) -> Policy:
    # Imported here: each module is independent, and a missing optional one only disables its system.
    if name == "mem-alpha":
        from baselines.mem_alpha import MemAlphaHeuristic

        return MemAlphaHeuristic()
    if name == "mem1":
        from baselines.mem1 import Mem1Rewriter

        return Mem1Rewriter()
    from baselines.memory_r1 import MemoryR1Manager

    return MemoryR1Manager(add_only=name == "memory-r1-add-only")


def import_factory(path: str) -> Callable[[], Any]:
    """The factory named by an import path ``"package.module:attribute"`` (``attribute`` may be dotted).

    Raises:
        ValueError: ``path`` is not ``module:attribute``, the module cannot be imported, it has no such
            attribute, or the attribute is not callable (each message names the path).
    """
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"a user system is given as 'package.module:factory', got {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} of system {path!r}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r} (system {path!r})")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{path!r} names a {type(target).__name__}, not a factory to call")
    return target


def system_from_factory(path: str, name: str | None = None) -> System:
    """A user's system from a factory given by import path (``--systems my_pkg.my_agent:make_writer``).

    The factory is called with no arguments, once per process that runs jobs, and returns either

    - a :class:`System`: an object with ``run(episode, reader) -> RunResult`` (used as it is; its name
      on the board is ``name``), or
    - a writing policy: a callable ``policy(obs, info) -> str`` that gets each chunk's observation and
      info and returns the reply text (tool calls in any format :mod:`memenv.parsing` reads, or a
      paragraph for ``MEM1-v0``). It is played in ``policy.env_id`` if it has that attribute (any
      registered memenv env id), else ``"memenv/MemAlpha-v0"``, with ``policy.env_kwargs`` if it has those,
      exactly as the built-in heuristics (:class:`EnvPolicy`): the leaderboard's reader answers the
      questions from the memory it built. A policy that keeps state must start over when
      ``info["step"] == 0``.

    ``name`` (default: ``path``) is the name on the board.
    """
    made = import_factory(path)()
    label = name or path
    if callable(getattr(made, "run", None)):
        return made
    if callable(made):
        env_id = getattr(made, "env_id", "memenv/MemAlpha-v0")
        return EnvPolicy(label, made, env_id=env_id, env_kwargs=getattr(made, "env_kwargs", None))
    raise TypeError(
        f"factory {path!r} returned a {type(made).__name__}; expected a System (with run(episode, reader)) "
        "or a policy callable (obs, info) -> str"
    )


def make_system(name: str, *, window_tokens: int = 30_000, rag_k: int = 2, suite: str = "v0") -> System:
    """One system by its leaderboard name (see :data:`SYSTEM_NAMES`), or a user's system by import path
    (``"package.module:factory"``, see :func:`system_from_factory`).

    ``window_tokens`` is the long-context window, ``rag_k`` the chunks rag-top-k retrieves; the memory
    systems play in the envs of ``suite`` (``MemAlpha-v1`` & co. for ``"v1"``; the episode is given, so
    this only names the env their runs are recorded under).
    """
    if ":" in name:
        return system_from_factory(name)
    if name == "long-context":
        return LongContext(window_tokens=window_tokens)
    if name == "rag-top-k":
        return RagTopK(k=rag_k)
    version = f"-{suite}"
    if name == "store-all":
        return EnvPolicy("store-all", store_all, env_id="memenv/MemAlpha" + version)
    if name == "no-memory":
        return EnvPolicy("no-memory", write_nothing, env_id="memenv/MemAlpha" + version)
    if name == "oracle":
        return Oracle()
    if name in LEARNED or name == "memory-r1-add-only":
        env_id = LEARNED[name.removesuffix("-add-only")].replace("-v0", version)
        return EnvPolicy(name, _heuristic(name), env_id=env_id)
    raise ValueError(f"unknown system {name!r}; expected one of {', '.join(SYSTEM_NAMES)}")


def llm_systems(model: ChatModel, *, max_new_tokens: int = 256, temperature: float = 0.0) -> list[System]:
    """``mem-alpha-llm``, ``mem1-llm`` and ``memory-r1-llm``: each env's writer is ``model``.

    Their :meth:`EnvPolicy.run_many` (or :func:`run_episodes`) batches the model calls of several
    episodes; for an endpoint, build the model with ``concurrency=N`` (e.g.
    ``make_chat_model("openai:URL#MODEL", concurrency=8)``) so N requests are in flight.
    """
    from baselines.llm_policy import LLMPolicy

    policy = LLMPolicy(model, max_new_tokens=max_new_tokens, temperature=temperature)
    return [EnvPolicy(f"{name}-llm", policy, env_id=env_id) for name, env_id in LEARNED.items()]


def make_systems(names: Sequence[str] = DEFAULT_SYSTEMS, **options: Any) -> list[System]:
    """Heuristic systems by name, in the given order (``options`` go to :func:`make_system`)."""
    return [make_system(name, **options) for name in names]


def default_systems() -> list[System]:
    """The default leaderboard: every heuristic system and the two references."""
    return make_systems(DEFAULT_SYSTEMS)
