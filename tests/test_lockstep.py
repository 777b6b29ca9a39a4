"""Tests for memenv.lockstep (episodes in lock-step), LLMPolicy.act_batch and EnvPolicy.run_many.

What must hold: episodes played side by side end exactly as they do played alone (same memories,
answers and scores), episodes of different lengths leave and join the batch at the right steps, the
policy is called once per step, and an endpoint sees up to — never more than — its concurrency in
requests at once. A prompt-dependent scripted writer checks the bookkeeping; the tiny random HF model
checks the real batched decoder; a scripted OpenAI-compatible server on 127.0.0.1 counts requests.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import pytest
from openai_fake import ChatHandler, completion, serve

import memenv  # noqa: F401  (registers the environments)
from baselines.llm_policy import LLMPolicy
from baselines.systems import EnvPolicy, RunResult, run_episodes
from memenv.llm import ChatModel, Message, OpenAIChatModel
from memenv.lockstep import EpisodeRun, run_lockstep
from memenv.readers import EvidenceReader
from memenv.tasks.records import Episode
from memenv.tasks.synthetic import generate

# Episodes of 2, 5, 3 and 1 chunks.
LENGTHS = (2, 5, 3, 1)


@pytest.fixture(scope="module")
def episodes() -> list[Episode]:
    """Four episodes of 2, 5, 3 and 1 chunks, each a different stretch of one synthetic stream."""
    base = generate("accurate_retrieval", seed=0, context_tokens=800, chunk_tokens=64, num_questions=3)
    assert len(base.chunks) >= 11
    cuts, start = [], 0
    for n in LENGTHS:
        chunks = base.chunks[start : start + n]
        cuts.append(Episode(f"cut-{start}-{n}", chunks, base.questions, base.competency))
        start += n
    return cuts


def note(chunk: str) -> str:
    """What the scripted writer keeps from a chunk: its first sentence (so every reply depends on its prompt)."""
    return chunk.split(". ")[0][:80].strip()


def writer_reply(messages: list[Message]) -> str:
    user = messages[-1]["content"]
    chunk = user.split("\n", 1)[1].split("\n\nUpdate the memory", 1)[0]
    step = int(re.match(r"Chunk (\d+) of", user).group(1))  # type: ignore[union-attr]
    calls = [{"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": note(chunk)}}]
    if step % 2 == 0:
        calls.append({"name": "memory_update", "arguments": {"memory_type": "core_memory", "new_content": note(chunk)}})
    return "\n".join(f"<tool_call>{json.dumps(call)}</tool_call>" for call in calls)


class ScriptedWriter(ChatModel):
    """Writes a note of each chunk; records the size of every batch it was given."""

    name = "scripted-writer"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def generate(self, messages: list[Message], **options: Any) -> str:
        self.batches.append(1)
        return writer_reply(messages)

    def generate_batch(self, batch: Sequence[list[Message]], **options: Any) -> list[str]:
        self.batches.append(len(batch))
        return [writer_reply(m) for m in batch]


def play_alone(episode: Episode, policy: Any, **env_kwargs: Any) -> EpisodeRun:
    env = gym.make("MemAlpha-v0", **env_kwargs)
    obs, info = env.reset(seed=0, options={"episode": episode})
    run = EpisodeRun(index=0, info=info)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs, info))
        run.steps += 1
        run.rewards.append(float(reward))
        done = terminated or truncated
    run.info, run.total_reward = info, sum(run.rewards)
    env.close()
    return run


def test_lockstep_equals_episodes_played_alone(episodes: list[Episode]) -> None:
    assert [len(e.chunks) for e in episodes] == list(LENGTHS)
    writer = ScriptedWriter()
    policy = LLMPolicy(writer)
    ended: list[int] = []
    runs = run_lockstep(
        lambda i: gym.make("MemAlpha-v0"),
        [{"seed": 0, "options": {"episode": e}} for e in episodes],
        policy.act_batch,
        num_envs=3,
        on_episode_end=lambda run: ended.append(run.index),
    )
    # Three places: episodes 0-2 start; 0 ends after step 2, 3 takes its place at step 3 and ends
    # there with 2 (3 chunks); 1 plays steps 4 and 5 alone. One policy call per step.
    assert writer.batches == [3, 3, 3, 1, 1]
    assert ended == [0, 2, 3, 1]
    assert [run.index for run in runs] == [0, 1, 2, 3]
    assert [run.steps for run in runs] == list(LENGTHS)
    assert all(run.terminated and not run.truncated for run in runs)
    for episode, run in zip(episodes, runs, strict=True):
        alone = play_alone(episode, LLMPolicy(ScriptedWriter()))
        assert run.info["memory"] == alone.info["memory"]
        assert run.info["qa"] == alone.info["qa"]
        assert run.rewards == alone.rewards
        assert run.total_reward == pytest.approx(alone.total_reward)
        # the memory holds this episode's own notes, in order: no reply went to another env
        assert [e["text"] for e in run.info["memory"]["semantic"]] == [note(c) for c in episode.chunks]
    assert sum(run.seconds for run in runs) > 0


def test_lockstep_max_steps_errors_and_closing(episodes: list[Episode]) -> None:
    closed: list[int] = []

    class Closing(gym.Wrapper):
        def __init__(self, env: gym.Env, index: int) -> None:
            super().__init__(env)
            self.index = index

        def close(self) -> None:
            closed.append(self.index)
            super().close()

    resets = [{"seed": 0, "options": {"episode": e}} for e in episodes]
    policy = LLMPolicy(ScriptedWriter())
    runs = run_lockstep(lambda i: Closing(gym.make("MemAlpha-v0"), i), resets, policy.act_batch, max_steps=2)
    assert [run.steps for run in runs] == [2, 2, 2, 1]
    assert [run.truncated for run in runs] == [False, True, True, False]
    assert sorted(closed) == [0, 1, 2, 3]

    closed.clear()
    with pytest.raises(ValueError, match="returned 1 actions for 2 rows"):
        run_lockstep(lambda i: Closing(gym.make("MemAlpha-v0"), i), resets, lambda obs, infos: [""], num_envs=2)
    assert sorted(closed) == [0, 1]  # the envs in play were closed
    with pytest.raises(ValueError, match="num_envs"):
        run_lockstep(lambda i: gym.make("MemAlpha-v0"), resets, policy.act_batch, num_envs=0)
    assert run_lockstep(lambda i: gym.make("MemAlpha-v0"), [], policy.act_batch) == []


def test_act_batch_answers_each_row_and_skips_empty_prompts() -> None:
    writer = ScriptedWriter()
    policy = LLMPolicy(writer)
    infos = [
        {"messages": [{"role": "user", "content": "Chunk 1 of 2:\nAlice moved. Then\n\nUpdate the memory."}]},
        {"messages": []},  # after the last chunk: nothing to read
        {"messages": [{"role": "user", "content": "Chunk 2 of 2:\nBob left. Later\n\nUpdate the memory."}]},
    ]
    replies = policy.act_batch([{}, {}, {}], infos)
    assert replies == [writer_reply(infos[0]["messages"]), "", writer_reply(infos[2]["messages"])]
    assert writer.batches == [2]
    assert replies == [policy({}, info) for info in infos]
    with pytest.raises(ValueError, match="align"):
        policy.act_batch([{}], infos)


def _same_results(a: RunResult, b: RunResult) -> None:
    assert (a.accuracy, a.memory_tokens, a.stream_tokens, a.qa) == (b.accuracy, b.memory_tokens, b.stream_tokens, b.qa)


def test_run_many_equals_run_and_reports_as_episodes_finish(episodes: list[Episode], tmp_path: Path) -> None:
    writer = ScriptedWriter()
    system = EnvPolicy("mem-alpha-llm", LLMPolicy(writer), trajectory_dir=tmp_path)
    assert system.batched
    finished: list[int] = []
    many = system.run_many(episodes, EvidenceReader(), num_envs=2, on_result=lambda i, r: finished.append(i))
    # Two places: (0,1) (0,1) (1,2) (1,2) (1,2) (3); 1 and 2 end at the same step, in start order.
    assert writer.batches == [2, 2, 2, 2, 2, 1]
    assert finished == [0, 1, 2, 3]
    alone = [system.run(e, EvidenceReader()) for e in episodes]
    for a, b in zip(many, alone, strict=True):
        _same_results(a, b)
    assert sorted(p.parent.name for p in tmp_path.glob("*/mem-alpha-llm.jsonl")) == sorted(e.id for e in episodes)
    # A policy without act_batch (a heuristic) runs its episodes one after another, same results.
    heuristic = EnvPolicy("store-all", lambda obs, info: writer_reply(info["messages"]) if info["messages"] else "")
    assert not heuristic.batched
    for a, b in zip(run_episodes(heuristic, episodes, EvidenceReader()), alone, strict=True):
        _same_results(a, b)


def test_run_many_with_the_tiny_model_writes_what_run_writes(episodes: list[Episode], tmp_path: Path) -> None:
    """The real batched decoder: every reply of every step, played 3 at a time, equals the one played alone."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from memenv.llm import HFChatModel, build_tiny_model
    from memenv.trajectories import read_trajectories

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 1M-parameter model: a second thread only adds contention
    try:
        model = HFChatModel(build_tiny_model(tmp_path / "tiny"), device="cpu")
        # A short system prompt and no tool schemas keep the prompts small (the env prompt is ~1K tokens otherwise).
        kwargs = {"system_prompt": "Memory:\n{memory}"}
        policy = LLMPolicy(model, max_new_tokens=12)
        policy_without_tools = _WithoutTools(policy)
        batched = EnvPolicy("tiny", policy_without_tools, env_kwargs=kwargs, trajectory_dir=tmp_path / "many")
        alone = EnvPolicy("tiny", policy_without_tools, env_kwargs=kwargs, trajectory_dir=tmp_path / "alone")
        many = batched.run_many(episodes, EvidenceReader(), num_envs=3)
        rows_batched = model.usage["rows"]
        single = [alone.run(e, EvidenceReader()) for e in episodes]
    finally:
        torch.set_num_threads(threads)
    assert model.usage["batches"] == 5 + sum(LENGTHS)  # 5 lock-step calls, then one call per step alone
    assert rows_batched == sum(LENGTHS)
    for a, b in zip(many, single, strict=True):
        _same_results(a, b)
    replies = {}
    for where in ("many", "alone"):
        for trajectory in read_trajectories(tmp_path / where):
            replies[where, trajectory.header["episode_id"]] = [step["reply"] for step in trajectory.steps]
    for episode in episodes:
        assert replies["many", episode.id] == replies["alone", episode.id]
        assert len(replies["many", episode.id]) == len(episode.chunks)
        assert all(isinstance(r, str) and r for r in replies["many", episode.id])
    assert len({r for key, rs in replies.items() for r in rs if key[0] == "many"}) == sum(LENGTHS)


class _WithoutTools:
    """An LLMPolicy that leaves the tool schemas out of the prompt (the system prompt names no tools either)."""

    def __init__(self, policy: LLMPolicy) -> None:
        self.policy = policy

    def __call__(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        return self.policy(obs, {**info, "tools": None})

    def act_batch(self, observations: list[dict[str, str]], infos: list[dict[str, Any]]) -> list[str]:
        return self.policy.act_batch(observations, [{**info, "tools": None} for info in infos])


# --------------------------------------------------------------------------------------------------
# An endpoint: requests in flight


class _CountingOpenAI(ChatHandler):
    """An OpenAI-compatible server that answers every request as the scripted writer after a delay,
    and records how many requests it holds at once."""

    delay: ClassVar[float] = 0.05
    lock: ClassVar[threading.Lock] = threading.Lock()
    in_flight: ClassVar[int] = 0
    peak: ClassVar[int] = 0
    served: ClassVar[int] = 0

    def do_POST(self) -> None:
        cls = type(self)
        body = self.read_json()
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
        try:
            time.sleep(cls.delay)
            content = writer_reply(body["messages"])
        finally:
            with cls.lock:
                cls.in_flight -= 1
                cls.served += 1
        self.send_json(completion(content))

    @classmethod
    def reset(cls) -> None:
        cls.in_flight = cls.peak = cls.served = 0


@pytest.fixture
def counting_server():
    _CountingOpenAI.reset()
    with serve(_CountingOpenAI) as url:
        yield url


def _prompt(i: int) -> list[Message]:
    return [{"role": "user", "content": f"Chunk 1 of 1:\nNote {i}. More\n\nUpdate the memory."}]


def test_endpoint_requests_in_flight_reach_the_concurrency_and_never_exceed_it(counting_server: str) -> None:
    model = OpenAIChatModel(counting_server, "m", concurrency=3)
    replies = model.generate_batch([_prompt(i) for i in range(10)])
    assert replies == [writer_reply(_prompt(i)) for i in range(10)]
    assert (_CountingOpenAI.peak, _CountingOpenAI.served) == (3, 10)
    # The bound is the model's, whichever threads the calls come from.
    _CountingOpenAI.reset()
    threads = [threading.Thread(target=model.generate_batch, args=([_prompt(i) for i in range(4)],)) for _ in range(3)]
    threads += [threading.Thread(target=model.generate, args=(_prompt(9),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (_CountingOpenAI.peak, _CountingOpenAI.served) == (3, 14)
    model.close()


def test_lockstep_episodes_keep_the_endpoint_at_its_concurrency(counting_server: str, episodes: list[Episode]) -> None:
    eight = [episodes[1]] * 8  # eight episodes of 5 chunks: 8 prompts per step
    model = OpenAIChatModel(counting_server, "m", concurrency=4)
    system = EnvPolicy("mem-alpha-llm", LLMPolicy(model))
    results = system.run_many(eight, EvidenceReader(), num_envs=8)
    assert _CountingOpenAI.served == 8 * 5
    assert _CountingOpenAI.peak == 4
    alone = system.run(episodes[1], EvidenceReader())
    for result in results:
        _same_results(result, alone)
    model.close()
