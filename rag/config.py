"""One typed settings object: defaults in code, overridden by a TOML file, RAG_* env vars and flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rag.errors import RagError


def cache_dir() -> Path:
    """Where assembled model files and converted weights are cached (RAG_CACHE_DIR overrides)."""
    root = os.environ.get("RAG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rag-news"
    )
    return Path(root)


@dataclass(frozen=True)
class PathSettings:
    """Where the corpus and the indexes are, relative to the working directory."""

    corpus: str = "seeds"
    index_dir: str = "embeddings"


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut into chunks; changing any field forces a full index rebuild."""

    max_tokens: int = 256  # hard limit of the embedder, title header included
    target_tokens: int = 200  # aim for chunks of about this many word-pieces
    overlap_sentences: int = 1  # sentences repeated at the start of the next chunk
    title_prefix: bool = True  # embed "title\n" in front of every chunk


@dataclass(frozen=True)
class IndexSettings:
    """Embedding and FAISS settings."""

    embedder: str = "all-MiniLM-L6-v2"
    batch_size: int = 32
    bf16: bool = True
    flat_max_vectors: int = 20_000  # exact search up to here, HNSW above


@dataclass(frozen=True)
class RetrieveSettings:
    """How dense and lexical scores are fused, boosted by what the question names, and spread."""

    k: int = 5
    candidates: int = 1000  # dense neighbours from FAISS (min-max scaled over them); BM25 scores every chunk
    fusion: str = "score"  # "score": weighted sum of normalised scores; "rrf": reciprocal rank
    rrf_k: int = 60  # for fusion = "rrf"
    dense_weight: float = 0.5  # BM25 is the stronger ranker on news (names, numbers)
    lexical_weight: float = 1.0
    news_aware: bool = True  # read outlets and dates named in the question (from the index's metadata)
    outlet_boost: float = 0.6  # added to chunks of an outlet the question names
    date_boost: float = 0.5  # added to chunks of articles published on a date the question names
    outlet_parts: bool = True  # each named outlet gets its best article into the top k
    sentence_weight: float = 2.0  # weight of the chunk's best single-sentence share of the question's idf
    clause_weight: float = 0.5  # the same for the best-matched clause of a multi-clause question
    clause_lexical_weight: float = 0.25  # + this x the chunk's best BM25 for one clause / that clause's best BM25
    rarity_pool: int = 200  # question words weigh by their rarity among these best chunks' sentences; 0: idf only
    skip_repeated_sentences: bool = True  # a sentence found word for word in 2+ articles (boilerplate) matches nothing
    coverage_weight: float = 2.0  # bonus for matching a clause the chunks taken so far match less
    article_penalty: float = 0.2  # subtracted per chunk already taken from the same article
    max_per_article: int = 3

@dataclass(frozen=True)
class GenerateSettings:
    """Which local model answers and how."""

    model: str = "default"  # "default", "fast", or a path to a model folder or .gguf file
    # "transformers" (bf16, the default install), "llama-cpp" (the optional [llama] extra: GGUF, ~2x
    # faster answers on CPU, eval/README.md), or "auto": llama-cpp when installed and the model is a GGUF
    runtime: str = "auto"
    max_new_tokens: int = 100
    context_tokens: int = 4096  # prompt budget (passages + question + instructions)
    threads: int = 0  # 0: torch's default


@dataclass(frozen=True)
class AnswerSettings:
    """How answers are grounded, checked and withheld."""

    k: int = 4  # passages given to the model (each ~125 prompt tokens, ~1.3 s of prefill on 2 cores)
    excerpt_sentences: int = 2  # per passage, the most relevant sentences shown (+ the next); 0: all
    min_support: float = 0.5  # a sentence whose best quote scores lower is unsupported
    confirm: bool = True  # ask the model whether the answer's quotes give that answer (models that can)
    related: int = 3  # closest articles listed when the articles don't answer


@dataclass(frozen=True)
class Settings:
    """All settings of the tool. Saved in the index manifest (chunk/index parts decide staleness)."""

    paths: PathSettings = field(default_factory=PathSettings)
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieve: RetrieveSettings = field(default_factory=RetrieveSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict, for JSON manifests and TOML files."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "settings") -> Settings:
        """Build settings from a nested dict, rejecting unknown sections or keys by name."""
        return _merge(cls(), data, origin)

    def replace(self, **overrides: Any) -> Settings:
        """Copy with dotted overrides, e.g. ``replace(**{"retrieve.k": 10})``; None values are ignored."""
        nested: dict[str, dict[str, Any]] = {}
        for dotted, value in overrides.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            nested.setdefault(section, {})[key] = value
        return _merge(self, nested, "override")

    @classmethod
    def load(cls, path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
        """Defaults, then the TOML file (``path`` or ./rag.toml if present), then RAG_SECTION__KEY env vars."""
        settings = cls()
        file = Path(path) if path else Path("rag.toml")
        if path and not file.exists():
            raise RagError(f"{file}: settings file not found. Fix: pass an existing TOML file.")
        if file.exists():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise RagError(f"{file}: not valid TOML ({exc}). Fix the file or remove it.") from None
            settings = _merge(settings, data, str(file))
        env = os.environ if env is None else env
        from_env: dict[str, dict[str, Any]] = {}
        for name, value in env.items():
            if name.startswith("RAG_") and "__" in name:
                section, _, key = name[4:].lower().partition("__")
                from_env.setdefault(section, {})[key] = value
        return _merge(settings, from_env, "environment")


def _merge(settings: Settings, data: dict[str, Any], origin: str) -> Settings:
    sections = {f.name: f for f in fields(Settings)}
    updated: dict[str, Any] = {}
    for section, values in data.items():
        if section not in sections or not isinstance(values, dict):
            raise RagError(f"{origin}: unknown settings section {section!r}; known: {', '.join(sections)}.")
        current = getattr(settings, section)
        known = {f.name: f for f in fields(current)}
        changes = {}
        for key, value in values.items():
            if key not in known:
                raise RagError(
                    f"{origin}: unknown setting {section}.{key}; known: {', '.join(known)}."
                )
            changes[key] = _coerce(value, type(getattr(current, key)), f"{origin}: {section}.{key}")
        updated[section] = dataclasses.replace(current, **changes)
    return dataclasses.replace(settings, **updated)


def _coerce(value: Any, kind: type, where: str) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                return value.lower() in {"1", "true", "yes", "on"}
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise RagError(f"{where}: expected {kind.__name__}, got {value!r}.") from None
