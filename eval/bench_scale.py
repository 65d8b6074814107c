"""Scale benchmark: the dense index (and BM25) of ``rag.index`` at 100k and 1M chunks, 10M projected.

A synthetic corpus made from real text: real all-MiniLM-L6-v2 vectors of a 20-50k sample (the
chunks of an existing MultiHop-RAG index, ``--index-dir``, topped up with embedded sentences of the
MultiHop-RAG articles; cached under the rag cache folder), each copied with small Gaussian noise
(``--noise`` per dimension) and renormalised up to each size. Queries are MultiHop-RAG questions,
embedded by ``Embedder.encode_query`` inside the timed loop. For each size, in a fresh process:

* build time per stage of the dense index rag builds at that size (``rag.index.ann.faiss_params`` and
  ``build_dense``: IVF train, add, nprobe tuning), and of an exact flat index next to it;
* memory and disk per chunk (FAISS file + the float vectors rag keeps for exact re-scoring; peak RSS);
* ANN recall@10 against exact search, at the depth retrieval asks for (``retrieve.candidates``) and at
  k = 10;
* search latency p50/p95 per question, the question's embedding included, one thread per query
  (torch and FAISS both on one thread): ANN and flat, and embedding alone;
* BM25 (``rag.index.lexical``, bm25s up to ``--bm25s-max`` chunks, Tantivy up to ``--tantivy-max``) build
  time, memory and query latency at the retrieval depth, over the sample's texts repeated (each
  copy has the text of the row it was made from).

Then the 10M projection from the measured 1M-shard figures, its assumptions printed.

    .venv/bin/python eval/bench_scale.py                          # 100k and 1M
    .venv/bin/python eval/bench_scale.py --sizes 100000 --queries 100 --json out.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from rag.evaluate.metrics import percentile  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "multihop-rag"
DEFAULT_INDEX = ROOT.parent / "main" / "embeddings" / "multihop-rag"
TARGET_P95_MS = 50.0
TARGET_RECALL = 0.95
MIN_SENTENCE_WORDS = 8
EMBED_SPEED_CHUNKS = 128  # real chunks embedded to measure the embedding stage's chunks/s

console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _lat(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}


def _rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _resident_mb() -> float:
    """Resident memory of this process now, MB."""
    fields = Path("/proc/self/status").read_text().split("VmRSS:")[1].split()
    return int(fields[0]) / 1024


# --------------------------------------------------------------------------- the real sample


def real_sample(index_dir: Path | None, data: Path, size: int, cache: Path) -> tuple[np.ndarray, list[str], list[str]]:
    """``size`` real MiniLM vectors with their texts, and the chunk texts among them (for the embedding
    speed): an index's chunks first, then sentences of the MultiHop-RAG articles embedded here (cached)."""
    from rag.embed import Embedder
    from rag.index.store import read_jsonl
    from rag.text import sentence_spans

    vectors, texts, chunk_texts = np.zeros((0, 384), np.float32), [], []
    if index_dir and (index_dir / "vectors.npy").exists():
        vectors = np.load(index_dir / "vectors.npy")[:size]
        chunks = read_jsonl(index_dir / "chunks.jsonl")[:size]
        chunk_texts = [f"{c['header']}\n{c['text']}" if c.get("header") else c["text"] for c in chunks]
        texts = list(chunk_texts)
    missing = size - len(vectors)
    if missing <= 0:
        return vectors, texts, chunk_texts
    articles = json.loads((data / "corpus.json").read_text(encoding="utf-8"))
    sentences = list(dict.fromkeys(
        " ".join(a["body"][s:e].split()) for a in articles for s, e in sentence_spans(a["body"])
        if len(a["body"][s:e].split()) >= MIN_SENTENCE_WORDS))
    order = np.random.default_rng(0).permutation(len(sentences))[:missing]
    extra_texts = [sentences[i] for i in order]
    key = hashlib.sha256("\n".join(extra_texts).encode()).hexdigest()[:16]
    cached = cache / f"sentences-{key}.npy"
    if cached.exists():
        extra = np.load(cached)
    else:
        console.print(f"embedding {len(extra_texts):,} MultiHop-RAG sentences for the sample (cached in {cache})")
        started = time.perf_counter()
        extra = Embedder().encode(extra_texts)
        console.print(f"  {len(extra_texts) / (time.perf_counter() - started):.0f} sentences/s")
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cached, extra)
    return np.concatenate([vectors, extra]), texts + extra_texts, chunk_texts


def expand(sample: np.ndarray, n: int, noise: float, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: row i is sample row ``i % len(sample)`` plus Gaussian noise of std ``noise``
    per dimension, renormalised (row i < len(sample) is the sample row itself)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, sample.shape[1]), dtype=np.float32)
    block = 65_536
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        x = sample[rows % len(sample)] + noise * rng.standard_normal((len(rows), sample.shape[1]), dtype=np.float32)
        x[rows < len(sample)] = sample[rows[rows < len(sample)]]
        out[rows] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


# --------------------------------------------------------------------------- one size, in a child process


def measure(size: int, sample_file: str, texts: list[str], questions: list[str], noise: float,
            lexical_max: dict[str, int]) -> dict[str, Any]:
    """Build the dense index rag chooses for ``size`` chunks and an exact one; time, weigh and query both."""
    import faiss

    from rag.config import Settings
    from rag.embed import Embedder
    from rag.index.ann import build_dense, faiss_params, recall_at

    settings = Settings.load()
    out: dict[str, Any] = {"size": size, "load_start": os.getloadavg()}
    depth = min(size, settings.retrieve.candidates)
    # BM25 first, while the peak memory is still its own
    out["lexical"] = {kind: _lexical(kind, texts, size, questions, depth)
                      for kind, most in lexical_max.items() if size <= most}
    t0 = time.perf_counter()
    vectors = expand(np.load(sample_file), size, noise)
    out["generate_s"] = time.perf_counter() - t0
    params = faiss_params(size, settings.index)
    t0 = time.perf_counter()
    dense = build_dense(vectors, params)
    out["ann_build_s"] = time.perf_counter() - t0
    out["ann"] = dense.params
    t0 = time.perf_counter()
    flat = build_dense(vectors, {"type": "IndexFlatIP", "metric": "inner_product"})
    out["flat_build_s"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        t0 = time.perf_counter()
        faiss.write_index(dense.faiss, f"{tmp}/index.faiss")
        np.save(f"{tmp}/vectors.npy", vectors, allow_pickle=False)
        out["write_s"] = time.perf_counter() - t0
        out["disk_faiss_b"] = os.path.getsize(f"{tmp}/index.faiss") / size
        out["disk_vectors_b"] = os.path.getsize(f"{tmp}/vectors.npy") / size
    out["ram_b_per_chunk"] = (len(faiss.serialize_index(dense.faiss)) + vectors.nbytes) / size
    out["rss_peak_mb"] = _rss_mb()

    embedder = Embedder(settings.index)
    embedder.encode_query("warm-up")
    import torch

    torch.set_num_threads(1)  # torch and FAISS share one OpenMP: torch restoring 2 threads would give FAISS 2
    faiss.omp_set_num_threads(1)
    embed_s, ann_s, flat_s, query_vectors, ann_ids, flat_scores = [], [], [], [], [], []
    for question in questions:
        t0 = time.perf_counter()
        vector = embedder.encode_query(question)
        t1 = time.perf_counter()
        _, ids = dense.search(vector, depth)
        t2 = time.perf_counter()
        scores, _ = flat.search(vector, depth)
        t3 = time.perf_counter()
        embed_s.append(t1 - t0)
        ann_s.append(t2 - t1)
        flat_s.append(t3 - t2)
        query_vectors.append(vector)
        ann_ids.append(ids[0][:10])
        flat_scores.append(scores[0][:10])
    queries = np.array(query_vectors)
    exact = np.array(flat_scores)
    out["recall_at_10_depth"] = recall_at(np.array(ann_ids), exact, vectors, queries)
    _, ids_k10 = dense.search(queries, 10)
    out["recall_at_10_k10"] = recall_at(ids_k10, exact, vectors, queries)
    out["depth"] = depth
    out["embed"] = _lat(embed_s)
    out["ann_only"] = _lat(ann_s)
    out["flat_only"] = _lat(flat_s)
    out["ann_search"] = _lat([e + a for e, a in zip(embed_s, ann_s)])
    out["flat_search"] = _lat([e + f for e, f in zip(embed_s, flat_s)])
    out["load_end"] = os.getloadavg()
    return out


def _lexical(kind: str, texts: list[str], size: int, questions: list[str], depth: int) -> dict[str, Any]:
    """Build rag's BM25 index of backend ``kind`` over ``size`` texts (the sample's, repeated) and time
    its queries at the retrieval depth."""
    from rag.index.lexical import build_lexical

    rows = [texts[i % len(texts)] for i in range(size)]
    before = _resident_mb()
    t0 = time.perf_counter()
    lexical = build_lexical(rows, kind)
    out: dict[str, Any] = {"build_s": time.perf_counter() - t0, "rss_growth_mb": _resident_mb() - before}
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        lexical.save(Path(tmp) / "lexical")
        out["disk_b_per_chunk"] = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / size
    times = []
    for question in questions:
        t0 = time.perf_counter()
        lexical.scores(question, depth)
        times.append(time.perf_counter() - t0)
    out["query"] = _lat(times)
    return out


def embed_speed(chunk_texts: list[str]) -> float:
    """Chunks per second of rag's embedder on real chunk texts (the build's dominant stage)."""
    from rag.embed import Embedder

    embedder = Embedder()
    texts = chunk_texts[:EMBED_SPEED_CHUNKS]
    embedder.encode(texts[:8])
    t0 = time.perf_counter()
    embedder.encode(texts)
    return len(texts) / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- report


def project(one: dict[str, Any], chunks_per_s: float, target: int, nodes: int) -> dict[str, Any]:
    """The ``target``-chunk figures from a measured shard of ``one["size"]`` chunks, shards searched
    one after another on one machine or side by side on ``nodes``."""
    shards = -(-target // one["size"])
    per = one["ram_b_per_chunk"]
    return {
        "shards": shards, "nodes": nodes,
        "ram_gb": per * target / 1e9, "disk_gb": (one["disk_faiss_b"] + one["disk_vectors_b"]) * target / 1e9,
        "serial_p50_ms": one["embed"]["p50_ms"] + shards * one["ann_only"]["p50_ms"],
        "serial_p95_ms": one["embed"]["p95_ms"] + shards * one["ann_only"]["p95_ms"],
        "parallel_p95_ms": one["embed"]["p95_ms"] + one["ann_only"]["p95_ms"],
        "embed_hours_one_machine": target / chunks_per_s / 3600,
        "embed_hours_cluster": target / chunks_per_s / 3600 / nodes,
        "ann_build_min_per_shard": one["ann_build_s"] / 60,
    }


def report(results: list[dict[str, Any]], chunks_per_s: float, args: argparse.Namespace) -> dict[str, Any]:
    """Print the tables and the projection; return the projection."""
    table = Table(title=f"Dense search per question, question embedding included, 1 thread "
                        f"({args.queries} MultiHop-RAG questions; noise {args.noise}/dim)")
    table.add_column("")
    for r in results:
        table.add_column(f"{r['size']:,} chunks", justify="right")

    def pair(x: dict[str, float]) -> str:
        return f"{x['p50_ms']:.1f} / {x['p95_ms']:.1f}"

    rows = {
        "dense index (rag.index.ann)": lambda r: r["ann"].get("factory", r["ann"]["type"]),
        "nprobe (tuned at build) / recall@10 at build": lambda r: f"{r['ann'].get('nprobe', '-')} / "
                                                                  f"{r['ann'].get('recall_at_10', 1.0):.3f}",
        "build s: total (train / add / tune)": lambda r: f"{r['ann_build_s']:.1f} (" + " / ".join(
            f"{v:.1f}" for v in r["ann"].get("build_s", {}).values()) + ")",
        "flat build s": lambda r: f"{r['flat_build_s']:.1f}",
        "write s (FAISS file + vectors.npy)": lambda r: f"{r['write_s']:.1f}",
        f"recall@10 vs exact (depth {results[0]['depth']} / k 10)": lambda r: f"{r['recall_at_10_depth']:.3f} / "
                                                                              f"{r['recall_at_10_k10']:.3f}",
        "search p50 / p95 ms, ANN (embedding included)": lambda r: pair(r["ann_search"]),
        "search p50 / p95 ms, flat (embedding included)": lambda r: pair(r["flat_search"]),
        "  question embedding alone": lambda r: pair(r["embed"]),
        "  ANN alone": lambda r: pair(r["ann_only"]),
        "  flat alone": lambda r: pair(r["flat_only"]),
        "RAM B/chunk (FAISS + float vectors)": lambda r: f"{r['ram_b_per_chunk']:.0f}",
        "disk B/chunk (index.faiss + vectors.npy)": lambda r: f"{r['disk_faiss_b']:.0f} + {r['disk_vectors_b']:.0f}",
        "peak RSS MB (flat copy included)": lambda r: f"{r['rss_peak_mb']:.0f}",
        "load average start / end": lambda r: f"{r['load_start'][0]:.2f} / {r['load_end'][0]:.2f}",
    }
    for name, cell in rows.items():
        table.add_row(name, *(cell(r) for r in results))
    console.print(table)
    if any(r["lexical"] for r in results):
        lex = Table(title="BM25 (rag.index.lexical) over the sample's texts repeated, 1 thread, retrieval depth")
        for col in ("chunks", "backend", "build s", "resident MB held", "disk B/chunk", "query p50/p95 ms"):
            lex.add_column(col, justify="right")
        for r in results:
            for kind, x in r["lexical"].items():
                lex.add_row(f"{r['size']:,}", kind, f"{x['build_s']:.1f}", f"{x['rss_growth_mb']:.0f}",
                            f"{x['disk_b_per_chunk']:.0f}", f"{x['query']['p50_ms']:.1f}/{x['query']['p95_ms']:.1f}")
        console.print(lex)
    console.print(f"embedding stage: {chunks_per_s:.1f} chunks/s (rag's embedder, bf16, real ~200-token chunks)")
    for r in results:
        ok = r["ann_search"]["p95_ms"] <= TARGET_P95_MS and r["recall_at_10_depth"] >= TARGET_RECALL
        console.print(f"{r['size']:,} chunks: p95 {r['ann_search']['p95_ms']:.1f} ms (target <= {TARGET_P95_MS:g}), "
                      f"recall@10 {r['recall_at_10_depth']:.3f} (target >= {TARGET_RECALL}): "
                      f"{'[green]met[/]' if ok else '[red]not met[/]'}")
    largest = max(results, key=lambda r: r["size"])
    projection = project(largest, chunks_per_s, args.project, args.nodes)
    console.print(
        f"\n[bold]{args.project:,} chunks projected[/] from the measured {largest['size']:,}-chunk shard: "
        f"{projection['shards']} shards; RAM {projection['ram_gb']:.1f} GB, disk {projection['disk_gb']:.1f} GB; "
        f"search p50/p95 {projection['serial_p50_ms']:.0f}/{projection['serial_p95_ms']:.0f} ms with the shards "
        f"searched one after another on one machine, p95 {projection['parallel_p95_ms']:.0f} ms side by side; "
        f"embedding {projection['embed_hours_one_machine']:.0f} h on one machine like this one, "
        f"{projection['embed_hours_cluster']:.1f} h on {args.nodes} such nodes; "
        f"IVF train+add+tune {projection['ann_build_min_per_shard']:.1f} min per shard.")
    console.print(
        "Assumptions: per-chunk memory and disk and per-shard ANN latency scale linearly (shards of the measured "
        "size, each with its own IVF and nprobe tuned to the same recall); the question is embedded once; merging "
        f"{projection['shards']} x {largest['depth']} candidates costs under a millisecond; BM25 and the news-aware "
        "re-scoring are not included; embedding speed is this machine's (2 busy cores, no GPU) per node; "
        "synthetic copies are near-duplicates of real chunks, so recall on a real 10M archive may differ.")
    return projection


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print tables and optionally write JSON."""
    from rag.config import cache_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--sample", type=int, default=30_000, help="real vectors to expand from (20-50k)")
    parser.add_argument("--noise", type=float, default=0.02, help="Gaussian noise per dimension of each copy")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with corpus.json and MultiHopRAG.json")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX,
                        help="a built MultiHop-RAG index whose chunk vectors start the sample")
    parser.add_argument("--bm25s-max", type=int, default=100_000, help="measure bm25s up to this many chunks")
    parser.add_argument("--tantivy-max", type=int, default=1_000_000, help="measure Tantivy up to this many chunks")
    parser.add_argument("--project", type=int, default=10_000_000)
    parser.add_argument("--nodes", type=int, default=10, help="nodes of the projected cluster")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)

    cache = cache_dir() / "bench-scale"
    index_dir = args.index_dir if args.index_dir and args.index_dir.exists() else None
    sample, texts, chunk_texts = real_sample(index_dir, args.data, args.sample, cache)
    sample_file = cache / f"sample-{len(sample)}.npy"
    cache.mkdir(parents=True, exist_ok=True)
    np.save(sample_file, sample)
    queries = json.loads((args.data / "MultiHopRAG.json").read_text(encoding="utf-8"))
    order = np.random.default_rng(0).permutation(len(queries))[:args.queries]
    questions = [queries[i]["query"] for i in order]
    console.print(f"sample: {len(sample):,} real MiniLM vectors ({len(chunk_texts):,} chunks of {index_dir}, "
                  f"the rest MultiHop-RAG sentences); {len(questions)} questions; load {os.getloadavg()[0]:.2f}")
    chunks_per_s = embed_speed(chunk_texts or texts)
    results = []
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        with context.Pool(1) as pool:  # a fresh process per size: its peak memory is its own
            result = pool.apply(measure, (size, str(sample_file), texts, questions, args.noise,
                                          {"bm25s": args.bm25s_max, "tantivy": args.tantivy_max}))
        results.append(result)
        console.print(f"{size:,}: done (ANN p95 {result['ann_search']['p95_ms']:.1f} ms, "
                      f"recall {result['recall_at_10_depth']:.3f})")
    projection = report(results, chunks_per_s, args)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results,
                                         "chunks_per_s": chunks_per_s, "projection": projection}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
