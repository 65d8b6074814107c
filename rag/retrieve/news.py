"""What a question says about the articles it wants: the outlets and dates it names.

News questions often name where and when something was reported ("as reported by TechCrunch and
The Verge", "the Sporting News article published on October 5, 2023"). ``Catalog`` knows the
outlets and dates of the indexed articles and reads them out of a question, so retrieval can boost
and cover them. Nothing here is tied to one corpus: the outlet names come from the index itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rag.corpus import MONTHS
from rag.text import tokenize

_MONTH_NAMES = {**MONTHS, **{m[:3]: n for m, n in MONTHS.items()}, "sept": 9}
_MONTH = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_FIRST = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_ISO = re.compile(r"\b(\d{4})-(\d{2})(?:-(\d{2}))?\b")


@dataclass(frozen=True)
class Part:
    """One article a question points at: by outlet (the publishers a mention stands for), by date,
    or both, with the words that go with it."""

    publishers: frozenset[str]  # empty: any outlet
    dates: tuple[str, ...]  # ISO days or months named in this part; empty: any date
    text: str  # the question from this mention up to the next one


@dataclass(frozen=True)
class QueryMeta:
    """The parts of a question (in order) and every ISO date or month it names."""

    parts: tuple[Part, ...] = ()
    dates: tuple[str, ...] = ()

    @property
    def publishers(self) -> frozenset[str]:
        """Every publisher named by some part."""
        return frozenset().union(*(p.publishers for p in self.parts))


def parse_dates(text: str) -> tuple[str, ...]:
    """ISO days ("2023-10-05") and months ("2023-10") written in ``text``, in order, without repeats.

    Understands "October 5, 2023", "Oct. 5th 2023", "5 October 2023", "October 2023" and ISO dates.
    """
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern, order in ((_ISO, None), (_MONTH_FIRST, (3, 1, 2)), (_DAY_FIRST, (3, 2, 1)),
                           (_MONTH_YEAR, (2, 1, None))):
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            if order is None:
                year, month, day = m.group(1), int(m.group(2)), m.group(3)
            else:
                year = m.group(order[0])
                month = _MONTH_NAMES[m.group(order[1]).lower().rstrip(".")]
                day = m.group(order[2]) if order[2] else None
            if not 1 <= month <= 12 or (day and not 1 <= int(day) <= 31):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), f"{year}-{month:02d}" + (f"-{int(day):02d}" if day else "")))
    return tuple(dict.fromkeys(iso for _, iso in sorted(found)))


MIN_PART_TERMS = 3  # a clause with fewer content words besides the outlet name says nothing of its own
_JOIN = r"(?:while|whereas|but|although|and\s+(?:the|a|an|that|is|was|does|did|has|had))"
_CLAUSE_BREAK = re.compile(rf"(?:[,;:?!]\s*|\s+){_JOIN}\s+|[,;:?!](?!\s*\d{{4}}\b)(?:\s+|$)", re.IGNORECASE)


def clause_spans(question: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the clauses of ``question``: cut at punctuation and at clause-joining
    words ("while", "but", "and the", ...)."""
    spans, start = [], 0
    for m in _CLAUSE_BREAK.finditer(question):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(question)))
    return [(a, b) for a, b in spans if b > a]


def clauses(question: str, min_words: int = 3) -> list[str]:
    """The clauses of ``question`` of ``min_words`` words or more: each clause of a multi-part
    question usually describes one fact."""
    return [question[a:b].strip() for a, b in clause_spans(question) if len(question[a:b].split()) >= min_words]


def name_variants(publisher: str) -> set[str]:
    """Ways a question may name ``publisher``: in full, without a leading "The", or by the part
    before a " - ", " | " or ": " qualifier ("The Independent - Sports" -> "The Independent")."""
    names = {publisher.strip()}
    head = re.split(r"\s+[-|–—]\s+|:\s+", publisher.strip())[0]
    names.add(head)
    for name in list(names):
        if name.lower().startswith("the ") and len(name) > 6:
            names.add(name[4:])
    return {n for n in names if len(n) >= 3}


class Catalog:
    """Per-chunk article, publisher and date arrays of an index, and a reader of questions."""

    def __init__(self, chunk_articles: list[str], publishers: dict[str, str | None],
                 dates: dict[str, str | None]) -> None:
        """``chunk_articles``: article id of each chunk, in index order; ``publishers`` and ``dates``
        map article ids to their outlet and ISO date."""
        self.article_ids = list(dict.fromkeys(chunk_articles))
        position = {a: n for n, a in enumerate(self.article_ids)}
        self.chunk_article = np.array([position[a] for a in chunk_articles], dtype=np.int64)
        self.article_publisher = [publishers.get(a) for a in self.article_ids]
        self.article_date = [dates.get(a) or "" for a in self.article_ids]
        by_name: dict[str, set[str]] = {}
        for publisher in {p for p in self.article_publisher if p}:
            for name in name_variants(publisher):
                by_name.setdefault(name.lower(), set()).add(publisher)
        self._publishers_of = {name: frozenset(ps) for name, ps in by_name.items()}
        names = sorted(by_name, key=len, reverse=True)
        self._outlet = re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in names),
                                  re.IGNORECASE) if names else None

    def parse(self, question: str) -> QueryMeta:
        """The outlets and dates ``question`` names (outlets only as known to this index).

        Each outlet mention is a part, with the words and dates of its clause ("the TechCrunch
        article says X", "X, as reported by TechCrunch"), or of the whole question when the clause
        says little else ("reported by both TechCrunch and The Verge"); a question that names no
        outlet has one part per date it names. A one-word outlet name must be
        capitalised in the question ("Fortune", not "fortune").
        """
        mentions = self.mentions(question)
        dates = parse_dates(question)
        parts = []
        spans = clause_spans(question)
        for m in mentions:
            a, b = next(((a, b) for a, b in spans if a <= m.start() < b), (m.start(), m.end()))
            own = question[a:m.start()] + question[m.end():b]
            text = question[a:b] if len(tokenize(own)) >= MIN_PART_TERMS else question
            parts.append(Part(self._publishers_of[m.group().lower()], parse_dates(text), text.strip()))
        if not parts:
            parts = [Part(frozenset(), (d,), question) for d in dates]
        return QueryMeta(tuple(parts), dates)

    def content(self, text: str) -> str:
        """``text`` without the outlets and dates it names (as ``parse`` reads them): what it says
        about the reported facts themselves. Outlet and date matches are boosted apart."""
        for m in reversed(self.mentions(text)):
            text = text[:m.start()] + " " + text[m.end():]
        for pattern in (_ISO, _MONTH_FIRST, _DAY_FIRST, _MONTH_YEAR):
            text = pattern.sub(" ", text)
        return text

    def mentions(self, question: str) -> list[re.Match[str]]:
        """Outlet names in ``question``; a one-word name only when capitalised ("Fortune", not "fortune")."""
        return [m for m in (self._outlet.finditer(question) if self._outlet else ())
                if " " in m.group() or not m.group()[0].islower()]

    def publisher_mask(self, publishers: Iterable[str]) -> np.ndarray:
        """Per chunk: True when its article's publisher is one of ``publishers``."""
        wanted = set(publishers)
        articles = np.array([p in wanted for p in self.article_publisher], dtype=bool)
        return articles[self.chunk_article]

    def date_mask(self, dates: Iterable[str]) -> np.ndarray:
        """Per chunk: True when its article was published on one of ``dates`` (days or months)."""
        dates = tuple(dates)
        articles = np.array([bool(d) and d.startswith(dates) for d in self.article_date], dtype=bool)
        return articles[self.chunk_article]

