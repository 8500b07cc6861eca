"""Heatmaps of every characteristic over all pairs, and the self-contained HTML report.

The report is one HTML file with everything inline (styles, and figures as base64 data
URIs), so it can be mailed or archived alone: Table 2, the agreement tables, a heatmap per
characteristic, the optional sections of characteristics that are configured (Figure 1,
Table 3, ...), captions saying what each number means, and the config that produced it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are only written to files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import yaml  # noqa: E402

from miniature import compare  # noqa: E402

# What each characteristic's numbers are (keyed by comparison name, as in compare.TABLE2_COLUMNS
# and the workflow's SET_COMPARISONS), and the captions of the optional sections (keyed by the
# names the workflow's REPORT_SECTIONS give their files). A characteristic that plugs in adds
# its line here.
CHARACTERISTICS = {
    "errors": ("Prediction errors",
               "the test questions a model answers wrongly (its normalised answer matches no gold answer; "
               "any answer to an unanswerable question is wrong)"),
    "representation": ("Data representation",
                       "per test question, the Jaccard of the two models' K nearest neighbours among the test "
                       "questions ([CLS] vectors, cosine), averaged over the questions, before and after fine-tuning"),
    "distribution": ("Data distribution",
                     "the challenge questions a model's Deep-kNN detector flags as out-of-distribution"),
    "adversarial": ("Adversarial vulnerability",
                    "the attacked sentiment reviews whose prediction BERT-Attack changed (a successful attack)"),
}
SECTION_CAPTIONS = {
    "fig1a": "Figure 1a. Data representation before fine-tuning: the mean Jaccard of the two models' "
             "K-nearest-neighbour sets of the same texts, as K grows.",
    "fig1b": "Figure 1b. Data representation after fine-tuning: the mean Jaccard of the two models' "
             "K-nearest-neighbour sets of the same texts, as K grows.",
    "fig1c": "Figure 1c. Data distribution: the Jaccard of the two models' sets of challenge questions "
             "flagged as out-of-distribution by the deep-kNN detector, as its K grows.",
    "table3": "Table 3. Adversarial vulnerability: each model's accuracy (%) on the attacked sample of "
              "sentiment reviews before and after BERT-Attack, and the absolute change (percentage points) "
              "and relative change (% of the original accuracy); a larger drop = more vulnerable. Reviews a "
              "model already gets wrong are not attacked and count as wrong both before and after. "
              "attack_success_rate: % of the attacked reviews whose prediction the attack changed; "
              "avg_queries: target-model queries per attacked review.",
}

AGREEMENT_CAPTIONS = {
    "Jaccard [95% CI]": "|A ∩ B| / |A ∪ B| of the two models' sets, with a 95 % percentile bootstrap "
                        "interval over the test items (items resampled with replacement).",
    "chance Jaccard": "the Jaccard expected if the two sets were independent random subsets of the items "
                      "with the same sizes. A Jaccard near it says nothing about shared behaviour: two "
                      "models with many errors share many of them by chance alone.",
    "κ": "Cohen's kappa of the per-item membership (for errors, the error consistency of Geirhos et al. "
         "2020): 0 = agreement expected by chance, 1 = identical sets, below 0 = less than chance.",
    "Jaccard / ceiling, κ / ceiling": "the pair's Jaccard and kappa as a fraction of the seed baseline's: "
                                      "the reference fine-tuned twice with different seeds, as close to a "
                                      "miniature of itself as a model gets. 1 = as alike as two runs of the "
                                      "reference.",
    "answer agreement": "fraction of the test questions on which the two models give the same answer after "
                        "SQuAD normalisation (the no-answer counts as an answer).",
    "negative flips": "fraction of the test questions model A answers correctly and model B wrongly.",
    "sizes": "the sizes of the two sets (for errors: how many questions each model gets wrong) and the items.",
}


def characteristics(table2: pd.DataFrame, agreement: pd.DataFrame) -> list[str]:
    """Comparison names with something to show: Table 2's columns in order, then the other set comparisons."""
    names = [compare.TABLE2_COLUMNS[c][0] for c in table2.columns if c in compare.TABLE2_COLUMNS]
    return list(dict.fromkeys(names + list(agreement["characteristic"].unique())))


def title_of(characteristic: str) -> str:
    return CHARACTERISTICS.get(characteristic, (characteristic.replace("_", " ").capitalize(), ""))[0]


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


def _panels(characteristic: str, table2: pd.DataFrame, agreement: pd.DataFrame) -> tuple[dict, str]:
    """The heatmap panels of one characteristic (title -> matrix) and a note on its seed baseline."""
    models = models_of(table2)
    rows = agreement[agreement["characteristic"] == characteristic]
    pairs, baseline = rows[~rows["seed_baseline"].astype(bool)], rows[rows["seed_baseline"].astype(bool)]
    if len(pairs):
        panels = {"Jaccard": pair_matrix(pairs, "jaccard", models),
                  "Jaccard expected by chance": pair_matrix(pairs, "expected_jaccard", models),
                  "Cohen's κ (0 = chance)": pair_matrix(pairs, "kappa", models)}
    else:
        # Table 2's similarity columns of the characteristic (a variance is no similarity).
        columns = [c for c, (name, field) in compare.TABLE2_COLUMNS.items()
                   if name == characteristic and c in table2.columns and not field.endswith("_var")]
        panels = {column: pair_matrix(table2, column, models) for column in columns}
    note = ""
    if len(baseline):
        b = baseline.iloc[0]
        note = f"seed baseline ({b.model_a} vs {b.model_b}): Jaccard {b.jaccard:.2f}, κ {b.kappa:.2f}"
    return panels, note


def write_heatmap(characteristic: str, table2: pd.DataFrame, agreement: pd.DataFrame, path: str | Path) -> None:
    """One PNG per characteristic: its pairwise values as model x model heatmaps (seaborn)."""
    panels, note = _panels(characteristic, table2, agreement)
    n = len(models_of(table2))
    size = 1.6 + 0.75 * n
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels) + 0.8, size + 0.6), squeeze=False)
    for ax, (title, matrix) in zip(axes[0], panels.items()):
        kappa = title.startswith("Cohen")
        low = min(0.0, float(np.nanmin(matrix.to_numpy()))) if matrix.notna().any().any() else 0.0
        sns.heatmap(matrix, ax=ax, annot=True, fmt=".2f", square=True, cbar=True, linewidths=0.5,
                    vmin=low if kappa else 0.0, vmax=1.0, cmap="mako_r" if kappa else "rocket_r",
                    mask=matrix.isna(), annot_kws={"size": 9})
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
    fig.suptitle(title_of(characteristic) + (f"\n{note}" if note else ""), fontsize=11)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    tmp.replace(path)


def write_heatmaps(table2_path, agreement_path, out_dir) -> list[Path]:
    """A heatmap PNG per characteristic in ``out_dir`` (named after the characteristic)."""
    table2, agreement = pd.read_csv(table2_path), pd.read_csv(agreement_path)
    paths = []
    for characteristic in characteristics(table2, agreement):
        path = Path(out_dir) / f"{characteristic}.png"
        write_heatmap(characteristic, table2, agreement, path)
        paths.append(path)
    return paths


# --- the HTML report --------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; white-space: normal; vertical-align: bottom; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption, .caption { color: #444; font-size: 0.92em; margin: 0.3em 0 1em; }
.wide { overflow-x: auto; }
dt { font-weight: 600; } dd { margin: 0 0 0.5em 1.2em; color: #444; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
"""

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def _esc(text) -> str:
    return html.escape(str(text))


def _figure(path: str | Path, caption: str, alt: str) -> str:
    path = Path(path)
    mime = _IMAGE_TYPES.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"{path}: not an image the report can embed ({', '.join(_IMAGE_TYPES)})")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:{mime};base64,{encoded}" alt="{_esc(alt)}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def _table(frame: pd.DataFrame, caption: str = "") -> str:
    body = frame.to_html(index=False, na_rep="–", float_format=lambda v: f"{v:.3f}", border=0)
    return f'<div class="wide">{body}</div>' + (f'<p class="caption">{_esc(caption)}</p>' if caption else "")


def _ci(row) -> str:
    return f"{row.jaccard:.3f} [{row.jaccard_ci_low:.3f}, {row.jaccard_ci_high:.3f}]"


def agreement_display(rows: pd.DataFrame) -> pd.DataFrame:
    """One characteristic's rows of agreement.csv, formatted for reading (empty columns dropped)."""
    baseline = rows["seed_baseline"].astype(bool)
    shown = pd.DataFrame({
        "model A": rows["model_a"], "model B": rows["model_b"].where(~baseline, rows["model_b"] + " (seed baseline)"),
        "Jaccard [95% CI]": [_ci(r) for r in rows.itertuples()],
        "chance Jaccard": rows["expected_jaccard"], "κ": rows["kappa"],
        "Jaccard / ceiling": rows["jaccard_of_ceiling"], "κ / ceiling": rows["kappa_of_ceiling"],
        "answer agreement": rows["answer_agreement"], "negative flips": rows["negative_flip_rate"],
        "sizes": [f"{r.size_a} / {r.size_b} of {r.items}" for r in rows.itertuples()],
    })
    return shown.dropna(axis="columns", how="all")


def summary(agreement: pd.DataFrame, reference: str) -> list[str]:
    """Plain sentences on the reference pairs against the seed baseline, one per characteristic."""
    sentences = []
    for characteristic, rows in agreement.groupby("characteristic", sort=False):
        flags = rows["seed_baseline"].astype(bool)
        ours = rows[~flags & (rows["model_a"] == reference)]
        if not flags.any() or ours.empty or ours["kappa_of_ceiling"].isna().all():
            continue
        ceiling = rows[flags].iloc[0]
        parts = "; ".join(f"{r.model_b} κ = {r.kappa:.2f} ({r.kappa_of_ceiling:.0%} of the ceiling)"
                          for r in ours.itertuples())
        sentences.append(
            f"{title_of(characteristic)}: two fine-tunings of {reference} with different seeds agree with "
            f"κ = {ceiling.kappa:.2f}, the ceiling. Against {reference}: {parts}.")
    return sentences


def build_report(table2: pd.DataFrame, agreement: pd.DataFrame, heatmaps: Mapping[str, Path],
                 sections: Mapping[str, Path], config: dict) -> str:
    """The report as one self-contained HTML page."""
    reference = config["reference"]
    models = ", ".join(models_of(table2))
    parts = [f"<h1>Is each compressed model a miniature of {_esc(reference)}?</h1>",
             f"<p>Reference model: <b>{_esc(reference)}</b>. Models compared: {_esc(models)}. Every number "
             "below compares what two models do on the same items; the configuration that produced them is "
             "at the end.</p>"]
    parts += [f"<p>{_esc(s)}</p>" for s in summary(agreement, reference)]

    parts.append("<h2>Table 2: similarity of each pair</h2>")
    captions = [f"{column}: Jaccard of {CHARACTERISTICS.get(name, (None, name))[1]}"
                for column, (name, _) in compare.TABLE2_COLUMNS.items() if column in table2.columns]
    parts.append(_table(table2, "One row per pair: the reference against each compressed model, then the other "
                                "pairs. " + "; ".join(captions) + ". 1 = the same sets, 0 = disjoint sets."))

    parts.append("<h2>Agreement beyond chance</h2>")
    for characteristic, rows in agreement.groupby("characteristic", sort=False):
        parts.append(f"<h3>{_esc(title_of(characteristic))}</h3>")
        parts.append(_table(agreement_display(rows)))
    parts.append("<dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in AGREEMENT_CAPTIONS.items())
                 + "</dl>")

    parts.append("<h2>Heatmaps</h2>")
    set_comparisons = set(agreement["characteristic"])
    for characteristic, path in heatmaps.items():
        title, what = CHARACTERISTICS.get(characteristic, (title_of(characteristic), "the models' outputs"))
        panels = ("Left: the Jaccard of the two sets; middle: the Jaccard two independent sets of the same sizes "
                  "would have; right: Cohen's κ, the agreement beyond chance."
                  if characteristic in set_comparisons else "The pair's value in Table 2.")
        parts.append(_figure(path, f"{title}: every pair of models, on {what}. {panels}", alt=f"heatmap: {title}"))

    for name, path in sections.items():
        if name not in SECTION_CAPTIONS:
            raise ValueError(f"report section {name!r} has no caption: add one to miniature.report.SECTION_CAPTIONS")
        caption = SECTION_CAPTIONS[name]
        parts.append(f"<h2>{_esc(caption.split('.')[0])}</h2>")
        if Path(path).suffix.lower() == ".csv":
            parts.append(_table(pd.read_csv(path), caption))
        else:
            parts.append(_figure(path, caption, alt=caption.split(".")[0]))

    parts.append("<h2>Configuration</h2>")
    parts.append(f"<pre>{_esc(yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True))}</pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>miniature report</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_report(table2_path, agreement_path, heatmap_dir, sections: Mapping[str, str], config: dict,
                 out_path) -> None:
    """Read the tables and figures, write the report atomically."""
    table2, agreement = pd.read_csv(table2_path), pd.read_csv(agreement_path)
    heatmaps = {c: Path(heatmap_dir) / f"{c}.png" for c in characteristics(table2, agreement)}
    page = build_report(table2, agreement, heatmaps, {k: Path(v) for k, v in sections.items()}, config)
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out_path)
