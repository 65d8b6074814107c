"""Grounding reply parts in the seed passages: the answer held to its quote's words, repaired citations, bare
yes/no, and what is not grounded (invented numbers, the question restated)."""

from __future__ import annotations

import pytest

from rag.answer.grounding import content_words, ground
from rag.answer.markers import Part

BANK_Q = "How much does the planned defense bank hope to raise?"


@pytest.fixture(scope="module")
def bank_passages(seed_rag):  # noqa: ANN201
    return seed_rag.search(BANK_Q, k=4)


def _bank(passages) -> int:  # noqa: ANN001
    return next(n for n, p in enumerate(passages) if "$135 billion" in p.text)


def test_a_verbatim_answer_is_quoted_with_exact_offsets(bank_passages, seed_rag) -> None:
    n = _bank(bank_passages)
    g = ground(Part("as much as $135 billion", (n,)), BANK_Q, bank_passages, seed_rag.embedder.encode)
    assert g.verbatim and g.coverage == 1.0 and g.passage == n and not g.repaired
    text = seed_rag.article(bank_passages[n].article_id).text
    assert "$135 billion" in text[g.quote[0]:g.quote[1]]
    assert text[g.span[0]:g.span[1]] == "as much as $135 billion" and g.quote[0] <= g.span[0] < g.span[1] <= g.quote[1]


def test_a_part_citing_the_wrong_source_is_recited_to_the_one_holding_it(bank_passages, seed_rag) -> None:
    n = _bank(bank_passages)
    wrong = next(i for i, p in enumerate(bank_passages) if p.article_id != bank_passages[n].article_id)
    g = ground(Part("$135 billion", (wrong,)), BANK_Q, bank_passages, seed_rag.embedder.encode)
    assert g.repaired and bank_passages[g.passage].article_id == bank_passages[n].article_id


def _answer_words(g, passages, seed_rag) -> str:  # noqa: ANN001
    return seed_rag.article(passages[g.passage].article_id).text[g.span[0]:g.span[1]]


@pytest.mark.parametrize("words", ["about 900 submarines from Norway", "2026-03 or 2026-04", "135 million"])
def test_numbers_and_names_no_sentence_holds_are_not_grounded(bank_passages, seed_rag, words: str) -> None:
    g = ground(Part(words, (0,)), BANK_Q, bank_passages, seed_rag.embedder.encode, min_coverage=0.0)
    assert g.passage is None and g.quote is None and g.span is None


def test_the_question_restated_as_its_answer_is_not_grounded(bank_passages, seed_rag) -> None:
    g = ground(Part("the planned defense bank hopes to raise", (0,)), BANK_Q, bank_passages,
               seed_rag.embedder.encode, min_coverage=0.0)
    assert g.passage is None and g.new_words == 0


def test_a_paraphrase_becomes_the_quotes_own_words_when_it_holds_enough_of_them(bank_passages, seed_rag) -> None:
    part = Part("it hopes to raise as much as 135 billion dollars", (0,))
    g = ground(part, BANK_Q, bank_passages, seed_rag.embedder.encode, min_coverage=0.5)
    assert not g.verbatim and 0.5 <= g.coverage < 1
    words = _answer_words(g, bank_passages, seed_rag)
    quote = seed_rag.article(bank_passages[g.passage].article_id).text[g.quote[0]:g.quote[1]]
    assert words == "$135 billion" and words in quote  # the source's words, the currency kept
    assert ground(part, BANK_Q, bank_passages, seed_rag.embedder.encode, min_coverage=1.0).passage is None


def test_a_bare_yes_is_grounded_in_the_sentence_closest_to_the_question(seed_rag) -> None:
    question = "Is the DSRB expected to be spearheaded by British officials?"
    passages = seed_rag.search(question, k=4)
    g = ground(Part("Yes", (0,)), question, passages, seed_rag.embedder.encode)
    quote = seed_rag.article(passages[g.passage].article_id).text[g.quote[0]:g.quote[1]]
    assert "British" in quote


def test_content_words_leave_out_reporting_verbs_and_question_words() -> None:
    assert content_words("Where would the bank raise money, according to the report?") == {"bank", "rais", "money"}


def test_the_answer_span_is_the_shortest_run_holding_each_word() -> None:
    from rag.retrieve import Passage

    text = "Smith scored twice. Jones, who joined Leeds in 2019 from Hull for 5,000 pounds, scored once."
    passage = Passage(text, "a", "t", None, "s", None, "a#0", 0, len(text), 1.0, None, None, None, None)
    g = ground(Part("Leeds signed him for 5000 pounds from Hull", (0,)), "Who joined Leeds?", [passage],
               lambda texts: __import__("numpy").ones((len(texts), 2)), min_coverage=0.5)
    assert text[g.span[0]:g.span[1]] == "Hull for 5,000 pounds" and g.coverage == 0.75  # "signed" is not in it
