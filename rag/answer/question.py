"""The question read once: what kind of answer it asks for and what it names; every step of the answer uses it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.checks import asked_for, is_polar
from rag.english import STOPWORDS
from rag.retrieve.news import Catalog, QueryMeta

_NAME = re.compile(r"[A-Z][\w&'’.-]*(?:\s+(?:of\s+|&\s+|de\s+)?[A-Z][\w&'’.-]*)*|\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Asked:
    """A question and what was read off it."""

    text: str
    polar: bool  # asks for yes or no
    kind: str | None  # "number", "date", "place", "name" or None (anything)
    names: tuple[str, ...]  # the names and numbers it gives (its constraints): "Kallas", "Guardian", "2023"
    meta: QueryMeta  # the outlets and dates it names, as the index knows them

    @property
    def names_outlet(self) -> bool:
        """Whether it names an outlet of the index."""
        return bool(self.meta.publishers)


def read(question: str, catalog: Catalog | None = None) -> Asked:
    """``question`` read: yes/no or not, the kind of answer asked for, its names, its outlets and dates."""
    return Asked(question, is_polar(question), asked_for(question), question_names(question),
                 catalog.parse(question) if catalog is not None else QueryMeta())


def question_names(question: str) -> tuple[str, ...]:
    """The capitalised names and the numbers ``question`` gives, the first word left out when it is only
    capitalised because it starts the question; stopwords dropped from the ends of a name."""
    names = []
    for m in _NAME.finditer(question):
        words = m.group().rstrip(".").split()
        if m.start() == 0 and words:
            words = words[1:]
        while words and words[0].lower() in STOPWORDS:
            words = words[1:]
        while words and words[-1].lower() in STOPWORDS:
            words = words[:-1]
        if words:
            names.append(" ".join(words))
    return tuple(dict.fromkeys(names))
