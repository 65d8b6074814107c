"""The answer-or-withhold policy: a confidence from an answer's signals, and the withheld Answer.

The confidence is a logistic model over signals each answer carries (``Answer.signals``), fit by
``eval/fit_policy.py`` on dev questions only, to tell right answers from wrong ones and from answers to
questions the articles do not answer. Its features, weights, the value a missing signal takes, and the
threshold chosen on dev are in ``policy.json`` next to this file; a damaged or stale file is a ModelError
naming the fix.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.answer.types import NOT_IN_ARTICLES, Answer, AnswerSentence, Citation
from rag.errors import ModelError
from rag.retrieve import Passage

POLICY_FILE = Path(__file__).with_name("policy.json")
# Every signal an answer can carry (rag.answer.single, rag.answer.signals): a policy may use any of them.
SIGNALS = frozenset({
    "prompt_tokens", "p_not_stated", "p_yes_first", "reply_logprob", "reply_min_logprob", "new_words", "coverage",
    "verbatim", "repaired", "question_similarity", "names_in_quote", "names_in_passage", "names_in_article",
    "answer_words", "passage_rank", "quote_rank", "kind_given", "p_confirm", "verifier", "answer_in_parts"})
_KEYS = {"features": list, "weights": list, "bias": float, "mean": list, "scale": list, "missing": list,
         "threshold": float}


def load(path: Path = POLICY_FILE) -> dict[str, Any]:
    """The fitted policy in ``path``, checked: every key present with its type, one weight, mean, scale and
    missing value per feature, and every feature a signal the code measures."""
    fix = "reinstall the package, or refit the policy with eval/fit_policy.py"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: the answer policy cannot be read ({exc})", fix) from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: the answer policy is not a JSON object", fix)
    for key, kind in _KEYS.items():
        value = data.get(key)
        if not isinstance(value, kind) and not (kind is float and isinstance(value, int)):
            raise ModelError(f"{path}: the answer policy has no valid {key!r}", fix)
    n = len(data["features"])
    if any(len(data[k]) != n for k in ("weights", "mean", "scale", "missing")):
        raise ModelError(f"{path}: the answer policy's lists differ in length from its {n} features", fix)
    unknown = [f for f in data["features"] if f not in SIGNALS]
    if unknown:
        raise ModelError(f"{path}: the answer policy was fit on signals this version does not measure: "
                         f"{', '.join(map(str, unknown))}", fix)
    if not all(isinstance(x, (int, float)) for k in ("weights", "mean", "scale", "missing") for x in data[k]):
        raise ModelError(f"{path}: the answer policy has a value that is not a number", fix)
    return data


@lru_cache(maxsize=1)
def fitted() -> dict[str, Any]:
    """The package's fitted policy, loaded and checked once."""
    return load()


def confidence(signals: dict[str, float], model: dict[str, Any] | None = None) -> float:
    """How likely the answer with these signals is right (0..1), by the fitted policy (or ``model``)."""
    model = model or fitted()
    z = model["bias"]
    for name, w, m, s, missing in zip(model["features"], model["weights"], model["mean"], model["scale"],
                                      model["missing"]):
        z += w * (float(signals.get(name, missing)) - m) / s
    return 1 / (1 + math.exp(-z))


def threshold(setting: float) -> float:
    """The confidence an answer needs: ``setting``, or the threshold chosen on dev when it is negative."""
    return fitted()["threshold"] if setting < 0 else setting


def withheld(question: str, passages: list[Passage], related: int, raw: str, sentences: list[AnswerSentence],
             reason: str, signals: dict[str, float] | None = None, closest: list[Citation] | None = None) -> Answer:
    """The "articles don't say" Answer: no citations, the ``related`` closest articles, the ``closest``
    sentences (what the articles do say), and why."""
    near = distinct_articles(passages)[:related]
    text = f"{NOT_IN_ARTICLES[:-1]}: " + ("none of the articles answers this question." if near
                                          else "no article matches the question.")
    return Answer(question, text, False, passages=passages, related=near, closest=list(closest or []),
                  sentences=sentences, reason=reason, raw=raw, signals=dict(signals or {}))


def distinct_articles(passages: list[Passage]) -> list[Passage]:
    """The first passage of each article, in order."""
    seen, out = set(), []
    for passage in passages:
        if passage.article_id not in seen:
            seen.add(passage.article_id)
            out.append(passage)
    return out
