"""Shared pieces of the server tests: RAGs over the seeds and over a small corpus with outlets, a client, a live
server on the loopback address, and a model whose answer is scripted whole."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from rag import RAG, Answer, Citation, Settings
from rag.answer.policy import withheld
from tests.scripted import ScriptedGenerator

DSRB = "How much does the DSRB aim to fundraise?"
NEWS = {  # a small corpus whose articles carry their outlet and date in header lines
    "harbour.md": "Source: Nordic Wire\nDate: 2025-03-04\n\n# Harbour bridge reopens after repairs\n\nThe "
                  "Lindqvist harbour bridge reopened on Monday after repairs costing 4.2 million euros, the city "
                  "council said. Traffic returned within the hour.\n",
    "library.md": "Source: Valley Post\nDate: 2025-06-10\n\n# Central library extends its hours\n\nThe central "
                  "library now opens at 8 am on weekdays, the city said. The change follows a survey of readers.\n",
    "ferry.md": "Source: Valley Post\nDate: 2024-11-20\n\n# Electric ferry starts crossing the fjord\n\nThe ferry "
                "carries 300 passengers and charges its batteries at each quay. The operator plans two more boats.\n",
}


@pytest.fixture(scope="session")
def dsrb_reply(seed_rag: RAG) -> str:
    """The scripted reply that answers DSRB from the seeds, citing the source [n] that holds "$135 billion"."""
    rag = seed_rag.using(generator=ScriptedGenerator())
    used = rag.answerer.draft(rag.flow.read(DSRB), rag.search(DSRB, k=rag.settings.answer.k)).used
    n = next(i for i, p in enumerate(used, 1) if "$135 billion" in p.text)
    return f" as much as $135 billion [{n}]"


def scripted(rag: RAG, *replies: str, serve: dict[str, object] | None = None, **options: object) -> RAG:
    """``rag``'s index answering with a ScriptedGenerator of ``replies``; ``serve``: serve.* settings to change."""
    settings = rag.settings.replace(**{f"serve.{k}": v for k, v in (serve or {}).items()})
    return rag.using(settings, generator=ScriptedGenerator(*replies, **options))


def write_corpus(folder: Path, articles: dict[str, str]) -> Path:
    """``articles`` (file name -> text) written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def news_rag(tmp_path_factory: pytest.TempPathFactory) -> RAG:
    """The RAG over the NEWS corpus (three articles of two outlets), indexed once."""
    root = tmp_path_factory.mktemp("news")
    return RAG.open(write_corpus(root / "articles", NEWS), index_dir=root / "ix", settings=Settings())


def client(app: object) -> TestClient:
    """A test client calling ``app`` as a browser on this machine would (Host 127.0.0.1)."""
    return TestClient(app, base_url="http://127.0.0.1:8000")


@contextmanager
def live(app: object) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port for the block; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class WholeAnswerRAG(RAG):
    """A RAG whose answers are given whole (an Answer with ``closest`` sentences, as the answer stage will fill
    them), streamed as the draft's words first; everything else is the real RAG."""

    scripted: list[Answer]
    asked: list[tuple[str, int | None, object]]

    def stream(self, question: str, k: int | None = None, filters: object = None) -> _Given:  # type: ignore[override]
        """The next scripted Answer, its raw text streamed word by word; the question asked is kept in ``asked``."""
        self.asked.append((self._question(question), k, filters))
        return _Given(self.scripted.pop(0))


class _Given:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def __iter__(self) -> Iterator[str]:
        yield from (w + " " for w in self.answer.raw.split())


def withheld_with_closest(rag: RAG, question: str) -> Answer:
    """A withheld Answer for ``question`` over ``rag``, with its closest articles and two nearest sentences (each a
    Citation with exact offsets) and a raw draft."""
    passages = rag.search(question, k=4)
    answer = withheld(question, passages, 3, "the draft that was not kept", [], "no source holds the answer")
    for p in passages[:2]:
        text = rag.article(p.article_id).text
        start = p.start
        end = start + re.search(r"[.!?](?=\s|$)", text[start:]).end()  # the passage's first sentence
        answer.closest.append(Citation(len(answer.closest) + 1, p.article_id, p.title, p.date, p.source,
                                       text[start:end], start, end, p.text, 0.0))
    return answer


def whole_answer_rag(base: RAG, *answers: Answer) -> WholeAnswerRAG:
    """``base``'s index and model, answering with ``answers`` in turn."""
    rag = WholeAnswerRAG(base.index, base.embedder, base.settings, generator=base.generator)
    rag.scripted, rag.asked = list(answers), []
    return rag
