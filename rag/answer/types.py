"""What answering returns: the Answer, its sentences and the citations with their exact quotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.retrieve import Passage

NOT_IN_ARTICLES = "The articles don't say."


@dataclass(frozen=True)
class Citation:
    """A cited article, with the exact sentence(s) that support the answer and where they are."""

    number: int  # the [n] in the answer text
    article_id: str
    title: str
    date: str | None
    source: str
    quote: str  # exact text of the article, article_text[quote_start:quote_end]
    quote_start: int
    quote_end: int
    passage: str  # the full chunk the quote comes from
    support: float  # share of the answer's content words the quote holds, 0..1 (1: verbatim)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready record."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, the citations it carries and whether its quote supports it."""

    text: str
    citations: tuple[int, ...]
    support: float
    supported: bool


@dataclass
class Answer:
    """What ``RAG.ask`` returns: the text, whether the articles answer it, and its evidence."""

    question: str
    text: str
    answerable: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    related: list[Passage] = field(default_factory=list)  # closest articles when abstaining
    # when withheld: the sentences nearest the question, with their articles and offsets: what the articles
    # do say, shown apart from the answer (never as its citations)
    closest: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    reason: str | None = None  # why the answer was withheld
    raw: str = ""  # the model's own words
    timings: dict[str, float] = field(default_factory=dict)
    short: str | None = None  # the answer itself: "yes"/"no", a name, a number, a date; None when withheld
    signals: dict[str, float] = field(default_factory=dict)  # what the checks measured (rag.answer.Answerer)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready record."""
        return {
            "question": self.question, "text": self.text, "answerable": self.answerable,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "related": [{"article_id": p.article_id, "title": p.title, "date": p.date, "source": p.source}
                        for p in self.related],
            "closest": [c.to_dict() for c in self.closest],
            "sentences": [s.__dict__ for s in self.sentences], "reason": self.reason, "raw": self.raw,
            "short": self.short, "signals": self.signals, "timings": self.timings,
        }
