from __future__ import annotations

import json

import pytest

from baselines.facts import split_units
from baselines.mem1 import Mem1Rewriter, mem1_heuristic, merge_units
from baselines.memory_r1 import MemoryR1Manager, memory_r1_add_only, memory_r1_heuristic, shown_entries
from baselines.systems import EnvPolicy, write_nothing
from memenv import tokenizer
from memenv.readers import EvidenceReader
from memenv.tasks import COMPETENCIES, generate


def view(*entries: tuple[str, str]) -> str:
    listing = json.dumps([{"id": i, "text": t} for i, t in entries])
    return f"Fact bank: {len(entries)} facts; the {len(entries)} most similar to this chunk:\n{listing}"


# --- mem1 -----------------------------------------------------------------------------------------


def test_split_units_keeps_labelled_examples_whole_and_splits_sentences():
    text = "Input: The oven was hot. Label: 3\n\nCaroline: I moved to Boston. It was great!\n" + "A b c. " * 3
    assert split_units(text) == [
        "Input: The oven was hot. Label: 3",
        "Caroline: I moved to Boston.",
        "It was great!",
        "A b c.",
        "A b c.",
        "A b c.",
    ]


def test_merge_replaces_a_changed_fact_and_drops_repeats():
    kept = ["Mira Okafor lives in Calder Heights.", "The access code of the Iron Vault is 4821.", "Tea is hot."]
    new = ["Mira Okafor lives in Port Senna.", "tea is hot", "Hugo Novak lives in Calder Heights and sails."]
    assert merge_units(kept, new) == [
        "The access code of the Iron Vault is 4821.",
        "Mira Okafor lives in Port Senna.",
        "tea is hot",
        "Hugo Novak lives in Calder Heights and sails.",
    ]


def test_mem1_rewriter_updates_a_dialogue_fact_and_keeps_the_rest():
    obs = {"memory": "Caroline: I moved to Boston in 2021.\nMel: My dog Rex is 3 years old.", "chunk": ""}
    assert mem1_heuristic(obs, {}) == ""  # nothing to read after the last chunk
    obs["chunk"] = "Caroline: I moved to Denver in 2021. Mel: Nice!"
    paragraph = mem1_heuristic(obs, {})
    assert "Denver" in paragraph and "Boston" not in paragraph and "Rex is 3 years old" in paragraph


def test_mem1_rewriter_stays_under_budget_and_prefers_salient_sentences():
    facts = [f"The access code of the Vault {i} is {1000 + i}." for i in range(40)]
    filler = [f"and then it rained a little more, number {i} of many dull afternoons." for i in range(40)]
    chunk = " ".join(x for pair in zip(filler, facts, strict=True) for x in pair)
    paragraph = Mem1Rewriter(budget_tokens=200)({"chunk": chunk, "memory": ""}, {})
    assert tokenizer.count_tokens(paragraph) <= 200 - 16
    lines = paragraph.splitlines()
    assert sum("access code" in line for line in lines) > sum("rained" in line for line in lines)
    assert "Vault 39 is 1039" in paragraph  # the newest fact survives


# --- memory-r1 ------------------------------------------------------------------------------------


def test_shown_entries_reads_the_json_view():
    assert shown_entries(view(("ab12", "x"), ("cd34", "y"))) == [("ab12", "x"), ("cd34", "y")]
    assert shown_entries("Fact bank: 0 facts; the 0 most similar to this chunk:\n[]") == []
    assert shown_entries("garbage\n[not json") == []


def test_manager_updates_changed_facts_skips_repeats_and_adds_new_ones():
    obs = {
        "memory": view(("ab12", "Mira Okafor lives in Calder Heights."), ("cd34", "Hugo Novak was born in 1901.")),
        "chunk": "Mira Okafor lives in Port Senna. Hugo Novak was born in 1901. The Lantern Guild was founded in 1850.",
    }
    assert json.loads(memory_r1_heuristic(obs, {})) == {
        "memory": [
            {
                "id": "ab12",
                "text": "Mira Okafor lives in Port Senna.",
                "event": "UPDATE",
                "old_memory": "Mira Okafor lives in Calder Heights.",
            },
            {"id": "cd34", "text": "Hugo Novak was born in 1901.", "event": "NONE"},
            {"id": "", "text": "The Lantern Guild was founded in 1850.", "event": "ADD"},
        ]
    }
    assert json.loads(memory_r1_add_only(obs, {})) == {
        "memory": [
            {"id": "", "text": "Mira Okafor lives in Port Senna.", "event": "ADD"},
            {"id": "", "text": "The Lantern Guild was founded in 1850.", "event": "ADD"},
        ]
    }


def test_manager_keeps_only_the_latest_value_within_one_chunk_and_ignores_chatter():
    obs = {
        "memory": view(),
        "chunk": "Caroline: I moved to Boston in May.\nMel: Oh nice.\nCaroline: I moved to Denver in May.",
    }
    reply = json.loads(MemoryR1Manager()(obs, {}))
    assert reply == {"memory": [{"id": "", "text": "Caroline: I moved to Denver in May.", "event": "ADD"}]}


def test_manager_writes_nothing_without_a_chunk_or_facts():
    assert memory_r1_heuristic({"chunk": "", "memory": view()}, {}) == ""
    assert memory_r1_heuristic({"chunk": "the rain went on and on.", "memory": view()}, {}) == ""


# --- on the synthetic suite -----------------------------------------------------------------------


def accuracy(name, policy, env_id, competency, seed, context_tokens) -> float:
    episode = generate(competency, seed=seed, context_tokens=context_tokens)
    return EnvPolicy(name, policy, env_id).run(episode, EvidenceReader()).accuracy


@pytest.mark.parametrize("context_tokens", [8192, 16384])
def test_memory_r1_resolves_conflicts_better_than_adding_only(context_tokens):
    seeds = range(3)
    manager = [
        accuracy("m", memory_r1_heuristic, "MemoryR1-v0", "conflict_resolution", s, context_tokens) for s in seeds
    ]
    add_only = [
        accuracy("a", memory_r1_add_only, "MemoryR1-v0", "conflict_resolution", s, context_tokens) for s in seeds
    ]
    assert all(m > a for m, a in zip(manager, add_only, strict=True))
    assert sum(manager) / 3 >= sum(add_only) / 3 + 0.25


@pytest.mark.parametrize("competency", COMPETENCIES)
@pytest.mark.parametrize(("env_id", "policy"), [("MEM1-v0", mem1_heuristic), ("MemoryR1-v0", memory_r1_heuristic)])
def test_heuristics_beat_writing_nothing(env_id, policy, competency):
    seeds = range(2)
    heuristic = sum(accuracy("h", policy, env_id, competency, s, 8192) for s in seeds) / 2
    nothing = sum(accuracy("n", write_nothing, env_id, competency, s, 8192) for s in seeds) / 2
    assert heuristic > nothing + 0.1
