"""The BERT-Attack stage against a tiny classifier built here, and textattack offline."""

import json
import logging
import math
import os
import random
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

from miniature import data, finetune, model_io, pretraining, table3
from miniature.tokenizer import train_tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = ("good", "great", "superb", "lovely")
BAD = ("bad", "awful", "poor", "dull")


def keyword_reviews(n: int, seed: int, prefix: str) -> list[dict]:
    """Reviews whose label is told by one adjective, among sentences that say nothing."""
    rng = random.Random(seed)
    fillers = ("i saw it on sunday", "it was long", "my friend came too", "the hall was full", "we had tea after")
    rows = []
    for i in range(n):
        label = i % 2
        adjective = rng.choice(GOOD if label else BAD)
        subject = rng.choice(("the film", "this movie", "the story", "the cast"))
        text = f"{rng.choice(fillers)}. {subject} was {adjective}. {rng.choice(fillers)}."
        rows.append({"id": f"{prefix}-{i:04d}", "text": text, "label": label})
    return rows


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from a second thread, and on a busy machine threads wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny BERT pre-trained (masked-LM + next sentence) on keyword reviews, and its
    sentiment classifier fine-tuned with the workflow's own code."""
    root = tmp_path_factory.mktemp("tiny-attack")
    train, test = keyword_reviews(400, 1, "train"), keyword_reviews(60, 2, "test")
    data.write_jsonl(train, root / "train.jsonl")
    data.write_jsonl(test, root / "test.jsonl")
    documents = [r["text"] for r in keyword_reviews(1500, 3, "corpus")]
    tokenizer = train_tokenizer(documents, vocab_size=200, max_length=64)
    torch.manual_seed(0)
    model = pretraining.new_bert(tokenizer, layers=2, hidden=32, heads=2, intermediate=64, max_length=64)
    pretraining.pretrain(model, tokenizer, pretraining.pretraining_examples(tokenizer, documents, 64, 0), steps=300,
                         seed=0, batch_size=32, learning_rate=3e-3, warmup_ratio=0.05)
    model_io.save_model(model, tokenizer, root / "pretrained")
    settings = {"steps": 200, "batch_size": 16, "learning_rate": 1e-3, "warmup_ratio": 0.1, "weight_decay": 0.0,
                "max_grad_norm": 1.0, "max_length": 64, "checkpoint_every": 1000,
                "gradient_accumulation": 1, "bf16": False}
    metrics = finetune.finetune_sentiment(root / "pretrained", root / "train.jsonl", root / "test.jsonl",
                                          root / "classifier", settings, seed=0)
    return root, metrics


def test_sentiment_fine_tuning_learns_the_keyword_task(tiny):
    root, metrics = tiny
    saved = json.loads((root / "classifier" / "metrics.json").read_text())
    assert saved == {"accuracy": metrics["accuracy"], "examples": 60}
    assert metrics["accuracy"] >= 0.9
    assert (root / "classifier" / "training.json").is_file()


@pytest.fixture(scope="module")
def attacked(tiny):
    from miniature import attack

    root, _ = tiny
    tokenizer = model_io.load_tokenizer(root / "classifier")
    classifier = model_io.load_model(AutoModelForSequenceClassification, root / "classifier")
    masked_lm = model_io.load_model(AutoModelForMaskedLM, root / "pretrained")
    recipe, _ = attack.build_attack(classifier, tokenizer, masked_lm, model_io.load_tokenizer(root / "pretrained"),
                                    candidates=3, max_length=64)
    examples = list(data.load_sentiment(root / "test.jsonl"))[:20]
    return recipe, examples, attack.attack_examples(recipe, examples), classifier, tokenizer


def test_attack_changes_predictions_and_successes_hold_when_rescored(attacked):
    _, examples, rows, classifier, tokenizer = attacked
    assert [r["id"] for r in rows] == [e["id"] for e in examples]
    succeeded = [r for r in rows if r["outcome"] == "succeeded"]
    assert succeeded, "the attack changed no prediction"
    by_id = {e["id"]: e for e in examples}

    def rescore(text):  # one text at a time, without the attack's batching
        with torch.no_grad():
            return int(classifier(**tokenizer(text, return_tensors="pt")).logits.argmax())

    from textattack.shared import AttackedText

    from miniature.attack import NLTK_DATA

    stop_words = set((NLTK_DATA / "corpora" / "stopwords" / "english").read_text().split())
    for row in rows:
        original = by_id[row["id"]]["text"]
        assert rescore(original) == row["original_prediction"]
        if row["outcome"] == "skipped":
            assert row["original_prediction"] != row["label"] and row["perturbed_text"] == ""
            continue
        assert row["original_prediction"] == row["label"]
        assert rescore(row["perturbed_text"]) == row["perturbed_prediction"]
        if row["outcome"] == "succeeded":
            assert row["perturbed_text"] != original
            assert row["perturbed_prediction"] != row["label"]
            before, after = AttackedText(original), AttackedText(row["perturbed_text"])
            changed = before.all_words_diff(after)
            assert len(changed) == row["words_changed"]
            assert 1 <= len(changed) <= math.ceil(0.4 * len(before.words))
            assert not {before.words[i] for i in changed} & stop_words
        else:
            assert row["perturbed_prediction"] == row["label"]


def test_table3_numbers_agree_with_textattacks_own_metrics(attacked):
    from textattack.metrics import AttackQueries, AttackSuccessRate

    from miniature import attack

    recipe, examples, rows, _, _ = attacked
    results = [recipe.attack(e["text"], int(e["label"])) for e in examples]
    assert [attack.example_row(e["id"], e["label"], r) for e, r in zip(examples, results)] == rows
    ours = table3.attack_summary([r["outcome"] for r in rows], [r["queries"] for r in rows])
    theirs = AttackSuccessRate().calculate(results)
    # textattack gives accuracies in percent; Table 3 gives fractions, as the paper does.
    assert ours["original_accuracy"] * 100 == pytest.approx(theirs["original_accuracy"], abs=0.01)
    assert ours["after_attack_accuracy"] * 100 == pytest.approx(theirs["attack_accuracy_perc"], abs=0.01)
    assert ours["attack_success_rate"] == pytest.approx(theirs["attack_success_rate"], abs=0.01)
    assert ours["avg_queries"] == pytest.approx(AttackQueries().calculate(results)["avg_num_queries"], abs=0.01)


def test_window_constraint_keeps_only_words_the_classifier_reads(tiny):
    from textattack.shared import AttackedText

    from miniature import attack

    root, _ = tiny
    tokenizer = model_io.load_tokenizer(root / "classifier")
    text = AttackedText("the film was good. " * 10)  # 5 tokens per sentence, 40 words
    within_model_window = attack.textattack_components().WithinModelWindow
    window = within_model_window(tokenizer, max_length=12)  # [CLS] + 10 tokens + [SEP]
    assert window._get_modifiable_indices(text) == set(range(8))  # two whole sentences
    assert within_model_window(tokenizer, 64)._get_modifiable_indices(text) == set(range(40))


def test_attack_sample_is_balanced_and_the_same_for_a_seed(tmp_path):
    rows = keyword_reviews(50, 0, "test")
    data.write_jsonl(rows, tmp_path / "test.jsonl")
    assert data.write_attack_sample(tmp_path / "test.jsonl", tmp_path / "a.jsonl", 10, seed=3) == 10
    data.write_attack_sample(tmp_path / "test.jsonl", tmp_path / "b.jsonl", 10, seed=3)
    sample = list(data.load_sentiment(tmp_path / "a.jsonl"))
    assert sample == list(data.load_sentiment(tmp_path / "b.jsonl"))
    assert sorted(r["label"] for r in sample) == [0] * 5 + [1] * 5
    assert {r["id"] for r in sample} <= {r["id"] for r in rows}
    with pytest.raises(ValueError, match="larger than the sentiment test split"):
        data.write_attack_sample(tmp_path / "test.jsonl", tmp_path / "c.jsonl", 51, seed=3)


def test_textattack_imports_offline_from_a_clean_home(tmp_path):
    """No NLTK data, no textattack cache, no hub, no network: import_textattack must still work,
    the stop words must be the project's, and the job's logging must work on after it."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NLTK_DATA", "TA_CACHE_DIR", "HF_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               # Any connection attempt goes to a closed local port and fails at once.
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="")
    log_file = tmp_path / "job.log"
    code = textwrap.dedent(f"""
        import logging
        logging.basicConfig(level=logging.INFO, handlers=[logging.FileHandler({str(log_file)!r}, mode="w")])
        logging.getLogger("miniature.attack_job").info("before the import")
        import nltk
        import miniature.attack as attack
        textattack = attack.import_textattack()
        from textattack.constraints.pre_transformation import StopwordModification
        words = open(attack.NLTK_DATA / "corpora" / "stopwords" / "english").read().split()
        assert StopwordModification().stopwords == set(words), "not the project's stop words"
        logging.getLogger("miniature.attack_job").info("after the import")
        attack.log.info("from the module")
        print("imported", textattack.__name__)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported textattack" in result.stdout
    assert "Downloading" not in result.stderr
    # The job's log file still gets every message: textattack's import closes it and silences loggers.
    assert [line.split(":")[-1] for line in log_file.read_text().splitlines()] == [
        "before the import", "after the import", "from the module"]


def test_textattack_imports_from_a_group_writable_clone(tmp_path):
    """A clone made under umask 002 (the default for regular accounts on Debian and Ubuntu) has
    group-writable folders and files, and NLTK 3.10 refuses to read data from them: the
    import (textattack reads the stop words when it is imported) and the attack's stop words
    must not depend on NLTK reading the tree's own copy."""
    import shutil

    tree = tmp_path / "clone"
    shutil.copytree(os.path.join(ROOT, "miniature"), tree / "miniature", ignore=shutil.ignore_patterns("__pycache__"))
    for folder, _, files in os.walk(tree):  # as git writes a clone under umask 002
        os.chmod(folder, 0o775)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o664)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NLTK_DATA", "TA_CACHE_DIR", "HF_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.pop("PYTHONPATH", None)
    code = textwrap.dedent(f"""
        import os, stat
        import nltk
        shipped = {str(tree / "miniature" / "nltk_data")!r}
        try:  # the condition itself: NLTK refuses the clone's folder
            nltk.data.find("corpora/stopwords/english", paths=[shipped])
            raise SystemExit("NLTK read a group-writable folder: this test no longer tests anything")
        except LookupError as error:
            assert "writable by other accounts" in str(error), str(error)
        import miniature.attack as attack
        assert attack.__file__.startswith({str(tree)!r}), attack.__file__
        attack.import_textattack()
        from textattack.constraints.pre_transformation import StopwordModification
        words = set(open(os.path.join(shipped, "corpora", "stopwords", "english")).read().split())
        assert len(words) > 100 and attack.stop_words() == words
        assert StopwordModification().stopwords == words, "not the project's stop words"
        private = attack.private_nltk_data()
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o700 and shipped not in nltk.data.path
        print("private", private)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    private = result.stdout.split("private ", 1)[1].strip()
    assert not os.path.exists(private), "the private copy outlived the process"


# --- resuming a killed attack ------------------------------------------------------------------


class Interrupted(Exception):
    pass


class StopAt:
    """An attack that is killed when it is asked for review ``stop`` + 1 (never with None), and
    counts the reviews it attacks."""

    def __init__(self, recipe, stop=None):
        self.recipe, self.stop, self.calls = recipe, stop, 0

    def clear_cache(self):
        self.recipe.clear_cache()

    def attack(self, text, label):
        if self.calls == self.stop:
            raise Interrupted
        self.calls += 1
        return self.recipe.attack(text, label)


def test_killed_attack_resumes_at_the_next_review_with_the_rows_of_an_uninterrupted_run(tiny, attacked, tmp_path,
                                                                                         caplog):
    from miniature import attack
    from miniature.checkpoints import RowLog

    recipe, examples, rows, _, _ = attacked
    path = tmp_path / "checkpoint" / "rows.jsonl"
    # Killed at review 8, with the recipe that has attacked all 20 reviews already.
    with pytest.raises(Interrupted):
        attack.attack_examples(StopAt(recipe, 7), examples, checkpoint=RowLog(path, "fp"))
    assert len(path.read_text().splitlines()) == 1 + 7
    path.write_bytes(path.read_bytes() + json.dumps(rows[7]).encode()[:20])  # and while writing its row

    # Resumed with a new recipe, as a new job builds it: reviews 8-20 are attacked without
    # reviews 1-7 before them, and every row is what the uninterrupted run gave.
    root, _ = tiny
    fresh, _ = attack.build_attack(model_io.load_model(AutoModelForSequenceClassification, root / "classifier"),
                                   model_io.load_tokenizer(root / "classifier"),
                                   model_io.load_model(AutoModelForMaskedLM, root / "pretrained"),
                                   model_io.load_tokenizer(root / "pretrained"), candidates=3, max_length=64)
    counting = StopAt(fresh)
    with caplog.at_level(logging.INFO, logger="miniature"):
        resumed = attack.attack_examples(counting, examples, checkpoint=RowLog(path, "fp"))
    assert "resumed at review 8 of 20" in caplog.text and "half-written last line" in caplog.text
    assert counting.calls == 13
    assert resumed == rows
    assert RowLog(path, "fp").open() == rows  # every row is in the checkpoint
    # A checkpoint made from something else is never used: everything is attacked again.
    counting = StopAt(fresh, 2)
    with pytest.raises(Interrupted):
        attack.attack_examples(counting, examples, checkpoint=RowLog(path, "other"))
    assert RowLog(path, "other").open() == rows[:2]
