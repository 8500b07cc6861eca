import itertools
import json
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from miniature import agreement


def _universe(n):
    return [f"q{i:05d}" for i in range(n)]


def _random_set(universe, rate, rng):
    return {i for i in universe if rng.random() < rate}


def test_expected_jaccard_hand_computed():
    # 4 items, two sets of 2: the intersection is 0, 1 or 2 with probabilities 1/6, 4/6, 1/6,
    # giving Jaccard 0, 1/3 and 1: expectation 4/6 * 1/3 + 1/6 = 7/18.
    assert agreement.expected_jaccard(2, 2, 4) == pytest.approx(7 / 18)
    # 3 items, two single items: the same item with probability 1/3 (Jaccard 1), else 0.
    assert agreement.expected_jaccard(1, 1, 3) == pytest.approx(1 / 3)
    # A set that is the whole universe contains the other: Jaccard = 2/5 always.
    assert agreement.expected_jaccard(5, 2, 5) == pytest.approx(2 / 5)
    assert agreement.expected_jaccard(0, 0, 10) == 1.0
    assert agreement.expected_jaccard(0, 3, 10) == 0.0
    with pytest.raises(ValueError, match="between 0"):
        agreement.expected_jaccard(11, 2, 10)


def test_expected_jaccard_matches_simulated_random_sets():
    rng = np.random.default_rng(1)
    items, size_a, size_b, draws = 60, 25, 35, 50000
    # Uniformly random subsets: the items ranked first by a random permutation.
    a = rng.random((draws, items)).argsort(axis=1).argsort(axis=1) < size_a
    b = rng.random((draws, items)).argsort(axis=1).argsort(axis=1) < size_b
    simulated = np.mean((a & b).sum(axis=1) / (a | b).sum(axis=1))
    assert agreement.expected_jaccard(size_a, size_b, items) == pytest.approx(simulated, abs=0.003)


def test_kappa_hand_computed_and_equal_to_sklearn():
    # 10 items: 3 in both sets, 1 only in A, 2 only in B, 4 in neither. Observed agreement 0.7;
    # chance 0.4 * 0.5 + 0.6 * 0.5 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    b = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0], dtype=bool)
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.4)
    rng = np.random.default_rng(2)
    for _ in range(5):
        a, b = rng.random(300) < rng.random(), rng.random(300) < rng.random()
        assert agreement.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_is_one_for_identical_sets_and_near_zero_for_independent_ones():
    universe = _universe(20000)
    rng = np.random.default_rng(3)
    a = agreement.membership(_random_set(universe, 0.3, rng), universe)
    b = agreement.membership(_random_set(universe, 0.45, rng), universe)
    assert agreement.cohen_kappa(a, a) == 1.0
    assert abs(agreement.cohen_kappa(a, b)) < 0.03
    assert agreement.cohen_kappa(a, ~a) < -0.7  # complementary sets: far below chance
    # Both sets empty: chance agreement is already perfect, kappa is undefined.
    assert math.isnan(agreement.cohen_kappa(np.zeros(5, bool), np.zeros(5, bool)))


def test_independent_sets_have_jaccard_near_chance_and_overlapping_sets_above_it():
    universe = _universe(5000)
    rng = np.random.default_rng(4)
    a, b = _random_set(universe, 0.5, rng), _random_set(universe, 0.5, rng)
    record = agreement.set_agreement(a, b, universe, resamples=200, seed=0)
    assert record["jaccard"] == pytest.approx(record["expected_jaccard"], abs=0.02)
    assert record["jaccard_ci_low"] <= record["expected_jaccard"] <= record["jaccard_ci_high"]
    shared = set(sorted(a)[: len(a) // 2])
    record = agreement.set_agreement(a, shared | set(sorted(b)[: len(b) // 2]), universe, resamples=200, seed=0)
    assert record["jaccard_ci_low"] > record["expected_jaccard"] and record["kappa"] > 0.2


def test_bootstrap_interval_contains_the_estimate_and_shrinks_with_more_items():
    widths = []
    for n in (200, 5000):
        universe = _universe(n)
        rng = np.random.default_rng(5)
        a = _random_set(universe, 0.3, rng)
        b = {i for i in universe if (i in a and rng.random() < 0.6) or (i not in a and rng.random() < 0.15)}
        record = agreement.set_agreement(a, b, universe, resamples=1000, seed=0)
        assert record["jaccard_ci_low"] < record["jaccard"] < record["jaccard_ci_high"]
        widths.append(record["jaccard_ci_high"] - record["jaccard_ci_low"])
    # 25 times the items: the interval is about 5 times narrower.
    assert widths[1] < widths[0] / 3


def test_bootstrap_is_seeded():
    universe = _universe(500)
    rng = np.random.default_rng(6)
    a, b = _random_set(universe, 0.4, rng), _random_set(universe, 0.4, rng)
    first = agreement.set_agreement(a, b, universe, resamples=300, seed=7)
    assert agreement.set_agreement(a, b, universe, resamples=300, seed=7) == first
    other = agreement.set_agreement(a, b, universe, resamples=300, seed=8)
    assert (other["jaccard_ci_low"], other["jaccard_ci_high"]) != (first["jaccard_ci_low"], first["jaccard_ci_high"])


def test_set_agreement_counts_answers_and_negative_flips():
    universe = ["q1", "q2", "q3", "q4"]
    answers_a = {"q1": "The Beatles", "q2": "1905", "q3": "", "q4": "Oslo"}
    answers_b = {"q1": "beatles!", "q2": "1931", "q3": "", "q4": "Bergen"}
    # A wrong on q2; B wrong on q2, q4: q4 is the one negative flip (A right, B wrong).
    record = agreement.set_agreement({"q2"}, {"q2", "q4"}, universe, resamples=100, seed=0,
                                     answers=(answers_a, answers_b))
    assert record["answer_agreement"] == 0.5  # q1 (same after normalisation) and q3 (both no answer)
    assert record["negative_flip_rate"] == 0.25
    assert (record["size_a"], record["size_b"], record["intersection"], record["jaccard"]) == (1, 2, 1, 0.5)
    with pytest.raises(ValueError, match="no answer for 1"):
        agreement.set_agreement({"q2"}, {"q2"}, universe, 100, 0, answers=(answers_a, {"q1": "", "q2": "", "q3": ""}))


def test_ids_outside_the_universe_are_refused():
    with pytest.raises(ValueError, match="1 id.*not items of the universe.*'x9'"):
        agreement.set_agreement({"q1", "x9"}, {"q1"}, ["q1", "q2"], 100, 0)


def test_universe_ids_from_id_list_squad_file_and_json_lines(tmp_path):
    (tmp_path / "ids.json").write_text(json.dumps(["b", "a"]))
    assert agreement.universe_ids(tmp_path / "ids.json") == ["b", "a"]
    squad = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Ann was born in 1905.", "qas": [
        {"id": "q1", "question": "When?", "answers": [{"text": "1905", "answer_start": 16}], "is_impossible": False},
        {"id": "q2", "question": "Where?", "answers": [], "is_impossible": True}]}]}]}
    (tmp_path / "test.json").write_text(json.dumps(squad))
    assert agreement.universe_ids(tmp_path / "test.json") == ["q1", "q2"]
    (tmp_path / "reviews.jsonl").write_text('{"id": "r1", "text": "good", "label": 1}\n'
                                            '{"id": "r2", "text": "bad", "label": 0}\n')
    assert agreement.universe_ids(tmp_path / "reviews.jsonl") == ["r1", "r2"]
    (tmp_path / "dup.json").write_text(json.dumps(["a", "a"]))
    with pytest.raises(ValueError, match="not unique"):
        agreement.universe_ids(tmp_path / "dup.json")


def _record(a, b, j, k):
    return {"model_a": a, "model_b": b, "jaccard": j, "kappa": k, "expected_jaccard": 0.2, "items": 10,
            "size_a": 3, "size_b": 4, "intersection": 2, "jaccard_ci_low": j - 0.1, "jaccard_ci_high": j + 0.1}


def test_agreement_table_gives_each_pair_as_a_fraction_of_the_seed_baseline():
    records = {"errors": [_record("large", "small", 0.3, 0.2), _record("large", "large-seed1", 0.6, 0.5)],
               "ood": [_record("large", "small", 0.4, 0.1)]}
    table = agreement.agreement_table(records, baseline="large-seed1")
    assert list(table.columns) == agreement.COLUMNS
    assert list(table.characteristic) == ["errors", "errors", "ood"]
    assert list(table.seed_baseline) == [False, True, False]
    assert table.jaccard_of_ceiling[0] == pytest.approx(0.5) and table.kappa_of_ceiling[0] == pytest.approx(0.4)
    assert table.kappa_of_ceiling[1] == 1.0
    assert table[table.characteristic == "ood"].kappa_of_ceiling.isna().all()  # no baseline for this one
    without = agreement.agreement_table(records)
    assert not without.seed_baseline.any() and without.kappa_of_ceiling.isna().all()
    # A ceiling at or below chance makes no fraction.
    flat = agreement.agreement_table({"errors": [_record("large", "small", 0.3, 0.2),
                                                 _record("large", "large-seed1", 0.6, 0.0)]}, "large-seed1")
    assert flat.kappa_of_ceiling.isna().all()


def test_kappa_and_chance_jaccard_are_symmetric():
    universe = _universe(400)
    rng = np.random.default_rng(9)
    sets = [_random_set(universe, r, rng) for r in (0.2, 0.5)]
    for a, b in itertools.permutations(sets):
        forward = agreement.set_agreement(a, b, universe, 100, 0)
        backward = agreement.set_agreement(b, a, universe, 100, 0)
        assert forward["kappa"] == pytest.approx(backward["kappa"])
        assert forward["expected_jaccard"] == pytest.approx(backward["expected_jaccard"])
