"""Reading and writing the data splits, all through ``datasets``.

Every QA split, whatever its source (generated, a local file, the hub), is written once by
the data stage as a SQuAD 2.0 JSON file; every later stage reads those files with
:func:`load_qa`, so the demo and the paper share one code path. A QA dataset has the flat
columns of the hub's ``squad_v2``: id, title, context, question, answers{text, answer_start}.
Sentiment splits are JSON Lines with ``id``, ``text`` and ``label`` (0 or 1).

``datasets`` is imported inside the functions that use it: jobs that only read and write
JSON (comparisons, tables) then start in a second instead of several.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import datasets

# The checks live in miniature.inputs (light enough to run while the workflow is parsed).
from miniature.inputs import (DataError, check_sentiment, check_squad, read_json, select_articles,  # noqa: F401
                              squad_size)


@contextmanager
def atomic_dir(path: str | Path):
    """Build a folder under a temporary name and rename it to ``path`` once the block completes.

    A job killed half-way leaves only ``<path>.tmp`` (removed by the next attempt), never a
    half-written ``path`` that a rerun could trust.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)


def write_json(obj, path: str | Path) -> None:
    """Write JSON atomically: a rerun never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
    tmp.replace(path)


def _flatten_articles(batch: dict) -> dict:
    rows = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for title, paragraphs in zip(batch["title"], batch["paragraphs"]):
        for paragraph in paragraphs:
            for qa in paragraph["qas"]:
                rows["id"].append(qa["id"])
                rows["title"].append(title)
                rows["context"].append(paragraph["context"])
                rows["question"].append(qa["question"])
                answers = qa.get("answers") or []
                rows["answers"].append({"text": [a["text"] for a in answers],
                                        "answer_start": [a["answer_start"] for a in answers]})
    return rows


def qa_features():
    """The columns of a flat QA dataset (those of the hub's ``squad_v2``)."""
    import datasets

    return datasets.Features({
        "id": datasets.Value("string"),
        "title": datasets.Value("string"),
        "context": datasets.Value("string"),
        "question": datasets.Value("string"),
        "answers": {"text": datasets.Sequence(datasets.Value("string")),
                    "answer_start": datasets.Sequence(datasets.Value("int32"))},
    })


def load_qa(path: str | Path) -> datasets.Dataset:
    """A SQuAD 2.0 JSON file (.json or .json.gz) as a flat QA dataset, in file order."""
    import datasets

    articles = datasets.load_dataset("json", data_files=str(path), field="data", split="train")
    return articles.map(_flatten_articles, batched=True, remove_columns=articles.column_names,
                        features=qa_features())


def load_qa_hub(repo_id: str, revision: str, split: str) -> datasets.Dataset:
    """A QA split from the hub (e.g. ``rajpurkar/squad_v2``), pinned to a commit."""
    import datasets

    return datasets.load_dataset(repo_id, revision=revision, split=split).cast(qa_features())


def to_squad(dataset: datasets.Dataset) -> dict:
    """Flat QA rows back into the SQuAD 2.0 layout (articles by title, paragraphs by context)."""
    articles: dict[str, dict[str, list]] = {}
    for row in dataset:
        paragraphs = articles.setdefault(row["title"], {})
        answers = [{"text": t, "answer_start": s}
                   for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
        paragraphs.setdefault(row["context"], []).append(
            {"id": row["id"], "question": row["question"], "answers": answers, "is_impossible": not answers})
    return {"version": "v2.0", "data": [
        {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
        for title, paragraphs in articles.items()]}


def gold_answers(dataset: datasets.Dataset) -> dict[str, list[str]]:
    """Question id -> gold answer texts (empty for unanswerable), in dataset order."""
    return {qid: answers["text"] for qid, answers in zip(dataset["id"], dataset["answers"])}


def load_sentiment(path: str | Path) -> datasets.Dataset:
    """A sentiment split (JSON Lines: id, text, label in {0, 1}), checked first."""
    import datasets

    check_sentiment(path)
    return datasets.load_dataset("json", data_files=str(path), split="train")


def write_csv(table, path: str | Path) -> None:
    """Write a pandas table as CSV atomically (4 decimals for floats)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    table.to_csv(tmp, index=False, float_format="%.4f")
    tmp.replace(path)


def write_arrays(path: str | Path, **arrays) -> None:
    """Write named numpy arrays as one ``.npz`` file, atomically (strings as unicode arrays,
    so that :func:`read_arrays` never needs pickle)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **{name: np.asarray(a) for name, a in arrays.items()})
    tmp.replace(path)


def read_arrays(path: str | Path) -> dict:
    """The named arrays of an ``.npz`` file written by :func:`write_arrays`."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None


def write_jsonl(rows: list[dict], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


# --- the data stage: any source in, one local file out ---------------------------------------


def prepare_qa_split(source: dict, out_path, seed: int, name: str) -> int:
    """Write one QA split from its config source as a checked SQuAD 2.0 file; return its size."""
    from miniature import demo_data

    if "generate" in source:
        spec = source["generate"]
        make = demo_data.generate_qa if spec["style"] == "biographies" else demo_data.generate_match_reports
        squad = make(spec["questions"], seed, prefix=name)
        where = f"generated {name} split"
    elif "file" in source:
        where = source["file"]["path"]
        if not Path(where).is_file():
            raise DataError(f"data.qa.{name}: {where} not found: give the path of a SQuAD 2.0 JSON file "
                            "(for NewsQA see the README, 'Supplying NewsQA')")
        squad = read_json(where)
        if "articles" in source["file"]:
            check_squad(squad, where)
            squad = select_articles(squad, **source["file"]["articles"])
            where = f"{where} (articles {source['file']['articles']})"
    else:
        hub = source["hub"]
        where = f"{hub['id']}@{hub['revision']} ({hub.get('split', name)})"
        squad = to_squad(load_qa_hub(hub["id"], hub["revision"], hub.get("split", name)))
    check_squad(squad, where)
    write_json(squad, out_path)
    return squad_size(squad)


def prepare_sentiment_split(source: dict, out_path, seed: int, name: str) -> int:
    """Write one sentiment split from its config source as JSON Lines (id, text, label)."""
    from miniature import demo_data

    if "generate" in source:
        rows = demo_data.generate_reviews(source["generate"]["reviews"], seed, prefix=name)
    else:
        if "file" in source:
            dataset = load_sentiment(source["file"]["path"])
        else:
            import datasets

            hub = source["hub"]
            dataset = datasets.load_dataset(hub["id"], revision=hub["revision"], split=hub.get("split", name))
        ids = dataset["id"] if "id" in dataset.column_names else [f"{name}-{i:06d}" for i in range(len(dataset))]
        rows = [{"id": str(i), "text": t, "label": int(label)}
                for i, t, label in zip(ids, dataset["text"], dataset["label"])]
    write_jsonl(rows, out_path)
    return len(rows)
