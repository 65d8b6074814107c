"""Generation with the real 0.5B model on the transformers runtime: answers, streaming, stopping, limits."""

from __future__ import annotations

import threading

import pytest

from rag.config import GenerateSettings
from rag.errors import QuestionError
from rag.generate import Generator
from rag.generate.transformers import TransformersGenerator

pytestmark = [pytest.mark.model, pytest.mark.slow]

FREEDONIA = [
    {"role": "system", "content": "Answer the question using only the numbered sources."},
    {
        "role": "user",
        "content": "Sources:\n[1] The capital of Freedonia is Zalmo.\n\n"
        "Question: What is the capital of Freedonia?",
    },
]


@pytest.fixture(scope="module")
def fast() -> TransformersGenerator:
    """The real "fast" model, prepared (once per cache) and loaded once for the module."""
    return TransformersGenerator.load("fast", GenerateSettings(threads=2))


def test_it_is_a_generator_with_its_capabilities(fast: TransformersGenerator) -> None:
    assert isinstance(fast, Generator) and fast.runtime == "transformers"
    assert not fast.capabilities.checks_answers  # the 0.5B said no to its own correct answers


def test_generate_answers_from_sources(fast: TransformersGenerator) -> None:
    answer = fast.generate(FREEDONIA, max_new_tokens=40)
    assert "Zalmo" in answer
    assert answer == answer.strip()


def test_stream_joins_to_generate_output(fast: TransformersGenerator) -> None:
    messages = [{"role": "user", "content": "Write three short lines about rain, each starting with '- '."}]
    expected = fast.generate(messages, max_new_tokens=48)
    pieces = list(fast.stream(messages, max_new_tokens=48))
    assert len(pieces) > 3
    assert "".join(pieces) == expected


def test_closing_stream_stops_generation(fast: TransformersGenerator, monkeypatch: pytest.MonkeyPatch) -> None:
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


def test_token_counts(fast: TransformersGenerator) -> None:
    assert fast.count_tokens("") == 0
    assert 0 < fast.count_tokens("The capital of Freedonia is Zalmo.") < 20
    assert fast.count_chat_tokens(FREEDONIA) > fast.count_tokens(FREEDONIA[1]["content"])
    assert fast.context_window == 4096


def test_overlong_prompt_is_refused(fast: TransformersGenerator) -> None:
    small = TransformersGenerator(fast.name, fast.model, fast.tokenizer, GenerateSettings(context_tokens=10))
    with pytest.raises(QuestionError, match="context_tokens"):
        small.generate(FREEDONIA)
