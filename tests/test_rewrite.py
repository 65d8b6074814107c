"""Follow-up questions in a chat: detecting them and rewriting them into standalone questions."""

from __future__ import annotations

import pytest

from rag.rewrite import MAX_NEW_TOKENS, Turn, fallback, key_phrase, needs_rewrite, rewrite

DSRB = [Turn("What is the DSRB?", "The Defense, Security and Resilience Bank (DSRB) is a new bank [1].")]


class FakeGenerator:
    """Answers every prompt with one crafted reply and remembers what it was asked."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[list[dict[str, str]], int | None]] = []

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int | None = None) -> str:
        """The crafted reply."""
        self.calls.append((messages, max_new_tokens))
        return self.reply


@pytest.mark.parametrize("question, expected", [
    ("Where might it be headquartered?", True),
    ("What did their leaders say?", True),
    ("Why?", True),
    ("And Canada?", True),
    ("What about the bond issue?", True),
    ("How much money?", True),
    ("What is the DSRB?", False),  # short, but it names what it asks about
    ("Who is the managing director of the European Stability Mechanism?", False),
    ("Which countries are working to set up a new bank by 2027?", False),
])
def test_needs_rewrite(question: str, expected: bool) -> None:
    assert needs_rewrite(question, DSRB) is expected
    assert needs_rewrite(question, []) is False  # nothing to lean on


def test_a_good_rewrite_is_used_and_the_prompt_is_short() -> None:
    generator = FakeGenerator('Standalone: "Where might the DSRB be headquartered?"\nIt is in Ottawa.')
    assert rewrite("Where might it be headquartered?", DSRB, generator) == "Where might the DSRB be headquartered?"
    [(messages, max_new_tokens)] = generator.calls
    assert max_new_tokens == MAX_NEW_TOKENS
    prompt = messages[-1]["content"]
    assert prompt.endswith("Previous question: What is the DSRB?\nPrevious answer: The Defense, Security and "
                           "Resilience Bank (DSRB) is a new bank.\nFollow-up: Where might it be headquartered?\n"
                           "Standalone:")


@pytest.mark.parametrize("reply", [
    "The DSRB might be headquartered in Ottawa [1].",  # an answer, not a question
    "According to the sources, where is the DSRB?",  # answer-like start
    "Where might the DSRB [1] be headquartered?",  # citation marker
    "Where is the DSRB? Is it in Canada?",  # two questions
    "Where might it be headquartered?",  # echo: adds nothing from the conversation
    "What is the DSRB?",  # drops what the follow-up asks
    "What was Pierre Gramegna's role in the European Stability Mechanism?",  # drifts to the examples
    "Where " + "really " * 50 + "is the DSRB?",  # far too long
    "",
])
def test_a_bad_rewrite_falls_back(reply: str) -> None:
    assert rewrite("Where might it be headquartered?", DSRB, FakeGenerator(reply)) == \
        "Where might the DSRB be headquartered?"


def test_fallback_substitutes_the_subject_or_attaches_the_context() -> None:
    assert fallback("Who runs its board?", DSRB) == "Who runs the DSRB's board?"
    assert fallback("Why?", DSRB) == "Why? (context: What is the DSRB?)"
    assert fallback("When did he say that?", DSRB) == "When did he say that? (context: What is the DSRB?)"
    chained = [Turn("Why? (context: What is the DSRB?)", "Because.")]
    assert fallback("Where is it?", chained) == "Where is the DSRB?"
    assert key_phrase("Who leads the European Stability Mechanism?") == "the European Stability Mechanism"
    assert key_phrase("what is inflation?") == "inflation"
    assert key_phrase("how do rates work?") is None
