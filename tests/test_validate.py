"""One validation for every door: questions, k, dates and outlets get the same message from the Python API, the
command line and the server."""

from __future__ import annotations

import pytest

from rag import QuestionError
from rag.corpus import Article
from rag.validate import date, filters, k, known, question


@pytest.mark.parametrize("value", ["2025", "2025-02", "2024-02-29", " 2025-03-14 "])
def test_a_date_is_a_year_a_month_or_a_day(value: str) -> None:
    assert date(value, "since") == value.strip()


@pytest.mark.parametrize("value, message", [
    ("notadate", "since = 'notadate' is not a date"),
    ("2025-13-45", "since = '2025-13-45' is not a date (month must be in 1..12)"),
    ("2025-02-30", "since = '2025-02-30' is not a date (day is out of range for month)"),
    ("25-01-01", "since = '25-01-01' is not a date"),
    (20250101, "since must be a date written as text, not int"),
])
def test_a_date_that_is_not_one_is_named_with_the_forms_that_are(value: object, message: str) -> None:
    with pytest.raises(QuestionError, match=r"YYYY, YYYY-MM or YYYY-MM-DD") as caught:
        date(value, "since")
    assert str(caught.value).startswith(message)


def test_until_a_year_or_month_means_to_its_end() -> None:
    made = known(filters(since="2025-03", until="2025"), [])
    june, next_year = Article("a", "A", "x", "a.md", date="2025-06-10"), Article("b", "B", "x", "b.md", date="2026-01")
    march = Article("c", "C", "x", "c.md", date="2025-03")
    assert made.allows(june) and made.allows(march) and not made.allows(next_year)
    with pytest.raises(QuestionError, match="since 2025-06 is after until 2025-01: no article can match. Fix: swap"):
        known(filters(since="2025-06", until="2025-01"), [])


def test_an_unknown_outlet_lists_the_outlets_of_the_index() -> None:
    outlets = ["Valley Post", "Nordic Wire"]
    assert known(filters(outlets=["valley post"]), outlets).publishers == ("valley post",)
    with pytest.raises(QuestionError) as caught:
        known(filters(outlets=["Valey Post"]), outlets)
    assert str(caught.value) == ("no indexed article is from the outlet 'Valey Post' (did you mean 'Valley Post'?); "
                                 "the index has Nordic Wire, Valley Post. Fix: use one of the outlets the index has "
                                 "(names are matched without case)")
    with pytest.raises(QuestionError, match="no indexed article names its outlet.*'Source: NAME' header line"):
        known(filters(outlets=["Reuters"]), [])
    many = [f"Outlet {n:02d}" for n in range(25)]
    with pytest.raises(QuestionError, match="Outlet 19 and 5 more"):
        known(filters(outlets=["Nobody"]), many)


def test_k_and_the_question_are_checked_with_their_bounds() -> None:
    assert k(None, 4, 20) == 4 and k(20, 4, 20) == 20
    for bad in (0, 21, 2.5, True, "3"):
        with pytest.raises(QuestionError, match=f"k must be a whole number from 1 to 20, not {bad!r}"):
            k(bad, 4, 20)
    assert question("  Who?  ", 10) == "Who?"
    with pytest.raises(QuestionError, match="the question is 11 characters long, more than the 10 allowed"):
        question("x" * 11, 10)
    assert filters() is None and filters(outlets=[], since=None) is None
