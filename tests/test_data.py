"""Choosing articles of a SQuAD file for a split."""

from miniature import data


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
