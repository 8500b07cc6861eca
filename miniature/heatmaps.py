"""A heatmap per characteristic: its value for every pair of models, as a model x model matrix.

A characteristic that compares sets gets three panels from agreement.csv (the Jaccard, the
Jaccard expected by chance, Cohen's kappa) and a note on its seed baseline; one that compares
pairs by a job of its own gets its declared Table 2 columns (``Characteristic.heatmap``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from miniature.characteristics import Characteristic
from miniature.files import atomic_file


def models_of(table2: pd.DataFrame) -> list[str]:
    """Models in table order (the reference first, then config order)."""
    return list(dict.fromkeys(pd.concat([table2["model_a"], table2["model_b"]])))


def pair_matrix(rows: pd.DataFrame, field: str, models: list[str]) -> pd.DataFrame:
    """Symmetric model x model matrix of one pairwise field; NaN on the diagonal and for missing pairs."""
    matrix = pd.DataFrame(np.nan, index=models, columns=models)
    for a, b, value in zip(rows["model_a"], rows["model_b"], rows[field]):
        if a in matrix.index and b in matrix.index:
            matrix.loc[a, b] = matrix.loc[b, a] = value
    return matrix


def panels(characteristic: Characteristic, table2: pd.DataFrame, agreement: pd.DataFrame) -> tuple[dict, str]:
    """The heatmap panels of one characteristic (title -> matrix) and a note on its seed baseline."""
    models = models_of(table2)
    if not characteristic.compares_sets:
        return {column: pair_matrix(table2, column, models) for column in characteristic.heatmap}, ""
    rows = agreement[agreement["characteristic"] == characteristic.name]
    is_baseline = rows["seed_baseline"].astype(bool)
    pairs, baseline = rows[~is_baseline], rows[is_baseline]
    matrices = {"Jaccard": pair_matrix(pairs, "jaccard", models),
                "Jaccard expected by chance": pair_matrix(pairs, "expected_jaccard", models),
                "Cohen's κ (0 = chance)": pair_matrix(pairs, "kappa", models)}
    note = ""
    if len(baseline):
        b = baseline.iloc[0]
        note = f"seed baseline ({b.model_a} vs {b.model_b}): Jaccard {b.jaccard:.2f}, κ {b.kappa:.2f}"
    return matrices, note


def write_heatmap(characteristic: Characteristic, table2: pd.DataFrame, agreement: pd.DataFrame,
                  path: str | Path) -> None:
    """One PNG per characteristic: its pairwise values as model x model heatmaps (seaborn)."""
    # Imported here: importing matplotlib writes its font cache under the home folder, which
    # importing this module must not do (the report imports it only for names and paths).
    import matplotlib

    matplotlib.use("Agg")  # no display: figures are only written to files
    import matplotlib.pyplot as plt
    import seaborn as sns

    matrices, note = panels(characteristic, table2, agreement)
    n = len(models_of(table2))
    size = 1.6 + 0.75 * n
    fig, axes = plt.subplots(1, len(matrices), figsize=(size * len(matrices) + 0.8, size + 0.6), squeeze=False)
    for ax, (title, matrix) in zip(axes[0], matrices.items()):
        kappa = title.startswith("Cohen")
        low = min(0.0, float(np.nanmin(matrix.to_numpy()))) if matrix.notna().any().any() else 0.0
        sns.heatmap(matrix, ax=ax, annot=True, fmt=".2f", square=True, cbar=True, linewidths=0.5,
                    vmin=low if kappa else 0.0, vmax=1.0, cmap="mako_r" if kappa else "rocket_r",
                    mask=matrix.isna(), annot_kws={"size": 9})
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
    fig.suptitle(characteristic.title + (f"\n{note}" if note else ""), fontsize=11)
    fig.tight_layout()
    with atomic_file(path, "wb") as f:
        fig.savefig(f, dpi=100, format="png")
    plt.close(fig)


def heatmap_path(out_dir: str | Path, characteristic: Characteristic) -> Path:
    """Where a characteristic's heatmap is in the heatmaps folder (named after the characteristic)."""
    return Path(out_dir) / f"{characteristic.name}.png"


def write_heatmaps(table2: pd.DataFrame, agreement: pd.DataFrame, out_dir,
                   characteristics: Iterable[Characteristic]) -> list[Path]:
    """A heatmap PNG per characteristic in ``out_dir``, in the given order, from Table 2 and agreement.csv."""
    paths = []
    for characteristic in characteristics:
        path = heatmap_path(out_dir, characteristic)
        write_heatmap(characteristic, table2, agreement, path)
        paths.append(path)
    return paths
