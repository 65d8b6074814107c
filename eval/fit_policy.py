"""Fit the answer-or-withhold policy on dev questions: a logistic model over the answers' measured signals.

    .venv/bin/rag --config eval/record.toml eval eval/seeds.jsonl --out eval/reports/record-seeds.json
    .venv/bin/rag --config eval/record.toml eval eval/blind.jsonl --split dev --out eval/reports/record-blind-dev.json
    .venv/bin/rag --config eval/record.toml eval eval/blind-multihop.jsonl --split dev \\
        --corpus ../shared/benchmarks/multihop-rag/corpus.json --out eval/reports/record-multihop-dev.json
    .venv/bin/python eval/fit_policy.py eval/reports/record-*.json [--features ...] [--write]

``eval/record.toml`` turns every withholding check off, so each answer carries all its signals
(``Answer.signals``). The model is fit to tell right answers from wrong ones and from answers to questions
the articles do not answer. Out-of-fold figures (5 folds by article: no article's questions are scored by
a model fit on them) say how it does on questions it was not fit on: AUROC, and for each threshold the
share of answers given that are right (precision) and of answerable questions answered right (coverage).
The threshold written is the lowest whose out-of-fold precision over all the reports' answers reaches
``--precision``.
Each signal's worth is the change in AUROC and coverage at that precision when it is left out. Only dev
reports may be given: never a test split.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.answer.policy import POLICY_FILE, SIGNALS, confidence  # noqa: E402
from rag.answer.verifier import Verifier, triple  # noqa: E402
from rag.embed import embedder_path  # noqa: E402

# the signals of the shipped policy: of those measured (SIGNALS), the set with the best out-of-fold AUROC on dev
FEATURES = ("p_not_stated", "p_confirm", "question_similarity", "reply_min_logprob", "quote_rank", "new_words")
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.01))


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000, rate: float = 0.3
        ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Logistic regression on standardised features: (weights, bias, means, scales)."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= rate * (z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= rate * float((p - y).mean())
    return w, b, mean, scale


def predict(x: np.ndarray, model: tuple[np.ndarray, float, np.ndarray, np.ndarray]) -> np.ndarray:
    """The fitted model's probability that each answer is right."""
    w, b, mean, scale = model
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: list[str], folds: int = 5, seed: int = 21
                ) -> np.ndarray:
    """Each answer's score from a model fit on the other folds (folds by ``groups``, the questions' articles)."""
    names = sorted(set(groups))
    np.random.default_rng(seed).shuffle(names)
    fold_of = {g: n % folds for n, g in enumerate(names)}
    fold = np.array([fold_of[g] for g in groups])
    out = np.zeros(len(y))
    for k in range(folds):
        test = fold == k
        if test.any() and (~test).any():
            out[test] = predict(x[test], fit(x[~test], y[~test]))
    return out


def auroc(score: np.ndarray, label: np.ndarray) -> float:
    """Probability that a right answer scores above a wrong one (ties count half)."""
    pos, neg = score[label], score[~label]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def rates(score: np.ndarray, right: np.ndarray, answerable: int, t: float) -> tuple[float, float, int]:
    """(precision: answers given that are right, coverage: answerable questions answered right, answers given)
    when answers scoring at least ``t`` are given."""
    kept = score >= t
    given = int(kept.sum())
    return (float((kept & right).sum() / given) if given else 1.0, float((kept & right).sum() / max(answerable, 1)),
            given)


def load(paths: list[str]) -> list[dict]:
    """The records of the dev reports, each tagged with its report; refuses a test split."""
    records = []
    for path in paths:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        if "test" in Path(path).name or any(r.get("split") == "test" for r in report["records"]):
            raise SystemExit(f"{path}: a test split must never be fit on")
        for r in report["records"]:
            r["report"] = Path(path).stem
            records.append(r)
    return records


def verify(records: list[dict]) -> None:
    """Give each answered record without it the verifier's score (``rag.answer.verifier``), as the answer stage
    measures it when the policy reads it."""
    todo = [r for r in records if r["answerable"] and "verifier" not in r["signals"]]
    if todo:
        scores = Verifier(embedder_path("all-MiniLM-L6-v2")).scores(
            [triple(r.get("asked") or r["question"], r["short"] or r["answer"], [q["quote"] for q in r["quotes"]])
             for r in todo])
        for r, score in zip(todo, scores):
            r["signals"]["verifier"] = round(score, 4)


def matrix(records: list[dict], features: tuple[str, ...], missing: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix (a missing signal takes ``missing``, by default the mean where present) and those
    default values."""
    x = np.array([[float(r["signals"].get(f, np.nan)) for f in features] for r in records])
    if missing is None:
        missing = np.nan_to_num(np.nanmean(np.where(np.isnan(x), np.nan, x), axis=0))
    return np.where(np.isnan(x), missing, x), missing


def main() -> int:
    """Fit, print the figures, and with --write store the policy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="rag eval --out reports made with eval/record.toml (dev only)")
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=sorted(SIGNALS))
    parser.add_argument("--precision", type=float, default=0.9,
                        help="out-of-fold precision over all the dev answers that the threshold must reach")
    parser.add_argument("--write", action="store_true", help=f"store the fitted policy in {POLICY_FILE}")
    args = parser.parse_args()
    features = tuple(args.features)
    records = load(args.reports)
    if "verifier" in features:
        verify(records)
    answered = [r for r in records if r["answerable"]]
    right = np.array([bool(r["correct"]) for r in answered])
    groups = [f"{r['report']}:{','.join(r['gold_articles']) or r['id']}" for r in answered]
    x, missing = matrix(answered, features)
    per_report = {name: np.array([r["report"] == name for r in answered]) for name in dict.fromkeys(
        r["report"] for r in records)}
    answerable = {name: sum(1 for r in records if r["report"] == name and r["gold_answers"]) for name in per_report}
    print(f"{len(records)} questions, {len(answered)} answered with every check off, {right.sum()} of them right")
    for name, mask in per_report.items():
        print(f"  {name}: {mask.sum()} answered, {right[mask].sum()} right, {answerable[name]} answerable")
    print("AUROC of each signal alone (out of fold):")
    for k, name in enumerate(features):
        print(f"  {name:22s} {auroc(out_of_fold(x[:, [k]], right.astype(float), groups), right):.3f}")
    score = out_of_fold(x, right.astype(float), groups)
    print(f"policy, all {len(features)} signals: AUROC {auroc(score, right):.3f} (out of fold); by report: "
          + ", ".join(f"{n} {auroc(score[m], right[m]):.3f}" for n, m in per_report.items()))

    def table(score: np.ndarray) -> float:
        chosen = None
        for t in THRESHOLDS:
            cells = [rates(score[m], right[m], answerable[n], t) for n, m in per_report.items()]
            pooled = rates(score, right, sum(answerable.values()), t)
            if chosen is None and pooled[0] >= args.precision:
                chosen = t
            if abs(t * 20 - round(t * 20)) < 1e-9 or t == chosen:
                print(f"  {t:.2f}  " + "   ".join(f"{p:.3f} / {c:.3f} ({g})" for p, c, g in (*cells, pooled))
                      + ("   <- chosen" if t == chosen else ""))
        return chosen if chosen is not None else THRESHOLDS[-1]
    print("threshold  precision / coverage (answers given) per report: " + ", ".join(per_report) + ", all")
    best = table(score)
    base = auroc(score, right)
    cover = {n: rates(score[m], right[m], answerable[n], best)[1] for n, m in per_report.items()}
    print(f"what each signal is worth (left out; AUROC, coverage at {best:.2f} per report):")
    for k, name in enumerate(features):
        cols = [j for j in range(len(features)) if j != k]
        without = out_of_fold(x[:, cols], right.astype(float), groups)
        lost = {n: cover[n] - rates(without[m], right[m], answerable[n], best)[1] for n, m in per_report.items()}
        print(f"  {name:22s} AUROC {base - auroc(without, right):+.3f}   coverage "
              + ", ".join(f"{v:+.3f}" for v in lost.values()))
    if args.write:
        w, b, mean, scale = fit(x, right.astype(float))
        policy = {"features": list(features), "weights": w.round(4).tolist(), "bias": round(float(b), 4),
                  "mean": mean.round(4).tolist(), "scale": scale.round(4).tolist(),
                  "missing": missing.round(4).tolist(), "threshold": best, "precision_target": args.precision,
                  "fit_on": [Path(p).name for p in args.reports], "questions": len(records)}
        POLICY_FILE.write_text(json.dumps(policy, indent=1) + "\n", encoding="utf-8")
        check: Callable[[dict], float] = lambda r: confidence(r["signals"], policy)  # noqa: E731
        assert abs(check(answered[0]) - predict(x[:1], (w, b, mean, scale))[0]) < 1e-3  # the file keeps 4 decimals
        print(f"wrote {POLICY_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
