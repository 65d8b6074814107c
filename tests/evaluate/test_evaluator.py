"""The evaluation runner: question file parsing, retrieval metrics on the seeds, answer metrics on records."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import RagError
from rag.evaluate import Evaluator, compare, load_questions, summarize
from tests.conftest import ROOT


def test_malformed_question_lines_are_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "What is the DSRB?", "answers": ["bank"], "source": ["x"]}\n'
                    "not json\n\n" '{"id": "b"}\n' '{"question": "Unanswerable?"}\n')
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["a", "line5"] and questions[1].type == "unanswerable"
    assert [p.line for p in problems] == [2, 4]
    path.write_text("nope\n")
    with pytest.raises(RagError, match="no usable question"):
        load_questions(path)


def test_retrieval_only_run_on_the_seed_questions(seed_rag) -> None:
    questions, _ = load_questions(ROOT / "eval" / "seeds.jsonl")
    evaluator = Evaluator(questions, retrieval_only=True)
    results = evaluator(seed_rag)
    assert results["hit@5"] >= 0.95 and results["mrr@10"] > 0.8 and results["evidence_hit@10"] > 0.9
    assert "multi/all_sources@5" in results and "answer_accuracy" not in results
    assert len(evaluator.records) == len(questions)


def test_unknown_gold_source_is_an_error(seed_rag, tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "x", "question": "What?", "answers": ["a"], "source": ["No such article"]}\n')
    with pytest.raises(RagError, match="question x: source 'No such article'"):
        Evaluator(load_questions(path)[0], retrieval_only=True)(seed_rag)


def _record(kind: str, gold: list[str], answered: bool, correct: bool, cited: list[str], **extra) -> dict:  # noqa: ANN003
    return {"id": kind, "type": kind, "question": "?", "gold_answers": gold, "gold_articles": ["a"] if gold else [],
            "retrieved": ["a", "b"] if gold else ["b"], "evidence_ranks": [], "retrieval_s": 0.01,
            "answer": "", "answerable": answered, "correct": correct, "f1": 1.0 if correct else 0.0,
            "cited": cited, "cited_with_answer": [c for c in cited if c == "a"], "unsupported_sentences": 0,
            "sentences": 1 if answered else 0, "first_token_s": 1.0, "total_s": 2.0, **extra}


def test_an_answer_is_in_its_quotes_when_each_part_is_there_as_written() -> None:
    quotes = [{"quote": "The bank aims to raise as much as\n$135 billion."},
              {"quote": "Pierre Gramegna leads the ESM."}]
    given = [_record("factoid", ["x"], True, True, ["a"], short=short, quotes=quotes)
             for short in ("$135 billion", "Pierre Gramegna and $135 billion", "yes", "135 billion dollars")]
    assert summarize(given)["given_in_quote"] == 0.75
    assert summarize(given[3:])["given_in_quote"] == 0.0


def test_answer_metrics_on_hand_made_records() -> None:
    records = [_record("factoid", ["x"], True, True, ["a"]), _record("factoid", ["y"], True, False, ["a", "b"]),
               _record("factoid", ["z"], False, False, []), _record("unanswerable", [], False, False, []),
               _record("unanswerable", [], True, False, ["b"])]
    r = summarize(records)
    assert r["answer_accuracy"] == pytest.approx(1 / 3) and r["answerable_abstained"] == pytest.approx(1 / 3)
    assert r["unanswerable_abstained"] == 0.5
    assert r["abstain_precision"] == 0.5 and r["abstain_recall"] == 0.5
    assert r["citation_precision"] == pytest.approx(0.75) and r["citation_recall"] == 1.0
    assert r["cited_articles_with_answer"] == pytest.approx(2 / 3)
    assert r["answers_with_citation"] == 1.0 and r["hit@1"] == 1.0
    assert r["given_right"] == pytest.approx(1 / 3)  # of three answers given, one right; the answered near miss wrong
    assert r["factoid/answer_accuracy"] == pytest.approx(1 / 3) and r["latency_total_p50_s"] == 2.0
    rows = compare({"a": 1.0, "c": 3.0}, {"a": 0.5, "b": 2.0})
    assert rows[0] == ("a", 0.5, 1.0, 0.5) and rows[1] == ("c", None, 3.0, None)
    assert rows[2][0] == "b" and rows[2][3] is None
