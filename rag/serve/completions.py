"""The OpenAI chat-completions wire format of an Answer: content, citations, annotations and stream chunks.

The content is the checked answer with its ``[n]`` markers, exactly the text the chat shows (a
withheld answer says so and lists the closest articles). The sources travel as a top-level
``citations`` list (as Perplexity's API does, so a plain client keeps working) and as
``url_citation`` annotations on the ``[n]`` markers. The model's unchecked draft never goes into
``content``: a client that asks for it (``"draft": true`` in the request) gets it in ``delta.draft``,
a field plain clients ignore. A chunk with a top-level ``question`` says what a follow-up was rewritten
into before it was searched; the last chunk (and the whole response) also carries the checked ``answer``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from rag.answer import Answer, Citation
from rag.corpus import Article
from rag.errors import QuestionError, RagError
from rag.rewrite import Turn

MODEL_ID = "rag"
_MARKER = re.compile(r"\[(\d+)\]")


def content(answer: Answer, article: Callable[[str], Article]) -> str:
    """The text a chat client shows: the checked answer, or the withheld answer with the closest articles and,
    when there are some, the sentences nearest the question (never as citations); ``article`` gives one by id."""
    if answer.answerable:
        return answer.text
    lines = [answer.text]
    if answer.closest:
        lines += ["", "What the articles do say (not an answer):"]
        lines += [f"- “{c.quote}” ({_where(c.title, article(c.article_id).publisher, c.date)})" for c in answer.closest]
    if answer.related:
        lines += ["", "Closest articles (not citations):"]
        lines += [f"- {_where(p.title, p.publisher, p.date)}" for p in answer.related]
    return "\n".join(lines)


def citations(cited: list[Citation], article: Callable[[str], Article], article_url: str) -> list[dict[str, Any]]:
    """Citations as plain records: n, article id, title, outlet, date, url (the article's own, else this server's
    ``article_url`` followed by its id), the quote and its start/end offsets in the article text."""
    records = []
    for c in cited:
        source = article(c.article_id)
        records.append({"n": c.number, "article_id": c.article_id, "title": c.title, "outlet": source.publisher,
                        "date": c.date, "url": source.url or article_url + quote(c.article_id, safe=""),
                        "quote": c.quote, "start": c.quote_start, "end": c.quote_end})
    return records


def annotations(text: str, cited: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``url_citation`` annotations: each ``[n]`` marker of ``text`` with its citation's url and title."""
    by_number = {c["n"]: c for c in cited}
    found = []
    for match in _MARKER.finditer(text):
        c = by_number.get(int(match.group(1)))
        if c:
            found.append({"type": "url_citation", "url_citation": {
                "url": c["url"], "title": c["title"], "start_index": match.start(), "end_index": match.end()}})
    return found


def history(messages: list[tuple[str, str]]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the turns before it (user message, the assistant's reply);
    ``messages`` are (role, text) pairs. System messages are not used: the answer's instructions are fixed."""
    talk = [(role, text) for role, text in messages if role in ("user", "assistant")]
    if not talk or talk[-1][0] != "user":
        raise _bad("the last message must be the user's question")
    turns = [Turn(question, reply) for (role, question), (next_role, reply) in zip(talk[:-1], talk[1:])
             if role == "user" and next_role == "assistant"]
    return talk[-1][1], turns


def completion_id() -> str:
    """A new id for one completion, shared by its chunks."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def chunk(cid: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    """One ``data:`` event of a stream: a ``chat.completion.chunk`` with ``delta`` (and top-level ``extra``)."""
    return event({"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL_ID,
                  "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})


def usage_chunk(cid: str, question: str, text: str) -> str:
    """The last chunk when ``stream_options.include_usage`` was asked: no choices, the usage (see ``usage``)."""
    return event({"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL_ID,
                  "choices": [], "usage": usage(question, text)})


def usage(question: str, text: str) -> dict[str, int]:
    """Token counts in words (the model's own tokens are not counted across the prompt's checks and retries)."""
    prompt, completion = len(question.split()), len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def response(cid: str, question: str, text: str, cited: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The non-streamed ``chat.completion``: the message with its annotations, top-level ``citations`` and ``extra``."""
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": text, "annotations": annotations(text, cited)}}],
            "usage": usage(question, text), "citations": cited, **extra}


def error_event(exc: RagError) -> str:
    """An error in the middle of a stream, as the OpenAI client reads one (it raises APIError with the message)."""
    return event({"error": error_body(exc)["error"]})


def error_body(exc: RagError, kind: str | None = None) -> dict[str, Any]:
    """The JSON of an error answer: the OpenAI shape (message, type, code) plus the problem and the fix apart."""
    return {"error": {"message": str(exc), "type": kind or _kind(exc), "code": None,
                      "problem": exc.problem, "fix": exc.fix}}


def event(data: dict[str, Any]) -> str:
    """One server-sent event carrying ``data`` as JSON."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"


def _kind(exc: RagError) -> str:
    """"QuestionError" -> "question_error"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def _where(title: str, outlet: str | None, date: str | None) -> str:
    return " · ".join(x for x in (title, outlet, date) if x)


def _bad(problem: str) -> RagError:
    return QuestionError(problem, 'send {"messages": [{"role": "user", "content": "your question"}]}')
