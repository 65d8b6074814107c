"""Server benchmark: `rag serve` on loopback against the same RAG in process, then many clients at once while
`rag index` adds articles.

    .venv/bin/python eval/bench_serve.py [--model fast] [--runtime auto] [--asks 4] [--searches 40]
                                         [--clients 4] [--requests 40] [--seconds 300] [--ask-share 0.2]
                                         [--new-articles 3] [--out FILE.json]

Three phases over a copy of the seed corpus, in one run (1 and 2 interleaved, question by question, so that a
change of load on the machine hits both alike):

1. in process: ``--asks`` seed questions answered with RAG.stream (time to the first draft piece, total) and
   ``--searches`` searches with RAG.search;
2. the server, one client: the same asks through /v1/chat/completions, streamed with ``"draft": true`` (time to
   the first draft piece, to the first content piece, which is the checked answer, and total) and the same
   searches through /v1/search: the server's overhead is the ratio to phase 1, and the first content against
   the first draft piece is what keeping the draft out of ``content`` costs a plain client;
3. the server, ``--clients`` clients at once: ``--requests`` requests in all (a mix of searches and, with
   ``--ask-share``, chat answers) or ``--seconds``, whichever comes first, while `rag index` adds
   ``--new-articles`` articles to the corpus; then checks the server picked them up. Requests served, errors by
   kind (HTTP status, timeout, connection), p50/p95 time to first byte of content and total per kind.

Everything is bounded (counts and seconds) and stops by itself; the server is a subprocess on 127.0.0.1 and
is stopped at the end. Prints the figures with the CPU and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import RAG, Settings  # noqa: E402
from rag.evaluate import load_questions  # noqa: E402
from rag.evaluate.metrics import percentile  # noqa: E402

REQUEST_TIMEOUT_S = 900  # one answer of the real model on a busy 2-core CPU
START_TIMEOUT_S = 900  # the server loads the index and the model before it listens


def machine() -> dict[str, str]:
    """The CPU model and the load average now (every figure is printed with them)."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    return {"cpu": cpu, "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def stats(values: list[float]) -> dict[str, float]:
    """p50 and p95 of ``values`` (seconds) and their count."""
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95)}


def local_ask(rag: RAG, question: str) -> dict[str, float]:
    """One answer in process: seconds to the first draft piece, and total."""
    started = time.perf_counter()
    first = None
    for _ in rag.stream(question):
        first = first or time.perf_counter() - started
    total = time.perf_counter() - started
    return {"draft_ttft": first or total, "total": total}


def local_search(rag: RAG, question: str) -> float:
    """One search in process: seconds."""
    started = time.perf_counter()
    rag.search(question)
    return time.perf_counter() - started


def paired(rag: RAG, url: str, asks: list[str], searches: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Phases 1 and 2, interleaved so that a change of load hits both alike: each ask and search in process,
    then the same through the server (one client); the figures of each side."""
    mine: dict[str, list[float]] = {"draft_ttft": [], "total": [], "search": []}
    theirs: dict[str, list[float]] = {"draft_ttft": [], "content_ttft": [], "total": [], "search": []}
    errors: Counter[str] = Counter()
    with httpx2.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
        for question in asks:
            local = local_ask(rag, question)
            mine["draft_ttft"].append(local["draft_ttft"])
            mine["total"].append(local["total"])
            served = chat(http, question, draft=True)
            if served["error"]:
                errors[served["error"]] += 1
                continue
            for key in ("draft_ttft", "content_ttft", "total"):
                theirs[key].append(served[key] if served[key] is not None else served["total"])
        for question in searches:
            mine["search"].append(local_search(rag, question))
            served = search(http, question)
            if served["error"]:
                errors[served["error"]] += 1
            else:
                theirs["search"].append(served["total"])
    local = {"ask_draft_ttft": stats(mine["draft_ttft"]), "ask_total": stats(mine["total"]),
             "search": stats(mine["search"])}
    server = {"ask_draft_ttft": stats(theirs["draft_ttft"]), "ask_content_ttft": stats(theirs["content_ttft"]),
              "ask_total": stats(theirs["total"]), "search": stats(theirs["search"]), "errors": errors}
    return local, server


def chat(http: httpx2.Client, question: str, draft: bool) -> dict[str, Any]:
    """One streamed chat answer: seconds to the first draft piece, to the first content piece, and total."""
    started = time.perf_counter()
    times: dict[str, Any] = {"draft_ttft": None, "content_ttft": None, "error": None}
    body = {"model": "rag", "stream": True, "draft": draft, "messages": [{"role": "user", "content": question}]}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            response.read()
            return {**times, "error": f"HTTP {response.status_code}", "total": time.perf_counter() - started}
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                times["error"] = "error event"
            delta = event["choices"][0]["delta"] if event.get("choices") else {}
            now = time.perf_counter() - started
            if delta.get("draft") and times["draft_ttft"] is None:
                times["draft_ttft"] = now
            if delta.get("content") and times["content_ttft"] is None:
                times["content_ttft"] = now
    return {**times, "total": time.perf_counter() - started}


def search(http: httpx2.Client, question: str) -> dict[str, Any]:
    """One search: total seconds (its first byte is its whole answer)."""
    started = time.perf_counter()
    response = http.post("/v1/search", json={"question": question})
    error = None if response.status_code == 200 else f"HTTP {response.status_code}"
    total = time.perf_counter() - started
    return {"content_ttft": total, "total": total, "error": error}


def many_clients(url: str, clients: int, requests: int, seconds: float, ask_share: float, asks: list[str],
                 searches: list[str], corpus: Path, index_dir: Path, new_articles: int) -> dict[str, Any]:
    """Phase 3: ``clients`` threads sending a mix of asks and searches until ``requests`` are done or ``seconds``
    pass, while `rag index` adds ``new_articles`` articles; then whether the server serves them."""
    rng = random.Random(7)
    plan = [("ask", rng.choice(asks)) if rng.random() < ask_share else ("search", rng.choice(searches))
            for _ in range(requests)]
    results: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        with httpx2.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
            while time.monotonic() < deadline:
                with lock:
                    if not plan:
                        return
                    kind, question = plan.pop()
                try:
                    result = chat(http, question, draft=False) if kind == "ask" else search(http, question)
                except httpx2.TimeoutException:
                    result = {"error": "timeout", "total": None, "content_ttft": None}
                except httpx2.TransportError as exc:
                    result = {"error": f"connection ({type(exc).__name__})", "total": None, "content_ttft": None}
                with lock:
                    results.append((kind, result))
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    indexed = add_articles(corpus, index_dir, new_articles, delay=min(5.0, seconds / 4))
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    expected = 10 + new_articles
    with httpx2.Client(base_url=url, timeout=60) as http:
        seen = 0
        for _ in range(150):  # the server checks the index folder every second, then loads it in the background
            seen = http.get("/v1/index").json()["articles"]
            if seen == expected:
                break
            time.sleep(0.2)
        found = http.post("/v1/search", json={"question": "Lighthouse keeper 1 of the bench coast", "k": 1}).json()
    figures: dict[str, Any] = {"seconds": elapsed, "served": sum(1 for _, r in results if not r["error"]),
                               "unsent": len(plan), "errors": Counter(r["error"] for _, r in results if r["error"]),
                               "rag_index_ok": indexed, "articles_after": seen, "articles_expected": expected,
                               "new_article_found": bool(found.get("passages")) and
                               found["passages"][0]["title"].startswith("Lighthouse keeper 1 ")}
    for kind in ("ask", "search"):
        done = [r for k, r in results if k == kind and not r["error"]]
        figures[kind] = {"ttft": stats([r["content_ttft"] for r in done]), "total": stats([r["total"] for r in done])}
    return figures


def add_articles(corpus: Path, index_dir: Path, count: int, delay: float) -> bool:
    """After ``delay`` seconds, write ``count`` new articles into ``corpus`` and run `rag index` on it."""
    time.sleep(delay)
    for n in range(1, count + 1):
        (corpus / f"bench-{n}.md").write_text(
            f"Source: Bench Wire\nDate: 2026-02-0{n % 9 + 1}\n\n# Lighthouse keeper {n} of the bench coast retires\n\n"
            f"The keeper of lighthouse number {n} on the bench coast retired on Friday after 31 years, the harbour "
            "office said. A automatic lamp replaces the keeper next month.\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "rag.app.cli", "--index-dir", str(index_dir), "index", str(corpus)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    return done.returncode == 0


def start_server(corpus: Path, index_dir: Path, model: str, runtime: str) -> tuple[subprocess.Popen, str]:
    """`rag serve` on a free loopback port; returns the process and its URL once /healthz answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    log = open(index_dir / "server.log", "w")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen([sys.executable, "-m", "rag.app.cli", "--index-dir", str(index_dir), "serve",
                               str(corpus), "--port", str(port), "--model", model, "--runtime", runtime],
                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            said = (index_dir / "server.log").read_text()[-2000:]
            raise SystemExit(f"rag serve exited ({server.returncode}): {said}")
        try:
            if httpx2.get(url + "/healthz", timeout=2).status_code == 200:
                return server, url
        except httpx2.TransportError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("rag serve did not start in time")


def main() -> None:
    """Parse flags, run the three phases, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fast")
    parser.add_argument("--runtime", default="auto", choices=("auto", "transformers", "llama-cpp"))
    parser.add_argument("--asks", type=int, default=4, help="seed questions answered in phases 1 and 2")
    parser.add_argument("--searches", type=int, default=40, help="searches in phases 1 and 2")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40, help="phase 3: requests in all")
    parser.add_argument("--seconds", type=float, default=300, help="phase 3: time budget (running requests finish)")
    parser.add_argument("--ask-share", type=float, default=0.2, help="phase 3: share of chat answers")
    parser.add_argument("--new-articles", type=int, default=3, help="phase 3: articles `rag index` adds")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args()
    before = machine()
    questions = [q.question for q in load_questions(ROOT / "eval" / "seeds.jsonl")[0]]
    asks = questions[:: max(1, len(questions) // args.asks)][: args.asks]
    searches = (questions * (args.searches // len(questions) + 1))[: args.searches]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        corpus, index_dir = Path(tmp) / "seeds", Path(tmp) / "ix"
        shutil.copytree(ROOT / "seeds", corpus)
        index_dir.mkdir()
        settings = Settings().replace(**{"generate.model": args.model, "generate.runtime": args.runtime})
        rag = RAG.open(corpus, index_dir=index_dir, settings=settings)
        rag.generator  # noqa: B018 - loaded before timing
        rag.ask(asks[0])  # warm-up, not counted (the server gets one too)
        server, url = start_server(corpus, index_dir, args.model, args.runtime)
        try:
            with httpx2.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
                chat(http, asks[0], draft=False)  # warm-up
            local, single = paired(rag, url, asks, searches)
            del rag
            crowd = many_clients(url, args.clients, args.requests, args.seconds, args.ask_share, asks, searches,
                                 corpus, index_dir, args.new_articles)
        finally:
            server.terminate()
            server.wait(30)
    after = machine()
    report(args, local, single, crowd, before, after)


def report(args: argparse.Namespace, local: dict, single: dict, crowd: dict, before: dict, after: dict) -> None:
    """Print the tables (and write --out)."""
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"CPU {before['cpu']} · load before {before['load']}, after {after['load']} · model {args.model} "
                  f"({args.runtime})")
    table = Table(title=f"one client: the server against the same RAG in process ({args.asks} asks, "
                        f"{args.searches} searches; seconds)")
    for column in ("measure", "in process p50", "server p50", "server / in process", "in process p95", "server p95"):
        table.add_column(column, justify="right")
    rows = [("search", "search", "search"), ("ask: first draft piece", "ask_draft_ttft", "ask_draft_ttft"),
            ("ask: first content (the checked answer)", "ask_total", "ask_content_ttft"),
            ("ask: total", "ask_total", "ask_total")]
    for name, mine, theirs in rows:
        a, b = local[mine], single[theirs]
        table.add_row(name, f"{a['p50']:.3f}", f"{b['p50']:.3f}", f"{b['p50'] / a['p50']:.2f}x" if a["p50"] else "",
                      f"{a['p95']:.3f}", f"{b['p95']:.3f}")
    console.print(table)
    crowded = Table(title=f"{args.clients} clients at once, {args.requests} requests or {args.seconds:.0f} s, "
                          f"`rag index` adding {args.new_articles} articles (seconds)")
    for column in ("kind", "served", "TTFT p50", "TTFT p95", "total p50", "total p95"):
        crowded.add_column(column, justify="right")
    for kind in ("search", "ask"):
        f = crowd[kind]
        crowded.add_row(kind, str(f["total"]["n"]), f"{f['ttft']['p50']:.3f}", f"{f['ttft']['p95']:.3f}",
                        f"{f['total']['p50']:.3f}", f"{f['total']['p95']:.3f}")
    console.print(crowded)
    console.print(f"served {crowd['served']} in {crowd['seconds']:.0f} s, not sent (budget) {crowd['unsent']}; "
                  f"errors by kind: {dict(crowd['errors']) or 'none'}; one-client errors: "
                  f"{dict(single['errors']) or 'none'}; rag index ok: {crowd['rag_index_ok']}; articles after: "
                  f"{crowd['articles_after']} of {crowd['articles_expected']}; new article found: "
                  f"{crowd['new_article_found']}")
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "machine": {"before": before, "after": after},
                                              "in_process": local, "one_client": single, "many_clients": crowd},
                                             indent=1, default=dict))


if __name__ == "__main__":
    main()
