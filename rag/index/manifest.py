"""The index manifest: what an index holds and how it was built, and whether it still fits the settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rag.config import Settings

FORMAT_VERSION = 1
# The fields every reader of a manifest relies on, and the JSON type each must have.
SHAPE = {"format_version": int, "embedder": dict, "chunking": dict, "faiss": dict, "counts": dict, "articles": dict,
         "created_at": str}


def expected(settings: Settings, embedder: Any) -> dict[str, Any]:
    """The manifest fields that must match for an index to be reused as it is."""
    return {
        "format_version": FORMAT_VERSION,
        "embedder": {"name": embedder.name, "sha256": embedder.fingerprint,
                     "dimension": embedder.dimension, "bf16": settings.index.bf16},
        "chunking": dict(settings.to_dict()["chunk"]),
    }


def malformed(manifest: Any) -> str | None:
    """What is wrong with the shape of a manifest read from JSON ("has no 'counts'"), or None when every
    field in ``SHAPE`` is there with its type, ``counts`` holds whole numbers and ``articles`` maps ids to hashes."""
    if not isinstance(manifest, dict):
        return f"is {json.dumps(manifest)[:40]}, not a JSON object"
    for key, kind in SHAPE.items():
        if key not in manifest:
            return f"has no {key!r}"
        if not isinstance(manifest[key], kind) or isinstance(manifest[key], bool):
            return f"has {key!r} of type {type(manifest[key]).__name__}, not {kind.__name__}"
    counts = manifest["counts"]
    if not all(type(counts.get(k)) is int and counts[k] >= 0 for k in ("articles", "chunks")):
        return f"has 'counts' {counts}, not whole numbers of articles and chunks"
    if not all(isinstance(h, str) for h in manifest["articles"].values()):
        return "has 'articles' that do not map each article id to its content hash"
    return None


def incompatibility(manifest: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """Why an index with ``manifest`` cannot be reused under ``wanted`` (see ``expected``), or None."""
    if manifest["embedder"] != wanted["embedder"]:
        return (f"the index was built with embedder {manifest['embedder']} and the current one is "
                f"{wanted['embedder']}: rebuilding it in full")
    if manifest["chunking"] != wanted["chunking"]:
        return (f"the index was built with chunking {manifest['chunking']} and the settings now say "
                f"{wanted['chunking']}: rebuilding it in full")
    return None


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
