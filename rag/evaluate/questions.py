"""Question sets: one JSON object a line with the question, gold answers, source articles and evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.corpus import Problem
from rag.errors import CorpusError


@dataclass(frozen=True)
class Question:
    """One evaluation question: gold answers and sources are empty when the articles don't say."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    source: tuple[str, ...] = ()  # article ids, titles or urls
    type: str = "factoid"
    evidence: tuple[str, ...] = ()
    context: str | None = None  # for a follow-up: the question asked just before it (answered first)
    split: str | None = None  # "dev" (tuned on) or "test" (reported only), where the set is split

    @property
    def answerable(self) -> bool:
        """True when the question has a gold answer."""
        return bool(self.answers)


def load_questions(path: str | Path, split: str | None = None) -> tuple[list[Question], list[Problem]]:
    """Read a JSONL question file; malformed lines are reported with their line number and skipped.
    ``split`` ("dev" or "test") keeps only that part of a split set."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read the question file ({exc})", "give a UTF-8 JSONL file") from None
    questions, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not str(data.get("question", "")).strip():
                raise ValueError("no question")
            questions.append(Question(
                id=str(data.get("id") or f"line{number}"), question=data["question"].strip(),
                answers=tuple(data.get("answers") or ()), source=tuple(data.get("source") or ()),
                type=data.get("type") or ("factoid" if data.get("answers") else "unanswerable"),
                evidence=tuple(data.get("evidence") or ()), context=data.get("context") or None,
                split=data.get("split") or None))
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            problems.append(Problem(str(path), number, f"skipped: {exc}"))
    if not questions:
        raise CorpusError(f"{path}: no usable question", 'write one JSON object a line with at least "question"')
    if split:
        questions = [q for q in questions if q.split == split]
        if not questions:
            raise CorpusError(f"{path}: no question of split {split!r}", "use a split the file has (dev, test)")
    return questions, problems
