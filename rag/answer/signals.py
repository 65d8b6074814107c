"""What is measured on a grounded answer, beside the model's own probabilities: how well its quotes match the
question, whether they hold what the question names and the kind of answer it asks for, and where they rank.
Every value goes into ``Answer.signals``; the policy (``rag.answer.policy``) weighs those it was fit on."""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.answer.checks import gives
from rag.answer.draft import Draft
from rag.answer.grounding import Grounded
from rag.answer.types import Answer


def measure(draft: Draft, answer: Answer, grounded: list[Grounded], article_text: Callable[[str], str]
            ) -> dict[str, float]:
    """The signals of ``answer`` (built from ``grounded`` parts of ``draft``'s reply)."""
    asked, used = draft.asked, draft.used
    quotes = " ".join(c.quote for c in answer.citations)
    passages = " ".join(used[g.passage].text for g in grounded)
    articles = " ".join(article_text(a) for a in dict.fromkeys(used[g.passage].article_id for g in grounded))
    vectors = draft.encode([asked.text, quotes])
    out = {"question_similarity": round(float(vectors[0] @ vectors[1]), 3),
           "names_in_quote": share_named(asked.names, quotes),
           "names_in_passage": share_named(asked.names, passages),
           "names_in_article": share_named(asked.names, articles),
           "answer_words": float(len(re.findall(r"\w+", answer.short or ""))),
           "passage_rank": float(min(g.passage for g in grounded))}
    order = {(i, span): n for n, (i, span, _) in enumerate(draft.ranked)}
    position = {id(p): i for i, p in enumerate(draft.passages)}
    ranks = [order.get((position.get(id(p), -1), (g.quote[0] - p.start, g.quote[1] - p.start)), len(order))
             for g in grounded if g.quote and (p := used[g.passage])]
    out["quote_rank"] = float(min(ranks, default=len(order)))
    if asked.kind:
        pairs = [(c.quote, c.passage) for c in answer.citations]
        out["kind_given"] = float(any(gives(asked.kind, asked.text, answer.short or answer.text, q, p)
                                      for q, p in pairs))
    else:
        out["kind_given"] = 1.0
    return out


def share_named(names: tuple[str, ...], text: str) -> float:
    """The share of ``names`` (all their words, whole words, any case) that ``text`` holds; 1.0 when none."""
    if not names:
        return 1.0
    lowered = text.lower().replace("’", "'")

    def has(name: str) -> bool:
        return all(re.search(rf"(?<!\w){re.escape(w.lower().rstrip('.'))}", lowered)
                   for w in re.sub(r"['’]s$", "", name).split())
    return round(sum(has(n) for n in names) / len(names), 3)
