from __future__ import annotations

import math
import re

import numpy as np
import pytest

from memenv import retrieval
from memenv.retrieval import BM25Index, tokenize

CORPUS = ["the north gate code is 4821", "the weather was mild today", "gate gate gate", "north wind"]


def test_tokenize_is_lowercase_word_tokens():
    assert tokenize("North-Gate's CODE: 4821!") == ["north", "gate", "s", "code", "4821"]


def test_tokenize_equals_the_regex_on_every_ascii_character_and_unicode():
    # ASCII text takes a translate-and-split path; it must give the regex's tokens exactly, for every
    # ASCII character (controls, whitespace, punctuation, "_", digits, both cases) in any arrangement.
    rng = np.random.default_rng(0)
    ascii_chars = [chr(i) for i in range(128)]
    texts = ["".join(rng.choice(ascii_chars, size=rng.integers(0, 60))) for _ in range(3000)]
    texts += ["", " ", "__", "a_b-c", "x\x00y\x1cz\x7f", "Tab\there\nNew\r\nline\x0bv\x0cf"]
    texts += ["Straße ÉCOLE İstanbul ΟΔΟΣ x_y 4,821 naïve", "日本語のテキスト", "a\u2028b\xa0c"]  # not ASCII: the regex
    for text in texts:
        assert tokenize(text) == re.findall(r"\w+", text.lower()), repr(text)


def test_score_matches_the_formula_by_hand():
    # "north" occurs in docs 0 and 3: df=2, N=4 -> idf = ln(1 + 2.5/2.5) = ln 2.
    # doc 3 has length 2, avgdl = (6 + 5 + 3 + 2) / 4 = 4 -> tf/(tf + 1.5*(0.25 + 0.75*2/4)) = 1/1.9375
    scores = BM25Index.from_texts(CORPUS).scores("north")
    assert scores[3] == pytest.approx(math.log(2) / 1.9375)
    assert scores[1] == 0.0


def random_corpus(rng: np.random.Generator, n_docs: int, n_words: int) -> list[str]:
    """Short random documents over a small vocabulary (many ties), some empty, some duplicated."""
    words = [f"w{i}" for i in range(n_words)]
    docs = [" ".join(rng.choice(words, size=rng.integers(0, 25))) for _ in range(n_docs)]
    for i in rng.choice(n_docs, size=n_docs // 10, replace=False):  # exact duplicates: tied scores
        docs[i] = docs[(i + 1) % n_docs]
    return docs


def random_queries(rng: np.random.Generator, n_words: int, count: int) -> list[str]:
    """Queries with repeated terms, unknown terms and differing case."""
    words = [f"w{i}" for i in range(n_words)] + ["unseen", "W3", "w1 w1 w1"]
    return [" ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(count)] + [
        "w7 w7 w8 nothere",
        "w2 W2 w2",
        "nothing known here",
    ]


def bm25s_index(corpus: list[str], dtype: str):
    bm25s = pytest.importorskip("bm25s")
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75, dtype=dtype)
    reference.index([tokenize(c) for c in corpus], show_progress=False)
    return reference


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_are_exactly_bm25s_lucene_with_repeated_query_terms(seed: int):
    rng = np.random.default_rng(seed)
    corpus = random_corpus(rng, 300, 40 + 30 * seed)
    exact, shipped = bm25s_index(corpus, "float64"), bm25s_index(corpus, "float32")
    ours = BM25Index.from_texts(corpus)
    repeated = 0
    for query in random_queries(rng, 40 + 30 * seed, 60):
        tokens = tokenize(query)
        repeated += len(set(tokens)) < len(tokens)
        np.testing.assert_array_equal(ours.scores(query), exact.get_scores(tokens))  # bit for bit
        np.testing.assert_allclose(ours.scores(query), shipped.get_scores(tokens), rtol=2e-6, atol=1e-6)
    assert repeated >= 10


def test_chunk_long_queries_score_exactly_as_bm25s():
    # Queries past retrieval._FEW_TERMS gather their postings in one pass; the scores must not move.
    rng = np.random.default_rng(4)
    corpus = random_corpus(rng, 300, 60)
    corpus[5] = ""  # a document without postings
    reference, ours = bm25s_index(corpus, "float64"), BM25Index.from_texts(corpus)
    words = [f"w{i}" for i in range(60)] + ["unseen"]
    for size in (retrieval._FEW_TERMS + 1, 40, 600):
        tokens = rng.choice(words, size=size).tolist()
        np.testing.assert_array_equal(ours.scores(" ".join(tokens)), reference.get_scores(tokens))


def test_a_term_whose_documents_were_removed_scores_float_zeros():
    index = BM25Index.from_texts(["gate code", "north wind"])
    index.remove(0)  # "gate" stays in the vocabulary with no postings
    scores = index.scores("gate code")
    assert scores.dtype == np.float64 and scores.tolist() == [0.0]
    assert index.search("gate code", 3) == []


def test_repeated_query_terms_count_once_per_occurrence():
    index = BM25Index.from_texts(CORPUS)
    np.testing.assert_allclose(index.scores("gate gate"), 2 * index.scores("gate"))
    np.testing.assert_allclose(index.scores("Gate north GATE"), 2 * index.scores("gate") + index.scores("north"))
    # The repeat changes the ranking: with "north" twice, "north wind" overtakes "gate gate gate".
    assert [k for k, _ in index.search("north gate", 4)] == [2, 0, 3]
    assert [k for k, _ in index.search("north north gate", 4)] == [3, 0, 2]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_top_k_ids_and_scores_equal_bm25s_retrieve_ties_to_earlier_docs(seed: int, k: int):
    rng = np.random.default_rng(10 + seed)
    corpus = random_corpus(rng, 400, 25)
    reference = bm25s_index(corpus, "float64")
    ours = BM25Index.from_texts(corpus)
    boundary_ties = 0
    for query in random_queries(rng, 25, 40):
        tokens = tokenize(query)
        all_scores = reference.get_scores(tokens)
        ref_ids, ref_scores = reference.retrieve([tokens], k=k, show_progress=False)
        ref_ids, ref_scores = ref_ids[0][ref_scores[0] > 0], ref_scores[0][ref_scores[0] > 0]
        got = ours.search(query, k)
        got_ids, got_scores = [key for key, _ in got], np.array([score for _, score in got])
        np.testing.assert_array_equal(got_scores, ref_scores)  # same scores, best first
        for score in set(got_scores.tolist()):
            ours_at, ref_at = [i for i, s in got if s == score], ref_ids[ref_scores == score].tolist()
            tie_group = np.flatnonzero(all_scores == score).tolist()
            if len(ref_at) == len(tie_group):  # the whole tie group made the top k on both sides
                assert ours_at == sorted(ref_at)
            else:  # cut at k inside a tie: bm25s picks any of them, memenv the earliest documents
                assert ours_at == tie_group[: len(ours_at)]
                boundary_ties += 1
        assert got_ids == sorted(got_ids, key=lambda i: (-all_scores[i], i))
    assert boundary_ties > 0 or k == 20


def test_compiling_after_each_kind_of_change_equals_a_fresh_index():
    rng = np.random.default_rng(3)
    corpus = random_corpus(rng, 80, 30)
    index = BM25Index.from_texts(corpus[:50])
    live = dict(enumerate(corpus[:50]))

    def check() -> None:
        fresh = BM25Index.from_texts(list(live.values()), keys=list(live))
        for query in ("w1 w2 w2", "w5 w9 w29", "w0 unseen"):
            np.testing.assert_array_equal(index.scores(query), fresh.scores(query))
            assert index.search(query, 9) == fresh.search(query, 9)

    check()
    for key in range(50, 55):  # additions: the flattened documents are extended
        index.add(key, corpus[key])
        live[key] = corpus[key]
    check()
    index.replace(10, corpus[70])  # a rewrite inside what was flattened
    live[10] = corpus[70]
    check()
    index.add(60, corpus[60])
    live[60] = corpus[60]
    check()
    index.remove(3)
    del live[3]
    check()
    index.add(61, corpus[61])
    live[61] = corpus[61]
    check()
    for key in (62, 63, 64):  # rewrites and a removal of documents not flattened yet, then one that is
        index.add(key, corpus[key])
        live[key] = corpus[key]
    index.replace(63, corpus[75])
    live[63] = corpus[75]
    index.remove(62)
    del live[62]
    index.remove(0)
    del live[0]
    check()


@pytest.mark.parametrize("k", [1, 3, 50])
def test_search_many_equals_one_search_per_query(k: int, monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(k)
    index = BM25Index.from_texts(random_corpus(rng, 500, 30))
    queries = [tokenize(q) for q in random_queries(rng, 30, 40)] + [[], ["unseen"]]
    expected = [index.search_tokens(tokens, k) for tokens in queries]
    assert index.search_many(queries, k) == expected
    monkeypatch.setattr(retrieval, "_BATCH_CELLS", 1200)  # several batches of two queries
    assert index.search_many(queries, k) == expected
    assert BM25Index().search_many(queries[:2], k) == [[], []]
    assert index.search_many(queries[:2], 0) == [[], []]


def test_a_changed_index_scores_like_a_fresh_bm25s_index():
    rng = np.random.default_rng(7)
    corpus = random_corpus(rng, 120, 30)
    index = BM25Index()
    live: dict[int, str] = {}
    for step, text in enumerate(corpus):
        index.add(step, text)
        live[step] = text
        if step % 3 == 2:
            index.remove(step - 2)
            del live[step - 2]
        if step % 5 == 4:
            index.replace(step - 1, corpus[step // 2])
            live[step - 1] = corpus[step // 2]
        if step % 4 == 0:  # query between changes: the index is compiled from a partly reused state
            fresh = BM25Index.from_texts(list(live.values()), keys=list(live))
            for query in ("w1 w2 w2", "w5 w9", "w0"):
                np.testing.assert_array_equal(index.scores(query), fresh.scores(query))
                assert index.search(query, 7) == fresh.search(query, 7)
    reference = bm25s_index(list(live.values()), "float64")
    for query in random_queries(rng, 30, 30):
        np.testing.assert_array_equal(index.scores(query), reference.get_scores(tokenize(query)))


@pytest.mark.parametrize("n", [0, 5, 3000, 40_000])
@pytest.mark.parametrize("k", [1, 7, 20, 100])
def test_top_k_selection_equals_a_full_stable_sort(n: int, k: int):
    rng = np.random.default_rng(n + k)
    for zeros in (0.0, 0.5, 0.999):
        # Few distinct values (many ties), a share of zeros, sometimes fewer positives than k.
        scores = rng.integers(1, 40, n) / 8.0 * (rng.random(n) >= zeros)
        expected = sorted(np.flatnonzero(scores > 0).tolist(), key=lambda i: (-scores[i], i))[:k]
        got = retrieval._top_k(scores, k)
        assert sorted(got.tolist(), key=lambda i: (-scores[i], i)) == expected
    if n:  # the row-wise version on a matrix of such rows
        matrix = rng.integers(0, 6, (9, n)) / 4.0 * (rng.random((9, n)) < rng.random((9, 1)))
        keys = [f"d{i}" for i in range(n)]
        rows = [[] for _ in matrix]
        for row, doc, value in zip(*(column.tolist() for column in retrieval._top_k_rows(matrix, k)), strict=True):
            rows[row].append((keys[doc], value))
        assert rows == [retrieval._ranked(row, k, keys) for row in matrix]


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


@pytest.mark.parametrize("k", [1, 3, 10])
def test_search_with_exclude_equals_ranking_the_other_documents(k: int):
    rng = np.random.default_rng(20 + k)
    corpus = random_corpus(rng, 2000, 30)  # many ties, and more than _BLOCK * k documents
    index = BM25Index.from_texts(corpus, keys=[f"d{i}" for i in range(len(corpus))])
    for query in random_queries(rng, 30, 40):
        scores = index.scores(query)
        excluded = {f"d{i}" for i in rng.choice(len(corpus), size=rng.integers(1, 8), replace=False)}
        # Also exclude some of the best documents, and a key that is not indexed.
        excluded |= {f"d{i}" for i in sorted(range(len(corpus)), key=lambda i: (-scores[i], i))[: rng.integers(0, 4)]}
        excluded.add("nowhere")
        expected = sorted(
            (i for i in range(len(corpus)) if scores[i] > 0 and f"d{i}" not in excluded), key=lambda i: (-scores[i], i)
        )[:k]
        assert index.search(query, k, exclude=excluded) == [(f"d{i}", float(scores[i])) for i in expected]


def plain_top_k(index: BM25Index, tokens: list[str], k: int) -> list[tuple[int, float, int]]:
    """The straightforward top k: every document's full score, sorted by (-score, position); with the
    number of distinct query terms each hit holds, counted with Python sets."""
    scores = index.scores(" ".join(tokens))
    ranked = sorted((i for i in range(len(scores)) if scores[i] > 0), key=lambda i: (-scores[i], i))[:k]
    words = set(tokens)
    docs = list(index._docs)
    vocab = {term: word for word, term in index._vocab.items()}
    return [(i, float(scores[i]), len(words & {vocab[t] for t in index._docs[docs[i]][0]})) for i in ranked]


def hits_by_query(hits: retrieval.Hits, n_queries: int) -> list[list[tuple[int, float, int]]]:
    """Each query's (position, score, matched) hits, in the order top_k_many gives them."""
    got: list[list[tuple[int, float, int]]] = [[] for _ in range(n_queries)]
    for row, position, score, matched in zip(
        hits.query.tolist(), hits.position.tolist(), hits.score.tolist(), hits.matched.tolist(), strict=True
    ):
        got[row].append((position, score, matched))
    return got


@pytest.mark.parametrize("k", [1, 4, 10, 30])
def test_top_k_many_equals_the_plain_per_query_top_k_through_changes(k: int, monkeypatch: pytest.MonkeyPatch):
    # Random corpora with exact duplicates (ties), queries with repeated, unknown and shared terms, and
    # an index changed in every way between batches: hits, order, scores and matched-term counts must
    # equal scoring each query alone over all documents, in one batch or in several.
    rng = np.random.default_rng(100 + k)
    corpus = random_corpus(rng, 400, 35)
    live = dict(enumerate(corpus[:300]))
    index = BM25Index.from_texts(list(live.values()))
    one_batch = retrieval._BATCH_CELLS  # read before the loop below patches it
    for round_ in range(4):
        queries = [tokenize(q) for q in random_queries(rng, 35, 30)] + [[], ["unseen"], ["w1"] * 5]
        expected = [plain_top_k(index, tokens, k) for tokens in queries]
        # One batch (weight rows added position by position), then batches of a few queries (a query
        # holds 1 + its length rows; small enough that the rows are gathered at once).
        for cells in (one_batch, 20 * len(index)):
            monkeypatch.setattr(retrieval, "_BATCH_CELLS", cells)
            hits = index.top_k_many(queries, k)
            assert hits_by_query(hits, len(queries)) == expected
            assert hits.keys == list(live) == index.keys()
        assert index.search_many(queries, k) == [index.search_tokens(tokens, k) for tokens in queries]
        assert index.distinct_terms().tolist() == [len(set(tokenize(text))) for text in live.values()]
        # Change the index: additions, a rewrite, removals.
        for key in range(300 + 20 * round_, 310 + 20 * round_):
            index.add(key, corpus[key])
            live[key] = corpus[key]
        index.replace(5 + round_, corpus[399 - round_])
        live[5 + round_] = corpus[399 - round_]
        for key in (20 + round_, 305 + 20 * round_):
            index.remove(key)
            del live[key]
    assert BM25Index().top_k_many([["w1"]], 3).position.tolist() == []
    assert index.top_k_many([["w1"]], 0).position.tolist() == []


@pytest.mark.parametrize("gather_cells", [0, 1 << 40])  # add row by row, or gather all rows first
@pytest.mark.parametrize("k", [1, 10, 500])
def test_top_k_many_adds_each_query_token_in_order_like_bm25s(
    k: int, gather_cells: int, monkeypatch: pytest.MonkeyPatch
):
    # The similar-facts view's case: every document holds most of a few frequent words, and queries
    # are long (past the 8 terms after which NumPy's reductions sum pairwise) with many repeats, of
    # every length from 0 to 60 tokens, so the rows are added over differing numbers of positions.
    # The batched hits and scores must be bm25s' float64 scores bit for bit, ranked by (-score,
    # position), and the matched counts Python's set intersections.
    rng = np.random.default_rng(k)
    frequent, rare = [f"f{i}" for i in range(6)], [f"r{i}" for i in range(300)]
    corpus = [
        " ".join(
            rng.choice(frequent, size=rng.integers(3, 12)).tolist() + rng.choice(rare, size=rng.integers(0, 4)).tolist()
        )
        for _ in range(700)
    ]
    corpus[3] = ""
    queries = [
        rng.choice(frequent + rare[:20] + ["unseen"], size=size).tolist() for size in rng.permutation(np.arange(61))
    ] + [["unseen"]]
    reference, index = bm25s_index(corpus, "float64"), BM25Index.from_texts(corpus)
    monkeypatch.setattr(retrieval, "_GATHER_CELLS", gather_cells)
    got = hits_by_query(index.top_k_many(queries, k), len(queries))
    for tokens, row in zip(queries, got, strict=True):
        scores = reference.get_scores(tokens) if tokens else np.zeros(len(corpus))
        ranked = sorted(np.flatnonzero(scores > 0).tolist(), key=lambda i: (-scores[i], i))[:k]
        words = set(tokens)
        assert row == [(i, float(scores[i]), len(words & set(tokenize(corpus[i])))) for i in ranked]


def test_vectorize_numbers_new_words_in_order_of_first_occurrence():
    index = BM25Index.from_texts(["b a b", "c A d", "d e", ""])
    assert index._vocab == {"b": 0, "a": 1, "c": 2, "d": 3, "e": 4}
    docs = [((0, 1), (2, 1), 3), ((2, 1, 3), (1, 1, 1), 3), ((3, 4), (1, 1), 2), ((), (), 0)]
    assert list(index._docs.values()) == docs  # (term ids, term frequencies, length)
    index.replace(1, "e f a f")  # known and new words mixed
    assert index._vocab["f"] == 5 and index._docs[1] == ((4, 5, 1), (1, 2, 1), 4)


@pytest.mark.parametrize(("k1", "b"), [(0.0, 0.75), (1.2, 0.0), (2.0, 1.0), (0.9, 0.4)])
def test_other_k1_and_b_score_exactly_as_bm25s(k1: float, b: float):
    bm25s = pytest.importorskip("bm25s")
    rng = np.random.default_rng(7)
    corpus = random_corpus(rng, 120, 20)
    reference = bm25s.BM25(method="lucene", k1=k1, b=b, dtype="float64")
    reference.index([tokenize(c) for c in corpus], show_progress=False)
    ours = BM25Index.from_texts(corpus, k1=k1, b=b)
    for query in random_queries(rng, 20, 30)[:-1]:  # the last query knows no word (bm25s refuses it)
        tokens = [t for t in tokenize(query) if t in reference.vocab_dict]
        expected = reference.get_scores(tokens) if tokens else np.zeros(len(corpus))
        np.testing.assert_array_equal(ours.scores(query), expected)


def test_a_vocabulary_past_two_to_the_sixteen_terms_scores_exactly_as_bm25s():
    # _compile radix-sorts term ids as uint16 up to 2**16 terms and as int64 beyond: both must give bm25s' scores.
    for n_words in (1 << 16, (1 << 16) + 1):
        words = [f"t{i}" for i in range(n_words)]
        corpus = [" ".join(words[i : i + 64]) for i in range(0, n_words, 64)] + [
            f"t0 t65535 t{n_words - 1} t{n_words - 1}"
        ]
        reference, ours = bm25s_index(corpus, "float64"), BM25Index.from_texts(corpus)
        for query in ("t0", "t65535 t0", f"t{n_words - 1} t1 t{n_words - 1}"):
            expected = reference.get_scores(tokenize(query))
            np.testing.assert_array_equal(ours.scores(query), expected)
            best = [int(i) for i in np.argsort(-expected, kind="stable")[:3] if expected[i] > 0]
            assert ours.search(query, 3) == [(i, float(expected[i])) for i in best]


def test_document_frequency_counts_the_documents_holding_a_term_through_changes():
    rng = np.random.default_rng(3)
    live = dict(enumerate(random_corpus(rng, 30, 12)))
    index = BM25Index.from_texts(list(live.values()), keys=list(live))
    for step in range(40):
        if step % 3 == 0 and live:
            key = int(rng.choice(list(live)))
            index.remove(key)
            del live[key]
        elif step % 3 == 1 and live:
            key = int(rng.choice(list(live)))
            live[key] = random_corpus(rng, 1, 12)[0]
            index.replace(key, live[key])
        else:
            live[100 + step] = random_corpus(rng, 1, 12)[0]
            index.add(100 + step, live[100 + step])
        for term in [f"w{i}" for i in range(13)] + ["unknown"]:
            expected = sum(term in tokenize(text) for text in live.values())
            assert index.document_frequency(term) == expected, (step, term)
