"""Follow-up questions in a chat: detect them and rewrite them into standalone questions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from rag.text import tokenize

MAX_NEW_TOKENS = 40
HISTORY_TURNS = 3  # turns a conversation keeps for rewriting follow-ups
SYSTEM = ("Rewrite the follow-up as a standalone question: keep its words, but replace pronouns (it, he, they, "
          "this...) with the names they refer to and add what is left out. Never answer. Reply with one "
          "question only.")
EXAMPLES = """Previous question: Who runs the World Health Organization?
Previous answer: Tedros Adhanom Ghebreyesus is its director-general.
Follow-up: When did he take office?
Standalone: When did Tedros Adhanom Ghebreyesus take office?

Previous question: What did Apple announce in March?
Previous answer: Apple announced a new iPad.
Follow-up: What about Samsung?
Standalone: What did Samsung announce in March?

Previous question: Why did the Bank of Japan raise rates?
Previous answer: Inflation stayed above its 2% target.
Follow-up: How did markets react?
Standalone: How did markets react to the Bank of Japan raising rates?

Previous question: Who won the 2024 Tour de France?
Previous answer: Tadej Pogacar won it.
Follow-up: Where is he from?
Standalone: Where is Tadej Pogacar from?
"""
_PRONOUNS = frozenset("it its it's they them their theirs he him his she her hers this that these those there".split())
_ELLIPTICAL = re.compile(r"^\s*(?:(?:and|but|also|so|what about|how about|what else)\b|why\s*\??\s*$)", re.I)
_WH = frozenset("who whom whose what when where why how which".split())
_ANSWER_START = re.compile(r"^(yes|no|sure|according|based on|the answer|answer|i |it is|it was|they are|there is|"
                           r"here is|as an ai)\b", re.I)
_MARKER = re.compile(r"\[\s*\d+[^\]]*\]")
_THING_PRONOUN = re.compile(r"\b(it|its|they|them|their)\b", re.I)
_NAME_RUN = re.compile(r"(?:\bthe\s+)?\b[A-Z][\w'’.&-]*(?:(?:,?\s+|\s+(?:of|and|for|de|the)\s+)[A-Z][\w'’.&-]*)*")
_WHAT_IS = re.compile(r"^(?:what|who|which)\s+(?:is|are|was|were)\s+(.+?)\s*\?*$", re.I)
_CONTEXT = re.compile(r"^(?P<question>.*) \(context: (?P<context>.*)\)$")


@dataclass(frozen=True)
class Turn:
    """One exchange of the chat: the question as searched and the answer's text."""

    question: str
    answer: str


class TextGenerator(Protocol):
    """What rewrite() needs from a model: rag.generate.Generator fits."""

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int | None = None) -> str:
        """The model's reply to ``messages``."""


def needs_rewrite(question: str, history: list[Turn]) -> bool:
    """Whether ``question`` leans on earlier turns (pronouns, ellipsis, very short without a name)."""
    if not history:
        return False
    words = _words(question)
    if _ELLIPTICAL.match(question) or any(w in _PRONOUNS for w in words):
        return True
    return len(words) <= 4 and not _has_name(question)


def standalone(question: str, history: list[Turn], generator: TextGenerator) -> str:
    """``question`` as it is searched in a conversation (the chat's and the server's): rewritten from the last
    ``HISTORY_TURNS`` turns when it leans on them (``needs_rewrite``), else as asked."""
    history = history[-HISTORY_TURNS:]
    return rewrite(question, history, generator) if needs_rewrite(question, history) else question


def rewrite(question: str, history: list[Turn], generator: TextGenerator) -> str:
    """A standalone version of the follow-up ``question``: the model's rewrite (from the last turn) if it passes
    is_valid_rewrite(), else fallback()."""
    last = history[-1]
    user = (f"{EXAMPLES}\nPrevious question: {topic(last.question)}\nPrevious answer: {_plain(last.answer)}\n"
            f"Follow-up: {question}\nStandalone:")
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    candidate = _clean(generator.generate(messages, MAX_NEW_TOKENS))
    return candidate if is_valid_rewrite(candidate, question, history) else fallback(question, history)


def fallback(question: str, history: list[Turn]) -> str:
    """The follow-up with "it"/"its"/"they"... replaced by the previous question's subject, when both exist.

    Otherwise the follow-up with the previous question attached: "<question> (context: <previous>)".
    """
    previous = topic(history[-1].question)
    subject = key_phrase(previous)
    if subject and _THING_PRONOUN.search(question):
        return _THING_PRONOUN.sub(lambda m: subject + ("'s" if m.group().lower().endswith(("s", "r")) else ""),
                                  question, count=1)
    return f"{question} (context: {previous})"


def key_phrase(question: str) -> str | None:
    """What a question is about: its longest run of names ("the European Central Bank"), else "what is X"'s X."""
    names = [m.group().strip(" ,") for m in _NAME_RUN.finditer(question.split(" ", 1)[-1])]
    if names:
        return max(names, key=len)
    match = _WHAT_IS.match(question)
    return match.group(1) if match else None


def is_valid_rewrite(candidate: str, question: str, history: list[Turn]) -> bool:
    """Whether the model's ``candidate`` is one sane standalone question that keeps the follow-up's sense."""
    words = _words(candidate)
    if not candidate.endswith("?") or candidate.count("?") != 1 or "\n" in candidate:
        return False
    if _ANSWER_START.match(candidate) or _MARKER.search(candidate) or not 3 <= len(words) <= 40 or len(candidate) > 300:
        return False
    asked = {w for w in _words(question) if w in _WH}
    if asked and not asked & set(words):
        return False  # "Where ...?" must stay a where-question
    own, new = set(tokenize(question)), set(tokenize(candidate))
    context = set(tokenize(" ".join(f"{t.question} {t.answer}" for t in history))) - own
    return (not own or bool(own & new)) and bool(context & new)


def topic(question: str) -> str:
    """The standalone question behind a searched question (the context of a fallback rewrite)."""
    match = _CONTEXT.match(question)
    return match.group("context") if match else question


def _clean(text: str) -> str:
    """The first line of the model's reply without a label or quotes."""
    line = text.strip().split("\n", 1)[0].strip()
    line = re.sub(r"^(standalone( question)?|rewritten( question)?|question)\s*:\s*", "", line, flags=re.I)
    return line.strip().strip("\"'“”").strip()


def _plain(answer: str) -> str:
    """An answer without citation markers, cut to a few sentences' length for the prompt."""
    text = re.sub(r"\s+", " ", re.sub(r"\s*" + _MARKER.pattern, "", answer)).strip()
    return text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0] + " ..."


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def _has_name(question: str) -> bool:
    """Whether a word after the first is capitalized or a number: "What is the DSRB?", "Who won in 2024?"."""
    return any(w[0].isupper() or w[0].isdigit() for w in question.split()[1:])
