"""Extractive question answering: features with doc_stride windows, batched inference, and
n-best span post-processing with a no-answer threshold.

The approach is the one of Hugging Face's ``run_qa.py``/``utils_qa.py`` (offsets mapping,
overlapping windows, n-best start/end search, a null score compared with the best span),
written here from scratch. One deliberate difference: span and null scores are
log-probabilities normalised over each window's [CLS] and context tokens (as the
``transformers`` question-answering pipeline does), so that scores from different windows
of a long context are comparable.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)


def _tokenize(tokenizer, questions, contexts, max_length: int, doc_stride: int):
    # Questions with leading spaces waste window room; the context is the part that is cut.
    return tokenizer([q.lstrip() for q in questions], list(contexts), truncation="only_second",
                     max_length=max_length, stride=doc_stride, return_overflowing_tokens=True,
                     return_offsets_mapping=True, padding=False)


def _context_span(sequence_ids: list) -> tuple[int, int]:
    start = sequence_ids.index(1)
    end = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
    return start, end


def train_features(tokenizer, dataset, max_length: int, doc_stride: int) -> list[dict]:
    """One example per window; start/end token positions of the answer, or [CLS] (0) when
    the question is unanswerable or the answer is not wholly inside the window."""
    enc = _tokenize(tokenizer, dataset["question"], dataset["context"], max_length, doc_stride)
    all_answers = list(dataset["answers"])
    features = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        answers = all_answers[enc["overflow_to_sample_mapping"][i]]
        start_pos = end_pos = 0
        if answers["answer_start"]:
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            first, last = _context_span(enc.sequence_ids(i))
            if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
                start_pos = next(t for t in range(first, last + 1) if offsets[t][1] > start_char)
                end_pos = next(t for t in range(last, first - 1, -1) if offsets[t][0] < end_char)
        features.append({"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                         "start_positions": start_pos, "end_positions": end_pos})
    return features


@dataclass
class EvalFeatures:
    """Windows of the test questions: model inputs plus what post-processing needs."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    example_index: list[int]          # which question each window belongs to
    context_offsets: list[list]       # character span per token; None outside the context


def eval_features(tokenizer, dataset, max_length: int, doc_stride: int) -> EvalFeatures:
    enc = _tokenize(tokenizer, dataset["question"], dataset["context"], max_length, doc_stride)
    offsets = []
    for i, window in enumerate(enc["offset_mapping"]):
        sequence_ids = enc.sequence_ids(i)
        offsets.append([o if sequence_ids[t] == 1 else None for t, o in enumerate(window)])
    return EvalFeatures(enc["input_ids"], enc["token_type_ids"],
                        [int(s) for s in enc["overflow_to_sample_mapping"]], offsets)


def pad_batch(rows: list[dict], pad_id: int) -> dict:
    """Pad token lists to the longest row (dynamic padding) and stack everything as tensors."""
    width = max(len(r["input_ids"]) for r in rows)
    batch = {"input_ids": torch.full((len(rows), width), pad_id, dtype=torch.long),
             "token_type_ids": torch.zeros((len(rows), width), dtype=torch.long),
             "attention_mask": torch.zeros((len(rows), width), dtype=torch.long)}
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        batch["input_ids"][i, :n] = torch.tensor(r["input_ids"])
        batch["token_type_ids"][i, :n] = torch.tensor(r["token_type_ids"])
        batch["attention_mask"][i, :n] = 1
    for key in rows[0]:
        if key not in batch:
            batch[key] = torch.tensor([r[key] for r in rows])
    return batch


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Batches of indices of similar length (longest first), so padding wastes little."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def window_logits(model, features: EvalFeatures, pad_id: int, batch_size: int = 64,
                  bf16: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Start and end logits of every window (unpadded), batched by length."""
    model.eval()
    n = len(features.input_ids)
    starts: list = [None] * n
    ends: list = [None] * n
    lengths = [len(ids) for ids in features.input_ids]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    batches = length_sorted_batches(lengths, batch_size)
    began, report_every = time.perf_counter(), max(1, len(batches) // 10)
    for b, idx in enumerate(batches):
        batch = pad_batch([{"input_ids": features.input_ids[i], "token_type_ids": features.token_type_ids[i]}
                           for i in idx], pad_id)
        with autocast:
            out = model(**batch)
        start_logits = out.start_logits.float().numpy()
        end_logits = out.end_logits.float().numpy()
        for row, i in enumerate(idx):
            starts[i] = start_logits[row, : lengths[i]]
            ends[i] = end_logits[row, : lengths[i]]
        if (b + 1) % report_every == 0:
            log.info("predicted %d/%d windows (%.0f windows/s)", min((b + 1) * batch_size, n), n,
                     min((b + 1) * batch_size, n) / (time.perf_counter() - began))
    return starts, ends


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def best_answers(contexts: list[str], features: EvalFeatures, starts: list[np.ndarray], ends: list[np.ndarray],
                 n_best: int = 20, max_answer_length: int = 15, null_score_threshold: float = 0.0) -> list[tuple[str, float]]:
    """Per question: (answer text or "" for no answer, null score minus best span score).

    For each window, start and end logits are normalised over [CLS] and the context tokens;
    the n_best starts and ends form candidate spans (end >= start, at most
    ``max_answer_length`` tokens, inside the context). The best span over all windows is
    the answer unless the no-answer score (the lowest [CLS] score over windows, as in
    utils_qa) exceeds it by more than ``null_score_threshold``.
    """
    best: list[tuple[float, str]] = [(-np.inf, "")] * len(contexts)
    null: list[float] = [np.inf] * len(contexts)
    for w, q in enumerate(features.example_index):
        offsets = features.context_offsets[w]
        context = np.array([o is not None for o in offsets])
        allowed = context.copy()
        allowed[0] = True  # [CLS] stands for "no answer"
        start = np.where(allowed, starts[w], -np.inf)
        end = np.where(allowed, ends[w], -np.inf)
        start[allowed] = _log_softmax(start[allowed])
        end[allowed] = _log_softmax(end[allowed])
        null[q] = min(null[q], start[0] + end[0])
        top_starts = [t for t in np.argsort(-start, kind="stable")[:n_best] if context[t]]
        top_ends = [t for t in np.argsort(-end, kind="stable")[:n_best] if context[t]]
        if not top_starts or not top_ends:
            continue
        s_idx, e_idx = np.array(top_starts), np.array(top_ends)
        scores = start[s_idx][:, None] + end[e_idx][None, :]
        length = e_idx[None, :] - s_idx[:, None] + 1
        scores[(length < 1) | (length > max_answer_length)] = -np.inf
        k = int(np.argmax(scores))  # first maximum in (start rank, end rank) order
        s_best, e_best = s_idx[k // len(e_idx)], e_idx[k % len(e_idx)]
        if scores.flat[k] > best[q][0]:
            best[q] = (float(scores.flat[k]), contexts[q][offsets[s_best][0]: offsets[e_best][1]])
    answers = []
    for q, (score, text) in enumerate(best):
        margin = null[q] - score
        answers.append(("" if margin > null_score_threshold else text, float(margin)))
    return answers


def predict(model, tokenizer, dataset, max_length: int, doc_stride: int, batch_size: int = 64, bf16: bool = False,
            n_best: int = 20, max_answer_length: int = 15, null_score_threshold: float = 0.0) -> tuple[dict, dict]:
    """Answers for every question of ``dataset``: ({id: text}, {id: null margin})."""
    features = eval_features(tokenizer, dataset, max_length, doc_stride)
    starts, ends = window_logits(model, features, tokenizer.pad_token_id, batch_size, bf16)
    answers = best_answers(list(dataset["context"]), features, starts, ends, n_best, max_answer_length,
                           null_score_threshold)
    ids = list(dataset["id"])
    return ({qid: a for qid, (a, _) in zip(ids, answers)}, {qid: m for qid, (_, m) in zip(ids, answers)})
