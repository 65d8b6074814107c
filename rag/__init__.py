"""rag: offline question answering over news articles, citing the source article every time."""

import rag._offline  # noqa: F401  (HF_HUB_OFFLINE=1 before any Hugging Face import)
from rag.answer import Answer, Citation
from rag.chunking import Chunk
from rag.config import Settings
from rag.corpus import Article
from rag.engine import RAG, AnswerStream
from rag.errors import CorpusError, IndexingError, ModelError, QuestionError, RagError, SettingsError
from rag.generate import Capabilities, Generator
from rag.progress import Event, Reporter
from rag.retrieve import Filters, Passage

__all__ = ["RAG", "Answer", "AnswerStream", "Article", "Capabilities", "Chunk", "Citation", "CorpusError", "Event",
           "Filters", "Generator", "IndexingError", "ModelError", "Passage", "QuestionError", "RagError", "Reporter",
           "Settings", "SettingsError"]
