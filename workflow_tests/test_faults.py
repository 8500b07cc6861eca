"""Faults: bad inputs stop the run before any job, naming what is wrong (one test per case);
a run killed mid-way loses nothing; two clean runs give identical results.

Each bad-input case is a dry run of the tiny config with one thing broken;
tests/test_inputs.py checks more variants of each check without starting Snakemake."""

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter

import pytest
import yaml
from runner import (
    CONFIGS,
    ENV,
    ROOT,
    Job,
    _command,
    finished_outputs,
    planned_job_outputs,
    planned_jobs,
    same_content,
    snakemake,
    start_snakemake,
)

CONTEXT = "Anna Berg was born in Oslo in 1901."



def kill_when(run, ready, timeout: float, what: str) -> None:
    """Wait (at most ``timeout`` seconds) until ``ready()`` while ``run`` goes on, then SIGKILL
    Snakemake and every running job at once, as a crash would."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert run.poll() is None, f"the run ended before {what}"
            assert time.monotonic() < deadline, f"not in time: {what}"
            time.sleep(0.05)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()

def squad(*qas, context=CONTEXT):
    return {"version": "v2.0", "data": [{"title": "Anna", "paragraphs": [{"context": context, "qas": list(qas)}]}]}


def question(qid, answer=None, start=None):
    answers = [] if answer is None else [
        {"text": answer, "answer_start": CONTEXT.index(answer) if start is None else start}]
    return {"id": qid, "question": "Where was Anna Berg born?", "answers": answers}


VALID_SQUAD = squad(question("q1", "Oslo"), question("q2"))


def write(workdir, name, content):
    path = workdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    return name


def model_folder(workdir, name, config=None, files=("model.safetensors",)):
    """A folder shaped like a save_pretrained model (dummy weight files: a dry run never loads them)."""
    write(workdir, f"{name}/config.json", config or {"model_type": "bert"})
    for file in files:
        write(workdir, f"{name}/{file}", b"\0")
    return name


def qa_file(split, content):
    def apply(config, workdir):
        config["data"]["qa"][split] = {"file": {"path": write(workdir, f"{split}.json", content)}}
    return apply


def sentiment_file(lines):
    def apply(config, workdir):
        config["data"]["sentiment"]["test"] = {
            "file": {"path": write(workdir, "reviews.jsonl", "\n".join(lines) + "\n")}}
    return apply


def path_model(**folder):
    def apply(config, workdir):
        config["models"]["mine"] = {"path": model_folder(workdir, "mine", **folder)}
    return apply


def setting(path, value):
    def apply(config, workdir):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return apply


def tokenizer_with_code(config, workdir):
    path_model()(config, workdir)
    write(workdir, "mine/tokenizer_config.json", {"auto_map": {"AutoTokenizer": ["tok.EvilTokenizer", None]}})


REVIEW = json.dumps({"id": "r1", "text": "A fine film.", "label": 1})

# (case, change to the tiny config, fragments the message must contain)
BAD_INPUTS = [
    ("misspelled top-level key", setting(["modles"], {}), ["config error", "unknown key 'modles'"]),
    ("model key with capitals and hyphen", setting(["models", "Big-Model"], {"path": "x"}),
     ["models: key 'Big-Model' is not allowed"]),
    ("model key leaving results/", setting(["models", "../outside"], {"path": "x"}),
     ["models: key '../outside' is not allowed"]),
    ("reference not among models", setting(["reference"], "huge"), ["reference: 'huge' is not one of the models"]),
    ("empty model list", setting(["models"], {}), ["models:", "at least two models"]),
    ("single model", lambda c, d: c.update(models={"large": c["models"]["large"]}), ["models:", "at least two models"]),
    ("hub model not pinned to a commit",
     setting(["models", "base"], {"hub": {"id": "google-bert/bert-base-uncased", "revision": "main"}}),
     ["models.base.hub.revision: 'main' does not match"]),
    ("data file not JSON", qa_file("test", "{'data': ["),
     ["input error: data.qa.test.file.path: test.json: not valid JSON"]),
    ("data file not in SQuAD 2.0 layout", qa_file("test", {"questions": [{"id": "q1"}]}),
     ["data.qa.test.file.path: test.json: not in the SQuAD 2.0 layout"]),
    ("duplicate question ids", qa_file("train", squad(question("q1", "Oslo"), question("q1"))),
     ["data.qa.train.file.path: train.json: duplicate question id 'q1'"]),
    ("answer_start not at its text", qa_file("test", squad(question("q1", "Oslo", start=3))),
     ["data.qa.test.file.path: test.json: question 'q1': answer_start 3 does not point at its text 'Oslo'"]),
    ("empty challenge set", qa_file("challenge", {"version": "v2.0", "data": []}),
     ["data.qa.challenge.file.path: challenge.json: contains no questions"]),
    ("sentiment label not 0/1", sentiment_file([REVIEW, json.dumps({"id": "r2", "text": "Dull.", "label": 2})]),
     ["input error: data.sentiment.test.file.path: reviews.jsonl: line 2: label 2 is not 0 or 1"]),
    ("input inside results/", setting(["data", "qa", "test"], {"file": {"path": "results/data/qa/test.json"}}),
     ["data.qa.test.file.path: results/data/qa/test.json lies inside results/"]),
    ("model folder missing", setting(["models", "mine"], {"path": "models/mine"}),
     ["input error: models.mine.path: models/mine: no such folder"]),
    ("model folder without weights", path_model(files=()), ["models.mine.path: mine: no weights (*.safetensors)"]),
    # pytorch_model.bin alone is converted at fetch time (tests/test_pickle_weights.py); a pickle
    # under any other name is not.
    ("model folder with only another pickle", path_model(files=("weights.pt",)),
     ["models.mine.path: mine: only pickle weights (weights.pt); convert them to safetensors"]),
    ("model config asks for remote code",
     path_model(config={"model_type": "bert", "auto_map": {"AutoModel": "modeling_evil.EvilModel"}}),
     ["models.mine.path: mine: its config.json asks for custom code (auto_map)"]),
    ("tokenizer asks for remote code", tokenizer_with_code,
     ["models.mine.path: mine: its tokenizer_config.json asks for custom code (auto_map)"]),
]


@pytest.fixture
def tiny():
    return yaml.safe_load((CONFIGS / "tiny.yaml").read_text())


def dry_run(workdir, config):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return snakemake(workdir, "--dry-run", "results/table2.csv", configfile=workdir / "config.yaml", check=False)


@pytest.mark.parametrize("case, change, fragments", BAD_INPUTS, ids=[case for case, _, _ in BAD_INPUTS])
def test_bad_input_stops_before_any_job_naming_it(tmp_path, tiny, case, change, fragments):
    config = copy.deepcopy(tiny)
    change(config, tmp_path)
    result = dry_run(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in output
    assert "Job stats" not in output  # stopped while parsing, before scheduling anything
    assert not (tmp_path / "results").exists()


def test_missing_data_file_warns_in_a_dry_run_and_stops_a_run_before_any_job(tmp_path, tiny):
    # A dry run shows the plan before a user supplies a file (NewsQA); a run does not start.
    setting(["data", "qa", "test"], {"file": {"path": "nowhere/test.json"}})(tiny, tmp_path)
    planned = dry_run(tmp_path, tiny)
    assert planned.returncode == 0 and "nowhere/test.json does not exist yet" in planned.stdout + planned.stderr
    result = snakemake(tmp_path, "--cores", "1", "results/table2.csv", configfile=tmp_path / "config.yaml",
                       check=False)
    assert result.returncode != 0
    assert "input error: data.qa.test.file.path: nowhere/test.json: file not found" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_good_local_inputs_pass_the_same_checks(tmp_path, tiny):
    """The control: well-formed local files and folders of every kind are accepted."""
    for split in ("train", "test", "challenge"):
        qa_file(split, VALID_SQUAD)(tiny, tmp_path)
    sentiment_file([REVIEW, json.dumps({"id": "r2", "text": "Dull.", "label": 0})])(tiny, tmp_path)
    path_model()(tiny, tmp_path)
    # Sizes that fit these small files: K below their 2 test questions, a sample of their 2 reviews.
    tiny["knn"] = {"k": 1, "sweep": [1]}
    tiny["attack"]["sample_size"] = 2
    result = dry_run(tmp_path, tiny)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fetch_model" in result.stdout  # the local model is copied in by a job


def test_every_output_stays_in_its_folder(tmp_path):
    """Model keys and split names are the only config values in output paths; both are
    validated, so every output, log and benchmark lands in results/, logs/, benchmarks/."""
    result = snakemake(tmp_path, "--dry-run", "results/table2.csv", configfile=ROOT / "configs" / "paper.yaml")
    paths = {"output": [], "log": [], "benchmark": []}
    for kind, listed in re.findall(r"^\s+(output|log|benchmark): (.+)$", result.stdout, re.M):
        paths[kind] += listed.split(", ")
    assert len(paths["output"]) >= 42
    folders = {"output": "results", "log": "logs", "benchmark": "benchmarks"}
    for kind, listed in paths.items():
        for path in listed:
            assert (tmp_path / path).resolve().is_relative_to(tmp_path / folders[kind]), path


# --- interruption and reproducibility --------------------------------------------------------

TABLES = ["results/table2.csv"]


def fresh_tiny(workdir):
    shutil.copy(CONFIGS / "tiny.yaml", workdir / "config.yaml")
    return workdir / "config.yaml"


def test_killed_run_resumes_and_ends_exactly_where_a_clean_run_does(tmp_path, tiny_run):
    # The run to the default target is killed mid-way, resumed, and compared file by file with
    # tiny_run, an uninterrupted run of the same config: reproducible and interruption-proof.
    config = fresh_tiny(tmp_path)
    # It starts as a run killed during large's QA fine-tuning stands once every job that does
    # not depend on that fine-tune has finished: tiny_run's outputs, copied with their times,
    # less those of that job and of every job after it. Those jobs (37 of 84) run here; the
    # kill, the refusal, the resumption and the comparison are those of a run killed from
    # scratch. The jobs not run a second time here (data, tokenizer, pre-trained models,
    # sentiment classifiers, attacks) are shown to give the same files in another run by the
    # Slurm test (every job of large and small from scratch, compared file by file with
    # tiny_run, wherever Slurm can run, as in CI) and, for large's attack, prediction and
    # embedding, by the next test.
    shutil.copytree(tiny_run / "results", tmp_path / "results")
    after_fine_tune = planned_job_outputs(tmp_path, target="all", configfile=config,
                                          extra=("--forcerun", "results/finetune/qa/large"))
    for path in (tmp_path / output for _, outputs in after_fine_tune for output in outputs):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    planned_at_start = planned_jobs(tmp_path, target="all", configfile=config)
    assert planned_at_start == dict(Counter(job.rule for job, _ in after_fine_tune))
    assert planned_at_start["finetune_qa"] == 1 and (Job.of("finetune_qa", model="large"), [
        "results/finetune/qa/large"]) in after_fine_tune
    assert planned_at_start["table2"] == 1 and "attack" not in planned_at_start
    run = start_snakemake(tmp_path, "--cores", "2", "all", configfile=config)
    checkpoint = tmp_path / "results/checkpoints/finetune/qa/large/state.pt"
    kill_when(run, checkpoint.exists, 1500, "the fine-tuning job wrote its first checkpoint")
    # Killed mid-way: the job's output is absent (it is built under a temporary name), its checkpoint kept.
    assert not (tmp_path / "results/finetune/qa/large").exists()
    assert not (tmp_path / "results/table2.csv").exists()
    before = finished_outputs(tmp_path)
    assert "results/models/built/large/model.safetensors" in before

    # A plain rerun refuses, pointing at the remedy (which check comes first depends on what
    # the kill left behind); the user types what README's Troubleshooting says: unlock, then
    # rerun with --rerun-incomplete.
    refused = snakemake(tmp_path, "--cores", "2", "all", configfile=config, check=False)
    assert refused.returncode != 0
    assert "--unlock" in refused.stderr or "--rerun-incomplete" in refused.stderr
    snakemake(tmp_path, "--unlock", configfile=config)
    # Exactly the jobs that had not finished: nothing that had is planned again (nor written
    # again: checked below).
    assert planned_jobs(tmp_path, target="all", configfile=config, extra=("--rerun-incomplete",)) == planned_at_start
    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", "all", configfile=config)

    after = finished_outputs(tmp_path)
    assert {f: after[f] for f in before} == before  # nothing that had finished was written again
    log = (tmp_path / "logs/finetune/qa/large.log").read_text()
    resumed_at = int(re.search(r"resumed from \S+ at step (\d+) of 300", log).group(1))
    assert resumed_at >= 20 and f"step {resumed_at}/300" not in log  # went on from the checkpoint
    assert not checkpoint.parent.exists()  # discarded once the output was in place
    # The interrupted run ends exactly where the uninterrupted one did, every file of it.
    ours, theirs = finished_outputs(tmp_path), finished_outputs(tiny_run)
    assert set(ours) == set(theirs)
    assert [name for name in sorted(ours) if not same_content(tmp_path / name, tiny_run / name)] == []
    for name in TABLES:
        assert (tmp_path / name).read_bytes() == (tiny_run / name).read_bytes()


# --- the attack, prediction and embedding resume -------------------------------------------------

# Installed in every Python process of a run through PYTHONPATH: each job stops for good right
# after it first saves partial results (an attacked review, a chunk of logits or vectors), so
# that the run is killed with every one of these jobs mid-way, however fast the tiny models are.
PAUSE_AFTER_FIRST_SAVE = '''
import importlib.abc, importlib.util, sys, time

class _PauseAfterFirstSave(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "miniature.checkpoints":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            for cls, method in ((module.RowLog, "append"), (module.BatchCheckpoint, "flush")):
                def paused(self, *args, _save=getattr(cls, method), **kwargs):
                    _save(self, *args, **kwargs)
                    time.sleep(900)
                setattr(cls, method, paused)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _PauseAfterFirstSave())
'''

SAMPLE_SIZE = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())["attack"]["sample_size"]
RESUMED = {  # output -> what its job's checkpoint holds, and the log line of its resumption
    "results/attack/large/summary.json": ("results/checkpoints/attack/large",
                                          f"resumed at review 2 of {SAMPLE_SIZE}"),
    "results/predict/large/metrics.json": ("results/checkpoints/predict/large",
                                           "resumed from results/checkpoints/predict/large after batch 2"),
    "results/embed/large/after.npz": ("results/checkpoints/embed/large",
                                      "resumed from results/checkpoints/embed/large/before-test after batch 1"),
}


def saved_something(workdir, checkpoint):
    """Whether a job's checkpoint holds a finished review or chunk."""
    folder = workdir / checkpoint
    rows = folder / "rows.jsonl"
    if rows.is_file():
        return len(rows.read_bytes().splitlines()) >= 2  # the fingerprint, then a review
    return any(folder.rglob("chunk-*.npz"))


def test_killed_attack_prediction_and_embedding_resume_with_the_outputs_of_a_clean_run(tmp_path, tiny_run):
    # The tiny config with the logits and vectors saved every 40 windows and 50 data points
    # (a test split has ~150 windows in batches of 32, the embedded splits 60-200 points in
    # batches of 64); the outputs do not depend on it, so they must be tiny_run's.
    config = yaml.safe_load((CONFIGS / "tiny.yaml").read_text())
    config["predict"] = {"resume_every": 40}
    config["embed"] = {"resume_every": 50}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    # What these jobs read is tiny_run's (copied with its times): only they run here.
    shutil.copytree(tiny_run / "results", tmp_path / "results",
                    ignore=lambda folder, names: names if folder.endswith(("/attack/large", "/predict/large",
                                                                           "/embed/large")) else [])
    assert planned_jobs(tmp_path, target=" ".join(RESUMED), configfile=tmp_path / "config.yaml") == {
        "attack": 1, "predict_qa": 1, "embed": 1}
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_AFTER_FIRST_SAVE)
    env = {**ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    # Three cores: the three jobs (one thread each) can be stopped side by side while the jobs
    # they need still run.
    run = subprocess.Popen(_command(tmp_path, ["--cores", "3", *RESUMED], tmp_path / "config.yaml"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    kill_when(run, lambda: all(saved_something(tmp_path, checkpoint) for checkpoint, _ in RESUMED.values()), 900,
              "every job saved partial results")
    for output in RESUMED:
        assert not (tmp_path / output).exists()

    snakemake(tmp_path, "--unlock", configfile=tmp_path / "config.yaml")
    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", *RESUMED, configfile=tmp_path / "config.yaml")
    for output, (checkpoint, resumed) in RESUMED.items():
        log = (tmp_path / "logs" / output.split("/")[1] / "large.log").read_text()
        assert resumed in log, log[-2000:]
        assert not (tmp_path / checkpoint).exists()  # discarded once the outputs were in place
    ours = finished_outputs(tmp_path)
    for output in ["results/attack/large/examples.csv", "results/attack/large/succeeded.json",
                   "results/predict/large/predictions.json", "results/predict/large/null_margins.json",
                   "results/predict/large/timing.json", "results/embed/large/before.npz", *RESUMED]:
        assert output in ours
    assert [name for name in sorted(ours) if not same_content(tmp_path / name, tiny_run / name)] == []
