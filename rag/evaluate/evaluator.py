"""The question-set evaluator: a question set run through retrieval (and answering), scored into a flat dict."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rag.answer import Answer
from rag.engine import RAG
from rag.errors import CorpusError
from rag.evaluate import metrics as m
from rag.evaluate.questions import Question
from rag.progress import Reporter, task
from rag.rewrite import Turn, fallback, needs_rewrite, rewrite

RETRIEVAL_KS = (1, 3, 5, 10)


@dataclass
class Evaluator:
    """Runs questions through a RAG and returns named metrics, overall and per question type.

    Like sentence-transformers' evaluators: build it from the data, call it on the system, get a
    flat dict. ``records`` keeps the per-question details of the last call.
    """

    questions: list[Question]
    retrieval_only: bool = False
    k: int = 10  # passages retrieved per question when only retrieval is scored (answers read answer.k)
    records: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, rag: RAG, report: Reporter | None = None) -> dict[str, float]:
        """Evaluate ``rag`` on every question; returns e.g. {"hit@5": 0.97, "answer_accuracy": 0.9, ...}."""
        resolve = _source_resolver(rag)
        self.records = []
        with task(report, "evaluate", f"Evaluating {len(self.questions)} questions", len(self.questions)) as advance:
            for question in self.questions:
                self.records.append(self._run(rag, question, resolve))
                advance(1)
        return summarize(self.records, answers=not self.retrieval_only)

    def _run(self, rag: RAG, q: Question, resolve: Any) -> dict[str, Any]:
        gold = sorted({i for s in q.source for i in resolve(s, q.id)})
        asked = q.question
        record: dict[str, Any] = {"id": q.id, "type": q.type, "question": q.question, "gold_answers": list(q.answers),
                                  "gold_articles": gold}
        if q.context:  # a follow-up: the question before it is asked first, then it is rewritten as the chat does
            if self.retrieval_only:
                asked = fallback(q.question, [Turn(q.context, "")])
            else:
                before = rag.ask(q.context)
                history = [Turn(q.context, before.text)]
                asked = rewrite(q.question, history, rag.generator) if needs_rewrite(q.question, history) \
                    else q.question
            record.update({"context": q.context, "asked": asked})
        started = time.perf_counter()
        if self.retrieval_only:
            passages = rag.search(asked, k=self.k)
        else:  # retrieval is scored on the passages the answer read
            stream = rag.stream(asked)
            for _ in stream:
                pass
            answer, passages = stream.answer, stream.passages
        record.update({"retrieved": [p.article_id for p in passages],
                       "evidence_ranks": _evidence_ranks(q.evidence, [p.text for p in passages]),
                       "retrieval_s": answer.timings["retrieval_s"] if not self.retrieval_only
                       else time.perf_counter() - started})
        if self.retrieval_only:
            return record
        cited = sorted({c.article_id for c in answer.citations})
        record.update({
            "answer": answer.text, "short": answer.short, "answerable": answer.answerable, "reason": answer.reason,
            "raw": answer.raw, "cited": cited,
            "quotes": [{"article_id": c.article_id, "quote": c.quote, "start": c.quote_start, "end": c.quote_end,
                        "support": c.support} for c in answer.citations],
            "closest": [{"article_id": c.article_id, "quote": c.quote} for c in answer.closest],
            "correct": answer.answerable and correct(answer, q.answers),
            # for an answer the policy withheld, whether it would have been right (risk-coverage curves)
            "correct_if_given": would_be_correct(answer, q.answers),
            "f1": m.token_f1(answer.text, list(q.answers)) if answer.answerable else 0.0,
            "cited_with_answer": [a for a in cited if m.answer_correct(rag.article(a).text, list(q.answers))
                                  or is_yes_no(q.answers)],
            "unsupported_sentences": sum(not s.supported for s in answer.sentences),
            "sentences": len(answer.sentences), "timings": answer.timings, "signals": answer.signals,
            "first_token_s": answer.timings.get("first_token_s"), "total_s": answer.timings.get("total_s"),
        })
        return record


def is_yes_no(answers: tuple[str, ...] | list[str]) -> bool:
    """Whether gold ``answers`` are a bare "yes" or "no"."""
    return [a.strip().lower() for a in answers] in (["yes"], ["no"])


def correct(answer: Answer, gold: tuple[str, ...]) -> bool:
    """Whether ``answer`` gives a gold answer: for a yes/no question its short answer is that word;
    otherwise some gold string occurs in its text (normalised, as whole words)."""
    if is_yes_no(gold):
        return answer.short == gold[0].strip().lower()
    return m.answer_correct(answer.text, list(gold))


def would_be_correct(answer: Answer, gold: tuple[str, ...]) -> bool | None:
    """Whether ``answer``, or the answer it withheld after checking it (its sentences), gives a gold answer;
    None when nothing was checked. An answer to a question with no gold answer is never right."""
    if answer.answerable:
        return correct(answer, gold)
    if not answer.sentences:
        return None
    if not gold:
        return False
    text = " and ".join(s.text for s in answer.sentences)
    if is_yes_no(gold):
        first = re.match(r"\W*(yes|no)\b", text, re.I)
        return bool(first) and first.group(1).lower() == gold[0].strip().lower()
    return m.answer_correct(text, list(gold))


def summarize(records: list[dict[str, Any]], answers: bool = True) -> dict[str, float]:
    """Flat metrics over ``records``, then the same per type as ``<type>/<metric>`` (latency only overall)."""
    blocks = m.grouped(records, lambda rows: _metrics(rows, answers))
    out = dict(blocks["all"])
    for kind, metrics in blocks["by_type"].items():
        out.update({f"{kind}/{name}": value for name, value in metrics.items() if not name.startswith("latency")})
    return out


def _metrics(records: list[dict[str, Any]], answers: bool) -> dict[str, float]:
    out: dict[str, float] = {"questions": float(len(records))}
    with_gold = [r for r in records if r["gold_articles"]]
    if with_gold:
        for k in RETRIEVAL_KS:
            out[f"hit@{k}"] = m.mean(m.hit_at_k(r["retrieved"], set(r["gold_articles"]), k) for r in with_gold)
        out["all_sources@5"] = m.mean(m.all_at_k(r["retrieved"], set(r["gold_articles"]), 5) for r in with_gold)
        out["mrr@10"] = m.mean(m.reciprocal_rank(r["retrieved"], set(r["gold_articles"]), 10) for r in with_gold)
    with_evidence = [r for r in records if r["evidence_ranks"]]
    if with_evidence:
        for k in (1, 5, 10):
            out[f"evidence_hit@{k}"] = m.mean(float(min(r["evidence_ranks"]) <= k) for r in with_evidence)
    out["latency_retrieval_p50_ms"] = 1000 * m.percentile([r["retrieval_s"] for r in records], 50)
    out["latency_retrieval_p95_ms"] = 1000 * m.percentile([r["retrieval_s"] for r in records], 95)
    if not answers:
        return out
    answerable = [r for r in records if r["gold_answers"]]
    unanswerable = [r for r in records if not r["gold_answers"]]
    answered = [r for r in records if r["answerable"]]
    if answerable:
        out["answer_accuracy"] = m.mean(float(r["correct"]) for r in answerable)
        out["answer_f1"] = m.mean(r["f1"] for r in answerable)
        out["answerable_abstained"] = m.mean(float(not r["answerable"]) for r in answerable)
    if unanswerable:
        out["unanswerable_abstained"] = m.mean(float(not r["answerable"]) for r in unanswerable)
    out.update(m.abstention_scores([(not r["gold_answers"], not r["answerable"]) for r in records]))
    if answered:
        # the figure a reporter lives with: of the answers given, the share that are right (an answered near
        # miss is wrong); and the share whose short answer stands in its quotes as written
        out["given_right"] = m.mean(float(bool(r["gold_answers"]) and bool(r["correct"])) for r in answered)
        out["given_in_quote"] = m.mean(float(_in_quotes(r)) for r in answered)
        out["answers_with_citation"] = m.mean(float(bool(r["cited"])) for r in answered)
        sentences = sum(r["sentences"] for r in answered)
        out["unsupported_sentence_rate"] = sum(r["unsupported_sentences"] for r in answered) / max(sentences, 1)
    scored = [r for r in answered if r["gold_articles"]]
    if scored:
        pr = [m.citation_scores(r["cited"], set(r["gold_articles"])) for r in scored]
        out["citation_precision"] = m.mean(p for p, _ in pr)
        out["citation_recall"] = m.mean(r for _, r in pr)
        cited = [len(r["cited"]) for r in scored]
        out["cited_articles_with_answer"] = sum(len(r["cited_with_answer"]) for r in scored) / max(sum(cited), 1)
    for name in ("first_token_s", "total_s"):
        values = [r[name] for r in records if r.get(name) is not None]
        out[f"latency_{name[:-2]}_p50_s"] = m.percentile(values, 50)
        out[f"latency_{name[:-2]}_p95_s"] = m.percentile(values, 95)
    return out


def _in_quotes(record: dict[str, Any]) -> bool:
    """Whether the record's short answer (a yes or no aside) is word for word in its quotes (case and spacing
    aside); an answer in parts ("A and B") is in them when each part is."""
    short = (record.get("short") or "").strip()
    if short.lower() in ("yes", "no", ""):
        return bool(record.get("quotes"))
    quotes = " ".join(" ".join(q["quote"].split()) for q in record.get("quotes") or []).lower()
    parts = [p for p in re.split(r",? and |; ", " ".join(short.split()).lower()) if p]
    return bool(quotes) and all(p in quotes for p in parts)


def _evidence_ranks(evidence: tuple[str, ...], texts: list[str]) -> list[int]:
    """Rank (1-based) of the first passage containing each evidence string; 99 when none does."""
    squashed = [re.sub(r"\s+", "", t) for t in texts]
    ranks = []
    for fact in evidence:
        fact = re.sub(r"\s+", "", fact)
        ranks.append(next((n for n, t in enumerate(squashed, 1) if fact in t), 99))
    return ranks


def _source_resolver(rag: RAG):  # noqa: ANN202
    """Map a gold source (article id, title or url) to article ids; unknown ones are an error."""
    lookup: dict[str, set[str]] = defaultdict(set)
    for article in rag.articles:
        for key in (article.id, article.title, article.url):
            if key:
                lookup[key.strip().lower()].add(article.id)

    def resolve(source: str, question_id: str) -> set[str]:
        ids = lookup.get(source.strip().lower())
        if not ids:
            raise CorpusError(f"question {question_id}: source {source!r} is not an article id, title or url "
                              "of the indexed corpus", "correct the question file or index the right corpus")
        return ids

    return resolve


def compare(current: dict[str, float],
            previous: dict[str, float]) -> list[tuple[str, float | None, float, float | None]]:
    """(metric, before, now, change) for every metric in either report."""
    names = list(current) + [n for n in previous if n not in current]
    return [(n, previous.get(n), current.get(n, float("nan")),
             current[n] - previous[n] if n in current and n in previous else None) for n in names]
