import math

import numpy as np
import pytest

from miniature.compare import (TABLE3_COLUMNS, agreement, attack_summary, compare_sets, distribution_record, jaccard,
                               knn_jaccard, representation_record, table2, table3)


def test_jaccard_identical_disjoint_partial_and_empty():
    assert jaccard({"a", "b"}, {"b", "a"}) == 1.0
    assert jaccard({"a"}, {"b"}) == 0.0
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}) == pytest.approx(2 / 4)
    assert jaccard(set(), set()) == 1.0
    assert jaccard(set(), {"a"}) == 0.0


def test_compare_sets_counts():
    record = compare_sets(["q1", "q2", "q3"], ["q2", "q3", "q4", "q5"])
    assert record == {"size_a": 3, "size_b": 4, "intersection": 2, "union": 5, "jaccard": 0.4}


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


def test_table2_puts_the_adversarial_column_after_the_papers_columns():
    pairs = [("large", "base"), ("large", "tiny"), ("base", "tiny")]
    records = {"adversarial": [{"model_a": a, "model_b": b, "jaccard": 0.5} for a, b in pairs],
               "distribution": [{"model_a": a, "model_b": b, "jaccard": 0.75} for a, b in pairs],
               "errors": [{"model_a": a, "model_b": b, "jaccard": 0.25} for a, b in pairs]}
    table = table2(pairs, records)
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors", "data_distribution", "adversarial"]
    assert list(table.adversarial) == [0.5] * 3 and list(table.data_distribution) == [0.75] * 3


def test_attack_summary_counts_skipped_examples_as_wrong_before_and_after():
    # 10 examples: 4 attacked successfully, 3 resisted, 3 were wrong before the attack (skipped).
    outcomes = ["succeeded"] * 4 + ["failed"] * 3 + ["skipped"] * 3
    queries = [10, 20, 30, 40, 50, 60, 70, 1, 1, 1]
    s = attack_summary(outcomes, queries)
    assert (s["examples"], s["succeeded"], s["failed"], s["skipped"]) == (10, 4, 3, 3)
    assert s["original_accuracy"] == pytest.approx(70.0)      # 7 of 10 right before the attack
    assert s["after_attack_accuracy"] == pytest.approx(30.0)  # only the 3 failed attacks stay right
    assert s["absolute_change"] == pytest.approx(-40.0)
    assert s["pct_change"] == pytest.approx(-40.0 / 70.0 * 100)
    assert s["attack_success_rate"] == pytest.approx(4 / 7 * 100)
    assert s["avg_queries"] == pytest.approx(40.0)  # skipped examples' single query is left out


def test_attack_summary_edge_cases():
    all_wrong = attack_summary(["skipped", "skipped"], [1, 1])
    assert all_wrong["original_accuracy"] == 0 and all_wrong["after_attack_accuracy"] == 0
    assert math.isnan(all_wrong["pct_change"]) and math.isnan(all_wrong["attack_success_rate"])
    robust = attack_summary(["failed"] * 4, [5] * 4)
    assert robust["absolute_change"] == 0 and robust["pct_change"] == 0 and robust["attack_success_rate"] == 0
    with pytest.raises(ValueError, match="unknown attack outcomes"):
        attack_summary(["succeeded", "maximized"], [1, 1])
    with pytest.raises(ValueError):
        attack_summary([], [])


def test_table3_keeps_target_order_and_columns():
    summaries = {"large": attack_summary(["failed", "succeeded"], [3, 5]),
                 "tiny": attack_summary(["succeeded", "skipped"], [2, 1])}
    table = table3(summaries)
    assert list(table.columns) == TABLE3_COLUMNS
    assert list(table["target"]) == ["large", "tiny"]
    assert list(table["original_accuracy"]) == [100.0, 50.0]
    assert list(table["after_attack_accuracy"]) == [50.0, 0.0]
    assert list(table["pct_change"]) == [-50.0, -100.0]
