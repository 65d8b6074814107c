"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by weighted reciprocal rank, with filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from rag.config import RetrieveSettings
from rag.embed import Embedder
from rag.index import Index


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and how each retriever ranked it."""

    text: str
    article_id: str
    title: str
    date: str | None
    source: str
    publisher: str | None
    chunk_id: str
    start: int  # character offsets of the chunk in the article text
    end: int
    score: float  # fused score, higher is better
    dense_score: float | None  # cosine similarity, when the dense retriever saw it
    lexical_score: float | None  # BM25 score, when the lexical retriever saw it
    dense_rank: int | None  # 1-based
    lexical_rank: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready record."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some publishers or sources, a date range, or some article ids."""

    publishers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # file paths (substring match)
    date_from: str | None = None  # ISO prefix, inclusive: "2023-10" or "2023-10-05"
    date_to: str | None = None
    article_ids: tuple[str, ...] = ()

    def allows(self, article: Any) -> bool:
        """Whether an Article passes every filter that is set."""
        if self.article_ids and article.id not in self.article_ids:
            return False
        if self.publishers and (article.publisher or "").lower() not in {p.lower() for p in self.publishers}:
            return False
        if self.sources and not any(s in article.source for s in self.sources):
            return False
        date = article.date
        if (self.date_from or self.date_to) and not date:
            return False
        if self.date_from and date < self.date_from[: len(date)]:
            return False
        return not (self.date_to and date > self.date_to[: len(date)])

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.publishers or self.sources or self.date_from or self.date_to or self.article_ids)


def search(index: Index, embedder: Embedder, query: str, k: int, settings: RetrieveSettings,
           filters: Filters | None = None) -> list[Passage]:
    """The ``k`` best passages for ``query``, at most ``settings.max_per_article`` per article."""
    n = len(index.chunks)
    if n == 0 or k <= 0:
        return []
    allowed = None
    if filters and filters.active:
        ok = {i for i, a in index.articles.items() if filters.allows(a)}
        allowed = np.array([c.article_id in ok for c in index.chunks])
        if not allowed.any():
            return []
    depth = min(n, max(settings.candidates, k * settings.max_per_article))
    dense_ids, dense_scores = _dense(index, embedder, query, depth, allowed)
    lexical_ids, lexical_scores = _lexical(index, query, depth, allowed)
    fused: dict[int, float] = {}
    for weight, ids in ((settings.dense_weight, dense_ids), (settings.lexical_weight, lexical_ids)):
        for rank, i in enumerate(ids, 1):
            fused[i] = fused.get(i, 0.0) + weight / (settings.rrf_k + rank)
    dense_at = {i: (r, s) for r, (i, s) in enumerate(zip(dense_ids, dense_scores), 1)}
    lexical_at = {i: (r, s) for r, (i, s) in enumerate(zip(lexical_ids, lexical_scores), 1)}
    per_article: dict[str, int] = {}
    passages = []
    for i in sorted(fused, key=lambda i: (-fused[i], i)):
        chunk = index.chunks[i]
        if per_article.get(chunk.article_id, 0) >= settings.max_per_article:
            continue
        per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
        article = index.articles[chunk.article_id]
        d_rank, d_score = dense_at.get(i, (None, None))
        l_rank, l_score = lexical_at.get(i, (None, None))
        passages.append(Passage(
            text=chunk.text, article_id=chunk.article_id, title=chunk.title, date=chunk.date,
            source=article.source, publisher=article.publisher, chunk_id=chunk.id, start=chunk.start,
            end=chunk.end, score=fused[i], dense_score=d_score, lexical_score=l_score,
            dense_rank=d_rank, lexical_rank=l_rank))
        if len(passages) == k:
            break
    return passages


def _dense(index: Index, embedder: Embedder, query: str, depth: int,
           allowed: np.ndarray | None) -> tuple[list[int], list[float]]:
    vector = embedder.encode_query(query).reshape(1, -1)
    params = None
    if allowed is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(allowed).astype("int64")))
    scores, ids = index.dense.search(vector, depth, params=params)
    keep = ids[0] >= 0
    return ids[0][keep].tolist(), scores[0][keep].tolist()


def _lexical(index: Index, query: str, depth: int,
             allowed: np.ndarray | None) -> tuple[list[int], list[float]]:
    scores = index.lexical.scores(query)
    if allowed is not None:
        scores = np.where(allowed, scores, 0.0)
    top = np.argpartition(-scores, min(depth, len(scores) - 1))[:depth]
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[scores[top] > 0]
    return top.tolist(), scores[top].tolist()
