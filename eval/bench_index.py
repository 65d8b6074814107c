"""Index and search benchmark: build time and throughput, raw encoder speed, size, memory, latency, FAISS.

For the seed corpus (seeds/) and the MultiHop-RAG corpus (corpus.json), each in a fresh process so
peak memory is its own:

* build from scratch into a temporary folder: seconds and chunks/s, against the embedder's raw
  ``SentenceTransformer.encode`` throughput on the same chunk texts in the same run (ratio), and raw
  encode in fp32 vs bf16 (ratio, and the cosine between the two vector sets);
* index size on disk (MB) and peak RSS of the building process;
* query latency p50/p95 of ``rag.search`` (seeds: the questions of eval/seeds.jsonl, cycled to
  --queries; MultiHop-RAG: the first --queries non-null queries) and of the query encoding alone;
* time to reopen the unchanged index.

Then FAISS exact (IndexFlatIP) vs rag's ANN (rag.index.ann, IVF-SQ8 re-scored) at the MultiHop-RAG size with
its real vectors and queries, and on 100k and 300k random normalised 384-d vectors: build time,
single-query latency p50/p95 at the depth rag.retrieve asks for, ANN recall@10 against exact, and
recall under a 1% filter; followed by a recommendation for ``index.flat_max_vectors``.

    .venv/bin/python eval/bench_index.py                  # both corpora, full
    .venv/bin/python eval/bench_index.py --corpus seeds --quick
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from rag.evaluate.metrics import percentile  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "multihop-rag"
FLAT_BUDGET_MS = 10.0  # exact search is fine while one query's flat search stays under this (p95)
DIM = 384

console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)


# --------------------------------------------------------------------------- helpers


def _rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _lat(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "mean_ms": sum(ms) / len(ms) if ms else 0.0}


def _settings():  # noqa: ANN202
    from rag import Settings

    return Settings.load()


def _load_questions(corpus: str, data: Path, n: int) -> list[str]:
    if corpus == "seeds":
        lines = (ROOT / "eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
        questions = [json.loads(line)["question"] for line in lines if line.strip()]
        return [questions[i % len(questions)] for i in range(n)]
    queries = json.loads((data / "MultiHopRAG.json").read_text(encoding="utf-8"))
    return [q["query"] for q in queries if q["question_type"] != "null_query"][:n]


def _corpus_path(corpus: str, data: Path, quick: bool, tmp: Path) -> Path:
    if corpus == "seeds":
        return ROOT / "seeds"
    path = data / "corpus.json"
    if quick:  # the first 100 articles only
        small = tmp / "corpus.json"
        small.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))[:100]), encoding="utf-8")
        return small
    return path


# --------------------------------------------------------------------------- child processes


def build_and_query(corpus: str, data: str, quick: bool, n_queries: int) -> dict[str, Any]:
    """In a fresh process: build from scratch, measure size, memory, reopen and query latency."""
    from rag import RAG
    from rag.corpus import load_corpus

    settings = _settings()
    out: dict[str, Any] = {"corpus": corpus, "loadavg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp_name:
        tmp = Path(tmp_name)
        path = _corpus_path(corpus, Path(data), quick, tmp)
        index_dir = tmp / "index"
        rss_before = _rss_mb()
        t0 = time.perf_counter()
        rag = RAG.open(path, index_dir, settings, name="bench")
        out["build_s"] = time.perf_counter() - t0
        out["rss_peak_build_mb"] = _rss_mb()
        out["rss_before_build_mb"] = rss_before
        chunks = rag.index.chunks
        out["articles"] = len(rag.index.articles)
        out["chunks"] = len(chunks)
        out["chunks_per_s"] = len(chunks) / out["build_s"]
        out["faiss"] = rag.index.manifest["faiss"]["type"]
        out["size_mb"] = _dir_mb(rag.index.path)
        out["size_parts_mb"] = {p.name: round(_dir_mb(p) if p.is_dir() else p.stat().st_size / 1e6, 3)
                                for p in sorted(rag.index.path.iterdir())}

        # chunking alone (tokenizer counts included), to see where build time goes
        from rag.chunking import chunk_article

        t0 = time.perf_counter()
        for article in rag.index.articles.values():
            chunk_article(article, settings.chunk, rag.embedder.count_tokens_batch)
        out["chunking_s"] = time.perf_counter() - t0

        reopen, corpus_read = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            load_corpus(path)
            corpus_read.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = RAG.open(path, index_dir, settings, name="bench")
            reopen.append(time.perf_counter() - t0)
            assert again.report.unchanged, "the unchanged index was rebuilt"
        out["reopen_s"] = {"min": min(reopen), "median": statistics.median(reopen)}
        out["corpus_read_s"] = statistics.median(corpus_read)

        questions = _load_questions(corpus, Path(data), n_queries)
        rag.search("warm-up", k=10)
        times, encode_times = [], []
        for q in questions:
            t0 = time.perf_counter()
            rag.search(q, k=10)
            times.append(time.perf_counter() - t0)
        for q in questions:
            t0 = time.perf_counter()
            rag.embedder.encode_query(q)
            encode_times.append(time.perf_counter() - t0)
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        one_thread = []
        for q in questions:
            t0 = time.perf_counter()
            rag.embedder.encode_query(q)
            one_thread.append(time.perf_counter() - t0)
        torch.set_num_threads(threads)
        out["torch_threads"] = threads
        out["encode_query_1thread"] = _lat(one_thread)
        out["queries"] = len(questions)
        out["search"] = _lat(times)
        out["encode_query"] = _lat(encode_times)
        out["rss_peak_mb"] = _rss_mb()
        out["texts"] = [c.indexed_text for c in chunks]
        out["vectors"] = rag.index.vectors
        out["query_vectors"] = rag.embedder.encode(questions)
        out["embedder_path"] = str(rag.embedder.path)
        out["batch_size"] = settings.index.batch_size
        out["bf16_setting"] = settings.index.bf16
    out["loadavg_end"] = os.getloadavg()
    return out


def raw_encode(model_path: str, texts: list[str], batch_size: int) -> dict[str, Any]:
    """In a fresh process: SentenceTransformer.encode throughput on ``texts`` in bf16 and fp32."""
    import numpy as np
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    out: dict[str, Any] = {"texts": len(texts), "torch_threads": torch.get_num_threads()}
    vectors = {}
    for name, kwargs in (("bf16", {"dtype": torch.bfloat16}), ("fp32", {})):
        t0 = time.perf_counter()
        model = SentenceTransformer(model_path, device="cpu", model_kwargs=kwargs)
        load_s = time.perf_counter() - t0
        model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up
        t0 = time.perf_counter()
        vec = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False).astype(np.float32)
        seconds = time.perf_counter() - t0
        vectors[name] = vec / np.linalg.norm(vec, axis=1, keepdims=True)
        out[name] = {"load_s": load_s, "encode_s": seconds, "texts_per_s": len(texts) / seconds}
        del model
    out["bf16_vs_fp32_cosine"] = {"mean": float((vectors["bf16"] * vectors["fp32"]).sum(1).mean()),
                                  "min": float((vectors["bf16"] * vectors["fp32"]).sum(1).min())}
    return out


def faiss_bench(label: str, base: Any, queries: Any, depth: int, threads: int = 1) -> dict[str, Any]:
    """Flat vs the dense index rag builds above ``index.flat_max_vectors`` (rag.index.ann: IVF-SQ8 with
    exact re-scoring, nprobe tuned at build) on ``base``: build, latency, recall@10, filtered recall.

    Searches run with ``threads`` FAISS threads (training and adding use all cores).
    """
    import faiss
    import numpy as np

    from rag.config import IndexSettings
    from rag.index.ann import build_dense, faiss_params

    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    n, dim = base.shape
    out: dict[str, Any] = {"label": label, "n": n, "queries": len(queries), "depth": depth,
                           "threads": threads}
    default_threads = faiss.omp_get_max_threads()
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(base)
    out["flat_build_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ann = build_dense(base, faiss_params(n, IndexSettings(flat_max_vectors=0)))  # the index's own build
    out["ann_build_s"] = time.perf_counter() - t0
    out["ann_params"] = ann.params

    truth = flat.search(queries, depth)[1]
    faiss.omp_set_num_threads(threads)
    times = []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        flat.search(queries[i:i + 1], depth)
        times.append(time.perf_counter() - t0)
    out["flat"] = _lat(times)

    # 1% filter, as rag.retrieve applies publisher/date filters
    rng = np.random.default_rng(1)
    allowed = np.sort(rng.choice(n, size=max(n // 100, 10), replace=False)).astype("int64")
    truth_filtered = flat.search(queries, 10, params=faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)))[1]
    mask = np.zeros(n, dtype=bool)
    mask[allowed] = True

    times, found = [], []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        ids = ann.search(queries[i], depth)[1][0]
        times.append(time.perf_counter() - t0)
        found.append(len(set(ids[:10].tolist()) & set(truth[i, :10].tolist())) / 10)
    got = ann.search(queries, 10, mask)[1]
    filtered = [len(set(g[g >= 0].tolist()) & set(t[t >= 0].tolist())) / max((t >= 0).sum(), 1)
                for g, t in zip(got, truth_filtered)]
    out["ann"] = {**_lat(times), "recall@10": float(np.mean(found)),
                  "filtered_1pct_recall@10": float(np.mean(filtered))}
    faiss.omp_set_num_threads(default_threads)
    return out


def synthetic(n: int, n_queries: int, depth: int) -> dict[str, Any]:
    """faiss_bench on ``n`` random unit vectors with random unit queries (a hard case for any ANN)."""
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.standard_normal((n, DIM), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = rng.standard_normal((n_queries, DIM), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return faiss_bench(f"random {n // 1000}k", base, queries, depth)


def _in_child(func, *args):  # noqa: ANN001, ANN202
    """Run ``func(*args)`` in a freshly spawned interpreter and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(func, *args).result()


# --------------------------------------------------------------------------- report


def flat_sweep(sizes: tuple[int, ...], n_queries: int, depth: int) -> list[dict[str, Any]]:
    """Exact-search latency alone (no ANN build) on prefixes of one random unit-vector set, with one
    FAISS thread and with FAISS's default (all cores)."""
    import faiss
    import numpy as np

    default_threads = faiss.omp_get_max_threads()
    rng = np.random.default_rng(2)
    base = rng.standard_normal((max(sizes), DIM), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = rng.standard_normal((n_queries, DIM), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    out = []
    try:
        for n in sizes:
            flat = faiss.IndexFlatIP(DIM)
            flat.add(base[:n])
            row: dict[str, Any] = {"n": n}
            for threads in (1, default_threads):
                faiss.omp_set_num_threads(threads)
                flat.search(queries[:5], depth)  # warm-up
                times = []
                for i in range(n_queries):
                    t0 = time.perf_counter()
                    flat.search(queries[i:i + 1], depth)
                    times.append(time.perf_counter() - t0)
                row["threads_1" if threads == 1 else "threads_default"] = _lat(times)
            row["default_threads"] = default_threads
            out.append(row)
            del flat
    finally:
        faiss.omp_set_num_threads(default_threads)
    return out


def recommend(sweep: list[dict[str, Any]], budget_ms: float = FLAT_BUDGET_MS) -> dict[str, Any]:
    """Largest size (rounded down to 10k) at which exact search still meets ``budget_ms`` at p95.

    Uses the one-thread figures (a single query gains little from threads, and on a busy machine
    FAISS's OpenMP threads wait for scheduler ticks). Interpolates linearly between the two measured
    sizes whose flat p95 brackets the budget.
    """
    points = sorted((r["n"], r["threads_1"]["p95_ms"]) for r in sweep)
    if not points:
        return {}
    threshold = points[-1][0] if points[-1][1] <= budget_ms else 0
    for (n1, ms1), (n2, ms2) in zip(points, points[1:]):
        if ms1 <= budget_ms < ms2:
            threshold = n1 + (n2 - n1) * (budget_ms - ms1) / (ms2 - ms1)
            break
    return {"budget_ms": budget_ms, "flat_max_vectors": int(threshold // 10_000 * 10_000),
            "sweep": [(n, round(ms, 2)) for n, ms in points]}


def _print_corpus(results: list[dict[str, Any]]) -> None:
    table = Table(title="Index build and search (fresh process per corpus; build from scratch into a temp dir)")
    table.add_column("")
    for r in results:
        table.add_column(r["corpus"], justify="right")

    def row(name: str, fn) -> None:  # noqa: ANN001
        table.add_row(name, *(fn(r) for r in results))

    row("articles / chunks", lambda r: f"{r['articles']} / {r['chunks']}")
    row("build from scratch", lambda r: f"{r['build_s']:.1f} s")
    row("  of which chunking", lambda r: f"{r['chunking_s']:.1f} s")
    row("build throughput", lambda r: f"{r['chunks_per_s']:.1f} chunks/s")
    row("raw encode bf16 (same texts)", lambda r: f"{r['raw']['bf16']['texts_per_s']:.1f} texts/s")
    row("raw encode fp32 (same texts)", lambda r: f"{r['raw']['fp32']['texts_per_s']:.1f} texts/s")
    row("build / raw-encode (bf16)", lambda r: f"{r['chunks_per_s'] / r['raw']['bf16']['texts_per_s']:.2f}")
    row("raw fp32 / raw bf16 speed",
        lambda r: f"{r['raw']['fp32']['texts_per_s'] / r['raw']['bf16']['texts_per_s']:.2f}")
    row("cosine bf16 vs fp32 mean/min",
        lambda r: f"{r['raw']['bf16_vs_fp32_cosine']['mean']:.4f} / {r['raw']['bf16_vs_fp32_cosine']['min']:.4f}")
    row("index size on disk", lambda r: f"{r['size_mb']:.1f} MB")
    row("peak RSS (build)", lambda r: f"{r['rss_peak_build_mb']:.0f} MB")
    row("peak RSS (build+queries)", lambda r: f"{r['rss_peak_mb']:.0f} MB")
    row("FAISS type", lambda r: r["faiss"])
    row("reopen unchanged (min/median)", lambda r: f"{r['reopen_s']['min'] * 1000:.0f} / "
                                                    f"{r['reopen_s']['median'] * 1000:.0f} ms")
    row("  of which reading the corpus", lambda r: f"{r['corpus_read_s'] * 1000:.0f} ms")
    row("search p50 / p95", lambda r: f"{r['search']['p50_ms']:.1f} / {r['search']['p95_ms']:.1f} ms "
                                      f"({r['queries']} q)")
    row("  query encoding p50 / p95", lambda r: f"{r['encode_query']['p50_ms']:.1f} / "
                                                f"{r['encode_query']['p95_ms']:.1f} ms ({r['torch_threads']} thr)")
    row("  query encoding, 1 torch thread", lambda r: f"{r['encode_query_1thread']['p50_ms']:.1f} / "
                                                     f"{r['encode_query_1thread']['p95_ms']:.1f} ms")
    row("load avg at start / end", lambda r: f"{r['loadavg_start'][0]:.1f} / {r['loadavg_end'][0]:.1f}")
    console.print(table)


def _print_faiss(runs: list[dict[str, Any]]) -> None:
    table = Table(title=f"FAISS exact vs rag's ANN (rag.index.ann), single-query search of "
                        f"depth {runs[0]['depth']}, {runs[0]['threads']} FAISS thread(s)")
    for col in ("vectors", "flat build", "ANN", "ANN build", "flat p50/p95 ms", "ANN p50/p95 ms",
                "ANN recall@10", "recall@10, 1% filter"):
        table.add_column(col, justify="right")
    for r in runs:
        a, p = r["ann"], r["ann_params"]
        table.add_row(f"{r['label']} ({r['n']:,})", f"{r['flat_build_s']:.2f} s",
                      f"{p['factory']} nprobe {p['nprobe']}", f"{r['ann_build_s']:.1f} s",
                      f"{r['flat']['p50_ms']:.2f} / {r['flat']['p95_ms']:.2f}",
                      f"{a['p50_ms']:.2f} / {a['p95_ms']:.2f}",
                      f"{a['recall@10']:.3f}", f"{a['filtered_1pct_recall@10']:.3f}")
    console.print(table)
    console.print("Random vectors with random queries are the hard case for any ANN (no cluster structure, "
                  "near-equal distances); real embeddings recall better (eval/bench_scale.py).")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=("seeds", "multihop", "both"), default="both")
    parser.add_argument("--quick", action="store_true",
                        help="MultiHop-RAG: first 100 articles; 50 queries; synthetic 100k only")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="MultiHop-RAG folder (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=None, help="queries per corpus (default 200, quick 50)")
    parser.add_argument("--no-faiss", action="store_true", help="skip the FAISS flat vs ANN part")
    parser.add_argument("--faiss-only", action="store_true", help="only the synthetic FAISS part (no corpus)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args(argv)
    n_queries = args.queries or (50 if args.quick else 200)
    corpora = [] if args.faiss_only else ["seeds", "multihop"] if args.corpus == "both" else [args.corpus]
    from rag.config import RetrieveSettings

    settings = _settings()
    rs: RetrieveSettings = settings.retrieve
    depth = max(rs.candidates, 10 * rs.max_per_article)  # what rag.retrieve asks FAISS for at k=10
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
                  f"embedder {settings.index.embedder}, bf16={settings.index.bf16}, "
                  f"batch {settings.index.batch_size}; flat_max_vectors={settings.index.flat_max_vectors}")

    results, faiss_runs = [], []
    for corpus in corpora:
        console.print(f"[bold]{corpus}[/bold]: building from scratch ...")
        r = _in_child(build_and_query, corpus, args.data, args.quick, n_queries)
        texts = r.pop("texts")
        if args.quick:
            texts = texts[:1000]
        console.print(f"[bold]{corpus}[/bold]: raw SentenceTransformer.encode of {len(texts)} chunk texts ...")
        r["raw"] = _in_child(raw_encode, r["embedder_path"], texts, r["batch_size"])
        vectors, query_vectors = r.pop("vectors"), r.pop("query_vectors")
        if not args.no_faiss and corpus == "multihop":
            console.print("FAISS at the MultiHop-RAG size (real vectors and queries) ...")
            faiss_runs.append(faiss_bench(f"MultiHop-RAG{' (quick)' if args.quick else ''}", vectors,
                                          query_vectors, depth))
        results.append(r)
    if results:
        _print_corpus(results)

    rec: dict[str, Any] = {}
    sweep: list[dict[str, Any]] = []
    if not args.no_faiss:
        sizes = (10_000, 20_000, 50_000, 100_000) if args.quick else \
            (10_000, 20_000, 50_000, 100_000, 150_000, 200_000, 300_000)
        console.print(f"exact-search latency sweep over {', '.join(f'{n // 1000}k' for n in sizes)} random vectors ...")
        sweep = flat_sweep(sizes, 100 if args.quick else 200, depth)
        for n in (100_000,) if args.quick else (100_000, 300_000):
            console.print(f"FAISS flat vs ANN on {n:,} random vectors ...")
            faiss_runs.append(synthetic(n, 100 if args.quick else 200, depth))
        _print_faiss(faiss_runs)
        table = Table(title=f"Exact search (IndexFlatIP) latency alone, depth {depth}, single queries")
        table.add_column("vectors", justify="right")
        table.add_column("1 thread p50 / p95 ms", justify="right")
        table.add_column(f"{sweep[0]['default_threads']} threads (FAISS default) p50 / p95 ms", justify="right")
        for r in sweep:
            one, many = r["threads_1"], r["threads_default"]
            table.add_row(f"{r['n']:,}", f"{one['p50_ms']:.2f} / {one['p95_ms']:.2f}",
                          f"{many['p50_ms']:.2f} / {many['p95_ms']:.2f}")
        console.print(table)
        rec = recommend(sweep)
        search_p50 = next((r["search"]["p50_ms"] for r in results if r["corpus"] == "multihop"), None)
        console.print(
            f"[bold]recommendation:[/bold] index.flat_max_vectors = {rec['flat_max_vectors']:,}: the largest size "
            f"whose one-thread exact-search p95 stays under {FLAT_BUDGET_MS:.0f} ms"
            + (f" (whole search p50 at MultiHop-RAG size: {search_p50:.0f} ms)" if search_p50 else "")
            + f". Current setting: {settings.index.flat_max_vectors:,}.")
        for r in faiss_runs:
            a = r["ann"]
            console.print(
                f"  ANN ({r['ann_params']['factory']}) on {r['label']} ({r['n']:,}): p95 {a['p95_ms']:.2f} ms vs flat "
                f"{r['flat']['p95_ms']:.2f} ms; recall@10 {a['recall@10']:.3f}, with a 1% filter "
                f"{a['filtered_1pct_recall@10']:.3f}; build {r['ann_build_s']:.0f} s.")
        rec["search_p50_ms_multihop"] = search_p50
    if args.out:
        Path(args.out).write_text(json.dumps({"corpora": results, "faiss": faiss_runs, "flat_sweep": sweep,
                                              "recommendation": rec},
                                             indent=1, default=str), encoding="utf-8")
        console.print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
