"""Index folders on disk: plain files written to a temporary folder and renamed into place, one writer at a time.

A writer holds ``.NAME.lock`` (``flock``, with its pid in the file; the kernel releases the lock of a
killed process) while it decides what to embed and writes ``.NAME.tmp-PID``. Readers take no lock:
a folder swapped in while they read it is read again (``identity`` tells them it changed).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.chunking import Chunk
from rag.corpus import Article
from rag.errors import IndexingError
from rag.files import remove_stale
from rag.index.ann import DenseIndex
from rag.index.lexical import Lexical, load_lexical
from rag.progress import Reporter, note

FILES = ("manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "index.faiss", "lexical")
LOCK_POLL_S = 0.1


class Unwritable(IndexingError):
    """The index folder cannot be written (read-only, not a folder, disk full); the index on disk is intact."""


class Busy(Exception):
    """Another writer holds the index lock and the caller chose not to wait (``locked(..., wait=False)``)."""

    def __init__(self, holder: str) -> None:
        """``holder``: the pid written in the lock file ("unknown" when it could not be read)."""
        super().__init__(f"pid {holder} holds the index lock")
        self.holder = holder


def read(path: Path) -> tuple[dict[str, Any], dict[str, Article], list[Chunk], np.ndarray, DenseIndex, Lexical]:
    """The parts of the index folder ``path``; OSError/ValueError/KeyError/TypeError when a file is bad."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    articles = {a["id"]: Article.from_dict(a) for a in read_jsonl(path / "articles.jsonl")}
    chunks = [Chunk.from_dict(c) for c in read_jsonl(path / "chunks.jsonl")]
    vectors = np.load(path / "vectors.npy", allow_pickle=False)
    params = manifest.get("faiss") if isinstance(manifest, dict) else None
    dense = DenseIndex(faiss.read_index(str(path / "index.faiss")), vectors, params if isinstance(params, dict) else {})
    lexical = load_lexical(path / "lexical")
    return manifest, articles, chunks, vectors, dense, lexical


def folder(path: Path) -> Path | None:
    """Where the index ``path`` can be read: itself, or ``.NAME.old`` while a swap is half done
    (a writer between its two renames, or killed there), or None when there is no index."""
    if path.is_dir():
        return path
    old = _old(path)
    return old if old.is_dir() else None


def identity(path: Path) -> tuple[str, int, int] | None:
    """Which folder ``folder(path)`` is (name, device, inode): it changes whenever a writer swaps in a new one."""
    found = folder(path)
    try:
        stat = found.stat() if found else None
    except OSError:  # removed since
        stat = None
    return (found.name, stat.st_dev, stat.st_ino) if found and stat else None


def write(path: Path, manifest: dict[str, Any], articles: list[Article], chunks: list[Chunk], vectors: np.ndarray,
          dense: DenseIndex, lexical: Lexical) -> None:
    """Write an index folder atomically, under the writer lock: everything goes to ``.NAME.tmp-PID``
    first (removed again if writing fails), then the old folder is moved aside, the new one renamed
    into place and the old one deleted. Unwritable when the file system refuses (the old index stays)."""
    tmp, old = path.with_name(f"{_temp_prefix(path)}{os.getpid()}"), _old(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir()
            write_jsonl(tmp / "articles.jsonl", [a.to_dict() for a in articles])
            write_jsonl(tmp / "chunks.jsonl", [c.to_dict() for c in chunks])
            np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
            (tmp / "index.faiss").write_bytes(faiss.serialize_index(dense.faiss))  # OSError, not RuntimeError
            lexical.save(tmp / "lexical")
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
            shutil.rmtree(old, ignore_errors=True)
            if path.exists():
                path.rename(old)
            tmp.rename(path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except OSError as exc:
        raise unwritable(path, exc) from None
    shutil.rmtree(old, ignore_errors=True)


def clean(path: Path) -> None:
    """Delete the temp folders of writers of ``path`` that are gone (killed mid-write); a live writer's stays."""
    remove_stale(path.parent, _temp_prefix(path))


def recover(path: Path) -> None:
    """Finish or undo a swap that was interrupted between its two renames. Only under the writer lock:
    a live writer's half-done swap looks the same."""
    old = _old(path)
    try:
        if not path.exists() and old.exists():
            old.rename(path)
    except OSError as exc:
        raise unwritable(path, exc) from None
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def locked(path: Path, timeout_s: float, report: Reporter | None = None, wait: bool = True) -> Iterator[None]:
    """Hold the writer lock of the index folder ``path``: ``.NAME.lock`` next to it, holding this pid.

    When another writer holds it, wait, with one note naming its pid, for at most ``timeout_s``
    seconds, then raise IndexingError naming the lock file and the pid; with ``wait=False`` raise Busy
    at once. Unwritable when the lock
    file cannot be made (a read-only folder, a file in the way). The lock file is removed on release.
    """
    lock = path.with_name(f".{path.name}.lock")
    deadline = time.monotonic() + timeout_s
    noted = False
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise unwritable(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if not wait:
                raise Busy(holder) from None
            if not noted:
                note(report, f"waiting for pid {holder}, which is writing the index {path} (lock {lock}); "
                             f"giving up after {timeout_s:g} s")
                noted = True
            if time.monotonic() >= deadline:
                raise IndexingError(f"{lock}: the index {path} is still being written by pid {holder} after "
                                    f"{timeout_s:g} s", "wait for that process to finish (or stop it), or raise "
                                    "index.lock_timeout_s") from None
            time.sleep(LOCK_POLL_S)
            continue
        if _same_file(fd, lock):
            break
        os.close(fd)  # the previous owner removed that file as it let go: lock the one there now
    try:
        with suppress(OSError):  # the pid is for the message of a writer that waits; a full disk fails the write
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        lock.unlink(missing_ok=True)  # still holding it, so no one can lock the removed file and believe it theirs
        os.close(fd)


def unwritable(path: Path, exc: OSError) -> Unwritable:
    """The one-line error for a file-system refusal ``exc`` met while writing the index ``path``."""
    reason = exc.strerror or str(exc)
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return Unwritable(f"{blocker} is a file, not a folder: the index {path} cannot be written there",
                          "point --index-dir (paths.index_dir) at a folder")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Unwritable(f"{path}: no space left on the device to write the index ({reason})",
                          "free some disk space, or choose another --index-dir (paths.index_dir)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Unwritable(f"{path}: the index cannot be written in {path.parent} ({reason})",
                          f"make {path.parent} writable, or choose another --index-dir (paths.index_dir)")
    return Unwritable(f"{path}: the index cannot be written ({reason}: {exc.filename or path})",
                      "check that folder, or choose another --index-dir (paths.index_dir)")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, one per non-blank line."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write ``records`` one JSON object per line."""
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _old(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is still the file at ``path``."""
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
