"""Reading, checking and writing the data splits, all through ``datasets``.

Every QA split, whatever its source (generated, a local file, the hub), is written once by
the data stage as a SQuAD 2.0 JSON file; every later stage reads those files with
:func:`load_qa`, so the demo and the paper share one code path. A QA dataset has the flat
columns of the hub's ``squad_v2``: id, title, context, question, answers{text, answer_start}.
Sentiment splits are JSON Lines with ``id``, ``text`` and ``label`` (0 or 1).

The checks of a data file (:func:`check_squad`, :func:`check_sentiment`) also run while the
workflow is parsed (:mod:`miniature.inputs`). ``datasets`` is imported inside the functions
that use it, so that the parse and the jobs that only read and write JSON (comparisons,
tables) never load it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import datasets

from miniature.errors import DataError
from miniature.files import atomic_file, damaged, is_output, open_text

# --- reading and checking data files ---------------------------------------------------------


def read_json(path: str | Path, name: str | None = None):
    """The JSON value in ``path`` (.json or .json.gz); DataError naming ``name`` (the path) if unreadable."""
    name = name or str(path)
    try:
        with open_text(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, not a file") from None
    except (json.JSONDecodeError, UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        if is_output(path):  # half-written by an older run, say
            raise DataError(damaged(name, f"not valid JSON: {e}")) from None
        raise DataError(f"{name}: not valid JSON ({e})") from None


def check_squad(squad: dict, name: str) -> None:
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
    if not seen:
        raise DataError(f"{name}: contains no questions")


def squad_size(squad: dict) -> int:
    """The number of questions in a SQuAD 2.0 layout."""
    return sum(len(p["qas"]) for article in squad["data"] for p in article["paragraphs"])


def select_articles(squad: dict, start: int = 0, stop: int | None = None, step: int = 1,
                    exclude: bool = False) -> dict:
    """The articles ``data[start:stop:step]`` of a SQuAD layout, or with ``exclude`` all the
    others (in order), so that one selection splits a source into two parts sharing no article.

    Works on any QA source once it is in the SQuAD layout: a file's ``data[]`` entries, or a
    hub split's titles in order of first appearance (:func:`to_squad`), which for
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
        with open_text(path) as f:
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


# --- files other than the splits: JSON, JSON Lines, CSV, arrays (each written atomically) -------


def write_json(obj, path: str | Path) -> None:
    """Write JSON atomically: a rerun never sees a half-written file."""
    with atomic_file(path) as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_csv(table, path: str | Path) -> None:
    """Write a pandas table as CSV atomically (4 decimals for floats)."""
    with atomic_file(path) as f:
        table.to_csv(f, index=False, float_format="%.4f")


def write_arrays(path: str | Path, **arrays) -> None:
    """Write named numpy arrays as one ``.npz`` file, atomically (strings as unicode arrays,
    so that :func:`read_arrays` never needs pickle)."""
    with atomic_file(path, "wb") as f:
        np.savez(f, **{name: np.asarray(a) for name, a in arrays.items()})


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
    """Write rows as JSON Lines (one object per line), atomically."""
    with atomic_file(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


# --- QA and sentiment splits as datasets ---------------------------------------------------------


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


def gold_answers_by_id(dataset: datasets.Dataset) -> dict[str, list[str]]:
    """Question id -> gold answer texts (empty for unanswerable), in dataset order."""
    return {qid: answers["text"] for qid, answers in zip(dataset["id"], dataset["answers"])}


def load_sentiment(path: str | Path) -> datasets.Dataset:
    """A sentiment split (JSON Lines: id, text, label in {0, 1}), checked first."""
    import datasets

    check_sentiment(path)
    return datasets.load_dataset("json", data_files=str(path), split="train")


# --- the data stage: any source in, one local file out ---------------------------------------


def prepare_qa_split(source: dict, out_path, seed: int, name: str) -> int:
    """Write one QA split from its config source as a checked SQuAD 2.0 file; return its size."""
    from miniature import demo_data

    if "generate" in source:
        spec = source["generate"]
        squad = demo_data.QA_STYLES[spec["style"]](spec["questions"], seed, prefix=name)
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


def balanced_sample(labels: Sequence[int], size: int, seed: int) -> list[int]:
    """Row indices of a class-balanced random sample: ``size // 2`` negatives (label 0),
    the rest positives, drawn with ``random.Random(seed)`` and shuffled.

    On the IMDB test split with size 1,000 and seed 0 this is the balanced 1,000-review
    sample the paper's attack uses (see tests/test_real_data.py).
    """
    negatives = [i for i, y in enumerate(labels) if y == 0]
    positives = [i for i, y in enumerate(labels) if y == 1]
    n_neg = size // 2
    n_pos = size - n_neg
    if n_neg > len(negatives) or n_pos > len(positives):
        raise ValueError(f"a balanced sample of {size} needs {n_neg} negative and {n_pos} positive examples; "
                         f"the split has {len(negatives)} and {len(positives)}")
    rng = random.Random(seed)
    sample = rng.sample(negatives, n_neg) + rng.sample(positives, n_pos)
    rng.shuffle(sample)
    return sample


def write_attack_sample(test_path, out_path, size: int, seed: int) -> int:
    """Write the reviews every target is attacked on: a balanced random sample of the test split."""
    test = load_sentiment(test_path)
    if size > len(test):
        raise ValueError(f"attack.sample_size {size} is larger than the sentiment test split ({len(test)} reviews)")
    rows = [test[i] for i in balanced_sample(test["label"], size, seed)]
    write_jsonl([{"id": r["id"], "text": r["text"], "label": r["label"]} for r in rows], out_path)
    return len(rows)
