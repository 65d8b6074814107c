"""Retrieval on the seed corpus with the real embedder: ranking, fusion, filters, per-article cap."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from rag import Filters, Passage
from rag.evaluate.metrics import dedupe
from rag.retrieve import Retriever
from tests.conftest import ROOT


def _eval_questions() -> list[dict]:
    return [json.loads(line) for line in (ROOT / "eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()]


def test_passages_carry_text_metadata_and_both_ranks(seed_rag) -> None:
    passages = seed_rag.search("How much does the planned defense bank hope to raise?", k=5)
    assert len(passages) == 5 and all(isinstance(p, Passage) for p in passages)
    best = passages[0]
    assert best.article_id == "member-states-are-seeking-to-use-the-structure"
    assert "$135 billion" in " ".join(p.text for p in passages if p.article_id == best.article_id)
    assert best.title.startswith("Member states are seeking") and best.date == "2026-01"
    assert best.dense_rank and best.lexical_rank and best.dense_score > 0.3
    assert seed_rag.article(best.article_id).text[best.start:best.end] == best.text
    assert best.score == max(p.score for p in passages)  # later ranks also spread over articles


def test_a_rare_name_is_found_through_the_lexical_ranker(seed_rag) -> None:
    passages = seed_rag.search("Who runs the GORKI think tank?", k=3)
    assert "GORKI" in passages[0].text


def test_the_right_article_is_in_the_top_five_for_the_eval_questions(seed_rag) -> None:
    title_to_id = {a.title: a.id for a in seed_rag.articles}
    answerable = [q for q in _eval_questions() if q["source"]]
    hits = 0
    for q in answerable:
        ids = [p.article_id for p in seed_rag.search(q["question"], k=5)]
        hits += bool({title_to_id[t] for t in q["source"]} & set(ids))
    assert hits / len(answerable) >= 0.95


def test_one_article_cannot_fill_the_top_k(seed_rag) -> None:
    passages = seed_rag.search("Defense, Security and Resilience Bank charter bond issue backers", k=8)
    per_article = [p.article_id for p in passages]
    assert max(per_article.count(a) for a in per_article) <= seed_rag.settings.retrieve.max_per_article
    assert len(dedupe(per_article)) >= 3


def test_filters_restrict_by_article_date_and_source(seed_rag) -> None:
    kallas = "the-idea-is-unworkable-due-to-natos-role"
    passages = seed_rag.search("European army", k=5, filters=Filters(article_ids=(kallas,)))
    assert passages and {p.article_id for p in passages} == {kallas}
    assert seed_rag.search("European army", k=5, filters=Filters(date_from="2026-02")) == []
    assert seed_rag.search("European army", k=5, filters=Filters(date_to="2026-01-31"))
    assert seed_rag.retriever.search("European army", 5, Filters(publishers=("Reuters",))) == []  # (RAG.search
    # refuses an outlet the index does not have: tests/test_validate.py)
    assert seed_rag.search("European army", k=5, filters=Filters(sources=("seeds",)))


def test_a_question_with_no_known_word_still_returns_dense_results(seed_rag) -> None:
    passages = seed_rag.search("zxqv wibble", k=3)
    assert len(passages) == 3 and all(p.lexical_rank is None for p in passages)


def test_spread_keeps_outlet_heads_in_order_and_penalises_repeated_articles() -> None:
    from rag.config import RetrieveSettings
    from rag.retrieve.spread import spread as _spread

    fused = np.array([1.0, 0.95, 0.9, 0.5, 0.2, -np.inf])
    articles = np.array([0, 0, 0, 1, 2, 3])
    plain = RetrieveSettings(article_penalty=0.0, max_per_article=3)
    assert _spread(fused, articles, [], 4, plain) == [0, 1, 2, 3]
    spread = RetrieveSettings(article_penalty=0.6, max_per_article=3)
    assert _spread(fused, articles, [], 4, spread) == [0, 3, 1, 4]
    assert _spread(fused, articles, [4], 3, spread) == [4, 0, 3]
    assert _spread(fused, articles, [4, 3], 3, spread) == [4, 3, 0]  # heads keep the order given
    assert _spread(fused, articles, [], 9, RetrieveSettings(max_per_article=1)) == [0, 3, 4]


def test_clause_coverage_never_outranks_the_best_chunk_for_the_first_pick() -> None:
    from rag.config import RetrieveSettings
    from rag.retrieve.spread import spread as _spread

    fused = np.array([2.3, 1.9, 1.4])
    articles = np.array([0, 1, 2])
    shares = np.array([[0.5, 0.4, 0.2], [0.4, 0.0, 1.0]])  # chunk 2 matches a short clause whole
    settings = RetrieveSettings(coverage_weight=2.0, article_penalty=0.0)
    assert _spread(fused, articles, [], 3, settings, shares) == [0, 2, 1]  # covered second, not first



NEWS = [  # (publisher, date, title, body): three outlets, one of which matches the question best
    ("Harbour Times", "2023-10-02", "Ferry strike ends", "The ferry strike ended after the union accepted a pay "
     "offer. Ferries to the islands run again from Monday, the harbour master said."),
    ("Harbour Times", "2023-10-09", "Ferry timetable", "The new ferry timetable adds two evening crossings. "
     "Ferry fares stay the same, and the ferry union welcomed the extra ferry crossings."),
    ("Island Voice", "2023-10-05", "Islanders react", "Islanders said the long dispute had hurt shops and "
     "schools. A baker on the main island said trade fell by a third."),
    ("Coast Weekly", "2023-10-06", "Strike report", "The ferry strike and the pay offer: islanders said "
     "shops and trade suffered during the ferry strike, and the pay offer ended the strike."),
]


def _news_rag(tmp_path):  # noqa: ANN202
    from rag import RAG, Settings

    corpus = [{"title": t, "source": p, "published_at": f"{d}T08:00:00+00:00", "url": f"https://x/{n}", "body": b}
              for n, (p, d, t, b) in enumerate(NEWS)]
    (tmp_path / "news.json").write_text(json.dumps(corpus), encoding="utf-8")
    return RAG.open(tmp_path / "news.json", index_dir=tmp_path / "index", settings=Settings())


def test_every_named_outlet_and_date_gets_an_article_into_the_top_k(tmp_path) -> None:
    rag = _news_rag(tmp_path)
    question = ("Did the Harbour Times report on the ferry strike and pay offer, while Island Voice said "
                "islanders' shops and trade suffered?")
    publishers = [p.publisher for p in rag.search(question, k=2)]
    assert sorted(publishers) == ["Harbour Times", "Island Voice"]  # not Coast Weekly's keyword pile
    plain = replace(rag.settings.retrieve, news_aware=False)
    assert "Coast Weekly" in [p.publisher for p in Retriever(rag.index, rag.embedder, plain).search(question, 2)]
    dated = rag.search("What did the ferry union say about the ferry crossings on October 9, 2023?", k=1)
    assert dated[0].date == "2023-10-09"


def test_clause_bm25_is_each_chunks_best_match_to_one_clause(seed_rag) -> None:
    from rag.retrieve.fusion import clause_bm25 as _clause_bm25

    pieces = ["the planned defense bank hopes to raise money", "who runs the GORKI think tank"]
    best = _clause_bm25(seed_rag.index, pieces)
    per_clause = [seed_rag.index.lexical.scores(p) for p in pieces]
    assert best.max() == 1.0 and best.min() >= 0.0
    for scores in per_clause:  # each clause's best chunk scores 1
        assert best[int(np.argmax(scores))] == 1.0
    assert np.allclose(best, np.maximum(*(s / s.max() for s in per_clause)))
    assert not _clause_bm25(seed_rag.index, ["zzzz qqqq"]).any()
