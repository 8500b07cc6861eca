"""Checks of the inputs a config points at, run while the workflow is parsed (before any job).

:func:`miniature.config.validate_config` checks the config itself; :func:`check_inputs`
then opens what it names on this machine — local data files, local model folders and models
shipped in installed packages — and
stops the run with one message naming the config field, the file and the record at fault,
instead of letting a job fail hours later. Hub sources cannot be checked offline; the jobs
that download them run the same checks (:func:`miniature.data.check_squad`,
:func:`miniature.model_dirs.check_model_dir`).

This module imports nothing heavy (no torch, no datasets): it runs at every parse.
Sizes that must fit the data (a number of neighbours K against the points it is searched
among, a sample against its split) are checked by :func:`check_sizes_fit` with the functions
of :mod:`miniature.config`.
"""

from __future__ import annotations

import json
from pathlib import Path

from miniature import data
from miniature.errors import DataError, ModelError, PackageNotInstalled
from miniature.model_dirs import check_model_dir, package_folder

# Folders the workflow writes; inputs must not lie inside them (the workflow may delete or
# overwrite them, and an input that is also an output makes the DAG cyclic).
OUTPUT_ROOTS = ("results", "logs", "benchmarks")


class InputError(ValueError):
    """An input named by the config cannot be used; the message names the field and the file."""


# --- the checks run at parse time ------------------------------------------------------------


def _fail(field: str, problem: str):
    raise InputError(f"input error: {field}: {problem}")


def _local_path(field: str, path: str, workdir: Path) -> Path:
    """``path`` (relative to the working directory), refused if it lies in the workflow's outputs."""
    resolved = (workdir / path).resolve()
    for root in OUTPUT_ROOTS:
        if resolved.is_relative_to((workdir / root).resolve()):
            _fail(field, f"{path} lies inside {root}/, which the workflow writes; keep inputs elsewhere")
    return workdir / path


def longest_question(squad: dict) -> tuple[str, int]:
    """(id, words) of the question with the most whitespace-separated words: a lower bound of
    its tokens under any tokenizer that splits at least at whitespace."""
    return max(((qa["id"], len(qa["question"].split())) for article in squad["data"]
                for p in article["paragraphs"] for qa in p["qas"]), key=lambda q: q[1], default=("", 0))


def _qa_splits(config: dict, workdir: Path, missing_ok: bool) -> dict[str, tuple[int | None, tuple | None]]:
    """split -> (question count, (id, words) of its longest question), each None where unknown."""
    splits: dict[str, tuple[int | None, tuple | None]] = {}
    for split, source in config["data"]["qa"].items():
        if "generate" in source:
            splits[split] = (source["generate"]["questions"], None)
        elif "file" in source:
            field, path = f"data.qa.{split}.file.path", source["file"]["path"]
            local = _local_path(field, path, workdir)
            if missing_ok and not local.exists():
                splits[split] = (None, None)
                continue
            try:
                squad = data.read_json(local, name=path)
                data.check_squad(squad, path)
                if "articles" in source["file"]:
                    squad = data.select_articles(squad, **source["file"]["articles"])
                    data.check_squad(squad, f"{path} (articles {source['file']['articles']})")
            except DataError as error:
                _fail(field, str(error))
            splits[split] = (data.squad_size(squad), longest_question(squad))
        else:
            splits[split] = (None, None)
    return splits


# Generated sentiment splits up to this size are generated at parse time to count their labels
# (cheap at this size); a larger one's balance is checked by the attack_sample job.
GENERATED_LABELS_UP_TO = 5000


def sentiment_split_sizes(config: dict, workdir: Path) -> dict[str, tuple[int | None, dict | None]]:
    """Check every local sentiment file; return split -> (reviews, {label: count}), each None
    where known only later (a hub split). A generated split's labels are counted by
    generating it (cheap up to GENERATED_LABELS_UP_TO reviews)."""
    splits: dict[str, tuple[int | None, dict | None]] = {}
    for split, source in config["data"].get("sentiment", {}).items():
        if "file" in source:
            field, path, labels = f"data.sentiment.{split}.file.path", source["file"]["path"], {}
            try:
                reviews = data.check_sentiment(_local_path(field, path, workdir), name=path, labels=labels)
                splits[split] = (reviews, labels)
            except DataError as error:
                _fail(field, str(error))
        elif "generate" in source:
            n = source["generate"]["reviews"]
            labels = None
            if n <= GENERATED_LABELS_UP_TO and "seed" in config:
                from miniature import demo_data

                rows = demo_data.generate_reviews(n, config["seed"], prefix=split)
                labels = {y: sum(r["label"] == y for r in rows) for y in (0, 1)}
            splits[split] = (n, labels)
        else:
            splits[split] = (None, None)
    return splits


def check_model_dirs(config: dict, workdir: Path) -> None:
    """Every local model folder: the models' (a path or an installed package) and the attack
    masked-LM's when it has its own."""
    folders = {f"models.{key}.path": spec["path"] for key, spec in config["models"].items() if "path" in spec}
    masked_lm = config.get("attack", {}).get("masked_lm")
    if isinstance(masked_lm, dict) and "path" in masked_lm:
        folders["attack.masked_lm.path"] = masked_lm["path"]
    for field, path in folders.items():
        try:
            check_model_dir(_local_path(field, path, workdir), name=path, convertible=True)
        except ModelError as error:
            _fail(field, str(error))


def check_packages(config: dict, missing_ok: bool = False) -> None:
    """Every model folder shipped in an installed package (``missing_ok``: one whose package is
    not installed yet passes, as a missing QA file does)."""
    for key, spec in config["models"].items():
        if "package" in spec:
            try:
                check_model_dir(package_folder(**spec["package"]), convertible=True)
            except PackageNotInstalled as error:
                if not missing_ok:
                    _fail(f"models.{key}.package", str(error))
            except ModelError as error:
                _fail(f"models.{key}.package", str(error))


def local_model_facts(config: dict, workdir: Path) -> dict[str, dict]:
    """What local model folders' config.json files tell about their shape, for the checks of
    lengths and layer indices (miniature.config.check_model_fit): model key (or
    ``attack.masked_lm``) -> {"layers", "positions", "where"}. Folders that are not there
    (yet) are left out; check_model_dirs and check_packages report them."""
    folders = {}
    for key, spec in config["models"].items():
        if "path" in spec:
            folders[key] = (workdir / spec["path"], spec["path"])
        elif "package" in spec:
            try:
                folders[key] = (package_folder(**spec["package"]), f"package {spec['package']['name']}")
            except ModelError:
                continue
    masked_lm = config.get("attack", {}).get("masked_lm")
    if isinstance(masked_lm, dict) and "path" in masked_lm:
        folders["attack.masked_lm"] = (workdir / masked_lm["path"], masked_lm["path"])
    facts = {}
    for key, (folder, where) in folders.items():
        try:
            model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(model_config, dict):
            continue
        layers = model_config.get("num_hidden_layers", model_config.get("n_layers"))
        positions = model_config.get("max_position_embeddings")
        facts[key] = {"layers": layers if isinstance(layers, int) else None,
                      "positions": positions if isinstance(positions, int) else None,
                      "where": f"{where}/config.json"}
    return facts


def check_question_room(config: dict, questions: dict) -> None:
    """The longest question of a local QA file (in words, the least tokens it takes) must
    leave a window's context part longer than doc_stride: max_length - 3 special tokens -
    the question > doc_stride, for every model's QA settings."""
    from miniature import config as cfg

    for split, longest in questions.items():
        if longest is None or "finetune" not in config:
            continue
        qid, words = longest
        for key in cfg.qa_models(config):
            settings = cfg.finetune_settings(config, key, "qa")
            length, stride = settings["max_length"], settings["doc_stride"]
            room = length - cfg.SPECIAL_TOKENS - words
            if stride >= room:
                _fail(f"data.qa.{split}.file.path",
                      f"question {qid!r} has {words} words (at least {words} tokens), which leaves a window of "
                      f"finetune.qa max_length {length} of model {key!r} at most {room} context "
                      f"tokens ({cfg.SPECIAL_TOKENS} are special tokens): not more than its doc_stride {stride}; "
                      "raise max_length or lower doc_stride")


def check_sizes_fit(config: dict, qa: dict, sentiment: dict, models: dict) -> None:
    """``qa``: split -> questions; ``sentiment``: split -> (reviews, {label: count}); ``models``:
    :func:`local_model_facts`. The cross-field checks of miniature.config whose sizes come from local files: counts
    against the splits they are drawn from or searched in, lengths and layer indices against
    local models. Raises InputError with config's message."""
    from miniature import config as cfg

    sizes = {}
    reviews = {split: n for split, (n, _) in sentiment.items()}
    for task, splits, unit in (("qa", qa, "questions"), ("sentiment", reviews, "reviews")):
        for split, n in splits.items():
            source = config["data"][task][split]
            if n is not None:
                where = (f"data.{task}.{split}.generate.{unit}" if "generate" in source
                         else f"data.{task}.{split}.file.path ({source['file']['path']})")
                sizes[(task, split)] = (n, where)
    labels = {}
    for split, (_, counts) in sentiment.items():
        if counts is not None:
            source = config["data"]["sentiment"][split]
            where = (f"the generated data.sentiment.{split}" if "generate" in source
                     else f"data.sentiment.{split}.file.path ({source['file']['path']})")
            labels[split] = (counts[0], counts[1], where)
    try:
        cfg.check_split_sizes(config, sizes, labels)
        if "finetune" in config and "attack" in config:
            cfg.check_model_fit(config, models)
    except cfg.ConfigError as error:
        raise InputError("input error: " + str(error).removeprefix("config error: ")) from None


def check_inputs(config: dict, workdir: str | Path = ".", missing_ok: bool = False) -> dict[str, int | None]:
    """Raise InputError on the first unusable input of a validated config; return the QA split sizes.

    ``missing_ok`` lets a QA data file that is not there yet pass (a dry run shows the plan
    before a user supplies it), and a model package that is not installed yet; a file or
    package that is there is checked all the same.

    Then every size that must fit one the inputs tell (a sample against its split, K against
    the points it is searched among, a question against the window, a length against a local
    model's positions, a layer index against its layers) is checked.
    """
    workdir = Path(workdir)
    qa = _qa_splits(config, workdir, missing_ok)
    sizes = {split: size for split, (size, _) in qa.items()}
    sentiment = sentiment_split_sizes(config, workdir)
    check_model_dirs(config, workdir)
    check_packages(config, missing_ok)
    check_question_room(config, {split: longest for split, (_, longest) in qa.items()})
    check_sizes_fit(config, sizes, sentiment, local_model_facts(config, workdir))
    return sizes
