"""The seed question set is well formed: evidence occurs verbatim in the articles it names."""

from __future__ import annotations

import json

from rag.corpus import load_corpus
from tests.conftest import ROOT, SEEDS

TYPES = {"factoid", "number", "date", "who", "why", "quote", "multi", "readmore", "unanswerable"}


def test_every_evidence_string_is_verbatim_in_a_source_article_body() -> None:
    articles = {a.title: a for a in load_corpus(SEEDS).articles}
    questions = [json.loads(line) for line in (ROOT / "eval" / "seeds.jsonl").read_text("utf-8").splitlines()]
    assert len(questions) >= 60 and len({q["id"] for q in questions}) == len(questions)
    unanswerable = [q for q in questions if q["type"] == "unanswerable"]
    assert len(unanswerable) >= 10 and all(not q["answers"] and not q["source"] for q in unanswerable)
    assert sum(len(q["source"]) >= 2 for q in questions) >= 6
    covered = set()
    for q in questions:
        assert q["type"] in TYPES and q["question"].strip()
        for title in q["source"]:
            assert title in articles, (q["id"], title)
            covered.add(title)
        for evidence in q["evidence"]:
            assert any(evidence in articles[t].text for t in q["source"]), (q["id"], evidence)
        if q["type"] != "unanswerable":
            assert q["answers"] and q["evidence"], q["id"]
    assert covered == set(articles)
