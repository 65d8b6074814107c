"""One relevance score per chunk from the dense and lexical candidates."""

from __future__ import annotations

import numpy as np

from rag.config import RetrieveSettings
from rag.index import Index


def fuse(dense_ids: list[int], dense_scores: list[float], lexical: np.ndarray, n: int, depth: int,
         settings: RetrieveSettings) -> np.ndarray:
    """One relevance score per chunk, from the dense candidates and every chunk's BM25 score.

    "score": BM25 divided by its best value plus the dense cosine min-max scaled over the dense
    candidates, each times its weight. "rrf": weighted reciprocal rank of both top-``depth`` lists.
    """
    fused = np.zeros(n, dtype=np.float64)
    if settings.fusion == "rrf":
        ranked = np.argsort(-lexical, kind="stable")[:depth]
        lexical_ids = ranked[lexical[ranked] > 0]
        for weight, ids in ((settings.dense_weight, dense_ids), (settings.lexical_weight, lexical_ids)):
            fused[np.asarray(ids, dtype=np.int64)] += weight / (settings.rrf_k + np.arange(1, len(ids) + 1))
        return fused
    if lexical.max() > 0:
        fused += settings.lexical_weight * lexical / lexical.max()
    if dense_ids:
        scores = np.asarray(dense_scores)
        spread = scores.max() - scores.min()
        fused[dense_ids] += settings.dense_weight * ((scores - scores.min()) / spread if spread > 0 else 1.0)
    return fused


def clause_bm25(index: Index, pieces: list[str], depth: int | None = None) -> np.ndarray:
    """Per chunk: its best BM25 score against one of ``pieces`` (the clauses, without the outlets
    and dates they name when news-aware: those are boosted apart), each piece's scores divided by
    their maximum (a Tantivy index scores each piece's ``depth`` best only). A chunk that matches one
    part of a multi-part question well (the fact it asks about) is not drowned by chunks matching a
    few words of every part."""
    best = np.zeros(len(index.chunks), dtype=np.float64)
    for piece in pieces:
        scores = index.lexical.scores(piece, depth)
        if scores.max() > 0:
            best = np.maximum(best, scores / scores.max())
    return best
