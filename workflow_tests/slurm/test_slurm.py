"""profiles/slurm on a real one-node Slurm cluster started on this machine from Debian packages.

Every job of a two-model tiny config goes through Slurm exactly as a user's run does
(`snakemake --profile profiles/slurm results/table2.csv`), and Table 2 must equal that of a
local run. Needs root and apt (or the packages installed); skipped with the reason otherwise.
"""

import re
import shutil
import subprocess
import time

import cluster
import pytest
import yaml
from runner import CONFIGS, ROOT, planned_jobs, snakemake

MODELS = ("large", "small")
# The training and inference rules (threads: HEAVY): a cluster job asks for CLUSTER_THREADS
# CPUs, more than this one-node test cluster may have, so the test pins them to one.
HEAVY_RULES = sorted(rule for path in (ROOT / "rules").glob("*.smk")
                     for rule, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), re.M)
                     if "threads: HEAVY" in body)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = cluster.unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster.install()
    one_node = cluster.Cluster(tmp_path_factory.mktemp("slurm-cluster"))
    try:
        one_node.start()
        yield one_node
    finally:
        one_node.stop()


def _config(workdir):
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    config["models"] = {key: config["models"][key] for key in MODELS}
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir / "config.yaml"


def _job(job_id):
    """scontrol's record of a job: key=value fields."""
    out = subprocess.run(["scontrol", "--oneliner", "show", "job", job_id], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def test_slurm_profile_runs_every_job_on_slurm_and_matches_a_local_run(slurm, tmp_path):
    on_slurm = tmp_path / "slurm"
    configfile = _config(on_slurm)
    expected = sum(planned_jobs(on_slurm, configfile=configfile).values())

    # The profile as shipped; only the training/inference threads are pinned to 1, as in the
    # local run below (torch's results depend on its thread count).
    began = time.monotonic()
    result = snakemake(on_slurm, "results/table2.csv", "--profile", str(ROOT / "profiles" / "slurm"),
                       "--set-threads", *(f"{rule}=1" for rule in HEAVY_RULES), configfile=configfile, timeout=1500)
    print(f"\nSlurm run of {expected} jobs: {time.monotonic() - began:.0f} s")
    output = result.stdout + result.stderr
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: .*?/slurm_logs/rule_(\w+?)/", output)
    assert len(submitted) == expected, output[-3000:]

    # Slurm ran each job with the resources its rule declares (rules/*.smk).
    jobs = {rule: _job(job_id) for job_id, rule in submitted}
    assert all(job["JobState"] == "COMPLETED" for job in jobs.values())
    assert jobs["finetune_qa"]["TimeLimit"] == "1-00:00:00"
    assert jobs["finetune_qa"]["MinMemoryNode"] == "32000M"
    assert jobs["table2"]["TimeLimit"] == "00:10:00"
    assert jobs["table2"]["MinMemoryNode"] == "2000M"

    # The same config on this machine. The tokenizer (and the data it was trained on) is
    # copied from the Slurm run: the tokenizers library breaks ties between equally frequent
    # merges in hash order, so two trainings on the same corpus can differ; every model is
    # then built, fine-tuned and compared anew.
    local = tmp_path / "local"
    shutil.copytree(on_slurm / "results" / "data", local / "results" / "data")
    shutil.copytree(on_slurm / "results" / "tokenizer", local / "results" / "tokenizer")
    shutil.copy(configfile, local / "config.yaml")
    snakemake(local, "--cores", "2", "results/table2.csv", configfile=local / "config.yaml")
    table = (on_slurm / "results" / "table2.csv").read_text()
    assert table.count("\n") == 2  # header and the one pair
    assert table == (local / "results" / "table2.csv").read_text()
