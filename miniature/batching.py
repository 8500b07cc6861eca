"""Batches of token rows for any model: dynamic padding, the arguments a model takes, and
length-sorted batches for inference.

A row is a dict of token lists (``input_ids``, and ``token_type_ids`` where the tokenizer makes
them) and plain numbers (targets such as ``labels``); every stage that trains or runs a model
batches its rows with these functions.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch


def pad_batch(rows: list[dict], pad_id: int) -> dict:
    """Stack rows as tensors: token lists padded to the longest row (dynamic padding, with
    ``pad_id`` for input ids and 0 otherwise) plus an attention mask; numbers as they are."""
    width = max(len(r["input_ids"]) for r in rows)
    batch = {"attention_mask": torch.zeros((len(rows), width), dtype=torch.long)}
    for key, value in rows[0].items():
        if isinstance(value, list):
            batch[key] = torch.full((len(rows), width), pad_id if key == "input_ids" else 0, dtype=torch.long)
            for i, r in enumerate(rows):
                batch[key][i, : len(r[key])] = torch.tensor(r[key])
        else:
            batch[key] = torch.tensor([r[key] for r in rows])
    for i, r in enumerate(rows):
        batch["attention_mask"][i, : len(r["input_ids"])] = 1
    return batch


def model_arguments(model, batch: dict) -> dict:
    """The entries of ``batch`` that ``model.forward`` takes (DistilBERT, say, has no segment ids)."""
    accepted = inspect.signature(model.forward).parameters
    return {key: value for key, value in batch.items() if key in accepted}


def length_sorted_batches(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Batches of indices of similar length (longest first), so padding wastes little: at most
    ``batch_size`` rows and, with ``max_tokens``, at most that many padded tokens (a row longer
    than that goes alone). On a CPU a token cap keeps a batch's activations in cache, which is
    worth more than big batches: see benchmarks/predict.py."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        rows = batch_size
        if max_tokens is not None:  # the first row of a batch is its longest
            rows = max(1, min(batch_size, max_tokens // max(1, lengths[order[start]])))
        batches.append(order[start: start + rows])
        start += rows
    return batches
