"""Fit the answer-or-withhold policy on dev questions: a logistic model over the checks' measured signals.

    .venv/bin/rag --config eval/record.toml eval eval/seeds.jsonl --out eval/reports/record-seeds.json
    .venv/bin/rag --config eval/record.toml eval eval/blind.jsonl --split dev --out eval/reports/record-blind-dev.json
    .venv/bin/python eval/fit_policy.py eval/reports/record-seeds.json eval/reports/record-blind-dev.json --write

``eval/record.toml`` turns every withholding check off, so each answer carries all its signals
(``Answer.signals``). The model is fit to tell right answers from answers to unanswerable questions and
wrong answers; leave-one-out figures say how it does on questions it was not fit on; each signal's
worth is the leave-one-out change when it is left out. ``--write`` stores the weights and the threshold
(the one with the best leave-one-out sum of answerable-correct and unanswerable-abstained) in
``rag/answer/policy.json``. Only dev reports may be given: never a test split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.answer.policy import FEATURES, POLICY_FILE, features  # noqa: E402

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.2, 0.81, 0.05))


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 2000, rate: float = 0.2
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


def leave_one_out(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each question's score from a model fit on all the other questions."""
    out = np.zeros(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        out[i] = predict(x[i:i + 1], fit(x[keep], y[keep], steps=600, rate=0.5))[0]
    return out


def rates(score: np.ndarray, answered: np.ndarray, right: np.ndarray, answerable: np.ndarray, t: float
          ) -> tuple[float, float]:
    """(answerable questions answered correctly, unanswerable questions withheld) at threshold ``t``."""
    kept = answered & (score >= t)
    return float((kept & right).sum() / max(answerable.sum(), 1)), float(1 - (kept & ~answerable).sum()
                                                                        / max((~answerable).sum(), 1))


def main() -> int:
    """Fit, print the figures, and with --write store the policy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="rag eval --out reports made with eval/record.toml (dev only)")
    parser.add_argument("--write", action="store_true", help=f"store the fitted policy in {POLICY_FILE}")
    args = parser.parse_args()
    records = []
    for path in args.reports:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        if "test" in path or any(r.get("split") == "test" for r in report["records"]):
            raise SystemExit(f"{path}: a test split must never be fit on")
        records += report["records"]
    answerable = np.array([bool(r["gold_answers"]) for r in records])
    answered = np.array([bool(r["answerable"]) for r in records])
    right = np.array([bool(r["correct"]) for r in records])
    x = np.array([features(r["signals"]) for r in records])
    x = np.where(np.isnan(x), np.nanmean(x[answered], axis=0), x)  # a signal a withheld answer lacks
    y = right.astype(float)
    print(f"{len(records)} questions: {answerable.sum()} answerable ({right.sum()} answered correctly when every "
          f"check is off), {(~answerable).sum()} unanswerable")
    model = fit(x[answered], y[answered])
    loo = np.zeros(len(records))
    loo[answered] = leave_one_out(x[answered], y[answered])
    print("threshold  answerable correct / unanswerable withheld: leave-one-out (in-sample)")
    best = max(THRESHOLDS, key=lambda t: sum(rates(loo, answered, right, answerable, t)))
    insample = np.zeros(len(records))
    insample[answered] = predict(x[answered], model)
    for t in THRESHOLDS:
        a, u = rates(loo, answered, right, answerable, t)
        ia, iu = rates(insample, answered, right, answerable, t)
        print(f"  {t:.2f}  {a:.3f} / {u:.3f}   ({ia:.3f} / {iu:.3f})" + ("   <- chosen" if t == best else ""))
    a0, u0 = rates(loo, answered, right, answerable, best)
    print(f"what each signal is worth (leave-one-out at {best:.2f}, the model fit without it):")
    for k, name in enumerate(FEATURES):
        cols = [j for j in range(len(FEATURES)) if j != k]
        without = np.zeros(len(records))
        without[answered] = leave_one_out(x[answered][:, cols], y[answered])
        a, u = rates(without, answered, right, answerable, best)
        print(f"  {name:20s} without it: {a:.3f} / {u:.3f}  (worth {a0 - a:+.3f} / {u0 - u:+.3f})")
    if args.write:
        w, b, mean, scale = model
        policy = {"features": list(FEATURES), "weights": w.round(4).tolist(), "bias": round(b, 4),
                  "mean": mean.round(4).tolist(), "scale": scale.round(4).tolist(), "threshold": best,
                  "fit_on": [Path(p).name for p in args.reports], "questions": len(records)}
        POLICY_FILE.write_text(json.dumps(policy, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {POLICY_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
