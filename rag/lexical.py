"""Lexical (BM25) search over chunk texts, with English stemming and stopwords, via bm25s."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

_WORD = re.compile(r"\w+(?:[.,']\w+)*")
_STEMMER = Stemmer.Stemmer("english")
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words; numbers keep their digits ("5,600" -> "5600")."""
    words = []
    for match in _WORD.finditer(text.lower().replace("’", "'")):
        word = match.group()
        if word[0].isdigit():
            words.append(re.sub(r"[,']", "", word))
        elif word not in _STOPWORDS:
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

    def term_weights(self, query: str) -> dict[str, float]:
        """The query's indexed terms with their idf (a repeated term counts once)."""
        return {t: float(self.idf[self.vocab[t]]) for t in tokenize(query) if t in self.vocab}


def sentence_match(weights: dict[str, float], sentences: list[frozenset[str]]) -> float:
    """Largest share of the query's idf mass (``weights``) that a single sentence contains, 0..1."""
    total = sum(weights.values())
    if not total or not sentences:
        return 0.0
    return max(sum(w for t, w in weights.items() if t in s) for s in sentences) / total
