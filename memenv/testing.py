"""Conformance checks every memenv environment must pass (in the spirit of PettingZoo's ``api_test``).

Run them on your own environment or wrapper::

    from memenv.testing import check_memory_env
    check_memory_env(gym.make("memenv/MemAlpha-v0"), ["", "<tool_call>{...}</tool_call>", "garbage"])

Beyond Gymnasium's ``check_env``, they assert what memory environments promise: model output never
raises inside ``step``; the reward is the weighted sum of the reported parts; r2 is the share of calls
that executed; the core never exceeds its token cap; memory ids are unique; and a step whose calls all
failed leaves the memory exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import cycle, islice
from typing import Any

import gymnasium as gym

from memenv.reward import COMPONENTS


def check_memory_env(env: gym.Env, actions: Sequence[Any], *, seed: int = 0, max_steps: int | None = None) -> int:
    """Play ``actions`` (cycled) through one episode, checking the invariants at every step.

    Returns the number of steps taken. Raises ``AssertionError`` naming the broken invariant.
    """
    if not actions:
        raise ValueError("actions is empty")
    base = env.unwrapped
    obs, info = env.reset(seed=seed)
    assert env.observation_space.contains(obs), "reset observation is outside observation_space"
    steps = 0
    limit = max_steps if max_steps is not None else info["num_chunks"]
    for action in islice(cycle(actions), limit):
        before = base.memory.snapshot()
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        assert env.observation_space.contains(obs), f"step {steps}: observation outside observation_space"
        assert isinstance(reward, float) and math.isfinite(reward), f"step {steps}: reward {reward!r} is not finite"
        parts = info["reward_components"]
        assert set(COMPONENTS) <= set(parts), f"step {steps}: reward_components lacks {set(COMPONENTS) - set(parts)}"
        expected = parts["r1_qa"] + parts["r2_tool_call"] + base.beta * parts["r3_compression"]
        expected += base.gamma * parts["r4_content"]
        assert math.isclose(reward, expected, abs_tol=1e-9), f"step {steps}: reward {reward} != sum of parts {expected}"
        results = info["tool_results"]
        executed = sum(r["ok"] for r in results)
        share = executed / len(results) if results else 0.0
        assert math.isclose(parts["r2_tool_call"], share), f"step {steps}: r2 {parts['r2_tool_call']} != {share}"
        if executed == 0:
            assert base.memory.snapshot() == before, f"step {steps}: failed calls changed the memory"
        _check_memory(base, steps)
        if terminated or truncated:
            assert "qa" in info and 0.0 <= info["qa"]["accuracy"] <= 1.0, "terminal info lacks qa accuracy"
            assert math.isclose(info["qa"]["accuracy"], parts["r1_qa"]), "qa accuracy differs from r1"
            break
    return steps


def _check_memory(env: Any, step: int) -> None:
    memory = env.memory
    snapshot = memory.snapshot()
    if "core" in snapshot:
        assert memory.tokens("core") <= memory.core_token_limit, f"step {step}: core exceeds its token cap"
    ids = [entry["id"] for value in snapshot.values() if isinstance(value, list) for entry in value]
    assert len(ids) == len(set(ids)), f"step {step}: duplicate memory ids {ids}"
