"""One answer flow: the question read once, the path chosen (several articles named, or one answer from the
passages), the threshold that applies, and the timings of each step. The engine only retrieves and calls it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rag.answer.parts import MultiPart, Outcome, Search
from rag.answer.question import Asked, read
from rag.answer.single import Answerer
from rag.answer.types import Answer
from rag.retrieve import Filters, Passage
from rag.retrieve.news import Catalog


class Flow:
    """Answers questions over one index with one answerer."""

    def __init__(self, answerer: Answerer, catalog: Catalog, search: Search, article_text: Callable[[str], str]
                 ) -> None:
        """``search(query, k, filters)`` retrieves passages (for the parts of multi-article questions)."""
        self.answerer = answerer
        self.catalog = catalog
        self.multi_part = MultiPart(answerer, catalog, search, article_text)

    def read(self, question: str) -> Asked:
        """``question`` read once: its kind, names, outlets and dates."""
        return read(question, self.catalog)

    def run(self, asked: Asked, passages: list[Passage], filters: Filters | None = None) -> Run:
        """The answer to ``asked`` from ``passages`` (retrieved with ``filters``), to iterate over."""
        return Run(self, asked, passages, filters)


class Run:
    """One question being answered: iterate to get the model's draft in pieces; then ``.answer`` is the checked
    Answer and ``.timings`` the seconds of each step from the start of the run."""

    def __init__(self, flow: Flow, asked: Asked, passages: list[Passage], filters: Filters | None) -> None:
        """Use ``Flow.run`` to get one."""
        self.flow, self.asked, self.passages, self.filters = flow, asked, passages, filters
        self.answer: Answer | None = None
        self.timings: dict[str, float] = {}

    def __iter__(self) -> Iterator[str]:
        started = time.perf_counter()
        flow, settings = self.flow, self.flow.answerer.settings
        parts = Outcome()
        if settings.multi_part and not (self.filters and self.filters.active):
            parts = flow.multi_part.answer(self.asked, self.passages)
            if parts.answer is not None:  # a question naming several articles, answered part by part
                yield parts.answer.text
                self.timings = {**parts.answer.timings, "first_token_s": time.perf_counter() - started}
                self.answer = parts.answer
                return
        answerer = flow.answerer
        draft = answerer.draft(self.asked, self.passages)
        drafted = time.perf_counter()
        first = None
        for piece in answerer.write(draft):
            first = first or time.perf_counter()
            yield piece
        written = time.perf_counter()
        # a question naming an outlet is held to its own threshold: the policy was fit on single-article
        # questions, and a long multi-article question matches its short quote less
        named = settings.multi_part and self.asked.names_outlet
        self.answer = answerer.check(draft, settings.outlet_min_confidence if named else None,
                                     [e.passage.article_id for e in parts.evidence if e.passage is not None])
        done = time.perf_counter()
        self.timings = {"excerpts_s": drafted - started, **draft.timings,
                        "first_token_s": (first or done) - started, "checks_s": done - written}
