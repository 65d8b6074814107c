"""`rag chat`: follow-up detection and rewriting, then real sessions with the fast model (pty and pipe)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from rag.rewrite import MAX_NEW_TOKENS, Turn, fallback, key_phrase, needs_rewrite, rewrite
from tests.conftest import ROOT, SEEDS

DSRB = [Turn("What is the DSRB?", "The Defense, Security and Resilience Bank (DSRB) is a new bank [1].")]
TIMEOUT = 180  # seconds per step: the fast model on a busy 2-core CPU


class FakeGenerator:
    """Answers every prompt with one crafted reply and remembers what it was asked."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[list[dict[str, str]], int | None]] = []

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int | None = None) -> str:
        """The crafted reply."""
        self.calls.append((messages, max_new_tokens))
        return self.reply


@pytest.mark.parametrize("question, expected", [
    ("Where might it be headquartered?", True),
    ("What did their leaders say?", True),
    ("Why?", True),
    ("And Canada?", True),
    ("What about the bond issue?", True),
    ("How much money?", True),
    ("What is the DSRB?", False),  # short, but it names what it asks about
    ("Who is the managing director of the European Stability Mechanism?", False),
    ("Which countries are working to set up a new bank by 2027?", False),
])
def test_needs_rewrite(question: str, expected: bool) -> None:
    assert needs_rewrite(question, DSRB) is expected
    assert needs_rewrite(question, []) is False  # nothing to lean on


def test_a_good_rewrite_is_used_and_the_prompt_is_short() -> None:
    generator = FakeGenerator('Standalone: "Where might the DSRB be headquartered?"\nIt is in Ottawa.')
    assert rewrite("Where might it be headquartered?", DSRB, generator) == "Where might the DSRB be headquartered?"
    [(messages, max_new_tokens)] = generator.calls
    assert max_new_tokens == MAX_NEW_TOKENS
    prompt = messages[-1]["content"]
    assert prompt.endswith("Previous question: What is the DSRB?\nPrevious answer: The Defense, Security and "
                           "Resilience Bank (DSRB) is a new bank.\nFollow-up: Where might it be headquartered?\n"
                           "Standalone:")


@pytest.mark.parametrize("reply", [
    "The DSRB might be headquartered in Ottawa [1].",  # an answer, not a question
    "According to the sources, where is the DSRB?",  # answer-like start
    "Where might the DSRB [1] be headquartered?",  # citation marker
    "Where is the DSRB? Is it in Canada?",  # two questions
    "Where might it be headquartered?",  # echo: adds nothing from the conversation
    "What is the DSRB?",  # drops what the follow-up asks
    "What was Pierre Gramegna's role in the European Stability Mechanism?",  # drifts to the examples
    "Where " + "really " * 50 + "is the DSRB?",  # far too long
    "",
])
def test_a_bad_rewrite_falls_back(reply: str) -> None:
    assert rewrite("Where might it be headquartered?", DSRB, FakeGenerator(reply)) == \
        "Where might the DSRB be headquartered?"


def test_fallback_substitutes_the_subject_or_attaches_the_context() -> None:
    assert fallback("Who runs its board?", DSRB) == "Who runs the DSRB's board?"
    assert fallback("Why?", DSRB) == "Why? (context: What is the DSRB?)"
    assert fallback("When did he say that?", DSRB) == "When did he say that? (context: What is the DSRB?)"
    chained = [Turn("Why? (context: What is the DSRB?)", "Because.")]
    assert fallback("Where is it?", chained) == "Where is the DSRB?"
    assert key_phrase("Who leads the European Stability Mechanism?") == "the European Stability Mechanism"
    assert key_phrase("what is inflation?") == "inflation"
    assert key_phrase("how do rates work?") is None


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index folder for both sessions; the first chat builds it."""
    return tmp_path_factory.mktemp("chat-index")


def _command(index_dir: Path) -> list[str]:
    return ["-m", "rag.cli", "--index-dir", str(index_dir), "chat", str(SEEDS), "--model", "fast"]


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "TERM": "dumb", "RAG_GENERATE__RUNTIME": "transformers"}


def _phrase(text: str) -> str:
    """A pattern for ``text`` that allows line breaks between words (rich wraps at 80 columns on TERM=dumb)."""
    return r"\s+".join(re.escape(word) for word in text.split())


def test_terminal_session(index_dir: Path) -> None:
    chat = pexpect.spawn(sys.executable, _command(index_dir), cwd=ROOT, env=_env(), encoding="utf-8",
                         timeout=TIMEOUT, dimensions=(50, 200))
    prompt = "rag> "
    chat.expect(_phrase("seeds: 10 articles, 47 chunks · model fast · type /help"))
    chat.expect_exact(prompt)
    chat.sendline("/k 5")
    chat.expect_exact("5 passages per question")
    chat.expect_exact(prompt)

    chat.sendline("How much does the DSRB aim to fundraise?")
    chat.expect_exact("Sources")
    chat.expect(_phrase("bypass legal constraints on military spending, Izvestia reports"))
    chat.expect_exact(prompt)

    chat.sendline("Where might it be headquartered?")
    chat.expect(r"searching: (.*?\?(?: \(context: .*?\))?)\s")
    assert re.search(r"DSRB|[Bb]ank", chat.match.group(1)), chat.match.group(1)
    chat.expect_exact(prompt)  # the 0.5B's answer varies; what it was given is checked next

    chat.sendline("/sources")  # the rewritten follow-up retrieved the passage that answers it
    chat.expect(_phrase("Ottawa and Toronto mulled as potential locations"))
    chat.expect_exact(prompt)

    chat.sendline("What does the US National Defense Strategy say about Russia?")
    chat.expect(r"about Russia\?\r+\n")  # the line as typed, echoed
    chat.expect(r"\S")  # the first streamed piece: the model is writing
    chat.sendintr()
    chat.expect_exact("stopped")
    chat.expect_exact(prompt)
    assert "Sources" not in chat.before

    chat.send("half a question")
    chat.sendintr()  # at the prompt: clears the line, stays in the chat
    chat.expect_exact(prompt)
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_ctrl_d_leaves_with_exit_code_0(index_dir: Path) -> None:
    chat = pexpect.spawn(sys.executable, _command(index_dir), cwd=ROOT, env=_env(), encoding="utf-8",
                         timeout=TIMEOUT, dimensions=(50, 200))
    chat.expect_exact("rag> ")
    time.sleep(1)  # let the prompt switch the terminal to raw mode, or the tty eats Ctrl-D
    chat.sendcontrol("d")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_piped_session(index_dir: Path) -> None:
    question = "How much does the DSRB aim to fundraise?"
    lines = f"{question}\n/nope\n/model /no/such/model\n{question}\n/quit\nignored\n"
    result = subprocess.run([sys.executable, *_command(index_dir)], input=lines,
                            capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=3 * TIMEOUT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"> {question}\n")
    assert "Sources" in out and "Izvestia reports" in out and "DSRB" in out
    assert "\x1b[" not in out and "ignored" not in out  # plain text; nothing read after /quit
    assert "unknown command /nope" in result.stderr
    # a failed model switch keeps the model in use: the next question is still answered, by it
    assert "/no/such/model: no such model" in result.stderr.replace("\n", "")
    assert out.count(f"> {question}") == 2 and out.count("Sources") + out.count("Closest articles") == 2
    assert "Loading model" not in result.stderr  # no spinner when scripted
