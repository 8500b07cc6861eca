"""Checks of the inputs a config points at, run while the workflow is parsed (before any job).

:func:`miniature.config.validate_config` checks the config itself; :func:`check_inputs`
then opens what it names on this machine — local data files, local model folders and models
shipped in installed packages — and
stops the run with one message naming the config field, the file and the record at fault,
instead of letting a job fail hours later. Hub sources cannot be checked offline; the jobs
that download them run the same checks (:func:`check_squad`, :func:`check_model_dir`).

This module imports nothing heavy (no torch, no datasets): it runs at every parse.
Sizes that must fit the data (a number of neighbours K against the points it is searched
among, a sample against its split) are checked by :func:`check_sizes_fit` with the functions
of :mod:`miniature.config`; another check of a local input adds a function to :data:`CHECKS`.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path

# Folders the workflow writes; inputs must not lie inside them (the workflow may delete or
# overwrite them, and an input that is also an output makes the DAG cyclic).
OUTPUT_ROOTS = ("results", "logs", "benchmarks")


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the record."""


class ModelError(ValueError):
    """A model folder or source that cannot be used safely; the message names it."""


class PackageNotInstalled(ModelError):
    """A model package source whose distribution is not installed (yet)."""


class InputError(ValueError):
    """An input named by the config cannot be used; the message names the field and the file."""


def is_output(path: str | Path) -> bool:
    """Whether ``path`` is something the workflow made: under ``results/`` of the working
    directory (where every job runs)."""
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return False
    return path.parts[:1] == ("results",)


def damaged(file: str | Path, problem: str, remove: str | Path | None = None) -> str:
    """The one message for a file that cannot be read: it names the file, what is wrong and
    what to do: for something the workflow made (under results/), delete ``remove`` (the
    file, or the folder it belongs to) and rerun, so that the workflow makes it again."""
    remove = remove or file
    if is_output(remove):
        return f"{file} is damaged ({problem}): delete {remove} and rerun"
    return f"{file} is damaged ({problem}): the workflow does not make it; replace it with a good copy"


# --- data files ------------------------------------------------------------------------------


def _open_text(path: str | Path):
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_json(path: str | Path, name: str | None = None):
    """The JSON value in ``path`` (.json or .json.gz); DataError naming ``name`` (the path) if unreadable."""
    name = name or str(path)
    try:
        with _open_text(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, not a file") from None
    except (json.JSONDecodeError, UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        if is_output(path):  # half-written by an older run, say
            raise DataError(damaged(name, f"not valid JSON: {e}")) from None
        raise DataError(f"{name}: not valid JSON ({e})") from None


def check_squad(squad: dict, name: str, allow_empty: bool = False) -> None:
    """Raise DataError unless ``squad`` is a usable SQuAD 2.0 layout.

    Checks the nesting data[].paragraphs[].qas[], unique question ids, and that every
    answer's ``answer_start`` points at its text in the context.
    """
    if not isinstance(squad, dict) or not isinstance(squad.get("data"), list):
        raise DataError(f"{name}: not in the SQuAD 2.0 layout (expected an object with a 'data' list)")
    seen: set[str] = set()
    for a, article in enumerate(squad["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise DataError(f"{name}: data[{a}] has no 'paragraphs' list (SQuAD 2.0 layout)")
        for p, paragraph in enumerate(paragraphs):
            where = f"{name}: data[{a}].paragraphs[{p}]"
            if (not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str)
                    or not isinstance(paragraph.get("qas"), list)):
                raise DataError(f"{where} needs a 'context' string and a 'qas' list (SQuAD 2.0 layout)")
            for q, qa in enumerate(paragraph["qas"]):
                qid = qa.get("id") if isinstance(qa, dict) else None
                if not isinstance(qid, str) or not isinstance(qa.get("question"), str):
                    raise DataError(f"{where}.qas[{q}]: lacks a string 'id' or 'question' (SQuAD 2.0 layout)")
                if qid in seen:
                    raise DataError(f"{name}: duplicate question id {qid!r}")
                seen.add(qid)
                answers = qa.get("answers", [])
                if not isinstance(answers, list):
                    raise DataError(f"{name}: question {qid!r}: 'answers' is not a list (SQuAD 2.0 layout)")
                for answer in answers:
                    start = answer.get("answer_start") if isinstance(answer, dict) else None
                    text = answer.get("text") if isinstance(answer, dict) else None
                    if (isinstance(start, bool) or not isinstance(start, int) or not isinstance(text, str)
                            or paragraph["context"][start: start + len(text)] != text):
                        raise DataError(
                            f"{name}: question {qid!r}: answer_start {start!r} does not point at its text {text!r}")
    if not seen and not allow_empty:
        raise DataError(f"{name}: contains no questions")


def squad_size(squad: dict) -> int:
    """The number of questions in a SQuAD 2.0 layout."""
    return sum(len(p["qas"]) for article in squad["data"] for p in article["paragraphs"])


def select_articles(squad: dict, start: int = 0, stop: int | None = None, step: int = 1,
                    exclude: bool = False) -> dict:
    """The articles ``data[start:stop:step]`` of a SQuAD layout, or with ``exclude`` all the
    others (in order), so that one selection splits a source into two parts sharing no article.

    Works on any QA source once it is in the SQuAD layout: a file's ``data[]`` entries, or a
    hub split's titles in order of first appearance (miniature.data.to_squad), which for
    ``rajpurkar/squad_v2`` is the order of the official files."""
    articles = squad["data"]
    chosen = set(range(len(articles))[start:stop:step])
    kept = [a for i, a in enumerate(articles) if (i in chosen) != exclude]
    return {**squad, "data": kept}


def check_sentiment(path: str | Path, name: str | None = None, labels: dict | None = None) -> int:
    """Check a sentiment file (JSON Lines: ``text`` string, ``label`` 0 or 1, optional unique ``id``);
    return its number of rows (and count each label into ``labels``, when given). Raises
    DataError naming the file and the line."""
    name = name or str(path)
    counts = {0: 0, 1: 0}
    seen: set = set()
    rows = 0
    try:
        with _open_text(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{name}: line {number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    if is_output(path):
                        raise DataError(damaged(name, f"line {number} is not valid JSON: {e}")) from None
                    raise DataError(f"{where}: not valid JSON ({e})") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise DataError(f"{where}: expected an object with a 'text' string and a 'label'")
                label = row.get("label")
                if isinstance(label, bool) or label not in (0, 1):
                    raise DataError(f"{where}: label {label!r} is not 0 or 1")
                if "id" in row:
                    if row["id"] in seen:
                        raise DataError(f"{where}: duplicate id {row['id']!r}")
                    seen.add(row["id"])
                counts[label] += 1
                rows += 1
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, not a file") from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        if is_output(path):
            raise DataError(damaged(name, f"not a text file: {e}")) from None
        raise DataError(f"{name}: not a text file ({e})") from None
    if rows == 0:
        raise DataError(f"{name}: contains no reviews")
    if labels is not None:
        labels.update(counts)
    return rows


# --- model folders ---------------------------------------------------------------------------


def _asks_for_code(config_file: Path) -> bool:
    if not config_file.is_file():
        return False
    try:
        return "auto_map" in json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


# The one pickle weights file a fetch converts to safetensors (see miniature.models.fetch_model).
PICKLE_WEIGHTS = "pytorch_model.bin"


def check_model_dir(path: str | Path, name: str | None = None, convertible: bool = False) -> None:
    """Refuse folders that would need pickled weights or repository code to load.

    ``convertible``: a folder whose only weights are one ``pytorch_model.bin`` passes too,
    because fetching it converts that file to safetensors with torch's restricted unpickler
    (tensors and plain containers only); the parse-time checks of fetch sources use this.
    Every other caller keeps the default, as every later stage loads safetensors only.
    """
    path = Path(path)
    name = name or str(path)
    if not path.is_dir():
        raise ModelError(f"{name}: no such folder" if not path.exists() else f"{name}: not a folder")
    if not (path / "config.json").is_file():
        raise ModelError(f"{name}: no config.json (not a save_pretrained folder)")
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        if is_output(path):
            raise ModelError(damaged(f"{name}/config.json", f"not valid JSON: {e}", remove=name)) from None
        raise ModelError(f"{name}: config.json is not valid JSON ({e})") from None
    for config_file in ("config.json", "tokenizer_config.json"):
        if _asks_for_code(path / config_file):
            raise ModelError(f"{name}: its {config_file} asks for custom code (auto_map); "
                             "miniature never runs remote code")
    if not any(path.glob("*.safetensors")):
        if convertible and (path / PICKLE_WEIGHTS).is_file():
            return
        pickles = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        if pickles:
            raise ModelError(f"{name}: only pickle weights ({', '.join(pickles)}); convert them to safetensors")
        raise ModelError(f"{name}: no weights (*.safetensors)")


def package_folder(name: str, version: str, folder: str) -> Path:
    """A folder inside an installed distribution, found from its metadata (its code is not imported)."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise PackageNotInstalled(f"package {name} is not installed: pip install --no-deps {name}=={version}") \
            from None
    if distribution.version != version:
        raise ModelError(f"package {name} {distribution.version} is installed, the config asks for {version}: "
                         f"pip install --no-deps {name}=={version}")
    path = Path(distribution.locate_file(folder))
    if not path.is_dir():
        raise ModelError(f"package {name}=={version} has no folder {folder!r}")
    return path


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
                squad = read_json(local, name=path)
                check_squad(squad, path)
                if "articles" in source["file"]:
                    squad = select_articles(squad, **source["file"]["articles"])
                    check_squad(squad, f"{path} (articles {source['file']['articles']})")
            except DataError as error:
                _fail(field, str(error))
            splits[split] = (squad_size(squad), longest_question(squad))
        else:
            splits[split] = (None, None)
    return splits


# Generated sentiment splits up to this size are generated at parse time to count their labels
# (5,000 reviews take about 0.1 s); a larger one's balance is checked by the attack_sample job.
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
                splits[split] = (check_sentiment(_local_path(field, path, workdir), name=path, labels=labels), labels)
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


def check_model_dirs(config: dict, workdir: Path, sizes: dict) -> None:
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
    for split, (n, counts) in sentiment.items():
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


# Each check gets the validated config, the working directory and the QA split sizes
# (question counts; None where the split comes from the hub and its size is known later).
CHECKS: list[Callable[[dict, Path, dict], None]] = [check_model_dirs]


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
    for check in CHECKS:
        check(config, workdir, sizes)
    check_packages(config, missing_ok)
    check_question_room(config, {split: longest for split, (_, longest) in qa.items()})
    check_sizes_fit(config, sizes, sentiment, local_model_facts(config, workdir))
    return sizes
