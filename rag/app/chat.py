"""`rag chat`: ask question after question, with follow-ups, streamed answers, sources and commands."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text

from rag import validate
from rag.answer import Answer
from rag.app.console import err, open_rag, out, plural, show_stream
from rag.config import Settings, cache_dir, limits
from rag.engine import RAG
from rag.errors import QuestionError, RagError
from rag.rewrite import HISTORY_TURNS, Turn, needs_rewrite, standalone

PROMPT = "rag> "
MAX_K = int(limits("answer.k")[1])
HELP = """Ask a question about the articles; follow-ups ("Where is it based?") are rewritten using the last turns.
  /sources        full passages behind the last answer
  /article N      cited article N, with the quote highlighted
  /k N            passages given to the model per question
  /model NAME     switch the local model: fast, default, or a path
  /clear          forget the conversation (follow-ups start over)
  /help           this help
  /quit           leave (also Ctrl-D); Ctrl-C stops an answer"""


def run_chat(settings: Settings, k: int | None = None) -> int:
    """Open the index and the model, then answer questions from the terminal (or stdin, one per line) with ``k``
    passages each (None: ``answer.k``)."""
    k = validate.k(k, settings.answer.k, MAX_K)
    interactive = sys.stdin.isatty()
    if interactive:  # Ctrl-C stops an answer even when started with SIGINT ignored (a script's `rag chat &`)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    rag = open_rag(settings, quiet=not interactive)
    chat = Chat(rag, interactive, k)
    chat.load_models()
    if interactive:
        chat.banner()
    return chat.run(_prompt_lines() if interactive else sys.stdin)


class Chat:
    """One chat session over a RAG: the conversation so far, the last answer and the settings in use."""

    def __init__(self, rag: RAG, interactive: bool, k: int | None = None) -> None:
        """A new conversation over ``rag`` with ``k`` passages per question (None: ``answer.k``)."""
        self.rag = rag
        self.interactive = interactive
        self.k = k or rag.settings.answer.k
        self.history: list[Turn] = []
        self.last: Answer | None = None
        self.commands: dict[str, Callable[[str], None]] = {
            "help": lambda _: out.print(escape(HELP), highlight=False), "sources": self.sources,
            "article": self.article, "k": self.set_k, "model": self.set_model, "clear": self.clear}

    def run(self, lines: Iterable[str]) -> int:
        """Handle each line (question or /command) until /quit or the end of input; returns the exit code."""
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            if not self.interactive:
                out.print(f"> {escape(line)}", highlight=False)
            try:
                if line.startswith("/"):
                    self.command(line)
                else:
                    self.ask(line)
            except KeyboardInterrupt:
                out.print("\n[yellow]stopped[/yellow]")
            except RagError as exc:
                err.print(f"[red]error:[/red] {escape(str(exc))}")
            out.print()
        return 0

    def banner(self) -> None:
        """Corpus, its size, the model and how to get help."""
        index, corpus = self.rag.index, Path(self.rag.settings.paths.corpus).resolve().name
        out.print(f"[bold]rag chat[/bold] · [bold]{escape(corpus)}[/bold]: "
                  f"{plural(len(index.articles), 'article')}, {plural(len(index.chunks), 'chunk')} · model "
                  f"[bold]{escape(self.rag.settings.generate.model)}[/bold] · type [bold]/help[/bold]\n")

    def load_models(self) -> None:
        """Load the search and language models now, so the first question does not wait for them."""
        with self._status("Loading the search model…"):
            self.rag.embedder.model  # noqa: B018 - loads on first access
        self.rag.generator  # noqa: B018 - loads with its own progress line

    def ask(self, question: str) -> None:
        """Rewrite a follow-up into a standalone question, stream the answer, then show the checked one and sources."""
        with self._status("Reading the follow-up…") if needs_rewrite(question, self.history) \
                else contextlib.nullcontext():
            query = standalone(question, self.history, self.rag.generator)
        if query != question:
            out.print(f"[dim]searching: {escape(query)}[/dim]", highlight=False)
        answer = show_stream(self.rag.stream(query, k=self.k), self.interactive)
        self.last = answer
        self.history = (self.history + [Turn(query, answer.text)])[-HISTORY_TURNS:]

    def command(self, line: str) -> None:
        """Run one /command with its argument."""
        name, _, argument = line[1:].partition(" ")
        if name not in self.commands:
            raise QuestionError(f"unknown command /{name}", "type /help for the list")
        self.commands[name](argument.strip())

    def sources(self, _: str) -> None:
        """The full passages the last answer was written from."""
        for n, passage in enumerate(self._last().passages, 1):
            when = f" · {passage.date}" if passage.date else ""
            out.print(f"[bold cyan][{n}][/bold cyan] [bold]{escape(passage.title)}[/bold]{when} "
                      f"[dim]{escape(passage.source)}[/dim]", highlight=False)
            out.print(Text(passage.text), "", highlight=False)

    def article(self, argument: str) -> None:
        """The whole article behind citation N of the last answer, its quote highlighted."""
        number = _number(argument, "/article N")
        citation = next((c for c in self._last().citations if c.number == number), None)
        if citation is None:
            raise QuestionError(f"the last answer has no citation [{number}]", "pick a number from its Sources")
        article = self.rag.article(citation.article_id)
        text = Text(article.text)
        text.stylize("bold black on yellow", citation.quote_start, citation.quote_end)
        when = f" · {article.date}" if article.date else ""
        out.print(f"[bold]{escape(article.title)}[/bold]{when} [dim]{escape(article.source)}[/dim]\n",
                  highlight=False)
        out.print(text, highlight=False)

    def set_k(self, argument: str) -> None:
        """How many passages the model gets per question."""
        self.k = validate.k(_number(argument, "/k N"), self.k, MAX_K)
        out.print(f"{self.k} passages per question")

    def set_model(self, name: str) -> None:
        """Switch to another local model, loading it now; keep the old one when that fails."""
        if not name:
            raise QuestionError(f"/model needs a name (now {self.rag.settings.generate.model})",
                                "type e.g. /model fast")
        switched = self.rag.using(self.rag.settings.replace(origin="/model", **{"generate.model": name}))
        switched.generator  # noqa: B018 - load it now; on failure the chat keeps the model in use
        self.rag = switched
        out.print(f"model {escape(name)}")

    def clear(self, _: str) -> None:
        """Forget the conversation: the next question is not read as a follow-up."""
        self.history.clear()
        out.print("conversation cleared")

    def _last(self) -> Answer:
        if self.last is None:
            raise QuestionError("no answer yet", "ask a question first")
        return self.last

    def _status(self, text: str) -> contextlib.AbstractContextManager[Any]:
        """A spinner on the terminal; nothing when reading from a pipe."""
        return out.status(text) if self.interactive else contextlib.nullcontext()


def _number(argument: str, usage: str) -> int:
    if not argument.isdigit() or int(argument) < 1:
        raise QuestionError(f"{usage} needs a positive number, got {argument or 'nothing'!r}",
                            f"type e.g. {usage[:-1]}4")
    return int(argument)


def _prompt_lines() -> Iterator[str]:
    """Lines typed at the prompt, with editing and history; Ctrl-C clears the line, Ctrl-D ends."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(cache_dir() / "chat_history"))
    except OSError:
        history = InMemoryHistory()
    session: PromptSession[str] = PromptSession(history=history)
    while True:
        try:
            yield session.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
