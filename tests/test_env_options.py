"""Constructor options are checked at ``gym.make`` for every env (memenv.envs.options; issue 13, item 7)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import memenv
from memenv.tasks.synthetic import generate

ENV_IDS = [env_id for env_id, _ in memenv.ENVIRONMENTS]
EPISODE = generate("accurate_retrieval", seed=0, context_tokens=512, chunk_tokens=128, num_questions=2)

WRONG_TYPES = [
    ({"beta": "x"}, "beta must be a number, got str"),
    ({"gamma": None}, "gamma must be a number, got NoneType"),
    ({"beta": True}, "beta must be a number, got bool"),
    ({"context_tokens": 2048.0}, "context_tokens must be an int, got float"),
    ({"chunk_tokens": "128"}, "chunk_tokens must be an int, got str"),
    ({"num_questions": 2.5}, "num_questions must be an int"),
    ({"reader_top_k": None}, "reader_top_k must be an int"),
    ({"max_memory_tokens": "100"}, "max_memory_tokens must be an int"),
    ({"feedback_tool_results": "yes"}, "feedback_tool_results must be True or False"),
    ({"episodes": ["x"]}, r"episodes\[0\] must be a memenv.tasks.Episode, got str"),
    ({"episodes": EPISODE}, "episodes must be a list of memenv.tasks.Episode, got Episode"),
    ({"episodes": "abc"}, "episodes must be a list"),
    ({"judge": "strict"}, "judge must be callable"),
    ({"task": 3}, "task must be a str"),
    ({"dataset": 5, "source": "locomo"}, "dataset must be a path"),
    ({"source": 1}, "source must be a str or None"),
]
WRONG_VALUES = [
    ({"beta": math.nan}, "beta must be a finite number, got nan"),
    ({"gamma": math.inf}, "gamma must be a finite number, got inf"),
    ({"context_tokens": 0}, "context_tokens must be between 1 and"),
    ({"num_questions": 0}, "num_questions must be >= 1"),
    ({"num_questions": 101}, "num_questions <= 100"),
    ({"chunk_tokens": 8}, "64 <= chunk_tokens <= context_tokens"),
    ({"chunk_tokens": 4096, "context_tokens": 1024}, "chunk_tokens <= context_tokens"),
    ({"reader_top_k": -1}, "reader_top_k must be >= 0"),
    ({"max_memory_tokens": 0}, "max_memory_tokens must be >= 1"),
    ({"episodes": []}, "episodes is empty"),
    (
        {"episodes": [EPISODE.__class__("x", ("ok", "cut \ud83d"), EPISODE.questions, "accurate_retrieval")]},
        "lone surrogate",
    ),
]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize(("kwargs", "message"), WRONG_TYPES)
def test_wrong_types_fail_at_construction(env_id, kwargs, message):
    with pytest.raises(TypeError, match=message):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize(("kwargs", "message"), WRONG_VALUES)
def test_wrong_values_fail_at_construction(env_id, kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "error", "message"),
    [
        ("MemAlpha-v0", {"visible_k": "5"}, TypeError, "visible_k must be an int"),
        ("MemAlpha-v0", {"related_k": -2}, ValueError, "related_k must be >= 0"),
        ("MemoryR1-v0", {"similar_k": 1.0}, TypeError, "similar_k must be an int"),
        ("MEM1-v0", {"memory_token_budget": "1024"}, TypeError, "memory_token_budget must be an int"),
    ],
)
def test_env_specific_options_are_checked(env_id, kwargs, error, message):
    with pytest.raises(error, match=message):
        gym.make(env_id, **kwargs)


def test_numpy_numbers_are_accepted_as_plain_python_numbers():
    env = gym.make(
        "MemAlpha-v0",
        episodes=(EPISODE,),
        beta=np.float32(0.5),
        reader_top_k=np.int64(3),
        visible_k=np.int32(2),
    ).unwrapped
    assert (env.beta, env.reader_top_k, env.visible_k) == (0.5, 3, 2)
    assert type(env.beta) is float and type(env.reader_top_k) is int and type(env.visible_k) is int
    env.reset(seed=0)
    _, reward, _, _, _ = env.step("")
    assert math.isfinite(reward)
