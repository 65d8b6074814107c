"""One question's draft: its prompt, the passages and sentences it shows, and, once written, the model's reply
and what was measured on the way."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.answer.question import Asked
from rag.generate.base import Messages
from rag.retrieve import Passage


class Draft:
    """One question's prompt and, once written, the model's reply and what was measured on the way."""

    def __init__(self, asked: Asked, passages: list[Passage], messages: Messages | None, used: list[Passage],
                 shown: list[list[tuple[int, int]]], ranked: list[tuple[int, tuple[int, int], float]],
                 encode: Callable[[list[str]], np.ndarray]) -> None:
        """``used``: the passages the prompt shows, source [n] being ``used[n - 1]``, with the spans of their
        ``shown`` sentences; ``ranked``: every sentence of ``passages``, most relevant first; ``encode``: the
        sentence embedder, remembering what it embedded for this question."""
        self.asked = asked
        self.passages = passages
        self.messages = messages
        self.used = used
        self.shown = shown
        self.ranked = ranked
        self.encode = encode
        self.raw = ""
        self.signals: dict[str, float] = {}
        self.timings: dict[str, float] = {}
