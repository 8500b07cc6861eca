"""Every stage that runs a model, on a CUDA device and on the CPU, compared.

Skipped where no CUDA device is visible (the reason says which: no CUDA build, or no device).
``MINIATURE_GPU_TEST_DEVICE`` names another device to compare with the CPU (e.g. ``cpu``
itself, to check these tests on a machine without a GPU).

Tolerances, fp32 throughout unless a test says otherwise:
- training (pre-training, distillation, QA and sentiment fine-tuning): the mean loss of every
  logged interval within 1 % of the CPU's (the same batches, masks and initial weights; GPU
  kernels add up in another order, so the runs drift apart slowly);
- prediction with the same weights: identical answers on at least 99.5 % of the questions;
- [CLS] vectors and classifier logits with the same weights: within 1e-4 of the largest
  absolute value;
- the attack with the same weights: the same outcome on at least 90 % of the reviews (a
  near-tie between two candidate words can go either way).
"""

import json
import os

import numpy as np
import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

from miniature import compress, data, demo_data, embed, finetune, model_io, predict, pretraining, sentiment
from miniature.tokenizer import train_tokenizer

DEVICE = os.environ.get("MINIATURE_GPU_TEST_DEVICE", "cuda")


def _no_device_reason() -> str:
    if torch.version.cuda is None:
        return f"no CUDA device: torch {torch.__version__} is a CPU-only build"
    return f"no CUDA device is visible to torch {torch.__version__} (CUDA {torch.version.cuda})"


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(), reason=_no_device_reason()),
]

QA_SETTINGS = {"steps": 20, "batch_size": 16, "learning_rate": 1e-3, "warmup_ratio": 0.1, "weight_decay": 0.0,
               "max_grad_norm": 1.0, "max_length": 64, "doc_stride": 24, "checkpoint_every": 1000,
               "gradient_accumulation": 1, "bf16": False}
SENTIMENT_SETTINGS = {**{k: v for k, v in QA_SETTINGS.items() if k != "doc_stride"}, "max_length": 48}
PREDICT = {"batch_size": 32, "batch_tokens": 4096, "bf16": False, "n_best": 20, "max_answer_length": 15,
           "null_score_threshold": 0.0}
LOSS_RTOL = 0.01


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Demo data, a tokenizer and a tiny pre-trained BERT (trained on the CPU)."""
    root = tmp_path_factory.mktemp("gpu")
    data.write_json(demo_data.generate_qa(300, 0, "train"), root / "train.json")
    data.write_json(demo_data.generate_qa(200, 0, "test"), root / "test.json")
    data.write_jsonl(demo_data.generate_reviews(200, 0, "train"), root / "reviews.jsonl")
    data.write_jsonl(demo_data.generate_reviews(60, 0, "test"), root / "reviews_test.jsonl")
    documents = demo_data.generate_corpus(300, 0)
    tokenizer = train_tokenizer(documents, vocab_size=400, max_length=64)
    examples = pretraining.pretraining_examples(tokenizer, documents, 64, 0)
    torch.manual_seed(0)
    model = pretraining.new_bert(tokenizer, layers=2, hidden=64, heads=2, intermediate=128, max_length=64)
    pretraining.pretrain(model, tokenizer, examples, steps=30, seed=0, batch_size=16, learning_rate=1e-3)
    model_io.save_model(model, tokenizer, root / "pretrained")
    return root, tokenizer, examples


def _same_losses(on_device, on_cpu):
    np.testing.assert_allclose(on_device, on_cpu, rtol=LOSS_RTOL)


def _fresh_bert(tokenizer, device):
    torch.manual_seed(0)
    return pretraining.new_bert(tokenizer, layers=2, hidden=64, heads=2, intermediate=128, max_length=64).to(device)


def test_pretraining_and_distillation_follow_the_cpu(tiny):
    _, tokenizer, examples = tiny
    settings = {"steps": 10, "seed": 0, "batch_size": 16, "learning_rate": 1e-3}
    losses = {d: pretraining.pretrain(_fresh_bert(tokenizer, d), tokenizer, examples, **settings)
              for d in ("cpu", DEVICE)}
    _same_losses(losses[DEVICE], losses["cpu"])
    distilled = {}
    for d in ("cpu", DEVICE):
        teacher = _fresh_bert(tokenizer, d)
        student = compress.student_model(teacher, {"layers": 1}).to(d)
        distilled[d] = pretraining.distil(student, teacher, tokenizer, examples, **settings)
    _same_losses(distilled[DEVICE], distilled["cpu"])


def test_fine_tuning_on_the_device_follows_the_cpu_and_saves_from_the_cpu(tiny, tmp_path):
    root = tiny[0]
    qa = {d: finetune.finetune_qa(root / "pretrained", root / "train.json", tmp_path / f"qa-{d}", QA_SETTINGS,
                                  seed=0, device=d) for d in ("cpu", DEVICE)}
    _same_losses(qa[DEVICE]["loss_curve"], qa["cpu"]["loss_curve"])
    sent = {d: finetune.finetune_sentiment(root / "pretrained", root / "reviews.jsonl", root / "reviews_test.jsonl",
                                           tmp_path / f"sentiment-{d}", SENTIMENT_SETTINGS, seed=0, device=d)
            for d in ("cpu", DEVICE)}
    _same_losses(sent[DEVICE]["loss_curve"], sent["cpu"]["loss_curve"])
    # Saved models load anywhere: their tensors were saved from the CPU.
    model_io.load_model(AutoModelForSequenceClassification, tmp_path / f"sentiment-{DEVICE}")


def test_gradient_accumulation_and_bf16_train_on_the_device(tiny, tmp_path):
    root = tiny[0]
    # Micro-batches are padded each to their own longest window, and a QA model's loss counts
    # padded positions, so accumulation is compared with accumulation on the CPU.
    parts = {d: finetune.finetune_qa(root / "pretrained", root / "train.json", tmp_path / f"parts-{d}",
                                     {**QA_SETTINGS, "gradient_accumulation": 4}, seed=0, device=d)
             for d in ("cpu", DEVICE)}
    _same_losses(parts[DEVICE]["loss_curve"], parts["cpu"]["loss_curve"])
    whole = finetune.finetune_qa(root / "pretrained", root / "train.json", tmp_path / "whole", QA_SETTINGS, seed=0,
                                 device=DEVICE)
    bf16 = finetune.finetune_qa(root / "pretrained", root / "train.json", tmp_path / "bf16",
                                {**QA_SETTINGS, "bf16": True}, seed=0, device=DEVICE)
    # bf16 keeps the loss in the same range (its rounding makes it drift more than fp32's).
    assert np.all(np.isfinite(bf16["loss_curve"]))
    np.testing.assert_allclose(bf16["loss_curve"], whole["loss_curve"], rtol=0.1)


@pytest.fixture(scope="module")
def fine_tuned(tiny, tmp_path_factory):
    root = tiny[0]
    out = tmp_path_factory.mktemp("fine-tuned")
    finetune.finetune_qa(root / "pretrained", root / "train.json", out / "qa", {**QA_SETTINGS, "steps": 60}, seed=0)
    finetune.finetune_sentiment(root / "pretrained", root / "reviews.jsonl", root / "reviews_test.jsonl",
                                out / "sentiment", {**SENTIMENT_SETTINGS, "steps": 60}, seed=0)
    return out


def _answers(model_dir, test, out, device, settings=PREDICT):
    out.mkdir(exist_ok=True)
    predict.predict_qa(model_dir, test, out / "p.json", out / "n.json", out / "m.json", out / "t.json", 64, 24,
                       settings, device=device)
    return json.loads((out / "p.json").read_text())


def test_predictions_on_the_device_equal_the_cpus(tiny, fine_tuned, tmp_path):
    test = tiny[0] / "test.json"
    cpu = _answers(fine_tuned / "qa", test, tmp_path / "cpu", "cpu")
    device = _answers(fine_tuned / "qa", test, tmp_path / "device", DEVICE)
    same = np.mean([device[q] == a for q, a in cpu.items()])
    bf16 = _answers(fine_tuned / "qa", test, tmp_path / "bf16", DEVICE, {**PREDICT, "bf16": True})
    print(f"{DEVICE} fp32: {same:.2%} of {len(cpu)} answers as on the CPU; "
          f"bf16: {np.mean([bf16[q] == a for q, a in cpu.items()]):.2%}")
    assert same >= 0.995
    assert set(bf16) == set(cpu)


def test_vectors_and_logits_on_the_device_match_the_cpus(tiny, fine_tuned):
    root, tokenizer, _ = tiny
    windows = embed.first_windows(tokenizer, data.load_qa(root / "test.json"), 64, 24)
    encoder = model_io.load_model(AutoModelForSequenceClassification, fine_tuned / "sentiment").base_model
    cpu = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, 32)
    device = embed.cls_vectors(encoder.to(DEVICE), windows, tokenizer.pad_token_id, 32)
    assert np.abs(device - cpu).max() <= 1e-4 * np.abs(cpu).max()
    classifier = model_io.load_model(AutoModelForSequenceClassification, fine_tuned / "sentiment")
    texts = [r["text"] for r in data.load_sentiment(root / "reviews_test.jsonl")]
    cpu_logits = sentiment.logits(classifier, tokenizer, texts, 48)
    device_logits = sentiment.logits(classifier.to(DEVICE), tokenizer, texts, 48)
    assert np.abs(device_logits - cpu_logits).max() <= 1e-4 * np.abs(cpu_logits).max()


def test_the_attack_runs_target_and_masked_lm_on_the_device(tiny, fine_tuned):
    from miniature import attack

    root = tiny[0]
    examples = list(data.load_sentiment(root / "reviews_test.jsonl"))[:20]
    outcomes = {}
    for d in ("cpu", DEVICE):
        classifier = model_io.load_model(AutoModelForSequenceClassification, fine_tuned / "sentiment")
        masked_lm = model_io.load_model(AutoModelForMaskedLM, root / "pretrained")
        recipe, wrapper = attack.build_attack(classifier, model_io.load_tokenizer(fine_tuned / "sentiment"),
                                              masked_lm, model_io.load_tokenizer(root / "pretrained"), candidates=3,
                                              max_length=48, device=d)
        rows = attack.attack_examples(recipe, examples, d)
        assert next(wrapper.model.parameters()).device.type == torch.device(d).type
        assert next(masked_lm.parameters()).device.type == torch.device(d).type
        outcomes[d] = [r["outcome"] for r in rows]
    assert np.mean([a == b for a, b in zip(outcomes[DEVICE], outcomes["cpu"])]) >= 0.9
