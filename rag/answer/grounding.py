"""Grounding: each part of the reply is held to a source sentence, and the answer becomes that sentence's words.

A part is looked for in the sentences of the shown passages, those of the article it cites first. It is
grounded when the words it adds to the question (its content words that the question does not already
hold) are found in one sentence: every number and every name among them word for word, and the others
(stemmed) at least ``min_coverage`` of them. The answer shown is then the span of that sentence from the
first to the last of those words — the source's own words, with its offsets in the article — never the
model's paraphrase. A part that adds nothing to the question (the question restated as its answer), or
whose words no sentence holds, is not grounded, and the answer is withheld. A part citing the wrong
source is re-cited to the passage that holds it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from rag.answer.markers import Part
from rag.english import FILLER, FUNCTION_WORDS, NUMBER_WORDS, WH
from rag.retrieve import Passage
from rag.text import sentence_spans, stem, tokenize

_POLAR_START = re.compile(r"^\s*(yes|no)\b[\s,.:;-]*", re.I)
# words, numbers with their separators, and the currency and percent signs as tokens of their own
_PARTICLES = frozenset("al el bin ibn de del der di da van von le la".split())  # inside names
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W_]+(?:['’][^\W_]+)*|[$€£%]")


@dataclass(frozen=True)
class Token:
    """A word of a text: its normal form (lower case, no thousands separators), its stem and where it is."""

    norm: str
    stem: str
    start: int
    end: int
    key: bool  # a number, a number word ("million") or a capitalised word that is not a stopword: it must
    # be found word for word


@dataclass(frozen=True)
class Grounded:
    """A part of the answer held to the source sentence that states it."""

    part: Part
    passage: int | None  # position in the passages the prompt showed; None when no sentence holds the part
    quote: tuple[int, int] | None  # offsets of the quoted sentence in the article text
    span: tuple[int, int] | None  # offsets, in the article text, of the quote's words that are the answer
    coverage: float  # share of the part's new content words the quote holds (1.0 when verbatim)
    verbatim: bool  # the part's words occur in the quote as written
    repaired: bool  # the part cited another source, which does not hold it
    new_words: int  # content words the part adds to the question (0: it restates the question)


def tokens(text: str) -> list[Token]:
    """The words of ``text`` with their offsets, normal forms and stems."""
    out = []
    for m in _TOKEN.finditer(text):
        word = unicodedata.normalize("NFKC", m.group()).replace("’", "'")
        norm = re.sub(r"(?<=\d),(?=\d{3}\b)", "", word.lower())
        norm = re.sub(r"(?<=[a-z])'s$", "", norm)  # "Netanyahu's" is "Netanyahu"
        alpha = norm.isalpha() or "'" in norm
        key = bool(re.match(r"\d", norm)) or norm in NUMBER_WORDS or (word[0].isupper() and norm not in FUNCTION_WORDS)
        out.append(Token(norm, stem(norm.split("'")[0]) if alpha else norm, m.start(), m.end(), key))
    return out


def polar_word(text: str) -> str | None:
    """"Yes" or "No" when ``text`` starts with that word, else None."""
    m = _POLAR_START.match(text)
    return m.group(1).capitalize() if m else None


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry its meaning: stemmed, no stopwords, reporting verbs or question words."""
    return set(tokenize(text)) - FILLER - WH


def answer_words(part: str, question: str) -> list[Token]:
    """The tokens of ``part`` that add to ``question``: content words (not function words, reporting verbs
    or question words) whose stem the question does not hold. In a name of several words only the last must
    be found word for word."""
    asked = {t.stem for t in tokens(question)}
    said = tokens(part)
    out = []
    for n, t in enumerate(said):
        if t.norm in FUNCTION_WORDS or t.stem in FILLER | WH or t.stem in asked or t.norm in "$€£%":
            continue
        name = t.key and not t.norm[0].isdigit() and t.norm not in NUMBER_WORDS
        after = said[n + 1:n + 3]
        if after and after[0].norm in _PARTICLES:  # "Ahmed al-Sharaa", "Ursula von der Leyen"
            after = [a for a in said[n + 1:n + 4] if a.norm not in _PARTICLES][:1]
        if name and after and after[0].key:
            t = replace(t, key=False)  # a first name: the source may give the surname alone ("Netanyahu")
        out.append(t)
    return out


def ground(part: Part, question: str, passages: list[Passage], embed: Callable[[list[str]], np.ndarray],
           shown: list[list[tuple[int, int]]] | None = None, min_coverage: float = 1.0) -> Grounded:
    """Hold ``part`` to the sentence of ``passages`` that states it (see the module docstring): the sentences
    the model was ``shown`` (spans in each passage's text) and the articles the part cites come first."""
    words = _POLAR_START.sub("", part.text)
    polar = words != part.text
    cited_articles = {passages[i].article_id for i in part.sources}
    candidates = [(i, a, b) for i, p in enumerate(passages) for a, b in (sentence_spans(p.text) or [(0, len(p.text))])]
    if not candidates:
        return Grounded(part, None, None, None, 0.0, False, False, 0)
    texts = [passages[i].text[a:b] for i, a, b in candidates]
    wanted = answer_words(words, question)
    if not tokens(words) and polar:  # a bare "Yes" / "No": the sentence that best matches the question decides it
        return _polar(part, question, passages, candidates, texts, cited_articles, embed)
    if not wanted:
        return Grounded(part, None, None, None, 0.0, False, False, 0)
    seen = {(i, a, b) for i, spans in enumerate(shown or []) for a, b in spans}
    best: tuple[tuple, int, tuple[int, int], float, bool] | None = None
    for n, (i, a, b) in enumerate(candidates):
        found = _span(wanted, words, texts[n])
        if found is None:
            continue
        (start, end), coverage, verbatim = found
        if coverage < min_coverage:
            continue
        cited = passages[i].article_id in cited_articles
        rank = (verbatim, coverage, cited, (i, a, b) in seen, -(end - start))
        if best is None or rank > best[0]:
            best = (rank, n, (start, end), coverage, verbatim)
    if best is None:
        return Grounded(part, None, None, None, 0.0, False, False, len(wanted))
    _, n, (start, end), coverage, verbatim = best
    i, a, b = candidates[n]
    passage = passages[i]
    repaired = bool(part.sources) and passage.article_id not in cited_articles
    base = passage.start + a
    return Grounded(part, i, (base, passage.start + b), (base + start, base + end), coverage, verbatim, repaired,
                    len(wanted))


def _span(wanted: list[Token], words: str, sentence: str) -> tuple[tuple[int, int], float, bool] | None:
    """Where ``sentence`` states the answer ``words`` (whose new content words are ``wanted``): the offsets of
    the span from the first to the last of those words, the share of them it holds, and whether ``words``
    occur in it as written; None when a key word (number or name) is missing."""
    said = tokens(sentence)
    norms = [t.norm for t in said]
    part = [t.norm for t in tokens(words)]
    for s in range(len(norms) - len(part) + 1):
        if part and norms[s:s + len(part)] == part:
            return (said[s].start, said[s + len(part) - 1].end), 1.0, True
    positions: list[list[int]] = []
    for w in wanted:
        at = [k for k, t in enumerate(said) if t.norm == w.norm or (not w.key and t.stem == w.stem)]
        if not at and w.key:
            return None
        if at:
            positions.append(at)
    if not positions:
        return None
    lo, hi = _window(positions)
    if lo > 0 and said[lo - 1].norm in "$€£" and re.match(r"\d", said[lo].norm):
        lo -= 1  # an amount keeps its currency: "$135 billion"
    if hi + 1 < len(said) and said[hi + 1].norm in ("%", "percent") and re.match(r"\d", said[hi].norm):
        hi += 1
    return (said[lo].start, said[hi].end), len(positions) / len(wanted), False


def _window(positions: list[list[int]]) -> tuple[int, int]:
    """The shortest run of token positions holding one position of each list."""
    events = sorted((p, n) for n, ps in enumerate(positions) for p in ps)
    need, count, have = len(positions), 0, [0] * len(positions)
    best, left = (events[0][0], events[-1][0]), 0
    for p, n in events:
        have[n] += 1
        count += have[n] == 1
        while count == need:
            lp, ln = events[left]
            if p - lp < best[1] - best[0]:
                best = (lp, p)
            have[ln] -= 1
            count -= have[ln] == 0
            left += 1
    return best


def _polar(part: Part, question: str, passages: list[Passage], candidates: list[tuple[int, int, int]],
           texts: list[str], cited_articles: set[str], embed: Callable[[list[str]], np.ndarray]) -> Grounded:
    """A bare "Yes" or "No", grounded in the sentence (of the cited articles first) that best matches the question."""
    cited = [n for n, (i, _, _) in enumerate(candidates) if passages[i].article_id in cited_articles]
    pool = cited or list(range(len(candidates)))
    asked = content_words(question)
    similarity = embed([texts[n] for n in pool]) @ embed([question])[0]
    overlap = [len(asked & content_words(texts[n])) / max(len(asked), 1) for n in pool]
    pick = max(range(len(pool)), key=lambda j: overlap[j] + similarity[j])
    i, a, b = candidates[pool[pick]]
    base = passages[i].start + a
    return Grounded(part, i, (base, passages[i].start + b), None, overlap[pick], False, False, 0)


def best_sentence(words: str, passage: Passage) -> tuple[tuple[int, int], float]:
    """The sentence of ``passage`` holding most of ``words``' content words: its offsets in the article text
    and the share of those words it holds."""
    wanted = content_words(words)
    spans = sentence_spans(passage.text) or [(0, len(passage.text))]
    scored = [(len(wanted & content_words(passage.text[a:b])) / max(len(wanted), 1), -n) for n, (a, b) in
              enumerate(spans)]
    coverage, n = max(scored)
    a, b = spans[-n]
    return (passage.start + a, passage.start + b), coverage
