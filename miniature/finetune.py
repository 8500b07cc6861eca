"""Fine-tuning stages: a pre-trained checkpoint in, a fine-tuned ``save_pretrained`` folder out."""

from __future__ import annotations

import logging
import time

import torch
from transformers import AutoModelForQuestionAnswering

from miniature import compress, data, qa
from miniature.models import compression_recipe, load_model, load_tokenizer, save_model
from miniature.training import TRAIN_KEYS, discard_checkpoint, fingerprint_of, total_steps, train

log = logging.getLogger(__name__)


def finetune_qa(model_dir, train_path, out_dir, settings: dict, seed: int, checkpoint_dir=None) -> dict:
    """Fine-tune for extractive QA on a SQuAD 2.0 file; save the model and ``training.json``.

    A magnitude-pruned model keeps its pruned weights at zero while it is fine-tuned.
    """
    began = time.perf_counter()
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(seed)  # the new QA head's initial weights
    model = load_model(AutoModelForQuestionAnswering, model_dir)
    dataset = data.load_qa(train_path)
    features = qa.train_features(tokenizer, dataset, settings["max_length"], settings["doc_stride"])
    steps = total_steps(len(features), settings["batch_size"], settings.get("steps"), settings.get("epochs"))
    log.info("fine-tuning on %d questions (%d windows) for %d steps", len(dataset), len(features), steps)
    pruned = (compression_recipe(model_dir) or {}).get("method") == "magnitude_prune"
    if pruned:
        compress.hold_pruned_weights(model)
    losses = train(model, features, lambda rows: qa.pad_batch(rows, tokenizer.pad_token_id),
                   lambda m, batch: m(**qa.model_arguments(m, batch)).loss, steps=steps, seed=seed,
                   checkpoint_dir=checkpoint_dir, fingerprint=fingerprint_of([settings, seed], model_dir, train_path),
                   **{k: settings[k] for k in TRAIN_KEYS})
    if pruned:
        compress.release_pruned_weights(model)
        log.info("encoder sparsity after fine-tuning: %.4f", compress.encoder_sparsity(model))
    summary = {"questions": len(dataset), "windows": len(features), "steps": steps, "settings": settings,
               "seed": seed, "threads": torch.get_num_threads(), "loss_curve": losses,
               "seconds": round(time.perf_counter() - began, 1)}
    save_model(model, tokenizer, out_dir, json_files={"training.json": summary})
    discard_checkpoint(checkpoint_dir)
    return summary
