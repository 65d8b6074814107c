"""The answering stage: from retrieved passages to a checked, cited Answer (or "the articles don't say").

``Answerer`` runs the named steps: ``prompt`` (numbered sources cut to their relevant sentences),
the model's draft (streamed), ``markers`` (its [n] citations), ``grounding`` (each sentence's quote
and support), ``checks`` (what the question asks for), ``confirm`` (the model's second look) and
``policy`` (the withheld answer). ``types`` holds what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from rag.answer.confirm import confirmation, unconfirmed
from rag.answer.grounding import Grounder
from rag.answer.prompt import build_messages, focus, in_words
from rag.answer.types import NOT_IN_ARTICLES, Answer, AnswerSentence, Citation
from rag.config import AnswerSettings, GenerateSettings
from rag.generate.base import Generator, Messages
from rag.retrieve import Passage

__all__ = ["NOT_IN_ARTICLES", "Answer", "AnswerSentence", "Answerer", "Citation", "Draft"]


class Draft:
    """One question's prompt and, once written, the model's raw text."""

    def __init__(self, question: str, passages: list[Passage], messages: Messages | None, used: list[Passage],
                 encode: Callable[[list[str]], np.ndarray]) -> None:
        """``used``: the passages the prompt shows, source [n] being ``used[n - 1]``; ``encode``: the sentence
        embedder, remembering what it embedded for this question (the prompt and the checks share it)."""
        self.question = question
        self.encode = encode
        self.passages = passages
        self.messages = messages
        self.used = used
        self.raw = ""


class Answerer:
    """Answers questions from passages with one generator; keeps nothing between questions."""

    def __init__(self, generator: Generator, settings: AnswerSettings, generate: GenerateSettings,
                 encode: Callable[[list[str]], np.ndarray], article_text: Callable[[str], str]) -> None:
        """``encode`` embeds sentences (the retrieval embedder); ``article_text`` gives an article's text by id."""
        self.generator = generator
        self.settings = settings
        self.generate_settings = generate
        self.encode = encode
        self.article_text = article_text

    def draft(self, question: str, passages: list[Passage]) -> Draft:
        """The prompt for ``question``: the passages as numbered sources, cut to fit the context window."""
        encode = encoded_once(self.encode)
        if not passages:
            return Draft(question, passages, None, [], encode)
        budget = self.generator.context_window - self.generate_settings.max_new_tokens
        excerpts = focus(question, passages, encode, self.settings.excerpt_sentences)
        messages, used = build_messages(question, passages, self.generator.count_chat_tokens, budget, excerpts)
        return Draft(question, passages, messages, used, encode)

    def write(self, draft: Draft) -> Iterator[str]:
        """Stream the model's answer to ``draft``, filling ``draft.raw``. An answer of source numbers only
        ("[2] and [3]") is asked for again, once, in words; the second reply replaces the first."""
        if draft.messages is None:
            return
        pieces: list[str] = []
        for piece in self.generator.stream(draft.messages):
            pieces.append(piece)
            yield piece
        again = in_words(draft.messages, "".join(pieces).strip())
        if again:
            pieces = [" "]
            for piece in self.generator.stream(again):
                pieces.append(piece)
                yield piece
        draft.raw = "".join(pieces).strip()

    def check(self, draft: Draft) -> Answer:
        """The checked Answer for ``draft``: citations mapped and quoted, support and answer kind checked,
        then (models that can) the second look; withheld when any of them fails."""
        grounder = Grounder(self.settings, draft.encode, self.article_text)
        answer = grounder.ground(draft.question, draft.raw, draft.used or draft.passages)
        check = confirmation(answer) if self.settings.confirm and self.generator.capabilities.checks_answers \
            else None
        if check:  # a second look by the model: do the answer's quotes give this answer?
            reply = self.generator.generate(check, max_new_tokens=1)  # "Yes" / "No" is one token
            answer = unconfirmed(answer, reply, self.settings.related)
        return answer


def encoded_once(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """``encode`` remembering its vectors: a text seen before is not embedded again."""
    seen: dict[str, np.ndarray] = {}

    def encode_once(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, encode(missing)))
        return np.stack([seen[t] for t in texts]) if texts else encode(texts)
    return encode_once
