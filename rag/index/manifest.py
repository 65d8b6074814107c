"""The index manifest: what an index holds and how it was built, and whether it still fits the settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rag.config import Settings

FORMAT_VERSION = 1


def expected(settings: Settings, embedder: Any) -> dict[str, Any]:
    """The manifest fields that must match for an index to be reused as it is."""
    return {
        "format_version": FORMAT_VERSION,
        "embedder": {"name": embedder.name, "sha256": embedder.fingerprint,
                     "dimension": embedder.dimension, "bf16": settings.index.bf16},
        "chunking": dict(settings.to_dict()["chunk"]),
    }


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
