"""profiles/slurm on a real one-node Slurm cluster started on this machine from Debian packages.

Every job of a two-model tiny config goes through Slurm exactly as a user's run does
(`snakemake --profile profiles/slurm results/table2.csv`), and every file it writes must equal
that of a local run (the tiny run the workflow tests share). Needs root and apt (or the packages
installed); skipped with the reason otherwise.
"""

import re
import subprocess
import time

import cluster
import pytest
import yaml
from runner import CONFIGS, ROOT, finished_outputs, planned_jobs, same_content, snakemake

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


def test_slurm_profile_runs_every_job_on_slurm_and_matches_a_local_run(slurm, tmp_path, tiny_run):
    on_slurm = tmp_path / "slurm"
    configfile = _config(on_slurm)
    expected = sum(planned_jobs(on_slurm, configfile=configfile).values())

    # The profile as shipped; only the training/inference threads are pinned to 1, as in the
    # local run it is compared with (torch's results depend on its thread count).
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

    # The same models on this machine: tiny_run, a local run of the whole tiny config (to which
    # this one's two models belong, first and last). No job of a model or a pair reads another
    # model's results and every seed is the config's, so each file of this run is one of
    # tiny_run's, and its one Table 2 row is tiny_run's row of that pair. tiny_run's training and
    # inference jobs ran on one thread too (rules/common.smk: half of its 2 cores). A local run
    # of this config made the same files a second time; tiny_run has them already, and every
    # file is compared, not only Table 2: what differs between a Slurm run and a local one (or
    # between two runs) shows in the first file it reaches.
    ours = finished_outputs(on_slurm)
    theirs = finished_outputs(tiny_run)
    table = (on_slurm / "results" / "table2.csv").read_text()
    del ours["results/table2.csv"]
    assert ours and set(ours) <= set(theirs), sorted(set(ours) - set(theirs))
    assert [name for name in sorted(ours) if not same_content(on_slurm / name, tiny_run / name)] == []
    header, *rows = (tiny_run / "results" / "table2.csv").read_text().splitlines(keepends=True)
    assert table.count("\n") == 2  # header and the one pair
    assert table == header + next(row for row in rows if row.startswith(",".join(MODELS) + ","))
