"""What every answering model offers, whatever runs it: the ``Generator`` protocol and its capabilities."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Capabilities:
    """What a loaded model can be trusted with, and what its runtime can do."""

    # its yes/no check of an answer against the answer's quotes is worth asking (answer.confirm)
    checks_answers: bool = True
    # the runtime keeps the KV cache of a prompt, so a prompt that starts the same is prefilled only past it
    prefix_cache: bool = False


@runtime_checkable
class Generator(Protocol):
    """A loaded chat model that answers greedily. ``rag.generate.load_generator`` returns one; tests
    and servers may pass their own to ``RAG(generator=...)``."""

    name: str
    runtime: str
    context_window: int  # most tokens a prompt plus its answer may take
    capabilities: Capabilities

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes, without any special tokens."""

    def count_chat_tokens(self, messages: Messages) -> int:
        """Number of tokens of the chat-templated prompt, generation prompt included."""

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str:
        """The reply to ``messages``, stripped."""

    def stream(self, messages: Messages, max_new_tokens: int | None = None, avoid: tuple[str, ...] = ()
               ) -> Iterator[str]:
        """The reply in pieces as the model writes them; closing the iterator stops the model. When the
        last message is the assistant's, the reply continues it. The reply does not start with any of
        ``avoid`` (their first tokens)."""

    def choice_logprobs(self, messages: Messages, choices: tuple[str, ...]) -> dict[str, float]:
        """Log-probability of the reply starting with each of ``choices`` (their first token)."""


def stripped(pieces: Iterable[str]) -> Iterator[str]:
    """Pass text pieces through, dropping leading and trailing whitespace of the whole text."""
    pending = ""
    started = False
    for piece in pieces:
        if not started:
            piece = piece.lstrip()
            started = bool(piece)
        text = pending + piece
        body = text.rstrip()
        pending = text[len(body):]
        if body:
            yield body
