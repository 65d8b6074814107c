"""Reading outlets and dates out of questions, against a small synthetic catalog."""

from __future__ import annotations

import numpy as np

from rag.retrieve.news import Catalog, clauses, name_variants, parse_dates

CHUNKS = ["a", "a", "b", "c", "d"]
PUBLISHERS = {"a": "TechCrunch", "b": "The Verge", "c": "The Independent - Sports", "d": "Fortune"}
DATES = {"a": "2023-10-05", "b": "2023-11-01", "c": "2023-10-20", "d": None}


def _catalog() -> Catalog:
    return Catalog(CHUNKS, PUBLISHERS, DATES)


def test_dates_in_several_spellings_become_iso() -> None:
    text = "published on October 5, 2023, on Nov. 1st 2023, on 20 October 2023, in December 2023 and 2023-09-28"
    assert parse_dates(text) == ("2023-10-05", "2023-11-01", "2023-10-20", "2023-12", "2023-09-28")
    assert parse_dates("no date here, just 2023 and May") == ()


def test_name_variants_drop_the_article_and_the_qualifier() -> None:
    assert name_variants("The Independent - Sports") == {
        "The Independent - Sports", "Independent - Sports", "The Independent", "Independent"}
    assert name_variants("TechCrunch") == {"TechCrunch"}


def catalog_parse(question: str):  # noqa: ANN201
    return _catalog().parse(question)


def test_outlets_are_read_in_order_with_the_words_that_follow_them() -> None:
    meta = _catalog().parse("Does the TechCrunch article say X, while The Verge article says Y grew fast?")
    assert [set(p.publishers) for p in meta.parts] == [{"TechCrunch"}, {"The Verge"}]
    assert [p.dates for p in meta.parts] == [(), ()]
    assert meta.parts[0].text == "Does the TechCrunch article say X"  # the clause of the mention
    assert meta.parts[1].text == "The Verge article says Y grew fast"
    whole = "Who was charged, as reported by both TechCrunch and The Verge?"
    assert [p.text for p in catalog_parse(whole).parts] == [whole, whole]  # the clause says nothing more
    assert meta.publishers == {"TechCrunch", "The Verge"}


def test_a_one_word_outlet_must_be_capitalised_and_a_head_name_covers_its_sections() -> None:
    catalog = _catalog()
    assert not catalog.parse("a fortune was lost").parts
    assert catalog.parse("as Fortune reported").publishers == {"Fortune"}
    assert catalog.parse("according to the independent").publishers == {"The Independent - Sports"}
    assert catalog.parse("Who runs TechCrunchy?").parts == ()


def test_masks_map_articles_to_their_chunks() -> None:
    catalog = _catalog()
    assert catalog.publisher_mask({"TechCrunch"}).tolist() == [True, True, False, False, False]
    assert catalog.date_mask(("2023-10",)).tolist() == [True, True, False, True, False]
    assert catalog.date_mask(("2023-11-01",)).tolist() == [False, False, True, False, False]
    assert np.array_equal(catalog.chunk_article, [0, 0, 1, 2, 3])


def test_clauses_split_a_multi_part_question() -> None:
    assert clauses("Does the TechCrunch article say the app grew, while The Verge article says it shrank?") == [
        "Does the TechCrunch article say the app grew", "The Verge article says it shrank"]
    assert clauses("Who won?") == []


def test_each_mention_is_a_part_with_its_own_dates_and_dates_alone_make_parts() -> None:
    catalog = _catalog()
    meta = catalog.parse("the TechCrunch report of October 5, 2023 and the TechCrunch report of November 2023")
    assert [p.dates for p in meta.parts] == [("2023-10-05",), ("2023-11",)]
    assert meta.dates == ("2023-10-05", "2023-11")
    meta = catalog.parse("What changed between the articles of 2023-10-02 and 2023-11-01?")
    assert [(p.publishers, p.dates) for p in meta.parts] == [(frozenset(), ("2023-10-02",)),
                                                             (frozenset(), ("2023-11-01",))]


def test_content_leaves_out_the_outlets_and_dates_a_question_names() -> None:
    catalog = _catalog()
    text = catalog.content("the TechCrunch article of October 5, 2023 says the fortune grew, per The Verge")
    assert text.split() == ["the", "article", "of", "says", "the", "fortune", "grew,", "per"]
