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
    sentiment_split=any_of(list(config["data"].get("sentiment", {}))),


def model_dir(key):
    return f"results/models/{key}"


def pair_files(comparison):
    """The per-pair records of one comparison, in table order."""
    return [f"results/compare/{comparison}/{a}__{b}.json" for a, b in PAIRS]


def source_file(source):
    """The local file a data source reads (an input of its job), if any."""
    return [source["file"]["path"]] if "file" in source else []


def recipe(wildcards):
    return config["models"][wildcards.model]["build"]


# Where the attack masked-LM is: a model's folder, or its own copy when it has its own source
# (a name no model key can take).
ATTACK_MASKED_LM_DIR = "results/models/_attack_masked_lm"


def attack_masked_lm():
    source = config["attack"]["masked_lm"]
    return model_dir(source) if isinstance(source, str) else ATTACK_MASKED_LM_DIR
