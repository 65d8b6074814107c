"""The checks on an answer: the kind of answer a question asks for, refusals, yes/no questions."""

from __future__ import annotations

import pytest

from rag.answer.checks import asked_for, gives, is_polar, is_refusal, short_answer


@pytest.mark.parametrize("question, kind", [
    ("How much does the DSRB aim to fundraise?", "number"), ("When was the strategy published?", "date"),
    ("Who runs the GORKI think tank?", "name"), ("Where might the DSRB be headquartered?", "place"),
    ("Why did Kneissl leave Austria?", None), ("Which country is the main adversary?", None),
])
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    assert asked_for(question) == kind


def test_an_answer_gives_what_was_asked_only_if_the_quote_has_it() -> None:
    quote = "The bank hopes to raise as much as $135 billion."
    question = "How much does the bank hope to raise?"
    assert gives("number", question, "$135 billion [1].", quote)
    assert not gives("number", question, "A lot of money [1].", quote)
    assert gives("name", "Who spoke?", "Kallas [1].", "Kallas said so.")


def test_a_name_may_come_from_the_passage_when_the_quote_says_she() -> None:
    assert gives("name", "Who warned of chaos?", "Kaja Kallas [1].", "“It would be chaos,” she added.",
                 "Kaja Kallas spoke in Brussels. “It would be chaos,” she added.")


def test_yes_no_questions_and_their_short_answers() -> None:
    assert is_polar("Did al-Sharaa accept the invitation?") and not is_polar("Who accepted the invitation?")
    assert short_answer("Did he accept?", "No, he declined [1].") == "no"
    assert short_answer("Did he accept?", "He declined [1].") is None
    assert short_answer("Who accepted?", "Yes [1].") is None


@pytest.mark.parametrize("question, text, short", [
    ("Which company, reported by The Verge, paid to be the default?", "Google paid billions to Apple [1]", "Google"),
    ("Who is the individual on trial, per TechCrunch?", "FTX founder Sam Bankman-Fried faces trial [2]",
     "Sam Bankman-Fried"),  # the longest name the question does not already give
    ("When did the strategy come out?", "It was published in January 2026 [1]", "January 2026"),
    ("How many troops were sent?", "about 3,000 troops [2]", "3,000"),
    ("Who spoke?", "the minister spoke [1]", None),  # no name in the answer: the caller keeps its words
    ("What did he say?", "rates will rise [1]", None),  # nothing in particular asked for
])
def test_short_answers_are_what_the_question_asks_for(question: str, text: str, short: str | None) -> None:
    assert short_answer(question, text) == short


def test_refusals_in_the_models_words() -> None:
    assert is_refusal("The sources do not mention his age.") and not is_refusal("Pierre Gramegna [1]")
