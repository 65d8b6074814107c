"""The answer to a question from its retrieved passages: a prompt, the model's reply, the reply held to its
quotes, the measured signals and the policy's decision.

``Answerer`` runs the steps, each with its setting in ``AnswerSettings``:

1. ``draft``: the question's most relevant sentences as numbered sources (``excerpt_sentences``); the reply
   is asked for as ``Answer: <words of a source> [n]`` or ``Answer: not stated``;
2. ``write``: the model's probability of "not stated" as its first word, read off the prefill, then its
   reply, streamed, one line (never a greedy "not stated"; a yes/no question starts with the likelier word);
3. ``check``: the reply's parts and the sources they cite (``markers``); each part held to the source
   sentence that states it, the answer becoming that sentence's own words (``grounding``, ``min_coverage``);
   the signals measured (``signals``), among them the model's second look at the quotes in the same
   conversation (``confirm``); the fitted policy's confidence (``policy``, ``min_confidence``).

An answer that fails a step is withheld: "The articles don't say", with the sentences closest to the
question shown apart as what the articles do say.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from rag.answer import policy, signals
from rag.answer.checks import is_refusal, short_answer
from rag.answer.confirm import p_yes, second_look, yes_share
from rag.answer.draft import Draft
from rag.answer.grounding import Grounded, ground, polar_word
from rag.answer.markers import Part, read_reply
from rag.answer.prompt import build_messages, excerpts, ranked_sentences
from rag.answer.question import Asked
from rag.answer.types import Answer, AnswerSentence, Citation
from rag.answer.verifier import Verifier, triple
from rag.config import AnswerSettings, GenerateSettings
from rag.generate.base import Generator
from rag.retrieve import Passage

NOT_STATED_START = " not"  # the first token of "not stated" after "Answer:"
FIRST_WORDS = (NOT_STATED_START, " Yes", " No")


class Answerer:
    """Answers questions from passages with one generator; keeps nothing between questions."""

    def __init__(self, generator: Generator, settings: AnswerSettings, generate: GenerateSettings,
                 encode: Callable[[list[str]], np.ndarray], article_text: Callable[[str], str],
                 verifier: Verifier | None = None) -> None:
        """``encode`` embeds sentences (the retrieval embedder); ``article_text`` gives an article's text by id;
        ``verifier`` scores an answer with its quotes when the fitted policy reads that signal."""
        self.generator = generator
        self.verifier = verifier
        self.settings = settings
        self.generate_settings = generate
        self.encode = encode
        self.article_text = article_text

    def draft(self, asked: Asked, passages: list[Passage]) -> Draft:
        """The prompt for ``asked``: the passages' most relevant sentences as numbered sources, cut to fit."""
        encode = encoded_once(self.encode)
        if not passages:
            return Draft(asked, passages, None, [], [], [], encode)
        ranked = ranked_sentences(asked.text, passages, encode)
        shown = excerpts(asked.text, passages, encode, self.settings.excerpt_sentences, ranked)
        budget = self.generator.context_window - self.generate_settings.max_new_tokens
        messages, used = build_messages(asked.text, passages, shown, self.generator.count_chat_tokens, budget,
                                        polar=asked.polar)
        spans = {id(p): s for p, s in zip(passages, shown)}
        draft = Draft(asked, passages, messages, used, [spans[id(p)] for p in used], ranked, encode)
        draft.signals["prompt_tokens"] = float(self.generator.count_chat_tokens(messages))
        return draft

    def write(self, draft: Draft) -> Iterator[str]:
        """Stream the model's reply to ``draft`` (its first line), filling ``draft.raw``; first, the model's
        probability of replying "not stated" is read off the same prefill."""
        if draft.messages is None:
            return
        started = time.perf_counter()
        first = self.generator.choice_logprobs(draft.messages, FIRST_WORDS)
        draft.signals["p_not_stated"] = round(math.exp(first[NOT_STATED_START]), 4)
        draft.timings["prefill_s"] = time.perf_counter() - started
        # The reply is never a greedy "not stated": how likely the model found it is a signal for the policy.
        # A yes/no question's answer starts with the word the model found likelier, P(Yes) weighed against
        # yes_above (chosen on dev: the model leans to yes); any other answer starts with neither.
        avoid = [NOT_STATED_START]
        if draft.asked.polar:
            yes = yes_share(first[" Yes"], first[" No"])
            draft.signals["p_yes_first"] = round(yes, 4)
            avoid.append(" No" if yes >= self.settings.yes_above else " Yes")
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
            draft.signals["reply_min_logprob"] = round(min(logprobs), 4)

    def check(self, draft: Draft, min_confidence: float | None = None, part_articles: list[str] | None = None
              ) -> Answer:
        """The checked Answer for ``draft``: each part held to its quote, the signals measured, then the
        policy's confidence; withheld ("the articles don't say") when a step fails. ``min_confidence``
        replaces ``settings.min_confidence`` (the flow's own threshold for some questions); ``part_articles``
        are the articles of the parts a question names ("... according to both TechCrunch and The Verge"):
        the answer must be found in each of them."""
        settings, measured, asked = self.settings, draft.signals, draft.asked

        def withhold(reason: str, sentences: list[AnswerSentence] | None = None) -> Answer:
            return self.withheld(draft, reason, sentences)
        if measured.get("p_not_stated", 0.0) >= settings.abstain_above:
            return withhold(f"the model gave 'not stated' a probability of {measured['p_not_stated']:.2f}")
        grounded, failure = self.hold(draft)
        if failure:
            return withhold(failure)
        measured["coverage"] = round(min(g.coverage for g in grounded), 3)
        measured["verbatim"] = float(all(g.verbatim for g in grounded))
        measured["repaired"] = float(any(g.repaired for g in grounded))
        answer = self.compose(draft, grounded)
        measured.update(signals.measure(draft, answer, grounded, self.article_text))
        if part_articles:  # the share of the named parts' articles that hold the answer
            measured["answer_in_parts"] = round(sum(signals.share_named((answer.short or "",), self.article_text(a))
                                                    for a in part_articles) / len(part_articles), 3)
            if settings.parts_hold_answer and measured["answer_in_parts"] < 1:
                return withhold("the answer is not in the article of every report the question names",
                                answer.sentences)
        if settings.confirm and self.generator.capabilities.checks_answers:
            started = time.perf_counter()
            look = second_look(draft.messages, draft.raw, asked.text, answer.short or answer.text,
                               [c.quote for c in answer.citations])
            measured["p_confirm"] = round(p_yes(self.generator, look), 4)
            draft.timings["confirm_s"] = time.perf_counter() - started
            if measured["p_confirm"] < settings.confirm_below:
                return withhold(f"asked to check, the model found that the quote does not give this answer "
                                f"(p = {measured['p_confirm']:.2f})", answer.sentences)
        if self.verifier is not None and "verifier" in policy.fitted()["features"]:
            started = time.perf_counter()
            measured["verifier"] = round(self.verifier.score(*triple(
                asked.text, answer.short or answer.text, [c.quote for c in answer.citations])), 4)
            draft.timings["verify_s"] = time.perf_counter() - started
        needed = policy.threshold(settings.min_confidence if min_confidence is None else min_confidence)
        measured["confidence"] = round(policy.confidence(measured), 4)
        if measured["confidence"] < needed:
            return withhold(f"the checks give this answer a confidence of {measured['confidence']:.2f}, below "
                            f"{needed:.2f}", answer.sentences)
        return answer

    def hold(self, draft: Draft) -> tuple[list[Grounded], str | None]:
        """The reply's parts held to their quotes (``grounding``), or why no answer can be: no passage, the model
        found none, or a part no source sentence states (or that only restates the question). A yes/no
        answer whose words after "Yes" or "No" no sentence holds keeps its word, held to the question."""
        asked, used = draft.asked, draft.used
        if not used:
            return [], "no passage matched the question"
        reply = read_reply(draft.raw, len(used))
        if reply.not_stated or is_refusal(reply.line):
            return [], "the model found no answer in the sources"
        grounded = [ground(part, asked.text, used, draft.encode, draft.shown, self.settings.min_coverage)
                    for part in reply.parts]
        if asked.polar:
            grounded = [g if g.passage is not None or not polar_word(g.part.text) else
                        ground(Part(polar_word(g.part.text), g.part.sources), asked.text, used, draft.encode)
                        for g in grounded]
        draft.signals["new_words"] = float(min(g.new_words for g in grounded))
        lost = [g for g in grounded if g.passage is None]
        if lost:
            return grounded, ("the answer only restates the question" if not lost[0].new_words
                              else "no source sentence holds the answer's words")
        return grounded, None

    def withheld(self, draft: Draft, reason: str, sentences: list[AnswerSentence] | None = None) -> Answer:
        """The "articles don't say" Answer for ``draft``: the closest articles and sentences, and why."""
        closest: list[Citation] = []
        for i, (a, b), _ in draft.ranked:  # a sentence repeated by overlapping chunks is shown once
            if len(closest) >= self.settings.closest:
                break
            p = draft.passages[i]
            if not any(c.article_id == p.article_id and c.quote_start == p.start + a for c in closest):
                closest.append(self._citation(len(closest) + 1, p, (p.start + a, p.start + b), 0.0))
        return policy.withheld(draft.asked.text, draft.passages, self.settings.related, draft.raw, sentences or [],
                               reason, draft.signals, closest)

    def _citation(self, number: int, passage: Passage, quote: tuple[int, int], support: float) -> Citation:
        """Citation ``number`` of ``passage``'s article, quoting ``quote`` (offsets in the article text)."""
        text = self.article_text(passage.article_id)
        return Citation(number, passage.article_id, passage.title, passage.date, passage.source,
                        text[quote[0]:quote[1]], quote[0], quote[1], passage.text, round(support, 3))

    def compose(self, draft: Draft, grounded: list[Grounded]) -> Answer:
        """The Answer the grounded parts make, in the sources' own words: "Words of one quote [1] and words of
        another [2].", citations numbered in order; a yes/no answer starts with its word."""
        used = draft.used
        numbers: dict[tuple[str, tuple[int, int]], int] = {}
        citations: list[Citation] = []
        sentences: list[AnswerSentence] = []
        words_of = []
        for g in grounded:
            passage = used[g.passage]
            key = (passage.article_id, g.quote)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(self._citation(numbers[key], passage, g.quote, g.coverage))
            words = self.article_text(passage.article_id)[g.span[0]:g.span[1]] if g.span else ""
            polar = polar_word(g.part.text) if draft.asked.polar else None
            if polar:
                words = f"{polar}, {words}" if words else polar
            words_of.append(words)
            sentences.append(AnswerSentence(f"{words} [{numbers[key]}]", (numbers[key],), g.coverage, True))
        text = " and ".join(s.text for s in sentences)
        text = (text[:1].upper() + text[1:]).rstrip(" .") + "."
        short = short_answer(draft.asked.text, " and ".join(words_of)) or " and ".join(words_of)
        return Answer(draft.asked.text, text, True, citations=citations, passages=draft.passages,
                      sentences=sentences, raw=draft.raw, short=short, signals=draft.signals)


def encoded_once(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """``encode`` remembering its vectors: a text seen before is not embedded again."""
    seen: dict[str, np.ndarray] = {}

    def encode_once(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, encode(missing)))
        return np.stack([seen[t] for t in texts]) if texts else encode(texts)
    return encode_once
