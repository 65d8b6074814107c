"""The answer-or-withhold policy: the "articles don't say" Answer and the closest articles it lists."""

from __future__ import annotations

from rag.answer.types import NOT_IN_ARTICLES, Answer, AnswerSentence
from rag.retrieve import Passage


def withheld(question: str, passages: list[Passage], related: int, raw: str, sentences: list[AnswerSentence],
             reason: str) -> Answer:
    """The "articles don't say" Answer: no citations, the ``related`` closest articles, and why."""
    closest = _distinct_articles(passages)[:related]
    text = f"{NOT_IN_ARTICLES[:-1]}: " + ("none of the articles answers this question." if closest
                                          else "no article matches the question.")
    return Answer(question, text, False, passages=passages, related=closest, sentences=sentences, reason=reason,
                  raw=raw)


def _distinct_articles(passages: list[Passage]) -> list[Passage]:
    seen, out = set(), []
    for passage in passages:
        if passage.article_id not in seen:
            seen.add(passage.article_id)
            out.append(passage)
    return out
