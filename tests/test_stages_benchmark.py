"""The pure parts of benchmarks/stages.py: reading benchmark files, training logs and rules,
what a rule's script imports, and the side-by-side tables. No test runs the workflow."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("stages", ROOT / "benchmarks" / "stages.py")
stages = importlib.util.module_from_spec(_spec)
sys.modules["stages"] = stages
_spec.loader.exec_module(stages)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

RULES = '''\
rule pretrain:
    output:
        directory("results/models/built/{model}"),
    benchmark:
        "benchmarks/models/built/{model}.tsv"
    threads: HEAVY
    script:
        "../scripts/pretrain.py"


rule neighbours:
    benchmark:
        "benchmarks/neighbours/{model}/{stage}.tsv"
    wildcard_constraints:
        stage="before|after",
    script:
        "../scripts/neighbours.py"


rule table2:
    output:
        "results/table2.csv",
    script:
        "../scripts/table2.py"
'''

PRETRAIN_SCRIPT = '''\
"""Pre-train one model."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import pretraining


def later():
    import textattack  # inside a function: work, not start-up
'''

ATTACK_SCRIPT = '''\
import sys

from miniature.runtime import start_job

log = start_job(snakemake, uses_sklearn=True)
from miniature import attack
'''


def benchmark(root, relative, *records):
    """A benchmark file with one row per (wall, cpu) record (the last one counts)."""
    path = root / "benchmarks" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{wall}\t0:00:01\t100.5\t200\t90\t95\t0\t0\t50\t{cpu}\n"
                                     for wall, cpu in records))


def training_log(steps, elapsed, total, start=None):
    """A job log with training progress lines at ``steps`` after ``elapsed`` seconds."""
    lines = ["2026-12-03 12:39:34,618 INFO miniature.pretrain: rule pretrain, wildcards {'model': 'large'}, "
             "1 thread(s)"]
    if start is not None:
        lines.append(f"2026-12-03 12:39:40,000 INFO miniature.training: resumed from ckpt/step-{start} at step "
                     f"{start} of {total}")
    for i, (done, seconds) in enumerate(zip(steps, elapsed)):
        lines.append(f"2026-12-03 12:40:{i:02d},000 INFO miniature.training: step {done}/{total}  loss 6.6348  "
                     f"lr 1.00e-03 (11.3/s, {seconds}s elapsed, ~0s left)")
    return "\n".join(lines) + "\n"


def make_run(root, walls):
    """A finished run: rules, scripts and benchmark files (stage/job -> (wall, cpu))."""
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "demo.smk").write_text(RULES)
    (root / "scripts").mkdir()
    (root / "scripts" / "pretrain.py").write_text(PRETRAIN_SCRIPT)
    (root / "scripts" / "neighbours.py").write_text(ATTACK_SCRIPT)
    for relative, record in walls.items():
        benchmark(root, relative, record)
    return root


def test_read_benchmarks_takes_the_last_repeat_of_each_nested_job(tmp_path):
    benchmark(tmp_path, "models/built/large.tsv", (5.0, 4.0), (10.0, 8.0))
    benchmark(tmp_path, "neighbours/large/before.tsv", (2.0, 1.0))
    (tmp_path / "benchmarks" / "stages.py").write_text("# a script beside the files: not a job\n")
    (tmp_path / "benchmarks" / "top.tsv").write_text(HEADER + "1\t0\t1\t1\t1\t1\t0\t0\t1\t1\n")  # no stage folder
    jobs = stages.read_benchmarks(tmp_path)
    assert jobs[["stage", "job", "wall_s", "cpu_s", "max_rss_mb"]].values.tolist() == [
        ["models", "built/large", 10.0, 8.0, 100.5], ["neighbours", "large/before", 2.0, 1.0, 100.5]]
    assert jobs.cores_used.tolist() == [0.8, 0.5]


def test_read_benchmarks_without_files_says_to_run_the_workflow(tmp_path):
    with pytest.raises(SystemExit, match="run the workflow first"):
        stages.read_benchmarks(tmp_path)


def test_training_log_gives_steps_and_seconds_of_the_last_line():
    assert stages.parse_training_log(training_log([50, 100], [20, 37], 100)) == (100, 37.0)
    assert stages.parse_training_log("2026-12-03 12:48:24,076 INFO miniature.qa: predicted windows 5/9 "
                                     "(375.4/s, 5s elapsed, ~0s left)\n") is None
    # A resumed job ran only the steps after its checkpoint, in the seconds since it resumed.
    assert stages.parse_training_log(training_log([250, 300], [10, 21], 300, start=200)) == (100, 21.0)


def test_read_training_prefers_training_json_and_falls_back_to_logs(tmp_path):
    result = tmp_path / "results" / "finetune" / "qa" / "large"
    result.mkdir(parents=True)
    (result / "training.json").write_text(json.dumps({"steps": 1000, "seconds": 295.4, "loss_curve": [1.0, 0.5]}))
    logs = tmp_path / "logs"
    for relative, text in {"finetune/qa/large.log": training_log([999], [1], 999),  # training.json says it better
                           "models/built/large.log": training_log([800, 1600], [80, 169], 1600),
                           "predict/large.log": "2026-12-03 12:48:02,019 INFO miniature.predict_qa: rule\n"}.items():
        (logs / relative).parent.mkdir(parents=True, exist_ok=True)
        (logs / relative).write_text(text)
    training = stages.read_training(tmp_path)
    assert training.values.tolist() == [["finetune", "qa/large", 1000, 295.4, "training.json"],
                                        ["models", "built/large", 1600, 169.0, "log"]]
    totals = stages.training_totals(training)
    assert totals.loc["models"].tolist() == [1600, 169.0, 169.0 / 1600]


def test_read_training_of_a_run_without_training_is_empty(tmp_path):
    training = stages.read_training(tmp_path)
    assert training.empty and list(training.columns) == ["stage", "job", "steps", "seconds", "source"]


def test_rules_with_benchmarks_and_the_jobs_they_made(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "demo.smk").write_text(RULES)
    rules = stages.parse_rules(tmp_path / "rules")
    assert rules == {"pretrain": ("benchmarks/models/built/{model}.tsv", tmp_path / "scripts" / "pretrain.py"),
                     "neighbours": ("benchmarks/neighbours/{model}/{stage}.tsv",
                                    tmp_path / "scripts" / "neighbours.py")}  # table2 has no benchmark
    jobs = pd.DataFrame({"stage": ["models", "neighbours", "neighbours", "models", "embed"],
                         "job": ["built/large", "small/after", "small/after/extra", "compressed/d", "large"]})
    assert stages.job_rules(jobs, rules).tolist() == ["pretrain", "neighbours", None, None, None]


def test_pattern_regex_escapes_text_and_honours_a_wildcard_regex():
    regex = stages.pattern_regex("benchmarks/compress/{task}/{model,[a-z.]+}.tsv")
    assert regex.fullmatch("benchmarks/compress/qa/distil.vee.tsv")
    assert not regex.fullmatch("benchmarks/compress/qa/Distil.tsv")
    assert not regex.fullmatch("benchmarks/compress/qa/x/distil.tsv")
    assert not regex.fullmatch("benchmarks/compressXqa/distil.tsv")


def test_script_imports_are_the_module_level_ones_and_sklearn_is_noticed():
    imports, uses_sklearn = stages.script_imports(PRETRAIN_SCRIPT)
    assert imports == ["import sys", "from miniature.runtime import job_device, start_job",
                       "from miniature import pretraining"]
    assert not uses_sklearn
    assert stages.script_imports(ATTACK_SCRIPT) == (
        ["import sys", "from miniature.runtime import start_job", "from miniature import attack"], True)
    assert stages.script_imports("from miniature import runtime\nlog = runtime.start_job(snakemake, "
                                 "uses_sklearn=True)\n")[1]
    assert not stages.script_imports("log = start_job(snakemake, uses_sklearn=False)\n")[1]


def test_startup_probe_hides_sklearn_before_the_imports_unless_the_script_uses_it():
    probe = stages.startup_probe(["import json", "from miniature import data"], uses_sklearn=False)
    compile(probe, "probe", "exec")
    lines = probe.splitlines()
    assert lines.index("sys.modules.setdefault('sklearn', None)") < lines.index("import json")
    assert lines[-1] == "from miniature import data"
    assert "from snakemake.iocontainers import Snakemake" in lines  # what every job's preamble imports
    assert "sklearn" not in stages.startup_probe(["import json"], uses_sklearn=True)


def test_side_by_side_ratios_totals_and_rows_on_one_side_only():
    before = pd.DataFrame({"wall_s": [10.0, 4.0], "cpu_s": [8.0, 2.0]}, index=["models", "attack"])
    after = pd.DataFrame({"wall_s": [5.0, 3.0], "cpu_s": [4.0, 0.0]}, index=["models", "embed"])
    table = stages.side_by_side(before, after, ["wall_s", "cpu_s"])
    assert list(table.columns) == [("wall_s", "before"), ("wall_s", "after"), ("wall_s", "ratio"),
                                   ("cpu_s", "before"), ("cpu_s", "after"), ("cpu_s", "ratio")]
    assert list(table.index) == ["models", "attack", "embed", "total"]  # before's order, then after's new rows
    assert table.loc["models"].tolist() == [10.0, 5.0, 0.5, 8.0, 4.0, 0.5]
    assert math.isnan(table.loc["attack", ("wall_s", "after")]) and math.isnan(table.loc["attack", ("wall_s", "ratio")])
    assert math.isnan(table.loc["embed", ("cpu_s", "ratio")])
    assert table.loc["total"].tolist() == [14.0, 8.0, 8.0 / 14.0, 10.0, 4.0, 0.4]
    text = stages.format_table(table, "stage").splitlines()
    assert text[0].split() == ["wall_s", "cpu_s"] and text[1].split() == ["before", "after", "ratio"] * 2
    assert text[4].split() == ["attack", "4.00", "-", "-", "2.00", "-", "-"]
    assert text[5].split() == ["embed", "-", "3.00", "-", "-", "0.00", "-"]
    assert text[6].split() == ["total", "14.0", "8.00", "0.57x", "10.0", "4.00", "0.40x"]


def test_side_by_side_totals_only_what_adds_up():
    before = pd.DataFrame({"jobs": [2, 1], "per_job": [4.0, 1.0]}, index=["pretrain", "ood"])
    table = stages.side_by_side(before, before.iloc[:1], ["jobs", "per_job"], summed=["jobs"])
    assert table.loc["total"].tolist()[:3] == [3.0, 2.0, 2.0 / 3.0]
    assert all(math.isnan(v) for v in table.loc["total", "per_job"])
    assert stages.format_table(table).splitlines()[-1].split() == ["total", "3", "2", "0.67x", "-", "-", "-"]
    assert stages.ratio(3.0, 0.0) != stages.ratio(3.0, 0.0)  # NaN, not a division error
    assert stages.ratio(3.0, 2.0) == 1.5


def test_startup_split_per_job_and_per_rule():
    jobs = pd.DataFrame({"stage": ["models", "models", "neighbours", "ood"], "job": ["built/a", "built/b", "a/x", "a"],
                         "wall_s": [30.0, 2.0, 5.0, 1.0], "cpu_s": [20.0, 1.0, 4.0, 1.0]})
    rules = pd.Series(["pretrain", "pretrain", "neighbours", None])
    split = stages.startup_split(jobs, rules, {"pretrain": (4.0, 3.0), "neighbours": (1.0, 0.5)})
    assert split.job.tolist() == ["built/a", "built/b", "a/x"]  # no rule, no split
    assert split.work_wall_s.tolist() == [26.0, 0.0, 4.0]  # never below zero
    assert split.work_cpu_s.tolist() == [17.0, 0.0, 3.5]
    per_rule = stages.rule_split(split)
    assert per_rule.loc["pretrain"].to_dict() == {
        "jobs": 2, "startup_wall_per_job": 4.0, "startup_cpu_per_job": 3.0, "wall_s": 32.0, "startup_wall_s": 8.0,
        "work_wall_s": 26.0, "cpu_s": 21.0, "startup_cpu_s": 6.0, "work_cpu_s": 17.0}


def test_cpu_model_from_cpuinfo():
    assert stages.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: avx2\n") == "AMD EPYC 7B13"
    assert stages.cpu_model("processor\t: 0\nCPU part\t: 0xd0c\n") == "unknown CPU"


def test_report_of_two_constructed_runs(tmp_path):
    before = make_run(tmp_path / "before", {"models/built/large.tsv": (30.0, 20.0),
                                            "neighbours/large/before.tsv": (4.0, 2.0)})
    after = make_run(tmp_path / "after", {"models/built/large.tsv": (15.0, 10.0),
                                          "neighbours/large/before.tsv": (3.0, 2.0),
                                          "embed/large.tsv": (6.0, 3.0)})  # a stage of no known rule
    log = after / "logs" / "models" / "built" / "large.log"
    log.parent.mkdir(parents=True)
    log.write_text(training_log([30], [12], 30))
    startup = {"before": {"pretrain": (5.0, 4.0), "neighbours": (1.0, 0.5)},
               "after": {"pretrain": (2.5, 2.0), "neighbours": (1.0, 0.5)}}
    text = stages.report({"before": before, "after": after}, {"before": 100.0, "after": 80.0}, startup,
                         ["HEADER LINE"], repeats=3)
    assert text.startswith("HEADER LINE\n")
    assert "Whole run, wall seconds: before 100.0, after 80.0, after/before 0.80x" in text
    assert "Heavy jobs' CPU seconds in all: before 22.0, after 15.0, after/before 0.68x" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["models", "30.0", "15.0", "0.50x", "20.0", "10.0", "0.50x"] in lines
    # jobs before/after, then before, after, ratio of start-up per job, start-up in all and work in all
    wall, cpu = [line for line in lines if line[:1] == ["pretrain"]]
    assert wall == ["pretrain", "1", "1", "5.00", "2.50", "0.50x", "5.00", "2.50", "0.50x", "25.0", "12.5", "0.50x"]
    assert cpu == ["pretrain", "1", "1", "4.00", "2.00", "0.50x", "4.00", "2.00", "0.50x", "16.0", "8.00", "0.50x"]
    assert ["models/built/large", "30.0", "15.0", "0.50x", "5.00", "2.50", "0.50x", "25.0", "12.5", "0.50x"] in lines
    assert "before: start-up is 18% of the heavy jobs' wall time and 20% of their CPU time" in text
    assert "{'before': [], 'after': ['embed']}" in text
    training = text.split("Training: steps and seconds per stage")[1].splitlines()
    assert training[-1].split() == ["total", "-", "30", "-", "-", "12.0", "-", "-", "0.40", "-"]
