"""The processes tests/test_faults.py runs beside itself: index writers, readers in a loop, and a zygote that
forks writers for the kill test (so each starts without paying for the imports again).

Run as ``python -m tests.fault_workers COMMAND ...`` from the repository root; see ``main``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from rag import RAG
from rag.config import Settings
from rag.corpus import load_corpus
from rag.embed import Embedder
from rag.index import load_index, open_index, store


class SlowEmbedder(Embedder):
    """The real embedder, sleeping ``delay`` seconds before each batch of texts (a writer that holds the lock)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def encode(self, texts: list[str], on_batch: Any = None) -> np.ndarray:
        """Sleep, then embed."""
        time.sleep(self.delay)
        return super().encode(texts, on_batch)


def write(corpus: Path, index_dir: Path, target_tokens: int = 200, slow: float = 0.0,
          wait_for_lock: bool = False) -> dict[str, Any]:
    """Open (update) the index of ``corpus`` once, as ``rag index`` does (waiting for another writer); what it
    did. ``wait_for_lock``: start only once another writer holds the lock of the index."""
    if wait_for_lock:
        lock = index_dir / f".{corpus.name}.lock"
        deadline = time.monotonic() + 60
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    events: list[Any] = []
    settings = Settings().replace(**{"chunk.target_tokens": target_tokens})
    index, report = open_index(load_corpus(corpus), index_dir, settings, SlowEmbedder(slow), report=events.append,
                               wait=True)
    return {"pid": os.getpid(), "embedded": report.chunks_embedded, "chunks": len(index.chunks),
            "notes": [e.description for e in events if e.stage == "note"]}


def read(path: Path, stop: Path, query: str) -> dict[str, Any]:
    """Load the index ``path`` and search it in a loop until ``stop`` exists; every failure and every index
    whose parts disagree in size (a half-written one) is recorded. Prints "ready" after the first read."""
    embedder, settings = Embedder(), Settings()
    deadline = time.monotonic() + 60
    while store.folder(path) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    reads, failures, versions = 0, [], set()
    while not stop.exists():
        try:
            index = load_index(path)
            sizes = {len(index.chunks), index.vectors.shape[0], index.dense.ntotal, len(index.lexical),
                     index.manifest["counts"]["chunks"]}
            if len(sizes) != 1:
                failures.append(f"a half-written index: sizes {sorted(sizes)}")
            if not RAG(index, embedder, settings).search(query, k=1):
                failures.append("no passage found")
            versions.add(json.dumps(index.manifest, sort_keys=True))
        except Exception as exc:  # noqa: BLE001 (every failure is the finding)
            failures.append(f"{type(exc).__name__}: {exc}")
        reads += 1
        if reads == 1:
            print("ready", flush=True)
        time.sleep(0.02)
    return {"reads": reads, "failures": failures[:10], "versions": len(versions)}


def zygote(corpus: Path, index_dir: Path) -> None:
    """Read commands on stdin: ``build N`` forks a writer with chunk.target_tokens N and prints ``pid P``;
    ``reap P`` waits for it and prints ``exit CODE`` (negative: killed by that signal). The imports are
    done once here; no torch work is, so the forked writers run it safely."""
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    print("ready", flush=True)
    for line in sys.stdin:
        command, value = line.split()
        if command == "build":
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    write(corpus, index_dir, int(value))
                except BaseException:  # noqa: BLE001 (reported on stderr, exit 1)
                    traceback.print_exc()
                    code = 1
                sys.stderr.flush()
                os._exit(code)
            print(f"pid {pid}", flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(value), 0)
            print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


def main() -> None:
    """``writer CORPUS INDEX_DIR [--slow S] [--wait-for-lock]`` prints what it did as JSON; ``reader PATH STOP
    QUERY`` prints its findings as JSON when STOP appears; ``zygote CORPUS INDEX_DIR`` (see ``zygote``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("writer", "reader", "zygote"))
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--wait-for-lock", action="store_true")
    args = parser.parse_args()
    paths = [Path(p) for p in args.paths]
    if args.command == "writer":
        print(json.dumps(write(paths[0], paths[1], slow=args.slow, wait_for_lock=args.wait_for_lock)), flush=True)
    elif args.command == "reader":
        print(json.dumps(read(paths[0], paths[1], args.paths[2])), flush=True)
    else:
        zygote(paths[0], paths[1])


if __name__ == "__main__":
    main()
