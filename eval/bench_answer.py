"""Answer latency benchmark: time to first token and total per answer, p50/p95, for each local model.

    .venv/bin/python eval/bench_answer.py [--models fast default] [--runtimes transformers llama-cpp]
                                          [--limit 30] [--index-dir embeddings] [--out FILE.json]

Runs the seed questions (eval/seeds.jsonl) through RAG.stream with each model on each runtime (the
llama-cpp runtime only when the [llama] extra is installed) in the same process and prints the
figures and the ratio of each to the first row. Model load time is measured apart and not counted in
the per-answer figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import RAG, Settings  # noqa: E402
from rag.evaluate import load_questions  # noqa: E402
from rag.evaluate.metrics import percentile  # noqa: E402
from rag.generate.registry import installed  # noqa: E402


def bench(model: str, runtime: str, questions: list[str], index_dir: str) -> dict[str, float]:
    """Load ``model`` on ``runtime`` once, then answer every question, returning latency percentiles in seconds."""
    settings = Settings().replace(**{"generate.model": model, "generate.runtime": runtime})
    rag = RAG.open(ROOT / "seeds", index_dir=index_dir, settings=settings)
    started = time.perf_counter()
    rag.generator  # noqa: B018  (load now, so answers measure answering only)
    load = time.perf_counter() - started
    first, total, tokens, answerable = [], [], [], []
    for question in questions:
        stream = rag.stream(question)
        pieces = list(stream)
        first.append(stream.answer.timings["first_token_s"])
        total.append(stream.answer.timings["total_s"])
        tokens.append(rag.generator.count_tokens("".join(pieces)))
        answerable.append(stream.answer.answerable)
    answered = sum(a for a in answerable) / len(answerable)
    return {"load_s": load, "answered": answered, "ttft_p50": percentile(first, 50), "ttft_p95": percentile(first, 95),
            "total_p50": percentile(total, 50), "total_p95": percentile(total, 95),
            "tokens_mean": sum(tokens) / len(tokens)}


def main() -> None:
    """Parse flags, run each model, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fast", "default"])
    parser.add_argument("--runtimes", nargs="+", default=["transformers", "llama-cpp"])
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--limit", type=int, default=30, help="questions (answerable and not, in file order)")
    parser.add_argument("--index-dir", default=str(ROOT / "embeddings"))
    args = parser.parse_args()
    questions = [q.question for q in load_questions(ROOT / "eval" / "seeds.jsonl")[0]]
    step = max(1, len(questions) // args.limit)
    sample = questions[::step][: args.limit]
    runtimes = [r for r in args.runtimes if installed(r)]
    rows = [(model, runtime) for runtime in runtimes for model in args.models]
    results = {row: bench(*row, sample, args.index_dir) for row in rows}
    table = Table(title=f"answer latency over {len(sample)} seed questions (2 cores, greedy; seconds)")
    for column in ("model", "runtime", "load", "TTFT p50", "TTFT p95", "total p50", "total p95", "tokens/answer",
                   "answered", "total p50 vs first row"):
        table.add_column(column, justify="right")
    base = results[rows[0]]["total_p50"]
    for (model, runtime), r in results.items():
        table.add_row(model, runtime, f"{r['load_s']:.1f}", f"{r['ttft_p50']:.2f}", f"{r['ttft_p95']:.2f}",
                      f"{r['total_p50']:.2f}", f"{r['total_p95']:.2f}", f"{r['tokens_mean']:.0f}",
                      f"{r['answered']:.2f}", f"{r['total_p50'] / base:.2f}x")
    if args.out:
        Path(args.out).write_text(json.dumps({f"{m}/{rt}": r for (m, rt), r in results.items()}, indent=1))
    Console(width=None if sys.stdout.isatty() else 150).print(table)


if __name__ == "__main__":
    main()
