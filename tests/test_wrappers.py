from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import memenv
from memenv import tokenizer
from memenv.memory import Memory
from memenv.parsing import render_tool_calls
from memenv.tasks.records import Episode, Question
from memenv.wrappers import (
    OVER_BUDGET,
    SUPPORTED,
    DiscreteMemoryActions,
    HashedTextObservation,
    MemoryBudget,
    dialect_of,
    hashed_features,
    salience,
    salient_sentences,
)

ROOT = Path(__file__).resolve().parents[1]
FACT = "The access code of the Onyx Cistern is 8734."
GUARD = "Imogen Zielinski guards the Sunken Tower."
CHUNKS = (
    f"The miller walked to the river. {FACT} Rain fell all day.",
    f"{GUARD} The baker sold bread.",
    "The bells rang twice in the evening.",
)
EPISODE = Episode(
    id="tiny",
    chunks=CHUNKS,
    questions=(Question("What is the access code of the Onyx Cistern?", ("8734",), "subem"),),
    competency="accurate_retrieval",
)
STATE = HashedTextObservation.STATE_FEATURES


def call(tier: str, content: str) -> str:
    return render_tool_calls([{"name": "new_memory_insert", "arguments": {"memory_type": tier, "content": content}}])


def mem_alpha() -> gym.Env:
    return gym.make("MemAlpha-v0", episodes=[EPISODE])


def ops_env(operations=None, **kwargs) -> DiscreteMemoryActions:
    return DiscreteMemoryActions(mem_alpha(), operations, facts_per_chunk=1, **kwargs)


# -- features -------------------------------------------------------------------------------------------


def test_salience_and_salient_sentences_by_hand():
    # 9 words; capitalised after the first: Onyx, Cistern; one number: (2 + 2 * 1) / 9.
    assert salience(FACT) == pytest.approx(4 / 9)
    assert salience(GUARD) == pytest.approx(3 / 6)  # Zielinski, Sunken, Tower
    assert salience("The miller walked to the river.") == 0.0
    assert salience("") == 0.0
    assert salient_sentences(CHUNKS[0], 1) == [FACT]
    # Ties (0.0 and 0.0) go to the earlier sentence; the result keeps the chunk's order.
    assert salient_sentences(CHUNKS[0], 2) == ["The miller walked to the river.", FACT]


def test_hashed_features_use_a_stable_hash():
    h = int.from_bytes(hashlib.blake2b(b"onyx", digest_size=8).digest(), "little")
    vector = hashed_features("Onyx onyx", 8)
    expected = np.zeros(8, dtype=np.float32)
    expected[h % 8] = 1.0 if h >> 63 else -1.0  # two counts of one word, L2-normalised
    np.testing.assert_array_equal(vector, expected)
    assert not hashed_features("", 8).any()
    assert np.linalg.norm(hashed_features(CHUNKS[0], 16)) == pytest.approx(1.0)


def test_hashed_features_identical_in_another_process_with_another_hash_seed():
    code = "import json; from memenv.wrappers import hashed_features as f; print(json.dumps(f(%r, 32).tolist()))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code % CHUNKS[0]], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    assert json.loads(out.stdout) == hashed_features(CHUNKS[0], 32).tolist()


def test_observation_space_and_state_features():
    env = HashedTextObservation(mem_alpha(), chunk_features=16, memory_features=8)
    assert env.observation_space.shape == (16 + 8 + len(STATE),)
    assert env.observation_space.dtype == np.float32
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["text_observation"]["chunk"] == CHUNKS[0]
    state = dict(zip(STATE, obs[24:].tolist(), strict=True))
    words = CHUNKS[0].replace(".", "").split()
    assert state["step_fraction"] == 0.0
    assert state["chunk_empty"] == 0.0
    assert state["chunk_tokens"] == pytest.approx(tokenizer.count_tokens(CHUNKS[0]) / 2048)
    assert state["memory_used"] == 0.0
    assert state["chunk_fits"] == 1.0  # no budget: anything fits
    # Capitalised words: The, The, Onyx, Cistern, Rain (5) minus one per sentence (3) = 2.
    assert state["capital_share"] == pytest.approx(2 / len(words))
    assert state["number_share"] == pytest.approx(1 / len(words))
    assert state["max_salience"] == pytest.approx((4 / 9) / 2)
    assert state["novelty"] == 1.0  # empty memory
    np.testing.assert_array_equal(obs[:16], hashed_features(CHUNKS[0], 16))

    obs, *_ = env.step(call("episodic", CHUNKS[0]))
    state = dict(zip(STATE, obs[24:].tolist(), strict=True))
    assert state["step_fraction"] == pytest.approx(1 / 3)
    assert state["episodic_fill"] == pytest.approx(tokenizer.count_tokens(CHUNKS[0]) / 2048)
    assert state["entries"] == pytest.approx(1 / 32)
    assert obs[16:24].any()  # the memory view is no longer empty
    env.step("")
    obs, _, terminated, _, _ = env.step("")
    state = dict(zip(STATE, obs[24:].tolist(), strict=True))
    assert terminated and state["step_fraction"] == 1.0 and state["chunk_empty"] == 1.0
    assert not obs[:16].any()


# -- actions --------------------------------------------------------------------------------------------


def test_menu_operations_on_mem_alpha():
    env = ops_env()
    assert dialect_of(env) == "mem_alpha"
    assert env.operations == SUPPORTED["mem_alpha"]
    assert env.action_space == gym.spaces.Discrete(6)
    op = env.operations.index
    env.reset(seed=0)
    assert env.action(op("skip")) == ""
    env.step(op("store_facts"))  # chunk 0 -> its most salient sentence, as one semantic entry
    memory = env.unwrapped.memory
    assert [e.text for e in memory.entries("semantic")] == [FACT]
    env.step(op("refresh_core"))  # chunk 1 -> core = its most salient sentence
    assert memory.core == GUARD
    env.step(op("store_chunk"))  # chunk 2, verbatim, episodic; terminal
    assert [e.text for e in memory.entries("episodic")] == [CHUNKS[2]]

    env.reset(seed=0)
    env.step(op("store_chunk"))
    env.step(op("update_related"))  # the only entry is the most related one: replaced by chunk 1's fact
    memory = env.unwrapped.memory
    assert [e.text for e in memory.entries("episodic")] == [GUARD]
    env.step(op("delete_related"))
    assert memory.entries("episodic") == []


def test_related_operations_write_nothing_without_entries():
    env = ops_env()
    env.reset(seed=0)
    assert env.action(env.operations.index("update_related")) == ""
    assert env.action(env.operations.index("delete_related")) == ""
    with pytest.raises(ValueError, match="action must be in"):
        env.action(6)


def test_other_dialects_render_their_own_action_format():
    memory = Memory(seed=0)
    r1 = DiscreteMemoryActions(mem_alpha(), dialect="memory_r1", facts_per_chunk=1)
    assert r1.operations == ("skip", "store_chunk", "store_facts", "update_related", "delete_related")
    assert json.loads(r1.render("store_facts", CHUNKS[0], memory)) == {
        "memory": [{"id": "", "text": FACT, "event": "ADD"}]
    }
    assert r1.render("skip", CHUNKS[0], memory) == ""
    entry = memory.insert("semantic", "The Onyx Cistern code is old.")
    assert json.loads(r1.render("delete_related", CHUNKS[0], memory)) == {
        "memory": [{"id": entry.id, "text": "", "event": "DELETE"}]
    }

    mem1 = DiscreteMemoryActions(mem_alpha(), dialect="mem1", facts_per_chunk=1)
    memory.set_core("Known: nothing.")
    assert mem1.render("skip", CHUNKS[0], memory) == ""

    def rewrite(text: str) -> str:
        return render_tool_calls([{"name": "memory_rewrite", "arguments": {"new_memory": text}}])

    assert mem1.render("store_facts", CHUNKS[0], memory) == rewrite(f"Known: nothing. {FACT}")
    assert mem1.render("store_chunk", CHUNKS[1], memory) == rewrite(f"Known: nothing. {CHUNKS[1]}")
    with pytest.raises(ValueError, match="not supported by mem1"):
        DiscreteMemoryActions(mem_alpha(), ("delete_related",), dialect="mem1")


def test_refresh_core_keeps_the_newest_sentences_within_its_cap():
    env = ops_env(core_tokens=16)
    env.reset(seed=0)
    op = env.operations.index("refresh_core")
    env.step(op)
    env.step(op)
    # FACT + GUARD is over 16 tokens: the oldest sentence is dropped.
    assert tokenizer.count_tokens(f"{FACT} {GUARD}") > 16
    assert env.unwrapped.memory.core == GUARD


# -- budget ---------------------------------------------------------------------------------------------


def test_budget_refuses_writes_past_the_cap_and_leaves_memory_unchanged():
    first = tokenizer.count_tokens(CHUNKS[0])
    base = MemoryBudget(mem_alpha(), max_tokens=first + 5, tool_call_weight=0.0, content_weight=0.0, beta=0.5)
    env = DiscreteMemoryActions(base, facts_per_chunk=1)
    store = env.operations.index("store_chunk")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(store)
    assert reward == 0.0  # r2 and r4 weighted 0; r1, r3 only at the end
    assert info["budget"] == {"max_tokens": first + 5, "memory_tokens": first, "refused": 0}
    snapshot = env.unwrapped.memory.snapshot()
    _, reward, _, _, info = env.step(store)
    assert info["budget"]["refused"] == 1
    assert info["tool_results"][0]["error"] == OVER_BUDGET
    assert info["reward_components"]["r2_tool_call"] == 0.0
    assert env.unwrapped.memory.snapshot() == snapshot
    _, reward, terminated, _, info = env.step(env.operations.index("skip"))
    stream = sum(tokenizer.count_tokens(c) for c in CHUNKS)
    assert terminated and info["qa"]["accuracy"] == 1.0  # the fact was in the stored chunk
    assert reward == pytest.approx(1.0 + 0.5 * (1 - first / stream))


def test_budget_penalty_and_same_ids_as_without_budget():
    env = MemoryBudget(mem_alpha(), max_tokens=20, refusal_penalty=0.25)
    env.reset(seed=7)
    _, reward, _, _, info = env.step(call("semantic", CHUNKS[0]))  # too long for 20 tokens
    assert info["budget"]["refused"] == 1
    # Default weights are the env's: r2 = 0 (failed), r4 = 0, minus the penalty.
    assert reward == pytest.approx(-0.25)
    env.step(call("semantic", GUARD))
    plain = mem_alpha()
    plain.reset(seed=7)
    plain.step(call("semantic", GUARD))
    assert env.unwrapped.memory.snapshot() == plain.unwrapped.memory.snapshot()  # refused insert drew no id
    with pytest.raises(ValueError, match="already has a memory budget"):
        MemoryBudget(env, max_tokens=10)
    with pytest.raises(ValueError, match="max_tokens"):
        MemoryBudget(mem_alpha(), max_tokens=0)


@pytest.mark.parametrize(
    ("env_id", "operation", "tier"),
    [("MEM1-v0", "store_facts", "core"), ("MemoryR1-v0", "store_facts", "semantic")],
)
def test_menu_acts_in_the_other_memory_systems(env_id, operation, tier):
    env = DiscreteMemoryActions(gym.make(env_id, episodes=[EPISODE]), facts_per_chunk=1)
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.operations.index(operation))
    assert [r["ok"] for r in info["tool_results"]] == [True]
    memory = env.unwrapped.memory
    held = memory.core if tier == "core" else [e.text for e in memory.entries(tier)]
    assert held == (FACT if tier == "core" else [FACT])
    _, _, _, _, info = env.step(env.operations.index("skip"))
    assert info["tool_results"] == [] and info["reward_components"]["r2_tool_call"] == 0.0


def test_features_scale_with_the_budget_below():
    env = HashedTextObservation(MemoryBudget(mem_alpha(), max_tokens=100))
    obs, _ = env.reset(seed=0)
    state = dict(zip(STATE, obs[96:].tolist(), strict=True))
    assert state["chunk_tokens"] == pytest.approx(tokenizer.count_tokens(CHUNKS[0]) / 100)
    env = HashedTextObservation(MemoryBudget(mem_alpha(), max_tokens=5))
    obs, _ = env.reset(seed=0)
    assert obs[96 + STATE.index("chunk_fits")] == 0.0


@pytest.mark.parametrize("env_id", [env_id for env_id, _ in memenv.ENVIRONMENTS])
def test_full_stack_plays_every_registered_env(env_id):
    env = gym.make(env_id, task="accurate_retrieval", context_tokens=1024, chunk_tokens=128, num_questions=2)
    env = DiscreteMemoryActions(HashedTextObservation(MemoryBudget(env, max_tokens=200)))
    assert env.operations == SUPPORTED[dialect_of(env)]
    obs, _ = env.reset(seed=1)
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(steps % env.action_space.n)
        assert env.observation_space.contains(obs) and np.isfinite(reward)
        assert info["budget"]["memory_tokens"] <= 200
        steps += 1
        if terminated or truncated:
            break
    assert steps == info["num_chunks"]


def test_budget_refusal_leaves_memory_r1_bank_and_index_consistent():
    fact_tokens = tokenizer.count_tokens(FACT)
    budget = MemoryBudget(gym.make("MemoryR1-v0", episodes=[EPISODE]), max_tokens=fact_tokens + 2)
    env = DiscreteMemoryActions(budget, facts_per_chunk=1)
    op = env.operations.index
    env.reset(seed=0)
    _, _, _, _, info = env.step(op("store_chunk"))  # the whole chunk does not fit
    assert [r["error"] for r in info["tool_results"]] == [OVER_BUDGET] and info["budget"]["refused"] == 1
    assert env.unwrapped.memory.size("semantic") == 0
    env.reset(seed=0)
    env.step(op("store_facts"))  # FACT fits
    _, _, _, _, info = env.step(op("update_related"))  # GUARD replaces it: shorter or within budget
    assert info["tool_results"][0]["ok"] is (tokenizer.count_tokens(GUARD) <= fact_tokens + 2)
    _, _, terminated, _, info = env.step(op("delete_related"))
    assert terminated and env.unwrapped.memory.size("semantic") == 0
