import base64
import html
import io
import re

import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from miniature import agreement, heatmaps, report
from miniature.characteristics import ADVERSARIAL, ERRORS, REPRESENTATION

MODELS = ["large", "mid", "small"]
PAIRS = [("large", "mid"), ("large", "small"), ("mid", "small")]


def _tables():
    table2 = pd.DataFrame(PAIRS, columns=["model_a", "model_b"]).assign(prediction_errors=[0.6, 0.4, 0.5])
    records = [{"model_a": a, "model_b": b, "jaccard": j, "jaccard_ci_low": j - 0.05, "jaccard_ci_high": j + 0.05,
                "expected_jaccard": 0.3, "kappa": k, "items": 100, "size_a": 30, "size_b": 40, "intersection": 20,
                "answer_agreement": 0.7, "negative_flip_rate": 0.1}
               for (a, b), j, k in zip(PAIRS + [("large", "large-seed1")], [0.6, 0.4, 0.5, 0.7], [0.4, 0.1, 0.3, 0.5])]
    return table2, agreement.agreement_table({"errors": records}, baseline="large-seed1")


def _images(page):
    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)]


def _with_representation(table2):
    return table2.assign(repr_before_mean=[0.3, 0.2, 0.25], repr_before_var=[0.01, 0.02, 0.03],
                         repr_after_mean=[0.5, 0.4, 0.45], repr_after_var=[0.01, 0.02, 0.03])


def test_pair_matrix_is_symmetric_with_an_empty_diagonal():
    table2, _ = _tables()
    matrix = heatmaps.pair_matrix(table2, "prediction_errors", MODELS)
    assert matrix.loc["large", "mid"] == matrix.loc["mid", "large"] == 0.6
    assert matrix.loc["small", "mid"] == 0.5
    assert matrix.isna().sum().sum() == len(MODELS)


def test_report_has_every_table_heatmap_declared_section_caption_and_the_config(tmp_path):
    table2, table = _tables()
    table2 = _with_representation(table2)
    declared = [ERRORS, REPRESENTATION, ADVERSARIAL]
    table = pd.concat([table, table[table.characteristic == "errors"].assign(characteristic="adversarial",
                                                                                  seed_baseline=False)])
    paths = heatmaps.write_heatmaps(table2, table, tmp_path, declared)
    figure = tmp_path / "fig1a.png"
    fig, ax = plt.subplots()
    ax.plot([1, 5, 10], [0.5, 0.4, 0.3])
    fig.savefig(figure)
    plt.close(fig)
    pd.DataFrame({"model": MODELS, "accuracy_before": [0.9, 0.85, 0.8]}).to_csv(tmp_path / "table3.csv", index=False)
    config = {"reference": "large", "models": {m: {"path": f"/models/{m}"} for m in MODELS}}
    sections = {"fig1a": figure, "fig1b": figure, "table3": tmp_path / "table3.csv"}
    page = report.build_report(table2, table, declared, {c.name: p for c, p in zip(declared, paths)}, sections,
                               config)

    images = _images(page)
    assert len(images) == 5  # three heatmaps and Figures 1a and 1b
    for image in images:
        image.verify()
    assert "0.600 [0.550, 0.650]" in page  # Jaccard with its interval
    assert "large-seed1 (seed baseline)" in page
    for characteristic in declared:
        assert html.escape(characteristic.title) in page and html.escape(characteristic.description) in page
    for section in (*REPRESENTATION.sections.values(), *ADVERSARIAL.sections.values()):
        assert html.escape(section.caption) in page
    assert "accuracy_before" in page and "0.850" in page  # Table 3
    for caption in report.AGREEMENT_CAPTIONS.values():
        assert html.escape(caption) in page
    assert "/models/mid" in page  # the config
    # The summary reads the reference pairs against the seed baseline (kappa 0.4 of 0.5 = 80 %).
    assert "κ = 0.50, the ceiling" in page and "mid κ = 0.40 (80% of the ceiling)" in page
    assert not re.search(r'(src|href)="(?!data:)', page)


def test_a_characteristic_that_compares_pairs_itself_gets_its_declared_heatmap_columns(tmp_path):
    table2, table = _tables()
    table2 = _with_representation(table2)
    matrices, note = heatmaps.panels(REPRESENTATION, table2, table)
    assert list(matrices) == ["repr_before_mean", "repr_after_mean"] and note == ""  # a variance is no similarity
    heatmaps.write_heatmap(REPRESENTATION, table2, table, tmp_path / "representation.png")
    heatmaps.write_heatmap(ERRORS, table2, table, tmp_path / "errors.png")
    with Image.open(tmp_path / "representation.png") as two, Image.open(tmp_path / "errors.png") as three:
        assert three.width > 1.3 * two.width  # three panels against two
