"""Per-sentence terms of chunks: the best single sentence's share of a query, rarity, repeated sentences."""

from __future__ import annotations

import numpy as np

from rag.index.sentences import SentenceIndex
from rag.text import tokenize


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
