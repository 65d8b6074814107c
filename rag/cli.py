"""The `rag` command: a thin layer over the library that parses flags and prints results."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rag.answer import Answer
from rag.config import Settings
from rag.engine import RAG
from rag.errors import RagError
from rag.index import IndexReport
from rag.progress import stderr
from rag.retrieve import Filters, Passage

out = Console(highlight=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(args.config).replace(**{
            "paths.corpus": getattr(args, "corpus", None), "paths.index_dir": args.index_dir,
            "retrieve.k": getattr(args, "k", None), "answer.k": getattr(args, "k", None), "generate.model": getattr(args, "model", None)})
        return args.run(args, settings)
    except RagError as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        stderr.print("[yellow]interrupted[/yellow]")
        return 130


def open_rag(settings: Settings, quiet: bool = False) -> RAG:
    """Open the configured corpus, printing skipped input and what the index update did."""
    rag = RAG.open(settings.paths.corpus, settings.paths.index_dir, settings, progress=not quiet)
    for problem in rag.problems:
        stderr.print(f"[yellow]skipped[/yellow] {escape(str(problem))}")
    if not quiet:
        _print_report(rag.report, rag)
    return rag


def _print_report(report: IndexReport, rag: RAG) -> None:
    if report.rebuild_reason:
        stderr.print(f"[yellow]note:[/yellow] {escape(report.rebuild_reason)}")
    if report.unchanged:
        return
    stderr.print(f"index [bold]{rag.index.path}[/bold]: {len(report.added)} added, "
                 f"{len(report.changed)} changed, {len(report.removed)} removed, {report.kept} unchanged "
                 f"articles; {report.chunks_embedded} chunks embedded; "
                 f"{len(rag.index.chunks)} chunks in total")


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    rag = open_rag(settings)
    out.print(f"{len(rag.index.articles)} articles, {len(rag.index.chunks)} chunks in {rag.index.path}"
              + (" (up to date)" if rag.report.unchanged else ""))
    return 0


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    question = _question(args.question)
    rag = open_rag(settings, quiet=args.json)
    filters = Filters(publishers=tuple(args.publisher or ()), date_from=args.since, date_to=args.until)
    passages = rag.search(question, k=settings.retrieve.k, filters=filters)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=1))
        return 0
    if not passages:
        out.print("No passage matches.")
    for n, passage in enumerate(passages, 1):
        _print_passage(n, passage)
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    question = _question(args.question)
    rag = open_rag(settings, quiet=args.json)
    if args.json:
        print(json.dumps(rag.ask(question).to_dict(), ensure_ascii=False, indent=1))
        return 0
    stream = rag.stream(question)
    with out.status("Thinking…"):
        pieces = iter(stream)
        first = next(pieces, None)
    if first is not None:
        out.print(first, end="", markup=False, highlight=False)
        for piece in pieces:
            out.print(piece, end="", markup=False, highlight=False)
        out.print()
    print_answer(stream.answer, draft_shown=first is not None)
    return 0


def print_answer(answer: Answer, draft_shown: bool = False) -> None:
    """The checked answer (when it differs from the streamed draft) and its Sources block."""
    if draft_shown and not _same_words(answer.text, answer.raw):
        out.print(f"[dim]checked:[/dim] {escape(answer.text)}" if answer.answerable
                  else f"[yellow]{escape(answer.text)}[/yellow] [dim]({escape(answer.reason or '')})[/dim]")
    elif not draft_shown:
        out.print(escape(answer.text))
    if answer.answerable:
        out.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            when = f" · {c.date}" if c.date else ""
            out.print(f"[bold cyan][{c.number}][/bold cyan] [bold]{escape(c.title)}[/bold]{when} "
                      f"[dim]{escape(c.source)}[/dim]")
            out.print(f"    “{escape(c.quote)}”")
    elif answer.related:
        out.print("\n[bold]Closest articles[/bold] [dim](not citations)[/dim]")
        for p in answer.related:
            out.print(f"  - {escape(p.title)}" + (f" · {p.date}" if p.date else ""))


def _same_words(checked: str, draft: str) -> bool:
    """Whether the checked answer says what the streamed draft said (citation markers aside)."""
    def words(text: str) -> list[str]:
        return re.findall(r"\w+", re.sub(r"\[[^\]]*\]", " ", text).lower())
    return words(checked) == words(draft)


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag.chat import run_chat

    return run_chat(settings)


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.evaluate import Evaluator, compare, load_questions

    questions, problems = load_questions(args.file)
    for problem in problems:
        stderr.print(f"[yellow]skipped[/yellow] {escape(str(problem))}")
    if args.limit:
        questions = questions[: args.limit]
    previous = None
    if args.compare:
        try:
            previous = json.loads(Path(args.compare).read_text(encoding="utf-8"))["metrics"]
        except (OSError, ValueError, KeyError) as exc:
            raise RagError(f"{args.compare}: not a report written by rag eval --out ({exc}).") from None
    rag = open_rag(settings)
    evaluator = Evaluator(questions, retrieval_only=args.retrieval_only)
    results = evaluator(rag)
    table = Table(title=f"{args.file} · {len(questions)} questions"
                  + ("" if args.retrieval_only else f" · model {settings.generate.model}"))
    table.add_column("metric")
    if previous is not None:
        table.add_column("before", justify="right")
    table.add_column("value", justify="right")
    if previous is not None:
        table.add_column("change", justify="right")
    for name, before, now, change in compare(results, previous or {}):
        if previous is None:
            table.add_row(name, f"{now:.3f}")
        else:
            delta = "" if change is None else f"[{'green' if change > 0 else 'red' if change < 0 else 'dim'}]{change:+.3f}[/]"
            table.add_row(name, "" if before is None else f"{before:.3f}", f"{now:.3f}", delta)
    out.print(table)
    if args.out:
        report = {"file": str(args.file), "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "settings": settings.to_dict(), "metrics": results, "records": evaluator.records}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        out.print(f"report written to {args.out}")
    return 0


def _print_passage(n: int, passage: Passage) -> None:
    when = f" · {passage.date}" if passage.date else ""
    out.print(f"[bold cyan][{n}][/bold cyan] [bold]{escape(passage.title)}[/bold]{when} "
              f"[dim]score {passage.score:.4f} · {escape(passage.source)}[/dim]")
    text = passage.text if len(passage.text) <= 400 else passage.text[:400].rsplit(" ", 1)[0] + " …"
    out.print(f"    {escape(text)}\n")


def _question(text: str) -> str:
    if not text.strip():
        raise RagError("the question is empty. Fix: ask something, e.g. rag search \"What is the DSRB?\"")
    return text.strip()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Offline question answering over news "
                                     "articles, citing the source article every time.")
    parser.add_argument("--config", metavar="FILE", help="settings TOML file (default: ./rag.toml if present)")
    parser.add_argument("--index-dir", metavar="DIR", help="where indexes live (default: embeddings)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Callable[[argparse.Namespace, Settings], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(run=run)
        return p

    p = command("index", _cmd_index, "build or update the index of a corpus")
    p.add_argument("corpus", nargs="?", metavar="PATH", help="file or folder of articles (default: seeds)")

    p = command("search", _cmd_search, "show the passages that best match a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, metavar="N", help="how many passages (default 5)")
    p.add_argument("--json", action="store_true", help="print passages as JSON")
    p.add_argument("--corpus", metavar="PATH", help="file or folder of articles (default: seeds)")
    p.add_argument("--publisher", action="append", metavar="NAME", help="only this outlet (repeatable)")
    p.add_argument("--since", metavar="DATE", help="only articles dated on or after (YYYY[-MM[-DD]])")
    p.add_argument("--until", metavar="DATE", help="only articles dated on or before")

    p = command("ask", _cmd_ask, "answer a question from the articles, with cited sources")
    p.add_argument("question")
    p.add_argument("-k", type=int, metavar="N", help="how many passages the model reads (default 4)")
    p.add_argument("--json", action="store_true", help="print the answer, citations and passages as JSON")
    p.add_argument("--model", metavar="fast|default|PATH", help="local model (default: default)")
    p.add_argument("--corpus", metavar="PATH", help="file or folder of articles (default: seeds)")

    p = command("chat", _cmd_chat, "ask questions one after another, with follow-ups, in a terminal chat")
    p.add_argument("corpus", nargs="?", metavar="PATH", help="file or folder of articles (default: seeds)")
    p.add_argument("-k", type=int, metavar="N", help="how many passages the model reads (default 4)")
    p.add_argument("--model", metavar="fast|default|PATH", help="local model (default: default)")

    p = command("eval", _cmd_eval, "score retrieval and answers on a JSONL question set")
    p.add_argument("file", help="JSONL: id, question, answers, source, type, evidence")
    p.add_argument("--retrieval-only", action="store_true", help="skip the model; score retrieval only")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    p.add_argument("--out", metavar="FILE", help="write the JSON report here")
    p.add_argument("--compare", metavar="OLD", help="show changes against an earlier --out report")
    p.add_argument("--model", metavar="fast|default|PATH", help="local model (default: default)")
    p.add_argument("--corpus", metavar="PATH", help="file or folder of articles (default: seeds)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
