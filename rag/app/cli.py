"""The `rag` command: parses flags, calls the library and prints through ``rag.app.console``."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from rag import validate
from rag.app.console import err, open_rag, out, plural, print_passage, reporter, show_stream
from rag.config import Settings, limits
from rag.errors import QuestionError, RagError, SettingsError
from rag.generate import choose
from rag.generate.models import check_model


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(args.config).replace(origin="command line", **{
            "paths.corpus": getattr(args, "corpus", None), "paths.index_dir": args.index_dir,
            "generate.model": getattr(args, "model", None), "generate.runtime": getattr(args, "runtime", None),
            "serve.host": getattr(args, "host", None), "serve.port": getattr(args, "port", None),
            "serve.api_key": getattr(args, "api_key", None)})
        if getattr(args, "model", None) is not None or args.command in ("ask", "chat", "serve", "mcp"):
            check_model(settings.generate.model)  # a mistyped --model fails now, not after loading the index
            choose(settings.generate)
        return args.run(args, settings)
    except RagError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]")
        return 130


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    rag = open_rag(settings, wait=True)
    if rag.report.write_error:
        raise rag.report.write_error
    out.print(f"{plural(len(rag.index.articles), 'article')}, {plural(len(rag.index.chunks), 'chunk')} in "
              f"{rag.index.path}" + (" (up to date)" if rag.report.unchanged else ""))
    return 0


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    validate.question(args.question, settings.answer.max_question_chars)  # mistakes are told before any loading
    k = validate.k(args.k, settings.retrieve.k, int(limits("retrieve.k")[1]))
    filters = validate.filters(args.publisher, args.since, args.until)
    rag = open_rag(settings, quiet=args.json)
    passages = rag.search(args.question, k=k, filters=filters)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=1))
        return 0
    if not passages:
        out.print("No passage matches" + (" these filters." if filters else "."))
    for n, passage in enumerate(passages, 1):
        print_passage(n, passage)
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    validate.question(args.question, settings.answer.max_question_chars)
    k = validate.k(args.k, settings.answer.k, int(limits("answer.k")[1]))
    rag = open_rag(settings, quiet=args.json)
    if args.json:
        print(json.dumps(rag.ask(args.question, k=k).to_dict(), ensure_ascii=False, indent=1))
        return 0
    show_stream(rag.stream(args.question, k=k), interactive=out.is_terminal)
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag.app.chat import run_chat

    return run_chat(settings, args.k)


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from rag.app.server import run_server

    return run_server(settings)


def _cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from rag.app.server import run_mcp

    return run_mcp(settings)


def counting(text: str) -> int:
    """A count of questions given on the command line: a whole number of at least 1 (argparse reports the rest)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of questions: give a whole number of at least 1")
    return value


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.evaluate import Evaluator, compare, load_questions

    questions, problems = load_questions(args.file, split=args.split)
    for problem in problems:
        err.print(f"[yellow]skipped[/yellow] {escape(str(problem))}")
    if args.limit:
        questions = questions[: args.limit]
    if args.sample and args.sample < len(questions):  # a seeded draw, in the file's order: the same N every run
        kept = set(random.Random(0).sample(range(len(questions)), args.sample))
        questions = [q for n, q in enumerate(questions) if n in kept]
    previous = None
    if args.compare:
        try:
            previous = json.loads(Path(args.compare).read_text(encoding="utf-8"))["metrics"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise QuestionError(f"{args.compare}: not a report written by rag eval --out ({exc})",
                                "pass a file written by rag eval --out") from None
    rag = open_rag(settings)
    evaluator = Evaluator(questions, retrieval_only=args.retrieval_only)
    results = evaluator(rag, reporter())
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
            colour = "green" if change and change > 0 else "red" if change and change < 0 else "dim"
            delta = "" if change is None else f"[{colour}]{change:+.3f}[/]"
            table.add_row(name, "" if before is None else f"{before:.3f}", f"{now:.3f}", delta)
    out.print(table)
    if args.out:
        report = {"file": str(args.file), "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "settings": settings.to_dict(), "metrics": results, "records": evaluator.records}
        try:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"{args.out}: cannot write the report ({exc.strerror or exc})",
                                "choose a writable path for --out") from None
        out.print(f"report written to {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Offline question answering over news "
                                     "articles, citing the source article every time.")
    parser.add_argument("--config", metavar="FILE", help="settings TOML file (default: ./rag.toml if present)")
    parser.add_argument("--index-dir", metavar="DIR", help="where indexes live (default: embeddings)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace, Settings], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(run=run)
        return p

    def model_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", metavar="NAME", help="local model: default, fast, or a model folder or .gguf file")
        p.add_argument("--runtime", choices=("auto", "transformers", "llama-cpp"), help="what runs the model "
                       "(default: auto, the fastest installed)")

    p = command("index", _cmd_index, "build or update the index of a corpus")
    p.add_argument("corpus", nargs="?", metavar="PATH", help="file or folder of articles (default: seeds)")

    p = command("search", _cmd_search, "show the passages that best match a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, metavar="N", help="how many passages (default 5)")
    p.add_argument("--json", action="store_true", help="print passages as JSON")
    p.add_argument("--corpus", metavar="PATH", help="file or folder of articles (default: seeds)")
    p.add_argument("--publisher", action="append", metavar="NAME", help="only this outlet (repeatable; the "
                   "outlets are the Source: lines or source fields of the articles)")
    p.add_argument("--since", metavar="DATE", help="only articles dated on or after (YYYY[-MM[-DD]])")
    p.add_argument("--until", metavar="DATE", help="only articles dated on or before (YYYY[-MM[-DD]])")

    p = command("ask", _cmd_ask, "answer a question from the articles, with cited sources")
    p.add_argument("question")
    p.add_argument("-k", type=int, metavar="N", help="how many passages the model reads (default 4)")
    p.add_argument("--json", action="store_true", help="print the answer, citations and passages as JSON")
    p.add_argument("--corpus", metavar="PATH", help="file or folder of articles (default: seeds)")
    model_flags(p)

    p = command("chat", _cmd_chat, "ask questions one after another, with follow-ups, in a terminal chat")
    p.add_argument("corpus", nargs="?", metavar="PATH", help="file or folder of articles (default: seeds)")
    p.add_argument("-k", type=int, metavar="N", help="how many passages the model reads (default 4)")
    model_flags(p)

    p = command("serve", _cmd_serve, "answer over HTTP: a web page, an OpenAI-compatible API and JSON endpoints")
    p.add_argument("corpus", nargs="?", metavar="PATH", help="file or folder of articles (default: seeds)")
    p.add_argument("--host", metavar="ADDRESS", help="address to listen on (default 127.0.0.1; another one needs "
                   "--api-key)")
    p.add_argument("--port", type=int, metavar="N", help="port to listen on (default 8000)")
    p.add_argument("--api-key", metavar="KEY", help="callers must send 'Authorization: Bearer KEY' (or set "
                   "RAG_SERVE__API_KEY, which other users cannot read in the process list)")
    model_flags(p)

    p = command("mcp", _cmd_mcp, "answer as an MCP server over stdio: tools search, ask and get_article")
    p.add_argument("corpus", nargs="?", metavar="PATH", help="file or folder of articles (default: seeds)")
    model_flags(p)

    p = command("eval", _cmd_eval, "score retrieval and answers on a JSONL question set")
    p.add_argument("file", help="JSONL: id, question, answers, source, type, evidence")
    p.add_argument("--retrieval-only", action="store_true", help="skip the model; score retrieval only")
    p.add_argument("--split", choices=("dev", "test"), help="only this part of a split question set")
    p.add_argument("--limit", type=counting, metavar="N", help="only the first N questions")
    p.add_argument("--sample", type=counting, metavar="N",
                   help="only N questions drawn at random (the same every run)")
    p.add_argument("--out", metavar="FILE", help="write the JSON report here")
    p.add_argument("--compare", metavar="OLD", help="show changes against an earlier --out report")
    p.add_argument("--corpus", metavar="PATH", help="file or folder of articles (default: seeds)")
    model_flags(p)
    return parser


if __name__ == "__main__":
    sys.exit(main())
