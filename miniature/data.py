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

import hashlib
import json
import shutil
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import datasets

# The checks live in miniature.inputs (light enough to run while the workflow is parsed).
from miniature.inputs import (DataError, check_sentiment, check_squad, damaged, read_json,  # noqa: F401
                              select_articles, squad_size)


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

    try:
        articles = datasets.load_dataset("json", data_files=str(path), field="data", split="train")
    except Exception:
        read_json(path)  # a file that is not JSON (half-written, say): an error naming it and what to delete
        raise
    return articles.map(_flatten_articles, batched=True, remove_columns=articles.column_names,
                        features=qa_features())


def hub_files_url(repo_id: str, revision: str, files: str) -> str:
    """The ``hf://`` address of data files inside a hub repository at one commit.

    Reading the files directly skips the repository's loading configuration: a commit that
    still holds a loading script (which ``datasets`` no longer runs) stays usable through the
    parquet files it holds beside it.
    """
    return f"hf://datasets/{repo_id}@{revision}/{files}"


def load_qa_hub(repo_id: str, revision: str, split: str, files: str | None = None) -> datasets.Dataset:
    """A QA split from the hub, pinned to a commit, as a flat QA dataset (see :func:`flat_qa`).

    ``files`` (a parquet glob inside the repository) reads those files as the split instead of
    going through the repository's own configuration (:func:`hub_files_url`).
    """
    import datasets

    if files:
        dataset = datasets.load_dataset("parquet", data_files={split: hub_files_url(repo_id, revision, files)},
                                        split=split)
    else:
        dataset = datasets.load_dataset(repo_id, revision=revision, split=split)
    return flat_qa(dataset, split)


# --- QA layouts on the hub: each becomes the flat squad_v2 columns ---------------------------

# The MRQA 2019 shared task's layout as the hub holds it (e.g. lucadiliello/newsqa): one row
# per question, ``answers`` a list of strings and ``labels`` one {start: [...], end: [...]}
# entry per answer string (every place the answer occurs in the context).
MRQA_COLUMNS = ("key", "context", "question", "answers", "labels")
END_CONVENTIONS = ("inclusive", "exclusive")


def is_mrqa(features) -> bool:
    """True for a split in the MRQA layout, told from its columns (``answers`` a list of
    strings), so that such a split is named in a config like any other hub split."""
    answer = getattr(features.get("answers"), "feature", None)
    return (all(column in features for column in MRQA_COLUMNS)
            and getattr(answer, "dtype", None) in ("string", "large_string"))


def span_conventions(context: str, answer: str, start: int, end: int) -> set[str]:
    """The end conventions under which the span ``start``..``end`` of ``context`` reads ``answer``:
    "inclusive" (``end`` is the answer's last character, as in MRQA's own files) and/or
    "exclusive" (``end`` is one past it, as in a Python slice)."""
    found = set()
    if context[start:end + 1] == answer:
        found.add("inclusive")
    if context[start:end] == answer:
        found.add("exclusive")
    return found


def _mrqa_where(name: str, index: int, row: dict) -> str:
    return f"{name}: row {index} (key {row.get('key')!r})"


def mrqa_end_convention(rows, name: str) -> str:
    """The end convention of a split's spans: the one under which every span reads its answer.

    Hub copies of MRQA do not say whether ``end`` is inclusive (MRQA's files) or exclusive, and
    a wrong guess shifts every answer by one character; so the split decides, as a whole. Raise
    DataError naming the first row whose span reads its answer under neither convention, or
    not under the one every row before it needs. Inclusive when both fit (no span, or all at
    the end of their context).
    """
    possible = set(END_CONVENTIONS)
    for index, row in enumerate(rows):
        answers, labels, context = row["answers"], row["labels"], row["context"]
        where = _mrqa_where(name, index, row)
        if len(labels) != len(answers):
            raise DataError(f"{where}: {len(answers)} answers but {len(labels)} span lists (labels)")
        for answer, label in zip(answers, labels):
            if len(label["start"]) != len(label["end"]):
                raise DataError(f"{where}: answer {answer!r} has {len(label['start'])} span starts "
                                f"but {len(label['end'])} ends")
            for start, end in zip(label["start"], label["end"]):
                fits = span_conventions(context, answer, start, end)
                if not fits & possible:
                    earlier = ("" if possible == set(END_CONVENTIONS)
                               else f"; the spans before it read their answers only with an {min(possible)} end")
                    raise DataError(
                        f"{where}: the span {start}..{end} of answer {answer!r} reads "
                        f"{context[start:end + 1]!r} with an inclusive end and {context[start:end]!r} "
                        f"with an exclusive end{earlier}")
                possible &= fits
    return "inclusive" if "inclusive" in possible else "exclusive"


def context_title(context: str) -> str:
    """A title for a context that has none: the first 12 hex digits of its sha256. One title
    per context makes every passage (a NewsQA story) its own article, so that an ``articles``
    selection picks whole passages and to_squad keeps one paragraph per article."""
    return hashlib.sha256(context.encode("utf-8")).hexdigest()[:12]


def mrqa_to_flat(rows, name: str) -> list[dict]:
    """MRQA rows as flat QA rows (the columns of :func:`qa_features`), every span checked.

    id is the row's ``key``; title is :func:`context_title`; each answer string becomes one
    answer whose ``answer_start`` is its first span's start (the start is the same under
    either end convention; :func:`mrqa_end_convention` checks that every span reads its answer).
    """
    mrqa_end_convention(rows, name)
    flat = []
    for index, row in enumerate(rows):
        starts = []
        for answer, label in zip(row["answers"], row["labels"]):
            if not label["start"]:
                raise DataError(f"{_mrqa_where(name, index, row)}: answer {answer!r} has no span in the context")
            starts.append(label["start"][0])
        flat.append({"id": str(row["key"]), "title": context_title(row["context"]), "context": row["context"],
                     "question": row["question"], "answers": {"text": list(row["answers"]), "answer_start": starts}})
    return flat


def flat_qa(dataset: datasets.Dataset, name: str) -> datasets.Dataset:
    """Any supported QA layout as a flat QA dataset (the columns of the hub's ``squad_v2``).

    - MRQA (told by :func:`is_mrqa`): converted by :func:`mrqa_to_flat`.
    - squad_v2-like (id, context, question, answers{text, answer_start}): extra columns are
      dropped, ids become strings, and a missing title is taken from ``document_id`` (as in
      COVID-QA on the hub, whose papers are its articles) or else is ``name`` (the split).
    ``name`` names the split in errors.
    """
    import datasets

    if is_mrqa(dataset.features):
        return datasets.Dataset.from_list(mrqa_to_flat(dataset, name), features=qa_features())
    columns = dataset.column_names
    missing = [c for c in ("id", "context", "question", "answers") if c not in columns]
    if missing:
        raise DataError(f"{name}: neither the squad_v2 layout (missing {', '.join(missing)}) nor MRQA's "
                        f"({', '.join(MRQA_COLUMNS)}); its columns: {', '.join(columns)}")
    if "title" not in columns:
        if "document_id" in columns:
            dataset = dataset.rename_column("document_id", "title")
        else:
            dataset = dataset.add_column("title", [name] * len(dataset))
    return dataset.select_columns(["id", "title", "context", "question", "answers"]).cast(qa_features())


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
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as e:  # truncated, say
        raise DataError(damaged(path, f"not a readable .npz file: {type(e).__name__}: {e}")) from None


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
            raise DataError(f"data.qa.{name}: {where} not found: give the path of a SQuAD 2.0 JSON file")
        squad = read_json(where)
    else:
        hub = source["hub"]
        split = hub.get("split", name)
        where = f"{hub['id']}@{hub['revision']} ({split})"
        squad = to_squad(load_qa_hub(hub["id"], hub["revision"], split, hub.get("files")))
    # A file or hub source may keep some of its articles (data.qa.<split>.<source>.articles).
    selection = (source.get("file") or source.get("hub") or {}).get("articles")
    if selection is not None:
        check_squad(squad, where)
        squad = select_articles(squad, **selection)
        where = f"{where} (articles {selection})"
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
