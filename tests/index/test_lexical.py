"""BM25 over chunk texts (bm25s and Tantivy): stemmed terms, idf weights, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.config import IndexSettings
from rag.index.lexical import LexicalIndex, TantivyIndex, lexical_kind, load_lexical

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


def test_tantivy_ranks_like_bm25s_and_shares_its_idf() -> None:
    bm25, tantivy = LexicalIndex.build(TEXTS), TantivyIndex.build(TEXTS)
    for query in ("When did the strikes end?", "ferry", "library at 8", "zzzz"):
        a, b = bm25.scores(query), tantivy.scores(query)
        assert list(np.argsort(-a, kind="stable")) == list(np.argsort(-b, kind="stable")) and ((a > 0) == (b > 0)).all()
    assert len(tantivy) == 3
    for term in ("ferri", "librari", "8"):
        assert np.isclose(tantivy.idf[tantivy.vocab[term]], bm25.idf[bm25.vocab[term]])
    assert np.isclose(tantivy.query_weights("ferry ferry library").sum(),
                      bm25.query_weights("ferry ferry library").sum())


def test_tantivy_saves_and_loads_with_its_vocabulary(tmp_path: Path) -> None:
    index = TantivyIndex.build(TEXTS)
    index.save(tmp_path / "lexical")
    loaded = load_lexical(tmp_path / "lexical")
    assert isinstance(loaded, TantivyIndex) and loaded.vocab == index.vocab
    assert np.allclose(loaded.scores("ferry strike"), index.scores("ferry strike"))
    assert isinstance(load_lexical(_saved_bm25(tmp_path)), LexicalIndex)


def test_auto_is_bm25s_up_to_the_threshold_and_tantivy_above() -> None:
    settings = IndexSettings(tantivy_above=10)
    assert lexical_kind(10, settings) == "bm25s" and lexical_kind(11, settings) == "tantivy"
    assert lexical_kind(11, IndexSettings(lexical="bm25s", tantivy_above=10)) == "bm25s"
    assert lexical_kind(1, IndexSettings(lexical="tantivy")) == "tantivy"


def _saved_bm25(tmp_path: Path) -> Path:
    LexicalIndex.build(TEXTS).save(tmp_path / "bm25")
    return tmp_path / "bm25"
