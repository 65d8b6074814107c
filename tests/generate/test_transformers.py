"""Generation with the real 0.5B model on the transformers runtime: answers, streaming, stopping, limits."""

from __future__ import annotations

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


@pytest.fixture
def fed(fast: TransformersGenerator, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of tokens fed to the model at each forward pass, recorded while the test runs."""
    lengths: list[int] = []
    forward = fast.model.forward

    def counting(*args: object, **kwargs: object) -> object:
        lengths.append(int(kwargs["input_ids"].shape[1]))
        return forward(*args, **kwargs)
    monkeypatch.setattr(fast.model, "forward", counting)
    return lengths


def test_closing_stream_stops_generation(fast: TransformersGenerator, fed: list[int]) -> None:
    messages = [{"role": "user", "content": "Count from 1 to 500, separated by commas."}]
    stream = fast.stream(messages, max_new_tokens=400)
    next(stream)
    stream.close()
    assert 1 <= len(fed) <= 3  # stopped right after the consumer left, far below 400 steps


def test_a_repeated_prompt_is_prefilled_only_past_what_is_cached(fast: TransformersGenerator, fed: list[int]) -> None:
    messages = [{"role": "system", "content": "You answer in one word."},
                {"role": "user", "content": "Sources:\n[1] The capital of Freedonia is Zalmo.\n\nQuestion: What is "
                                            "the capital of Freedonia?"},
                {"role": "assistant", "content": "Answer:"}]
    total = fast.count_chat_tokens(messages)
    first = fast.choice_logprobs(messages, (" Z", " not"))
    assert first[" Z"] > first[" not"] and fed[-1] < total  # the system message came from the prefix cache
    fed.clear()
    reply = fast.generate(messages, max_new_tokens=5)
    assert "Zalmo" in reply and fed[0] == 1  # the whole prompt was cached by choice_logprobs


def test_a_reply_can_be_kept_from_starting_with_a_word(fast: TransformersGenerator) -> None:
    messages = [{"role": "user", "content": "Is water wet? Reply Yes or No."}]
    assert "".join(fast.stream(messages, 3, avoid=("Yes",))).split()[0] != "Yes"


def test_prompt_lookup_keeps_the_greedy_output(fast: TransformersGenerator) -> None:
    from dataclasses import replace

    messages = [{"role": "user", "content": "Repeat exactly: The quick brown fox jumps over the lazy dog near "
                                            "the river bank every morning."}]
    plain = TransformersGenerator(fast.name, fast.model, fast.tokenizer, replace(fast.settings, lookup_tokens=0))
    assert plain.generate(messages, max_new_tokens=30) == fast.generate(messages, max_new_tokens=30)
    assert fast.last_logprobs and all(lp <= 0 for lp in fast.last_logprobs)


def test_token_counts(fast: TransformersGenerator) -> None:
    assert fast.count_tokens("") == 0
    assert 0 < fast.count_tokens("The capital of Freedonia is Zalmo.") < 20
    assert fast.count_chat_tokens(FREEDONIA) > fast.count_tokens(FREEDONIA[1]["content"])
    assert fast.context_window == 4096


def test_overlong_prompt_is_refused(fast: TransformersGenerator) -> None:
    small = TransformersGenerator(fast.name, fast.model, fast.tokenizer, GenerateSettings(context_tokens=10))
    with pytest.raises(QuestionError, match="context_tokens"):
        small.generate(FREEDONIA)
