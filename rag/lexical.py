"""Lexical (BM25) search over chunk texts, with English stemming and stopwords, via bm25s."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from scipy import sparse

_WORD = re.compile(r"\w+(?:[.,']\w+)*")
_STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words; numbers keep their digits ("5,600" -> "5600")."""
    words = []
    for match in _WORD.finditer(text.lower().replace("’", "'")):
        word = match.group()
        if word[0].isdigit():
            words.append(re.sub(r"[,']", "", word))
        elif word not in STOPWORDS:
            words.append(word.split("'")[0].replace(".", ""))
    return [w for w in _STEMMER.stemWords(words) if w]


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


class SentenceIndex:
    """The vocabulary terms of every sentence of every chunk, to find chunks where one sentence
    holds most of a query (a news fact is usually one sentence)."""

    def __init__(self, matrix: sparse.csr_matrix, starts: np.ndarray) -> None:
        self.matrix = matrix  # sentences x vocabulary, 1 where the sentence holds the term
        self.starts = starts  # first sentence row of each chunk

    @classmethod
    def build(cls, texts: list[str], vocab: dict[str, int]) -> SentenceIndex:
        """Split ``texts`` (chunk bodies) into sentences and record their indexed terms."""
        from rag.chunking import sentence_spans

        rows: list[list[int]] = []
        starts = []
        for text in texts:
            starts.append(len(rows))
            spans = sentence_spans(text) or [(0, 0)]
            rows += [sorted({vocab[t] for t in tokenize(text[a:b]) if t in vocab}) for a, b in spans]
        indptr = np.cumsum([0] + [len(r) for r in rows])
        indices = np.array([t for r in rows for t in r], dtype=np.int64)
        matrix = sparse.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                                   shape=(len(rows), len(vocab)))
        return cls(matrix, np.array(starts, dtype=np.int64))

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
