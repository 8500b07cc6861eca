"""Fine-tuning and prediction stages end to end on tiny local models of two families."""

import json

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForPreTraining, DistilBertConfig, DistilBertForMaskedLM

from miniature import batching, data, demo_data, finetune, model_io, predict
from miniature.tokenizer import train_tokenizer

SETTINGS = {"steps": 6, "batch_size": 8, "learning_rate": 1e-3, "warmup_ratio": 0.0, "weight_decay": 0.0,
            "max_grad_norm": 1.0, "max_length": 48, "doc_stride": 16, "checkpoint_every": 100,
            "gradient_accumulation": 1, "bf16": False}
PREDICT = {"batch_size": 16, "batch_tokens": 256, "bf16": False, "n_best": 20, "max_answer_length": 15,
           "null_score_threshold": 0.0}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    data.write_json(demo_data.generate_qa(60, 0, "train"), root / "train.json")
    data.write_json(demo_data.generate_qa(30, 0, "test"), root / "test.json")
    tokenizer = train_tokenizer(demo_data.generate_corpus(100, 0), vocab_size=300, max_length=64)
    return root, tokenizer


def _bert(tokenizer):
    return BertForPreTraining(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64))


def _distilbert(tokenizer):
    # DistilBERT takes no token_type_ids: they must not reach its forward().
    return DistilBertForMaskedLM(DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=1, n_heads=2,
                                                  hidden_dim=64, max_position_embeddings=64))


@pytest.mark.parametrize("build", [_bert, _distilbert], ids=["bert", "distilbert"])
def test_finetune_then_predict(splits, tmp_path, build):
    root, tokenizer = splits
    torch.manual_seed(0)
    model_io.save_model(build(tokenizer), tokenizer, tmp_path / "pretrained")
    summary = finetune.finetune_qa(tmp_path / "pretrained", root / "train.json", tmp_path / "qa", SETTINGS, seed=0)
    assert summary["steps"] == 6 and summary["windows"] >= 60
    assert json.loads((tmp_path / "qa" / "training.json").read_text())["steps"] == 6
    metrics = predict.predict_qa(tmp_path / "qa", root / "test.json", tmp_path / "p.json", tmp_path / "m.json",
                                 tmp_path / "metrics.json", tmp_path / "timing.json", 48, 16, PREDICT)
    answers = json.loads((tmp_path / "p.json").read_text())
    test = data.load_qa(root / "test.json")
    assert set(answers) == set(test["id"])
    contexts = dict(zip(test["id"], test["context"]))
    assert all(a == "" or a in contexts[q] for q, a in answers.items())  # answers are spans of their context
    assert metrics["total"] == 30 and 0 <= metrics["exact"] <= 100


class Interrupted(Exception):
    pass


class Stopping(torch.nn.Module):
    """A model that raises on its ``fail_at``-th forward pass (a job killed mid-way) and
    counts the passes it makes."""

    def __init__(self, model, fail_at=None):
        super().__init__()
        self.model, self.fail_at, self.calls = model, fail_at, 0

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        self.calls += 1
        if self.calls == self.fail_at:
            raise Interrupted
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


def test_window_logits_resume_after_the_saved_batches_with_the_same_logits(splits, tmp_path):
    from transformers import BertForQuestionAnswering

    from miniature import qa
    from miniature.checkpoints import BatchCheckpoint

    root, tokenizer = splits
    torch.manual_seed(0)
    model = BertForQuestionAnswering(_bert(tokenizer).config).eval()
    features = qa.eval_features(tokenizer, data.load_qa(root / "test.json"), 48, 16)
    n = len(features.inputs)
    batches = batching.length_sorted_batches([len(w["input_ids"]) for w in features.inputs], 8)
    assert len(batches) >= 10

    starts, ends = qa.window_logits(model, features, tokenizer.pad_token_id, 8)
    folder = tmp_path / "ck"
    # Below the threshold nothing is kept: the same logits, and no folder.
    same = qa.window_logits(model, features, tokenizer.pad_token_id, 8,
                            checkpoint=BatchCheckpoint(folder, "fp", every=n + 1))
    assert not folder.exists()
    for a, b in zip(same[0] + same[1], starts + ends):
        np.testing.assert_array_equal(a, b)

    with pytest.raises(Interrupted):  # killed in the 7th batch, chunks of >= 20 windows kept
        qa.window_logits(Stopping(model, fail_at=7), features, tokenizer.pad_token_id, 8,
                         checkpoint=BatchCheckpoint(folder, "fp", every=20))
    saved = max(int(np.load(p)["end_batch"]) for p in folder.glob("chunk-*.npz"))
    assert 2 <= saved <= 6
    resumed_model = Stopping(model)
    resumed = qa.window_logits(resumed_model, features, tokenizer.pad_token_id, 8,
                               checkpoint=BatchCheckpoint(folder, "fp", every=20))
    assert resumed_model.calls == len(batches) - saved  # started after the saved batches
    assert max(int(np.load(p)["end_batch"]) for p in folder.glob("chunk-*.npz")) == len(batches)
    assert all(s.dtype == np.float32 for s in resumed[0])
    for a, b in zip(resumed[0] + resumed[1], starts + ends):
        np.testing.assert_array_equal(a, b)  # bit for bit


def test_predict_qa_resumes_and_removes_its_checkpoint(splits, tmp_path):
    root, tokenizer = splits
    torch.manual_seed(0)
    model_io.save_model(_bert(tokenizer), tokenizer, tmp_path / "pretrained")
    finetune.finetune_qa(tmp_path / "pretrained", root / "train.json", tmp_path / "qa", SETTINGS, seed=0)
    outputs = ["p.json", "m.json", "metrics.json", "timing.json"]

    def run(name, **resume):
        paths = [tmp_path / name / o for o in outputs]
        predict.predict_qa(tmp_path / "qa", root / "test.json", *paths, 48, 16, PREDICT, **resume)
        return [p.read_text() for p in paths[:3]]

    clean = run("clean")
    folder = tmp_path / "ck"
    from miniature.checkpoints import BatchCheckpoint

    # A stale chunk (other settings) is ignored and replaced; the outputs are those of a clean run.
    stale = BatchCheckpoint(folder, "stale", every=1)
    stale.resume([{}])
    stale.add(1, 1, rows=np.arange(1), start=np.zeros(3, np.float32), end=np.zeros(3, np.float32))
    stale.flush()
    assert run("resumed", checkpoint_dir=folder, resume_every=5) == clean
    assert not folder.exists()
