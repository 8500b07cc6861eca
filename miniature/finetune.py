"""Fine-tuning stages: a pre-trained checkpoint in, a fine-tuned ``save_pretrained`` folder out.

Every task trains the same way (:func:`_fine_tune`): the task's head on top of the
pre-trained model, the shared training loop with dynamic padding, ``training.json`` beside
the saved model.
"""

from __future__ import annotations

import logging
import time

import torch
from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification

from miniature import compress, data, qa, sentiment
from miniature.batching import model_arguments, pad_batch
from miniature.model_io import compression_recipe, load_model, load_tokenizer, save_model
from miniature.training import TRAIN_KEYS, discard_checkpoint, fingerprint_of, total_steps, train

log = logging.getLogger(__name__)


def _fine_tune(model, tokenizer, features: list[dict], settings: dict, seed: int, checkpoint_dir, model_dir,
               train_path, began: float, **facts) -> dict:
    """Train ``model`` (loaded from ``model_dir``) on ``features`` (rows of token ids and
    targets, from ``train_path``) with the task's settings; return the summary that goes into
    ``training.json`` (``facts`` describe the data). A checkpoint is resumed only if it was
    made from the same settings and files."""
    steps = total_steps(len(features), settings["batch_size"], settings.get("steps"), settings.get("epochs"))
    log.info("fine-tuning on %s for %d steps (device %s)", ", ".join(f"{v} {k}" for k, v in facts.items()), steps,
             next(model.parameters()).device)
    # A magnitude-pruned model keeps its pruned weights at zero while it is fine-tuned.
    pruned = (compression_recipe(model_dir) or {}).get("method") == "magnitude_prune"
    if pruned:
        compress.hold_pruned_weights(model)
    losses = train(model, features, lambda rows: pad_batch(rows, tokenizer.pad_token_id),
                   lambda m, batch: m(**model_arguments(m, batch)).loss, steps=steps, seed=seed,
                   checkpoint_dir=checkpoint_dir, fingerprint=fingerprint_of([settings, seed], model_dir, train_path),
                   **{k: settings[k] for k in TRAIN_KEYS})
    if pruned:
        compress.release_pruned_weights(model)
        log.info("encoder sparsity after fine-tuning: %.4f", compress.encoder_sparsity(model))
    return {**facts, "steps": steps, "settings": settings, "seed": seed, "threads": torch.get_num_threads(),
            "loss_curve": losses, "seconds": round(time.perf_counter() - began, 1)}


def finetune_qa(model_dir, train_path, out_dir, settings: dict, seed: int, checkpoint_dir=None,
                device: str = "cpu") -> dict:
    """Fine-tune for extractive QA on a SQuAD 2.0 file; save the model and ``training.json``.

    ``device`` is where training runs ("cpu" or "cuda"); the model is saved from the CPU either way.
    """
    began = time.perf_counter()
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(seed)  # the new QA head's initial weights
    model = load_model(AutoModelForQuestionAnswering, model_dir).to(device)
    dataset = data.load_qa(train_path)
    features = qa.train_features(tokenizer, dataset, settings["max_length"], settings["doc_stride"])
    summary = _fine_tune(model, tokenizer, features, settings, seed, checkpoint_dir, model_dir, train_path, began,
                         questions=len(dataset), windows=len(features))
    save_model(model.to("cpu"), tokenizer, out_dir, json_files={"training.json": summary})
    discard_checkpoint(checkpoint_dir)
    return summary


def finetune_sentiment(model_dir, train_path, test_path, out_dir, settings: dict, seed: int,
                       checkpoint_dir=None, eval_batch_size: int = 64, device: str = "cpu") -> dict:
    """Fine-tune a sequence classifier on a sentiment split; save it, ``training.json`` and
    ``metrics.json`` (accuracy on the test split). Trains and evaluates on ``device``."""
    began = time.perf_counter()
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(seed)  # the new classification head's initial weights
    model = load_model(AutoModelForSequenceClassification, model_dir, num_labels=2).to(device)
    train_set = data.load_sentiment(train_path)
    features = sentiment.features(tokenizer, train_set["text"], settings["max_length"], train_set["label"])
    summary = _fine_tune(model, tokenizer, features, settings, seed, checkpoint_dir, model_dir, train_path, began,
                         reviews=len(features))
    test_set = data.load_sentiment(test_path)
    predictions = sentiment.predict(model, tokenizer, test_set["text"], settings["max_length"], eval_batch_size,
                                    bf16=settings["bf16"])
    metrics = {"accuracy": sentiment.accuracy(predictions, test_set["label"]), "examples": len(predictions)}
    log.info("test accuracy %.4f on %d reviews", metrics["accuracy"], metrics["examples"])
    save_model(model.to("cpu"), tokenizer, out_dir, json_files={"training.json": summary, "metrics.json": metrics})
    discard_checkpoint(checkpoint_dir)
    return {**summary, **metrics}
