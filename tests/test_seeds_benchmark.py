"""The pure parts of benchmarks/seeds.py: aggregation over seeds, its Markdown, the
conclusions that hold under every seed, the command of one run. No test runs the workflow."""

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # seeds.py imports stages.py, as when run as a script
_spec = importlib.util.spec_from_file_location("seeds", ROOT / "benchmarks" / "seeds.py")
seeds = importlib.util.module_from_spec(_spec)
sys.modules["seeds"] = seeds
_spec.loader.exec_module(seeds)

PAIRS = [("large", "truncated"), ("large", "small"), ("truncated", "small")]


def table2(errors, repr_var=(0.01, 0.02, 0.03)):
    """A Table 2 in the real layout (two key columns), with the given prediction_errors."""
    return pd.DataFrame({"model_a": [a for a, _ in PAIRS], "model_b": [b for _, b in PAIRS],
                         "prediction_errors": list(errors), "repr_before_var": list(repr_var)})


def table3(accuracies, targets=("large", "truncated", "small")):
    return pd.DataFrame({"target": list(targets), "original_accuracy": list(accuracies),
                         "pct_change": [50.0] * len(targets)})


def test_aggregate_gives_mean_min_max_and_count_per_row_and_column():
    summary = seeds.aggregate({0: table2([0.6, 0.5, 0.4]), 1: table2([0.8, 0.4, 0.4]), 2: table2([0.7, 0.3, 0.4])})
    assert list(summary.columns) == ["model_a", "model_b", "column", "n", "mean", "min", "max"]
    # The tables' row order, each row's columns in order.
    assert list(zip(summary.model_a, summary.model_b, summary.column)) == [
        (a, b, c) for a, b in PAIRS for c in ("prediction_errors", "repr_before_var")]
    errors = summary[summary.column == "prediction_errors"].set_index(["model_a", "model_b"])
    assert errors.loc[("large", "truncated"), ["mean", "min", "max"]].tolist() == pytest.approx([0.7, 0.6, 0.8])
    assert errors.loc[("large", "small"), ["mean", "min", "max"]].tolist() == pytest.approx([0.4, 0.3, 0.5])
    assert errors.loc[("truncated", "small"), ["mean", "min", "max"]].tolist() == pytest.approx([0.4, 0.4, 0.4])
    assert set(summary.n) == {3}


def test_aggregate_matches_rows_by_key_not_position_and_counts_missing_values():
    shuffled = table3([0.9, float("nan"), 0.7]).iloc[[2, 0, 1]]
    summary = seeds.aggregate({0: table3([0.8, 0.5, 0.6]), 1: shuffled})
    accuracy = summary[summary.column == "original_accuracy"].set_index("target")
    assert list(accuracy.index) == ["large", "truncated", "small"]
    assert accuracy.loc["small", ["mean", "min", "max"]].tolist() == pytest.approx([0.65, 0.6, 0.7])
    assert accuracy.loc["truncated", ["n", "mean"]].tolist() == [1, 0.5]
    assert accuracy.loc["large", "n"] == 2


@pytest.mark.parametrize("other, message", [
    (table2([0.1, 0.2, 0.3]).drop(columns="repr_before_var"), "columns"),
    (table2([0.1, 0.2, 0.3]).replace("small", "distil"), "other rows"),
])
def test_aggregate_refuses_tables_of_another_layout(other, message):
    with pytest.raises(ValueError, match=message):
        seeds.aggregate({0: table2([0.1, 0.2, 0.3]), 7: other})


def test_markdown_table_mean_min_max_with_decimals_per_column():
    summary = seeds.aggregate({0: table3([0.8, 0.5, 0.6]), 1: table3([0.9, float("nan"), 0.7])})
    lines = seeds.markdown_table(summary, 2, {"pct_change": 1}).splitlines()
    assert lines[0] == "| target | original_accuracy | pct_change |"
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| large | 0.850 (0.800–0.900) | 50.0 (50.0–50.0) |"
    assert lines[3] == "| truncated | 0.500 (0.500–0.500) [1 of 2 seeds] | 50.0 (50.0–50.0) |"


def test_agreement_columns_leave_out_the_variances_and_the_keys():
    assert seeds.agreement_columns(table2([0.1, 0.2, 0.3])) == ["prediction_errors"]


def test_conclusions_hold_when_every_seed_agrees():
    tables = {0: table2([0.6, 0.5, 0.4]), 1: table2([0.8, 0.4, 0.3]), 2: table2([0.7, 0.3, 0.2])}
    c = seeds.column_conclusions(tables, "prediction_errors")
    assert (c["all_below_one"], c["same_top"], c["same_ranking"]) == (True, True, True)
    assert c["highest"] == (0.8, 1, "large/truncated")
    assert c["tops"] == {0: ["large/truncated"], 1: ["large/truncated"], 2: ["large/truncated"]}
    lines = seeds.conclusion_lines([c])
    assert lines == ["- `prediction_errors`: every pair below 1.0 in every seed (highest 0.800: large/truncated, "
                     "seed 1); the most agreeing pair is the same in every seed (large/truncated); the ranking of "
                     "all pairs is the same in every seed."]


def test_conclusions_fail_when_one_seed_reaches_one_or_reorders_the_pairs():
    tables = {0: table2([0.6, 0.5, 0.4]), 1: table2([0.6, 1.0, 0.3]), 2: table2([0.6, 1.0, 0.3])}
    c = seeds.column_conclusions(tables, "prediction_errors")
    assert (c["all_below_one"], c["same_top"], c["same_ranking"]) == (False, False, False)
    assert c["tops"] == {0: ["large/truncated"], 1: ["large/small"], 2: ["large/small"]}
    assert c["at_one"] == {"large/small": [1, 2]}
    lines = seeds.conclusion_lines([c])
    assert lines[0] == ("- `prediction_errors`: **not** every pair below 1.0 in every seed (1.0 for large/small in "
                        "seeds 1, 2); the most agreeing pair is **not** the same in every seed (seed 0: "
                        "large/truncated; seed 1: large/small; seed 2: large/small); the ranking of all pairs is "
                        "**not** the same in every seed.")
    assert lines[1:] == ["  - seed 0: large/truncated > large/small > truncated/small",
                         "  - seed 1: large/small > large/truncated > truncated/small",
                         "  - seed 2: large/small > large/truncated > truncated/small"]


def test_the_same_top_pair_with_another_ranking_below_it():
    tables = {0: table2([0.9, 0.5, 0.4]), 1: table2([0.9, 0.3, 0.4])}
    c = seeds.column_conclusions(tables, "prediction_errors")
    assert (c["same_top"], c["same_ranking"]) == (True, False)


def test_ties_share_a_rank():
    tables = {0: table2([0.5, 0.5, 0.4]), 1: table2([0.5, 0.5, 0.1])}
    c = seeds.column_conclusions(tables, "prediction_errors")
    assert (c["same_top"], c["same_ranking"]) == (True, True)
    assert c["tops"][0] == ["large/small", "large/truncated"]
    assert c["orders"][0] == "large/truncated = large/small > truncated/small"


def test_a_column_where_every_pair_ties():
    c = seeds.column_conclusions({0: table2([1.0, 1.0, 1.0]), 1: table2([0.0, 0.0, 0.0])}, "prediction_errors")
    assert "all pairs tie in every seed" in seeds.conclusion_lines([c])[0]


def test_a_missing_value_leaves_a_column_unjudged():
    c = seeds.column_conclusions({0: table2([0.5, 0.4, 0.3]), 3: table2([0.5, float("nan"), 0.3])},
                                 "prediction_errors")
    assert (c["missing"], c["all_below_one"], c["same_ranking"]) == ([3], None, None)
    assert seeds.conclusion_lines([c]) == ["- `prediction_errors`: not judged, a pair has no value in seed 3."]


def test_reference_most_accurate_in_every_seed_ties_included():
    c = seeds.reference_conclusion({0: table3([0.9, 0.5, 0.6]), 1: table3([0.7, 0.7, 0.6])}, "large")
    assert c["holds"] is True
    assert c["per_seed"] == {0: ("alone", None), 1: ("tied", ["truncated"])}
    assert seeds.conclusion_lines([], c) == [
        "- Table 3 `original_accuracy`: no model is more accurate than the reference `large` in any seed, but it "
        "is not the most accurate alone (seed 1: as accurate as truncated)."]
    alone = seeds.reference_conclusion({0: table3([0.9, 0.5, 0.6]), 1: table3([0.8, 0.7, 0.6])}, "large")
    assert seeds.conclusion_lines([], alone) == [
        "- Table 3 `original_accuracy`: the reference `large` is the most accurate model in every seed."]


def test_reference_beaten_in_one_seed():
    c = seeds.reference_conclusion({0: table3([0.9, 0.5, 0.6]), 1: table3([0.6, 0.7, 0.8])}, "large")
    assert c["holds"] is False
    assert c["per_seed"][1] == ("not", ["small", "truncated"])
    assert seeds.conclusion_lines([], c) == [
        "- Table 3 `original_accuracy`: the reference `large` is **not** the most accurate model in every seed "
        "(seed 1: small, truncated more accurate)."]
    with pytest.raises(ValueError, match="reference 'huge'"):
        seeds.reference_conclusion({0: table3([0.9, 0.5, 0.6])}, "huge")


def test_table3_only_with_sentiment_data(tmp_path):
    (tmp_path / "a.yaml").write_text("data: {qa: {test: {file: x}}, sentiment: {test: {generate: {reviews: 5}}}}\n")
    (tmp_path / "b.yaml").write_text("reference: large\n")
    config = seeds.merged_config([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert seeds.makes_table3(config) and config["reference"] == "large"
    assert not seeds.makes_table3({"data": {"qa": {}}})


def test_one_run_passes_the_seed_as_an_argument_in_its_own_folder(tmp_path):
    command = seeds.snakemake_command(tmp_path / "seed-4", 4, 2, [ROOT / "config.yaml"], ["results/table2.csv"])
    assert command[1:3] == ["-m", "snakemake"]
    assert command[command.index("--directory") + 1] == str(tmp_path / "seed-4")
    assert command[command.index("--snakefile") + 1] == str(ROOT / "Snakefile")
    # Targets before --configfile, which would read them as config files.
    assert command.index("results/table2.csv") < command.index("--configfile")
    assert command[-2:] == ["--config", "seed=4"]


def test_durations():
    assert [seeds.format_duration(s) for s in (42.4, 312, 7380)] == ["42 s", "5 min 12 s", "2 h 03 min"]
