"""Agreement of two models beyond chance, with its uncertainty.

A *set comparison* gives each model a set of item ids inside one universe of items: the
test questions it gets wrong, the challenge questions it flags as out-of-distribution,
the reviews an attack flips. Two models with large sets share many items by chance
alone, so next to the Jaccard of the two sets this module gives

- the Jaccard expected if the two sets were drawn independently with the same sizes,
- Cohen's kappa on the per-item membership (for error sets this is the *error
  consistency* of Geirhos et al. 2020): 0 for chance agreement, 1 for identical sets,
- a percentile bootstrap confidence interval of the Jaccard over the items, and,
- when the sets are errors of answers, the fraction of identical normalised answers and
  the negative-flip rate (items the first model gets right and the second gets wrong).

:func:`agreement_table` puts the per-pair records of every comparison into one table and
expresses each pair's agreement as a fraction of the seed baseline (the reference model
fine-tuned twice with different seeds), the agreement a miniature could hope for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from miniature import data, squad, table2

# Column order of results/agreement.csv.
COLUMNS = ["characteristic", "model_a", "model_b", "seed_baseline", "jaccard", "jaccard_ci_low",
           "jaccard_ci_high", "expected_jaccard", "kappa", "jaccard_of_ceiling", "kappa_of_ceiling",
           "answer_agreement", "negative_flip_rate", "items", "size_a", "size_b", "intersection"]


def universe_ids(path: str | Path) -> list[str]:
    """The ids of a comparison's universe: a JSON list of ids, a SQuAD 2.0 file (its question
    ids) or a JSON Lines file (its ``id`` field, e.g. a sentiment split)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        ids = list(data.load_sentiment(path)["id"])
    else:
        content = data.read_json(path)
        ids = list(data.load_qa(path)["id"]) if isinstance(content, dict) else content
    if not all(isinstance(i, str) for i in ids):
        raise ValueError(f"{path}: item ids must be strings")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: item ids are not unique")
    return ids


def membership(ids: Iterable[str], universe: Sequence[str], name: str = "set") -> np.ndarray:
    """Boolean vector over ``universe``: which items are in ``ids``; every id must be an item."""
    ids = set(ids)
    outside = ids.difference(universe)
    if outside:
        example = sorted(outside)[:3]
        raise ValueError(f"{name}: {len(outside)} id(s) are not items of the universe, e.g. {example}")
    return np.fromiter((i in ids for i in universe), dtype=bool, count=len(universe))


def _jaccard_of_members(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Jaccard of membership vectors along ``axis`` (1 where both sets are empty, as table2.compare_sets)."""
    intersection = np.logical_and(a, b).sum(axis=axis)
    union = np.logical_or(a, b).sum(axis=axis)
    return np.where(union > 0, intersection / np.maximum(union, 1), 1.0)


def expected_jaccard(size_a: int, size_b: int, items: int) -> float:
    """E[|A∩B| / |A∪B|] for independent uniformly random subsets of ``items`` items with the
    given sizes: the intersection is hypergeometric, the union is size_a + size_b - intersection."""
    if not 0 <= size_a <= items or not 0 <= size_b <= items:
        raise ValueError(f"set sizes {size_a}, {size_b} must lie between 0 and the {items} items")
    if size_a == 0 and size_b == 0:
        return 1.0
    k = np.arange(max(0, size_a + size_b - items), min(size_a, size_b) + 1)
    probabilities = stats.hypergeom(items, size_a, size_b).pmf(k)
    return float(np.sum(probabilities * k / (size_a + size_b - k)))


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two membership vectors: (observed - chance agreement) / (1 - chance).

    NaN when chance agreement is already 1 (both sets empty or both the whole universe):
    there is nothing beyond chance to measure.
    """
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not a.size:
        raise ValueError("kappa needs two membership vectors of the same non-zero length")
    observed = np.mean(a == b)
    pa, pb = a.mean(), b.mean()
    chance = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if chance == 1 else float((observed - chance) / (1 - chance))


def jaccard_interval(a: np.ndarray, b: np.ndarray, resamples: int, seed: int,
                     confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the Jaccard, resampling the items with replacement."""
    batch = max(1, min(resamples, 20_000_000 // max(1, a.size)))  # bounds the memory of one batch
    result = stats.bootstrap((a, b), _jaccard_of_members, n_resamples=resamples, paired=True,
                             vectorized=True, confidence_level=confidence, method="percentile",
                             batch=batch, rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def answer_agreement(answers_a: Mapping[str, str], answers_b: Mapping[str, str], universe: Sequence[str]) -> float:
    """Fraction of the items whose two answers are identical after SQuAD normalisation."""
    for name, answers in (("answers_a", answers_a), ("answers_b", answers_b)):
        missing = [i for i in universe if i not in answers]
        if missing:
            raise ValueError(f"{name}: no answer for {len(missing)} item(s), e.g. {missing[:3]}")
    same = sum(squad.normalize_answer(answers_a[i]) == squad.normalize_answer(answers_b[i]) for i in universe)
    return same / len(universe)


def set_agreement(set_a: Iterable[str], set_b: Iterable[str], universe: Sequence[str], resamples: int,
                  seed: int, answers: tuple[Mapping[str, str], Mapping[str, str]] | None = None) -> dict:
    """Everything agreement.csv says about one pair in one set comparison.

    ``answers`` (the two models' answers, when the sets are their errors) adds the answer
    agreement and the negative-flip rate: items in B but not in A (A right, B wrong) per item.
    """
    if not universe:
        raise ValueError("the universe of items is empty")
    set_a, set_b = set(set_a), set(set_b)
    a, b = membership(set_a, universe, "set a"), membership(set_b, universe, "set b")
    record = {"items": len(universe), **table2.compare_sets(set_a, set_b)}
    record["expected_jaccard"] = expected_jaccard(record["size_a"], record["size_b"], len(universe))
    record["kappa"] = cohen_kappa(a, b)
    record["jaccard_ci_low"], record["jaccard_ci_high"] = jaccard_interval(a, b, resamples, seed)
    if answers is not None:
        record["answer_agreement"] = answer_agreement(*answers, universe)
        record["negative_flip_rate"] = float(np.mean(b & ~a))
    return record


def agreement_table(records: Mapping[str, list[dict]], baseline: str | None = None) -> pd.DataFrame:
    """One row per characteristic and pair (records in the given order), with each pair's
    Jaccard and kappa as a fraction of the seed baseline's (the pair whose ``model_b`` is
    ``baseline``) where the characteristic has one."""
    frames = []
    for characteristic, rows in records.items():
        frame = pd.DataFrame(rows).assign(characteristic=characteristic)
        frame["seed_baseline"] = frame["model_b"] == baseline if baseline else False
        ceiling = frame[frame["seed_baseline"]]
        if len(ceiling) > 1:
            raise ValueError(f"{characteristic}: more than one seed-baseline record")
        for field in ("jaccard", "kappa"):
            # A fraction of a ceiling at or below chance (kappa <= 0) would mean nothing.
            top = ceiling[field].iloc[0] if len(ceiling) else np.nan
            frame[f"{field}_of_ceiling"] = frame[field] / top if top > 0 else np.nan
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    return table.reindex(columns=COLUMNS)
