"""The GRPO demo's settings are a valid config, and the writer it clones is a good teacher."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from memenv.train.grpo import EVAL_SEED_OFFSET, GRPOConfig, env_factory

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_grpo.py"


def load_example():
    spec = importlib.util.spec_from_file_location("train_grpo_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()
config = GRPOConfig(**example.DEMO)


def test_demo_settings_build_the_env_with_the_short_prompt():
    env = env_factory(config)()
    _, info = env.reset(seed=EVAL_SEED_OFFSET)
    assert info["messages"][0]["content"] == example.SYSTEM_PROMPT.format(budget=1024)
    assert len(env.unwrapped.episode.chunks) == 3 and len(env.unwrapped.episode.questions) == 3


def test_cloned_writer_answers_most_held_out_questions():
    env = env_factory(config)()
    scores = []
    for i in range(config.eval_episodes):
        obs, info = env.reset(seed=EVAL_SEED_OFFSET + i)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(example.fact_paragraph(obs, info))
            done = terminated or truncated
        scores.append(info["qa"]["accuracy"])
    assert np.mean(scores) >= 0.9
