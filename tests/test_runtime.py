"""Job setup: where a job's model runs, from the resources its rule was given."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from snakemake.iocontainers import Namedlist

from miniature.runtime import job_device


def _job(**resources):
    # What a script sees as `snakemake`: the rule's name and its resources.
    return SimpleNamespace(rule="finetune_qa", resources=Namedlist(fromdict=resources))


@pytest.mark.parametrize("resources", [{}, {"gpu": 0}, {"mem_mb": 1000, "gpu": 0}])
def test_jobs_without_a_gpu_run_on_the_cpu(resources):
    assert job_device(_job(**resources)) == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a usable GPU")
def test_a_job_that_asked_for_a_gpu_stops_when_torch_sees_none():
    with pytest.raises(RuntimeError, match=r"rule finetune_qa asked for 1 GPU\(s\) \(resources gpu=1\)"):
        job_device(_job(gpu=1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_job_that_asked_for_a_gpu_runs_on_it():
    assert job_device(_job(gpu=1)) == "cuda"


def _rules() -> dict[str, str]:
    """Rule name -> its text, from rules/*.smk."""
    rules = {}
    for smk in sorted((Path(__file__).resolve().parent.parent / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule \w+:)", smk.read_text(), flags=re.M):
            head = re.match(r"rule (\w+):", block)
            if head:
                rules[head.group(1)] = block
    return rules


def test_every_rule_that_runs_a_model_asks_for_gpus_and_runs_on_them():
    """The GPU plumbing: a rule whose script runs a model declares ``gpu`` (0 by default) and
    passes ``job_device(snakemake)`` on; the training and inference rules (threads: HEAVY) are
    exactly those rules."""
    root = Path(__file__).resolve().parent.parent
    runs_a_model, heavy = set(), set()
    for name, text in _rules().items():
        script = re.search(r'script:\s*"\.\./(scripts/\w+\.py)"', text)
        if script and "device=job_device(snakemake)" in (root / script.group(1)).read_text():
            runs_a_model.add(name)
            assert re.search(r"^\s+gpu=0,$", text, re.M), f"rule {name} runs a model but declares no gpu resource"
        if "threads: HEAVY" in text:
            heavy.add(name)
    assert runs_a_model == heavy == {"pretrain", "compress_pretrained", "compress_finetuned", "finetune_qa",
                                     "finetune_sentiment", "predict_qa", "embed", "attack"}


@pytest.mark.parametrize("uses_sklearn", [False, True])
def test_only_a_job_that_uses_scikit_learn_imports_it(uses_sklearn):
    # In a fresh process: what a model job imports after start_job.
    code = textwrap.dedent(f"""
        import sys
        from types import SimpleNamespace
        from miniature.runtime import start_job
        start_job(SimpleNamespace(log=[], threads=1, rule="predict_qa", wildcards={{}}), uses_sklearn={uses_sklearn})
        from transformers import AutoModelForQuestionAnswering  # pulls in transformers' generation utilities
        import transformers.generation.candidate_generator
        print(sys.modules.get("sklearn") is not None)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == str(uses_sklearn)
