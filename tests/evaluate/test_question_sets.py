"""The question sets are well formed: evidence occurs verbatim in the articles it names, gold lists hold every
right answer, and the blind sets keep their fixed dev/test splits."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from rag.corpus import load_corpus
from rag.evaluate.metrics import normalize_answer
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


MULTIHOP = ROOT.parent / "shared" / "benchmarks" / "multihop-rag" / "corpus.json"
_ONE_OF = re.compile(r"\b(?:name (?:one|an?)|one of the)\b", re.I)
# "A, B, C and D" / "A, B, or C": the items of a list of names in an evidence sentence
_NAME = r"[A-Z][\w'’.&-]*(?: (?:of |de )?[A-Z][\w'’.&-]*)*"
_LIST = re.compile(rf"(?:{_NAME}, )+(?:and |or )?(?:the )?{_NAME}")


@pytest.mark.parametrize("name", ["seeds.jsonl", "blind.jsonl", "blind-multihop.jsonl"])
def test_a_question_asking_for_one_of_a_list_accepts_every_item_of_it(name: str) -> None:
    """"Name one of the banks ..." has as many right answers as its evidence lists: each must be gold."""
    checked = 0
    for q in _lines(name):
        if not q["answers"] or not _ONE_OF.search(q["question"]):
            continue
        gold = [normalize_answer(a) for a in q["answers"]]
        for evidence in q["evidence"]:
            for found in _LIST.finditer(evidence):
                items = [re.sub(r"^(?:and|or|the) ", "", i.strip()) for i in re.split(r",", found.group())]
                items = [normalize_answer(i) for i in items if i]
                if any(g in items for g in gold):
                    checked += 1
                    missing = [i for i in items if not any(g in i for g in gold)]
                    assert not missing, (q["id"], missing)
    assert checked >= 1


def test_the_multihop_blind_set_is_over_even_articles_split_by_article() -> None:
    """Written blind over MultiHop-RAG articles at even positions of corpus.json; no article in both splits."""
    questions = _lines("blind-multihop.jsonl")
    assert len(questions) >= 400 and sum(q["type"] == "unanswerable" for q in questions) >= 0.30 * len(questions)
    assert len({q["article"] for q in questions}) >= 100 and all(q["article"] % 2 == 0 for q in questions)
    splits = {}
    for q in questions:
        assert splits.setdefault(q["article"], q["split"]) == q["split"], q["id"]
    assert set(splits.values()) == {"dev", "test"} and len({q["id"] for q in questions}) == len(questions)
    if not MULTIHOP.is_file():
        pytest.skip(f"{MULTIHOP} is not on this machine: the evidence is checked where it is")
    corpus = json.loads(MULTIHOP.read_text("utf-8"))
    squash = lambda text: re.sub(r"\s+", "", text)  # noqa: E731
    for q in questions:
        article = corpus[q["article"]]
        if q["type"] == "unanswerable":
            assert not q["answers"] and not q["source"] and q["near"] == article["title"], q["id"]
            continue
        assert q["source"] == [article["title"]] and q["answers"], q["id"]
        assert all(squash(e) in squash(article["body"]) for e in q["evidence"]), q["id"]
