"""Hybrid retrieval in stages: candidates (FAISS and BM25), fusion, news-aware re-scoring, spread.

``Retriever(index, embedder, settings).search(question, k)`` runs the stages: ``candidates`` finds
the dense neighbours and BM25 scores, ``fusion`` turns them into one score per chunk, ``news``
reads the outlets and dates the question names (from the index's own metadata) and ``rescore``
favours chunks where one sentence holds the question or one of its clauses; ``spread`` picks the
top k, each named outlet its own article first, the rest spread over articles.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from rag.config import RetrieveSettings
from rag.embed import Embedder
from rag.index import Index
from rag.retrieve import candidates, fusion, spread
from rag.retrieve.news import Catalog, QueryMeta, clauses
from rag.retrieve.types import Filters, Passage

__all__ = ["Filters", "Passage", "Retriever"]


class Retriever:
    """Searches one index; holds what it derives from the index (the outlet catalog) across questions."""

    def __init__(self, index: Index, embedder: Embedder, settings: RetrieveSettings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings

    @cached_property
    def catalog(self) -> Catalog:
        """The outlets and dates of the indexed articles, and the reader of questions, built on first use."""
        index = self.index
        return Catalog([c.article_id for c in index.chunks], {i: a.publisher for i, a in index.articles.items()},
                       {i: a.date for i, a in index.articles.items()})

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
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
        index, settings = self.index, self.settings
        n = len(index.chunks)
        if n == 0 or k <= 0:
            return []
        allowed = candidates.allowed_chunks(index, filters)
        if not allowed.any():
            return []
        depth = min(n, max(settings.candidates, k * settings.max_per_article))
        dense_ids, dense_scores = candidates.dense(index, self.embedder, query, depth,
                                                   None if allowed.all() else allowed)
        lexical = candidates.lexical(index, query, allowed, depth)
        fused = fusion.fuse(dense_ids, dense_scores, lexical, n, depth, settings)
        catalog = self.catalog
        meta = catalog.parse(query) if settings.news_aware else QueryMeta()
        if meta.parts and settings.outlet_boost:
            fused += settings.outlet_boost * catalog.publisher_mask(meta.publishers)
        if meta.dates and settings.date_boost:
            fused += settings.date_boost * catalog.date_mask(meta.dates)
        seen = lexical > 0
        seen[dense_ids] = True
        fused = np.where(allowed & seen, fused, -np.inf)
        sentences = index.sentences.distinct if settings.skip_repeated_sentences else index.sentences
        rarity = sentences.rarity(spread.top(fused, settings.rarity_pool)) if settings.rarity_pool else 1.0

        def share(text: str) -> np.ndarray:  # per chunk: its best sentence's share of the text's words
            return sentences.best_share(index.lexical.query_weights(text) * rarity)

        sentence = share(query)
        fused += settings.sentence_weight * sentence  # a chunk where one sentence holds most query words beats one
        shares = None  # per clause of a multi-clause question, per chunk: its best sentence's share
        pieces = clauses(query) if settings.clause_weight or settings.coverage_weight \
            or settings.clause_lexical_weight else []
        if len(pieces) > 1:
            shares = np.array([share(c) for c in pieces])
            fused += settings.clause_weight * shares.max(axis=0)
            if settings.clause_lexical_weight:
                texts = [catalog.content(c) for c in pieces] if settings.news_aware else pieces
                best = fusion.clause_bm25(index, texts, candidates.lexical_depth(allowed, depth))
                fused += settings.clause_lexical_weight * np.where(allowed, best, 0.0)
        heads = spread.outlet_heads(catalog, meta, fused) if settings.outlet_parts else []
        heads.sort(key=lambda i: (-sentence[i], -fused[i]))  # the most direct match to the whole question first
        chosen = spread.spread(fused, catalog.chunk_article, heads, k, settings, shares)
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
