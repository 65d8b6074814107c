"""The question sets are well formed: evidence occurs verbatim in the articles it names, and the blind
set keeps its fixed dev/test split."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rag.corpus import load_corpus
from rag.evaluate.questions import load_questions
from tests.conftest import ROOT, SEEDS

SETS = {
    "seeds.jsonl": {"factoid", "number", "date", "who", "why", "quote", "multi", "readmore", "unanswerable"},
    "blind.jsonl": {"who", "what", "how_much", "when", "where", "why", "said", "two_article", "yes_no", "follow_up",
                    "unanswerable"},
}


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / "eval" / name).read_text("utf-8").splitlines()]


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_evidence_string_is_verbatim_in_a_source_article_body(name: str) -> None:
    articles = {a.title: a for a in load_corpus(SEEDS).articles}
    questions = _lines(name)
    assert len({q["id"] for q in questions}) == len(questions)
    unanswerable = [q for q in questions if q["type"] == "unanswerable"]
    assert len(unanswerable) >= 0.15 * len(questions)
    assert all(not q["answers"] and not q["source"] for q in unanswerable)
    covered = set()
    for q in questions:
        assert q["type"] in SETS[name] and q["question"].strip()
        for title in q["source"]:
            assert title in articles, (q["id"], title)
            covered.add(title)
        for evidence in q["evidence"]:
            assert any(evidence in articles[t].text for t in q["source"]), (q["id"], evidence)
        if q["type"] != "unanswerable":
            assert q["answers"] and q["evidence"], q["id"]
    assert covered == set(articles)


def test_the_blind_set_has_its_size_mix_and_split() -> None:
    questions = _lines("blind.jsonl")
    assert len(questions) >= 150 and sum(q["type"] == "unanswerable" for q in questions) >= 0.25 * len(questions)
    assert {q["split"] for q in questions} == {"dev", "test"}
    dev = sum(q["split"] == "dev" for q in questions) / len(questions)
    assert 0.38 <= dev <= 0.42
    per_type = Counter((q["type"], q["split"]) for q in questions)
    assert all(per_type[(t, "dev")] and per_type[(t, "test")] for t, _ in per_type)  # every type in both splits
    for q in questions:
        if q["type"] == "follow_up":
            assert q["context"].strip() and q["context"] != q["question"]
        if q["type"] == "yes_no":
            assert q["answers"] in (["yes"], ["no"])
        if q["type"] not in ("yes_no", "why", "unanswerable"):
            assert any(q["answers"][0].lower() in e.lower() for e in q["evidence"]), q["id"]


def test_the_loader_keeps_the_split_and_the_context_of_follow_ups() -> None:
    questions, problems = load_questions(ROOT / "eval" / "blind.jsonl")
    assert not problems
    follow = next(q for q in questions if q.type == "follow_up")
    assert follow.context and follow.split in ("dev", "test")
    dev, _ = load_questions(ROOT / "eval" / "blind.jsonl", split="dev")
    assert {q.split for q in dev} == {"dev"} and 0 < len(dev) < len(questions)
