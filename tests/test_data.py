"""The data stage: every source becomes one checked SQuAD 2.0 file, read back through datasets."""

import json

import datasets
import pytest

from miniature import data, demo_data


def test_generated_split_round_trips_through_datasets(tmp_path):
    out = tmp_path / "train.json"
    n = data.prepare_qa_split({"generate": {"style": "biographies", "questions": 50}}, out, seed=0, name="train")
    assert n == 50
    dataset = data.load_qa(out)
    assert len(dataset) == 50 and dataset.column_names == ["id", "title", "context", "question", "answers"]
    golds = data.gold_answers(dataset)
    squad = json.loads(out.read_text())
    assert list(golds) == [qa["id"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]]


def test_file_source_is_checked_and_copied(tmp_path):
    source = tmp_path / "mine.json"
    source.write_text(json.dumps(demo_data.generate_qa(20, 0, "x")))
    out = tmp_path / "test.json"
    assert data.prepare_qa_split({"file": {"path": str(source)}}, out, seed=0, name="test") == 20
    broken = json.loads(source.read_text())
    broken["data"][0]["paragraphs"][1]["qas"][0]["id"] = broken["data"][0]["paragraphs"][0]["qas"][0]["id"]
    source.write_text(json.dumps(broken))
    with pytest.raises(data.DataError, match="duplicate question id"):
        data.prepare_qa_split({"file": {"path": str(source)}}, out, seed=0, name="test")


def test_hub_loader_reads_a_squad_v2_style_dataset(tmp_path):
    """The hub path is load_dataset(id, revision, split); a local folder stands in for the hub."""
    repo = tmp_path / "squad_v2_like"
    repo.mkdir()
    rows = [{"id": "a1", "title": "T", "context": "Oslo is cold.", "question": "What is cold?",
             "answers": {"text": ["Oslo"], "answer_start": [0]}},
            {"id": "a2", "title": "T", "context": "Oslo is cold.", "question": "Who is warm?",
             "answers": {"text": [], "answer_start": []}}]
    datasets.Dataset.from_list(rows).to_parquet(str(repo / "validation.parquet"))
    dataset = data.load_qa_hub(str(repo), revision=None, split="validation")
    squad = data.to_squad(dataset)
    data.check_squad(squad, "hub")
    [article] = squad["data"]
    [paragraph] = article["paragraphs"]
    assert [qa["is_impossible"] for qa in paragraph["qas"]] == [False, True]


@pytest.mark.parametrize("squad, message", [
    ({"version": "v2.0"}, "not in the SQuAD 2.0 layout"),
    ({"data": [{"title": "x"}]}, "no 'paragraphs' list"),
    ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q", "question": "?",
                                                              "answers": [{"text": "b", "answer_start": 0}]}]}]}]},
     "answer_start 0 does not point at its text 'b'"),
    ({"data": []}, "contains no questions"),
])
def test_check_squad_names_the_problem(squad, message):
    with pytest.raises(data.DataError, match=message):
        data.check_squad(squad, "file.json")


def test_sentiment_labels_must_be_binary(tmp_path):
    path = tmp_path / "reviews.jsonl"
    data.write_jsonl([{"id": "1", "text": "good", "label": 1}, {"id": "2", "text": "meh", "label": 2}], path)
    with pytest.raises(data.DataError, match="line 2: label 2 is not 0 or 1"):
        data.load_sentiment(path)


def test_read_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(data.DataError, match="bad.json: not valid JSON"):
        data.read_json(bad)
    with pytest.raises(data.DataError, match="file not found"):
        data.read_json(tmp_path / "nope.json")


def test_atomic_dir_appears_only_when_complete(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with data.atomic_dir(target) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("killed")
    assert not target.exists() and not (tmp_path / "out.tmp").exists()
    (tmp_path / "out.tmp").mkdir()  # left by a job killed with SIGKILL
    (tmp_path / "out.tmp" / "stale").write_text("x")
    with data.atomic_dir(target) as tmp:
        (tmp / "done").write_text("x")
        assert not target.exists()
    assert sorted(p.name for p in target.iterdir()) == ["done"]
    assert not (tmp_path / "out.tmp").exists()


def test_write_json_leaves_old_file_until_new_one_is_complete(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    data.write_json({"v": 1}, path)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data.json, "dump", broken_dump)
    with pytest.raises(OSError):
        data.write_json({"v": 2}, path)
    monkeypatch.undo()
    assert data.read_json(path) == {"v": 1}


# --- choosing articles of a SQuAD file for a split ---


def _squad(n_articles):
    return {"version": "v2.0", "data": [
        {"title": f"a{i}", "paragraphs": [{"context": "x", "qas": [{"id": f"q{i}", "question": "?", "answers": []}]}]}
        for i in range(n_articles)]}


def _titles(squad):
    return [a["title"] for a in squad["data"]]


def test_article_selection_and_its_complement_split_a_file():
    squad = _squad(7)
    test = data.select_articles(squad, step=3)
    train = data.select_articles(squad, step=3, exclude=True)
    assert _titles(test) == ["a0", "a3", "a6"]
    assert _titles(train) == ["a1", "a2", "a4", "a5"]
    assert _titles(data.select_articles(squad, start=1, stop=4)) == ["a1", "a2", "a3"]
    assert _titles(data.select_articles(squad, stop=5, step=4, exclude=True)) == ["a1", "a2", "a3", "a5", "a6"]
    assert len(squad["data"]) == 7  # the input is left alone


def test_file_source_with_articles_writes_the_selection(tmp_path):
    source = tmp_path / "squad.json"
    data.write_json(_squad(5), source)
    n = data.prepare_qa_split({"file": {"path": str(source), "articles": {"start": 1, "step": 2}}},
                              tmp_path / "out.json", seed=0, name="test")
    assert n == 2 and _titles(data.read_json(tmp_path / "out.json")) == ["a1", "a3"]
