"""Trajectory records (memenv/trajectories.py): RecordEpisodes, read_trajectories, the leaderboard flag."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import memenv  # noqa: F401  (registers the envs)
from baselines.leaderboard import main as leaderboard_main
from baselines.mem1 import Mem1Rewriter
from baselines.mem_alpha import MemAlphaHeuristic
from baselines.memory_r1 import MemoryR1Manager
from baselines.systems import store_all
from memenv.parsing import render_tool_calls
from memenv.tasks import Episode, Question, generate
from memenv.trajectories import (
    HEAD_CHARS,
    RecordEpisodes,
    clip_text,
    read_trajectories,
    trajectory_path,
)
from memenv.wrappers import RecordEpisodes as ReExported

LOCOMO = Path(__file__).parent / "fixtures" / "locomo10_tiny.json"
POLICIES = {"MemAlpha-v0": MemAlphaHeuristic, "MEM1-v0": Mem1Rewriter, "MemoryR1-v0": MemoryR1Manager}


def _play(env: gym.Env, policy: Any, **reset: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one episode; return per step (action, info, reward, chunk) and the live memory after it."""
    obs, info = env.reset(**reset)
    steps, snapshots = [], []
    while True:
        chunk = env.unwrapped.current_chunk
        action = policy(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append({"action": action, "info": info, "reward": reward, "chunk": chunk})
        snapshots.append(env.unwrapped.memory.snapshot())
        if terminated or truncated:
            return steps, snapshots


@pytest.mark.parametrize("env_id", list(POLICIES))
def test_round_trip_one_record_per_step(env_id: str, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    env = RecordEpisodes(
        gym.make(env_id, task="conflict_resolution", context_tokens=2048, chunk_tokens=256), path, system="heur"
    )
    steps, snapshots = _play(env, POLICIES[env_id](), seed=3)
    env.close()

    lines = path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["episode"] + ["step"] * len(steps) + ["end"]
    [trajectory] = read_trajectories(path)
    base = env.unwrapped
    assert trajectory.system == "heur" and trajectory.header["env_id"] == env_id
    assert trajectory.episode_id == base.episode.id and trajectory.header["num_chunks"] == len(base.episode.chunks)
    assert len(trajectory.steps) == len(steps) == len(base.episode.chunks)
    offset = 0
    for t, (record, step) in enumerate(zip(trajectory.steps, steps, strict=True)):
        assert record["step"] == t
        assert record["chunk"] == step["chunk"] == base.episode.chunks[t]
        assert record["chunk_offset"] == offset
        offset += len(step["chunk"])
        assert record["reply"] == step["action"]
        assert record["reward"] == pytest.approx(step["reward"])
        assert record["reward_components"] == pytest.approx(step["info"]["reward_components"])
        assert [(c["name"], c["ok"], c["error"], c["memory_id"]) for c in record["calls"]] == [
            (c["name"], c["ok"], c["error"], c["memory_id"]) for c in step["info"]["tool_results"]
        ]
        assert record["memory_tokens"] == step["info"]["memory_tokens"]
        # The diffs replay into exactly the memory the env held after every step.
        assert trajectory.memory_after(t) == snapshots[t]
    assert trajectory.memory_after() == steps[-1]["info"]["memory"]

    qa = steps[-1]["info"]["qa"]
    assert trajectory.end["accuracy"] == pytest.approx(qa["accuracy"])
    assert trajectory.end["answer_recall"] == pytest.approx(qa["answer_recall"])
    assert trajectory.end["return"] == pytest.approx(sum(s["reward"] for s in steps))
    assert len(trajectory.questions) == len(qa["per_question"])
    final = trajectory.memory_after()
    known = {f"{tier}:{row['id']}" for tier in ("semantic", "episodic") for row in final[tier]}
    for recorded, row in zip(trajectory.questions, qa["per_question"], strict=True):
        for key in ("question", "answers", "prediction", "score", "metric", "category", "answer_recall", "context_ids"):
            assert recorded[key] == row[key]
        ids = recorded["context_ids"]
        assert ids, "every reader here was given something"
        assert all(i == "core" or i in known for i in ids)
        assert ("core" in ids) == bool(final["core"])
    if env_id != "MEM1-v0":  # the list-tier readers were given entries, not just the core
        assert any(i != "core" for q in trajectory.questions for i in q["context_ids"])


def test_diffs_on_a_hand_made_episode(tmp_path: Path) -> None:
    episode = Episode(
        id="hand-made",
        chunks=("Alice lives in Paris. Bob likes tea.", "Alice moved to Rome.", "Nothing new."),
        questions=(Question("Where does Alice live?", ("Rome",), "subem"),),
        competency="conflict_resolution",
    )
    path = tmp_path / "hand.jsonl"
    env = RecordEpisodes(gym.make("MemAlpha-v0"), path)
    env.reset(seed=0, options={"episode": episode})

    def reply(*calls: tuple[str, dict[str, str]]) -> str:
        return render_tool_calls([{"name": name, "arguments": args} for name, args in calls])

    insert, update, delete = "new_memory_insert", "memory_update", "memory_delete"
    _, _, _, _, info = env.step(
        reply(
            (insert, {"memory_type": "semantic_memory", "content": "Alice lives in Paris."}),
            (insert, {"memory_type": "semantic_memory", "content": "Bob likes tea."}),
            (update, {"memory_type": "core_memory", "new_content": "Alice and Bob."}),
            (insert, {"memory_type": "episodic_memory", "content": "Day 1: met Alice."}),
        )
    )
    alice, bob, _, day1 = (r["memory_id"] for r in info["tool_results"])
    env.step(
        reply(
            (update, {"memory_type": "semantic_memory", "memory_id": alice, "new_content": "Alice lives in Rome."}),
            (delete, {"memory_type": "semantic_memory", "memory_id": bob}),
            (delete, {"memory_type": "semantic_memory", "memory_id": "ffff"}),  # unknown id: fails
            (insert, {"memory_type": "semantic_memory", "content": "Alice lives in Rome."}),  # duplicate: fails
        )
    )
    # A change that no call names (a custom env might do this) is still found: every entry is compared.
    sneaky = env.unwrapped.memory.insert("episodic", "Written outside any call.")
    _, _, terminated, _, info = env.step("Nothing worth keeping.")
    assert terminated
    env.close()

    [trajectory] = read_trajectories(path)
    first, second, third = trajectory.steps
    assert first["diff"] == {
        "core": {"before": "", "after": "Alice and Bob."},
        "semantic": {
            "added": [{"id": alice, "text": "Alice lives in Paris."}, {"id": bob, "text": "Bob likes tea."}],
            "updated": [],
            "deleted": [],
        },
        "episodic": {"added": [{"id": day1, "text": "Day 1: met Alice."}], "updated": [], "deleted": []},
    }
    assert second["diff"] == {
        "semantic": {
            "added": [],
            "updated": [
                {
                    "id": alice,
                    "text": "Alice lives in Rome.",
                    "before": "Alice lives in Paris.",
                    "after": "Alice lives in Rome.",
                }
            ],
            "deleted": [{"id": bob, "text": "Bob likes tea."}],
        }
    }
    assert [(c["ok"], c["error"]) for c in second["calls"]] == [
        (True, None),
        (True, None),
        (False, "unknown_id"),
        (False, "duplicate"),
    ]
    assert third["calls"] == [] and third["reply"] == "Nothing worth keeping."
    assert third["diff"] == {
        "episodic": {"added": [{"id": sneaky.id, "text": "Written outside any call."}], "updated": [], "deleted": []}
    }
    assert trajectory.memory_after(1) == {
        "core": "Alice and Bob.",
        "semantic": [{"id": alice, "text": "Alice lives in Rome."}],
        "episodic": [{"id": day1, "text": "Day 1: met Alice."}],
    }
    [question] = trajectory.questions
    [row] = info["qa"]["per_question"]
    assert question["answers"] == ["Rome"]
    assert (question["prediction"], question["score"]) == (row["prediction"], row["score"])
    assert question["context_ids"][0] == "core" and f"semantic:{alice}" in question["context_ids"]


def test_bounded_size_for_a_1m_token_stream(tmp_path: Path) -> None:
    """Store-all over 1M tokens: the memory grows to the whole stream, the file does not."""
    episode = generate("accurate_retrieval", seed=0, context_tokens=1_000_000, chunk_tokens=4096, num_questions=2)
    stream_chars = sum(len(c) for c in episode.chunks)
    path = tmp_path / "big.jsonl"
    env = RecordEpisodes(gym.make("MemAlpha-v0"), path)
    steps, _ = _play(env, store_all, seed=0, options={"episode": episode})
    memory = env.unwrapped.memory
    env.close()

    lines = path.read_bytes().splitlines()
    assert len(lines) == len(episode.chunks) + 2
    assert memory.tokens() >= 1_000_000 * 0.95  # the memory holds (nearly) the whole stream
    # Every line is bounded by the clipping limits, never by the memory's size ...
    assert max(len(line) for line in lines) < 4_000
    # ... so the file is a small fraction of the stream (a snapshot per step would be ~N^2/2 chunks).
    assert path.stat().st_size < stream_chars / 5
    [trajectory] = read_trajectories(path)
    final = trajectory.memory_after()["episodic"]
    assert len(final) == len(episode.chunks)
    for row, entry in zip(final, memory.entries("episodic"), strict=True):
        assert row["text"]["clipped"] and row["text"]["chars"] == len(entry.text)
        assert row["text"]["sha256"] == hashlib.sha256(entry.text.encode()).hexdigest()
    chunk = trajectory.steps[7]["chunk"]
    start = trajectory.steps[7]["chunk_offset"]
    stream = "".join(episode.chunks)
    assert stream[start : start + chunk["chars"]] == episode.chunks[7]
    assert chunk["sha256"] == hashlib.sha256(episode.chunks[7].encode()).hexdigest()


def test_env_context_ids_are_kept_when_the_env_reports_them(tmp_path: Path) -> None:
    class WithContextIds(gym.Wrapper):
        def step(self, action: Any) -> Any:
            obs, reward, terminated, truncated, info = self.env.step(action)
            for row in info.get("qa", {}).get("per_question", []):
                row["context_ids"] = ["paragraph"]
                row["answer_recall"] = 0.5
            return obs, reward, terminated, truncated, info

    path = tmp_path / "ids.jsonl"
    env = RecordEpisodes(WithContextIds(gym.make("MEM1-v0", context_tokens=1024, chunk_tokens=256)), path)
    _play(env, Mem1Rewriter(), seed=0)
    env.close()
    [trajectory] = read_trajectories(path)
    assert {tuple(q["context_ids"]) for q in trajectory.questions} == {("paragraph",)}
    assert {q["answer_recall"] for q in trajectory.questions} == {0.5}


def test_odd_actions_and_long_texts_are_recorded_as_data(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    env = RecordEpisodes(gym.make("MemAlpha-v0", context_tokens=1024, chunk_tokens=256), path, max_text_chars=300)
    env.reset(seed=0)
    env.step(12345)  # not a str: the env records a parse error, the recorder keeps the value
    call = '{"name": "memory_update", "arguments": {"memory_type": "core", "new_content": NaN}}'
    long_reply = "x" * 1000 + f"<tool_call>{call}</tool_call>"
    env.step(long_reply)
    env.close()
    [trajectory] = read_trajectories(path)
    first, second = trajectory.steps
    assert first["reply"] == 12345 and "must be a str" in first["parse_error"]
    assert second["reply"] == clip_text(long_reply, 300)
    assert second["reply"]["chars"] == len(long_reply) and len(second["reply"]["head"]) == HEAD_CHARS
    assert not trajectory.complete and trajectory.questions == []
    # The model wrote NaN: strict JSON has none, so the record holds it as text.
    assert second["calls"][0]["arguments"]["new_content"] == "nan"

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in a record")

    for line in path.read_text().splitlines():
        json.loads(line, parse_constant=no_constants)


def test_wrapper_contract(tmp_path: Path) -> None:
    assert ReExported is RecordEpisodes
    env = RecordEpisodes(gym.make("MemoryR1-v0"), tmp_path / "a" / "b.jsonl", system="x", append=True)
    assert env.spec is not None and env.spec.additional_wrappers[-1].kwargs["path"] == str(tmp_path / "a" / "b.jsonl")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("")
    env.close()
    env.close()  # twice is fine
    with pytest.raises(TypeError, match="memenv environment"):
        RecordEpisodes(gym.make("CartPole-v1"), tmp_path / "c.jsonl")
    with pytest.raises(ValueError, match="max_text_chars"):
        RecordEpisodes(gym.make("MEM1-v0"), tmp_path / "d.jsonl", max_text_chars=10)


def test_append_keeps_episodes_and_bad_files_say_where(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    for seed in (0, 1):
        env = RecordEpisodes(gym.make("MEM1-v0", context_tokens=512, chunk_tokens=256), path, append=True)
        _play(env, Mem1Rewriter(), seed=seed)
        env.close()
    assert [t.complete for t in read_trajectories(path)] == [True, True]
    assert len(read_trajectories([tmp_path, path])) == 4  # a folder (recursive) and a file

    bad = tmp_path / "bad.jsonl"
    bad.write_text(path.read_text().splitlines()[0] + "\n{not json\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a JSON line"):
        read_trajectories(bad)
    bad.write_text('{"type": "step", "step": 0}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: a 'step' line before any 'episode' line"):
        read_trajectories(bad)
    bad.write_text('{"type": "episode", "version": 99}\n')
    with pytest.raises(ValueError, match="version 99"):
        read_trajectories(bad)
    with pytest.raises(FileNotFoundError, match="no trajectory file"):
        read_trajectories(tmp_path / "missing.jsonl")


def test_leaderboard_saves_trajectories(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    argv = ["--dataset", str(LOCOMO), "--source", "locomo", "--episodes", "1", "--no-progress"]
    argv += ["--systems", "rag-top-k", "mem-alpha", "memory-r1", "--out", str(tmp_path / "lb")]
    assert leaderboard_main([*argv, "--save-trajectories", str(out)]) == 0
    results = json.loads((tmp_path / "lb" / "results.json").read_text())["systems"]
    [episode_dir] = out.iterdir()
    assert sorted(p.name for p in episode_dir.iterdir()) == ["mem-alpha.jsonl", "memory-r1.jsonl", "rag-top-k.jsonl"]
    for trajectory in read_trajectories(episode_dir):
        assert trajectory.complete
        assert trajectory.end["accuracy"] == pytest.approx(results[trajectory.system]["mean"])
        assert trajectory_path(out, trajectory.episode_id, trajectory.system) == Path(trajectory.source_path)
        if trajectory.system == "rag-top-k":  # a memory-free reference: questions, no steps
            assert trajectory.header["reference"] and trajectory.steps == []
            assert all(i.startswith("chunk:") for q in trajectory.questions for i in q["context_ids"])
        else:
            assert len(trajectory.steps) == trajectory.header["num_chunks"]


def test_trajectory_path_is_a_safe_file_name(tmp_path: Path) -> None:
    path = trajectory_path(tmp_path, "../conv 1/é", "my/system")
    assert path.parent.parent == tmp_path and path.name == "my_system.jsonl"
    assert path.parent.name == "_conv_1__"
