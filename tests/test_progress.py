"""Progress events: a step reports its start, each advance and its end to one callback; notes too."""

from __future__ import annotations

import pytest

from rag.progress import Event, note, silent, task


def test_a_task_reports_start_advances_and_end() -> None:
    events: list[Event] = []
    with task(events.append, "embed", "Embedding 3 chunks", 3) as advance:
        advance(2)
        advance(1)
    assert [(e.done, e.total, e.finished) for e in events] == [(0, 3, False), (2, 3, False), (3, 3, False),
                                                               (3, 3, True)]
    assert {e.stage for e in events} == {"embed"}


def test_the_end_is_reported_even_when_the_step_fails() -> None:
    events: list[Event] = []
    with pytest.raises(RuntimeError), task(events.append, "write", "Writing"):
        raise RuntimeError("disk gone")
    assert events[-1].finished and events[-1].total is None


def test_notes_and_the_silent_default() -> None:
    events: list[Event] = []
    note(events.append, "rebuilding: the chunking changed")
    assert events == [Event("note", "rebuilding: the chunking changed", finished=True)]
    with task(None, "read", "Reading", 2) as advance:  # no reporter: nothing happens, nothing fails
        advance(2)
    assert silent(events[0]) is None
