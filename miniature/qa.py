"""Extractive question answering: features with doc_stride windows, batched inference, and
n-best span post-processing with a no-answer threshold.

The approach is the one of Hugging Face's ``run_qa.py``/``utils_qa.py`` (offsets mapping,
overlapping windows, n-best span search, a null score compared with the best answer),
written here from scratch, with the answer rules of the ``transformers`` question-answering
pipeline, so that both give the same answers from the same logits:

* start and end logits are turned into probabilities over each window's [CLS] and context
  tokens, and a span's score is p(start) * p(end);
* the ``n_best`` best spans of each window (end >= start, at most ``max_answer_length``
  tokens) are widened to whole words;
* spans with the same text (ignoring case), from one window or several, add up;
* the answer is "" when the no-answer score (the lowest p([CLS]) * p([CLS]) over the
  windows) beats the best text's score by more than ``null_score_threshold`` (in log space).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from miniature.batching import length_sorted_batches, model_arguments, pad_batch
from miniature.devices import autocast, model_device, to_device
from miniature.progress import Progress

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


def _model_inputs(enc, i: int) -> dict:
    """Token ids of window ``i``, with segment ids where the model family uses them."""
    return {key: enc[key][i] for key in ("input_ids", "token_type_ids") if key in enc}


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
        features.append({**_model_inputs(enc, i), "start_positions": start_pos, "end_positions": end_pos})
    return features


@dataclass
class EvalFeatures:
    """Windows of the test questions: model inputs plus what post-processing needs."""

    inputs: list[dict]                # per window: input_ids (and token_type_ids where used)
    example_index: list[int]          # which question each window belongs to
    # Per window, a (tokens, 2) array: the character span of each token's whole word, -1
    # outside the context.
    context_offsets: list[np.ndarray]


def _word_spans(offsets: list, word_ids: list, sequence_ids: list) -> np.ndarray:
    """Per token, the (first, end) characters of the word it is part of; (-1, -1) outside the context."""
    word = np.array([w if s == 1 and w is not None else -1 for w, s in zip(word_ids, sequence_ids)])
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    # A word's tokens are adjacent, so a word runs from where its id starts to where it changes
    # (vectorised: a Python loop would visit every test token).
    position = np.arange(len(word))
    changes = word[1:] != word[:-1]
    first = np.maximum.accumulate(np.where(np.r_[True, changes], position, 0))
    last = np.minimum.accumulate(np.where(np.r_[changes, True], position, len(word))[::-1])[::-1]
    spans = np.stack([offsets[first, 0], offsets[last, 1]], axis=1)
    spans[word < 0] = -1
    return spans


def eval_features(tokenizer, dataset, max_length: int, doc_stride: int) -> EvalFeatures:
    enc = _tokenize(tokenizer, dataset["question"], dataset["context"], max_length, doc_stride)
    offsets = [_word_spans(window, enc.word_ids(i), enc.sequence_ids(i))
               for i, window in enumerate(enc["offset_mapping"])]
    return EvalFeatures([_model_inputs(enc, i) for i in range(len(offsets))],
                        [int(s) for s in enc["overflow_to_sample_mapping"]], offsets)


@torch.inference_mode()
def window_logits(model, features: EvalFeatures, pad_id: int, batch_size: int = 64,
                  batch_tokens: int | None = None, bf16: bool = False,
                  checkpoint=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Start and end logits of every window (unpadded), batched by length.

    With ``checkpoint`` (a :class:`miniature.checkpoints.BatchCheckpoint`), the logits of
    finished batches are saved to it and the batches it holds already are not run again (the
    batches depend only on the windows' lengths, so a rerun makes the same ones)."""
    model.eval()
    n = len(features.inputs)
    starts: list = [None] * n
    ends: list = [None] * n
    lengths = [len(window["input_ids"]) for window in features.inputs]
    device = model_device(model)
    batches = length_sorted_batches(lengths, batch_size, batch_tokens)
    first = 0
    if checkpoint is not None:
        first, chunks = checkpoint.resume(features.inputs)
        for chunk in chunks:  # per chunk: its windows, and their logits one after another
            split = np.cumsum([lengths[i] for i in chunk["rows"]])[:-1]
            for i, start, end in zip(chunk["rows"].tolist(), np.split(chunk["start"], split),
                                     np.split(chunk["end"], split)):
                starts[i], ends[i] = start, end
    progress = Progress("predicted windows", n, done=sum(len(idx) for idx in batches[:first]), logger=log)
    for b in range(first, len(batches)):
        idx = batches[b]
        batch = pad_batch([features.inputs[i] for i in idx], pad_id)
        with autocast(device, bf16):
            out = model(**to_device(model_arguments(model, batch), device))
        start_logits = out.start_logits.float().cpu().numpy()
        end_logits = out.end_logits.float().cpu().numpy()
        for row, i in enumerate(idx):
            starts[i] = start_logits[row, : lengths[i]]
            ends[i] = end_logits[row, : lengths[i]]
        if checkpoint is not None:
            checkpoint.add(b + 1, len(idx), rows=idx, start=np.concatenate([starts[i] for i in idx]),
                           end=np.concatenate([ends[i] for i in idx]))
        progress.advance(len(idx))
    if checkpoint is not None:
        checkpoint.flush()
    return starts, ends


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def window_candidates(start_logits: np.ndarray, end_logits: np.ndarray, offsets: np.ndarray, n_best: int,
                      max_answer_length: int) -> tuple[float, list[tuple[float, int, int]]]:
    """One window: its no-answer score and its ``n_best`` spans as (score, first char, last char)."""
    context = offsets[:, 0] >= 0
    allowed = context.copy()
    allowed[0] = True  # [CLS] stands for "no answer"
    p_start = np.where(allowed, _softmax(np.where(allowed, start_logits, -np.inf)), 0.0)
    p_end = np.where(allowed, _softmax(np.where(allowed, end_logits, -np.inf)), 0.0)
    null = float(p_start[0] * p_end[0])
    p_start[~context] = 0.0
    p_end[~context] = 0.0
    # Upper triangle within max_answer_length: end >= start and end - start < max_answer_length.
    scores = np.triu(np.tril(np.outer(p_start, p_end), max_answer_length - 1))
    flat = scores.ravel()
    k = min(n_best, flat.size)
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top], kind="stable")]
    spans = []
    for index in top:
        if flat[index] <= 0:
            break
        s, e = divmod(int(index), scores.shape[1])
        spans.append((float(flat[index]), int(offsets[s, 0]), int(offsets[e, 1])))
    return null, spans


def best_answers(contexts: list[str], features: EvalFeatures, starts: list[np.ndarray], ends: list[np.ndarray],
                 n_best: int = 20, max_answer_length: int = 15,
                 null_score_threshold: float = 0.0) -> list[tuple[str, float]]:
    """Per question: (answer text, or "" for no answer; log no-answer score minus log best score)."""
    texts: list[dict[str, list]] = [{} for _ in contexts]  # lower-cased text -> [score, text]
    null = [np.inf] * len(contexts)
    for w, q in enumerate(features.example_index):
        window_null, spans = window_candidates(starts[w], ends[w], features.context_offsets[w], n_best,
                                               max_answer_length)
        null[q] = min(null[q], window_null)
        for score, first, last in spans:
            text = contexts[q][first:last]
            entry = texts[q].setdefault(text.lower(), [0.0, text])
            entry[0] += score
    answers = []
    for q, candidates in enumerate(texts):
        score, text = max(candidates.values(), key=lambda c: c[0], default=(0.0, ""))
        margin = float(np.log(null[q]) - np.log(score)) if score > 0 else np.inf
        answers.append(("" if margin > null_score_threshold else text, margin))
    return answers


def predict(model, tokenizer, dataset, max_length: int, doc_stride: int, batch_size: int = 64,
            batch_tokens: int | None = None, bf16: bool = False, n_best: int = 20, max_answer_length: int = 15,
            null_score_threshold: float = 0.0, checkpoint=None) -> tuple[dict, dict]:
    """Answers for every question of ``dataset``: ({id: text}, {id: null margin}); with
    ``checkpoint``, the window logits resume from it (see :func:`window_logits`)."""
    features = eval_features(tokenizer, dataset, max_length, doc_stride)
    starts, ends = window_logits(model, features, tokenizer.pad_token_id, batch_size, batch_tokens, bf16,
                                 checkpoint)
    answers = best_answers(list(dataset["context"]), features, starts, ends, n_best, max_answer_length,
                           null_score_threshold)
    ids = list(dataset["id"])
    return ({qid: a for qid, (a, _) in zip(ids, answers)}, {qid: m for qid, (_, m) in zip(ids, answers)})
