import pytest

from miniature.characteristics import ADVERSARIAL, DISTRIBUTION, ERRORS, REPRESENTATION
from miniature.table2 import compare_sets, compare_sets_per_k, pair_comparison, pair_comparisons, pair_records, table2

PAIRS = [("large", "base"), ("large", "tiny"), ("base", "tiny")]


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
    records = pair_records(PAIRS, sets, compare_sets)
    assert [(r["model_a"], r["model_b"], r["jaccard"]) for r in records] == [
        ("large", "base", 0.5), ("large", "tiny", 0.0), ("base", "tiny", 0.0)]
    with pytest.raises(ValueError, match=r"\['mini'\]"):
        pair_records([("large", "mini")], sets, compare_sets)


def test_pair_comparisons_fill_table2_from_each_models_results():
    errors = {"large": ["q1", "q2", "q3"], "base": ["q2", "q3", "q4"], "tiny": ["q5"]}
    flagged = {"large": {"5": ["c1"], "10": ["c1", "c2"]}, "base": {"5": ["c1"], "10": ["c2"]},
               "tiny": {"5": [], "10": ["c3"]}}
    representation = [{"model_a": a, "model_b": b, "before_mean": 0.1, "before_var": 0.0, "after_mean": 0.2,
                       "after_var": 0.0} for a, b in PAIRS]
    declared = [ERRORS, REPRESENTATION, DISTRIBUTION]
    records = pair_comparisons(PAIRS, {"errors": errors, "representation": representation, "distribution": flagged},
                               declared, k=10)
    table = table2(PAIRS, records, declared)
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors", "repr_before_mean", "repr_before_var",
                                   "repr_after_mean", "repr_after_var", "data_distribution"]
    assert list(table.prediction_errors) == [pytest.approx(2 / 4), 0.0, 0.0]
    assert list(table.repr_after_mean) == [0.2, 0.2, 0.2]
    assert list(table.data_distribution) == [0.5, 0.0, 0.0]  # at Table 2's K=10, not K=5
    assert [s["jaccard"] for s in records["distribution"][0]["sweep"]] == [1.0, 0.5]  # the sweep: K=5, K=10


def test_table2_keeps_pair_order_and_rejects_missing_pairs():
    records = {"errors": [{"model_a": a, "model_b": b, "jaccard": i / 10} for i, (a, b) in enumerate(reversed(PAIRS))]}
    table = table2(PAIRS, records, [ERRORS])
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors"]  # only the characteristics given
    assert list(zip(table.model_a, table.model_b)) == PAIRS
    assert list(table.prediction_errors) == [0.2, 0.1, 0.0]
    with pytest.raises(ValueError, match="no record"):
        table2(PAIRS + [("x", "y")], records, [ERRORS])


def test_compare_sets_per_k():
    sets_a = {"5": ["c1", "c2"], "10": ["c1", "c2", "c3"]}
    sets_b = {"5": ["c2"], "10": ["c3", "c4"]}
    record = compare_sets_per_k(sets_a, sets_b, k=10)
    assert record["jaccard"] == pytest.approx(1 / 4) and record["k"] == 10
    assert [(s["k"], s["jaccard"]) for s in record["sweep"]] == [(5, 0.5), (10, pytest.approx(0.25))]
    assert compare_sets_per_k(sets_a, sets_a, k=5)["jaccard"] == 1.0
    with pytest.raises(ValueError, match="K=20"):
        compare_sets_per_k(sets_a, sets_b, k=20)


def test_pair_comparison_follows_the_declaration():
    assert pair_comparison(ERRORS, k=5) is compare_sets and pair_comparison(ADVERSARIAL, k=5) is compare_sets
    assert pair_comparison(DISTRIBUTION, k=5)({"5": ["c1"]}, {"5": ["c1"]})["jaccard"] == 1.0
    with pytest.raises(ValueError, match="job of its own"):
        pair_comparison(REPRESENTATION, k=5)
