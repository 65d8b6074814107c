"""Grounding crafted model outputs: citation mapping and repair, quotes, support, prompt budget."""

from __future__ import annotations

import pytest

from rag.answer.checks import asked_for, gives, support_score
from rag.answer.confirm import confirmation, unconfirmed
from rag.answer.grounding import Grounder
from rag.answer.prompt import INSTRUCTIONS, SYSTEM, build_messages, focus, in_words
from rag.config import AnswerSettings

BANK_Q = "How much does the planned defense bank hope to raise?"


@pytest.fixture(scope="module")
def grounder(seed_rag) -> Grounder:
    return Grounder(AnswerSettings(), seed_rag.embedder.encode, lambda i: seed_rag.article(i).text)


@pytest.fixture(scope="module")
def bank_passages(seed_rag):  # noqa: ANN201
    return seed_rag.search(BANK_Q, k=5)


def _bank_number(passages) -> int:  # noqa: ANN001
    return next(n for n, p in enumerate(passages, 1) if "$135 billion" in p.text)


def test_a_cited_number_maps_to_its_article_with_an_exact_quote(grounder, bank_passages, seed_rag) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"The bank aims to raise as much as $135 billion [{n}].", bank_passages)
    assert answer.answerable and answer.text == "The bank aims to raise as much as $135 billion [1]."
    (citation,) = answer.citations
    assert citation.article_id == "member-states-are-seeking-to-use-the-structure"
    assert "$135 billion" in citation.quote
    article = seed_rag.article(citation.article_id).text
    assert article[citation.quote_start:citation.quote_end] == citation.quote
    assert citation.passage == bank_passages[n - 1].text and citation.support >= 0.5


def test_a_wrong_or_missing_marker_is_repaired_to_the_supporting_passage(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    bank = bank_passages[n - 1].article_id
    wrong = next(i for i in range(1, 6) if i != n and bank_passages[i - 1].article_id != bank)
    for raw in (f"The bank aims to raise as much as $135 billion [{wrong}].",
                "The bank aims to raise as much as $135 billion.",
                "The bank aims to raise as much as $135 billion [9].",
                f"[{n}] The bank aims to raise as much as $135 billion."):
        answer = grounder.ground(BANK_Q, raw, bank_passages)
        assert answer.answerable, raw
        assert [c.article_id for c in answer.citations] == ["member-states-are-seeking-to-use-the-structure"], raw
        assert "[9]" not in answer.text and answer.text.endswith("[1].")


def test_markers_after_the_full_stop_and_according_to_are_tidied(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"According to [{n}], the bank aims to raise as much as $135 billion. [{n}]",
                             bank_passages)
    assert answer.text == "the bank aims to raise as much as $135 billion [1]."


def test_an_unsupported_number_is_not_presented(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"The bank aims to raise $950 billion [{n}].", bank_passages)
    assert not answer.answerable and answer.text.startswith("The articles don't say")
    assert not answer.citations and answer.related
    assert answer.reason == "the answer's main claim is not supported by the sources"


def test_an_answer_without_the_number_asked_for_is_withheld(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"The bank would use private funding, lending and bond mechanics [{n}].",
                             bank_passages)
    assert not answer.answerable and not answer.citations
    assert answer.reason == "the answer gives no number from the sources, and the question asks for one"


@pytest.mark.parametrize(("question", "kind"), [
    (BANK_Q, "number"), ("How old is Kaja Kallas?", "number"), ("What interest rate do states pay?", "number"),
    ("When will the review be published?", "date"), ("In what year was New START signed?", "date"),
    ("Who proposed the bank?", "name"), ("What are the names of the bases?", "name"),
    ("Which EU official called the army unworkable?", "name"), ("Which French president spoke?", "name"),
    ("Where might the DSRB be headquartered?", "place"), ("Why did Kneissl leave Austria?", None),
    ("Which country is the main adversary?", None),
])
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    assert asked_for(question) == kind


def test_an_answer_gives_what_was_asked_only_if_the_quote_has_it() -> None:
    quote = "Finland's Nokia said on Monday that Justin Hotard will lead its 14,000 engineers from March."
    assert gives("number", "How many engineers?", "It has 14,000 engineers.", quote)
    assert not gives("number", "How many engineers?", "It has 15,000 engineers.", quote)
    assert not gives("number", "How many of its 14,000 engineers moved?", "All 14,000 engineers.", quote)
    assert gives("date", "When will he start?", "He starts in March.", quote)
    assert not gives("date", "When will he start?", "He starts soon.", quote)
    assert gives("name", "Who will lead the engineers?", "According to Nokia, Justin Hotard [1].", quote)
    assert not gives("name", "Who leads Nokia?", "The company's new chief executive.", quote)


def test_a_name_can_come_from_the_passage_when_the_quote_says_she() -> None:
    passage = "Kallas told reporters in Brussels. “The orders might fall between the chairs,” she added."
    quote = "“The orders might fall between the chairs,” she added."
    question = "Who warned that the orders might fall between the chairs?"
    assert gives("name", question, "Kaja Kallas warned that [1].", quote, passage)
    assert not gives("name", question, "Kaja Kallas warned that [1].", "The orders might fall between the chairs.",
                     passage)


@pytest.mark.parametrize("raw, asks", [("[2] and [3]", True), ("[1], [2].", True), ("Ottawa and Toronto [2].", False),
                                       ("[2] and [3] are being considered as locations.", True),
                                       ("[2] The head of the ESM has said so.", False),
                                       ("It is 5% [1].", False), ("", False)])
def test_an_answer_of_source_numbers_only_is_asked_again_in_words(raw: str, asks: bool) -> None:
    messages = [{"role": "user", "content": "Which cities?"}]
    again = in_words(messages, raw)
    assert (again is not None) is asks
    if asks:
        assert again[:1] == messages and again[1] == {"role": "assistant", "content": raw}
        assert again[2]["role"] == "user" and "in words" in again[2]["content"]


def test_the_model_saying_the_sources_lack_it_is_an_abstention(grounder, bank_passages) -> None:
    answer = grounder.ground("Where is the moon base?", "The sources do not mention a moon base.", bank_passages)
    assert not answer.answerable and not answer.citations
    assert {p.article_id for p in answer.related} <= {p.article_id for p in bank_passages}


def test_a_repeated_sentence_is_kept_once(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"It aims to raise $135 billion [{n}]. " * 3, bank_passages)
    assert answer.answerable and answer.text == "It aims to raise $135 billion [1]."


def test_a_sentence_joining_facts_of_two_articles_cites_each(grounder, seed_rag) -> None:
    question = "Who is the director of the ESM, and how much does the DSRB aim to fundraise?"
    passages = seed_rag.search(question, k=5)
    answer = grounder.ground(question, "The ESM's director is Pierre Gramegna, and the DSRB aims to fundraise "
                                       "as much as $135 billion [1].", passages)
    assert answer.answerable and all(s.supported for s in answer.sentences)
    assert answer.text == ("The ESM's director is Pierre Gramegna [1], and the DSRB aims to fundraise as much as "
                           "$135 billion [2].")
    assert [c.article_id for c in answer.citations] == ["the-bloc-isnt-using-the-full-potential-of",
                                                       "member-states-are-seeking-to-use-the-structure"]


def test_a_marker_cites_the_article_so_the_quote_may_come_from_its_next_passage(grounder, seed_rag) -> None:
    question = ("Why does the new Pentagon strategy discard the doctrines of a rules-based world order and "
                "nation-building through regime change?")
    passages = seed_rag.search(question, k=4)
    article = "america-narrows-its-focus-and-sharpens-its-claws"
    first = next(n for n, p in enumerate(passages, 1) if p.article_id == article)
    assert "exhausting wars" not in passages[first - 1].text  # the reason is in another passage of the article
    answer = grounder.ground(question, f"According to [{first}], it discards them because they are treated as "
                                       "failures that led to endless, exhausting wars such as Afghanistan.", passages)
    assert answer.answerable and [c.article_id for c in answer.citations] == [article]
    assert "endless, exhausting wars" in answer.citations[0].quote


def test_a_sentence_adding_a_fact_with_and_also_cites_each_article(grounder, seed_rag) -> None:
    question = ("Which Kremlin spokesman asked “How can you discuss anything with Kaja Kallas?” and also questioned "
                "whether Kiev plans to attack the Zaporozhye nuclear plant?")
    passages = seed_rag.search(question, k=4)
    answer = grounder.ground(question, "According to [1], Dmitry Peskov asked \"How can you discuss anything with Kaja "
                                       "Kallas?\" and also questioned whether Kiev plans to attack the Zaporozhye "
                                       "nuclear plant.", passages)
    assert answer.answerable and len(answer.sentences) == 2 and all(s.supported for s in answer.sentences)
    assert {c.article_id for c in answer.citations} == {"the-top-eu-diplomat-has-said-brussels-has",
                                                        "the-ukrainian-leader-has-vowed-not-to-give"}


def test_the_second_look_shows_each_supported_sentence_with_its_quote(grounder, seed_rag, bank_passages) -> None:
    n = _bank_number(bank_passages)
    one = grounder.ground(BANK_Q, f"The bank aims to raise as much as $135 billion [{n}].", bank_passages)
    system, user = confirmation(one)
    assert system["role"] == "system" and user["content"].startswith("Source (from the article ")
    assert f"{one.citations[0].quote}\n\nQuestion: {BANK_Q}\n" in user["content"]
    assert "Proposed answer: The bank aims to raise as much as $135 billion.\n" in user["content"]
    assert user["content"].endswith("Does the source state this answer to the question? Reply with yes or no.")
    question = "Who is the director of the ESM, and how much does the DSRB aim to fundraise?"
    two = grounder.ground(question, "The ESM's director is Pierre Gramegna, and the DSRB aims to fundraise as much "
                                    "as $135 billion [1].", seed_rag.search(question, k=5))
    user = confirmation(two)[1]["content"]
    assert "Source 1 (from the article " in user and "Source 2 (from the article " in user
    assert all(c.quote in user for c in two.citations) and "Do the sources state this answer" in user
    assert "Proposed answer: The ESM's director is Pierre Gramegna, and the DSRB aims" in user


def test_a_no_on_the_second_look_withholds_the_answer(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"The bank aims to raise as much as $135 billion [{n}].", bank_passages)
    assert unconfirmed(answer, "Yes.") is answer and unconfirmed(answer, "yes") is answer
    no = unconfirmed(answer, "No.")
    assert not no.answerable and not no.citations and no.related and "asked to check" in no.reason
    assert confirmation(no) is None


def test_a_second_unsupported_sentence_is_marked(grounder, bank_passages) -> None:
    n = _bank_number(bank_passages)
    answer = grounder.ground(BANK_Q, f"The bank aims to raise as much as $135 billion [{n}]. "
                             f"Its first chairman is Olaf Quantock, a former banker from Oslo [{n}].", bank_passages)
    assert answer.answerable
    assert [s.supported for s in answer.sentences] == [True, False]
    assert "(unsupported)" in answer.text


def test_support_score_rewards_new_words_and_numbers_found_in_the_quote() -> None:
    quote = "The report said the project aims to fundraise as much as $135 billion."
    assert support_score(BANK_Q, "The planned defense bank hopes to raise.", quote, 0.9) == 0.0  # an echo
    assert support_score(BANK_Q, "According to the report, the planned bank hopes to raise.", quote, 0.9) == 0.0
    where = "Where might the bank be headquartered?"
    assert support_score(where, "The bank would be headquartered in.", quote, 0.9) == 0.0
    good = support_score(BANK_Q, "It aims to raise as much as $135 billion.", quote, 0.6)
    bad_number = support_score(BANK_Q, "It aims to raise as much as $200 billion.", quote, 0.6)
    unrelated = support_score(BANK_Q, "Its chairman is Olaf Quantock.", quote, 0.1)
    assert good > 0.5 > unrelated and bad_number <= 0.2


def test_prompt_puts_sources_first_then_question_then_instructions(bank_passages) -> None:
    messages, used = build_messages(BANK_Q, bank_passages, lambda msgs: 100, budget=1000)
    assert used == bank_passages and messages[0] == {"role": "system", "content": SYSTEM}
    user = messages[1]["content"]
    assert user.index("[1] ") < user.index("[5] ") < user.index(f"Question: {BANK_Q}") < user.index(INSTRUCTIONS)
    assert bank_passages[4].text in user


def test_prompt_budget_drops_lowest_ranked_passages_whole(bank_passages, seed_rag) -> None:
    def count(messages) -> int:  # noqa: ANN001
        return len(messages[1]["content"]) // 4

    full = count(build_messages(BANK_Q, bank_passages, count, 10**6)[0])
    messages, used = build_messages(BANK_Q, bank_passages, count, budget=full - 10)
    assert used == bank_passages[: len(used)] and len(used) < len(bank_passages)
    assert all(p.text in messages[1]["content"] for p in used)
    assert bank_passages[len(used)].text not in messages[1]["content"]


def test_excerpts_keep_the_sentences_that_answer_and_mark_gaps(bank_passages, seed_rag) -> None:
    n = _bank_number(bank_passages)
    excerpts = focus(BANK_Q, bank_passages, seed_rag.embedder.encode, sentences=2)
    assert "$135 billion" in excerpts[n - 1]
    assert all(len(e) <= len(p.text) + 4 for e, p in zip(excerpts, bank_passages))
    assert sum(map(len, excerpts)) < 0.8 * sum(len(p.text) for p in bank_passages)
    for excerpt, passage in zip(excerpts, bank_passages):
        assert all(part.strip() in passage.text for part in excerpt.split("…") if part.strip())
    assert focus(BANK_Q, bank_passages, seed_rag.embedder.encode, sentences=0) == [p.text for p in bank_passages]
    messages, _ = build_messages(BANK_Q, bank_passages, lambda msgs: 100, 1000, excerpts)
    assert excerpts[n - 1] in messages[1]["content"] and bank_passages[n - 1].text not in messages[1]["content"]


def test_a_list_ending_in_and_is_one_claim_with_one_citation(grounder, seed_rag) -> None:
    # the DSRB sentence is in two overlapping chunks; "..., lending, and bond mechanics" is one fact
    question = "What is the DSRB?"
    passages = seed_rag.search(question, k=4)
    holding = [n for n, p in enumerate(passages, 1) if "bond mechanics" in p.text]
    assert len(holding) >= 2
    raw = ("The DSRB is a new bank designed to help countries reach the 5% threshold by counting paid-in capital "
           f"toward the target and by using private funding, lending, and bond mechanics. [{holding[-1]}]")
    answer = grounder.ground(question, raw, passages)
    assert answer.answerable and len(answer.citations) == 1 and len(answer.sentences) == 1
    assert answer.text.endswith("lending, and bond mechanics [1].")
    assert answer.citations[0].passage == passages[holding[0] - 1].text  # the first passage holding the quote
