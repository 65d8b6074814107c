"""The answering stage: from retrieved passages to a checked, cited Answer (or "the articles don't say").

``Answerer`` runs named steps, each with its own setting in ``AnswerSettings``:

1. ``prompt``: the question's most relevant sentences as numbered sources; the reply is asked for as
   ``Answer: <words of the source> [n]`` or ``Answer: not stated``;
2. the model's probability of "not stated" as its first word (``abstain_above``), then its reply,
   streamed, one line;
3. ``markers``: the reply's parts and the sources they cite;
4. ``grounding``: each part found in a source sentence, its quote (``min_coverage``: share of the part's
   words the quote must hold), wrong citations repaired;
5. ``checks``: a question asking for a number, date, place or name gets one from the quote
   (``check_kind``);
6. ``confirm``: the model's probability that the quotes state this answer (``confirm_below``).

Every measured value is kept in ``Answer.signals``; the thresholds were chosen on the dev questions
(eval/RESULTS.md says what each check is worth).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from rag.answer.checks import asked_for, gives, is_polar, is_refusal, short_answer
from rag.answer.confirm import confirmation, p_yes
from rag.answer.grounding import Grounded, content_words, ground
from rag.answer.markers import read_reply
from rag.answer.policy import confidence, threshold, withheld
from rag.answer.prompt import build_messages, excerpts
from rag.answer.types import NOT_IN_ARTICLES, Answer, AnswerSentence, Citation
from rag.config import AnswerSettings, GenerateSettings
from rag.generate.base import Generator, Messages
from rag.retrieve import Passage

__all__ = ["NOT_IN_ARTICLES", "Answer", "AnswerSentence", "Answerer", "Citation", "Draft", "encoded_once"]

NOT_STATED_START = " not"  # the first token of "not stated" after "Answer:"
FIRST_WORDS = (NOT_STATED_START, " Yes", " No")


class Draft:
    """One question's prompt and, once written, the model's reply and what was measured on the way."""

    def __init__(self, question: str, passages: list[Passage], messages: Messages | None, used: list[Passage],
                 encode: Callable[[list[str]], np.ndarray]) -> None:
        """``used``: the passages the prompt shows, source [n] being ``used[n - 1]``; ``encode``: the sentence
        embedder, remembering what it embedded for this question (the prompt and the checks share it)."""
        self.question = question
        self.passages = passages
        self.messages = messages
        self.used = used
        self.encode = encode
        self.raw = ""
        self.signals: dict[str, float] = {}
        self.timings: dict[str, float] = {}


class Answerer:
    """Answers questions from passages with one generator; keeps nothing between questions."""

    def __init__(self, generator: Generator, settings: AnswerSettings, generate: GenerateSettings,
                 encode: Callable[[list[str]], np.ndarray], article_text: Callable[[str], str]) -> None:
        """``encode`` embeds sentences (the retrieval embedder); ``article_text`` gives an article's text by id."""
        self.generator = generator
        self.settings = settings
        self.generate_settings = generate
        self.encode = encode
        self.article_text = article_text

    def draft(self, question: str, passages: list[Passage]) -> Draft:
        """The prompt for ``question``: the passages' most relevant sentences as numbered sources, cut to fit."""
        encode = encoded_once(self.encode)
        if not passages:
            return Draft(question, passages, None, [], encode)
        budget = self.generator.context_window - self.generate_settings.max_new_tokens
        shown = excerpts(question, passages, encode, self.settings.excerpt_sentences)
        messages, used = build_messages(question, passages, shown, self.generator.count_chat_tokens, budget,
                                        polar=is_polar(question))
        draft = Draft(question, passages, messages, used, encode)
        draft.signals["prompt_tokens"] = float(self.generator.count_chat_tokens(messages))
        return draft

    def write(self, draft: Draft) -> Iterator[str]:
        """Stream the model's reply to ``draft`` (its first line), filling ``draft.raw``; first, the model's
        probability of replying "not stated" is read off the same prefill."""
        if draft.messages is None:
            return
        started = time.perf_counter()
        first = {k: math.exp(v) for k, v in self.generator.choice_logprobs(draft.messages, FIRST_WORDS).items()}
        draft.signals["p_not_stated"] = round(first[NOT_STATED_START], 4)
        draft.timings["prefill_s"] = time.perf_counter() - started
        # The reply is never a greedy "not stated": how likely the model found it is the signal, and
        # abstain_above (chosen on dev) decides. A yes/no question's answer starts with the word the
        # model found likelier, with P(Yes) weighed against yes_bias (chosen on dev: the model leans to yes);
        # any other answer starts with neither.
        avoid = [NOT_STATED_START]
        if is_polar(draft.question):
            p_yes = first[" Yes"] / max(first[" Yes"] + first[" No"], 1e-12)
            draft.signals["p_yes_first"] = round(p_yes, 4)
            avoid.append(" No" if p_yes >= self.settings.yes_above else " Yes")
        else:
            avoid += [" Yes", " No"]
        pieces: list[str] = []
        stream = self.generator.stream(draft.messages, avoid=tuple(avoid))
        try:
            for piece in stream:
                if "\n" in piece:  # one line is the whole answer; what follows is not asked for
                    piece = piece.split("\n", 1)[0]
                    if piece:
                        pieces.append(piece)
                        yield piece
                    break
                pieces.append(piece)
                yield piece
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        draft.raw = "".join(pieces).strip()
        draft.timings["write_s"] = time.perf_counter() - started
        logprobs = getattr(self.generator, "last_logprobs", None)
        if logprobs:
            draft.signals["reply_logprob"] = round(sum(logprobs) / len(logprobs), 4)

    def check(self, draft: Draft, min_confidence: float | None = None) -> Answer:
        """The checked Answer for ``draft``: each part grounded in a quote, then the policy's checks; withheld
        ("the articles don't say") when one fails. ``min_confidence`` replaces ``settings.min_confidence``."""
        settings, signals = self.settings, draft.signals
        needed = threshold(settings.min_confidence if min_confidence is None else min_confidence)
        used = draft.used or draft.passages

        def withhold(reason: str, sentences: list[AnswerSentence] | None = None) -> Answer:
            return withheld(draft.question, draft.passages, settings.related, draft.raw, sentences or [], reason,
                            signals)
        if not used:
            return withhold("no passage matched the question")
        reply = read_reply(draft.raw, len(used))
        if reply.not_stated or is_refusal(reply.line):
            return withhold("the model found no answer in the sources")
        if signals.get("p_not_stated", 0.0) >= settings.abstain_above:
            return withhold(f"the model gave 'not stated' a probability of {signals['p_not_stated']:.2f}")
        grounded = [ground(part, draft.question, used, draft.encode) for part in reply.parts]
        signals["coverage"] = round(min(g.coverage for g in grounded), 3)
        signals["verbatim"] = float(all(g.verbatim for g in grounded))
        signals["repaired"] = float(any(g.repaired for g in grounded))
        answer = self._answer(draft, used, grounded)
        quotes = " ".join(c.quote for c in answer.citations)
        asked = content_words(draft.question)
        signals["question_in_quote"] = round(len(asked & content_words(quotes)) / max(len(asked), 1), 3)
        if quotes:
            vectors = draft.encode([draft.question, quotes])
            signals["question_similarity"] = round(float(vectors[0] @ vectors[1]), 3)
        signals["top_score"] = round(used[0].score, 3)
        if any(g.passage is None for g in grounded):
            return withhold("no source holds the answer", answer.sentences)
        if signals["coverage"] < settings.min_coverage:
            return withhold("the quoted sentence does not hold the answer's words", answer.sentences)
        kind = asked_for(draft.question)
        if kind:
            quotes = [(c.quote, c.passage) for c in answer.citations]
            signals["kind_given"] = float(any(gives(kind, draft.question, answer.text, q, p) for q, p in quotes))
            if settings.check_kind and not signals["kind_given"]:
                return withhold(f"the answer gives no {kind} from the sources, and the question asks for one",
                                answer.sentences)
        if settings.confirm and self.generator.capabilities.checks_answers:
            started = time.perf_counter()
            quotes = [(c.title, c.quote) for c in answer.citations]
            signals["p_confirm"] = round(p_yes(self.generator, confirmation(draft.question, answer.text, quotes)), 4)
            draft.timings["confirm_s"] = time.perf_counter() - started
            if signals["p_confirm"] < settings.confirm_below:
                return withhold(f"asked to check, the model found that the quote does not give this answer "
                                f"(p = {signals['p_confirm']:.2f})", answer.sentences)
        signals["confidence"] = round(confidence(signals), 4)
        if signals["confidence"] < needed:
            return withhold(f"the checks give this answer a confidence of {signals['confidence']:.2f}, below "
                            f"{needed:.2f}", answer.sentences)
        return answer

    def _answer(self, draft: Draft, used: list[Passage], grounded: list[Grounded]) -> Answer:
        """The Answer the grounded parts make: "Part one [1] and part two [2].", citations numbered in order."""
        numbers: dict[tuple[str, tuple[int, int]], int] = {}
        citations: list[Citation] = []
        sentences: list[AnswerSentence] = []
        for g in grounded:
            if g.passage is None or g.quote is None:
                sentences.append(AnswerSentence(g.part.text, (), 0.0, False))
                continue
            passage = used[g.passage]
            key = (passage.article_id, g.quote)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                text = self.article_text(passage.article_id)
                citations.append(Citation(numbers[key], passage.article_id, passage.title, passage.date,
                                          passage.source, text[g.quote[0]:g.quote[1]], g.quote[0], g.quote[1],
                                          passage.text, round(g.coverage, 3)))
            words = g.part.text.rstrip(" .;,:")
            sentences.append(AnswerSentence(f"{words} [{numbers[key]}]", (numbers[key],), g.coverage,
                                            g.coverage >= self.settings.min_coverage))
        text = " and ".join(s.text for s in sentences)
        text = (text[:1].upper() + text[1:]).rstrip(" .") + "."
        words = " and ".join(g.part.text.rstrip(" .;,:") for g in grounded)
        short = short_answer(draft.question, grounded[0].part.text if is_polar(draft.question) else words)
        short = short or words
        return Answer(draft.question, text, True, citations=citations, passages=draft.passages, sentences=sentences,
                      raw=draft.raw, short=short, signals=draft.signals)


def encoded_once(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """``encode`` remembering its vectors: a text seen before is not embedded again."""
    seen: dict[str, np.ndarray] = {}

    def encode_once(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, encode(missing)))
        return np.stack([seen[t] for t in texts]) if texts else encode(texts)
    return encode_once
