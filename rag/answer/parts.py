"""Multi-article questions: split into the articles they name, each answered from its own, then combined.

A question that names several outlets or dated reports ("Did the Sporting News article on ... and the
Guardian article on ... both say ...?", "Was the TechCrunch report on ... published before The Verge's
report on ...?") is read apart by the retrieval's outlet and date reading (``rag.retrieve.news``): one
part per mention. ``MultiPart.answer`` then

1. withholds ("insufficient") when the question names an outlet the index has no article from, or when no
   article of a part's outlet mentions any of the names the part is about;
2. finds each part its own article (a search filtered to the part's outlet and date) and, in it, the
   sentence that best holds the part's words: that part's quote and citation;
3. combines the parts: an order question ("before", "after") from the articles' publication dates in the
   index (computed; the model is not asked); any other yes/no question by the model's probability of
   "Yes" after reading the parts' quotes, one prefill and no generation (``multi_yes_above``).

Questions with fewer than two parts, and those that are not yes/no questions (once every part is
supported), are left to the single-article answerer: their prompt and speed do not change. A yes/no
question here may also open with a framing clause ("Between the A report and the B report, was there
...?", ``asks_yes_no``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.answer.checks import is_polar
from rag.answer.confirm import p_yes
from rag.answer.grounding import best_sentence
from rag.answer.policy import withheld
from rag.answer.prompt import build_messages, excerpts
from rag.answer.question import Asked
from rag.answer.single import Answerer
from rag.answer.types import Answer, AnswerSentence, Citation
from rag.retrieve import Filters, Passage
from rag.retrieve.news import Catalog, Part, name_variants
from rag.text import STOPWORDS

Search = Callable[[str, int, Filters | None], list[Passage]]

_CAPITAL = r"[A-Z][\w&'’.-]*"
_NAME = rf"(?:[Tt]he\s+)?{_CAPITAL}(?:\s+(?:of\s+|&\s+)?{_CAPITAL}){{0,4}}"
_KINDS = r"(?:article|report|piece|story|coverage|column|feature|interview|review|broadcast|podcast|blog post)s?"
# "an article in The Economic Times", "a report by CNN", "a piece from The Guardian", "another in The Hindu"
_SOURCE_AFTER = re.compile(rf"\b(?:{_KINDS}|another)\s+(?:from|by|in|published by|published in)\s+(?P<name>{_NAME})")
# "a Bloomberg article", "a BBC Sport report", "the Forbes piece" (not "the ESM report": a report of that name)
_SOURCE_BEFORE = re.compile(rf"\b(?:(?:an?)\s+(?P<name>{_CAPITAL}(?:\s+{_CAPITAL}){{0,3}})\s+{_KINDS}|"
                            rf"the\s+(?P<named>{_CAPITAL}(?:\s+{_CAPITAL}){{0,3}})\s+(?:article|piece|story)s?)\b")
_ORDER = re.compile(r"\b(before|after|earlier than|later than|prior to)\b", re.I)
_NOT_NAMES = frozenset("article articles report reports piece story coverage source sources news outlet "
                       "january february march april may june july august september october november december "
                       "monday tuesday wednesday thursday friday saturday sunday".split())
# "Between the A report ... and the B report ..., was there ...?": the yes/no question after a framing clause
_LATE_POLAR = re.compile(r",\s*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\s+\w", re.I)
_WH = re.compile(r"(?:^|,)\W*(?:\w+\s+){0,2}?(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)


@dataclass(frozen=True)
class PartEvidence:
    """One part of a question with the article found for it: its passage and quoted sentence, or none."""

    part: Part
    query: str  # what was searched for this part
    names: tuple[str, ...]  # the names the part is about (capitalised runs, outlets left out)
    passage: Passage | None
    quote: tuple[int, int] | None  # offsets of the quoted sentence in the article text
    coverage: float  # share of the part's content words the quote holds
    supported: bool


@dataclass(frozen=True)
class Outcome:
    """What the multi-part reading of a question gives."""

    answer: Answer | None = None  # combined or withheld; None: the single-article answerer answers
    evidence: list[PartEvidence] = field(default_factory=list)  # the article found for each part the question names


def unknown_outlets(question: str, catalog: Catalog) -> list[str]:
    """Outlets ``question`` names as a source ("an article in The Economic Times", "a Bloomberg report")
    that no indexed article is from; a name that is part of a known outlet's name ("BBC" of "BBC News")
    counts as known. An index whose articles name no outlet knows none, and finds none unknown."""
    known = [v.lower() for p in {p for p in catalog.article_publisher if p} for v in name_variants(p) | {p}]
    if not known:
        return []
    found: list[tuple[int, str]] = []
    for pattern in (_SOURCE_AFTER, _SOURCE_BEFORE):
        for m in pattern.finditer(question):
            written = m.group("name") or m.groupdict().get("named") or ""
            name = re.sub(r"^[Tt]he\s+", "", written).strip(" .,'’")
            words = name.lower().split()
            if not name or words[-1] in _NOT_NAMES or words[0] in STOPWORDS or catalog.mentions(written):
                continue
            if any(re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", k) for k in known):
                continue
            found.append((m.start(), name))
    return list(dict.fromkeys(name for _, name in sorted(found)))


def part_names(text: str, catalog: Catalog) -> tuple[str, ...]:
    """The names a part of a question is about: runs of capitalised words, without the outlets it names,
    the question's first word, stopwords, months and weekdays."""
    for m in reversed(catalog.mentions(text)):
        text = text[:m.start()] + " , " + text[m.end():]
    names = []
    for m in re.finditer(rf"{_CAPITAL}(?:\s+{_CAPITAL})*", text):
        words = [w for w in m.group().split() if w.lower().strip(".'’") not in STOPWORDS | _NOT_NAMES]
        if m.start() == 0 and words and words[0] == m.group().split()[0]:
            words = words[1:]  # the question's first word is capitalised anyway
        if words:
            names.append(" ".join(words))
    return tuple(dict.fromkeys(names))


def mentions_any(names: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` holds every word of at least one of ``names`` (whole words, any case, a possessive
    "'s" left out); True when there are no names."""
    lowered = text.lower().replace("\u2019", "'")

    def has(word: str) -> bool:
        word = re.sub(r"'s$", "", word.lower().replace("\u2019", "'")).strip(".'")
        return not word or bool(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lowered))
    return not names or any(all(has(w) for w in n.split()) for n in names)


def asks_yes_no(question: str) -> bool:
    """Whether ``question`` asks for yes or no: it starts as one ("Did ...", "Is ...") or, after a framing
    clause ("After the report on ..., did ...?"), turns into one; not when a clause before that asks what,
    which, who, when, where, why or how."""
    late = _LATE_POLAR.search(question)
    return is_polar(question) or (late is not None and not _WH.search(question[:late.start()]))


def order_split(question: str, parts: tuple[Part, ...], catalog: Catalog) -> tuple[str, str, str] | None:
    """For a question asking whether one report came before or after another, the order word and the text on
    each side of it, when it stands between the first two outlet mentions; None otherwise."""
    spots = catalog.mentions(question)
    if len(parts) < 2 or len(spots) < 2:
        return None
    m = _ORDER.search(question, spots[0].end(), spots[1].start())
    if not m:
        return None
    return m.group(1).lower(), question[:m.start()], question[m.end():]


def date_order(word: str, first: str | None, second: str | None) -> str | None:
    """"yes" or "no": whether the article dated ``first`` came ``word`` ("before", "after", ...) the one dated
    ``second``; None when a date is missing or both are the same day (the index cannot tell)."""
    if not first or not second or first[:10] == second[:10]:
        return None
    earlier = first[:10] < second[:10]
    return "yes" if earlier == (word in ("before", "earlier than", "prior to")) else "no"


class MultiPart:
    """Answers questions that name several articles; ``answer`` returns None for the others."""

    def __init__(self, answerer: Answerer, catalog: Catalog, search: Search,
                 article_text: Callable[[str], str]) -> None:
        """``search(query, k, filters)`` retrieves passages; ``article_text`` gives an article's text by id."""
        self.answerer = answerer
        self.catalog = catalog
        self.search = search
        self.article_text = article_text

    def answer(self, asked: Asked, passages: list[Passage]) -> Outcome:
        """The combined (or withheld) Answer to a multi-part question (``passages``: its ordinary retrieval,
        kept on the Answer), or none when the question is for the single-article answerer, with the article
        found for each part its answer must come from."""
        started = time.perf_counter()
        settings = self.answerer.settings
        question, meta = asked.text, asked.meta
        missing = unknown_outlets(question, self.catalog)
        if missing:
            return Outcome(self._withhold(question, passages, started, 0, "the question names an outlet the "
                                          f"articles include nothing from: {', '.join(missing)}"))
        if len(meta.parts) < 2:
            return Outcome()
        polar = asks_yes_no(question)
        order = order_split(question, meta.parts, self.catalog) if polar else None
        queries = [order[1], order[2]] + [p.text for p in meta.parts[2:]] if order else [p.text for p in meta.parts]
        evidence = self._evidence(meta.parts, queries, settings.part_k)
        signals = {"parts": float(len(evidence))}
        lacking = [e for e in evidence if not e.supported]
        if lacking:
            e = lacking[0]
            outlet = " / ".join(sorted(e.part.publishers)) or "the articles"
            return Outcome(self._withhold(question, passages, started, len(evidence), f"no article from {outlet} "
                                          f"mentions {' or '.join(e.names) or 'this'}", signals), evidence)
        if not polar:
            return Outcome(None, evidence)
        if order:
            short = date_order(order[0], evidence[0].passage.date, evidence[1].passage.date)
            if short:
                signals["computed_order"] = 1.0
                return Outcome(self._combined(question, passages, evidence, short, started, signals), evidence)
        yes, prompt_tokens = self._p_yes(question, evidence)
        signals.update(p_yes_parts=round(yes, 4), prompt_tokens=float(prompt_tokens))
        short = "yes" if yes >= settings.multi_yes_above else "no"
        return Outcome(self._combined(question, passages, evidence, short, started, signals), evidence)

    def _evidence(self, parts: tuple[Part, ...], queries: list[str], k: int) -> list[PartEvidence]:
        """Each part's own article: the best passage of a search filtered to its outlet and date (another
        article than earlier parts' when one fits), and the sentence in it that holds the part's words."""
        taken: set[str] = set()
        out = []
        for part, query in zip(parts, queries):
            names = part_names(query, self.catalog)
            found = self._search(part, query, k)
            fresh = [p for p in found if p.article_id not in taken] or found
            passage = next((p for p in fresh if mentions_any(names, self.article_text(p.article_id))), None)
            if passage is None and fresh and self._outlet_mentions(part, names):
                passage = fresh[0]  # its best article does not name them, but another of the outlet does
            quote, coverage = None, 0.0
            if passage is not None:
                taken.add(passage.article_id)
                quote, coverage = best_sentence(self.catalog.content(query), passage)
                coverage = round(coverage, 3)
            out.append(PartEvidence(part, query, names, passage, quote, coverage, passage is not None))
        return out

    def _outlet_mentions(self, part: Part, names: tuple[str, ...]) -> bool:
        """Whether some article of the part's outlets (any outlet when it names none) mentions its names."""
        catalog = self.catalog
        return any(mentions_any(names, self.article_text(article))
                   for article, publisher in zip(catalog.article_ids, catalog.article_publisher)
                   if not part.publishers or publisher in part.publishers)

    def _search(self, part: Part, query: str, k: int) -> list[Passage]:
        """Passages for one part: of its outlet, on its date when it names one (any date when none fits)."""
        publishers = tuple(sorted(part.publishers))
        if part.dates:
            day = part.dates[0]
            found = self.search(query, k, Filters(publishers=publishers, date_from=day, date_to=day))
            if found:
                return found
        return self.search(query, k, Filters(publishers=publishers) if publishers else None)

    def _p_yes(self, question: str, evidence: list[PartEvidence]) -> tuple[float, int]:
        """The model's P(Yes) / P(Yes or No) as its first answer word, shown each part's best sentences as
        numbered sources (the single-article prompt's form), and the prompt's size in tokens."""
        answerer = self.answerer
        generator = answerer.generator
        passages = [e.passage for e in evidence if e.passage is not None]
        shown = [excerpts(e.query, [e.passage], answerer.encode, answerer.settings.part_sentences)[0]
                 for e in evidence if e.passage is not None]
        budget = generator.context_window - answerer.generate_settings.max_new_tokens
        messages, _ = build_messages(question, passages, shown, generator.count_chat_tokens, budget, polar=True)
        return p_yes(generator, messages), generator.count_chat_tokens(messages)

    def _combined(self, question: str, passages: list[Passage], evidence: list[PartEvidence], short: str,
                  started: float, signals: dict[str, float]) -> Answer:
        """The Answer "Yes." / "No." with one sentence per part, each citing its own article's quote."""
        citations: list[Citation] = []
        sentences = [AnswerSentence(f"{short.capitalize()}.", (), 1.0, True)]
        for e in evidence:
            if e.passage is None or e.quote is None:
                continue
            p, (a, b) = e.passage, e.quote
            number = len(citations) + 1
            quote = self.article_text(p.article_id)[a:b]
            citations.append(Citation(number, p.article_id, p.title, p.date, p.source, quote, a, b, p.text,
                                      e.coverage))
            meta = ", ".join(x for x in (p.publisher, p.date) if x)
            sentences.append(AnswerSentence(f"{meta}: \u201c{quote.strip()}\u201d [{number}]", (number,), 1.0, True))
        text = " ".join(s.text for s in sentences)
        return Answer(question, text, True, citations=citations, passages=passages, sentences=sentences,
                      short=short, signals=signals, timings={"parts_s": time.perf_counter() - started})

    def _withhold(self, question: str, passages: list[Passage], started: float, parts: int, reason: str,
                  signals: dict[str, float] | None = None) -> Answer:
        answer = withheld(question, passages, self.answerer.settings.related, "", [], reason,
                          {"parts": float(parts), **(signals or {})})
        answer.timings = {"parts_s": time.perf_counter() - started}
        return answer
