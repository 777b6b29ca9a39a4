from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest

import memenv
from memenv.wrappers import SUPPORTED, DiscreteMemoryActions, HashedTextObservation, MemoryBudget

sb3 = pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")

from stable_baselines3.common.env_checker import check_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"task": "accurate_retrieval", "context_tokens": 1024, "chunk_tokens": 128, "num_questions": 2}


def wrapped(env_id: str, budget: bool) -> gym.Env:
    env = gym.make(env_id, **SMALL)
    if budget:
        env = MemoryBudget(env, max_tokens=256)
    return DiscreteMemoryActions(HashedTextObservation(env))


def load_example():
    spec = importlib.util.spec_from_file_location("sb3_ppo", ROOT / "examples" / "sb3_ppo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("budget", [False, True])
@pytest.mark.parametrize("env_id", [env_id for env_id, _ in memenv.ENVIRONMENTS])
def test_sb3_check_env_passes_with_no_warnings(env_id, budget):
    env = wrapped(env_id, budget)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, warn=True)


def test_ppo_runs_a_few_hundred_steps():
    torch.set_num_threads(1)
    env = wrapped("MemAlpha-v0", budget=True)
    model = sb3.PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    assert model.num_timesteps == 256
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


def test_ppo_beats_random_on_held_out_episodes():
    # The example script itself, with a small budget of steps (the README's full run uses more).
    example = load_example()
    result = example.main(
        [
            "--timesteps", "12000", "--seed", "0", "--train-episodes", "100", "--eval-episodes", "30",
            "--curve-every", "0",
        ]
    )  # fmt: skip
    assert set(result) == {"ppo", "random"} | {f"always_{op}" for op in SUPPORTED["mem_alpha"]}
    assert result["ppo"] > result["random"]


def test_the_example_trains_on_a_reader_free_recall():
    example = load_example()
    env = example.make_env(example.Args(qa_signal="answer_recall"))
    assert env.unwrapped.qa_signal == "answer_recall"
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(2)  # store_facts
        done = terminated or truncated
    assert info["reward_components"]["r1_qa"] == info["qa"]["answer_recall"] > 0


@pytest.mark.skipif(os.environ.get("MEMENV_SLOW") != "1", reason="about 4 minutes; set MEMENV_SLOW=1")
def test_ppo_on_answer_recall_beats_every_fixed_policy():
    example = load_example()
    result = example.main(["--timesteps", "80000", "--seed", "0", "--curve-every", "0", "--qa-signal", "answer_recall"])
    best_fixed = max(v for k, v in result.items() if k != "ppo")
    assert result["ppo"] > best_fixed


def test_the_example_plays_suite_v1():
    example = load_example()
    args = example.Args(suite="v1")
    env = example.make_env(args)
    assert env.unwrapped.spec.id == "MemAlpha-v1" and env.unwrapped.suite == "v1"
    episodes = example.episodes_from(args, range(-1, -3, -1))
    assert [e.id for e in episodes] == ["accurate_retrieval-v1--1-1024", "accurate_retrieval-v1--2-1024"]
    obs, _ = env.reset(seed=0, options={"episode": episodes[0]})
    assert env.observation_space.contains(obs)


@pytest.mark.skipif(os.environ.get("MEMENV_SLOW") != "1", reason="about 4 minutes; set MEMENV_SLOW=1")
def test_ppo_on_suite_v1_beats_every_fixed_policy():
    example = load_example()
    result = example.main(["--suite", "v1", "--timesteps", "80000", "--seed", "0", "--curve-every", "0"])
    best_fixed = max(v for k, v in result.items() if k != "ppo")
    assert result["ppo"] > best_fixed
