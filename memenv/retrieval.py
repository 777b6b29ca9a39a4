"""The one retrieval module: a BM25 index over short texts, built for memenv's two workloads.

* The reader and the RAG baseline build an index once and query it many times (questions).
* The writer's "related entries" view adds and removes entries every step and queries once.

Documents are stored as per-document term-frequency vectors; a CSC matrix of BM25 term weights is
compiled lazily on the first query after a change. A query sums the columns of its terms and selects
the top-k among the non-zero scores with ``np.argpartition`` (when most scores are zero, sorting the
whole score vector is what makes off-the-shelf BM25 libraries slow).

Scoring is Lucene's BM25 (as in Lucene >= 8 and bm25s' ``lucene`` method): for each distinct query term,
idf · tf / (tf + k1 · (1 − b + b · len / avgdl)) with idf = ln(1 + (N − df + 0.5) / (df + 0.5)),
k1 = 1.5, b = 0.75 (the constant (k1 + 1) factor of the textbook formula changes no ranking). Text is
lowercased and split into ``\\w+`` tokens (the query is the question, as in Mem-α). Ties are broken by
insertion order, earlier documents first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
from scipy import sparse

_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lowercase ``\\w+`` tokens."""
    return _TOKEN.findall(text.lower())


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
        # key -> (term ids, term frequencies, length); dict order is insertion order.
        self._docs: dict[Hashable, tuple[np.ndarray, np.ndarray, int]] = {}
        self._compiled: tuple[sparse.csc_matrix, list[Hashable]] | None = None

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

    def add(self, key: Hashable, text: str) -> None:
        if key in self._docs:
            raise KeyError(f"key {key!r} is already indexed; remove it first")
        self._docs[key] = self._vectorize(text)
        self._compiled = None

    def remove(self, key: Hashable) -> None:
        del self._docs[key]
        self._compiled = None

    def replace(self, key: Hashable, text: str) -> None:
        """Re-index ``key`` with new text, keeping its place in the tie-break order."""
        if key not in self._docs:
            raise KeyError(f"key {key!r} is not indexed")
        self._docs[key] = self._vectorize(text)  # assigning an existing key keeps its dict position
        self._compiled = None

    def _vectorize(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        counts = Counter(tokenize(text))
        ids = np.fromiter((self._vocab.setdefault(t, len(self._vocab)) for t in counts), np.int64, len(counts))
        tfs = np.fromiter(counts.values(), np.float64, len(counts))
        return ids, tfs, int(tfs.sum())

    def _compile(self) -> tuple[sparse.csc_matrix, list[Hashable]]:
        if self._compiled is None:
            keys = list(self._docs)
            n_docs, n_terms = len(keys), len(self._vocab)
            if n_docs == 0:
                self._compiled = (sparse.csc_matrix((0, n_terms)), keys)
                return self._compiled
            docs = list(self._docs.values())
            rows = np.repeat(np.arange(n_docs), [len(d[0]) for d in docs])
            cols = np.concatenate([d[0] for d in docs])
            tfs = np.concatenate([d[1] for d in docs])
            lengths = np.array([d[2] for d in docs], dtype=np.float64)
            avgdl = max(lengths.mean(), 1e-9)
            df = np.bincount(cols, minlength=n_terms)
            idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
            norm = self.k1 * (1 - self.b + self.b * lengths[rows] / avgdl)
            weights = idf[cols] * tfs / (tfs + norm)
            matrix = sparse.csc_matrix((weights, (rows, cols)), shape=(n_docs, n_terms))
            self._compiled = (matrix, keys)
        return self._compiled

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (in insertion order) for ``query``."""
        matrix, _ = self._compile()
        cols = sorted({self._vocab[t] for t in tokenize(query) if t in self._vocab})
        if not cols or matrix.shape[0] == 0:
            return np.zeros(matrix.shape[0])
        return np.asarray(matrix[:, cols].sum(axis=1)).ravel()

    def search(self, query: str, k: int, exclude: Iterable[Hashable] = ()) -> list[tuple[Hashable, float]]:
        """The up to ``k`` best ``(key, score)`` pairs with a positive score, best first."""
        if k <= 0:
            return []
        _, keys = self._compile()
        scores = self.scores(query)
        excluded = set(exclude)
        if excluded:
            for i, key in enumerate(keys):
                if key in excluded:
                    scores[i] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            # Keep everything above the k-th score, then fill with the earliest of the tied ones.
            kth = -np.partition(-scores[hits], k - 1)[k - 1]
            above = hits[scores[hits] > kth]
            tied = hits[scores[hits] == kth][: k - len(above)]
            hits = np.concatenate([above, tied])
        # Sort by score, then by insertion order (lexsort's last key is the primary one).
        hits = hits[np.lexsort((hits, -scores[hits]))]
        return [(keys[i], float(scores[i])) for i in hits]
