"""One model, many clients, on a live server: a full queue answers 503, a client that goes away frees the model,
and an index updated by `rag index` is picked up without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

from rag import RAG, Settings
from rag.app.cli import main
from rag.serve import Service, create_app
from rag.serve.service import ModelQueue
from tests.scripted import ScriptedGenerator
from tests.serve.conftest import NEWS, client, live, write_corpus

QUESTION = {"messages": [{"role": "user", "content": "When does the library open?"}]}


class SlowGenerator(ScriptedGenerator):
    """Writes one word every 20 ms, up to 1,000, until ``gate`` opens (if given); says when it starts and stops."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.gate = gate
        self.words = 0
        self.started, self.stopped = threading.Event(), threading.Event()

    def stream(self, messages: list, max_new_tokens: int | None = None, avoid: tuple[str, ...] = ()
               ) -> Iterator[str]:
        """Words, slowly; ``stopped`` is set when the stream is closed or ends."""
        self.started.set()
        try:
            for _ in range(1000):
                if self.gate is not None and self.gate.is_set():
                    return
                self.words += 1
                time.sleep(0.02)
                yield "word "
        finally:
            self.stopped.set()


def _wait(condition, seconds: float = 30) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_full_queue_answers_503_with_retry_after(news_rag: RAG, loopback: None) -> None:
    gate = threading.Event()
    model = SlowGenerator(gate)
    service = Service(news_rag.using(news_rag.settings.replace(**{"serve.queue": 0}), generator=model))
    with live(create_app(service)) as url, httpx2.Client(base_url=url, timeout=60) as http:
        first = threading.Thread(target=lambda: http.post("/v1/chat/completions", json=QUESTION))
        first.start()
        assert model.started.wait(30)
        busy = http.post("/v1/chat/completions", json={**QUESTION, "stream": True})
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        assert "the model is busy" in busy.json()["error"]["message"]
        assert http.post("/v1/search", json={"question": "ferry"}).status_code == 200  # searches do not wait
        gate.set()
        first.join(30)
        assert _wait(lambda: service.queue.waiting == 0)
        assert http.post("/v1/search", json={"question": "ferry"}).status_code == 200


def test_a_client_that_goes_away_frees_the_model_at_the_next_word(news_rag: RAG, loopback: None) -> None:
    model = SlowGenerator()
    service = Service(news_rag.using(generator=model))
    with live(create_app(service)) as url, httpx2.Client(base_url=url, timeout=60) as http:
        with http.stream("POST", "/v1/chat/completions", json={**QUESTION, "stream": True, "draft": True}) as response:
            for line in response.iter_lines():
                if '"draft"' in line:
                    break  # the model is writing: hang up
        assert model.stopped.wait(30) and model.words < 1000
        words = model.words
        assert _wait(lambda: service.queue.waiting == 0)
        time.sleep(0.2)
        assert model.words == words  # nothing more was written for nobody


def test_rag_index_while_serving_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "articles", NEWS)
    settings = Settings().replace(**{"serve.reload_check_s": 0.05})
    rag = RAG.open(corpus, index_dir=tmp_path / "ix", settings=settings, generator=ScriptedGenerator())
    api = client(create_app(rag))
    assert api.get("/v1/index").json()["articles"] == 3
    write_corpus(corpus, {"zoo.md": "Source: Nordic Wire\nDate: 2025-07-01\n\n# The zoo welcomes two red pandas\n\n"
                                    "Two red pandas arrived at the city zoo from Rotterdam on Tuesday.\n"})
    assert main(["--index-dir", str(tmp_path / "ix"), "index", str(corpus)]) == 0  # what `rag index` runs
    assert _wait(lambda: api.get("/v1/index").json()["articles"] == 4)
    found = api.post("/v1/search", json={"question": "red pandas", "k": 1}).json()["passages"]
    assert found[0]["title"] == "The zoo welcomes two red pandas"
    assert api.get("/healthz").json()["reload_error"] is None


def test_questions_take_their_turn_in_order_and_one_that_gives_up_leaves_the_line() -> None:
    queue = ModelQueue(2)
    first, second, third = (queue.join() for _ in range(3))
    assert queue.join() is None  # one answered and two waiting: the next is refused
    gave_up = threading.Event()
    gave_up.set()
    assert not queue.wait(third, gave_up) and queue.waiting == 2
    queue.leave(first)
    assert queue.wait(second, threading.Event()) and queue.join() is not None
