"""The server: one RAG behind a web page, an OpenAI-compatible API, JSON endpoints and MCP tools ([serve] extra).

``service`` shares the RAG between clients (the newest index, one question at a time on the model);
``api`` is the HTTP app (``create_app``), ``completions`` the OpenAI wire format, ``schemas`` the
request bodies and typed results, ``tools`` the MCP server (``create_mcp``), and ``page/`` the web
page the app serves at ``/``. ``rag serve`` and ``rag mcp`` (rag.app.server) run them.
"""

from rag.serve.api import create_app
from rag.serve.service import Busy, Service

__all__ = ["Busy", "Service", "create_app"]
