"""Data representation: how far two models agree on each data point's K nearest neighbours.

Only ``numpy`` is imported: the per-pair comparison jobs that use this module start fast.
"""

from __future__ import annotations

import numpy as np


def knn_jaccard(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Per data point (row), the Jaccard of its K-nearest-neighbour sets under two models.

    ``a`` and ``b`` are neighbour lists (n x K_max row indices into the same data points,
    most similar first, no repeats within a row); the K-sets are their first ``k`` columns.
    """
    if a.shape[0] != b.shape[0] or k > min(a.shape[1], b.shape[1]):
        raise ValueError(f"neighbour lists of shapes {a.shape} and {b.shape} cannot be compared at K={k}")
    both = np.sort(np.concatenate([a[:, :k], b[:, :k]], axis=1), axis=1)
    shared = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return shared / (2 * k - shared)


def mean_and_variance(values: np.ndarray) -> dict:
    """Mean and population variance (ddof=0) over data points."""
    return {"mean": float(np.mean(values)), "var": float(np.var(values, ddof=0))}


def representation_record(neighbours: dict[str, tuple[dict, dict]], ks: list[int], k: int) -> dict:
    """Agreement of two models' neighbour lists per stage and K.

    ``neighbours`` maps a stage (``before``, ``after``) to the two models' neighbour arrays
    (``ids`` and ``rows``, as written by the neighbours stage). The record holds
    ``<stage>_mean`` and ``<stage>_var`` at Table 2's ``k`` and a ``sweep`` over ``ks``.
    """
    record: dict = {"k": k, "variance": "population (ddof=0) over data points", "sweep": []}
    for stage, (a, b) in neighbours.items():
        if not np.array_equal(a["ids"], b["ids"]):
            raise ValueError(f"{stage}: the two models' neighbour lists are not over the same data points")
        record["n"] = len(a["ids"])
        for each in sorted(set(ks) | {k}):
            stats = mean_and_variance(knn_jaccard(a["rows"], b["rows"], each))
            record["sweep"].append({"stage": stage, "k": each, **stats})
            if each == k:
                record[f"{stage}_mean"], record[f"{stage}_var"] = stats["mean"], stats["var"]
    return record
