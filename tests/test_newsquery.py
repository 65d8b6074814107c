"""Reading outlets and dates out of questions, against a small synthetic catalog."""

from __future__ import annotations

import numpy as np

from rag.lexical import SentenceIndex, tokenize
from rag.newsquery import Catalog, clauses, name_variants, parse_dates

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


def test_best_share_is_the_largest_part_of_the_query_weight_in_one_sentence() -> None:
    texts = ["The fraud trial began. Prosecutors spoke.", "A fraud was found. The trial ended.", ""]
    vocab = {t: n for n, t in enumerate(sorted({t for x in texts for t in tokenize(x)}))}
    sentences = SentenceIndex.build(texts, vocab)
    weights = np.zeros(len(vocab), dtype=np.float32)
    weights[[vocab["fraud"], vocab["trial"]]] = [3.0, 1.0]
    assert sentences.best_share(weights).tolist() == [1.0, 0.75, 0.0]
    assert sentences.best_share(np.zeros(len(vocab), dtype=np.float32)).tolist() == [0.0, 0.0, 0.0]


def test_rarity_favours_the_words_few_candidate_sentences_hold() -> None:
    texts = ["Altman left OpenAI. Altman met the board.", "Altman was fired. The exit was shocking.", "Rain fell."]
    vocab = {t: n for n, t in enumerate(sorted({t for x in texts for t in tokenize(x)}))}
    sentences = SentenceIndex.build(texts, vocab)
    rarity = sentences.rarity(np.array([0, 1]))  # 4 sentences: "altman" in 3, "shock" in 1, "rain" in none
    assert rarity[vocab["altman"]] < rarity[vocab["shock"]] < rarity[vocab["rain"]]
    assert np.isclose(rarity[vocab["shock"]], np.log1p(4 / 2))
    weights = np.zeros(len(vocab), dtype=np.float32)
    weights[[vocab["altman"], vocab["shock"]]] = 1.0  # "Was Altman's exit shocking?", equal idf
    assert sentences.best_share(weights)[0] == 0.5  # plain shares: both chunks hold half
    assert sentences.best_share(weights * rarity).argmax() == 1  # by rarity the fact's chunk wins


def test_sentences_printed_in_several_articles_match_nothing() -> None:
    boiler = "Sam Bankman-Fried, the founder of FTX, is on trial for seven counts of fraud."
    texts = [f"{boiler} The jury heard from Ellison.", f"The trial began. {boiler}", f"{boiler} Jurors met."]
    vocab = {t: n for n, t in enumerate(sorted({t for x in texts for t in tokenize(x)}))}
    sentences = SentenceIndex.build(texts, vocab, groups=["a", "a", "b"])
    assert sentences.repeated.tolist() == [True, False, False, True, True, False]
    weights = np.zeros(len(vocab), dtype=np.float32)
    weights[[vocab["fraud"], vocab["trial"]]] = 1.0
    assert sentences.best_share(weights).tolist() == [1.0, 1.0, 1.0]
    assert sentences.distinct.best_share(weights).tolist() == [0.0, 0.5, 0.0]  # only "The trial began." is left
    assert not SentenceIndex.build(texts, vocab).repeated.any()  # no articles given: nothing is repeated
    assert not SentenceIndex.build(texts[:2], vocab, groups=["a", "a"]).repeated.any()  # twice in one article: kept


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
