"""The answer figures of `rag eval --out` reports as Markdown tables, overall and per question type.

    .venv/bin/python eval/answer_table.py eval/reports/blind-test.json [more reports]

Columns: questions; answerable questions answered right; answerable questions withheld; near misses
(unanswerable questions) withheld; of the answers given, the share that are right (an answered near miss is
wrong) and the count given; the share of answers given whose short answer stands word for word in its quotes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.evaluate.evaluator import summarize  # noqa: E402


def row(name: str, records: list[dict]) -> str:
    """One table row for ``records``."""
    metrics = summarize(records)
    answerable = [r for r in records if r["gold_answers"]]
    near = [r for r in records if not r["gold_answers"]]
    given = [r for r in records if r["answerable"]]

    def share(key: str, n: int, count: bool = False) -> str:
        if key not in metrics or not n:
            return ""
        value = metrics[key]
        return f"{value:.3f} ({round(value * n)} of {n})" if count else f"{value:.3f}"
    return (f"| {name} | {len(records)} | {share('answer_accuracy', len(answerable), True)} "
            f"| {share('answerable_abstained', len(answerable))} | {share('unanswerable_abstained', len(near), True)} "
            f"| {share('given_right', len(given), True)} | {share('given_in_quote', len(given))} |")


def main() -> int:
    """Print each report's table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+")
    args = parser.parse_args()
    for path in args.reports:
        records = json.loads(Path(path).read_text(encoding="utf-8"))["records"]
        print(f"\n{path}\n")
        print("| type | n | answerable answered right | answerable withheld | near misses withheld "
              "| answers given that are right | answer in its quote |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(row("**all**", records))
        for kind in sorted({r["type"] for r in records}):
            print(row(kind, [r for r in records if r["type"] == kind]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
