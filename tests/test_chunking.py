"""Chunking: sentence boundaries, the word-piece limit with the header, offsets and overlap."""

from __future__ import annotations

import pytest

from rag.chunking import chunk_article, sentence_spans
from rag.config import ChunkSettings
from rag.corpus import Article, load_corpus
from rag.embed import Embedder
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def seed_chunks(embedder: Embedder):  # noqa: ANN201
    articles = load_corpus(SEEDS).articles
    return articles, {a.id: chunk_article(a, ChunkSettings(), embedder.count_tokens_batch) for a in articles}


def test_sentences_split_at_real_ends_only() -> None:
    text = "Dr. Smith met U.S. officials at 5 p.m. on Friday. They agreed. “Will it hold?” he asked.\n\nNew para"
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == ["Dr. Smith met U.S. officials at 5 p.m. on Friday.", "They agreed.",
                         "“Will it hold?” he asked.", "New para"]


def test_every_seed_chunk_fits_the_model_with_its_header(seed_chunks, embedder: Embedder) -> None:
    _, chunks = seed_chunks
    tokenizer = embedder.model.tokenizer  # the model's own tokenizer, as used when encoding
    for chunk in (c for cs in chunks.values() for c in cs):
        assert chunk.header
        assert len(tokenizer(chunk.indexed_text)["input_ids"]) <= embedder.max_tokens == 256


def test_chunks_are_exact_slices_of_whole_sentences_with_overlap(seed_chunks) -> None:
    articles, chunks = seed_chunks
    for article in articles:
        spans = sentence_spans(article.text)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}
        covered = set()
        for chunk in chunks[article.id]:
            assert chunk.text == article.text[chunk.start:chunk.end]
            assert chunk.start in starts and chunk.end in ends
            assert chunk.article_id == article.id and chunk.title == article.title
            covered |= {n for n, (s, e) in enumerate(spans) if chunk.start <= s and e <= chunk.end}
        assert covered == set(range(len(spans)))
        for before, after in zip(chunks[article.id], chunks[article.id][1:]):
            assert after.start < before.end, "one sentence of overlap"
            assert after.start > before.start


def test_target_size_is_configurable(embedder: Embedder) -> None:
    article = load_corpus(SEEDS).articles[0]
    small = chunk_article(article, ChunkSettings(target_tokens=80, overlap_sentences=0), embedder.count_tokens_batch)
    large = chunk_article(article, ChunkSettings(target_tokens=220, overlap_sentences=0), embedder.count_tokens_batch)
    assert len(small) > len(large)
    multi_sentence = [c for c in small if len(sentence_spans(c.text)) > 1]
    assert multi_sentence and all(embedder.count_tokens(c.text) - 2 <= 80 for c in multi_sentence)
    for chunks in (small, large):  # no overlap: chunks tile the article
        assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))


def test_an_overlong_sentence_is_split_not_truncated(embedder: Embedder) -> None:
    words = " ".join(f"word{n} and" for n in range(400))
    article = Article(id="long", title="A long one", text=f"Short start. {words} end. Tail sentence.",
                      source="x")
    chunks = chunk_article(article, ChunkSettings(), embedder.count_tokens_batch)
    assert len(chunks) >= 3
    assert all(embedder.count_tokens(c.indexed_text) <= 256 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert all(f"word{n} " in joined for n in range(400)) and "Tail sentence." in joined
