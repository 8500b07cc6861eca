"""Checks of the inputs a config points at, run while the workflow is parsed (before any job).

:func:`miniature.config.validate_config` checks the config itself; :func:`check_inputs`
then opens what it names on this machine — local data files, local model folders and models
shipped in installed packages — and
stops the run with one message naming the config field, the file and the record at fault,
instead of letting a job fail hours later. Hub sources cannot be checked offline; the jobs
that download them run the same checks (:func:`check_squad`, :func:`check_model_dir`).

This module imports nothing heavy (no torch, no datasets): it runs at every parse.
A stage whose settings depend on the data (e.g. a number of neighbours K, which must be
smaller than the number of points) adds a function to :data:`CHECKS`.
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


def check_sentiment(path: str | Path, name: str | None = None) -> int:
    """Check a sentiment file (JSON Lines: ``text`` string, ``label`` 0 or 1, optional unique ``id``);
    return its number of rows. Raises DataError naming the file and the line."""
    name = name or str(path)
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
                rows += 1
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, not a file") from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise DataError(f"{name}: not a text file ({e})") from None
    if rows == 0:
        raise DataError(f"{name}: contains no reviews")
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


def qa_split_sizes(config: dict, workdir: Path, missing_ok: bool = False) -> dict[str, int | None]:
    """Check every local QA data file; return each split's question count (None: known only
    later, or a missing file that ``missing_ok`` lets pass)."""
    sizes: dict[str, int | None] = {}
    for split, source in config["data"]["qa"].items():
        if "generate" in source:
            sizes[split] = source["generate"]["questions"]
        elif "file" in source:
            field, path = f"data.qa.{split}.file.path", source["file"]["path"]
            local = _local_path(field, path, workdir)
            if missing_ok and not local.exists():
                sizes[split] = None
                continue
            try:
                squad = read_json(local, name=path)
                check_squad(squad, path)
                if "articles" in source["file"]:
                    squad = select_articles(squad, **source["file"]["articles"])
                    check_squad(squad, f"{path} (articles {source['file']['articles']})")
            except DataError as error:
                _fail(field, str(error))
            sizes[split] = squad_size(squad)
        else:
            sizes[split] = None
    return sizes


def check_sentiment_files(config: dict, workdir: Path, sizes: dict) -> None:
    for split, source in config["data"].get("sentiment", {}).items():
        if "file" in source:
            field, path = f"data.sentiment.{split}.file.path", source["file"]["path"]
            try:
                check_sentiment(_local_path(field, path, workdir), name=path)
            except DataError as error:
                _fail(field, str(error))


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


def check_neighbour_count(field: str, k, n_points: int | None, points: str) -> None:
    """The K nearest neighbours of a point, the point itself excluded, need 1 <= K <= n_points - 1."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        _fail(field, f"K must be a positive integer, got {k!r}")
    if n_points is not None and k > n_points - 1:
        _fail(field, f"K = {k} is larger than the number of {points} ({n_points}) minus one")


# Each check gets the validated config, the working directory and the QA split sizes
# (question counts; None where the split comes from the hub and its size is known later).
CHECKS: list[Callable[[dict, Path, dict], None]] = [check_sentiment_files, check_model_dirs]


def check_inputs(config: dict, workdir: str | Path = ".", missing_ok: bool = False) -> dict[str, int | None]:
    """Raise InputError on the first unusable input of a validated config; return the QA split sizes.

    ``missing_ok`` lets a QA data file that is not there yet pass (a dry run shows the plan
    before a user supplies it), and a model package that is not installed yet; a file or
    package that is there is checked all the same.
    """
    workdir = Path(workdir)
    sizes = qa_split_sizes(config, workdir, missing_ok)
    for check in CHECKS:
        check(config, workdir, sizes)
    check_packages(config, missing_ok)
    return sizes
