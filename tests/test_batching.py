import numpy as np
import torch

from miniature.batching import length_sorted_batches, model_arguments, pad_batch


def test_pad_batch_pads_token_lists_and_masks_the_padding():
    batch = pad_batch([{"input_ids": [5, 6, 7], "token_type_ids": [0, 1, 1], "labels": 1},
                       {"input_ids": [8], "token_type_ids": [0], "labels": 0}], pad_id=9)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, 9]]
    assert batch["token_type_ids"].tolist() == [[0, 1, 1], [0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]


def test_model_arguments_keeps_what_forward_takes():
    class NoSegments(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None):
            return input_ids

    batch = {"input_ids": 1, "attention_mask": 2, "token_type_ids": 3}
    assert model_arguments(NoSegments(), batch) == {"input_ids": 1, "attention_mask": 2}


def test_length_sorted_batches_cover_everything_once():
    lengths = [5, 50, 7, 30, 12, 1, 44]
    batches = length_sorted_batches(lengths, 3)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)


def test_token_cap_limits_padded_tokens_per_batch():
    lengths = [5, 50, 7, 30, 12, 1, 44, 9, 9, 9]
    batches = length_sorted_batches(lengths, batch_size=4, max_tokens=40)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert [len(b) for b in batches] == [1, 1, 1, 3, 4]  # 50 and 44 exceed the cap and go alone
    for b in batches[3:]:
        assert len(b) * max(lengths[i] for i in b) <= 40
