"""The English the tool reads: stopwords, the stemmer, word lists (reporting verbs, question words, months,
number and date words) and the readers of dates and amounts in text. Every stage takes them from here."""

from __future__ import annotations

import bm25s
import Stemmer

_STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)
# STOPWORDS (bm25s's 33, kept small for retrieval) and the other function words: pronouns, prepositions,
# auxiliaries, determiners. An answer's words that count are the rest.
FUNCTION_WORDS = STOPWORDS | frozenset(
    "i me my mine we us our ours you your yours he him his she her hers it its they them their theirs this these "
    "those who whom whose which what that from about above after against along among around before behind below "
    "beside between beyond by down during except inside into near off onto out outside over past since through "
    "throughout toward towards under until up upon via with within without am is are was were be been being "
    "have has had having do does did done so than too very just some any each every both either neither all "
    "more most much many other another such own same".split())
MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
MONTH_ABBREVIATIONS = {**{m[:3]: n for m, n in MONTHS.items()}, "sept": 9}
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
                         "hundred hundreds thousand thousands million millions billion billions trillion dozen "
                         "dozens half third quarter percent".split())
DATE_WORDS = frozenset(set(MONTHS) | set(MONTH_ABBREVIATIONS) | WEEKDAYS | set(
    "spring summer autumn fall winter yesterday today tomorrow week weeks month months year years decade "
    "century".split()))


def stem(word: str) -> str:
    """The English stem of one lower-case word."""
    return _STEMMER.stemWord(word)


def stems(words: list[str]) -> list[str]:
    """The English stems of lower-case words."""
    return _STEMMER.stemWords(words)


# Words that carry no answer: reporting verbs and modals ("X said it would be ..."), stemmed.
FILLER = frozenset(stems("said say says told according reported report stated noted added would could might "
                         "may must shall should will can also still".split()))
WH = frozenset(stems("what which who whom whose when where why how".split()))
