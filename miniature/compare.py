"""Pairwise comparison of per-model sets, and the aggregate tables."""

from __future__ import annotations

from collections.abc import Iterable

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


MODELS_COLUMNS = ["model", "source", "parameters", "nonzero_parameters", "size_mb", "layers", "hidden",
                  "ms_per_question", "exact", "f1"]


def models_table(rows: list[dict]) -> pd.DataFrame:
    """One row per model (in the given order): where it comes from, what it costs (parameters,
    non-zero parameters, megabytes on disk, layers, width, milliseconds per test question)
    and how well it answers (exact match and F1 on the test split)."""
    table = pd.DataFrame(rows)
    table["size_mb"] = table.pop("size_bytes") / 1e6
    return table[MODELS_COLUMNS]
