"""The declarations of the characteristics, and an extra one that drives Table 2, agreement.csv,
the heatmaps and the report without any change to the package."""

import html

import pandas as pd
import pytest

from miniature import agreement, characteristics, heatmaps, report, table2
from miniature.characteristics import Characteristic, Comparison, Section

PAIRS = [("large", "mid"), ("large", "small"), ("mid", "small")]
UNIVERSE = [f"q{i}" for i in range(12)]
# A characteristic a user could add: each model's set of "toy" items, with a table of its own.
TOY = Characteristic(name="toy", title="Toy behaviour", description="the items a model finds toy-like",
                     result="results/toy/{model}/set.json", universe="results/data/qa/test.json",
                     table2={"toy_jaccard": "jaccard", "toy_shared": "intersection"},
                     sections={"toy_table": Section("results/toy/table.csv", "Toy table. How toy-like each model is.")})
TOY_SETS = {"large": ["q1", "q2", "q3", "q4"], "mid": ["q2", "q3", "q4", "q5"], "small": ["q9"]}


def test_the_demo_characteristics_in_table2_order_and_adversarial_only_with_sentiment_data():
    with_sentiment = characteristics.configured({"data": {"qa": {}, "sentiment": {}}})
    assert [c.name for c in with_sentiment] == ["errors", "representation", "distribution", "adversarial"]
    assert [c.name for c in characteristics.configured({"data": {"qa": {}}})] == [
        "errors", "representation", "distribution"]
    assert [c for column in ("prediction_errors", "repr_before_mean", "repr_before_var", "repr_after_mean",
                             "repr_after_var", "data_distribution", "adversarial")
            for c in with_sentiment if column in c.table2] == [with_sentiment[i] for i in (0, 1, 1, 1, 1, 2, 3)]
    assert characteristics.by_name(["distribution", "errors"]) == [characteristics.DISTRIBUTION,
                                                                   characteristics.ERRORS]
    with pytest.raises(ValueError, match="no characteristic"):
        characteristics.by_name(["toy"])


def test_a_declaration_missing_what_its_comparison_needs_is_refused():
    with pytest.raises(ValueError, match="needs {model}"):
        Characteristic(name="x", title="X", description="x", result="results/x.json", universe="u.json")
    with pytest.raises(ValueError, match=r"needs \{a\}, \{b\}"):
        Characteristic(name="x", title="X", description="x", result="results/{model}.json",
                       comparison=Comparison.PAIR_RECORDS)
    with pytest.raises(ValueError, match="universe"):
        Characteristic(name="x", title="X", description="x", result="results/{model}.json")
    with pytest.raises(ValueError, match="not its Table 2 columns"):
        Characteristic(name="x", title="X", description="x", result="{a}/{b}.json",
                       comparison=Comparison.PAIR_RECORDS, heatmap=("x_mean",))


def test_a_name_or_column_declared_twice_is_refused(monkeypatch):
    twin = Characteristic(name="twin", title="Twin", description="x", result="results/{model}.json",
                          universe="u.json", table2={"prediction_errors": "jaccard"})
    monkeypatch.setattr(characteristics, "CHARACTERISTICS", (*characteristics.CHARACTERISTICS, twin))
    with pytest.raises(ValueError, match=r"Table 2 column\(s\) \['prediction_errors'\]"):
        characteristics.configured({"data": {}})


def test_an_extra_declared_characteristic_drives_table2_agreement_heatmaps_and_report(monkeypatch, tmp_path):
    monkeypatch.setattr(characteristics, "CHARACTERISTICS", (*characteristics.CHARACTERISTICS, TOY))
    declared = characteristics.configured({"data": {"qa": {}}})
    assert declared[-1] is TOY and characteristics.by_name(["toy"]) == [TOY]

    errors = {"large": ["q1"], "mid": ["q1", "q2"], "small": []}
    representation = [{"model_a": a, "model_b": b, "before_mean": 0.5, "before_var": 0.1, "after_mean": 0.6,
                       "after_var": 0.1} for a, b in PAIRS]
    flagged = {m: {"5": ["q1"]} for m in errors}
    results = {"errors": errors, "representation": representation, "distribution": flagged, "toy": TOY_SETS}
    records = table2.pair_comparisons(PAIRS, results, declared, k=5)
    table = table2.table2(PAIRS, records, declared)
    assert list(table.columns)[-2:] == ["toy_jaccard", "toy_shared"]
    assert list(table.toy_jaccard) == [pytest.approx(3 / 5), 0.0, 0.0] and list(table.toy_shared) == [3, 0, 0]

    per_pair = {c.name: [{"model_a": a, "model_b": b,
                          **agreement.set_agreement(TOY_SETS[a] if c is TOY else errors[a],
                                                    TOY_SETS[b] if c is TOY else errors[b], UNIVERSE, 50, 0)}
                         for a, b in PAIRS] for c in (characteristics.ERRORS, TOY)}
    agreement_table = agreement.agreement_table(per_pair)
    toy_rows = agreement_table[agreement_table.characteristic == "toy"]
    assert list(zip(toy_rows.model_a, toy_rows.model_b)) == PAIRS

    shown = [c for c in declared if c.name != "distribution"]  # no agreement rows made here for it
    table = table.drop(columns=["data_distribution"])
    paths = heatmaps.write_heatmaps(table, agreement_table, tmp_path, shown)
    assert paths[-1] == tmp_path / "toy.png" and paths[-1].stat().st_size > 0

    pd.DataFrame({"model": ["large"], "toyness": [0.5]}).to_csv(tmp_path / "toy.csv", index=False)
    page = report.build_report(table, agreement_table, [characteristics.ERRORS, TOY],
                               {"errors": paths[0], "toy": paths[-1]}, {"toy_table": tmp_path / "toy.csv"},
                               {"reference": "large"})
    assert "<h3>Toy behaviour</h3>" in page and "<h2>Toy table</h2>" in page and "toyness" in page
    assert html.escape("toy_jaccard: Jaccard of the items a model finds toy-like") in page
    assert 'alt="heatmap: Toy behaviour"' in page
