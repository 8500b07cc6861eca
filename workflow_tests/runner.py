"""Run the workflow on test configs in temporary folders."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).resolve().parent / "configs"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _command(workdir, args, configfile):
    cmd = [*SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    return cmd


ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def snakemake(workdir, *args, configfile=None, check=True, timeout=1800):
    """Run Snakemake on this project's Snakefile with ``workdir`` as working directory."""
    result = subprocess.run(_command(workdir, args, configfile), capture_output=True, text=True, timeout=timeout,
                            env=ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def start_snakemake(workdir, *args, configfile=None):
    """Start Snakemake in the background, in its own process group (``os.killpg(run.pid, ...)``
    then stops it and all its jobs at once, as a crash would); its log is in .snakemake/log/."""
    return subprocess.Popen(_command(workdir, args, configfile), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)


def planned_jobs(workdir, target="results/table2.csv", configfile=None, extra=()):
    """Rule -> number of jobs a dry run schedules for ``target`` (empty when nothing runs)."""
    result = snakemake(workdir, "--dry-run", *extra, target, configfile=configfile)
    text = result.stdout + result.stderr
    counts = {}
    table = re.search(r"Job stats:\n(.*?)\n\s*total\s+\d+", text, re.S)
    if table:
        for line in table.group(1).splitlines():
            m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if m:
                counts[m.group(1)] = int(m.group(2))
    return counts
