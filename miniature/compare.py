"""Pairwise comparison of per-model results, and the aggregate tables.

Only ``numpy`` is imported at module level: the per-pair jobs that use this module start
fast; ``pandas`` is imported where a table is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import partial

import numpy as np


def compare_sets(a: Iterable, b: Iterable) -> dict:
    """Sizes, intersection, union and Jaccard (|A ∩ B| / |A ∪ B|) of two id sets; two empty
    sets are identical, so their Jaccard is 1."""
    a, b = set(a), set(b)
    intersection = len(a & b)
    union = len(a) + len(b) - intersection  # no union set to build: Table 2 compares every pair
    return {"size_a": len(a), "size_b": len(b), "intersection": intersection, "union": union,
            "jaccard": intersection / union if union else 1.0}


def pair_records(pairs: Iterable[tuple[str, str]], per_model: Mapping[str, object],
                 compare: Callable[[object, object], dict]) -> list[dict]:
    """Per pair (in the given order), ``compare`` of the two models' results, with the pair's keys.

    ``per_model`` maps a model key to its result (an id set, OOD flags per K, ...); a model
    that is missing is named.
    """
    missing = sorted({m for pair in pairs for m in pair} - set(per_model))
    if missing:
        raise ValueError(f"no results for model(s) {missing}")
    return [{"model_a": a, "model_b": b, **compare(per_model[a], per_model[b])} for a, b in pairs]


# --- data representation: agreement of K-nearest-neighbour sets ------------------------------


def knn_jaccard(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Per data point (row), the Jaccard of its K-nearest-neighbour sets under two models.

    ``a`` and ``b`` are neighbour lists (n x K_max row indices into the same data points,
    most similar first, no repeats within a row); the K-sets are their first ``k`` columns.
    """
    if a.shape[0] != b.shape[0] or k > min(a.shape[1], b.shape[1]):
        raise ValueError(f"neighbour lists of shapes {a.shape} and {b.shape} cannot be compared at K={k}")
    both = np.sort(np.concatenate([a[:, :k], b[:, :k]], axis=1), axis=1)
    shared = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return shared / (2 * k - shared)


def agreement(values: np.ndarray) -> dict:
    """Mean and population variance (ddof=0) over data points."""
    return {"mean": float(np.mean(values)), "var": float(np.var(values, ddof=0))}


def representation_record(neighbours: dict[str, tuple[dict, dict]], ks: list[int], k: int) -> dict:
    """Agreement of two models' neighbour lists per stage and K.

    ``neighbours`` maps a stage (``before``, ``after``) to the two models' neighbour arrays
    (``ids`` and ``rows``, as written by the neighbours stage). The record holds
    ``<stage>_mean`` and ``<stage>_var`` at Table 2's ``k`` and a ``sweep`` over ``ks``.
    """
    record: dict = {"k": k, "variance": "population (ddof=0) over data points", "sweep": []}
    for stage, (a, b) in neighbours.items():
        if not np.array_equal(a["ids"], b["ids"]):
            raise ValueError(f"{stage}: the two models' neighbour lists are not over the same data points")
        record["n"] = len(a["ids"])
        for each in sorted(set(ks) | {k}):
            stats = agreement(knn_jaccard(a["rows"], b["rows"], each))
            record["sweep"].append({"stage": stage, "k": each, **stats})
            if each == k:
                record[f"{stage}_mean"], record[f"{stage}_var"] = stats["mean"], stats["var"]
    return record


# --- data distribution: agreement of OOD-flagged sets ----------------------------------------


def distribution_record(flagged_a: dict, flagged_b: dict, k: int) -> dict:
    """Jaccard of two models' OOD-flagged id sets at every K both have (``sweep``) and at
    Table 2's ``k`` (top level). ``flagged_*`` map K (as text, from JSON) to id lists."""
    ks = sorted(int(each) for each in set(flagged_a) & set(flagged_b))
    if k not in ks:
        raise ValueError(f"no OOD flags at Table 2's K={k} (flags exist for K={ks})")
    sweep = [{"k": each, **compare_sets(flagged_a[str(each)], flagged_b[str(each)])} for each in ks]
    return {"k": k, **next(s for s in sweep if s["k"] == k), "sweep": sweep}


# --- Table 2 ---------------------------------------------------------------------------------

# Table 2's columns in the paper's order: column -> (comparison, field of its pair record).
# A characteristic adds its columns here and its pair files to the table2 rule.
TABLE2_COLUMNS = {
    "prediction_errors": ("errors", "jaccard"),
    "repr_before_mean": ("representation", "before_mean"),
    "repr_before_var": ("representation", "before_var"),
    "repr_after_mean": ("representation", "after_mean"),
    "repr_after_var": ("representation", "after_var"),
    "data_distribution": ("distribution", "jaccard"),
    "adversarial": ("adversarial", "jaccard"),
}


def pair_comparisons(pairs: list[tuple[str, str]], sets: Mapping[str, Mapping[str, object]], *, k: int,
                     representation: list[dict] | None = None) -> dict[str, list[dict]]:
    """Every comparison's per-pair records (for :func:`table2` and Figure 1).

    The set comparisons are computed here from each model's results: ``sets`` maps a
    comparison (``errors``, ``distribution``, ``adversarial``, or one a user plugs in) to
    model -> its result: an id list, or for ``distribution`` K -> flagged ids, compared at
    every K and at Table 2's ``k``. A set Jaccard takes under a millisecond (the paper's
    error sets: 0.6 ms a pair), far less than a workflow job of its own costs to plan and
    start (about 0.3 s).
    ``representation`` holds the records of the per-pair K-NN comparison jobs, whose work
    (every data point at every K) is worth a job per pair.
    """
    # Every set comparison is of plain id sets but the OOD flags, which hold a set per K.
    compares = {"distribution": partial(distribution_record, k=k)}
    records = {name: pair_records(pairs, per_model, compares.get(name, compare_sets))
               for name, per_model in sets.items()}
    if representation is not None:
        records["representation"] = representation
    return records


def table2(pairs: list[tuple[str, str]], records: dict[str, list[dict]]):
    """One row per pair, in the given order, with the columns whose comparison is present
    (a pandas DataFrame).

    ``records`` maps a comparison name (e.g. ``errors``) to its per-pair records, each
    with ``model_a`` and ``model_b``.
    """
    import pandas as pd

    table = pd.DataFrame(pairs, columns=["model_a", "model_b"])
    for column, (comparison, field) in TABLE2_COLUMNS.items():
        if comparison not in records:
            continue
        values = {(r["model_a"], r["model_b"]): r[field] for r in records[comparison]}
        missing = [p for p in pairs if p not in values]
        if missing:
            raise ValueError(f"{comparison}: no record for pairs {missing}")
        table[column] = [values[p] for p in pairs]
    return table


MODELS_COLUMNS = ["model", "source", "parameters", "nonzero_parameters", "size_mb", "layers", "hidden",
                  "ms_per_question", "exact", "f1"]


def models_table(rows: list[dict]):
    """One row per model (in the given order): where it comes from, what it costs (parameters,
    non-zero parameters, megabytes on disk, layers, width, milliseconds per test question)
    and how well it answers (exact match and F1 on the test split); a pandas DataFrame."""
    import pandas as pd

    table = pd.DataFrame(rows)
    table["size_mb"] = table.pop("size_bytes") / 1e6
    return table[MODELS_COLUMNS]
# --- Table 3: accuracy before and after the attack ---------------------------------------------

ATTACK_OUTCOMES = ("succeeded", "failed", "skipped")
TABLE3_COLUMNS = ["target", "original_accuracy", "after_attack_accuracy", "absolute_change", "pct_change",
                  "attack_success_rate", "avg_queries"]


def attack_summary(outcomes: list[str], queries: list[int]) -> dict:
    """Table 3's numbers (percentages) from per-example attack outcomes, as textattack defines them.

    An example the target already gets wrong is skipped (not attacked), so it counts as
    wrong both before and after the attack: original accuracy = (n - skipped) / n,
    accuracy after the attack = failed / n, absolute change = after - original (negative
    when the attack hurts), pct_change = absolute change / original accuracy * 100,
    success rate = succeeded / (succeeded + failed), and queries are averaged over the
    attacked (not skipped) examples.
    """
    unknown = set(outcomes) - set(ATTACK_OUTCOMES)
    if unknown:
        raise ValueError(f"unknown attack outcomes {sorted(unknown)} (expected {', '.join(ATTACK_OUTCOMES)})")
    if not outcomes or len(outcomes) != len(queries):
        raise ValueError(f"{len(outcomes)} outcomes and {len(queries)} query counts")
    n = len(outcomes)
    succeeded, failed = outcomes.count("succeeded"), outcomes.count("failed")
    attacked = [q for o, q in zip(outcomes, queries) if o != "skipped"]
    original = (succeeded + failed) / n * 100
    after = failed / n * 100
    return {"examples": n, "succeeded": succeeded, "failed": failed, "skipped": n - len(attacked),
            "original_accuracy": original, "after_attack_accuracy": after, "absolute_change": after - original,
            "pct_change": (after - original) / original * 100 if original else math.nan,
            "attack_success_rate": succeeded / len(attacked) * 100 if attacked else math.nan,
            "avg_queries": float(np.mean(attacked)) if attacked else math.nan}


def table3(summaries: dict[str, dict]):
    """One row per target, in the given order, from their attack summaries (a pandas DataFrame)."""
    import pandas as pd

    return pd.DataFrame([{"target": target, **{c: s[c] for c in TABLE3_COLUMNS[1:]}}
                         for target, s in summaries.items()], columns=TABLE3_COLUMNS)
