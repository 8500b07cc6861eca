"""Table 2: every characteristic's comparison of every pair of models, one row per pair.

Each characteristic (miniature.characteristics) says how its pairs are compared: the Jaccard
of two id sets, of two id sets per K (at Table 2's K), or a record a job of its own wrote
per pair. Set comparisons are computed here from every model's sets, in one job: a Jaccard
costs far less than a workflow job of its own would to plan and start.

Nothing heavy is imported at module level (Figure 1's job compares sets with it too);
``pandas`` is imported where the table is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial

from miniature.characteristics import Characteristic, Comparison


def compare_sets(a: Iterable, b: Iterable) -> dict:
    """Sizes, intersection, union and Jaccard (|A ∩ B| / |A ∪ B|) of two id sets; two empty
    sets are identical, so their Jaccard is 1."""
    a, b = set(a), set(b)
    intersection = len(a & b)
    union = len(a) + len(b) - intersection  # no union set to build: Table 2 compares every pair
    return {"size_a": len(a), "size_b": len(b), "intersection": intersection, "union": union,
            "jaccard": intersection / union if union else 1.0}


def compare_sets_per_k(sets_a: dict, sets_b: dict, k: int) -> dict:
    """Jaccard of two models' id sets at every K both have (``sweep``) and at Table 2's ``k``
    (top level). ``sets_*`` map K (as text, from JSON) to id lists."""
    ks = sorted(int(each) for each in set(sets_a) & set(sets_b))
    if k not in ks:
        raise ValueError(f"no sets at Table 2's K={k} (sets exist for K={ks})")
    sweep = [{"k": each, **compare_sets(sets_a[str(each)], sets_b[str(each)])} for each in ks]
    return {"k": k, **next(s for s in sweep if s["k"] == k), "sweep": sweep}


def pair_comparison(characteristic: Characteristic, k: int) -> Callable[[object, object], dict]:
    """The function that compares two models' results of a set characteristic (at Table 2's ``k``)."""
    if characteristic.comparison is Comparison.SETS_PER_K:
        return partial(compare_sets_per_k, k=k)
    if characteristic.comparison is Comparison.SETS:
        return compare_sets
    raise ValueError(f"{characteristic.name}: its pairs are compared by a job of its own, not from model results")


def pair_records(pairs: Iterable[tuple[str, str]], per_model: Mapping[str, object],
                 compare: Callable[[object, object], dict]) -> list[dict]:
    """Per pair (in the given order), ``compare`` of the two models' results, with the pair's keys.

    ``per_model`` maps a model key to its result (an id set, id sets per K, ...); a model
    that is missing is named.
    """
    missing = sorted({m for pair in pairs for m in pair} - set(per_model))
    if missing:
        raise ValueError(f"no results for model(s) {missing}")
    return [{"model_a": a, "model_b": b, **compare(per_model[a], per_model[b])} for a, b in pairs]


def pair_comparisons(pairs: list[tuple[str, str]], results: Mapping[str, object],
                     characteristics: Iterable[Characteristic], *, k: int) -> dict[str, list[dict]]:
    """Every characteristic's per-pair records (for :func:`table2` and Figure 1), by name.

    ``results`` maps a characteristic's name to model -> its result when it compares sets,
    or to the per-pair records its job wrote when it compares pairs itself.
    """
    records = {}
    for characteristic in characteristics:
        result = results[characteristic.name]
        if characteristic.compares_sets:
            records[characteristic.name] = pair_records(pairs, result, pair_comparison(characteristic, k))
        else:
            records[characteristic.name] = list(result)
    return records


def table2(pairs: list[tuple[str, str]], records: Mapping[str, list[dict]],
           characteristics: Iterable[Characteristic]):
    """One row per pair, in the given order, with each characteristic's Table 2 columns in order
    (a pandas DataFrame).

    ``records`` maps a characteristic's name to its per-pair records, each with ``model_a``
    and ``model_b``.
    """
    import pandas as pd

    table = pd.DataFrame(pairs, columns=["model_a", "model_b"])
    for characteristic in characteristics:
        by_pair = {(r["model_a"], r["model_b"]): r for r in records[characteristic.name]}
        missing = [p for p in pairs if p not in by_pair]
        if missing:
            raise ValueError(f"{characteristic.name}: no record for pairs {missing}")
        for column, field in characteristic.table2.items():
            table[column] = [by_pair[p][field] for p in pairs]
    return table
