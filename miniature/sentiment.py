"""Sentiment classification: features, batched logits, accuracy, and the attack sample.

A sentiment classifier is an ``AutoModelForSequenceClassification`` fine-tuned from a
model's pre-training checkpoint (see :mod:`miniature.finetune`). Texts are cut to
``max_length`` tokens, the same way at training, evaluation and attack time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import torch

from miniature import data
from miniature.batching import length_sorted_batches, model_arguments, pad_batch
from miniature.devices import autocast, model_device, to_device


def features(tokenizer, texts: Sequence[str], max_length: int, labels: Sequence[int] | None = None) -> list[dict]:
    """Token ids (and segment ids where the tokenizer makes them; DistilBERT's does not) of
    each text cut to ``max_length``, with its label when given."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    keys = [key for key in ("input_ids", "token_type_ids") if key in enc]
    rows = [{key: enc[key][i] for key in keys} for i in range(len(enc["input_ids"]))]
    if labels is not None:
        for row, label in zip(rows, labels):
            row["labels"] = int(label)
    return rows


@torch.inference_mode()
def logits(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 64,
           bf16: bool = False) -> np.ndarray:
    """Class logits of every text (n x classes), batched by length with dynamic padding, on
    the model's device (``model`` in eval mode, as ``from_pretrained`` and the training loop
    leave it)."""
    device = model_device(model)
    rows = features(tokenizer, texts, max_length)
    out = np.zeros((len(rows), model.config.num_labels), dtype=np.float32)
    for idx in length_sorted_batches([len(r["input_ids"]) for r in rows], batch_size):
        batch = pad_batch([rows[i] for i in idx], tokenizer.pad_token_id)
        with autocast(device, bf16):
            out[idx] = model(**to_device(model_arguments(model, batch), device)).logits.float().cpu().numpy()
    return out


def predict(model, tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 64,
            bf16: bool = False) -> list[int]:
    """The predicted class of every text."""
    return [int(c) for c in logits(model, tokenizer, texts, max_length, batch_size, bf16).argmax(axis=1)]


def accuracy(predictions: Sequence[int], labels: Sequence[int]) -> float:
    """Share of predictions equal to their label."""
    if len(predictions) != len(labels) or not labels:
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    return sum(int(p) == int(y) for p, y in zip(predictions, labels)) / len(labels)


def balanced_sample(labels: Sequence[int], size: int, seed: int) -> list[int]:
    """Row indices of a class-balanced random sample: ``size // 2`` negatives (label 0),
    the rest positives, drawn with ``random.Random(seed)`` and shuffled.

    On the IMDB test split with size 1,000 and seed 0 this is the balanced 1,000-review
    sample the paper's attack uses (see tests/test_real_data.py).
    """
    negatives = [i for i, y in enumerate(labels) if y == 0]
    positives = [i for i, y in enumerate(labels) if y == 1]
    n_neg = size // 2
    n_pos = size - n_neg
    if n_neg > len(negatives) or n_pos > len(positives):
        raise ValueError(f"a balanced sample of {size} needs {n_neg} negative and {n_pos} positive examples; "
                         f"the split has {len(negatives)} and {len(positives)}")
    rng = random.Random(seed)
    sample = rng.sample(negatives, n_neg) + rng.sample(positives, n_pos)
    rng.shuffle(sample)
    return sample


def write_attack_sample(test_path, out_path, size: int, seed: int) -> int:
    """Write the reviews every target is attacked on: a balanced random sample of the test split."""
    test = data.load_sentiment(test_path)
    if size > len(test):
        raise ValueError(f"attack.sample_size {size} is larger than the sentiment test split ({len(test)} reviews)")
    rows = [test[i] for i in balanced_sample(test["label"], size, seed)]
    data.write_jsonl([{"id": r["id"], "text": r["text"], "label": r["label"]} for r in rows], out_path)
    return len(rows)
