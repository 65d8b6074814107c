"""Hybrid retrieval: dense (FAISS) and BM25 scores fused, news-aware boosts, outlet coverage, article spread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from rag.config import RetrieveSettings
from rag.embed import Embedder
from rag.errors import RagError
from rag.index import Index
from rag.newsquery import QueryMeta, clauses


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
    score: float  # fused relevance (boosts included), higher is better; the order also spreads articles
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
    """The ``k`` best passages for ``query``, at most ``settings.max_per_article`` per article.

    Dense and BM25 scores are fused (``settings.fusion``); chunks of outlets and dates the question
    names are boosted; chunks where one sentence holds most of the question, or of one of its
    clauses, gain (question words weighed by idf times their rarity among the sentences of the
    ``rarity_pool`` best chunks so far; sentences printed word for word in several articles match
    nothing, ``skip_repeated_sentences``), and so do chunks with a high BM25 score for one clause
    (``clause_lexical_weight``); each named outlet (or date) gets its best article first
    (``outlet_parts``), the one whose best sentence holds most of the question leading; the rest is
    filled greedily, each further chunk of an already chosen article paying ``article_penalty`` and
    chunks matching a clause not yet met gaining ``coverage_weight``.
    """
    n = len(index.chunks)
    if n == 0 or k <= 0:
        return []
    allowed = np.ones(n, dtype=bool)
    if filters and filters.active:
        ok = {i for i, a in index.articles.items() if filters.allows(a)}
        allowed = np.array([c.article_id in ok for c in index.chunks])
        if not allowed.any():
            return []
    depth = min(n, max(settings.candidates, k * settings.max_per_article))
    dense_ids, dense_scores = _dense(index, embedder, query, depth, None if allowed.all() else allowed)
    lexical = np.where(allowed, index.lexical.scores(query), 0.0)
    fused = _fuse(dense_ids, dense_scores, lexical, n, depth, settings)
    catalog = index.catalog
    meta = catalog.parse(query) if settings.news_aware else QueryMeta()
    if meta.parts and settings.outlet_boost:
        fused += settings.outlet_boost * catalog.publisher_mask(meta.publishers)
    if meta.dates and settings.date_boost:
        fused += settings.date_boost * catalog.date_mask(meta.dates)
    seen = lexical > 0
    seen[dense_ids] = True
    fused = np.where(allowed & seen, fused, -np.inf)
    sentences = index.sentences.distinct if settings.skip_repeated_sentences else index.sentences
    rarity = sentences.rarity(_top(fused, settings.rarity_pool)) if settings.rarity_pool else 1.0

    def share(text: str) -> np.ndarray:  # per chunk: its best sentence's share of the text's words
        return sentences.best_share(index.lexical.query_weights(text) * rarity)

    sentence = share(query)
    fused += settings.sentence_weight * sentence  # a chunk where one sentence holds most query words beats one
    shares = None  # per clause of a multi-clause question, per chunk: its best sentence's share
    pieces = clauses(query) if settings.clause_weight or settings.coverage_weight or settings.clause_lexical_weight else []
    if len(pieces) > 1:
        shares = np.array([share(c) for c in pieces])
        fused += settings.clause_weight * shares.max(axis=0)
        if settings.clause_lexical_weight:
            texts = [catalog.content(c) for c in pieces] if settings.news_aware else pieces
            fused += settings.clause_lexical_weight * np.where(allowed, _clause_bm25(index, texts), 0.0)
    heads = _outlet_heads(index, meta, fused) if settings.outlet_parts else []
    heads.sort(key=lambda i: (-sentence[i], -fused[i]))  # the most direct match to the whole question first
    chosen = _spread(fused, catalog.chunk_article, heads, k, settings, shares)
    dense_at = {i: (r, s) for r, (i, s) in enumerate(zip(dense_ids, dense_scores), 1)}
    passages = []
    for i in chosen:
        chunk = index.chunks[i]
        article = index.articles[chunk.article_id]
        d_rank, d_score = dense_at.get(i, (None, None))
        l_score = float(lexical[i]) if lexical[i] > 0 else None
        l_rank = int((lexical > lexical[i]).sum()) + 1 if l_score else None
        passages.append(Passage(
            text=chunk.text, article_id=chunk.article_id, title=chunk.title, date=chunk.date,
            source=article.source, publisher=article.publisher, chunk_id=chunk.id, start=chunk.start,
            end=chunk.end, score=float(fused[i]), dense_score=d_score, lexical_score=l_score,
            dense_rank=d_rank, lexical_rank=l_rank))
    return passages


def _fuse(dense_ids: list[int], dense_scores: list[float], lexical: np.ndarray, n: int, depth: int,
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
    if settings.fusion != "score":
        raise RagError(f"retrieve.fusion must be 'score' or 'rrf', not {settings.fusion!r}.")
    if lexical.max() > 0:
        fused += settings.lexical_weight * lexical / lexical.max()
    if dense_ids:
        scores = np.asarray(dense_scores)
        spread = scores.max() - scores.min()
        fused[dense_ids] += settings.dense_weight * ((scores - scores.min()) / spread if spread > 0 else 1.0)
    return fused


def _clause_bm25(index: Index, pieces: list[str]) -> np.ndarray:
    """Per chunk: its best BM25 score against one of ``pieces`` (the clauses, without the outlets
    and dates they name when news-aware: those are boosted apart), each piece's scores divided by
    their maximum. A chunk that matches one part of a multi-part question well (the fact it asks
    about) is not drowned by chunks matching a few words of every part."""
    best = np.zeros(len(index.chunks), dtype=np.float64)
    for piece in pieces:
        scores = index.lexical.scores(piece)
        if scores.max() > 0:
            best = np.maximum(best, scores / scores.max())
    return best


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` best finite scores, in no particular order."""
    finite = np.flatnonzero(np.isfinite(scores))
    return finite if len(finite) <= n else finite[np.argpartition(-scores[finite], n - 1)[:n]]


def _outlet_heads(index: Index, meta: QueryMeta, fused: np.ndarray) -> list[int]:
    """For each part of the question (outlet and/or its dates), the best chunk of an article that
    fits it and is not the head of an earlier part."""
    heads: list[int] = []
    taken: set[int] = set()
    for part in meta.parts:
        mask = np.isfinite(fused)
        if part.publishers:
            mask &= index.catalog.publisher_mask(part.publishers)
        if part.dates and (mask & index.catalog.date_mask(part.dates)).any():
            mask &= index.catalog.date_mask(part.dates)
        mask &= ~np.isin(index.catalog.chunk_article, list(taken))
        if mask.any():
            best = int(np.argmax(np.where(mask, fused, -np.inf)))
            heads.append(best)
            taken.add(int(index.catalog.chunk_article[best]))
    return heads


def _spread(fused: np.ndarray, chunk_article: np.ndarray, heads: list[int], k: int,
            settings: RetrieveSettings, shares: np.ndarray | None = None) -> list[int]:
    """Chunk positions of the top ``k``: the outlet heads in the given order, then greedy picks by fused score
    minus ``article_penalty`` per chunk already taken from the same article, plus
    ``coverage_weight`` times how much better the chunk matches some clause (``shares``, clauses x
    chunks) than every chunk taken so far: the next pick favours a part of the question not yet met.
    The first pick (no outlet heads) is the best fused chunk: with nothing taken there is nothing to
    cover yet, and a short clause matched whole must not outrank the question's best match."""
    chosen = list(heads[:k])
    counts: dict[int, int] = {}
    for i in chosen:
        counts[int(chunk_article[i])] = counts.get(int(chunk_article[i]), 0) + 1
    pool_size = min(len(fused), k * (settings.max_per_article + 2) + len(heads))
    pool = np.argpartition(-fused, pool_size - 1)[:pool_size] if pool_size < len(fused) else np.arange(len(fused))
    pool = pool[np.isfinite(fused[pool]) & ~np.isin(pool, chosen)]
    pool = pool[np.argsort(-fused[pool], kind="stable")]
    articles = chunk_article[pool]
    cover = shares is not None and settings.coverage_weight > 0
    while len(chosen) < k and len(pool):
        taken = np.array([counts.get(int(a), 0) for a in articles])
        adjusted = fused[pool] - settings.article_penalty * taken
        if cover and chosen:
            met = shares[:, chosen].max(axis=1, keepdims=True)
            adjusted = adjusted + settings.coverage_weight * np.clip(shares[:, pool] - met, 0, None).max(axis=0)
        adjusted = np.where(taken < settings.max_per_article, adjusted, -np.inf)
        best = int(np.argmax(adjusted))
        if not np.isfinite(adjusted[best]):
            break
        chosen.append(int(pool[best]))
        counts[int(articles[best])] = counts.get(int(articles[best]), 0) + 1
        pool, articles = np.delete(pool, best), np.delete(articles, best)
    return chosen


def _dense(index: Index, embedder: Embedder, query: str, depth: int,
           allowed: np.ndarray | None) -> tuple[list[int], list[float]]:
    vector = embedder.encode_query(query).reshape(1, -1)
    params = None
    if allowed is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(allowed).astype("int64")))
    scores, ids = index.dense.search(vector, depth, params=params)
    keep = ids[0] >= 0
    return ids[0][keep].tolist(), scores[0][keep].tolist()
