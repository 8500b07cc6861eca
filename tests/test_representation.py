import numpy as np
import pytest

from miniature.representation import knn_jaccard, mean_and_variance, representation_record


def test_knn_jaccard_on_hand_computed_rows():
    a = np.array([[1, 2, 3, 4], [0, 2, 3, 4], [5, 6, 7, 8]])
    b = np.array([[2, 1, 9, 8], [9, 8, 7, 6], [5, 6, 7, 8]])
    assert knn_jaccard(a, b, 2).tolist() == [1.0, 0.0, 1.0]  # {1,2}={2,1}; {0,2} vs {9,8}; same
    assert knn_jaccard(a, b, 3).tolist() == pytest.approx([2 / 4, 0.0, 1.0])  # {1,2,3} vs {2,1,9}
    assert knn_jaccard(a, b, 4).tolist() == pytest.approx([2 / 6, 0 / 8, 1.0])


def test_mean_and_population_variance():
    stats = mean_and_variance(np.array([1.0, 0.0, 0.5, 0.5]))
    assert stats == {"mean": 0.5, "var": pytest.approx(0.125)}  # ddof=0: (0.25+0.25+0+0)/4


def _neighbour_file(rows, ids=("q0", "q1", "q2")):
    return {"ids": np.array(ids), "rows": np.array(rows)}


def test_representation_record_of_a_model_with_itself_is_one():
    rng = np.random.default_rng(0)
    rows = np.array([rng.permutation([j for j in range(30) if j != i])[:8] for i in range(30)])
    same = {"ids": np.array([f"q{i}" for i in range(30)]), "rows": rows}
    record = representation_record({"before": (same, same), "after": (same, same)}, ks=[2, 5, 8], k=5)
    assert record["before_mean"] == record["after_mean"] == 1.0
    assert record["before_var"] == record["after_var"] == 0.0
    assert [(s["stage"], s["k"]) for s in record["sweep"]] == [(st, k) for st in ("before", "after") for k in (2, 5, 8)]
    assert all(s["mean"] == 1.0 for s in record["sweep"])


def test_representation_record_hand_computed_and_table_k_outside_the_sweep():
    a = _neighbour_file([[1, 2], [0, 2], [0, 1]])
    b = _neighbour_file([[1, 2], [2, 0], [1, 0]])  # same sets: K=1 differs for rows 1 and 2 only
    record = representation_record({"before": (a, b), "after": (a, a)}, ks=[2], k=1)
    assert record["before_mean"] == pytest.approx(1 / 3)  # K=1 sets: {1}={1}, {0}≠{2}, {0}≠{1}
    assert record["before_var"] == pytest.approx(2 / 9)
    assert record["after_mean"] == 1.0
    assert {(s["stage"], s["k"]): s["mean"] for s in record["sweep"]} == {
        ("before", 1): pytest.approx(1 / 3), ("before", 2): 1.0, ("after", 1): 1.0, ("after", 2): 1.0}


def test_representation_record_refuses_different_data_points():
    a = _neighbour_file([[1], [0], [0]])
    b = _neighbour_file([[1], [0], [0]], ids=("q0", "q1", "other"))
    with pytest.raises(ValueError, match="not over the same data points"):
        representation_record({"before": (a, b)}, ks=[1], k=1)
