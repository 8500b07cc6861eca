import base64
import html
import io
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from PIL import Image

from miniature import agreement, report

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


def test_pair_matrix_is_symmetric_with_an_empty_diagonal():
    table2, _ = _tables()
    matrix = report.pair_matrix(table2, "prediction_errors", MODELS)
    assert matrix.loc["large", "mid"] == matrix.loc["mid", "large"] == 0.6
    assert matrix.loc["small", "mid"] == 0.5
    assert matrix.isna().sum().sum() == len(MODELS)


def test_report_has_every_table_heatmap_optional_section_caption_and_the_config(tmp_path):
    table2, table = _tables()
    heatmaps = {c: tmp_path / f"{c}.png" for c in report.characteristics(table2, table)}
    for characteristic, path in heatmaps.items():
        report.write_heatmap(characteristic, table2, table, path)
    figure = tmp_path / "fig1a.png"
    fig, ax = plt.subplots()
    ax.plot([1, 5, 10], [0.5, 0.4, 0.3])
    fig.savefig(figure)
    plt.close(fig)
    pd.DataFrame({"model": MODELS, "accuracy_before": [0.9, 0.85, 0.8]}).to_csv(tmp_path / "table3.csv", index=False)
    config = {"reference": "large", "models": {m: {"path": f"/models/{m}"} for m in MODELS}}
    page = report.build_report(table2, table, heatmaps, {"fig1a": figure, "table3": tmp_path / "table3.csv"}, config)

    images = _images(page)
    assert len(images) == 2  # the errors heatmap and Figure 1a
    for image in images:
        image.verify()
    assert "0.600 [0.550, 0.650]" in page  # Jaccard with its interval
    assert "large-seed1 (seed baseline)" in page
    assert html.escape(report.SECTION_CAPTIONS["fig1a"]) in page and html.escape(report.SECTION_CAPTIONS["table3"]) in page
    assert "accuracy_before" in page and "0.850" in page  # Table 3
    for caption in report.AGREEMENT_CAPTIONS.values():
        assert html.escape(caption) in page
    assert "/models/mid" in page  # the config
    # The summary reads the reference pairs against the seed baseline (kappa 0.4 of 0.5 = 80 %).
    assert "κ = 0.50, the ceiling" in page and "mid κ = 0.40 (80% of the ceiling)" in page
    assert not re.search(r'(src|href)="(?!data:)', page)


def test_report_refuses_a_section_without_caption(tmp_path):
    table2, table = _tables()
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="'fig9' has no caption"):
        report.build_report(table2, table, {}, {"fig9": tmp_path / "x.csv"}, {"reference": "large"})


def test_a_table2_characteristic_that_is_not_a_set_comparison_gets_a_one_panel_heatmap(tmp_path):
    table2, table = _tables()
    table2["repr_before_mean"] = [0.3, 0.2, 0.25]
    table2["repr_before_var"] = [0.01, 0.02, 0.03]  # not a similarity: no panel
    assert report.characteristics(table2, table) == ["errors", "representation"]
    report.write_heatmap("representation", table2, table, tmp_path / "representation.png")
    report.write_heatmap("errors", table2, table, tmp_path / "errors.png")
    with Image.open(tmp_path / "representation.png") as one, Image.open(tmp_path / "errors.png") as three:
        assert three.width > 2 * one.width  # three panels against one
