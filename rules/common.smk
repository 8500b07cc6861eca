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
# override them per rule (set-resources), never the config.
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
