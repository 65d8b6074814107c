"""The RAG object: open (or build) the index of a corpus, then search it."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.corpus import Article, Problem, load_corpus
from rag.embed import Embedder
from rag.index import Index, IndexReport, open_index
from rag.retrieve import Filters, Passage, search

DEFAULT_INDEX_DIR = "embeddings"


class RAG:
    """A corpus with its up-to-date index. Use ``RAG.open(path)``; also a context manager."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings,
                 report: IndexReport | None = None, problems: list[Problem] | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.report = report or IndexReport()
        self.problems = problems or []

    @classmethod
    def open(cls, corpus: str | Path, index_dir: str | Path = DEFAULT_INDEX_DIR,
             settings: Settings | None = None, name: str | None = None, progress: bool = False) -> RAG:
        """Read ``corpus`` (file or folder), then load its index from ``index_dir``, updating it.

        Only new or edited articles are embedded. Skipped input is listed in ``.problems`` and
        what the index update did in ``.report``. Raises RagError when nothing can be indexed.
        """
        settings = settings or Settings.load()
        loaded = load_corpus(corpus)
        embedder = Embedder(settings.index)
        index, report = open_index(loaded, index_dir, settings, embedder, name=name, progress=progress)
        return cls(index, embedder, settings, report, loaded.problems)

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

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
