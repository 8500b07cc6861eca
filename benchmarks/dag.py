"""How long a dry run takes to build the DAG: the paper config and synthetic configs of up to 30 models.

Prints, for each config, the models, the jobs a dry run of results/table2.csv schedules and
the seconds it takes (the fastest of --repeats rounds, each a fresh `snakemake -n` process in
an empty working directory, as a user would run it; a round runs every config once, so a
busy machine slows them alike). The synthetic configs are the paper config with N hub
models (N(N-1)/2 pairs per comparison). Beside them, Snakemake's own start-up: a dry run of
a one-rule workflow, the floor under every row. Then the growth from the paper
config to 30 models, in time and in jobs: the target is under 5 s for 30 models, with time
growing no faster than the number of jobs. With --profile, the 30-model dry run is also run
under cProfile and the time spent in the workflow's own code (Snakefile, rules/, miniature/)
is printed next to Snakemake's.

    python benchmarks/dag.py [--models 2 6 15 30] [--repeats 3] [--profile] [--target all]

--target times another target instead (e.g. ``all``, the default target: Table 2 and
everything else); the 5 s target is for Table 2.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "configs" / "paper.yaml"
TARGET = 30
TARGET_SECONDS = 5.0
# The floor: Snakemake's start-up (imports, plugins, parsing) with one rule and one job.
ONE_RULE_SNAKEFILE = 'rule done:\n    output:\n        "done.txt"\n    shell:\n        "touch {output}"\n'


def synthetic_config(n_models: int) -> dict:
    """The paper config with ``n_models`` pinned hub models instead of its six."""
    config = yaml.safe_load(PAPER.read_text())
    # The attack masked-LM names a paper model; keep it as its own source.
    config["attack"]["masked_lm"] = config["models"][config["attack"]["masked_lm"]]
    config["models"] = {f"m{i:02d}": {"hub": {"id": f"example/model-{i:02d}", "revision": f"{i + 1:040x}"}}
                        for i in range(n_models)}
    config["reference"] = "m00"
    return config


def dry_run(snakefile: Path, configfile: Path | None, workdir: Path, target: str,
            prefix: tuple[str, ...] = ()) -> tuple[int, float]:
    """(jobs, seconds) of one `snakemake --dry-run TARGET` in a fresh process."""
    cmd = [*prefix, "--snakefile", str(snakefile), "--directory", str(workdir), "--dry-run", target]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    began = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        sys.exit(f"dry run failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    total = re.search(r"^total\s+(\d+)$", result.stdout + result.stderr, re.M)
    return int(total.group(1)) if total else 0, seconds


def measure(runs: dict[str, tuple[Path, Path | None, str]], repeats: int) -> dict[str, tuple[int, float]]:
    """Name -> (jobs, fastest seconds) of each (Snakefile, config, target), in interleaved rounds."""
    best = {name: (0, float("inf")) for name in runs}
    for _ in range(repeats):
        for name, (snakefile, configfile, target) in runs.items():
            with tempfile.TemporaryDirectory() as workdir:
                jobs, seconds = dry_run(snakefile, configfile, Path(workdir), target,
                                        (sys.executable, "-m", "snakemake"))
            best[name] = (jobs, min(best[name][1], seconds))
    return best


def profile(configfile: Path, target: str, out: Path) -> None:
    """Where the time of one dry run goes: the workflow's own code next to Snakemake's stages."""
    with tempfile.TemporaryDirectory() as workdir:
        dry_run(ROOT / "Snakefile", configfile, Path(workdir), target,
                (sys.executable, "-m", "cProfile", "-o", str(out), "-m", "snakemake"))
    stats = pstats.Stats(str(out))
    total = max(v[3] for v in stats.stats.values())  # the outermost call's cumulative time

    def cumulative(pattern: str) -> float:
        """Cumulative time of the outermost functions whose file matches ``pattern`` (no double counting)."""
        hits = {key: value for key, value in stats.stats.items() if re.search(pattern, key[0])}
        outer = [value for key, value in hits.items() if not any(caller in hits for caller in value[4])]
        return sum(v[3] for v in outer)

    print(f"\nwhere the time of the {TARGET}-model dry run goes (cProfile, {total:.1f} s in all, with its overhead):")
    rows = [("workflow code: Snakefile, rules/*.smk (parse, input functions, params)",
             rf"^{re.escape(str(ROOT))}/(Snakefile|rules/)"),
            ("workflow code: miniature/ (config validation and helpers)", rf"^{re.escape(str(ROOT))}/miniature/"),
            ("snakemake: DAG building", r"snakemake/dag\.py$"),
            ("snakemake: job objects (wildcards, resources, params)", r"snakemake/(jobs|rules)\.py$"),
            ("snakemake: per-job script source cache", r"snakemake/sourcecache\.py$"),
            ("snakemake: printing the dry run", r"snakemake/logging\.py$"),
            ("imports: the executor plugins (slurm imports pandas)", r"snakemake_executor_plugin_slurm/__init__\.py$")]
    for name, pattern in rows:
        seconds = cumulative(pattern)
        print(f"  {name:<75}{seconds:6.2f} s  {seconds / total:5.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[2, 15, TARGET])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--target", default="results/table2.csv")
    args = parser.parse_args()
    print(f"dry runs of {args.target} on {os.cpu_count()} CPUs, fastest of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'config':<26}{'models':>7}{'pairs':>7}{'jobs':>7}{'seconds':>9}{'ms/job':>8}")
    with tempfile.TemporaryDirectory() as configs:
        paper = yaml.safe_load(PAPER.read_text())
        models = {"configs/paper.yaml": len(paper["models"])}
        runs = {"configs/paper.yaml": (ROOT / "Snakefile", PAPER, args.target)}
        for n in sorted(set(args.models)):
            path = Path(configs) / f"synthetic_{n}.yaml"
            path.write_text(yaml.safe_dump(synthetic_config(n)))
            models[f"synthetic, {n} models"] = n
            runs[f"synthetic, {n} models"] = (ROOT / "Snakefile", path, args.target)
        one_rule = Path(configs) / "Snakefile"
        one_rule.write_text(ONE_RULE_SNAKEFILE)
        runs["snakemake alone (1 rule)"] = (one_rule, None, "done.txt")
        results = measure(runs, args.repeats)
        for name, (jobs, seconds) in results.items():
            n = models.get(name, 0)
            print(f"{name:<26}{n or '':>7}{n * (n - 1) // 2 if n else '':>7}{jobs:>7}{seconds:>9.2f}"
                  f"{1000 * seconds / jobs:>8.1f}")
        target = f"synthetic, {TARGET} models"
        if target in results:
            jobs6, t6 = results["configs/paper.yaml"]
            jobs30, t30 = results[target]
            floor = results["snakemake alone (1 rule)"][1]
            print(f"\npaper -> {TARGET} models: jobs x{jobs30 / jobs6:.1f}, time x{t30 / t6:.2f} "
                  f"({'no faster' if t30 / t6 <= jobs30 / jobs6 else 'FASTER'} than the jobs); "
                  f"{TARGET} models in {t30:.2f} s"
                  + (f": {'under' if t30 < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:.0f} s target"
                     if args.target == "results/table2.csv" else "")
                  + f"; above Snakemake's own start-up ({floor:.2f} s): {t30 - floor:.2f} s, "
                    f"{1000 * (t30 - floor) / jobs30:.1f} ms a job")
            if args.profile:
                profile(Path(configs) / f"synthetic_{TARGET}.yaml", args.target, Path(configs) / "dag.prof")


if __name__ == "__main__":
    main()
