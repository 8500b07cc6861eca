"""Sentiment classification: features, batched logits and accuracy.

A sentiment classifier is an ``AutoModelForSequenceClassification`` fine-tuned from a
model's pre-training checkpoint (see :mod:`miniature.finetune`). Texts are cut to
``max_length`` tokens, the same way at training, evaluation and attack time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

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
