"""Lexical (BM25) search over chunk texts, with English stemming and stopwords: bm25s or Tantivy.

Both backends index the same terms (``rag.text.tokenize``) and expose the same interface: a BM25
score per chunk, the vocabulary (term -> id, for the sentence index) and each term's idf. bm25s
keeps a sparse score matrix in memory and scores every chunk; Tantivy (the ``[tantivy]`` extra)
keeps memory-mapped segments on disk and scores only the chunks that hold a query term.
``build_lexical`` chooses by ``index.lexical``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import weakref
from functools import cached_property
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np

from rag.config import IndexSettings
from rag.errors import IndexingError
from rag.text import tokenize

EMPTY = "\u2205"  # the one term of a chunk with no indexed word
TANTIVY_MARKER = "meta.json"  # the file Tantivy writes in its index folder
TANTIVY_HEAP = 200_000_000  # writer memory, bytes


class Lexical(Protocol):
    """What retrieval needs of a lexical index."""

    vocab: dict[str, int]

    def __len__(self) -> int: ...
    def scores(self, query: str, limit: int | None = None) -> np.ndarray: ...
    def query_weights(self, query: str) -> np.ndarray: ...
    def save(self, folder: Path) -> None: ...


def lexical_kind(n: int, settings: IndexSettings) -> str:
    """The backend for ``n`` chunks by ``settings.lexical``: "bm25s", "tantivy", or for "auto" bm25s up
    to ``settings.tantivy_above`` chunks and Tantivy above (when it is installed)."""
    if settings.lexical != "auto":
        return settings.lexical
    return "tantivy" if n > settings.tantivy_above and _installed() else "bm25s"


def build_lexical(texts: list[str], kind: str) -> Lexical:
    """The lexical index of backend ``kind`` ("bm25s" or "tantivy") over ``texts``."""
    return TantivyIndex.build(texts) if kind == "tantivy" else LexicalIndex.build(texts)


def load_lexical(folder: Path) -> Lexical:
    """Read the lexical index saved in ``folder``, whichever backend wrote it."""
    if (folder / TANTIVY_MARKER).exists():
        return TantivyIndex.load(folder)
    return LexicalIndex.load(folder)


class _Weights:
    """idf and query weights from ``vocab`` and ``df`` (shared by both backends)."""

    vocab: dict[str, int]

    @cached_property
    def idf(self) -> np.ndarray:
        """BM25 inverse document frequency of every vocabulary term, by term id."""
        df, n = self._df_and_n()
        return np.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_weights(self, query: str) -> np.ndarray:
        """Per vocabulary term id: its idf when the query holds the term (once), else 0."""
        weights = np.zeros(len(self.vocab), dtype=np.float32)
        ids = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        weights[ids] = self.idf[ids]
        return weights

    def _df_and_n(self) -> tuple[np.ndarray, int]:
        raise NotImplementedError


class LexicalIndex(_Weights):
    """BM25 scores of every chunk for a query (bm25s)."""

    def __init__(self, model: bm25s.BM25) -> None:
        self.model = model
        self.vocab = model.vocab_dict

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index ``texts`` (chunk header plus body)."""
        model = bm25s.BM25()
        model.index([tokenize(t) or [EMPTY] for t in texts], show_progress=False)
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

    def scores(self, query: str, limit: int | None = None) -> np.ndarray:
        """BM25 score of every chunk (zeros when no query word is in the vocabulary); bm25s scores every
        chunk whatever ``limit``."""
        terms = [t for t in tokenize(query) if t in self.vocab]
        if not terms:
            return np.zeros(self.model.scores["num_docs"], dtype=np.float32)
        return self.model.get_scores(terms).astype(np.float32)

    def _df_and_n(self) -> tuple[np.ndarray, int]:
        return np.diff(self.model.scores["indptr"]), self.model.scores["num_docs"]


class TantivyIndex(_Weights):
    """BM25 scores from a Tantivy index of the chunks' terms (one document per chunk, its position
    in a fast field ``row``); ``vocab.json`` and ``df.npy`` next to it give the sentence index its
    term ids and idf."""

    def __init__(self, folder: Path, vocab: dict[str, int], df: np.ndarray) -> None:
        tantivy = _tantivy()
        self.folder = folder
        self.index = tantivy.Index.open(str(folder))
        self.searcher = self.index.searcher()
        self.vocab = vocab
        self.df = df

    @classmethod
    def build(cls, texts: list[str]) -> TantivyIndex:
        """Index ``texts`` in a temporary folder (removed with the object; ``save`` copies it)."""
        tantivy = _tantivy()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        builder.add_unsigned_field("row", fast=True)
        folder = Path(tempfile.mkdtemp(prefix="rag-tantivy-"))
        index = tantivy.Index(builder.build(), path=str(folder))
        writer = index.writer(TANTIVY_HEAP, 1)
        vocab: dict[str, int] = {}
        counts: list[int] = []
        for row, text in enumerate(texts):
            terms = tokenize(text) or [EMPTY]
            for term in set(terms):
                at = vocab.setdefault(term, len(vocab))
                if at == len(counts):
                    counts.append(0)
                counts[at] += 1
            document = tantivy.Document()
            document.add_text("body", " ".join(terms))
            document.add_unsigned("row", row)
            writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()
        built = cls(folder, vocab, np.array(counts, dtype=np.int64))
        weakref.finalize(built, shutil.rmtree, folder, True)
        return built

    def save(self, folder: Path) -> None:
        """Copy the Tantivy files and write the vocabulary and document frequencies beside them."""
        shutil.copytree(self.folder, folder, ignore=shutil.ignore_patterns("*.lock"))
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        np.save(folder / "df.npy", self.df, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> TantivyIndex:
        """Open an index written by save() (its segments are memory-mapped)."""
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(folder, vocab, np.load(folder / "df.npy", allow_pickle=False))

    def __len__(self) -> int:
        """How many documents (chunks) are indexed."""
        return int(self.searcher.num_docs)

    def scores(self, query: str, limit: int | None = None) -> np.ndarray:
        """BM25 score per chunk: of the ``limit`` best (every chunk holding a query term when None),
        zero for the rest."""
        tantivy = _tantivy()
        out = np.zeros(len(self), dtype=np.float32)
        terms = [t for t in tokenize(query) if t in self.vocab]
        if not terms:
            return out
        schema = self.index.schema
        query_ = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t, index_option="freq")) for t in terms])
        hits = self.searcher.search(query_, limit=max(1, min(limit or len(out), len(out))), count=False).hits
        if hits:
            rows = self.searcher.fast_field_values("row", [address for _, address in hits])
            out[np.array(rows, dtype=np.int64)] = [score for score, _ in hits]
        return out

    def _df_and_n(self) -> tuple[np.ndarray, int]:
        return self.df, len(self)


def _installed() -> bool:
    """Whether the tantivy package can be imported."""
    try:
        _tantivy()
    except IndexingError:
        return False
    return True


def _tantivy():  # noqa: ANN202
    """The tantivy module, or an IndexingError saying how to install it."""
    try:
        import tantivy
    except ImportError:
        raise IndexingError("index.lexical = 'tantivy' needs the tantivy package",
                            "pip install -e '.[tantivy]', or set index.lexical = 'bm25s'") from None
    return tantivy
