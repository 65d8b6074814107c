"""The dense index: flat below a size, IVF-SQ8 re-scored exactly above, nprobe tuned to a recall target."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.config import IndexSettings
from rag.index.ann import build_dense, faiss_params, nlist_for, recall_at


def _clustered(n: int, dim: int = 64, centres: int = 200, seed: int = 1) -> np.ndarray:
    """Normalised vectors around fixed random centres (``seed`` draws the points): neighbours are
    close, like real embeddings."""
    middle = np.random.default_rng(0).standard_normal((centres, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    x = middle[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_nlist_grows_with_the_square_root_and_keeps_enough_training_vectors() -> None:
    assert nlist_for(1_000_000) == 4096 and nlist_for(100_000) == 1024
    assert nlist_for(20_001) * 40 <= 20_001 and nlist_for(10) == 1


def test_flat_up_to_the_threshold_and_ivf_above() -> None:
    settings = IndexSettings(flat_max_vectors=1000)
    assert faiss_params(1000, settings)["type"] == "IndexFlatIP"
    params = faiss_params(1001, settings)
    assert params["factory"] == f"IVF{nlist_for(1001)},SQ8" and params["recall_target"] == 0.95
    assert faiss_params(5000, IndexSettings(flat_max_vectors=0, ann_nlist=64))["nlist"] == 64


@pytest.mark.parametrize("target", [0.8, 0.97])
def test_the_chosen_nprobe_reaches_the_recall_target_on_new_queries(target: float) -> None:
    vectors = _clustered(20_000)
    dense = build_dense(vectors, faiss_params(len(vectors), IndexSettings(flat_max_vectors=0, ann_recall=target)))
    assert dense.params["recall_at_10"] >= target and dense.params["nprobe"] < dense.params["nlist"]
    queries = _clustered(300, seed=7)
    exact, _ = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    scores, ids = dense.search(queries, 10)
    assert recall_at(ids, exact, vectors, queries) >= target - 0.03
    assert np.allclose(scores, np.einsum("qd,qkd->qk", queries, vectors[ids]), atol=1e-5)  # exact cosines


def test_filters_return_only_allowed_rows_small_ones_exactly() -> None:
    vectors = _clustered(5_000)
    dense = build_dense(vectors, faiss_params(len(vectors), IndexSettings(flat_max_vectors=0)))
    query = vectors[17]
    few = np.zeros(len(vectors), dtype=bool)
    few[[3, 17, 400]] = True
    scores, ids = dense.search(query, 5, few)
    assert ids[0][0] == 17 and set(ids[0][:3]) == {3, 17, 400} and list(ids[0][3:]) == [-1, -1]
    many = np.arange(len(vectors)) % 2 == 1
    _, ids = dense.search(query, 10, many)
    assert (ids[0] % 2 == 1).all() and 17 in ids[0]


def test_flat_search_is_exact() -> None:
    vectors = _clustered(500)
    dense = build_dense(vectors, faiss_params(len(vectors), IndexSettings()))
    assert not dense.approximate
    _, ids = dense.search(vectors[:4], 1)
    assert list(ids[:, 0]) == [0, 1, 2, 3]
