"""Index folders on disk: plain files written to a temporary folder and renamed into place."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.chunking import Chunk
from rag.corpus import Article
from rag.index.lexical import LexicalIndex

FILES = ("manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "index.faiss", "lexical")


def read(path: Path) -> tuple[dict[str, Any], dict[str, Article], list[Chunk], np.ndarray, faiss.Index, LexicalIndex]:
    """The parts of the index folder ``path``; OSError/ValueError/KeyError/TypeError when a file is bad."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    articles = {a["id"]: Article.from_dict(a) for a in read_jsonl(path / "articles.jsonl")}
    chunks = [Chunk.from_dict(c) for c in read_jsonl(path / "chunks.jsonl")]
    vectors = np.load(path / "vectors.npy", allow_pickle=False)
    dense = faiss.read_index(str(path / "index.faiss"))
    lexical = LexicalIndex.load(path / "lexical")
    return manifest, articles, chunks, vectors, dense, lexical


def write(path: Path, manifest: dict[str, Any], articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
          dense: faiss.Index, lexical: LexicalIndex) -> None:
    """Write an index folder atomically: everything goes to ``.NAME.tmp-PID`` first, then the old
    folder is moved aside, the new one renamed into place and the old one deleted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write_jsonl(tmp / "articles.jsonl", [a.to_dict() for a in articles])
    write_jsonl(tmp / "chunks.jsonl", [c.to_dict() for c in chunks])
    np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
    faiss.write_index(dense, str(tmp / "index.faiss"))
    lexical.save(tmp / "lexical")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def recover(path: Path) -> None:
    """Finish or undo a swap that was interrupted between its two renames; drop leftover temp folders."""
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.exists():
        old.rename(path)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, one per non-blank line."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write ``records`` one JSON object per line."""
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
