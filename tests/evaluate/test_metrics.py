"""Hand-made cases for rag.evaluate.metrics."""

from __future__ import annotations

import pytest

from rag.evaluate.metrics import (
    abstention_scores,
    all_at_k,
    answer_correct,
    citation_scores,
    dedupe,
    hit_at_k,
    mean,
    normalize_answer,
    percentile,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)

# --------------------------------------------------------------------------- normalize_answer


@pytest.mark.parametrize(
    "text",
    ["5,600", "5600", "5 600", "5\u00a0600", "5\u202f600", "5\u2009600", "5,600.", "  5600  "],
)
def test_thousands_separators_collapse(text: str) -> None:
    assert normalize_answer(text) == "5600"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", "1.5"),
        ("1,234.5", "1234.5"),
        ("5,600,000", "5600000"),
        ("It rose 1.5.", "it rose 1.5"),
        ("In 2021 100 people came", "in 2021 100 people came"),  # a 4-digit number is no thousands group
        ("5, 600", "5 600"),  # a list, not a number
    ],
)
def test_number_formats(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    ["€500 billion", "500 billion euros", "EUR 500 billion", "500bn euros", "€500bn", "500 billion eur",
     "500 bn EUR"],
)
def test_euro_amounts_are_equivalent(text: str) -> None:
    assert normalize_answer(text) == "500 billion eur"


@pytest.mark.parametrize(
    "text",
    ["$135 billion", "135 billion dollars", "US$135 billion", "USD 135 billion", "135 billion US dollars", "$135bn",
     "135 billion U.S. dollars"],
)
def test_dollar_amounts_are_equivalent(text: str) -> None:
    assert normalize_answer(text) == "135 billion usd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$5m", "5 million usd"),
        ("$5,600", "5600 usd"),
        ("$5 may", "5 usd may"),  # single-letter scale only when it stands alone
        ("£2 million", "2 million gbp"),
        ("2 million pounds", "2 million gbp"),
        ("200 pounds", "200 pounds"),  # could be a weight
        ("C$100", "c 100"),  # not US dollars
        ("The dollar fell", "dollar fell"),  # currency words without an amount stay
        ("500 billion eur in 2023", "500 billion eur in 2023"),
    ],
)
def test_currency_edge_cases(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize("text", ["5%", "5 %", "5 percent", "5 per cent", "5 Per Cent", "5 pct"])
def test_percent_forms(text: str) -> None:
    assert normalize_answer(text) == "5 percent"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Musk\u2019s company", "musk company"),
        ("Musk's company", "musk company"),
        ("\u2018quoted\u2019", "quoted"),
        ("\u201cHello\u201d", "hello"),
        ('"Hello"', "hello"),
        ("2019\u20132020", "2019 2020"),
        ("2019-2020", "2019 2020"),
        ("yes\u2014no", "yes no"),
        ("O\u2019Brien", "obrien"),
        ("O'Brien", "obrien"),
    ],
)
def test_quotes_and_dashes_unify(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Federal Reserve", "federal reserve"),
        ("a cat and an owl", "cat and owl"),
        ("There, then!", "there then"),  # only whole-word articles go
        ("  Lots \n of\tspace ", "lots of space"),
        ("The U.S. and the U.K.", "us and uk"),
        ("AT&T", "at t"),
        ("\uff21\uff22\uff23 \u2460", "abc 1"),  # NFKC: fullwidth letters, circled digit
        ("", ""),
        ("The.", ""),
    ],
)
def test_articles_case_punctuation_whitespace(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize("text", ["€500bn", "US$135 billion", "5 600", "Musk\u2019s 5%", "The answer is: Yes."])
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_answer(text)
    assert normalize_answer(once) == once


# --------------------------------------------------------------------------- answer_correct / token_f1


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        ("The company hired 5,600 workers.", ["5600"], True),
        ("The company hired 56000 workers.", ["5600"], False),
        ("The company hired 56,000 workers.", ["5,600"], False),
        ("Government spending rose.", ["ing"], False),
        ("ING reported profits.", ["ing"], True),
        ("It cost US$135 billion in total", ["$135 billion"], True),
        ("It cost 135 billion dollars", ["USD 135 billion"], True),
        ("It cost 135 billion euros", ["$135 billion"], False),
        ("Growth was 1.5 per cent", ["1.5%"], True),
        ("Growth was 11.5%", ["1.5%"], False),
        ("Growth was 1.55%", ["1.5%"], False),
        ("Yes, it did.", ["no", "yes"], True),
        ("Sam Bankman\u2013Fried", ["Sam Bankman-Fried"], True),
        ("anything", [], False),
        ("anything", ["the"], False),  # gold that normalises to nothing never matches
        ("", ["5600"], False),
    ],
)
def test_answer_correct(prediction: str, gold: list[str], expected: bool) -> None:
    assert answer_correct(prediction, gold) is expected


def test_token_f1() -> None:
    assert token_f1("The Federal Reserve", ["federal reserve"]) == 1.0
    # pred: federal reserve bank (3), gold: federal reserve board chair (4), 2 shared -> P 2/3, R 1/2
    assert token_f1("Federal Reserve Bank", ["Federal Reserve Board chair"]) == pytest.approx(4 / 7)
    assert token_f1("Federal Reserve Bank", ["nothing here", "Federal Reserve Board chair"]) == pytest.approx(4 / 7)
    assert token_f1("5,600 jobs", ["5600"]) == pytest.approx(2 / 3)
    assert token_f1("apple", ["orange"]) == 0.0
    assert token_f1("apple", []) == 0.0
    assert token_f1("the", ["a"]) == 1.0  # both empty after normalisation, as in SQuAD
    assert token_f1("apple", ["the"]) == 0.0


# --------------------------------------------------------------------------- official MultiHop-RAG QA rule


def test_dedupe_keeps_first_positions() -> None:
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert dedupe([]) == []


def test_retrieval_metrics_count_duplicates_once() -> None:
    ranked = ["x", "x", "x", "a", "y", "b"]  # distinct: x, a, y, b
    relevant = {"a", "b"}
    assert hit_at_k(ranked, relevant, 1) == 0.0
    assert hit_at_k(ranked, relevant, 2) == 1.0
    assert recall_at_k(ranked, relevant, 2) == 0.5
    assert recall_at_k(ranked, relevant, 4) == 1.0
    assert all_at_k(ranked, relevant, 3) == 0.0
    assert all_at_k(ranked, relevant, 4) == 1.0
    assert reciprocal_rank(ranked, relevant) == 0.5
    assert reciprocal_rank(ranked, relevant, k=1) == 0.0


def test_retrieval_metrics_edge_cases() -> None:
    assert hit_at_k([], {"a"}, 10) == 0.0
    assert recall_at_k(["a"], set(), 10) == 0.0
    assert all_at_k(["a"], set(), 10) == 0.0
    assert reciprocal_rank(["a"], set()) == 0.0
    assert hit_at_k(["a", "b"], {"b"}, 0) == 0.0
    assert hit_at_k(["a", "b"], {"b"}, -1) == 0.0  # not a negative slice
    assert recall_at_k(["c", "a"], {"a", "b", "c"}, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(["z", "y", "a"], {"a"}, k=10) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- MultiHop-RAG chunk scoring



def test_mean() -> None:
    assert mean([]) == 0.0
    assert mean([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)
    assert mean(x for x in [1.0, 0.0]) == 0.5


@pytest.mark.parametrize(
    ("values", "p", "expected"),  # values computed with numpy.percentile (linear)
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4, 5], 90, 4.6),
        ([10, 20, 30, 40], 25, 17.5),
        ([15, 20, 35, 40, 50], 40, 29.0),
        ([3, 1, 2], 100, 3.0),
        ([3, 1, 2], 0, 1.0),
        ([7], 33, 7.0),
        ([], 50, 0.0),
    ],
)
def test_percentile_matches_numpy_linear(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# --------------------------------------------------------------------------- abstention / citation


def test_abstention_scores() -> None:
    records = [(True, True), (True, False), (False, True), (False, False), (True, True)]
    scores = abstention_scores(records)
    assert scores["abstain_precision"] == pytest.approx(2 / 3)
    assert scores["abstain_recall"] == pytest.approx(2 / 3)
    assert scores["abstain_f1"] == pytest.approx(2 / 3)
    assert set(scores) == {"abstain_precision", "abstain_recall", "abstain_f1"}


def test_abstention_scores_empty_denominators() -> None:
    assert abstention_scores([(True, False), (False, False)]) == {
        "abstain_precision": 0.0, "abstain_recall": 0.0, "abstain_f1": 0.0
    }
    assert abstention_scores([]) == {"abstain_precision": 0.0, "abstain_recall": 0.0, "abstain_f1": 0.0}
    only_wrong = abstention_scores([(False, True)])
    assert only_wrong["abstain_precision"] == 0.0 and only_wrong["abstain_recall"] == 0.0


def test_citation_scores() -> None:
    assert citation_scores(["a", "a", "x"], {"a", "b"}) == (0.5, 0.5)
    assert citation_scores(["a", "b"], {"a", "b", "c"}) == pytest.approx((1.0, 2 / 3))
    assert citation_scores([], {"a"}) == (0.0, 0.0)
    assert citation_scores(["a"], set()) == (0.0, 0.0)
