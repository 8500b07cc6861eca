"""Table 3: each model's accuracy before and after the attack, from its per-example attack outcomes.

Only ``numpy`` is imported at module level (the attack jobs import this module); ``pandas``
is imported where the table is made.
"""

from __future__ import annotations

import math

import numpy as np

ATTACK_OUTCOMES = ("succeeded", "failed", "skipped")
TABLE3_COLUMNS = ["target", "original_accuracy", "after_attack_accuracy", "absolute_change", "pct_change",
                  "attack_success_rate", "avg_queries"]


def attack_summary(outcomes: list[str], queries: list[int]) -> dict:
    """Table 3's numbers from per-example attack outcomes, in the paper's convention.

    An example the target already gets wrong is skipped (not attacked), so it counts as
    wrong both before and after the attack (as textattack counts it). Accuracies are
    fractions, as in the paper's Table 3: original accuracy = (n - skipped) / n, accuracy
    after the attack = failed / n; absolute change = original - after (a drop is positive),
    pct_change = absolute change / original accuracy * 100. The success rate is a
    percentage, as textattack reports it: succeeded / (succeeded + failed) * 100; queries
    are averaged over the attacked (not skipped) examples.
    """
    unknown = set(outcomes) - set(ATTACK_OUTCOMES)
    if unknown:
        raise ValueError(f"unknown attack outcomes {sorted(unknown)} (expected {', '.join(ATTACK_OUTCOMES)})")
    if not outcomes or len(outcomes) != len(queries):
        raise ValueError(f"{len(outcomes)} outcomes and {len(queries)} query counts")
    n = len(outcomes)
    succeeded, failed = outcomes.count("succeeded"), outcomes.count("failed")
    attacked = [q for o, q in zip(outcomes, queries) if o != "skipped"]
    original = (succeeded + failed) / n
    after = failed / n
    return {"examples": n, "succeeded": succeeded, "failed": failed, "skipped": n - len(attacked),
            "original_accuracy": original, "after_attack_accuracy": after, "absolute_change": original - after,
            "pct_change": (original - after) / original * 100 if original else math.nan,
            "attack_success_rate": succeeded / len(attacked) * 100 if attacked else math.nan,
            "avg_queries": float(np.mean(attacked)) if attacked else math.nan}


def table3(summaries: dict[str, dict]):
    """One row per target, in the given order, from their attack summaries (a pandas DataFrame)."""
    import pandas as pd

    return pd.DataFrame([{"target": target, **{c: s[c] for c in TABLE3_COLUMNS[1:]}}
                         for target, s in summaries.items()], columns=TABLE3_COLUMNS)
