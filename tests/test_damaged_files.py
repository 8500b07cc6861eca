"""Damaged files the workflow made (a truncated model, a model folder without its tokenizer,
a truncated .npz, a half-written JSON from an older run) stop the job with one message naming
the file and what to delete, not a traceback from inside a library."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoModelForQuestionAnswering

from miniature import data, model_io, pretraining
from miniature.errors import DataError, ModelError
from miniature.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny model folder as the workflow saves one, under results/models/built/x."""
    tokenizer = train_tokenizer(["the cat sat on the mat. a dog ran far away."] * 3, 100, 32)
    folder = tmp_path_factory.mktemp("run") / "results" / "models" / "x"
    model_io.save_model(pretraining.new_bert(tokenizer, 1, 16, 2, 32, 32), tokenizer, folder)
    return folder


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    """Jobs run in the working directory and name what they read relative to it."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def model_dir(saved_model):
    """A fresh copy of the saved model in results/models/built/x, to damage."""
    folder = Path("results/models/built/x")
    folder.mkdir(parents=True)
    for f in saved_model.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def test_an_intact_model_loads(model_dir):
    model_io.load_model(AutoModelForQuestionAnswering, model_dir)
    model_io.load_tokenizer(model_dir)


@pytest.mark.parametrize("damage", ["truncated", "header only", "empty", "random bytes"])
def test_damaged_safetensors_names_the_file_and_the_folder_to_delete(model_dir, damage):
    weights = model_dir / "model.safetensors"
    full = weights.read_bytes()
    weights.write_bytes({"truncated": full[: len(full) // 2], "header only": full[:20], "empty": b"",
                         "random bytes": os.urandom(len(full))}[damage])
    with pytest.raises(ModelError) as raised:
        model_io.load_model(AutoModelForQuestionAnswering, model_dir)
    assert str(raised.value).startswith(f"{weights} is damaged (unreadable safetensors: ")
    assert str(raised.value).endswith(f"): delete {model_dir} and rerun")


def test_damaged_config_json_of_a_made_model(model_dir):
    (model_dir / "config.json").write_text('{"model_type": "be')
    with pytest.raises(ModelError, match=f"^{model_dir}/config.json is damaged \\(not valid JSON: .*\\): "
                                         f"delete {model_dir} and rerun$"):
        model_io.load_model(AutoModelForQuestionAnswering, model_dir)


def test_model_folder_without_its_tokenizer(model_dir):
    for name in ("tokenizer.json", "vocab.txt"):
        (model_dir / name).unlink()
    with pytest.raises(ModelError) as raised:
        model_io.load_tokenizer(model_dir)
    assert str(raised.value).startswith(f"{model_dir} is damaged (no tokenizer: none of tokenizer.json, vocab.txt")
    assert str(raised.value).endswith(f"delete {model_dir} and rerun")


def test_half_written_tokenizer(model_dir):
    (model_dir / "vocab.txt").unlink()
    tokenizer_json = model_dir / "tokenizer.json"
    tokenizer_json.write_text(tokenizer_json.read_text()[:100])
    with pytest.raises(ModelError, match=f"^{model_dir} is damaged \\(its tokenizer cannot be loaded: .*\\): "
                                         f"delete {model_dir} and rerun$"):
        model_io.load_tokenizer(model_dir)


@pytest.fixture
def results():
    folder = Path("results/embed/x")
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize("keep", [0.5, 0.0, 0.99])
def test_truncated_npz(results, keep):
    path = results / "after.npz"
    data.write_arrays(path, test=np.ones((20, 8), dtype=np.float32), test_ids=np.asarray(["a"] * 20))
    assert data.read_arrays(path)["test"].shape == (20, 8)
    full = path.read_bytes()
    path.write_bytes(full[: int(len(full) * keep)])
    with pytest.raises(DataError, match=f"^{path} is damaged \\(not a readable .npz file: .*\\): "
                                        f"delete {path} and rerun$"):
        data.read_arrays(path)


def test_npz_with_a_flipped_byte(results):
    path = results / "after.npz"
    data.write_arrays(path, test=np.arange(1000, dtype=np.float64))
    damaged = bytearray(path.read_bytes())
    damaged[200] ^= 0xFF  # inside the array: the zip member's CRC no longer matches
    path.write_bytes(bytes(damaged))
    with pytest.raises(DataError, match=f"^{path} is damaged .*Bad CRC-32.*: delete {path} and rerun$"):
        data.read_arrays(path)


def test_half_written_json_from_an_older_run(results):
    path = results / "flagged.json"
    path.write_text(json.dumps({"5": ["q1", "q2"], "10": ["q1"]})[:15])
    with pytest.raises(DataError, match=f"^{path} is damaged \\(not valid JSON: .*\\): delete {path} and rerun$"):
        data.read_json(path)


def test_half_written_qa_split():
    path = Path("results/data/qa/test.json")
    path.parent.mkdir(parents=True)
    squad = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [
        {"context": "Anna was born in Oslo.", "qas": [{"id": "q1", "question": "Where?", "answers": []}]}]}]}
    path.write_text(json.dumps(squad)[:60])
    with pytest.raises(DataError, match=f"^{path} is damaged \\(not valid JSON: .*\\): delete {path} and rerun$"):
        data.load_qa(path)


def test_half_written_sentiment_split():
    path = Path("results/data/sentiment/test.jsonl")
    path.parent.mkdir(parents=True)
    path.write_text('{"id": "a", "text": "Good.", "label": 1}\n{"id": "b", "te')
    with pytest.raises(DataError, match=f"^{path} is damaged \\(line 2 is not valid JSON: .*\\): "
                                        f"delete {path} and rerun$"):
        data.load_sentiment(path)


def test_a_damaged_input_is_not_to_be_deleted(tmp_path):
    """A user's own file (outside the working directory's results/) is named as damaged too,
    but deleting it would not bring it back: the message says to replace it."""
    path = tmp_path / "results" / "vectors.npz"
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "work").mkdir()
    os.chdir(tmp_path / "work")  # the file lies outside this working directory's results/
    with pytest.raises(DataError, match=f"^{path} is damaged .*: the workflow does not make it; "
                                        "replace it with a good copy$"):
        data.read_arrays(path)
    os.chdir(tmp_path)  # here it is in results/: something a job made
    with pytest.raises(DataError, match=f"^{path} is damaged .*: delete {path} and rerun$"):
        data.read_arrays(path)
