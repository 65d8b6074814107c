"""The optional llama.cpp runtime: choosing it, clear errors, and (where llama-cpp-python is installed)
the same answers interface with the real fast model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG, Settings
from rag.config import GenerateSettings
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
    # the runtime under test, not the policy (which withholds the 0.5B model's answer here at 0.82)
    settings = Settings().replace(**{"generate.model": "fast", "generate.runtime": "llama-cpp",
                                     "answer.min_confidence": 0.0})
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


@needs_llama
@pytest.mark.model
@pytest.mark.slow
def test_llama_cpp_calls_survive_torch_bf16_work_between_them() -> None:
    """On AMX CPUs torch's bf16 kernels release the tile registers llama.cpp set up on the calling thread
    (a SIGILL in the next llama.cpp call); every llama.cpp call runs on its own thread instead."""
    import threading

    import torch

    from rag.generate.llamacpp import LlamaCppGenerator

    generator = LlamaCppGenerator.load("fast", GenerateSettings(model="fast", runtime="llama-cpp"))
    weights = torch.randn(1024, 1024, dtype=torch.bfloat16)
    for story in range(4):  # a new prompt each time, so llama.cpp prefills a batch (its AMX kernels)
        text = f"Story {story}: " + "The quick brown fox jumps over the lazy dog. " * 20 + "Name a colour."
        messages = [{"role": "user", "content": text}, {"role": "assistant", "content": "Answer:"}]
        torch.nn.functional.linear(torch.randn(128, 1024, dtype=torch.bfloat16), weights)  # as the embedder does
        assert set(generator.choice_logprobs(messages, (" Red", " Blue"))) == {" Red", " Blue"}
    assert generator.generate(messages, max_new_tokens=3)
    assert generator._run(lambda: threading.current_thread().name).startswith("llama-cpp")
