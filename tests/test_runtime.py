"""Job setup: where a job's model runs, from the resources its rule was given."""

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
