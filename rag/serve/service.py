"""One RAG shared by every client: the newest index, and the model answering one question at a time.

``Service`` is what the HTTP API and the MCP tools call. Searches run at once, side by side. A
question waits in ``ModelQueue`` for the model (in arrival order; when ``serve.queue`` questions
already wait, ``Busy`` says when to try again), then a ``Job`` answers it on a thread of its own,
sending its events (the searched question, the draft's pieces, the checked Answer) to the caller's
event loop; ``Job.cancel`` stops the model at its next token. When ``rag index`` swaps in an
updated index folder, the next caller notices, a background thread loads it, and callers move to it
once it is ready: nobody waits for the load, and a question already running keeps its index.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rag import validate
from rag.answer import Answer
from rag.config import ServeSettings, limits
from rag.engine import RAG
from rag.errors import RagError
from rag.index import load_index
from rag.index.store import identity
from rag.retrieve import Filters
from rag.rewrite import Turn, standalone

log = logging.getLogger("rag.serve")
WARM_UP_QUERY = "news"  # searched once on a reloaded index, so its first real reader finds it ready
RECENT_ANSWERS = 20  # answer durations kept to estimate Retry-After


class Busy(RagError):
    """The model's queue is full; ``retry_after`` is the seconds after which a turn is likely free."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        """``waiting``: questions already waiting for the model."""
        super().__init__(f"the model is busy: {waiting} questions are waiting for it (serve.queue)",
                         f"try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Question:
    """One question as a client sent it, checked: the text, k, the filters and the conversation before it."""

    text: str
    k: int
    filters: Filters | None = None
    history: list[Turn] = field(default_factory=list)


class ModelQueue:
    """The model answers one question at a time; the others wait their turn in arrival order, at most ``size``."""

    def __init__(self, size: int) -> None:
        """``size``: questions that may wait besides the one being answered."""
        self.size = size
        self._line: deque[object] = deque()
        self._changed = threading.Condition()

    def join(self) -> object | None:
        """A ticket at the end of the line, or None when ``size`` questions already wait."""
        with self._changed:
            if len(self._line) > self.size:
                return None
            ticket = object()
            self._line.append(ticket)
            return ticket

    def wait(self, ticket: object, stop: threading.Event) -> bool:
        """Block until ``ticket`` is first in line (True), or until ``stop`` is set (False: it left the line)."""
        with self._changed:
            while self._line[0] is not ticket:
                if stop.is_set():
                    self._line.remove(ticket)
                    self._changed.notify_all()
                    return False
                self._changed.wait(0.05)
            return True

    def leave(self, ticket: object) -> None:
        """Take ``ticket`` out of the line (its answer ended), letting the next one have the model."""
        with self._changed:
            if ticket in self._line:
                self._line.remove(ticket)
                self._changed.notify_all()

    @property
    def waiting(self) -> int:
        """Questions in the line, the one being answered included."""
        return len(self._line)


class Service:
    """The RAG every client of one server shares, its index kept current, its model behind a ``ModelQueue``."""

    def __init__(self, rag: RAG, settings: ServeSettings | None = None) -> None:
        """Serve ``rag``; ``settings`` default to ``rag.settings.serve``."""
        self.settings = settings or rag.settings.serve
        self.queue = ModelQueue(self.settings.queue)
        self.reload_error: str | None = None  # why the newest index on disk could not be loaded
        self._rag = rag
        self._seen = identity(rag.index.path)
        self._checked_at = time.monotonic()
        self._reloading = threading.Lock()
        self._model = threading.Lock()
        self._durations: deque[float] = deque(maxlen=RECENT_ANSWERS)

    @property
    def rag(self) -> RAG:
        """The RAG over the newest index this server has loaded; an update on disk starts loading in the background
        (checked at most every ``serve.reload_check_s``), and callers get it once it is ready."""
        now = time.monotonic()
        if now - self._checked_at >= self.settings.reload_check_s:
            self._checked_at = now
            seen = identity(self._rag.index.path)
            if seen is not None and seen != self._seen and self._reloading.acquire(blocking=False):
                threading.Thread(target=self._reload, args=(seen,), name="rag-reload", daemon=True).start()
        return self._rag

    def _reload(self, seen: tuple[str, int, int]) -> None:
        """Load the index folder swapped in by a writer, warm it, then hand it to the next callers."""
        try:
            fresh = self._rag.with_index(load_index(self._rag.index.path))
            fresh.search(WARM_UP_QUERY, k=1)
            self._rag, self.reload_error = fresh, None
            log.info("index reloaded: %d articles, %d chunks", len(fresh.index.articles), len(fresh.index.chunks))
        except RagError as exc:  # the index in use keeps answering; /healthz says why the new one is not used
            self.reload_error = str(exc)
            log.warning("the updated index could not be loaded: %s", exc)
        finally:
            self._seen = seen
            self._reloading.release()

    def question(self, text: object, k: object = None, outlets: object = None, since: object = None,
                 until: object = None, history: list[Turn] | None = None) -> Question:
        """A client's question checked, with the same messages as the command line's (``rag.validate``)."""
        rag = self.rag
        checked = validate.question(text, rag.settings.answer.max_question_chars)
        count = validate.k(k, rag.settings.answer.k, int(limits("answer.k")[1]))
        return Question(checked, count, validate.known(validate.filters(outlets, since, until), rag.outlets),
                        history or [])

    def load_model(self) -> None:
        """Load the answering model now (once), so the first question does not wait for it."""
        with self._model:
            self.rag.generator  # noqa: B018 - loads on first access

    def job(self, question: Question, draft: bool = False) -> Job:
        """Start answering ``question`` once the model is free; Busy when the queue is full. ``draft``: send the
        model's unchecked text as it is written, too."""
        ticket = self.queue.join()
        if ticket is None:
            raise Busy(self.queue.waiting - 1, self.retry_after())
        return Job(self, question, ticket, draft)

    def retry_after(self) -> int:
        """Seconds until the model is likely to have a free turn: the recent median answer time per question in
        line (1 s when nothing was answered yet)."""
        per_answer = statistics.median(self._durations) if self._durations else 1.0
        return max(1, math.ceil(per_answer * max(self.queue.waiting, 1)))

    def answered(self, seconds: float) -> None:
        """Record how long one answer held the model (for ``retry_after``)."""
        self._durations.append(seconds)


class Job:
    """One question answered on its own thread: its events go to an asyncio queue of the loop that started it,
    as (kind, value) pairs: ("question", the text searched), ("draft", a piece of the model's unchecked text),
    ("answer", the checked Answer) or ("error", a RagError), then ("end", None)."""

    def __init__(self, service: Service, question: Question, ticket: object, draft: bool) -> None:
        """Use ``Service.job``; the thread starts at once and waits for the model's turn."""
        self.service, self.question, self.draft = service, question, draft
        self.rag = service.rag  # the index the answer comes from (a reload meanwhile does not change it)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._ticket = ticket
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rag-answer", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop: leave the queue, or stop the model at its next token (the caller went away)."""
        self._stop.set()

    async def answer(self, gone: Callable[[], Any] | None = None) -> Answer:
        """The checked Answer; RagError when answering failed. ``gone``: an async check, polled while waiting,
        of whether the caller went away (then the job is cancelled)."""
        try:
            while True:
                try:
                    kind, value = await asyncio.wait_for(self.events.get(), timeout=0.5)
                except TimeoutError:
                    if gone is not None and await gone():
                        self.cancel()
                    continue
                if kind == "answer":
                    return value
                if kind == "error":
                    raise value
                if kind == "end":
                    raise RagError("the answer was stopped before it ended", "ask again")
        finally:
            self.cancel()

    def _emit(self, kind: str, value: Any = None) -> None:
        try:
            self._loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: the server is shutting down, nobody listens
            self._stop.set()

    def _run(self) -> None:
        service, queue = self.service, self.service.queue
        try:
            if not queue.wait(self._ticket, self._stop):
                return
            started = time.perf_counter()
            rag = self.rag
            question = self.question
            searched = standalone(question.text, question.history, rag.generator) if question.history \
                else question.text
            self._emit("question", searched)
            stream = rag.stream(searched, question.k, question.filters)
            pieces = iter(stream)
            try:
                for piece in pieces:
                    if self._stop.is_set():
                        return
                    if self.draft:
                        self._emit("draft", piece)
            finally:
                pieces.close()  # stops the model when the caller went away mid-answer
            service.answered(time.perf_counter() - started)
            self._emit("answer", stream.answer)
        except RagError as exc:
            self._emit("error", exc)
        except Exception as exc:  # a bug: logged with its traceback, the caller gets one line
            log.exception("answering %r failed", self.question.text)
            self._emit("error", RagError(f"the server failed on this question ({type(exc).__name__}: {exc})",
                                         "try again; if it fails again, report it with the server's log"))
        finally:
            queue.leave(self._ticket)
            self._emit("end")
