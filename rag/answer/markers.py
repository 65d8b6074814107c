"""The model's reply read apart: the answer's words, the source numbers each part cites, or "not stated"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.prompt import ANSWER, NOT_STATED

MARKER = re.compile(r"\[\s*<?\s*(?:sources?\s*(?:number\s*)?>?\s*)?(\d+(?:\s*(?:,|and|&|-|–)\s*\d+)*)\s*>?\s*\]", re.I)
# "X [1] and Y [2]", "X [1]; Y [2]": the parts of an answer that cite different sources
_PART_END = re.compile(r"(\[[^\]]*\])(?:\s*(?:,|;|and|while|whereas)\s+|\s*$)", re.I)


@dataclass(frozen=True)
class Part:
    """One part of the answer: its words (markers removed) and the sources it cites (0-based)."""

    text: str
    sources: tuple[int, ...]


@dataclass(frozen=True)
class Reply:
    """The reply's first line after "Answer:", read apart."""

    line: str
    parts: tuple[Part, ...]
    not_stated: bool


def read_reply(raw: str, n_sources: int) -> Reply:
    """The answer line of ``raw`` (the text after "Answer:"), split into parts at their markers; numbers
    with no source are dropped. A part's markers are those after its words ("Paris [1] and Rome [3]")."""
    line = raw.strip().split("\n", 1)[0].strip()
    line = re.sub(rf"^{re.escape(ANSWER)}\s*", "", line, flags=re.I).strip()
    if re.match(rf"^\W*{re.escape(NOT_STATED)}\b", line, re.I) or not strip_markers(line):
        return Reply(line, (), True)
    parts: list[Part] = []
    start = 0
    for match in _PART_END.finditer(line):
        piece = line[start:match.end()]
        start = match.end()
        words = strip_markers(piece).strip(" ,;")
        words = re.sub(r"\s+(and|while|whereas)$", "", words, flags=re.I)
        if words:
            parts.append(Part(words, tuple(source_numbers(piece, n_sources))))
    rest = strip_markers(line[start:]).strip(" ,;.")
    if rest:
        if parts:  # words after the last marker belong to the last part ("Paris [1], the capital")
            last = parts.pop()
            parts.append(Part(f"{last.text} {rest}".strip(), last.sources))
        else:
            parts.append(Part(rest, ()))
    return Reply(line, tuple(parts), False)


def source_numbers(text: str, n_sources: int) -> list[int]:
    """The 0-based sources ``text``'s markers cite, in order, without repeats or numbers out of range."""
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        for piece in re.split(r"\s*(?:,|and|&)\s*", match.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[-–]\s*", piece) if x.isdigit()]
            for n in range(bounds[0], bounds[-1] + 1) if bounds else ():
                if 1 <= n <= n_sources and n - 1 not in numbers:
                    numbers.append(n - 1)
    return numbers


def strip_markers(text: str) -> str:
    """``text`` without source markers ("[2]", "[1, 3]", empty brackets) and the spaces they leave."""
    text = MARKER.sub("", text)
    text = re.sub(r"\[\s*\d*\s*\]", "", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
