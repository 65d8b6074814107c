"""Candidate chunks for a question: FAISS neighbours and BM25 scores, restricted by filters."""

from __future__ import annotations

import numpy as np

from rag.embed import Embedder
from rag.index import Index
from rag.retrieve.types import Filters


def allowed_chunks(index: Index, filters: Filters | None) -> np.ndarray:
    """Per chunk: whether its article passes ``filters`` (all True without filters)."""
    if not filters or not filters.active:
        return np.ones(len(index.chunks), dtype=bool)
    ok = {i for i, a in index.articles.items() if filters.allows(a)}
    return np.array([c.article_id in ok for c in index.chunks], dtype=bool)


def dense(index: Index, embedder: Embedder, query: str, depth: int,
          allowed: np.ndarray | None) -> tuple[list[int], list[float]]:
    """The ``depth`` chunks nearest to the query vector (positions, cosine scores), among ``allowed``."""
    scores, ids = index.dense.search(embedder.encode_query(query), depth, allowed)
    keep = ids[0] >= 0
    return ids[0][keep].tolist(), scores[0][keep].tolist()


def lexical_depth(allowed: np.ndarray, depth: int) -> int | None:
    """How many best chunks a Tantivy index scores per query: ``depth`` without a filter; with one, all
    (the corpus-wide top ``depth`` could hold few of the chunks the filter allows). bm25s scores all anyway."""
    return depth if allowed.all() else None


def lexical(index: Index, query: str, allowed: np.ndarray, depth: int) -> np.ndarray:
    """BM25 score of every chunk for ``query`` (0 for chunks not ``allowed``), to ``lexical_depth``."""
    return np.where(allowed, index.lexical.scores(query, lexical_depth(allowed, depth)), 0.0)
