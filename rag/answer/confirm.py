"""The second look and the model's yes/no probabilities, computed one way for every caller.

The second look continues the answer's own conversation: after the model's reply, one more user turn shows
the quote each part was held to and asks whether it states that answer to the question. The sources and
the reply are already in the runtime's KV cache, so only that turn is prefilled (about 60 tokens instead of
the 200-250 of a conversation of its own)."""

from __future__ import annotations

import math

from rag.generate.base import Generator, Messages

CHECK = ("Check your answer against the {what} it came from:\n{quotes}\n\nDoes {this} state that the answer to "
         "the question \"{question}\" is \"{claim}\"? Reply Yes or No.")


def second_look(messages: Messages, reply: str, question: str, claim: str, quotes: list[str]) -> Messages:
    """The answer's conversation (``messages``, which end with the assistant's "Answer:") continued with
    the model's ``reply`` and a turn asking whether ``quotes`` state ``claim`` as the answer to ``question``."""
    many = len(quotes) > 1
    shown = "\n".join(f"- \"{q.strip()}\"" for q in quotes) if many else f"\"{quotes[0].strip()}\""
    ask = CHECK.format(what="sentences" if many else "sentence", quotes=shown,
                       this="these sentences" if many else "this sentence", question=question, claim=claim)
    answered = [*messages[:-1], {"role": "assistant", "content": f"{messages[-1]['content']} {reply.strip()}"}]
    return [*answered, {"role": "user", "content": ask}]


def p_yes(generator: Generator, messages: Messages) -> float:
    """The model's probability of "Yes" rather than "No" as the next word of the reply to ``messages``
    (" Yes" after an assistant message it continues, such as "Answer:"; "Yes" at the start of a reply)."""
    space = " " if messages and messages[-1]["role"] == "assistant" else ""
    lp = generator.choice_logprobs(messages, (f"{space}Yes", f"{space}No"))
    return yes_share(lp[f"{space}Yes"], lp[f"{space}No"])


def yes_share(yes_logprob: float, no_logprob: float) -> float:
    """P(Yes) / (P(Yes) + P(No)) from the two log-probabilities (0.5 when both are nil)."""
    yes, no = math.exp(yes_logprob), math.exp(no_logprob)
    return yes / (yes + no) if yes + no > 0 else 0.5
