import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from miniature import sentiment
from miniature.tokenizer import train_tokenizer

TEXTS = ["a good film.", "a bad film with a long and winding plot that goes on.", "good.", "bad bad bad film."]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 20, vocab_size=120, max_length=32)


@pytest.fixture(scope="module")
def classifier(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)
    return BertForSequenceClassification(config).eval()


def test_features_cut_to_max_length_and_carry_labels(tokenizer):
    rows = sentiment.features(tokenizer, TEXTS, max_length=6, labels=[1, 0, 1, 0])
    assert [len(r["input_ids"]) for r in rows] == [6, 6, 4, 6]
    assert all(r["input_ids"][0] == tokenizer.cls_token_id and r["input_ids"][-1] == tokenizer.sep_token_id
               for r in rows)
    assert [r["labels"] for r in rows] == [1, 0, 1, 0]
    assert "labels" not in sentiment.features(tokenizer, TEXTS, max_length=6)[0]


def test_a_model_without_segment_ids_gets_none(tokenizer):
    """DistilBERT's tokenizer makes no segment ids and its model takes none."""
    import copy

    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    plain = copy.deepcopy(tokenizer)
    plain.model_input_names = ["input_ids", "attention_mask"]
    rows = sentiment.features(plain, TEXTS, max_length=8, labels=[1, 0, 1, 0])
    assert all(set(r) == {"input_ids", "labels"} for r in rows)
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=16, n_layers=1, n_heads=2, hidden_dim=32,
                              max_position_embeddings=32, num_labels=2)
    distil = DistilBertForSequenceClassification(config).eval()
    # Segment ids from a BERT tokenizer are left out too: the model is asked only for what it takes.
    for tok in (plain, tokenizer):
        assert sentiment.logits(distil, tok, TEXTS, max_length=32, batch_size=3).shape == (len(TEXTS), 2)


def test_batched_logits_equal_one_text_at_a_time(tokenizer, classifier):
    batched = sentiment.logits(classifier, tokenizer, TEXTS, max_length=32, batch_size=3)
    with torch.no_grad():
        single = np.stack([classifier(**tokenizer(t, return_tensors="pt")).logits[0].numpy() for t in TEXTS])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert sentiment.predict(classifier, tokenizer, TEXTS, 32) == list(single.argmax(1))


def test_accuracy():
    assert sentiment.accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    with pytest.raises(ValueError):
        sentiment.accuracy([1], [1, 0])
