"""Standard-library metrics for answers, article retrieval, MultiHop-RAG chunk retrieval, abstention and citations."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

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


def official_lenient_correct(prediction: str, gold: str) -> bool:
    """MultiHop-RAG qa_evaluate.py rule: any shared lowercased whitespace token after answer extraction."""
    if "The answer" in prediction:
        match = re.search(r'The answer to the question is "(.*?)"', prediction)
        prediction = match.group(1) if match else prediction
    return bool(set(prediction.lower().split()) & set(gold.lower().split()))


def strict_exact_match(prediction: str, gold: str) -> bool:
    """Normalised equality after dropping a leading 'the answer (to the question) is' and a trailing period."""
    prediction = re.sub(r"^\s*the answer(?: to the question)? is\b\s*:?", "", prediction.strip(), flags=re.I)
    prediction = prediction.strip().removesuffix(".")
    gold_norm = normalize_answer(gold.strip().removesuffix("."))
    return bool(gold_norm) and normalize_answer(prediction) == gold_norm


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


# --------------------------------------------------------------------------- MultiHop-RAG official chunk scoring


def _squash(text: str) -> str:
    """Remove spaces and newlines only, exactly as the official retrieval_evaluate.py does."""
    return text.replace(" ", "").replace("\n", "")


def multihop_chunk_scores(chunks: list[str], facts: list[str], k: int = 10) -> dict[str, float]:
    """MultiHop-RAG retrieval_evaluate.py scores for one query; map@10 is the paper's non-standard AP."""
    # A chunk is a hit when any squashed fact is a substring of it.  AP adds, at each hit rank r, the number of
    # facts first found in that chunk divided by r, then divides by min(#facts, cutoff): a chunk holding two facts
    # counts twice and a hit that only repeats found facts adds nothing.  k is the cutoff; 10 reproduces the script.
    # Empty `facts` (a ZeroDivisionError in the script) scores all zeros.
    scores = {"hits@4": 0.0, "hits@10": 0.0, "mrr@10": 0.0, "map@10": 0.0}
    gold = [_squash(fact) for fact in facts]
    if not gold or k <= 0:
        return scores
    found: list[str] = []
    ap_sum = 0.0
    for rank, chunk in enumerate(chunks[:k], 1):
        text = _squash(chunk)
        if not any(fact in text for fact in gold):
            continue
        scores["hits@10"] = 1.0
        scores["hits@4"] = max(scores["hits@4"], float(rank <= 4))
        scores["mrr@10"] = scores["mrr@10"] or 1.0 / rank
        new = 0
        for fact in gold:  # a fact listed twice counts once, like the script's find_gold list
            if fact in text and fact not in found:
                found.append(fact)
                new += 1
        ap_sum += new / rank
    scores["map@10"] = ap_sum / min(len(gold), k)
    return scores


# --------------------------------------------------------------------------- aggregation


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
