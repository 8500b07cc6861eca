"""Compressing a model of the config into a new one: the ``compress`` model source.

Four methods, each done with the library made for it:

* ``dynamic_int8``: ``torch.ao.quantization.quantize_dynamic`` turns every ``nn.Linear`` into
  an int8-weight linear layer whose activations are quantised on the fly;
* ``magnitude_prune``: ``torch.nn.utils.prune.global_unstructured`` with the L1 criterion sets
  the smallest ``sparsity`` share of all encoder linear weights to zero;
* ``layer_drop``: transformers model surgery, keeping some encoder layers;
* ``distil``: knowledge distillation into a student with fewer layers, from the parent's
  masked-LM and next-sentence outputs (pre-trained stage, :func:`miniature.pretraining.distil`)
  or from its fine-tuned outputs for a task (fine-tuned stage, :func:`distil_finetuned`).

A compressed folder is an ordinary ``save_pretrained`` folder plus ``compression.json`` (the
recipe). Weights are stored only as safetensors; an int8 model keeps its quantised weights
(see :mod:`miniature.int8`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import prune
from transformers import AutoModelForPreTraining, AutoModelForQuestionAnswering, AutoModelForSequenceClassification

from miniature import data, qa, sentiment
from miniature.batching import model_arguments, pad_batch
from miniature.errors import ModelError
from miniature.int8 import int8_linears, quantize_int8
from miniature.model_io import COMPRESSION_FILE, load_model, load_tokenizer, parameter_count, save_model
from miniature.pretraining import distil, pretraining_examples, pretraining_settings, read_corpus, soft_kl
from miniature.training import TRAIN_KEYS, discard_checkpoint, fingerprint_of, train

log = logging.getLogger(__name__)

# The model class of a fine-tuned model of each task (the tasks that have one).
TASK_MODELS = {"qa": AutoModelForQuestionAnswering, "sentiment": AutoModelForSequenceClassification}


# --- layer surgery ---------------------------------------------------------------------------


def _layer_list(model: nn.Module) -> tuple[nn.Module, str]:
    """The module holding the encoder's layers and the attribute name of their ModuleList.

    Found as the first ModuleList of ``num_hidden_layers`` entries in the base model
    (``encoder.layer`` in BERT, ``transformer.layer`` in DistilBERT).
    """
    n_layers = model.config.num_hidden_layers
    for name, module in model.base_model.named_modules():
        if name and isinstance(module, nn.ModuleList) and len(module) == n_layers:
            owner, _, attribute = name.rpartition(".")
            return model.base_model.get_submodule(owner), attribute
    raise ModelError(f"{type(model).__name__}: no list of {n_layers} encoder layers found")


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    owner, attribute = _layer_list(model)
    return getattr(owner, attribute)


def drop_layers(model: nn.Module, keep: list[int]) -> nn.Module:
    """A copy of ``model`` with only the encoder layers ``keep`` (in that order)."""
    n_layers = model.config.num_hidden_layers
    if max(keep) >= n_layers:
        raise ModelError(f"keep {keep}: the model has only {n_layers} layers")
    model = copy.deepcopy(model)
    owner, attribute = _layer_list(model)
    layers = getattr(owner, attribute)
    setattr(owner, attribute, nn.ModuleList(layers[i] for i in keep))
    model.config.num_hidden_layers = len(keep)
    return model


def spaced_layers(n_layers: int, keep: int) -> list[int]:
    """``keep`` evenly spaced layers of ``n_layers``, starting with the first (DistilBERT took
    every other layer of BERT-base to start its student: 0, 2, ..., 10)."""
    if keep > n_layers:
        raise ModelError(f"a student of {keep} layers cannot start from a model of {n_layers}")
    return [i * n_layers // keep for i in range(keep)]


# --- magnitude pruning -----------------------------------------------------------------------


def encoder_linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in encoder_layers(model).modules() if isinstance(m, nn.Linear)]


def magnitude_prune(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` whose encoder linear weights with the smallest magnitudes, taken
    over all layers together, are zero (``sparsity`` of them); biases are kept."""
    model = copy.deepcopy(model)
    targets = [(m, "weight") for m in encoder_linears(model)]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    for module, name in targets:
        prune.remove(module, name)  # make it permanent: plain weights with zeros, no hooks
    return model


def encoder_sparsity(model: nn.Module) -> float:
    """Share of zero weights in the encoder's linear layers."""
    weights = [m.weight for m in encoder_linears(model)]
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def hold_pruned_weights(model: nn.Module) -> None:
    """Keep the zero encoder weights of a pruned model at zero while it is trained (the mask
    is the current zeros, applied with ``prune.custom_from_mask``)."""
    for module in encoder_linears(model):
        prune.custom_from_mask(module, "weight", module.weight != 0)


def release_pruned_weights(model: nn.Module) -> None:
    for module in encoder_linears(model):
        if prune.is_pruned(module):
            prune.remove(module, "weight")


# --- distillation ----------------------------------------------------------------------------


def student_model(teacher: nn.Module, recipe: dict) -> nn.Module:
    """The student a distillation starts from: the teacher's own evenly spaced layers when
    the recipe gives no width (as DistilBERT), else a new model of the recipe's shape."""
    if "hidden" not in recipe:
        return drop_layers(teacher, spaced_layers(teacher.config.num_hidden_layers, recipe["layers"]))
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = recipe["layers"]
    config.hidden_size = recipe["hidden"]
    config.num_attention_heads = recipe["heads"]
    config.intermediate_size = recipe["intermediate"]
    return type(teacher)(config)


def _masked_logits(logits: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    return logits.masked_fill(attention_mask == 0, -1e4)


# What a student distilled from a fine-tuned model matches, per task: the teacher's
# distributions over answer start and end tokens (padding masked) for QA, over labels for a
# classifier; the other keys of a batch are the true targets, which the student also learns.
DISTILLED_LOGITS = {"qa": ("start_logits", "end_logits"), "sentiment": ("logits",)}
TARGETS = {"qa": ("start_positions", "end_positions"), "sentiment": ("labels",)}


def distil_finetuned(student: nn.Module, teacher: nn.Module, task: str, features: list[dict], pad_id: int,
                     steps: int, seed: int, temperature: float = 2.0, **settings) -> list[float]:
    """Task distillation: the student matches the fine-tuned teacher's softened output
    distributions (KL divergence, scaled by T^2, see DISTILLED_LOGITS) and learns the true
    targets."""
    teacher.eval()

    def soft_targets(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return _masked_logits(logits, mask) if task == "qa" else logits

    def loss_fn(model, batch):
        out = model(**model_arguments(model, batch))
        inputs = {k: v for k, v in batch.items() if k not in TARGETS[task]}
        with torch.no_grad():
            target = teacher(**model_arguments(teacher, inputs))
        mask = batch["attention_mask"]
        fields = DISTILLED_LOGITS[task]
        soft = sum(soft_kl(soft_targets(getattr(out, f), mask), soft_targets(getattr(target, f), mask), temperature)
                   for f in fields) / len(fields)
        return soft + out.loss

    return train(student, features, lambda rows: pad_batch(rows, pad_id), loss_fn, steps=steps, seed=seed,
                 **settings)


def task_features(task: str, tokenizer, train_path, settings: dict) -> list[dict]:
    """Training rows of a task's train split, cut as the task's fine-tuning cuts them."""
    if task == "qa":
        return qa.train_features(tokenizer, data.load_qa(train_path), settings["max_length"], settings["doc_stride"])
    reviews = data.load_sentiment(train_path)
    return sentiment.features(tokenizer, reviews["text"], settings["max_length"], reviews["label"])


# --- stages: files in, files out (called by the workflow's scripts) --------------------------


def _without_training(parent: nn.Module, recipe: dict) -> nn.Module:
    """The methods that need no data: int8, pruning, layer dropping (and a student's start)."""
    method = recipe["method"]
    if method == "dynamic_int8":
        return quantize_int8(parent)
    if method == "magnitude_prune":
        return magnitude_prune(parent, recipe["sparsity"])
    if method == "layer_drop":
        return drop_layers(parent, recipe["keep"])
    return student_model(parent, recipe)


def _log_compression(parent: nn.Module, model: nn.Module, recipe: dict) -> None:
    log.info("%s: %d -> %d layers, %d -> %d parameters, encoder sparsity %.3f, %d int8 linear layers",
             recipe["method"], parent.config.num_hidden_layers, model.config.num_hidden_layers,
             parameter_count(parent), parameter_count(model),
             encoder_sparsity(model) if not int8_linears(model) else 0.0, int8_linears(model))


# Trains a distillation student (on the device its arguments are on): (student, parent, tokenizer) -> None.
Distillation = Callable[[nn.Module, nn.Module, object], None]


def _compress_folder(model_class, parent_dir, out_dir, recipe: dict, seed: int, distillation: Distillation | None,
                     checkpoint_dir, device: str) -> None:
    """What every compression does: load the parent folder as ``model_class``, compress it,
    train the student with ``distillation`` (on ``device``) when there is one, and save the
    result with its recipe; the checkpoint goes once the folder is in place."""
    parent = load_model(model_class, parent_dir)
    tokenizer = load_tokenizer(parent_dir)
    torch.manual_seed(seed)  # a new student's initial weights
    model = _without_training(parent, recipe)
    if distillation is not None:
        distillation(model.to(device), parent.to(device), tokenizer)
        model, parent = model.to("cpu"), parent.to("cpu")
    _log_compression(parent, model, recipe)
    save_model(model, tokenizer, out_dir, json_files={COMPRESSION_FILE: recipe})
    discard_checkpoint(checkpoint_dir)


def compress_pretrained(parent_dir, out_dir, recipe: dict, seed: int, corpus=None, settings: dict | None = None,
                        checkpoint_dir=None, device: str = "cpu") -> None:
    """Compress the parent's pre-trained checkpoint into ``out_dir``.

    For ``stage: pretrained`` this is the model that is then fine-tuned. For ``stage:
    finetuned`` it is the same compression of the pre-trained parent, the model's
    pre-trained view for stages that need one (a distillation student: its starting point).
    A distillation runs on ``device``; the other methods run no model.
    """
    def distil_on_corpus(student, parent, tokenizer) -> None:
        examples = pretraining_examples(tokenizer, read_corpus(corpus), settings["max_length"], seed)
        log.info("distilling %d layers from the parent's masked-LM and next-sentence outputs on %d sentence "
                 "pairs for %d steps", recipe["layers"], len(examples), recipe["steps"])
        distil(student, parent, tokenizer, examples, recipe["steps"], seed,
               temperature=recipe.get("temperature", 2.0), checkpoint_dir=checkpoint_dir,
               fingerprint=fingerprint_of([recipe, settings, seed], parent_dir, corpus),
               **pretraining_settings(settings))

    distils = recipe["method"] == "distil" and recipe["stage"] == "pretrained"
    _compress_folder(AutoModelForPreTraining, parent_dir, out_dir, recipe, seed,
                     distil_on_corpus if distils else None, checkpoint_dir, device)


def compress_finetuned(parent_dir, out_dir, recipe: dict, task: str, seed: int, train_path=None,
                       settings: dict | None = None, checkpoint_dir=None, device: str = "cpu") -> None:
    """Compress the parent's fine-tuned model of ``task`` after training (stage finetuned);
    a distillation runs on ``device``."""
    if task not in TASK_MODELS:
        raise ModelError(f"no fine-tuned model class known for task {task!r}")

    def distil_on_task(student, parent, tokenizer) -> None:
        features = task_features(task, tokenizer, train_path, settings)
        log.info("distilling %d layers from the fine-tuned parent's %s outputs on %d training rows for %d steps",
                 recipe["layers"], task, len(features), recipe["steps"])
        distil_finetuned(student, parent, task, features, tokenizer.pad_token_id, recipe["steps"], seed,
                         temperature=recipe.get("temperature", 2.0), checkpoint_dir=checkpoint_dir,
                         fingerprint=fingerprint_of([recipe, settings, seed], parent_dir, train_path),
                         **{k: settings[k] for k in TRAIN_KEYS})

    _compress_folder(TASK_MODELS[task], parent_dir, out_dir, recipe, seed,
                     distil_on_task if recipe["method"] == "distil" else None, checkpoint_dir, device)
