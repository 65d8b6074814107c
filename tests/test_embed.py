"""The embedder from its PyPI package: normalised vectors, word-piece counts, fingerprint, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.config import IndexSettings
from rag.embed import Embedder
from rag.errors import ModelError


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_vectors_are_normalised_and_similar_texts_are_close(embedder: Embedder) -> None:
    vectors = embedder.encode(["The bank will raise $135 billion.", "The lender hopes to raise 135 billion dollars.",
                               "Heating outages froze the sewers."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    query = embedder.encode_query("How much will the bank raise?")
    assert query.shape == (384,) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)


def test_batches_report_progress_and_keep_order(embedder: Embedder) -> None:
    texts = [f"sentence number {n} " + "word " * (n % 7) for n in range(70)]
    seen: list[int] = []
    batched = embedder.encode(texts, on_batch=seen.append)
    assert sum(seen) == 70 and len(seen) == 3  # batches of 32
    assert np.allclose(batched[5], embedder.encode([texts[5]])[0], atol=1e-2)


def test_word_pieces_are_counted_with_the_special_tokens(embedder: Embedder) -> None:
    assert embedder.count_tokens("") == 2  # [CLS] [SEP]
    assert embedder.count_tokens_batch(["hello world", ""]) == [4, 2]
    assert embedder.max_tokens == 256 and embedder.dimension == 384


def test_the_fingerprint_is_the_weights_hash(embedder: Embedder) -> None:
    assert len(embedder.fingerprint) == 64 and embedder.fingerprint == Embedder().fingerprint


def test_an_unknown_embedder_names_the_choices(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ModelError, match="unknown embedder 'nope'. Fix: use one of all-MiniLM-L6-v2"):
        Embedder(IndexSettings(embedder="nope"))


@pytest.mark.parametrize("memo", ["{not json", "[]", '{"x": 1}', None])
def test_a_bad_or_unreadable_hash_cache_is_ignored(memo: str | None, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    expected = Embedder().fingerprint
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    cache = tmp_path / "embedder-hashes.json"
    if memo is None:
        cache.mkdir()  # a folder where the file should be: it can be neither read nor written
    else:
        cache.write_text(memo)
    assert Embedder().fingerprint == expected
    if memo is not None:  # rewritten with the hash
        assert expected in json.loads(cache.read_text()).values()
    assert not list(tmp_path.glob(".embedder-hashes.json.tmp-*"))  # no temp file left, written or not
