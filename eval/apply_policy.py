"""The default settings' decision, taken on a record-mode report: the fitted policy applied to its signals.

    .venv/bin/python eval/apply_policy.py eval/reports/record-blind-test.json --out eval/reports/blind-test.json

A run with ``eval/record.toml`` differs from one with the default settings only in its last step: every answer
that passed grounding is given, whatever its confidence. The policy (``rag/answer/policy.json``) is a function
of the signals each answer carries, so applying it afterwards takes the same decision the default settings
take in ``rag.answer.single.Answerer.check`` (the verifier's score is added first when the policy reads it and
the run did not measure it): an answer below the threshold is withheld, keeping whether it would have been
right (``correct_if_given``) and its confidence, as a default run records them. Answers of questions that
name several reports, decided by their own rules (``rag.answer.parts``), are left as they are. The report
is written with its metrics recomputed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eval.fit_policy import verify  # noqa: E402
from rag.answer.policy import confidence, fitted  # noqa: E402
from rag.evaluate.evaluator import summarize  # noqa: E402


def decide(records: list[dict], policy: dict) -> int:
    """Withhold, in place, each given answer of ``records`` whose confidence is below the policy's threshold;
    the number withheld."""
    if "verifier" in policy["features"]:
        verify(records)
    withheld = 0
    for r in records:
        if not r["answerable"] or "p_confirm" not in r["signals"]:  # withheld before the policy, or multi-part
            continue
        r["signals"]["confidence"] = score = round(confidence(r["signals"], policy), 4)
        if score < policy["threshold"]:
            r.update(answerable=False, correct_if_given=r["correct"], correct=False, f1=0.0, cited=[],
                     cited_with_answer=[], sentences=0, unsupported_sentences=0,
                     reason=f"the checks give this answer a confidence of {score:.2f}, below "
                            f"{policy['threshold']:.2f}")
            withheld += 1
    return withheld


def main() -> int:
    """Apply the policy to one report and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="a rag eval --out report made with eval/record.toml")
    parser.add_argument("--out", required=True, help="where to write the report with the policy's decisions")
    args = parser.parse_args()
    report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    answer = report["settings"]["answer"]
    if answer["min_confidence"] != 0.0 or answer["confirm_below"] != 0.0 or answer["abstain_above"] < 1:
        raise SystemExit(f"{args.report}: not a record-mode report (made with eval/record.toml)")
    withheld = decide(report["records"], fitted())
    report["metrics"] = summarize(report["records"])
    report["policy_applied"] = {"threshold": fitted()["threshold"], "withheld": withheld}
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{withheld} answers withheld by the policy (threshold {fitted()['threshold']:.2f}); {args.out} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
