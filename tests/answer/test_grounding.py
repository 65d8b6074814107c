"""Grounding reply parts in the seed passages: verbatim quotes, repaired citations, bare yes/no."""

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


def test_a_part_citing_the_wrong_source_is_recited_to_the_one_holding_it(bank_passages, seed_rag) -> None:
    n = _bank(bank_passages)
    wrong = next(i for i, p in enumerate(bank_passages) if p.article_id != bank_passages[n].article_id)
    g = ground(Part("$135 billion", (wrong,)), BANK_Q, bank_passages, seed_rag.embedder.encode)
    assert g.repaired and bank_passages[g.passage].article_id == bank_passages[n].article_id


def test_words_no_source_holds_get_a_low_coverage(bank_passages, seed_rag) -> None:
    g = ground(Part("about 900 submarines from Norway", (0,)), BANK_Q, bank_passages, seed_rag.embedder.encode)
    assert not g.verbatim and g.coverage < 0.5


def test_a_bare_yes_is_grounded_in_the_sentence_closest_to_the_question(seed_rag) -> None:
    question = "Is the DSRB expected to be spearheaded by British officials?"
    passages = seed_rag.search(question, k=4)
    g = ground(Part("Yes", (0,)), question, passages, seed_rag.embedder.encode)
    quote = seed_rag.article(passages[g.passage].article_id).text[g.quote[0]:g.quote[1]]
    assert "British" in quote


def test_content_words_leave_out_reporting_verbs_and_question_words() -> None:
    assert content_words("Where would the bank raise money, according to the report?") == {"bank", "rais", "money"}
