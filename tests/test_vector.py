from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from memenv.parsing import render_tool_calls
from memenv.vector import make_vec
from memenv.wrappers import DiscreteMemoryActions, HashedTextObservation

KWARGS = {"task": "accurate_retrieval", "context_tokens": 512, "chunk_tokens": 128, "num_questions": 2}


def store(chunk: str) -> str:
    if not chunk:
        return ""
    return render_tool_calls(
        [{"name": "new_memory_insert", "arguments": {"memory_type": "episodic", "content": chunk}}]
    )


def trace(envs: gym.vector.VectorEnv, steps: int) -> list:
    """Observations, rewards and end flags over ``steps`` steps, storing every other chunk."""
    obs, _ = envs.reset(seed=11)
    out = [obs]
    for t in range(steps):
        actions = tuple(store(c) if (t + i) % 2 == 0 else "" for i, c in enumerate(obs["chunk"]))
        obs, rewards, terminated, truncated, infos = envs.step(actions)
        out.append((obs, rewards.tolist(), terminated.tolist(), truncated.tolist()))
        if terminated.any():
            out.append(infos["final_obs"].tolist())
    envs.close()
    return out


def test_async_observations_equal_sync_observations_for_the_same_seeds():
    # Longer than one episode (5 chunks), so autoreset and the final observations are compared too.
    sync = make_vec("MemAlpha-v0", 2, "sync", **KWARGS)
    async_ = make_vec("memenv:MemAlpha-v0", 2, "async", **KWARGS)
    assert isinstance(sync, SyncVectorEnv) and isinstance(async_, AsyncVectorEnv)
    sync_trace, async_trace = trace(sync, 8), trace(async_, 8)
    assert sync_trace == async_trace
    first = sync_trace[0]
    assert isinstance(first["chunk"][0], str) and first["chunk"][0]  # real text, not shared-memory garbage
    assert first["chunk"][0] != first["chunk"][1]  # copy i is seeded with seed + i


def test_same_step_autoreset_starts_the_next_episode_in_the_final_step():
    envs = make_vec("MemAlpha-v0", 1, "sync", **KWARGS)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = envs.reset(seed=3)
    n = int(info["num_chunks"][0])
    for _ in range(n):
        obs, _, terminated, _, infos = envs.step(("",))
    assert terminated[0]
    assert infos["final_obs"][0]["chunk"] == ""  # the finished episode's last observation
    assert obs["chunk"][0] != ""  # ... and already the first chunk of the next one
    obs, _, terminated, _, infos = envs.step(("",))  # no wasted step: this one reads a real chunk
    assert not terminated[0] and int(infos["step"][0]) == 1
    envs.close()


def test_async_with_feature_wrappers_matches_sync():
    wrappers = [HashedTextObservation, DiscreteMemoryActions]
    vecs = [make_vec("MemAlpha-v0", 2, mode, wrappers=wrappers, **KWARGS) for mode in ("sync", "async")]
    results = []
    for envs in vecs:
        obs, _ = envs.reset(seed=5)
        rows = [obs]
        for t in range(6):
            obs, rewards, *_ = envs.step(np.array([1, t % 6]))
            rows += [obs, rewards]
        envs.close()
        results.append(rows)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
    assert results[0][0].dtype == np.float32 and results[0][0].shape == (2, 64 + 32 + 13)


def test_make_vec_rejects_bad_arguments():
    with pytest.raises(ValueError, match="vectorization_mode"):
        make_vec("MemAlpha-v0", 2, "vector_entry_point")
    with pytest.raises(ValueError, match="num_envs"):
        make_vec("MemAlpha-v0", 0)


# Issue 13, item 6: plain Gymnasium calls must not return garbage text from shared memory.
def test_gym_make_vec_async_refuses_shared_memory_for_text_at_once():
    from memenv.envs.spaces import TextInSharedMemoryError

    with pytest.raises(ValueError, match="shared_memory=False") as caught:
        gym.make_vec("MemAlpha-v0", 2, vectorization_mode="async", **KWARGS)
    assert isinstance(caught.value.__cause__, TextInSharedMemoryError)
    assert "memenv.make_vec" in str(caught.value.__cause__)
    with pytest.raises(ValueError, match="shared_memory=False"):
        AsyncVectorEnv([lambda: gym.make("MEM1-v0", **KWARGS)] * 2)


def test_gym_make_vec_async_without_shared_memory_matches_sync():
    async_envs = gym.make_vec(
        "MemAlpha-v0", 2, vectorization_mode="async", vector_kwargs={"shared_memory": False}, **KWARGS
    )
    sync_envs = gym.make_vec("MemAlpha-v0", 2, vectorization_mode="sync", **KWARGS)
    try:
        assert isinstance(async_envs, AsyncVectorEnv)
        a_obs, _ = async_envs.reset(seed=3)
        s_obs, _ = sync_envs.reset(seed=3)
        assert a_obs["chunk"] == s_obs["chunk"] and all(len(c) < 10_000 and c.strip("0") for c in a_obs["chunk"])
        actions = tuple(store(c) for c in a_obs["chunk"])
        a_obs, *_ = async_envs.step(actions)
        s_obs, *_ = sync_envs.step(actions)
        assert (
            a_obs["memory"] == s_obs["memory"]
            and "<episodic_memory> (showing 1 most recent of 1)" in a_obs["memory"][0]
        )
    finally:
        async_envs.close()
        sync_envs.close()
