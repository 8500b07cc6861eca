"""The workflow as a whole: what a dry run schedules, and a tiny real run."""

import base64
import io
import json
import re

import browser
import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from runner import CONFIGS, ROOT, Job, planned_job_list, planned_jobs, snakemake

# The demo's default target: 4 models and the seed baseline (a second QA fine-tune of the
# reference), so 5 QA jobs of each kind; 4 sentiment fine-tunes and attacks (the seed baseline
# is QA only); 6 pairs per comparison, plus the seed-baseline pair for the agreement of errors
# (OOD and adversarial sets have no seed baseline): 7 + 6 + 6 agreement pairs. Only the K-NN
# comparison has a job per pair: Table 2 computes the set Jaccards from each model's sets.
DEMO_JOBS = {"corpus": 1, "qa_split": 3, "sentiment_split": 2, "attack_sample": 1, "tokenizer": 1, "pretrain": 2,
             "compress_pretrained": 2, "finetune_qa": 5, "finetune_sentiment": 4, "predict_qa": 5, "errors": 5,
             "attack": 4, "embed": 4, "neighbours": 8, "ood": 4, "compare_representation": 6, "table2": 1,
             "table3": 1, "models_table": 1,
             "figures": 1, "agreement_pair": 19, "agreement": 1, "heatmaps": 1, "report": 1, "all": 1}
TABLE2_COLUMNS = ["model_a", "model_b", "prediction_errors", "repr_before_mean", "repr_before_var",
                  "repr_after_mean", "repr_after_var", "data_distribution", "adversarial"]


def test_demo_dry_run_schedules_one_job_per_model_and_pair(tmp_path):
    assert planned_jobs(tmp_path, target="all", configfile=ROOT / "config.yaml") == DEMO_JOBS


def test_paper_dry_run_lists_six_models_and_fifteen_pairs(tmp_path):
    # The seed baseline is off in the paper config: no seventh fine-tune, no baseline pair.
    jobs = planned_jobs(tmp_path, target="all", configfile=ROOT / "configs" / "paper.yaml")
    assert jobs == {"fetch_model": 6, "qa_split": 3, "sentiment_split": 2, "attack_sample": 1, "finetune_qa": 6,
                    "finetune_sentiment": 6, "predict_qa": 6, "errors": 6, "attack": 6, "embed": 6,
                    "neighbours": 12, "ood": 6, "compare_representation": 15, "table2": 1, "table3": 1,
                    "models_table": 1, "figures": 1, "agreement_pair": 45,
                    "agreement": 1, "heatmaps": 1, "report": 1, "all": 1}


def test_post_training_compression_schedules_no_finetuning_job(tmp_path):
    """int8 and student are compressions of the fine-tuned large (stage finetuned): their QA
    and sentiment models are made from large's by compress_finetuned, never fine-tuned."""
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    config["models"]["int8"] = {"compress": {"from": "large", "method": "dynamic_int8"}}  # stage finetuned by default
    config["models"]["student"] = {"compress": {"from": "large", "method": "distil", "layers": 1, "steps": 10}}
    path = tmp_path / "post.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = " ".join(f"results/{out}/{model}/{file}" for model in ("int8", "student")
                       for out, file in (("predict", "metrics.json"), ("attack", "summary.json")))
    jobs = planned_job_list(tmp_path, targets, configfile=path)
    assert {job for job in jobs if job.rule in ("finetune_qa", "finetune_sentiment")} == {
        Job.of("finetune_qa", model="large"), Job.of("finetune_sentiment", model="large")}
    assert {job for job in jobs if job.rule == "compress_finetuned"} == {
        Job.of("compress_finetuned", model=m, task=t) for m in ("int8", "student") for t in ("qa", "sentiment")}
    # No rule fine-tunes a post-training compression, even when asked for directly.
    asked = snakemake(tmp_path, "--dry-run", "results/finetune/qa/int8", configfile=path, check=False)
    assert asked.returncode != 0 and "MissingRuleException" in asked.stdout + asked.stderr


def test_minilm_dry_run_schedules_its_compressions(tmp_path, shared_data):
    """The shipped config (hub data) with the override that reads the local copies instead,
    merged by Snakemake; the local files are then checked while the workflow is parsed."""
    override = yaml.safe_load((CONFIGS / "minilm_local.yaml").read_text())
    for split in override["data"]["qa"].values():  # the dry run runs elsewhere: absolute data paths
        split["file"]["path"] = str(shared_data / split["file"]["path"].removeprefix("../shared/data/"))
    (tmp_path / "minilm_local.yaml").write_text(yaml.safe_dump(override))
    targets = ("results/table2.csv", "results/models.csv")  # before --configfile, which takes several files
    jobs = planned_jobs(tmp_path, "", extra=(*targets, "--configfile", str(ROOT / "configs" / "minilm.yaml"),
                                             str(tmp_path / "minilm_local.yaml")))
    # Two fine-tunes (minilm, halved); the four post-training compressions are made from the
    # fine-tuned minilm, and every compression also has a pre-trained view (for the embed stage).
    assert jobs == {"fetch_model": 1, "qa_split": 3, "compress_pretrained": 5, "finetune_qa": 2,
                    "compress_finetuned": 4, "predict_qa": 6, "errors": 6, "embed": 6, "neighbours": 12, "ood": 6,
                    "compare_representation": 15, "table2": 1,
                    "models_table": 1}


def test_table3_needs_only_the_sentiment_and_attack_jobs(tmp_path):
    jobs = planned_jobs(tmp_path, target="results/table3.csv", configfile=ROOT / "config.yaml")
    assert jobs == {"corpus": 1, "sentiment_split": 2, "attack_sample": 1, "tokenizer": 1, "pretrain": 2,
                    "compress_pretrained": 2, "finetune_sentiment": 4, "attack": 4, "table3": 1}


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


def _ids(path, key=None):
    ids = json.loads(path.read_text())
    return set(ids if key is None else ids[key])


def _jaccard(path_a, path_b, key=None):
    """Jaccard of the id sets in two files (``key``: the set inside a file of several), computed here."""
    a, b = _ids(path_a, key), _ids(path_b, key)
    return len(a & b) / len(a | b) if a | b else 1.0


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
        compression = config["models"][model].get("compress", {})
        if compression.get("stage") == "finetuned":  # made from its parent's fine-tuned model
            assert compression["method"] in (tiny_run / f"logs/compress/qa/{model}.log").read_text()
        else:
            assert (tiny_run / f"logs/finetune/qa/{model}.log").read_text().count("step ") > 0

    # The errors column is the Jaccard of the two models' error sets.
    for a, b, value in zip(table.model_a, table.model_b, table.prediction_errors):
        assert value == pytest.approx(_jaccard(tiny_run / f"results/errors/{a}/errors.json",
                                               tiny_run / f"results/errors/{b}/errors.json"), abs=5e-5)


def test_models_table_reads_against_the_compressions(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "models.csv").set_index("model")
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    assert list(table.index) == list(config["models"])
    assert table.loc["truncated", "source"] == "layer_drop of large (finetuned) keep=[0]"
    assert table.loc["truncated", "layers"] == 1 and table.loc["distil", "layers"] == 1
    assert table.loc["large", "layers"] == 2 and table.loc["small", "hidden"] == 16
    assert table.loc["truncated", "parameters"] < table.loc["large", "parameters"]
    assert table.loc["truncated", "size_mb"] < table.loc["large", "size_mb"]
    assert (table.ms_per_question > 0).all() and table.f1.between(0, 100).all()
    # The post-training compression was made from large's fine-tuned models, not fine-tuned.
    for task in ("qa", "sentiment"):
        assert not (tiny_run / f"results/finetune/{task}/truncated").exists()
        assert (tiny_run / f"results/compress/{task}/truncated/compression.json").is_file()


def test_tiny_run_writes_table3_and_attack_examples(tiny_run):
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    models = list(config["models"])
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
        right = (examples["outcome"] != "skipped").mean()
        assert row.original_accuracy == pytest.approx(right, abs=5e-5)
        assert row.original_accuracy == pytest.approx(
            (examples["original_prediction"] == examples["label"]).mean(), abs=5e-5)
        assert row.after_attack_accuracy == pytest.approx((examples["outcome"] == "failed").mean(), abs=5e-5)
        # The paper's convention: a drop is a positive change.
        assert row.absolute_change == pytest.approx(row.original_accuracy - row.after_attack_accuracy, abs=1e-4)
        succeeded = json.loads((tiny_run / f"results/attack/{model}/succeeded.json").read_text())
        assert succeeded == sorted(examples.loc[examples["outcome"] == "succeeded", "id"])
        assert (tiny_run / f"logs/attack/{model}.log").read_text().count("attacked ") > 0
    for a, b, value in pd.read_csv(tiny_run / "results" / "table2.csv")[["model_a", "model_b", "adversarial"]].values:
        assert value == pytest.approx(_jaccard(tiny_run / f"results/attack/{a}/succeeded.json",
                                               tiny_run / f"results/attack/{b}/succeeded.json"), abs=5e-5)


def test_tiny_classifiers_are_above_chance_and_every_attack_set_is_non_empty(tiny_run):
    """Table 2's adversarial column is the Jaccard of the models' sets of successfully attacked
    reviews. A classifier at chance (the same class for every review) is right on half the
    sample and cannot be attacked there, nor anywhere else: every set is empty and every
    Jaccard 1, whatever Table 2 computes. The tiny config trains every classifier well above
    chance, so each model's set holds reviews and the column is tested on real sets."""
    from transformers import AutoModelForSequenceClassification

    from miniature import data, sentiment
    from miniature.config import compressed_at
    from miniature.model_io import load_model, load_tokenizer

    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    post_training = compressed_at(config, "finetuned")
    test = data.load_sentiment(tiny_run / "results/data/sentiment/test.jsonl")
    labels = [int(label) for label in test["label"]]
    majority = max(sum(labels), len(labels) - sum(labels)) / len(labels)  # one class for every review
    accuracies, attacked = {}, {}
    for model in config["models"]:
        # The classifier the attack targets: fine-tuned, or its parent's compressed after training.
        folder = tiny_run / "results" / ("compress" if model in post_training else "finetune") / "sentiment" / model
        predictions = sentiment.predict(load_model(AutoModelForSequenceClassification, folder), load_tokenizer(folder),
                                        test["text"], config["finetune"]["sentiment"]["max_length"])
        accuracies[model] = sentiment.accuracy(predictions, labels)
        if model not in post_training:  # the fine-tuning job's own measure, on the same reviews
            metrics = json.loads((folder / "metrics.json").read_text())
            assert metrics["accuracy"] == pytest.approx(accuracies[model]), model
        attacked[model] = json.loads((tiny_run / f"results/attack/{model}/succeeded.json").read_text())
    # 0.15 above always answering the larger class: on the 60 test reviews, 9 more right
    # answers than that, far more than a classifier at chance gets by luck.
    assert all(accuracy >= majority + 0.15 for accuracy in accuracies.values()), (majority, accuracies)
    assert all(attacked.values()), attacked


def test_changing_k_reruns_only_the_attacks_and_what_follows(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    config["attack"]["candidates"] = 5
    # Any key order gives the same params (test_incremental.py), but the models' order is
    # the tables' order: sort_keys=False keeps it.
    (tiny_run / "k5.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = planned_jobs(tiny_run, target="all", configfile=tiny_run / "k5.yaml")
    assert jobs == {"attack": 4, "table2": 1, "table3": 1, "agreement_pair": 6,
                    "agreement": 1, "heatmaps": 1, "report": 1, "all": 1}




def test_tiny_run_writes_agreement_with_the_seed_baseline(tiny_run):
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    baseline = f"large-seed{config['agreement']['baseline_seed']}"
    table = pd.read_csv(tiny_run / "results" / "agreement.csv")
    table2 = pd.read_csv(tiny_run / "results" / "table2.csv")
    pairs = list(zip(table2.model_a, table2.model_b))
    assert list(table.characteristic) == (["errors"] * (len(pairs) + 1) + ["distribution"] * len(pairs)
                                          + ["adversarial"] * len(pairs))
    for name, column in (("distribution", "data_distribution"), ("adversarial", "adversarial")):
        rows = table[table.characteristic == name]
        assert list(zip(rows.model_a, rows.model_b)) == pairs
        assert np.allclose(rows.jaccard, table2[column], atol=1e-4), name
        assert not rows.seed_baseline.any() and rows.kappa_of_ceiling.isna().all()
    sample = [json.loads(line) for line in (tiny_run / "results/data/sentiment/attack_sample.jsonl").open()]
    assert (table[table.characteristic == "adversarial"]["items"] == len(sample)).all()
    table = table[table.characteristic == "errors"]
    assert list(zip(table.model_a, table.model_b)) == pairs + [("large", baseline)]
    assert list(table.seed_baseline) == [False] * len(pairs) + [True]
    assert np.allclose(table.jaccard[: len(pairs)], table2.prediction_errors, atol=1e-4)
    assert (table.jaccard_ci_low <= table.jaccard + 1e-4).all() and (
        table.jaccard <= table.jaccard_ci_high + 1e-4).all()
    assert table.kappa.between(-1, 1).all() and table.expected_jaccard.between(0, 1).all()
    ceiling = table[table.seed_baseline].iloc[0]
    # Relative tolerance: the CSV rounds to 4 decimals, and a small ceiling magnifies that in the ratio.
    assert np.allclose(table.kappa_of_ceiling, table.kappa / ceiling.kappa, rtol=2e-3, atol=1e-3)

    # The seed baseline is the reference's pre-trained model fine-tuned with the other seed.
    training = json.loads((tiny_run / f"results/finetune/qa/{baseline}/training.json").read_text())
    assert training["seed"] == 1 and json.loads((tiny_run / "results/finetune/qa/large/training.json").read_text())[
        "seed"] == 0
    # Negative flips and answer agreement, recomputed from the per-model files.
    test = json.loads((tiny_run / "results/data/qa/test.json").read_text())
    n = sum(len(p["qas"]) for article in test["data"] for p in article["paragraphs"])
    for row in table.itertuples():
        errors_a = _ids(tiny_run / f"results/errors/{row.model_a}/errors.json")
        errors_b = _ids(tiny_run / f"results/errors/{row.model_b}/errors.json")
        assert row.items == n and row.negative_flip_rate == pytest.approx(len(errors_b - errors_a) / n, abs=1e-4)
        answers_a = json.loads((tiny_run / f"results/predict/{row.model_a}/predictions.json").read_text())
        answers_b = json.loads((tiny_run / f"results/predict/{row.model_b}/predictions.json").read_text())
        # Identical raw answers are identical normalised answers, and different errors are different answers.
        same_raw = sum(answers_a[q] == answers_b[q] for q in answers_a) / n
        assert same_raw - 1e-4 <= row.answer_agreement <= 1 - len(errors_a ^ errors_b) / n + 1e-4


def _data_uri_images(page):
    return re.findall(r'<img src="data:(image/[a-z+]+);base64,([^"]+)"', page)


def test_report_renders_in_a_headless_browser(tiny_run, tmp_path):
    report = tiny_run / "results" / "report.html"
    page = report.read_text(encoding="utf-8")
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(?!data:)', page)
    for heading in ("Table 2", "Agreement beyond chance", "Heatmaps", "Figure 1a", "Figure 1c", "Table 3",
                    "Configuration"):
        assert heading in page
    images = _data_uri_images(page)
    heatmaps = sorted((tiny_run / "results/figures/heatmaps").glob("*.png"))
    assert len(images) == len(heatmaps) + 3 and len(heatmaps) >= 1  # and Figure 1a, 1b, 1c
    for _, encoded in images:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            image.verify()

    # The browser decodes every image ...
    assert browser.decoded_images(report, tmp_path) == (len(images), len(images))
    # ... and a page with a broken image is caught by the same check.
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace(images[0][1][:400], "AAAA" * 100, 1), encoding="utf-8")
    assert browser.decoded_images(broken, tmp_path) == (len(images), len(images) - 1)

    # The screenshot is not blank, and has the heatmaps' colours (the page's own styles are grey).
    shot = browser.screenshot(report, tmp_path / "report.png")
    with Image.open(shot) as image:
        hsv = np.asarray(image.convert("RGB").convert("HSV"))
    assert hsv[..., 2].std() > 10, "the screenshot is blank"
    colourful = np.mean((hsv[..., 1] > 80) & (hsv[..., 2] > 40))
    assert colourful > 0.005, f"only {colourful:.4%} of the screenshot is coloured: the heatmaps did not render"


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
    k = str(config["knn"]["k"])
    for a, b, before, distribution in zip(table.model_a, table.model_b, table.repr_before_mean,
                                          table.data_distribution):
        record = json.loads((tiny_run / f"results/compare/representation/{a}__{b}.json").read_text())
        assert record["before_mean"] == pytest.approx(before, abs=5e-5)
        assert sorted({s["k"] for s in record["sweep"]}) == ks
        # The distribution column is the Jaccard of the two OOD sets at Table 2's K.
        assert distribution == pytest.approx(_jaccard(tiny_run / f"results/ood/{a}/flagged.json",
                                                      tiny_run / f"results/ood/{b}/flagged.json", k), abs=5e-5)


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
    # Figure 1c's numbers are the Jaccards of the reference's and each model's OOD sets, per K.
    reference = tiny_run / f"results/ood/{config['reference']}/flagged.json"
    for row in pd.read_csv(tiny_run / "results/figures/fig1c.csv").itertuples():
        flagged = tiny_run / f"results/ood/{row.model}/flagged.json"
        assert row.jaccard == pytest.approx(_jaccard(reference, flagged, str(row.k)), abs=5e-5), (row.model, row.k)
        assert row.flagged_model == len(_ids(flagged, str(row.k)))


# Every result marked with report() in rules/ (the heatmaps folder adds one PNG per characteristic).
REPORTED = ["results/table2.csv", "results/table3.csv", "results/models.csv", "results/agreement.csv",
            "results/report.html", "results/figures/fig1a.png", "results/figures/fig1b.png",
            "results/figures/fig1c.png"]


def test_snakemakes_report_holds_every_marked_result(tiny_run, tmp_path):
    """`snakemake --report report.zip` after a run: a browsable archive with the workflow's own
    page and each marked result, byte for byte as the run wrote it."""
    import zipfile

    result = snakemake(tiny_run, "--report", str(tmp_path / "report.zip"), configfile=tiny_run / "config.yaml")
    assert "(ERROR/" not in result.stdout + result.stderr  # a caption that is not valid reStructuredText
    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    assert any(name.endswith("report.html") and b"miniature" in content for name, content in members.items())
    heatmaps = sorted((tiny_run / "results/figures/heatmaps").glob("*.png"))
    assert len(heatmaps) == len(pd.read_csv(tiny_run / "results/agreement.csv")["characteristic"].unique()) + 1
    for path in [tiny_run / p for p in REPORTED] + heatmaps:
        assert path.read_bytes() in [c for n, c in members.items() if n.endswith("/" + path.name)], path
