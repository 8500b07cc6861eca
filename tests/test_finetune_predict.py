"""Fine-tuning and prediction stages end to end on tiny local models of two families."""

import json

import pytest
import torch
from transformers import BertConfig, BertForPreTraining, DistilBertConfig, DistilBertForMaskedLM

from miniature import data, demo_data, finetune, models, predict

SETTINGS = {"steps": 6, "batch_size": 8, "learning_rate": 1e-3, "warmup_ratio": 0.0, "weight_decay": 0.0,
            "max_grad_norm": 1.0, "max_length": 48, "doc_stride": 16, "checkpoint_every": 100,
            "gradient_accumulation": 1, "bf16": False}
PREDICT = {"batch_size": 16, "batch_tokens": 256, "bf16": False, "n_best": 20, "max_answer_length": 15, "null_score_threshold": 0.0}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    data.write_json(demo_data.generate_qa(60, 0, "train"), root / "train.json")
    data.write_json(demo_data.generate_qa(30, 0, "test"), root / "test.json")
    tokenizer = models.train_tokenizer(demo_data.generate_corpus(100, 0), vocab_size=300, max_length=64)
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
    models.save_model(build(tokenizer), tokenizer, tmp_path / "pretrained")
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
