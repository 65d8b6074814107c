"""The answering stage with a scripted model over the seed index: grounding, each check, the policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG, Settings
from tests.conftest import SEEDS
from tests.scripted import ScriptedGenerator

BANK = "member-states-are-seeking-to-use-the-structure"
ESM = "the-bloc-isnt-using-the-full-potential-of"
BANK_Q = "How much does the DSRB aim to fundraise?"


def scripted(seed_index_dir: Path, *replies: str, answer: dict | None = None, **model: object
             ) -> tuple[RAG, ScriptedGenerator]:
    settings = Settings().replace(**{f"answer.{k}": v for k, v in (answer or {}).items()})
    generator = ScriptedGenerator(*replies, **model)
    return RAG.open(SEEDS, index_dir=seed_index_dir, settings=settings, generator=generator), generator


def _source(rag: RAG, question: str, article: str) -> int:
    """The [n] under which ``article`` is shown for ``question``."""
    draft = rag.answerer.draft(rag.flow.read(question), rag.search(question, k=rag.settings.answer.k))
    return next(n for n, p in enumerate(draft.used, 1) if p.article_id == article)


def test_a_verbatim_answer_is_cited_quoted_and_written_as_a_clean_sentence(seed_index_dir: Path) -> None:
    rag, _ = scripted(seed_index_dir, "placeholder")
    n = _source(rag, BANK_Q, BANK)
    rag, generator = scripted(seed_index_dir, f" as much as $135 billion [{n}]")
    answer = rag.ask(BANK_Q)
    assert answer.answerable and answer.text == "As much as $135 billion [1]."
    assert answer.short == "$135 billion" and len(answer.citations) == 1  # the amount a "how much" asks for
    citation = answer.citations[0]
    assert citation.article_id == BANK and "$135 billion" in citation.quote and citation.support == 1.0
    assert rag.article(BANK).text[citation.quote_start:citation.quote_end] == citation.quote
    assert generator.avoided == [(" not", " Yes", " No")]  # never a greedy "not stated", nor yes/no here
    assert answer.signals["p_not_stated"] == 0.01 and answer.signals["verbatim"] == 1.0
    assert {"prefill_s", "write_s", "first_token_s", "total_s"} <= set(answer.timings)


def test_a_wrong_source_number_is_repaired(seed_index_dir: Path) -> None:
    rag, _ = scripted(seed_index_dir, "x")
    draft = rag.answerer.draft(rag.flow.read(BANK_Q), rag.search(BANK_Q, k=4))
    other = next(n for n, p in enumerate(draft.used, 1) if p.article_id != BANK)
    rag, _ = scripted(seed_index_dir, f" $135 billion [{other}]")
    answer = rag.ask(BANK_Q)
    assert answer.answerable and answer.citations[0].article_id == BANK and answer.signals["repaired"] == 1.0


@pytest.mark.parametrize("reply, answer, model, reason", [
    (" not stated", {}, {}, "no answer in the sources"),
    (" The sources do not say how much [1]", {}, {}, "no answer in the sources"),
    (" $135 billion [1]", {"abstain_above": 0.4}, {"p_not_stated": 0.45}, "'not stated' a probability of 0.45"),
    (" 900 submarines from Norway [1]", {}, {}, "no source sentence holds the answer's words"),
    (" a great deal of money [1]", {}, {}, "no source sentence holds the answer's words"),
    (" the DSRB aims to fundraise [1]", {}, {}, "only restates the question"),
    (" $135 billion [1]", {"confirm_below": 0.5}, {"p_yes": 0.3}, "the quote does not give this answer"),
    (" $135 billion [1]", {"min_confidence": 0.99}, {}, "a confidence of"),
    (" $135 billion [1]", {}, {"p_not_stated": 0.9, "p_yes": 0.05}, "a confidence of"),
])
def test_each_check_can_withhold_the_answer(seed_index_dir: Path, reply: str, answer: dict, model: dict,
                                            reason: str) -> None:
    rag, _ = scripted(seed_index_dir, "x")
    n = _source(rag, BANK_Q, BANK)
    rag, _ = scripted(seed_index_dir, reply.replace("[1]", f"[{n}]"), answer=answer, **model)
    result = rag.ask(BANK_Q)
    assert not result.answerable and reason in result.reason
    assert result.text.startswith("The articles don't say") and result.related and not result.citations
    assert result.short is None


def test_a_model_that_cannot_check_answers_gets_no_second_look(seed_index_dir: Path) -> None:
    rag, _ = scripted(seed_index_dir, "x")
    n = _source(rag, BANK_Q, BANK)
    rag, generator = scripted(seed_index_dir, f" $135 billion [{n}]", checks_answers=False, p_yes=0.0,
                              answer={"min_confidence": 0.0})
    answer = rag.ask(BANK_Q)
    # the policy reads P(confirm) as missing (its dev mean): the answer is judged without it
    assert answer.answerable and "p_confirm" not in answer.signals and "confidence" in answer.signals
    assert len(generator.calls) == 2  # the "not stated" probability and the reply; no second look


def test_two_parts_from_two_articles_cite_each(seed_index_dir: Path) -> None:
    question = "Who is the director of the ESM, and how much does the DSRB aim to fundraise?"
    rag, _ = scripted(seed_index_dir, "x")
    esm, bank = _source(rag, question, ESM), _source(rag, question, BANK)
    rag, _ = scripted(seed_index_dir, f" Pierre Gramegna [{esm}] and $135 billion [{bank}]")
    answer = rag.ask(question)
    assert answer.answerable and answer.text == "Pierre Gramegna [1] and $135 billion [2]."
    assert [c.article_id for c in answer.citations] == [ESM, BANK]


def test_a_yes_no_answer_starts_with_the_word_the_model_finds_likelier_past_the_bias(seed_index_dir: Path) -> None:
    question = "Is the DSRB expected to be spearheaded by British officials?"
    rag, _ = scripted(seed_index_dir, "x")
    n = _source(rag, question, BANK)
    rag, generator = scripted(seed_index_dir, f" Yes, spearheaded by British officials [{n}]", p_yes=0.9)
    answer = rag.ask(question)
    # the words after "Yes" only restate the question: the answer is the bare word, held to the closest sentence
    assert answer.answerable and answer.short == "yes" and answer.text == "Yes [1]."
    assert "British officials" in answer.citations[0].quote
    assert generator.avoided == [(" not", " No")] and answer.signals["p_yes_first"] == 0.9
    rag, generator = scripted(seed_index_dir, f" No [{n}]", p_yes=0.7,  # below yes_above (0.76): No
                              answer={"min_confidence": 0.0})  # (its P(confirm) of 0.7 would not pass the policy)
    assert rag.ask(question).short == "no" and generator.avoided == [(" not", " Yes")]


def test_a_withheld_answer_shows_what_the_articles_do_say_apart_from_any_citation(seed_index_dir: Path) -> None:
    question = "How old is Kaja Kallas?"
    rag, _ = scripted(seed_index_dir, " 900 submarines [1]", answer={"closest": 2})
    answer = rag.ask(question)
    assert not answer.answerable and not answer.citations and len(answer.closest) == 2
    for c in answer.closest:  # exact sentences of their articles, with their offsets
        assert rag.article(c.article_id).text[c.quote_start:c.quote_end] == c.quote
    assert "Kallas" in answer.closest[0].quote
    assert len({(c.article_id, c.quote_start) for c in answer.closest}) == 2  # no sentence twice
    assert answer.to_dict()["closest"][0]["quote"] == answer.closest[0].quote


def test_every_answer_is_the_words_of_its_quotes(seed_index_dir: Path) -> None:
    """What the README promises: each part of an answer is found in a source sentence, which is its quote."""
    import re

    rag, _ = scripted(seed_index_dir, "x")
    n = _source(rag, BANK_Q, BANK)
    replies = [f" as much as $135 billion [{n}]", f" it would raise 135 billion dollars [{n}]",
               f" British officials would spearhead it [{n}]", f" $135bn [{n}]"]
    for reply in replies:
        rag, _ = scripted(seed_index_dir, reply, answer={"min_coverage": 0.5, "min_confidence": 0.0})
        answer = rag.ask(BANK_Q)
        if not answer.answerable:
            continue
        for sentence in answer.sentences:
            words = re.sub(r"\s*\[\d+\]$", "", sentence.text)
            quotes = [c.quote for c in answer.citations if c.number in sentence.citations]
            assert quotes and any(words in q for q in quotes), (reply, words, quotes)


class _Verifier:
    """Stands in for rag.answer.verifier.Verifier: records what it read, gives a fixed score."""

    def __init__(self, value: float) -> None:
        self.value, self.read = value, []

    def score(self, question: str, answer: str, quote: str) -> float:
        self.read.append((question, answer, quote))
        return self.value


@pytest.mark.parametrize("value, given", [(0.9, True), (0.1, False)])
def test_a_policy_that_reads_the_verifier_gets_its_score_of_the_answer_and_quote(
        seed_index_dir: Path, monkeypatch: pytest.MonkeyPatch, value: float, given: bool) -> None:
    from rag.answer import policy

    fitted = {"features": ["verifier"], "weights": [4.0], "bias": 0.0, "mean": [0.5], "scale": [0.1],
              "missing": [0.5], "threshold": 0.5}
    monkeypatch.setattr(policy, "fitted", lambda: fitted)
    rag, _ = scripted(seed_index_dir, "x")
    n = _source(rag, BANK_Q, BANK)
    rag, _ = scripted(seed_index_dir, f" as much as $135 billion [{n}]")
    rag.answerer.verifier = verifier = _Verifier(value)
    answer = rag.ask(BANK_Q)
    assert answer.signals["verifier"] == value and answer.answerable is given
    question, short, quote = verifier.read[0]
    assert question == BANK_Q and short == "$135 billion" and "$135 billion" in quote
