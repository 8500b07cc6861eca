"""Out-of-distribution detection with Deep-kNN (Sun et al., "Out-of-distribution detection
with deep nearest neighbors", ICML 2022).

A point's score is the Euclidean distance from its L2-normalised feature to the k-th
nearest L2-normalised feature of in-distribution training data: far from everything seen
in training means out of distribution. The threshold is the smallest score that keeps
``TPR`` (95 %) of held-out in-distribution points (true positive rate, in-distribution =
positive); a point whose score exceeds it is flagged OOD.

In this workflow the features are the fine-tuned QA model's [CLS] vectors, the training
features a seeded subsample of the training split, the held-out in-distribution points the
test split (never trained on; Sun et al. also set the threshold on in-distribution test
data) and the points to flag the challenge split.
"""

from __future__ import annotations

import math

import numpy as np

from miniature import knn

TPR = 0.95


def threshold_at_tpr(heldout_scores: np.ndarray, tpr: float = TPR) -> float:
    """The smallest score s such that at least ``tpr`` of the held-out scores are <= s."""
    scores = np.sort(np.asarray(heldout_scores, dtype=np.float64))
    if scores.size == 0:
        raise ValueError("no held-out in-distribution scores to set the threshold on")
    # round() guards against 0.95 * 100 = 95.00000000000001 asking for one point too many.
    kept = max(1, math.ceil(round(tpr * scores.size, 9)))
    return float(scores[kept - 1])


def auroc(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """Area under the ROC curve of the score as an OOD detector: the probability that a
    random OOD point scores higher than a random in-distribution one (ties count half).

    The Mann-Whitney form, computed with two binary searches (scikit-learn's
    ``roc_auc_score`` gives the same number but is slow to import in every job).
    """
    id_sorted = np.sort(np.asarray(id_scores, dtype=np.float64))
    ood = np.asarray(ood_scores, dtype=np.float64)
    if id_sorted.size == 0 or ood.size == 0:
        raise ValueError("AUROC needs both in-distribution and OOD scores")
    below = np.searchsorted(id_sorted, ood, side="left")
    ties = np.searchsorted(id_sorted, ood, side="right") - below
    return float((below + 0.5 * ties).sum() / (id_sorted.size * ood.size))


def detect(train: np.ndarray, heldout: np.ndarray, challenge: np.ndarray, challenge_ids: list[str],
           ks: list[int], tpr: float = TPR) -> dict[int, dict]:
    """Deep-kNN for every k in ``ks`` from one search at max(ks).

    Per k: the threshold, the share of held-out points it keeps, the challenge ids flagged
    OOD (score > threshold, sorted), FPR at the TPR (share of challenge points taken for
    in-distribution) and AUROC (held-out vs challenge).
    """
    k_max = max(ks)
    if k_max > len(train):
        raise ValueError(f"K={k_max} nearest training features asked for, but only {len(train)} are there")
    heldout_distances = knn.kth_distances(train, heldout, k_max)
    challenge_distances = knn.kth_distances(train, challenge, k_max)
    ids = np.asarray(challenge_ids)
    result = {}
    for k in sorted(ks):
        id_scores, ood_scores = heldout_distances[:, k - 1], challenge_distances[:, k - 1]
        threshold = threshold_at_tpr(id_scores, tpr)
        flagged = ood_scores > threshold
        result[k] = {"threshold": threshold, "heldout_kept": float(np.mean(id_scores <= threshold)),
                     "fpr_at_tpr": float(1.0 - flagged.mean()), "auroc": auroc(id_scores, ood_scores),
                     "flagged": sorted(ids[flagged].tolist())}
    return result
