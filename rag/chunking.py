"""Sentence-aware chunking that fits the embedder's word-piece limit, header included."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rag.config import ChunkSettings
from rag.corpus import Article
from rag.errors import CorpusError
from rag.text import sentence_spans


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article, with exact character offsets into its text."""

    id: str
    article_id: str
    title: str
    date: str | None
    text: str  # == article.text[start:end]
    start: int
    end: int
    header: str = ""  # indexed and embedded in front of the text ("title — publisher (date)")

    @property
    def indexed_text(self) -> str:
        """What the embedder and the lexical index see."""
        return f"{self.header}\n{self.text}" if self.header else self.text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready record."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """Inverse of to_dict."""
        return cls(**data)


def chunk_header(article: Article) -> str:
    """The line indexed with every chunk of ``article``: title, publisher and date where known."""
    header = article.title
    if article.publisher:
        header += f" — {article.publisher}"
    if article.date:
        header += f" ({article.date[:10]})"
    return header


def chunk_article(article: Article, settings: ChunkSettings,
                  count_tokens: Callable[[list[str]], list[int]]) -> list[Chunk]:
    """Cut ``article`` into chunks of whole sentences that fit ``settings.max_tokens`` word-pieces.

    ``count_tokens`` is the embedder's own counter (special tokens included). The header counts
    against the limit. Consecutive chunks share ``overlap_sentences`` sentences. A single sentence
    longer than the budget is split at word boundaries, never truncated.
    """
    header = chunk_header(article) if settings.title_prefix else ""
    # [CLS] header \n text [SEP]: the header's own count includes both special tokens.
    budget = settings.max_tokens - (count_tokens([header])[0] if header else 2)
    if budget < 16:
        where = f"{article.source}:{article.lines[0]}" if article.lines else article.source
        raise CorpusError(f"{where}: the title of article {article.id!r} is too long to leave room for text "
                          f"within chunk.max_tokens = {settings.max_tokens} word-pieces",
                          "shorten the title, or set chunk.title_prefix = false")
    target = min(settings.target_tokens, budget)
    spans = list(_fit(article.text, sentence_spans(article.text), budget, count_tokens))
    sizes = [n - 2 for n in count_tokens([article.text[s:e] for s, e in spans])]
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j, total = i, 0
        while j < len(spans) and (j == i or total + sizes[j] <= target):
            total += sizes[j]
            j += 1
        start, end = spans[i][0], spans[j - 1][1]
        while j - 1 > i and count_tokens([f"{header}\n{article.text[start:end]}" if header
                                          else article.text[start:end]])[0] > settings.max_tokens:
            j -= 1
            end = spans[j - 1][1]
        chunks.append(Chunk(id=f"{article.id}:{len(chunks)}", article_id=article.id, title=article.title,
                            date=article.date, text=article.text[start:end], start=start, end=end,
                            header=header))
        if j >= len(spans):
            break
        i = max(j - settings.overlap_sentences, i + 1)
    return chunks


def _fit(text: str, spans: list[tuple[int, int]], budget: int,
         count_tokens: Callable[[list[str]], list[int]]) -> Iterator[tuple[int, int]]:
    """Yield spans, splitting any sentence longer than ``budget`` word-pieces at word boundaries."""
    sizes = count_tokens([text[s:e] for s, e in spans])
    for (start, end), size in zip(spans, sizes):
        if size - 2 <= budget:
            yield start, end
            continue
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
        counts = [n - 2 for n in count_tokens([text[a:b] for a, b in words])]
        piece_start, total, prev_end = words[0][0], 0, words[0][1]
        for (a, b), n in zip(words, counts):
            if total and total + n > budget:
                yield piece_start, prev_end
                piece_start, total = a, 0
            total += n
            prev_end = b
        yield piece_start, prev_end
