"""The top k from fused scores: each part of the question its own article first, then spread over articles."""

from __future__ import annotations

import numpy as np

from rag.config import RetrieveSettings
from rag.retrieve.news import Catalog, QueryMeta


def top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` best finite scores, in no particular order."""
    finite = np.flatnonzero(np.isfinite(scores))
    return finite if len(finite) <= n else finite[np.argpartition(-scores[finite], n - 1)[:n]]


def outlet_heads(catalog: Catalog, meta: QueryMeta, fused: np.ndarray) -> list[int]:
    """For each part of the question (outlet and/or its dates), the best chunk of an article that
    fits it and is not the head of an earlier part."""
    heads: list[int] = []
    taken: set[int] = set()
    for part in meta.parts:
        mask = np.isfinite(fused)
        if part.publishers:
            mask &= catalog.publisher_mask(part.publishers)
        if part.dates and (mask & catalog.date_mask(part.dates)).any():
            mask &= catalog.date_mask(part.dates)
        mask &= ~np.isin(catalog.chunk_article, list(taken))
        if mask.any():
            best = int(np.argmax(np.where(mask, fused, -np.inf)))
            heads.append(best)
            taken.add(int(catalog.chunk_article[best]))
    return heads


def spread(fused: np.ndarray, chunk_article: np.ndarray, heads: list[int], k: int,
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
