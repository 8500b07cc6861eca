"""Noise made visible: Tables 2 and 3 of the workflow under several seeds, as mean (min–max).

Runs ``snakemake --cores N results/table2.csv results/table3.csv --config seed=S`` once per
seed (default: the demo, config.yaml, seeds 0, 1 and 2), one seed after another, each in a
working directory of its own (``<out>/seed-S``, with this checkout's Snakefile), so the runs
share nothing with each other or with ``results/`` of the checkout. Then it writes every
Table 2 and Table 3 cell's mean, minimum and maximum over the seeds to
``<out>/seeds_table2.csv`` and ``<out>/seeds_table3.csv`` (one row per table row and column:
its keys, ``column``, ``n``, ``mean``, ``min``, ``max``), prints both as Markdown tables ready
for README.md ("mean (min–max)", 3 decimals; Table 3's percentages and query counts 1) and
the conclusions that hold under every seed. The same text is written to ``<out>/seeds.md``.

What a seed varies. The config's top-level ``seed`` is the seed of *everything* the demo
makes (rules/data.smk, models.smk, compress.smk, finetune.smk, embed.smk): the generated
corpus (and so the tokenizer trained on it), the QA and sentiment splits, every model's
pre-training, the distillation, every fine-tune, the training questions the OOD detectors
are fitted on and, unless the config sets ``attack.seed``, the attacked reviews. So the spread shown here
is what a user sees on changing ``seed``: data and training noise together, not training
noise on fixed data. (With data read from files or the hub, only the model and sampling
seeds change.) The seed baseline's fine-tuning seed must differ from ``seed`` (a config
check), so each run sets ``agreement.baseline_seed`` to S + 1 (the demo's 0 and 1 for seed
0); the seed baseline feeds neither table.

A seed whose folder already holds its tables reruns nothing (Snakemake), so an interrupted
benchmark goes on where it stopped; its wall time is then only what was left to do.

    python benchmarks/seeds.py [--seeds 0 1 2] [--cores 2] [--out benchmarks-out/seeds]
                               [--configfile FILE ...]

``--configfile`` replaces config.yaml, as Snakemake's own option does in this workflow; give
``config.yaml overrides.yaml`` to change a few keys of the demo. A quick check on the
workflow tests' toy config (56 jobs a seed; 15 and 32 minutes on one core of a 2-core
machine under a load of 7 to 20, 2026-12-03):

    python benchmarks/seeds.py --seeds 0 1 --cores 1 --configfile workflow_tests/configs/tiny.yaml --out /tmp/seeds
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

# Run as a script, so benchmarks/ is on the import path (the tests put it there).
from stages import cpu_name

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"table2": "results/table2.csv", "table3": "results/table3.csv"}
# Table 3's percentages (and its mean query counts): a tenth is already finer than 40
# attacked reviews can resolve. Every other number gets 3 decimals.
DECIMALS = {"pct_change": 1, "attack_success_rate": 1, "avg_queries": 1}
PROGRESS_EVERY_S = 60
STEPS = re.compile(r"(\d+) of (\d+) steps \((\d+%)\) done")


# --- the runs ---------------------------------------------------------------------------


def merged_config(configfiles: Sequence[Path]) -> dict:
    """The config the runs get from these files, merged key by key as Snakemake merges them."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in configfiles:
        with open(path) as f:
            update_config(config, yaml.safe_load(f) or {})
    return config


def makes_table3(config: Mapping) -> bool:
    """Table 3 (the attack) exists only when the config has sentiment data (rules/common.smk)."""
    return bool((config.get("data") or {}).get("sentiment"))


def snakemake_command(workdir: Path, seed: int, cores: int, configfiles: Sequence[Path],
                      targets: Sequence[str]) -> list[str]:
    """One seed's run: this checkout's Snakefile in ``workdir``, targets before --configfile
    (which takes any number of files), the seed baseline's override last."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--cores", str(cores), *targets,
            "--configfile", *(str(p) for p in configfiles), str(workdir / "seed-baseline.yaml"),
            "--config", f"seed={seed}"]


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def run_seed(seed: int, workdir: Path, cores: int, configfiles: Sequence[Path], targets: Sequence[str],
             started: float) -> tuple[float, bool]:
    """Run one seed to the end, printing its progress now and then; returns its wall time and
    whether it had anything to run. Exits (with the log's path and tail) when the run fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    # --config cannot carry a nested integer (Snakemake parses nested values as text), so the
    # seed baseline's seed goes in a config file of its own.
    (workdir / "seed-baseline.yaml").write_text(yaml.safe_dump({"agreement": {"baseline_seed": seed + 1}}))
    log = workdir / "snakemake.log"
    command = snakemake_command(workdir, seed, cores, configfiles, targets)
    begin = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        last_print, last_steps = begin, None
        while process.poll() is None:
            time.sleep(5)
            now = time.monotonic()
            if now - last_print >= PROGRESS_EVERY_S:
                found = STEPS.findall(log.read_text(errors="replace"))
                steps = f"{found[-1][0]} of {found[-1][1]} jobs done" if found else "planning"
                if steps != last_steps or now - last_print >= 5 * PROGRESS_EVERY_S:
                    print(f"  seed {seed}: {steps}, {format_duration(now - begin)} "
                          f"(benchmark {format_duration(now - started)})", flush=True)
                    last_print, last_steps = now, steps
    wall = time.monotonic() - begin
    if process.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        print("\n".join(["", *tail, ""]), file=sys.stderr)
        sys.exit(f"seed {seed} failed (exit code {process.returncode}) after {format_duration(wall)}; "
                 f"Snakemake's log: {log} (each job's log is under {workdir / 'logs'})")
    # An earlier benchmark's finished seed: its wall time here is planning only, not the run's.
    return wall, "Nothing to be done" not in log.read_text(errors="replace")


# --- aggregation (pure) ---------------------------------------------------------------------


def key_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that name a row (the non-numeric ones: a pair's models, a target)."""
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def value_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]


def _check_same_layout(tables: Mapping[int, pd.DataFrame]) -> tuple[list[str], list[str]]:
    """The key and value columns every seed's table shares; a seed whose table has other
    columns or other rows is named (its run was made from another config)."""
    if not tables:
        raise ValueError("no tables to aggregate")
    first_seed, first = next(iter(tables.items()))
    keys, values = key_columns(first), value_columns(first)
    if not keys:
        raise ValueError("the table has no key column (no non-numeric column)")
    rows = list(first[keys].itertuples(index=False, name=None))
    if len(set(rows)) != len(rows):
        raise ValueError(f"seed {first_seed}: the key columns {keys} do not name each row once")
    for seed, table in tables.items():
        if list(table.columns) != list(first.columns) or key_columns(table) != keys:
            raise ValueError(f"seed {seed}: columns {list(table.columns)} (seed {first_seed}: {list(first.columns)})")
        if sorted(table[keys].itertuples(index=False, name=None)) != sorted(rows):
            raise ValueError(f"seed {seed}: other rows than seed {first_seed}")
    return keys, values


def aggregate(tables: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per row (keys as in the tables) and numeric column: ``n`` (the seeds with a value),
    ``mean``, ``min`` and ``max`` over the seeds, in the first seed's row and column order."""
    keys, values = _check_same_layout(tables)
    long = pd.concat([t.assign(seed=seed) for seed, t in tables.items()], ignore_index=True)
    long = long.melt(id_vars=[*keys, "seed"], value_vars=values, var_name="column")
    summary = (long.groupby([*keys, "column"], sort=False)["value"]
               .agg(n="count", mean="mean", min="min", max="max").reset_index())
    # groupby(sort=False) orders the groups as they first appear in the melted frame (column
    # by column); the tables read row by row.
    first = next(iter(tables.values()))
    row_order = {row: i for i, row in enumerate(first[keys].itertuples(index=False, name=None))}
    column_order = {c: i for i, c in enumerate(values)}
    order = sorted(range(len(summary)), key=lambda i: (row_order[tuple(summary.loc[i, keys])],
                                                        column_order[summary.loc[i, "column"]]))
    return summary.loc[order].reset_index(drop=True)


def format_cell(mean: float, low: float, high: float, n: int, seeds: int, decimals: int = 3) -> str:
    """"mean (min–max)"; a cell some seeds left empty says how many gave a value."""
    if n == 0:
        return "–"
    cell = f"{mean:.{decimals}f} ({low:.{decimals}f}–{high:.{decimals}f})"
    return cell if n == seeds else f"{cell} [{n} of {seeds} seeds]"


def markdown_table(summary: pd.DataFrame, seeds: int, decimals: Mapping[str, int] | None = None) -> str:
    """A Markdown table of :func:`aggregate`'s output in the original table's layout."""
    decimals = decimals or {}
    keys = [c for c in summary.columns if c not in ("column", "n", "mean", "min", "max")]
    columns = list(dict.fromkeys(summary["column"]))
    rows: dict[tuple, dict[str, str]] = {}
    for record in summary.itertuples(index=False):
        record = record._asdict()
        row = rows.setdefault(tuple(record[k] for k in keys), {})
        row[record["column"]] = format_cell(record["mean"], record["min"], record["max"], record["n"], seeds,
                                            decimals.get(record["column"], 3))
    lines = ["| " + " | ".join([*keys, *columns]) + " |", "|" + "---|" * (len(keys) + len(columns))]
    for key, cells in rows.items():
        lines.append("| " + " | ".join([*map(str, key), *(cells.get(c, "") for c in columns)]) + " |")
    return "\n".join(lines)


# --- conclusions that hold under every seed (pure) ------------------------------------------


def agreement_columns(table2: pd.DataFrame) -> list[str]:
    """Table 2's columns that measure agreement (1.0 = the same): all numeric ones but the
    variances, which measure how much the per-question agreement spreads."""
    return [c for c in value_columns(table2) if not c.endswith("_var")]


def _label(key: tuple) -> str:
    return "/".join(map(str, key))


def column_conclusions(tables: Mapping[int, pd.DataFrame], column: str) -> dict:
    """For one Table 2 column, over every seed: whether every pair is below 1.0 (a miniature
    would reach 1.0), whether the pair that agrees most and the whole ranking of the pairs
    (ties share a rank) are the same. Each is None when some seed has no value for a pair,
    with the seeds named in ``missing``."""
    keys, _ = _check_same_layout(tables)
    series = {seed: t.set_index(keys)[column] for seed, t in tables.items()}
    missing = [seed for seed, s in series.items() if s.isna().any()]
    result = {"column": column, "missing": missing, "all_below_one": None, "same_top": None, "same_ranking": None,
              "highest": None, "at_one": {}, "tops": {}, "orders": {},
              "pairs": len(next(iter(series.values())))}
    if missing:
        return result
    highest_seed = max(series, key=lambda seed: series[seed].max())
    result["highest"] = (float(series[highest_seed].max()), highest_seed, _label(series[highest_seed].idxmax()))
    result["all_below_one"] = all(bool((s < 1.0).all()) for s in series.values())
    at_one: dict[str, list[int]] = {}
    for seed, s in series.items():
        for key in s.index[s >= 1.0]:
            at_one.setdefault(_label(key), []).append(seed)
    result["at_one"] = at_one
    ranks = {seed: s.rank(ascending=False, method="min").sort_index() for seed, s in series.items()}
    result["tops"] = {seed: sorted(_label(k) for k, r in ranks[seed].items() if r == 1) for seed in series}
    result["same_top"] = len({tuple(t) for t in result["tops"].values()}) == 1
    result["same_ranking"] = len({tuple(r.tolist()) for r in ranks.values()}) == 1
    result["orders"] = {seed: _order(s) for seed, s in series.items()}
    return result


def _order(values: pd.Series) -> str:
    """"a/b > c/d = e/f": pairs from the most to the least agreeing, ties joined by '='."""
    ordered = values.sort_values(ascending=False, kind="stable")
    text, previous = "", None
    for key, value in ordered.items():
        text += ("" if previous is None else " = " if value == previous else " > ") + _label(key)
        previous = value
    return text


def reference_conclusion(tables: Mapping[int, pd.DataFrame], reference: str, column: str = "original_accuracy",
                         key: str = "target") -> dict:
    """Whether ``reference`` is the most accurate model in every seed: per seed "alone",
    "tied" (another model as accurate) or "not" (another more accurate, named)."""
    per_seed = {}
    for seed, table in tables.items():
        values = table.set_index(key)[column]
        if reference not in values.index:
            raise ValueError(f"seed {seed}: no row for the reference {reference!r} in Table 3")
        others = values.drop(reference)
        best = others.max() if len(others) else float("-inf")
        if values[reference] > best:
            per_seed[seed] = ("alone", None)
        elif values[reference] == best:
            per_seed[seed] = ("tied", sorted(others.index[others == best]))
        else:
            per_seed[seed] = ("not", sorted(others.index[others > values[reference]]))
    return {"column": column, "reference": reference, "holds": all(s != "not" for s, _ in per_seed.values()),
            "per_seed": per_seed}


def _seeds(seeds: Iterable[int]) -> str:
    return ", ".join(map(str, seeds))


def _in_seeds(seeds: Sequence[int]) -> str:
    """"seed 3" or "seeds 0, 2"."""
    return f"seed{'s' if len(seeds) > 1 else ''} {_seeds(seeds)}"


def conclusion_lines(table2: Iterable[dict], table3: dict | None = None) -> list[str]:
    """The conclusions of :func:`column_conclusions` (one per Table 2 column) and of
    :func:`reference_conclusion`, as lines of a Markdown list."""
    lines = []
    for c in table2:
        if c["missing"]:
            lines.append(f"- `{c['column']}`: not judged, a pair has no value in {_in_seeds(c['missing'])}.")
            continue
        value, seed, pair = c["highest"]
        if c["all_below_one"]:
            below = f"every pair below 1.0 in every seed (highest {value:.3f}: {pair}, seed {seed})"
        else:
            below = "**not** every pair below 1.0 in every seed (1.0 for " + "; ".join(
                f"{p} in {_in_seeds(s)}" for p, s in c["at_one"].items()) + ")"
        tops = list(c["tops"].values())
        if c["same_top"] and len(tops[0]) == c["pairs"]:
            top = "all pairs tie in every seed"
        elif c["same_top"]:
            top = f"the most agreeing pair is the same in every seed ({', '.join(tops[0])})"
        else:
            top = ("the most agreeing pair is **not** the same in every seed ("
                   + "; ".join(f"seed {s}: " + ", ".join(t) for s, t in c["tops"].items()) + ")")
        ranking = "the same" if c["same_ranking"] else "**not** the same"
        lines.append(f"- `{c['column']}`: {below}; {top}; the ranking of all pairs is {ranking} in every seed.")
        if not c["same_ranking"]:
            lines.extend(f"  - seed {s}: {order}" for s, order in c["orders"].items())
    if table3 is not None:
        ties = {s: others for s, (state, others) in table3["per_seed"].items() if state == "tied"}
        beaten = {s: others for s, (state, others) in table3["per_seed"].items() if state == "not"}
        if table3["holds"] and not ties:
            text = f"the reference `{table3['reference']}` is the most accurate model in every seed"
        elif table3["holds"]:
            # A tie is not "the most accurate": say so, rather than round it up.
            text = (f"no model is more accurate than the reference `{table3['reference']}` in any seed, but it is "
                    "not the most accurate alone (" + "; ".join(f"seed {s}: as accurate as {', '.join(o)}"
                                                                 for s, o in ties.items()) + ")")
        else:
            text = (f"the reference `{table3['reference']}` is **not** the most accurate model in every seed ("
                    + "; ".join(f"seed {s}: {', '.join(o)} more accurate" for s, o in beaten.items()) + ")")
        lines.append(f"- Table 3 `{table3['column']}`: {text}.")
    return lines


# --- main -------------------------------------------------------------------------------------


def machine() -> str:
    """The CPU's model name and cores."""
    return f"{cpu_name()}, {os.cpu_count()} cores"


def read_tables(out: Path, seeds: Sequence[int], name: str) -> dict[int, pd.DataFrame]:
    return {seed: pd.read_csv(out / f"seed-{seed}" / TABLES[name]) for seed in seeds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cores", type=int, default=2, help="Snakemake's --cores for each run")
    # Not under benchmarks/: each run writes its Snakemake benchmark files there, which
    # benchmarks/stages.py would count as a stage of the checkout's own run.
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks-out" / "seeds",
                        help="a folder per seed (seed-S), and the aggregated tables")
    parser.add_argument("--configfile", type=Path, nargs="+", default=[ROOT / "config.yaml"],
                        help="the config (replaces config.yaml; later files override earlier ones)")
    args = parser.parse_args()
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("--seeds: a seed is given twice")
    configfiles = [p.resolve() for p in args.configfile]
    out = args.out.resolve()
    config = merged_config(configfiles)
    with_table3 = makes_table3(config)
    targets = [TABLES["table2"], *([TABLES["table3"]] if with_table3 else [])]
    if not with_table3:
        print("The config has no sentiment data (data.sentiment), so no attack and no Table 3: Table 2 only.")

    started = time.monotonic()
    walls, reused = {}, []
    for i, seed in enumerate(args.seeds, 1):
        workdir = out / f"seed-{seed}"
        print(f"seed {seed} ({i} of {len(args.seeds)}): snakemake --cores {args.cores} {' '.join(targets)} "
              f"--config seed={seed} in {workdir} (log: {workdir / 'snakemake.log'}); "
              f"benchmark at {format_duration(time.monotonic() - started)}", flush=True)
        walls[seed], ran = run_seed(seed, workdir, args.cores, configfiles, targets, started)
        if not ran:
            reused.append(seed)
        print(f"seed {seed}: done in {format_duration(walls[seed])}"
              + ("" if ran else " (its tables were already there: nothing ran)"), flush=True)
    total = time.monotonic() - started

    n = len(args.seeds)
    configs = ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in configfiles)
    text = [f"Seeds {_seeds(args.seeds)} of {configs} (`snakemake --cores {args.cores} {' '.join(targets)} "
            f"--config seed=S`, one seed after another), {datetime.date.today().isoformat()}, {machine()}; "
            f"total wall time {format_duration(total)} "
            f"({'; '.join(f'seed {s}: {format_duration(w)}' for s, w in walls.items())})"
            + (f", {_in_seeds(reused)} made by an earlier run (nothing ran)" if reused else "") + ". "
            f"Each cell: mean (min–max) over the {n} seeds.", ""]
    table2 = read_tables(out, args.seeds, "table2")
    summary2 = aggregate(table2)
    summary2.to_csv(out / "seeds_table2.csv", index=False)
    text += ["Table 2:", "", markdown_table(summary2, n, DECIMALS), ""]
    table3 = None
    if with_table3:
        table3 = read_tables(out, args.seeds, "table3")
        summary3 = aggregate(table3)
        summary3.to_csv(out / "seeds_table3.csv", index=False)
        text += ["Table 3:", "", markdown_table(summary3, n, DECIMALS), ""]
    else:
        text += ["Table 3: not made (the config has no sentiment data).", ""]

    reference = config.get("reference")
    columns = agreement_columns(next(iter(table2.values())))
    reference_row = (table3 is not None and reference is not None
                     and "original_accuracy" in next(iter(table3.values())).columns)
    text += [f"Conclusions that hold under every seed ({n} seeds; Table 2's agreement columns, the variances left "
             "out; 1.0 = the two models agree completely):", "",
             *conclusion_lines([column_conclusions(table2, c) for c in columns],
                               reference_conclusion(table3, reference) if reference_row else None)]
    report = "\n".join(text) + "\n"
    (out / "seeds.md").write_text(report)
    print()
    print(report, end="")
    print(f"\nWritten: {out / 'seeds_table2.csv'}" + (f", {out / 'seeds_table3.csv'}" if with_table3 else "")
          + f", {out / 'seeds.md'}")


if __name__ == "__main__":
    main()
