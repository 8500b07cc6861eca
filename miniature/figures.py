"""Figure 1 of the paper: agreement of the reference model with every other model as K grows.

Each figure is drawn from a table (one row per compared model and K) that is written beside
it as CSV, so the plotted numbers can be read exactly.
"""

from __future__ import annotations

import pandas as pd

from miniature import data
from miniature.files import atomic_file

STAGE_TITLES = {"before": "before fine-tuning", "after": "after fine-tuning"}


def representation_table(records: list[dict], stage: str) -> pd.DataFrame:
    """Mean and variance of the per-point K-NN Jaccard, per compared model and K."""
    rows = [{"reference": r["model_a"], "model": r["model_b"], "k": s["k"], "mean_jaccard": s["mean"],
             "var_jaccard": s["var"]} for r in records for s in r["sweep"] if s["stage"] == stage]
    return pd.DataFrame(rows, columns=["reference", "model", "k", "mean_jaccard", "var_jaccard"])


def distribution_table(records: list[dict]) -> pd.DataFrame:
    """Jaccard of the OOD-flagged sets (and their sizes), per compared model and K."""
    rows = [{"reference": r["model_a"], "model": r["model_b"], "k": s["k"], "jaccard": s["jaccard"],
             "flagged_reference": s["size_a"], "flagged_model": s["size_b"]} for r in records for s in r["sweep"]]
    return pd.DataFrame(rows, columns=["reference", "model", "k", "jaccard", "flagged_reference", "flagged_model"])


def line_plot(table: pd.DataFrame, y: str, xlabel: str, ylabel: str, title: str, png_path, csv_path) -> None:
    """One line per compared model over K (log scale, ticks at the K values); the table is
    written beside the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    # Half-transparent lines and markers: models with equal values stay visible on top of each other.
    sns.lineplot(data=table, x="k", y=y, hue="model", style="model", markers=True, dashes=False, alpha=0.75,
                 markersize=8, ax=ax)
    ax.set_xscale("log")
    ks = sorted(table["k"].unique())
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_ylim(-0.03, 1.03)  # a margin, so that markers at 0 and 1 stay whole
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(title=f"{table['reference'].iloc[0]} vs", loc="best")
    fig.tight_layout()
    with atomic_file(png_path, "wb") as f:
        fig.savefig(f, dpi=150, format="png")
    plt.close(fig)
    data.write_csv(table, csv_path)


def figure1(representation: list[dict], distribution: list[dict], out: dict) -> None:
    """Figures 1a, 1b (data representation before/after fine-tuning) and 1c (data
    distribution) from the reference pairs' records; ``out`` names the files (``fig1a``,
    ``fig1a_csv``, ...)."""
    for fig, stage in (("fig1a", "before"), ("fig1b", "after")):
        line_plot(representation_table(representation, stage), "mean_jaccard",
                  "K (nearest neighbours of each test question)", "mean Jaccard of the K-NN sets",
                  f"Data representation {STAGE_TITLES[stage]}", out[fig], out[f"{fig}_csv"])
    line_plot(distribution_table(distribution), "jaccard", "K (Deep-kNN score: distance to the K-th training feature)",
              "Jaccard of the OOD-flagged sets", "Data distribution: OOD questions of the challenge set",
              out["fig1c"], out["fig1c_csv"])
