"""Checks of an answer against the question and its quotes: the kind of answer asked for, refusals, yes/no."""

from __future__ import annotations

import re

from rag.answer.markers import strip_markers
from rag.text import STOPWORDS

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


_POLAR = re.compile(r"^\s*(?:(?:according to|in|per|based on)\b[^,?]{0,80},\s*)?"
                    r"(is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|"
                    r"must)\b", re.I)


def is_polar(question: str) -> bool:
    """Whether ``question`` asks for yes or no ("Did X say ...?", "Is Y ...?")."""
    return bool(_POLAR.match(question))


def short_answer(question: str, text: str) -> str | None:
    """The answer itself, for the questions where it can be read off the text: "yes" or "no" for a
    yes/no question whose answer starts with that word."""
    if is_polar(question):
        first = re.match(r"\W*(yes|no)\b", text, re.I)
        return first.group(1).lower() if first else None
    return None

