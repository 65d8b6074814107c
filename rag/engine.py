"""The RAG object: open (or build) the index of a corpus, search it, and answer questions from it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from rag import validate
from rag.answer import Answer, Answerer, Flow
from rag.answer.verifier import Verifier
from rag.config import Settings, limits
from rag.corpus import Article, Problem, load_corpus
from rag.embed import Embedder
from rag.errors import CorpusError, IndexingError, RagError
from rag.generate import Generator, load_generator
from rag.index import Index, IndexReport, open_index
from rag.progress import Reporter
from rag.retrieve import Filters, Passage, Retriever

DEFAULT_INDEX_DIR = "embeddings"


class RAG:
    """A corpus with its up-to-date index and, on first use, its answering model.

    Use ``RAG.open(path)``; ``generator=`` gives it a model of your own (anything with the
    ``rag.generate.Generator`` methods). Nothing about one question is kept for the next.
    """

    def __init__(self, index: Index, embedder: Embedder, settings: Settings, report: IndexReport | None = None,
                 problems: list[Problem] | None = None, generator: Generator | None = None,
                 reporter: Reporter | None = None) -> None:
        """Wrap a loaded index; ``reporter`` receives progress of slow steps (model preparation and loading)."""
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.report = report or IndexReport()
        self.problems = problems or []
        self.reporter = reporter
        self._generator = generator
        self.retriever = Retriever(index, embedder, settings.retrieve)

    @classmethod
    def open(cls, corpus: str | os.PathLike[str], index_dir: str | os.PathLike[str] = DEFAULT_INDEX_DIR,
             settings: Settings | None = None, name: str | None = None, generator: Generator | None = None,
             reporter: Reporter | None = None, wait: bool = False) -> RAG:
        """Read ``corpus`` (file or folder), then load its index from ``index_dir``, updating it.

        Only new or edited articles are embedded. Skipped input is listed in ``.problems`` and
        what the index update did in ``.report``. Raises CorpusError when nothing can be indexed.
        ``reporter`` receives progress events (reading, chunking, embedding, writing, model
        preparation); the library itself prints nothing. When another process is updating the index,
        the index on disk is used as it was (``.report.busy_writer``), unless ``wait`` (then this waits
        for it, up to ``index.lock_timeout_s``, and updates from what it wrote).
        """
        corpus, index_dir = _path(corpus, "corpus", CorpusError), _path(index_dir, "index_dir", IndexingError)
        settings = settings or Settings.load()
        loaded = load_corpus(corpus, reporter)
        embedder = Embedder(settings.index)
        index, report = open_index(loaded, index_dir, settings, embedder, name=name, report=reporter, wait=wait)
        return cls(index, embedder, settings, report, loaded.problems, generator, reporter)

    def using(self, settings: Settings | None = None, generator: Generator | None = None) -> RAG:
        """A RAG over the same index with other answer settings or another model; this one is unchanged
        (the chat's ``/model`` switches this way). The index, chunking and embedder stay as they are."""
        settings = settings or self.settings
        same_model = (settings.generate == self.settings.generate)
        model = generator or (self._generator if same_model else None)
        return RAG(self.index, self.embedder, settings, self.report, self.problems, model, self.reporter)

    def with_index(self, index: Index) -> RAG:
        """A RAG over ``index`` (the same index folder, updated since by ``rag index``) with this one's settings,
        embedder and model; this one is unchanged (a server swaps to it without a restart)."""
        return RAG(index, self.embedder, self.settings, IndexReport(), self.problems, self._generator, self.reporter)

    @cached_property
    def outlets(self) -> dict[str, int]:
        """The outlets of the indexed articles, with how many articles each has."""
        counts: dict[str, int] = {}
        for article in self.index.articles.values():
            if article.publisher:
                counts[article.publisher] = counts.get(article.publisher, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: kv[0].lower()))

    @property
    def articles(self) -> list[Article]:
        """The indexed articles, in corpus order."""
        return list(self.index.articles.values())

    def article(self, article_id: str) -> Article:
        """One article by id."""
        return self.index.articles[article_id]

    def search(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``question``, best first. ``filters`` keep some outlets or dates
        (an outlet the index does not have, a date that is not one, or dates out of order: QuestionError)."""
        question = self._question(question)
        k = validate.k(k, self.settings.retrieve.k, int(limits("retrieve.k")[1]))
        return self.retriever.search(question, k, validate.known(filters, self.outlets))

    @property
    def generator(self) -> Generator:
        """The answering model: the one given to ``RAG(generator=...)``, or the one named by
        ``settings.generate`` (prepared once and loaded on first use)."""
        if self._generator is None:
            self._generator = load_generator(self.settings.generate, self.reporter)
        return self._generator

    @cached_property
    def answerer(self) -> Answerer:
        """The single-answer steps over this RAG's generator and settings."""
        return Answerer(self.generator, self.settings.answer, self.settings.generate, self.embedder.encode,
                        lambda i: self.index.articles[i].text, Verifier(self.embedder.path))

    @cached_property
    def flow(self) -> Flow:
        """The answer flow (``rag.answer.flow``): reads a question once and answers it by the right path."""
        return Flow(self.answerer, self.retriever.catalog, self.retriever.search, lambda i: self.index.articles[i].text)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> Answer:
        """Answer ``question`` from the articles, citing them; ``answerable`` is False when they don't say."""
        stream = self.stream(question, k, filters)
        for _ in stream:
            pass
        return stream.answer

    def stream(self, question: str, k: int | None = None, filters: Filters | None = None) -> AnswerStream:
        """Like ask(), but iterate over it to get the answer text as the model writes it.

        After the loop, ``.answer`` holds the checked Answer, whose text may differ from the streamed
        draft (citations renumbered, or withheld when unsupported): show that one.
        """
        question = self._question(question)
        k = validate.k(k, self.settings.answer.k, int(limits("answer.k")[1]))
        return AnswerStream(self, question, k, validate.known(filters, self.outlets))

    def _question(self, question: object) -> str:
        return validate.question(question, self.settings.answer.max_question_chars)

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class AnswerStream:
    """Iterator over the model's text pieces for one question; ``.answer`` is the checked Answer once it ends."""

    def __init__(self, rag: RAG, question: str, k: int, filters: Filters | None) -> None:
        """Use ``RAG.stream`` to get one."""
        self.rag, self.question, self.k, self.filters = rag, question, k, filters
        self._answer: Answer | None = None
        self.passages: list[Passage] = []

    @property
    def answer(self) -> Answer:
        """The checked Answer; RagError (with the fix) when the stream has not been read to its end."""
        if self._answer is None:
            raise RagError("stream.answer is read before the stream was read to its end: the answer is checked "
                           "only once the model has finished writing",
                           "iterate over the stream first (for piece in stream: ...), or call RAG.ask")
        return self._answer

    def __iter__(self) -> Iterator[str]:
        rag = self.rag
        started = time.perf_counter()
        self.passages = rag.retriever.search(self.question, self.k, self.filters)
        retrieved = time.perf_counter()
        run = rag.flow.run(rag.flow.read(self.question), self.passages, self.filters)
        yield from run
        done = time.perf_counter()
        answer = run.answer
        answer.timings = {"retrieval_s": retrieved - started, **run.timings,
                          "first_token_s": retrieved - started + run.timings.get("first_token_s", done - retrieved),
                          "total_s": done - started}
        self._answer = answer


def _path(value: object, what: str, kind: type[RagError]) -> Path:
    """``value`` as a Path, or an error of ``kind`` naming ``what`` when it is not a path."""
    if isinstance(value, (str, os.PathLike)) and str(value):
        return Path(value)
    raise kind(f"{what} must be a path (str or os.PathLike), not {value!r}", f"pass the {what} file or folder")
