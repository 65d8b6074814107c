"""Standard-library metrics for answers, article retrieval, abstention and citations."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

# --------------------------------------------------------------------------- answer normalisation

_QUOTES_DASHES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    }
)
# NFKC has already turned no-break, narrow no-break and thin spaces into " "; one separator kind per number.
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}([, ])\d{3}(?:\1\d{3})*(?!\d)")
_ACRONYM = re.compile(r"\b[a-z](?:\.[a-z]\b)+\.?")  # u.s. -> us, u.k -> uk
_SCALE_WORDS = {
    "bn": "billion", "bln": "billion", "b": "billion",
    "mn": "million", "mln": "million", "m": "million",
    "tn": "trillion", "trn": "trillion", "k": "thousand",
}
_SCALE_ABBREV = re.compile(r"(?<=\d)\s*(bn|bln|mn|mln|tn|trn)(?![a-z])")  # unambiguous only
_SCALE = r"trillion|billion|million|thousand|bln|mln|trn|bn|mn|tn|b|m|k"  # b/m/k only next to a currency
_CURRENCY_CODES = {
    "$": "usd", "us$": "usd", "usd": "usd", "dollar": "usd", "dollars": "usd", "us dollar": "usd", "us dollars": "usd",
    "€": "eur", "eur": "eur", "euro": "eur", "euros": "eur",
    "£": "gbp", "gbp": "gbp", "pound": "gbp", "pounds": "gbp", "pound sterling": "gbp", "pounds sterling": "gbp",
    "yen": "jpy", "jpy": "jpy", "yuan": "cny", "renminbi": "cny", "cny": "cny",
}
_NUM = r"(\d+(?:\.\d+)?)"
_CURRENCY_PREFIX = re.compile(rf"(?<![a-z])(us\$|\$|€|£|usd|eur|gbp|jpy|cny)\s*{_NUM}(?:\s*({_SCALE})(?![a-z]))?")
_CURRENCY_SUFFIX = re.compile(
    rf"(?<![\d.]){_NUM}\s*(?:({_SCALE})(?![a-z])\s*)?"
    r"(us dollars?|dollars?|usd|euros?|eur|€|pounds? sterling|pounds?|gbp|£|yen|jpy|yuan|renminbi|cny)(?![a-z])"
)
_PUNCT = re.compile(r"(?!(?<=\d)\.(?=\d))[^\w\s]|_")  # keeps decimal points
_ARTICLES = frozenset({"a", "an", "the"})


def _money(number: str, scale: str | None, currency: str) -> str:
    """Render an amount as '<number> [<scale word>] <ISO CODE>' (upper case so later passes skip it)."""
    parts = [number, _SCALE_WORDS.get(scale, scale) if scale else None, _CURRENCY_CODES[currency].upper()]
    return " " + " ".join(p for p in parts if p) + " "


def _prefix_money(m: re.Match[str]) -> str:
    """Rewrite '€500 billion' style amounts."""
    return _money(m.group(2), m.group(3), m.group(1))


def _suffix_money(m: re.Match[str]) -> str:
    """Rewrite '500 billion euros' style amounts; bare 'N pounds' may be a weight, so it needs a scale word."""
    if m.group(3).startswith("pound") and "sterling" not in m.group(3) and not m.group(2):
        return m.group(0)
    return _money(m.group(1), m.group(2), m.group(3))


def normalize_answer(text: str) -> str:
    """Canonicalise an answer: case, quotes, dashes, numbers, currencies, percent, punctuation, articles, spaces."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_QUOTES_DASHES)
    text = re.sub(r"\s*%", " percent ", text)
    text = re.sub(r"\bper\s*cent\b|(?<=\d)\s*pct\b", " percent ", text)
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", "").replace(" ", ""), text)
    text = _SCALE_ABBREV.sub(lambda m: " " + _SCALE_WORDS[m.group(1)], text)
    text = _CURRENCY_SUFFIX.sub(_suffix_money, text)
    text = _CURRENCY_PREFIX.sub(_prefix_money, text)
    text = re.sub(r"'s\b", "", text).replace("'", "")  # possessives go; o'brien -> obrien
    text = _PUNCT.sub(" ", text)
    return " ".join(t for t in text.lower().split() if t not in _ARTICLES)


def answer_correct(prediction: str, gold: list[str]) -> bool:
    """True when some normalised gold answer occurs in the normalised prediction as whole words."""
    padded = f" {normalize_answer(prediction)} "
    return any((g := normalize_answer(answer)) and f" {g} " in padded for answer in gold)


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    """SQuAD token F1 for one pair of token lists."""
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, gold: list[str]) -> float:
    """Best SQuAD-style token F1 of the prediction against any gold answer (0.0 for no gold)."""
    pred_tokens = normalize_answer(prediction).split()
    return max((_f1(pred_tokens, normalize_answer(g).split()) for g in gold), default=0.0)


# --------------------------------------------------------------------------- article-level retrieval


def dedupe(ranked: list[str]) -> list[str]:
    """Drop repeated ids, keeping each at its first (best) position."""
    return list(dict.fromkeys(ranked))


def _top(ranked: list[str], k: int) -> list[str]:
    """The first k distinct ids."""
    return dedupe(ranked)[: max(k, 0)]


def hit_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """1.0 if any relevant id is among the first k distinct ids, else 0.0."""
    return float(any(doc in relevant for doc in _top(ranked, k)))


def recall_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """Fraction of relevant ids among the first k distinct ids (0.0 when nothing is relevant)."""
    return len(relevant.intersection(_top(ranked, k))) / len(relevant) if relevant else 0.0


def all_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """1.0 if every relevant id is among the first k distinct ids (0.0 when nothing is relevant)."""
    return float(bool(relevant) and relevant.issubset(_top(ranked, k)))


def reciprocal_rank(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """1/rank of the first relevant id among the first k distinct ids, else 0.0."""
    return next((1.0 / rank for rank, doc in enumerate(_top(ranked, k), 1) if doc in relevant), 0.0)


# --------------------------------------------------------------------------- aggregation


def grouped(records: list[dict[str, Any]], block: Callable[[list[dict[str, Any]]], dict[str, Any]],
            key: str = "type") -> dict[str, Any]:
    """``block`` (a list of records -> metrics) over all records and over each group of equal ``record[key]``:
    ``{"all": {...}, "by_type": {group: {...}}}``. Every evaluator aggregates through this."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(str(record.get(key)), []).append(record)
    return {"all": block(records), "by_type": {name: block(rows) for name, rows in sorted(groups.items())}}


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean, 0.0 for no values."""
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def percentile(values: list[float], p: float) -> float:
    """p-th percentile (0-100) with linear interpolation, like numpy's default; 0.0 for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile p must be within 0..100, got {p}")
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(position), math.ceil(position)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


# --------------------------------------------------------------------------- abstention and citation


def abstention_scores(records: list[tuple[bool, bool]]) -> dict[str, float]:
    """Precision, recall and F1 of abstaining on unanswerable questions from (is_unanswerable, abstained) pairs."""
    # Each ratio is 0.0 when its denominator is 0 (e.g. precision when the model never abstained).
    both = sum(1 for unanswerable, abstained in records if unanswerable and abstained)
    abstained = sum(1 for _, a in records if a)
    unanswerable = sum(1 for u, _ in records if u)
    precision = both / abstained if abstained else 0.0
    recall = both / unanswerable if unanswerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"abstain_precision": precision, "abstain_recall": recall, "abstain_f1": f1}


def citation_scores(cited: list[str], gold: set[str]) -> tuple[float, float]:
    """(precision, recall) of distinct cited article ids against gold source ids; (0.0, 0.0) if either is empty."""
    distinct = dedupe(cited)
    if not distinct or not gold:
        return 0.0, 0.0
    correct = sum(1 for doc in distinct if doc in gold)
    return correct / len(distinct), correct / len(gold)
