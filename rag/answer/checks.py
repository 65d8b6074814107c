"""Checks of an answer against its sources: support of a sentence by a quote, and the kind of answer asked."""

from __future__ import annotations

import re

from rag.answer.markers import strip_markers
from rag.answer.prompt import FILLER
from rag.text import STOPWORDS, tokenize

_REFUSAL = re.compile(
    r"(articles?|sources?|passages?|context|text)\s+(do(es)?\s*n[o']t|did\s*n[o']t)\s+(say|contain|mention|"
    r"provide|specify|state|include|give|indicate|offer)|no information|not (mentioned|specified|provided|"
    r"stated|available|given|clear)|cannot be determined|can't be determined|unable to (find|determine|answer)"
    r"|there is no mention|does not (specify|mention|say)|doesn't (specify|mention|say)", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ASKS = {
    "number": re.compile(r"\bhow (many|much|old|long|large|big|far|high|often)\b|\bwhat (percentage|percent|share|"
                         r"number|amount|proportion|sum|interest rate|rate|age|size|price|cost)\b", re.I),
    "date": re.compile(r"^\s*when\b|\b(what|which) (year|date|day|month)\b", re.I),
    "place": re.compile(r"^\s*where\b", re.I),
    "name": re.compile(r"^\s*(who|whom)\b|\bwhose\b|\bwhat (is|are|was|were) the names?\b|\b(which|what) ([A-Z]\w+ )?"
                       r"(official|person|people|leader|minister|president|prime minister|spokes(man|woman|person)|"
                       r"chief|politician|diplomat|director|head|journalist|commentator|analyst|general)\b", re.I),
}
_PRONOUN = re.compile(r"\b(he|she|they|him|her|his|them|their)\b", re.I)
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec")
_GIVES = {
    "number": frozenset("one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
                        "hundred hundreds thousand thousands million millions billion billions trillion dozen "
                        "dozens half third quarter percent".split()),
    "date": frozenset((_MONTHS + " monday tuesday wednesday thursday friday saturday sunday spring summer autumn "
                       "fall winter yesterday today tomorrow week weeks month months year years decade "
                       "century").split()),
}


def is_refusal(raw: str) -> bool:
    """Whether the model's text says the sources do not give the answer."""
    return bool(_REFUSAL.search(raw))


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def support_score(question: str, claim: str, quote: str, similarity: float, context: str = "") -> float:
    """How well ``quote`` supports ``claim`` (0..1): the claim's content words and numbers found in
    the quote (its new words, not in the question, and all of them), blended with embedding similarity.
    Words found only in ``context`` (the quote's passage and title, where "she" or "the project" is
    named) count half. A number in the claim that the quote lacks caps the score low."""
    asked = set(tokenize(question))
    claim_words = set(tokenize(claim))
    quote_words = set(tokenize(quote))
    near = set(tokenize(context)) - quote_words
    new = claim_words - asked - FILLER
    if not new:  # the claim only repeats the question ("X said ..." included): it answers nothing
        return 0.0

    def found(words: set[str]) -> float:
        return (len(words & quote_words) + 0.5 * len(words & near)) / len(words)
    # both the claim's new words and all its words must be in the quote: "Russia won Eurovision"
    # is not supported by a quote that mentions Russia but not Eurovision
    overlap = (found(new) + found(claim_words)) / 2
    numbers = _numbers(claim) - _numbers(question)
    quoted = _numbers(quote)
    score = 0.6 * overlap + 0.4 * max(similarity, 0.0)
    if numbers - quoted:
        score = min(score, 0.2)
    return score


def asked_for(question: str) -> str | None:
    """The kind of answer ``question`` asks for: "number", "date", "place", "name", or None (anything)."""
    return next((kind for kind, pattern in _ASKS.items() if pattern.search(question)), None)


def gives(kind: str, question: str, claim: str, quote: str, context: str = "") -> bool:
    """Whether ``claim`` gives a ``kind`` ("number", "date", "place", "name") that ``quote`` contains and
    the question does not already say (a number or date word; for places and names, a capitalised word).
    A name may come from ``context`` (the quote's passage) when the quote refers to someone by pronoun
    ("... between the chairs," she added)."""
    def terms(text: str) -> set[str]:
        if kind in ("name", "place"):
            return {w.lower() for w in re.findall(r"\b[A-Z][\w'’-]+", strip_markers(text))
                    if w.lower() not in STOPWORDS and w.lower() != "according"}
        words = set(re.findall(r"[a-z]+", text.lower())) & _GIVES[kind]
        return words | {n.replace(",", "") for n in _NUMBER.findall(strip_markers(text))}
    found = terms(quote)
    if kind == "name" and _PRONOUN.search(quote):
        found |= terms(context)
    return bool((terms(claim) - terms(question)) & found)
