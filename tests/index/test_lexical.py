"""BM25 over chunk texts: stemmed terms, idf weights, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.index.lexical import LexicalIndex

TEXTS = ["The ferry strike ended on Monday.", "Ferries run again to the islands.", "The library opens at 8 am."]


def test_scores_rank_the_matching_chunk_first_and_unknown_words_score_nothing() -> None:
    index = LexicalIndex.build(TEXTS)
    scores = index.scores("When did the strikes end?")
    assert scores.shape == (3,) and int(np.argmax(scores)) == 0 and scores[2] == 0
    assert not index.scores("zzzz qqqq").any()
    assert index.scores("ferry")[1] > 0  # "ferries" and "ferry" share a stem


def test_query_weights_are_idf_per_term_once() -> None:
    index = LexicalIndex.build(TEXTS)
    weights = index.query_weights("ferry ferry library")
    assert (weights > 0).sum() == 2
    assert np.isclose(weights.sum(), index.idf[index.vocab["ferri"]] + index.idf[index.vocab["librari"]])


def test_save_and_load_give_the_same_scores(tmp_path: Path) -> None:
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert np.allclose(loaded.scores("ferry strike"), index.scores("ferry strike"))
