from __future__ import annotations

import math

import numpy as np
import pytest

from memenv.retrieval import BM25Index, tokenize

CORPUS = ["the north gate code is 4821", "the weather was mild today", "gate gate gate", "north wind"]


def test_tokenize_is_lowercase_word_tokens():
    assert tokenize("North-Gate's CODE: 4821!") == ["north", "gate", "s", "code", "4821"]


def test_score_matches_the_formula_by_hand():
    # "north" occurs in docs 0 and 3: df=2, N=4 -> idf = ln(1 + 2.5/2.5) = ln 2.
    # doc 3 has length 2, avgdl = (6 + 5 + 3 + 2) / 4 = 4 -> tf/(tf + 1.5*(0.25 + 0.75*2/4)) = 1/1.9375
    scores = BM25Index.from_texts(CORPUS).scores("north")
    assert scores[3] == pytest.approx(math.log(2) / 1.9375)
    assert scores[1] == 0.0


def test_scores_equal_bm25s_lucene():
    bm25s = pytest.importorskip("bm25s")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    corpus = [" ".join(rng.choice(words, size=rng.integers(1, 30))) for _ in range(200)]
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    reference.index([tokenize(c) for c in corpus], show_progress=False)
    ours = BM25Index.from_texts(corpus)
    for query in ["w1 w2 w3", "w59", "w7 w7 w8 nothere"]:
        expected = reference.get_scores(sorted(set(tokenize(query))))
        np.testing.assert_allclose(ours.scores(query), expected, rtol=1e-5)


def test_search_returns_positive_hits_best_first_with_ties_to_earlier_docs():
    index = BM25Index.from_texts(["a b"] * 5 + ["a a b", "c"])
    hits = index.search("a", k=3)
    assert [key for key, _ in hits] == [5, 0, 1]
    assert hits[1][1] == hits[2][1] > 0
    assert index.search("zzz", k=3) == []
    assert index.search("c", k=0) == []
    assert [key for key, _ in index.search("a", k=10)] == [5, 0, 1, 2, 3, 4]


def test_add_remove_replace_keep_order_and_scores_current():
    index = BM25Index()
    for key, text in [("x", "apple pie"), ("y", "banana bread"), ("z", "apple tart")]:
        index.add(key, text)
    assert [k for k, _ in index.search("apple", 5)] == ["x", "z"]
    index.replace("x", "cherry pie")
    assert [k for k, _ in index.search("apple", 5)] == ["z"]
    index.replace("z", "banana bread")
    assert [k for k, _ in index.search("banana bread", 5)] == ["y", "z"]
    index.remove("y")
    assert "y" not in index and len(index) == 2
    assert [k for k, _ in index.search("banana", 5, exclude=["z"])] == []
    with pytest.raises(KeyError):
        index.add("x", "again")
    with pytest.raises(KeyError):
        index.replace("nope", "text")


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="k1"):
        BM25Index(k1=-1)
