"""What retrieval returns and accepts: ranked passages and search filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
