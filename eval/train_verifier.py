"""Train the answer verifier (``rag/answer/verifier.py``) from ``eval/verifier-train.jsonl`` and write its weights.

    .venv/bin/python eval/train_verifier.py [--data eval/verifier-train.jsonl] [--epochs 4] [--layers 2]
        [--check eval/reports/record-*.json] [--write]

The data: 1,125 items written by helpers from the 181 MultiHop-RAG articles at even positions of corpus.json
that no question set is about (never the odd positions, never an article of eval/blind-multihop.jsonl).
An answerable item gives a positive (its question, answer and sentence) and a hard negative (the most
tempting wrong answer of the same article, with its sentence); a near miss gives a negative (the answer a
careless reader would give, with its sentence). One article in ten is held out to watch the training.

The model: all-MiniLM-L6-v2 (the embedder's weights) as a cross-encoder, its top ``--layers`` layers and a
one-unit head on the mean-pooled states trained, everything else frozen; seeded, single order, so a run
gives the same weights. ``--check`` scores the answers of record-mode dev reports (right vs wrong or
answered near misses; never a test split) with the trained verifier and prints its AUROC there. ``--write``
saves the trained layers and the head in float16 to rag/answer/verifier.safetensors.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rag._offline  # noqa: E402,F401
from rag.answer.verifier import MAX_TOKENS, VERIFIER_FILE, Verifier, pair, pooled, triple  # noqa: E402
from rag.embed import embedder_path  # noqa: E402


def examples(items: list[dict]) -> list[tuple[str, str, str, float, int]]:
    """(question, answer, sentence, label, article) for every item."""
    out = []
    for q in items:
        if q["kind"] == "answerable":
            out.append((q["question"], q["answer"], q["sentence"], 1.0, q["article"]))
            out.append((q["question"], q["wrong_answer"], q["wrong_sentence"], 0.0, q["article"]))
        else:
            out.append((q["question"], q["tempting_answer"], q["tempting_sentence"], 0.0, q["article"]))
    return out


def auroc(score: np.ndarray, label: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    pos, neg = score[label], score[~label]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (len(pos) * len(neg)))


def main() -> int:
    """Train, report, and with --write save the weights."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "eval" / "verifier-train.jsonl"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2, help="top layers of the encoder that are trained")
    parser.add_argument("--rate", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--check", nargs="*", default=[], help="record-mode dev reports to score")
    parser.add_argument("--write", action="store_true", help=f"save the weights to {VERIFIER_FILE}")
    args = parser.parse_args()
    random.seed(0)
    torch.manual_seed(0)
    items = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    data = examples(items)
    articles = sorted({a for *_, a in data})
    held = set(random.Random(1).sample(articles, max(1, len(articles) // 10)))
    train = [d for d in data if d[4] not in held]
    watch = [d for d in data if d[4] in held]
    print(f"{len(data)} examples ({sum(d[3] for d in data):.0f} positive) from {len(articles)} articles; "
          f"{len(watch)} held out ({len(held)} articles)")

    base = embedder_path("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base, dtype=torch.float32)
    n_layers = model.config.num_hidden_layers
    trained = list(range(n_layers - args.layers, n_layers))
    for name, param in model.named_parameters():
        param.requires_grad = any(name.startswith(f"encoder.layer.{k}.") for k in trained)
    head = torch.nn.Linear(model.config.hidden_size, 1)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW([{"params": params, "lr": args.rate}, {"params": head.parameters(), "lr": 1e-3}],
                                  weight_decay=0.01)

    def forward(batch: list[tuple[str, str, str, float, int]]) -> torch.Tensor:
        texts = [pair(q, a, s) for q, a, s, _, _ in batch]
        enc = tokenizer([a for a, _ in texts], [b for _, b in texts], truncation="longest_first",
                        max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        return head(pooled(model(**enc).last_hidden_state, enc["attention_mask"])).squeeze(-1)

    def evaluate(rows: list[tuple[str, str, str, float, int]]) -> np.ndarray:
        model.eval()
        with torch.inference_mode():
            out = np.concatenate([torch.sigmoid(forward(rows[i:i + 64])).numpy() for i in range(0, len(rows), 64)])
        model.train()
        return out

    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    for epoch in range(args.epochs):
        started, order, total = time.perf_counter(), list(range(len(train))), 0.0
        random.Random(epoch).shuffle(order)
        for i in range(0, len(order), args.batch):
            batch = [train[j] for j in order[i:i + args.batch]]
            loss = loss_fn(forward(batch), torch.tensor([d[3] for d in batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        score = evaluate(watch)
        print(f"epoch {epoch + 1}: loss {total / len(train):.3f}, held-out AUROC "
              f"{auroc(score, np.array([d[3] > 0 for d in watch])):.3f} ({time.perf_counter() - started:.0f} s)")

    if args.write:
        tensors = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()
                   if any(k.startswith(f"encoder.layer.{n}.") for n in trained)}
        tensors["head.weight"] = head.weight.detach().half().contiguous()
        tensors["head.bias"] = head.bias.detach().half().contiguous()
        meta = {"max_tokens": MAX_TOKENS, "layers": trained, "epochs": args.epochs, "rate": args.rate,
                "examples": len(train), "data": Path(args.data).name}
        save_file(tensors, str(VERIFIER_FILE), metadata={"verifier": json.dumps(meta)})
        print(f"wrote {VERIFIER_FILE} ({VERIFIER_FILE.stat().st_size / 1e6:.1f} MB)")
    for path in args.check:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        if "test" in Path(path).name or any(r.get("split") == "test" for r in report["records"]):
            raise SystemExit(f"{path}: a test split is only reported, never looked at here")
        rows = [r for r in report["records"] if r["answerable"] and r.get("quotes")]
        triples = [triple(r.get("asked") or r["question"], r["short"] or r["answer"], [q["quote"] for q in r["quotes"]])
                   for r in rows]
        verifier = Verifier(base) if args.write else None
        score = np.array(verifier.scores(triples) if verifier else
                         evaluate([(q, a, s, 0.0, 0) for q, a, s in triples]))
        right = np.array([bool(r["correct"]) for r in rows])
        print(f"{path}: {len(rows)} answers, {right.sum()} right: verifier AUROC {auroc(score, right):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
