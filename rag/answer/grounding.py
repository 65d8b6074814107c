"""Grounding: each part of the reply is found in a source sentence, which becomes its exact quote.

A part's words are looked for in the sentences of the passage it cites (then of the other shown
passages): the quote is the sentence holding most of the part's content words, verbatim when it can.
A marker cites an article, so any passage of that article may hold the quote. A part citing the
wrong source is re-cited to the passage that does hold its words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.answer.markers import Part
from rag.answer.prompt import FILLER, WH
from rag.retrieve import Passage
from rag.text import sentence_spans, tokenize

_POLAR_START = re.compile(r"^\s*(yes|no)\b[\s,.:;-]*", re.I)


@dataclass(frozen=True)
class Grounded:
    """A part of the answer with the passage and sentence that support it."""

    part: Part
    passage: int | None  # position in the passages the prompt showed; None when nothing holds it
    quote: tuple[int, int] | None  # offsets of the quoted sentence in the article text
    coverage: float  # share of the part's content words the quote holds (1.0 when verbatim)
    verbatim: bool  # the part's words occur in the quote as written
    repaired: bool  # the part cited another source, which does not hold it


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry its meaning: stemmed, no stopwords, reporting verbs or question words."""
    return set(tokenize(text)) - FILLER - WH


def ground(part: Part, question: str, passages: list[Passage], embed: Callable[[list[str]], np.ndarray]) -> Grounded:
    """Find the sentence of ``passages`` that supports ``part``, preferring the passages it cites."""
    words = _POLAR_START.sub("", part.text)
    cited_articles = {passages[i].article_id for i in part.sources}
    candidates = [(i, a, b) for i, p in enumerate(passages) for a, b in (sentence_spans(p.text) or [(0, len(p.text))])]
    if not candidates:
        return Grounded(part, None, None, 0.0, False, False)
    cited = [n for n, (i, _, _) in enumerate(candidates) if passages[i].article_id in cited_articles]
    texts = [passages[i].text[a:b] for i, a, b in candidates]
    wanted = content_words(words)
    if not wanted:  # a bare "Yes" / "No": the sentence that best matches the question decides it
        pool = cited or list(range(len(candidates)))
        asked = content_words(question)
        similarity = embed([texts[n] for n in pool]) @ embed([question])[0]
        overlap = [len(asked & content_words(texts[n])) / max(len(asked), 1) for n in pool]
        pick = max(range(len(pool)), key=lambda j: overlap[j] + similarity[j])
        i, a, b = candidates[pool[pick]]
        return Grounded(part, i, _absolute(passages[i], a, b), overlap[pick], False, False)
    needle = _normal(words)
    scored = []
    for n, text in enumerate(texts):
        verbatim = bool(needle) and needle in _normal(text)
        coverage = 1.0 if verbatim else len(wanted & content_words(text)) / len(wanted)
        scored.append((verbatim, coverage, n in cited))
    best_cited = max(cited, key=lambda n: scored[n][:2], default=None)
    best_any = max(range(len(texts)), key=lambda n: (scored[n][0], scored[n][1], scored[n][2]))
    pick, repaired = best_cited, False
    if best_cited is None or scored[best_any][:2] > scored[best_cited][:2] and \
            (scored[best_any][0] or scored[best_any][1] >= scored[best_cited][1] + 0.25):
        pick, repaired = best_any, bool(part.sources)
    i, a, b = candidates[pick]
    verbatim, coverage, _ = scored[pick]
    return Grounded(part, i, _absolute(passages[i], a, b), coverage, verbatim, repaired)


def _absolute(passage: Passage, start: int, end: int) -> tuple[int, int]:
    return passage.start + start, passage.start + end


def _normal(text: str) -> str:
    """Lower case, one kind of quote and dash, single spaces, no punctuation at the ends."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}))
    return re.sub(r"\s+", " ", text).strip(" .,;:!?\"'")
