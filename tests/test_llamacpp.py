"""The optional llama.cpp runtime: choosing it, clear errors, and (where llama-cpp-python is installed)
the same answers interface with the real fast model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG, RagError, Settings
from rag import llamacpp
from rag.config import GenerateSettings
from rag.generate import load_generator
from rag.models import prepare_gguf

needs_llama = pytest.mark.skipif(not llamacpp.available(), reason="llama-cpp-python (the [llama] extra) is not installed")


def test_an_unknown_runtime_is_a_clear_error() -> None:
    with pytest.raises(RagError, match="use auto, transformers or llama-cpp"):
        load_generator("fast", GenerateSettings(runtime="onnx"))


def test_asking_for_llama_cpp_without_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llamacpp, "available", lambda: False)
    with pytest.raises(RagError, match=r"pip install 'rag-news\[llama\]'"):
        load_generator("fast", GenerateSettings(runtime="llama-cpp"))


def test_llama_cpp_needs_a_gguf_model(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="needs a .gguf file or a model name"):
        prepare_gguf(str(tmp_path))


@needs_llama
def test_the_fast_model_on_llama_cpp_streams_and_answers_with_citations(seed_index_dir: Path) -> None:
    settings = Settings().replace(**{"generate.model": "fast", "generate.runtime": "llama-cpp"})
    rag = RAG.open(Path(__file__).resolve().parent.parent / "seeds", index_dir=seed_index_dir, settings=settings)
    generator = rag.generator
    assert generator.runtime == "llama-cpp" and generator.count_tokens("Hello world") == 2
    messages = [{"role": "user", "content": "Say hello."}]
    assert generator.count_chat_tokens(messages) > generator.count_tokens("Say hello.")
    stream = rag.stream("How much does the planned defense bank hope to raise?")
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces).strip() == stream.answer.raw
    answer = stream.answer  # grounded like any other runtime's text: cited, with exact quotes
    assert answer.answerable and {c.article_id for c in answer.citations} == {"member-states-are-seeking-to-use-the-structure"}
    for citation in answer.citations:
        assert rag.article(citation.article_id).text[citation.quote_start:citation.quote_end] == citation.quote
