import math

import numpy as np
import pytest

from miniature.compare import (MODELS_COLUMNS, TABLE3_COLUMNS, agreement, attack_summary, compare_sets,
                               distribution_record, knn_jaccard, models_table, pair_comparisons, pair_records,
                               representation_record, table2, table3)


def _jaccard(a, b):
    return compare_sets(a, b)["jaccard"]


def test_jaccard_identical_disjoint_partial_and_empty():
    assert _jaccard({"a", "b"}, {"b", "a"}) == 1.0
    assert _jaccard({"a"}, {"b"}) == 0.0
    assert _jaccard({"a", "b", "c"}, {"b", "c", "d"}) == pytest.approx(2 / 4)
    assert _jaccard(set(), set()) == 1.0
    assert _jaccard(set(), {"a"}) == 0.0


def test_compare_sets_counts():
    record = compare_sets(["q1", "q2", "q3"], ["q2", "q3", "q4", "q5"])
    assert record == {"size_a": 3, "size_b": 4, "intersection": 2, "union": 5, "jaccard": 0.4}


def test_pair_records_compare_each_pair_in_order_and_name_a_missing_model():
    sets = {"large": ["q1", "q2"], "base": ["q2"], "tiny": []}
    pairs = [("large", "base"), ("large", "tiny"), ("base", "tiny")]
    records = pair_records(pairs, sets, compare_sets)
    assert [(r["model_a"], r["model_b"], r["jaccard"]) for r in records] == [
        ("large", "base", 0.5), ("large", "tiny", 0.0), ("base", "tiny", 0.0)]
    with pytest.raises(ValueError, match=r"\['mini'\]"):
        pair_records([("large", "mini")], sets, compare_sets)


def test_pair_comparisons_fill_table2_from_each_models_sets():
    pairs = [("large", "base"), ("large", "tiny"), ("base", "tiny")]
    errors = {"large": ["q1", "q2", "q3"], "base": ["q2", "q3", "q4"], "tiny": ["q5"]}
    flagged = {"large": {"5": ["c1"], "10": ["c1", "c2"]}, "base": {"5": ["c1"], "10": ["c2"]},
               "tiny": {"5": [], "10": ["c3"]}}
    representation = [{"model_a": a, "model_b": b, "before_mean": 0.1, "before_var": 0.0, "after_mean": 0.2,
                       "after_var": 0.0} for a, b in pairs]
    records = pair_comparisons(pairs, {"errors": errors, "distribution": flagged}, k=10,
                               representation=representation)
    table = table2(pairs, records)
    assert list(table.prediction_errors) == [pytest.approx(2 / 4), 0.0, 0.0]
    assert list(table.data_distribution) == [0.5, 0.0, 0.0]  # at Table 2's K=10, not K=5
    assert [s["jaccard"] for s in records["distribution"][0]["sweep"]] == [1.0, 0.5]  # the sweep: K=5, K=10
    assert "adversarial" not in table.columns and "representation" in records
    # A set comparison plugged in by a user is compared as plain id sets (it has no Table 2 column).
    [plugged] = pair_comparisons(pairs[:1], {"plugged": errors}, k=10)["plugged"]
    assert plugged["jaccard"] == pytest.approx(2 / 4) and plugged["intersection"] == 2
    assert list(table2(pairs[:1], {"plugged": [plugged]}).columns) == ["model_a", "model_b"]


def test_table2_keeps_pair_order_and_rejects_missing_pairs():
    pairs = [("large", "base"), ("large", "tiny"), ("base", "tiny")]
    records = {"errors": [{"model_a": a, "model_b": b, "jaccard": i / 10} for i, (a, b) in enumerate(reversed(pairs))]}
    table = table2(pairs, records)
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors"]  # only the comparisons given
    assert list(zip(table.model_a, table.model_b)) == pairs
    assert list(table.prediction_errors) == [0.2, 0.1, 0.0]
    with pytest.raises(ValueError, match="no record"):
        table2(pairs + [("x", "y")], records)


def test_knn_jaccard_on_hand_computed_rows():
    a = np.array([[1, 2, 3, 4], [0, 2, 3, 4], [5, 6, 7, 8]])
    b = np.array([[2, 1, 9, 8], [9, 8, 7, 6], [5, 6, 7, 8]])
    assert knn_jaccard(a, b, 2).tolist() == [1.0, 0.0, 1.0]  # {1,2}={2,1}; {0,2} vs {9,8}; same
    assert knn_jaccard(a, b, 3).tolist() == pytest.approx([2 / 4, 0.0, 1.0])  # {1,2,3} vs {2,1,9}
    assert knn_jaccard(a, b, 4).tolist() == pytest.approx([2 / 6, 0 / 8, 1.0])


def test_agreement_is_mean_and_population_variance():
    stats = agreement(np.array([1.0, 0.0, 0.5, 0.5]))
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


def test_distribution_record_per_k():
    flagged_a = {"5": ["c1", "c2"], "10": ["c1", "c2", "c3"]}
    flagged_b = {"5": ["c2"], "10": ["c3", "c4"]}
    record = distribution_record(flagged_a, flagged_b, k=10)
    assert record["jaccard"] == pytest.approx(1 / 4) and record["k"] == 10
    assert [(s["k"], s["jaccard"]) for s in record["sweep"]] == [(5, 0.5), (10, pytest.approx(0.25))]
    assert distribution_record(flagged_a, flagged_a, k=5)["jaccard"] == 1.0
    with pytest.raises(ValueError, match="K=20"):
        distribution_record(flagged_a, flagged_b, k=20)


