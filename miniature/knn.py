"""Nearest neighbours by cosine similarity: a FAISS flat (exact) inner-product index on
L2-normalised vectors.

The neighbour lists of a set of data points are searched once, at the largest K that any
later step needs; a smaller K is the first K columns of those lists (they are sorted,
most similar first), so a K sweep costs one search.
"""

from __future__ import annotations

import numpy as np


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32, C-contiguous, as FAISS wants); zero rows stay zero."""
    import faiss

    x = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {x.shape}")
    faiss.normalize_L2(x)
    return x


def search(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``base`` most cosine-similar to each query: (similarities, row
    indices), each of shape (len(queries), k), most similar first."""
    import faiss

    if not 1 <= k <= len(base):
        raise ValueError(f"k={k} nearest neighbours asked for among {len(base)} vectors")
    base, queries = normalised(base), normalised(queries)
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    return index.search(queries, k)


def neighbours(vectors: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Every point's ``k_max`` nearest other points: (row indices, cosine similarities), each
    of shape (n, k_max), most similar first.

    One search at ``k_max + 1``; the point itself is then removed by its row index, not by
    position: with duplicate vectors or exact ties the point need not come first, and a
    duplicate in first place is a true neighbour. Where the point is not among the
    ``k_max + 1`` found (more than ``k_max`` exact duplicates of it), the last one goes.
    """
    n = len(vectors)
    if not 1 <= k_max < n:
        raise ValueError(f"K={k_max} nearest neighbours need at least {k_max + 1} data points, got {n}")
    similarities, rows = search(vectors, vectors, k_max + 1)
    own = rows == np.arange(n)[:, None]
    own[~own.any(axis=1), -1] = True
    keep = ~own
    return rows[keep].reshape(n, k_max), similarities[keep].reshape(n, k_max)


def kth_distances(base: np.ndarray, queries: np.ndarray, k_max: int) -> np.ndarray:
    """Euclidean distances between L2-normalised vectors from each query to its 1st ...
    ``k_max``-th nearest row of ``base``, shape (len(queries), k_max), ascending.

    For unit vectors |x - y|^2 = 2 - 2 x.y, so these come from the same inner-product search.
    """
    similarities, _ = search(base, queries, k_max)
    return np.sqrt(np.clip(2.0 - 2.0 * similarities.astype(np.float64), 0.0, None))
