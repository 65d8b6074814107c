"""Grounding: the model's text becomes an Answer whose every sentence cites an article and quotes it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.answer.checks import asked_for, gives, is_refusal, support_score
from rag.answer.markers import clauses, split_answer, strip_markers, with_marker
from rag.answer.policy import withheld
from rag.answer.types import Answer, AnswerSentence, Citation
from rag.config import AnswerSettings
from rag.retrieve import Passage
from rag.text import sentence_spans

Candidate = tuple[int, tuple[int, int]]  # (passage position, quote span in the article)
Support = tuple[int, tuple[int, int], float]  # (passage position, quote span, score)


class Grounder:
    """Turns the model's raw text into an Answer: citations mapped, repaired and quoted, support checked."""

    def __init__(self, settings: AnswerSettings, embed: Callable[[list[str]], np.ndarray],
                 article_text: Callable[[str], str]) -> None:
        self.settings = settings
        self.embed = embed
        self.article_text = article_text

    def ground(self, question: str, raw: str, passages: list[Passage]) -> Answer:
        """Build the Answer for ``raw`` written from sources ``passages`` ([n] is passages[n-1])."""
        def withhold(reason: str, sentences: list[AnswerSentence] | None = None) -> Answer:
            return withheld(question, passages, self.settings.related, raw, sentences or [], reason)
        if not passages:
            return withhold("no passage matched the question")
        if is_refusal(raw) or not raw.strip():
            return withhold("the model found no answer in the sources")
        # overlapping chunks repeat a sentence: each quote is a candidate once, from the first passage holding it
        spans = {(p.article_id, span): i for i, p in reversed(list(enumerate(passages)))
                 for span in self._candidate_quotes(p)}
        candidates = sorted((i, span) for (_, span), i in spans.items())
        texts = [self.article_text(passages[i].article_id)[s:e] for i, (s, e) in candidates]
        vectors = self.embed(texts)
        contexts = [f"{p.title}\n{p.text}" for p in passages]

        sentences, used = [], {}
        for text, numbers in split_answer(raw, len(passages)):
            # a marker cites an article: the quote may come from any of its passages ("According to [1],
            # ... discarded because they led to endless wars": the reason is in the next passage, [2])
            cited = {passages[n].article_id for n in numbers}
            numbers = [n for n, p in enumerate(passages) if p.article_id in cited]
            best = self._best_support(question, text, numbers, candidates, texts, vectors, contexts)
            pieces = [(text, best)]
            if best is not None and len(clauses(text)) > 1:
                # "X is A, and Y is B" may join facts of two sources: cite each clause's own source when
                # every clause is supported and they come from different passages (or the whole isn't).
                # Once the whole answers the question, a clause may restate a fact the question gives
                # ("X asked A and also questioned B"), so its own words, the question's included, count.
                asked = question if best[2] < self.settings.min_support else ""
                parts = [(c, self._best_support(asked, c, numbers, candidates, texts, vectors, contexts))
                         for c in clauses(text)]
                if all(b and b[2] >= self.settings.min_support for _, b in parts) and (
                        best[2] < self.settings.min_support or len({b[0] for _, b in parts}) > 1):
                    pieces = parts
            for piece, support in pieces:
                if support is None:
                    sentences.append(AnswerSentence(strip_markers(piece), (), 0.0, False))
                    continue
                index, quote, score = support
                used[(index, quote)] = max(used.get((index, quote), 0.0), score)
                number = list(used).index((index, quote)) + 1
                sentences.append(AnswerSentence(with_marker(strip_markers(piece), number), (number,), score,
                                                 score >= self.settings.min_support))
        if not sentences or not sentences[0].supported:
            return withhold("the answer's main claim is not supported by the sources", sentences)
        kind = asked_for(question)
        keys = list(used)

        def quote(sentence: AnswerSentence) -> tuple[str, str]:
            index, (start, end) = keys[sentence.citations[0] - 1]
            return self.article_text(passages[index].article_id)[start:end], contexts[index]
        if kind and not any(gives(kind, question, x.text, *quote(x)) for x in sentences if x.supported):
            return withhold(f"the answer gives no {kind} from the sources, and the question asks for one", sentences)
        citations = [self._citation(n, passages[i], quote, score)
                     for n, ((i, quote), score) in enumerate(used.items(), 1)]
        text = " ".join(s.text if s.supported else f"{s.text} (unsupported)" for s in sentences)
        return Answer(question, text, True, citations=citations, passages=passages, sentences=sentences,
                      raw=raw)

    def _candidate_quotes(self, passage: Passage) -> list[tuple[int, int]]:
        """Sentences of the passage, and pairs of neighbours, as absolute article offsets."""
        spans = [(passage.start + s, passage.start + e) for s, e in sentence_spans(passage.text)]
        return spans + [(a[0], b[1]) for a, b in zip(spans, spans[1:])]

    def _best_support(self, question: str, sentence: str, cited: list[int], candidates: list[Candidate],
                      texts: list[str], vectors: np.ndarray, contexts: list[str]) -> Support | None:
        """The (passage, quote span, score) that best supports ``sentence``, preferring what it cites."""
        if not candidates:
            return None
        claim = strip_markers(sentence)
        similarity = vectors @ self.embed([claim])[0]
        scores = [support_score(question, claim, t, float(sim), contexts[candidates[n][0]])
                  for n, (t, sim) in enumerate(zip(texts, similarity))]
        order = sorted(range(len(candidates)), key=lambda n: -scores[n])
        own = [n for n in order if candidates[n][0] in cited]
        pick = own[0] if own and scores[own[0]] >= self.settings.min_support else order[0]
        index, span = candidates[pick]
        return index, span, scores[pick]

    def _citation(self, number: int, passage: Passage, span: tuple[int, int], score: float) -> Citation:
        text = self.article_text(passage.article_id)
        return Citation(number=number, article_id=passage.article_id, title=passage.title, date=passage.date,
                        source=passage.source, quote=text[span[0]:span[1]], quote_start=span[0],
                        quote_end=span[1], passage=passage.text, support=round(score, 3))
