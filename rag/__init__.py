"""rag: offline question answering over news articles, citing the source article every time."""

import rag._offline  # noqa: F401  (HF_HUB_OFFLINE=1 before any Hugging Face import)
from rag.chunking import Chunk
from rag.config import Settings
from rag.corpus import Article
from rag.engine import RAG
from rag.errors import RagError
from rag.retrieve import Filters, Passage

__all__ = ["RAG", "Article", "Chunk", "Filters", "Passage", "RagError", "Settings"]
