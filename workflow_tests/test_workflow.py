"""The workflow as a whole: what a dry run schedules, and a tiny real run."""

import json

import pandas as pd
import pytest
import yaml

from runner import CONFIGS, ROOT, planned_jobs, snakemake

DEMO_JOBS = {"corpus": 1, "qa_split": 2, "sentiment_split": 2, "attack_sample": 1, "tokenizer": 1, "pretrain": 2,
             "distil": 1, "truncate": 1, "finetune_qa": 4, "finetune_sentiment": 4, "predict_qa": 4, "errors": 4,
             "attack": 4, "compare_errors": 6, "compare_adversarial": 6, "table2": 1}


def test_demo_dry_run_schedules_one_job_per_model_and_pair(tmp_path):
    assert planned_jobs(tmp_path, configfile=ROOT / "config.yaml") == DEMO_JOBS


def test_paper_dry_run_lists_six_models_and_fifteen_pairs(tmp_path):
    jobs = planned_jobs(tmp_path, configfile=ROOT / "configs" / "paper.yaml")
    assert jobs == {"fetch_model": 6, "qa_split": 2, "sentiment_split": 2, "attack_sample": 1, "finetune_qa": 6,
                    "finetune_sentiment": 6, "predict_qa": 6, "errors": 6, "attack": 6, "compare_errors": 15,
                    "compare_adversarial": 15, "table2": 1}


def test_table3_needs_only_the_sentiment_and_attack_jobs(tmp_path):
    jobs = planned_jobs(tmp_path, target="results/table3.csv", configfile=ROOT / "config.yaml")
    assert jobs == {"corpus": 1, "sentiment_split": 2, "attack_sample": 1, "tokenizer": 1, "pretrain": 2,
                    "distil": 1, "truncate": 1, "finetune_sentiment": 4, "attack": 4, "table3": 1}


def test_paper_attack_masked_lm_is_bert_base_and_a_hub_masked_lm_gets_fetched(tmp_path):
    paper = ROOT / "configs" / "paper.yaml"
    assert yaml.safe_load(paper.read_text())["attack"]["masked_lm"] == "base"
    config = yaml.safe_load(paper.read_text())
    config["attack"]["masked_lm"] = config["models"]["base"]  # the same model, given as a source
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tmp_path, target="results/table3.csv", configfile=tmp_path / "own.yaml")
    assert jobs == {"fetch_model": 6, "fetch_attack_masked_lm": 1, "sentiment_split": 2, "attack_sample": 1,
                    "finetune_sentiment": 6, "attack": 6, "table3": 1}


def test_bad_config_stops_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["reference"] = "huge"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", "results/table2.csv", configfile=tmp_path / "bad.yaml", check=False)
    assert result.returncode != 0
    assert "reference: 'huge' is not one of the models" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_tiny_run_writes_table2_and_per_model_results(tiny_run):
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    models = list(config["models"])
    table = pd.read_csv(tiny_run / "results" / "table2.csv")
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors", "adversarial"]
    n = len(models)
    assert len(table) == n * (n - 1) // 2
    assert list(table.model_a[: n - 1]) == ["large"] * (n - 1)  # reference pairs first, in config order
    assert list(table.model_b[: n - 1]) == models[1:]
    assert {frozenset(p) for p in zip(table.model_a, table.model_b)} == {
        frozenset((a, b)) for i, a in enumerate(models) for b in models[i + 1:]}
    assert table.prediction_errors.between(0, 1).all()
    assert table.adversarial.between(0, 1).all()

    test = json.loads((tiny_run / "results/data/qa/test.json").read_text())
    test_ids = {qa["id"] for article in test["data"] for p in article["paragraphs"] for qa in p["qas"]}
    for model in models:
        predictions = json.loads((tiny_run / f"results/predict/{model}/predictions.json").read_text())
        assert set(predictions) == test_ids and all(isinstance(a, str) for a in predictions.values())
        metrics = json.loads((tiny_run / f"results/predict/{model}/metrics.json").read_text())
        assert {"exact", "f1", "total", "HasAns_exact", "NoAns_exact"} <= set(metrics)
        errors = json.loads((tiny_run / f"results/errors/{model}/errors.json").read_text())
        assert errors == sorted(errors) and set(errors) <= test_ids
        # An error is a question whose exact score is 0, so the counts must agree.
        assert len(errors) == pytest.approx(metrics["total"] * (1 - metrics["exact"] / 100))
        assert (tiny_run / f"logs/finetune/qa/{model}.log").read_text().count("step ") > 0

    for a, b, value in zip(table.model_a, table.model_b, table.prediction_errors):
        record = json.loads((tiny_run / f"results/compare/errors/{a}__{b}.json").read_text())
        assert record["jaccard"] == pytest.approx(value, abs=5e-5)
        assert record["intersection"] <= min(record["size_a"], record["size_b"]) <= record["union"]


def test_tiny_run_writes_table3_and_attack_examples(tiny_run):
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    models = list(config["models"])
    snakemake(tiny_run, "--cores", "2", "results/table3.csv", configfile=tiny_run / "config.yaml")
    table = pd.read_csv(tiny_run / "results" / "table3.csv")
    assert list(table.columns) == ["target", "original_accuracy", "after_attack_accuracy", "absolute_change",
                                   "pct_change", "attack_success_rate", "avg_queries"]
    assert list(table["target"]) == models
    sample = [json.loads(line) for line in (tiny_run / "results/data/sentiment/attack_sample.jsonl").open()]
    assert len(sample) == config["attack"]["sample_size"]
    for model, row in zip(models, table.itertuples()):
        examples = pd.read_csv(tiny_run / f"results/attack/{model}/examples.csv", keep_default_na=False)
        assert list(examples.columns) == ["id", "label", "original_prediction", "outcome", "perturbed_text",
                                          "perturbed_prediction", "words_changed", "queries"]
        assert list(examples["id"]) == [r["id"] for r in sample]  # the same sample for every target
        right = (examples["outcome"] != "skipped").mean() * 100
        assert row.original_accuracy == pytest.approx(right, abs=5e-4)
        assert row.original_accuracy == pytest.approx(
            (examples["original_prediction"] == examples["label"]).mean() * 100, abs=5e-4)
        assert row.after_attack_accuracy == pytest.approx((examples["outcome"] == "failed").mean() * 100, abs=5e-4)
        succeeded = json.loads((tiny_run / f"results/attack/{model}/succeeded.json").read_text())
        assert succeeded == sorted(examples.loc[examples["outcome"] == "succeeded", "id"])
        assert (tiny_run / f"logs/attack/{model}.log").read_text().count("attacked ") > 0
    for a, b, value in pd.read_csv(tiny_run / "results" / "table2.csv")[["model_a", "model_b", "adversarial"]].values:
        record = json.loads((tiny_run / f"results/compare/adversarial/{a}__{b}.json").read_text())
        assert record["jaccard"] == pytest.approx(value, abs=5e-5)


def test_changing_k_reruns_only_the_attacks_and_what_follows(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    config["attack"]["candidates"] = 5
    (tiny_run / "k5.yaml").write_text(yaml.safe_dump(config))
    assert planned_jobs(tiny_run, configfile=tiny_run / "k5.yaml") == {"attack": 4, "compare_adversarial": 6,
                                                                       "table2": 1}


def test_rerun_with_nothing_changed_runs_nothing(tiny_run):
    assert planned_jobs(tiny_run, configfile=tiny_run / "config.yaml") == {}
