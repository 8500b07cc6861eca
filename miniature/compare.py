"""Pairwise comparison of per-model sets, and the aggregate tables."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd


def jaccard(a: Iterable, b: Iterable) -> float:
    """|A ∩ B| / |A ∪ B|; two empty sets are identical, so their Jaccard is 1."""
    a, b = set(a), set(b)
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def compare_sets(a: Iterable, b: Iterable) -> dict:
    """Sizes, intersection, union and Jaccard of two id sets."""
    a, b = set(a), set(b)
    return {"size_a": len(a), "size_b": len(b), "intersection": len(a & b), "union": len(a | b),
            "jaccard": jaccard(a, b)}


# Table 2's columns in the paper's order: column -> (comparison, field of its pair record).
# A characteristic adds its columns here and its pair files to the table2 rule.
TABLE2_COLUMNS = {
    "prediction_errors": ("errors", "jaccard"),
    "adversarial": ("adversarial", "jaccard"),
}


def table2(pairs: list[tuple[str, str]], records: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per pair, in the given order, with the columns whose comparison is present.

    ``records`` maps a comparison name (e.g. ``errors``) to its per-pair records, each
    with ``model_a`` and ``model_b``.
    """
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


def table3(summaries: dict[str, dict]) -> pd.DataFrame:
    """One row per target, in the given order, from their attack summaries."""
    return pd.DataFrame([{"target": target, **{c: s[c] for c in TABLE3_COLUMNS[1:]}}
                         for target, s in summaries.items()], columns=TABLE3_COLUMNS)
