"""The one retrieval module: a BM25 index over short texts, built for memenv's two workloads.

* The reader and the RAG baseline build an index once and query it many times (questions).
* The writer's "related entries" view and ``MemoryR1-v0``'s similar-facts view add and remove
  entries every step and query the index a few times per step.

Documents are stored as per-document term-frequency vectors; the BM25 weight of every (term,
document) pair is computed lazily, on the first query after a change, as flat NumPy arrays in
document order, and for single queries grouped into compressed columns (``indptr``, ``indices``,
``data``). A query adds up the columns of its terms with one ``np.bincount`` and selects the top-k
among the non-zero scores with ``np.partition`` (when most scores are zero, sorting the whole score
vector is what makes off-the-shelf BM25 libraries slow). Many queries at once
(:meth:`BM25Index.top_k_many`, e.g. every sentence of a chunk) are scored as a (queries x documents)
matrix, one dense row of weights per distinct term added per token, with one row-wise top-k
selection.

Scores are **exactly** bm25s' (``bm25s.BM25(method="lucene", k1=1.5, b=0.75, dtype="float64")``;
equal to its default float32 scores to float32 precision), computed with the same floating-point
operations in the same order: for each query token, *repeats included* (as rank_bm25, bm25s and
Mem-α's reader count them), the document's weight

    idf · tf / (k1 · ((1 − b) + b · len / avgdl) + tf),   idf = ln(1 + (N − df + 0.5) / (df + 0.5)),

is added in query order (the constant (k1 + 1) factor of the textbook formula changes no ranking, and
bm25s' lucene method leaves it out too). ``idf`` is taken with :func:`math.log`, as bm25s does. Text is
lowercased and split into ``\\w+`` tokens (the query is the question, as in Mem-α). Ties are broken by
insertion order, earlier documents first.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"\w+")
# In ASCII text \w is [A-Za-z0-9_]: one byte table lowercases the letters, keeps the digits and "_",
# and turns every other ASCII character into a space (bytes 128-255 never occur in ASCII text).
_ASCII_TOKENS = bytes(ord(c.lower() if c.isalnum() or c == "_" else " ") for c in map(chr, range(128))) + bytes(
    range(128, 256)
)


def tokenize(text: str) -> list[str]:
    """Lowercase ``\\w+`` tokens."""
    if text.isascii():
        # The regex's tokens from C byte and string methods, ~4x faster on sentence-long texts.
        return text.encode().translate(_ASCII_TOKENS).decode().split()
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class _Weighted:
    """The BM25 weight of every posting of the current documents, document after document (the
    flattened documents' order), with their keys."""

    terms: np.ndarray  # term id of each posting
    docs: np.ndarray  # document position (insertion order) of each posting, nondecreasing
    data: np.ndarray  # BM25 weights, float64
    keys: list[Hashable]
    df: np.ndarray  # documents per term (the vocabulary's size)
    distinct: np.ndarray  # per document, its number of distinct terms (= of postings)
    starts: np.ndarray  # per document, the index of its first posting


@dataclass(frozen=True)
class _Compiled:
    """The BM25 weights of the current documents, by term (compressed columns), and their keys."""

    indptr: np.ndarray  # term t's postings are indices/data[indptr[t]:indptr[t + 1]]
    indices: np.ndarray  # document positions (insertion order), ascending within a term
    data: np.ndarray  # BM25 weights, float64
    keys: list[Hashable]

    @functools.cached_property
    def bounds(self) -> list[int]:
        """``indptr`` as Python ints: slicing with them is about twice as fast as with NumPy integers
        (a single search of a short query; made on first use, so indexes that change every step and
        only search in batches never pay for it)."""
        return self.indptr.tolist()


class BM25Index:
    """A mutable BM25 index mapping caller-chosen keys to texts.

    >>> index = BM25Index.from_texts(["the north gate code is 4821", "the weather was mild"])
    >>> index.search("what is the north gate code", k=1)
    [(0, ...)]
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = k1
        self.b = b
        self._vocab: dict[str, int] = {}
        # key -> (term ids, term frequencies, length); dict order is insertion order. Plain tuples: they
        # are cheaper to build than small arrays, and _compile turns them into arrays in one pass.
        self._docs: dict[Hashable, tuple[tuple[int, ...], tuple[int, ...], int]] = {}
        self._weighted: _Weighted | None = None
        self._compiled: _Compiled | None = None
        # The documents flattened for _compile, a prefix of _docs in order (None: none, or stale).
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_texts(cls, texts: Sequence[str], keys: Sequence[Hashable] | None = None, **kwargs: float) -> BM25Index:
        index = cls(**kwargs)
        for key, text in zip(range(len(texts)) if keys is None else keys, texts, strict=True):
            index.add(key, text)
        return index

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._docs

    def keys(self) -> list[Hashable]:
        """The indexed keys, in insertion order (the tie-break order)."""
        return list(self._docs)

    def add(self, key: Hashable, text: str) -> None:
        if key in self._docs:
            raise KeyError(f"key {key!r} is already indexed; remove it first")
        self._docs[key] = self._vectorize(text)
        self._changed()

    def remove(self, key: Hashable) -> None:
        if key not in self._docs:
            raise KeyError(key)
        position = list(self._docs).index(key)
        del self._docs[key]
        self._splice(position, None)
        self._changed()

    def replace(self, key: Hashable, text: str) -> None:
        """Re-index ``key`` with new text, keeping its place in the tie-break order."""
        if key not in self._docs:
            raise KeyError(f"key {key!r} is not indexed")
        doc = self._docs[key] = self._vectorize(text)  # assigning an existing key keeps its dict position
        self._splice(list(self._docs).index(key), doc)
        self._changed()

    def _changed(self) -> None:
        """Drop what the change made stale (the flattened documents are kept valid by the change itself)."""
        self._weighted = None
        self._compiled = None

    def _splice(self, position: int, doc: tuple[tuple[int, ...], tuple[int, ...], int] | None) -> None:
        """Rewrite (``doc``) or remove (None) the flattened document at ``position``, copying the other
        documents' arrays instead of flattening them again (an update or delete at every step)."""
        if self._flat is None or position >= len(self._flat[2]):
            return  # not flattened yet: the next compilation reads it from _docs
        cols, tfs, sizes, lengths = self._flat
        start = int(sizes[:position].sum())
        end = start + int(sizes[position])
        if doc is None:
            self._flat = (
                np.concatenate([cols[:start], cols[end:]]),
                np.concatenate([tfs[:start], tfs[end:]]),
                np.delete(sizes, position),
                np.delete(lengths, position),
            )
            return
        ids, counts, length = doc
        sizes, lengths = sizes.copy(), lengths.copy()
        sizes[position], lengths[position] = len(ids), length
        self._flat = (
            np.concatenate([cols[:start], np.array(ids, np.int64), cols[end:]]),
            np.concatenate([tfs[:start], np.array(counts, np.float64), tfs[end:]]),
            sizes,
            lengths,
        )

    def _vectorize(self, text: str) -> tuple[tuple[int, ...], tuple[int, ...], int]:
        tokens = tokenize(text)
        counts: dict[str, int] = {}  # what Counter(tokens) holds, without its Python-level overhead
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
        vocab = self._vocab
        ids = tuple(map(vocab.get, counts))  # C-level lookups; most words are known
        if None in ids:  # new words get the next ids, in order of first occurrence
            for t in counts:
                vocab.setdefault(t, len(vocab))
            ids = tuple(map(vocab.__getitem__, counts))
        return ids, tuple(counts.values()), len(tokens)

    def _weigh(self) -> _Weighted:
        """The weight of every posting, in document order (what batched queries read)."""
        if self._weighted is not None:
            return self._weighted
        keys = list(self._docs)
        n_docs, n_terms = len(keys), len(self._vocab)
        cols, tfs, sizes, lengths = self._flat_documents()
        rows = np.repeat(np.arange(n_docs), sizes)
        # bm25s' arithmetic, operation for operation (see the module docstring).
        df = np.bincount(cols, minlength=n_terms)
        idf = self._idf(df, n_docs)
        # Without any token there is nothing to weigh. (sum / n is what ndarray.mean computes, without its
        # Python-level checks.)
        avgdl = lengths.sum() / n_docs if len(cols) else 1.0
        norm = self.k1 * ((1 - self.b) + self.b * lengths / avgdl)
        weights = self._weights(idf[cols], tfs, norm[rows])
        self._weighted = _Weighted(cols, rows, weights, keys, df, sizes, np.cumsum(sizes) - sizes)
        return self._weighted

    def _compile(self) -> _Compiled:
        """The weights grouped by term (what single queries read)."""
        if self._compiled is not None:
            return self._compiled
        weighted = self._weigh()
        cols, df = weighted.terms, weighted.df
        # Compressed columns: postings grouped by term, documents ascending within a term (stable sort;
        # NumPy radix-sorts 16-bit keys in linear time).
        order = np.argsort(cols.astype(np.uint16) if len(df) <= 1 << 16 else cols, kind="stable")
        indptr = np.zeros(len(df) + 1, np.int64)
        np.cumsum(df, out=indptr[1:])
        indices, data = weighted.docs[order], weighted.data[order]
        self._compiled = _Compiled(indptr, indices, data, weighted.keys)
        return self._compiled

    def _flat_documents(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Term ids, term frequencies, postings per document and lengths of every document, in order.

        Kept between compilations: after additions only (the writer's usual step), just the new
        documents are flattened and appended.
        """
        done = 0 if self._flat is None else len(self._flat[2])
        new = list(itertools.islice(reversed(self._docs.values()), len(self._docs) - done))[::-1]
        sizes = [len(d[0]) for d in new]
        nnz = sum(sizes)  # Python lists and sums: a few new documents per step, where NumPy's call costs dominate
        parts = (
            np.fromiter(itertools.chain.from_iterable(d[0] for d in new), np.int64, nnz),
            np.fromiter(itertools.chain.from_iterable(d[1] for d in new), np.float64, nnz),
            np.array(sizes, np.int64),
            np.array([d[2] for d in new], np.float64),
        )
        if self._flat is not None:
            parts = tuple(np.concatenate([old, part]) for old, part in zip(self._flat, parts, strict=True))
        self._flat = parts  # type: ignore[assignment]
        return parts

    # The scoring rule in three overridable steps (a subclass may restore another variant, e.g. in tests).

    @staticmethod
    def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
        return _lucene_idf(df, n_docs)

    @staticmethod
    def _weights(idf: np.ndarray, tfs: np.ndarray, norms: np.ndarray) -> np.ndarray:
        """Per posting: idf · (tf / (norm + tf)), in bm25s' order of operations."""
        return idf * (tfs / (norms + tfs))

    def _term_ids(self, tokens: Sequence[str]) -> list[int]:
        """The known tokens as term ids, in order, repeats kept."""
        vocab = self._vocab
        return [vocab[t] for t in tokens if t in vocab]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (in insertion order) for ``query``."""
        return self._scores(tokenize(query))

    def _scores(self, tokens: Sequence[str]) -> np.ndarray:
        compiled = self._compile()
        n_docs = len(compiled.keys)
        terms = self._term_ids(tokens)
        if not terms or not n_docs:
            return np.zeros(n_docs)
        # One bincount over the postings of every query token, in query order: for every document the
        # same additions, in the same order, as bm25s' (one query token after another).
        docs, weights = _postings(compiled, terms)
        # astype: np.bincount of no postings (terms whose documents were all removed) is an int array.
        return np.bincount(docs, weights, minlength=n_docs).astype(np.float64, copy=False)

    def search(self, query: str, k: int, exclude: Iterable[Hashable] = ()) -> list[tuple[Hashable, float]]:
        """The up to ``k`` best ``(key, score)`` pairs with a positive score, best first."""
        return self.search_tokens(tokenize(query), k, exclude)

    def search_tokens(
        self, tokens: Sequence[str], k: int, exclude: Iterable[Hashable] = ()
    ) -> list[tuple[Hashable, float]]:
        """:meth:`search` for a query already split with :func:`tokenize` (for callers that need its
        tokens anyway)."""
        if k <= 0:
            return []
        keys = self._compile().keys
        scores = self._scores(tokens)
        excluded = set(exclude)
        if not excluded:
            return _ranked(scores, k, keys)
        # The k best of the other documents are among the k + len(excluded) best of all (at most
        # len(excluded) of those are excluded): rank those and drop the excluded ones.
        return [hit for hit in _ranked(scores, k + len(excluded), keys) if hit[0] not in excluded][:k]

    def search_many(self, queries: Sequence[Sequence[str]], k: int) -> list[list[tuple[Hashable, float]]]:
        """``[search_tokens(tokens, k) for tokens in queries]``, computed together (the same hits and
        scores, bit for bit; see :meth:`top_k_many`)."""
        hits = self.top_k_many(queries, k)
        out: list[list[tuple[Hashable, float]]] = [[] for _ in queries]
        keys = hits.keys
        for row, position, score in zip(hits.query.tolist(), hits.position.tolist(), hits.score.tolist(), strict=True):
            out[row].append((keys[position], score))
        return out

    def top_k_many(self, queries: Sequence[Sequence[str]], k: int) -> Hits:
        """Every query's up to ``k`` best documents with a positive score, as arrays (see :class:`Hits`).

        The queries are token lists (:func:`tokenize`). Each query's hits, scores and order are
        exactly :meth:`search_tokens`' (by score, ties to earlier documents); :attr:`Hits.matched`
        adds how many distinct query terms each hit contains. The queries are scored together (see
        :func:`_top_k_dense`: built for short queries over up to a few thousand short documents, the
        similar-facts view's case).
        """
        weighted = self._weigh()
        n_docs = len(weighted.keys)
        parts: list[tuple[np.ndarray, ...]] = []
        if k > 0 and n_docs and queries:
            terms = [self._term_ids(tokens) for tokens in queries]
            # A batch holds a (queries x documents) score matrix and a (terms x documents) weight matrix
            # (at most one row per token): at most about _BATCH_CELLS cells of the two together, or one
            # query whatever its length (a query of t distinct terms over n documents: ~(t + 2) x n
            # floats; built for sentence-long queries, see the docstring).
            rows_per_batch = _BATCH_CELLS // n_docs
            start = 0
            while start < len(terms):
                end, rows = start + 1, 1 + len(terms[start])
                while end < len(terms) and rows + 1 + len(terms[end]) <= rows_per_batch:
                    rows += 1 + len(terms[end])
                    end += 1
                hits = _top_k_dense(weighted, terms[start:end], k)
                parts.append((hits[0] + start, *hits[1:]))
                start = end
        if not parts:
            empty = np.zeros(0, np.int64)
            return Hits(empty, empty, np.zeros(0), empty, weighted.keys)
        query, position, score, matched = (np.concatenate(column) for column in zip(*parts, strict=True))
        return Hits(query, position, score, matched, weighted.keys)

    def document_frequency(self, term: str) -> int:
        """How many of the documents hold ``term`` (a token, as :func:`tokenize` gives them; 0 if none)."""
        term_id = self._vocab.get(term)
        return 0 if term_id is None else int(self._weigh().df[term_id])

    def distinct_terms(self) -> np.ndarray:
        """The number of distinct terms of each document, in insertion order."""
        return self._weigh().distinct


@dataclass(frozen=True, eq=False)  # fields are arrays: == would be ambiguous
class Hits:
    """The hits of :meth:`BM25Index.top_k_many`, one element per hit, ordered by query, then best first
    (ties: earlier documents first)."""

    query: np.ndarray  # the query's index in the batch
    position: np.ndarray  # the document's position in insertion order; its key is keys[position]
    score: np.ndarray  # its BM25 score (float64)
    matched: np.ndarray  # how many distinct terms of the query it contains
    keys: list[Hashable]


_BLOCK = 256
_SMALLEST_POSITIVE = np.nextafter(0.0, 1.0)
_BATCH_CELLS = 1 << 22
# Up to this many query terms, one slice per term is cheapest; above it, one gather over computed
# positions (a chunk-long query of ~500 terms: ~6x faster). Both give the same arrays.
_FEW_TERMS = 12
# _top_k_rows finds its floors from block maxima when the blocks hold at least this many documents.
_MIN_ROW_BLOCK = 16
# Up to this many (token position x query x document) cells, _top_k_dense gathers all its weight rows at once.
_GATHER_CELLS = 1 << 17


def _postings(compiled: _Compiled, terms: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Documents and weights of the given terms' postings, term after term (repeats included)."""
    bounds = compiled.bounds
    if len(terms) == 1:
        lo, hi = bounds[terms[0]], bounds[terms[0] + 1]
        return compiled.indices[lo:hi], compiled.data[lo:hi]
    if len(terms) <= _FEW_TERMS:
        spans = [slice(bounds[t], bounds[t + 1]) for t in terms]
        return np.concatenate([compiled.indices[s] for s in spans]), np.concatenate([compiled.data[s] for s in spans])
    indptr = compiled.indptr
    ids = np.array(terms)
    starts = indptr[ids]
    sizes = indptr[ids + 1] - starts
    # Posting i of the concatenation sits at its term's start + (i - the number of postings before that term).
    where = np.arange(int(sizes.sum())) + np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return compiled.indices[where], compiled.data[where]


def _top_k_dense(
    weighted: _Weighted, batch: list[list[int]], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The hits of queries given as their known term ids in query order (at least one query): the
    query, position, score and matched arrays of :class:`Hits`.

    The batch's distinct terms get one dense row of weights each (a weight per document, 0.0 where
    the document lacks the term), and each query's scores are the sum of its tokens' rows, added
    token after token: for every document the same additions in the same order as bm25s' (one query
    token after another), plus additions of 0.0, which change no sum. (Not ``np.add.reduce``
    over the tokens: NumPy may sum a reduction pairwise, in another order.) Short queries over a bank
    share their frequent words ("the", "is", ...), whose postings cover most documents: adding a row
    per token then costs less than gathering every token's postings.
    """
    n_docs, n_rows, n_terms = len(weighted.keys), len(batch), len(weighted.df)
    lengths = [len(ids) for ids in batch]
    # Queries longest first (table row i is query by_length[i]), so that the queries with a j-th token
    # are the first rows; shorter ones are padded with term n_terms.
    by_length = sorted(range(n_rows), key=lengths.__getitem__, reverse=True)
    width = max(lengths[by_length[0]], 1)
    padding = [n_terms] * width
    table = np.fromiter(
        itertools.chain.from_iterable((batch[q] + padding)[:width] for q in by_length), np.int64, n_rows * width
    ).reshape(n_rows, width)
    # The batch's distinct terms become rows 0 .. n_used - 1 of the weights, the padding row n_used
    # (all zeros); row n_used + 1 collects the postings of every other term and is never read.
    used = np.flatnonzero(np.bincount(table.ravel(), minlength=n_terms + 1)[:n_terms])
    n_used = len(used)
    slot = np.full(n_terms + 1, n_used + 1)
    slot[used] = np.arange(n_used)
    slot[n_terms] = n_used
    picked = slot[weighted.terms]
    weights = np.zeros((n_used + 2, n_docs))
    weights.ravel()[picked * n_docs + weighted.docs] = weighted.data  # flat indices: ~2x faster than (row, column)
    table = slot[table]
    # Scores start as the first tokens' rows (0.0 + w is w) and take the other positions' rows in order.
    if n_rows * width * n_docs <= _GATHER_CELLS:
        # Few documents: gather every token's row at once (padding included), then one addition per
        # position. Fewer NumPy calls; past a few hundred documents the padding makes it slower.
        scores, *later = weights[table.T]
        for rows in later:
            scores += rows
    else:
        scores = weights[table[:, 0]]
        n = n_rows
        for j in range(1, width):
            while lengths[by_length[n - 1]] <= j:
                n -= 1
            scores[:n] += weights[table[:n, j]]
    # The hits by table row, then by query (a stable sort keeps each query's hits best first).
    table_rows, hit_docs, hit_scores = _top_k_rows(scores, k)
    hit_rows = np.array(by_length)[table_rows]
    order = np.argsort(hit_rows, kind="stable")
    hit_rows, table_rows, hit_docs, hit_scores = hit_rows[order], table_rows[order], hit_docs[order], hit_scores[order]
    # How many distinct terms of its query each hit's document holds: look its document's postings up
    # in a (table row x term) table of the terms each query asks for.
    asks = np.zeros((n_rows, n_used + 2), bool)
    asks[np.arange(n_rows)[:, None], table] = True
    asks[:, n_used] = False  # the padding
    sizes = weighted.distinct[hit_docs]
    ends = np.cumsum(sizes)
    # Posting i of the hits' documents, one after the other, sits at its document's start + (i - the
    # number of postings of the hits before it).
    where = np.arange(ends[-1] if len(ends) else 0) + np.repeat(weighted.starts[hit_docs] - (ends - sizes), sizes)
    hit_of = np.repeat(np.arange(len(hit_docs)), sizes)
    asked = asks.ravel()[(table_rows * (n_used + 2))[hit_of] + picked[where]]
    matched = np.bincount(hit_of, asked, minlength=len(hit_docs))
    return hit_rows, hit_docs, hit_scores, matched.astype(np.int64)


def _ranked(scores: np.ndarray, k: int, keys: list[Hashable]) -> list[tuple[Hashable, float]]:
    """The ``k`` best positive ``(key, score)`` pairs: by score, then by insertion order."""
    hits = _top_k(scores, k)
    return list(zip([keys[i] for i in hits.tolist()], scores[hits].tolist(), strict=True))


def _top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_top_k` for every row of a (queries x documents) score matrix, vectorised: rows,
    positions and scores of the hits, by row, then best first (ties: earliest positions first)."""
    n_rows, n_docs = scores.shape
    # Each row's floor: a score that at least k of its documents reach, so that its hits and every
    # document tied with its k-th best are at or above it. Wide rows: the k-th largest of the row's
    # block maxima (at least 2k blocks), cheaper than partitioning the whole row (as in _top_k).
    block = n_docs // (2 * k)
    if block >= _MIN_ROW_BLOCK:
        maxima = np.maximum.reduceat(scores, np.arange(0, n_docs, block), axis=1)
        floor = np.partition(maxima, maxima.shape[1] - k, axis=1)[:, maxima.shape[1] - k]
    elif k < n_docs:
        floor = np.partition(scores, n_docs - k, axis=1)[:, n_docs - k]
    else:
        floor = np.zeros(n_rows)
    # Candidates: positive and at least the floor. Flat indices: a 1-D nonzero is several times faster
    # than a 2-D one. (Scores are never negative, so "positive" is "at least the smallest positive float".)
    flat = np.flatnonzero(scores >= np.maximum(floor, _SMALLEST_POSITIVE)[:, None])
    values = scores.ravel()[flat]
    rows = flat // n_docs
    order = np.lexsort((-values, rows))  # by row, best first, then earliest document (lexsort is stable)
    flat, rows, values = flat[order], rows[order], values[order]
    keep = np.arange(len(flat)) - np.searchsorted(rows, rows) < k  # each row's first k
    rows = rows[keep]
    return rows, flat[keep] - rows * n_docs, values[keep]


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best positive scores, best first (ties: earliest positions first).

    Only the documents scoring at least a *floor* are sorted, a floor that at least k documents
    reach (so every document of the top k, and every one tied with the k-th, is above it): the k-th
    largest score itself, or for long vectors the k-th largest of the per-block maxima, which is
    cheaper to find than partitioning the whole vector. The stable sort of the few candidates (in
    ascending position) puts tied documents in insertion order.
    """
    n = len(scores)
    floor = 0.0
    if n > _BLOCK * k:
        block_max = np.maximum.reduceat(scores, np.arange(0, n, _BLOCK))
        floor = np.partition(block_max, len(block_max) - k)[len(block_max) - k]
    elif n > k:
        floor = np.partition(scores, n - k)[n - k]
    hits = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
    return hits[np.argsort(-scores[hits], kind="stable")[:k]]


def _lucene_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """ln(1 + (N − df + 0.5) / (df + 0.5)) per term, with :func:`math.log` as bm25s takes it (NumPy's
    vectorised log may round differently); evaluated once per distinct document frequency."""
    if not len(df):
        return np.zeros(0)
    present = np.flatnonzero(np.bincount(df)).tolist()
    by_df = np.zeros(present[-1] + 1)
    # Python floats: the same IEEE operations as NumPy's float64 ones, without a call per operation.
    by_df[present] = [math.log(1 + (n_docs - n + 0.5) / (n + 0.5)) for n in present]
    return by_df[df]
