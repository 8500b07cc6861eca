"""The workflow as a whole: what a dry run schedules, and a tiny real run."""

import json

import pandas as pd
import pytest
import yaml

from runner import CONFIGS, ROOT, planned_jobs, snakemake

DEMO_JOBS = {"corpus": 1, "qa_split": 3, "tokenizer": 1, "pretrain": 2, "distil": 1, "truncate": 1,
             "finetune_qa": 4, "predict_qa": 4, "errors": 4, "compare_errors": 6, "embed": 4, "neighbours": 8,
             "ood": 4, "compare_representation": 6, "compare_distribution": 6, "table2": 1}
TABLE2_COLUMNS = ["model_a", "model_b", "prediction_errors", "repr_before_mean", "repr_before_var",
                  "repr_after_mean", "repr_after_var", "data_distribution"]


def test_demo_dry_run_schedules_one_job_per_model_and_pair(tmp_path):
    assert planned_jobs(tmp_path, configfile=ROOT / "config.yaml") == DEMO_JOBS


def test_paper_dry_run_lists_six_models_and_fifteen_pairs(tmp_path):
    jobs = planned_jobs(tmp_path, configfile=ROOT / "configs" / "paper.yaml")
    assert jobs == {"fetch_model": 6, "qa_split": 3, "finetune_qa": 6, "predict_qa": 6, "errors": 6,
                    "compare_errors": 15, "embed": 6, "neighbours": 12, "ood": 6, "compare_representation": 15,
                    "compare_distribution": 15, "table2": 1}


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
    assert list(table.columns) == TABLE2_COLUMNS
    n = len(models)
    assert len(table) == n * (n - 1) // 2
    assert list(table.model_a[: n - 1]) == ["large"] * (n - 1)  # reference pairs first, in config order
    assert list(table.model_b[: n - 1]) == models[1:]
    assert {frozenset(p) for p in zip(table.model_a, table.model_b)} == {
        frozenset((a, b)) for i, a in enumerate(models) for b in models[i + 1:]}
    for column in TABLE2_COLUMNS[2:]:
        assert table[column].between(0, 1).all(), column

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


def test_rerun_with_nothing_changed_runs_nothing(tiny_run):
    assert planned_jobs(tiny_run, configfile=tiny_run / "config.yaml") == {}


def test_tiny_run_writes_ood_results_and_agreement_records(tiny_run):
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    ks = sorted({config["knn"]["k"], *config["knn"]["sweep"]})
    challenge = json.loads((tiny_run / "results/data/qa/challenge.json").read_text())
    challenge_ids = {qa["id"] for article in challenge["data"] for p in article["paragraphs"] for qa in p["qas"]}
    for model in config["models"]:
        flagged = json.loads((tiny_run / f"results/ood/{model}/flagged.json").read_text())
        detector = json.loads((tiny_run / f"results/ood/{model}/detector.json").read_text())
        assert sorted(int(k) for k in flagged) == sorted(int(k) for k in detector["k"]) == ks
        for k, ids in flagged.items():
            assert set(ids) <= challenge_ids
            d = detector["k"][k]
            assert d["heldout_kept"] >= 0.95 and 0 <= d["auroc"] <= 1
            assert d["fpr_at_tpr"] == pytest.approx(1 - len(ids) / len(challenge_ids))
    table = pd.read_csv(tiny_run / "results" / "table2.csv")
    for a, b, before, distribution in zip(table.model_a, table.model_b, table.repr_before_mean, table.data_distribution):
        record = json.loads((tiny_run / f"results/compare/representation/{a}__{b}.json").read_text())
        assert record["before_mean"] == pytest.approx(before, abs=5e-5)
        assert sorted({s["k"] for s in record["sweep"]}) == ks
        record = json.loads((tiny_run / f"results/compare/distribution/{a}__{b}.json").read_text())
        assert record["jaccard"] == pytest.approx(distribution, abs=5e-5)


def test_tiny_run_figures(tiny_run):
    snakemake(tiny_run, "--cores", "1", "results/figures/fig1a.png", "results/figures/fig1b.png",
              "results/figures/fig1c.png", configfile=tiny_run / "config.yaml")
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    others = [m for m in config["models"] if m != config["reference"]]
    for figure in ("fig1a", "fig1b", "fig1c"):
        assert (tiny_run / f"results/figures/{figure}.png").read_bytes()[:4] == b"\x89PNG"
        numbers = pd.read_csv(tiny_run / f"results/figures/{figure}.csv")
        assert set(numbers.reference) == {config["reference"]}
        assert sorted(set(numbers.model)) == sorted(others)  # one line per compared model
        assert sorted(set(numbers.k)) == sorted(set(config["knn"]["sweep"]) | {config["knn"]["k"]})


def _with_knn(workdir, name, **knn):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["knn"].update(knn)
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))  # sorted keys would reorder models and params
    return path


def test_changing_the_k_sweep_reruns_only_what_depends_on_k(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    k_max = max(config["knn"]["sweep"])
    # A new K below the largest: the neighbour lists (searched at the largest K) stay.
    jobs = planned_jobs(tiny_run, configfile=_with_knn(tiny_run, "sweep.yaml", sweep=[1, 3, k_max]))
    assert jobs == {"ood": 4, "compare_representation": 6, "compare_distribution": 6, "table2": 1}
    # A larger largest K: the neighbour lists are searched again, but nothing is embedded again.
    jobs = planned_jobs(tiny_run, configfile=_with_knn(tiny_run, "larger.yaml", sweep=[2, k_max + 2]))
    assert jobs == {"neighbours": 8, "ood": 4, "compare_representation": 6, "compare_distribution": 6, "table2": 1}
    assert not {"embed", "finetune_qa", "predict_qa", "pretrain", "distil", "truncate"} & set(jobs)
