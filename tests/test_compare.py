import pytest

import math

from miniature.compare import TABLE3_COLUMNS, attack_summary, compare_sets, jaccard, table2, table3


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


def test_table2_adds_the_adversarial_column_after_prediction_errors():
    pairs = [("large", "base"), ("large", "tiny"), ("base", "tiny")]
    records = {"adversarial": [{"model_a": a, "model_b": b, "jaccard": 0.5} for a, b in pairs],
               "errors": [{"model_a": a, "model_b": b, "jaccard": 0.25} for a, b in pairs]}
    table = table2(pairs, records)
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors", "adversarial"]
    assert list(table.adversarial) == [0.5] * 3


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
