"""Model output cannot crash, poison or stall an env (memenv.limits): nesting, surrogates, size caps.

Regression tests for issue 13, items 3-5, on every registered environment; the vector-env case goes
through a real AsyncVectorEnv.
"""

from __future__ import annotations

import json
import pickle
import time

import gymnasium as gym
import pytest

import memenv
from memenv.limits import MAX_ARGUMENT_DEPTH, bounded_call, well_formed
from memenv.memory import TOO_LONG, Memory, MemoryOpError
from memenv.parsing import render_tool_calls
from memenv.tools import REPLY_TOO_LONG, TOO_MANY_CALLS, ToolCall
from memenv.vector import make_vec

ENV_IDS = [env_id.removeprefix("memenv/") for env_id, _ in memenv.ENVIRONMENTS]  # the short ids (aliases)
SMALL = {"task": "accurate_retrieval", "context_tokens": 512, "chunk_tokens": 128, "num_questions": 2}
DEEP = "[" * 500 + "]" * 500  # ~1 KB of JSON nested 500 levels deep


def write(env_id: str, text: str) -> str:
    """A reply that writes ``text`` as one entry (or the paragraph) in ``env_id``."""
    if env_id.startswith("MEM1-"):
        return render_tool_calls([{"name": "memory_rewrite", "arguments": {"new_memory": text}}])
    if env_id.startswith("MemoryR1-"):
        return json.dumps({"memory": [{"event": "ADD", "text": text}]})
    return render_tool_calls([{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": text}}])


def deep_reply(env_id: str) -> str:
    if env_id.startswith("MemoryR1-"):
        return '{"memory": [{"event": "ADD", "text": "x", "old_memory": ' + DEEP + "}]}"
    name = "memory_rewrite" if env_id.startswith("MEM1-") else "new_memory_insert"
    return f'<tool_call>{{"name": "{name}", "arguments": {{"content": "x", "extra": {DEEP}}}}}</tool_call>'


def memory_texts(env: gym.Env) -> list[str]:
    snapshot = env.unwrapped.memory.snapshot()
    return [snapshot["core"], *(e["text"] for tier in ("semantic", "episodic") for e in snapshot[tier])]


# --- item 3: deep nesting never reaches info --------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_deeply_nested_arguments_are_a_parse_error_and_info_pickles(env_id):
    env = gym.make(env_id, **SMALL)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(deep_reply(env_id))
    [result] = info["tool_results"]
    assert (result["ok"], result["error"], result["arguments"]) == (False, "parse_error", {})
    assert f"nested deeper than {MAX_ARGUMENT_DEPTH} levels" in result["message"]
    assert info["reward_components"]["r2_tool_call"] == 0.0
    assert pickle.loads(pickle.dumps(info))["tool_results"] == info["tool_results"]


def test_nesting_up_to_the_cap_is_kept_and_copied():
    arguments: dict = {"a": "leaf"}
    for _ in range(MAX_ARGUMENT_DEPTH - 1):
        arguments = {"a": arguments}
    call = ToolCall("new_memory_insert", arguments)
    kept = bounded_call(call)
    assert kept.error is None and kept.arguments == arguments and kept.arguments is not arguments
    too_deep = bounded_call(ToolCall("new_memory_insert", {"a": arguments}))
    assert too_deep.arguments == {} and too_deep.error is not None


def test_a_deep_reply_does_not_kill_an_async_vector_env():
    # Before the fix AsyncVectorEnv.step raised RecursionError pickling info, and the vector env was dead.
    envs = make_vec("MemAlpha-v0", 2, vectorization_mode="async", **SMALL)
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step((deep_reply("MemAlpha-v0"), ""))
        assert infos["tool_results"][0][0]["error"] == "parse_error"
        obs, _, _, _, _ = envs.step((write("MemAlpha-v0", "Alice lives in Berlin."), ""))
        assert "Alice lives in Berlin." in obs["memory"][0]
    finally:
        envs.close()


# --- item 4: lone surrogates never reach memory, observations or info --------------------------------


def test_well_formed_replaces_lone_surrogates_and_joins_pairs():
    assert well_formed("plain") == "plain"
    text = "naïve 東京 😀"
    assert well_formed(text) is text
    assert well_formed("smile \ud83d") == "smile \ufffd"
    assert well_formed("\ude00 end") == "\ufffd end"
    assert well_formed("\ud83d\ude00") == "😀"


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("where", ["reply", "json escape"])
def test_lone_surrogates_are_replaced_so_everything_encodes(env_id, where):
    env = gym.make(env_id, **SMALL)
    env.reset(seed=0)
    if where == "reply":  # a completion cut inside an emoji
        reply = write(env_id, "Alice smiled \ud83d")
    else:  # a JSON escape decodes to a lone surrogate
        reply = write(env_id, "Alice smiled SURROGATE").replace("SURROGATE", "\\ud83d")
    obs, _, _, _, info = env.step(reply)
    assert [r["ok"] for r in info["tool_results"]] == [True]
    assert "Alice smiled \ufffd" in memory_texts(env)
    obs["memory"].encode("utf-8")
    json.dumps(info, ensure_ascii=False).encode("utf-8")
    for message in info["messages"]:
        message["content"].encode("utf-8")


def test_memory_api_stores_well_formed_text():
    memory = Memory()
    assert memory.insert("semantic", " cut \ud83d ").text == "cut \ufffd"
    memory.set_core("core \udfff")
    assert memory.core == "core \ufffd"


# --- item 5: documented caps with classified failures -------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reply_over_the_cap_is_not_read(env_id):
    env = gym.make(env_id, **SMALL, max_reply_chars=5_000)
    env.reset(seed=0)
    before = env.unwrapped.memory.snapshot()
    started = time.perf_counter()
    _, _, _, _, info = env.step(write(env_id, "word " * 1_000))
    assert time.perf_counter() - started < 5.0
    assert [(r["ok"], r["error"]) for r in info["tool_results"]] == [(False, REPLY_TOO_LONG)]
    assert "over the cap of 5,000" in info["parse_error"]
    assert info["reward_components"]["r2_tool_call"] == 0.0
    assert env.unwrapped.memory.snapshot() == before


def many_calls(env_id: str, n: int) -> str:
    if env_id.startswith("MemoryR1-"):
        return json.dumps({"memory": [{"event": "ADD", "text": f"fact {i}"} for i in range(n)]})
    name, argument = (
        ("memory_rewrite", "new_memory") if env_id.startswith("MEM1-") else ("memory_update", "new_content")
    )
    return render_tool_calls(
        [{"name": name, "arguments": {"memory_type": "core", argument: f"v{i}"}} for i in range(n)]
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_too_many_calls_run_none_and_earn_nothing(env_id):
    env = gym.make(env_id, **SMALL, max_calls_per_step=10)
    env.reset(seed=0)
    _, _, _, _, info = env.step(many_calls(env_id, 11))
    assert [(r["ok"], r["error"]) for r in info["tool_results"]] == [(False, TOO_MANY_CALLS)]
    assert "11 calls, over the cap of 10" in info["tool_results"][0]["message"]
    assert info["reward_components"]["r2_tool_call"] == 0.0
    assert memory_texts(env) == [""]
    # At the cap, every call runs.
    _, _, _, _, info = env.step(many_calls(env_id, 10))
    assert [r["ok"] for r in info["tool_results"]] == [True] * 10
    assert info["reward_components"]["r2_tool_call"] == 1.0


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_entry_over_the_cap_fails_too_long_before_tokenising(env_id):
    env = gym.make(env_id, **SMALL)
    env.reset(seed=0)
    started = time.perf_counter()
    _, _, _, _, info = env.step(write(env_id, "x" * 100_001))  # default cap: 100,000 characters
    assert time.perf_counter() - started < 2.0
    [result] = info["tool_results"]
    assert (result["ok"], result["error"]) == (False, TOO_LONG)
    assert "100,001 characters, over the cap of 100,000" in result["message"]
    assert memory_texts(env) == [""]
    _, _, _, _, info = env.step(write(env_id, "y" * 100_000))
    assert info["tool_results"][0]["ok"]


def test_memory_entry_cap_applies_to_every_write():
    memory = Memory(max_entry_chars=10)
    entry = memory.insert("episodic", "0123456789")
    for write_once in (
        lambda: memory.insert("semantic", "01234567890"),
        lambda: memory.update("episodic", "01234567890", entry.id),
        lambda: memory.set_core("01234567890"),
    ):
        with pytest.raises(MemoryOpError) as caught:
            write_once()
        assert caught.value.kind == TOO_LONG
    assert memory.snapshot() == {"core": "", "semantic": [], "episodic": [{"id": entry.id, "text": "0123456789"}]}


def test_stream_size_is_capped_at_construction():
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"context_tokens must be between 1 and 4,194,304, got 1,000,000,000"):
        gym.make("MemAlpha-v0", context_tokens=10**9)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("option", ["max_reply_chars", "max_calls_per_step", "max_entry_chars"])
def test_caps_are_checked_options(option):
    with pytest.raises(ValueError, match=f"{option} must be >= 1"):
        gym.make("MEM1-v0", **{option: 0})
    with pytest.raises(TypeError, match=f"{option} must be an int"):
        gym.make("MEM1-v0", **{option: 1.5})


# --- item 3: a huge whitespace run (tiktoken panicked) through env.step and memenv.tasks.load ---------


def test_a_million_whitespace_reply_is_stored_without_a_panic():
    env = gym.make("MEM1-v0", **SMALL, max_reply_chars=2_000_000, max_entry_chars=2_000_000)
    env.reset(seed=0)
    try:
        _, _, _, _, info = env.step("Alice" + " " * 1_000_000 + "lives in Berlin.")  # a plain reply is enough
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        pytest.fail(f"env.step raised {type(exc).__name__}")
    assert info["tool_results"][0]["ok"]
    assert env.unwrapped.memory.core.startswith("Alice") and 0 < env.unwrapped.memory.tokens("core") <= 1024


def test_bounded_call_copies_every_field_of_a_call():
    # bounded_call rebuilds the call from these four fields (cheaper than dataclasses.replace): a field
    # added to ToolCall must be added there too.
    import dataclasses

    assert [f.name for f in dataclasses.fields(ToolCall)] == ["name", "arguments", "error", "raw"]
    call = ToolCall("memory_update", {"k\ud800": ["v\udfff", {"x": 1}], 2: None}, "why", "raw text")
    expected = ToolCall("memory_update", {"k\ufffd": ["v\ufffd", {"x": 1}], 2: None}, "why", "raw text")
    assert bounded_call(call) == expected
    deep: dict = {}
    for _ in range(MAX_ARGUMENT_DEPTH + 1):
        deep = {"a": deep}
    refused = bounded_call(ToolCall("n\ud800", deep, None, "r"))
    assert (refused.name, refused.arguments, refused.raw) == ("n\ufffd", {}, "r") and "nested deeper" in refused.error


def test_bounded_call_fast_path_for_flat_ascii_arguments_equals_the_general_copy(monkeypatch):
    # Flat ASCII string arguments skip the recursive copy; the result must be what the copy gives: an
    # equal, fresh dict in the same order, the other fields kept; anything else takes the general path.
    import random

    from memenv import limits

    class Text(str):
        pass

    rng = random.Random(3)
    keys = ["memory_type", "content", "new_content", "memory_id", "é", "k\ud800", 1, None, Text("t")]
    values = ["semantic", "", "A b.", "x\ny", "😀", "v\udfff", Text("s"), 3, None, ["a"], {"a": "b"}, ("t",)]
    names = ["new_memory_insert", " memory_update", "é", "n\ud800", ""]
    calls = []
    for _ in range(3000):
        arguments = {
            rng.choice(keys) if rng.random() < 0.2 else rng.choice(keys[:4]): rng.choice(values)
            if rng.random() < 0.3
            else rng.choice(values[:4])
            for _ in range(rng.randint(0, 4))
        }
        calls.append(ToolCall(rng.choice(names), arguments, rng.choice([None, "why"]), rng.choice(["", "raw"])))
    calls.append(ToolCall("n", ["not", "a", "dict"]))
    depths = [MAX_ARGUMENT_DEPTH, 1, 0]
    fast = [[bounded_call(call, depth) for depth in depths] for call in calls]
    assert sum(limits._flat_ascii(call.arguments) for call in calls[:-1]) > 1000  # the fast path is taken
    monkeypatch.setattr(limits, "_flat_ascii", lambda arguments: False)
    for call, results in zip(calls, fast, strict=True):
        for depth, result in zip(depths, results, strict=True):
            expected = bounded_call(call, depth)
            assert result == expected, (call, depth)
            assert list(result.arguments) == list(expected.arguments)  # the same order
            assert type(result.arguments) is type(expected.arguments)
            assert result.arguments is not call.arguments or result.error is not None
