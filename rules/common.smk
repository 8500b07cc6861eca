# Config validation, derived lists and input functions shared by all rules.
import sys

from snakemake.logging import logger

# The package is imported from this checkout, whichever folder Snakemake runs in.
sys.path.insert(0, workflow.basedir)

from miniature import characteristics
from miniature import config as cfg
from miniature import inputs

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
# The characteristics this config compares, in Table 2 order (miniature/characteristics.py
# declares each once; see the end of this file). The adversarial one (sentiment classifiers,
# BERT-Attack, Table 3) is there when the config has sentiment data.
CHARACTERISTICS = characteristics.configured(config)
ATTACKED = characteristics.ADVERSARIAL in CHARACTERISTICS
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


# Every model key has a pre-trained checkpoint, made by one of three rules according to the
# key's source, each rule into a folder of its own, so that a path names the rule that makes it
# (source, rule, folder):
#   hub, path, package  fetch_model (rules/models.smk)            results/models/fetched/{model}
#   build               pretrain (rules/models.smk)               results/models/built/{model}
#   compress            compress_pretrained (rules/compress.smk)  results/models/compressed/{model}
# (a compress key of stage finetuned too: its pre-trained view, and a distillation's start).
# Their logs and benchmarks follow the same folders. Every stage that reads a pre-trained
# checkpoint asks model_dir (never builds the path itself).
MODEL_FOLDERS = {
    "hub": "fetched",
    "path": "fetched",
    "package": "fetched",
    "build": "built",
    "compress": "compressed",
}


def model_dir(key):
    """The pre-trained checkpoint of a model key, in the folder of the rule that makes it."""
    return f"results/models/{MODEL_FOLDERS[cfg.model_source(config, key)]}/{key}"


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


# Where the attack masked-LM is: a model's checkpoint, or, when it has a source of its own, the
# copy fetch_attack_masked_lm (rules/attack.smk) makes in a folder of its own.
ATTACK_MASKED_LM_DIR = "results/models/_attack_masked_lm"


def attack_masked_lm():
    source = config["attack"]["masked_lm"]
    return model_dir(source) if isinstance(source, str) else ATTACK_MASKED_LM_DIR


# The characteristics the config computes, in Table 2's order. Each is declared once, in
# miniature.characteristics: where each model's result is, how two models' results are
# compared, its Table 2 columns and its report sections; every stage below reads that
# declaration. A characteristic plugs in with its declaration there, the rule file that
# writes its results and that file's include line in the Snakefile. Table 2
# (rules/compare.smk) reads the sets of every model and computes their Jaccards itself; the
# agreement stage (rules/agreement.smk) has a job per pair of each set characteristic.
SET_CHARACTERISTICS = {c.name: c for c in CHARACTERISTICS if c.compares_sets}


def result_files(characteristic, models=MODELS, pairs=PAIRS):
    """A characteristic's results in table order: each model's result (config order), or
    each pair's record when a job of its own compares the pairs."""
    if characteristic.compares_sets:
        return [characteristic.result_of(m) for m in models]
    return [characteristic.record_of(a, b) for a, b in pairs]


def agreement_pairs(characteristic):
    """Table order, then the seed baseline (reference vs its second fine-tune) if it applies."""
    baseline = SEED_BASELINE and characteristic.seed_baseline
    return PAIRS + ([(config["reference"], SEED_BASELINE)] if baseline else [])


def agreement_files(characteristic):
    return [
        f"results/agreement/{characteristic.name}/{a}__{b}.json"
        for a, b in agreement_pairs(characteristic)
    ]


def agreement_inputs(wildcards):
    characteristic = SET_CHARACTERISTICS[wildcards.comparison]
    files = {
        "a": characteristic.result_of(wildcards.a),
        "b": characteristic.result_of(wildcards.b),
        "universe": characteristic.universe,
    }
    if characteristic.answers is not None:
        files["answers_a"] = characteristic.answers.format(model=wildcards.a)
        files["answers_b"] = characteristic.answers.format(model=wildcards.b)
    return files


def set_key(wildcards):
    """The set an agreement job compares inside each model's result: the one at Table 2's K
    when the result holds a set per K, else the whole result (None)."""
    per_k = characteristics.Comparison.SETS_PER_K
    compared = SET_CHARACTERISTICS[wildcards.comparison].comparison
    return str(config["knn"]["k"]) if compared is per_k else None
