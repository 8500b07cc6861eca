"""Dynamic int8 models: quantising a model, and writing and reading its int8 weights.

``torch.ao.quantization.quantize_dynamic`` turns every ``nn.Linear`` into an int8-weight linear
layer whose activations are quantised on the fly. Such a model is stored with its quantised
weights, as safetensors: ``model.safetensors`` holds, for each quantised linear layer, the int8
weight matrix, its scale and zero point and the float bias, and the other modules' float
tensors. Reading (:func:`load_int8`) builds the float architecture from ``config.json``,
quantises it with the same ``quantize_dynamic`` call and puts the stored int8 weights in;
nothing is unpickled and no repository code runs. So the size on disk is the int8 size, and
the loaded model is the one that was saved, bit for bit.

:mod:`miniature.model_io` saves and loads int8 folders through these functions.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from pathlib import Path

import safetensors.torch
import torch
from torch import nn
from transformers import AutoConfig

from miniature.errors import ModelError
from miniature.model_dirs import SAFE_WEIGHTS

INT8_LINEAR = torch.ao.nn.quantized.dynamic.Linear


@contextlib.contextmanager
def _eager_quantization():
    # torch 2.13 marks its eager-mode quantisation API (quantize_dynamic, quantised tensors) as
    # deprecated in favour of torchao; it still works, and it is the CPU int8 path.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        yield


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with int8 weights and dynamically quantised activations in every
    ``nn.Linear`` (per-tensor scale), for CPU inference."""
    with _eager_quantization():
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)


def int8_linears(model: nn.Module) -> int:
    """How many int8 linear layers the model has (0 for a float model)."""
    return sum(isinstance(m, INT8_LINEAR) for m in model.modules())


def _int8_layer_names(model: nn.Module) -> set[str]:
    return {name for name, m in model.named_modules() if isinstance(m, INT8_LINEAR)}


def _outside(names: set[str], key: str) -> bool:
    return not any(key.startswith(f"{name}.") for name in names)


def int8_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors that describe an int8 model: int8 weights with their scale and zero point
    and float bias for the quantised layers, and every other float tensor as it is."""
    quantized = _int8_layer_names(model)
    tensors = {}
    for name in sorted(quantized):
        weight, bias = model.get_submodule(name).weight(), model.get_submodule(name).bias()
        tensors[f"{name}.weight.int8"] = weight.int_repr().contiguous()
        tensors[f"{name}.weight.scale"] = torch.tensor(weight.q_scale(), dtype=torch.float64)
        tensors[f"{name}.weight.zero_point"] = torch.tensor(weight.q_zero_point(), dtype=torch.int64)
        if bias is not None:
            tensors[f"{name}.bias"] = bias.detach().clone()
    for key, value in model.state_dict().items():
        if isinstance(value, torch.Tensor) and _outside(quantized, key):
            tensors[key] = value.detach().clone().contiguous()  # clones: tied tensors are saved apart
    return tensors


def write_int8(model: nn.Module, folder: str | Path) -> None:
    """Write an int8 model's weights (:func:`int8_tensors`) and config into ``folder``."""
    safetensors.torch.save_file(int8_tensors(model), str(Path(folder) / SAFE_WEIGHTS),
                                metadata={"format": "pt", "miniature": "dynamic_int8"})
    model.config.save_pretrained(folder)


def load_int8(model_class, path: str | Path) -> nn.Module:
    """Rebuild an int8 model written by :func:`write_int8` (see the module notes): the float
    tensors go into the float architecture, which is quantised, then the int8 weights go in."""
    path = Path(path)
    config = AutoConfig.from_pretrained(str(path), trust_remote_code=False)
    model = model_class.from_config(config)
    tensors = safetensors.torch.load_file(str(path / SAFE_WEIGHTS))
    linears = {name for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    floats = {k: v for k, v in tensors.items() if _outside(linears, k)}
    missing, unexpected = model.load_state_dict(floats, strict=False)
    missing = [k for k in missing if _outside(linears, k)]
    if missing or unexpected:
        raise ModelError(f"{path}: the stored tensors do not fit the model (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    model = quantize_int8(model)
    for name in _int8_layer_names(model):
        try:
            values = tensors[f"{name}.weight.int8"]
            scale = float(tensors[f"{name}.weight.scale"])
            zero_point = int(tensors[f"{name}.weight.zero_point"])
        except KeyError:
            raise ModelError(f"{path}: no int8 weights for layer {name}") from None
        # Dequantise and quantise again with the same scale and zero point: the same integers.
        with _eager_quantization():
            weight = torch.quantize_per_tensor(((values.double() - zero_point) * scale).float(), scale, zero_point,
                                               torch.qint8)
        model.get_submodule(name).set_weight_bias(weight, tensors.get(f"{name}.bias"))
    return model.eval()
