"""Table 3 in the paper's convention: accuracies as fractions, a drop as a positive change."""

import math

import pytest

from miniature import table3


def test_attack_summary_follows_the_papers_convention():
    # 10 reviews: 1 already wrong (skipped), 6 flipped by the attack, 3 withstood it.
    outcomes = ["skipped"] + ["succeeded"] * 6 + ["failed"] * 3
    queries = [0] + [10] * 6 + [40] * 3
    summary = table3.attack_summary(outcomes, queries)
    assert summary["original_accuracy"] == pytest.approx(0.9)
    assert summary["after_attack_accuracy"] == pytest.approx(0.3)
    assert summary["absolute_change"] == pytest.approx(0.6)  # original - after: a drop is positive
    assert summary["pct_change"] == pytest.approx(0.6 / 0.9 * 100)
    assert summary["attack_success_rate"] == pytest.approx(6 / 9 * 100)
    assert summary["avg_queries"] == pytest.approx((6 * 10 + 3 * 40) / 9)


def test_a_target_that_gets_everything_wrong_has_no_relative_change():
    summary = table3.attack_summary(["skipped"] * 4, [0] * 4)
    assert summary["original_accuracy"] == summary["after_attack_accuracy"] == summary["absolute_change"] == 0
    assert math.isnan(summary["pct_change"]) and math.isnan(summary["attack_success_rate"])


def test_unknown_outcomes_and_mismatched_counts_are_refused():
    with pytest.raises(ValueError, match="unknown attack outcomes"):
        table3.attack_summary(["won"], [1])
    with pytest.raises(ValueError, match="2 outcomes and 1 query counts"):
        table3.attack_summary(["failed", "failed"], [1])


def test_table3_has_one_row_per_target_in_order():
    summaries = {m: table3.attack_summary(o, [1] * len(o)) for m, o in
                 [("large", ["failed", "succeeded"]), ("small", ["skipped", "succeeded"])]}
    table = table3.table3(summaries)
    assert list(table["target"]) == ["large", "small"]
    assert list(table.columns) == table3.TABLE3_COLUMNS
    assert list(table["absolute_change"]) == pytest.approx([0.5, 0.5])
