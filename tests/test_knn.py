"""Nearest neighbours on constructed vectors with known answers, and against brute force."""

import numpy as np
import pytest

from miniature import knn


def brute_force(vectors: np.ndarray, k: int) -> list[set[int]]:
    """Every row's k most cosine-similar other rows, by numpy."""
    x = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return [set(np.argsort(-row, kind="stable")[:k].tolist()) for row in sim]


def test_known_neighbours_on_a_line_of_angles():
    # Vectors at angles 0, 10, 30, 70, 100 degrees: neighbours by angular distance.
    angles = np.radians([0, 10, 30, 70, 100])
    lengths = np.array([[1], [3], [0.5], [2], [7]])  # they do not matter
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1) * lengths
    rows, sims = knn.neighbours(vectors, 2)
    assert [list(r) for r in rows] == [[1, 2], [0, 2], [1, 0], [4, 2], [3, 2]]
    assert sims[0] == pytest.approx(np.cos(np.radians([10, 30])), abs=1e-6)
    assert (np.diff(sims, axis=1) <= 0).all()  # most similar first


def test_duplicates_are_neighbours_and_the_point_itself_never_is():
    # Rows 0, 1, 2 are the same vector (duplicate texts); 3 is near them, 4 far away.
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1.0, 0.1], [-1.0, 0.2]])
    for k in (1, 2, 3, 4):
        rows, _ = knn.neighbours(vectors, k)
        for i, row in enumerate(rows):
            assert i not in row and len(set(row)) == k
    rows, _ = knn.neighbours(vectors, 2)
    assert [set(r) for r in rows[:3]] == [{1, 2}, {0, 2}, {0, 1}]  # each duplicate's two twins
    rows, _ = knn.neighbours(vectors, 3)
    assert [set(r) for r in rows[:3]] == [{1, 2, 3}, {0, 2, 3}, {0, 1, 3}]  # no true neighbour dropped


def test_more_exact_duplicates_than_k():
    # Six identical vectors, K=2: whatever order FAISS returns the ties in, the point itself
    # is never its own neighbour and every row has K distinct twins.
    vectors = np.ones((6, 3))
    rows, sims = knn.neighbours(vectors, 2)
    for i, row in enumerate(rows):
        assert i not in row and len(set(row)) == 2
    assert sims == pytest.approx(np.ones((6, 2)), abs=1e-6)


def test_exact_ties_keep_both_tied_neighbours():
    # Points 1 and 2 are at exactly the same angle from point 0 (mirror images).
    vectors = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-1.0, 0.0]])
    rows, _ = knn.neighbours(vectors, 2)
    assert set(rows[0]) == {1, 2}
    assert 3 not in rows[0]


def test_matches_numpy_brute_force_on_random_data():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 24)).astype(np.float32)
    rows, _ = knn.neighbours(vectors, 15)
    assert [set(r) for r in rows] == brute_force(vectors, 15)


def test_slicing_at_k_equals_a_fresh_search_at_k():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(200, 16))
    rows_max, _ = knn.neighbours(vectors, 40)
    for k in (1, 5, 10, 25, 40):
        fresh, _ = knn.neighbours(vectors, k)
        assert [set(r) for r in rows_max[:, :k]] == [set(r) for r in fresh]


def test_k_must_leave_a_neighbour_to_find():
    with pytest.raises(ValueError, match="at least 6 data points"):
        knn.neighbours(np.eye(5), 5)


def test_kth_distances_are_euclidean_between_unit_vectors():
    base = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    query = np.array([[2.0, 0.0]])  # normalised: (1, 0)
    distances = knn.kth_distances(base, query, 3)
    assert distances[0] == pytest.approx([0.0, np.sqrt(2.0), 2.0], abs=1e-6)
