"""Progress reporting: plain lines instead of a bar when stderr is a log, not a terminal."""

from __future__ import annotations

import pytest

from rag.progress import progress_bar


def test_a_log_gets_a_line_every_twentieth_and_at_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("Evaluating 45 questions", 45) as advance:
        for _ in range(45):
            advance(1)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"Evaluating 45 questions: {n}/45" for n in
                                                       (*range(2, 45, 2), 45)]


def test_disabled_progress_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("Embedding", 10, enabled=False) as advance:
        advance(10)
    assert capsys.readouterr().err == ""
