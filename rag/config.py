"""One typed settings object: defaults in code, overridden by a TOML file, RAG_* env vars and flags.

Every value is checked when the settings load (type, range, allowed choices), and a bad one is
reported with where it was set: ``rag.toml: retrieve.fusion = 'mean': must be one of score, rrf``.
``Settings.origin("retrieve.k")`` tells where a value came from (default, a file, an environment
variable or a flag).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rag.errors import SettingsError


def cache_dir() -> Path:
    """Where assembled model files and converted weights are cached (RAG_CACHE_DIR overrides)."""
    root = os.environ.get("RAG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rag-news"
    )
    return Path(root)


def _setting(default: Any, *, low: float | None = None, high: float | None = None,
             choices: tuple[str, ...] | None = None, empty: bool = False, secret: bool = False) -> Any:
    """A settings field with its allowed range or choices, checked whenever settings are built; ``empty``: the
    text may be empty; ``secret``: never written out by ``Settings.to_dict`` (manifests, reports)."""
    return field(default=default, metadata={"low": low, "high": high, "choices": choices, "empty": empty,
                                            "secret": secret})


@dataclass(frozen=True)
class PathSettings:
    """Where the corpus and the indexes are, relative to the working directory."""

    corpus: str = "seeds"
    index_dir: str = "embeddings"


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut into chunks; changing any field forces a full index rebuild."""

    max_tokens: int = _setting(256, low=32, high=512)  # hard limit of the embedder, title header included
    target_tokens: int = _setting(200, low=16, high=512)  # aim for chunks of about this many word-pieces
    overlap_sentences: int = _setting(1, low=0, high=10)  # sentences repeated at the start of the next chunk
    title_prefix: bool = True  # embed "title\n" in front of every chunk


@dataclass(frozen=True)
class IndexSettings:
    """Embedding and FAISS settings (flat below a size, an inverted file above: rag.index.ann)."""

    embedder: str = "all-MiniLM-L6-v2"
    batch_size: int = _setting(32, low=1, high=4096)
    bf16: bool = True
    flat_max_vectors: int = _setting(20_000, low=0)  # exact search up to here, IVF-SQ8 above (rag.index.ann)
    ann_recall: float = _setting(0.95, low=0, high=1)  # IVF: nprobe is chosen at build to reach this recall@10
    ann_nlist: int = _setting(0, low=0)  # IVF inverted lists; 0: the power of two nearest 4 * sqrt(vectors)
    ann_refine: float = _setting(2.0, low=1, high=100)  # IVF: shortlist this many times k, re-scored exactly
    # BM25 backend (rag.index.lexical): "auto" is bm25s up to tantivy_above chunks, Tantivy above if installed
    lexical: str = _setting("auto", choices=("auto", "bm25s", "tantivy"))
    tantivy_above: int = _setting(100_000, low=0)
    lock_timeout_s: float = _setting(600.0, low=0)  # a second writer of one index waits this long for the first


@dataclass(frozen=True)
class RetrieveSettings:
    """How dense and lexical scores are fused, boosted by what the question names, and spread."""

    k: int = _setting(5, low=1, high=1000)
    candidates: int = _setting(1000, low=1)  # dense neighbours from FAISS (min-max scaled); BM25 scores every chunk
    fusion: str = _setting("score", choices=("score", "rrf"))  # weighted sum of normalised scores, or reciprocal rank
    rrf_k: int = _setting(60, low=1)  # for fusion = "rrf"
    dense_weight: float = _setting(0.5, low=0)  # BM25 is the stronger ranker on news (names, numbers)
    lexical_weight: float = _setting(1.0, low=0)
    news_aware: bool = True  # read outlets and dates named in the question (from the index's metadata)
    outlet_boost: float = _setting(0.6, low=0)  # added to chunks of an outlet the question names
    date_boost: float = _setting(0.5, low=0)  # added to chunks of articles published on a date the question names
    outlet_parts: bool = True  # each named outlet gets its best article into the top k
    sentence_weight: float = _setting(2.0, low=0)  # weight of the chunk's best single-sentence share of the question
    clause_weight: float = _setting(0.5, low=0)  # the same for the best-matched clause of a multi-clause question
    clause_lexical_weight: float = _setting(0.25, low=0)  # + this x the chunk's best BM25 for one clause / its best
    rarity_pool: int = _setting(200, low=0)  # question words weigh by rarity among these best chunks; 0: idf only
    skip_repeated_sentences: bool = True  # a sentence found word for word in 2+ articles matches nothing
    coverage_weight: float = _setting(2.0, low=0)  # bonus for matching a clause the chunks taken so far match less
    article_penalty: float = _setting(0.2, low=0)  # subtracted per chunk already taken from the same article
    max_per_article: int = _setting(3, low=1)


@dataclass(frozen=True)
class GenerateSettings:
    """Which local model answers and how."""

    model: str = "default"  # "default", "fast", or a path to a model folder or .gguf file
    # "auto": the fastest installed runtime that can run the model (see rag.generate.registry);
    # "transformers" (bf16, always installed) or "llama-cpp" (GGUF, the [llama] extra) to choose
    runtime: str = _setting("auto", choices=("auto", "transformers", "llama-cpp"))
    max_new_tokens: int = _setting(100, low=1, high=4096)
    context_tokens: int = _setting(4096, low=256, high=32768)  # prompt budget (passages + question + instructions)
    threads: int = _setting(0, low=0, high=256)  # 0: one per core
    # transformers: guess this many next tokens from the prompt and check them in one step (0: off)
    lookup_tokens: int = _setting(10, low=0, high=64)


@dataclass(frozen=True)
class AnswerSettings:
    """How answers are written, grounded, checked and withheld (rag.answer.Answerer; thresholds chosen on dev)."""

    k: int = _setting(4, low=1, high=20)  # passages whose sentences the model may be shown
    excerpt_sentences: int = _setting(8, low=0, high=100)  # the most relevant sentences shown in all; 0: every one
    # withhold when the policy's confidence (rag.answer.policy, fit on dev) is below this; -1: the threshold fit with it
    min_confidence: float = _setting(-1.0, low=-1, high=1)
    abstain_above: float = _setting(1.01, low=0, high=1.01)  # also withhold when P("not stated") is at least this
    yes_above: float = _setting(0.76, low=0, high=1)  # a yes/no answer is Yes when P(Yes) / P(Yes or No) >= this;
    # the model leans to yes: on the blind dev split 0.76 decided 10 of 12 yes/no questions right, 0.5 only 8
    # share of the words an answer adds to the question (numbers and names always) that its quote must hold
    min_coverage: float = _setting(0.0, low=0, high=1)
    confirm: bool = True  # the model's second look at the quotes (models whose capabilities say it checks answers)
    confirm_below: float = _setting(0.0, low=0, high=1)  # also withhold when the second look's P(yes) is below this
    related: int = _setting(3, low=0, high=20)  # closest articles listed when the articles don't answer
    closest: int = _setting(3, low=0, high=20)  # and the sentences closest to the question, shown apart
    # questions naming several articles: each part from its own article, then combined (rag.answer.parts)
    multi_part: bool = True
    part_k: int = _setting(3, low=1, high=20)  # passages searched per part (its outlet and date)
    part_sentences: int = _setting(3, low=1, high=20)  # sentences of each part's article the model is shown
    multi_yes_above: float = _setting(0.5, low=0, high=1)  # a multi-part yes/no is Yes when P(Yes) >= this
    parts_hold_answer: bool = True  # an answer to a question naming several reports must be in each one's article
    # the confidence an answer to a question naming an outlet needs (-1: min_confidence's); the policy was fit on
    # single-article questions, and a long multi-article question matches its short quote less
    outlet_min_confidence: float = _setting(0.3, low=-1, high=1)
    max_question_chars: int = _setting(2000, low=10)  # a longer question is refused with its own message


@dataclass(frozen=True)
class ServeSettings:
    """`rag serve` (rag.serve): where it listens, who may call it, and how many questions may wait for the model."""

    host: str = "127.0.0.1"  # another address than a loopback one needs api_key
    port: int = _setting(8000, low=0, high=65535)
    # callers send "Authorization: Bearer KEY"; empty: no key asked (loopback only)
    api_key: str = _setting("", empty=True, secret=True)
    queue: int = _setting(8, low=0, high=1000)  # questions waiting for the model; one more is answered 503
    max_body_bytes: int = _setting(65536, low=1024)  # a larger request body is answered 413
    # Host names accepted besides localhost, the loopback addresses and host (comma-separated)
    allowed_hosts: str = _setting("", empty=True)
    # web origins that may call the API from a browser (comma-separated); empty: none (no CORS)
    cors_origins: str = _setting("", empty=True)
    reload_check_s: float = _setting(1.0, low=0.05)  # how often the index folder is checked for an update


SECTIONS = {"paths": PathSettings, "chunk": ChunkSettings, "index": IndexSettings, "retrieve": RetrieveSettings,
            "generate": GenerateSettings, "answer": AnswerSettings, "serve": ServeSettings}


@dataclass(frozen=True)
class Settings:
    """All settings of the tool. Saved in the index manifest (chunk/index parts decide staleness)."""

    paths: PathSettings = field(default_factory=PathSettings)
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieve: RetrieveSettings = field(default_factory=RetrieveSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    # "section.key" -> where a value that is not the default was set ("rag.toml", "environment RAG_X__Y", ...)
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict of every value, for JSON manifests and TOML files; a secret (serve.api_key) is
        written as its default, empty."""
        return {name: {f.name: f.default if f.metadata.get("secret") else getattr(getattr(self, name), f.name)
                       for f in fields(SECTIONS[name])} for name in SECTIONS}

    def origin(self, dotted: str) -> str:
        """Where the value of ``dotted`` ("retrieve.k") was set: "default" unless overridden."""
        return self.origins.get(dotted, "default")

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "settings") -> Settings:
        """Build settings from a nested dict, rejecting unknown sections or keys and bad values by name."""
        return _merge(cls(), data, origin)

    def replace(self, origin: str = "override", **overrides: Any) -> Settings:
        """Copy with dotted overrides, e.g. ``replace(**{"retrieve.k": 10})``; None values are ignored.
        ``origin`` names where they come from in error messages ("flag -k")."""
        nested: dict[str, dict[str, Any]] = {}
        for dotted, value in overrides.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            nested.setdefault(section, {})[key] = value
        return _merge(self, nested, origin)

    @classmethod
    def load(cls, path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
        """Defaults, then the TOML file (``path`` or ./rag.toml if present), then RAG_SECTION__KEY env vars."""
        settings = cls()
        file = Path(path) if path else Path("rag.toml")
        if path and not file.is_file():
            raise SettingsError(f"{file}: settings file not found", "pass an existing TOML file")
        if file.is_file():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise SettingsError(f"{file}: not valid TOML ({exc})", "correct the file or remove it") from None
            except OSError as exc:
                raise SettingsError(f"{file}: cannot read it ({exc.strerror})", "check its permissions") from None
            settings = _merge(settings, data, str(file))
        env = os.environ if env is None else env
        for name, value in sorted(env.items()):
            if name.startswith("RAG_") and "__" in name:
                section, _, key = name[4:].lower().partition("__")
                settings = _merge(settings, {section: {key: value}}, f"environment {name}")
        return settings


def limits(dotted: str) -> tuple[float | None, float | None]:
    """The lowest and highest value the setting ``dotted`` ("answer.k") may take (None: no bound)."""
    section, _, key = dotted.partition(".")
    spec = next(f for f in fields(SECTIONS[section]) if f.name == key)
    return spec.metadata.get("low"), spec.metadata.get("high")


def _merge(settings: Settings, data: dict[str, Any], origin: str) -> Settings:
    """``settings`` with the nested ``data`` applied, each value checked; ``origin`` names the source."""
    updated: dict[str, Any] = {}
    origins = dict(settings.origins)
    for section, values in data.items():
        if section not in SECTIONS or not isinstance(values, dict):
            raise SettingsError(f"{origin}: unknown settings section {section!r}",
                                f"use one of {', '.join(SECTIONS)}")
        current = updated.get(section) or getattr(settings, section)
        known = {f.name: f for f in fields(current)}
        changes = {}
        for key, value in values.items():
            if key not in known:
                raise SettingsError(f"{origin}: unknown setting {section}.{key}",
                                    f"use one of {', '.join(known)}")
            changes[key] = _checked(value, known[key], type(getattr(current, key)), f"{origin}: {section}.{key}")
            origins[f"{section}.{key}"] = origin
        updated[section] = dataclasses.replace(current, **changes)
    return dataclasses.replace(settings, **updated, origins=origins)


def _checked(value: Any, spec: dataclasses.Field, kind: type, where: str) -> Any:
    """``value`` converted to ``kind`` and checked against the field's range and choices."""
    value = _coerce(value, kind, where)
    low, high, choices = (spec.metadata.get(k) for k in ("low", "high", "choices"))
    if choices and value not in choices:
        raise SettingsError(f"{where} = {value!r} is not allowed", f"use one of {', '.join(choices)}")
    if low is not None and value < low or high is not None and value > high:
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise SettingsError(f"{where} = {value!r} is out of range", f"use a value {bounds}")
    if kind is str and not value.strip() and not choices and not spec.metadata.get("empty"):
        raise SettingsError(f"{where} is empty", "give a value or remove the setting")
    return value


def _coerce(value: Any, kind: type, where: str) -> Any:
    if isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool)):
        return value
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                return value.lower() in {"1", "true", "yes", "on"}
            raise ValueError(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        if kind in (int, float) and isinstance(value, bool):
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        names = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
        raise SettingsError(f"{where} = {value!r} has the wrong type",
                            f"give {names.get(kind, kind.__name__)}") from None
