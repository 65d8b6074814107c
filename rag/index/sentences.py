"""Per-sentence terms of every chunk: find chunks where one sentence holds most of a question."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import sparse

from rag.text import sentence_spans, tokenize

MIN_REPEATED_CHARS = 30  # a shorter sentence ("Read more.", a dateline) may repeat by chance


class SentenceIndex:
    """The vocabulary terms of every sentence of every chunk, to find chunks where one sentence
    holds most of a query (a news fact is usually one sentence)."""

    def __init__(self, matrix: sparse.csr_matrix, starts: np.ndarray, repeated: np.ndarray | None = None) -> None:
        self.matrix = matrix  # sentences x vocabulary, 1 where the sentence holds the term
        self.starts = starts  # first sentence row of each chunk
        # per sentence row: the same sentence occurs in another article too (boilerplate)
        self.repeated = np.zeros(matrix.shape[0], dtype=bool) if repeated is None else repeated

    @classmethod
    def build(cls, texts: list[str], vocab: dict[str, int], groups: list[str] | None = None) -> SentenceIndex:
        """Split ``texts`` (chunk bodies) into sentences and record their indexed terms. With
        ``groups`` (the article of each text), sentences that occur word for word in two or more
        articles are marked as ``repeated``."""
        rows: list[list[int]] = []
        keys: list[str] = []
        starts = []
        for text in texts:
            starts.append(len(rows))
            spans = sentence_spans(text) or [(0, 0)]
            rows += [sorted({vocab[t] for t in tokenize(text[a:b]) if t in vocab}) for a, b in spans]
            keys += [" ".join(text[a:b].split()).lower() for a, b in spans]
        indptr = np.cumsum([0] + [len(r) for r in rows])
        indices = np.array([t for r in rows for t in r], dtype=np.int64)
        matrix = sparse.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                                   shape=(len(rows), len(vocab)))
        starts_array = np.array(starts, dtype=np.int64)
        repeated = None
        if groups is not None:
            owner = np.repeat(np.arange(len(texts)), np.diff(np.append(starts_array, len(rows))))
            repeated = _repeated(keys, [groups[i] for i in owner])
        return cls(matrix, starts_array, repeated)

    @cached_property
    def distinct(self) -> SentenceIndex:
        """The same index with the ``repeated`` sentences emptied (they hold no term): a sentence
        printed word for word in several articles (an outlet's standard background paragraph, a
        promotion) reports no article's own fact, so it should not make a chunk match a question."""
        if not self.repeated.any():
            return self
        keep = sparse.diags((~self.repeated).astype(np.float32))
        return SentenceIndex((keep @ self.matrix).tocsr(), self.starts, self.repeated)

    def rarity(self, chunks: np.ndarray) -> np.ndarray:
        """Per vocabulary term: how rare it is among the sentences of ``chunks``, ``log(1 + n / (df + 1))``
        for ``n`` sentences of which ``df`` hold the term. Among candidates on one topic the topic's own
        names are everywhere; the words of one fact are not."""
        ends = np.append(self.starts[1:], self.matrix.shape[0])
        rows = np.concatenate([np.arange(self.starts[c], ends[c]) for c in chunks]) if len(chunks) else []
        df = np.asarray(self.matrix[rows].sum(axis=0)).ravel()
        return np.log1p(len(rows) / (df + 1.0)).astype(np.float32)

    def best_share(self, weights: np.ndarray) -> np.ndarray:
        """Per chunk: the largest share of ``weights``' total that a single one of its sentences holds."""
        total = float(weights.sum())
        if total <= 0 or not len(self.starts):
            return np.zeros(len(self.starts), dtype=np.float32)
        return np.maximum.reduceat(self.matrix @ weights, self.starts) / total


def _repeated(keys: list[str], groups: list[str]) -> np.ndarray:
    """Per sentence: its normalised text (``keys``), of ``MIN_REPEATED_CHARS`` or more, occurs in
    two or more ``groups`` (articles)."""
    seen: dict[str, set[str]] = {}
    for key, group in zip(keys, groups):
        if len(key) >= MIN_REPEATED_CHARS:
            seen.setdefault(key, set()).add(group)
    return np.array([len(seen.get(key, ())) > 1 for key in keys], dtype=bool)
