"""Run the workflow on test configs in temporary folders."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).resolve().parent / "configs"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


# Working directories that run another copy of the workflow than ROOT's (see run_from).
_WORKFLOW_ROOTS: dict[Path, Path] = {}


def run_from(workdir, root):
    """Make every later run in ``workdir`` (snakemake, start_snakemake, planned_jobs) use the
    workflow in ``root``, e.g. a copy made by :func:`copy_working_tree`."""
    _WORKFLOW_ROOTS[Path(workdir).resolve()] = Path(root)


def copy_working_tree(dest, umask=0o002):
    """Copy the working tree (tracked files as they are now, and untracked files git does not
    ignore: what the tests must test, not the last commit) to ``dest`` as ``git clone`` would
    write it under ``umask``. Under umask 002 (the default for regular accounts on Debian and
    Ubuntu) every folder and file is group-writable. Returns ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    dest = Path(dest)
    previous = os.umask(umask)
    try:
        for name in sorted(set(filter(None, listed))):
            source = ROOT / name
            if not source.is_file():  # a tracked file deleted in the working tree
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)  # 0777 & ~umask, as git makes them
            shutil.copyfile(source, target)
            target.chmod((0o777 if os.access(source, os.X_OK) else 0o666) & ~umask)
    finally:
        os.umask(previous)
    return dest


def _command(workdir, args, configfile):
    root = _WORKFLOW_ROOTS.get(Path(workdir).resolve(), ROOT)
    cmd = [*SNAKEMAKE, "--snakefile", str(root / "Snakefile"), "--directory", str(workdir), *args]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    return cmd


ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def snakemake(workdir, *args, configfile=None, check=True, timeout=1800, env=None):
    """Run Snakemake on this project's Snakefile with ``workdir`` as working directory."""
    result = subprocess.run(_command(workdir, args, configfile), capture_output=True, text=True, timeout=timeout,
                            env={**ENV, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def start_snakemake(workdir, *args, configfile=None):
    """Start Snakemake in the background, in its own process group (``os.killpg(run.pid, ...)``
    then stops it and all its jobs at once, as a crash would); its log is in .snakemake/log/."""
    return subprocess.Popen(_command(workdir, args, configfile), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)


class Job(NamedTuple):
    """One job of a dry run: its rule and wildcards, e.g. Job("errors", (("model", "large"),))."""

    rule: str
    wildcards: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, rule: str, **wildcards: str) -> "Job":
        return cls(rule, tuple(sorted(wildcards.items())))

    def __str__(self) -> str:
        return f"{self.rule}[{', '.join(f'{k}={v}' for k, v in self.wildcards)}]"


def planned_job_outputs(workdir, target="results/table2.csv", configfile=None, extra=()) -> list[tuple[Job, list[str]]]:
    """The jobs a dry run schedules for ``target`` (targets separated by spaces; empty when
    nothing runs), each with its outputs (paths under ``workdir``)."""
    result = snakemake(workdir, "--dry-run", *extra, *target.split(), configfile=configfile)
    jobs = []
    # Each job is printed as "rule NAME:" followed by indented "key: value" lines.
    for block in re.split(r"^(?=(?:local)?rule \w+:$)", result.stdout + result.stderr, flags=re.M):
        head = re.match(r"(?:local)?rule (\w+):$", block, re.M)
        if not head:
            continue
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        pairs = [item.split("=", 1) for item in wildcards.group(1).split(", ")] if wildcards else []
        outputs = re.search(r"^\s+output: (.*)$", block, re.M)
        jobs.append((Job.of(head.group(1), **dict(pairs)), outputs.group(1).split(", ") if outputs else []))
    return jobs


def planned_job_list(workdir, target="results/table2.csv", configfile=None, extra=()) -> list[Job]:
    """The jobs a dry run schedules for ``target`` (targets separated by spaces; empty when
    nothing runs)."""
    return [job for job, _ in planned_job_outputs(workdir, target, configfile, extra)]


def planned_jobs(workdir, target="results/table2.csv", configfile=None, extra=()) -> dict[str, int]:
    """Rule -> number of jobs a dry run schedules for ``target`` (empty when nothing runs)."""
    return dict(Counter(job.rule for job in planned_job_list(workdir, target, configfile, extra)))


def finished_outputs(workdir):
    """Every file under results/ that a finished job wrote -> its modification time.

    Left out: checkpoints, temporary names of unfinished outputs, and the outputs of jobs
    that were still running (Snakemake marks those incomplete in .snakemake/incomplete)."""
    markers = Path(workdir) / ".snakemake" / "incomplete"
    incomplete = {base64.urlsafe_b64decode(m.name).decode() for m in markers.iterdir()} if markers.is_dir() else set()
    files = {}
    for path in (Path(workdir) / "results").rglob("*"):
        parts = path.relative_to(workdir).parts
        if (path.is_file() and "checkpoints" not in parts and not any(p.endswith(".tmp") for p in parts)
                and not any("/".join(parts[:i]) in incomplete for i in range(1, len(parts) + 1))):
            files["/".join(parts)] = path.stat().st_mtime_ns
    return files


# Measured times, which differ from run to run: per file, the JSON fields or CSV columns left out.
TIMES = {"training.json": ["seconds"], "timing.json": ["seconds", "ms_per_question"], "models.csv": ["ms_per_question"]}


def same_content(a, b):
    """Two result files hold the same results (measured times aside)."""
    a, b = Path(a), Path(b)
    if a.name in TIMES and a.suffix == ".json":
        return ({k: v for k, v in json.loads(a.read_text()).items() if k not in TIMES[a.name]}
                == {k: v for k, v in json.loads(b.read_text()).items() if k not in TIMES[a.name]})
    if a.name in TIMES:
        return pd.read_csv(a).drop(columns=TIMES[a.name]).equals(pd.read_csv(b).drop(columns=TIMES[a.name]))
    return a.read_bytes() == b.read_bytes()
