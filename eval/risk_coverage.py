"""Risk-coverage curves of the answer policy from `rag eval --out` reports: over the policy's threshold, the share
of answers given that are right against the share of answerable questions answered right.

    .venv/bin/python eval/risk_coverage.py eval/reports/blind-test.json eval/reports/blind-multihop-test.json \\
        --png eval/reports/risk-coverage.png

Every answer that reached the policy carries its confidence (``signals.confidence``) and, when the policy
withheld it, whether it would have been right (``correct_if_given``), so one run at the default settings gives
the whole curve; answers withheld before the policy (no quote holds the answer) are never given, and answers
the policy does not judge (multi-article yes/no) are given at every threshold. The dot on each curve is the
threshold the default settings use; the dashed lines are the targets (0.90 right of those given, 0.70 of
answerable questions answered right).
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

from rag.answer.policy import fitted  # noqa: E402

THRESHOLDS = np.round(np.arange(0.0, 1.0001, 0.01), 2)


def curve(records: list[dict]) -> list[tuple[float, float, float, int]]:
    """(threshold, precision, coverage, answers given) for every threshold of ``THRESHOLDS``."""
    answerable = sum(1 for r in records if r["gold_answers"])
    out = []
    for t in THRESHOLDS:
        given = [r for r in records if _given(r, t)]
        right = [r for r in given if r.get("correct_if_given", r.get("correct"))]
        out.append((float(t), len(right) / len(given) if given else 1.0,
                    sum(1 for r in right if r["gold_answers"]) / max(answerable, 1), len(given)))
    return out


def _given(record: dict, t: float) -> bool:
    """Whether ``record``'s answer is given when the policy's threshold is ``t``."""
    confidence = record.get("signals", {}).get("confidence")
    if confidence is None:
        return bool(record["answerable"])
    return record.get("correct_if_given") is not None and confidence >= t


def main() -> int:
    """Print each report's curve at every tenth of the threshold and draw them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--png", help="draw the curves into this PNG file")
    parser.add_argument("--threshold", type=float, help="the threshold to mark (default: the fitted policy's)")
    args = parser.parse_args()
    chosen = args.threshold if args.threshold is not None else fitted()["threshold"]
    curves = {}
    for path in args.reports:
        records = json.loads(Path(path).read_text(encoding="utf-8"))["records"]
        curves[Path(path).stem] = curve(records)
        print(f"{path}: threshold  right of given / answerable answered right (answers given)")
        for t, p, c, n in curves[Path(path).stem]:
            if abs(t * 10 - round(t * 10)) < 1e-9 or abs(t - chosen) < 1e-9:
                print(f"  {t:.2f}  {p:.3f} / {c:.3f} ({n})" + ("   <- default" if abs(t - chosen) < 1e-9 else ""))
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
        for name, points in curves.items():
            line, = ax.plot([c for _, _, c, _ in points], [p for _, p, _, _ in points], label=name)
            at = min(points, key=lambda x: abs(x[0] - chosen))
            ax.plot([at[2]], [at[1]], "o", color=line.get_color())
        ax.axhline(0.9, color="grey", linestyle="--", linewidth=0.8)
        ax.axvline(0.7, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("answerable questions answered right (coverage)")
        ax.set_ylabel("answers given that are right (precision)")
        ax.set_title(f"risk-coverage over the policy threshold (dot: {chosen:.2f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0.4, 1.0)
        ax.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
        fig.savefig(args.png)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
