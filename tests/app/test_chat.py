"""`rag chat`: real sessions with the fast model, in a terminal (pty) and from a pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = [pytest.mark.model, pytest.mark.slow]
TIMEOUT = 180  # seconds per step: the fast model on a busy 2-core CPU


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index folder for both sessions; the first chat builds it."""
    return tmp_path_factory.mktemp("chat-index")


def _command(index_dir: Path) -> list[str]:
    return ["-m", "rag.app.cli", "--index-dir", str(index_dir), "chat", str(SEEDS), "--model", "fast"]


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

    for attempt in range(5):  # Ctrl-C while the model reads or writes; the fast model may finish first
        chat.sendline("What does the US National Defense Strategy say about Russia?")
        chat.expect(r"about Russia\?\r+\n")  # the line as typed, echoed
        time.sleep(0.1 * attempt)
        chat.sendintr()
        if chat.expect_exact(["stopped", "Sources", "Closest articles"]) == 0:
            break
        chat.expect_exact(prompt)
    else:
        pytest.fail("every answer finished before Ctrl-C reached it")
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
