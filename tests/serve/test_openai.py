"""The real OpenAI Python client against the server, in process: a streamed answer from the real fast model, and a
whole answer, the models list and errors on a scripted one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import openai
import pytest

from rag import RAG
from rag.serve import create_app
from tests.serve.conftest import DSRB, scripted


def _client(app: Any) -> openai.AsyncOpenAI:
    """The OpenAI client calling ``app`` in process (it needs some key; none is asked while auth is off)."""
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1")
    return openai.AsyncOpenAI(base_url="http://127.0.0.1/v1", api_key="unused", max_retries=0, http_client=http)


def test_a_streamed_answer_ends_with_the_checked_answer_and_its_citations(fast_rag: RAG) -> None:
    async def ask() -> tuple[str, str, Any]:
        stream = await _client(create_app(fast_rag)).chat.completions.create(
            model="rag", messages=[{"role": "user", "content": DSRB}], stream=True, extra_body={"draft": True})
        content, draft, finish = "", "", None
        async for chunk in stream:
            if not chunk.choices:
                continue
            content += chunk.choices[0].delta.content or ""
            draft += (chunk.choices[0].delta.model_extra or {}).get("draft") or ""
            if chunk.choices[0].finish_reason == "stop":
                finish = chunk
        return content, draft, finish
    content, draft, finish = asyncio.run(ask())
    answer = finish.answer
    assert content == answer["text"] and answer["answerable"] and "$135 billion" in content  # only the checked text
    assert draft.strip() == answer["raw"]  # the model's own words came apart, in delta.draft
    citation = finish.citations[0]
    assert f"[{citation['n']}]" in content and "$135 billion" in citation["quote"]
    assert fast_rag.article(citation["article_id"]).text[citation["start"]:citation["end"]] == citation["quote"]


def test_a_whole_answer_its_annotations_the_models_and_errors(seed_rag: RAG, dsrb_reply: str) -> None:
    app = create_app(scripted(seed_rag, dsrb_reply))

    async def run() -> None:
        client = _client(app)
        reply = await client.chat.completions.create(model="gpt-4o", messages=[
            {"role": "system", "content": "You are helpful."}, {"role": "user", "content": DSRB}])
        message = reply.choices[0].message
        assert message.content == "As much as $135 billion [1]." and reply.choices[0].finish_reason == "stop"
        span = message.annotations[0].url_citation
        assert message.annotations[0].type == "url_citation"
        assert message.content[span.start_index:span.end_index] == "[1]"
        assert span.url == reply.citations[0]["url"] and "$135 billion" in reply.citations[0]["quote"]
        assert [m.id for m in (await client.models.list()).data] == ["rag"]
        with pytest.raises(openai.BadRequestError, match="the question is empty. Fix: ask something"):
            await client.chat.completions.create(model="rag", messages=[{"role": "user", "content": " "}])
        with pytest.raises(openai.BadRequestError, match="k must be a whole number from 1 to 20, not 0"):
            await client.chat.completions.create(model="rag", messages=[{"role": "user", "content": DSRB}],
                                                 extra_body={"k": 0})
        stream = await client.chat.completions.create(model="rag", stream=True,  # no reply left: fails mid-answer
                                                      messages=[{"role": "user", "content": DSRB}])
        with pytest.raises(openai.APIError, match="the server failed on this question"):
            async for _ in stream:
                pass
    asyncio.run(run())
