"""SQuAD 2.0 answer normalisation, per-question scores, the official summary metrics, errors.

The arithmetic follows the official ``evaluate-v2.0.py`` (same normalisation, same gold
handling, same order of summation), so the summary numbers equal its output exactly; a
test checks that on the real dev set.
"""

from __future__ import annotations

import collections
import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_score(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def f1_score(gold: str, prediction: str) -> float | int:
    gold_tokens, pred_tokens = _tokens(gold), _tokens(prediction)
    if not gold_tokens or not pred_tokens:
        # An empty answer is right only against an empty gold (an unanswerable question).
        return int(gold_tokens == pred_tokens)
    common = collections.Counter(gold_tokens) & collections.Counter(pred_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def golds_to_score(answer_texts: list[str]) -> list[str]:
    """Gold answers that survive normalisation; an unanswerable question's gold is ``[""]``."""
    golds = [a for a in answer_texts if normalize_answer(a)]
    return golds or [""]


def score_questions(golds: dict[str, list[str]], predictions: dict[str, str]) -> tuple[dict, dict]:
    """Per-question exact and F1 (max over gold answers), for the questions that have a prediction."""
    exact, f1 = {}, {}
    for qid, answers in golds.items():
        if qid not in predictions:
            continue
        candidates = golds_to_score(answers)
        exact[qid] = max(exact_score(g, predictions[qid]) for g in candidates)
        f1[qid] = max(f1_score(g, predictions[qid]) for g in candidates)
    return exact, f1


def summary_metrics(golds: dict[str, list[str]], predictions: dict[str, str]) -> dict:
    """exact, f1, total and the HasAns_/NoAns_ breakdown, as percentages like the official script.

    ``golds`` maps question id to its answer texts (empty for unanswerable) in data-file
    order. Every question needs a prediction: the official script fails on missing ones.
    """
    missing = [qid for qid in golds if qid not in predictions]
    if missing:
        raise ValueError(f"{len(missing)} questions have no prediction, e.g. {missing[:3]}")
    exact, f1 = score_questions(golds, predictions)
    # HasAns is decided on the raw answer list, as the official script does.
    has_answer = [qid for qid, answers in golds.items() if answers]
    no_answer = [qid for qid, answers in golds.items() if not answers]
    total = len(golds)
    metrics = collections.OrderedDict(
        exact=100.0 * sum(exact.values()) / total,
        f1=100.0 * sum(f1.values()) / total,
        total=total,
    )
    for name, ids in (("HasAns", has_answer), ("NoAns", no_answer)):
        if ids:
            metrics[f"{name}_exact"] = 100.0 * sum(exact[q] for q in ids) / len(ids)
            metrics[f"{name}_f1"] = 100.0 * sum(f1[q] for q in ids) / len(ids)
            metrics[f"{name}_total"] = len(ids)
    return dict(metrics)


def error_ids(golds: dict[str, list[str]], predictions: dict[str, str]) -> list[str]:
    """Sorted ids of the questions whose normalised prediction matches no gold answer.

    A missing prediction is an error: it would score 0 in the official metric too.
    """
    exact, _ = score_questions(golds, predictions)
    return sorted(qid for qid in golds if not exact.get(qid, 0))
