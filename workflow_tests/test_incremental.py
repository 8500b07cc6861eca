"""Partial reruns: after a completed tiny run, a dry run schedules exactly the jobs a change needs.

Each scenario edits a copy of the tiny config and compares the dry run's job list with the
expected jobs, each given with the reason it must run. When a stage adds rules to the
table2 DAG, add its jobs to the helpers below (per model, per pair, aggregations) and every
scenario follows.
"""

import pytest
import yaml

from runner import CONFIGS, Job, planned_job_list

TINY_MODELS = ["large", "truncated", "distil", "small"]  # workflow_tests/configs/tiny.yaml, in order


def model_jobs_from_finetuning(model):
    """The jobs of one model that read its fine-tuned weights (or their outputs)."""
    return {
        Job.of("finetune_qa", model=model): "fine-tuning for QA",
        Job.of("predict_qa", model=model): "answers of the fine-tuned model",
        Job.of("errors", model=model): "errors of those answers",
    }


def model_jobs(model):
    """Every job of one model except the one that builds or fetches it."""
    return model_jobs_from_finetuning(model)


def pair_jobs(a, b):
    """The jobs of one model pair (in table order: a before b)."""
    return {Job.of("compare_errors", a=a, b=b): "Jaccard of the two error sets"}


def aggregate_jobs():
    """Jobs that read every pair."""
    return {Job.of("table2"): "Table 2 has a row per pair"}


def k_sweep_jobs(models, pairs):
    """The jobs that depend on the K sweep but not on its largest K (issue 4's rules: the
    neighbour lists are searched once at the largest K and sliced)."""
    return {
        **{Job.of("ood", model=m): "OOD flags at every K" for m in models},
        **{Job.of("compare_representation", a=a, b=b): "K-NN agreement at every K" for a, b in pairs},
        **{Job.of("compare_distribution", a=a, b=b): "OOD agreement at every K" for a, b in pairs},
        **aggregate_jobs(),
    }


# (b) The K sweep's place in the config (issue 4). The scenario is skipped while the tiny
# config has none.
K_SWEEP = ("knn", "sweep")


def _config():
    return yaml.safe_load((CONFIGS / "tiny.yaml").read_text())


def _planned_after(tiny_run, name, config):
    """The jobs a dry run schedules in the completed tiny run after changing the config to ``config``."""
    path = tiny_run / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = planned_job_list(tiny_run, configfile=path)
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


def test_adding_a_model_runs_only_its_jobs_its_pairs_and_the_tables(tiny_run):
    config = _config()
    config["models"]["extra"] = {"build": {"recipe": "pretrain", "layers": 1, "hidden": 16, "heads": 2,
                                           "intermediate": 32, "steps": 10}}
    expected = {Job.of("pretrain", model="extra"): "the new model is built", **model_jobs("extra"),
                **{job: why for other in TINY_MODELS for job, why in pair_jobs(other, "extra").items()},
                **aggregate_jobs()}
    planned = _planned_after(tiny_run, "added", config)
    _assert_jobs(planned, expected)
    assert len(planned) == 9


def test_changing_one_models_fine_tuning_reruns_only_its_downstream_jobs_and_pairs(tiny_run):
    config = _config()
    config["models"]["distil"]["finetune"] = {"qa": {"learning_rate": 5.0e-4}}
    expected = {**model_jobs_from_finetuning("distil"),
                **{job: why for a, b in [("large", "distil"), ("truncated", "distil"), ("distil", "small")]
                   for job, why in pair_jobs(a, b).items()},
                **aggregate_jobs()}
    planned = _planned_after(tiny_run, "finetune_distil", config)
    _assert_jobs(planned, expected)
    assert len(planned) == 7


def test_changing_only_the_k_sweep_reruns_only_k_dependent_jobs(tiny_run):
    config = _config()
    node = config
    for key in K_SWEEP[:-1]:
        node = node.get(key, {})
    sweep = node.get(K_SWEEP[-1])
    if not sweep:
        pytest.skip(f"the config has no K sweep ({'.'.join(K_SWEEP)}) yet: issue 4 adds it")
    # New Ks below the largest one, which stays: no neighbour search needs to run again.
    node[K_SWEEP[-1]] = [k for k in range(1, max(sweep)) if k not in sweep][:2] + [max(sweep)]
    planned = _planned_after(tiny_run, "k_sweep", config)
    pairs = [(a, b) for i, a in enumerate(TINY_MODELS) for b in TINY_MODELS[i + 1:]]
    _assert_jobs(planned, k_sweep_jobs(TINY_MODELS, pairs))
    retrained = planned & {job for model in TINY_MODELS for job in model_jobs_from_finetuning(model)}
    assert not retrained, f"changing K must not fine-tune or predict again: {sorted(map(str, retrained))}"
