"""The second look: the model, shown only the answer's quotes, says how likely they give that answer."""

from __future__ import annotations

import math

from rag.generate.base import Generator, Messages

CONFIRM_SYSTEM = "You check whether a news source answers a question."
CONFIRM = ("{sources}\n\nQuestion: {question}\nProposed answer: {claim}\n\n"
           "{ask} this answer to the question? Reply with yes or no.")


def confirmation(question: str, claim: str, quotes: list[tuple[str, str]]) -> Messages:
    """The messages asking whether ``quotes`` ((title, quote) pairs) state ``claim`` as the answer to ``question``."""
    many = len(quotes) > 1
    sources = "\n\n".join(f"Source{f' {n}' if many else ''} (from the article \"{title}\"):\n{quote}"
                          for n, (title, quote) in enumerate(quotes, 1))
    user = CONFIRM.format(sources=sources, question=question, claim=claim,
                          ask="Do the sources state" if many else "Does the source state")
    return [{"role": "system", "content": CONFIRM_SYSTEM}, {"role": "user", "content": user}]


def p_yes(generator: Generator, messages: Messages) -> float:
    """The model's probability of replying "Yes" rather than "No" to ``messages``."""
    lp = generator.choice_logprobs(messages, ("Yes", "No"))
    yes, no = math.exp(lp["Yes"]), math.exp(lp["No"])
    return yes / (yes + no) if yes + no > 0 else 0.5
