"""The embed stage: [CLS] vectors of QA data points, before and after QA fine-tuning.

A data point is a question with its context as the QA model sees it: the first window of
``max_length`` tokens ([CLS] question [SEP] context [SEP], the context cut as in
fine-tuning). Its vector is the last hidden layer at position 0 ([CLS]).

``before`` uses the encoder of the pre-trained checkpoint (``results/models/<fetched, built or
compressed>/{model}``: ``model_dir`` in rules/common.smk), ``after`` the encoder of the fine-tuned
QA model. Vectors are written to one ``.npz`` file per model and stage: for every split an
array ``<split>`` (n x hidden, float32, in the split's question order) and ``<split>_ids`` (the
question ids).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForPreTraining, AutoModelForQuestionAnswering

from miniature import data, qa
from miniature.batching import length_sorted_batches, model_arguments, pad_batch
from miniature.checkpoints import RESUME_EVERY, BatchCheckpoint, model_outputs_checkpoint
from miniature.devices import autocast, model_device, to_device
from miniature.model_io import load_model, load_tokenizer
from miniature.progress import Progress
from miniature.training import discard_checkpoint

log = logging.getLogger(__name__)

# The class each stage's folder was saved as; its ``base_model`` is the encoder, loaded
# without any newly initialised weight.
STAGE_CLASSES = {"before": AutoModelForPreTraining, "after": AutoModelForQuestionAnswering}


def first_windows(tokenizer, dataset, max_length: int, doc_stride: int) -> list[dict]:
    """Per question, in dataset order, the model inputs of its first window."""
    features = qa.eval_features(tokenizer, dataset, max_length, doc_stride)
    first: dict[int, int] = {}
    for window, question in enumerate(features.example_index):
        first.setdefault(question, window)
    return [features.inputs[w] for _, w in sorted(first.items())]


@torch.inference_mode()
def cls_vectors(encoder, windows: list[dict], pad_id: int, batch_size: int = 64, bf16: bool = False,
                checkpoint: BatchCheckpoint | None = None) -> np.ndarray:
    """Last-layer [CLS] vectors of the windows (rows in window order), batched by length
    with dynamic padding, on the encoder's device.

    With ``checkpoint``, the vectors of finished batches are saved to it and the batches it
    holds already are not run again (the batches depend only on the windows' lengths)."""
    encoder.eval()
    device = model_device(encoder)
    vectors = np.empty((len(windows), encoder.config.hidden_size), dtype=np.float32)
    batches = length_sorted_batches([len(w["input_ids"]) for w in windows], batch_size)
    first = 0
    if checkpoint is not None:
        first, chunks = checkpoint.resume(windows)
        for chunk in chunks:
            vectors[chunk["rows"]] = chunk["vectors"]
    progress = Progress("embedded data points", len(windows), done=sum(len(rows) for rows in batches[:first]),
                        logger=log)
    for b in range(first, len(batches)):
        rows = batches[b]
        batch = model_arguments(encoder, pad_batch([windows[i] for i in rows], pad_id))
        with autocast(device, bf16):
            vectors[rows] = encoder(**to_device(batch, device)).last_hidden_state[:, 0].float().cpu().numpy()
        if checkpoint is not None:
            checkpoint.add(b + 1, len(rows), rows=rows, vectors=vectors[rows])
        progress.advance(len(rows))
    if checkpoint is not None:
        checkpoint.flush()
    return vectors


def sample_rows(n: int, size: int | None, seed: int) -> list[int]:
    """``size`` row numbers of ``n`` drawn without replacement (all rows if size is None or
    not smaller than n), in ascending order."""
    if size is None or size >= n:
        return list(range(n))
    return sorted(np.random.default_rng(seed).choice(n, size, replace=False).tolist())


def embed_stage(model_dir, stage: str, splits: dict, out_path, max_length: int, doc_stride: int,
                batch_size: int, bf16: bool = False, device: str = "cpu", checkpoint_dir=None,
                resume_every: int = RESUME_EVERY) -> None:
    """Write the [CLS] vectors of every split (name -> QA dataset) under one model stage; with
    ``checkpoint_dir``, the vectors of a split of at least ``resume_every`` data points are
    kept in ``<checkpoint_dir>/<stage>-<split>`` as they are made (see :func:`cls_vectors`)."""
    tokenizer = load_tokenizer(model_dir)
    encoder = load_model(STAGE_CLASSES[stage], model_dir).base_model.to(device)
    arrays = {}
    for name, dataset in splits.items():
        began = time.perf_counter()
        windows = first_windows(tokenizer, dataset, max_length, doc_stride)
        checkpoint = None
        if checkpoint_dir is not None:
            checkpoint = model_outputs_checkpoint(Path(checkpoint_dir) / f"{stage}-{name}", model_dir, device,
                                                  resume_every, batch_size=batch_size, bf16=bf16)
        arrays[name] = cls_vectors(encoder, windows, tokenizer.pad_token_id, batch_size, bf16, checkpoint)
        arrays[f"{name}_ids"] = np.asarray(dataset["id"], dtype=str)
        log.info("%s, %s: %d data points in %.1fs", stage, name, len(dataset), time.perf_counter() - began)
    data.write_arrays(out_path, **arrays)


def embed_model(pretrained_dir, finetuned_dir, test_path, train_path, challenge_path, before_path, after_path,
                max_length: int, doc_stride: int, batch_size: int, train_questions: int, seed: int,
                bf16: bool = False, device: str = "cpu", checkpoint_dir=None,
                resume_every: int = RESUME_EVERY) -> None:
    """Both stages of one model: the test questions before fine-tuning; after fine-tuning the
    test questions, a seeded subsample of ``train_questions`` training questions and the
    challenge questions (the OOD detector's data). Computed on ``device``. With
    ``checkpoint_dir``, splits of at least ``resume_every`` data points resume from the
    vectors kept there (see :func:`embed_stage`); the folder is removed once both files are
    written."""
    test = data.load_qa(test_path)
    train = data.load_qa(train_path)
    rows = sample_rows(len(train), train_questions, seed)
    if len(rows) < len(train):
        train = train.select(rows)
    window = {"max_length": max_length, "doc_stride": doc_stride, "batch_size": batch_size, "bf16": bf16,
              "device": device, "checkpoint_dir": checkpoint_dir, "resume_every": resume_every}
    embed_stage(pretrained_dir, "before", {"test": test}, before_path, **window)
    embed_stage(finetuned_dir, "after", {"test": test, "train": train, "challenge": data.load_qa(challenge_path)},
                after_path, **window)
    discard_checkpoint(checkpoint_dir)
