"""Golden checks on real data from ../shared/data (skipped where it is absent)."""

import gzip
import json
import random
import subprocess
import sys

import pandas as pd
import pytest

from miniature import agreement, config, data, squad, table2
from miniature.characteristics import ERRORS

# Table 2 of Rai, Pal & Awekar (2023), prediction-errors column, as printed in the paper.
PAPER_ERRORS_JACCARD = {
    ("large", "base"): .528, ("large", "distil"): .41, ("large", "medium"): .421, ("large", "mini"): .317,
    ("large", "tiny"): .22, ("base", "distil"): .487, ("base", "medium"): .502, ("base", "mini"): .37,
    ("base", "tiny"): .244, ("distil", "medium"): .566, ("distil", "mini"): .477, ("distil", "tiny"): .297,
    ("medium", "mini"): .47, ("medium", "tiny"): .292, ("mini", "tiny"): .487,
}
PAPER_FILES = {"large": "bert_large.json", "base": "bert_base.json", "distil": "distil_bert.json",
               "medium": "bert_medium.json", "mini": "bert_mini.json", "tiny": "tiny_bert.json"}


def test_paper_error_lists_reproduce_table2(shared_data):
    errors = {key: data.read_json(shared_data / "paper-errors" / name) for key, name in PAPER_FILES.items()}
    paper_config = {"reference": "large", "models": {k: {} for k in PAPER_FILES}}
    pairs = config.model_pairs(paper_config)
    assert len(pairs) == 15 and pairs[0] == ("large", "base")
    table = table2.table2(pairs, table2.pair_comparisons(pairs, {"errors": errors}, [ERRORS], k=10), [ERRORS])
    assert list(zip(table.model_a, table.model_b)) == pairs
    for a, b, value in zip(table.model_a, table.model_b, table.prediction_errors):
        assert value == pytest.approx(PAPER_ERRORS_JACCARD[(a, b)], abs=0.005), (a, b)


def _constructed_predictions(dataset) -> dict:
    """Predictions of every kind the metric distinguishes: exact, partial, wrong, empty."""
    rng = random.Random(0)
    predictions = {}
    for qid, context, answers in zip(dataset["id"], dataset["context"], dataset["answers"]):
        texts = answers["text"]
        r = rng.random()
        if r < 0.3:
            predictions[qid] = rng.choice(texts) if texts else ""
        elif r < 0.5 and texts:
            words = rng.choice(texts).split()
            predictions[qid] = " ".join(words[: max(1, len(words) // 2)]) + " extra"
        elif r < 0.7:
            words = context.split()
            start = rng.randrange(len(words))
            predictions[qid] = " ".join(words[start: start + rng.randint(1, 4)])
        elif r < 0.85:
            predictions[qid] = ""
        else:
            predictions[qid] = (rng.choice(texts).upper() + ".") if texts else "The"
    return predictions


def test_metrics_equal_official_script(shared_data, tmp_path):
    gz = shared_data / "squad2-dev" / "dev-v2.0.json.gz"
    dev = tmp_path / "dev-v2.0.json"
    dev.write_bytes(gzip.decompress(gz.read_bytes()))
    dataset = data.load_qa(gz)
    predictions = _constructed_predictions(dataset)
    pred_file = tmp_path / "predictions.json"
    pred_file.write_text(json.dumps(predictions))
    official = subprocess.run([sys.executable, str(shared_data / "squad2-dev" / "evaluate-v2.0.py"),
                               str(dev), str(pred_file)], capture_output=True, text=True, check=True)
    expected = json.loads(official.stdout)
    ours = squad.summary_metrics(data.gold_answers_by_id(dataset), predictions)
    assert ours == expected
    assert 0 < ours["exact"] < 100 and ours["exact"] < ours["f1"]


def test_squad_dev_loads_through_datasets(shared_data):
    dataset = data.load_qa(shared_data / "squad2-dev" / "dev-v2.0.json.gz")
    assert len(dataset) == 11873
    assert sum(1 for a in dataset["answers"] if not a["text"]) == 5945
    back = data.to_squad(dataset)
    data.check_squad(back, "round trip")
    assert [a["title"] for a in back["data"]][:2] == ["Normans", "Computational_complexity_theory"]


def test_attack_sample_of_imdb_test_is_the_papers_1000_reviews(shared_data, tmp_path):
    """Through the workflow's own path (a file source, then the sample), seed 0 and 1,000
    reviews give exactly the balanced IMDB sample the paper attacks, in its order."""
    imdb = shared_data / "imdb"
    assert data.prepare_sentiment_split({"file": {"path": str(imdb / "imdb-test.jsonl.gz")}},
                                        tmp_path / "test.jsonl", seed=0, name="test") == 25000
    assert data.write_attack_sample(tmp_path / "test.jsonl", tmp_path / "sample.jsonl", 1000, seed=0) == 1000
    ours = [json.loads(line) for line in (tmp_path / "sample.jsonl").open()]
    with gzip.open(imdb / "imdb-test-1000.jsonl.gz", "rt") as f:
        paper = [json.loads(line) for line in f]
    assert [r["id"] for r in ours] == [f"test-{r['idx']:06d}" for r in paper]
    assert [(r["text"], r["label"]) for r in ours] == [(r["text"], r["label"]) for r in paper]


def test_paper_error_lists_agreement_beyond_chance(shared_data, tmp_path):
    """Kappa of every pair of the paper's error lists, with the SQuAD 2.0 dev questions as items."""
    universe = agreement.universe_ids(shared_data / "squad2-dev" / "dev-v2.0.json.gz")
    assert len(universe) == 11873
    errors = {key: data.read_json(shared_data / "paper-errors" / name) for key, name in PAPER_FILES.items()}
    pairs = config.model_pairs({"reference": "large", "models": {k: {} for k in PAPER_FILES}})
    records = [{"model_a": a, "model_b": b, **agreement.set_agreement(errors[a], errors[b], universe, 200, seed=0)}
               for a, b in pairs]
    data.write_csv(agreement.agreement_table({"errors": records}), tmp_path / "agreement.csv")
    table = pd.read_csv(tmp_path / "agreement.csv")
    assert list(zip(table.model_a, table.model_b)) == pairs and table.kappa.notna().all()
    for a, b, value in zip(table.model_a, table.model_b, table.jaccard):
        assert value == pytest.approx(PAPER_ERRORS_JACCARD[(a, b)], abs=0.005), (a, b)
    assert (table.jaccard_ci_low < table.jaccard).all() and (table.jaccard < table.jaccard_ci_high).all()
    # Every pair agrees beyond chance; large and base agree most among the pairs with large.
    assert (table.kappa > 0).all() and (table.jaccard > table.expected_jaccard).all()
    with_large = table[table.model_a == "large"].set_index("model_b").kappa
    assert with_large.idxmax() == "base", with_large.to_dict()


@pytest.mark.parametrize("path, questions", [("ood-qa/newsqa-sample-squad2.json", 17),
                                             ("ood-qa/covid-qa/covid-qa-200423-squad2.json.gz", 1380)])
def test_squad_format_challenge_files_are_accepted(shared_data, tmp_path, path, questions):
    # The paper's challenge set (NewsQA) is supplied by users as a SQuAD 2.0 file; any such file works.
    source = {"file": {"path": str(shared_data / path)}}
    assert data.prepare_qa_split(source, tmp_path / "challenge.json", seed=0, name="challenge") == questions
    assert len(data.load_qa(tmp_path / "challenge.json")) == questions
