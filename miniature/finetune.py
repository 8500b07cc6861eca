"""Fine-tuning stages: a pre-trained checkpoint in, a fine-tuned ``save_pretrained`` folder out."""

from __future__ import annotations

import logging
import time

import torch
from transformers import AutoModelForQuestionAnswering

from miniature import data, qa
from miniature.models import load_model, load_tokenizer, save_model
from miniature.training import discard_checkpoint, fingerprint_of, total_steps, train

log = logging.getLogger(__name__)

TRAIN_KEYS = ("batch_size", "learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm", "checkpoint_every")


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
    steps = total_steps(len(features), settings["batch_size"], settings.get("steps"), settings.get("epochs"))
    log.info("fine-tuning on %d questions (%d windows) for %d steps on %s", len(dataset), len(features), steps,
             device)
    losses = train(model, features, lambda rows: qa.pad_batch(rows, tokenizer.pad_token_id),
                   lambda m, batch: m(**qa.model_arguments(m, batch)).loss, steps=steps, seed=seed,
                   checkpoint_dir=checkpoint_dir, fingerprint=fingerprint_of([settings, seed], model_dir, train_path),
                   **{k: settings[k] for k in TRAIN_KEYS})
    summary = {"questions": len(dataset), "windows": len(features), "steps": steps, "settings": settings,
               "seed": seed, "threads": torch.get_num_threads(), "loss_curve": losses,
               "seconds": round(time.perf_counter() - began, 1)}
    save_model(model.to("cpu"), tokenizer, out_dir, json_files={"training.json": summary})
    discard_checkpoint(checkpoint_dir)
    return summary
