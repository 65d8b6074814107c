"""The second look: the model, shown only the answer's quotes, says whether they give that answer."""

from __future__ import annotations

import re

from rag.answer.markers import strip_markers
from rag.answer.policy import withheld
from rag.answer.types import Answer

# Measured on the seed questions (1.5B): shown the whole passage instead of the quote, it caught 3 of 6
# answered unanswerable questions instead of 5; shown only the first sentence's quote, it said no to
# two-article answers whose other half was in the second quote.
CONFIRM_SYSTEM = "You check whether a news source answers a question."
CONFIRM_SOURCE = "Source{n} (from the article \"{title}\"):\n{quote}"
CONFIRM = ("{sources}\n\nQuestion: {question}\nProposed answer: {claim}\n\n"
           "{ask} this answer to the question? Reply with yes or no.")


def confirmation(answer: Answer, sentences: int = 3) -> list[dict[str, str]] | None:
    """The messages that ask the model whether the quotes of ``answer``'s first ``sentences`` supported
    sentences give those sentences as the answer to the question (reply: yes or no); None for a withheld
    answer."""
    claims = [s for s in answer.sentences if s.supported and s.citations][:sentences] if answer.answerable else []
    if not claims:
        return None
    cited = [answer.citations[n - 1] for n in dict.fromkeys(n for s in claims for n in s.citations)]
    sources = "\n\n".join(CONFIRM_SOURCE.format(n=f" {i}" if len(cited) > 1 else "", title=c.title, quote=c.quote)
                          for i, c in enumerate(cited, 1))
    claim = " ".join(strip_markers(s.text) for s in claims)
    user = CONFIRM.format(sources=sources, question=answer.question, claim=claim,
                          ask="Do the sources state" if len(cited) > 1 else "Does the source state")
    return [{"role": "system", "content": CONFIRM_SYSTEM}, {"role": "user", "content": user}]


def unconfirmed(answer: Answer, reply: str, related: int = 3) -> Answer:
    """``answer`` as it stands if ``reply`` (the model's reply to ``confirmation``) is not a no;
    otherwise the answer withheld, with its ``related`` closest articles."""
    if not re.match(r"\W*no\b", reply, re.I):
        return answer
    return withheld(answer.question, answer.passages, related, answer.raw, answer.sentences,
                    "asked to check, the model found that the quote does not give this answer")
