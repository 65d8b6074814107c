"""The on-disk index: chunks, vectors, FAISS and BM25, kept in step with the corpus by content hash."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.chunking import Chunk, chunk_article
from rag.config import Settings
from rag.corpus import Article, Corpus
from rag.embed import Embedder
from rag.errors import RagError
from rag.lexical import LexicalIndex, SentenceIndex
from rag.newsquery import Catalog
from rag.progress import progress_bar

FORMAT_VERSION = 1
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


@dataclass
class IndexReport:
    """What opening the index did: counts of kept/embedded/removed articles and why it rebuilt."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    chunks_embedded: int = 0
    rebuild_reason: str | None = None

    @property
    def unchanged(self) -> bool:
        """True when nothing had to be embedded, removed or written."""
        return not (self.added or self.changed or self.removed or self.rebuild_reason)


@dataclass
class Index:
    """A loaded index: articles, chunks in vector order, vectors, FAISS and lexical search."""

    path: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: faiss.Index
    lexical: LexicalIndex

    @cached_property
    def catalog(self) -> Catalog:
        """Per-chunk article, publisher and date arrays and the question reader, built on first use."""
        return Catalog([c.article_id for c in self.chunks],
                       {i: a.publisher for i, a in self.articles.items()},
                       {i: a.date for i, a in self.articles.items()})

    @cached_property
    def sentences(self) -> SentenceIndex:
        """The terms of each chunk's sentences, built on first use (about 1.5 s per 10k chunks);
        sentences found word for word in more than one article are marked ``repeated``."""
        return SentenceIndex.build([c.text for c in self.chunks], self.lexical.vocab,
                                   [c.article_id for c in self.chunks])


def index_name(corpus_path: str | Path) -> str:
    """Folder name of the index for a corpus path: its file or folder name, made safe."""
    stem = Path(corpus_path).resolve().stem or "corpus"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)


def open_index(corpus: Corpus, index_dir: str | Path, settings: Settings, embedder: Embedder,
               name: str | None = None, progress: bool = True) -> tuple[Index, IndexReport]:
    """Load the index of ``corpus`` from ``index_dir``, embedding only what changed.

    Unchanged corpus: loads and returns at once. New or edited articles: only their chunks are
    embedded; removed articles are dropped. A different embedder, chunking or format: full
    rebuild, with the reason in the report. Every write goes to a temporary folder renamed into
    place, so an interrupted build leaves the previous index usable.
    """
    path = Path(index_dir) / (name or index_name(corpus.root))
    if Path(corpus.root).is_dir() and path.resolve().is_relative_to(Path(corpus.root).resolve()):
        raise RagError(f"{path}: the index would be written inside the corpus folder {corpus.root} and "
                       "read back as articles. Fix: choose an index folder outside the corpus.")
    _recover(path)
    expected = _expected_manifest(settings, embedder)
    report = IndexReport()
    old: Index | None = None
    if path.exists():
        try:
            old = load_index(path)
        except RagError as exc:
            report.rebuild_reason = f"{exc}; rebuilding it"
        else:
            report.rebuild_reason = _incompatibility(old.manifest, expected)
            if report.rebuild_reason:
                old = None
    kept_hashes = old.manifest["articles"] if old else {}
    current = {a.id: a for a in corpus.articles}
    report.added = [i for i in current if i not in kept_hashes]
    report.changed = [i for i in current if i in kept_hashes and kept_hashes[i] != current[i].content_hash]
    report.removed = [i for i in kept_hashes if i not in current]
    report.kept = len(current) - len(report.added) - len(report.changed)
    if old is not None and report.unchanged:
        return old, report

    keep = [n for n, c in enumerate(old.chunks) if c.article_id in current
            and c.article_id not in report.changed] if old else []
    chunks = [old.chunks[n] for n in keep] if old else []
    vectors = [old.vectors[keep]] if old else []
    todo = [current[i] for i in report.added + report.changed]
    new_chunks = [c for a in todo for c in chunk_article(a, settings.chunk, embedder.count_tokens_batch)]
    if new_chunks:
        with progress_bar(f"Embedding {len(new_chunks)} chunks of {len(todo)} articles",
                          len(new_chunks), progress) as advance:
            vectors.append(embedder.encode([c.indexed_text for c in new_chunks], on_batch=advance))
    report.chunks_embedded = len(new_chunks)
    chunks += new_chunks
    order = {a.id: n for n, a in enumerate(corpus.articles)}
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, embedder.dimension), np.float32)
    ranks = sorted(range(len(chunks)), key=lambda n: (order[chunks[n].article_id], chunks[n].start))
    chunks = [chunks[n] for n in ranks]
    matrix = np.ascontiguousarray(matrix[ranks])
    manifest = {
        **expected,
        "created_at": old.manifest["created_at"] if old else _now(),
        "updated_at": _now(),
        "corpus": corpus.root,
        "faiss": _faiss_params(len(chunks), settings),
        "counts": {"articles": len(current), "chunks": len(chunks)},
        "articles": {a.id: a.content_hash for a in corpus.articles},
        "settings": settings.to_dict(),
    }
    index = Index(path, manifest, current, chunks, matrix, _build_faiss(matrix, manifest["faiss"]),
                  LexicalIndex.build([c.indexed_text for c in chunks]))
    _write(index)
    return index, report


def load_index(path: Path) -> Index:
    """Read an index folder; RagError names the folder when it is missing, stale-format or corrupt."""
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise RagError(f"{path}: index format {manifest.get('format_version')} is not "
                           f"{FORMAT_VERSION}")
        articles = {a["id"]: Article.from_dict(a) for a in _read_jsonl(path / "articles.jsonl")}
        chunks = [Chunk.from_dict(c) for c in _read_jsonl(path / "chunks.jsonl")]
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        dense = faiss.read_index(str(path / "index.faiss"))
        lexical = LexicalIndex.load(path / "lexical")
    except RagError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise RagError(f"{path}: index is missing files or corrupt ({type(exc).__name__}: {exc})") from None
    if not (len(chunks) == vectors.shape[0] == dense.ntotal == manifest["counts"]["chunks"]) \
            or set(articles) != set(manifest["articles"]):
        raise RagError(f"{path}: index files disagree with its manifest (corrupt)")
    return Index(path, manifest, articles, chunks, vectors, dense, lexical)


def _expected_manifest(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "embedder": {"name": embedder.name, "sha256": embedder.fingerprint,
                     "dimension": embedder.dimension, "bf16": settings.index.bf16},
        "chunking": {k: v for k, v in settings.to_dict()["chunk"].items()},
    }


def _incompatibility(manifest: dict[str, Any], expected: dict[str, Any]) -> str | None:
    if manifest["embedder"] != expected["embedder"]:
        return (f"the index was built with embedder {manifest['embedder']} and the current one is "
                f"{expected['embedder']}: rebuilding it in full")
    if manifest["chunking"] != expected["chunking"]:
        return (f"the index was built with chunking {manifest['chunking']} and the settings now say "
                f"{expected['chunking']}: rebuilding it in full")
    return None


def _faiss_params(n: int, settings: Settings) -> dict[str, Any]:
    if n <= settings.index.flat_max_vectors:
        return {"type": "IndexFlatIP", "metric": "inner_product"}
    return {"type": "IndexHNSWFlat", "metric": "inner_product", "M": HNSW_M,
            "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}


def _build_faiss(vectors: np.ndarray, params: dict[str, Any]) -> faiss.Index:
    dim = vectors.shape[1]
    if params["type"] == "IndexFlatIP":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["efConstruction"]
        index.hnsw.efSearch = params["efSearch"]
    if len(vectors):
        index.add(vectors)
    return index


def _write(index: Index) -> None:
    path = index.path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _write_jsonl(tmp / "articles.jsonl", [index.articles[i].to_dict() for i in index.manifest["articles"]])
    _write_jsonl(tmp / "chunks.jsonl", [c.to_dict() for c in index.chunks])
    np.save(tmp / "vectors.npy", index.vectors, allow_pickle=False)
    faiss.write_index(index.dense, str(tmp / "index.faiss"))
    index.lexical.save(tmp / "lexical")
    (tmp / "manifest.json").write_text(json.dumps(index.manifest, indent=1, ensure_ascii=False), "utf-8")
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def _recover(path: Path) -> None:
    """Finish or undo a swap that was interrupted between its two renames."""
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.exists():
        old.rename(path)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
