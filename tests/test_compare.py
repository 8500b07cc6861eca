import pytest

from miniature.compare import compare_sets, jaccard, table2


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
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors"]
    assert list(zip(table.model_a, table.model_b)) == pairs
    assert list(table.prediction_errors) == [0.2, 0.1, 0.0]
    with pytest.raises(ValueError, match="no record"):
        table2(pairs + [("x", "y")], records)
