from __future__ import annotations

import random

import pytest

from memenv.retrieval import tokenize
from memenv.reward import GroundingJudge, Write, content_reward

WORDS = tokenize("gate code north 4821 alice bob harbour monday the a is was moved to calder heights")


def naive_grounding(write: Write, chunk: str, min_overlap: float = 0.5) -> float:
    """The rule as documented, computed the obvious way (the judge caches and short-cuts it)."""
    if write.tool == "memory_delete":
        return 0.0
    words = set(tokenize(write.content))
    if not words:
        return 0.0
    source = set(tokenize(chunk)) | set(tokenize(write.previous))
    return 1.0 if len(words & source) / len(words) >= min_overlap else 0.0


def test_grounding_judge_equals_the_documented_rule_on_random_writes():
    rng = random.Random(0)
    chunks = [" ".join(rng.choices(WORDS, k=rng.randint(0, 12))) for _ in range(5)]
    judge = GroundingJudge()
    scores = []
    for _ in range(2000):
        chunk = rng.choice(chunks)
        write = Write(
            rng.choice(["new_memory_insert", "memory_update", "memory_delete"]),
            "semantic",
            " ".join(rng.choices([*WORDS, "unseen", "zebra"], k=rng.randint(0, 6))),
            " ".join(rng.choices(WORDS, k=rng.randint(0, 6))),
        )
        expected = naive_grounding(write, chunk)
        assert judge(write, chunk) == expected, (write, chunk)
        scores.append(expected)
    assert 0.0 in scores and 1.0 in scores


def test_grounding_judge_reads_the_replaced_text_and_the_threshold():
    write = Write("memory_update", "core", "Alice moved to Calder Heights", "Alice lives in Port Senna")
    assert GroundingJudge()(write, "Alice packed. Calder Heights was cold.") == 1.0  # 4 of 5 words in the chunk
    assert GroundingJudge()(write, "nothing here") == 0.0  # only "alice" (the replaced text) is sourced: 1/5
    assert GroundingJudge(min_overlap=0.2)(write, "nothing here") == 1.0
    assert GroundingJudge()(Write("memory_delete", "semantic", "", "x"), "x") == 0.0
    writes = [write, Write("new_memory_insert", "semantic", "nothing here", "")]
    assert content_reward(writes, "nothing here", GroundingJudge()) == pytest.approx(0.5)
