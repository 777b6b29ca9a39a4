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


# Issue 19: the judge reads ASCII text with a byte table and line caches, and looks a write's words up in
# the chunk by substring search (or skips the lookup when the write quotes the chunk). Every short-cut
# must give the rule's answer: random text below mixes word characters, punctuation, line breaks and
# non-ASCII letters (whose lowercasing is not letter by letter: "İ", a final "Σ").
_PIECES = ["road", "Road", "ROAD", "roads", "a", "the", "x_1", "9", "42", "café", "ΟΣ", "İ", "foo-bar", "Snow"]
_GLUE = [" ", " ", " ", ".", ",", "\n", "\n\n", "-", "!", "'", "_", ":", "Σ.", "é", "\t"]


def _random_text(rng: random.Random, pieces: int, ascii_only: bool) -> str:
    text = "".join(rng.choice(_PIECES) + rng.choice(_GLUE) for _ in range(pieces))
    return text.encode("ascii", "ignore").decode() if ascii_only else text


def test_word_sets_equal_tokenize_on_random_text():
    from memenv.reward import _word_set

    rng = random.Random(1)
    for _ in range(3000):
        text = _random_text(rng, rng.randint(0, 30), ascii_only=rng.random() < 0.7)
        assert _word_set(text) == frozenset(tokenize(text)), text
    # Every ASCII character: the byte table's word characters are exactly the regex's \w.
    everything = "".join(map(chr, range(128))) * 2 + "\n" + "".join(map(chr, range(127, -1, -1)))
    assert _word_set(everything) == frozenset(tokenize(everything))


@pytest.mark.parametrize("passes", [0, 1, 24])
def test_grounding_judge_short_cuts_equal_the_rule(monkeypatch, passes):
    """Quoted writes (at and inside word boundaries), word look-ups with any search budget (0: the chunk's
    word set at once), non-ASCII chunks and writes, replaced texts, several thresholds."""
    from memenv import reward

    monkeypatch.setattr(reward._ChunkWords, "SEARCH_PASSES", passes)
    reward._chunk_words.cache_clear()
    rng = random.Random(passes)
    outcomes = set()
    for _ in range(1500):
        chunk = _random_text(rng, rng.randint(0, 40), ascii_only=rng.random() < 0.6)
        for _ in range(rng.randint(1, 6)):
            start = rng.randint(0, len(chunk))
            quoted = chunk[start : rng.randint(start, len(chunk))]
            content = rng.choice(
                [
                    quoted,  # a quote, often cut inside a word
                    rng.choice(["", "x", "Road "]) + quoted + rng.choice(["", "!", "q"]),
                    _random_text(rng, rng.randint(0, 6), ascii_only=rng.random() < 0.5),
                ]
            )
            previous = _random_text(rng, rng.randint(0, 5), ascii_only=True) if rng.random() < 0.5 else ""
            write = Write(rng.choice(["new_memory_insert", "memory_update"]), "semantic", content, previous)
            min_overlap = rng.choice([0.0, 0.3, 0.5, 1.0, 1.5])  # 1.5: no write is grounded, quotes neither
            expected = naive_grounding(write, chunk, min_overlap)
            assert GroundingJudge(min_overlap=min_overlap)(write, chunk) == expected, (write, chunk)
            outcomes.add(expected)
    assert outcomes == {0.0, 1.0}


def test_a_quote_inside_a_longer_word_is_not_taken_for_the_word():
    # "road" occurs in the chunk only inside "railroads": the write is not grounded by it.
    chunk = "The railroads were closed. Snow fell."
    assert GroundingJudge()(Write("new_memory_insert", "semantic", "road", ""), chunk) == 0.0
    assert GroundingJudge()(Write("new_memory_insert", "semantic", "Snow fell", ""), chunk) == 1.0
    assert GroundingJudge()(Write("new_memory_insert", "semantic", "ailroads", ""), chunk) == 0.0


def test_a_quote_is_grounded_without_building_its_word_set(monkeypatch):
    """The judge asks first whether a write quotes the chunk; a quote's score needs no word set."""
    from memenv import reward

    built = []
    monkeypatch.setattr(reward, "_word_set", lambda text: built.append(text) or frozenset(tokenize(text)))
    chunk = "Mira guards the Copper Gate. The code is 4821."
    assert GroundingJudge()(Write("memory_update", "semantic", "the Copper Gate", "old text"), chunk) == 1.0
    assert GroundingJudge()(Write("new_memory_insert", "semantic", ". ", ""), chunk) == 0.0  # a quote, no word
    assert GroundingJudge(min_overlap=1.5)(Write("new_memory_insert", "semantic", "Mira", ""), chunk) == 0.0
    assert built == []
    # Cut inside a word: not a quote, its words are looked up ("copper" is sourced, "gat" is not: 1 of 2).
    assert GroundingJudge()(Write("new_memory_insert", "semantic", "Copper Gat", ""), chunk) == 1.0
    assert built == ["Copper Gat"]
