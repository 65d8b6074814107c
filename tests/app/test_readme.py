"""The README's first lines and its usage block agree with the real `rag --help`."""

from __future__ import annotations

import argparse
import re

from rag.app.cli import _parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _usage_block() -> dict[str, set[str]]:
    """README usage lines: command -> the flags and positionals written for it ("" is the top level)."""
    block = README.split("## Use\n", 1)[1].split("```", 2)[1]
    commands: dict[str, set[str]] = {}
    current = None
    for line in block.splitlines():
        match = re.match(r"rag (\S+)", line)
        if match:
            current = "" if match.group(1).startswith("[") else match.group(1)
        if current is None:
            continue
        words = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line))
        if current:  # a positional is an upper-case word not right after a flag: "QUESTION", "[PATH]"
            tokens = line.split()
            words |= {t.strip("[]") for prev, t in zip(["rag", *tokens], tokens)
                      if re.fullmatch(r"\[?[A-Z]{2,}\]?", t) and not prev.lstrip("[").startswith("-")}
        commands.setdefault(current, set()).update(words)
    return commands


def _argparse() -> dict[str, set[str]]:
    parser = _parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

    def words(p: argparse.ArgumentParser, top: bool) -> set[str]:
        out = set()
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.option_strings:
                out.add(max(action.option_strings, key=len))
            elif not top:
                out.add((action.metavar or action.dest).upper())
        return out
    commands = {"": words(parser, True)}
    commands.update({name: words(p, False) for name, p in subparsers.choices.items()})
    return commands


def test_the_readme_starts_with_what_it_is_and_exactly_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert README.startswith("# rag") and [c.split()[:2] for c in commands] == [["make", "chat"], ["make", "test"]]


def test_the_usage_block_lists_every_command_and_flag_and_nothing_else() -> None:
    written, real = _usage_block(), _argparse()
    assert set(written) == set(real)
    for command, flags in real.items():
        assert written[command] == flags, (command, written[command] ^ flags)
