"""Where a stage's tensors live and in which precision they are computed.

Every stage that runs a model takes a ``device`` ("cpu" or "cuda", chosen per job by
:func:`miniature.runtime.job_device` from the GPUs the job was granted) and a ``bf16``
switch; these helpers are the one way they are applied, so that the CPU path is the same
code with ``device="cpu"`` and ``bf16=False``.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's weights are on (an int8 model's packed weights count as the CPU)."""
    return next(model.parameters(), torch.empty(0)).device


def to_device(batch: dict, device: torch.device | str) -> dict:
    """The batch with its tensors moved to ``device`` (other values as they are)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def autocast(device: torch.device | str, bf16: bool):
    """bfloat16 autocast on ``device``'s type when ``bf16`` is asked for, else nothing.

    It pays on a GPU with bf16 units (A100, H100) and on a CPU only where the CPU has them
    (``avx512_bf16`` or ``amx``); it can flip near-tie predictions either way, so it is
    opt-in per stage.
    """
    if not bf16:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
