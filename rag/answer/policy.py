"""The answer-or-withhold policy: a confidence from the checks' signals, and the withheld Answer.

The confidence is a logistic model over the signals each answer carries (``Answer.signals``), fit by
``eval/fit_policy.py`` on the dev questions only (the seed set and the blind set's dev split) to tell
right answers from answers to questions the articles do not answer and from wrong answers. Its weights
and the threshold chosen on dev are in ``policy.json`` next to this file.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from rag.answer.types import NOT_IN_ARTICLES, Answer, AnswerSentence
from rag.retrieve import Passage

POLICY_FILE = Path(__file__).with_name("policy.json")
# signal -> its value when an answer does not have it: 1 for kind_given when the question asks for no
# particular kind; None (the dev mean: no evidence either way) when the model gives no such score
# (coverage and question_in_quote were tried and left out: each was worth 0.000 / 0.000 on dev)
FEATURES: dict[str, float | None] = {"p_not_stated": None, "p_confirm": None, "question_similarity": None,
                                     "reply_logprob": None, "kind_given": 1.0}


def features(signals: dict[str, float]) -> list[float]:
    """The policy's inputs from an answer's signals, in ``FEATURES`` order (NaN where a signal is missing)."""
    return [float(signals.get(name, math.nan if missing is None else missing)) for name, missing in FEATURES.items()]


@lru_cache(maxsize=1)
def fitted() -> dict:
    """The fitted policy: features, weights, bias, standardisation and threshold."""
    policy = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    if policy["features"] != list(FEATURES):
        raise ValueError(f"{POLICY_FILE} was fit on other signals: refit it with eval/fit_policy.py")
    return policy


def confidence(signals: dict[str, float]) -> float:
    """How likely the answer with these signals is right (0..1), by the fitted policy."""
    policy = fitted()
    z = sum(w * (x - m) / s for w, x, m, s in zip(policy["weights"], features(signals), policy["mean"],
                                                    policy["scale"]) if not math.isnan(x))
    return 1 / (1 + math.exp(-(z + policy["bias"])))


def threshold(setting: float) -> float:
    """The confidence an answer needs: ``setting``, or the threshold chosen on dev when it is negative."""
    return fitted()["threshold"] if setting < 0 else setting


def withheld(question: str, passages: list[Passage], related: int, raw: str, sentences: list[AnswerSentence],
             reason: str, signals: dict[str, float] | None = None) -> Answer:
    """The "articles don't say" Answer: no citations, the ``related`` closest articles, and why."""
    closest = _distinct_articles(passages)[:related]
    text = f"{NOT_IN_ARTICLES[:-1]}: " + ("none of the articles answers this question." if closest
                                          else "no article matches the question.")
    return Answer(question, text, False, passages=passages, related=closest, sentences=sentences, reason=reason,
                  raw=raw, signals=dict(signals or {}))


def _distinct_articles(passages: list[Passage]) -> list[Passage]:
    seen, out = set(), []
    for passage in passages:
        if passage.article_id not in seen:
            seen.add(passage.article_id)
            out.append(passage)
    return out
