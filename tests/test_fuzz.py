"""Adversarial and random model output through env.step: never an exception, invariants always hold."""

from __future__ import annotations

import json
import pickle

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


# A -v1 id is the same env class as its -v0 id with another episode generator: fuzzing one of them (the
# three-tier memory) covers what v1 changes, without tripling the slowest tests of the suite.
ENV_IDS = [env_id for env_id, _ in memenv.ENVIRONMENTS if env_id.endswith("-v0") or env_id == "memenv/MemAlpha-v1"]


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


# --- hostile shapes (issue 13): deep nesting, whitespace runs, lone surrogates, huge replies ----------

# Small caps so that "huge" and "too many" are reached with replies hypothesis can build quickly.
CAPS = {"max_reply_chars": 20_000, "max_calls_per_step": 16, "max_entry_chars": 8_000}


@st.composite
def hostile_replies(draw) -> str:
    kind = draw(st.sampled_from(["deep", "whitespace", "surrogate", "huge", "many", "mixed"]))
    name = draw(st.sampled_from(["new_memory_insert", "memory_update", "memory_rewrite"]))
    if kind == "deep":
        depth = draw(st.integers(20, 600))
        nested = draw(st.sampled_from(["[", '{"a":'])) * depth
        closer = "]" if nested.startswith("[") else "}"
        body = f'{{"memory_type": "semantic", "content": "x", "new_memory": "x", "extra": {nested}1{closer * depth}}}'
        return draw(
            st.sampled_from(
                [
                    f'<tool_call>{{"name": "{name}", "arguments": {body}}}</tool_call>',
                    f'{{"memory": [{{"event": "ADD", "text": "x", "old_memory": {nested}1{closer * depth}}}]}}',
                ]
            )
        )
    if kind == "whitespace":
        run = draw(st.sampled_from([" ", "\n", " \t", "\u3000"])) * draw(st.integers(4_200, 9_000))
        content = "a" + run + "b"
        plain = draw(st.booleans())
        return (
            content
            if plain
            else render_tool_calls(
                [{"name": name, "arguments": {"memory_type": "semantic", "content": content, "new_memory": content}}]
            )
        )
    if kind == "surrogate":
        text = draw(st.text(max_size=40)) + draw(st.sampled_from(["\ud83d", "\ude00", "\udfff"]))
        if draw(st.booleans()):
            return text
        reply = render_tool_calls(
            [{"name": name, "arguments": {"memory_type": "episodic", "content": "S", "new_memory": "S"}}]
        )
        return reply.replace('"S"', json.dumps(text, ensure_ascii=True))  # escapes decode to lone surrogates
    if kind == "huge":
        return draw(st.sampled_from(["word ", "{", "<tool_call>", "✿ARGS✿"])) * draw(st.integers(3_000, 6_000))
    if kind == "many":
        calls = [{"name": "memory_delete", "arguments": {"memory_type": "core"}}] * draw(st.integers(10, 40))
        return render_tool_calls(calls, style=draw(st.sampled_from(["hermes", "qwen", "json"])))
    return "".join(
        draw(
            st.lists(st.one_of(st.sampled_from([*FRAGMENTS, "\ud83d", " " * 5000]), st.text(max_size=20)), max_size=20)
        )
    )


@pytest.fixture(scope="module", params=ENV_IDS)
def capped_env(request):
    env = gym.make(request.param, context_tokens=1024, chunk_tokens=256, num_questions=2, **CAPS)
    yield env
    env.close()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(actions=st.lists(hostile_replies(), min_size=1, max_size=3), seed=st.integers(0, 3))
def test_hostile_replies_keep_every_invariant_and_info_stays_plain_data(capped_env, actions, seed):
    check_memory_env(capped_env, actions, seed=seed)
    capped_env.reset(seed=seed)
    for action in actions:
        obs, _, terminated, _, info = capped_env.step(action)
        pickle.loads(pickle.dumps(info))  # an AsyncVectorEnv worker must be able to send it
        json.dumps(info, ensure_ascii=False).encode("utf-8")  # and a logger must be able to write it
        obs["memory"].encode("utf-8")
        obs["chunk"].encode("utf-8")
        if terminated:
            break
