"""Deep-kNN OOD detection on constructed features."""

import numpy as np
import pytest

from miniature import ood


def _cluster(rng, n, centre, spread):
    return centre + spread * rng.normal(size=(n, len(centre)))


def test_tight_cluster_and_far_points_flag_exactly_the_far_points():
    rng = np.random.default_rng(0)
    centre = np.zeros(16)
    centre[0] = 1.0
    train = _cluster(rng, 400, centre, 0.02)
    heldout = _cluster(rng, 200, centre, 0.02)
    # In-distribution points in the challenge set, at the cluster's heart (closer to the
    # training features than almost every held-out point), and points of another cluster.
    near = _cluster(rng, 30, centre, 0.002)
    far_centre = np.zeros(16)
    far_centre[1] = 1.0
    far = _cluster(rng, 20, far_centre, 0.02)
    ids = [f"near-{i}" for i in range(30)] + [f"far-{i}" for i in range(20)]
    result = ood.detect(train, heldout, np.concatenate([near, far]), ids, ks=[1, 5, 10])
    assert sorted(result) == [1, 5, 10]
    for r in result.values():
        assert r["flagged"] == sorted(f"far-{i}" for i in range(20))
        assert r["heldout_kept"] >= 0.95
        assert r["fpr_at_tpr"] == pytest.approx(30 / 50)  # the near points count as OOD misses


def test_clearly_separated_points_give_auroc_one_and_no_false_positives():
    rng = np.random.default_rng(1)
    train = _cluster(rng, 300, np.array([1.0, 0, 0, 0]), 0.01)
    heldout = _cluster(rng, 100, np.array([1.0, 0, 0, 0]), 0.01)
    challenge = _cluster(rng, 40, np.array([0, 0, 1.0, 0]), 0.01)
    [r] = ood.detect(train, heldout, challenge, [str(i) for i in range(40)], ks=[10]).values()
    assert r["flagged"] == sorted(str(i) for i in range(40))
    assert r["fpr_at_tpr"] == 0.0 and r["auroc"] == 1.0


def test_threshold_keeps_95_percent_of_heldout_points():
    scores = np.arange(1, 101, dtype=float)  # 1 .. 100
    threshold = ood.threshold_at_tpr(scores)
    assert threshold == 95.0  # exactly 95 of 100 kept; any lower threshold keeps fewer
    assert np.mean(scores <= threshold) == 0.95
    rng = np.random.default_rng(2)
    for n in (7, 20, 99, 1000):
        scores = rng.random(n)
        threshold = ood.threshold_at_tpr(scores)
        assert np.mean(scores <= threshold) >= 0.95
        assert np.mean(scores < threshold) < 0.95  # the smallest such threshold


def test_auroc_on_hand_computed_examples_and_against_scikit_learn():
    assert ood.auroc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert ood.auroc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert ood.auroc([0.1, 0.5], [0.5, 0.2]) == pytest.approx((1 + 0.5 + 1 + 0) / 4)  # one tie counts half
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    id_scores, ood_scores = rng.integers(0, 20, 300).astype(float), rng.integers(5, 25, 200).astype(float)
    expected = metrics.roc_auc_score([0] * 300 + [1] * 200, np.concatenate([id_scores, ood_scores]))
    assert ood.auroc(id_scores, ood_scores) == pytest.approx(expected)


def test_k_larger_than_the_training_features_is_an_error():
    with pytest.raises(ValueError, match="only 3 are there"):
        ood.detect(np.eye(3), np.eye(3), np.eye(3), ["a", "b", "c"], ks=[5])
