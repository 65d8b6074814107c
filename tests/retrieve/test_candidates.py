"""Candidate generation: how deep the lexical index is asked to score."""

from __future__ import annotations

import numpy as np

from rag.retrieve.candidates import lexical_depth


def test_a_filtered_query_scores_every_chunk_lexically_an_unfiltered_one_only_its_depth() -> None:
    assert lexical_depth(np.ones(10, dtype=bool), 4) == 4
    assert lexical_depth(np.array([True] * 9 + [False]), 4) is None  # the top 4 of all may hold none allowed
