"""results/models.csv: where each model comes from, what it costs and how well it answers."""

from __future__ import annotations

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
