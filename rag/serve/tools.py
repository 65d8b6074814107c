"""The MCP server: tools ``search``, ``ask`` and ``get_article`` over the same ``Service`` as the HTTP API.

Each tool returns a pydantic model, so a client gets structured content and an output schema; a
user's mistake (an empty question, a bad k or date, an unknown outlet or article id) comes back as
a tool error with the RagError's text (problem and fix), which the calling model can read and act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from rag import validate
from rag.config import limits
from rag.engine import RAG
from rag.errors import QuestionError, RagError
from rag.serve.schemas import ArticleResult, AskResult, PassageResult, SearchResult
from rag.serve.service import Service

INSTRUCTIONS = ("Answers questions from a local collection of news articles, citing the exact sentence of the "
                "article that supports each answer, or saying that the articles don't say. Use `ask` for an "
                "answer, `search` for the passages themselves, `get_article` for an article's whole text (a "
                "citation's start and end are offsets into it).")

Question = Annotated[str, Field(description="the question, in words")]
Outlets = Annotated[list[str] | None, Field(description="only articles of these outlets")]
Since = Annotated[str | None, Field(description="only articles dated on or after: YYYY, YYYY-MM or YYYY-MM-DD")]
Until = Annotated[str | None, Field(description="only articles dated on or before: YYYY, YYYY-MM or YYYY-MM-DD")]


def create_mcp(rag: RAG | Service) -> MCPServer:
    """The MCP server over ``rag`` (or a ``Service`` shared with an HTTP app); ``run("stdio")`` serves it."""
    service = rag if isinstance(rag, Service) else Service(rag)
    server = MCPServer("rag", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    async def search(question: Question, k: Annotated[int | None, Field(description="how many passages")] = None,
                     outlets: Outlets = None, since: Since = None, until: Until = None) -> SearchResult:
        """The passages of the news articles that best match the question, best first, with their scores."""
        with _tool_errors():
            rag = service.rag
            count = validate.k(k, rag.settings.retrieve.k, int(limits("retrieve.k")[1]))
            passages = await run_in_threadpool(rag.search, question, count, validate.filters(outlets, since, until))
        return SearchResult(passages=[PassageResult.of(p) for p in passages])

    @server.tool()
    async def ask(question: Question, k: Annotated[int | None, Field(description="passages the model reads")] = None,
                  outlets: Outlets = None, since: Since = None, until: Until = None) -> AskResult:
        """Answer the question from the news articles: a short answer whose [n] markers cite the exact quoted
        sentences, or "The articles don't say" with the closest articles when they do not answer it."""
        with _tool_errors():
            answer = await service.job(service.question(question, k, outlets, since, until)).answer()
        return AskResult.of(answer)

    @server.tool()
    def get_article(article_id: Annotated[str, Field(description="an article_id from a citation or passage")]
                    ) -> ArticleResult:
        """One indexed article by id: its whole text (a citation's start and end are offsets into it), title,
        date, outlet, author and url."""
        rag = service.rag
        if article_id not in rag.index.articles:
            raise ToolError(str(QuestionError(f"no indexed article has the id {article_id!r}",
                                              "use an article_id from a citation or a passage")))
        return ArticleResult.of(rag.article(article_id))

    return server


@contextmanager
def _tool_errors() -> Iterator[None]:
    """A RagError inside becomes a ToolError with its text (what is wrong and the fix)."""
    try:
        yield
    except RagError as exc:
        raise ToolError(str(exc)) from exc
