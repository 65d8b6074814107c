"""The HTTP server: the web page, the OpenAI-compatible chat API and the JSON endpoints, on one ``Service``.

``create_app(rag)`` returns the ASGI app (``uvicorn`` runs it; ``rag serve`` does that). Routes:
``GET /`` (the page), ``GET /healthz``, ``GET /v1/models``, ``POST /v1/chat/completions`` (streamed
or not), ``POST /v1/search``, ``POST /v1/ask``, ``GET /v1/articles/{id}``, ``GET /v1/index``.

Safe by default: a Host header other than the loopback names, ``serve.host`` and
``serve.allowed_hosts`` is refused (DNS rebinding); with ``serve.api_key`` every ``/v1`` route needs
``Authorization: Bearer KEY``; bodies above ``serve.max_body_bytes`` get 413; only JSON bodies are
read; no CORS unless ``serve.cors_origins``; articles are served by id only. Every error is JSON
(``{"error": {"message", "type", "problem", "fix"}}``): a user's mistake 400 with the RagError's text,
a full model queue 503 with Retry-After; never a traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag import validate
from rag.answer import Answer
from rag.config import ServeSettings, limits
from rag.engine import RAG
from rag.errors import IndexingError, ModelError, QuestionError, RagError, SettingsError
from rag.serve import completions as wire
from rag.serve.schemas import ArticleResult, AskRequest, ChatRequest, PassageResult, SearchRequest
from rag.serve.service import Busy, Job, Service

log = logging.getLogger("rag.serve")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::")
PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
              "/style.css": ("style.css", "text/css; charset=utf-8")}
# the page loads nothing from elsewhere and runs no inline script: an article's text cannot become code
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                           "base-uri 'none'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class NotFound(QuestionError):
    """What a request names (an article id) is not in the index."""


STATUS = {NotFound: 404, QuestionError: 400, SettingsError: 400, ModelError: 503, IndexingError: 503, Busy: 503}


def check_exposure(settings: ServeSettings) -> None:
    """SettingsError when ``settings`` would listen beyond this machine without an API key."""
    if settings.host not in LOOPBACK and not settings.host.startswith("127.") and not settings.api_key:
        raise SettingsError(f"serve.host = {settings.host}: anyone who can reach this address could use the server, "
                            "and no API key is set", "pass --api-key KEY (or set RAG_SERVE__API_KEY), or listen on "
                            "127.0.0.1")


def create_app(rag: RAG | Service, settings: ServeSettings | None = None) -> FastAPI:
    """The ASGI app serving ``rag`` (or a ``Service`` over one) with ``settings`` (default ``rag.settings.serve``);
    SettingsError when they would expose it beyond this machine without an API key."""
    service = rag if isinstance(rag, Service) else Service(rag, settings)
    settings = service.settings
    check_exposure(settings)
    app = FastAPI(title="rag", summary="Answers from news articles, citing the source", docs_url=None,
                  redoc_url=None)
    app.state.service = service
    _errors(app)
    _routes(app, service)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=_names(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(Guard, settings=settings)
    return app


class Guard:
    """Refuses, with a JSON error, a request whose Host header is not this server's (DNS rebinding), a ``/v1``
    request without the API key when one is set, and a body larger than ``serve.max_body_bytes``."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        """Guard ``app`` as ``settings`` say (host, allowed_hosts, api_key, max_body_bytes)."""
        self.app = app
        self.limit = settings.max_body_bytes
        self.hosts = {*LOOPBACK, "[::1]", settings.host.lower(), *_names(settings.allowed_hosts)}
        self.any_host = settings.host in WILDCARDS  # listening on every address: the API key guards it
        self.key = settings.api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not self.any_host and name.lower() not in self.hosts:
            error = QuestionError(f"the Host header {host!r} is not this server's name",
                                  "call it by localhost or 127.0.0.1, or add the name to serve.allowed_hosts")
            await _json(400, wire.error_body(error, "host_not_allowed"))(scope, receive, send)
            return
        if self.key and scope["path"].startswith("/v1/"):
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), self.key):
                error = QuestionError("this server needs an API key, and the request has none or another one",
                                      "send the header 'Authorization: Bearer KEY' with the server's --api-key")
                response = _json(401, wire.error_body(error, "invalid_api_key"))
                response.headers["WWW-Authenticate"] = "Bearer"
                await response(scope, receive, send)
                return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            await _json(413, wire.error_body(_too_large(self.limit)))(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` counting the body's bytes: past the limit, the route reading it gets a 413 (a body sent
        in chunks, without Content-Length)."""
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:
                raise HTTPException(413, _too_large(self.limit).problem)
            return message
        return counted


def _too_large(limit: int) -> QuestionError:
    return QuestionError(f"the request body is larger than the {limit:,} bytes allowed (serve.max_body_bytes)",
                         "send a shorter request")


def _routes(app: FastAPI, service: Service) -> None:
    page = resources.files("rag.serve") / "page"

    def serve_file(path: str, name: str, media: str) -> None:
        body = (page / name).read_bytes()

        @app.get(path, include_in_schema=False)
        def page_file() -> Response:
            return Response(body, media_type=media, headers=PAGE_HEADERS)
    for path, (name, media) in PAGE_FILES.items():
        serve_file(path, name, media)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Whether the server answers, the index it uses and the model's queue."""
        rag = service.rag
        return {"status": "ok", "articles": len(rag.index.articles), "chunks": len(rag.index.chunks),
                "waiting": service.queue.waiting, "reload_error": service.reload_error}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        """The one model id this server answers as (any id given in a request is answered by it)."""
        return {"object": "list", "data": [{"id": wire.MODEL_ID, "object": "model", "created": 0,
                                            "owned_by": "rag", "answering_model": service.rag.settings.generate.model}]}

    @app.get("/v1/index")
    def index() -> dict[str, Any]:
        """What is indexed: counts, outlets with their article counts, the date range, the models."""
        rag = service.rag
        dates = sorted(a.date for a in rag.index.articles.values() if a.date)
        manifest = rag.index.manifest
        return {"articles": len(rag.index.articles), "chunks": len(rag.index.chunks),
                "outlets": [{"name": n, "articles": c} for n, c in rag.outlets.items()],
                "dates": {"first": dates[0] if dates else None, "last": dates[-1] if dates else None},
                "models": {"embedder": manifest.get("embedder"), "answering": rag.settings.generate.model},
                "updated_at": manifest.get("updated_at")}

    @app.get("/v1/articles/{article_id:path}")
    def article(article_id: str) -> ArticleResult:
        """One indexed article by id: its text (citation offsets point into it) and metadata."""
        rag = service.rag
        if article_id not in rag.index.articles:
            raise NotFound(f"no indexed article has the id {article_id!r}", "use an article_id from a citation "
                           "or a passage")
        return ArticleResult.of(rag.article(article_id))

    @app.post("/v1/search")
    async def search(body: SearchRequest) -> dict[str, Any]:
        """The passages that best match the question, best first, with their scores."""
        rag = service.rag
        filters = validate.filters(body.outlets, body.since, body.until)
        k = validate.k(body.k, rag.settings.retrieve.k, int(limits("retrieve.k")[1]))
        passages = await run_in_threadpool(rag.search, body.question, k, filters)
        return {"question": body.question, "passages": [PassageResult.of(p).model_dump() for p in passages]}

    @app.post("/v1/ask")
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """The whole checked Answer: text, short, answerable, citations, related, closest, signals, timings."""
        question = service.question(body.question, body.k, body.outlets, body.since, body.until)
        answer = await service.job(question).answer(request.is_disconnected)
        return answer.to_dict()

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest, request: Request) -> dict[str, Any] | StreamingResponse:
        """The OpenAI chat API: the last user message answered (a follow-up rewritten from the turns before it)."""
        text, turns = wire.history([(m.role, m.text()) for m in body.messages])
        question = service.question(text, body.k, body.outlets, body.since, body.until, turns)
        job = service.job(question, draft=body.stream and body.draft)
        base = f"{request.base_url}v1/articles/"
        if not body.stream:
            answer = await job.answer(request.is_disconnected)
            rag = job.rag
            shown = wire.content(answer, rag.article)
            return wire.response(wire.completion_id(), question.text, shown,
                                 wire.citations(answer.citations, rag.article, base), answer=_answer(answer))
        usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(_stream(job, base, usage), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def _stream(job: Job, base: str, usage: bool) -> AsyncIterator[str]:
        """The chunks of one streamed answer; a client that goes away cancels the job (the model stops)."""
        cid = wire.completion_id()
        try:
            yield wire.chunk(cid, {"role": "assistant", "content": ""})
            while True:
                kind, value = await job.events.get()
                if kind == "question":
                    if value != job.question.text:  # a follow-up, rewritten: the question searched
                        yield wire.chunk(cid, {}, question=value)
                elif kind == "draft":
                    yield wire.chunk(cid, {"draft": value})
                elif kind == "answer":
                    rag = job.rag
                    shown = wire.content(value, rag.article)
                    cited = wire.citations(value.citations, rag.article, base)
                    yield wire.chunk(cid, {"content": shown, "annotations": wire.annotations(shown, cited)})
                    yield wire.chunk(cid, {}, "stop", citations=cited, answer=_answer(value))
                    if usage:
                        yield wire.usage_chunk(cid, job.question.text, shown)
                elif kind == "error":
                    yield wire.error_event(value)
                else:
                    break
            yield wire.DONE
        finally:
            job.cancel()


def _answer(answer: Answer) -> dict[str, Any]:
    """The Answer's record without its passages (the citations and related articles say where it comes from)."""
    record = answer.to_dict()
    record.pop("passages", None)
    return record


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
        response = _json(status, wire.error_body(exc))
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the body"
        message = first.get("msg", "invalid")
        if first.get("type") == "extra_forbidden":
            problem = f"the request has a field {where!r} that this endpoint does not know"
        elif first.get("type") == "missing":
            problem = f"the request has no {where!r} field"
        elif where == "the body" or first.get("type") in ("json_invalid", "model_attributes_type"):
            problem = f"the request body is not the JSON object expected ({message})"
        else:
            problem = f"the request's {where} is not valid: {message}"
        return _json(400, wire.error_body(QuestionError(problem, "send JSON (Content-Type: application/json) with "
                                                        "the fields listed in /openapi.json")))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        path = request.url.path
        known = {404: (f"{path}: no such page or endpoint", "see /openapi.json for the routes"),
                 405: (f"{path} does not take {request.method} requests", "see /openapi.json for each route's method")}
        error = QuestionError(*known.get(exc.status_code, (str(exc.detail), "")))
        return _json(exc.status_code, wire.error_body(error), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def failure(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        error = RagError(f"the server failed on this request ({type(exc).__name__})",
                         "try again; if it fails again, report it with the server's log")
        return _json(500, wire.error_body(error, "server_error"))


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _names(text: str) -> list[str]:
    return [n.strip().lower() for n in text.split(",") if n.strip()]
