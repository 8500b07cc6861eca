"""Span post-processing on constructed logits, and training windows on a real tokenizer."""

import numpy as np
import pytest

from miniature import qa
from miniature.tokenizer import train_tokenizer

CONTEXT = "Anna Berg was born in Oslo in 1901."
#          0    5    10   15   20   25   30


def _features(offsets_per_window, example_index=None):
    """Windows whose tokens have the given word spans (None outside the context)."""
    n = len(offsets_per_window)
    spans = [np.array([o if o is not None else (-1, -1) for o in window]) for window in offsets_per_window]
    return qa.EvalFeatures(inputs=[{"input_ids": [0] * len(o)} for o in offsets_per_window],
                           example_index=example_index or [0] * n, context_offsets=spans)


# Window: [CLS] q [SEP] Anna Berg was born in Oslo in 1901 . [SEP]
OFFSETS = [None, None, None, (0, 4), (5, 9), (10, 13), (14, 18), (19, 21), (22, 26), (27, 29), (30, 34), (34, 35), None]


def _logits(best_start, best_end, null=-5.0):
    start = np.full(len(OFFSETS), -5.0)
    end = np.full(len(OFFSETS), -5.0)
    start[0] = end[0] = null
    start[best_start] = 5.0
    end[best_end] = 5.0
    return start, end


def test_best_span_is_chosen():
    start, end = _logits(8, 8)
    [(answer, margin)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end])
    assert answer == "Oslo" and margin < 0


def test_multi_token_span_text_comes_from_offsets():
    start, end = _logits(3, 4)
    [(answer, _)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end])
    assert answer == "Anna Berg"


def test_no_answer_when_null_score_wins():
    start, end = _logits(8, 8, null=9.0)
    [(answer, margin)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end])
    assert answer == "" and margin > 0


def test_null_threshold_shifts_the_decision():
    start, end = _logits(8, 8, null=5.5)  # null beats the span by a small margin
    [(answer, margin)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end])
    assert answer == "" and 0 < margin < 2
    [(answer, _)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end], null_score_threshold=2.0)
    assert answer == "Oslo"


def test_invalid_spans_are_skipped():
    # The best end lies before the best start, and a question token has the highest start.
    start, end = _logits(10, 4)
    start[1] = 50.0
    end[10] = 4.0
    [(answer, _)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end])
    assert answer == "1901"


def test_max_answer_length_limits_spans():
    start, end = _logits(3, 10)
    [(answer, _)] = qa.best_answers([CONTEXT], _features([OFFSETS]), [start], [end], max_answer_length=3)
    assert len(answer.split()) <= 3


def test_best_window_wins_across_windows():
    # Two windows of one question: the second is confident about "1901".
    first = _logits(8, 8)
    second = _logits(10, 10)
    second[0][10] = second[1][10] = 12.0
    features = _features([OFFSETS, OFFSETS], example_index=[0, 0])
    [(answer, _)] = qa.best_answers([CONTEXT], features, [first[0], second[0]], [first[1], second[1]])
    assert answer == "1901"


@pytest.fixture(scope="module")
def tokenizer():
    words = "anna berg was born in oslo the year of a long story about many people who lived there".split()
    docs = [" ".join(words[i:] + words[:i]) for i in range(len(words))] * 5
    return train_tokenizer(docs, vocab_size=200, max_length=32)


def test_train_features_mark_answer_tokens_or_cls(tokenizer):
    context = " ".join(["a long story about many people who lived there"] * 4) + " anna berg was born in oslo"
    answer_start = context.index("oslo")
    dataset = {"question": ["where was anna born?", "who was born?"], "context": [context, context],
               "answers": [{"text": ["oslo"], "answer_start": [answer_start]}, {"text": [], "answer_start": []}]}
    features = qa.train_features(tokenizer, dataset, max_length=32, doc_stride=8)
    assert len(features) > 2  # the long context was cut into overlapping windows
    found = [f for f in features if f["start_positions"] != 0]
    assert found, "some window must contain the answer"
    for f in found:
        assert tokenizer.decode(f["input_ids"][f["start_positions"]: f["end_positions"] + 1]) == "oslo"
    n_first = len(qa.train_features(tokenizer, {k: v[:1] for k, v in dataset.items()}, 32, 8))
    assert all(f["start_positions"] == 0 == f["end_positions"] for f in features[n_first:])  # unanswerable


def test_identical_answer_texts_add_up():
    # "Oslo" appears twice in the context; each occurrence is less likely than "1901" alone,
    # but together they win (the answer is a text, not a position).
    context = "Oslo is in Norway. Anna was born in Oslo in 1901."
    offsets = [None, (0, 4), (5, 7), (8, 10), (11, 17), (17, 18), (19, 23), (24, 27), (28, 32), (33, 35),
               (36, 40), (41, 43), (44, 48), (48, 49), None]
    start = np.full(len(offsets), -20.0)
    end = np.full(len(offsets), -20.0)
    start[[1, 10]] = end[[1, 10]] = 2.0   # Oslo, twice
    start[12] = end[12] = 2.3             # 1901, once, a little more likely than each Oslo
    [(answer, _)] = qa.best_answers([context], _features([offsets]), [start], [end], max_answer_length=1)
    assert answer == "Oslo"
    start[12] = end[12] = 2.4             # now more likely than both together
    [(answer, _)] = qa.best_answers([context], _features([offsets]), [start], [end], max_answer_length=1)
    assert answer == "1901"


def test_spans_widen_to_whole_words():
    # Tokens: [CLS] q [SEP] ber ##g was [SEP]; word 0 = "berg" spans two tokens.
    offsets = [(0, 0), (0, 1), (0, 0), (0, 3), (3, 4), (5, 8), (0, 0)]
    word_ids = [None, 0, None, 0, 0, 1, None]
    sequence_ids = [None, 0, None, 1, 1, 1, None]
    spans = qa._word_spans(offsets, word_ids, sequence_ids)
    assert spans.tolist() == [[-1, -1], [-1, -1], [-1, -1], [0, 4], [0, 4], [5, 8], [-1, -1]]


def test_adjacent_multi_token_words_each_get_their_own_span():
    # Tokens 3-4 are "ber ##g" (word 0), tokens 5-6 the two pieces of word 1, with no single-
    # token word between them; the question's word 0 (token 1) is not the context's.
    offsets = [(0, 0), (0, 1), (0, 0), (10, 13), (13, 14), (16, 17), (17, 19), (0, 0)]
    word_ids = [None, 0, None, 0, 0, 1, 1, None]
    sequence_ids = [None, 0, None, 1, 1, 1, 1, None]
    spans = qa._word_spans(offsets, word_ids, sequence_ids)
    assert spans[3:7].tolist() == [[10, 14], [10, 14], [16, 19], [16, 19]]
