"""Cost of a K sweep: one FAISS search at the largest K, sliced, against a search per K; and
FAISS against numpy brute force.

10,000 random 768-dimensional vectors (the size of BERT-base [CLS] vectors), every point's
nearest other points by cosine similarity, in one run:

* sweep: ``miniature.knn.neighbours`` once at K_max, then the first K columns for every K;
* one search: ``neighbours`` at K_max alone, and at K=10 (Table 2's K);
* per-K searches: ``neighbours`` once for each of the 8 K values;
* numpy brute force: blocks of the similarity matrix, ``argpartition`` and a sort.

Each timing is the best of ``--repeats`` runs (the machine may be shared). Also checks that
the sliced lists equal fresh searches and that FAISS and numpy find the same sets.

    python benchmarks/knn.py [--n 10000] [--dim 768] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from miniature import knn

KS = [2, 5, 10, 20, 30, 50, 75, 100]


def best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return min(times), result


def sweep(vectors: np.ndarray) -> dict[int, np.ndarray]:
    rows, _ = knn.neighbours(vectors, max(KS))
    return {k: rows[:, :k] for k in KS}


def numpy_neighbours(vectors: np.ndarray, k: int, block: int = 1000) -> np.ndarray:
    """Every row's k most cosine-similar other rows, most similar first, by numpy."""
    x = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    out = np.empty((len(x), k), dtype=np.int64)
    for start in range(0, len(x), block):
        sim = x[start: start + block] @ x.T
        sim[np.arange(len(sim)), np.arange(start, start + len(sim))] = -np.inf
        top = np.argpartition(-sim, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1)
        out[start: start + block] = np.take_along_axis(top, order, axis=1)
    return out


def same_sets(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.sort(a, axis=1) == np.sort(b, axis=1)).all(axis=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    vectors = np.random.default_rng(0).normal(size=(args.n, args.dim)).astype(np.float32)
    import faiss

    print(f"{args.n} x {args.dim} vectors, K = {KS}, FAISS {faiss.__version__} on {faiss.omp_get_max_threads()} "
          f"threads, best of {args.repeats}")
    t_sweep, sliced = best_of(args.repeats, lambda: sweep(vectors))
    t_one, _ = best_of(args.repeats, lambda: knn.neighbours(vectors, max(KS)))
    t_ten, _ = best_of(args.repeats, lambda: knn.neighbours(vectors, 10))
    t_each, fresh = best_of(args.repeats, lambda: {k: knn.neighbours(vectors, k)[0] for k in KS})
    t_numpy, brute = best_of(args.repeats, lambda: numpy_neighbours(vectors, max(KS)))
    print(f"{'':<44}{'seconds':>9}{'sweep / this':>14}")
    for name, seconds in ((f"sweep: one search at K={max(KS)}, sliced 8 times", t_sweep),
                          (f"one search at K={max(KS)}", t_one), ("one search at K=10", t_ten),
                          ("8 searches, one per K", t_each),
                          (f"numpy brute force at K={max(KS)}", t_numpy)):
        print(f"{name:<44}{seconds:>9.2f}{t_sweep / seconds:>13.2f}x")
    print(f"sweep vs one search at K_max: {t_sweep / t_one:.2f}x (target <= 1.3x); vs one search at K=10: "
          f"{t_sweep / t_ten:.2f}x; 8 searches vs sweep: {t_each / t_sweep:.2f}x; numpy vs FAISS at K_max: "
          f"{t_numpy / t_one:.2f}x")
    print(f"sliced lists equal fresh searches: {np.mean([same_sets(sliced[k], fresh[k]) for k in KS]):.2%} of rows; "
          f"FAISS and numpy sets equal at K={max(KS)}: {same_sets(sliced[max(KS)], brute):.2%} of rows")


if __name__ == "__main__":
    main()
