"""The self-contained HTML report: results/report.html.

The report is one HTML file with everything inline (styles, and figures as base64 data
URIs), so it can be mailed or archived alone: Table 2, the agreement tables, a heatmap per
characteristic, the sections the configured characteristics declare (Figure 1, Table 3,
...), captions saying what each number means, and the config that produced it. What each
characteristic is and which sections it has come from its declaration
(miniature.characteristics).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from miniature import heatmaps as heatmap_figures
from miniature.characteristics import Characteristic
from miniature.files import atomic_file

# What each column of the agreement tables says (headed as agreement_display heads them).
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



_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; white-space: normal; vertical-align: bottom; }
td:first-child, th:first-child { text-align: left; }
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


def summary(agreement: pd.DataFrame, reference: str, characteristics: Sequence[Characteristic]) -> list[str]:
    """Plain sentences on the reference pairs against the seed baseline, one per characteristic that has one."""
    sentences = []
    for characteristic in characteristics:
        rows = agreement[agreement["characteristic"] == characteristic.name]
        flags = rows["seed_baseline"].astype(bool)
        ours = rows[~flags & (rows["model_a"] == reference)]
        if not flags.any() or ours.empty or ours["kappa_of_ceiling"].isna().all():
            continue
        ceiling = rows[flags].iloc[0]
        parts = "; ".join(f"{r.model_b} κ = {r.kappa:.2f} ({r.kappa_of_ceiling:.0%} of the ceiling)"
                          for r in ours.itertuples())
        sentences.append(
            f"{characteristic.title}: two fine-tunings of {reference} with different seeds agree with "
            f"κ = {ceiling.kappa:.2f}, the ceiling. Against {reference}: {parts}.")
    return sentences


def _section(path: Path, caption: str) -> list[str]:
    """A declared report section: its heading (the caption's first sentence), then the figure or table."""
    heading = caption.split(".")[0]
    if path.suffix.lower() == ".csv":
        return [f"<h2>{_esc(heading)}</h2>", _table(pd.read_csv(path), caption)]
    return [f"<h2>{_esc(heading)}</h2>", _figure(path, caption, alt=heading)]


def build_report(table2: pd.DataFrame, agreement: pd.DataFrame, characteristics: Sequence[Characteristic],
                 heatmaps: Mapping[str, Path], sections: Mapping[str, Path], config: dict) -> str:
    """The report as one self-contained HTML page.

    ``characteristics`` are the configured ones in Table 2's order; ``heatmaps`` maps each
    one's name to its heatmap, ``sections`` each of their declared sections to its file.
    """
    reference = config["reference"]
    sets = [c for c in characteristics if c.compares_sets]
    models = ", ".join(heatmap_figures.models_of(table2))
    parts = [f"<h1>Is each compressed model a miniature of {_esc(reference)}?</h1>",
             f"<p>Reference model: <b>{_esc(reference)}</b>. Models compared: {_esc(models)}. Every number "
             "below compares what two models do on the same items; the configuration that produced them is "
             "at the end.</p>"]
    parts += [f"<p>{_esc(s)}</p>" for s in summary(agreement, reference, sets)]

    parts.append("<h2>Table 2: similarity of each pair</h2>")
    captions = [f"{column}: Jaccard of {c.description}" for c in characteristics for column in c.table2]
    parts.append(_table(table2, "One row per pair: the reference against each compressed model, then the other "
                                "pairs. " + "; ".join(captions) + ". 1 = the same sets, 0 = disjoint sets."))

    parts.append("<h2>Agreement beyond chance</h2>")
    for characteristic in sets:
        parts.append(f"<h3>{_esc(characteristic.title)}</h3>")
        parts.append(_table(agreement_display(agreement[agreement["characteristic"] == characteristic.name])))
    parts.append("<dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in AGREEMENT_CAPTIONS.items())
                 + "</dl>")

    parts.append("<h2>Heatmaps</h2>")
    for characteristic in characteristics:
        panels = ("Left: the Jaccard of the two sets; middle: the Jaccard two independent sets of the same sizes "
                  "would have; right: Cohen's κ, the agreement beyond chance."
                  if characteristic.compares_sets else "The pair's value in Table 2.")
        title = characteristic.title
        parts.append(_figure(heatmaps[characteristic.name],
                             f"{title}: every pair of models, on {characteristic.description}. {panels}",
                             alt=f"heatmap: {title}"))

    for characteristic in characteristics:
        for name, section in characteristic.sections.items():
            parts += _section(Path(sections[name]), section.caption)

    parts.append("<h2>Configuration</h2>")
    parts.append(f"<pre>{_esc(yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True))}</pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>miniature report</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_report(table2_path, agreement_path, heatmap_dir, sections: Mapping[str, str],
                 characteristics: Sequence[Characteristic], config: dict, out_path) -> None:
    """Read the tables and figures, write the report atomically."""
    table2, agreement = pd.read_csv(table2_path), pd.read_csv(agreement_path)
    heatmaps = {c.name: heatmap_figures.heatmap_path(heatmap_dir, c) for c in characteristics}
    page = build_report(table2, agreement, characteristics, heatmaps, {k: Path(v) for k, v in sections.items()},
                        config)
    with atomic_file(out_path) as f:
        f.write(page)
