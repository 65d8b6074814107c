"""Source markers in the model's text: "[2]", "[1, 3]", "[source 2]"; answer sentences and their clauses."""

from __future__ import annotations

import re

from rag.text import sentence_spans

MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:,|and|&|-|–)\s*\d+)*)\s*\]", re.I)


def split_answer(raw: str, n_sources: int) -> list[tuple[str, list[int]]]:
    """Answer sentences with the valid source numbers each cites; markers after a sentence's end
    ("... 2025. [1]") belong to it; numbers with no source are dropped."""
    text = re.sub(r"(?i)\b(?:according to|as reported (?:in|by)|per|in)\s+((?:\[[^\]]*\]\s*)+),?\s*", r"\1 ",
                  raw.strip())
    text = re.sub(r"([.!?])\s*((?:\[[^\]]*\]\s*)+)", r" \2\1 ", text)
    text = re.sub(r"\s+", " ", text)
    out = []
    for s, e in sentence_spans(text):
        sentence = text[s:e].strip()
        if not strip_markers(sentence):
            continue
        numbers = []
        for match in MARKER.finditer(sentence):
            for part in re.split(r"\s*(?:,|and|&)\s*", match.group(1)):
                bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part) if x.isdigit()]
                for n in range(bounds[0], bounds[-1] + 1) if bounds else ():
                    if 1 <= n <= n_sources and n - 1 not in numbers:
                        numbers.append(n - 1)
        if all(strip_markers(sentence) != strip_markers(seen) for seen, _ in out):  # repeats add nothing
            out.append((sentence, numbers))
    return out


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence that joins facts (", and ...", "; ...", ", while ...", " and also ..."),
    each keeping the comma or semicolon that ends it, so that joined with spaces they read as the sentence."""
    parts = re.split(r"(?<=[,;])\s+(?=(?:and|while|whereas|but)\s)|(?<=;)\s+|\s+(?=and also\s)", sentence)
    return [p for p in parts if strip_markers(p)]


def strip_markers(text: str) -> str:
    text = MARKER.sub("", text)
    text = re.sub(r"\[\s*\d*\s*\]", "", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def with_marker(sentence: str, number: int) -> str:
    """``sentence`` with ``[number]`` before its final punctuation."""
    match = re.search(r"[.!?…,;]+['\"’”)]*$", sentence)
    cut = match.start() if match else len(sentence)
    return f"{sentence[:cut]} [{number}]{sentence[cut:]}"
