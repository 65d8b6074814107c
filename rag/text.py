"""Text primitives shared by every stage: content-word tokens (stemmed, stopwords out) and sentence spans."""

from __future__ import annotations

import re

from rag.english import STOPWORDS, stem, stems

__all__ = ["STOPWORDS", "sentence_spans", "stem", "tokenize"]

_WORD = re.compile(r"\w+(?:[.,']\w+)*")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "gen", "col", "lt", "sgt", "capt", "rep", "sen", "gov",
    "jr", "sr", "inc", "ltd", "co", "corp", "vs", "etc", "no", "nos", "fig", "approx", "dept", "est",
    "jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "e.g", "i.e",
    "a.m", "p.m", "mt", "ft", "rev", "adm", "maj", "cmdr", "pres",
}
_BOUNDARY = re.compile(r"""[.!?…]+['"’”)\]]*(?=\s+['"‘“(\[]?[A-Z0-9])""")


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words; numbers keep their digits ("5,600" -> "5600")."""
    words = []
    for match in _WORD.finditer(text.lower().replace("’", "'")):
        word = match.group()
        if word[0].isdigit():
            words.append(re.sub(r"[,']", "", word))
        elif word not in STOPWORDS:
            words.append(word.split("'")[0].replace(".", ""))
    return [w for w in stems(words) if w]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``; paragraph breaks always end a sentence."""
    spans = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        start = para.start()
        for match in _BOUNDARY.finditer(para.group()):
            end = para.start() + match.end()
            word = re.search(r"(\S+)$", text[start:end].rstrip(".!?…'\"’”)]"))
            last = word.group(1).lower() if word else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue  # "Dr. Smith", "J. Smith": not a sentence end
            spans.append((start, end))
            start = end + len(re.match(r"\s*", text[end:end + 64]).group())
        if start < para.end():
            spans.append((start, para.end()))
    return spans
