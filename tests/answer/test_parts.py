"""Multi-article questions (rag.answer.parts): split by outlet, each part from its own article, combined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import RAG, Settings
from rag.answer.parts import asks_yes_no, date_order, mentions_any, order_split, part_names, unknown_outlets
from rag.retrieve.news import Catalog
from tests.scripted import ScriptedGenerator

ARTICLES = [
    {"title": "Harbour bridge opens after six years of work", "source": "Daily Planet",
     "published_at": "2023-10-02T09:00:00+00:00",
     "body": "The Harbour Bridge opened to traffic on Monday after six years of construction. Engineer Lena Ortiz "
             "said the steel deck was finished in August. Heavy rain delayed the ceremony by an hour."},
    {"title": "Mayor Quill resigns over budget dispute", "source": "Gotham Gazette",
     "published_at": "2023-11-15T12:00:00+00:00",
     "body": "Mayor Edwin Quill resigned on Tuesday after the council rejected his budget. Quill said the city "
             "needed new leadership. Rain fell on the crowd outside City Hall as he spoke."},
    {"title": "Stadium plans approved by the council", "source": "Gotham Gazette",
     "published_at": "2023-09-20T08:00:00+00:00",
     "body": "The council approved plans for a new stadium by the river. The stadium will seat 40,000 fans and "
             "open in 2026, councillor Mara Venn said."},
    {"title": "Ferry service cut as fuel costs climb", "source": "Daily Planet",
     "published_at": "2023-12-01T07:30:00+00:00",
     "body": "The island ferry will run twice a day instead of four times from January, operator Tidewater "
             "said, blaming fuel costs. Commuters said the cut would lengthen their journeys."},
]
ORDER_Q = ("Did the Daily Planet report on the Harbour Bridge opening before the Gotham Gazette reported on "
           "Mayor Quill resigning?")
BOTH_Q = ("Did the Daily Planet article on the Harbour Bridge opening and the Gotham Gazette article on Mayor "
          "Quill resigning both mention rain?")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("news")
    (folder / "news.json").write_text(json.dumps(ARTICLES), encoding="utf-8")
    return folder


def _rag(corpus: Path, tmp_path: Path, *replies: str, **settings: object) -> tuple[RAG, ScriptedGenerator]:
    generator = ScriptedGenerator(*replies)
    chosen = Settings().replace(**{f"answer.{k}": v for k, v in settings.items()})
    return RAG.open(corpus, index_dir=tmp_path, settings=chosen, generator=generator), generator


def _catalog() -> Catalog:
    ids = [a["title"] for a in ARTICLES]
    return Catalog(ids, {a["title"]: a["source"] for a in ARTICLES},
                   {a["title"]: a["published_at"][:10] for a in ARTICLES})


def test_outlets_the_index_has_nothing_from_are_found() -> None:
    catalog = _catalog()
    assert unknown_outlets("Considering a Bloomberg article and a report by The Wall Street Journal on X, "
                           "who is it?", catalog) == ["Bloomberg", "Wall Street Journal"]
    assert unknown_outlets("Considering an article in the Daily Planet and another in The Hindu, who?",
                           catalog) == ["Hindu"]
    assert unknown_outlets("What does the Daily Planet article say about the bridge?", catalog) == []
    assert unknown_outlets("What does the ESM report say about debt?", catalog) == []  # a report, not an outlet
    assert unknown_outlets("What does a Bloomberg article say?", Catalog([], {}, {})) == []  # no outlets known


def test_a_parts_names_and_whether_an_article_mentions_them() -> None:
    catalog = _catalog()
    assert part_names("Did the Daily Planet article on Lena Ortiz's bridge mention October rain", catalog) \
        == ("Lena Ortiz's",)
    assert mentions_any(("Lena Ortiz's",), "Engineer Lena Ortiz said")
    assert not mentions_any(("Zorblax Quenton",), "Engineer Lena Ortiz said")
    assert mentions_any((), "anything")


def test_order_is_computed_from_publication_dates() -> None:
    catalog = _catalog()
    word, first, second = order_split(ORDER_Q, catalog.parse(ORDER_Q).parts, catalog)
    assert word == "before" and "Harbour Bridge" in first and "Mayor Quill" in second
    assert date_order("before", "2023-10-02", "2023-11-15") == "yes"
    assert date_order("after", "2023-10-02", "2023-11-15") == "no"
    assert date_order("before", "2023-10-02", "2023-10-02") is None  # the same day: the index cannot tell
    assert order_split("After the Daily Planet report, was the Gotham Gazette consistent?",
                       catalog.parse("After the Daily Planet report, was the Gotham Gazette consistent?").parts,
                       catalog) is None  # "after" before the first outlet frames the question


def test_an_order_question_is_answered_from_dates_citing_both_articles_without_the_model(
        corpus: Path, tmp_path: Path) -> None:
    rag, generator = _rag(corpus, tmp_path)
    answer = rag.ask(ORDER_Q)
    assert answer.answerable and answer.short == "yes" and answer.text.startswith("Yes.")
    assert {c.title for c in answer.citations} == {ARTICLES[0]["title"], ARTICLES[1]["title"]}
    assert answer.signals["computed_order"] == 1.0 and generator.calls == []
    for c in answer.citations:
        assert rag.article(c.article_id).text[c.quote_start:c.quote_end] == c.quote


def test_a_comparison_is_decided_by_one_prefill_over_each_parts_own_article(corpus: Path, tmp_path: Path) -> None:
    rag, generator = _rag(corpus, tmp_path)
    answer = rag.ask(BOTH_Q)
    assert answer.answerable and answer.short == "yes" and len(answer.citations) == 2
    assert [c.title for c in answer.citations] == [ARTICLES[0]["title"], ARTICLES[1]["title"]]
    assert len(generator.calls) == 1 and generator.avoided == []  # P(Yes) only: nothing generated
    prompt = generator.calls[0][1]["content"]
    assert "[1] Harbour bridge" in prompt and "[2] Mayor Quill" in prompt and "Start the answer with Yes" in prompt
    assert answer.signals["p_yes_parts"] == pytest.approx(0.9) and answer.signals["prompt_tokens"] > 0
    rag, _ = _rag(corpus, tmp_path, multi_yes_above=0.95)
    assert rag.ask(BOTH_Q).short == "no"


@pytest.mark.parametrize("question, reason", [
    ("Did the Daily Planet article on Zorblax Quenton and the Gotham Gazette article on Mayor Quill both "
     "mention rain?", "mentions Zorblax Quenton"),
    ("Did a Bloomberg article and the Gotham Gazette article on Mayor Quill both mention rain?", "Bloomberg"),
])
def test_a_part_without_a_supporting_article_is_insufficient(corpus: Path, tmp_path: Path, question: str,
                                                             reason: str) -> None:
    rag, generator = _rag(corpus, tmp_path)
    answer = rag.ask(question)
    assert not answer.answerable and answer.short is None and reason in answer.reason and generator.calls == []


def test_a_single_article_question_keeps_its_prompt(corpus: Path, tmp_path: Path) -> None:
    question = "When did the Harbour Bridge open to traffic?"
    prompts = []
    for on in (True, False):
        rag, generator = _rag(corpus, tmp_path, " on Monday [1]", multi_part=on)
        answer = rag.ask(question)
        prompts.append(generator.calls)
        assert answer.answerable and "parts" not in answer.signals
    assert prompts[0] == prompts[1]


def test_with_the_real_model_each_part_is_cited_and_the_answer_is_yes_or_no(fast_rag, corpus: Path,  # noqa: ANN001
                                                                             tmp_path: Path) -> None:
    rag = RAG.open(corpus, index_dir=tmp_path, settings=fast_rag.settings, generator=fast_rag.generator)
    answer = rag.ask(BOTH_Q)
    assert answer.answerable and answer.short in ("yes", "no")
    assert {c.title for c in answer.citations} == {ARTICLES[0]["title"], ARTICLES[1]["title"]}
    assert rag.ask(ORDER_Q).short == "yes"


@pytest.mark.parametrize("question, polar", [
    ("Between the Daily Planet report on October 2, 2023, and the Gotham Gazette report, was there consistency?",
     True),
    ("After the Daily Planet report, did the Gotham Gazette show agreement?", True),
    ("Did the Daily Planet say so?", True),
    ("Considering the Daily Planet article, which bridge opened, was it new?", False),
    ("Who, according to the Daily Planet and the Gotham Gazette, resigned?", False),
])
def test_yes_no_questions_may_open_with_a_framing_clause(question: str, polar: bool) -> None:
    assert asks_yes_no(question) is polar


def test_a_question_naming_an_outlet_needs_the_outlet_confidence(corpus: Path, tmp_path: Path) -> None:
    question = "When did the Harbour Bridge open, according to the Daily Planet?"
    rag, _ = _rag(corpus, tmp_path, " on Monday [1]", outlet_min_confidence=0.99)
    answer = rag.ask(question)
    assert not answer.answerable and "below 0.99" in answer.reason
    rag, _ = _rag(corpus, tmp_path, " on Monday [1]", outlet_min_confidence=0.0)
    assert rag.ask(question).answerable


def test_an_answer_to_a_question_naming_two_reports_must_be_in_both_articles(corpus: Path, tmp_path: Path) -> None:
    """"Which ..., according to the Daily Planet and the Gotham Gazette, ...?": the entity both reports name."""
    question = ("Which weather, reported by the Daily Planet on the Harbour Bridge opening and by the Gotham "
                "Gazette on Mayor Quill resigning, affected the events?")
    rag, _ = _rag(corpus, tmp_path, " Heavy rain [1]", min_confidence=0.0, outlet_min_confidence=0.0)
    draft = rag.answerer.draft(rag.flow.read(question), rag.search(question, k=4))
    n = next(i for i, p in enumerate(draft.used, 1) if p.title == ARTICLES[0]["title"])
    rag, _ = _rag(corpus, tmp_path, f" Heavy rain [{n}]", min_confidence=0.0, outlet_min_confidence=0.0)
    answer = rag.ask(question)  # "Heavy rain" is in the bridge article only; "rain" is in both
    assert not answer.answerable and "article of every report" in answer.reason
    assert answer.signals["answer_in_parts"] == 0.5
    rag, _ = _rag(corpus, tmp_path, f" Heavy rain [{n}]", min_confidence=0.0, outlet_min_confidence=0.0,
                  parts_hold_answer=False)
    assert rag.ask(question).answerable
