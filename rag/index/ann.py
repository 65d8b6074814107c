"""The dense (approximate nearest neighbour) index over chunk vectors: FAISS, chosen by size.

Up to ``index.flat_max_vectors`` vectors the search is exact (``IndexFlatIP``). Above, an inverted
file with 8-bit scalar quantisation (``IVF{nlist},SQ8``, about 400 bytes a vector next to the 1,536
of the float vectors): ``nlist`` grows with the square root of the size, and the number of lists
searched (``nprobe``) is the smallest power of two that reaches ``index.ann_recall`` recall@10
against exact search, measured at build time on queries made from the index's own vectors (sums of
three random rows; see ``_tune``). The
quantised scores only shortlist ``index.ann_refine`` times the wanted neighbours; those are re-scored
exactly from the float vectors the index keeps anyway, so scores are true cosines.
"""

from __future__ import annotations

import math
import time
from typing import Any

import faiss
import numpy as np

from rag.config import IndexSettings

TRAIN_PER_LIST = 40  # k-means training vectors per inverted list (FAISS warns below 39)
KMEANS_ITERATIONS = 10  # FAISS's default 25 triples training time for no measurable recall
TUNE_QUERIES = 200  # queries made from the index's own vectors to choose nprobe
TUNE_MIX = 3  # rows summed into one tuning query
TUNE_K = 10
SEED = 0
SMALL_FILTER = 50  # a filter leaving at most this many times the shortlist is searched exactly (it is cheap)


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest ``4 * sqrt(n)``, with at least
    ``TRAIN_PER_LIST`` vectors per list to train on (1M vectors: 4,096 lists; 20k: 256)."""
    lists = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(n))))
    while lists > 1 and lists * TRAIN_PER_LIST > n:
        lists //= 2
    return lists


def faiss_params(n: int, settings: IndexSettings) -> dict[str, Any]:
    """The FAISS index kind and parameters for ``n`` vectors: exact up to ``flat_max_vectors``,
    ``IVF{nlist},SQ8`` with exact re-scoring above (``nprobe`` is added by ``build_dense``)."""
    if n <= settings.flat_max_vectors:
        return {"type": "IndexFlatIP", "metric": "inner_product"}
    nlist = min(settings.ann_nlist, n) if settings.ann_nlist else nlist_for(n)
    return {"type": "IndexIVFScalarQuantizer", "metric": "inner_product", "factory": f"IVF{nlist},SQ8",
            "nlist": nlist, "refine": settings.ann_refine, "recall_target": settings.ann_recall}


class DenseIndex:
    """Nearest chunks to query vectors: the FAISS index, and for a quantised one the exact re-scoring
    of its shortlist from the float vectors (rows in chunk order)."""

    def __init__(self, index: faiss.Index, vectors: np.ndarray, params: dict[str, Any]) -> None:
        self.faiss = index
        self.vectors = vectors
        self.params = params

    @property
    def ntotal(self) -> int:
        """How many vectors are indexed."""
        return int(self.faiss.ntotal)

    @property
    def approximate(self) -> bool:
        """Whether searches may miss a true neighbour (an inverted-file index)."""
        return isinstance(self.faiss, faiss.IndexIVF)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cosine scores and positions of the ``k`` nearest rows to each query (FAISS layout: two arrays
        of shape (queries, k), position -1 where fewer exist), among the ``allowed`` rows when given
        (a boolean per row). A filter that leaves few rows is searched exactly."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.vectors.shape[1])
        rows = None if allowed is None else np.flatnonzero(allowed).astype("int64")
        if not self.approximate:
            params = None if rows is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))
            return self.faiss.search(queries, k, params=params)
        if rows is not None and len(rows) <= SMALL_FILTER * k * self.params["refine"]:
            return _rescore(queries, self.vectors, np.broadcast_to(rows, (len(queries), len(rows))), k)
        wanted = min(self.ntotal, max(k, int(math.ceil(k * self.params["refine"]))))
        params = faiss.SearchParametersIVF(nprobe=self.faiss.nprobe)
        if rows is not None:
            params.sel = faiss.IDSelectorBatch(rows)
        threads = faiss.omp_get_max_threads()
        if len(queries) == 1:  # one query gains nothing from threads, and on busy cores they wait for each other
            faiss.omp_set_num_threads(1)
        try:
            _, shortlist = self.faiss.search(queries, wanted, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        return _rescore(queries, self.vectors, shortlist, k)


def build_dense(vectors: np.ndarray, params: dict[str, Any]) -> DenseIndex:
    """A dense index of kind ``params["type"]`` over ``vectors`` (rows in order). For an inverted
    file: trains it on a sample, adds every row, chooses ``nprobe`` for the recall target and
    returns params completed with ``nprobe``, the measured ``recall_at_10`` and ``build_s`` per stage."""
    dim = vectors.shape[1]
    if params["type"] == "IndexFlatIP":
        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(vectors)
        return DenseIndex(index, vectors, params)
    index = faiss.index_factory(dim, params["factory"], faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = KMEANS_ITERATIONS
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    sample = np.sort(rng.choice(len(vectors), min(len(vectors), TRAIN_PER_LIST * params["nlist"]), replace=False))
    index.train(np.ascontiguousarray(vectors[sample]))
    trained = time.perf_counter()
    index.add(vectors)
    added = time.perf_counter()
    dense = DenseIndex(index, vectors, params)
    nprobe, recall = _tune(dense, params["recall_target"], rng)
    index.nprobe = nprobe
    timings = {"train": trained - started, "add": added - trained, "tune": time.perf_counter() - added}
    dense.params = {**params, "nprobe": nprobe, "recall_at_10": round(recall, 4),
                    "build_s": {k: round(v, 2) for k, v in timings.items()}}
    return dense


def recall_at(found: np.ndarray, exact_scores: np.ndarray, vectors: np.ndarray, queries: np.ndarray) -> float:
    """Recall of ``found`` (positions, one row per query) against exact search: the share of the returned
    rows whose true score reaches the exact ``k``-th best (``exact_scores[:, -1]``), so ties count."""
    k = exact_scores.shape[1]
    hits = 0
    for q, row in enumerate(found):
        ids = row[row >= 0][:k]
        scores = vectors[ids] @ queries[q]
        hits += int((scores >= exact_scores[q, -1] - 1e-5).sum())
    return hits / (k * len(found)) if len(found) else 1.0


def _rescore(queries: np.ndarray, vectors: np.ndarray, shortlist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of each query's ``shortlist`` by exact inner product with the float ``vectors``."""
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    ids = np.full((len(queries), k), -1, dtype=np.int64)
    for q, row in enumerate(shortlist):
        row = row[row >= 0]
        # einsum, not BLAS: on busy cores a BLAS matrix-vector product waits milliseconds for its threads
        exact = np.einsum("ij,j->i", vectors[row], queries[q])
        best = np.argsort(-exact, kind="stable")[:k]
        scores[q, :len(best)], ids[q, :len(best)] = exact[best], row[best]
    return scores, ids


def _tune(dense: DenseIndex, target: float, rng: np.random.Generator) -> tuple[int, float]:
    """The smallest power-of-two ``nprobe`` whose recall@10 reaches ``target``, and that recall; every
    list when none does. The queries are ``TUNE_QUERIES`` sums of ``TUNE_MIX`` random rows, normalised:
    the rows themselves are easy queries wherever the corpus has near-duplicates (on a synthetic 1M of
    30k real vectors with noisy copies, nprobe 1 gave 0.98 for them and 0.50 for real questions),
    mixtures are a little harder than real questions (nprobe 64 for 0.95, real questions 0.99 there)."""
    vectors = dense.vectors
    k = min(TUNE_K, len(vectors))
    mixed = sum(vectors[rng.choice(len(vectors), TUNE_QUERIES)] for _ in range(TUNE_MIX))
    queries = np.ascontiguousarray(mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12),
                                   dtype=np.float32)
    truth, _ = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    nlist = dense.faiss.nlist
    nprobe = 1
    while True:
        dense.faiss.nprobe = nprobe
        _, found = dense.search(queries, k)
        recall = recall_at(found, truth, vectors, queries)
        if recall >= target or nprobe >= nlist:
            return nprobe, recall
        nprobe = min(nlist, nprobe * 2)
