"""Bring a `rag eval --out` report up to date after a change to grounding, without answering everything again.

    .venv/bin/python eval/recheck.py eval/reports/record-seeds.json [--config eval/record.toml] [--corpus PATH]

Each record's stored reply (``raw``) is held to its quotes again by the current code (retrieval and
excerpts are deterministic, so the draft is rebuilt without the model). Records whose answer text changes
are asked again in full with the current code and settings (the model's second look depends on the answer);
the others keep their record. The report is rewritten with its metrics recomputed, and the changed questions
are listed. Records of follow-ups are asked again only when their own answer changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag import RAG, Settings  # noqa: E402
from rag.evaluate import Evaluator, load_questions  # noqa: E402
from rag.evaluate.evaluator import summarize  # noqa: E402

# the reasons rag.answer.single.Answerer.hold gives
HOLD_FAILURES = ("no passage matched", "found no answer", "only restates the question", "no source sentence holds")


def regrounded(rag: RAG, record: dict) -> str | None:
    """The answer text the current code makes of the record's stored reply before its checks (None: the reply
    is not held to any quote)."""
    question = record.get("asked") or record["question"]
    draft = rag.answerer.draft(rag.flow.read(question), rag.search(question, k=rag.settings.answer.k))
    draft.raw = record["raw"]
    grounded, failure = rag.answerer.hold(draft)
    return None if failure else rag.answerer.compose(draft, grounded).text


def main() -> int:
    """Recheck one report in place."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--config", default=str(ROOT / "eval" / "record.toml"))
    parser.add_argument("--corpus", help="the corpus the report's questions are about (default: the settings')")
    args = parser.parse_args()
    report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    settings = Settings.load(args.config)
    if args.corpus:
        settings = settings.replace(**{"paths.corpus": args.corpus})
    rag = RAG.open(settings.paths.corpus, index_dir=settings.paths.index_dir, settings=settings)
    questions = {q.id: q for q in load_questions(report["file"])[0]}
    changed = []
    for n, record in enumerate(report["records"]):
        held = record["answerable"] or not any(r in (record["reason"] or "") for r in HOLD_FAILURES)
        before = (record["answer"] if record["answerable"] else "?") if held else None
        now = regrounded(rag, record)
        if now == before or (held and now is not None and not record["answerable"]):
            continue  # unchanged (an answer withheld after it was held keeps its record when it is held again)
        evaluator = Evaluator([questions[record["id"]]])
        evaluator(rag)
        report["records"][n] = {**evaluator.records[0], **{k: record[k] for k in ("split",) if k in record}}
        changed.append((record["id"], record["answer"], report["records"][n]["answer"]))
    report["metrics"] = summarize(report["records"])
    report["rechecked"] = [c[0] for c in changed]
    Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    for qid, before, after in changed:
        print(f"{qid}: {before!r} -> {after!r}")
    print(f"{len(changed)} of {len(report['records'])} records asked again; {args.report} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
