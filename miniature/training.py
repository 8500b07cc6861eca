"""A small, deterministic, resumable training loop shared by every training stage.

Batches are a pure function of (seed, step): the order of examples in epoch e is a
permutation drawn from ``(seed, e)``, and torch's random state (dropout, masking) is reset
from ``(seed, step)`` before every step. So a run resumed from a checkpoint continues
exactly as the uninterrupted run would have, and two runs with the same seed agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from miniature.devices import autocast, model_device, to_device
from miniature.files import atomic_file
from miniature.progress import Progress

log = logging.getLogger(__name__)

# The fine-tuning settings (config finetune.<task>) that train() takes as they are.
TRAIN_KEYS = ("batch_size", "learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm", "checkpoint_every",
              "gradient_accumulation", "bf16")


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The batches of one epoch, a pure function of (seed, epoch).

    Examples are shuffled, then sorted by length within windows of 50 batches so that a
    batch holds examples of similar length (little padding), and the batches are shuffled
    again. The last incomplete batch of an epoch is dropped.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    window = 50 * batch_size
    for i in range(0, len(order), window):
        chunk = order[i: i + window]
        order[i: i + window] = chunk[np.argsort(-lengths[chunk], kind="stable")]
    batches = [order[i: i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def total_steps(n_examples: int, batch_size: int, steps: int | None = None, epochs: float | None = None) -> int:
    """``steps`` if given, else the steps of ``epochs`` passes over the examples."""
    if steps is not None:
        return int(steps)
    return max(1, math.ceil(epochs * max(1, n_examples // batch_size)))


def files_digest(*paths: str | Path) -> str:
    """SHA-256 of the files at ``paths`` (folders: every file in them, by relative name)."""
    digest = hashlib.sha256()
    for root in map(Path, paths):
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            digest.update(str(file.relative_to(root) if root.is_dir() else file.name).encode() + b"\0")
            with open(file, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def fingerprint_of(settings, *inputs: str | Path) -> str:
    """What a checkpoint must have been made from to be resumed: the settings and the inputs'
    content (a model or data set rebuilt since the checkpoint makes it stale)."""
    return json.dumps({"settings": settings, "inputs": files_digest(*inputs)}, sort_keys=True)


def discard_checkpoint(checkpoint_dir: str | Path | None) -> None:
    """Remove a finished job's checkpoint; call it once the job's output is safely in place."""
    if checkpoint_dir is not None:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)


def _optimizer(model: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
    # As in BERT: no weight decay on biases and LayerNorm weights.
    decay, no_decay = [], []
    for _name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=learning_rate)


def train(
    model: torch.nn.Module,
    examples: Sequence[dict],
    collate: Callable[[list[dict]], dict],
    loss_fn: Callable[[torch.nn.Module, dict], torch.Tensor],
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    warmup_ratio: float = 0.0,
    weight_decay: float = 0.0,
    max_grad_norm: float = 1.0,
    seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 200,
    fingerprint: str = "",
    gradient_accumulation: int = 1,
    bf16: bool = False,
) -> list[float]:
    """Train ``model`` in place for ``steps`` steps; return the mean loss of each logged interval.

    Batches are moved to the device the model is on (move the model to a GPU to train there).
    A step's batch of ``batch_size`` examples can be split into ``gradient_accumulation``
    micro-batches whose gradients add up before the optimiser steps (the same batch, in less
    memory: BERT-large's 32 windows of 384 tokens fit a 16 GB GPU in 4 micro-batches). Each
    micro-batch is padded to its own longest example, so a loss that counts padded positions
    (a QA model's softmax over all positions does) comes out slightly different. ``bf16``
    computes forward and backward under bfloat16 autocast.
    With ``checkpoint_dir``, the state is saved every ``checkpoint_every`` steps and a run
    that finds a checkpoint there resumes from it, provided it was made with the same
    ``fingerprint`` (see :func:`fingerprint_of`). The folder stays until the caller has saved
    its output and calls :func:`discard_checkpoint`, so a job killed while saving still resumes.
    """
    if len(examples) < batch_size:
        raise ValueError(f"{len(examples)} training examples are fewer than one batch of {batch_size}")
    if batch_size % gradient_accumulation:
        raise ValueError(f"batch_size {batch_size} is not a multiple of gradient_accumulation {gradient_accumulation}")
    optimizer = _optimizer(model, learning_rate, weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * steps), steps)
    start = 0
    losses: list[float] = []  # mean loss of each logged interval
    interval: list[float] = []  # losses of the steps since the last log line
    checkpoint = Path(checkpoint_dir) / "state.pt" if checkpoint_dir else None
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=True, map_location="cpu")
    else:
        state = None
    if state is not None and state.get("fingerprint") != fingerprint:
        log.info("ignoring checkpoint %s: it was made with other settings or inputs", checkpoint)
    elif state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = int(state["step"])
        losses, interval = list(state["losses"]), list(state["interval"])
        log.info("resumed from %s at step %d of %d", checkpoint, start, steps)

    model.train()
    device = model_device(model)
    lengths = [len(e["input_ids"]) for e in examples]
    per_epoch = len(examples) // batch_size
    batches: dict[int, list[np.ndarray]] = {}
    progress = Progress("step", steps, done=start, every=max(1, steps // 20), logger=log)
    for step in range(start, steps):
        torch.manual_seed(seed * 1_000_003 + step)
        epoch, position = divmod(step, per_epoch)
        if epoch not in batches:
            batches = {epoch: epoch_batches(lengths, batch_size, seed, epoch)}
        step_loss = 0.0
        # Equal micro-batches of a length-sorted batch: the mean of their mean losses is the
        # batch's mean loss, so the gradient is the whole batch's.
        for rows in np.array_split(batches[epoch][position], gradient_accumulation):
            batch = to_device(collate([examples[i] for i in rows]), device)
            with autocast(device, bf16):
                loss = loss_fn(model, batch)
            if gradient_accumulation > 1:
                loss = loss / gradient_accumulation
            loss.backward()
            step_loss += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        interval.append(step_loss)
        done = step + 1
        # The loss curve has one point per progress line: the mean loss since the line before.
        if progress.advance(detail=lambda interval=interval: (
                f"loss {np.mean(interval):.4f}  lr {scheduler.get_last_lr()[0]:.2e}")):
            losses.append(float(np.mean(interval)))
            interval = []
        if checkpoint is not None and done % checkpoint_every == 0 and done < steps:
            with atomic_file(checkpoint, "wb") as f:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict(), "step": done, "fingerprint": fingerprint,
                            "losses": losses, "interval": interval}, f)
    model.eval()
    return losses
