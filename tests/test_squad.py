import pytest

from miniature.squad import error_ids, exact_score, f1_score, normalize_answer, summary_metrics


@pytest.mark.parametrize("text, expected", [
    ("The Normans", "normans"),
    ("  a  cat, an apple!  ", "cat apple"),
    ("Theory of the  mind.", "theory of mind"),
    ("", ""),
    ("the", ""),
    ("anthem", "anthem"),  # 'an' only as a whole word
])
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1():
    assert exact_score("The Normans", "normans") == 1
    assert exact_score("Normans", "Norman") == 0
    assert f1_score("the big red dog", "red dog") == pytest.approx(2 * (1.0 * 2 / 3) / (1.0 + 2 / 3))
    assert f1_score("", "") == 1 and f1_score("", "x") == 0 and f1_score("x", "") == 0


def test_errors_unanswerable_needs_empty_prediction():
    golds = {"q1": ["Paris"], "q2": [], "q3": ["the 1920s", "1920s"], "q4": []}
    predictions = {"q1": "paris.", "q2": "Rome", "q3": "1920s", "q4": ""}
    assert error_ids(golds, predictions) == ["q2"]


def test_summary_metrics_breakdown():
    golds = {"q1": ["Paris"], "q2": [], "q3": ["Oslo"], "q4": []}
    predictions = {"q1": "Paris", "q2": "", "q3": "", "q4": "Rome"}
    m = summary_metrics(golds, predictions)
    assert m["total"] == 4 and m["exact"] == 50.0
    assert (m["HasAns_total"], m["HasAns_exact"]) == (2, 50.0)
    assert (m["NoAns_total"], m["NoAns_exact"]) == (2, 50.0)


def test_summary_metrics_refuses_missing_predictions():
    with pytest.raises(ValueError, match="no prediction"):
        summary_metrics({"q1": ["a"], "q2": []}, {"q1": "a"})
