"""Per-stage time of a finished workflow run, from Snakemake's ``benchmark:`` files.

Each heavy job writes benchmarks/<stage>/.../<job>.tsv (wall seconds ``s``, ``cpu_time``,
``max_rss`` in MB, ...). This prints one line per job and one per stage: wall time, CPU
time, and their ratio (the share of a core the job got: below its thread count when the
machine was shared), then the totals. On a machine shared with other work, CPU time is the
better measure of what a run costs; wall time is what it took.

    python benchmarks/stages.py [--root .]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def read_benchmarks(root: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((root / "benchmarks").glob("*/**/*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]  # the last repeat, if --benchmark-repeats was used
        relative = path.relative_to(root / "benchmarks").with_suffix("")
        rows.append({"stage": relative.parts[0], "job": "/".join(relative.parts[1:]), "wall_s": float(record["s"]),
                     "cpu_s": float(record["cpu_time"]), "max_rss_mb": float(record["max_rss"])})
    if not rows:
        raise SystemExit(f"no benchmark files under {root / 'benchmarks'}: run the workflow first")
    table = pd.DataFrame(rows)
    table["cores_used"] = table.cpu_s / table.wall_s
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="the workflow's working directory")
    args = parser.parse_args()
    jobs = read_benchmarks(args.root)
    pd.set_option("display.width", 120)
    print(jobs.to_string(index=False, float_format=lambda v: f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"))
    stages = jobs.groupby("stage", sort=False)[["wall_s", "cpu_s"]].sum()
    stages["cores_used"] = stages.cpu_s / stages.wall_s
    stages.loc["total (jobs one after another)"] = [jobs.wall_s.sum(), jobs.cpu_s.sum(),
                                                    jobs.cpu_s.sum() / jobs.wall_s.sum()]
    print()
    print(stages.to_string(float_format=lambda v: f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}"))
    print(f"\nCPU minutes in all: {jobs.cpu_s.sum() / 60:.1f}; on two otherwise idle cores running two one-thread "
          f"jobs at a time that is about {jobs.cpu_s.sum() / 60 / 2:.0f} minutes of wall time at best.")


if __name__ == "__main__":
    main()
