"""Progress of long steps as events sent to one callback; the library never prints.

Library code wraps a slow step in ``task(report, stage, description, total)`` and calls the
``advance(n)`` it yields; a note ("rebuilding the index: the chunking changed") goes through
``note(report, text)``. The callback decides what to show: ``rag.app.console`` draws rich progress
bars on a terminal and plain lines in a log; ``silent`` (the default) shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One step of progress: ``done`` of ``total`` items of ``stage`` (``total`` None: no count known)."""

    stage: str  # "read", "chunk", "embed", "write", "model", "evaluate", "note", ...
    description: str  # what a person reads: "Embedding 120 chunks of 10 articles"
    done: int = 0
    total: int | None = None
    finished: bool = False
    unit: str = ""  # "bytes" for byte counts, else items


Reporter = Callable[[Event], None]


def silent(event: Event) -> None:
    """The reporter that ignores every event."""


@contextmanager
def task(report: Reporter | None, stage: str, description: str, total: int | None = None,
         unit: str = "") -> Iterator[Callable[[int], None]]:
    """Report a step from start to end; yields ``advance(n)`` to count ``n`` more items done."""
    report = report or silent
    done = 0
    report(Event(stage, description, 0, total, unit=unit))

    def advance(n: int = 1) -> None:
        nonlocal done
        done += n
        report(Event(stage, description, done, total, unit=unit))
    try:
        yield advance
    finally:
        report(Event(stage, description, done, total, finished=True, unit=unit))


def note(report: Reporter | None, text: str) -> None:
    """Send a one-off message (a fallback taken, a rebuild and why) to ``report``."""
    (report or silent)(Event("note", text, finished=True))
