"""MultiHop-RAG retrieval evaluation (Tang & Yang, COLM 2024) of the rag library, with the official metrics.

Reads ``corpus.json`` and ``MultiHopRAG.json`` from the shared benchmark folder (never copied into the
repo), opens or builds the index with ``RAG.open`` and runs ``rag.search(query, k)`` for every non-null
query. Reports, overall and per question type:

* the official chunk-level Hits@4, Hits@10, MRR@10 and MAP@10 (``multihop_chunk_scores`` below, on
  the passages' ``.text``; see the benchmark README for the exact definitions);
* article-level recall@10 (share of a query's gold evidence articles, identified by url, that have a
  passage in the top k) and all-gold-articles@10 (share of queries with every gold article in the top k);
* retrieval latency p50/p95 in ms (one ``rag.search`` call, after a warm-up query).

A full run (``--split all`` without ``--limit``) also reports the same records restricted to the
fixed dev and test splits.

Run from the repo root::

    .venv/bin/python eval/multihop.py                     # all 2,255 non-null queries
    .venv/bin/python eval/multihop.py --split dev --out eval/reports/multihop-dev.json

``--answer`` scores answers instead: ``RAG.ask`` over a seeded sample of ``--per-type`` queries of each type
(null queries included, split dev/test by the same rule) of the split, each prediction being the Answer's
``short`` (or "Insufficient information." when withheld), scored by the official lenient rule and a strict one
(``strict_correct``; a null query is right when withheld), with time per query and prompt sizes::

    .venv/bin/python eval/multihop.py --answer --split dev --per-type 25 --out /tmp/multihop-answers-dev.json

``split_queries`` (the fixed dev/test split) and ``score_answers`` (answer accuracy, for runs with an
LLM) are importable: ``from eval.multihop import split_queries, score_answers``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python eval/multihop.py` puts eval/ first on the path, not the repo
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from rag.evaluate.metrics import (  # noqa: E402
    all_at_k,
    answer_correct,
    dedupe,
    grouped,
    mean,
    normalize_answer,
    percentile,
    recall_at_k,
)

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "multihop-rag"  # ../shared/... from the repo root
CORPUS_FILE = "corpus.json"
QUERIES_FILE = "MultiHopRAG.json"
BASELINES_FILE = "paper_baselines.json"
INDEX_NAME = "multihop-rag"
NULL_TYPE = "null_query"
SPLIT_SEED = 13
DEV_SHARE = (3, 10)  # the first 30% of the shuffled non-null queries are "dev"
CHUNK_METRICS = ("hits@4", "hits@10", "mrr@10", "map@10")
ABSTENTIONS = ("insufficient information", "the articles don't say")

console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)


# --------------------------------------------------------------------------- data and split


def load_queries(data_dir: str | Path = DEFAULT_DATA) -> list[dict[str, Any]]:
    """All queries of MultiHopRAG.json, in file order (null queries included)."""
    return json.loads((Path(data_dir) / QUERIES_FILE).read_text(encoding="utf-8"))


def is_null(query: dict[str, Any]) -> bool:
    """True for the unanswerable queries (no evidence; gold answer 'Insufficient information.')."""
    return query.get("question_type") == NULL_TYPE


def split_queries(queries: list[dict[str, Any]], split: str = "all") -> list[dict[str, Any]]:
    """The non-null queries of ``split`` ("all", "dev" or "test"), in file order.

    Fixed split: the non-null queries in file order are shuffled with ``random.Random(13)``; the first
    30% (rounded down) of the shuffled list are "dev", the rest "test". Membership depends only on the
    list of non-null queries, so it is the same on every machine and Python version.
    """
    return _split([q for q in queries if not is_null(q)], split)


def split_nulls(queries: list[dict[str, Any]], split: str = "all") -> list[dict[str, Any]]:
    """The null queries of ``split``, in file order: the same fixed rule as ``split_queries`` (shuffled with
    ``random.Random(13)``, the first 30% "dev"), applied to the null queries on their own."""
    return _split([q for q in queries if is_null(q)], split)


def _split(queries: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    """``queries`` (in file order) of ``split``: shuffled with ``random.Random(SPLIT_SEED)``, the first
    DEV_SHARE "dev", the rest "test"; "all" keeps every one."""
    if split == "all":
        return queries
    if split not in ("dev", "test"):
        raise ValueError(f"unknown split {split!r}; use all, dev or test")
    order = list(range(len(queries)))
    random.Random(SPLIT_SEED).shuffle(order)
    cut = len(order) * DEV_SHARE[0] // DEV_SHARE[1]
    chosen = set(order[:cut] if split == "dev" else order[cut:])
    return [q for n, q in enumerate(queries) if n in chosen]


def answer_sample(queries: list[dict[str, Any]], split: str, per_type: int, seed: int) -> list[dict[str, Any]]:
    """A stratified sample of ``split``: ``per_type`` queries of each question type (null included) drawn with
    ``random.Random(seed)``, all of a type when it has fewer; interleaved by type so a cut run stays balanced."""
    pool = split_queries(queries, split) + split_nulls(queries, split)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in pool:
        by_type[q["question_type"]].append(q)
    rng = random.Random(seed)
    drawn = {t: rng.sample(qs, min(per_type, len(qs))) for t, qs in sorted(by_type.items())}
    out = []
    for n in range(max((len(v) for v in drawn.values()), default=0)):
        out += [qs[n] for qs in drawn.values() if n < len(qs)]
    return out


def gold_urls(query: dict[str, Any]) -> list[str]:
    """Distinct urls of the query's evidence articles, in evidence order."""
    return dedupe([e["url"] for e in query.get("evidence_list") or []])


def gold_facts(query: dict[str, Any]) -> list[str]:
    """The gold evidence sentences, in evidence order."""
    return [e["fact"] for e in query.get("evidence_list") or []]


def paper_best_rows(data_dir: str | Path = DEFAULT_DATA) -> dict[str, dict[str, Any]]:
    """Table 5 rows of the paper: the best overall and the best without reranker (by Hits@10)."""
    path = Path(data_dir) / BASELINES_FILE
    if not path.exists():
        return {}
    rows = json.loads(path.read_text(encoding="utf-8"))["retrieval_table5"]["rows"]
    best = max(rows, key=lambda r: (r["Hits@10"], r["MRR@10"]))
    plain = [r for r in rows if not r.get("reranker")]
    out = {"best": best}
    if plain:
        out["best_without_reranker"] = max(plain, key=lambda r: (r["Hits@10"], r["MRR@10"]))
    return out


# --------------------------------------------------------------------------- the official rules


def official_lenient_correct(prediction: str, gold: str) -> bool:
    """MultiHop-RAG qa_evaluate.py rule: any shared lowercased whitespace token after answer extraction."""
    if "The answer" in prediction:
        match = re.search(r'The answer to the question is "(.*?)"', prediction)
        prediction = match.group(1) if match else prediction
    return bool(set(prediction.lower().split()) & set(gold.lower().split()))


def strict_correct(prediction: str, gold: str) -> bool:
    """The strict rule: a yes/no gold needs the prediction's first word to be that word; any other gold, its
    normalised phrase in the normalised prediction as whole words ("Google" in "Google paid Apple"). A leading
    "the answer (to the question) is" is dropped first."""
    prediction = re.sub(r"^\s*the answer(?: to the question)? is\b\s*:?", "", prediction.strip(), flags=re.I)
    gold_norm = normalize_answer(gold)
    if gold_norm in ("yes", "no"):
        first = normalize_answer(prediction).split()[:1]
        return first == [gold_norm]
    return bool(gold_norm) and answer_correct(prediction, [gold])


def _squash(text: str) -> str:
    """Remove spaces and newlines only, exactly as the official retrieval_evaluate.py does."""
    return text.replace(" ", "").replace("\n", "")


def multihop_chunk_scores(chunks: list[str], facts: list[str], k: int = 10) -> dict[str, float]:
    """MultiHop-RAG retrieval_evaluate.py scores for one query; map@10 is the paper's non-standard AP."""
    # A chunk is a hit when any squashed fact is a substring of it.  AP adds, at each hit rank r, the number of
    # facts first found in that chunk divided by r, then divides by min(#facts, cutoff): a chunk holding two facts
    # counts twice and a hit that only repeats found facts adds nothing.  k is the cutoff; 10 reproduces the script.
    # Empty `facts` (a ZeroDivisionError in the script) scores all zeros.
    scores = {"hits@4": 0.0, "hits@10": 0.0, "mrr@10": 0.0, "map@10": 0.0}
    gold = [_squash(fact) for fact in facts]
    if not gold or k <= 0:
        return scores
    found: list[str] = []
    ap_sum = 0.0
    for rank, chunk in enumerate(chunks[:k], 1):
        text = _squash(chunk)
        if not any(fact in text for fact in gold):
            continue
        scores["hits@10"] = 1.0
        scores["hits@4"] = max(scores["hits@4"], float(rank <= 4))
        scores["mrr@10"] = scores["mrr@10"] or 1.0 / rank
        new = 0
        for fact in gold:  # a fact listed twice counts once, like the script's find_gold list
            if fact in text and fact not in found:
                found.append(fact)
                new += 1
        ap_sum += new / rank
    scores["map@10"] = ap_sum / min(len(gold), k)
    return scores


# --------------------------------------------------------------------------- per-query scoring


def score_query(query: dict[str, Any], passage_texts: list[str], passage_urls: list[str | None],
                k: int = 10) -> dict[str, Any]:
    """Official chunk scores plus article-level recall for one query's ranked passages."""
    gold = gold_urls(query)
    facts = [f.replace(" ", "").replace("\n", "") for f in gold_facts(query)]
    ranked = [u for u in passage_urls[:k]]
    article_ranks = {u: next((r for r, got in enumerate(ranked, 1) if got == u), None) for u in gold}
    chunk_ranks = [r for r, text in enumerate(passage_texts[:k], 1)
                   if any(f in text.replace(" ", "").replace("\n", "") for f in facts)]
    distinct = [u for u in dedupe(ranked) if u is not None]
    return {
        **multihop_chunk_scores(passage_texts, gold_facts(query), k=k),
        "article_recall@10": recall_at_k(distinct, set(gold), k),
        "all_gold@10": all_at_k(distinct, set(gold), k),
        "article_hit_ranks": article_ranks,
        "chunk_hit_ranks": chunk_ranks,
    }


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Means of the per-query scores and latency percentiles, overall and by question type."""
    def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
        lat = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
        out: dict[str, Any] = {"n": len(rows)}
        for name in (*CHUNK_METRICS, "article_recall@10", "all_gold@10"):
            out[name] = mean(r["scores"][name] for r in rows)
        out["latency_p50_ms"] = percentile(lat, 50)
        out["latency_p95_ms"] = percentile(lat, 95)
        return out
    return grouped(records, block)


# --------------------------------------------------------------------------- answer scoring (for LLM runs)


def is_abstention(prediction: str) -> bool:
    """True when the prediction declines to answer ("Insufficient information", "The articles don't say")."""
    text = prediction.lower().replace("\u2019", "'").replace("\u2018", "'")
    return any(phrase in text for phrase in ABSTENTIONS)


def score_answers(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Official lenient accuracy and strict normalised exact match, overall and by question type.

    Each record needs ``prediction`` (the model output), ``answer`` (gold; ``gold`` also accepted) and
    ``question_type`` (``type`` also accepted). Lenient is qa_evaluate.py's rule (any shared lowercased
    whitespace token, after extracting ``The answer to the question is "..."``); strict is
    ``strict_correct``. A null query counts as correct, under both, exactly when the
    prediction is an abstention (contains "insufficient information" or "the articles don't say",
    case-insensitive). Returns ``{"all": {...}, "non_null": {...}, "by_type": {type: {...}}}`` where each
    block has ``n``, ``lenient``, ``strict``, ``abstained`` (share of predictions that abstain), ``given``
    (answers given) and ``given_right`` (the share of those that are strictly right; None when none).
    """
    rows: list[tuple[str, bool, bool, bool]] = []
    for record in records:
        qtype = record.get("question_type") or record.get("type") or "unknown"
        prediction = record.get("prediction") or ""
        gold = record.get("answer", record.get("gold")) or ""
        abstained = is_abstention(prediction)
        if qtype == NULL_TYPE:
            lenient = strict = abstained
        else:
            lenient = official_lenient_correct(prediction, gold)
            strict = strict_correct(prediction, gold)
        rows.append((qtype, lenient, strict, abstained))

    def block(part: list[tuple[str, bool, bool, bool]]) -> dict[str, Any]:
        given = [r for r in part if not r[3]]
        return {"n": len(part), "lenient": mean(float(r[1]) for r in part),
                "strict": mean(float(r[2]) for r in part), "abstained": mean(float(r[3]) for r in part),
                "given": len(given), "given_right": mean(float(r[2]) for r in given) if given else None}

    types = sorted({r[0] for r in rows})
    return {"all": block(rows), "non_null": block([r for r in rows if r[0] != NULL_TYPE]),
            "by_type": {t: block([r for r in rows if r[0] == t]) for t in types}}


# --------------------------------------------------------------------------- index facts


def chunk_stats(rag: Any) -> dict[str, Any]:
    """Chunk count and word-piece sizes (header + text, special tokens included) of the open index."""
    chunks = rag.index.chunks
    sizes = rag.embedder.count_tokens_batch([c.indexed_text for c in chunks]) if chunks else []
    return {"articles": len(rag.index.articles), "chunks": len(chunks),
            "wordpieces_mean": mean(sizes), "wordpieces_p50": percentile(sizes, 50),
            "wordpieces_max": max(sizes, default=0)}


def fact_coverage(rag: Any, queries: list[dict[str, Any]]) -> dict[str, float]:
    """Ceiling of the chunk metrics: share of gold facts held whole by some chunk of their article,
    and share of queries with at least one such fact (the best Hits@10 any ranking could reach)."""
    by_url: dict[str, list[str]] = defaultdict(list)
    url_of = {aid: a.url for aid, a in rag.index.articles.items()}
    for c in rag.index.chunks:
        by_url[url_of[c.article_id]].append(c.text.replace(" ", "").replace("\n", ""))
    facts_ok = facts_total = queries_ok = 0
    for q in queries:
        found = 0
        for e in q.get("evidence_list") or []:
            fact = e["fact"].replace(" ", "").replace("\n", "")
            facts_total += 1
            if any(fact in text for text in by_url.get(e["url"], ())):
                found += 1
        facts_ok += found
        queries_ok += bool(found)
    return {"facts_in_one_chunk": facts_ok / facts_total if facts_total else 0.0,
            "queries_hittable": queries_ok / len(queries) if queries else 0.0}


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Open the index, search every query of the split, score; returns the report dict."""
    from rag import RAG, Settings
    from rag.app.console import reporter

    data = Path(args.data)
    settings = Settings.load().replace(**dict(_parse_override(s) for s in args.set or []))
    all_queries = load_queries(data)
    queries = split_queries(all_queries, args.split)
    if args.limit:
        queries = queries[: args.limit]
    console.print(f"MultiHop-RAG from [bold]{data}[/bold]: {len(all_queries)} queries, "
                  f"{len(queries)} non-null in split [bold]{args.split}[/bold]"
                  + (f" (limit {args.limit})" if args.limit else ""))
    started = time.perf_counter()
    rag = RAG.open(data / CORPUS_FILE, index_dir=args.index_dir, settings=settings, name=args.name,
                   reporter=reporter(args.quiet))
    open_s = time.perf_counter() - started
    for problem in rag.problems:
        console.print(f"[yellow]skipped[/yellow] {problem}")
    if rag.report.rebuild_reason:
        console.print(f"[yellow]note:[/yellow] {rag.report.rebuild_reason}")
    url_of = {aid: a.url for aid, a in rag.index.articles.items()}
    stats = chunk_stats(rag)
    _print_settings(settings, stats, rag, open_s)

    rag.search("warm-up query: load the embedder before timing", k=args.k)
    records = []
    progress = None if args.quiet else _progress(len(queries))
    for n, q in enumerate(queries):
        t0 = time.perf_counter()
        passages = rag.search(q["query"], k=args.k)
        latency = (time.perf_counter() - t0) * 1000
        urls = [url_of.get(p.article_id) for p in passages]
        scores = score_query(q, [p.text for p in passages], urls, k=args.k)
        records.append({
            "query": q["query"], "type": q["question_type"], "gold_urls": gold_urls(q),
            "retrieved_urls": urls, "retrieved_chunk_ids": [p.chunk_id for p in passages],
            "article_hit_ranks": scores.pop("article_hit_ranks"),
            "chunk_hit_ranks": scores.pop("chunk_hit_ranks"),
            "scores": scores, "latency_ms": round(latency, 3),
        })
        if progress:
            progress(n + 1)
    if progress:
        progress(None)
    metrics = aggregate(records)
    if args.split == "all" and not args.limit:  # the same run restricted to the fixed dev and test splits
        metrics["splits"] = {}
        for part in ("dev", "test"):
            members = {q["query"] for q in split_queries(all_queries, part)}
            metrics["splits"][part] = aggregate([r for r in records if r["query"] in members])["all"]
    report = {
        "benchmark": "MultiHop-RAG (Tang & Yang 2024), retrieval, non-null queries",
        "data": str(data), "split": args.split, "limit": args.limit, "k": args.k,
        "index": {"path": str(rag.index.path), "open_seconds": round(open_s, 3), **stats,
                  "faiss": rag.index.manifest.get("faiss"),
                  "embedder": rag.index.manifest.get("embedder")},
        "settings": {"chunk": settings.to_dict()["chunk"], "index": settings.to_dict()["index"],
                     "retrieve": settings.to_dict()["retrieve"]},
        "ceiling": fact_coverage(rag, queries),
        "metrics": metrics,
        "paper_table5": paper_best_rows(data),
        "records": records,
    }
    _print_report(report)
    return report


# --------------------------------------------------------------------------- the answer run


def prediction_of(answer: Any) -> str:
    """What an Answer predicts, for scoring: its short answer, or "Insufficient information." when withheld
    (or when it has no short answer)."""
    return answer.short if answer.answerable and answer.short else "Insufficient information."


def answer_record(query: dict[str, Any], answer: Any, url_of: dict[str, str | None]) -> dict[str, Any]:
    """One query's answer, its prediction, the articles it cites against the gold ones, and its timings."""
    gold = gold_urls(query)
    cited = dedupe([url_of.get(c.article_id) or c.article_id for c in answer.citations])
    return {
        "query": query["query"], "question_type": query["question_type"], "answer": query["answer"],
        "prediction": prediction_of(answer), "short": answer.short, "text": answer.text,
        "answerable": answer.answerable, "reason": answer.reason, "raw": answer.raw,
        "gold_urls": gold, "cited_urls": cited,
        "cited_gold": len(set(cited) & set(gold)) / len(gold) if gold else None,
        "parts": answer.signals.get("parts"), "prompt_tokens": answer.signals.get("prompt_tokens"),
        "total_s": answer.timings.get("total_s"), "signals": answer.signals,
    }


def answer_report(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``score_answers`` of the records with, per block, time per query (p50/p95), prompt tokens (p50/p95)
    and, over answered non-null queries, the share of their gold articles they cite (also for "non_null")."""
    scores = score_answers(records)

    def extra(rows: list[dict[str, Any]]) -> dict[str, Any]:
        times = [r["total_s"] for r in rows if r.get("total_s") is not None]
        tokens = [r["prompt_tokens"] for r in rows if r.get("prompt_tokens")]
        cited = [r["cited_gold"] for r in rows if r["answerable"] and r.get("cited_gold") is not None]
        return {"time_p50_s": percentile(times, 50), "time_p95_s": percentile(times, 95),
                "prompt_tokens_p50": percentile(tokens, 50), "prompt_tokens_p95": percentile(tokens, 95),
                "cited_gold_share": mean(cited), "answered": sum(r["answerable"] for r in rows)}
    blocks = grouped(records, extra, key="question_type")
    scores["all"].update(blocks["all"])
    scores["non_null"].update(extra([r for r in records if r["question_type"] != NULL_TYPE]))
    for qtype, block in blocks["by_type"].items():
        scores["by_type"][qtype].update(block)
    return scores


def run_answers(args: argparse.Namespace) -> dict[str, Any]:
    """``RAG.ask`` over a seeded stratified sample of the split, scored by type; the JSON report is rewritten
    after every query when ``args.out`` is set, so a cut run still reports what it did."""
    from rag import RAG, Settings
    from rag.app.console import reporter
    from rag.progress import task

    data = Path(args.data)
    settings = Settings.load().replace(**dict(_parse_override(s) for s in args.set or []))
    all_queries = load_queries(data)
    queries = answer_sample(all_queries, args.split, args.per_type, args.seed)
    if args.limit:
        queries = queries[: args.limit]
    console.print(f"MultiHop-RAG answers: {len(queries)} queries of split [bold]{args.split}[/bold], up to "
                  f"{args.per_type} per type, seed {args.seed}")
    report_to = reporter(args.quiet)
    rag = RAG.open(data / CORPUS_FILE, index_dir=args.index_dir, settings=settings, name=args.name,
                   reporter=report_to)
    url_of = {aid: a.url for aid, a in rag.index.articles.items()}
    rag.generator  # noqa: B018 - load the model before the first timed query
    report: dict[str, Any] = {
        "benchmark": "MultiHop-RAG (Tang & Yang 2024), answers", "data": str(data), "split": args.split,
        "per_type": args.per_type, "seed": args.seed, "limit": args.limit, "command": " ".join(sys.argv),
        "model": {"name": rag.generator.name, "runtime": rag.generator.runtime},
        "settings": {"retrieve": settings.to_dict()["retrieve"], "answer": settings.to_dict()["answer"]},
        "paper_table6": _paper_table6(data), "planned": len(queries),
    }
    records: list[dict[str, Any]] = []
    with task(report_to, "evaluate", f"Answering {len(queries)} MultiHop-RAG queries", len(queries)) as advance:
        for q in queries:
            records.append(answer_record(q, rag.ask(q["query"]), url_of))
            advance(1)
            if args.out:
                _write(args.out, {**report, "done": len(records), "metrics": answer_report(records),
                                  "records": records})
    report.update(done=len(records), metrics=answer_report(records), records=records)
    _print_answer_report(report)
    return report


def _paper_table6(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / BASELINES_FILE
    return json.loads(path.read_text(encoding="utf-8"))["generation_table6"]["rows"] if path.exists() else []


def _write(path: str, report: dict[str, Any]) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)


def _by_type(title: str, columns: tuple[str, ...], metrics: dict[str, Any],
             cells: Callable[[dict[str, Any]], list[str]], overall: str) -> Table:
    """A table of ``metrics``: the overall row (bold), one row per question type, then one per split if any."""
    table = Table(title=title)
    for col in ("question type", "n", *columns):
        table.add_column(col, justify="left" if col == "question type" else "right", no_wrap=True)
    rows = [(overall, metrics["all"]), *metrics["by_type"].items(),
            *((f"{part} split", m) for part, m in metrics.get("splits", {}).items())]
    for n, (name, m) in enumerate(rows):
        table.add_row(name, str(m["n"]), *cells(m), style="bold" if n == 0 else None)
    return table


def _print_answer_report(report: dict[str, Any]) -> None:
    def cells(m: dict[str, Any]) -> list[str]:
        right = m.get("given_right")
        return [f"{m['strict']:.3f}", f"{m['lenient']:.3f}", f"{m['abstained']:.3f}",
                "" if right is None else f"{right:.3f} ({m['given']})",
                f"{m.get('cited_gold_share', 0.0):.3f}", f"{m.get('time_p50_s', 0.0):.2f}",
                f"{m.get('time_p95_s', 0.0):.2f}", f"{m.get('prompt_tokens_p50', 0.0):.0f}",
                f"{m.get('prompt_tokens_p95', 0.0):.0f}"]
    console.print(_by_type(f"MultiHop-RAG answers, split {report['split']}, seed {report['seed']} (lenient = "
                           "official any-shared-token rule)",
                           ("strict", "lenient", "abstained", "right of given", "cites gold", "p50 s", "p95 s",
                            "prompt p50", "prompt p95"),
                           report["metrics"], cells, "all"))
    for paper in report["paper_table6"]:
        console.print(f"paper Table 6, {paper['llm']}: {paper['retrieved_chunk']:.2f} (lenient, retrieved chunks)")


def _parse_override(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or "." not in key:
        raise SystemExit(f"--set expects section.key=value, got {text!r}")
    return key.strip(), value.strip()


def _progress(total: int):  # noqa: ANN202
    """A tiny stderr counter (rich's Progress would fight with the table output)."""
    err = Console(stderr=True)
    started = time.perf_counter()

    def tick(done: int | None) -> None:
        if done is None:
            err.print()
            return
        if done == total or done % 50 == 0:
            rate = done / max(time.perf_counter() - started, 1e-9)
            err.print(f"\rsearched {done}/{total} queries ({rate:.1f}/s)", end="")
    return tick


def _print_settings(settings: Any, stats: dict[str, Any], rag: Any, open_s: float) -> None:
    c, r = settings.chunk, settings.retrieve
    console.print(
        f"index [bold]{rag.index.path}[/bold] ({rag.index.manifest['faiss']['type']}), opened in {open_s:.1f} s: "
        f"{stats['articles']} articles, {stats['chunks']} chunks; "
        f"{len(rag.report.added) + len(rag.report.changed)} articles embedded now")
    console.print(
        f"chunking: sentence-aware, target {c.target_tokens} / max {c.max_tokens} word-pieces "
        f"({settings.index.embedder} tokenizer, header included), overlap {c.overlap_sentences} sentence(s), "
        f"header 'title — publisher (date)': {c.title_prefix}; chunk size mean {stats['wordpieces_mean']:.0f}, "
        f"median {stats['wordpieces_p50']:.0f}, max {stats['wordpieces_max']} word-pieces")
    console.print(
        f"retrieval: hybrid dense ({settings.index.embedder}, bf16={settings.index.bf16}) x{r.dense_weight} "
        f"+ BM25 x{r.lexical_weight}, fusion {r.fusion!r}" + (f" (k={r.rrf_k})" if r.fusion == "rrf" else "")
        + f", {r.candidates} dense candidates, at most {r.max_per_article} passages per article; "
        + ", ".join(f"{name} {value}" for name, value in vars(r).items() if name not in {
            "k", "candidates", "fusion", "rrf_k", "dense_weight", "lexical_weight", "max_per_article"}))


def _print_report(report: dict[str, Any]) -> None:
    metrics = report["metrics"]

    def cells(m: dict[str, Any]) -> list[str]:
        return [*(f"{m[x]:.4f}" for x in (*CHUNK_METRICS, "article_recall@10", "all_gold@10")),
                f"{m['latency_p50_ms']:.1f}", f"{m['latency_p95_ms']:.1f}"]
    console.print(_by_type(f"MultiHop-RAG retrieval, split {report['split']}, k={report['k']} (chunk-level = "
                           "official; article-level by url)", ("Hits@4", "Hits@10", "MRR@10", "MAP@10",
                                                               "art. R@10", "all gold@10", "p50 ms", "p95 ms"),
                           metrics, cells, "all non-null"))
    ceiling = report["ceiling"]
    console.print(f"ceiling: {ceiling['facts_in_one_chunk']:.1%} of gold facts lie whole inside one chunk; "
                  f"{ceiling['queries_hittable']:.1%} of queries have such a fact (max reachable Hits@10)")
    paper = report["paper_table5"]
    if paper:
        cmp = Table(title="vs. the paper's Table 5 (256-token LlamaIndex chunks, dense top-10, non-null queries)")
        for col in ("system", "Hits@4", "Hits@10", "MRR@10", "MAP@10"):
            cmp.add_column(col, justify="left" if col == "system" else "right")
        m = metrics["all"]
        cmp.add_row("rag (this run)", *(f"{m[x]:.4f}" for x in CHUNK_METRICS), style="bold")
        for label, p in paper.items():
            name = p["embedding"] + (f" + {p['reranker'].split('/')[-1]}" if p.get("reranker") else "")
            cmp.add_row(f"paper {label.replace('_', ' ')}: {name}",
                        *(f"{p[x]:.4f}" for x in ("Hits@4", "Hits@10", "MRR@10", "MAP@10")))
        console.print(cmp)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder with corpus.json and MultiHopRAG.json (default: %(default)s)")
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries of the split")
    parser.add_argument("--k", type=int, default=10, help="passages per query (official cutoff: 10)")
    parser.add_argument("--index-dir", default=str(ROOT / "embeddings"))
    parser.add_argument("--name", default=INDEX_NAME, help="index folder name inside --index-dir")
    parser.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                        help="settings override, e.g. --set chunk.target_tokens=190 (repeatable)")
    parser.add_argument("--out", help="write the JSON report (metrics and per-query records) here")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--answer", action="store_true",
                        help="answer a stratified sample with RAG.ask and score the answers (not retrieval)")
    parser.add_argument("--per-type", type=int, default=100, help="--answer: queries per question type")
    parser.add_argument("--seed", type=int, default=14, help="--answer: seed of the sample")
    args = parser.parse_args(argv)
    if not (Path(args.data) / CORPUS_FILE).exists() or not (Path(args.data) / QUERIES_FILE).exists():
        console.print(f"[red]error:[/red] {args.data} must hold {CORPUS_FILE} and {QUERIES_FILE}")
        return 2
    from rag.errors import RagError

    try:
        report = run_answers(args) if args.answer else run(args)
    except RagError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
    if args.out:
        _write(args.out, report)
        console.print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
