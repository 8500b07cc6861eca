"""The predict stage: answers of a fine-tuned QA model on the test split, and their metrics."""

from __future__ import annotations

import logging
import time

import torch
from transformers import AutoModelForQuestionAnswering

from miniature import data, qa, squad
from miniature.checkpoints import RESUME_EVERY, model_outputs_checkpoint
from miniature.model_io import load_model, load_tokenizer
from miniature.training import discard_checkpoint

log = logging.getLogger(__name__)


def predict_qa(model_dir, test_path, predictions_path, null_margins_path, metrics_path, timing_path,
               max_length: int, doc_stride: int, settings: dict, device: str = "cpu", checkpoint_dir=None,
               resume_every: int = RESUME_EVERY) -> dict:
    """Write {id: answer} ("" = no answer), {id: null score minus best span score}, the
    official SQuAD 2.0 metrics of those answers, and how long answering took (on ``device``).

    With ``checkpoint_dir`` and a test split of at least ``resume_every`` windows, the logits
    of finished batches are saved there every ``resume_every`` windows and a rerun starts
    after them; the folder is removed once the outputs are written."""
    tokenizer = load_tokenizer(model_dir)
    model = load_model(AutoModelForQuestionAnswering, model_dir).to(device)
    dataset = data.load_qa(test_path)
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = model_outputs_checkpoint(checkpoint_dir, model_dir, device, resume_every,
                                              **{k: settings[k] for k in ("batch_size", "batch_tokens", "bf16")})
    began = time.perf_counter()
    answers, margins = qa.predict(model, tokenizer, dataset, max_length, doc_stride,
                                  batch_size=settings["batch_size"], batch_tokens=settings["batch_tokens"],
                                  bf16=settings["bf16"], n_best=settings["n_best"],
                                  max_answer_length=settings["max_answer_length"],
                                  null_score_threshold=settings["null_score_threshold"], checkpoint=checkpoint)
    seconds = time.perf_counter() - began
    metrics = squad.summary_metrics(data.gold_answers_by_id(dataset), answers)
    log.info("%d questions in %.1fs (%.1f questions/s); exact %.2f, f1 %.2f", len(answers), seconds,
             len(answers) / seconds, metrics["exact"], metrics["f1"])
    data.write_json(answers, predictions_path)
    data.write_json(margins, null_margins_path)
    data.write_json(metrics, metrics_path)
    data.write_json({"questions": len(answers), "seconds": round(seconds, 3),
                     "ms_per_question": round(1000 * seconds / max(1, len(answers)), 3),
                     "threads": torch.get_num_threads(), "batch_size": settings["batch_size"],
                     "batch_tokens": settings["batch_tokens"], "bf16": settings["bf16"]}, timing_path)
    discard_checkpoint(checkpoint_dir)
    return metrics
