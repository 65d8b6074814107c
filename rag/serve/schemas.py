"""Request bodies of the HTTP API and the typed results of the MCP tools (pydantic models).

A request's values are checked by ``rag.validate`` (the command line's checks, with its messages),
not by pydantic types, so a bad k or date gets the same message through every door; the models only
say which fields exist and what they hold (for /openapi.json and MCP's schemas), and make FastAPI
accept JSON bodies only (a cross-site form or text/plain post is refused).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.answer import Answer, Citation
from rag.corpus import Article
from rag.retrieve import Passage


def _field(description: str, schema: dict[str, Any], default: Any = None) -> Any:
    return Field(default, description=description, json_schema_extra=schema)


QUESTION = _field("the question, in words", {"type": "string"}, ...)
K_SEARCH = _field("how many passages (default retrieve.k, 5)", {"type": "integer", "minimum": 1})
K_ASK = _field("how many passages the model reads (default answer.k, 4)", {"type": "integer", "minimum": 1})
OUTLETS = _field("only articles of these outlets (names as /v1/index lists them)",
                 {"type": "array", "items": {"type": "string"}})
SINCE = _field("only articles dated on or after: YYYY, YYYY-MM or YYYY-MM-DD", {"type": "string"})
UNTIL = _field("only articles dated on or before: YYYY, YYYY-MM or YYYY-MM-DD", {"type": "string"})


class SearchRequest(BaseModel):
    """POST /v1/search."""

    model_config = ConfigDict(extra="forbid")
    question: Any = QUESTION
    k: Any = K_SEARCH
    outlets: Any = OUTLETS
    since: Any = SINCE
    until: Any = UNTIL


class AskRequest(SearchRequest):
    """POST /v1/ask."""

    k: Any = K_ASK


class Message(BaseModel):
    """One chat message; ``content`` is text or a list of parts ({"type": "text", "text": ...})."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """POST /v1/chat/completions: the OpenAI fields used, plus rag's own (sent with the client's ``extra_body``).
    Other OpenAI fields (temperature, max_tokens, ...) are accepted and have no effect: answers are greedy,
    one or two sentences."""

    model_config = ConfigDict(extra="allow")
    messages: list[Message]
    model: str | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    k: Any = K_ASK
    outlets: Any = OUTLETS
    since: Any = SINCE
    until: Any = UNTIL
    draft: bool = Field(False, description="also stream the model's unchecked draft, in choices[0].delta.draft")


class RelatedArticle(BaseModel):
    """An article by id, title and date; alone, one close to an unanswered question (not a citation)."""

    article_id: str
    title: str
    date: str | None


class PassageResult(RelatedArticle):
    """A retrieved passage: its text, article and offsets in the article's text, and its score."""

    text: str
    outlet: str | None
    start: int
    end: int
    score: float

    @classmethod
    def of(cls, p: Passage) -> PassageResult:
        """From a Passage."""
        return cls(text=p.text, article_id=p.article_id, title=p.title, date=p.date, outlet=p.publisher,
                   start=p.start, end=p.end, score=round(p.score, 4))


class SearchResult(BaseModel):
    """What the search tool returns: the passages, best first."""

    passages: list[PassageResult]


class CitationResult(RelatedArticle):
    """A cited article and the exact quote: ``article.text[start:end] == quote``."""

    n: int
    quote: str
    start: int
    end: int

    @classmethod
    def of(cls, c: Citation) -> CitationResult:
        """From a Citation."""
        return cls(n=c.number, article_id=c.article_id, title=c.title, date=c.date, quote=c.quote,
                   start=c.quote_start, end=c.quote_end)


class AskResult(BaseModel):
    """What the ask tool returns: the checked answer with its citations, or why it was withheld and what is close."""

    text: str
    answerable: bool
    short: str | None = Field(description="the answer itself: yes/no, a name, a number, a date")
    reason: str | None = Field(description="why the answer was withheld")
    citations: list[CitationResult]
    closest: list[CitationResult] = Field(description="when withheld: the sentences nearest the question")
    related: list[RelatedArticle] = Field(description="when withheld: the closest articles")

    @classmethod
    def of(cls, a: Answer) -> AskResult:
        """From an Answer."""
        return cls(text=a.text, answerable=a.answerable, short=a.short, reason=a.reason,
                   citations=[CitationResult.of(c) for c in a.citations],
                   closest=[CitationResult.of(c) for c in a.closest],
                   related=[RelatedArticle(article_id=p.article_id, title=p.title, date=p.date) for p in a.related])


class ArticleResult(BaseModel):
    """An indexed article: its text (quotes' offsets point into it) and metadata."""

    article_id: str
    title: str
    text: str
    date: str | None
    outlet: str | None
    author: str | None
    url: str | None

    @classmethod
    def of(cls, a: Article) -> ArticleResult:
        """From an Article."""
        return cls(article_id=a.id, title=a.title, text=a.text, date=a.date, outlet=a.publisher, author=a.author,
                   url=a.url)
