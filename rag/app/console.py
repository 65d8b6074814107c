"""Everything the command line and the chat print: consoles, progress rendering, answers and passages.

The library computes and returns; this module is the only place that turns its results and its
progress events into text on a terminal (rich) or in a log (plain lines).
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from rag.answer import Answer
from rag.config import Settings
from rag.engine import RAG, AnswerStream
from rag.index import IndexReport
from rag.progress import Event, Reporter
from rag.retrieve import Passage

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
QUIET_S = 1.0  # a counted step (reading, embedding) shows progress only once it has taken this long


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1: "1 article", "2 articles", "1,000 chunks"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


class RichReporter:
    """Draws progress events as rich bars (counts, elapsed, ETA) or spinners (no count) on the terminal; a
    counted step shows only once it has taken ``quiet_s`` seconds (reading six files draws nothing)."""

    def __init__(self, console: Console | None = None, quiet_s: float = QUIET_S) -> None:
        """Bars go to ``console``."""
        self.console = console or err
        self.quiet_s = quiet_s
        self.progress: Progress | None = None
        self.started: dict[tuple[str, str], float] = {}
        self.tasks: dict[tuple[str, str], TaskID] = {}

    def __call__(self, event: Event) -> None:
        """Start, advance or finish the bar of ``event``; print notes as lines."""
        if event.stage == "note":
            self.console.print(f"[yellow]note:[/yellow] {escape(event.description)}")
            return
        key = (event.stage, event.description)
        now = time.perf_counter()
        if key not in self.started:
            if event.finished:
                return
            self.started[key] = now
        if key not in self.tasks:
            if event.finished or (event.total is not None and now - self.started[key] < self.quiet_s):
                if event.finished:
                    del self.started[key]
                return
            if self.progress is None:
                self.progress = Progress(SpinnerColumn(finished_text="[green]✓[/green]"),
                                         TextColumn("{task.description}"), BarColumn(), *self._counts(event),
                                         TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                         console=self.console, transient=False)
                self.progress.start()
            self.tasks[key] = self.progress.add_task(event.description, total=event.total)
        assert self.progress is not None
        self.progress.update(self.tasks[key], completed=event.done)
        if event.finished:  # a finished step shows a tick, not a spinner frozen mid-turn
            done = event.total or max(event.done, 1)
            self.progress.update(self.tasks.pop(key), total=done, completed=done)
            del self.started[key]
            if not self.tasks:
                self.progress.stop()
                self.progress = None

    @staticmethod
    def _counts(event: Event) -> tuple:
        return (DownloadColumn(), TransferSpeedColumn()) if event.unit == "bytes" else (MofNCompleteColumn(),)


class LineReporter:
    """Writes progress events as plain lines (for logs and CI): the start, every twentieth of the way, the end;
    a counted step writes nothing until it has taken ``quiet_s`` seconds (reading six files writes no line)."""

    def __init__(self, stream=None, quiet_s: float = QUIET_S) -> None:  # noqa: ANN001
        """Lines go to ``stream`` (default: the current stderr)."""
        self.stream = stream
        self.quiet_s = quiet_s
        self.started: dict[tuple[str, str], float] = {}
        self.shown: dict[tuple[str, str], int] = {}  # the last twentieth printed, for steps that have a line

    def __call__(self, event: Event) -> None:
        """One line when a step starts, advances another 5% and ends; notes as they come."""
        stream = self.stream or sys.stderr
        if event.stage == "note":
            print(f"note: {event.description}", file=stream, flush=True)
            return
        key = (event.stage, event.description)
        now = time.perf_counter()
        if key not in self.started:
            if event.finished:
                return
            self.started[key] = now
        elapsed = now - self.started[key]
        if key not in self.shown:
            if event.finished or (event.total is not None and elapsed < self.quiet_s):
                if event.finished:
                    del self.started[key]
                return
            self.shown[key] = 0
            print(f"{event.description}: started" + (f" ({event.total:,} {event.unit or 'items'})"
                                                      if event.total else ""), file=stream, flush=True)
        if event.finished:
            del self.started[key], self.shown[key]
            print(f"{event.description}: done in {elapsed:.1f} s", file=stream, flush=True)
        elif event.total:
            twentieth = event.done * 20 // event.total
            if twentieth > self.shown[key]:
                self.shown[key] = twentieth
                eta = elapsed / event.done * (event.total - event.done) if event.done else 0
                print(f"{event.description}: {event.done:,}/{event.total:,} ({elapsed:.0f} s, eta {eta:.0f} s)",
                      file=stream, flush=True)


def reporter(quiet: bool = False) -> Reporter:
    """The progress reporter for this process: rich bars on a terminal, plain lines in a log, or only
    notes when ``quiet``."""
    if quiet:
        lines = LineReporter()
        return lambda event: lines(event) if event.stage == "note" else None
    return RichReporter() if err.is_terminal else LineReporter()


def open_rag(settings: Settings, quiet: bool = False, wait: bool = False) -> RAG:
    """Open the configured corpus with progress shown, printing skipped input and what the index update did;
    ``wait``: for another process updating the index (``rag index``), instead of using the index on disk."""
    rag = RAG.open(settings.paths.corpus, settings.paths.index_dir, settings, reporter=reporter(quiet), wait=wait)
    for problem in rag.problems:
        err.print(f"[yellow]skipped[/yellow] {escape(str(problem))}")
    if not quiet:
        print_index_report(rag.report, rag)
    return rag


def print_index_report(report: IndexReport, rag: RAG) -> None:
    """One line saying what opening the index changed (nothing when it was up to date, or when the update
    could not be written or another process was updating it: a note said so)."""
    if report.unchanged or report.write_error or report.busy_writer:
        return
    if report.rebuild_reason:
        err.print(f"index [bold]{rag.index.path}[/bold]: rebuilt, {plural(len(rag.index.articles), 'article')}, "
                  f"{plural(report.chunks_embedded, 'chunk')} embedded")
        return
    err.print(f"index [bold]{rag.index.path}[/bold]: {len(report.added)} added, {len(report.changed)} changed, "
              f"{len(report.removed)} removed, {plural(report.kept, 'unchanged article')}; "
              f"{plural(report.chunks_embedded, 'chunk')} embedded; {plural(len(rag.index.chunks), 'chunk')} in total")


def show_stream(stream: AnswerStream, interactive: bool) -> Answer:
    """Run ``stream``: on a terminal the model's draft is shown as it is written, then replaced by the
    checked answer (whose citation numbers match its Sources); in a pipe only the checked answer is
    printed. Returns the Answer."""
    pieces = iter(stream)
    try:
        if interactive:
            with Live(Text("Searching and reading the articles…", style="dim"), console=out, transient=True,
                      refresh_per_second=12) as live:
                draft = ""
                for piece in pieces:
                    draft += piece
                    live.update(Text(draft, style="dim"))
        else:
            for _ in pieces:
                pass
    finally:
        close = getattr(pieces, "close", None)
        if close:
            close()  # stops the model on Ctrl-C
    assert stream.answer is not None
    print_answer(stream.answer)
    return stream.answer


def print_answer(answer: Answer) -> None:
    """The checked answer and its Sources block (or, when withheld, why, and the sentences closest to the
    question with their articles, set apart from any answer)."""
    if answer.answerable:
        out.print(escape(answer.text))
        out.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            when = f" · {c.date}" if c.date else ""
            out.print(f"[bold cyan][{c.number}][/bold cyan] [bold]{escape(c.title)}[/bold]{when} "
                      f"[dim]{escape(c.source)}[/dim]")
            out.print(f"    “{escape(c.quote)}”")
        return
    out.print(f"[yellow]{escape(answer.text)}[/yellow]" + (f" [dim]({escape(answer.reason)})[/dim]"
                                                          if answer.reason else ""))
    if answer.closest:
        out.print("\n[bold]What the articles do say[/bold] [dim](the sentences closest to the question; "
                  "not an answer)[/dim]")
        for c in answer.closest:
            out.print(f"  - “{escape(c.quote.strip())}” [dim]— {escape(c.title)}" + (f" · {c.date}" if c.date else "")
                      + "[/dim]")
    elif answer.related:
        out.print("\n[bold]Closest articles[/bold] [dim](not citations)[/dim]")
        for p in answer.related:
            out.print(f"  - {escape(p.title)}" + (f" · {p.date}" if p.date else ""))


def print_passage(n: int, passage: Passage, full: bool = False) -> None:
    """Passage ``n`` with its article, date, score and (the start of) its text."""
    when = f" · {passage.date}" if passage.date else ""
    out.print(f"[bold cyan][{n}][/bold cyan] [bold]{escape(passage.title)}[/bold]{when} "
              f"[dim]score {passage.score:.4f} · {escape(passage.source)}[/dim]")
    text = passage.text if full or len(passage.text) <= 400 else passage.text[:400].rsplit(" ", 1)[0] + " …"
    out.print(Text(f"    {text}\n"))

