"""One question's draft: its prompt, the passages and sentences it shows, and, once written, the model's reply
and what was measured on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rag.answer.question import Asked
from rag.generate.base import Messages
from rag.retrieve import Passage


@dataclass
class Draft:
    """One question's prompt and, once written, the model's reply and what was measured on the way.

    ``used``: the passages the prompt shows, source [n] being ``used[n - 1]``, with the spans of their
    ``shown`` sentences; ``ranked``: every sentence of ``passages``, most relevant first; ``encode``: the
    sentence embedder, remembering what it embedded for this question."""

    asked: Asked
    passages: list[Passage]
    messages: Messages | None
    used: list[Passage]
    shown: list[list[tuple[int, int]]]
    ranked: list[tuple[int, tuple[int, int], float]]
    encode: Callable[[list[str]], np.ndarray]
    raw: str = ""
    signals: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
