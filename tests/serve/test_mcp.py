"""The MCP tools: typed results and tool errors in process, and `rag mcp` as a subprocess speaking only MCP on
stdout."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import mcp
import pytest

from rag import RAG
from rag.serve.tools import create_mcp
from tests.conftest import ROOT, SEEDS
from tests.serve.conftest import DSRB, scripted


def test_the_tools_return_typed_results_and_say_what_is_wrong(news_rag: RAG) -> None:
    async def run() -> None:
        async with mcp.Client(create_mcp(scripted(news_rag, " not stated")), mode="legacy") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == {"search", "ask", "get_article"}
            assert all(t.output_schema and t.description for t in tools.values())
            found = await client.call_tool("search", {"question": "bridge repairs", "k": 2,
                                                      "outlets": ["Nordic Wire"]})
            passage = found.structured_content["passages"][0]
            assert not found.is_error and passage["title"] == "Harbour bridge reopens after repairs"
            article = await client.call_tool("get_article", {"article_id": passage["article_id"]})
            text = article.structured_content["text"]
            assert text[passage["start"]:passage["end"]] == passage["text"]
            asked = await client.call_tool("ask", {"question": "Who designed the harbour bridge?"})
            assert not asked.is_error and asked.structured_content["answerable"] is False
            assert asked.structured_content["text"].startswith("The articles don't say")
            assert asked.structured_content["related"] and asked.structured_content["citations"] == []
            for name, arguments, message in [
                ("search", {"question": "x", "k": 0}, "k must be a whole number from 1 to 1000, not 0"),
                ("search", {"question": "x", "until": "2025-13-45"}, "until = '2025-13-45' is not a date"),
                ("ask", {"question": "x", "outlets": ["Reuters"]}, "no indexed article is from the outlet 'Reuters'"),
                ("ask", {"question": ""}, "the question is empty"),
                ("get_article", {"article_id": "../etc/passwd"}, "no indexed article has the id"),
            ]:
                failed = await client.call_tool(name, arguments)
                assert failed.is_error and message in failed.content[0].text and "Fix:" in failed.content[0].text
    asyncio.run(run())


@pytest.mark.slow
def test_rag_mcp_over_stdio_speaks_only_the_protocol(seed_rag: RAG, seed_index_dir: Path, tmp_path: Path) -> None:
    stray = tmp_path / "stray.txt"  # every line of the server's stdout that is not a JSON-RPC message
    server = mcp.StdioServerParameters(command=sys.executable, cwd=ROOT, args=[
        str(ROOT / "tests" / "serve" / "stdout_tee.py"), str(stray),
        sys.executable, "-m", "rag.app.cli", "--index-dir", str(seed_index_dir), "mcp", str(SEEDS)])

    async def run() -> Any:
        async with mcp.Client(server, read_timeout_seconds=300) as client:
            found = await client.call_tool("search", {"question": DSRB, "k": 1})
            failed = await client.call_tool("search", {"question": DSRB, "since": "notadate"})
            return found, failed
    found, failed = asyncio.run(run())
    assert not found.is_error and "$135 billion" in found.structured_content["passages"][0]["text"]
    assert failed.is_error and "since = 'notadate' is not a date" in failed.content[0].text
    assert stray.read_text(encoding="utf-8") == ""
