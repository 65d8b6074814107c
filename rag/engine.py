"""The RAG object: open (or build) the index of a corpus, then search it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from rag.answer import Answer, Grounder, build_messages, confirmation, focus, in_words, unconfirmed
from rag.config import Settings
from rag.corpus import Article, Problem, load_corpus
from rag.embed import Embedder
from rag.errors import RagError
from rag.index import Index, IndexReport, open_index
from rag.models import checks_answers
from rag.retrieve import Filters, Passage, search

DEFAULT_INDEX_DIR = "embeddings"


class RAG:
    """A corpus with its up-to-date index. Use ``RAG.open(path)``; also a context manager."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings,
                 report: IndexReport | None = None, problems: list[Problem] | None = None,
                 progress: bool = False) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.report = report or IndexReport()
        self.problems = problems or []
        self.progress = progress  # show progress and spinners (index build, model loading)
        self._generator = None
        self._generator_key: tuple[str, str] | None = None
        self.last_answer: Answer | None = None

    @classmethod
    def open(cls, corpus: str | Path, index_dir: str | Path = DEFAULT_INDEX_DIR,
             settings: Settings | None = None, name: str | None = None, progress: bool = False) -> RAG:
        """Read ``corpus`` (file or folder), then load its index from ``index_dir``, updating it.

        Only new or edited articles are embedded. Skipped input is listed in ``.problems`` and
        what the index update did in ``.report``. Raises RagError when nothing can be indexed.
        ``progress`` shows progress bars and spinners on stderr (index build, model preparation and
        loading); the library is quiet by default.
        """
        settings = settings or Settings.load()
        loaded = load_corpus(corpus)
        embedder = Embedder(settings.index)
        index, report = open_index(loaded, index_dir, settings, embedder, name=name, progress=progress)
        return cls(index, embedder, settings, report, loaded.problems, progress)

    @property
    def articles(self) -> list[Article]:
        """The indexed articles, in corpus order."""
        return list(self.index.articles.values())

    def article(self, article_id: str) -> Article:
        """One article by id."""
        return self.index.articles[article_id]

    def search(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``question``, best first."""
        k = self.settings.retrieve.k if k is None else k
        return search(self.index, self.embedder, question, k, self.settings.retrieve, filters)

    @property
    def generator(self):  # noqa: ANN201
        """The local model named by ``settings.generate.model``, loaded on first use.

        When the setting names another model, that one is loaded and replaces the current one only
        once it has loaded, so a failed switch (missing package, bad path) keeps the model in use."""
        key = (self.settings.generate.model, self.settings.generate.runtime)
        if self._generator is None or self._generator_key != key:
            from rag.generate import load_generator

            self._generator = load_generator(self.settings.generate.model, self.settings.generate, self.progress)
            self._generator_key = key
        return self._generator

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> Answer:
        """Answer ``question`` from the articles, citing them; ``answerable`` is False when they don't say."""
        stream = self.stream(question, k, filters)
        for _ in stream:
            pass
        return stream.answer

    def stream(self, question: str, k: int | None = None, filters: Filters | None = None) -> AnswerStream:
        """Like ask(), but iterate over it to get the answer text as the model writes it.

        After the loop, ``.answer`` (also ``rag.last_answer``) holds the checked Answer, whose text
        may differ from the streamed draft (citations renumbered, or withheld when unsupported).
        """
        if not question or not question.strip():
            raise RagError("the question is empty. Fix: ask something about the articles.")
        return AnswerStream(self, question.strip(), self.settings.answer.k if k is None else k, filters)

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class AnswerStream:
    """Iterator over the model's text pieces for one question; ``.answer`` is set when it ends."""

    def __init__(self, rag: RAG, question: str, k: int, filters: Filters | None) -> None:
        self.rag, self.question, self.k, self.filters = rag, question, k, filters
        self.answer: Answer | None = None
        self.passages: list[Passage] = []

    def __iter__(self) -> Iterator[str]:
        rag = self.rag
        started = time.perf_counter()
        self.passages = rag.search(self.question, k=self.k, filters=self.filters)
        retrieved = time.perf_counter()
        encode = encoded_once(rag.embedder.encode)  # focus and the Grounder embed the same sentences
        grounder = Grounder(rag.settings.answer, encode, lambda i: rag.article(i).text)
        pieces: list[str] = []
        first = None
        used = self.passages
        if self.passages:
            generator = rag.generator
            budget = generator.context_window - rag.settings.generate.max_new_tokens
            excerpts = focus(self.question, self.passages, encode, rag.settings.answer.excerpt_sentences)
            messages, used = build_messages(self.question, self.passages, generator.count_chat_tokens, budget,
                                            excerpts)
            for piece in generator.stream(messages):
                first = first or time.perf_counter()
                pieces.append(piece)
                yield piece
            again = in_words(messages, "".join(pieces).strip())
            if again:  # only source numbers: ask once for the answer in words, which replaces them
                pieces = [" "]
                for piece in generator.stream(again):
                    pieces.append(piece)
                    yield piece
        answer = grounder.ground(self.question, "".join(pieces).strip(), used)
        check = confirmation(answer) if rag.settings.answer.confirm and checks_answers(rag.settings.generate.model) \
            else None
        if check:  # a second look by the model: do the answer's quotes give this answer?
            reply = rag.generator.generate(check, max_new_tokens=1)  # "Yes" / "No" is one token
            answer = unconfirmed(answer, reply, rag.settings.answer.related)
        done = time.perf_counter()
        answer.timings = {"retrieval_s": retrieved - started, "first_token_s": (first or done) - started,
                          "total_s": done - started}
        self.answer = rag.last_answer = answer


def encoded_once(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """``encode`` remembering its vectors: a text seen before is not embedded again."""
    seen: dict[str, np.ndarray] = {}

    def encode_once(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, encode(missing)))
        return np.stack([seen[t] for t in texts]) if texts else encode(texts)
    return encode_once
