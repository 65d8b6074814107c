"""The on-disk index: chunks, vectors, FAISS and BM25, kept in step with the corpus by content hash.

``open_index`` reuses what is there, embeds only new or edited articles and writes the result
atomically (``store``); ``manifest`` says what an index holds and whether it fits the settings;
``ann`` builds the FAISS index (exact, or IVF-SQ8 re-scored exactly), ``lexical`` the BM25 index and
``sentences`` the per-sentence terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import Chunk, chunk_article
from rag.config import Settings
from rag.corpus import Article, Corpus
from rag.embed import Embedder
from rag.errors import IndexingError, RagError
from rag.index import manifest as manifests
from rag.index import store
from rag.index.ann import DenseIndex, build_dense, faiss_params
from rag.index.lexical import Lexical, build_lexical, lexical_kind
from rag.index.sentences import SentenceIndex
from rag.progress import Reporter, note, task

__all__ = ["Index", "IndexReport", "check", "index_name", "load_index", "open_index"]

READ_ATTEMPTS = 5  # reads of an index that writers keep swapping before the error is let through
# what reading a damaged or incomplete index folder raises (json, numpy, faiss, bm25s and the records)
UNREADABLE = (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError)


@dataclass
class IndexReport:
    """What opening the index did: counts of kept/embedded/removed articles and why it rebuilt."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    chunks_embedded: int = 0
    rebuild_reason: str | None = None
    reindex_reason: str | None = None  # the search structures change (not the vectors): nothing is re-embedded
    write_error: IndexingError | None = None  # the update could not be written: the index is the one on disk
    busy_writer: str | None = None  # the pid of another writer updating the index: the one on disk was used

    @property
    def unchanged(self) -> bool:
        """True when nothing had to be embedded, removed or written."""
        return not (self.added or self.changed or self.removed or self.rebuild_reason or self.reindex_reason
                    or self.write_error or self.busy_writer)


@dataclass
class Index:
    """A loaded index: articles, chunks in vector order, vectors, dense (FAISS) and lexical search."""

    path: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: DenseIndex
    lexical: Lexical

    @cached_property
    def sentences(self) -> SentenceIndex:
        """The terms of each chunk's sentences, built on first use (about 1.5 s per 10k chunks);
        sentences found word for word in more than one article are marked ``repeated``."""
        return SentenceIndex.build([c.text for c in self.chunks], self.lexical.vocab,
                                   [c.article_id for c in self.chunks])

    @cached_property
    def article_ids(self) -> list[str]:
        """The ids of the articles that have chunks, in chunk order."""
        return list(dict.fromkeys(c.article_id for c in self.chunks))

    @cached_property
    def chunk_article(self) -> np.ndarray:
        """Per chunk: the position of its article in ``article_ids``."""
        position = {a: n for n, a in enumerate(self.article_ids)}
        return np.array([position[c.article_id] for c in self.chunks], dtype=np.int64)


def index_name(corpus_path: str | Path) -> str:
    """Folder name of the index for a corpus path: its file or folder name, made safe."""
    stem = Path(corpus_path).resolve().stem or "corpus"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)


def open_index(corpus: Corpus, index_dir: str | Path, settings: Settings, embedder: Embedder,
               name: str | None = None, report: Reporter | None = None, wait: bool = False
               ) -> tuple[Index, IndexReport]:
    """Load the index of ``corpus`` from ``index_dir``, embedding only what changed.

    Unchanged corpus: loads and returns at once, taking no lock. New or edited articles: only their
    chunks are embedded; removed articles are dropped. A different embedder, chunking or format, or a
    corrupt folder: full rebuild, with the reason noted first. A writer holds the index lock (a second
    one waits, then reads what the first wrote before deciding what to embed), and every write goes
    to a temporary folder renamed into place, so an interrupted build leaves the previous index
    usable. When the folder cannot be written, the index on disk is returned as it was, with a note
    and ``IndexReport.write_error``. When another writer is updating the index and a readable one is
    on disk, that one is returned as it was, with a note and ``IndexReport.busy_writer``, unless
    ``wait`` (``rag index`` waits; reading commands do not). ``report`` receives progress.
    """
    path = Path(index_dir) / (name or index_name(corpus.root))
    if Path(corpus.root).is_dir() and path.resolve().is_relative_to(Path(corpus.root).resolve()):
        raise IndexingError(f"{path}: the index would be written inside the corpus folder {corpus.root} and "
                            "read back as articles", "choose an index folder outside the corpus")
    store.clean(path)
    wanted = manifests.expected(settings, embedder)
    seen = store.identity(path)
    on_disk, result = _compare(corpus, path, wanted, settings)
    if on_disk is not None and result.unchanged:
        return on_disk, result
    usable = on_disk is not None and on_disk.manifest["embedder"] == wanted["embedder"]
    try:
        with store.locked(path, settings.index.lock_timeout_s, report, wait=wait or not usable):
            store.recover(path)
            if store.identity(path) != seen:  # another writer got there first
                on_disk, result = _compare(corpus, path, wanted, settings)
                if on_disk is not None and result.unchanged:
                    return on_disk, result
            if result.rebuild_reason or result.reindex_reason:
                note(report, result.rebuild_reason or result.reindex_reason)
            return _update(corpus, path, settings, embedder, wanted,
                           None if result.rebuild_reason else on_disk, result, report), result
    except store.Busy as busy:
        result.busy_writer = busy.holder
        note(report, f"pid {busy.holder} is updating the index {path}: this uses the index on disk as it was "
                     "(run it again when that is done to see the changes)")
        return on_disk, result
    except store.Unwritable as exc:
        if not usable:
            raise
        result.write_error = exc
        note(report, f"{exc.problem}; the update is not saved and the index on disk is used as it was. "
                     f"Fix: {exc.fix}")
        return on_disk, result


def _compare(corpus: Corpus, path: Path, wanted: dict[str, Any],
             settings: Settings) -> tuple[Index | None, IndexReport]:
    """The index on disk (None when there is none or it cannot be read) and how the corpus differs from it;
    the report's ``rebuild_reason`` says why it cannot be updated in place, if so, and ``reindex_reason``
    why its lexical index must be rebuilt from the chunks it has (another backend in the settings)."""
    result = IndexReport()
    on_disk: Index | None = None
    if store.folder(path) is not None:
        try:
            on_disk = load_index(path)
        except RagError as exc:
            result.rebuild_reason = f"{exc}; rebuilding it"
        else:
            result.rebuild_reason = manifests.incompatibility(on_disk.manifest, wanted)
            built, kind = on_disk.manifest.get("lexical", "bm25s"), lexical_kind(len(on_disk.chunks), settings.index)
            if built != kind:
                result.reindex_reason = f"the lexical index is {built} and the settings now say {kind}: rebuilding it"
    kept_hashes = on_disk.manifest["articles"] if on_disk and not result.rebuild_reason else {}
    current = {a.id: a for a in corpus.articles}
    result.added = [i for i in current if i not in kept_hashes]
    result.changed = [i for i in current if i in kept_hashes and kept_hashes[i] != current[i].content_hash]
    result.removed = [i for i in kept_hashes if i not in current]
    result.kept = len(current) - len(result.added) - len(result.changed)
    return on_disk, result


def _update(corpus: Corpus, path: Path, settings: Settings, embedder: Embedder, wanted: dict[str, Any],
            old: Index | None, result: IndexReport, report: Reporter | None) -> Index:
    """Embed what ``result`` says is new or edited, keep the rest of ``old`` and write the index to ``path``."""
    current = {a.id: a for a in corpus.articles}
    keep = [n for n, c in enumerate(old.chunks) if c.article_id in current
            and c.article_id not in result.changed] if old else []
    chunks = [old.chunks[n] for n in keep] if old else []
    vectors = [old.vectors[keep]] if old else []
    todo = [current[i] for i in result.added + result.changed]
    new_chunks: list[Chunk] = []
    if todo:
        with task(report, "chunk", f"Splitting {len(todo)} articles into chunks", len(todo)) as advance:
            for article in todo:
                new_chunks += chunk_article(article, settings.chunk, embedder.count_tokens_batch)
                advance(1)
    if new_chunks:
        with task(report, "embed", f"Embedding {len(new_chunks)} chunks of {len(todo)} articles",
                  len(new_chunks)) as advance:
            vectors.append(embedder.encode([c.indexed_text for c in new_chunks], on_batch=advance))
    result.chunks_embedded = len(new_chunks)
    chunks += new_chunks
    order = {a.id: n for n, a in enumerate(corpus.articles)}
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, embedder.dimension), np.float32)
    ranks = sorted(range(len(chunks)), key=lambda n: (order[chunks[n].article_id], chunks[n].start))
    chunks = [chunks[n] for n in ranks]
    matrix = np.ascontiguousarray(matrix[ranks])
    manifest = {
        **wanted,
        "created_at": old.manifest["created_at"] if old else manifests.now(),
        "updated_at": manifests.now(),
        "corpus": corpus.root,
        "lexical": lexical_kind(len(chunks), settings.index),
        "counts": {"articles": len(current), "chunks": len(chunks)},
        "articles": {a.id: a.content_hash for a in corpus.articles},
        "settings": settings.to_dict(),
    }
    params = faiss_params(len(chunks), settings.index)
    if params["type"] != "IndexFlatIP":
        note(report, f"Training the FAISS {params['factory']} index of {len(chunks):,} vectors")
    dense = build_dense(matrix, params)
    manifest["faiss"] = dense.params
    with task(report, "write", f"Writing the index of {len(chunks)} chunks to {path}"):
        lexical = build_lexical([c.indexed_text for c in chunks], manifest["lexical"])
        index = Index(path, manifest, current, chunks, matrix, dense, lexical)
        store.write(path, manifest, [current[i] for i in manifest["articles"]], chunks, matrix, index.dense,
                    index.lexical)
    return index


def load_index(path: Path) -> Index:
    """Read an index folder; IndexingError names the folder when it is missing, stale-format or corrupt.

    Takes no lock: when a writer swaps in a new folder during the read (or removes the old one), the
    read starts again, so the parts returned always come from one folder.
    """
    for _ in range(READ_ATTEMPTS - 1):
        seen = store.identity(path)
        try:
            index = _read(path)
        except IndexingError:
            if store.identity(path) == seen:
                raise
            continue
        if store.identity(path) == seen:
            return index
    return _read(path)


def check(path: str | Path) -> list[str]:
    """What is inconsistent in the index folder ``path``: a file that cannot be read, a manifest of the wrong
    shape, or manifest counts that differ from chunks.jsonl lines, vectors rows, FAISS or BM25 sizes.
    Empty when the index is whole."""
    path = Path(path)
    found = store.folder(path)
    if found is None:
        return [f"{path}: no index there"]
    try:
        return _problems(*store.read(found))
    except UNREADABLE as exc:
        return [f"{found}: cannot be read ({type(exc).__name__}: {exc})"]


def _read(path: Path) -> Index:
    """One read of the index ``path`` (or of ``.NAME.old`` while a swap is half done), checked whole."""
    found = store.folder(path)
    if found is None:
        raise IndexingError(f"{path}: no index there")
    try:
        manifest, articles, chunks, vectors, dense, lexical = store.read(found)
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        if version is not None and version != manifests.FORMAT_VERSION:
            raise IndexingError(f"{path}: index format {version} is not {manifests.FORMAT_VERSION}")
        problems = _problems(manifest, articles, chunks, vectors, dense, lexical)
    except RagError:
        raise
    except UNREADABLE as exc:
        raise IndexingError(f"{path}: index is missing files or corrupt ({type(exc).__name__}: {exc})") from None
    if problems:
        raise IndexingError(f"{path}: index is corrupt ({'; '.join(problems)})")
    return Index(path, manifest, articles, chunks, vectors, dense, lexical)


def _problems(manifest: Any, articles: dict[str, Article], chunks: list[Chunk], vectors: np.ndarray,
              dense: DenseIndex, lexical: Lexical) -> list[str]:
    """How the parts of an index disagree with its manifest or with each other (empty when they agree)."""
    shape = manifests.malformed(manifest)
    if shape:
        return [f"manifest.json {shape}"]
    expected = manifest["counts"]["chunks"]
    sizes = {"chunks.jsonl lines": len(chunks), "vectors.npy rows": vectors.shape[0] if vectors.ndim == 2 else -1,
             "FAISS vectors": dense.ntotal, "BM25 documents": len(lexical)}
    problems = [f"{n:,} {what}, not the manifest's {expected:,} chunks" for what, n in sizes.items() if n != expected]
    if len(articles) != manifest["counts"]["articles"] or set(articles) != set(manifest["articles"]):
        problems.append("articles.jsonl does not hold the manifest's articles")
    if not {c.article_id for c in chunks} <= set(articles):
        problems.append("chunks.jsonl has chunks of articles that are not in articles.jsonl")
    return problems
