from __future__ import annotations

import itertools
import random
import re

import pytest

from memenv import tokenizer
from memenv.tasks.chunking import chunk_text, pack, split_sentences


def test_split_sentences_keeps_closing_quotes_and_paragraphs():
    text = 'Hello there. How are you? I am fine! "Quoted." Next one.\n\nNew paragraph without a stop'
    assert split_sentences(text) == [
        "Hello there.",
        "How are you?",
        "I am fine!",
        '"Quoted."',
        "Next one.",
        "New paragraph without a stop",
    ]


def test_pack_never_reorders_and_fits_the_budget_exactly():
    pieces = [f"Ximena saw {i} owls." for i in range(200)]
    chunks = pack(pieces, 40)
    assert " ".join(chunks) == " ".join(pieces)
    counts = [tokenizer.count_tokens(c) for c in chunks]
    assert max(counts) <= 40
    # greedy: adding the next piece would have overflowed every chunk but the last
    for chunk, following in itertools.pairwise(chunks):
        assert tokenizer.count_tokens(chunk + " " + following.split(" owls.")[0] + " owls.") > 40


def test_pack_with_newline_separator_counts_the_first_piece_without_it():
    pieces = ["Input: the cat sat. Label: 3"] * 50
    for chunk in pack(pieces, 30, separator="\n"):
        assert tokenizer.count_tokens(chunk) <= 30


def test_a_piece_longer_than_the_budget_is_split_at_token_boundaries():
    long_piece = "word " * 100
    chunks = pack(["short.", long_piece, "tail."], 16)
    assert chunks[0] == "short."
    assert all(tokenizer.count_tokens(c) <= 16 for c in chunks)
    assert "".join(chunks[1:-1]) == long_piece
    assert chunks[-1] == "tail."


def test_chunk_text_and_bad_budget():
    assert chunk_text("One. Two. Three.", 1000) == ["One. Two. Three."]
    with pytest.raises(ValueError, match="max_tokens"):
        pack(["x"], 0)


def test_split_sentences_equals_the_plain_pattern_on_random_text():
    plain = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+|\n\s*\n")  # the pattern before its fast prefix
    rng = random.Random(0)
    alphabet = ["a", "Bc", ".", "!", "?", '"', "'", ")", "]", "(", " ", "  ", "\n", "\n\n", "\t", " \n \n", "é", "x."]
    for _ in range(5000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 30)))
        assert split_sentences(text) == [p.strip() for p in plain.split(text) if p and p.strip()], repr(text)
