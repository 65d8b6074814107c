"""Rich progress bars on stderr for the slow steps (embedding, model preparation)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

stderr = Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A bar with count, elapsed time and ETA; yields ``advance(n)``. Disabled: yields a no-op. When
    stderr is not a terminal (a log file, CI), a plain line every twentieth of the way instead."""
    if not enabled:
        yield lambda n: None
        return
    if not stderr.is_terminal:
        yield _lines(description, total)
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=stderr, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def _lines(description: str, total: int) -> Callable[[int], None]:
    """``advance(n)`` that prints "description: done/total (elapsed)" each time another 5% is done."""
    started, done, step = time.perf_counter(), [0], max(1, total // 20)

    def advance(n: int) -> None:
        before, done[0] = done[0], done[0] + n
        if done[0] // step > before // step or done[0] >= total > before:
            print(f"{description}: {done[0]}/{total} ({time.perf_counter() - started:.0f} s)", file=sys.stderr,
                  flush=True)
    return advance
