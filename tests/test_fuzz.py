"""Adversarial and random model output through env.step: never an exception, invariants always hold."""

from __future__ import annotations

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memenv
from memenv.parsing import parse_tool_calls, render_tool_calls
from memenv.testing import check_memory_env

NAMES = ["new_memory_insert", "memory_update", "memory_delete", "memory_search", "Memory_Delete"]
TYPES = ["core_memory", "semantic_memory", "episodic_memory", "core", "semantic", "episodic", "procedural", 7, None]
FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "✿FUNCTION✿:",
    "✿ARGS✿:",
    "✿RESULT✿:",
    "✿RETURN✿:",
    "{",
    "}",
    "[",
    "]",
    '"',
    "```json",
    "\\u0000",
    "<|endoftext|>",
    "\n",
]

argument_values = st.one_of(
    st.text(max_size=200),
    st.sampled_from(TYPES),
    st.integers(),
    st.lists(st.text(max_size=5), max_size=3),
    st.just("x " * 800),  # longer than the core cap
)
calls = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "arguments": st.dictionaries(
            st.sampled_from(["memory_type", "content", "new_content", "memory_id", "extra"]),
            argument_values,
            max_size=4,
        ),
    }
)


@st.composite
def replies(draw) -> str:
    style = draw(st.sampled_from(["hermes", "qwen", "json", "junk", "mixed"]))
    if style == "junk":
        return draw(st.text(max_size=400))
    if style == "mixed":
        return "".join(draw(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=30)))
    text = render_tool_calls(draw(st.lists(calls, min_size=1, max_size=4)), style=style)
    if draw(st.booleans()):  # damage it
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(FRAGMENTS)) + text[cut:]
    return text


ENV_IDS = [env_id for env_id, _ in memenv.ENVIRONMENTS]


@pytest.fixture(scope="module", params=ENV_IDS)
def env(request):
    env = gym.make(request.param, context_tokens=2048, chunk_tokens=256, num_questions=3)
    yield env
    env.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(replies(), min_size=1, max_size=6), seed=st.integers(0, 3))
def test_random_replies_keep_every_invariant(env, actions, seed):
    check_memory_env(env, actions, seed=seed)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=2000))
def test_parser_never_raises(text):
    parse_tool_calls(text)


def test_core_never_exceeds_its_cap_and_ids_stay_unique_under_a_busy_writer():
    # Mem-α's tools; MEM1-v0 and MemoryR1-v0 test their own busy writers in their env tests.
    env = gym.make("MemAlpha-v0", context_tokens=2048, chunk_tokens=256, num_questions=3)
    busy = render_tool_calls(
        [
            {"name": "memory_update", "arguments": {"memory_type": "core_memory", "new_content": "word " * 3000}},
            {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": "same"}},
            {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": "same"}},
        ]
    )
    steps = check_memory_env(env, [busy], seed=1)
    memory = env.unwrapped.memory
    assert steps == len(env.unwrapped.episode.chunks)
    assert 0 < memory.tokens("core") <= 512
    assert [e.text for e in memory.entries("semantic")] == ["same"]
