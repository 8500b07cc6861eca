"""Partial reruns: after a completed tiny run, a dry run schedules exactly the jobs a change needs.

Each scenario edits a copy of the tiny config and compares the dry run's job list with the
expected jobs, each given with the reason it must run. When a stage adds rules to the
table2 DAG, add its jobs to the helpers below (per model, per pair, aggregations) and every
scenario follows.
"""

import yaml
from runner import CONFIGS, Job, planned_job_list

TINY_MODELS = ["large", "truncated", "distil", "small"]  # workflow_tests/configs/tiny.yaml, in order


def model_jobs(model):
    """Every job of one model from its QA fine-tuning on (all but the job that builds or fetches it)."""
    return {
        Job.of("finetune_qa", model=model): "fine-tuning for QA",
        Job.of("predict_qa", model=model): "answers of the fine-tuned model",
        Job.of("errors", model=model): "errors of those answers",
        # One embed job writes both stages, so both neighbour lists follow it.
        Job.of("embed", model=model): "[CLS] vectors before and after fine-tuning",
        Job.of("neighbours", model=model, stage="before"): "neighbour lists before fine-tuning",
        Job.of("neighbours", model=model, stage="after"): "neighbour lists after fine-tuning",
        Job.of("ood", model=model): "OOD flags from the fine-tuned features",
    }


def attack_jobs(model):
    """The jobs of one model on the sentiment task (independent of its QA fine-tuning)."""
    return {Job.of("finetune_sentiment", model=model): "fine-tuning for sentiment",
            Job.of("attack", model=model): "BERT-Attack on the sentiment classifier"}


QA_COMPARISONS = ("errors", "representation", "distribution")


def pair_jobs(a, b, comparisons=(*QA_COMPARISONS, "adversarial")):
    """The jobs of one model pair (in table order: a before b): the K-NN comparison, and the
    agreement beyond chance of each set comparison (agreement.csv). Table 2 computes the set
    Jaccards itself, so the set comparisons have no compare job of their own."""
    jobs = {Job.of("compare_representation", a=a, b=b): "K-NN agreement"} if "representation" in comparisons else {}
    jobs.update({Job.of("agreement_pair", comparison=c, a=a, b=b): f"agreement of {c}"
                 for c in ("errors", "distribution", "adversarial") if c in comparisons})
    return jobs


def aggregate_jobs():
    """Jobs that read every pair (the default target's tables, figures and report)."""
    return {Job.of("table2"): "Table 2 has a row per pair", Job.of("figures"): "Figure 1: reference vs others",
            Job.of("agreement"): "agreement.csv has a row per pair", Job.of("heatmaps"): "heatmaps of all pairs",
            Job.of("report"): "the report shows all of them", Job.of("all"): "the default target"}


MODELS_TABLE = {Job.of("models_table"): "models.csv has a row per model, with its size and accuracy"}


def k_sweep_jobs(models, pairs):
    """The jobs that depend on the K sweep but not on its largest K (the neighbour lists are
    searched once at the largest K and sliced), with the ones downstream of them."""
    return {
        **{Job.of("ood", model=m): "OOD flags at every K" for m in models},
        **{job: why for a, b in pairs for job, why in pair_jobs(a, b, ("representation", "distribution")).items()},
        **aggregate_jobs(),
    }


def _config():
    return yaml.safe_load((CONFIGS / "tiny.yaml").read_text())


def _planned_after(tiny_run, name, config):
    """The jobs a dry run schedules in the completed tiny run after changing the config to ``config``."""
    path = tiny_run / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = planned_job_list(tiny_run, target="all", configfile=path)
    assert len(jobs) == len(set(jobs)), f"a job is scheduled twice: {jobs}"
    return set(jobs)


def _assert_jobs(planned, expected):
    missing = {str(job): why for job, why in expected.items() if job not in planned}
    unexpected = sorted(str(job) for job in planned - set(expected))
    assert not missing and not unexpected, f"expected but not scheduled: {missing}; scheduled needlessly: {unexpected}"


def test_tiny_config_lists_the_models_these_tests_expect():
    assert list(_config()["models"]) == TINY_MODELS


def test_nothing_changed_runs_nothing(tiny_run):
    assert _planned_after(tiny_run, "unchanged", _config()) == set()


def _reversed_keys(value):
    """``value`` with every mapping's keys in reverse order, recursively (lists keep their order)."""
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


def test_a_config_with_its_keys_reordered_reruns_nothing(tiny_run):
    # What a YAML dumper (sort_keys) or an editor's formatter does to a config: the params of
    # every job are mappings derived from it, and Snakemake compares params by their repr.
    config = _config()
    reordered = _reversed_keys(config)
    # Except the models: their order is the order of the tables' rows and of each pair's two
    # models (miniature.config.canonical), so reordering them rightly changes outputs.
    reordered["models"] = {key: reordered["models"][key] for key in config["models"]}
    assert list(reordered) != list(config)
    assert list(reordered["finetune"]["qa"]) != list(config["finetune"]["qa"])
    assert list(reordered["models"]["large"]["build"]) != list(config["models"]["large"]["build"])
    assert _planned_after(tiny_run, "reordered", reordered) == set()


def test_adding_a_model_runs_only_its_jobs_its_pairs_and_the_tables(tiny_run):
    config = _config()
    config["models"]["extra"] = {"build": {"recipe": "pretrain", "layers": 1, "hidden": 16, "heads": 2,
                                           "intermediate": 32, "steps": 10}}
    expected = {Job.of("pretrain", model="extra"): "the new model is built", **model_jobs("extra"),
                **attack_jobs("extra"), Job.of("table3"): "Table 3 has a row per model", **MODELS_TABLE,
                **{job: why for other in TINY_MODELS for job, why in pair_jobs(other, "extra").items()},
                **aggregate_jobs()}
    _assert_jobs(_planned_after(tiny_run, "added", config), expected)


def test_changing_one_models_fine_tuning_reruns_only_its_downstream_jobs_and_pairs(tiny_run):
    config = _config()
    config["models"]["distil"]["finetune"] = {"qa": {"learning_rate": 5.0e-4}}
    expected = {**model_jobs("distil"),
                # Its sentiment classifier and its attack do not depend on QA fine-tuning.
                **{job: why for a, b in [("large", "distil"), ("truncated", "distil"), ("distil", "small")]
                   for job, why in pair_jobs(a, b, QA_COMPARISONS).items()},
                **MODELS_TABLE, **aggregate_jobs()}
    _assert_jobs(_planned_after(tiny_run, "finetune_distil", config), expected)


def test_changing_only_the_k_sweep_reruns_only_k_dependent_jobs(tiny_run):
    config = _config()
    sweep = config["knn"]["sweep"]
    # New Ks below the largest one, which stays: no neighbour search needs to run again.
    config["knn"]["sweep"] = [k for k in range(1, max(sweep)) if k not in sweep][:2] + [max(sweep)]
    pairs = [(a, b) for i, a in enumerate(TINY_MODELS) for b in TINY_MODELS[i + 1:]]
    _assert_jobs(_planned_after(tiny_run, "k_sweep", config), k_sweep_jobs(TINY_MODELS, pairs))


def test_a_larger_largest_k_searches_neighbours_again_but_embeds_nothing(tiny_run):
    config = _config()
    config["knn"]["sweep"] = [2, max(config["knn"]["sweep"]) + 2]
    pairs = [(a, b) for i, a in enumerate(TINY_MODELS) for b in TINY_MODELS[i + 1:]]
    expected = {**k_sweep_jobs(TINY_MODELS, pairs),
                **{Job.of("neighbours", model=m, stage=s): "neighbours at the new largest K"
                   for m in TINY_MODELS for s in ("before", "after")}}
    _assert_jobs(_planned_after(tiny_run, "larger_k", config), expected)
