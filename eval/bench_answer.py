"""Answer latency benchmark: time to first token and total per answer, p50/p95, for each local model.

    .venv/bin/python eval/bench_answer.py [--models default fast] [--runtimes auto transformers llama-cpp]
                                          [--limit 30] [--index-dir embeddings] [--baseline REV] [--out FILE.json]

Runs the seed questions (eval/seeds.jsonl) through RAG.stream with each model on each runtime (the
llama-cpp runtime only when the [llama] extra is installed; "auto" is what the default settings pick on
this CPU), each in a process of its own, and prints the figures, the ratio of each row to the model's
first row, and the median seconds of each stage (retrieval, excerpts, prefill, decode, checks). With
``--baseline REV`` every row also runs on the code of commit REV, in turn with this code's, so old and new
are measured side by side in one run. Model load and one warm-up answer are not counted in the per-answer
figures. Say the CPU (``lscpu``) and the load (``uptime``) with the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
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

STAGES = ("retrieval_s", "excerpts_s", "prefill_s", "decode_s", "checks_s")


def bench(model: str, runtime: str, questions: list[str], index_dir: str) -> dict[str, float]:
    """Load ``model`` on ``runtime`` once, then answer every question, returning latency percentiles in seconds,
    the median of each stage (retrieval, excerpts, prefill, decode, checks) and the prompt and reply sizes."""
    settings = Settings().replace(**{"generate.model": model, "generate.runtime": runtime})
    rag = RAG.open(ROOT / "seeds", index_dir=index_dir, settings=settings)
    started = time.perf_counter()
    rag.generator  # noqa: B018  (load now, so answers measure answering only)
    load = time.perf_counter() - started
    rag.ask(questions[0])  # one answer before timing: the runtime's one-time work (caches, warm-up) is load
    first, total, tokens, prompt, answerable = [], [], [], [], []
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for question in questions:
        stream = rag.stream(question)
        pieces = list(stream)
        timings = stream.answer.timings
        first.append(timings["first_token_s"])
        total.append(timings["total_s"])
        timings["decode_s"] = timings.get("write_s", 0.0) - timings.get("prefill_s", 0.0)
        for stage in STAGES:
            stages[stage].append(timings.get(stage, 0.0))
        tokens.append(rag.generator.count_tokens("".join(pieces)))
        prompt.append(stream.answer.signals.get("prompt_tokens", 0.0))
        answerable.append(stream.answer.answerable)
    answered = sum(a for a in answerable) / len(answerable)
    return {"load_s": load, "answered": answered, "ttft_p50": percentile(first, 50), "ttft_p95": percentile(first, 95),
            "total_p50": percentile(total, 50), "total_p95": percentile(total, 95),
            "tokens_mean": sum(tokens) / len(tokens), "prompt_tokens_p50": percentile(prompt, 50),
            **{f"{stage[:-2]}_p50": percentile(values, 50) for stage, values in stages.items()}}


def run_apart(row: tuple[str, str], limit: int, index_dir: str, code: Path = ROOT) -> dict[str, float]:
    """``bench`` for one (model, runtime) in a fresh process: no runtime inherits another's threads, caches or
    CPU state (llama.cpp's AMX kernels fault once torch's bf16 kernels have released the tile registers).
    ``code``: the checkout whose eval/bench_answer.py and rag package run (another commit's, for a baseline)."""
    command = [sys.executable, str(code / "eval" / "bench_answer.py"), "--one", *row, "--limit", str(limit),
               "--index-dir", index_dir]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=code)
    if done.returncode:
        raise SystemExit(f"{'/'.join(row)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse flags, run each model on each installed runtime, print the tables (latency, where the time goes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "fast"])
    parser.add_argument("--runtimes", nargs="+", default=["transformers", "llama-cpp"],
                        help="runtimes to measure; 'auto' is the one the default settings pick on this CPU")
    parser.add_argument("--baseline", metavar="REV", help="also run each row on the code of commit REV (a git "
                        "worktree), in turn with this code's, so both are measured in the same run")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--limit", type=int, default=30, help="questions (answerable and not, spread over the file)")
    parser.add_argument("--index-dir", default=str(ROOT / "embeddings"))
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "RUNTIME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    questions = [q.question for q in load_questions(ROOT / "eval" / "seeds.jsonl")[0]]
    step = max(1, len(questions) // args.limit)
    sample = questions[::step][: args.limit]
    if args.one:  # one row, in its own process: print its figures as JSON
        print(json.dumps(bench(*args.one, sample, args.index_dir)))
        return
    missing = [r for r in args.runtimes if r != "auto" and not installed(r)]
    runtimes = [r for r in args.runtimes if r == "auto" or installed(r)]
    rows = [(model, runtime) for model in args.models for runtime in runtimes]
    results = {}
    if args.baseline:  # the same rows on another commit's code, each run beside this code's, in turn
        with tempfile.TemporaryDirectory() as tmp:
            old = Path(tmp) / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.baseline],
                           check=True, capture_output=True)
            try:
                for model, runtime in rows:
                    row = (model, runtime)
                    results[(*row, args.baseline)] = run_apart(row, args.limit, args.index_dir, old)
                    results[(model, runtime, "")] = run_apart((model, runtime), args.limit, args.index_dir)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    else:
        results = {(*row, ""): run_apart(row, args.limit, args.index_dir) for row in rows}
    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"answer latency over {len(sample)} seed questions (2 cores, greedy; seconds)")
    for column in ("code", "model", "runtime", "load", "TTFT p50", "TTFT p95", "total p50", "total p95",
                   "tokens/answer", "answered", "total p50 vs first row of the model"):
        table.add_column(column, justify="right")
    for (model, runtime, code), r in results.items():
        base = next(v for (m, _, _), v in results.items() if m == model)["total_p50"]
        table.add_row(code or "this", model, runtime, f"{r['load_s']:.1f}", f"{r['ttft_p50']:.2f}",
                      f"{r['ttft_p95']:.2f}", f"{r['total_p50']:.2f}", f"{r['total_p95']:.2f}",
                      f"{r['tokens_mean']:.0f}", f"{r['answered']:.2f}", f"{r['total_p50'] / base:.2f}x")
    console.print(table)
    stages = Table(title="where the time goes (median seconds per stage; prompt tokens: the whole prompt, "
                         "its system part cached)")
    for column in ("code", "model", "runtime", "prompt tokens", *(stage[:-2] for stage in STAGES)):
        stages.add_column(column, justify="right")
    for (model, runtime, code), r in results.items():
        stages.add_row(code or "this", model, runtime, f"{r['prompt_tokens_p50']:.0f}",
                       *(f"{r[stage[:-2] + '_p50']:.2f}" for stage in STAGES))
    console.print(stages)
    for runtime in missing:
        console.print(f"{runtime}: not installed here, not measured")
    if args.out:
        Path(args.out).write_text(json.dumps({"/".join(x for x in key if x): r for key, r in results.items()},
                                             indent=1))


if __name__ == "__main__":
    main()
