"""The optional llama.cpp runtime: choosing it, clear errors, and (where llama-cpp-python is installed)
the same answers interface with the real fast model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG, Settings
from rag.errors import ModelError
from rag.generate.models import prepare_gguf
from rag.generate.registry import installed
from tests.conftest import SEEDS

needs_llama = pytest.mark.skipif(not installed("llama-cpp"),
                                 reason="llama-cpp-python (the [llama] extra) is not installed")


def test_llama_cpp_needs_a_gguf_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="needs a .gguf file or a model name"):
        prepare_gguf(str(tmp_path))


@needs_llama
@pytest.mark.model
@pytest.mark.slow
def test_the_fast_model_on_llama_cpp_streams_and_answers_with_citations(seed_index_dir: Path) -> None:
    settings = Settings().replace(**{"generate.model": "fast", "generate.runtime": "llama-cpp"})
    rag = RAG.open(SEEDS, index_dir=seed_index_dir, settings=settings)
    generator = rag.generator
    assert generator.runtime == "llama-cpp" and generator.count_tokens("Hello world") == 2
    messages = [{"role": "user", "content": "Say hello."}]
    assert generator.count_chat_tokens(messages) > generator.count_tokens("Say hello.")
    stream = rag.stream("How much does the planned defense bank hope to raise?")
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces).strip() == stream.answer.raw
    answer = stream.answer  # grounded like any other runtime's text: cited, with exact quotes
    bank = "member-states-are-seeking-to-use-the-structure"
    assert answer.answerable and {c.article_id for c in answer.citations} == {bank}
    for citation in answer.citations:
        assert rag.article(citation.article_id).text[citation.quote_start:citation.quote_end] == citation.quote
