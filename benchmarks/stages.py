"""Per-stage time of a finished workflow run, from Snakemake's ``benchmark:`` files; or of two
runs, before and after a change, side by side.

Each heavy job writes benchmarks/<stage>/.../<job>.tsv (wall seconds ``s``, ``cpu_time``,
``max_rss`` in MB, ...). With --root (the default mode) this prints one line per job and one
per stage: wall time, CPU time, and their ratio (the share of a core the job got: below its
thread count when the machine was shared), then the totals and the training steps. On a
machine shared with other work, CPU time is the better measure of what a run costs; wall
time is what it took.

    python benchmarks/stages.py [--root .]
    python benchmarks/stages.py --before <git-rev> [--cores 2] [--configfile extra.yaml]
                                [--target results/table2.csv ...] [--startup-repeats 3] [--out DIR]

With --before, one invocation exports <git-rev> (``git archive``) and copies the working tree
(tracked files as they are now and untracked files git does not ignore) into DIR/before and
DIR/after (a temporary folder, deleted at the end, without --out), runs the demo
(``snakemake --cores N <targets> [--configfile ...]``) in the before tree and then in the after
tree with this interpreter, and prints, side by side: the whole run's wall time; per stage the
wall and CPU seconds of its jobs and the after/before ratio; each heavy job's time split into
start-up and work; the training steps and seconds per stage. With --out the report is also
written to DIR/stages.txt.

Start-up is measured, not read from the logs: a job's first log line is written before its
heavy imports, but its next one only after them *and* after it has read and tokenised its data,
so the logs cannot tell the two apart. So for every heavy rule (one with a ``benchmark:``) a
fresh process in each tree does what the rule's job does before its first work: starts the
interpreter, imports what Snakemake's script preamble imports, makes scikit-learn absent
(sys.modules["sklearn"] = None, as miniature.runtime.start_job does unless the script passes
uses_sklearn=True) and imports everything the script imports at module level. Its wall and CPU
time (fewest of --startup-repeats interleaved rounds) times the rule's jobs is the rule's
start-up; the rest of the jobs' benchmark time is work. Imports a job makes later, inside a
function (the attack's textattack), count as work.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import io
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TRAINING_LINE = re.compile(r"miniature\.training: step (\d+)/(\d+)\b.*?\((?:[\d.]+|inf)/s, (\d+)s elapsed")
COUNTS = ("jobs", "steps")  # columns format_table shows as whole numbers
RESUMED_LINE = re.compile(r"miniature\.training: resumed from .* at step (\d+) of \d+")


# --- reading one run ---------------------------------------------------------------------------

def read_benchmarks(root: Path) -> pd.DataFrame:
    """One row per benchmark file under ``root``/benchmarks: stage, job, wall_s, cpu_s,
    max_rss_mb, cores_used. Exits when there is none."""
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


def parse_training_log(text: str) -> tuple[int, float] | None:
    """(steps run, seconds) from a job log's ``miniature.training`` progress lines, or None when it
    has none. A resumed job counts only the steps after the checkpoint it resumed from; the
    seconds are the last line's elapsed time (whole seconds)."""
    start, last = 0, None
    for line in text.splitlines():
        if resumed := RESUMED_LINE.search(line):
            start, last = int(resumed.group(1)), None
        elif step := TRAINING_LINE.search(line):
            last = (int(step.group(1)), float(step.group(3)))
    return None if last is None else (last[0] - start, last[1])


def read_training(root: Path) -> pd.DataFrame:
    """One row per training job: stage, job, steps, seconds, source. From results/**/training.json
    (``steps``, ``seconds``) where a job writes one; otherwise from the training progress lines of
    its log (logs/<stage>/.../<job>.log: pre-training, distillation)."""
    rows, seen = [], set()
    for path in sorted((root / "results").glob("**/training.json")):
        record = pd.read_json(path, typ="series")
        if "steps" not in record or "seconds" not in record:
            continue
        key = path.parent.relative_to(root / "results")
        seen.add(key)
        rows.append({"stage": key.parts[0], "job": "/".join(key.parts[1:]), "steps": int(record["steps"]),
                     "seconds": float(record["seconds"]), "source": "training.json"})
    for path in sorted((root / "logs").glob("**/*.log")):
        key = path.relative_to(root / "logs").with_suffix("")
        if key in seen or not (parsed := parse_training_log(path.read_text(errors="replace"))):
            continue
        rows.append({"stage": key.parts[0], "job": "/".join(key.parts[1:]), "steps": parsed[0],
                     "seconds": parsed[1], "source": "log"})
    return pd.DataFrame(rows, columns=["stage", "job", "steps", "seconds", "source"])


# --- which rule made which benchmark file, and what its script imports ---------------------------

def parse_rules(rules_dir: Path) -> dict[str, tuple[str, Path]]:
    """Rule name -> (benchmark pattern, script path) for every rule in rules_dir/*.smk that has a
    literal ``benchmark:`` and ``script:``."""
    rules = {}
    for smk in sorted(rules_dir.glob("*.smk")):
        for block in re.split(r"^(?=(?:rule|checkpoint)\s+\w+\s*:)", smk.read_text(), flags=re.M):
            name = re.match(r"(?:rule|checkpoint)\s+(\w+)\s*:", block)
            benchmark = re.search(r"^\s+benchmark:\s*\n\s+[\"']([^\"']+)[\"']", block, re.M)
            script = re.search(r"^\s+script:\s*\n\s+[\"']([^\"']+)[\"']", block, re.M)
            if name and benchmark and script:
                rules[name.group(1)] = (benchmark.group(1), Path(os.path.normpath(rules_dir / script.group(1))))
    return rules


def pattern_regex(pattern: str) -> re.Pattern:
    """A benchmark path pattern ("benchmarks/embed/{model}.tsv", "{x,regex}" allowed) as a regex
    over paths relative to the working directory; a wildcard spans no slash unless its regex does."""
    parts, at = [], 0
    for wildcard in re.finditer(r"\{(\w+)(?:,([^{}]+))?\}", pattern):
        parts += [re.escape(pattern[at:wildcard.start()]), f"(?:{wildcard.group(2) or '[^/]+'})"]
        at = wildcard.end()
    return re.compile("".join([*parts, re.escape(pattern[at:])]))


def job_rules(jobs: pd.DataFrame, rules: dict[str, tuple[str, Path]]) -> pd.Series:
    """The rule of each job (row of read_benchmarks) whose benchmark path matches its pattern;
    None where no rule's does."""
    patterns = [(rule, pattern_regex(pattern)) for rule, (pattern, _) in rules.items()]

    def rule_of(stage: str, job: str) -> str | None:
        path = f"benchmarks/{stage}/{job}.tsv"
        return next((rule for rule, regex in patterns if regex.fullmatch(path)), None)

    return pd.Series([rule_of(s, j) for s, j in zip(jobs.stage, jobs.job)], index=jobs.index, dtype=object)


def script_imports(source: str) -> tuple[list[str], bool]:
    """The module-level import statements of a rule's script (as source lines, in order) and
    whether it calls start_job(..., uses_sklearn=True)."""
    tree = ast.parse(source)
    imports = [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    uses_sklearn = any(
        isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "start_job"
        and any(k.arg == "uses_sklearn" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords)
        for node in ast.walk(tree))
    return imports, uses_sklearn


def startup_probe(imports: list[str], uses_sklearn: bool) -> str:
    """Python source that does what a job of the script does before its first work: Snakemake's
    script preamble's imports, start_job's environment (offline hub, one thread, no
    scikit-learn unless the script uses it), the script's imports."""
    lines = ["import os", "import sys",
             "from snakemake.logging import logger",  # the script preamble's imports
             "from snakemake.iocontainers import Snakemake",
             *([] if uses_sklearn else ["sys.modules.setdefault('sklearn', None)"]),
             "for name in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE', 'TRANSFORMERS_OFFLINE'):",
             "    os.environ[name] = '1'",
             "os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')",
             "os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = '1'",
             *imports]
    return "\n".join(lines) + "\n"


# --- aggregating -------------------------------------------------------------------------------

def stage_totals(jobs: pd.DataFrame) -> pd.DataFrame:
    """Wall and CPU seconds per stage (in order of first appearance)."""
    return jobs.groupby("stage", sort=False)[["wall_s", "cpu_s"]].sum()


def ratio(after, before):
    """after / before, NaN where before is zero or missing."""
    after, before = pd.to_numeric(after, errors="coerce"), pd.to_numeric(before, errors="coerce")
    if pd.api.types.is_scalar(before):
        return after / before if before else float("nan")
    return after / before.where(before != 0)


def outer_join(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Each column of both as (column, "before") and (column, "after"), on the rows of either:
    before's in its order, then those only after has."""
    index = before.index.append(after.index.difference(before.index, sort=False))
    joined = pd.concat({"before": before.reindex(index), "after": after.reindex(index)}, axis=1)
    return joined.swaplevel(axis=1)


def side_by_side(before: pd.DataFrame, after: pd.DataFrame, columns: list[str],
                 summed: list[str] | None = None) -> pd.DataFrame:
    """Two tables with the same kind of index side by side: for each column, (column, "before"),
    (column, "after") and (column, "ratio"), after/before; rows missing from one side are NaN
    there. A "total" row sums the ``summed`` columns (all by default; NaN in the others)."""
    both = outer_join(before[columns].astype(float), after[columns].astype(float))
    summed = columns if summed is None else summed
    totals = {(column, side): both[(column, side)].sum(min_count=1) if column in summed else float("nan")
              for column in columns for side in ("before", "after")}
    both.loc["total"] = pd.Series(totals)
    table = pd.DataFrame(index=both.index)
    for column in columns:
        table[(column, "before")] = both[(column, "before")]
        table[(column, "after")] = both[(column, "after")]
        table[(column, "ratio")] = ratio(both[(column, "after")], both[(column, "before")])
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def startup_split(jobs: pd.DataFrame, rules: pd.Series, startup: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Each job with a known rule and start-up: rule, wall_s, cpu_s, startup_wall_s, startup_cpu_s
    (the rule's measured start-up), work_wall_s and work_cpu_s (the rest, not below zero)."""
    table = jobs.assign(rule=rules)
    table = table[table.rule.isin(list(startup))].copy()
    table["startup_wall_s"] = [startup[r][0] for r in table.rule]
    table["startup_cpu_s"] = [startup[r][1] for r in table.rule]
    table["work_wall_s"] = (table.wall_s - table.startup_wall_s).clip(lower=0)
    table["work_cpu_s"] = (table.cpu_s - table.startup_cpu_s).clip(lower=0)
    return table[["stage", "job", "rule", "wall_s", "cpu_s", "startup_wall_s", "startup_cpu_s",
                  "work_wall_s", "work_cpu_s"]]


def rule_split(split: pd.DataFrame) -> pd.DataFrame:
    """startup_split summed per rule: jobs, start-up per job, start-up and work in all."""
    grouped = split.groupby("rule", sort=False)
    table = grouped[["wall_s", "startup_wall_s", "work_wall_s", "cpu_s", "startup_cpu_s", "work_cpu_s"]].sum()
    table.insert(0, "jobs", grouped.size())
    table.insert(1, "startup_wall_per_job", grouped.startup_wall_s.first())
    table.insert(2, "startup_cpu_per_job", grouped.startup_cpu_s.first())
    return table


def training_totals(training: pd.DataFrame) -> pd.DataFrame:
    """Steps and seconds of training per stage, and seconds per step."""
    table = training.groupby("stage", sort=False)[["steps", "seconds"]].sum()
    table["s_per_step"] = table.seconds / table.steps.where(table.steps != 0)
    return table


# --- formatting --------------------------------------------------------------------------------

def number(value) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def format_table(table: pd.DataFrame, index_name: str = "") -> str:
    """A table as text: numbers with few digits, '-' where missing, ratios as 0.00x (columns
    whose name, or last level, is "ratio"), counts as whole numbers (first level in COUNTS)."""
    shown = table.copy()
    for column in shown.columns:
        levels = column if isinstance(column, tuple) else (column,)
        if pd.api.types.is_numeric_dtype(shown[column]):
            kind = "ratio" if str(levels[-1]).endswith("ratio") else "count" if levels[0] in COUNTS else ""
            shown[column] = ["-" if pd.isna(v) else f"{v:.2f}x" if kind == "ratio" else f"{v:.0f}" if kind == "count"
                             else number(v) for v in shown[column]]
    shown.index.name = index_name or None
    return shown.to_string()


def cpu_model(cpuinfo: str) -> str:
    """The CPU's model name from /proc/cpuinfo's text ('unknown CPU' when it has none)."""
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    return match.group(1).strip() if match else "unknown CPU"


def cpu_name() -> str:
    """This machine's CPU model name (from /proc/cpuinfo; 'unknown CPU' where it has none)."""
    try:
        return cpu_model(Path("/proc/cpuinfo").read_text())
    except OSError:
        return cpu_model("")


def machine_line() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"Machine: {cpu_name()}, {os.cpu_count()} CPUs ({usable} usable), load average {load} at "
            f"start; {datetime.datetime.now().astimezone().isoformat(sep=' ', timespec='minutes')}")


# --- running both sides ------------------------------------------------------------------------

def git(*args: str, repo: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.rstrip()


def export_revision(rev: str, dest: Path) -> None:
    """The files of commit ``rev`` into ``dest`` (git archive: no worktree left behind)."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {rev} failed: {archive.stderr.decode(errors='replace').strip()}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


def copy_working_tree(dest: Path) -> int:
    """Tracked files as they are now and untracked files git does not ignore into ``dest``;
    returns how many."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    copied = 0
    for name in sorted(set(filter(None, listed))):
        source = ROOT / name
        if source.is_file():  # not a tracked file deleted in the working tree
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
            copied += 1
    return copied


def run_demo(tree: Path, cores: int, targets: list[str], configfile: Path | None, log: Path) -> float:
    """Wall seconds of ``snakemake --cores N <targets>`` in ``tree``; its output goes to ``log``."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), *targets]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    print(f"running in {tree}: {' '.join(cmd[1:])} (output in {log})", file=sys.stderr, flush=True)
    with open(log, "w") as out:
        began = time.perf_counter()
        result = subprocess.run(cmd, cwd=tree, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - began
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"snakemake failed ({result.returncode}) in {tree}:\n{tail}")
    return seconds


def time_process(code: str, tree: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh interpreter running ``code`` in ``tree`` with ``tree`` first
    on the import path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"start-up probe failed in {tree}:\n{code}\n{result.stderr[-2000:]}")
    return wall, (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)


def measure_startup(trees: dict[str, Path], wanted: dict[str, set[str]],
                    repeats: int) -> dict[str, dict[str, tuple[float, float]]]:
    """Side -> rule -> fewest (wall, CPU) seconds of its start-up probe over ``repeats`` rounds,
    each round running every side's probes (rules with the same probe share one)."""
    probes: dict[str, dict[str, str]] = {}
    for side, tree in trees.items():
        rules = parse_rules(tree / "rules")
        probes[side] = {rule: startup_probe(*script_imports(rules[rule][1].read_text()))
                        for rule in sorted(wanted[side]) if rule in rules and rules[rule][1].is_file()}
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for round_ in range(repeats):
        for side, tree in trees.items():
            for code in dict.fromkeys(probes[side].values()):
                print(f"start-up probe {round_ + 1}/{repeats}, {side}", file=sys.stderr, flush=True)
                wall, cpu = time_process(code, tree)
                old = best.get((side, code), (float("inf"), float("inf")))
                best[(side, code)] = (min(old[0], wall), min(old[1], cpu))
    return {side: {rule: best[(side, code)] for rule, code in probes[side].items()} for side in trees}


def describe_sides(rev: str, copied: int) -> tuple[str, str]:
    commit = git("rev-parse", "--short", f"{rev}^{{commit}}")
    subject = git("log", "-1", "--format=%s", commit)
    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    listed = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
    head = git("rev-parse", "--short", "HEAD")
    return (f"{rev} = {commit} ({subject[:70]}{'...' if len(subject) > 70 else ''})",
            f"working tree ({copied} files): HEAD {head}" + (f" with {len(changed)} changed or untracked path(s): "
                                                            f"{listed}" if changed else ", unchanged"))


def report(sides: dict[str, Path], walls: dict[str, float], startup: dict[str, dict[str, tuple[float, float]]],
           header: list[str], repeats: int, notes: list[str] = ()) -> str:
    """The side-by-side text of two finished runs (sides: "before", "after" -> working dir), their
    whole runs' wall seconds and their rules' start-up (wall, CPU) seconds; ``notes`` follow the
    totals."""
    jobs = {side: read_benchmarks(root) for side, root in sides.items()}
    rules = {side: job_rules(jobs[side], parse_rules(root / "rules")) for side, root in sides.items()}
    out = [*header, ""]
    out.append(f"Whole run, wall seconds: before {walls['before']:.1f}, after {walls['after']:.1f}, "
               f"after/before {walls['after'] / walls['before']:.2f}x")
    cpu = {side: jobs[side].cpu_s.sum() for side in sides}
    out.append(f"Heavy jobs' CPU seconds in all: before {cpu['before']:.1f}, after {cpu['after']:.1f}, "
               f"after/before {cpu['after'] / cpu['before']:.2f}x")
    out += [*notes, "", "Per stage: seconds of its heavy jobs (benchmark files), one after another", ""]
    names = {"wall_s": "wall s", "cpu_s": "CPU s"}
    per_stage = side_by_side(*(stage_totals(jobs[side]).rename(columns=names) for side in sides), list(names.values()))
    out.append(format_table(per_stage, "stage"))

    splits = {side: startup_split(jobs[side], rules[side], startup[side]) for side in sides}
    out += ["", "Start-up vs work per heavy rule, seconds: start-up = a fresh process doing what the rule's job "
                f"does before its first work (fewest of {repeats}) x its jobs; work = the rest of the jobs' time"]
    per_rule = {side: rule_split(splits[side]) for side in sides}
    for metric, title in (("wall", "wall"), ("cpu", "CPU")):
        names = {"jobs": "jobs", f"startup_{metric}_per_job": "start-up/job", f"startup_{metric}_s": "start-up",
                 f"work_{metric}_s": "work"}
        table = side_by_side(*(per_rule[side][list(names)].rename(columns=names) for side in sides),
                             list(names.values()), summed=["jobs", "start-up", "work"])
        out += ["", f"{title} time", format_table(table.drop(columns=[("jobs", "ratio")]), "rule")]
    out.append("")
    for side in sides:
        total = splits[side][["wall_s", "startup_wall_s", "cpu_s", "startup_cpu_s"]].sum()
        if total.wall_s and total.cpu_s:
            out.append(f"{side}: start-up is {total.startup_wall_s / total.wall_s:.0%} of the heavy jobs' wall time "
                       f"and {total.startup_cpu_s / total.cpu_s:.0%} of their CPU time")
    unknown = {side: sorted(set(jobs[side].stage[rules[side].isna()])) for side in sides}
    if any(unknown.values()):
        out.append(f"stages of jobs of no rule with a literal benchmark: and script: (no start-up split): {unknown}")
    out.append("(Snakemake samples a job's CPU time, every 0.5 s for 15 s then every 30 s, and misses what it used "
               "after the last sample: a short job's CPU, and so its CPU work, comes out low.)")

    out += ["", "Per heavy job: wall seconds, start-up and work", ""]
    names = {"wall_s": "wall", "startup_wall_s": "start-up", "work_wall_s": "work"}
    per_job = {side: splits[side].set_index(splits[side].stage + "/" + splits[side].job)[list(names)]
               .rename(columns=names) for side in sides}
    job_table = side_by_side(per_job["before"], per_job["after"], list(names.values()))
    out.append(format_table(job_table, "job"))

    training = {side: read_training(root) for side, root in sides.items()}
    out += ["", "Training: steps and seconds per stage (results/**/training.json, else the job's log)", ""]
    if all(t.empty for t in training.values()):
        out.append("no training in either run")
    else:
        names = {"steps": "steps", "seconds": "seconds", "s_per_step": "s/step"}
        steps = side_by_side(*(training_totals(training[side]).rename(columns=names) for side in sides),
                             list(names.values()), summed=["steps", "seconds"])
        for side in ("before", "after"):
            steps.loc["total", ("s/step", side)] = ratio(steps.loc["total", ("seconds", side)],
                                                         steps.loc["total", ("steps", side)])
        steps.loc["total", ("s/step", "ratio")] = ratio(steps.loc["total", ("s/step", "after")],
                                                        steps.loc["total", ("s/step", "before")])
        out.append(format_table(steps, "stage"))
    return "\n".join(out)


def compare(args: argparse.Namespace) -> None:
    configfile = args.configfile.resolve() if args.configfile else None
    if configfile and not configfile.is_file():
        raise SystemExit(f"no config file {configfile}")
    base = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="stages-"))
    sides = {"before": base / "before", "after": base / "after"}
    if any(path.exists() for path in sides.values()):
        raise SystemExit(f"{base} already holds before/ or after/: give another --out")
    base.mkdir(parents=True, exist_ok=True)
    try:
        header_machine = machine_line()
        export_revision(args.before, sides["before"])
        sides["after"].mkdir()
        copied = copy_working_tree(sides["after"])
        before, after = describe_sides(args.before, copied)
        command = ["snakemake", "--cores", str(args.cores), *args.target,
                   *(["--configfile", str(args.configfile)] if args.configfile else [])]
        header = [f"Where the demo's time goes, before and after: {' '.join(command)}",
                  f"before: {before}", f"after:  {after}", header_machine]
        walls, notes = {}, []
        for side, tree in sides.items():
            load = os.getloadavg()[0]
            walls[side] = run_demo(tree, args.cores, args.target, configfile, base / f"{side}.snakemake.log")
            notes.append(f"{side} run: load average (1 min) {load:.1f} at its start, "
                         f"{os.getloadavg()[0]:.1f} at its end")
        wanted = {side: set(job_rules(read_benchmarks(tree), parse_rules(tree / "rules")).dropna())
                  for side, tree in sides.items()}
        load = os.getloadavg()[0]
        startup = measure_startup(sides, wanted, args.startup_repeats)
        notes.append(f"start-up probes: load average (1 min) {load:.1f} at their start, {os.getloadavg()[0]:.1f} "
                     "at their end")
        text = report(sides, walls, startup, header, args.startup_repeats, notes)
        print(text)
        if args.out:
            (base / "stages.txt").write_text(text + "\n")
            print(f"\n(report in {base / 'stages.txt'}; runs in {sides['before']} and {sides['after']})")
    finally:
        if not args.out:
            shutil.rmtree(base, ignore_errors=True)


def single(root: Path) -> None:
    jobs = read_benchmarks(root)
    pd.set_option("display.width", 120)
    print(jobs.to_string(index=False, float_format=lambda v: f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"))
    stages = stage_totals(jobs)
    stages["cores_used"] = stages.cpu_s / stages.wall_s
    stages.loc["total (jobs one after another)"] = [jobs.wall_s.sum(), jobs.cpu_s.sum(),
                                                    jobs.cpu_s.sum() / jobs.wall_s.sum()]
    print()
    print(stages.to_string(float_format=lambda v: f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}"))
    print(f"\nCPU minutes in all: {jobs.cpu_s.sum() / 60:.1f}; on two otherwise idle cores running two one-thread "
          f"jobs at a time that is about {jobs.cpu_s.sum() / 60 / 2:.0f} minutes of wall time at best.")
    training = read_training(root)
    if not training.empty:
        print("\nTraining (results/**/training.json, else the job's log):\n")
        print(format_table(training_totals(training), "stage"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="the workflow's working directory (default: here)")
    parser.add_argument("--before", metavar="REV", help="run the demo at this git revision and in the working "
                        "tree, and print the two side by side")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores of both runs (default 2)")
    parser.add_argument("--configfile", type=Path, help="a config file for both runs (replaces config.yaml)")
    parser.add_argument("--target", nargs="+", default=["results/table2.csv"],
                        help="the targets of both runs (default results/table2.csv)")
    parser.add_argument("--startup-repeats", type=int, default=3, help="rounds of start-up probes (default 3)")
    parser.add_argument("--out", type=Path, help="keep both runs and the report here (default: a temporary "
                        "folder, deleted at the end)")
    args = parser.parse_args()
    if args.before and args.root:
        parser.error("--root reads a finished run; --before makes two runs of its own")
    if args.before:
        compare(args)
    else:
        single(args.root or Path("."))


if __name__ == "__main__":
    main()
