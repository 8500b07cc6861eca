"""The data stage: every source becomes one checked SQuAD 2.0 file, read back through datasets."""

import json

import datasets
import pytest

from miniature import data, demo_data
from miniature.errors import DataError


def test_generated_split_round_trips_through_datasets(tmp_path):
    out = tmp_path / "train.json"
    n = data.prepare_qa_split({"generate": {"style": "biographies", "questions": 50}}, out, seed=0, name="train")
    assert n == 50
    dataset = data.load_qa(out)
    assert len(dataset) == 50 and dataset.column_names == ["id", "title", "context", "question", "answers"]
    golds = data.gold_answers_by_id(dataset)
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
    with pytest.raises(DataError, match="duplicate question id"):
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
    with pytest.raises(DataError, match=message):
        data.check_squad(squad, "file.json")


def test_sentiment_labels_must_be_binary(tmp_path):
    path = tmp_path / "reviews.jsonl"
    data.write_jsonl([{"id": "1", "text": "good", "label": 1}, {"id": "2", "text": "meh", "label": 2}], path)
    with pytest.raises(DataError, match="line 2: label 2 is not 0 or 1"):
        data.load_sentiment(path)


def test_read_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="bad.json: not valid JSON"):
        data.read_json(bad)
    with pytest.raises(DataError, match="file not found"):
        data.read_json(tmp_path / "nope.json")


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


# --- hub QA layouts: MRQA (NewsQA) and squad_v2-like (COVID-QA) ---

STORY = "The mayor of Springfield, Ann Lee, opened the bridge on Monday."


def _mrqa_row(key, question, answers, inclusive=True, context=STORY):
    """An MRQA-style row (as lucadiliello/newsqa holds it): every occurrence of each answer
    string as a span, its end inclusive or exclusive."""
    labels = []
    for answer in answers:
        starts = [i for i in range(len(context)) if context.startswith(answer, i)]
        labels.append({"start": starts, "end": [s + len(answer) - (1 if inclusive else 0) for s in starts]})
    return {"key": key, "context": context, "question": question, "answers": answers, "labels": labels}


def _write_parquet(rows, path):
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


@pytest.mark.parametrize("inclusive", [True, False])
def test_mrqa_parquet_converts_to_flat_squad_rows(tmp_path, inclusive):
    rows = [_mrqa_row("n1", "Who opened the bridge?", ["Ann Lee"], inclusive),
            _mrqa_row("n2", "When?", ["Monday", "on Monday"], inclusive),
            _mrqa_row("n3", "Which town?", ["Springfield"], inclusive, context="Springfield again: Springfield.")]
    path = _write_parquet(rows, tmp_path / "validation.parquet")
    dataset = datasets.load_dataset("parquet", data_files=str(path), split="train")
    assert data.is_mrqa(dataset.features)
    assert data.mrqa_end_convention(dataset, "validation") == ("inclusive" if inclusive else "exclusive")
    flat = data.flat_qa(dataset, "validation")
    assert flat.column_names == ["id", "title", "context", "question", "answers"]
    assert flat["id"] == ["n1", "n2", "n3"]
    assert [a["text"] for a in flat["answers"]] == [["Ann Lee"], ["Monday", "on Monday"], ["Springfield"]]
    assert [a["answer_start"] for a in flat["answers"]] == [
        [STORY.index("Ann Lee")], [STORY.index("Monday"), STORY.index("on Monday")], [0]]  # the first span
    assert flat["title"] == [data.context_title(STORY)] * 2 + [data.context_title("Springfield again: Springfield.")]
    squad = data.to_squad(flat)
    data.check_squad(squad, "validation")
    assert [len(a["paragraphs"]) for a in squad["data"]] == [1, 1]  # one article per story


def test_mrqa_span_that_does_not_read_its_answer_names_the_row():
    rows = [_mrqa_row("n1", "Who?", ["Ann Lee"]), _mrqa_row("n2", "When?", ["Monday"])]
    rows[1]["labels"][0]["start"] = [rows[1]["labels"][0]["start"][0] + 3]  # "day..." is not "Monday"
    with pytest.raises(DataError, match=r"validation: row 1 \(key 'n2'\): the span .* of answer 'Monday' reads"):
        data.mrqa_to_flat(rows, "validation")


def test_mrqa_split_must_keep_one_end_convention():
    """Spans read with an inclusive end in one row and an exclusive end in another: no
    convention fits the whole split, and the first row that breaks it is named."""
    rows = [_mrqa_row("n1", "Who?", ["Ann Lee"], inclusive=True), _mrqa_row("n2", "When?", ["Monday"], inclusive=False)]
    with pytest.raises(DataError, match=r"row 1 \(key 'n2'\).*only with an inclusive end"):
        data.mrqa_end_convention(rows, "validation")


def test_mrqa_rows_need_one_span_list_per_answer():
    row = _mrqa_row("n1", "Who?", ["Ann Lee"])
    row["labels"] = []
    with pytest.raises(DataError, match=r"row 0 \(key 'n1'\): 1 answers but 0 span lists"):
        data.mrqa_to_flat([row], "validation")


def test_hub_loader_converts_an_mrqa_split_with_the_same_function(tmp_path):
    """load_qa_hub's conversion step is flat_qa; a local folder stands in for the hub."""
    repo = tmp_path / "newsqa_like"
    repo.mkdir()
    rows = [_mrqa_row("n1", "Who opened the bridge?", ["Ann Lee"]), _mrqa_row("n2", "Where?", [])]
    _write_parquet(rows, repo / "validation.parquet")
    dataset = data.load_qa_hub(str(repo), revision=None, split="validation")
    assert dataset["id"] == ["n1", "n2"]
    assert dataset["answers"] == [{"text": ["Ann Lee"], "answer_start": [STORY.index("Ann Lee")]},
                                  {"text": [], "answer_start": []}]


def test_squad_like_split_without_titles_takes_document_ids(tmp_path):
    """COVID-QA's hub layout: integer ids, a document_id per paper and no title."""
    rows = [{"document_id": 7, "context": "Masks reduce spread.", "question": "What reduces spread?",
             "is_impossible": False, "id": 101, "answers": {"text": ["Masks"], "answer_start": [0]}},
            {"document_id": 9, "context": "Soap kills it.", "question": "What kills it?",
             "is_impossible": False, "id": 102, "answers": {"text": ["Soap"], "answer_start": [0]}}]
    flat = data.flat_qa(datasets.Dataset.from_list(rows), "train")
    assert flat["id"] == ["101", "102"] and flat["title"] == ["7", "9"]
    with pytest.raises(DataError, match="neither the squad_v2 layout"):
        data.flat_qa(datasets.Dataset.from_list([{"text": "x", "label": 1}]), "train")


def test_hub_files_are_read_as_parquet_at_the_pinned_commit(monkeypatch):
    calls = []

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return datasets.Dataset.from_list([{"id": "q", "title": "t", "context": "abc", "question": "?",
                                            "answers": {"text": ["b"], "answer_start": [1]}}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    sha = "b" * 40
    dataset = data.load_qa_hub("org/covid", sha, "train", files="covid/train-00000-of-00001.parquet")
    url = f"hf://datasets/org/covid@{sha}/covid/train-00000-of-00001.parquet"
    assert calls == [("parquet", {"data_files": {"train": url}, "split": "train"})]
    assert dataset["id"] == ["q"]


def test_hub_source_with_articles_writes_the_selection(tmp_path):
    """An articles selection works on a hub split too: its titles in order of first appearance."""
    repo = tmp_path / "squad_v2_like"
    repo.mkdir()
    rows = [{"id": f"q{i}", "title": f"a{i // 2}", "context": f"Context {i // 2}.", "question": "?",
             "answers": {"text": [], "answer_start": []}} for i in range(10)]
    _write_parquet(rows, repo / "validation.parquet")
    hub = {"id": str(repo), "revision": None, "split": "validation"}
    out = tmp_path / "out.json"
    assert data.prepare_qa_split({"hub": {**hub, "articles": {"stop": 4, "step": 3}}}, out, seed=0, name="test") == 4
    assert _titles(data.read_json(out)) == ["a0", "a3"]
    assert data.prepare_qa_split({"hub": {**hub, "articles": {"stop": 4, "step": 3, "exclude": True}}},
                                 out, seed=0, name="train") == 6
    assert _titles(data.read_json(out)) == ["a1", "a2", "a4"]


def test_balanced_sample_is_balanced_deterministic_and_checked():
    labels = [0] * 30 + [1] * 10
    sample = data.balanced_sample(labels, 9, seed=1)
    assert len(set(sample)) == 9 and sorted(labels[i] for i in sample) == [0] * 4 + [1] * 5
    assert sample == data.balanced_sample(labels, 9, seed=1)
    assert sample != data.balanced_sample(labels, 9, seed=2)
    with pytest.raises(ValueError, match="needs 15 negative and 15 positive"):
        data.balanced_sample(labels, 30, seed=1)
