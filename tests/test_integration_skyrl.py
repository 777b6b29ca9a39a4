"""memenv.integrations.skyrl: memenv episodes through skyrl_gym's real registry and BaseTextEnv."""

from __future__ import annotations

import importlib
import json
import os

import pytest

if "skyrl" in os.environ.get("MEMENV_REQUIRE", "").split(","):
    importlib.import_module("skyrl_gym")
else:
    pytest.importorskip("skyrl_gym")

import gymnasium as gym
import skyrl_gym
from skyrl_gym.envs.base_text_env import BaseTextEnv

from memenv.integrations.skyrl import ENTRY_POINT, MemenvTextEnv, dataset_rows, register
from memenv.train.losses import step_rewards

ENV_KWARGS = {"task": "accurate_retrieval", "context_tokens": 192, "chunk_tokens": 64, "num_questions": 2}


def store_chunk(chat: list[dict]) -> str:
    """Scripted policy: store the latest chunk message ("Chunk k of n: ...") as one semantic entry."""
    content = chat[-1]["content"]
    arguments = {"memory_type": "semantic_memory", "content": content[content.rindex("Chunk ") :]}
    call = {"name": "new_memory_insert", "arguments": arguments}
    return f"<tool_call>{json.dumps(call)}</tool_call>"


def run_episode(env: BaseTextEnv, prompt: list[dict]) -> tuple[list[dict], list[dict]]:
    """What SkyRL's generator does: init, then reply / step / append observations until done."""
    chat, _ = env.init(prompt)
    outputs = []
    while True:
        reply = store_chunk(chat)
        out = env.step(reply)
        outputs.append(out)
        chat = [*chat, {"role": "assistant", "content": reply}, *out["observations"]]
        if out["done"]:
            return chat, outputs


def reference(seed: int) -> tuple[list[dict], float, float, list[float]]:
    """The same episode played on the memenv env directly."""
    env = gym.make("MemAlpha-v0", **ENV_KWARGS)
    _, info = env.reset(seed=seed)
    components, messages, scalars = [], [], []
    while True:
        messages.append(info["messages"])
        reply = store_chunk(info["messages"])
        _, reward, terminated, _, info = env.step(reply)
        components.append(info["reward_components"])
        scalars.append(reward)
        if terminated:
            return messages, components, env.unwrapped, scalars


def test_registered_once_and_guarded():
    assert skyrl_gym.registry["memenv"].entry_point == ENTRY_POINT
    register()  # again: a no-op, not skyrl_gym's duplicate-id error
    with pytest.raises(ValueError, match="already taken"):
        register("gsm8k")


def test_a_short_episode_end_to_end_through_skyrl_gym_make():
    (row,) = dataset_rows(1, env_kwargs=ENV_KWARGS, seed_offset=5)
    extras = {k: v for k, v in row.items() if k not in ("prompt", "env_class")} | {"max_turns": 10}
    env = skyrl_gym.make(row["env_class"], env_config={}, extras=extras)
    assert isinstance(env, MemenvTextEnv)
    chat, outputs = run_episode(env, row["prompt"])
    messages, components, unwrapped, scalars = reference(5)

    assert len(outputs) == len(messages) >= 3 and env.max_turns == len(messages)
    assert chat[:2] == messages[0]  # the env's own first prompt, not the dataset's placeholder
    assert [o["done"] for o in outputs] == [False] * (len(messages) - 1) + [True]
    for step, out in enumerate(outputs[:-1]):
        (observation,) = out["observations"]
        assert observation["role"] == "user" and observation["content"].startswith("Memory now:\n")
        assert observation["content"].endswith(messages[step + 1][-1]["content"])  # the next chunk
        memory = observation["content"][: -len(messages[step + 1][-1]["content"])]
        assert messages[step][-1]["content"][-40:] in memory  # the chunk just stored shows in the memory
        assert out["reward"] == 0.0 and out["metadata"]["reward_components"] == components[step]
    trajectory = step_rewards(components, unwrapped.beta, unwrapped.gamma, "trajectory")[-1]
    assert outputs[-1]["reward"] == pytest.approx(trajectory) and outputs[-1]["observations"] == []
    assert outputs[-1]["metadata"]["qa"]["accuracy"] > 0  # storing every chunk answers questions
    metrics = env.get_metrics()
    assert metrics["steps"] == len(messages) and metrics["r2_tool_call"] == 1.0
    assert metrics["accuracy"] == outputs[-1]["metadata"]["qa"]["accuracy"]
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("")
    env.close()

    # Sparse mode: the env's own scalar rewards, which sum to the episode's total.
    sparse = skyrl_gym.make("memenv", env_config={"reward_mode": "sparse", "observation": "chunk"}, extras=extras)
    _, outputs = run_episode(sparse, row["prompt"])
    assert [o["reward"] for o in outputs] == pytest.approx(scalars)
    assert outputs[0]["observations"][0]["content"] == messages[1][-1]["content"]


def test_bad_options_name_the_field():
    with pytest.raises(ValueError, match="reward_mode"):
        MemenvTextEnv({"reward_mode": "dense"}, {})
    with pytest.raises(ValueError, match="observation"):
        MemenvTextEnv({}, {"observation": "all"})
