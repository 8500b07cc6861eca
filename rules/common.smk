# Config validation, derived lists and input functions shared by all rules.
import sys

from snakemake.logging import logger

sys.path.insert(0, workflow.basedir)

from miniature import config as cfg  # noqa: E402
from miniature import inputs  # noqa: E402

# Validate before anything else: a bad config stops here, before any job, naming the field.
try:
    _validated = cfg.validate_config(config)
except cfg.ConfigError as error:
    raise WorkflowError(str(error)) from None
# Then every mapping's keys in one order (config.canonical): Snakemake compares params by
# their repr, dict key order included, so a config whose keys are merely reordered would
# otherwise rerun every job. The models keep their order: it is the tables' row order.
config.clear()
config.update(cfg.canonical(_validated))


# Then open what the config points at on this machine (local data files, model folders): a
# bad input stops here too, naming the field, the file and the record. A QA file that is not
# there yet (or a model package not installed yet) passes here, so a dry run can show the plan
# before a user supplies the file; a real run stops on it before its first job (onstart, which
# dry runs skip). Only the main
# process checks; a job that re-reads the workflow on a cluster node trusts its result.
def check_inputs(missing_ok):
    try:
        inputs.check_inputs(config, missing_ok=missing_ok)
    except inputs.InputError as error:
        raise WorkflowError(str(error)) from None


if workflow.is_main_process:
    check_inputs(missing_ok=True)


onstart:
    check_inputs(missing_ok=False)


MODELS = list(config["models"])
PAIRS = cfg.model_pairs(config)
REFERENCE_PAIRS = [p for p in PAIRS if p[0] == config["reference"]]
QA_SPLITS = list(config["data"]["qa"])
# The seed baseline (None when off): the reference fine-tuned for QA again with another seed,
# under a derived key. QA_MODELS are the keys with QA jobs: the models and that baseline.
SEED_BASELINE = cfg.seed_baseline(config)
QA_MODELS = cfg.qa_models(config)
# QA keys with fine-tuning jobs: all but the post-training compressions (compress, stage
# finetuned), whose fine-tuned model is made by compress_finetuned from their parent's.
FINETUNED = cfg.fine_tuned_by_workflow(config)
POST_TRAINING = cfg.compressed_at(config, "finetuned")
COMPRESSED = POST_TRAINING + cfg.compressed_at(config, "pretrained")
# The adversarial characteristic (sentiment classifiers, BERT-Attack, Table 3) runs when the
# config has sentiment data; without it Table 2 has no adversarial column.
ATTACKED = "sentiment" in config["data"]
# Each task's training split (the files rules/data.smk writes).
TRAIN_SPLIT = {
    "qa": "results/data/qa/train.json",
    "sentiment": "results/data/sentiment/train.jsonl",
}
TASKS = ["qa", "sentiment"] if ATTACKED else ["qa"]
# Every K a comparison needs (Table 2's and Figure 1's); neighbours are searched once, at K_MAX.
KS = sorted({config["knn"]["k"], *config["knn"]["sweep"]})
K_MAX = max(KS)


# Threads of a training or inference job (rules with `threads: HEAVY`).
# - One machine (--cores N, profiles/local): half the usable cores, so two such jobs run
#   side by side. Small models gain little from a second thread, so on a small machine
#   several one-thread jobs share it better than one job with all cores.
# - A cluster (no --cores: every job is submitted, profiles/slurm) and inside a cluster job:
#   CLUSTER_THREADS. It must be the same number in the submitting process (which asks the
#   scheduler for that many CPUs) and in the job (which starts its step with that many), so
#   it cannot depend on the machine either runs on.
# A profile sets each rule's threads (set-threads), which overrides both. torch inside a job
# never uses more threads than the CPUs it may run on (miniature.runtime).
# Every rule also declares mem_mb and runtime (minutes), sized for the paper config; profiles
# override them per rule (set-resources), never the config. Every rule that runs a model also
# declares gpu=0: a profile that grants it GPUs (gpu: 1) makes the job run its models there
# (miniature.runtime.job_device); nothing else changes.
CLUSTER_THREADS = 4
_given_cores = workflow.resource_settings.cores  # None when every job is submitted
if workflow.remote_exec or _given_cores is None:
    HEAVY = CLUSTER_THREADS
else:
    HEAVY = max(1, min(_given_cores, os.cpu_count() or 1) // 2)


def any_of(names):
    """A wildcard constraint matching exactly one of ``names`` (or nothing if empty)."""
    return "|".join(names) if names else "(?!)"


wildcard_constraints:
    model=any_of(MODELS),
    a=any_of(MODELS),
    b=any_of(MODELS),
    qa_split=any_of(QA_SPLITS),
    task=any_of(TASKS),
    sentiment_split=any_of(list(config["data"].get("sentiment", {}))),


def model_dir(key):
    """The pre-trained checkpoint of a model key (every key has one, see rules/compress.smk)."""
    return f"results/models/{key}"


def finetuned_model(key, task="qa"):
    """The fine-tuned model of a model key for a task, wherever it is made.

    Every stage that uses fine-tuned models asks this function (never builds the path
    itself): a model is fine-tuned by the task's fine-tuning rule, which must match only
    the keys in FINETUNED, except a post-training compression, which compress_finetuned
    makes from its parent's fine-tuned model for the same task.
    """
    if key in POST_TRAINING:
        return f"results/compress/{task}/{key}"
    return f"results/finetune/{task}/{key}"


def representation_files(pairs=PAIRS):
    """The per-pair K-NN comparison records, in table order."""
    return [f"results/compare/representation/{a}__{b}.json" for a, b in pairs]


def source_file(source):
    """The local file a data source reads (an input of its job), if any.

    A file that is not there yet (one the user has still to supply) is left out, so that a
    dry run still shows the plan; a real run stops before its first job (onstart).
    """
    if "file" not in source:
        return []
    path = source["file"]["path"]
    return [path] if os.path.exists(path) else []


for _name, _source in config["data"]["qa"].items():
    if "file" in _source and not os.path.exists(_source["file"]["path"]):
        logger.warning(
            f"data.qa.{_name}: {_source['file']['path']} does not exist yet; a run stops "
            "before its first job until it does"
        )


def qa_setting(name):
    """A model's QA fine-tuning setting (e.g. max_length), as a params function: data points
    are cut into windows exactly as that model's training windows were."""
    return lambda wildcards: cfg.finetune_settings(config, wildcards.model, "qa")[name]


def recipe(wildcards):
    return config["models"][wildcards.model]["build"]


def compression(wildcards):
    return config["models"][wildcards.model]["compress"]


def distils_at(wildcards, stage):
    """True when the model is distilled at ``stage`` (the only method that needs data)."""
    spec = compression(wildcards)
    return spec["method"] == "distil" and spec["stage"] == stage


# Where the attack masked-LM is: a model's folder, or its own copy when it has its own source
# (a name no model key can take).
ATTACK_MASKED_LM_DIR = "results/models/_attack_masked_lm"


def attack_masked_lm():
    source = config["attack"]["masked_lm"]
    return model_dir(source) if isinstance(source, str) else ATTACK_MASKED_LM_DIR


# The set comparisons: name -> each model's id set ({model} in the path), the universe of
# items the sets are subsets of, optionally each model's answers (the sets are then the
# errors of those answers: adds answer agreement and the negative-flip rate), and whether
# the seed baseline makes such a set (only sets that come from the QA fine-tune). "key"
# picks the set out of a file that holds several (the OOD sets per K). A characteristic
# plugs in with one entry. Table 2 (rules/compare.smk) reads the sets of every model and
# computes their Jaccards itself; the agreement stage (rules/agreement.smk) has a job per pair.
SET_COMPARISONS = {
    "errors": {
        "sets": "results/errors/{model}/errors.json",
        "universe": "results/data/qa/test.json",
        "answers": "results/predict/{model}/predictions.json",
        "seed_baseline": True,
    },
    # The challenge questions each model's Deep-kNN detector flags at Table 2's K.
    "distribution": {
        "sets": "results/ood/{model}/flagged.json",
        "key": str(config["knn"]["k"]),
        "universe": "results/data/qa/challenge.json",
    },
}
if ATTACKED:
    # The attacked sentiment reviews whose prediction BERT-Attack changed.
    SET_COMPARISONS["adversarial"] = {
        "sets": "results/attack/{model}/succeeded.json",
        "universe": "results/data/sentiment/attack_sample.jsonl",
    }


def set_files(comparison, models=MODELS):
    """Each model's sets in one set comparison, in config order."""
    return [SET_COMPARISONS[comparison]["sets"].format(model=m) for m in models]


def agreement_pairs(comparison):
    """Table order, then the seed baseline (reference vs its second fine-tune) if it applies."""
    baseline = SEED_BASELINE and SET_COMPARISONS[comparison].get("seed_baseline")
    return PAIRS + ([(config["reference"], SEED_BASELINE)] if baseline else [])


def agreement_files(comparison):
    return [
        f"results/agreement/{comparison}/{a}__{b}.json"
        for a, b in agreement_pairs(comparison)
    ]


def agreement_inputs(wildcards):
    entry = SET_COMPARISONS[wildcards.comparison]
    files = {
        "a": entry["sets"].format(model=wildcards.a),
        "b": entry["sets"].format(model=wildcards.b),
        "universe": entry["universe"],
    }
    if "answers" in entry:
        files["answers_a"] = entry["answers"].format(model=wildcards.a)
        files["answers_b"] = entry["answers"].format(model=wildcards.b)
    return files
