"""Checks of an answer against the question and its quotes: the kind of answer asked for, refusals, yes/no."""

from __future__ import annotations

import re

from rag.answer.markers import strip_markers
from rag.english import DATE_WORDS, MONTH_ABBREVIATIONS, MONTHS, NUMBER_WORDS, STOPWORDS

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
_MONTHS = " ".join([*MONTHS, *MONTH_ABBREVIATIONS])
_GIVES = {"number": NUMBER_WORDS, "date": DATE_WORDS}


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


_ENTITY = re.compile(r"^\s*(?:who|whom)\b|^\s*(?:which|what)\s+(?:\w+\s+)?(?:company|companies|firm|business|"
                     r"individual|person|people|organi[sz]ation|team|club|player|athlete|country|nation|city|state|"
                     r"brand|platform|app|product|service|character|celebrity|artist|singer|band|entity|group|"
                     r"agency|league|university|network|studio|tech giant|giant|figure|executive|ceo|founder)\b",
                     re.I)
_CAPITALISED = re.compile(r"[A-Z][\w&'’.-]*(?:\s+(?:of\s+|&\s+|de\s+)?[A-Z][\w&'’.-]*)*")
_DATE = re.compile(rf"\b(?:(?:{_MONTHS.replace(' ', '|')})\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{4}})?|"
                   r"\d{1,2}(?:st|nd|rd|th)?\s+(?:" + _MONTHS.replace(" ", "|") + r")\.?(?:,?\s+\d{4})?|"
                   r"(?:19|20)\d{2}|\d{4}-\d{2}-\d{2})\b", re.I)
_AMOUNT = re.compile(r"(?:[$€£]\s?)?\d+(?:[.,]\d+)*\s*(?:%|percent\b|per cent\b)?(?:\s*(?:thousand|million|billion|"
                     r"trillion|bn|m)\b)?")


def short_answer(question: str, text: str) -> str | None:
    """The answer itself, read off the answer's ``text`` where the question says what it wants: "yes" or
    "no" for a yes/no question whose answer starts with that word; a date for "when" questions; an amount
    for "how many / how much"; for "who" and "which company / person / team ..." the name the answer
    gives that the question does not (the longest such run of capitalised words). None when the text
    holds no such thing (the caller keeps the answer's words)."""
    text = strip_markers(text)
    if is_polar(question):
        first = re.match(r"\W*(yes|no)\b", text, re.I)
        return first.group(1).lower() if first else None
    kind = asked_for(question)
    if kind == "date":
        date = _DATE.search(text)
        return date.group().strip() if date else None
    if kind == "number":
        amount = _AMOUNT.search(text)
        return amount.group().strip() if amount else None
    if kind == "name" or _ENTITY.search(question):
        asked = {w.lower() for w in re.findall(r"[\w'’.-]+", question)}
        runs = []
        for m in _CAPITALISED.finditer(text):
            words = [w for w in m.group().split() if w.lower().strip(".,") not in STOPWORDS | {"yes", "no"}]
            while words and words[0].lower().strip(".") in STOPWORDS | {"the"}:
                words = words[1:]
            if words and not all(w.lower() in asked for w in words):
                runs.append(" ".join(words))
        return max(runs, key=lambda r: len(r.split()), default=None)
    return None
