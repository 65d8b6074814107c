"""The dense (approximate nearest neighbour) index over chunk vectors: FAISS, chosen by size."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from rag.config import IndexSettings

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def faiss_params(n: int, settings: IndexSettings) -> dict[str, Any]:
    """The FAISS index kind and parameters for ``n`` vectors: exact up to ``flat_max_vectors``, HNSW above."""
    if n <= settings.flat_max_vectors:
        return {"type": "IndexFlatIP", "metric": "inner_product"}
    return {"type": "IndexHNSWFlat", "metric": "inner_product", "M": HNSW_M,
            "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}


def build_faiss(vectors: np.ndarray, params: dict[str, Any]) -> faiss.Index:
    """A FAISS index of kind ``params["type"]`` holding ``vectors`` (rows in order)."""
    dim = vectors.shape[1]
    if params["type"] == "IndexFlatIP":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["efConstruction"]
        index.hnsw.efSearch = params["efSearch"]
    if len(vectors):
        index.add(vectors)
    return index
