"""The paper's whole path rehearsed offline: configs/paper.yaml, unchanged but for sizes
(workflow_tests/configs/paper_rehearsal.yaml), run to Tables 2 and 3 against a stand-in hub.

The stand-in (workflow_tests/hub) serves, on the loopback interface and in the hub's URL
layout, tiny copies of every repository the config pins, each at its pinned commit and in the
real repository's file layout: the six BERTs (two of them pickle-only, one without a
model_type), SQuAD 2.0, IMDB and MRQA's NewsQA. The workflow's download jobs (fetch_model,
qa_split, sentiment_split) then run the real loading code (``from_pretrained(id,
revision=sha)``, ``hf_hub_download``, ``datasets.load_dataset(id, revision=sha)``) with only
``HF_ENDPOINT`` and a fresh ``HF_HOME`` changed; every other job runs offline as it always does.
The stand-in answers any other revision with RevisionNotFound, so a run that gets through
also shows that every download names the commit the config pins.
"""

import json
import re
import time
from collections import Counter

import pandas as pd
import pytest
import yaml
from hub.paper import MODELS, NEWSQA, build_paper_repos, hub_sources
from hub.server import HubServer
from runner import CONFIGS, ROOT, snakemake

PAPER = ROOT / "configs" / "paper.yaml"
REHEARSAL = CONFIGS / "paper_rehearsal.yaml"
TARGETS = ("results/table2.csv", "results/table3.csv")
# Every job the two tables need from the paper config: no stage skipped.
REHEARSAL_JOBS = {"fetch_model": 6, "qa_split": 3, "sentiment_split": 2, "attack_sample": 1, "finetune_qa": 6,
                  "finetune_sentiment": 6, "predict_qa": 6, "errors": 6, "attack": 6, "embed": 6, "neighbours": 12,
                  "ood": 6, "compare_representation": 15, "table2": 1, "table3": 1}
# transformers 4.57's tokenizer loading lists the repository's files at main, whatever the
# revision asked for (tokenization_utils_base: list_repo_files, used only to recognise Mistral
# tokenizer files; its errors are ignored). The stand-in refuses main like any unpinned revision.
UNPINNED_LISTING = re.compile(r"^/api/models/[^/]+/[^/]+/tree/main\?recursive=True&expand=False$")

# What paper_rehearsal.yaml may change: sizes only.
SIZE_SETTINGS = {f"finetune.{task}.{key}" for task in ("qa", "sentiment")
                 for key in ("epochs", "steps", "batch_size", "max_length", "doc_stride", "checkpoint_every")} | {
    "attack.sample_size", "predict.batch_size", "embed.batch_size", "agreement.bootstrap_resamples", "knn.k",
    "knn.sweep", "ood.train_questions"}


def _settings(tree: dict, prefix: str = "") -> set[str]:
    """The dotted paths of a config's leaves (lists count as leaves)."""
    paths = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        paths |= _settings(value, f"{path}.") if isinstance(value, dict) else {path}
    return paths


def _revision(path: str) -> str | None:
    """The revision a hub request names (None for a request that names none)."""
    parts = path.split("?")[0].split("/")[1:]
    if parts[0] == "api":
        return parts[5] if len(parts) > 5 else None
    if parts[0] == "datasets":
        parts = parts[1:]
    return parts[3] if len(parts) > 3 and parts[2] == "resolve" else None


@pytest.fixture(scope="module")
def paper_config():
    return yaml.safe_load(PAPER.read_text())


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, paper_config):
    """The rehearsal run: (working folder, the stand-in hub after the run, Snakemake's result, seconds taken)."""
    build = tmp_path_factory.mktemp("hub_build")
    repos = build_paper_repos(paper_config, build)
    workdir = tmp_path_factory.mktemp("paper")
    hf_home = tmp_path_factory.mktemp("hf_home")
    with HubServer(repos) as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
               "HF_DATASETS_CACHE": str(hf_home / "datasets"), "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
               "TRANSFORMERS_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}
        start = time.monotonic()
        result = snakemake(workdir, "--cores", "2", *TARGETS, "--configfile", str(PAPER), str(REHEARSAL), env=env)
        seconds = time.monotonic() - start
    return workdir, hub, result, seconds


def test_rehearsal_config_only_shrinks_sizes_and_validates(paper_config):
    from snakemake.utils import update_config

    from miniature.config import validate_config

    override = yaml.safe_load(REHEARSAL.read_text())
    assert _settings(override) <= SIZE_SETTINGS
    merged = yaml.safe_load(PAPER.read_text())
    update_config(merged, override)  # what a second --configfile does
    validated = validate_config(merged)
    assert validated["models"] == paper_config["models"] and validated["data"] == paper_config["data"]
    assert validated["attack"]["masked_lm"] == "base" and validated["attack"]["candidates"] == 3


def test_rehearsal_runs_every_stage_of_the_paper_to_tables_2_and_3(rehearsal, paper_config):
    workdir, hub, result, seconds = rehearsal
    log = result.stdout + result.stderr
    ran = Counter(re.findall(r"^(?:local)?rule (\w+):$", log, flags=re.M))
    print(f"\npaper rehearsal: {sum(ran.values())} jobs in {seconds:.0f} s: {dict(ran)}")
    assert dict(ran) == REHEARSAL_JOBS
    models = list(paper_config["models"])
    table2 = pd.read_csv(workdir / "results" / "table2.csv")
    assert len(table2) == len(models) * (len(models) - 1) // 2
    assert list(table2.model_b[: len(models) - 1]) == models[1:]
    numeric = table2.drop(columns=["model_a", "model_b"])
    assert numeric.notna().all().all() and ((numeric >= 0) & (numeric <= 1)).all().all()
    table3 = pd.read_csv(workdir / "results" / "table3.csv")
    assert len(table3) == len(models)


def test_every_download_names_its_pinned_commit(rehearsal, paper_config):
    _, hub, _, _ = rehearsal
    pins = {repo_id: sha for (_, repo_id), sha in hub_sources(paper_config).items()}
    unpinned = [r for r in hub.requests
                if _revision(r[1]) not in pins.values() and not UNPINNED_LISTING.match(r[1])]
    assert not unpinned, unpinned
    # Every pinned repository was read (the challenge set included), and nothing failed but
    # look-ups of optional files (EntryNotFound) and transformers' listing at main.
    downloaded = {re.sub(r"^/(datasets/)?([^/]+/[^/]+)/resolve/.*", r"\2", path)
                  for method, path, status, _ in hub.requests
                  if method == "GET" and status == 200 and "/resolve/" in path}
    assert set(pins) <= downloaded
    assert NEWSQA[0] in downloaded
    failed = [r for r in hub.requests if r[2] >= 400 and r[3] != "EntryNotFound" and not UNPINNED_LISTING.match(r[1])]
    assert not failed, failed


def test_weights_come_in_the_form_each_repository_holds(rehearsal, paper_config):
    """safetensors where the repository has them; pytorch_model.bin (converted at fetch time)
    only for the pickle-only repositories, medium and mini."""
    workdir, hub, _, _ = rehearsal
    fetched = {path.split("/resolve/")[0].lstrip("/"): path.rsplit("/", 1)[1]
               for method, path, status, _ in hub.requests
               if method == "GET" and status == 200 and path.endswith((".safetensors", ".bin"))}
    for key, model in paper_config["models"].items():
        repo_id = model["hub"]["id"]
        pickle_only = "model.safetensors" not in MODELS[repo_id][2]
        assert fetched[repo_id] == ("pytorch_model.bin" if pickle_only else "model.safetensors"), key
        folder = workdir / "results" / "models" / "fetched" / key  # hub models: fetch_model
        assert (folder / "model.safetensors").is_file() and not (folder / "pytorch_model.bin").exists()
        assert (folder / "converted_from.json").is_file() == pickle_only, key


def test_hub_splits_arrive_as_the_workflow_files(rehearsal, paper_config):
    workdir = rehearsal[0]
    for split, expected in (("train", 240), ("test", 60)):
        squad = json.loads((workdir / f"results/data/qa/{split}.json").read_text())
        assert sum(len(p["qas"]) for a in squad["data"] for p in a["paragraphs"]) == expected
    # NewsQA from MRQA's layout: every question answerable, every answer a span of its context.
    challenge = json.loads((workdir / "results/data/qa/challenge.json").read_text())
    qas = [(p["context"], qa) for a in challenge["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert qas and all(qa["answers"] for _, qa in qas)
    for context, qa in qas:
        for answer in qa["answers"]:
            assert context[answer["answer_start"]:][: len(answer["text"])] == answer["text"]
    for split, expected in (("train", 120), ("test", 40)):
        rows = (workdir / f"results/data/sentiment/{split}.jsonl").read_text().splitlines()
        assert len(rows) == expected and {json.loads(r)["label"] for r in rows} == {0, 1}


def test_stand_in_hub_refuses_unpinned_revisions(tmp_path, paper_config):
    """Another commit, a branch name or an unknown repository gets the hub's own error codes,
    which huggingface_hub turns into RevisionNotFoundError, EntryNotFoundError and RepositoryNotFoundError."""
    from huggingface_hub import errors
    from huggingface_hub.utils import hf_raise_for_status
    from requests import Session

    config = {"models": {k: m for k, m in paper_config["models"].items() if k == "tiny"}, "data": {}}
    repo = build_paper_repos(config, tmp_path, newsqa=False)
    tiny = paper_config["models"]["tiny"]["hub"]
    with HubServer(repo) as hub, Session() as session:
        def head(path):
            return session.head(f"{hub.url}{path}", allow_redirects=False)

        ok = head(f"/{tiny['id']}/resolve/{tiny['revision']}/config.json")
        assert ok.status_code == 200 and ok.headers["X-Repo-Commit"] == tiny["revision"]
        assert int(ok.headers["Content-Length"]) > 0 and ok.headers["ETag"]
        for path, error in ((f"/{tiny['id']}/resolve/main/config.json", errors.RevisionNotFoundError),
                            (f"/{tiny['id']}/resolve/{'0' * 40}/config.json", errors.RevisionNotFoundError),
                            (f"/{tiny['id']}/resolve/{tiny['revision']}/tf_model.h5", errors.EntryNotFoundError),
                            (f"/google/no-such-model/resolve/{tiny['revision']}/config.json",
                             errors.RepositoryNotFoundError)):
            with pytest.raises(error):
                hf_raise_for_status(head(path))
        assert session.get(f"{hub.url}/api/models/{tiny['id']}/revision/{tiny['revision']}").json()["sha"] == \
            tiny["revision"]
        with pytest.raises(errors.RevisionNotFoundError):
            hf_raise_for_status(session.get(f"{hub.url}/api/models/{tiny['id']}/revision/main"))
