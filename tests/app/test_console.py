"""What the edges print: plain progress lines in a log, and the checked answer with its Sources."""

from __future__ import annotations

import io
import time

import pytest

from rag.app.console import LineReporter, RichReporter, plural, print_answer
from rag.progress import note, task


def test_a_log_gets_a_start_line_a_line_every_twentieth_and_the_end() -> None:
    stream = io.StringIO()
    report = LineReporter(stream, quiet_s=0)
    with task(report, "evaluate", "Evaluating 45 questions", 45) as advance:
        for _ in range(45):
            advance(1)
    note(report, "index rebuilt")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Evaluating 45 questions: started (45 items)"
    twentieths = [-(-k * 45 // 20) for k in range(1, 21)]  # 3, 5, 7, 9, 12, ..., 45: each 5% once
    assert [line.split(" (")[0] for line in lines[1:-2]] == [f"Evaluating 45 questions: {n}/45" for n in twentieths]
    assert lines[-2].startswith("Evaluating 45 questions: done in ") and lines[-1] == "note: index rebuilt"


def test_a_quick_counted_step_writes_nothing_and_a_step_without_a_count_writes_its_start_and_end() -> None:
    stream = io.StringIO()
    report = LineReporter(stream)
    with task(report, "read", "Reading 6 files of seeds", 6) as advance:  # well under a second
        for _ in range(6):
            advance(1)
    with task(report, "model", "Loading the fast model"):
        pass
    assert stream.getvalue().splitlines()[0] == "Loading the fast model: started"
    assert len(stream.getvalue().splitlines()) == 2


def test_a_rich_bar_shows_only_for_a_slow_step_and_ends_with_a_tick() -> None:
    from rich.console import Console

    screen = Console(file=io.StringIO(), force_terminal=True, width=100)
    report = RichReporter(screen, quiet_s=0.2)
    with task(report, "read", "Reading 6 files of seeds", 6) as advance:
        advance(6)
    with task(report, "model", "Loading the fast model"):
        pass
    with task(report, "embed", "Embedding 3 chunks", 3) as advance:
        time.sleep(0.3)
        advance(3)
    drawn = screen.file.getvalue()
    assert "Reading" not in drawn and "Loading the fast model" in drawn and "Embedding 3 chunks" in drawn
    assert drawn.count("✓") >= 2  # finished steps show a tick, not a spinner frozen mid-turn


def test_counts_read_as_words() -> None:
    assert [plural(n, "article") for n in (0, 1, 2, 1000)] == ["0 articles", "1 article", "2 articles",
                                                               "1,000 articles"]


def test_a_withheld_answer_lists_the_closest_articles_apart_from_citations(seed_rag, capsys: pytest.CaptureFixture[str]
                                                                           ) -> None:
    from rag.answer.policy import withheld

    passages = seed_rag.search("How old is Kaja Kallas?", k=3)
    print_answer(withheld("How old is Kaja Kallas?", passages, 2, "", [], "no support"))
    out = capsys.readouterr().out
    assert out.startswith("The articles don't say") and "Closest articles" in out and "(not citations)" in out
    assert "Sources" not in out


def test_a_withheld_answer_shows_the_closest_sentences_as_what_the_articles_say(
        seed_rag, capsys: pytest.CaptureFixture[str]) -> None:
    from rag.answer import Citation
    from rag.answer.policy import withheld

    passages = seed_rag.search("How old is Kaja Kallas?", k=3)
    p = passages[0]
    said = Citation(1, p.article_id, p.title, p.date, p.source, "Kallas said it.", p.start, p.start + 15, p.text, 0.0)
    print_answer(withheld("How old is Kaja Kallas?", passages, 2, "", [], "no support", closest=[said]))
    out = capsys.readouterr().out
    assert "What the articles do say" in out and "not an answer" in out and "“Kallas said it.”" in out
    assert "Sources" not in out and "Closest articles" not in out
