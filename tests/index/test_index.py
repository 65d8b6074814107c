"""The stored index: manifest, incremental updates, rebuild on incompatible settings, safe writes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from rag.config import ChunkSettings, IndexSettings, Settings
from rag.corpus import load_corpus
from rag.embed import Embedder
from rag.index import load_index, open_index, store
from rag.index import manifest as manifests
from tests.conftest import SEEDS


class CountingEmbedder(Embedder):
    """The real embedder, recording how many texts it was asked to embed."""

    embedded = 0

    def encode(self, texts, on_batch=None):  # noqa: ANN001, ANN201
        self.embedded += len(texts)
        return super().encode(texts, on_batch)


@pytest.fixture(scope="module")
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


def _open(corpus: Path, index_dir: Path, embedder: Embedder, settings: Settings | None = None):  # noqa: ANN202
    embedder.embedded = 0
    return open_index(load_corpus(corpus), index_dir / "ix", settings or Settings(), embedder)


def test_build_writes_a_documented_manifest(corpus_copy: Path, tmp_path: Path, embedder: CountingEmbedder) -> None:
    index, report = _open(corpus_copy, tmp_path, embedder)
    assert report.chunks_embedded == embedder.embedded == len(index.chunks) > 10
    manifest = json.loads((tmp_path / "ix" / "seeds" / "manifest.json").read_text())
    assert manifest["format_version"] == manifests.FORMAT_VERSION
    assert manifest["embedder"]["name"] == "all-MiniLM-L6-v2" and len(manifest["embedder"]["sha256"]) == 64
    assert manifest["embedder"]["dimension"] == 384
    assert manifest["chunking"] == dataclasses.asdict(ChunkSettings())
    assert manifest["counts"] == {"articles": 10, "chunks": len(index.chunks)}
    assert set(manifest["articles"]) == set(index.articles) and manifest["created_at"]
    assert manifest["faiss"]["type"] == "IndexFlatIP"
    assert sorted(p.name for p in (tmp_path / "ix" / "seeds").iterdir()) == [
        "articles.jsonl", "chunks.jsonl", "index.faiss", "lexical", "manifest.json", "vectors.npy"]
    norms = np.linalg.norm(index.vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)


def test_reopening_unchanged_embeds_nothing_and_writes_nothing(corpus_copy: Path, tmp_path: Path,
                                                               embedder: CountingEmbedder) -> None:
    _open(corpus_copy, tmp_path, embedder)
    manifest = tmp_path / "ix" / "seeds" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    index, report = _open(corpus_copy, tmp_path, embedder)
    assert report.unchanged and embedder.embedded == 0 and report.kept == 10
    assert manifest.stat().st_mtime_ns == before


def test_editing_one_article_reembeds_only_its_chunks(corpus_copy: Path, tmp_path: Path,
                                                      embedder: CountingEmbedder) -> None:
    old, _ = _open(corpus_copy, tmp_path, embedder)
    seed = next(corpus_copy.glob("*.txt"))
    text = seed.read_text(encoding="utf-8")
    edited = text.replace("The ESM was a lender of last resort", "The ESM was once a lender of last resort")
    assert edited != text
    seed.write_text(edited, encoding="utf-8")
    new, report = _open(corpus_copy, tmp_path, embedder)
    esm = "the-bloc-isnt-using-the-full-potential-of"
    assert report.changed == [esm] and not report.added and not report.removed and report.kept == 9
    assert embedder.embedded == report.chunks_embedded == sum(c.article_id == esm for c in new.chunks)
    old_vectors = {c.id: v for c, v in zip(old.chunks, old.vectors) if c.article_id != esm}
    for chunk, vector in zip(new.chunks, new.vectors):
        if chunk.article_id != esm:
            assert np.array_equal(old_vectors[chunk.id], vector)
    assert any("once a lender" in c.text for c in new.chunks)
    assert load_index(new.path).manifest["articles"][esm] == new.articles[esm].content_hash


def test_added_and_removed_files(corpus_copy: Path, tmp_path: Path, embedder: CountingEmbedder) -> None:
    _open(corpus_copy, tmp_path, embedder)
    (corpus_copy / "extra.jsonl").write_text('{"title": "Extra story", "body": "Something new happened."}\n')
    index, report = _open(corpus_copy, tmp_path, embedder)
    assert report.added == ["extra-story"] and embedder.embedded == 1 and len(index.articles) == 11
    next(corpus_copy.glob("*.txt")).unlink()
    index, report = _open(corpus_copy, tmp_path, embedder)
    assert len(report.removed) == 10 and embedder.embedded == 0
    assert [c.article_id for c in index.chunks] == ["extra-story"]


def test_other_chunking_or_embedder_precision_rebuilds_in_full(corpus_copy: Path, tmp_path: Path,
                                                               embedder: CountingEmbedder) -> None:
    first, _ = _open(corpus_copy, tmp_path, embedder)
    settings = Settings().replace(**{"chunk.target_tokens": 120})
    index, report = _open(corpus_copy, tmp_path, embedder, settings)
    assert "chunking" in report.rebuild_reason and embedder.embedded == len(index.chunks) > len(first.chunks)
    fp32 = Settings().replace(**{"chunk.target_tokens": 120, "index.bf16": False})
    fp32_embedder = CountingEmbedder(IndexSettings(bf16=False))
    index, report = _open(corpus_copy, tmp_path, fp32_embedder, fp32)
    assert "embedder" in report.rebuild_reason and fp32_embedder.embedded == len(index.chunks)


def test_corrupt_or_missing_files_rebuild_with_a_reason(corpus_copy: Path, tmp_path: Path,
                                                        embedder: CountingEmbedder) -> None:
    _open(corpus_copy, tmp_path, embedder)
    (tmp_path / "ix" / "seeds" / "vectors.npy").write_bytes(b"garbage")
    index, report = _open(corpus_copy, tmp_path, embedder)
    assert "corrupt" in report.rebuild_reason and str(tmp_path / "ix" / "seeds") in report.rebuild_reason
    assert embedder.embedded == len(index.chunks)
    (tmp_path / "ix" / "seeds" / "manifest.json").unlink()
    _, report = _open(corpus_copy, tmp_path, embedder)
    assert "corrupt" in report.rebuild_reason


def test_an_interrupted_write_leaves_the_previous_index_usable(corpus_copy: Path, tmp_path: Path,
                                                               embedder: CountingEmbedder,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    before, _ = _open(corpus_copy, tmp_path, embedder)
    (corpus_copy / "extra.jsonl").write_text('{"title": "Extra", "body": "New text."}\n')

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store.faiss, "serialize_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _open(corpus_copy, tmp_path, embedder)
    monkeypatch.undo()
    survivor = load_index(tmp_path / "ix" / "seeds")
    assert len(survivor.chunks) == len(before.chunks) and "extra" not in survivor.articles
    index, report = _open(corpus_copy, tmp_path, embedder)
    assert report.added == ["extra"] and not list((tmp_path / "ix").glob(".seeds.*"))


def test_large_corpora_get_ivf_with_its_tuned_parameters_in_the_manifest(corpus_copy: Path, tmp_path: Path,
                                                                         embedder: CountingEmbedder) -> None:
    settings = Settings().replace(**{"index.flat_max_vectors": 10})
    index, _ = _open(corpus_copy, tmp_path, embedder, settings)
    params = index.manifest["faiss"]
    assert params["type"] == "IndexIVFScalarQuantizer" and params["factory"] == f"IVF{params['nlist']},SQ8"
    assert 1 <= params["nprobe"] <= params["nlist"] and params["recall_at_10"] >= 0.95
    loaded = load_index(index.path).dense
    assert loaded.approximate and loaded.faiss.nprobe == params["nprobe"]
    scores, ids = loaded.search(index.vectors[5], 3)
    assert ids[0][0] == 5 and np.isclose(scores[0][0], 1.0, atol=1e-5)  # re-scored exactly from the float vectors


def test_bf16_scores_stay_within_a_hundredth_of_fp32(embedder: CountingEmbedder) -> None:
    articles = load_corpus(SEEDS).articles
    texts = [a.text[:600] for a in articles]
    query = "How much does the planned defense bank hope to raise?"
    fp32 = Embedder(IndexSettings(bf16=False))
    scores_bf16 = embedder.encode(texts) @ embedder.encode_query(query)
    scores_fp32 = fp32.encode(texts) @ fp32.encode_query(query)
    assert np.max(np.abs(scores_bf16 - scores_fp32)) < 1e-2


def test_another_lexical_backend_reindexes_without_embedding(corpus_copy: Path, tmp_path: Path,
                                                              embedder: CountingEmbedder) -> None:
    before, _ = _open(corpus_copy, tmp_path, embedder)
    assert before.manifest["lexical"] == "bm25s"
    settings = Settings().replace(**{"index.lexical": "tantivy"})
    index, report = _open(corpus_copy, tmp_path, embedder, settings)
    assert report.reindex_reason and "tantivy" in report.reindex_reason and embedder.embedded == 0
    assert index.manifest["lexical"] == "tantivy" and type(load_index(index.path).lexical).__name__ == "TantivyIndex"
    query = "defense bank"
    new, old = index.lexical.scores(query), before.lexical.scores(query)
    assert np.argmax(new) == np.argmax(old) and ((new > 0) == (old > 0)).all()  # k1 differs: 1.2 vs 1.5
    _, again = _open(corpus_copy, tmp_path, embedder, settings)
    assert again.unchanged
