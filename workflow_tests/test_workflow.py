"""The workflow as a whole: what a dry run schedules, and a tiny real run."""

import json

import pandas as pd
import pytest
import yaml

from runner import CONFIGS, ROOT, planned_jobs, snakemake

DEMO_JOBS = {"corpus": 1, "qa_split": 2, "tokenizer": 1, "pretrain": 2, "compress_pretrained": 2, "finetune_qa": 4,
             "compress_finetuned": 2, "predict_qa": 6, "errors": 6, "compare_errors": 15, "table2": 1}


def test_demo_dry_run_schedules_one_job_per_model_and_pair(tmp_path):
    assert planned_jobs(tmp_path, configfile=ROOT / "config.yaml") == DEMO_JOBS


def test_paper_dry_run_lists_six_models_and_fifteen_pairs(tmp_path):
    jobs = planned_jobs(tmp_path, configfile=ROOT / "configs" / "paper.yaml")
    assert jobs == {"fetch_model": 6, "qa_split": 2, "finetune_qa": 6, "predict_qa": 6, "errors": 6,
                    "compare_errors": 15, "table2": 1}


def test_post_training_compression_schedules_no_finetuning_job(tmp_path):
    """int8 and student are compressions of the fine-tuned large (stage finetuned): asking for
    their predictions fine-tunes large only, and each is made by compress_finetuned."""
    config = CONFIGS / "tiny.yaml"
    targets = ["results/predict/int8/metrics.json", "results/predict/student/metrics.json"]
    result = snakemake(tmp_path, "--dry-run", *targets, configfile=config)
    text = result.stdout + result.stderr
    assert "results/finetune/qa/large" in text
    assert "results/finetune/qa/int8" not in text and "results/finetune/qa/student" not in text
    jobs = planned_jobs(tmp_path, " ".join(targets), configfile=config)
    assert jobs["finetune_qa"] == 1 and jobs["compress_finetuned"] == 2
    # No rule fine-tunes a post-training compression, even when asked for directly.
    asked = snakemake(tmp_path, "--dry-run", "results/finetune/qa/int8", configfile=config, check=False)
    assert asked.returncode != 0 and "MissingRuleException" in asked.stdout + asked.stderr


def test_minilm_dry_run_schedules_its_compressions(tmp_path, shared_data):
    config = yaml.safe_load((ROOT / "configs" / "minilm.yaml").read_text())
    for split in config["data"]["qa"].values():  # the dry run runs elsewhere: absolute data paths
        split["file"]["path"] = str(shared_data / split["file"]["path"].removeprefix("../shared/data/"))
    (tmp_path / "minilm.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tmp_path, "results/table2.csv results/models.csv", configfile=tmp_path / "minilm.yaml")
    assert jobs == {"fetch_model": 1, "qa_split": 2, "compress_pretrained": 1, "finetune_qa": 2,
                    "compress_finetuned": 4, "predict_qa": 6, "errors": 6, "compare_errors": 15, "table2": 1,
                    "models_table": 1}


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
    assert list(table.columns) == ["model_a", "model_b", "prediction_errors"]
    n = len(models)
    assert len(table) == n * (n - 1) // 2
    assert list(table.model_a[: n - 1]) == ["large"] * (n - 1)  # reference pairs first, in config order
    assert list(table.model_b[: n - 1]) == models[1:]
    assert {frozenset(p) for p in zip(table.model_a, table.model_b)} == {
        frozenset((a, b)) for i, a in enumerate(models) for b in models[i + 1:]}
    assert table.prediction_errors.between(0, 1).all()

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


def test_models_table_reads_against_the_compressions(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "models.csv").set_index("model")
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    assert list(table.index) == list(config["models"])
    assert table.loc["int8", "source"] == "dynamic_int8 of large (finetuned)"
    assert table.loc["int8", "parameters"] == table.loc["large", "parameters"]
    assert table.loc["int8", "size_mb"] < 0.8 * table.loc["large", "size_mb"]
    assert table.loc["truncated", "layers"] == 1 and table.loc["student", "layers"] == 1
    assert table.loc["large", "layers"] == 2 and table.loc["small", "hidden"] == 16
    assert table.loc["truncated", "parameters"] < table.loc["large", "parameters"]
    assert (table.ms_per_question > 0).all() and table.f1.between(0, 100).all()
    for model in ("int8", "student"):
        assert not (tiny_run / f"results/finetune/qa/{model}").exists()
        assert (tiny_run / f"results/compress/qa/{model}/compression.json").is_file()


def test_rerun_with_nothing_changed_runs_nothing(tiny_run):
    assert planned_jobs(tiny_run, "results/table2.csv results/models.csv", configfile=tiny_run / "config.yaml") == {}
