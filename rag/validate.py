"""What a caller asks for, checked once for every door: the question, k, the dates and the outlet filter.

The Python API, the command line, the chat, the server and the MCP tools all pass their input
through these functions, so each mistake gets the same message (a ``QuestionError`` naming the
value and the fix) wherever it was made.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
from collections.abc import Collection

from rag.errors import QuestionError
from rag.retrieve import Filters

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
LAST_DAY = "0000-12-31"  # the rest of a year or month, to its last day ("-31" sorts after every day of a month)
SHOWN_OUTLETS = 20  # outlets listed in the message about an unknown one


def question(value: object, limit: int) -> str:
    """``value`` stripped, when it is a question of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise QuestionError(f"the question must be text, not {type(value).__name__}", "pass a string")
    if not value.strip():
        raise QuestionError("the question is empty", "ask something about the articles")
    if len(value) > limit:
        raise QuestionError(f"the question is {len(value):,} characters long, more than the {limit:,} "
                            "allowed (answer.max_question_chars)", "ask a shorter question")
    return value.strip()


def k(value: object, default: int, high: int) -> int:
    """``value`` as a count of passages from 1 to ``high`` (None: ``default``)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise QuestionError(f"k must be a whole number from 1 to {high}, not {value!r}",
                            f"ask for 1 to {high} passages")
    return value


def date(value: object, name: str) -> str | None:
    """``value`` when it is a date written YYYY, YYYY-MM or YYYY-MM-DD (a real one); ``name`` ("since",
    "until") says which in the message."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise QuestionError(f"{name} must be a date written as text, not {type(value).__name__}",
                            f"write it as {DATE_FORMS}")
    text = value.strip()
    match = _DATE.match(text)
    if not match:
        raise QuestionError(f"{name} = {value!r} is not a date", f"write it as {DATE_FORMS}, e.g. 2025-03-14")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        datetime.date(year, month or 1, day or 1)
    except ValueError as exc:
        raise QuestionError(f"{name} = {value!r} is not a date ({exc})",
                            f"write a real date as {DATE_FORMS}") from None
    return text


def filters(outlets: object = None, since: object = None, until: object = None) -> Filters | None:
    """The Filters for a list of outlet names and a date range (None when nothing is set), each value's type and
    form checked; ``known`` checks them against an index."""
    if outlets is None:
        outlets = []
    if isinstance(outlets, str) or not isinstance(outlets, (list, tuple)) \
            or not all(isinstance(o, str) and o.strip() for o in outlets):
        raise QuestionError(f"outlets must be a list of outlet names, not {outlets!r}",
                            'pass e.g. ["Reuters"], or nothing for every outlet')
    made = Filters(publishers=tuple(o.strip() for o in outlets), date_from=date(since, "since"),
                   date_to=date(until, "until"))
    return made if made.active else None


def known(made: Filters | None, outlets: Collection[str]) -> Filters | None:
    """``made`` when its dates are dates in order and each outlet it names is one of ``outlets`` (the index's,
    compared without case); the message about an unknown outlet lists them."""
    if made is None:
        return None
    if not isinstance(made, Filters):
        raise QuestionError(f"filters must be a rag.Filters, not {type(made).__name__}",
                            "pass Filters(publishers=..., date_from=..., date_to=...)")
    since, until = date(made.date_from, "since"), date(made.date_to, "until")
    if since and until:
        n = min(len(since), len(until))
        if since[:n] > until[:n]:
            raise QuestionError(f"since {since} is after until {until}: no article can match",
                                "swap the two dates")
    by_name = {o.lower(): o for o in outlets}
    for outlet in made.publishers:
        if outlet.lower() not in by_name:
            raise QuestionError(_unknown_outlet(outlet, sorted(outlets, key=str.lower)), _outlet_fix(outlets))
    # until "2025" means to the end of 2025: Filters compares an article's date with the same number of characters
    # of date_to, and "2025-06-10" sorts after "2025" but before "2025-12-31"
    return dataclasses.replace(made, date_from=since, date_to=until + LAST_DAY[len(until):] if until else None)


def _unknown_outlet(outlet: str, outlets: list[str]) -> str:
    if not outlets:
        return f"no indexed article names its outlet, so none is from {outlet!r}"
    close = difflib.get_close_matches(outlet.lower(), [o.lower() for o in outlets], n=1, cutoff=0.6)
    guess = next((o for o in outlets if close and o.lower() == close[0]), None)
    shown = ", ".join(outlets[:SHOWN_OUTLETS]) + (f" and {len(outlets) - SHOWN_OUTLETS} more"
                                                  if len(outlets) > SHOWN_OUTLETS else "")
    return (f"no indexed article is from the outlet {outlet!r}" + (f" (did you mean {guess!r}?)" if guess else "")
            + f"; the index has {shown}")


def _outlet_fix(outlets: Collection[str]) -> str:
    if not outlets:
        return ("give each article its outlet (a 'Source: NAME' header line in .txt/.md files, a 'source' field in "
                "JSON records) and run rag index, or search without an outlet")
    return "use one of the outlets the index has (names are matched without case)"
