"""A stand-in answering model for tests: crafted replies, and chosen probabilities for its checks."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from rag.generate.base import Capabilities, Messages


class ScriptedGenerator:
    """Streams crafted replies, one per call, and remembers the messages it was given. ``p_not_stated``
    is its probability of replying "not stated"; ``p_yes`` that of saying yes on the second look."""

    name = "scripted"
    runtime = "test"
    context_window = 4096

    def __init__(self, *replies: str, p_not_stated: float = 0.01, p_yes: float = 0.9,
                 checks_answers: bool = True) -> None:
        self.replies = list(replies)
        self.p_not_stated = p_not_stated
        self.p_yes = p_yes
        self.capabilities = Capabilities(checks_answers=checks_answers)
        self.calls: list[Messages] = []
        self.avoided: list[tuple[str, ...]] = []

    def count_tokens(self, text: str) -> int:
        """A rough count: one token per four characters."""
        return len(text) // 4

    def count_chat_tokens(self, messages: Messages) -> int:
        """A rough count: one token per four characters."""
        return sum(len(m["content"]) for m in messages) // 4

    def choice_logprobs(self, messages: Messages, choices: tuple[str, ...]) -> dict[str, float]:
        """The chosen probabilities: of "not stated", or of "Yes" and "No"."""
        self.calls.append(messages)
        probabilities = {" not": self.p_not_stated, "Yes": self.p_yes, "No": 1 - self.p_yes,
                         " Yes": self.p_yes, " No": 1 - self.p_yes}
        return {c: math.log(max(probabilities.get(c, 1e-9), 1e-9)) for c in choices}

    def stream(self, messages: Messages, max_new_tokens: int | None = None, avoid: tuple[str, ...] = ()
               ) -> Iterator[str]:
        """The next reply, word by word."""
        self.avoided.append(avoid)
        yield from re.findall(r"\S+\s*", self.generate(messages, max_new_tokens))

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str:
        """The next reply."""
        self.calls.append(messages)
        return self.replies.pop(0)
