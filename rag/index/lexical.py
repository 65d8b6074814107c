"""Lexical (BM25) search over chunk texts, with English stemming and stopwords, via bm25s."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np

from rag.text import tokenize


class LexicalIndex:
    """BM25 scores of every chunk for a query."""

    def __init__(self, model: bm25s.BM25) -> None:
        self.model = model
        self.vocab = model.vocab_dict

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index ``texts`` (chunk header plus body)."""
        model = bm25s.BM25()
        model.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        """Write the index as bm25s's plain .npy/.json files (no pickle)."""
        self.model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by save()."""
        return cls(bm25s.BM25.load(str(folder), mmap=False, load_corpus=False))

    def __len__(self) -> int:
        """How many documents (chunks) are indexed."""
        return int(self.model.scores["num_docs"])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (zeros when no query word is in the vocabulary)."""
        terms = [t for t in tokenize(query) if t in self.vocab]
        if not terms:
            return np.zeros(self.model.scores["num_docs"], dtype=np.float32)
        return self.model.get_scores(terms).astype(np.float32)

    @cached_property
    def idf(self) -> np.ndarray:
        """BM25 inverse document frequency of every vocabulary term, by term id."""
        df = np.diff(self.model.scores["indptr"])
        n = self.model.scores["num_docs"]
        return np.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_weights(self, query: str) -> np.ndarray:
        """Per vocabulary term id: its idf when the query holds the term (once), else 0."""
        weights = np.zeros(len(self.vocab), dtype=np.float32)
        ids = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        weights[ids] = self.idf[ids]
        return weights
