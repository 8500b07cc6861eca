# Config validation, derived lists and input functions shared by all rules.
import sys

sys.path.insert(0, workflow.basedir)

from miniature import config as cfg  # noqa: E402

# Validate before anything else: a bad config stops here, before any job, naming the field.
try:
    _validated = cfg.validate_config(config)
except cfg.ConfigError as error:
    raise WorkflowError(str(error)) from None
config.clear()
config.update(_validated)

MODELS = list(config["models"])
PAIRS = cfg.model_pairs(config)
QA_SPLITS = list(config["data"]["qa"])
# Models with fine-tuning jobs: all but the post-training compressions (compress, stage
# finetuned), whose fine-tuned model is made by compress_finetuned from their parent's.
FINETUNED = cfg.fine_tuned_by_workflow(config)
POST_TRAINING = cfg.compressed_at(config, "finetuned")
COMPRESSED = POST_TRAINING + cfg.compressed_at(config, "pretrained")
TASKS = ["qa", *(["sentiment"] if "sentiment" in config["data"] else [])]


# Threads of a training or inference job. Small models gain little from a second thread,
# so on a small machine several one-thread jobs share it better than one job with all
# cores; bigger machines run two jobs at a time with half the cores each. torch inside a
# job never uses more threads than the machine has CPUs (miniature.runtime). A cluster
# profile sets each rule's threads instead (--set-threads).
HEAVY = max(1, min(workflow.cores or 1, os.cpu_count() or 1) // 2)


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


def pair_files(comparison):
    """The per-pair records of one comparison, in table order."""
    return [f"results/compare/{comparison}/{a}__{b}.json" for a, b in PAIRS]


def source_file(source):
    """The local file a data source reads (an input of its job), if any."""
    return [source["file"]["path"]] if "file" in source else []


def recipe(wildcards):
    return config["models"][wildcards.model]["build"]


def compression(wildcards):
    return config["models"][wildcards.model]["compress"]


def distils_at(wildcards, stage):
    """True when the model is distilled at ``stage`` (the only method that needs data)."""
    spec = compression(wildcards)
    return spec["method"] == "distil" and spec["stage"] == stage
