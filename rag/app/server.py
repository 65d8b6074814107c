"""`rag serve` and `rag mcp`: open the index and the model with progress shown, then serve them (rag.serve)."""

from __future__ import annotations

import socket

from rich.markup import escape

from rag.app.console import err, open_rag, plural
from rag.config import Settings
from rag.errors import RagError

EXTRA = RagError("the server needs the [serve] extra (FastAPI, uvicorn and mcp), which is not installed",
                 "run make, or .venv/bin/pip install -e '.[serve]'")


def run_server(settings: Settings) -> int:
    """Open the corpus and load the model, then answer HTTP requests until Ctrl-C."""
    try:
        import uvicorn

        from rag.serve import Service, create_app
        from rag.serve.api import check_exposure
    except ImportError:
        raise EXTRA from None
    serve = settings.serve
    check_exposure(serve)  # before anything loads
    _check_port(serve.host, serve.port)
    rag = open_rag(settings)
    service = Service(rag)
    app = create_app(service)
    with err.status("Loading the search model…"):
        rag.embedder.model  # noqa: B018 - loads on first access
    service.load_model()
    host = f"[{serve.host}]" if ":" in serve.host else serve.host
    err.print(f"[bold]rag serve[/bold] · {plural(len(rag.index.articles), 'article')}, "
              f"{plural(len(rag.index.chunks), 'chunk')} · model [bold]{escape(settings.generate.model)}[/bold]\n"
              f"  page            http://{host}:{serve.port}/\n"
              f"  OpenAI API      http://{host}:{serve.port}/v1 (chat/completions, models)\n"
              f"  JSON endpoints  /v1/search, /v1/ask, /v1/articles/ID, /v1/index, /healthz\n"
              + ("  API key         required (Authorization: Bearer KEY)\n" if serve.api_key else "")
              + "Ctrl-C stops it.", highlight=False)
    try:
        uvicorn.run(app, host=serve.host, port=serve.port, log_level="warning", timeout_graceful_shutdown=5)
    except SystemExit:  # uvicorn could not listen (it logged why)
        raise RagError(f"cannot listen on {host}:{serve.port}", "choose another --port, or stop what uses it") from None
    return 0


def _check_port(host: str, port: int) -> None:
    """RagError now, before the index and the model load, when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RagError(f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                           "choose another --port, or stop what uses it") from None


def run_mcp(settings: Settings) -> int:
    """Open the corpus, then answer MCP requests on stdin/stdout until the client closes them; everything else
    (progress, notes, logs) goes to stderr, so stdout carries only the protocol."""
    try:
        from rag.serve.tools import create_mcp
    except ImportError:
        raise EXTRA from None
    rag = open_rag(settings, quiet=True)
    create_mcp(rag).run("stdio")
    return 0
