"""What every workflow job does first: logging to its log file, thread count, offline mode.

This module imports nothing heavy: the hub's offline switch must be set before
``transformers``/``datasets`` are imported, because they read it at import time.
"""

from __future__ import annotations

import logging
import os
import sys


def start_job(snakemake, offline: bool = True, uses_sklearn: bool = False) -> logging.Logger:
    """Configure a job from its Snakemake object; return the logger to report progress to.

    Jobs that need no download run with the hub switched off, so the offline demo can
    never hang on a network call; download jobs pass ``offline=False``. Jobs that import
    scikit-learn (through a library: the attack's textattack imports flair, which imports it)
    pass ``uses_sklearn=True``.
    """
    if not uses_sklearn:
        # transformers' generation utilities import scikit-learn's metrics whenever it is
        # installed, only for assisted generation, which no stage uses: a slow import at the
        # start of every model job. A None entry in sys.modules makes Python (and so
        # transformers' availability check) treat the package as absent in this job.
        sys.modules.setdefault("sklearn", None)
    if offline:
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ[name] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(str(snakemake.log[0]), mode="w"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # torch reads these when it is imported (later, by the job's own code). More threads than
    # CPUs only makes threads wait for each other.
    threads = max(1, min(int(snakemake.threads), len(os.sched_getaffinity(0))))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    log = logging.getLogger(f"miniature.{snakemake.rule}")
    log.info("rule %s, wildcards %s, %d thread(s)", snakemake.rule, dict(snakemake.wildcards), threads)
    return log


def job_device(snakemake) -> str:
    """Where a job's model runs: "cuda" when its rule was given GPUs (resources ``gpu``), else "cpu".

    A job that asked for a GPU and sees none stops here: on a cluster, training a large model
    on the CPU instead would silently take days.
    """
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    if gpus <= 0:
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        build = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
        raise RuntimeError(
            f"rule {snakemake.rule} asked for {gpus} GPU(s) (resources gpu={gpus}) but torch {torch.__version__} "
            f"cannot use one: {build} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}). "
            "Run it where a GPU is granted and a CUDA build of torch is installed, or set gpu to 0 (see README, GPUs).")
    return "cuda"
